"""Reading a BPF ring buffer (cilium/ebpf's ringbuf package).

Owns ``Reader``, the consumer side of a BPF_MAP_TYPE_RINGBUF map. Imports
``_sys`` (its ring consumer: the mappings and the C helpers that read them),
``_reader`` (waiting and closing), ``map`` and ``errors``.

The kernel keeps the consumer position in the map, so a Reader sees the
records committed before it opened, and two Readers on one ring share (and
race for) its records: use one Reader per ring. Samples are copied out of the
ring before the consumer position moves past them; nothing returned refers
to the ring's memory. Read from one thread at a time; ``close()`` may come
from any thread. While a program holds a reserved record (BUSY), the ring
polls readable but yields nothing past it until it is submitted or
discarded.
"""

from __future__ import annotations

from ._internal import syscall as _sys
from ._reader import EventReader, _Waiter
from ._types import MapType
from .errors import Op, wrong_type
from .map import Map

__all__ = ["Reader"]


class Reader(EventReader[bytes]):
    """Reads the samples of a ring buffer map, in order.

    ``read(timeout=None) -> bytes``, ``read_many(max_records=None, timeout=0)
    -> list[bytes]``, ``close()``; a context manager. ``fileno()`` (an epoll
    descriptor, readable when samples wait) fits select, selectors and
    asyncio's add_reader.
    """

    __slots__ = ("_ring",)

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
        self._op = Op.RINGBUF_READ
        self._pending = []
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

    def _fetch(self, limit: int) -> list[bytes]:
        return self._ring.read_many(limit)

    @property
    def closed(self) -> bool:
        return self._ring.closed

    def _release(self) -> None:
        self._ring.close()
