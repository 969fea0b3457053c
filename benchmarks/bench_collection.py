"""Loading ELF objects: bpfobj's CollectionSpec/Collection against libbpf and bpftool.

    python benchmarks/bench_collection.py [--n N] [--out PATH] [OBJ ...]

For each object (default: libxdp's dispatcher and a filter, and the largest test object
compiled from tests/bpf/), in the same run:

- ``CollectionSpec.from_file`` (parse only) and ``Collection.load`` of a fresh spec
  (parse + maps + programs + close), min and median of N, timed with perf_counter_ns;
- the C baseline ``benchmarks/c/bench_loadall.c`` (cc -O2, -lbpf): libbpf's
  bpf_object__open_file + bpf_object__load in one process, min and median of N;
- ``bpftool prog loadall OBJ DIR`` as a command (process start, load, pin), min and
  median of N, against ``Collection.load`` plus pinning of every program.

Prints a table (ms, and the ratios the issue sets targets for: load <= 1.2x bpftool,
from_file <= 50 ms) and writes JSON (default benchmarks/out/collection.json). Needs root.
Nothing asserts on time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, os.path.dirname(HERE))

from bpfobj import Collection, CollectionSpec  # noqa: E402
from bpfobj.collection import pin_name  # noqa: E402

C_SOURCE = os.path.join(HERE, "c", "bench_loadall.c")
C_BIN = os.path.join(HERE, "c", "bin", "bench_loadall")
DEFAULT_OUT = os.path.join(HERE, "out", "collection.json")
LIBXDP = "/usr/lib/x86_64-linux-gnu/bpf"


def _build_c() -> str:
    os.makedirs(os.path.dirname(C_BIN), exist_ok=True)
    subprocess.run(["cc", "-O2", C_SOURCE, "-lbpf", "-o", C_BIN], check=True)
    return C_BIN


def _test_objects(_tmp: str) -> list[str]:
    sys.path.insert(0, os.path.dirname(HERE))
    from tests.bpf import objects

    built = objects()
    return [built["maps.bpf"]]


def _interleaved(fns: dict[str, Callable[[], object]], n: int) -> dict[str, tuple[float, float]]:
    """Min and median ms of each function, run round-robin so that load drifts hit all."""
    samples: dict[str, list[int]] = {k: [] for k in fns}
    for _ in range(n):
        for key, fn in fns.items():
            t0 = time.perf_counter_ns()
            fn()
            samples[key].append(time.perf_counter_ns() - t0)
    return {k: (min(v) / 1e6, statistics.median(v) / 1e6) for k, v in samples.items()}


def bench(path: str, n: int, bpffs: str) -> dict[str, Any]:
    row: dict[str, Any] = {"object": os.path.basename(path)}

    pins = "/sys/fs/bpf"  # PIN_BY_NAME maps: where libbpf puts them (a private bpffs here)

    def load() -> None:
        Collection.load(CollectionSpec.from_file(path), pin_path=pins).close()

    c = subprocess.run([_build_c() if not os.path.exists(C_BIN) else C_BIN, path, str(n)],
                       check=True, capture_output=True, text=True)
    cres = json.loads(c.stdout)
    row["libbpf_open_ms"] = (cres["open_min"] / 1e6, cres["open_median"] / 1e6)
    row["libbpf_load_ms"] = (cres["load_min"] / 1e6, cres["load_median"] / 1e6)

    def bpftool() -> None:
        d = os.path.join(bpffs, "t")
        subprocess.run(["bpftool", "prog", "loadall", path, d], check=True,
                       capture_output=True)
        shutil.rmtree(d)

    def ours_pinned() -> None:
        d = os.path.join(bpffs, "o")
        os.mkdir(d)
        with Collection.load(CollectionSpec.from_file(path), pin_path=pins) as coll:
            for name, prog in coll.programs.items():
                prog.pin(os.path.join(d, pin_name(name)))
        shutil.rmtree(d)

    row.update(_interleaved({"from_file_ms": lambda: CollectionSpec.from_file(path),
                             "load_ms": load, "bpftool_loadall_ms": bpftool,
                             "load_and_pin_ms": ours_pinned}, n))
    row["ratio_vs_bpftool"] = row["load_and_pin_ms"][1] / row["bpftool_loadall_ms"][1]
    row["ratio_vs_libbpf"] = row["load_ms"][1] / row["libbpf_load_ms"][1]
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("objects", nargs="*")
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args()
    if os.environ.get("BPFOBJ_BENCH_NS") != "1":
        # PIN_BY_NAME maps (libxdp's filters, maps.bpf.o) go under /sys/fs/bpf with
        # libbpf: run in a private mount namespace with its own bpffs there, so that
        # nothing outside sees the pins; both loaders then pin and reuse alike.
        env = dict(os.environ, BPFOBJ_BENCH_NS="1")
        return subprocess.call(["unshare", "-m", sys.executable, os.path.abspath(__file__),
                                *sys.argv[1:]], env=env)
    subprocess.run(["mount", "--make-rprivate", "/"], check=True)
    subprocess.run(["mount", "-t", "bpf", "bpf", "/sys/fs/bpf"], check=True)
    _build_c()
    bpffs = tempfile.mkdtemp(prefix="bench-bpffs-")
    subprocess.run(["mount", "-t", "bpf", "bpf", bpffs], check=True)
    try:
        paths = args.objects or [os.path.join(LIBXDP, "xdp-dispatcher.o"),
                                 os.path.join(LIBXDP, "xdpfilt_alw_all.o"),
                                 os.path.join(LIBXDP, "xdpfilt_dny_tcp.o"),
                                 *_test_objects(bpffs)]
        rows = [bench(p, args.n, bpffs) for p in paths]
    finally:
        subprocess.run(["umount", "-l", bpffs], check=False)
        os.rmdir(bpffs)
    print(f"{'object':<22} {'from_file':>10} {'load':>9} {'libbpf':>9} {'bpftool':>9} "
          f"{'load+pin':>9} {'x bpftool':>9} {'x libbpf':>9}   (median ms; targets: "
          "from_file <= 50, x bpftool <= 1.2)")
    for r in rows:
        print(f"{r['object']:<22} {r['from_file_ms'][1]:>10.2f} {r['load_ms'][1]:>9.2f} "
              f"{r['libbpf_load_ms'][1]:>9.2f} {r['bpftool_loadall_ms'][1]:>9.2f} "
              f"{r['load_and_pin_ms'][1]:>9.2f} {r['ratio_vs_bpftool']:>9.2f} "
              f"{r['ratio_vs_libbpf']:>9.2f}")
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"n": args.n, "rows": rows}, f, indent=1)
    return 0



if __name__ == "__main__":
    sys.exit(main())
