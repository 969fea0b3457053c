"""Links: Link and LinkInfo (cilium/ebpf's link package: AttachXDP, AttachRawLink, NewFromFD ...).

Owns the Link wrapper, LinkInfo and one typed record per link type's own
fields. Imports ``_sys``, ``_types``, ``errors``, ``fd`` and (for pin errors)
``map``; ``prog`` is imported only inside ``Link.program()``, so that the
program module may import this one.

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

import errno as _errno
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional, Union

from typing_extensions import Self

from bpfobj._internal import syscall as _sys
from bpfobj._internal.fd import FD
from bpfobj._object import BPFObject
from bpfobj._types import AttachType, LinkType, ObjType, ProgramType, fd_type
from bpfobj.errors import BPFError, ObjectTypeError, Op, closed, from_errno, wrong_type

if TYPE_CHECKING:
    from bpfobj.prog import Program

    from .perf_event import PerfEventLink

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

_LINK_INFO = "struct bpf_link_info"
_PATH_MAX = 4096

#: enum bpf_perf_event_type (include/uapi/linux/bpf.h): which union member of
#: bpf_link_info.perf_event the kernel filled. Only the name-carrying kinds
#: (uprobe, kprobe, tracepoint) need a buffer in the second info call.
PERF_EVENT_UPROBE: int = 1
PERF_EVENT_URETPROBE: int = 2
PERF_EVENT_KPROBE: int = 3
PERF_EVENT_KRETPROBE: int = 4
PERF_EVENT_TRACEPOINT: int = 5
PERF_EVENT_EVENT: int = 6

AttachTypeLike = Union[AttachType, int]
Target = Union[str, "os.PathLike[str]", int]


def _attach_type(value: int) -> AttachTypeLike:
    try:
        return AttachType(value)
    except ValueError:
        return value  # newer than our headers: keep the number


# -- per-type records -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class XDPLinkInfo:
    """An XDP link's own fields; ``ifindex`` is 0 once the link is detached."""

    ifindex: int


@dataclass(frozen=True, slots=True)
class TCXLinkInfo:
    """A tcx link's own fields; ``ifindex`` is 0 once detached. Linux 6.6."""

    ifindex: int
    attach_type: AttachTypeLike


@dataclass(frozen=True, slots=True)
class NetkitLinkInfo:
    """A netkit link's own fields; ``ifindex`` is 0 once detached. Linux 6.7."""

    ifindex: int
    attach_type: AttachTypeLike


@dataclass(frozen=True, slots=True)
class CgroupLinkInfo:
    """A cgroup link's own fields; ``cgroup_id`` is 0 once detached."""

    cgroup_id: int
    attach_type: AttachTypeLike


@dataclass(frozen=True, slots=True)
class NetNsLinkInfo:
    """A netns link's own fields (sk_lookup, flow_dissector); ``netns_ino`` is 0 once detached."""

    netns_ino: int
    attach_type: AttachTypeLike


@dataclass(frozen=True, slots=True)
class IterLinkInfo:
    """An iterator link's own fields: the target name and the target's parameters."""

    target_name: str
    map_id: int
    cgroup_id: int
    order: int
    tid: int
    pid: int


@dataclass(frozen=True, slots=True)
class TracingLinkInfo:
    """A tracing link's own fields (fentry, fexit, fmod_ret, lsm, ...)."""

    attach_type: AttachTypeLike
    target_obj_id: int
    target_btf_id: int
    cookie: int


@dataclass(frozen=True, slots=True)
class RawTracepointLinkInfo:
    """A raw tracepoint link's own fields."""

    tp_name: str
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
        return self.type in (PERF_EVENT_URETPROBE, PERF_EVENT_KRETPROBE)


_PERF_KINDS = {PERF_EVENT_UPROBE: "uprobe", PERF_EVENT_URETPROBE: "uretprobe",
               PERF_EVENT_KPROBE: "kprobe", PERF_EVENT_KRETPROBE: "kretprobe",
               PERF_EVENT_TRACEPOINT: "tracepoint", PERF_EVENT_EVENT: "event"}


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
        return f"Link(type={_type_name(self.type)} id={self.id} prog_id={self.prog_id})"


