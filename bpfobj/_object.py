"""The behaviour every bpf object wrapper shares: one owned FD, pins, constructors.

Owns ``BPFObject``, the base of Program and BTF (Map and Link carry the same
methods themselves). Imports ``_sys``, ``_types``, ``errors`` and ``fd``.

A subclass sets ``_KIND`` (its ObjType), ``_KIND_NAME`` (the descriptor name
used in messages: ``bpf-prog``) and implements ``_init_from_fd(fd, info)``
which reads what it keeps from the kernel.
"""

from __future__ import annotations

import contextlib
import errno as _errno
import os
from typing import Any, ClassVar, Optional, Union

from typing_extensions import Self

from ._internal import syscall as _sys
from ._internal.fd import FD
from ._types import ObjType, fd_type
from .errors import BPFError, NotBPFFSError, Op, closed, from_errno, wrong_type

__all__ = ["BPFObject"]


def check_kind(fd: FD, want: ObjType, op: Op, what: str, path: Optional[str] = None) -> None:
    """Raise ObjectTypeError unless ``fd`` is a ``want`` ("fd 7 is a bpf-map, not a bpf-prog")."""
    kind = fd_type(fd.raw)
    if kind is want:
        return
    want_name = want.anon_names[-1]
    got = kind.anon_names[-1] if kind is not None else "non-bpf file"
    raise wrong_type(op, what, got, want_name, path)


