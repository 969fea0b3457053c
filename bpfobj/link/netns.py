"""netns links: an SK_LOOKUP or FLOW_DISSECTOR program on a network namespace.

Owns ``NetNsLinkInfo`` and ``attach`` (cilium/ebpf's link.AttachNetNs). Imports ``_core``.
"""

from __future__ import annotations

import errno as _errno
from dataclasses import dataclass
from typing import Any

from bpfobj._types import AttachType
from bpfobj.errors import BPFError, ObjectTypeError

from ._core import (
    AttachTypeLike,
    L,
    Target,
    attach_name,
    attach_type,
    create,
    is_netns,
    not_a,
    open_target,
)

__all__ = ["NetNsLinkInfo", "attach"]


@dataclass(frozen=True, slots=True)
class NetNsLinkInfo:
    """A netns link's own fields (sk_lookup, flow_dissector); ``netns_ino`` is 0 once detached."""

    netns_ino: int
    attach_type: AttachTypeLike


def decode(d: dict[str, Any], name: str) -> NetNsLinkInfo:
    """The record of a netns link's info (bpf_link_info.netns)."""
    x = d["netns"]
    return NetNsLinkInfo(netns_ino=x["netns_ino"], attach_type=attach_type(x["attach_type"]))


def attach(cls: type[L], prog: object, netns: Target, kind: AttachType) -> L:
    """Attach a program to a network namespace (BPF_LINK_CREATE): see ``Link.attach_netns``."""
    target, what = open_target(netns, "netns", directory=False)
    with target:
        what = f"netns {attach_name(kind)} {what.partition(' ')[2]}"
        try:
            return create(cls, prog, kind, what, target_fd=target)
        except ObjectTypeError:
            raise
        except BPFError as exc:
            if exc.errno == _errno.EINVAL and not is_netns(target):
                raise not_a(exc, what, "a network namespace file") from exc
            raise
