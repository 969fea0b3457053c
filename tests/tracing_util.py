"""Programs and helpers shared by the tracing tests (tracepoints, uprobes, kprobes, leak view).

The counting program increments slot ``count`` of a one-entry ARRAY map
whose value is three u64s: ``count``, the last attach cookie
(bpf_get_attach_cookie), and the sum of the return-value register (a
uretprobe's return value; rax on x86-64). An optional tgid filter makes it
count only one process's events.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import tempfile
from typing import Optional

from bpfobj import Map, MapSpec, MapType, Program, ProgramSpec, ProgramType, asm
from bpfobj._types import AttachType

VALUE = struct.Struct("=QQQ")
#: struct pt_regs offset of rax on x86-64 (arch/x86/include/asm/ptrace.h).
PT_REGS_RAX = 80


def counter_map() -> Map:
    return Map.create(MapSpec(type=MapType.ARRAY, key_size=4, value_size=VALUE.size,
                              max_entries=1, name="counts"))


def read_counts(m: Map) -> tuple[int, int, int]:
    """(count, last cookie, sum of return values)."""
    count, cookie, total = VALUE.unpack(m.lookup(0))
    return count, cookie, total


def counter_program(prog_type: ProgramType, m: Map, *, tgid: Optional[int] = None,
                    cookie: bool = False, retval: bool = False,
                    attach_type: int = 0, name: str = "count") -> Program:
    insns: list[asm.Instruction | asm.Label] = [asm.mov_reg(asm.R6, asm.R1)]
    if tgid is not None:
        insns += [
            asm.call("get_current_pid_tgid"),
            asm.rsh_imm(asm.R0, 32),
            asm.jne_imm(asm.R0, tgid, "out"),
        ]
    insns += [
        asm.st_imm(asm.W, asm.R10, -4, 0),
        asm.mov_reg(asm.R2, asm.R10),
        asm.add_imm(asm.R2, -4),
        asm.ld_map_fd(asm.R1, m),
        asm.call("map_lookup_elem"),
        asm.jeq_imm(asm.R0, 0, "out"),
        asm.mov_reg(asm.R7, asm.R0),
        asm.mov_imm(asm.R1, 1),
        asm.atomic_add(asm.DW, asm.R7, asm.R1, 0),
    ]
    if cookie:
        insns += [
            asm.mov_reg(asm.R1, asm.R6),
            asm.call("get_attach_cookie"),
            asm.stx(asm.DW, asm.R7, asm.R0, 8),
        ]
    if retval:
        insns += [
            asm.ldx(asm.DW, asm.R1, asm.R6, PT_REGS_RAX),
            asm.atomic_add(asm.DW, asm.R7, asm.R1, 16),
        ]
    insns += [asm.label("out"), asm.mov_imm(asm.R0, 0), asm.exit_()]
    return Program.load(ProgramSpec(type=prog_type, instructions=asm.Instructions(insns),
                                    license="GPL", name=name,
                                    expected_attach_type=attach_type or 0))


def uprobe_multi_attach_type() -> int:
    return int(AttachType.TRACE_UPROBE_MULTI)


TARGET_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

__attribute__((noinline)) int bpfobj_target(int x)
{
    __asm__ volatile("" ::: "memory");
    return x * 2 + 1;
}

__attribute__((noinline)) int bpfobj_other(int x)
{
    __asm__ volatile("" ::: "memory");
    return x + 7;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 0;
    char go;
    long sum = 0;

    /* Wait for the parent to attach (one byte on stdin), then call. */
    if (read(0, &go, 1) != 1)
        return 2;
    for (int i = 0; i < n; i++) {
        sum += bpfobj_target(i);
        sum += bpfobj_other(i) - bpfobj_other(i);
        getppid();
    }
    printf("%ld\n", sum);
    fflush(stdout);
    return 0;
}
"""


def build_target(directory: str) -> str:
    """Compile TARGET_C with cc into ``directory``; the executable's path."""
    src = os.path.join(directory, "target.c")
    exe = os.path.join(directory, "bpfobj_target")
    with open(src, "w") as f:
        f.write(TARGET_C)
    cc = shutil.which("cc") or shutil.which("gcc") or "cc"
    subprocess.run([cc, "-O1", "-g", "-o", exe, src], check=True, capture_output=True)
    return exe


class Target:
    """A running copy of the target executable, waiting for a byte on stdin before it calls."""

    def __init__(self, exe: str, n: int) -> None:
        self.proc = subprocess.Popen([exe, str(n)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def run(self) -> int:
        """Let it call; wait; the sum it printed."""
        out, _ = self.proc.communicate(b"g", timeout=60)
        assert self.proc.returncode == 0, self.proc.returncode
        return int(out)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate()


def tempdir() -> str:
    return tempfile.mkdtemp(prefix="bpfobj-trace-")


def libc_path() -> str:
    """The libc this Python process maps (from /proc/self/maps)."""
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split(maxsplit=5)[-1].strip()
            if os.path.basename(path).startswith("libc.so") or \
                    os.path.basename(path).startswith("libc-"):
                return path
    raise AssertionError("no libc mapped")
