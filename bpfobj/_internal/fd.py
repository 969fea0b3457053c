"""FD: the one owner of a raw file descriptor.

Owns every descriptor bpfobj creates, receives or duplicates. A leaf below
``syscall``: imports only the stdlib and ``errors``.

Rules it keeps:
- everything it holds is close-on-exec;
- it never holds fd 0 (a 0 handed to ``adopt`` is moved to >= 1 and 0 closed);
- ``close()`` is idempotent, and a forgotten FD is closed by its finalizer
  with a ResourceWarning;
- a close that races calls in flight on other threads never frees the number
  while one of them may still pass it to the kernel: the last call out closes
  it. Without that, a lookup could run on whatever object the kernel gave the
  recycled number to next.

That close guard exists once, in C (cdefs/bpfobj.c): each FD owns a slot
holding its number, an atomic count of calls in flight and a closing flag.
``syscall`` passes the slot to its C calls, each of which enters the slot,
makes the system call and leaves it; ``borrow()`` is the same protocol for a
call that needs the number in Python. To this module a slot is an index into
that C table, made and operated by the functions ``syscall`` installs with
``use_slots()`` when it is imported. The FD's finalizer releases its slot:
only then, when no call can hold the FD any more, may the index be reused.
"""

from __future__ import annotations

import errno as _errno
import fcntl
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Optional

from typing_extensions import Self

from bpfobj.errors import Op, closed, from_errno

__all__ = ["FD"]


class FD:
    """An owned, close-on-exec file descriptor number >= 1.

    Create one with ``FD.adopt(raw)`` (take ownership of ``raw``) or
    ``FD.dup(raw)`` (own a duplicate; ``raw`` stays the caller's).
    """

    __slots__ = ("_raw", "_slot", "__weakref__")

    def __init__(self, raw: int) -> None:
        # Private: use adopt() or dup(). ``raw`` must already be >= 1 and cloexec;
        # it is ours from here on (closed if no slot can be had).
        # _slot first: __del__ reads it, also when this fails (then it is < 0).
        self._slot = slot = _slot_new(raw)
        if slot < 0:
            _close(raw)
            raise MemoryError("bpfobj: no slot for a descriptor")
        self._raw = raw

    # -- construction ---------------------------------------------------------

    @classmethod
    def adopt(cls, raw: int) -> Self:
        """Take ownership of ``raw`` (close-on-exec already); moves a 0 to >= 1.

        On failure ``raw`` is closed: ownership passed with the call.
        """
        if raw < 0:
            raise ValueError(f"invalid descriptor {raw}")
        if raw == 0:
            # A syscall returned 0 because stdin was closed. Holding it would
            # let a later open() of stdin alias a bpf object. Move it.
            moved = _dup_cloexec(0)
            _close(0)
            if moved < 0:
                raise from_errno(-moved, Op.DUP, "fd 0")
            raw = moved
        return cls(raw)

    @classmethod
    def dup(cls, raw: int) -> Self:
        """Own a duplicate of ``raw`` (fcntl F_DUPFD_CLOEXEC, lowest number >= 1).

        The caller's ``raw`` is untouched and stays the caller's to close.

        Raises:
            TypeError: ``raw`` is not an int.
            BPFError: ``raw`` is not open (EBADF) or no descriptor is free (EMFILE).
        """
        if not isinstance(raw, int) or isinstance(raw, bool):
            # fcntl would also take an object with fileno() (or True as fd 1).
            raise TypeError(f"a descriptor must be an int, not {type(raw).__name__}")
        if not 0 <= raw < 2**31:
            raise from_errno(_errno.EBADF, Op.DUP, f"fd {raw!r}")
        new = _dup_cloexec(raw)
        if new < 0:
            raise from_errno(-new, Op.DUP, f"fd {raw}")
        return cls(new)

    def clone(self) -> FD:
        """Own a new duplicate of this descriptor (close-on-exec, >= 1).

        Raises:
            ClosedError: this FD is closed.
            BPFError: no descriptor is free (EMFILE).
        """
        both = _slot_dup(self._slot)  # enter, dup, leave, a new slot: one C call
        if both < 0:
            if both == _ECLOSED:
                raise closed(Op.DUP, "fd")
            raise from_errno(-both, Op.DUP, f"fd {self._raw}")
        fd = _new_fd(FD)
        fd._slot = both >> 32
        fd._raw = both & 0xFFFFFFFF
        return fd

    # -- use --------------------------------------------------------------------

    @property
    def raw(self) -> int:
        """The descriptor number, or -1 once closed. Do not close it yourself."""
        return self._raw

    @property
    def closed(self) -> bool:
        return self._raw < 0

    @property
    def slot(self) -> int:
        """The close guard's slot: an index for ``syscall``'s C calls."""
        return self._slot

    def fileno(self) -> int:
        """The descriptor number (for select(), os.fstat, ...); ClosedError once closed."""
        raw = self._raw
        if raw < 0:
            raise closed(Op.FILENO, "fd")
        return raw

    @contextmanager
    def borrow(self, op: Op = Op.DUP, obj: object = "") -> Iterator[int]:
        """Use the number for a call while a concurrent ``close()`` is held off.

        Raises:
            ClosedError: the FD was closed before the call started.
        """
        slot = self._slot
        raw = _slot_enter(slot)
        if raw < 0:
            raise closed(op, obj or "fd")
        try:
            yield raw
        finally:
            _slot_leave(slot)

    # -- end of life ------------------------------------------------------------

    def close(self) -> bool:
        """Close the descriptor; idempotent. Calls in flight on other threads finish first.

        Returns False when calls were in flight on other threads (the last of
        them closes the number as it leaves), True otherwise (closed now or before).
        """
        self._raw = -1
        return _slot_close(self._slot) != 0

    def disown(self) -> int:
        """Give up ownership: return the number, which the caller must close.

        Raises:
            ClosedError: already closed or disowned.
        """
        raw = _slot_disown(self._slot)
        if raw < 0:
            raise closed(Op.DISOWN, "fd")
        self._raw = -1
        return raw

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        # A finalizer for the forgotten. __del__ rather than weakref.finalize:
        # it costs nothing at creation, which matters for clone()+close().
        # Nothing can use the slot any more: close what is still open, free the slot.
        # Every constructor sets _slot first (a failed one: < 0); the try also
        # covers an FD made some other way without one (AttributeError).
        try:
            slot = self._slot
            if slot >= 0 and _slot_release(slot) > 0:
                warnings.warn(f"bpfobj: unclosed descriptor {self._raw}", ResourceWarning,
                              stacklevel=1)
        except Exception:  # interpreter shutdown: the module's globals may be gone
            pass

    def __repr__(self) -> str:
        return f"FD({self._raw})" if self._raw >= 0 else "FD(closed)"

    def __eq__(self, other: object) -> bool:
        return self is other

    __hash__ = object.__hash__


