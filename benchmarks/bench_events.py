"""Drain rate of the event readers: records already in a ring or perf buffer.

``python benchmarks/bench_events.py [-n 200000] [--rounds 5] [--quick] [--out FILE]``
(root). A socket filter program (tests/eventprogs.py), run with
BPF_PROG_TEST_RUN and ``repeat=N``, writes N numbered 64-byte records into a
BPF ring buffer (bpf_ringbuf_output) or into CPU 0's perf buffer
(bpf_perf_event_output; the producing thread is pinned to CPU 0). Then the
buffer is drained, timed with perf_counter_ns:

- ``read_many``: one ``Reader.read_many()`` call;
- ``read()``: N calls of ``Reader.read()``;
- the C consumer in the same run, on the very same map: libbpf's
  ring_buffer__consume() (benchmarks/c/bench_ringbuf.c) and
  perf_buffer__consume() (benchmarks/c/bench_perf.c), built with
  ``cc -O2 ... -lbpf``; its callback copies each sample, as the Python readers do.

Each row is the min and the median of ns per record over the rounds (fresh
records each time, after one untimed warm-up drain), records/s of the median,
and the ratio to C's median.
Prints a table and writes JSON. ``--quick`` runs a tiny N. Nothing asserts on time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, os.path.dirname(HERE))

from benchmarks import _common  # noqa: E402
from bpfobj import Map, MapSpec, MapType, perf, ringbuf  # noqa: E402
from bpfobj.map import possible_cpus  # noqa: E402
from tests.eventprogs import PACKET, counter_map, drops, perf_output, ring_output  # noqa: E402

C_DIR = os.path.join(HERE, "c")
C_BIN_DIR = os.path.join(C_DIR, "bin")
DEFAULT_OUT = os.path.join(HERE, "out", "events.json")
SIZE = 64
DEFAULT_N, QUICK_N, DEFAULT_ROUNDS = 200_000, 5_000, 7
#: Targets of issue 14 for the ring buffer: records/s, and the ratio to C for read_many.
TARGET_RATE = {"read_many": 5e6, "read()": 1.5e6}
TARGET_RATIO = {"read_many": 3.0}


def build_c(name: str, cc: str = "cc") -> Optional[str]:
    """Compile benchmarks/c/NAME.c with ``cc -O2 -lbpf`` unless newer; its path or None."""
    return _common.build_c(os.path.join(C_DIR, f"{name}.c"), "-lbpf", cc=cc)


def _ns_per(n: int, fn: Callable[[], int]) -> float:
    t0 = time.perf_counter_ns()
    got = fn()
    elapsed = time.perf_counter_ns() - t0
    if got != n:
        raise RuntimeError(f"drained {got} records, expected {n}")
    return elapsed / n


def _read_each(read: Callable[[], Any], n: int) -> int:
    for _ in range(n):
        read()
    return n


def bench_ring(n: int, rounds: int, cbin: Optional[str]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"read_many": [], "read()": [], "C": []}
    size = 1 << max(16, (n * (SIZE + 8)).bit_length())
    with counter_map() as counter, \
            Map.create(MapSpec(MapType.RINGBUF, 0, 0, size, name="bench_ring")) as ring, \
            ring_output(ring, counter, SIZE) as prog, ringbuf.Reader(ring) as reader:
        prog.test_run(PACKET, repeat=n)  # warm-up, untimed: page faults, struct's format cache
        reader.read_many()
        for _ in range(rounds):
            prog.test_run(PACKET, repeat=n)
            out["read_many"].append(_ns_per(n, lambda: len(reader.read_many())))
            prog.test_run(PACKET, repeat=n)
            out["read()"].append(_ns_per(n, lambda: _read_each(reader.read, n)))
            if cbin is not None:
                prog.test_run(PACKET, repeat=n)
                res = subprocess.run([cbin, str(ring.fd), str(n)], pass_fds=(ring.fd,),
                                     capture_output=True, text=True, check=True)
                out["C"].append(float(json.loads(res.stdout)["ns_per_record"]))
        if drops(counter):
            raise RuntimeError(f"the ring dropped {drops(counter)} records: too small")
    return out


def bench_perf(n: int, rounds: int, cbin: Optional[str]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"read_many": [], "read()": [], "C": []}
    record = (SIZE + 4 + 7) // 8 * 8 + 8  # header, u32 size, sample, padding
    pages = 1 << max(0, (n * record // os.sysconf("SC_PAGESIZE")).bit_length())
    saved = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {0})
    try:
        with counter_map() as counter, \
                Map.create(MapSpec(MapType.PERF_EVENT_ARRAY, 4, 4, possible_cpus(),
                                   name="bench_perf")) as pm, \
                perf_output(pm, counter, SIZE) as prog:
            with perf.Reader(pm, per_cpu_pages=pages) as reader:  # warm-up, untimed
                prog.test_run(PACKET, repeat=n)
                reader.read_many()
            for _ in range(rounds):
                for how in ("read_many", "read()"):
                    with perf.Reader(pm, per_cpu_pages=pages) as reader:
                        prog.test_run(PACKET, repeat=n)
                        if how == "read_many":
                            out[how].append(_ns_per(n, lambda: len(reader.read_many())))
                        else:
                            out[how].append(_ns_per(n, lambda: _read_each(reader.read, n)))
                if cbin is not None:
                    out["C"].append(_c_perf(cbin, pm, pages, n, prog))
            if drops(counter):
                raise RuntimeError(f"the perf buffer dropped {drops(counter)} records")
    finally:
        os.sched_setaffinity(0, saved)
    return out


def _c_perf(cbin: str, pm: Map, pages: int, n: int, prog: Any) -> float:
    child = subprocess.Popen([cbin, str(pm.fd), str(pages), str(n)], pass_fds=(pm.fd,),
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdin is not None and child.stdout is not None
    try:
        if child.stdout.readline().strip() != "ready":
            raise RuntimeError("bench_perf did not start")
        prog.test_run(PACKET, repeat=n)
        child.stdin.write("g")
        child.stdin.close()
        res = json.loads(child.stdout.read())
    finally:
        if child.wait() != 0:
            raise RuntimeError("bench_perf failed")
    if res["lost"]:
        raise RuntimeError(f"libbpf's perf buffer lost {res['lost']} records")
    return float(res["ns_per_record"])


def summarize(samples: dict[str, list[float]]) -> dict[str, dict[str, Any]]:
    c = statistics.median(samples["C"]) if samples["C"] else None
    rows: dict[str, dict[str, Any]] = {}
    for how in ("read_many", "read()"):
        med = statistics.median(samples[how])
        rows[how] = {"min_ns": min(samples[how]), "median_ns": med, "records_per_s": 1e9 / med,
                     "c_median_ns": c, "ratio_to_c": med / c if c else None,
                     "samples_ns": samples[how]}
    rows["C"] = {"median_ns": c, "samples_ns": samples["C"]}
    return rows


def table(res: dict[str, Any]) -> str:
    lines = [f"{'buffer':<8} {'reader':<10} {'min ns':>8} {'median ns':>10} {'M rec/s':>8} "
             f"{'C ns':>7} {'x C':>6}  target"]
    for buf in ("ringbuf", "perf"):
        for how in ("read_many", "read()"):
            r = res[buf][how]
            c = f"{r['c_median_ns']:7.1f}" if r["c_median_ns"] else f"{'-':>7}"
            ratio = f"{r['ratio_to_c']:6.2f}" if r["ratio_to_c"] else f"{'-':>6}"
            goal = [f">= {TARGET_RATE[how] / 1e6:g} M/s"]
            if how in TARGET_RATIO:
                goal.append(f"<= {TARGET_RATIO[how]:g}x C")
            mark = " (ring targets)" if buf == "perf" else ""
            lines.append(f"{buf:<8} {how:<10} {r['min_ns']:8.1f} {r['median_ns']:10.1f} "
                         f"{r['records_per_s'] / 1e6:8.2f} {c} {ratio}  "
                         f"{', '.join(goal)}{mark}")
    return "\n".join(lines)


def run(n: int, rounds: int, quick: bool = False) -> dict[str, Any]:
    """Both buffers, both readers and the C consumers: the results as JSON-ready data."""
    res: dict[str, Any] = {
        "machine": {"kernel": platform.release(), "cpus": os.cpu_count(),
                    "python": platform.python_version(), "load": os.getloadavg()[0]},
        "setup": {"records": n, "record_size": SIZE, "rounds": rounds, "quick": quick},
        "command": "python benchmarks/bench_events.py" + (" --quick" if quick else ""),
    }
    res["ringbuf"] = summarize(bench_ring(n, rounds, build_c("bench_ringbuf")))
    res["perf"] = summarize(bench_perf(n, rounds, build_c("bench_perf")))
    return res


def heading(res: dict[str, Any]) -> str:
    m, s = res["machine"], res["setup"]
    return (f"kernel {m['kernel']}, {m['cpus']} CPUs (load {m['load']:.1f}), "
            f"Python {m['python']}; "
            f"{s['records']:,} records of {s['record_size']} B per drain, {s['rounds']} rounds; "
            "ns per record")


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-n", type=int, help="records per drain (default 200,000; quick 5,000)")
    p.add_argument("--rounds", type=int, help="rounds (default 7; quick 1)")
    p.add_argument("--quick", action="store_true", help="a tiny N, for CI (seconds)")
    p.add_argument("--out", default=DEFAULT_OUT, help="where to write the JSON results")
    args = p.parse_args(argv)
    if os.geteuid() != 0:
        print("bench_events: needs root; skipped", file=sys.stderr)
        return 0
    n = args.n or (QUICK_N if args.quick else DEFAULT_N)
    rounds = args.rounds or (1 if args.quick else DEFAULT_ROUNDS)
    res = run(n, rounds, args.quick)
    print(heading(res))
    print(table(res))
    _common.write_json(res, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
