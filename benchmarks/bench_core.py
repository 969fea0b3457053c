"""CO-RE relocation against the cached kernel spec, per relocation, beside libbpf's engine.

``python benchmarks/bench_core.py [--rounds N] [--out FILE]`` compiles
tests/bpf/core_kernel.c (clang, against a vmlinux.h from bpftool: 34 relocations of every
kind on task_struct, enums and flavors) and relocates its program against the running
kernel's BTF, in rounds:

- bpfobj: a fresh ``btf.core.Relocator`` per round (a cold candidate cache, as for a new
  object), on ``btf.kernel_spec()`` parsed once and its first candidate lookup (the
  flavored names, the name cache) made once (both reported apart, as the one-time costs
  of the first relocation in a process);
- C: ``benchmarks/c/bench_core.c`` (``cc -O2`` with libbpf.a), libbpf's relo_core.c
  doing the same work per round (candidate search per local type, calc, patch).

Both are timed with a monotonic clock around the whole round; the table gives ns per
relocation (min and median over the rounds) and the ratio of the medians. Writes JSON
(default benchmarks/out/bench_core.json). Nothing asserts on time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from typing import Any, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, os.path.dirname(HERE))

from bpfobj import btf  # noqa: E402
from bpfobj._internal.elf import ELFFile  # noqa: E402
from bpfobj.btf import core  # noqa: E402
from bpfobj.btf.ext import BTFExt  # noqa: E402

C_SOURCE = os.path.join(HERE, "c", "bench_core.c")
C_BIN = os.path.join(HERE, "c", "bin", "bench_core")
SOURCE = os.path.join(os.path.dirname(HERE), "tests", "bpf", "core_kernel.c")
DEFAULT_OUT = os.path.join(HERE, "out", "bench_core.json")
LIBBPF_A = "/usr/lib/x86_64-linux-gnu/libbpf.a"


def build_c() -> Optional[str]:
    """Compile the C baseline (cc -O2, libbpf.a: its CO-RE functions are not in the .so)."""
    if shutil.which("cc") is None or not os.path.exists(LIBBPF_A):
        print("note: no cc or no libbpf.a; the C column stays empty", file=sys.stderr)
        return None
    os.makedirs(os.path.dirname(C_BIN), exist_ok=True)
    if not (os.path.exists(C_BIN) and os.path.getmtime(C_BIN) >= os.path.getmtime(C_SOURCE)):
        subprocess.run(["cc", "-O2", "-Wall", "-o", C_BIN, C_SOURCE, LIBBPF_A, "-lelf", "-lz"],
                       check=True)
    return C_BIN


def build_object(tmp: str) -> str:
    header = subprocess.run(["bpftool", "btf", "dump", "file", "/sys/kernel/btf/vmlinux",
                             "format", "c"], capture_output=True, check=True).stdout
    with open(os.path.join(tmp, "vmlinux.h"), "wb") as f:
        f.write(header)
    obj = os.path.join(tmp, "core_kernel.o")
    subprocess.run(["clang", "-g", "-O2", "-target", "bpf", "-D__TARGET_ARCH_x86", f"-I{tmp}",
                    "-c", SOURCE, "-o", obj], check=True)
    return obj


def main(argv: Optional[list[str]] = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    tmp = tempfile.mkdtemp(prefix="bench-core-")
    try:
        obj = build_object(tmp)
        with open(obj, "rb") as f:
            elf = ELFFile(f.read())
        btf_sec, ext_sec = elf.section(".BTF"), elf.section(".BTF.ext")
        assert btf_sec is not None and ext_sec is not None
        local = btf.Spec.from_bytes(elf.data(btf_sec))
        ext = BTFExt.from_bytes(elf.data(ext_sec), local)
        (sec_name, relos), = ext.core_relo.items()
        sec = elf.section(sec_name)
        assert sec is not None
        code = elf.data(sec)

        t0 = time.perf_counter_ns()
        vmlinux = btf.kernel_spec()
        t1 = time.perf_counter_ns()
        core.Relocator(local, vmlinux=vmlinux).relocate(code, relos[:1])  # first lookup
        t2 = time.perf_counter_ns()

        py = []
        for _ in range(args.rounds):
            start = time.perf_counter_ns()
            core.Relocator(local, vmlinux=vmlinux).relocate(code, relos, program="bench")
            py.append(time.perf_counter_ns() - start)
        n = len(relos)
        result: dict[str, Any] = {
            "relocations": n, "rounds": args.rounds,
            "kernel_spec_parse_ms": (t1 - t0) / 1e6, "first_lookup_ms": (t2 - t1) / 1e6,
            "python_ns_per_relo_min": min(py) / n,
            "python_ns_per_relo_median": statistics.median(py) / n,
        }
        cbin = build_c()
        if cbin is not None:
            relo_file, insn_file = os.path.join(tmp, "relos.bin"), os.path.join(tmp, "insns.bin")
            with open(relo_file, "wb") as f:
                for r in relos:
                    f.write(struct.pack("<IIII", r.insn_off, r.type_id, r.access_str_off,
                                        r.kind))
            with open(insn_file, "wb") as f:
                f.write(code)
            out = subprocess.run([cbin, obj, relo_file, insn_file, str(args.rounds)],
                                 capture_output=True, text=True, check=True)
            c = json.loads(out.stdout)
            result["c_ns_per_relo_min"] = c["min_ns"] / n
            result["c_ns_per_relo_median"] = c["median_ns"] / n
            result["ratio_median"] = (result["python_ns_per_relo_median"]
                                      / result["c_ns_per_relo_median"])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"CO-RE relocation of {n} relocations (tests/bpf/core_kernel.c) against vmlinux, "
          f"{args.rounds} rounds")
    print(f"{'':28}{'min ns/relo':>14}{'median ns/relo':>16}{'ratio':>8}")
    print(f"{'bpfobj Relocator':28}{result['python_ns_per_relo_min']:>14.0f}"
          f"{result['python_ns_per_relo_median']:>16.0f}"
          f"{result.get('ratio_median', float('nan')):>8.2f}")
    if "c_ns_per_relo_min" in result:
        print(f"{'libbpf relo_core (C)':28}{result['c_ns_per_relo_min']:>14.0f}"
              f"{result['c_ns_per_relo_median']:>16.0f}{1.0:>8.2f}")
    print(f"one-time: kernel_spec() {result['kernel_spec_parse_ms']:.1f} ms, first candidate "
          f"lookup (flavored names, name cache) {result['first_lookup_ms']:.1f} ms")
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
    return result


if __name__ == "__main__":
    main()
