"""End-to-end latency: from the syscall that fires a tracepoint to ringbuf read() returning.

``python benchmarks/bench_latency.py [-n 10000] [--out FILE]`` (root). A
TRACEPOINT program on syscalls:sys_enter_getppid, filtered to one process
(its tgid is in a config map), reserves an 8-byte ring buffer record, writes
bpf_ktime_get_ns() into it and submits it. Two ways of waiting, each timed
through bpfobj (``bpfobj.ringbuf.Reader``) and, in the same run, through a C
consumer on the very same map (benchmarks/c/bench_latency.c, ``cc -O2``,
libbpf's ring_buffer):

- **same thread**: the reader itself calls getppid() and then read(); the
  latency is perf_counter_ns() around both (the record is committed before
  the syscall returns, so no wakeup is involved);
- **blocked reader**: the reader waits in read() (epoll) while another
  process (the C trigger) calls getppid() every 100 us; the latency is
  CLOCK_MONOTONIC when read() returns minus the program's ktime stamp
  (ktime_get_ns is CLOCK_MONOTONIC), so it includes the wakeup.

Prints a table (median, p99, ratio of medians to C) and writes JSON.
Nothing asserts on time.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import struct
import subprocess
import sys
import time
from typing import Any, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, os.path.dirname(HERE))

from benchmarks import _common  # noqa: E402
from bpfobj import (  # noqa: E402
    Link,
    Map,
    MapSpec,
    MapType,
    Program,
    ProgramSpec,
    ProgramType,
    asm,
)
from bpfobj.ringbuf import Reader  # noqa: E402

C_SOURCE = os.path.join(HERE, "c", "bench_latency.c")
C_BIN = os.path.join(HERE, "c", "bin", "bench_latency")
DEFAULT_OUT = os.path.join(HERE, "out", "latency.json")
INTERVAL_US = 100
STAMP = struct.Struct("=Q")


def build_c(cc: str = "cc") -> Optional[str]:
    """Compile the C consumer with ``cc -O2 ... -lbpf`` unless it is newer; its path or None."""
    return _common.build_c(C_SOURCE, "-lbpf", out=C_BIN, cc=cc)


def program(ring: Map, config: Map) -> Program:
    """Stamp ktime_get_ns() into an 8-byte ring record when config[0] is the caller's tgid."""
    insns: list[asm.Instruction | asm.Label] = [
        asm.st_imm(asm.W, asm.R10, -4, 0),
        asm.mov_reg(asm.R2, asm.R10),
        asm.add_imm(asm.R2, -4),
        asm.ld_map_fd(asm.R1, config),
        asm.call("map_lookup_elem"),
        asm.jeq_imm(asm.R0, 0, "out"),
        asm.ldx(asm.W, asm.R6, asm.R0, 0),
        asm.call("get_current_pid_tgid"),
        asm.rsh_imm(asm.R0, 32),
        asm.jne_reg(asm.R0, asm.R6, "out"),
        asm.ld_map_fd(asm.R1, ring),
        asm.mov_imm(asm.R2, STAMP.size),
        asm.mov_imm(asm.R3, 0),
        asm.call("ringbuf_reserve"),
        asm.jeq_imm(asm.R0, 0, "out"),
        asm.mov_reg(asm.R7, asm.R0),
        asm.call("ktime_get_ns"),
        asm.stx(asm.DW, asm.R7, asm.R0, 0),
        asm.mov_reg(asm.R1, asm.R7),
        asm.mov_imm(asm.R2, 0),
        asm.call("ringbuf_submit"),
        asm.label("out"),
        asm.mov_imm(asm.R0, 0),
        asm.exit_(),
    ]
    return Program.load(ProgramSpec(type=ProgramType.TRACEPOINT,
                                    instructions=asm.Instructions(insns), name="latency"))


def stats(samples: list[int]) -> dict[str, float]:
    s = sorted(samples)
    return {"n": len(s), "min_us": s[0] / 1e3, "median_us": statistics.median(s) / 1e3,
            "p99_us": s[min(len(s) - 1, int(len(s) * 0.99))] / 1e3,
            "mean_us": statistics.fmean(s) / 1e3}


def target(config: Map, pid: int) -> None:
    config.update(0, pid.to_bytes(4, sys.byteorder))


