"""ringbuf.Reader against real BPF ring buffers fed by socket filter programs (test_run)."""

from __future__ import annotations

import selectors
import threading
import time
from collections.abc import Iterator

import pytest

from bpfobj import Map, MapSpec, MapType, ObjectTypeError, ringbuf
from tests.conftest import open_fds
from tests.eventprogs import (
    PACKET,
    assert_close_releases_blocked_read,
    counter_map,
    drops,
    expected,
    produced,
    ring_output,
    ring_reserve_discard_odd,
    var_size,
)

pytestmark = pytest.mark.usefixtures("kernel")


def ring(size: int) -> Map:
    return Map.create(MapSpec(MapType.RINGBUF, 0, 0, size, name="test_ring"))


@pytest.fixture
def counter() -> Iterator[Map]:
    with counter_map() as m:
        yield m


def ring_mappings() -> int:
    """Mappings of BPF maps in this process (a ring shows as anon_inode:bpf-map)."""
    with open("/proc/self/maps", "rb") as f:
        return sum(1 for line in f if b"bpf-map" in line)


@pytest.mark.parametrize("n", [1, 1000, 100_000])
def test_exactly_n_records_in_order(counter: Map, n: int) -> None:
    with ring(1 << 23) as rb, ring_output(rb, counter) as prog, ringbuf.Reader(rb) as r:
        prog.test_run(PACKET, repeat=n)
        got = r.read_many()
        assert drops(counter) == 0
        assert len(got) == n
        assert got == [expected(i, 64) for i in range(n)]
        assert r.read_many() == []


def test_read_one_at_a_time_and_max_records(counter: Map) -> None:
    with ring(1 << 16) as rb, ring_output(rb, counter, size=None) as prog, \
            ringbuf.Reader(rb) as r:
        prog.test_run(PACKET, repeat=300)
        first = [r.read(timeout=0) for _ in range(10)]
        batch = r.read_many(max_records=90)
        rest = r.read_many()
        got = first + batch + rest
        assert [len(x) for x in (first, batch, rest)] == [10, 90, 200]
        assert got == [expected(i, var_size(i)) for i in range(300)]


def test_odd_sizes_keep_their_lengths(counter: Map) -> None:
    with ring(1 << 16) as rb, ring_output(rb, counter, size=None) as prog, \
            ringbuf.Reader(rb) as r:
        prog.test_run(PACKET, repeat=256)
        got = r.read_many()
        assert [len(s) for s in got] == [var_size(i) for i in range(256)]
        assert {len(s) % 8 for s in got} == set(range(8))
        assert got == [expected(i, var_size(i)) for i in range(256)]


@pytest.mark.parametrize("size", [1, 3, 8, 13, 255])
def test_constant_odd_size(counter: Map, size: int) -> None:
    with ring(1 << 14) as rb, ring_output(rb, counter, size=size) as prog, \
            ringbuf.Reader(rb) as r:
        prog.test_run(PACKET, repeat=20)
        assert r.read_many() == [expected(i, size) for i in range(20)]


def test_discarded_records_are_skipped(counter: Map) -> None:
    with ring(1 << 16) as rb, ring_reserve_discard_odd(rb, counter) as prog, \
            ringbuf.Reader(rb) as r:
        prog.test_run(PACKET, repeat=101)
        got = r.read_many()
        assert got == [i.to_bytes(8, "little") + bytes(16) for i in range(0, 101, 2)]
        # read() skips them too
        prog.test_run(PACKET, repeat=4)
        assert r.read(timeout=1) == (102).to_bytes(8, "little") + bytes(16)
        assert r.read(timeout=1) == (104).to_bytes(8, "little") + bytes(16)
        with pytest.raises(TimeoutError):
            r.read(timeout=0)


def test_batches_larger_than_the_copy_buffer(counter: Map) -> None:
    # 300-byte records: 4096 of them (one C call) overflow the 1 MiB copy buffer.
    with ring(1 << 23) as rb, ring_output(rb, counter, size=300) as prog, \
            ringbuf.Reader(rb) as r:
        prog.test_run(PACKET, repeat=10_000)
        assert r.read_many() == [expected(i, 300) for i in range(10_000)]


def test_a_record_larger_than_the_copy_buffer(counter: Map) -> None:
    size = 3 << 19  # 1.5 MiB: the copy buffer grows
    with ring(1 << 22) as rb, \
            ring_reserve_discard_odd(rb, counter, size, discard_odd=False, zero=False) as prog, \
            ringbuf.Reader(rb) as r:
        prog.test_run(PACKET, repeat=2)
        got = r.read_many()
        assert [len(x) for x in got] == [size, size]
        assert [x[:8] for x in got] == [expected(0, 8), expected(1, 8)]
        prog.test_run(PACKET, repeat=1)
        one = r.read(timeout=1)
        assert len(one) == size and one[:8] == expected(2, 8)


