"""format_c() of vmlinux and btf.decode speed, beside bpftool and libbpf in the same run.

``python benchmarks/bench_btf_format.py [--rounds N] [--out PATH]`` times, with
``time.perf_counter_ns`` (min over rounds):

- ``bpftool btf dump file /sys/kernel/btf/vmlinux format c`` (a process, output to
  /dev/null), and libbpf's ``btf_dump`` of every type in C (benchmarks/c/bench_btf.c,
  ``cc -O2 -lbpf``), output discarded;
- ``format_c()`` of a fresh ``Spec.from_bytes`` of vmlinux (the types decoded on the way)
  and again on a spec whose types are already decoded (the formatter alone);
- ``btf.decode`` of a task_struct, an sk_buff and a tcphdr, beside libbpf's
  ``btf_dump__dump_type_data`` of the same bytes (its value formatter, text discarded), and
  ``btf.encode`` of the decoded value.

Prints a table and writes JSON (default benchmarks/out/btf_format.json). Needs
/sys/kernel/btf/vmlinux; bpftool and a C compiler with libbpf-dev for the baselines.
Nothing asserts on time.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, os.path.dirname(HERE))

from benchmarks import _common  # noqa: E402
from bpfobj import btf  # noqa: E402

VMLINUX = "/sys/kernel/btf/vmlinux"
C_SOURCE = os.path.join(HERE, "c", "bench_btf.c")
C_BIN = os.path.join(HERE, "c", "bin", "bench_btf")
DEFAULT_OUT = os.path.join(HERE, "out", "btf_format.json")
TARGET_FORMAT_MS = 2000.0
KIND = {btf.Struct: 4, btf.Union: 5}


def build_c(cc: str = "cc") -> Optional[str]:
    """Compile the C baseline with ``cc -O2 ... -lbpf`` unless it is newer; its path or None."""
    return _common.build_c(C_SOURCE, "-lbpf", out=C_BIN, cc=cc)


def min_ns(fn: Callable[[], object], rounds: int) -> int:
    best = None
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        fn()
        t = time.perf_counter_ns() - t0
        best = t if best is None or t < best else best
    assert best is not None
    return best


def per_call_ns(fn: Callable[[], object], n: int, rounds: int = 5) -> int:
    def batch() -> None:
        for _ in range(n):
            fn()
    return min_ns(batch, rounds) // n


def c_ns(args: list[str]) -> Optional[int]:
    if not os.path.exists(C_BIN):
        return None
    done = subprocess.run([C_BIN, *args], capture_output=True, text=True)
    if done.returncode != 0:
        print(f"note: {C_BIN} {' '.join(args)} failed: {done.stderr.strip()}", file=sys.stderr)
        return None
    return int(done.stdout.strip())


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    rounds = max(1, args.rounds)
    with open(VMLINUX, "rb") as src:
        raw = src.read()
    build_c()
    rows: list[dict[str, Any]] = []

    def row(what: str, ns: Optional[int], baseline: str, base_ns: Optional[int],
            target_ms: Optional[float] = None) -> None:
        rows.append({"what": what, "ns": ns, "baseline": baseline, "baseline_ns": base_ns,
                     "ratio": round(ns / base_ns, 2) if ns and base_ns else None,
                     "target_ms": target_ms})

    bpftool = shutil.which("bpftool")
    bpftool_ns: Optional[int] = None
    if bpftool is not None:
        with open(os.devnull, "w") as null:
            bpftool_ns = min_ns(lambda: subprocess.run(
                [bpftool, "btf", "dump", "file", VMLINUX, "format", "c"], stdout=null,
                check=True), rounds)
    libbpf_ns = c_ns(["format", VMLINUX, str(rounds)])

    fresh_ns = min_ns(lambda: btf.Spec.from_bytes(raw).format_c(), max(1, rounds // 2))
    warm = btf.Spec.from_bytes(raw)
    header = warm.format_c()
    warm_ns = min_ns(warm.format_c, rounds)
    row("format_c() of vmlinux, fresh Spec.from_bytes", fresh_ns,
        "bpftool btf dump format c", bpftool_ns, TARGET_FORMAT_MS)
    row("format_c() of vmlinux, types already decoded", warm_ns,
        "bpftool btf dump format c", bpftool_ns, TARGET_FORMAT_MS)
    row("format_c() of vmlinux, types already decoded", warm_ns,
        "libbpf btf_dump of every type (C)", libbpf_ns)

    spec = btf.kernel_spec()
    for name, kind, n in (("task_struct", btf.Struct, 300), ("sk_buff", btf.Struct, 3000),
                          ("tcphdr", btf.Struct, 30000)):
        t = spec.type_by_name(name, kind)
        size = btf.sizeof(t)
        data = bytes((i * 7) & 0xFF for i in range(size))
        value = btf.decode(t, data)
        dec_ns = per_call_ns(functools.partial(btf.decode, t, data), n)
        enc_ns = per_call_ns(functools.partial(btf.encode, t, value), n)
        base = c_ns(["decode", VMLINUX, name, str(KIND[kind]), str(n)])
        row(f"decode {name} ({size} bytes)", dec_ns, "libbpf btf_dump__dump_type_data", base)
        row(f"encode {name} ({size} bytes)", enc_ns, "libbpf btf_dump__dump_type_data", base)

    print(f"{'operation':48} {'ns':>13} {'baseline':34} {'baseline ns':>13} {'ratio':>7}")
    for r in rows:
        b = "-" if r["baseline_ns"] is None else f"{r['baseline_ns']:,}"
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}"
        print(f"{r['what']:48} {r['ns']:>13,} {r['baseline']:34} {b:>13} {ratio:>7}")
    print(f"header: {len(header):,} bytes, {header.count(chr(10)):,} lines; "
          f"format_c target {TARGET_FORMAT_MS:.0f} ms")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"python": platform.python_version(), "kernel": platform.release(),
                   "rounds": rounds, "rows": rows}, f, indent=2)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
