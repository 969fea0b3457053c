"""bpfobj.asm against the kernel: our text equals bpftool's and the verifier's; atomics run.

Two oracles for the text: ``bpftool prog dump xlated id N`` for what the kernel
holds after verification (rewritten calls, inlined map lookups, map IDs), and
the verifier's own log (log_level 2), which disassembles the program as loaded
with the running kernel's disassembler, so it also knows the instructions the
installed bpftool may predate (bswap, sdiv/smod, movsx, sign-extending loads).
"""

from __future__ import annotations

import re
import struct
import subprocess
from collections.abc import Iterator

import pytest

import bpfobj
from bpfobj import HelperFunc, Map, MapSpec, MapType, Program, ProgramSpec, ProgramType, asm
from bpfobj.asm import (
    DW,
    FP,
    R0,
    R1,
    R2,
    R3,
    R4,
    R5,
    R6,
    R7,
    B,
    H,
    Instruction,
    Instructions,
    W,
)

pytestmark = pytest.mark.usefixtures("kernel")

PACKET = bytes(64)


@pytest.fixture
def array() -> Iterator[Map]:
    """A one-entry array of 32-byte values (ld_map_value needs exactly one entry)."""
    m = Map.create(MapSpec(MapType.ARRAY, 4, 32, 1, name="asm_arr"))
    try:
        yield m
    finally:
        m.close()


@pytest.fixture
def hashmap() -> Iterator[Map]:
    m = Map.create(MapSpec(MapType.HASH, 4, 16, 4, name="asm_hash"))
    try:
        yield m
    finally:
        m.close()


def load(insns: Instructions, ptype: ProgramType = ProgramType.SCHED_CLS,
         log: bool = False) -> Program:
    spec = ProgramSpec(type=ptype, instructions=insns, license="GPL", name="asm_test",
                       log_level=2 if log else 0, log_size=1 << 20 if log else 0)
    return Program.load(spec)


def bpftool_xlated(bpftool: str, prog: Program) -> list[str]:
    out = subprocess.run([bpftool, "prog", "dump", "xlated", "id", str(prog.info().id)],
                         capture_output=True, text=True, check=True).stdout
    return [line.rstrip() for line in out.rstrip("\n").splitlines()]


_LIVE = re.compile(r"^\s*(\d+): [.0-9]{10,11} (\(\w\w\) .*)$")
_TRACE = re.compile(r"^(\d+): (\(\w\w\) .*?)(?:\s+; .*)?$")


def verifier_listing(log: str) -> dict[int, str]:
    """The verifier's disassembly of each slot, from a log_level 2 log."""
    lines: dict[int, str] = {}
    for line in log.splitlines():
        m = _LIVE.match(line)
        if m:
            lines.setdefault(int(m.group(1)), m.group(2).rstrip())
    if lines:
        return lines
    for line in log.splitlines():
        m = _TRACE.match(line)
        if m:
            lines.setdefault(int(m.group(1)), m.group(2).rstrip())
    return lines


# --- programs for the text comparison ----------------------------------------------------


def prog_alu() -> Instructions:
    """64- and 32-bit ALU, byte swaps, constants, JMP/JMP32 on values the verifier cannot know."""
    return Instructions([
        asm.ldx(W, R2, R1, 0),            # skb->len: unknown to the verifier
        asm.mov_reg(R3, R2),
        asm.add_imm(R3, -8), asm.add32_imm(R3, 1), asm.sub_reg(R3, R2), asm.sub32_imm(R3, 2),
        asm.mul_imm(R3, 3), asm.mul32_reg(R3, R2), asm.div_imm(R3, 3), asm.div32_imm(R3, 5),
        asm.or_imm(R3, 0x10), asm.or32_reg(R3, R2), asm.and_imm(R3, 0xFFF), asm.and32_reg(R3, R2),
        asm.lsh_imm(R3, 3), asm.lsh32_imm(R3, 1), asm.rsh_imm(R3, 2), asm.rsh32_imm(R3, 1),
        asm.mod_imm(R3, 7), asm.mod32_imm(R3, 5), asm.xor_reg(R3, R2), asm.xor32_imm(R3, -1),
        asm.arsh_imm(R3, 1), asm.arsh32_imm(R3, 2), asm.neg(R3), asm.neg32(R3),
        asm.mov32_reg(R4, R3), asm.mov32_imm(R5, -7),
        asm.to_be(R3, 16), asm.to_be(R3, 32), asm.to_be(R3, 64),
        asm.to_le(R3, 16), asm.to_le(R3, 32), asm.to_le(R3, 64),
        asm.ld_imm64(R6, 0xDEADBEEFCAFE),
        asm.ld_imm64(R7, -2),
        asm.jeq32_imm(R2, -1, "a"), asm.jne_reg(R2, R3, "a"), asm.jgt_imm(R2, 100, "a"),
        asm.jge32_reg(R2, R4, "a"), asm.jlt_imm(R2, 3, "a"), asm.jle32_imm(R2, 5, "a"),
        asm.jset_imm(R2, 0x80, "a"), asm.jsgt32_reg(R2, R3, "a"), asm.jsge_imm(R2, -5, "a"),
        asm.jslt32_imm(R3, -9, "a"), asm.jsle_reg(R3, R2, "a"),
        asm.mov_imm(R0, 1),
        asm.ja("out"),
        asm.label("a"),
        asm.mov_imm(R0, 2),
        asm.label("out"),
        asm.exit_(),
    ])


