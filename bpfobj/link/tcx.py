"""tcx links: a SCHED_CLS program on an interface's ingress or egress (Linux 6.6).

Owns ``TCXLinkInfo`` and ``attach`` (cilium/ebpf's link.AttachTCX). Imports ``_core``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from bpfobj._internal import consts
from bpfobj._internal.fd import FD
from bpfobj._types import AttachType, ObjType, fd_type
from bpfobj.errors import Op

from ._core import AttachTypeLike, L, attach_name, attach_type, check_index, create, prog_fd

__all__ = ["TCXLinkInfo", "attach"]


@dataclass(frozen=True, slots=True)
class TCXLinkInfo:
    """A tcx link's own fields; ``ifindex`` is 0 once detached. Linux 6.6."""

    ifindex: int
    attach_type: AttachTypeLike


def decode(d: dict[str, Any], name: str) -> TCXLinkInfo:
    """The record of a tcx link's info (bpf_link_info.tcx)."""
    x = d["tcx"]
    return TCXLinkInfo(ifindex=x["ifindex"], attach_type=attach_type(x["attach_type"]))


def attach(cls: type[L], prog: object, ifindex: int,
           kind: AttachType = AttachType.TCX_INGRESS, flags: int = 0, *,
           relative: Optional[object] = None, expected_revision: int = 0) -> L:
    """Attach a SCHED_CLS program with tcx (BPF_LINK_CREATE): see ``Link.attach_tcx``."""
    check_index(ifindex, "ifindex")
    opts: dict[str, Any] = {}
    rel_fd: Optional[FD] = None
    if relative is not None:
        rel_fd = prog_fd(relative, Op.LINK_CREATE, "tcx relative")
        if not rel_fd.closed and fd_type(rel_fd.raw) is ObjType.LINK:
            flags |= consts.BPF_F_LINK
    if expected_revision:
        opts["tcx__expected_revision"] = expected_revision
    what = f"tcx {attach_name(kind)} ifindex {ifindex}"
    if rel_fd is None:
        return create(cls, prog, kind, what, target_ifindex=ifindex, flags=flags, opts=opts,
                      ifindex=ifindex)
    with rel_fd.borrow(Op.LINK_CREATE, relative) as rel_raw:
        opts["tcx__relative_fd"] = rel_raw
        return create(cls, prog, kind, what, target_ifindex=ifindex, flags=flags, opts=opts,
                      ifindex=ifindex)
