"""Socket filter programs that write to ring and perf buffers, for the event reader tests
and benchmarks (assembled with bpfobj.asm, run with Program.test_run).

Every program numbers its records: it fetch-adds 1 to a u64 counter (index 0
of a one-entry ARRAY map, ``counter_map()``) and writes the old value as the
record's first 8 bytes, followed by the packet's first bytes. Output helpers
that fail (a full ring) add 1 to a second u64 of the same value, so tests can
tell the kernel's drops from the reader's losses.
"""

from __future__ import annotations

import struct
import threading
import time
from typing import Optional, Protocol

import pytest

from bpfobj import ClosedError, Map, MapSpec, MapType, Program, ProgramSpec, ProgramType, asm
from bpfobj.asm import DW, R0, R1, R2, R3, R4, R5, R6, R7, R8, R10, W
from bpfobj.asm.insn import Item

#: The packet every test run gets. A socket filter sees it from byte 14 on,
#: after the Ethernet header test_run pulls.
PACKET = bytes(range(256)) * 2
_SEEN = PACKET[14:]
#: The largest record of the variable-size programs.
MAX_VAR = 128


def counter_map() -> Map:
    """A one-entry ARRAY of two u64: the first numbers the records, the second
    counts failed outputs."""
    return Map.create(MapSpec(MapType.ARRAY, 4, 16, 1, name="ev_counter"))


def expected(i: int, size: int) -> bytes:
    """The bytes of record number ``i`` when ``size`` bytes were written."""
    return (struct.pack("<Q", i) + _SEEN)[:size]


def var_size(i: int) -> int:
    """The size the variable-size programs write for record number ``i``: 1..128."""
    return 1 + (i & (MAX_VAR - 1))


def _numbered(counter: Map, buf: int, size: Optional[int]) -> list[Item]:
    """Leave the record's number in R8 and build the record at fp+buf on the stack:
    number, then packet bytes (``size`` of them in all, or MAX_VAR for variable sizes)."""
    total = MAX_VAR if size is None else size
    out: list[Item] = [
        asm.mov_reg(R6, R1),
        asm.st_imm(W, R10, -4, 0),
        asm.ld_map_fd(R1, counter), asm.mov_reg(R2, R10), asm.add_imm(R2, -4),
        asm.call("map_lookup_elem"),
        asm.jeq_imm(R0, 0, "out"),
        asm.mov_reg(R7, R0),
        asm.mov_imm(R8, 1),
        asm.atomic_add(DW, R7, R8, 0, fetch=True),
        asm.stx(DW, R10, R8, buf),
    ]
    if total > 8:
        out += [asm.mov_reg(R1, R6), asm.mov_imm(R2, 0), asm.mov_reg(R3, R10),
                asm.add_imm(R3, buf + 8), asm.mov_imm(R4, total - 8),
                asm.call("skb_load_bytes")]
    return out


def _size_into(reg: asm.Register, size: Optional[int]) -> list[Item]:
    if size is not None:
        return [asm.mov_imm(reg, size)]
    return [asm.mov_reg(reg, R8), asm.and_imm(reg, MAX_VAR - 1), asm.add_imm(reg, 1)]


def _count_failure() -> list[Item]:
    # After an output helper: R0 < 0 means the kernel dropped the record.
    return [asm.jsge_imm(R0, 0, "out"), asm.mov_imm(R1, 1),
            asm.atomic_add(DW, R7, R1, 8), asm.label("out"), asm.mov_imm(R0, 2), asm.exit_()]


def _load(insns: list[Item], name: str) -> Program:
    return Program.load(ProgramSpec(type=ProgramType.SOCKET_FILTER,
                                    instructions=asm.Instructions(insns), license="GPL",
                                    name=name))


