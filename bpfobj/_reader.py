"""What the ring buffer and perf buffer readers share: reading, waiting, closing.

Owns ``EventReader`` (read, read_many, fileno, close, over a subclass's
``_fetch``), the epoll set of a reader (the buffers' descriptors plus an
eventfd that ``close()`` signals) and the deadline arithmetic of
``timeout``. Imports ``_sys`` and ``errors``; ``ringbuf`` and ``perf`` build
on it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from typing import Generic, Optional, TypeVar

from typing_extensions import Self

from ._internal import syscall as _sys
from ._internal.fd import FD
from .errors import Op, closed

#: The epoll tag of the close eventfd (buffer descriptors use 0..2**32-1).
_CLOSE_TAG = 1 << 32
#: Records ``read()`` takes from the buffer at a time (it hands them out one by one).
_READ_BATCH = 256
_UNLIMITED = 1 << 62

_T = TypeVar("_T")


class _Waiter:
    """An epoll set over ``fds`` and a close eventfd. Owns its two descriptors."""

    __slots__ = ("_epoll", "_wake", "_op", "_obj", "_closed", "_waiting")

    def __init__(self, fds: Iterable[tuple[FD, int]], op: Op, obj: object) -> None:
        self._op = op
        self._obj = obj
        self._closed = False
        self._waiting: list[None] = []
        self._epoll = _sys.epoll_create()
        try:
            self._wake = _sys.eventfd()
            try:
                _sys.epoll_add(self._epoll, self._wake, _CLOSE_TAG, obj)
                for fd, tag in fds:
                    _sys.epoll_add(self._epoll, fd, tag, obj)
            except BaseException:
                self._wake.close()
                raise
        except BaseException:
            self._epoll.close()
            raise

    def fileno(self) -> int:
        """The epoll descriptor: readable when a buffer has data (or on close)."""
        return self._epoll.fileno()

    def wait(self, deadline: Optional[float]) -> bool:
        """Wait for data until ``deadline`` (time.monotonic(); None: for ever).

        Returns False when the deadline passed. Raises ClosedError once closed.
        """
        if self._closed:
            raise closed(self._op, self._obj)
        if deadline is None:
            ms = -1
        else:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            ms = max(1, math.ceil(left * 1000))
        self._waiting.append(None)
        try:
            tags = _sys.epoll_wait(self._epoll, ms, obj=self._obj)
        finally:
            self._waiting.pop()
            if self._closed:
                self._wake.close()  # close() may have left it to us (see there)
        if self._closed or _CLOSE_TAG in tags:
            raise closed(self._op, self._obj)
        return True

    def close(self) -> None:
        """Release a wait on another thread (it raises ClosedError), then close."""
        if self._closed:
            return
        self._closed = True
        _sys.eventfd_signal(self._wake)
        # A wait in flight keeps the epoll number until it returns (FD's guard).
        self._epoll.close()
        # Closing the eventfd now would drop it from the epoll set, and its
        # event with it, before a waiting thread collects it: that thread
        # would sleep on. A waiter closes it when it wakes.
        if not self._waiting:
            self._wake.close()


def deadline_of(timeout: Optional[float]) -> Optional[float]:
    """The monotonic deadline of a ``timeout`` in seconds (None: none)."""
    if timeout is None:
        return None
    if timeout < 0:
        raise ValueError(f"timeout must be >= 0 or None, got {timeout!r}")
    return time.monotonic() + timeout


class EventReader(Generic[_T]):
    """read/read_many/fileno/close over ``_fetch(limit) -> list`` (copied records, in order).

    ``read()`` takes up to 256 records at a time out of the buffer and hands
    them out one by one; ``read_many`` returns those first. ``close()`` drops
    them.
    """

    __slots__ = ("_waiter", "_pending", "_name", "_op", "__weakref__")

    _waiter: _Waiter
    _pending: list[_T]
    _name: str
    _op: Op

    def _fetch(self, limit: int) -> list[_T]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _release(self) -> None:  # pragma: no cover - abstract
        """Unmap and close what the subclass owns (idempotent)."""
        raise NotImplementedError

    @property
    def closed(self) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def read(self, timeout: Optional[float] = None) -> _T:
        """Return the next record, waiting up to ``timeout`` seconds (None: for ever).

        Raises:
            TimeoutError: nothing came within ``timeout``.
            ClosedError: the Reader is closed, also by another thread while this waits.
        """
        pending = self._pending
        if pending:
            return pending.pop()
        deadline = deadline_of(timeout)
        while True:
            got = self._fetch(_READ_BATCH)
            if got:
                got.reverse()
                self._pending = got
                return got.pop()
            if timeout == 0 or not self._waiter.wait(deadline):
                raise TimeoutError(f"{self._op.value} {self._name}: "
                                   f"no sample within {timeout} s")

    def read_many(self, max_records: Optional[int] = None,
                  timeout: Optional[float] = 0) -> list[_T]:
        """Return the records there now, in order, at most ``max_records``.

        With ``timeout`` > 0 (or None: for ever) and nothing there, wait that
        long for the first records; [] when none came.

        Raises:
            ClosedError: the Reader is closed (see ``read``).
        """
        limit = _UNLIMITED if max_records is None else max_records
        if limit <= 0:
            return []
        pending = self._pending
        if pending:
            take = min(limit, len(pending))
            out = pending[:-take - 1:-1]
            del pending[-take:]
            if take < limit:
                out += self._fetch(limit - take)
            return out
        out = self._fetch(limit)
        if out or timeout == 0:
            return out
        deadline = deadline_of(timeout)
        while not out and self._waiter.wait(deadline):
            out = self._fetch(limit)
        return out

    def fileno(self) -> int:
        """A descriptor that polls readable while records wait (an epoll set), for
        select, selectors and asyncio's add_reader."""
        return self._waiter.fileno()

    def close(self) -> None:
        """Release the buffers and descriptors; idempotent.

        A ``read`` blocked in another thread ends with ClosedError.
        """
        if self.closed:
            return
        self._pending = []
        self._release()
        self._waiter.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return self._name + (" (closed)" if self.closed else "")
