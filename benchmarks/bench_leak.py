"""Benchmark: leak.analyze() of a process holding 10,000 bpf descriptors, and procfs.holders().

Starts a child that holds N descriptors (``--fds``, default 10,000) of bpf maps,
in two shapes: a few objects dup'd many times (``dups``: 100 maps x 100
descriptors) and one object per descriptor (``distinct``), half of them pinned
in a private bpffs. Times ``analyze(pid, bpffs=root)`` and ``procfs.holders()``
with time.perf_counter_ns, min of ``--repeat`` runs, prints a table and writes
JSON (``--out``). Run as root: ``python benchmarks/bench_leak.py``.
Nothing asserts on time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks.run import HOLDER  # noqa: E402


def timed(fn: Any, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter_ns()
        fn()
        best = min(best, (time.perf_counter_ns() - t0) / 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fds", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", default="bench_leak.json")
    args = parser.parse_args()

    from bpfobj import procfs
    from bpfobj.leak import analyze

    results = []
    for shape in ("dups", "distinct"):
        root = tempfile.mkdtemp(prefix="bpfobj-bench-")
        subprocess.run(["mount", "-t", "bpf", "bpf", root], check=True)
        # The child of run.py: ``maps`` maps, each held through ``per`` descriptors.
        maps = 100 if shape == "dups" else args.fds
        proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(maps),
                                 str(args.fds // maps), root],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout is not None and proc.stdout.readline().startswith("ready")
            report = analyze(proc.pid, bpffs=root)
            held = report.held["map"]
            ms = timed(lambda p=proc.pid, r=root: analyze(p, bpffs=r), args.repeat)
            hms = timed(procfs.holders, args.repeat)
            results.append({"shape": shape, "descriptors": held, "analyze_ms": round(ms, 1),
                            "holders_ms": round(hms, 1), "sure": len(report.sure),
                            "possible": len(report.possible)})
        finally:
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait()
            subprocess.run(["umount", root], check=False)
            os.rmdir(root)
    print(f"{'shape':<10}{'descriptors':>12}{'analyze ms':>12}{'holders ms':>12}"
          f"{'sure':>8}{'possible':>10}")
    for r in results:
        print(f"{r['shape']:<10}{r['descriptors']:>12}{r['analyze_ms']:>12}{r['holders_ms']:>12}"
              f"{r['sure']:>8}{r['possible']:>10}")
    with open(args.out, "w") as f:
        json.dump({"cpus": os.cpu_count(), "results": results}, f, indent=2)


if __name__ == "__main__":
    main()