def _type_name(t: Union[LinkType, int]) -> str:
    return t.name if isinstance(t, LinkType) else str(int(t))


def _kernel_name(t: Union[LinkType, int]) -> str:
    return t.kernel_name if isinstance(t, LinkType) else f"type {int(t)}"


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


def _read_info(fd: FD, obj: object) -> LinkInfo:
    """BPF_OBJ_GET_INFO_BY_FD for a link, with a second call for the types that carry names.

    The kernel fills names only into buffers the caller passes; the first call
    says which type the link is (and, for raw tracepoints and iterators, how
    long the name is), the second passes a buffer of that size.
    """
    d = _sys.obj_get_info_by_fd(fd, _LINK_INFO, obj)
    try:
        ltype: Union[LinkType, int] = LinkType(d["type"])
    except ValueError:
        ltype = d["type"]
    name = ""
    if ltype is LinkType.RAW_TRACEPOINT and d["raw_tracepoint"]["tp_name_len"]:
        d, name = _with_name(fd, obj, d["raw_tracepoint"]["tp_name_len"],
                             "raw_tracepoint__tp_name", "raw_tracepoint__tp_name_len")
    elif ltype is LinkType.ITER and d["iter"]["target_name_len"]:
        d, name = _with_name(fd, obj, d["iter"]["target_name_len"],
                             "iter__target_name", "iter__target_name_len")
    elif ltype is LinkType.UPROBE_MULTI:
        d, name = _with_name(fd, obj, _PATH_MAX, "uprobe_multi__path", "uprobe_multi__path_size")
    elif ltype is LinkType.PERF_EVENT and d["perf_event"]["type"] in (
            PERF_EVENT_UPROBE, PERF_EVENT_URETPROBE, PERF_EVENT_KPROBE, PERF_EVENT_KRETPROBE,
            PERF_EVENT_TRACEPOINT):
        # The name pointer and length sit at the same offsets in the uprobe,
        # kprobe and tracepoint members of the union.
        d, name = _with_name(fd, obj, _PATH_MAX, "perf_event__probe__uprobe__file_name",
                             "perf_event__probe__uprobe__name_len")
    return _decode(d, ltype, name)


def _with_name(fd: FD, obj: object, size: int, ptr_field: str,
               len_field: str) -> tuple[dict[str, Any], str]:
    buf = _sys.new_buffer(size)
    try:
        d = _sys.obj_get_info_by_fd(fd, _LINK_INFO, obj, **{ptr_field: buf, len_field: size})
    except BPFError as exc:
        if exc.errno != _errno.ENOSPC:
            raise
        # The name grew between the calls (it cannot for these types): keep what fits.
        d = _sys.obj_get_info_by_fd(fd, _LINK_INFO, obj)
    text = _sys.buffer_bytes(buf, size).split(b"\0", 1)[0].decode("utf-8", "replace")
    return d, text


