"""opensnoop, small: print every file opened on the system, as it happens.

Run it as root:

    python examples/opensnoop.py            # until Ctrl-C
    python examples/opensnoop.py -n 20      # stop after 20 events
    python examples/opensnoop.py -p 1234    # only process 1234

A TRACEPOINT program on syscalls:sys_enter_openat fills one ring buffer
record per call: the thread and process IDs, the time, the command name and
the file name (copied from user memory with bpf_probe_read_user_str). It is
written with bpfobj.asm; the filename's offset in the tracepoint's context
comes from the event's tracefs format file. The Python side reads the
records with bpfobj.ringbuf.Reader and prints them.
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
import time

from bpfobj import Link, Map, MapSpec, MapType, Program, ProgramSpec, ProgramType, asm
from bpfobj.link.tracepoint import event_fields
from bpfobj.ringbuf import Reader

COMM_LEN, PATH_LEN = 16, 128
#: struct event { u32 tid; u32 pid; u64 ns; char comm[16]; char path[128]; }
EVENT = struct.Struct(f"=IIQ{COMM_LEN}s{PATH_LEN}s")


def build(ring: Map, only_pid: int) -> Program:
    """The TRACEPOINT program: one EVENT per openat(2) call, sent through ``ring``."""
    filename_off = event_fields("syscalls", "sys_enter_openat")["filename"][0]
    insns: list[asm.Instruction | asm.Label] = [asm.mov_reg(asm.R6, asm.R1)]  # r6 = ctx
    if only_pid:
        insns += [
            asm.call("get_current_pid_tgid"),
            asm.rsh_imm(asm.R0, 32),
            asm.jne_imm(asm.R0, only_pid, "out"),
        ]
    insns += [
        asm.ld_map_fd(asm.R1, ring),
        asm.mov_imm(asm.R2, EVENT.size),
        asm.mov_imm(asm.R3, 0),
        asm.call("ringbuf_reserve"),
        asm.jeq_imm(asm.R0, 0, "out"),                # ring full: drop this one
        asm.mov_reg(asm.R7, asm.R0),                  # r7 = the record
        asm.call("get_current_pid_tgid"),
        asm.stx(asm.W, asm.R7, asm.R0, 0),            # tid: the low half
        asm.rsh_imm(asm.R0, 32),
        asm.stx(asm.W, asm.R7, asm.R0, 4),            # pid (tgid): the high half
        asm.call("ktime_get_ns"),
        asm.stx(asm.DW, asm.R7, asm.R0, 8),
        asm.mov_reg(asm.R1, asm.R7),
        asm.add_imm(asm.R1, 16),
        asm.mov_imm(asm.R2, COMM_LEN),
        asm.call("get_current_comm"),
        asm.mov_reg(asm.R1, asm.R7),
        asm.add_imm(asm.R1, 16 + COMM_LEN),
        asm.mov_imm(asm.R2, PATH_LEN),
        asm.ldx(asm.DW, asm.R3, asm.R6, filename_off),  # the user pointer to the name
        asm.call("probe_read_user_str"),
        asm.mov_reg(asm.R1, asm.R7),
        asm.mov_imm(asm.R2, 0),
        asm.call("ringbuf_submit"),
        asm.label("out"),
        asm.mov_imm(asm.R0, 0),
        asm.exit_(),
    ]
    return Program.load(ProgramSpec(type=ProgramType.TRACEPOINT,
                                    instructions=asm.Instructions(insns), license="GPL",
                                    name="opensnoop"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", "--count", type=int, default=0, help="stop after N events")
    ap.add_argument("-p", "--pid", type=int, default=0, help="only this process")
    ap.add_argument("-t", "--timeout", type=float, default=None,
                    help="give up after this many seconds without an event")
    args = ap.parse_args(argv)

    with Map.create(MapSpec(type=MapType.RINGBUF, key_size=0, value_size=0,
                            max_entries=256 * 1024, name="events")) as ring, \
            build(ring, args.pid) as prog, \
            Link.attach_tracepoint(prog, "syscalls", "sys_enter_openat"), \
            Reader(ring) as reader:
        boot = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        print(f"{'TIME(s)':>10} {'PID':>7} {'TID':>7} {'COMM':<16} PATH", flush=True)
        seen = 0
        try:
            while not args.count or seen < args.count:
                try:
                    raw = reader.read(timeout=args.timeout)
                except TimeoutError:
                    print("no event within the timeout", file=sys.stderr)
                    return 1
                tid, pid, ns, comm, path = EVENT.unpack(raw)
                name = comm.split(b"\0", 1)[0].decode("utf-8", "replace")
                where = path.split(b"\0", 1)[0].decode("utf-8", "replace")
                print(f"{(ns - boot) / 1e9:10.6f} {pid:7} {tid:7} {name:<16} {where}",
                      flush=True)
                seen += 1
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    if os.geteuid() != 0:
        sys.exit("opensnoop needs root")
    sys.exit(main())
