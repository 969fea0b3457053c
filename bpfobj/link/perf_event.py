"""Links made through a perf event: the one object that owns two descriptors.

Owns ``PerfEventLink`` (a Link that also owns the perf event it attaches
through), ``attach_perf_event`` (BPF_LINK_CREATE with BPF_PERF_EVENT, or
PERF_EVENT_IOC_SET_BPF + PERF_EVENT_IOC_ENABLE on kernels without that link)
and the program-type check every perf-event attach makes before it opens
anything. Tracepoints, kprobes and uprobes (tracepoint.py, kprobe.py,
uprobe.py) open their perf event and hand it here. Imports ``_sys``,
``_types``, ``errors``, ``fd`` and the Link classes of ``bpfobj.link``.

Ownership, as DESIGN.md states it: a PerfEventLink owns the bpf link's
descriptor and the perf event's; ``clone()`` duplicates both, ``close()``
closes both. The kernel's bpf_perf_link holds its own reference to the perf
event's file, so the program stays attached while any descriptor of the
link (or a pin) lives, and detaches when the last one closes.

Where BPF_PERF_EVENT links are missing (before Linux 5.15) the program is
attached with the perf event ioctls; then there is no bpf link at all: the
object's one descriptor is the perf event's, closing its last duplicate
detaches, ``info()`` is answered by BPF_TASK_FD_QUERY on our own descriptor
(``id`` 0), and a cookie cannot be given.
"""

from __future__ import annotations

import errno as _errno
import os
from collections.abc import Callable
from typing import Any, Optional

from typing_extensions import Self, override

from bpfobj._internal import syscall as _sys
from bpfobj._internal.consts import (
    BPF_PERF_EVENT_KPROBE as PERF_EVENT_KPROBE,
)
from bpfobj._internal.consts import (
    BPF_PERF_EVENT_KRETPROBE as PERF_EVENT_KRETPROBE,
)
from bpfobj._internal.consts import (
    BPF_PERF_EVENT_TRACEPOINT as PERF_EVENT_TRACEPOINT,
)
from bpfobj._internal.consts import (
    BPF_PERF_EVENT_UPROBE as PERF_EVENT_UPROBE,
)
from bpfobj._internal.consts import (
    BPF_PERF_EVENT_URETPROBE as PERF_EVENT_URETPROBE,
)
from bpfobj._internal.fd import FD
from bpfobj._object import check_kind
from bpfobj._types import AttachType, LinkType, ObjType, ProgramType
from bpfobj.errors import BPFError, NotSupportedError, ObjectTypeError, Op, closed, from_errno

from .info import LinkInfo, PerfEventLinkInfo
from .link import Link

__all__ = ["PerfEventLink", "attach_perf_event", "check_program"]

#: BPF_TASK_FD_QUERY's fd_type -> bpf_link_info's perf_event type (the two
#: enums of the uapi header number the same kinds differently).
_FD_TYPE_TO_PERF: dict[int, int] = {
    _sys.const("BPF_FD_TYPE_TRACEPOINT"): PERF_EVENT_TRACEPOINT,
    _sys.const("BPF_FD_TYPE_KPROBE"): PERF_EVENT_KPROBE,
    _sys.const("BPF_FD_TYPE_KRETPROBE"): PERF_EVENT_KRETPROBE,
    _sys.const("BPF_FD_TYPE_UPROBE"): PERF_EVENT_UPROBE,
    _sys.const("BPF_FD_TYPE_URETPROBE"): PERF_EVENT_URETPROBE,
}

#: When True, attach with the perf event ioctls even where the kernel has
#: BPF_PERF_EVENT links: how the tests exercise the older kernels' path here.
force_ioctl = False


def check_program(prog: object, want: ProgramType, what: str) -> FD:
    """The program's descriptor, once its type is ``want``; nothing is opened.

    Raises:
        TypeError: ``prog`` is not a Program (holds no descriptor).
        ObjectTypeError: its descriptor is another kind of object (a Map), or
        ClosedError: the program is closed.
            the program is of another type.
    """
    fd = getattr(prog, "_fd", None)
    if not isinstance(fd, FD):
        raise TypeError(f"{Op.LINK_CREATE.value} {what}: needs a Program, not "
                        f"{type(prog).__name__}")
    if fd.closed:
        raise closed(Op.LINK_CREATE, prog)
    check_kind(fd, ObjType.PROG, Op.LINK_CREATE, what)  # a Map also holds an FD
    ptype = getattr(prog, "type", None)
    if not isinstance(ptype, ProgramType):
        raw = _sys.prog_info(fd, prog)["type"]
        try:
            ptype = ProgramType(raw)
        except ValueError:
            ptype = raw
    if ptype != want:
        got = ptype.kernel_name if isinstance(ptype, ProgramType) else f"type {ptype}"
        reason = f"{prog} is a program of type {got}; {what} needs type {want.kernel_name}"
        raise from_errno(_errno.EINVAL, Op.LINK_CREATE, what, reason=reason, hint="",
                         cls=ObjectTypeError)
    return fd