def _decode(d: dict[str, Any], ltype: Union[LinkType, int], name: str) -> LinkInfo:
    sub: dict[str, Any] = {}
    if ltype is LinkType.XDP:
        sub["xdp"] = XDPLinkInfo(ifindex=d["xdp"]["ifindex"])
    elif ltype is LinkType.TCX:
        x = d["tcx"]
        sub["tcx"] = TCXLinkInfo(ifindex=x["ifindex"], attach_type=_attach_type(x["attach_type"]))
    elif ltype is LinkType.NETKIT:
        x = d["netkit"]
        sub["netkit"] = NetkitLinkInfo(ifindex=x["ifindex"],
                                       attach_type=_attach_type(x["attach_type"]))
    elif ltype is LinkType.CGROUP:
        x = d["cgroup"]
        sub["cgroup"] = CgroupLinkInfo(cgroup_id=x["cgroup_id"],
                                       attach_type=_attach_type(x["attach_type"]))
    elif ltype is LinkType.NETNS:
        x = d["netns"]
        sub["netns"] = NetNsLinkInfo(netns_ino=x["netns_ino"],
                                     attach_type=_attach_type(x["attach_type"]))
    elif ltype is LinkType.ITER:
        x = d["iter"]
        t = x["target"]
        sub["iter"] = IterLinkInfo(
            target_name=name, map_id=x["map"]["map_id"], cgroup_id=t["cgroup"]["cgroup_id"],
            order=t["cgroup"]["order"], tid=t["task"]["tid"], pid=t["task"]["pid"])
    elif ltype is LinkType.TRACING:
        x = d["tracing"]
        sub["tracing"] = TracingLinkInfo(
            attach_type=_attach_type(x["attach_type"]), target_obj_id=x["target_obj_id"],
            target_btf_id=x["target_btf_id"], cookie=x["cookie"])
    elif ltype is LinkType.RAW_TRACEPOINT:
        sub["raw_tracepoint"] = RawTracepointLinkInfo(tp_name=name,
                                                      cookie=d["raw_tracepoint"]["cookie"])
    elif ltype is LinkType.PERF_EVENT:
        sub["perf_event"] = _perf_event(d["perf_event"], name)
    elif ltype is LinkType.KPROBE_MULTI:
        x = d["kprobe_multi"]
        sub["kprobe_multi"] = KprobeMultiLinkInfo(count=x["count"], flags=x["flags"],
                                                  missed=x["missed"])
    elif ltype is LinkType.UPROBE_MULTI:
        x = d["uprobe_multi"]
        sub["uprobe_multi"] = UprobeMultiLinkInfo(path=name, count=x["count"], flags=x["flags"],
                                                  pid=x["pid"])
    elif ltype is LinkType.NETFILTER:
        x = d["netfilter"]
        sub["netfilter"] = NetfilterLinkInfo(pf=x["pf"], hooknum=x["hooknum"],
                                             priority=x["priority"], flags=x["flags"])
    elif ltype is LinkType.STRUCT_OPS:
        sub["struct_ops"] = StructOpsLinkInfo(map_id=d["struct_ops"]["map_id"])
    elif ltype is LinkType.SOCKMAP:
        x = d["sockmap"]
        sub["sockmap"] = SockmapLinkInfo(map_id=x["map_id"],
                                         attach_type=_attach_type(x["attach_type"]))
    return LinkInfo(id=d["id"], type=ltype, prog_id=d["prog_id"], **sub)


def _perf_event(x: dict[str, Any], name: str) -> PerfEventLinkInfo:
    kind = x["type"]
    p = x["probe"]
    offset = addr = missed = cookie = ref_ctr = config = event_type = 0
    if kind in (PERF_EVENT_UPROBE, PERF_EVENT_URETPROBE):
        u = p["uprobe"]
        offset, cookie, ref_ctr = u["offset"], u["cookie"], u["ref_ctr_offset"]
    elif kind in (PERF_EVENT_KPROBE, PERF_EVENT_KRETPROBE):
        k = p["kprobe"]
        offset, addr, missed, cookie = k["offset"], k["addr"], k["missed"], k["cookie"]
    elif kind == PERF_EVENT_TRACEPOINT:
        cookie = p["tracepoint"]["cookie"]
    elif kind == PERF_EVENT_EVENT:
        e = p["event"]
        config, event_type, cookie = e["config"], e["type"], e["cookie"]
    return PerfEventLinkInfo(type=kind, name=name, offset=offset, addr=addr, missed=missed,
                             cookie=cookie, ref_ctr_offset=ref_ctr, config=config,
                             event_type=event_type)


# -- attaching: helpers ------------------------------------------------------------------

