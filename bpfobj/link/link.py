"""The Link wrapper: one class for every link type, attach functions per family.

Owns ``Link``. Its ``attach_*`` classmethods are thin: each family's module (``xdp``,
``tcx``, ``cgroup``, ``netns``, ``raw_tracepoint``) does the work, through ``_core``.
Imports ``_core``, ``info``, the family modules and ``prog``.
"""

from __future__ import annotations

import errno as _errno
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Optional, Union

from typing_extensions import Self

from bpfobj._internal import syscall as _sys
from bpfobj._internal.fd import FD
from bpfobj._object import BPFObject
from bpfobj._types import AttachType, LinkType, ObjType
from bpfobj.errors import ENOTSUPP, BPFError, Op, from_errno
from bpfobj.prog import Program

from . import _core
from . import cgroup as _cgroup
from . import netns as _netns
from . import raw_tracepoint as _raw_tracepoint
from . import tcx as _tcx
from . import xdp as _xdp
from ._core import AttachTypeLike, Target
from .info import LinkInfo, read_info

if TYPE_CHECKING:
    from .perf_event import PerfEventLink

__all__ = ["Link"]


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
        d, _name = _sys.link_info(fd, f"fd {fd.raw}")
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
        """BPF_LINK_CREATE and wrap the result (``_core.create``), for attach_* methods."""
        return _core.create(cls, prog, attach_type, what, target_fd=target_fd,
                            target_ifindex=target_ifindex, flags=flags, opts=opts,
                            ifindex=ifindex)

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
        return _xdp.attach(cls, prog, ifindex, flags)

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
        return _tcx.attach(cls, prog, ifindex, attach_type, flags, relative=relative,
                          expected_revision=expected_revision)

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
        return _cgroup.attach(cls, prog, cgroup, attach_type, flags)

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
        return _netns.attach(cls, prog, netns, attach_type)

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
        what = f"{_core.attach_name(int(attach_type))} target {target_fd!r}"
        if isinstance(target_fd, bool):
            raise TypeError("target_fd must be a descriptor or an ifindex, not bool")
        if isinstance(target_fd, int):
            _core.check_index(target_fd, "target_fd", allow_zero=True)  # 0: no target (tracing)
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
    def attach_tracepoint(cls, prog: Program, group: str, name: str,
                          cookie: int = 0) -> PerfEventLink:
        """Attach a TRACEPOINT program to trace event ``group/name`` (cilium's link.Tracepoint).

        See ``bpfobj.link.tracepoint.attach_tracepoint``; the result owns the
        bpf link and the perf event.
        """
        from .tracepoint import attach_tracepoint  # a cycle: the tracing links subclass Link

        return attach_tracepoint(prog, group, name, cookie)

    @classmethod
    def attach_kprobe(cls, prog: Program, symbol: str, ret: bool = False, offset: int = 0,
                      cookie: int = 0) -> PerfEventLink:
        """Attach a KPROBE program to kernel function ``symbol`` (cilium's link.Kprobe).

        See ``bpfobj.link.kprobe.attach_kprobe``; NotSupportedError on a
        kernel without kprobes.
        """
        from .kprobe import attach_kprobe  # a cycle: the tracing links subclass Link

        return attach_kprobe(prog, symbol, ret, offset, cookie)

    @classmethod
    def attach_raw_tracepoint(cls, prog: Program, name: str, cookie: int = 0) -> Self:
        """Attach a RAW_TRACEPOINT program to tracepoint ``name`` (BPF_RAW_TRACEPOINT_OPEN).

        cilium/ebpf's AttachRawTracepoint. ``cookie`` needs Linux 6.10. The
        Link owns the new descriptor; closing it detaches the program.

        Raises:
            BPFError: no such tracepoint (ENOENT), or the program is not a
                raw tracepoint program (EINVAL).
        """
        return _raw_tracepoint.attach(cls, prog, name, cookie)

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
        return f"Link({_core.kernel_name(self._type)}){self._repr_fd()}"

    # -- the kernel object -----------------------------------------------------------------

    def info(self) -> LinkInfo:
        """What the kernel says about the link (BPF_OBJ_GET_INFO_BY_FD).

        One call, two for link types whose name the kernel copies into a
        buffer (raw tracepoint, iterator, uprobe_multi, perf event probes).
        """
        return read_info(self._fd, self)

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
        nfd = _core.prog_fd(new_prog, Op.LINK_UPDATE, repr(self))
        ofd = _core.prog_fd(old_prog, Op.LINK_UPDATE, repr(self)) if old_prog is not None else None
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
            elif exc.errno in (_errno.EOPNOTSUPP, ENOTSUPP):
                reason = f"{_core.kernel_name(self._type)} links cannot be updated"
            if not reason:
                raise
            raise from_errno(exc.errno or _errno.EINVAL, Op.LINK_UPDATE, repr(self),
                             reason=reason, hint="") from exc

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
            if exc.errno in (_errno.EOPNOTSUPP, ENOTSUPP):
                raise from_errno(
                    exc.errno, Op.LINK_DETACH, repr(self), cls=type(exc), hint="",
                    reason=f"{_core.kernel_name(self._type)} links cannot be detached; close them "
                           "instead") from exc
            raise

    def program(self) -> Program:
        """Open the link's current program by its ID (BPF_PROG_GET_FD_BY_ID).

        The returned Program owns a new descriptor; close it when done.

        Raises:
            BPFError: the link holds no program (prog_id 0), or it went away.
        """
        prog_id = self.info().prog_id
        if not prog_id:
            raise from_errno(_errno.ENOENT, Op.GET_FD_BY_ID, repr(self), hint="",
                             cls=BPFError, reason="the link holds no program")
        return Program.new_from_id(prog_id)