def prog_maps(array: Map, hashmap: Map) -> Instructions:
    """A hash lookup (a call the verifier rewrites), an inlined array lookup, map value loads."""
    return Instructions([
        asm.st(W, FP, -4, 0),
        asm.mov_reg(R2, FP), asm.add_imm(R2, -4),
        asm.ld_map_fd(R1, hashmap),
        asm.call(HelperFunc.map_lookup_elem),
        asm.jeq_imm(R0, 0, "arr"),
        asm.ldx(DW, R1, R0, 0), asm.stx(DW, FP, R1, -16), asm.ldx(H, R1, R0, 2),
        asm.ldx(B, R1, R0, 3), asm.st(B, R0, 1, 255), asm.st(H, R0, 2, -7), asm.st(DW, R0, 8, 1),
        asm.stx(W, R0, R1, 4),
        asm.label("arr"),
        asm.mov_reg(R2, FP), asm.add_imm(R2, -4),
        asm.ld_map_fd(R1, array),
        asm.call("map_lookup_elem"),
        asm.jne_imm(R0, 0, 1),
        asm.exit_(),
        asm.ld_map_value(R1, array, 8),
        asm.ldx(DW, R2, R1, 0),
        asm.call("ktime_get_ns"),
        asm.call("get_prandom_u32"),
        asm.mov_imm(R0, 0),
        asm.exit_(),
    ])


def prog_atomics(array: Map) -> Instructions:
    """Every BPF_ATOMIC form on a map value, both sizes."""
    insns = Instructions([asm.ld_map_value(R1, array, 0), asm.mov_imm(R2, 1)])
    for size in (DW, W):
        insns.extend([
            asm.atomic_add(size, R1, R2, 0), asm.atomic_and(size, R1, R2, 8),
            asm.atomic_or(size, R1, R2, 16), asm.atomic_xor(size, R1, R2, 0),
            asm.atomic_add(size, R1, R2, 0, fetch=True),
            asm.atomic_and(size, R1, R2, 8, fetch=True),
            asm.atomic_or(size, R1, R2, 16, fetch=True),
            asm.atomic_xor(size, R1, R2, 0, fetch=True),
            asm.atomic_xchg(size, R1, R2, 8),
            asm.mov_imm(R0, 0), asm.atomic_cmpxchg(size, R1, R2, 16),
        ])
    insns.extend([asm.mov_imm(R0, 0), asm.exit_()])
    return insns


def prog_legacy() -> Instructions:
    """Legacy packet loads (socket filters), which the kernel turns into helper calls."""
    return Instructions([
        asm.mov_reg(R6, R1), asm.ld_abs(B, 12), asm.ld_abs(H, 12), asm.ld_abs(W, 0),
        asm.mov_imm(R7, 2), asm.ld_ind(H, R7, 2), asm.mov_imm(R0, 0), asm.exit_(),
    ])


