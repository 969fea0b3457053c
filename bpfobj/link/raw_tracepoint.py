"""Raw tracepoint links (BPF_RAW_TRACEPOINT_OPEN; cilium/ebpf's link.AttachRawTracepoint).

Owns ``RawTracepointLinkInfo`` and ``attach``. Imports ``_core``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bpfobj._internal import syscall as _sys
from bpfobj.errors import Op, closed

from ._core import L, prog_fd, wrap

__all__ = ["RawTracepointLinkInfo", "attach"]


@dataclass(frozen=True, slots=True)
class RawTracepointLinkInfo:
    """A raw tracepoint link's own fields."""

    tp_name: str
    cookie: int


def decode(d: dict[str, Any], name: str) -> RawTracepointLinkInfo:
    """The record of a raw tracepoint link's info; ``name`` is the tracepoint's."""
    return RawTracepointLinkInfo(tp_name=name, cookie=d["raw_tracepoint"]["cookie"])


def attach(cls: type[L], prog: object, name: str, cookie: int = 0) -> L:
    """Attach a RAW_TRACEPOINT program (BPF_RAW_TRACEPOINT_OPEN): see
    ``Link.attach_raw_tracepoint``."""
    what = f"raw_tracepoint {name!r}"
    pfd = prog_fd(prog, Op.LINK_CREATE, what)
    if pfd.closed:
        raise closed(Op.LINK_CREATE, prog)
    if not name or "\0" in name:
        raise ValueError(f"invalid tracepoint name {name!r}")
    return wrap(cls, _sys.raw_tracepoint_open(pfd, name, cookie, obj=what), what)
