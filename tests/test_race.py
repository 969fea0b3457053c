"""Close racing use: a Map closed by one thread while others use it never acts on a recycled number.

Eight threads loop lookups and updates on maps that other threads close and
replace; meanwhile new maps are created on purpose so that the kernel hands
out the numbers just freed. Each map holds its own marker value at key 0: a
lookup that ran on a recycled descriptor would read another map's marker, an
update would write this map's marker into another map. Either is caught.
"""

from __future__ import annotations

import os
import threading
import time

import pytest

from bpfobj import ClosedError, Map, MapSpec, MapType
from bpfobj._internal.fd import FD

pytestmark = pytest.mark.usefixtures("kernel")

SPEC = MapSpec(MapType.ARRAY, 4, 8, 1)


def _new_map(marker: int) -> Map:
    m = Map.create(SPEC)
    m.update(0, marker)
    return m


def run_race(seconds: float, workers: int = 8, slots: int = 4) -> dict[str, int]:
    lock = threading.Lock()
    next_marker = [1]
    table: list[tuple[Map, int]] = []
    retired: list[Map] = []  # closed maps, kept alive so their FD objects cannot be collected
    for _ in range(slots):
        table.append((_new_map(next_marker[0]), next_marker[0]))
        next_marker[0] += 1
    stop = threading.Event()
    stats = {"reads": 0, "writes": 0, "closed_errors": 0, "replacements": 0, "mismatches": 0}
    problems: list[str] = []

    def worker(seed: int) -> None:
        i = seed
        reads = writes = closed = 0
        while not stop.is_set():
            i = (i + 1) % slots
            m, marker = table[i]
            try:
                got = int.from_bytes(m.lookup(0), "little")  # type: ignore[arg-type]
                reads += 1
                if got != marker:
                    problems.append(f"read {got} from the map of marker {marker}")
                m.update(0, marker)
                writes += 1
            except ClosedError:
                closed += 1
        with lock:
            stats["reads"] += reads
            stats["writes"] += writes
            stats["closed_errors"] += closed

    def replacer() -> None:
        j = 0
        while not stop.is_set():
            j = (j + 1) % slots
            with lock:
                marker = next_marker[0]
                next_marker[0] += 1
            old, _old_marker = table[j]
            # Close first, then create: the new map is likely to get the old number.
            old.close()
            retired.append(old)
            fresh = _new_map(marker)
            table[j] = (fresh, marker)
            # Churn: more maps take and free numbers meanwhile.
            Map.create(SPEC).close()
            with lock:
                stats["replacements"] += 1

    before = FD.deferred_closes
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(workers)]
    threads += [threading.Thread(target=replacer) for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    for m, marker in table:
        # The maps that survived must still hold their own marker.
        got = int.from_bytes(m.lookup(0), "little")  # type: ignore[arg-type]
        if got != marker:
            problems.append(f"map of marker {marker} ends holding {got}")
        m.close()
    stats["deferred_closes"] = FD.deferred_closes - before
    stats["mismatches"] = len(problems)
    assert not problems, problems[:5]
    return stats


def test_close_racing_use_never_touches_a_recycled_number() -> None:
    stats = run_race(1.5)
    print("race stats:", stats)
    assert stats["reads"] > 1000
    assert stats["replacements"] > 50
    # The window was hit: closes found calls in flight and left the close to them.
    assert stats["deferred_closes"] > 0


@pytest.mark.slow
def test_close_racing_use_long() -> None:
    stats = run_race(float(os.environ.get("BPFOBJ_RACE_SECONDS", "30")))
    print("race stats:", stats)
    assert stats["deferred_closes"] > 0


def test_borrow_holds_off_close_until_the_call_ends() -> None:
    m = _new_map(7)
    fd = m._fd
    number = fd.raw
    with fd.borrow() as raw:
        m.close()
        # Closed for new calls, but the number is still ours while borrowed.
        assert fd.closed
        with pytest.raises(ClosedError):
            m.lookup(0)
        os.fstat(raw)
        assert os.readlink(f"/proc/self/fd/{raw}") == "anon_inode:bpf-map"
    # The borrow ended: the last one out closed the number.
    with pytest.raises(OSError):
        os.fstat(number)
