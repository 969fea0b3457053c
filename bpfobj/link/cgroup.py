"""cgroup links: a program on a cgroup v2 directory (cilium/ebpf's link.AttachCgroup).

Owns ``CgroupLinkInfo`` and ``attach``. Imports ``_core``.
"""

from __future__ import annotations

import errno as _errno
from dataclasses import dataclass
from typing import Any

from bpfobj._types import AttachType
from bpfobj.errors import BPFError

from ._core import AttachTypeLike, L, Target, attach_name, attach_type, create, not_a, open_target

__all__ = ["CgroupLinkInfo", "attach"]


@dataclass(frozen=True, slots=True)
class CgroupLinkInfo:
    """A cgroup link's own fields; ``cgroup_id`` is 0 once detached."""

    cgroup_id: int
    attach_type: AttachTypeLike


def decode(d: dict[str, Any], name: str) -> CgroupLinkInfo:
    """The record of a cgroup link's info (bpf_link_info.cgroup)."""
    x = d["cgroup"]
    return CgroupLinkInfo(cgroup_id=x["cgroup_id"], attach_type=attach_type(x["attach_type"]))


def attach(cls: type[L], prog: object, cgroup: Target, kind: AttachType, flags: int = 0) -> L:
    """Attach a program to a cgroup v2 directory (BPF_LINK_CREATE): see ``Link.attach_cgroup``."""
    target, what = open_target(cgroup, "cgroup", directory=True)
    with target:
        what = f"cgroup {attach_name(kind)} {what.partition(' ')[2]}"
        try:
            return create(cls, prog, kind, what, target_fd=target, flags=flags)
        except BPFError as exc:
            if exc.errno == _errno.EBADF and not target.closed:
                raise not_a(exc, what, "a cgroup v2 directory") from exc
            raise
