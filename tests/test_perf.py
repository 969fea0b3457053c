"""perf.Reader against real perf buffers fed by socket filter programs (test_run)."""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator

import pytest

from bpfobj import Map, MapSpec, MapType, ObjectTypeError, perf
from bpfobj.map import possible_cpus
from tests.conftest import open_fds
from tests.eventprogs import (
    PACKET,
    assert_close_releases_blocked_read,
    counter_map,
    drops,
    expected,
    perf_output,
    var_size,
)

pytestmark = pytest.mark.usefixtures("kernel")


def perf_map() -> Map:
    return Map.create(MapSpec(MapType.PERF_EVENT_ARRAY, 4, 4, possible_cpus(), name="test_perf"))


def raw_size(size: int) -> int:
    """What the kernel reports for ``size`` bytes written: the u32 size field and the
    data are padded to a multiple of 8."""
    return (size + 4 + 7) // 8 * 8 - 4


@pytest.fixture
def counter() -> Iterator[Map]:
    with counter_map() as m:
        yield m


@pytest.fixture
def pinned_cpu() -> Iterator[None]:
    saved = os.sched_getaffinity(0)
    try:
        yield
    finally:
        os.sched_setaffinity(0, saved)


def perf_mappings() -> int:
    with open("/proc/self/maps", "rb") as f:
        return sum(1 for line in f if b"perf_event" in line)


def test_records_carry_the_cpu_they_were_produced_on(counter: Map, pinned_cpu: None) -> None:
    cpus = sorted(os.sched_getaffinity(0))
    with perf_map() as pm, perf_output(pm, counter) as prog, perf.Reader(pm) as r:
        order = []
        for _ in range(3):
            for cpu in cpus:
                os.sched_setaffinity(0, {cpu})
                prog.test_run(PACKET, repeat=5)
                order += [cpu] * 5
        got = r.read_many()
        assert len(got) == len(order)
        assert drops(counter) == 0
        for rec in got:
            number, cpu = struct.unpack_from("<QI", rec.sample)
            assert rec.cpu == cpu == order[number]
            assert rec.lost == 0
            assert len(rec.sample) == raw_size(64)
            want = bytearray(expected(number, 64))
            want[8:12] = struct.pack("<I", cpu)
            assert rec.sample[:64] == want
        # each CPU's samples come in order
        for cpu in cpus:
            numbers = [struct.unpack_from("<Q", x.sample)[0] for x in got if x.cpu == cpu]
            assert numbers == sorted(numbers) and len(numbers) == 15


def test_overrun_lost_plus_received_adds_up(counter: Map, pinned_cpu: None) -> None:
    os.sched_setaffinity(0, {0})
    with perf_map() as pm, perf_output(pm, counter) as prog, \
            perf.Reader(pm, per_cpu_pages=1) as r:
        prog.test_run(PACKET, repeat=1000)  # a one-page buffer holds ~50
        first = r.read_many()
        dropped = drops(counter)
        assert 0 < len(first) < 1000 and dropped == 1000 - len(first)
        assert sum(x.lost for x in first) == 0
        prog.test_run(PACKET, repeat=1)  # the kernel reports the loss before this one
        rec = r.read(timeout=1)
        assert rec.lost == dropped
        assert len(first) + 1 + rec.lost == 1001
        numbers = [struct.unpack_from("<Q", x.sample)[0] for x in first]
        assert numbers == list(range(len(first)))
        assert struct.unpack_from("<Q", rec.sample)[0] == 1000


def test_wrapping_records_are_copied_whole(counter: Map, pinned_cpu: None) -> None:
    # Variable sizes in a one-page buffer: records wrap the end at many offsets.
    os.sched_setaffinity(0, {0})
    with perf_map() as pm, perf_output(pm, counter, size=None) as prog, \
            perf.Reader(pm, per_cpu_pages=1) as r:
        got: list[perf.Record] = []
        for rnd in range(200):
            prog.test_run(PACKET, repeat=20)
            if rnd % 2:
                got += r.read_many()
            else:
                got += [r.read(timeout=0) for _ in range(20)]
        assert drops(counter) == 0
        assert len(got) == 4000
        for i, rec in enumerate(got):
            size = var_size(i)
            assert len(rec.sample) == raw_size(size)
            assert rec.sample[:size] == expected(i, size)
            assert rec.cpu == 0 and rec.lost == 0