def prog_new() -> Instructions:
    """Instructions of Linux 6.6 (cpu v4): bswap, signed div/mod, movsx, ldxsx, gotol."""
    return Instructions([
        asm.ldx(W, R2, R1, 0),
        asm.bswap(R2, 16), asm.bswap(R2, 32), asm.bswap(R2, 64),
        asm.sdiv_imm(R2, 3), asm.smod_imm(R2, 5), asm.sdiv_reg(R2, R2), asm.smod_reg(R2, R2),
        asm.movsx_reg(R3, R2, 8), asm.movsx_reg(R3, R2, 16), asm.movsx_reg(R3, R2, 32),
        asm.movsx32_reg(R3, R2, 8), asm.movsx32_reg(R3, R2, 16),
        asm.stx(DW, FP, R2, -8),
        asm.ldxsx(B, R4, FP, -8), asm.ldxsx(H, R4, FP, -8), asm.ldxsx(W, R4, FP, -8),
        asm.jeq_imm(R4, 7, "x"),
        asm.gotol("x"),
        asm.label("x"),
        asm.mov_imm(R0, 0),
        asm.exit_(),
    ])


def _programs(array: Map, hashmap: Map) -> dict[str, tuple[Instructions, ProgramType]]:
    return {
        "alu": (prog_alu(), ProgramType.SCHED_CLS),
        "maps": (prog_maps(array, hashmap), ProgramType.SCHED_CLS),
        "atomics": (prog_atomics(array), ProgramType.SCHED_CLS),
        "legacy": (prog_legacy(), ProgramType.SOCKET_FILTER),
        "xdp": (Instructions([asm.mov_imm(R0, 2), asm.exit_()]), ProgramType.XDP),
    }


@pytest.mark.bpftool
@pytest.mark.parametrize("which", ["alu", "maps", "atomics", "legacy", "xdp"])
def test_xlated_equals_bpftool(which: str, bpftool: str, array: Map, hashmap: Map) -> None:
    insns, ptype = _programs(array, hashmap)[which]
    with load(insns, ptype) as prog:
        want = bpftool_xlated(bpftool, prog)
        got = prog.xlated()
        assert str(got).splitlines() == want
        assert got.encode() == prog.xlated_bytes()


def test_xlated_maps_reads_map_ids(array: Map, hashmap: Map) -> None:
    with load(prog_maps(array, hashmap)) as prog:
        text = str(prog.xlated())
    assert f"map[id:{hashmap.info().id}]" in text
    assert f"map[id:{array.info().id}][0]+8" in text
    assert "goto pc+" in text and "call " in text


@pytest.mark.parametrize("which", ["alu", "maps", "atomics", "legacy", "new"])
def test_text_equals_verifier_log(which: str, array: Map, hashmap: Map) -> None:
    """Our text of the program as loaded equals the running kernel's disassembler, slot by slot."""
    programs = _programs(array, hashmap)
    programs["new"] = (prog_new(), ProgramType.SCHED_CLS)
    insns, ptype = programs[which]
    with load(insns, ptype, log=True) as prog:
        listing = verifier_listing(prog.verifier_log)
    assert listing, prog.verifier_log[:2000]
    ours = {slot: insn.text() for slot, insn in insns.resolved()}
    compared = 0
    for slot, text in listing.items():
        insn = dict(insns.resolved())[slot]
        if insn.opcode == 0x18 and insn.src in (asm.PSEUDO_MAP_FD, asm.PSEUDO_MAP_VALUE):
            # By then the verifier holds the map's kernel address: it prints that in hex.
            assert re.fullmatch(rf"\(18\) r{insn.dst} = 0x[0-9a-f]+", text), text
            continue
        assert ours[slot] == text, (slot, ours[slot], text)
        compared += 1
    # Dead code is not listed; everything the verifier walked was compared.
    assert compared >= len(ours) // 2


# --- atomics execute -------------------------------------------------------------------------

MASK = {W: 0xFFFFFFFF, DW: 0xFFFFFFFFFFFFFFFF}
HIGH = 0xA5A5A5A5_00000000


def _py(op: str, old: int, v: int) -> int:
    return {"add": old + v, "and": old & v, "or": old | v, "xor": old ^ v, "xchg": v}[op]


def read_slots(m: Map) -> tuple[int, int, int, int]:
    value = m.lookup(0)
    assert isinstance(value, bytes)
    a, b, c, d = struct.unpack("=QQQQ", value)
    return a, b, c, d