def py_same(reader: Reader, config: Map, n: int) -> list[int]:
    target(config, os.getpid())
    clock = time.perf_counter_ns
    getppid = os.getppid
    read = reader.read
    for _ in range(min(200, n)):  # warm-up
        getppid()
        read()
    out = []
    for _ in range(n):
        t0 = clock()
        getppid()
        read()
        out.append(clock() - t0)
    return out


def _trigger(binary: str, n: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen([binary, "trigger", str(n), str(INTERVAL_US)], stdin=subprocess.PIPE)


def py_blocked(reader: Reader, config: Map, n: int, binary: str) -> list[int]:
    trig = _trigger(binary, n)
    try:
        target(config, trig.pid)
        assert trig.stdin is not None
        trig.stdin.write(b"g")
        trig.stdin.close()
        now = time.clock_gettime_ns
        mono = time.CLOCK_MONOTONIC
        read = reader.read
        out = []
        for _ in range(n):
            data = read(timeout=10)
            t = now(mono)
            out.append(t - STAMP.unpack_from(data)[0])
        return out
    finally:
        trig.wait()


def c_same(ring: Map, config: Map, n: int, binary: str) -> list[int]:
    child = subprocess.Popen([binary, "same", str(ring.fd), str(n)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, pass_fds=(ring.fd,))
    target(config, child.pid)
    out, _ = child.communicate(b"g", timeout=120)
    if child.returncode != 0:
        raise RuntimeError(f"C consumer exited with {child.returncode}")
    return [int(x) for x in out.split()]


def c_blocked(ring: Map, config: Map, n: int, binary: str) -> list[int]:
    child = subprocess.Popen([binary, "blocked", str(ring.fd), str(n)], stdout=subprocess.PIPE,
                             pass_fds=(ring.fd,))
    assert child.stdout is not None
    assert child.stdout.readline().strip() == b"ready"
    trig = _trigger(binary, n)
    target(config, trig.pid)
    assert trig.stdin is not None
    trig.stdin.write(b"g")
    trig.stdin.close()
    trig.wait()
    out, _ = child.communicate(timeout=120)
    if child.returncode != 0:
        raise RuntimeError(f"C consumer exited with {child.returncode}")
    return [int(x) for x in out.split()]


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=10_000, help="events per row (default 10,000)")
    ap.add_argument("--out", default=DEFAULT_OUT, help="JSON output file")
    args = ap.parse_args(argv)
    binary = build_c()
    results: dict[str, dict[str, Any]] = {}
    with Map.create(MapSpec(MapType.RINGBUF, 0, 0, 1 << 20, name="lat_ring")) as ring, \
            Map.create(MapSpec(MapType.ARRAY, 4, 4, 1, name="lat_cfg")) as config, \
            program(ring, config) as prog, \
            Link.attach_tracepoint(prog, "syscalls", "sys_enter_getppid"), \
            Reader(ring) as reader:
        results["same thread/bpfobj"] = stats(py_same(reader, config, args.n))
        target(config, 0)
        if binary:
            results["same thread/C libbpf"] = stats(c_same(ring, config, args.n, binary))
            target(config, 0)
            results["blocked reader/bpfobj"] = stats(py_blocked(reader, config, args.n, binary))
            target(config, 0)
            results["blocked reader/C libbpf"] = stats(c_blocked(ring, config, args.n, binary))
            target(config, 0)
        reader.read_many(timeout=0)  # anything left over
    print(f"{'mode':<16} {'reader':<12} {'n':>6} {'median us':>10} {'p99 us':>9} {'min us':>8} "
          f"{'x C (median)':>12}")
    for key, r in results.items():
        mode, who = key.split("/")
        c = results.get(f"{mode}/C libbpf")
        ratio = f"{r['median_us'] / c['median_us']:.2f}" if c and who != "C libbpf" else ""
        print(f"{mode:<16} {who:<12} {r['n']:>6} {r['median_us']:>10.2f} {r['p99_us']:>9.2f} "
              f"{r['min_us']:>8.2f} {ratio:>12}")
    doc = {"benchmark": "tracepoint -> ringbuf read() latency", "events": args.n,
           "tracepoint": "syscalls:sys_enter_getppid", "trigger_interval_us": INTERVAL_US,
           "kernel": platform.release(), "python": platform.python_version(),
           "results": results}
    _common.write_json(doc, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
