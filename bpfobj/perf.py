"""Reading perf buffers of a PERF_EVENT_ARRAY map (cilium/ebpf's perf package).

Owns ``Reader`` and ``Record``. A Reader opens one BPF-output perf event per
possible CPU, maps its buffer, stores its descriptor in the map at the CPU's
index and enables it; programs then write with bpf_perf_event_output(ctx,
map, BPF_F_CURRENT_CPU, data, size). Imports ``_sys`` (perf_event_open and
the perf consumer), ``_reader`` (waiting and closing), ``map`` and ``errors``.
Read from one thread at a time; ``close()`` may come from any thread.
"""

from __future__ import annotations

from itertools import repeat
from typing import NamedTuple

from ._internal import syscall as _sys
from ._internal.fd import FD
from ._reader import EventReader, _Waiter
from ._types import MapType
from .errors import BPFError, NotSupportedError, Op, wrong_type
from .map import Map, possible_cpus

__all__ = ["Reader", "Record"]


class Record(NamedTuple):
    """One sample of a perf buffer.

    ``sample`` is the raw sample as the kernel reports it: its u32 size
    counts the bytes the program wrote plus the padding the kernel adds to
    keep records 8-byte aligned (so a 64-byte write arrives as 68 bytes).
    ``lost`` is the number of samples the kernel dropped on this CPU, for
    lack of room, before this one; over a Reader's life the ``lost`` values
    add up to what the kernel dropped (a loss is reported with the next
    sample that fits).
    """

    cpu: int
    sample: bytes
    lost: int


_new_record = tuple.__new__


class Reader(EventReader[Record]):
    """Reads the samples that programs send through a PERF_EVENT_ARRAY map.

    ``read(timeout=None) -> Record``, ``read_many(max_records=None,
    timeout=0) -> list[Record]``, ``close()``; a context manager. Samples of
    one CPU come in order; between CPUs there is no order. ``fileno()`` (an
    epoll descriptor over all CPUs' events) fits select, selectors and
    asyncio's add_reader.
    """

    __slots__ = ("_map", "_events", "_perf", "_cpus")

    def __init__(self, perf_map: Map, per_cpu_pages: int = 8) -> None:
        """Open, map and enable a perf buffer of ``per_cpu_pages`` pages for each CPU.

        ``per_cpu_pages`` is a power of 2. The map stays the caller's; the
        Reader writes its entries (CPU index to perf event descriptor) and
        deletes them again on ``close()``. The Reader owns the perf events,
        their mappings and its epoll and eventfd descriptors. CPUs that are
        possible but offline (ENODEV) get no buffer.

        Raises:
            ObjectTypeError: ``perf_map`` is not a PERF_EVENT_ARRAY map.
            ValueError: ``per_cpu_pages`` is not a power of 2.
            BPFError: perf_event_open, mmap, the map update or epoll failed.
        """
        self._name = f"perf.Reader({perf_map!r})"
        self._op = Op.PERF_READ
        self._pending = []
        if perf_map.type is not MapType.PERF_EVENT_ARRAY:
            raise wrong_type(Op.PERF_READ, perf_map, f"{perf_map.type.name} map",
                             "PERF_EVENT_ARRAY map")
        if per_cpu_pages <= 0 or per_cpu_pages & (per_cpu_pages - 1):
            raise ValueError(f"{self._name}: per_cpu_pages must be a power of 2, "
                             f"got {per_cpu_pages}")
        self._map = perf_map
        self._events: list[FD] = []
        self._cpus: list[int] = []
        try:
            for cpu in range(min(possible_cpus(), perf_map.max_entries)):
                try:
                    fd = _sys.perf_event_open(
                        type=_sys.PERF_TYPE_SOFTWARE, config=_sys.PERF_COUNT_SW_BPF_OUTPUT,
                        pid=-1, cpu=cpu, sample_type=_sys.PERF_SAMPLE_RAW, sample_period=1,
                        wakeup_events=1, disabled=True, obj=f"{self._name} cpu {cpu}")
                except NotSupportedError:
                    continue  # ENODEV: the CPU is offline
                self._events.append(fd)
                self._cpus.append(cpu)
            self._perf = _sys.PerfConsumer(self._events, per_cpu_pages, self._name)
            try:
                for cpu, fd in zip(self._cpus, self._events, strict=True):
                    perf_map.update(cpu, fd.raw)
                    _sys.perf_event_enable(fd, self._name)
                self._waiter = _Waiter(((fd, i) for i, fd in enumerate(self._events)),
                                       Op.PERF_READ, self._name)
            except BaseException:
                self._perf.close()
                self._clear_map()
                raise
        except BaseException:
            for fd in self._events:
                fd.close()
            raise

    def _fetch(self, limit: int) -> list[Record]:
        flat = self._perf.read_many(limit)
        if self._cpus[-1] != len(self._cpus) - 1:  # offline CPUs: buffer index != CPU number
            flat[::3] = [self._cpus[i] for i in flat[::3]]
        it = iter(flat)
        return list(map(_new_record, repeat(Record), zip(it, it, it, strict=True)))

    @property
    def closed(self) -> bool:
        return self._perf.closed

    def _clear_map(self) -> None:
        for cpu in self._cpus:
            try:
                self._map.delete(cpu)
            except (BPFError, KeyError):
                pass  # the map is closed, or the entry was replaced or removed

    def _release(self) -> None:
        self._perf.close()
        self._clear_map()
        for fd in self._events:
            fd.close()
