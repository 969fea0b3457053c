"""LinkInfo, and the records of the link families that have no attach function here yet.

Owns ``LinkInfo``, its decoding from BPF_OBJ_GET_INFO_BY_FD (``read_info``: one decoder
per link type, the families' own in their modules), and the records of netkit, tracing,
perf event, kprobe_multi, uprobe_multi, netfilter, struct_ops and sockmap links.
Imports ``_core`` and the family modules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Optional, Union

from bpfobj._internal import consts
from bpfobj._internal import syscall as _sys
from bpfobj._internal.fd import FD
from bpfobj._types import LinkType

from . import cgroup, iter, netns, raw_tracepoint, tcx, xdp
from ._core import AttachTypeLike, attach_type, type_name
from .cgroup import CgroupLinkInfo
from .iter import IterLinkInfo
from .netns import NetNsLinkInfo
from .raw_tracepoint import RawTracepointLinkInfo
from .tcx import TCXLinkInfo
from .xdp import XDPLinkInfo

__all__ = [
    "KprobeMultiLinkInfo", "LinkInfo", "NetfilterLinkInfo", "NetkitLinkInfo",
    "PerfEventLinkInfo", "SockmapLinkInfo", "StructOpsLinkInfo", "TracingLinkInfo",
    "UprobeMultiLinkInfo", "read_info",
]


@dataclass(frozen=True, slots=True)
class NetkitLinkInfo:
    """A netkit link's own fields; ``ifindex`` is 0 once detached. Linux 6.7."""

    ifindex: int
    attach_type: AttachTypeLike


@dataclass(frozen=True, slots=True)
class TracingLinkInfo:
    """A tracing link's own fields (fentry, fexit, fmod_ret, lsm, ...)."""

    attach_type: AttachTypeLike
    target_obj_id: int
    target_btf_id: int
    cookie: int


@dataclass(frozen=True, slots=True)
class PerfEventLinkInfo:
    """A perf event link's own fields.

    ``type`` is the kernel's enum bpf_perf_event_type (1 uprobe, 2 uretprobe,
    3 kprobe, 4 kretprobe, 5 tracepoint, 6 perf event); ``name`` is the file
    (uprobes), function (kprobes) or tracepoint name; ``config`` and
    ``event_type`` are set for perf events only. Fields that do not apply are 0.
    """

    type: int
    name: str
    offset: int
    addr: int
    missed: int
    cookie: int
    ref_ctr_offset: int
    config: int
    event_type: int

    @property
    def kind(self) -> str:
        """The kind as bpftool names it: uprobe, uretprobe, kprobe, kretprobe, tracepoint, event."""
        return _PERF_KINDS.get(self.type, f"type {self.type}")

    @property
    def retprobe(self) -> bool:
        """True for a uretprobe or kretprobe."""
        return self.type in (consts.BPF_PERF_EVENT_URETPROBE, consts.BPF_PERF_EVENT_KRETPROBE)


_PERF_KINDS = {consts.BPF_PERF_EVENT_UPROBE: "uprobe", consts.BPF_PERF_EVENT_URETPROBE: "uretprobe",
               consts.BPF_PERF_EVENT_KPROBE: "kprobe", consts.BPF_PERF_EVENT_KRETPROBE: "kretprobe",
               consts.BPF_PERF_EVENT_TRACEPOINT: "tracepoint",
               consts.BPF_PERF_EVENT_EVENT: "event"}


@dataclass(frozen=True, slots=True)
class KprobeMultiLinkInfo:
    """A kprobe_multi link's own fields (the address and cookie arrays are not read)."""

    count: int
    flags: int
    missed: int


@dataclass(frozen=True, slots=True)
class UprobeMultiLinkInfo:
    """A uprobe_multi link's own fields (the offset arrays are not read)."""

    path: str
    count: int
    flags: int
    pid: int


@dataclass(frozen=True, slots=True)
class NetfilterLinkInfo:
    """A netfilter link's own fields."""

    pf: int
    hooknum: int
    priority: int
    flags: int


@dataclass(frozen=True, slots=True)
class StructOpsLinkInfo:
    """A struct_ops link's own fields."""

    map_id: int


