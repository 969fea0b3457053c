"""Reading a BPF ring buffer (cilium/ebpf's ringbuf package).

Owns ``Reader``, the consumer side of a BPF_MAP_TYPE_RINGBUF map. Imports
``_sys`` (its ring consumer: the mappings and the C helpers that read them),
``_reader`` (waiting and closing), ``map`` and ``errors``.

The kernel keeps the consumer position in the map, so a Reader sees the
records committed before it opened, and two Readers on one ring share (and
race for) its records: use one Reader per ring. Samples are copied out of the
ring before the consumer position moves past them; nothing returned refers
to the ring's memory.
"""

from __future__ import annotations

from typing import Optional

from typing_extensions import Self

from ._internal import syscall as _sys
from ._reader import _Waiter, deadline_of
from ._types import MapType
from .errors import Op, wrong_type
from .map import Map

__all__ = ["Reader"]

_UNLIMITED = 1 << 62


class Reader:
    """Reads the samples of a ring buffer map, in order.

    A context manager; ``fileno()`` (an epoll descriptor, readable when
    samples wait) fits select, selectors and asyncio's add_reader.
    """

    __slots__ = ("_ring", "_waiter", "_name", "_read_one", "__weakref__")

    def __init__(self, ring_map: Map) -> None:
        """Map the ring of ``ring_map`` (a RINGBUF Map) and set up waiting on it.

        The Reader does not own the map: ``ring_map`` stays the caller's, and
        may be closed while the Reader reads (the mappings keep the ring).
        The Reader owns its mappings and two descriptors (epoll, eventfd),
        released by ``close()``.

        Raises:
            ObjectTypeError: ``ring_map`` is not a RINGBUF map.
            BPFError: mmap or epoll failed.
        """
        self._name = f"ringbuf.Reader({ring_map!r})"
        if ring_map.type is not MapType.RINGBUF:
            raise wrong_type(Op.RINGBUF_READ, ring_map, f"{ring_map.type.name} map",
                             "RINGBUF map")
        fd = ring_map._fd
        self._ring = _sys.RingConsumer(fd, ring_map.max_entries, self._name)
        try:
            self._waiter = _Waiter(((fd, 0),), Op.RINGBUF_READ, self._name)
        except BaseException:
            self._ring.close()
            raise
        self._read_one = self._ring.read_one

    def read(self, timeout: Optional[float] = None) -> bytes:
        """Return the next sample, waiting up to ``timeout`` seconds (None: for ever).

        Raises:
            TimeoutError: nothing was committed within ``timeout``.
            ClosedError: the Reader is closed, also by another thread while this waits.
        """
        sample = self._read_one()
        if sample is not None:
            return sample
        deadline = deadline_of(timeout)
        while True:
            if not self._waiter.wait(deadline):
                raise TimeoutError(f"{Op.RINGBUF_READ.value} {self._name}: "
                                   f"no sample within {timeout} s")
            sample = self._read_one()
            if sample is not None:
                return sample

    def read_many(self, max_records: Optional[int] = None,
                  timeout: Optional[float] = 0) -> list[bytes]:
        """Return the samples committed now, in order, at most ``max_records``.

        With ``timeout`` > 0 (or None: for ever) and nothing committed, wait
        that long for the first samples; [] when none came.

        Raises:
            ClosedError: the Reader is closed (see ``read``).
        """
        limit = _UNLIMITED if max_records is None else max_records
        if limit <= 0:
            return []
        out = self._ring.read_many(limit)
        if out or timeout == 0:
            return out
        deadline = deadline_of(timeout)
        while not out and self._waiter.wait(deadline):
            out = self._ring.read_many(limit)
        return out

    def fileno(self) -> int:
        """A descriptor that polls readable while samples wait (epoll over the map)."""
        return self._waiter.fileno()

    @property
    def closed(self) -> bool:
        return self._ring.closed

    def close(self) -> None:
        """Unmap the ring and close the descriptors; idempotent.

        A ``read`` blocked in another thread ends with ClosedError.
        """
        if self._ring.closed:
            return
        self._ring.close()
        self._waiter.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return self._name + (" (closed)" if self.closed else "")