class _Cleanup:
    """What to undo (a tracefs probe event) once every clone of a link has closed."""

    __slots__ = ("run", "owners")

    def __init__(self, run: Callable[[], None]) -> None:
        self.run = run
        self.owners = 1

    def release(self) -> None:
        self.owners -= 1
        if self.owners == 0:
            self.run()


class PerfEventLink(Link):
    """A program attached through a perf event (tracepoint, kprobe, uprobe).

    Owns two descriptors: the bpf link (``fd``) and the perf event
    (``perf_fd``). Without BPF_PERF_EVENT links (``uses_ioctl``) it owns only
    the perf event, which is then also ``fd``. Reopened by ID, pin or
    descriptor (``PerfEventLink.new_from_id``...), it owns only the bpf link,
    which holds the perf event in the kernel; ``perf_fd`` then raises.
    ``repr()`` reads ``Link(perf_event tracepoint syscalls/sys_enter_getpid)#7``.
    """

    __slots__ = ("_perf", "_ioctl", "_what", "_cleanup")
    _perf: Optional[FD]
    _ioctl: bool
    _what: str
    _cleanup: Optional[_Cleanup]

    @override
    def _init_from_fd(self, fd: FD) -> None:
        super()._init_from_fd(fd)  # reopened: the bpf link only
        self._perf = None
        self._ioctl = False
        self._what = f"link id {self._id}"
        self._cleanup = None

    @classmethod
    def _wrap(cls, link_fd: Optional[FD], perf_fd: FD, what: str) -> Self:
        """Own ``link_fd`` (None: ioctl attachment) and ``perf_fd``. On error the caller closes."""
        if link_fd is not None:
            self = cls._from_fd(link_fd, check_type=False, what=what)
            self._perf = perf_fd
        else:
            self = object.__new__(cls)
            self._fd = perf_fd
            self._pinned = None
            self._perf = None
            self._ioctl = True
            self._type = LinkType.PERF_EVENT
            self._id = 0
        self._what = what
        self._cleanup = None
        return self

    @property
    def uses_ioctl(self) -> bool:
        """True when attached with PERF_EVENT_IOC_SET_BPF (no bpf link exists)."""
        return self._ioctl

    @property
    def perf_fd(self) -> int:
        """The perf event's descriptor number. It stays owned by this object.

        Raises:
            ClosedError: closed, or reopened without the perf event's descriptor.
        """
        fd = self._fd if self._ioctl else self._perf
        if fd is None:
            raise closed(Op.DUP, f"{self!r} (reopened: the kernel holds its perf event)")
        raw = fd.raw
        if raw < 0:
            raise closed(Op.DUP, self)
        return raw

    @override
    def __repr__(self) -> str:
        return f"Link(perf_event {self._what})#{self._fd.raw}"

    @override
    def clone(self) -> Self:
        """A new object owning duplicates of both descriptors (F_DUPFD_CLOEXEC)."""
        other = super().clone()  # copies the slots, duplicates _fd
        if self._perf is not None:
            try:
                other._perf = self._perf.clone()
            except BaseException:
                other._fd.close()
                raise
        if other._cleanup is not None:
            other._cleanup.owners += 1  # shared: the last owner to close runs it
        return other

    @override
    def close(self) -> None:
        """Close both descriptors; idempotent. The last owner's close detaches."""
        self._fd.close()
        if self._perf is not None:
            self._perf.close()
        cleanup, self._cleanup = self._cleanup, None
        if cleanup is not None:
            cleanup.release()

    @override
    def info(self) -> LinkInfo:
        """What the kernel says about the attachment.

        For a bpf link, BPF_OBJ_GET_INFO_BY_FD (kind, name, offset, cookie).
        For an ioctl attachment, BPF_TASK_FD_QUERY on our own perf event: the
        same record with ``id`` 0 and no cookie.
        """
        if not self._ioctl:
            return super().info()
        with self._fd.borrow(Op.TASK_FD_QUERY, self) as raw:
            q = _sys.task_fd_query(os.getpid(), raw, self)
        kind = _FD_TYPE_TO_PERF.get(q["fd_type"], 0)
        offset = q["probe_offset"]
        perf = PerfEventLinkInfo(type=kind, name=q["name"], offset=offset,
                                 addr=q["probe_addr"] if kind in (
                                     PERF_EVENT_KPROBE, PERF_EVENT_KRETPROBE) else 0,
                                 missed=0, cookie=0, ref_ctr_offset=0, config=0,
                                 event_type=0)
        return LinkInfo(id=0, type=LinkType.PERF_EVENT, prog_id=q["prog_id"], perf_event=perf)

    @override
    def detach(self) -> None:
        """Perf-event attachments cannot be detached while open: close them instead.

        Raises:
            NotSupportedError: always; the kernel's perf links have no detach.
        """
        reason = "perf_event links cannot be detached; close them (and their clones) instead"
        raise from_errno(_errno.EOPNOTSUPP, Op.LINK_DETACH, repr(self), reason=reason, hint="",
                         cls=NotSupportedError)

    @override
    def update(self, new_prog: Any, old_prog: Any = None) -> None:
        reason = "perf_event links cannot be updated; attach the new program instead"
        raise from_errno(_errno.EOPNOTSUPP, Op.LINK_UPDATE, repr(self), reason=reason, hint="",
                         cls=NotSupportedError)


