"""XDP links: an XDP program on a network interface (cilium/ebpf's link.AttachXDP).

Owns ``XDPLinkInfo`` and ``attach``. Imports ``_core``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bpfobj._types import AttachType

from ._core import L, check_index, create

__all__ = ["XDPLinkInfo", "attach"]


@dataclass(frozen=True, slots=True)
class XDPLinkInfo:
    """An XDP link's own fields; ``ifindex`` is 0 once the link is detached."""

    ifindex: int


def decode(d: dict[str, Any], name: str) -> XDPLinkInfo:
    """The record of an XDP link's info (bpf_link_info.xdp)."""
    return XDPLinkInfo(ifindex=d["xdp"]["ifindex"])


def attach(cls: type[L], prog: object, ifindex: int, flags: int = 0) -> L:
    """Attach an XDP program to interface ``ifindex`` (BPF_LINK_CREATE, BPF_XDP): see
    ``Link.attach_xdp``."""
    check_index(ifindex, "ifindex")
    return create(cls, prog, AttachType.XDP, f"xdp ifindex {ifindex}", target_ifindex=ifindex,
                  flags=flags, ifindex=ifindex)