def write_slots(m: Map, *slots: int) -> None:
    m.update(0, struct.pack("=QQQQ", *(list(slots) + [0] * (4 - len(slots)))))


def test_atomic_add_repeat(array: Map) -> None:
    """ld_map_value + atomic_add, run N times in one test_run: N times the increment."""
    insns = Instructions([
        asm.ld_map_value(R1, array, 0),
        asm.mov_imm(R2, 3),
        asm.atomic_add(DW, R1, R2, 0),
        asm.mov_imm(R2, 1),
        asm.atomic_add(W, R1, R2, 8),
        asm.mov_imm(R0, 0),
        asm.exit_(),
    ])
    write_slots(array, 10, HIGH | 0xFFFFFF00)
    with load(insns) as prog:
        prog.test_run(PACKET, repeat=1000)
        slots = read_slots(array)
        assert slots[0] == 10 + 3 * 1000
        # 32-bit add wraps in the low half; the high half is untouched (no carry)
        assert slots[1] == HIGH | ((0xFFFFFF00 + 1000) & 0xFFFFFFFF)
        prog.test_run(PACKET, repeat=7)
        assert read_slots(array)[0] == 10 + 3 * 1007


def test_atomic_add_after_lookup(hashmap: Map) -> None:
    """bpf_map_lookup_elem on a hash map, then atomic_add on the value it returns."""
    insns = Instructions([
        asm.st(W, FP, -4, 5),
        asm.mov_reg(R2, FP), asm.add_imm(R2, -4),
        asm.ld_map_fd(R1, hashmap),
        asm.call("map_lookup_elem"),
        asm.jeq_imm(R0, 0, "out"),
        asm.mov_imm(R1, 2),
        asm.atomic_add(DW, R0, R1, 8),
        asm.label("out"),
        asm.mov_imm(R0, 0),
        asm.exit_(),
    ])
    hashmap.update(5, struct.pack("=QQ", 1, 100))
    with load(insns, ProgramType.SOCKET_FILTER) as prog:
        prog.test_run(PACKET, repeat=250)
    value = hashmap.lookup(5)
    assert isinstance(value, bytes)
    assert struct.unpack("=QQ", value) == (1, 600)


def atomic_prog(array: Map, op: str, size: asm.Size, operand: int, fetch: bool,
                expected: int = 0) -> Instructions:
    """Apply one atomic op to slot 0 of the value; store r2 (fetched) to slot 1, r0 to slot 2."""
    insns = Instructions([asm.ld_map_value(R1, array, 0), asm.ld_imm64(R2, operand),
                          asm.ld_imm64(R0, expected)])
    if op == "xchg":
        insns.append(asm.atomic_xchg(size, R1, R2, 0))
    elif op == "cmpxchg":
        insns.append(asm.atomic_cmpxchg(size, R1, R2, 0))
    else:
        insns.append(getattr(asm, f"atomic_{op}")(size, R1, R2, 0, fetch=fetch))
    insns.extend([asm.stx(DW, R1, R2, 8), asm.stx(DW, R1, R0, 16),
                  asm.mov_imm(R0, 0), asm.exit_()])
    return insns


OLD64 = 0x0123456789ABCDEF
OPERAND = 0xF0F0F0F00FF00FF1


@pytest.mark.parametrize("size", [DW, W], ids=["DW", "W"])
@pytest.mark.parametrize("fetch", [False, True], ids=["plain", "fetch"])
@pytest.mark.parametrize("op", ["add", "and", "or", "xor"])
def test_atomic_alu(array: Map, op: str, fetch: bool, size: asm.Size) -> None:
    """Each op computes what Python computes; FETCH returns the old value; W touches 32 bits."""
    mask = MASK[size]
    write_slots(array, OLD64, 0x5555, 0x6666)
    with load(atomic_prog(array, op, size, OPERAND, fetch)) as prog:
        prog.test_run(PACKET)
    slot0, slot1, _, _ = read_slots(array)
    old = OLD64 & mask
    new = _py(op, old, OPERAND & mask) & mask
    assert slot0 & mask == new
    if size == W:
        assert slot0 >> 32 == OLD64 >> 32        # the high half is untouched
    if fetch:
        assert slot1 == old                      # zero-extended old value
    else:
        assert slot1 == OPERAND                  # r2 unchanged


