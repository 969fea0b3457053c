"""The BTF reader beside libbpf, bpftool and a naive scan: finding a type, decoding all.

    python benchmarks/bench_btf.py [--quick] [--rounds N] [--out PATH]

Figures, all on this machine's /sys/kernel/btf/vmlinux, in the same run:

- ``kernel_spec()+type_by_name("task_struct", Struct)`` in a fresh process: a child
  interpreter per round that imports bpfobj (timed apart) and then times the call with
  perf_counter_ns. Beside it libbpf's ``btf__parse`` + ``btf__find_by_name_kind``
  (benchmarks/c/bench_btf_parse.c, ``cc -O2 -lbpf``): its first round in a fresh process
  (cold) and its best round (warm).
- Decoding every type (``for t in Spec.from_file(vmlinux)``), beside libbpf visiting every
  type (``btf__type_by_id`` + ``btf__name_by_offset``) and ``bpftool -j btf dump``.
- The naive pure-Python scan of every type header (``struct.unpack`` per record), and our
  JSON dump and marshal of all of vmlinux.
- Memory of the cached kernel spec (tracemalloc), lazily after one lookup and fully
  decoded. The mapping of the file itself (5 MB of kernel memory) is not Python memory.

Prints a table and writes JSON (default benchmarks/out/btf.json). Nothing asserts on time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import struct
import subprocess
import sys
import time
from typing import Any, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, ROOT)

from benchmarks import _common  # noqa: E402

VMLINUX = "/sys/kernel/btf/vmlinux"
C_SOURCE = os.path.join(HERE, "c", "bench_btf_parse.c")
C_BIN = os.path.join(HERE, "c", "bin", "bench_btf_parse")
DEFAULT_OUT = os.path.join(HERE, "out", "btf.json")
#: Targets of issue 12, in ms.
TARGETS_MS = {"fresh kernel_spec()+type_by_name": 25.0, "decode every type": 1000.0}

CHILD = r"""
import sys, time
sys.path.insert(0, {root!r})
t0 = time.perf_counter_ns()
from bpfobj import btf
t1 = time.perf_counter_ns()
spec = btf.kernel_spec()
t = spec.type_by_name("task_struct", btf.Struct)
t2 = time.perf_counter_ns()
assert t.size > 0
print(t1 - t0, t2 - t1)
"""


def build_c() -> Optional[str]:
    return _common.build_c(C_SOURCE, "-lbpf", out=C_BIN)


def run_c(binary: Optional[str], *args: str) -> Optional[dict[str, Any]]:
    if binary is None:
        return None
    res = subprocess.run([binary, *args], capture_output=True, text=True, check=True)
    out: dict[str, Any] = json.loads(res.stdout)
    return out


def ms(ns: float) -> float:
    return round(ns / 1e6, 3)


def stats(samples_ns: list[int]) -> dict[str, float]:
    return {"min_ms": ms(min(samples_ns)), "median_ms": ms(statistics.median(samples_ns)),
            "n": len(samples_ns)}


def fresh_lookup(rounds: int) -> dict[str, Any]:
    imports, calls = [], []
    for _ in range(rounds):
        out = subprocess.run([sys.executable, "-c", CHILD.format(root=ROOT)],
                             capture_output=True, text=True, check=True).stdout.split()
        imports.append(int(out[0]))
        calls.append(int(out[1]))
    return {"call": stats(calls), "import bpfobj": stats(imports)}


def decode_all(rounds: int) -> dict[str, float]:
    from bpfobj import btf

    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        spec = btf.Spec.from_file(VMLINUX)
        n = sum(1 for _ in spec)
        samples.append(time.perf_counter_ns() - t0)
        assert n == len(spec)
    return stats(samples)


def naive_scan(rounds: int) -> dict[str, float]:
    """Every type header, one struct.unpack each: what a straightforward reader does."""
    data = open(VMLINUX, "rb").read()
    extra = {1: (4, 0), 3: (12, 0), 4: (0, 12), 5: (0, 12), 6: (0, 8), 13: (0, 8), 14: (4, 0),
             15: (0, 12), 17: (4, 0), 19: (0, 12)}
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        _, _, _, hdr_len, type_off, type_len, _, _ = struct.unpack_from("<HBBIIIII", data)
        pos, end, n = hdr_len + type_off, hdr_len + type_off + type_len, 0
        while pos < end:
            _, info, _ = struct.unpack_from("<III", data, pos)
            fixed, per = extra.get((info >> 24) & 0x1F, (0, 0))
            pos += 12 + fixed + per * (info & 0xFFFF)
            n += 1
        samples.append(time.perf_counter_ns() - t0)
    return stats(samples)


def timed_in_process(fn: Any, rounds: int) -> dict[str, float]:
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - t0)
    return stats(samples)


def bpftool_dump(rounds: int) -> Optional[dict[str, float]]:
    tool = shutil.which("bpftool")
    if tool is None:
        return None
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        subprocess.run([tool, "-j", "btf", "dump", "file", VMLINUX], check=True,
                       stdout=subprocess.DEVNULL)
        samples.append(time.perf_counter_ns() - t0)
    return stats(samples)


def memory() -> dict[str, float]:
    """tracemalloc of the cached kernel spec: after one lookup, then fully decoded."""
    code = r"""