def test_read_many_max_records_keeps_order(counter: Map, pinned_cpu: None) -> None:
    os.sched_setaffinity(0, {0})
    with perf_map() as pm, perf_output(pm, counter) as prog, perf.Reader(pm) as r:
        prog.test_run(PACKET, repeat=100)
        a = [r.read(timeout=0) for _ in range(3)]
        b = r.read_many(max_records=50)
        c = r.read_many()
        numbers = [struct.unpack_from("<Q", x.sample)[0] for x in a + b + c]
        assert (len(a), len(b), len(c)) == (3, 50, 47)
        assert numbers == list(range(100))


def test_timeout_and_close_from_another_thread() -> None:
    with perf_map() as pm:
        r = perf.Reader(pm)
        with pytest.raises(TimeoutError, match="no sample within"):
            r.read(timeout=0.05)
        assert r.read_many(timeout=0.05) == []
        assert_close_releases_blocked_read(r)


def test_no_mapping_and_no_descriptor_left_after_close(counter: Map) -> None:
    with perf_map() as pm, perf_output(pm, counter) as prog:
        maps_before, fds_before = perf_mappings(), open_fds()
        r = perf.Reader(pm, per_cpu_pages=2)
        assert perf_mappings() == maps_before + possible_cpus()
        prog.test_run(PACKET, repeat=3)
        assert len(r.read_many()) == 3
        r.close()
        assert perf_mappings() == maps_before
        assert open_fds() == fds_before
        # the map's entries went with the Reader: output now fails (ENOENT)
        prog.test_run(PACKET, repeat=2)
        assert drops(counter) == 2


def test_bad_arguments() -> None:
    with Map.create(MapSpec(MapType.ARRAY, 4, 4, 1)) as m:
        fds = open_fds()
        with pytest.raises(ObjectTypeError, match="not a PERF_EVENT_ARRAY map"):
            perf.Reader(m)
        assert open_fds() == fds
    with perf_map() as pm:
        fds = open_fds()
        with pytest.raises(ValueError, match="power of 2"):
            perf.Reader(pm, per_cpu_pages=3)
        assert open_fds() == fds


def test_perf_event_open_and_ioctls() -> None:
    from bpfobj import BPFError
    from bpfobj._internal import syscall as _sys

    fds = open_fds()
    with pytest.raises(BPFError, match=r"^perf event open tracepoint 2147483648: "):
        _sys.perf_event_open(type=_sys.PERF_TYPE_TRACEPOINT, config=2**31, sample_period=1,
                             obj="tracepoint 2147483648")
    with _sys.perf_event_open(type=_sys.PERF_TYPE_SOFTWARE, config=_sys.PERF_COUNT_SW_BPF_OUTPUT,
                              cpu=0, sample_type=_sys.PERF_SAMPLE_RAW, sample_period=1,
                              disabled=True) as fd:
        assert _sys.fd_flags(fd) & 1  # FD_CLOEXEC
        first = _sys.perf_event_id(fd)
        with _sys.perf_event_open(type=_sys.PERF_TYPE_SOFTWARE,
                                  config=_sys.PERF_COUNT_SW_BPF_OUTPUT, cpu=0) as other:
            assert _sys.perf_event_id(other) > first > 0
        _sys.perf_event_enable(fd)
        _sys.perf_event_disable(fd)
        with pytest.raises(BPFError, match="perf event ioctl"):
            _sys.perf_event_query_bpf(fd)  # only tracepoint events have programs to list
        m = _sys.mmap_fd(fd, 2 * _sys.PAGE_SIZE, writable=True)
        assert m.address and perf_mappings() >= 1
        m.close()
        m.close()
        assert m.address == 0
    assert open_fds() == fds