def test_wrap_around_many_rounds_of_a_small_ring(counter: Map) -> None:
    # A 4 KiB ring holds ~30 variable records: 300 rounds wrap it ~700 times,
    # with records crossing the end at every offset (the data is mapped twice).
    with ring(4096) as rb, ring_output(rb, counter, size=None) as prog, \
            ringbuf.Reader(rb) as r:
        got: list[bytes] = []
        for rnd in range(300):
            prog.test_run(PACKET, repeat=20)
            if rnd % 2:
                got += r.read_many()
            else:
                got += [r.read(timeout=0) for _ in range(20)]
        assert drops(counter) == 0
        assert got == [expected(i, var_size(i)) for i in range(6000)]


def test_records_committed_before_the_reader_opened(counter: Map) -> None:
    with ring(1 << 16) as rb, ring_output(rb, counter) as prog:
        prog.test_run(PACKET, repeat=5)
        with ringbuf.Reader(rb) as r:
            assert r.read_many(max_records=2) == [expected(i, 64) for i in range(2)]
        # the consumer position lives in the kernel: a new Reader goes on from there
        with ringbuf.Reader(rb) as r:
            assert r.read_many() == [expected(i, 64) for i in range(2, 5)]


def test_producer_thread_concurrent_with_reader_loses_nothing(counter: Map) -> None:
    # Small bursts with pauses: the reader drains the ring and sleeps in epoll
    # again and again, so a missed wakeup would end in TimeoutError.
    rounds, per_round = 200, 100
    with ring(1 << 22) as rb, ring_output(rb, counter, size=None) as prog, \
            ringbuf.Reader(rb) as r:
        def produce() -> None:
            for _ in range(rounds):
                prog.test_run(PACKET, repeat=per_round)
                time.sleep(0.001)

        t = threading.Thread(target=produce)
        t.start()
        got: list[bytes] = []
        try:
            while len(got) < rounds * per_round:
                if len(got) % 3:
                    got.append(r.read(timeout=10))
                else:
                    got += r.read_many(timeout=10)
        finally:
            t.join()
        assert drops(counter) == 0
        assert produced(counter) == rounds * per_round
        assert got == [expected(i, var_size(i)) for i in range(rounds * per_round)]
        assert r.read_many() == []


def test_timeout_on_an_empty_ring() -> None:
    with ring(4096) as rb, ringbuf.Reader(rb) as r:
        with pytest.raises(TimeoutError, match="no sample within"):
            r.read(timeout=0.05)
        with pytest.raises(TimeoutError):
            r.read(timeout=0)
        assert r.read_many(timeout=0.05) == []
        assert r.read_many() == []


def test_close_from_another_thread_releases_a_blocked_read() -> None:
    with ring(4096) as rb:
        r = ringbuf.Reader(rb)
        assert_close_releases_blocked_read(r)


def test_no_mapping_and_no_descriptor_left_after_close(counter: Map) -> None:
    with ring(1 << 16) as rb, ring_output(rb, counter) as prog:
        maps_before, fds_before = ring_mappings(), open_fds()
        r = ringbuf.Reader(rb)
        assert ring_mappings() == maps_before + 2  # consumer page, producer page + data
        prog.test_run(PACKET, repeat=3)
        assert len(r.read_many()) == 3
        r.close()
        assert ring_mappings() == maps_before
        assert open_fds() == fds_before


def test_reader_outlives_the_map_descriptor(counter: Map) -> None:
    rb = ring(1 << 16)
    prog = ring_output(rb, counter)
    r = ringbuf.Reader(rb)
    try:
        rb.close()  # the program and the mappings keep the ring alive
        prog.test_run(PACKET, repeat=2)
        assert r.read(timeout=1) == expected(0, 64)
        assert r.read(timeout=1) == expected(1, 64)
    finally:
        r.close()
        prog.close()


def test_fileno_works_with_selectors(counter: Map) -> None:
    with ring(1 << 16) as rb, ring_output(rb, counter) as prog, ringbuf.Reader(rb) as r:
        with selectors.DefaultSelector() as sel:
            sel.register(r, selectors.EVENT_READ)
            assert sel.select(timeout=0) == []
            prog.test_run(PACKET, repeat=1)
            ready = sel.select(timeout=5)
            assert [key.fileobj for key, _ in ready] == [r]
            assert r.read_many() == [expected(0, 64)]


def test_not_a_ring_map() -> None:
    with Map.create(MapSpec(MapType.ARRAY, 4, 4, 1)) as m:
        fds = open_fds()
        with pytest.raises(ObjectTypeError, match="not a RINGBUF map"):
            ringbuf.Reader(m)
        assert open_fds() == fds