def attach_perf_event(prog_fd: FD, prog: object, perf_fd: FD, cookie: int, what: str,
                      cleanup: Optional[Callable[[], None]] = None) -> PerfEventLink:
    """Attach the program to an open perf event; the result owns ``perf_fd``.

    Tries BPF_LINK_CREATE (BPF_PERF_EVENT, the cookie in perf_event.bpf_cookie);
    where the kernel lacks that link type (EINVAL), PERF_EVENT_IOC_SET_BPF and
    PERF_EVENT_IOC_ENABLE. ``cleanup`` (a tracefs probe event to remove)
    runs once the link and all its clones have closed. On any failure
    ``perf_fd`` is closed and ``cleanup`` run.

    Raises:
        NotSupportedError: a cookie on a kernel without BPF_PERF_EVENT links.
        BPFError: what the kernel refuses.
    """
    try:
        _check_cookie(cookie)
        link_fd: Optional[FD] = None
        link_error: Optional[BPFError] = None
        if not force_ioctl:
            try:
                link_fd = _sys.link_create(
                    prog_fd, target_fd=perf_fd, attach_type=int(AttachType.PERF_EVENT),
                    opts={"perf_event__bpf_cookie": cookie} if cookie else None, obj=what)
            except BPFError as exc:
                # EINVAL: a kernel without this link type (program types are
                # checked before anything is opened); the ioctls may still work.
                if exc.errno != _errno.EINVAL:
                    raise
                link_error = exc
        if link_fd is None:
            if cookie:
                reason = "cookies need BPF_PERF_EVENT links (Linux 5.15)"
                raise from_errno(_errno.EOPNOTSUPP, Op.LINK_CREATE, what, reason=reason,
                                 hint="", cls=NotSupportedError)
            try:
                _ioctl_attach(prog_fd, perf_fd, what)
            except BPFError:
                if link_error is not None:
                    raise link_error from None
                raise
        try:
            if link_fd is not None:
                # Both ways end enabled: kprobes and uprobes register on enable.
                _sys.perf_event_enable(perf_fd, obj=what)
            link = PerfEventLink._wrap(link_fd, perf_fd, what)
        except BaseException:
            if link_fd is not None:
                link_fd.close()
            raise
    except BaseException:
        perf_fd.close()
        if cleanup is not None:
            cleanup()
        raise
    if cleanup is not None:
        link._cleanup = _Cleanup(cleanup)
    return link


def _ioctl_attach(prog_fd: FD, perf_fd: FD, what: str) -> None:
    """PERF_EVENT_IOC_SET_BPF then PERF_EVENT_IOC_ENABLE (the pre-5.15 attachment)."""
    _sys.perf_event_set_bpf(perf_fd, prog_fd, obj=what)
    _sys.perf_event_enable(perf_fd, obj=what)


def _check_cookie(cookie: object) -> None:
    if isinstance(cookie, bool) or not isinstance(cookie, int):
        raise TypeError(f"cookie must be an int, not {type(cookie).__name__}")
    if not 0 <= cookie < 2**64:
        raise ValueError(f"cookie must be in [0, 2**64), got {cookie}")