def ring_output(ring: Map, counter: Map, size: Optional[int] = 64) -> Program:
    """bpf_ringbuf_output of one numbered record per run; ``size`` None: 1..128 bytes."""
    buf = -8 - (MAX_VAR if size is None else (size + 7) // 8 * 8)
    return _load([
        *_numbered(counter, buf, size),
        asm.ld_map_fd(R1, ring), asm.mov_reg(R2, R10), asm.add_imm(R2, buf),
        *_size_into(R3, size), asm.mov_imm(R4, 0),
        asm.call("ringbuf_output"),
        *_count_failure(),
    ], "ring_output")


def ring_reserve_discard_odd(ring: Map, counter: Map, size: int = 24, *,
                             discard_odd: bool = True, zero: bool = True) -> Program:
    """bpf_ringbuf_reserve of ``size`` bytes: the number, then zeros (or, without
    ``zero``, what the ring held there); odd numbers are discarded
    (bpf_ringbuf_discard), even ones submitted, unless not ``discard_odd``."""
    insns: list[Item] = [
        *_numbered(counter, -16, 8),
        asm.ld_map_fd(R1, ring), asm.mov_imm(R2, size), asm.mov_imm(R3, 0),
        asm.call("ringbuf_reserve"),
        asm.jne_imm(R0, 0, "got"),
        asm.mov_imm(R0, -1),
        asm.ja("fail"),
        asm.label("got"),
        asm.stx(DW, R0, R8, 0),
        *[asm.st_imm(DW, R0, off, 0) for off in range(8, size - 7, 8) if zero],
        asm.mov_reg(R1, R0), asm.mov_imm(R2, 0),
        asm.and_imm(R8, 1 if discard_odd else 0),
        asm.jeq_imm(R8, 0, "submit"),
        asm.call("ringbuf_discard"),
        asm.ja("done"),
        asm.label("submit"),
        asm.call("ringbuf_submit"),
        asm.label("done"),
        asm.mov_imm(R0, 0),
        asm.label("fail"),
        *_count_failure(),
    ]
    return _load(insns, "ring_discard")


def perf_output(perf_map: Map, counter: Map, size: Optional[int] = 64) -> Program:
    """bpf_perf_event_output(BPF_F_CURRENT_CPU) of one numbered record per run,
    whose bytes 8..12 are replaced by the CPU number (u32) when ``size`` >= 12."""
    buf = -8 - (MAX_VAR if size is None else (size + 7) // 8 * 8)
    insns = _numbered(counter, buf, size)
    if size is not None and size >= 12:
        insns += [asm.call("get_smp_processor_id"), asm.stx(W, R10, R0, buf + 8)]
    insns += [
        asm.mov_reg(R1, R6), asm.ld_map_fd(R2, perf_map), asm.ld_imm64(R3, 0xFFFFFFFF),
        asm.mov_reg(R4, R10), asm.add_imm(R4, buf), *_size_into(R5, size),
        asm.call("perf_event_output"),
        *_count_failure(),
    ]
    return _load(insns, "perf_output")


def drops(counter: Map) -> int:
    """How many outputs the kernel refused."""
    return int.from_bytes(counter.lookup(0)[8:], "little")


def produced(counter: Map) -> int:
    """How many records the programs numbered."""
    return int.from_bytes(counter.lookup(0)[:8], "little")


class _Reader(Protocol):
    def read(self, timeout: Optional[float] = None) -> object: ...
    def read_many(self, max_records: Optional[int] = None,
                  timeout: Optional[float] = None) -> object: ...
    def close(self) -> None: ...


def assert_close_releases_blocked_read(r: _Reader) -> None:
    """Close ``r`` from another thread while read() blocks: the read raises ClosedError."""
    outcome: list[BaseException] = []

    def blocked() -> None:
        try:
            r.read()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            outcome.append(exc)

    t = threading.Thread(target=blocked)
    t.start()
    time.sleep(0.1)
    assert t.is_alive()  # really blocked
    r.close()
    t.join(10)
    assert not t.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], ClosedError)
    with pytest.raises(ClosedError):
        r.read(timeout=0)
    with pytest.raises(ClosedError):
        r.read_many()
    r.close()  # idempotent