@dataclass(frozen=True, slots=True)
class SockmapLinkInfo:
    """A sockmap link's own fields. Linux 6.10."""

    map_id: int
    attach_type: AttachTypeLike


Details = Union[
    XDPLinkInfo, TCXLinkInfo, NetkitLinkInfo, CgroupLinkInfo, NetNsLinkInfo, IterLinkInfo,
    TracingLinkInfo, RawTracepointLinkInfo, PerfEventLinkInfo, KprobeMultiLinkInfo,
    UprobeMultiLinkInfo, NetfilterLinkInfo, StructOpsLinkInfo, SockmapLinkInfo,
]


@dataclass(frozen=True, slots=True)
class LinkInfo:
    """What the kernel says about a link (BPF_OBJ_GET_INFO_BY_FD, struct bpf_link_info).

    ``type`` is a LinkType (a plain int for a type newer than bpfobj's
    headers). Exactly one of the per-type fields is set, the one named after
    the link's type (``info.xdp`` for an XDP link); the others are None.
    ``details`` returns the one that is set. After ``detach()`` the record
    shows the detached state (``xdp.ifindex == 0``, ``cgroup.cgroup_id == 0``...).
    """

    id: int
    type: Union[LinkType, int]
    prog_id: int
    xdp: Optional[XDPLinkInfo] = None
    tcx: Optional[TCXLinkInfo] = None
    netkit: Optional[NetkitLinkInfo] = None
    cgroup: Optional[CgroupLinkInfo] = None
    netns: Optional[NetNsLinkInfo] = None
    iter: Optional[IterLinkInfo] = None
    tracing: Optional[TracingLinkInfo] = None
    raw_tracepoint: Optional[RawTracepointLinkInfo] = None
    perf_event: Optional[PerfEventLinkInfo] = None
    kprobe_multi: Optional[KprobeMultiLinkInfo] = None
    uprobe_multi: Optional[UprobeMultiLinkInfo] = None
    netfilter: Optional[NetfilterLinkInfo] = None
    struct_ops: Optional[StructOpsLinkInfo] = None
    sockmap: Optional[SockmapLinkInfo] = None

    @property
    def details(self) -> Optional[Details]:
        """The record of the link type's own fields, or None for a type bpfobj cannot decode."""
        name = _DETAIL_FIELD.get(self.type) if isinstance(self.type, LinkType) else None
        return getattr(self, name) if name else None

    def __str__(self) -> str:
        return f"Link(type={type_name(self.type)} id={self.id} prog_id={self.prog_id})"


_DETAIL_FIELD: dict[LinkType, str] = {
    LinkType.XDP: "xdp",
    LinkType.TCX: "tcx",
    LinkType.NETKIT: "netkit",
    LinkType.CGROUP: "cgroup",
    LinkType.NETNS: "netns",
    LinkType.ITER: "iter",
    LinkType.TRACING: "tracing",
    LinkType.RAW_TRACEPOINT: "raw_tracepoint",
    LinkType.PERF_EVENT: "perf_event",
    LinkType.KPROBE_MULTI: "kprobe_multi",
    LinkType.UPROBE_MULTI: "uprobe_multi",
    LinkType.NETFILTER: "netfilter",
    LinkType.STRUCT_OPS: "struct_ops",
    LinkType.SOCKMAP: "sockmap",
}


def read_info(fd: FD, obj: object) -> LinkInfo:
    """BPF_OBJ_GET_INFO_BY_FD for a link, with a second call for the types that carry names.

    The kernel fills names only into buffers the caller passes; the first call
    says which type the link is (and, for raw tracepoints and iterators, how
    long the name is), the second passes a buffer of that size.
    """
    d, name = _sys.link_info(fd, obj)
    try:
        ltype: Union[LinkType, int] = LinkType(d["type"])
    except ValueError:
        ltype = d["type"]
    return decode(d, ltype, name)


def decode(d: dict[str, Any], ltype: Union[LinkType, int], name: str) -> LinkInfo:
    """The LinkInfo of a link's info dict; ``name`` is the string the second call read."""
    sub: dict[str, Any] = {}
    decoder = _DECODERS.get(ltype) if isinstance(ltype, LinkType) else None
    if decoder is not None:
        sub[_DETAIL_FIELD[LinkType(ltype)]] = decoder(d, name)
    return LinkInfo(id=d["id"], type=ltype, prog_id=d["prog_id"], **sub)