import sys, tracemalloc
sys.path.insert(0, {root!r})
from bpfobj import btf
tracemalloc.start()
spec = btf.kernel_spec()
spec.type_by_name("task_struct", btf.Struct)
lazy = tracemalloc.get_traced_memory()[0]
for _ in spec:
    pass
full = tracemalloc.get_traced_memory()[0]
print(lazy, full)
"""
    out = subprocess.run([sys.executable, "-c", code.format(root=ROOT)], capture_output=True,
                         text=True, check=True).stdout.split()
    return {"lazy_mib": round(int(out[0]) / 2**20, 1), "decoded_mib": round(int(out[1]) / 2**20, 1)}


def machine() -> dict[str, Any]:
    return {"kernel": platform.release(), "python": platform.python_version(),
            "cpus": os.cpu_count(), "cpu": platform.processor() or platform.machine(),
            "load": os.getloadavg()[0]}


def table(res: dict[str, Any]) -> str:
    rows = [("figure", "bpfobj min / median ms", "baseline", "target ms")]
    fr = res["fresh"]["call"]
    c = res.get("libbpf_find")
    rows.append(("fresh kernel_spec()+type_by_name", f"{fr['min_ms']} / {fr['median_ms']}",
                 f"libbpf parse+find: {c['first_ms']} cold, {c['min_ms']} warm" if c else "-",
                 str(TARGETS_MS["fresh kernel_spec()+type_by_name"])))
    imp = res["fresh"]["import bpfobj"]
    rows.append(("  (import bpfobj, apart)", f"{imp['min_ms']} / {imp['median_ms']}", "", ""))
    dec = res["decode_all"]
    w = res.get("libbpf_walk")
    rows.append(("decode every type", f"{dec['min_ms']} / {dec['median_ms']}",
                 f"libbpf parse+visit all: {w['min_ms']}" if w else "-",
                 str(TARGETS_MS["decode every type"])))
    bt = res.get("bpftool_dump")
    rows.append(("bpftool -j btf dump (all)", "-",
                 f"{bt['min_ms']} / {bt['median_ms']}" if bt else "-", ""))
    for key, label in (("dump_json", "our JSON dump (decoded)"),
                       ("marshal", "marshal() (decoded)"), ("naive_scan", "naive Python scan")):
        s = res[key]
        rows.append((label, f"{s['min_ms']} / {s['median_ms']}", "", ""))
    mem = res["memory"]
    rows.append(("memory of kernel_spec()", f"{mem['lazy_mib']} MiB lazy, "
                 f"{mem['decoded_mib']} MiB decoded", "", ""))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)) for r in rows)


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="few rounds, for CI")
    p.add_argument("--rounds", type=int, help="rounds per figure (default 7, quick 2)")
    p.add_argument("--out", default=DEFAULT_OUT)
    args = p.parse_args(argv)
    if not os.path.exists(VMLINUX):
        print(f"bench_btf: {VMLINUX} is missing (kernel without BTF); skipped", file=sys.stderr)
        return 0
    rounds = args.rounds or (2 if args.quick else 7)
    cbin = build_c()
    from bpfobj import btf
    from bpfobj.btf.dump import dump_json

    res: dict[str, Any] = {"machine": machine(), "rounds": rounds, "quick": args.quick,
                           "command": "python benchmarks/bench_btf.py"
                           + (" --quick" if args.quick else "")}
    find = run_c(cbin, "find", VMLINUX, "task_struct", str(max(rounds, 5)))
    if find:
        res["libbpf_find"] = {"first_ms": ms(find["first_ns"]), "min_ms": ms(find["min_ns"])}
    walk = run_c(cbin, "walk", VMLINUX, str(rounds))
    if walk:
        res["libbpf_walk"] = {"first_ms": ms(walk["first_ns"]), "min_ms": ms(walk["min_ns"])}
    res["fresh"] = fresh_lookup(max(rounds, 3))
    res["decode_all"] = decode_all(rounds)
    res["bpftool_dump"] = bpftool_dump(rounds)
    res["naive_scan"] = naive_scan(rounds)
    spec = btf.kernel_spec()
    for _ in spec:
        pass
    res["dump_json"] = timed_in_process(lambda: dump_json(spec), rounds)
    res["marshal"] = timed_in_process(spec.marshal, rounds)
    res["memory"] = memory()
    res["types"] = len(spec)
    m = res["machine"]
    print(f"kernel {m['kernel']}, {m['cpus']} CPUs (load {m['load']:.1f}), Python {m['python']};"
          f" {VMLINUX}: {len(spec):,} types, {os.path.getsize(VMLINUX):,} bytes; "
          f"{rounds} rounds")
    print(table(res))
    _common.write_json(res, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