# The program type each attach type of the attach_* helpers needs, to explain
# the kernel's bare EINVAL when a program of another type is passed.
_PROG_TYPE_FOR: dict[AttachType, ProgramType] = {
    AttachType.XDP: ProgramType.XDP,
    AttachType.TCX_INGRESS: ProgramType.SCHED_CLS,
    AttachType.TCX_EGRESS: ProgramType.SCHED_CLS,
    AttachType.NETKIT_PRIMARY: ProgramType.SCHED_CLS,
    AttachType.NETKIT_PEER: ProgramType.SCHED_CLS,
    AttachType.SK_LOOKUP: ProgramType.SK_LOOKUP,
    AttachType.FLOW_DISSECTOR: ProgramType.FLOW_DISSECTOR,
    AttachType.CGROUP_INET_INGRESS: ProgramType.CGROUP_SKB,
    AttachType.CGROUP_INET_EGRESS: ProgramType.CGROUP_SKB,
    AttachType.CGROUP_INET_SOCK_CREATE: ProgramType.CGROUP_SOCK,
    AttachType.CGROUP_INET_SOCK_RELEASE: ProgramType.CGROUP_SOCK,
    AttachType.CGROUP_INET4_POST_BIND: ProgramType.CGROUP_SOCK,
    AttachType.CGROUP_INET6_POST_BIND: ProgramType.CGROUP_SOCK,
    AttachType.CGROUP_SOCK_OPS: ProgramType.SOCK_OPS,
    AttachType.CGROUP_DEVICE: ProgramType.CGROUP_DEVICE,
    AttachType.CGROUP_SYSCTL: ProgramType.CGROUP_SYSCTL,
    AttachType.CGROUP_GETSOCKOPT: ProgramType.CGROUP_SOCKOPT,
    AttachType.CGROUP_SETSOCKOPT: ProgramType.CGROUP_SOCKOPT,
    **{t: ProgramType.CGROUP_SOCK_ADDR for t in AttachType if t.name.startswith((
        "CGROUP_INET4_", "CGROUP_INET6_", "CGROUP_UDP4_", "CGROUP_UDP6_", "CGROUP_UNIX_"))
       and not t.name.endswith("POST_BIND")},
}


def _prog_fd(prog: object, op: Op, what: str) -> FD:
    fd = getattr(prog, "_fd", None)
    if not isinstance(fd, FD):
        raise TypeError(f"{op.value} {what}: needs a Program, not {type(prog).__name__}")
    return fd


def _explain_attach(exc: BPFError, prog: object, prog_fd: FD, attach_type: int,
                    what: str) -> BPFError:
    """Turn the kernel's bare EINVAL from BPF_LINK_CREATE into the reason, when we can tell it.

    Checks (only on failure, so success costs nothing) whether the descriptor
    is a program at all and whether its type suits the attach type.
    """
    if exc.errno != _errno.EINVAL or prog_fd.closed:
        return exc
    kind = fd_type(prog_fd.raw)
    if kind is not ObjType.PROG:
        got = f"bpf-{kind.value}" if kind is not None else "non-bpf file"
        return wrong_type(Op.LINK_CREATE, what, got, "bpf-prog")
    try:
        want = _PROG_TYPE_FOR.get(AttachType(attach_type))
    except ValueError:
        want = None
    try:
        d = _sys.obj_get_info_by_fd(prog_fd, "struct bpf_prog_info", prog)
    except BPFError:
        return exc
    try:
        ptype: Union[ProgramType, int] = ProgramType(d["type"])
    except ValueError:
        ptype = d["type"]
    pname = ptype.kernel_name if isinstance(ptype, ProgramType) else f"type {ptype}"
    attach = _attach_name(attach_type)
    if want is not None and ptype != want:
        reason = (f"{prog} is a program of type {pname}; attach type {attach} needs type "
                  f"{want.kernel_name}")
        return ObjectTypeError(_errno.EINVAL, f"{Op.LINK_CREATE.value} {what}: {reason}",
                               op=Op.LINK_CREATE, obj=what, reason=reason)
    return exc


def _attach_name(value: int) -> str:
    try:
        return AttachType(value).kernel_name
    except ValueError:
        return str(value)


def _open_target(target: object, kind: str, directory: bool) -> tuple[FD, str]:
    """An owned descriptor for a cgroup or netns given as a path, a descriptor number or a file.

    A path is opened read-only; a number (or an object with ``fileno()``) is
    duplicated, so the caller's descriptor stays the caller's.
    """
    if isinstance(target, (str, os.PathLike)):
        path = os.fspath(target)
        flags = os.O_RDONLY | os.O_CLOEXEC | (os.O_DIRECTORY if directory else 0)
        try:
            raw = os.open(path, flags)
        except OSError as exc:
            raise from_errno(exc.errno or _errno.ENOENT, Op.LINK_CREATE, kind, path) from exc
        return FD.adopt(raw), f"{kind} {path!r}"
    if isinstance(target, bool):
        raise TypeError(f"a {kind} is a path or a descriptor, not bool")
    if isinstance(target, int):
        return FD.dup(target), f"{kind} fd {target}"
    fileno = getattr(target, "fileno", None)
    if callable(fileno):
        raw = fileno()
        return FD.dup(raw), f"{kind} fd {raw}"
    raise TypeError(f"a {kind} is a path or a descriptor, not {type(target).__name__}")