class BPFObject:
    """Base of the object wrappers: owns exactly one FD; a context manager."""

    __slots__ = ("_fd", "_pinned", "__weakref__")
    _KIND: ClassVar[ObjType]
    _fd: FD
    _pinned: Optional[str]

    def __init__(self) -> None:
        raise TypeError(
            f"use the {type(self).__name__} constructors (new_from_fd, new_from_id, ...)")

    def _init_from_fd(self, fd: FD) -> None:
        """Read what the wrapper keeps (type, name) from the kernel. Subclasses override."""

    @classmethod
    def _from_fd(cls, fd: FD, pinned: Optional[str] = None, *, check_type: bool = True,
                 op: Op = Op.OBJ_GET_INFO, what: str = "") -> Self:
        """Wrap an owned descriptor. On error the caller closes ``fd``."""
        what = what or f"fd {fd.raw}"
        if check_type:
            check_kind(fd, cls._KIND, op, what, pinned)
        self = object.__new__(cls)
        self._fd = fd
        self._pinned = pinned
        self._init_from_fd(fd)
        return self

    @classmethod
    def _adopting(cls, fd: FD, **kw: Any) -> Self:
        try:
            return cls._from_fd(fd, **kw)
        except BaseException:
            fd.close()
            raise

    # -- constructors --------------------------------------------------------------

    @classmethod
    def new_from_fd(cls, raw: int) -> Self:
        """Open the object behind descriptor ``raw`` by duplicating it (F_DUPFD_CLOEXEC, >= 1).

        Ownership: the new object owns the duplicate; ``raw`` stays the caller's,
        open and usable, and closing either one leaves the other working.

        Raises:
            BPFError: ``raw`` is not an open descriptor (EBADF).
            ObjectTypeError: ``raw`` is another kind of object or no bpf object.
        """
        return cls._adopting(_sys.dup_cloexec(raw), op=Op.DUP, what=f"fd {raw}")

    @classmethod
    def new_from_id(cls, obj_id: int) -> Self:
        """Open the object with this ID (BPF_*_GET_FD_BY_ID). It owns the new descriptor.

        Raises:
            BPFPermissionError: needs root or CAP_SYS_ADMIN (CAP_BPF is not enough).
            BPFError: no object has this ID (ENOENT).
        """
        kind = cls._KIND.value
        return cls._adopting(_sys.get_fd_by_id(kind, obj_id), check_type=False,
                             what=f"{kind} id {obj_id}")

    @classmethod
    def new_from_pidfd(cls, pid: int, raw: int) -> Self:
        """Copy descriptor ``raw`` out of process ``pid`` (pidfd_open + pidfd_getfd).

        The new object owns the copy; the other process keeps its descriptor.
        Requires Linux 5.6 and ptrace access to ``pid``.

        Raises:
            ProcessGoneError: no such process.
            BPFError: the process has no descriptor ``raw``.
            ObjectTypeError: the descriptor is another kind of object.
            BPFPermissionError: no ptrace access.
        """
        what = f"pid {pid} fd {raw}"
        with _sys.pidfd_open(pid) as pidfd:
            fd = _sys.pidfd_getfd(pidfd, raw, what)
        return cls._adopting(fd, op=Op.PIDFD, what=what)

    @classmethod
    def load_pinned(cls, path: Union[str, os.PathLike[str]]) -> Self:
        """Open the object pinned at ``path`` (BPF_OBJ_GET), checking its kind.

        The new object owns the descriptor and remembers the path (``is_pinned``).

        Raises:
            ObjectTypeError: another kind of object is pinned there.
            NotBPFFSError: the path is not on a bpffs mount.
            BPFError: nothing is pinned there (ENOENT).
        """
        return cls._load_pinned(path)

    @classmethod
    def _load_pinned(cls, path: Union[str, os.PathLike[str]], file_flags: int = 0) -> Self:
        path = os.fspath(path)
        fd = _sys.obj_get(path, file_flags, cls._KIND.value)
        return cls._adopting(fd, pinned=path, op=Op.OBJ_GET, what=path)

    def clone(self) -> Self:
        """A new object owning a duplicate of this one's descriptor (F_DUPFD_CLOEXEC)."""
        other = object.__new__(type(self))
        for name in _all_slots(type(self)):
            if name != "__weakref__" and hasattr(self, name):
                object.__setattr__(other, name, getattr(self, name))
        other._fd = self._fd.clone()
        return other

    # -- descriptor --------------------------------------------------------------------

    @property
    def fd(self) -> int:
        """The descriptor number. It stays owned by this object: do not close it."""
        raw = self._fd.raw
        if raw < 0:
            raise closed(Op.DUP, self)
        return raw

    def fileno(self) -> int:
        return self.fd

    @property
    def closed(self) -> bool:
        return self._fd.closed

    def close(self) -> None:
        """Close this object's descriptor; idempotent. The object lives on while others hold it."""
        self._fd.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __reduce__(self) -> Any:
        raise TypeError(f"a {type(self).__name__} cannot be pickled; pass it with "
                        "bpfobj.fdpass or a pin")

    def _repr_fd(self) -> str:
        """The descriptor part of ``repr()``: ``#7``, or ``#closed`` once closed."""
        return "#closed" if self._fd.closed else f"#{self._fd.raw}"

    # -- pins ----------------------------------------------------------------------------

    @property
    def is_pinned(self) -> bool:
        """True when pinned by pin() or opened by load_pinned() (cilium's IsPinned)."""
        return self._pinned is not None

    @property
    def pinned_path(self) -> Optional[str]:
        return self._pinned

    def pin(self, path: Union[str, os.PathLike[str]]) -> None:
        """Pin the object at ``path`` on a bpffs mount (BPF_OBJ_PIN), or move its pin there.

        An object that is already pinned (by ``pin()`` or ``load_pinned()``) has
        its pin moved, as cilium/ebpf's Pin does: the old path is renamed to the
        new one with RENAME_NOREPLACE, so an existing file at ``path`` is never
        replaced. When the old pin is gone (someone removed it), or lies on
        another bpffs mount (EXDEV), the object is pinned anew at ``path`` and
        the old pin, if any, is removed. Pinning again at the current path does
        nothing. To pin one object at several paths, pin another wrapper of
        it: ``Map.new_from_fd(m.fd).pin(other_path)``.

        Raises:
            NotBPFFSError: the path is not on a bpffs mount.
            BPFError: the path exists (EEXIST), its directory does not (ENOENT),
                or its name holds a '.'.
        """
        path = os.fspath(path)
        old = self._pinned
        if old is not None and os.path.abspath(old) == os.path.abspath(path):
            return
        if old is not None:
            try:
                _sys.rename_noreplace(old, path)
            except OSError as exc:
                # ENOENT is either the old pin gone (pin anew) or the new directory
                # missing (an error); EXDEV is a move to another mount (pin anew).
                old_gone = exc.errno == _errno.ENOENT and not os.path.lexists(old)
                if not (old_gone or exc.errno == _errno.EXDEV):
                    raise from_errno(exc.errno or _errno.EINVAL, Op.OBJ_PIN, self,
                                     path) from None
            else:
                self._pinned = path
                return
        try:
            _sys.obj_pin(self._fd, path, self)
        except NotBPFFSError as exc:
            raise explain_pin_eperm(exc, path, self) from None
        self._pinned = path
        if old is not None:
            # The move crossed bpffs mounts: the new pin exists, drop the old one.
            with contextlib.suppress(FileNotFoundError):
                os.unlink(old)

    def unpin(self) -> None:
        """Remove the pin this object made or was loaded from; no-op when not pinned."""
        if self._pinned is None:
            return
        try:
            os.unlink(self._pinned)
        except FileNotFoundError:
            pass
        self._pinned = None


def _all_slots(cls: type) -> list[str]:
    names: list[str] = []
    for klass in cls.__mro__:
        slots = klass.__dict__.get("__slots__", ())
        names.extend([slots] if isinstance(slots, str) else slots)
    return names


def explain_pin_eperm(exc: NotBPFFSError, path: str, obj: object) -> BPFError:
    """EPERM from BPF_OBJ_PIN: say whether the directory is not bpffs or the name has a '.'."""
    parent = os.path.dirname(os.path.abspath(path)) or "/"
    try:
        on_bpffs = _sys.statfs_type(parent) == _sys.BPF_FS_MAGIC
    except OSError:
        on_bpffs = False
    if on_bpffs and "." in os.path.basename(path):
        return from_errno(_errno.EPERM, Op.OBJ_PIN, obj, path, cls=BPFError, hint="",
                          reason="bpffs names may not contain '.'")
    if on_bpffs:
        return exc
    return from_errno(_errno.EPERM, Op.OBJ_PIN, obj, path, cls=NotBPFFSError,
                      reason=f"{parent!r} is not on a bpffs mount",
                      hint="mount -t bpf bpf DIR")
