"""FD: the one owner of a raw file descriptor.

Owns every descriptor bpfobj creates, receives or duplicates. A leaf below
``_sys``: imports only the stdlib and ``errors``.

Rules it keeps:
- everything it holds is close-on-exec;
- it never holds fd 0 (a 0 handed to ``adopt`` is moved to >= 1 and 0 closed);
- ``close()`` is idempotent, and a forgotten FD is closed by its finalizer
  with a ResourceWarning;
- a close that races calls in flight on other threads never frees the number
  while one of them may still pass it to the kernel: the last call out closes
  it. Without that, a lookup could run on whatever object the kernel gave the
  recycled number to next.

The in-flight guard is two list operations (``append``/``pop``), each atomic
under the GIL, and a one-element "token" list whose ``pop`` elects exactly
one closer. ``_sys`` inlines the same protocol on its hot paths.
"""

from __future__ import annotations

import errno as _errno
import fcntl
import os
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Optional

from typing_extensions import Self

from bpfobj.errors import ClosedError, Op, from_errno

__all__ = ["FD"]


class FD:
    """An owned, close-on-exec file descriptor number >= 1.

    Create one with ``FD.adopt(raw)`` (take ownership of ``raw``) or
    ``FD.dup(raw)`` (own a duplicate; ``raw`` stays the caller's).
    """

    __slots__ = ("_raw", "_num", "_inflight", "_token", "__weakref__")

    #: How many close() calls found calls in flight and left the close to
    #: them (a statistic for tests of close racing use; not thread-exact).
    deferred_closes = 0

    def __init__(self, raw: int) -> None:
        # Private: use adopt() or dup(). ``raw`` must already be >= 1 and cloexec.
        self._num = raw
        self._raw = raw
        self._inflight: list[None] = []
        self._token: list[bool] = [True]

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
            try:
                moved = fcntl.fcntl(0, fcntl.F_DUPFD_CLOEXEC, 1)
            except OSError as exc:
                os.close(0)
                raise from_errno(exc.errno or _errno.EBADF, Op.DUP, "fd 0") from exc
            os.close(0)
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
        try:
            new = _dup_cloexec(raw)
        except (ValueError, OverflowError) as exc:  # negative, or too large for an int
            raise from_errno(_errno.EBADF, Op.DUP, f"fd {raw!r}") from exc
        if new < 0:
            raise from_errno(-new, Op.DUP, f"fd {raw}")
        return cls(new)

    def clone(self) -> FD:
        """Own a new duplicate of this descriptor (close-on-exec, >= 1).

        Raises:
            ClosedError: this FD is closed.
            BPFError: no descriptor is free (EMFILE).
        """
        # borrow()'s protocol, inlined: a generator context manager costs more
        # than the dup itself.
        inflight = self._inflight
        inflight.append(None)
        try:
            raw = self._raw
            if raw < 0:
                raise ClosedError(_errno.EBADF, f"{Op.DUP.value} fd: object is closed",
                                  op=Op.DUP, obj="", reason="object is closed")
            new = _dup_cloexec(raw)
            if new < 0:
                raise from_errno(-new, Op.DUP, f"fd {raw}")
        finally:
            inflight.pop()
            if self._raw < 0 and not inflight:
                self._reap()
        fd = _new_fd(FD)
        fd._num = fd._raw = new
        fd._inflight = []
        fd._token = [True]
        return fd

    # -- use --------------------------------------------------------------------

    @property
    def raw(self) -> int:
        """The descriptor number, or -1 once closed. Do not close it yourself."""
        return self._raw

    @property
    def closed(self) -> bool:
        return self._raw < 0

    def fileno(self) -> int:
        """The descriptor number (for select(), os.fstat, ...); ClosedError once closed."""
        raw = self._raw
        if raw < 0:
            raise ClosedError(_errno.EBADF, "descriptor is closed", reason="descriptor is closed")
        return raw

    @contextmanager
    def borrow(self, op: Op = Op.DUP, obj: object = "") -> Iterator[int]:
        """Use the number for a call while a concurrent ``close()`` is held off.

        Raises:
            ClosedError: the FD was closed before the call started.
        """
        inflight = self._inflight
        inflight.append(None)
        try:
            raw = self._raw
            if raw < 0:
                raise ClosedError(
                    _errno.EBADF, f"{op.value} {obj or 'fd'}: object is closed".replace("  ", " "),
                    op=op, obj=str(obj), reason="object is closed")
            yield raw
        finally:
            inflight.pop()
            if self._raw < 0 and not inflight:
                self._reap()

    # -- end of life ------------------------------------------------------------

    def close(self) -> None:
        """Close the descriptor; idempotent. Calls in flight on other threads finish first."""
        if self._raw < 0:
            return
        self._raw = -1
        if not self._inflight:
            self._reap()
        else:
            # Another thread is inside a call with this number: it closes it.
            FD.deferred_closes += 1

    def _reap(self) -> None:
        # Exactly one caller gets the token and closes the number.
        try:
            self._token.pop()
        except IndexError:
            return
        _close(self._num)  # an error (EINTR, EIO) still frees the number on Linux

    def disown(self) -> int:
        """Give up ownership: return the number, which the caller must close.

        Raises:
            ClosedError: already closed or disowned.
        """
        try:
            self._token.pop()
        except IndexError:
            raise ClosedError(
                _errno.EBADF, "disown: descriptor is closed", reason="descriptor is closed"
            ) from None
        self._raw = -1
        return self._num

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        # A finalizer for the forgotten. __del__ rather than weakref.finalize:
        # it costs nothing at creation, which matters for clone()+close().
        token = getattr(self, "_token", None)
        if token:
            try:
                warnings.warn(
                    f"bpfobj: unclosed descriptor {self._num}", ResourceWarning, stacklevel=1
                )
            except Exception:  # interpreter shutdown
                pass
            self._raw = -1
            self._reap()

    def __repr__(self) -> str:
        return f"FD({self._raw})" if self._raw >= 0 else "FD(closed)"

    def __eq__(self, other: object) -> bool:
        return self is other

    __hash__ = object.__hash__


_new_fd = object.__new__


def _fcntl_dup_cloexec(raw: int) -> int:
    """fcntl(raw, F_DUPFD_CLOEXEC, 1): the new number, or -errno."""
    try:
        return fcntl.fcntl(raw, fcntl.F_DUPFD_CLOEXEC, 1)
    except OSError as exc:
        return -(exc.errno or _errno.EBADF)


def _os_close(raw: int) -> int:
    """close(raw): 0, or -errno."""
    try:
        os.close(raw)
    except OSError as exc:
        return -(exc.errno or _errno.EBADF)
    return 0


# How FD duplicates and closes. ``_sys`` installs its C helpers (same
# contract: a number or -errno, no exception) with use_helpers(), which saves
# a third of the cost of clone()+close(); these stdlib versions serve until then.
_dup_cloexec: Callable[[int], int] = _fcntl_dup_cloexec
_close: Callable[[int], int] = _os_close


def use_helpers(dup_cloexec: Callable[[int], int], close: Callable[[int], int]) -> None:
    """Make FD duplicate and close with these (each returns a number or 0, or -errno)."""
    global _dup_cloexec, _close
    _dup_cloexec, _close = dup_cloexec, close


def fd_flags(raw: int) -> Optional[int]:
    """fcntl(F_GETFD) of ``raw``, or None when it is not open."""
    try:
        return fcntl.fcntl(raw, fcntl.F_GETFD)
    except (OSError, ValueError, OverflowError):  # ValueError: a negative number
        return None

