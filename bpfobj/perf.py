"""Reading perf buffers of a PERF_EVENT_ARRAY map (cilium/ebpf's perf package).

Owns ``Reader`` and ``Record``. A Reader opens one BPF-output perf event per
possible CPU, maps its buffer, stores its descriptor in the map at the CPU's
index and enables it; programs then write with bpf_perf_event_output(ctx,
map, BPF_F_CURRENT_CPU, data, size). Imports ``_sys`` (perf_event_open and
the perf consumer), ``_reader`` (waiting and closing), ``map`` and ``errors``.
"""

from __future__ import annotations

from itertools import repeat
from typing import NamedTuple, Optional

from typing_extensions import Self

from ._internal import syscall as _sys
from ._internal.fd import FD
from ._reader import _Waiter, deadline_of
from ._types import MapType
from .errors import BPFError, NotSupportedError, Op, wrong_type
from .map import Map, possible_cpus

__all__ = ["Reader", "Record"]

_UNLIMITED = 1 << 62


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


class Reader:
    """Reads the samples that programs send through a PERF_EVENT_ARRAY map.

    A context manager; ``fileno()`` (an epoll descriptor over all CPUs'
    events) fits select, selectors and asyncio's add_reader.
    """

    __slots__ = ("_map", "_events", "_perf", "_waiter", "_name", "_cpus", "_pending",
                 "__weakref__")

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
        if perf_map.type is not MapType.PERF_EVENT_ARRAY:
            raise wrong_type(Op.PERF_READ, perf_map, f"{perf_map.type.name} map",
                             "PERF_EVENT_ARRAY map")
        if per_cpu_pages <= 0 or per_cpu_pages & (per_cpu_pages - 1):
            raise ValueError(f"{self._name}: per_cpu_pages must be a power of 2, "
                             f"got {per_cpu_pages}")
        self._map = perf_map
        self._events: list[FD] = []
        self._cpus: list[int] = []
        self._pending: list[Record] = []
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

    def _records(self, limit: int) -> list[Record]:
        cpus = self._cpus
        got = self._perf.read_many(limit)
        if cpus[-1] != len(cpus) - 1:  # offline CPUs: ring index is not the CPU number
            got = [(cpus[i], s, n) for i, s, n in got]
        return list(map(_new_record, repeat(Record), got))

    def read(self, timeout: Optional[float] = None) -> Record:
        """Return the next sample of any CPU, waiting up to ``timeout`` s (None: for ever).

        Samples of one CPU come in order; between CPUs there is no order.

        Raises:
            TimeoutError: no sample within ``timeout``.
            ClosedError: the Reader is closed, also by another thread while this waits.
        """
        pending = self._pending
        if pending:
            return pending.pop()
        deadline = deadline_of(timeout) if timeout else None
        while True:
            got = self._records(64)
            if got:
                got.reverse()
                self._pending = got
                return got.pop()
            if timeout == 0 or not self._waiter.wait(deadline):
                raise TimeoutError(f"{Op.PERF_READ.value} {self._name}: "
                                   f"no sample within {timeout} s")

    def read_many(self, max_records: Optional[int] = None,
                  timeout: Optional[float] = 0) -> list[Record]:
        """Return the samples in the buffers now, at most ``max_records``.

        With ``timeout`` > 0 (or None: for ever) and nothing there, wait that
        long for the first samples; [] when none came.

        Raises:
            ClosedError: the Reader is closed (see ``read``).
        """
        limit = _UNLIMITED if max_records is None else max_records
        if limit <= 0:
            return []
        out: list[Record] = []
        pending = self._pending
        if pending:
            take = min(limit, len(pending))
            out = pending[:-take - 1:-1]
            del pending[-take:]
            limit -= take
            if not limit:
                return out
        out += self._records(limit)
        if out or timeout == 0:
            return out
        deadline = deadline_of(timeout)
        while not out and self._waiter.wait(deadline):
            out = self._records(limit)
        return out

    def fileno(self) -> int:
        """A descriptor that polls readable while samples wait (epoll over all CPUs)."""
        return self._waiter.fileno()

    @property
    def closed(self) -> bool:
        return self._perf.closed

    def _clear_map(self) -> None:
        for cpu in self._cpus:
            try:
                self._map.delete(cpu)
            except (BPFError, KeyError):
                pass  # the map is closed, or the entry was replaced or removed

    def close(self) -> None:
        """Remove the map's entries, unmap the buffers, close the events; idempotent.

        A ``read`` blocked in another thread ends with ClosedError.
        """
        if self._perf.closed:
            return
        self._perf.close()
        self._waiter.close()
        self._clear_map()
        for fd in self._events:
            fd.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return self._name + (" (closed)" if self.closed else "")