@pytest.mark.parametrize("size", [DW, W], ids=["DW", "W"])
def test_atomic_xchg(array: Map, size: asm.Size) -> None:
    mask = MASK[size]
    write_slots(array, OLD64)
    with load(atomic_prog(array, "xchg", size, OPERAND, False)) as prog:
        prog.test_run(PACKET)
    slot0, slot1, _, _ = read_slots(array)
    assert slot1 == OLD64 & mask
    assert slot0 == (OLD64 & ~mask) | (OPERAND & mask)


@pytest.mark.parametrize("size", [DW, W], ids=["DW", "W"])
@pytest.mark.parametrize("match", [True, False], ids=["match", "mismatch"])
def test_atomic_cmpxchg(array: Map, size: asm.Size, match: bool) -> None:
    """CMPXCHG stores only when the value equals r0; r0 gets the old value either way."""
    mask = MASK[size]
    expected = OLD64 if match else OLD64 ^ 1
    # for W, the high half of r0 is ignored: only the low 32 bits are compared
    if size == W:
        expected = (expected & mask) | 0xDEAD_0000_0000_0000
    write_slots(array, OLD64)
    with load(atomic_prog(array, "cmpxchg", size, OPERAND, False, expected)) as prog:
        prog.test_run(PACKET)
    slot0, slot1, slot2, _ = read_slots(array)
    assert slot2 == OLD64 & mask                 # r0 = the old value (zero-extended for W)
    assert slot1 == OPERAND                      # r2 untouched
    if match:
        assert slot0 == (OLD64 & ~mask) | (OPERAND & mask)
    else:
        assert slot0 == OLD64


def test_atomic_fetch_add_repeat_returns_last_old(array: Map) -> None:
    write_slots(array, 100)
    with load(atomic_prog(array, "add", DW, 5, True)) as prog:
        prog.test_run(PACKET, repeat=20)
    slot0, slot1, _, _ = read_slots(array)
    assert slot0 == 100 + 5 * 20
    assert slot1 == 100 + 5 * 19


def test_decode_what_we_load_is_what_we_built(array: Map) -> None:
    """A program the kernel does not rewrite reads back as built (labels resolved)."""
    insns = Instructions([asm.mov_imm(R0, 0), asm.jeq_imm(R0, 1, "x"), asm.add_imm(R0, 1),
                          asm.label("x"), asm.exit_()])
    with load(insns, ProgramType.XDP) as prog:
        back = prog.xlated()
    assert back == Instructions.decode(insns.encode())
    assert back[1] == Instruction(0x15, 0, 0, 1, 1)
    assert bpfobj.asm is asm


def jited_ksyms(prog: Program) -> tuple[int, ...]:
    """The program's jited_ksyms, each checked against /proc/kallsyms: the JIT image of
    each function of a program is a ``bpf_prog_<tag>_<name>`` symbol at that address (the
    main function's with the program's tag)."""
    ksyms = prog.jited_ksyms()
    names: dict[int, str] = {}
    with open("/proc/kallsyms") as f:
        for line in f:
            addr, _kind, name = line.split()[:3]
            if name.startswith("bpf_prog_"):
                names[int(addr, 16)] = name
    assert ksyms and all(a in names for a in ksyms), (ksyms, len(names))
    assert names[ksyms[0]].startswith(f"bpf_prog_{prog.info().tag}")
    return ksyms


@pytest.mark.bpftool
def test_local_call_equals_bpftool(bpftool: str) -> None:
    """A BPF-to-BPF call: bpftool names the JIT-compiled target from the program's jited_ksyms."""
    insns = Instructions([
        asm.mov_imm(R1, 5),
        asm.call_local("double"),
        asm.exit_(),
        asm.label("double"),
        asm.mov_reg(R0, R1), asm.add_reg(R0, R1),
        asm.exit_(),
    ])
    with load(insns) as prog:
        assert prog.test_run(PACKET).retval == 10
        want = bpftool_xlated(bpftool, prog)
        ksyms = jited_ksyms(prog)
        got = Instructions.decode(prog.xlated_bytes(), ksyms)
        assert got.jited_ksyms == ksyms
        assert str(got).splitlines() == want
        # xlated() uses Program's own reader of the addresses.
        assert str(prog.xlated()).splitlines() == want