_new_fd = object.__new__


def _install() -> None:
    # The slot operations are syscall's C helpers, installed when it is
    # imported; syscall imports this module, so that import waits for first use.
    from . import syscall  # noqa: F401  (a real cycle: syscall imports fd)


def _slot_new_first(raw: int) -> int:
    _install()
    return _slot_new(raw)


def _dup_cloexec_first(raw: int) -> int:
    _install()
    return _dup_cloexec(raw)


def _close_first(raw: int) -> int:
    _install()
    return _close(raw)


def _not_installed(*args: Any) -> Any:
    raise RuntimeError("bpfobj: the close guard's C helpers are not installed")


# The operations on slots and numbers (see use_slots). Each returns a number,
# or -errno, or _ECLOSED, and never raises.
_slot_new: Callable[[int], int] = _slot_new_first
_slot_dup: Callable[[int], int] = _not_installed
_slot_enter: Callable[[int], int] = _not_installed
_slot_leave: Callable[[int], None] = _not_installed
_slot_close: Callable[[int], int] = _not_installed
_slot_disown: Callable[[int], int] = _not_installed
_slot_release: Callable[[int], int] = _not_installed
_dup_cloexec: Callable[[int], int] = _dup_cloexec_first
_close: Callable[[int], int] = _close_first
_ECLOSED = -65536


def use_slots(*, new: Callable[[int], int], dup: Callable[[int], int],
              enter: Callable[[int], int], leave: Callable[[int], None],
              close: Callable[[int], int], disown: Callable[[int], int],
              release: Callable[[int], int], dup_cloexec: Callable[[int], int],
              close_raw: Callable[[int], int], eclosed: int) -> None:
    """Install the close guard's slot operations (``syscall`` does, at import).

    ``new(raw)`` makes a slot holding ``raw`` (its index, or -errno); ``dup(slot)``
    duplicates the slot's number into a new slot (``slot << 32 | number``,
    -errno or ``eclosed``); ``enter``/``leave`` bracket a call (enter returns
    the number or ``eclosed``); ``close`` answers 1 (closed now), 0 (left to
    the last call in flight) or -1 (closed before); ``disown`` gives the
    number up; ``release`` closes what is open and frees the slot (1: it was
    open). ``dup_cloexec``/``close_raw`` work on bare numbers.
    """
    global _slot_new, _slot_dup, _slot_enter, _slot_leave, _slot_close
    global _slot_disown, _slot_release, _dup_cloexec, _close, _ECLOSED
    _slot_new, _slot_dup, _slot_enter, _slot_leave = new, dup, enter, leave
    _slot_close, _slot_disown, _slot_release = close, disown, release
    _dup_cloexec, _close, _ECLOSED = dup_cloexec, close_raw, eclosed


def fd_flags(raw: int) -> Optional[int]:
    """fcntl(F_GETFD) of ``raw``, or None when it is not open."""
    try:
        return fcntl.fcntl(raw, fcntl.F_GETFD)
    except (OSError, ValueError, OverflowError):  # ValueError: a negative number
        return None

