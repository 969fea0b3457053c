"""What the ring buffer and perf buffer readers share: waiting and closing.

Owns the epoll set of a reader (the buffers' descriptors plus an eventfd that
``close()`` signals) and the deadline arithmetic of ``timeout``. Imports
``_sys`` and ``errors``; ``ringbuf`` and ``perf`` build on it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from typing import Optional

from ._internal import syscall as _sys
from ._internal.fd import FD
from .errors import Op, closed

#: The epoll tag of the close eventfd (buffer descriptors use 0..2**32-1).
_CLOSE_TAG = 1 << 32


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
