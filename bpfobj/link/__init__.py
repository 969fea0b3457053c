"""Links: Link and LinkInfo (cilium/ebpf's link package: AttachXDP, AttachRawLink, NewFromFD ...).

One module per link family, each with its record of the type's own fields and its
attach function: ``xdp``, ``tcx``, ``cgroup``, ``netns``, ``raw_tracepoint``, ``iter``;
``info`` holds LinkInfo and the records of the families without a module yet;
``_core`` what they share (BPF_LINK_CREATE and its errors); ``link`` the Link class,
whose ``attach_*`` classmethods call the families.

Attach functions take a Program: anything with the private ``_fd`` (an FD)
that Program and Map keep. A Link owns one descriptor; the kernel keeps the
attachment alive while any descriptor or pin of the link exists, and
``detach()`` ends it while the link object itself lives on.

``repr(Link)`` reads ``Link(xdp)#7``: the link type as bpftool names it, then
the descriptor number (a link has no name, so the type takes the place the
name has in ``Hash(counts)#7``). ``str(LinkInfo)`` reads
``Link(type=XDP id=12 prog_id=34)``, as the leak report prints it.

LinkInfo has one optional field per link type (``xdp``, ``tcx``, ``cgroup``,
``netns``, ...); only the one for the link's own type is set, the others are
None, and ``LinkInfo.details`` returns whichever is set.
"""

from __future__ import annotations

from .cgroup import CgroupLinkInfo
from .info import (
    KprobeMultiLinkInfo,
    LinkInfo,
    NetfilterLinkInfo,
    NetkitLinkInfo,
    PerfEventLinkInfo,
    SockmapLinkInfo,
    StructOpsLinkInfo,
    TracingLinkInfo,
    UprobeMultiLinkInfo,
)
from .iter import IterLinkInfo
from .link import Link
from .netns import NetNsLinkInfo
from .raw_tracepoint import RawTracepointLinkInfo
from .tcx import TCXLinkInfo

# The tracing families subclass Link, so they come after it.
from .uprobe import Executable  # noqa: E402, I001
from .xdp import XDPLinkInfo

__all__ = [
    "CgroupLinkInfo",
    "Executable",
    "IterLinkInfo",
    "KprobeMultiLinkInfo",
    "Link",
    "LinkInfo",
    "NetfilterLinkInfo",
    "NetkitLinkInfo",
    "NetNsLinkInfo",
    "PerfEventLinkInfo",
    "RawTracepointLinkInfo",
    "SockmapLinkInfo",
    "StructOpsLinkInfo",
    "TCXLinkInfo",
    "TracingLinkInfo",
    "UprobeMultiLinkInfo",
    "XDPLinkInfo",
]