def _netkit(d: dict[str, Any], name: str) -> NetkitLinkInfo:
    x = d["netkit"]
    return NetkitLinkInfo(ifindex=x["ifindex"], attach_type=attach_type(x["attach_type"]))


def _tracing(d: dict[str, Any], name: str) -> TracingLinkInfo:
    x = d["tracing"]
    return TracingLinkInfo(attach_type=attach_type(x["attach_type"]),
                           target_obj_id=x["target_obj_id"], target_btf_id=x["target_btf_id"],
                           cookie=x["cookie"])


def _kprobe_multi(d: dict[str, Any], name: str) -> KprobeMultiLinkInfo:
    x = d["kprobe_multi"]
    return KprobeMultiLinkInfo(count=x["count"], flags=x["flags"], missed=x["missed"])


def _uprobe_multi(d: dict[str, Any], name: str) -> UprobeMultiLinkInfo:
    x = d["uprobe_multi"]
    return UprobeMultiLinkInfo(path=name, count=x["count"], flags=x["flags"], pid=x["pid"])


def _netfilter(d: dict[str, Any], name: str) -> NetfilterLinkInfo:
    x = d["netfilter"]
    return NetfilterLinkInfo(pf=x["pf"], hooknum=x["hooknum"], priority=x["priority"],
                             flags=x["flags"])


def _struct_ops(d: dict[str, Any], name: str) -> StructOpsLinkInfo:
    return StructOpsLinkInfo(map_id=d["struct_ops"]["map_id"])


def _sockmap(d: dict[str, Any], name: str) -> SockmapLinkInfo:
    x = d["sockmap"]
    return SockmapLinkInfo(map_id=x["map_id"], attach_type=attach_type(x["attach_type"]))


def _perf(d: dict[str, Any], name: str) -> PerfEventLinkInfo:
    return _perf_event(d["perf_event"], name)


def _perf_event(x: dict[str, Any], name: str) -> PerfEventLinkInfo:
    kind = x["type"]
    p = x["probe"]
    offset = addr = missed = cookie = ref_ctr = config = event_type = 0
    if kind in (consts.BPF_PERF_EVENT_UPROBE, consts.BPF_PERF_EVENT_URETPROBE):
        u = p["uprobe"]
        offset, cookie, ref_ctr = u["offset"], u["cookie"], u["ref_ctr_offset"]
    elif kind in (consts.BPF_PERF_EVENT_KPROBE, consts.BPF_PERF_EVENT_KRETPROBE):
        k = p["kprobe"]
        offset, addr, missed, cookie = k["offset"], k["addr"], k["missed"], k["cookie"]
    elif kind == consts.BPF_PERF_EVENT_TRACEPOINT:
        cookie = p["tracepoint"]["cookie"]
    elif kind == consts.BPF_PERF_EVENT_EVENT:
        e = p["event"]
        config, event_type, cookie = e["config"], e["type"], e["cookie"]
    return PerfEventLinkInfo(type=kind, name=name, offset=offset, addr=addr, missed=missed,
                             cookie=cookie, ref_ctr_offset=ref_ctr, config=config,
                             event_type=event_type)


#: Link type -> the decoder of its own fields (each family module has its own).
_DECODERS: dict[LinkType, Callable[[dict[str, Any], str], Details]] = {
    LinkType.XDP: xdp.decode,
    LinkType.TCX: tcx.decode,
    LinkType.NETKIT: _netkit,
    LinkType.CGROUP: cgroup.decode,
    LinkType.NETNS: netns.decode,
    LinkType.ITER: iter.decode,
    LinkType.TRACING: _tracing,
    LinkType.RAW_TRACEPOINT: raw_tracepoint.decode,
    LinkType.PERF_EVENT: _perf,
    LinkType.KPROBE_MULTI: _kprobe_multi,
    LinkType.UPROBE_MULTI: _uprobe_multi,
    LinkType.NETFILTER: _netfilter,
    LinkType.STRUCT_OPS: _struct_ops,
    LinkType.SOCKMAP: _sockmap,
}