# -- Link ----------------------------------------------------------------------------------


class Link(BPFObject):
    """An open eBPF link, owning one descriptor. Use as a context manager or close().

    Closing the last descriptor of an unpinned link detaches it. ``repr()``
    reads ``Link(xdp)#7`` (the link type as bpftool names it, the descriptor).
    Not picklable; share across processes with bpfobj.fdpass or pins.
    The constructors shared by every object (new_from_fd, new_from_id,
    new_from_pidfd, clone, pin, unpin, close) come from BPFObject; the type
    check accepts both names of a link descriptor, anon_inode:bpf_link (fresh
    from BPF_LINK_CREATE) and anon_inode:bpf-link (reopened).
    """

    __slots__ = ("_type", "_id")
    _KIND = ObjType.LINK
    _type: Union[LinkType, int]
    _id: int

    def _init_from_fd(self, fd: FD) -> None:
        d = _sys.obj_get_info_by_fd(fd, _LINK_INFO, f"fd {fd.raw}")
        try:
            self._type = LinkType(d["type"])
        except ValueError:
            self._type = d["type"]
        self._id = d["id"]

    # -- attaching -------------------------------------------------------------------------

    @classmethod
    def _create(cls, prog: object, attach_type: int, what: str, *,
                target_fd: Optional[FD] = None, target_ifindex: int = 0, flags: int = 0,
                opts: Optional[Mapping[str, Any]] = None, ifindex: int = 0) -> Self:
        """BPF_LINK_CREATE and wrap the result; ``ifindex`` (when the target is
        an interface) lets a failure say that the interface does not exist."""
        pfd = _prog_fd(prog, Op.LINK_CREATE, what)
        if pfd.closed:
            raise closed(Op.LINK_CREATE, prog)
        try:
            fd = _sys.link_create(pfd, target_fd=target_fd, target_ifindex=target_ifindex,
                                  attach_type=int(attach_type), flags=int(flags),
                                  opts=dict(opts) if opts else None, obj=what)
        except BPFError as exc:
            better = _explain_attach(exc, prog, pfd, int(attach_type), what)
            if (better is exc and ifindex and exc.errno == _errno.EINVAL
                    and not _has_ifindex(ifindex)):
                reason = f"no interface has ifindex {ifindex} in this thread's network namespace"
                better = BPFError(_errno.EINVAL, f"{Op.LINK_CREATE.value} {what}: {reason}",
                                  op=Op.LINK_CREATE, obj=what, reason=reason)
            if better is exc:
                raise
            raise better from exc
        try:
            return cls._from_fd(fd, check_type=False, what=what)
        except BaseException:
            fd.close()
            raise

    @classmethod
    def attach_xdp(cls, prog: Program, ifindex: int, flags: int = 0) -> Self:
        """Attach an XDP program to interface ``ifindex`` (BPF_LINK_CREATE, BPF_XDP).

        ``ifindex`` is looked up in the calling thread's network namespace.
        ``flags`` are XDP_FLAGS_* (SKB_MODE, DRV_MODE, HW_MODE); 0 lets the
        kernel pick. The Link owns the new descriptor; closing it (without a
        pin) detaches the program. Requires Linux 5.9.

        Raises:
            ObjectTypeError: ``prog`` is not an XDP program.
            BPFError: no such interface (ENODEV), or a program is already
                attached there (EBUSY; EEXIST with an XDP link).
        """
        _check_index(ifindex, "ifindex")
        return cls._create(prog, AttachType.XDP, f"xdp ifindex {ifindex}",
                           target_ifindex=ifindex, flags=flags, ifindex=ifindex)

    @classmethod
    def attach_tcx(cls, prog: Program, ifindex: int,
                   attach_type: AttachType = AttachType.TCX_INGRESS, flags: int = 0, *,
                   relative: Optional[object] = None, expected_revision: int = 0) -> Self:
        """Attach a SCHED_CLS program to interface ``ifindex`` with tcx (BPF_LINK_CREATE).

        ``attach_type`` is TCX_INGRESS or TCX_EGRESS. ``flags`` may hold
        BPF_F_BEFORE/BPF_F_AFTER with ``relative`` (a Program or Link already
        attached there; BPF_F_LINK is added for a Link); a non-zero
        ``expected_revision`` makes the kernel refuse (ESTALE) when the
        attachment list changed meanwhile. The Link owns the new descriptor.
        Requires Linux 6.6.

        Raises:
            ObjectTypeError: ``prog`` is not a SCHED_CLS program.
            BPFError: no such interface (ENODEV), stale revision (ESTALE).
        """
        _check_index(ifindex, "ifindex")
        opts: dict[str, Any] = {}
        rel_fd: Optional[FD] = None
        if relative is not None:
            rel_fd = _prog_fd(relative, Op.LINK_CREATE, "tcx relative")
            if isinstance(relative, Link):
                flags |= _sys.const("BPF_F_LINK")
        if expected_revision:
            opts["tcx__expected_revision"] = expected_revision
        what = f"tcx {_attach_name(attach_type)} ifindex {ifindex}"
        if rel_fd is None:
            return cls._create(prog, attach_type, what, target_ifindex=ifindex, flags=flags,
                               opts=opts, ifindex=ifindex)
        with rel_fd.borrow(Op.LINK_CREATE, relative) as rel_raw:
            opts["tcx__relative_fd"] = rel_raw
            return cls._create(prog, attach_type, what, target_ifindex=ifindex, flags=flags,
                               opts=opts, ifindex=ifindex)

    @classmethod
    def attach_cgroup(cls, prog: Program, cgroup: Target, attach_type: AttachType,
                      flags: int = 0) -> Self:
        """Attach a program to a cgroup v2 directory (BPF_LINK_CREATE).

        ``cgroup`` is the directory's path (opened read-only for the call) or
        an open descriptor of it (duplicated; it stays the caller's). The Link
        owns the new descriptor. Requires Linux 5.7.

        Raises:
            ObjectTypeError: the program's type does not suit ``attach_type``.
            BPFError: ``cgroup`` is not a cgroup v2 directory.
        """
        target, what = _open_target(cgroup, "cgroup", directory=True)
        with target:
            what = f"cgroup {_attach_name(attach_type)} {what.partition(' ')[2]}"
            try:
                return cls._create(prog, attach_type, what, target_fd=target, flags=flags)
            except BPFError as exc:
                if exc.errno == _errno.EBADF and not target.closed:
                    raise _not_a(exc, what, "a cgroup v2 directory") from exc
                raise

    @classmethod
    def attach_netns(cls, prog: Program, netns: Target, attach_type: AttachType) -> Self:
        """Attach an SK_LOOKUP or FLOW_DISSECTOR program to a network namespace (BPF_LINK_CREATE).

        ``netns`` is a namespace file's path (``/proc/PID/ns/net``,
        ``/var/run/netns/NAME``) or an open descriptor of one (duplicated;
        it stays the caller's). The Link owns the new descriptor.
        Requires Linux 5.8 (flow dissector) or 5.9 (sk_lookup).

        Raises:
            ObjectTypeError: the program's type does not suit ``attach_type``.
            BPFError: ``netns`` is not a network namespace file.
        """
        target, what = _open_target(netns, "netns", directory=False)
        with target:
            what = f"netns {_attach_name(attach_type)} {what.partition(' ')[2]}"
            try:
                return cls._create(prog, attach_type, what, target_fd=target)
            except ObjectTypeError:
                raise
            except BPFError as exc:
                if exc.errno == _errno.EINVAL and not _is_netns(target):
                    raise _not_a(exc, what, "a network namespace file") from exc
                raise

    @classmethod
    def attach_raw(cls, prog: Program, target_fd: object, attach_type: AttachTypeLike,
                   flags: int = 0, *, opts: Optional[Mapping[str, Any]] = None) -> Self:
        """Create a link with plain BPF_LINK_CREATE (cilium/ebpf's AttachRawLink).

        ``target_fd`` goes to the kernel's target_fd/target_ifindex field: a
        descriptor number, an ifindex, or an object holding a descriptor
        (FD, Map, Program, Link, or anything with ``fileno()``). A number is
        passed as it is and stays the caller's. ``opts`` sets members of the
        type-specific union of link_create by name, ``__`` separating levels
        (``{"tcx__expected_revision": 3}``). The Link owns the new descriptor.

        Raises:
            BPFError: whatever the kernel refuses, with its errno.
        """
        what = f"{_attach_name(int(attach_type))} target {target_fd!r}"
        if isinstance(target_fd, bool):
            raise TypeError("target_fd must be a descriptor or an ifindex, not bool")
        if isinstance(target_fd, int):
            _check_index(target_fd, "target_fd", allow_zero=True)  # 0: no target (tracing)
            return cls._create(prog, attach_type, what, target_ifindex=target_fd, flags=flags,
                               opts=opts)
        tfd = target_fd if isinstance(target_fd, FD) else getattr(target_fd, "_fd", None)
        if isinstance(tfd, FD):
            return cls._create(prog, attach_type, what, target_fd=tfd, flags=flags, opts=opts)
        fileno = getattr(target_fd, "fileno", None)
        if callable(fileno):
            return cls._create(prog, attach_type, what, target_ifindex=fileno(), flags=flags,
                               opts=opts)
        raise TypeError(f"target_fd must be a descriptor or an ifindex, not "
                        f"{type(target_fd).__name__}")

    @classmethod
    def attach_raw_tracepoint(cls, prog: Program, name: str, cookie: int = 0) -> Self:
        """Attach a RAW_TRACEPOINT program to tracepoint ``name`` (BPF_RAW_TRACEPOINT_OPEN).

        cilium/ebpf's AttachRawTracepoint. ``cookie`` needs Linux 6.10. The
        Link owns the new descriptor; closing it detaches the program.

        Raises:
            BPFError: no such tracepoint (ENOENT), or the program is not a
                raw tracepoint program (EINVAL).
        """
        what = f"raw_tracepoint {name!r}"
        pfd = _prog_fd(prog, Op.LINK_CREATE, what)
        if pfd.closed:
            raise closed(Op.LINK_CREATE, prog)
        if not name or "\0" in name:
            raise ValueError(f"invalid tracepoint name {name!r}")
        fd = _sys.raw_tracepoint_open(pfd, name, cookie, obj=what)
        try:
            return cls._from_fd(fd, check_type=False, what=what)
        except BaseException:
            fd.close()
            raise

    @classmethod
    def attach_tracepoint(cls, prog: Program, group: str, name: str,
                          cookie: int = 0) -> PerfEventLink:
        """Attach a TRACEPOINT program to trace event ``group/name`` (cilium's link.Tracepoint).

        See ``bpfobj.link.tracepoint.attach_tracepoint``; the result owns the
        bpf link and the perf event.
        """
        from .tracepoint import attach_tracepoint

        return attach_tracepoint(prog, group, name, cookie)

    @classmethod
    def attach_kprobe(cls, prog: Program, symbol: str, ret: bool = False, offset: int = 0,
                      cookie: int = 0) -> PerfEventLink:
        """Attach a KPROBE program to kernel function ``symbol`` (cilium's link.Kprobe).

        See ``bpfobj.link.kprobe.attach_kprobe``; NotSupportedError on a
        kernel without kprobes.
        """
        from .kprobe import attach_kprobe

        return attach_kprobe(prog, symbol, ret, offset, cookie)

    # -- opening --------------------------------------------------------------------------

    # -- properties ------------------------------------------------------------------------

    @property
    def type(self) -> Union[LinkType, int]:
        """The link's type (a plain int for a type newer than bpfobj's headers)."""
        return self._type

    @property
    def id(self) -> int:
        """The link's kernel ID."""
        return self._id

    def __repr__(self) -> str:
        return f"Link({_kernel_name(self._type)})#{self._fd.raw}"

    # -- the kernel object -----------------------------------------------------------------

    def info(self) -> LinkInfo:
        """What the kernel says about the link (BPF_OBJ_GET_INFO_BY_FD).

        One call, two for link types whose name the kernel copies into a
        buffer (raw tracepoint, iterator, uprobe_multi, perf event probes).
        """
        return _read_info(self._fd, self)

    def update(self, new_prog: Program, old_prog: Optional[Program] = None) -> None:
        """Replace the link's program with ``new_prog`` atomically (BPF_LINK_UPDATE).

        With ``old_prog`` the kernel replaces only if ``old_prog`` is the
        current program (BPF_F_REPLACE), so two updaters cannot both win.
        The link's own descriptor and ID stay the same. Requires Linux 5.7.

        Raises:
            BPFError: ``old_prog`` is not the current program (EPERM); the new
                program's type or expected attach type differs (EINVAL); the
                link was detached (ENOLINK); this link type cannot be updated.
        """
        nfd = _prog_fd(new_prog, Op.LINK_UPDATE, repr(self))
        ofd = _prog_fd(old_prog, Op.LINK_UPDATE, repr(self)) if old_prog is not None else None
        try:
            _sys.link_update(self._fd, nfd, ofd, obj=self)
        except BPFError as exc:
            reason = ""
            if exc.errno == _errno.EPERM and old_prog is not None:
                reason = f"{old_prog!r} is not the link's current program"
            elif exc.errno == _errno.EINVAL:
                reason = ("the new program's type or expected attach type differs from the "
                          "link's program, or this link type cannot be updated")
            elif exc.errno == _errno.ENOLINK:
                reason = "the link is detached"
            elif exc.errno in (_errno.EOPNOTSUPP, 524):
                reason = f"{_kernel_name(self._type)} links cannot be updated"
            if not reason:
                raise
            raise BPFError(exc.errno or _errno.EINVAL, f"{Op.LINK_UPDATE.value} {self!r}: {reason}",
                           op=Op.LINK_UPDATE, obj=repr(self), reason=reason) from exc

    def detach(self) -> None:
        """Detach the link from its hook now (BPF_LINK_DETACH); the Link stays open.

        Afterwards info() still works and shows the detached state (ifindex
        0, cgroup_id 0, ...), and update() fails with ENOLINK. Detaching a
        detached link is a no-op for the kernel. Requires Linux 5.9.

        Raises:
            NotSupportedError: this link type cannot be detached (EOPNOTSUPP).
        """
        try:
            _sys.link_detach(self._fd, self)
        except BPFError as exc:
            if exc.errno in (_errno.EOPNOTSUPP, 524):
                reason = f"{_kernel_name(self._type)} links cannot be detached; close them instead"
                raise type(exc)(exc.errno, f"{Op.LINK_DETACH.value} {self!r}: {reason}",
                                op=Op.LINK_DETACH, obj=repr(self), reason=reason) from exc
            raise

    def program(self) -> Program:
        """Open the link's current program by its ID (BPF_PROG_GET_FD_BY_ID).

        The returned Program owns a new descriptor; close it when done.

        Raises:
            BPFError: the link holds no program (prog_id 0), or it went away.
        """
        prog_id = self.info().prog_id
        from bpfobj.prog import Program

        if not prog_id:
            reason = "the link holds no program"
            raise BPFError(_errno.ENOENT, f"{Op.GET_FD_BY_ID.value} {self!r}: {reason}",
                           op=Op.GET_FD_BY_ID, obj=repr(self), reason=reason)
        return Program.new_from_id(prog_id)


def _check_index(value: object, what: str, allow_zero: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    low = 0 if allow_zero else 1
    if not low <= value < 2**32:
        raise ValueError(f"{what} must be in [{low}, 2**32), got {value}")


def _has_ifindex(ifindex: int) -> bool:
    """Whether the calling thread's network namespace has interface ``ifindex``.

    The kernel answers EINVAL, not ENODEV, for a missing interface; a socket
    made here lives in this thread's namespace, as the attach did.
    """
    try:
        socket.if_indextoname(ifindex)
    except OSError:
        return False
    return True


def _not_a(exc: BPFError, what: str, want: str) -> BPFError:
    reason = f"the target is not {want}"
    return BPFError(exc.errno or _errno.EINVAL, f"{Op.LINK_CREATE.value} {what}: {reason}",
                    op=Op.LINK_CREATE, obj=what, reason=reason)


def _is_netns(fd: FD) -> bool:
    """Whether ``fd`` is a network namespace file (nsfs; /proc/self/fd names it ``net:[N]``)."""
    try:
        return os.readlink(f"/proc/self/fd/{fd.raw}").startswith("net:[")
    except OSError:
        return False


# The tracing families live in their own modules, which import this one.
from .uprobe import Executable  # noqa: E402
