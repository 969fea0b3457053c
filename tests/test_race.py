"""Close racing use: a Map closed by one thread while others use it never acts on a recycled number.

Eight threads loop lookups and updates on maps that other threads close and
replace; meanwhile new maps are created on purpose so that the kernel hands
out the numbers just freed. Each map holds its own marker value at key 0: a
lookup that ran on a recycled descriptor would read another map's marker, an
update would write this map's marker into another map. Either is caught.

The guard itself is C (a slot per FD, see cdefs/bpfobj.c). The same race run
with the guard turned off (in a child process, by the test-only switch) must
catch a recycled number within seconds: that is what the guard prevents, and
what shows this test can fail.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

from bpfobj import BPFError, ClosedError, Map, MapSpec, MapType

pytestmark = pytest.mark.usefixtures("kernel")

SPEC = MapSpec(MapType.ARRAY, 4, 8, 1)
KEY0 = bytes(4)


def _new_map(marker: int) -> Map:
    m = Map.create(SPEC)
    m.update(0, marker)
    return m


def run_race(seconds: float, workers: int = 8, slots: int = 4,
             stop_at_first: bool = False) -> dict[str, int]:
    lock = threading.Lock()
    next_marker = [1]
    table: list[tuple[Map, int]] = []
    retired: list[Map] = []  # closed maps, kept alive so their FD objects cannot be collected
    for _ in range(slots):
        table.append((_new_map(next_marker[0]), next_marker[0]))
        next_marker[0] += 1
    stop = threading.Event()
    stats = {"reads": 0, "writes": 0, "closed_errors": 0, "replacements": 0, "mismatches": 0,
             "deferred_closes": 0}
    problems: list[str] = []

    def worker(seed: int) -> None:
        i = seed
        fast = False
        reads = writes = closed = 0
        while not stop.is_set():
            i = (i + 1) % slots
            m, marker = table[i]
            # Alternate int keys (the converting path) with bytes (the one-C-call fast path).
            fast = not fast
            key = KEY0 if fast else 0
            try:
                got = int.from_bytes(m.lookup(key), "little")
                reads += 1
                if got != marker:
                    problems.append(f"read {got} from the map of marker {marker}")
                    if stop_at_first:
                        stop.set()
                m.update(key, marker.to_bytes(8, "little") if fast else marker)
                writes += 1
            except ClosedError:
                closed += 1
            except BPFError as exc:
                # EBADF: a number passed to the kernel after it was freed; any
                # other error here is just as wrong.
                problems.append(f"the map of marker {marker}: {exc}")
                if stop_at_first:
                    stop.set()
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
            # FD.close() says False when calls were in flight and the last of
            # them closes the number: the window this test is about was hit.
            deferred = not old._fd.close()
            retired.append(old)
            fresh = _new_map(marker)
            table[j] = (fresh, marker)
            # Churn: more maps take and free numbers meanwhile.
            Map.create(SPEC).close()
            with lock:
                stats["replacements"] += 1
                stats["deferred_closes"] += deferred

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(workers)]
    threads += [threading.Thread(target=replacer) for _ in range(2)]
    for t in threads:
        t.start()
    stop.wait(seconds)
    stop.set()
    for t in threads:
        t.join()
    for m, marker in table:
        # The maps that survived must still hold their own marker.
        got = int.from_bytes(m.lookup(0), "little")
        if got != marker:
            problems.append(f"map of marker {marker} ends holding {got}")
        m.close()
    stats["mismatches"] = len(problems)
    if stop_at_first:
        return stats
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


# The child of the unguarded run: the same race with the close guard off; it
# prints its stats as soon as a recycled number was caught (or time is up).
UNGUARDED = """
import sys
from bpfobj._internal import syscall
from tests.test_race import run_race
syscall._disable_close_guard_for_tests()
print(run_race(float(sys.argv[1]), stop_at_first=True))
"""


def test_without_the_guard_a_recycled_number_is_caught_within_seconds() -> None:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    t0 = time.monotonic()
    res = subprocess.run([sys.executable, "-c", UNGUARDED, "20"], cwd=root,
                         capture_output=True, text=True, timeout=60, check=False)
    took = time.monotonic() - t0
    assert res.returncode == 0, res.stderr[-2000:]
    stats = eval(res.stdout.strip().splitlines()[-1])  # a dict of ints, printed by the child
    print("unguarded race stats:", stats, f"{took:.1f} s")
    assert stats["mismatches"] > 0, stats
    assert stats["deferred_closes"] == 0  # unguarded, close() never waits
