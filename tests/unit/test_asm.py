"""Unit tests for bpfobj.asm: encoding, decoding, labels, errors and text (no kernel, no root)."""

from __future__ import annotations

import inspect
import struct
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bpfobj import HelperFunc, asm
from bpfobj.asm import (
    DW,
    FP,
    R0,
    R1,
    R2,
    R3,
    R10,
    B,
    H,
    Instruction,
    Instructions,
    Label,
    W,
    builders,
    opcodes,
)

LITTLE = sys.byteorder == "little"


def slot(code: int, dst: int, src: int, off: int, imm: int) -> bytes:
    regs = (src << 4 | dst) if LITTLE else (dst << 4 | src)
    return struct.pack("=BBhi", code, regs, off, imm)


# --- encoding of single instructions -----------------------------------------------------


@pytest.mark.parametrize(("insn", "code", "dst", "src", "off", "imm"), [
    (asm.mov_imm(R0, 0), 0xB7, 0, 0, 0, 0),
    (asm.mov32_imm(R1, -1), 0xB4, 1, 0, 0, -1),
    (asm.mov32_imm(R1, 0xFFFFFFFF), 0xB4, 1, 0, 0, -1),
    (asm.mov_reg(R1, R10), 0xBF, 1, 10, 0, 0),
    (asm.add_imm(R1, -8), 0x07, 1, 0, 0, -8),
    (asm.add32_imm(R0, 1), 0x04, 0, 0, 0, 1),
    (asm.add32_reg(R0, R2), 0x0C, 0, 2, 0, 0),
    (asm.sub_reg(R0, R2), 0x1F, 0, 2, 0, 0),
    (asm.mul_imm(R0, 3), 0x27, 0, 0, 0, 3),
    (asm.div32_reg(R0, R1), 0x3C, 0, 1, 0, 0),
    (asm.or_imm(R0, 1), 0x47, 0, 0, 0, 1),
    (asm.and32_imm(R0, 1), 0x54, 0, 0, 0, 1),
    (asm.lsh_imm(R0, 3), 0x67, 0, 0, 0, 3),
    (asm.rsh32_reg(R0, R1), 0x7C, 0, 1, 0, 0),
    (asm.neg(R0), 0x87, 0, 0, 0, 0),
    (asm.neg32(R2), 0x84, 2, 0, 0, 0),
    (asm.mod_imm(R0, 7), 0x97, 0, 0, 0, 7),
    (asm.xor32_reg(R0, R0), 0xAC, 0, 0, 0, 0),
    (asm.arsh_imm(R0, 2), 0xC7, 0, 0, 0, 2),
    (asm.sdiv_imm(R0, 3), 0x37, 0, 0, 1, 3),
    (asm.smod_reg(R0, R1), 0x9F, 0, 1, 1, 0),
    (asm.movsx_reg(R0, R1, 16), 0xBF, 0, 1, 16, 0),
    (asm.to_be(R0, 16), 0xDC, 0, 0, 0, 16),
    (asm.to_le(R0, 64), 0xD4, 0, 0, 0, 64),
    (asm.bswap(R0, 32), 0xD7, 0, 0, 0, 32),
    (asm.ldx(DW, R0, R1, 8), 0x79, 0, 1, 8, 0),
    (asm.ldx(B, R0, R1, -1), 0x71, 0, 1, -1, 0),
    (asm.ldxsx(H, R0, R1, 2), 0x89, 0, 1, 2, 0),
    (asm.stx(W, FP, R1, -4), 0x63, 10, 1, -4, 0),
    (asm.st(H, R1, 2, -7), 0x6A, 1, 0, 2, -7),
    (asm.ja(3), 0x05, 0, 0, 3, 0),
    (asm.jeq_imm(R0, 0, 1), 0x15, 0, 0, 1, 0),
    (asm.jne32_reg(R0, R1, -2), 0x5E, 0, 1, -2, 0),
    (asm.jsle_imm(R0, -3, 0), 0xD5, 0, 0, 0, -3),
    (asm.jset32_imm(R0, 0x80000000, 0), 0x46, 0, 0, 0, -0x80000000),
    (asm.call(HelperFunc.map_lookup_elem), 0x85, 0, 0, 0, 1),
    (asm.call("map_update_elem"), 0x85, 0, 0, 0, 2),
    (asm.call("bpf_map_delete_elem"), 0x85, 0, 0, 0, 3),
    (asm.call(5), 0x85, 0, 0, 0, 5),
    (asm.exit_(), 0x95, 0, 0, 0, 0),
    (asm.atomic_add(DW, R1, R2, 0), 0xDB, 1, 2, 0, 0x00),
    (asm.atomic_add(W, R1, R2, 4, fetch=True), 0xC3, 1, 2, 4, 0x01),
    (asm.atomic_or(DW, R1, R2), 0xDB, 1, 2, 0, 0x40),
    (asm.atomic_and(DW, R1, R2, fetch=True), 0xDB, 1, 2, 0, 0x51),
    (asm.atomic_xor(W, R1, R2, fetch=True), 0xC3, 1, 2, 0, 0xA1),
    (asm.atomic_xchg(DW, R1, R2), 0xDB, 1, 2, 0, 0xE1),
    (asm.atomic_cmpxchg(W, R1, R2, -8), 0xC3, 1, 2, -8, 0xF1),
])
def test_encode_one(insn: Instruction, code: int, dst: int, src: int, off: int, imm: int) -> None:
    assert insn.encode() == slot(code, dst, src, off, imm)
    assert Instructions.decode(insn.encode()) == [insn]


def test_ld_imm64_two_slots() -> None:
    insn = asm.ld_imm64(R1, 0x1122334455667788)
    assert insn.slots == 2
    assert insn.encode() == slot(0x18, 1, 0, 0, 0x55667788) + slot(0, 0, 0, 0, 0x11223344)
    assert asm.ld_imm64(R1, -1).imm == 2**64 - 1
    assert asm.ld_imm64(R1, -1).encode() == slot(0x18, 1, 0, 0, -1) + slot(0, 0, 0, 0, -1)


class FakeMap:
    """Anything with an ``fd`` whose ``raw`` is the descriptor, as Map has."""

    class _FD:
        raw = 42

    fd = _FD()


def test_map_loads() -> None:
    assert asm.ld_map_fd(R1, 7).encode() == slot(0x18, 1, 1, 0, 7) + slot(0, 0, 0, 0, 0)
    assert asm.ld_map_fd(R1, FakeMap()).encode() == slot(0x18, 1, 1, 0, 42) + slot(0, 0, 0, 0, 0)
    assert asm.ld_map_value(R2, 7, 16).encode() == slot(0x18, 2, 2, 0, 7) + slot(0, 0, 0, 0, 16)
    assert asm.ld_map_value(R2, FakeMap()).text() == "(18) r2 = map[id:42][0]+0"
    with pytest.raises(ValueError):
        asm.ld_map_fd(R1, "x")
    with pytest.raises(ValueError):
        asm.ld_map_value(R1, 3, -1)


# --- text ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("insn", "text"), [
    (asm.mov_imm(R0, 0), "(b7) r0 = 0"),
    (asm.mov_imm(R0, -1), "(b7) r0 = -1"),
    (asm.mov_reg(R1, R10), "(bf) r1 = r10"),
    (asm.add_imm(R1, -8), "(07) r1 += -8"),
    (asm.add32_imm(R0, 1), "(04) w0 += 1"),
    (asm.xor32_reg(R0, R0), "(ac) w0 ^= w0"),
    (asm.arsh32_imm(R0, 2), "(c4) w0 s>>= 2"),
    (asm.neg(R0), "(87) r0 = -r0"),
    (asm.neg32(R0), "(84) w0 = -w0"),
    (asm.to_be(R0, 16), "(dc) r0 = be16 r0"),
    (asm.to_le(R0, 32), "(d4) r0 = le32 r0"),
    (asm.bswap(R0, 64), "(d7) r0 = bswap64 r0"),
    (asm.sdiv_imm(R0, 3), "(37) r0 s/= 3"),
    (asm.smod_reg(R0, R1), "(9f) r0 s%= r1"),
    (asm.movsx_reg(R2, R0, 8), "(bf) r2 = (s8)r0"),
    (asm.movsx32_reg(R2, R0, 16), "(bc) w2 = (s16)w0"),
    (asm.ld_imm64(R3, 0xDEADBEEFCAFE), "(18) r3 = 0xdeadbeefcafe"),
    (asm.ld_imm64(R3, 0), "(18) r3 = 0x0"),
    (asm.ld_map_fd(R1, 12), "(18) r1 = map[id:12]"),
    (asm.ld_map_value(R1, 12, 8), "(18) r1 = map[id:12][0]+8"),
    (asm.ldx(DW, R1, R0, 0), "(79) r1 = *(u64 *)(r0 +0)"),
    (asm.ldxsx(W, R1, R0, -4), "(81) r1 = *(s32 *)(r0 -4)"),
    (asm.stx(DW, R10, R1, -8), "(7b) *(u64 *)(r10 -8) = r1"),
    (asm.st(W, R10, -4, 0), "(62) *(u32 *)(r10 -4) = 0"),
    (asm.st(B, R1, 1, 255), "(72) *(u8 *)(r1 +1) = 255"),
    (asm.ld_abs(B, 12), "(30) r0 = *(u8 *)skb[12]"),
    (asm.ld_ind(H, asm.R6, 2), "(48) r0 = *(u16 *)skb[r6 + 2]"),
    (asm.call(HelperFunc.map_lookup_elem), "(85) call bpf_map_lookup_elem#1"),
    (asm.call_local(3), "(85) call pc+3"),
    (asm.exit_(), "(95) exit"),
    (asm.ja(-1), "(05) goto pc-1"),
    (asm.gotol(70000), "(06) gotol pc+70000"),
    (asm.jeq_imm(R0, 0, 1), "(15) if r0 == 0x0 goto pc+1"),
    (asm.jeq32_imm(R0, -1, 0), "(16) if w0 == 0xffffffff goto pc+0"),
    (asm.jsgt32_reg(R0, R2, 3), "(6e) if w0 s> w2 goto pc+3"),
    (asm.jsle_imm(R0, -3, 3), "(d5) if r0 s<= 0xfffffffd goto pc+3"),
    (asm.jset_reg(R0, R1, 2), "(4d) if r0 & r1 goto pc+2"),
    (asm.jlt_imm(R0, 5, 2), "(a5) if r0 < 0x5 goto pc+2"),
    (asm.atomic_add(DW, R1, R2, 0), "(db) lock *(u64 *)(r1 +0) += r2"),
    (asm.atomic_and(W, R1, R2, 4), "(c3) lock *(u32 *)(r1 +4) &= r2"),
    (asm.atomic_add(DW, R1, R2, 0, fetch=True), "(db) r2 = atomic64_fetch_add((u64 *)(r1 +0), r2)"),
    (asm.atomic_xor(W, R1, R2, 0, fetch=True), "(c3) r2 = atomic_fetch_xor((u32 *)(r1 +0), r2)"),
    (asm.atomic_xchg(DW, R1, R2, -8), "(db) r2 = atomic64_xchg((u64 *)(r1 -8), r2)"),
    (asm.atomic_cmpxchg(DW, R1, R2), "(db) r0 = atomic64_cmpxchg((u64 *)(r1 +0), r0, r2)"),
    (asm.atomic_cmpxchg(W, R1, R2), "(c3) r0 = atomic_cmpxchg((u32 *)(r1 +0), r0, r2)"),
    (Instruction(0xFF), "(ff) invalid"),
    (Instruction(0x8E), "(8e) invalid"),
])
def test_text(insn: Instruction, text: str) -> None:
    assert insn.text() == text
    assert str(insn) == text


def test_format_numbers_slots() -> None:
    insns = Instructions([asm.ld_map_fd(R1, 3), asm.mov_imm(R0, 0), asm.exit_()])
    assert str(insns) == "   0: (18) r1 = map[id:3]\n   2: (b7) r0 = 0\n   3: (95) exit"
    assert insns.format(numbered=False).splitlines() == [str(i) for i in insns]


# --- labels --------------------------------------------------------------------------------


def test_labels_forward_backward_jmp32() -> None:
    insns = Instructions([
        asm.mov_imm(R0, 0),
        asm.label("top"),
        asm.jeq32_imm(R0, 3, "out"),      # slot 1 -> slot 6: 6 - 2 = +4
        asm.ld_imm64(R1, 1),              # slots 2-3
        asm.add32_imm(R0, 1),             # slot 4
        asm.ja("top"),                    # slot 5 -> slot 1: 1 - 6 = -5
        asm.label("out"),
        asm.exit_(),                      # slot 6
    ])
    out = Instructions.decode(insns.encode())
    assert out[1] == Instruction(0x16, 0, 0, 4, 3)
    assert out[4] == Instruction(0x05, 0, 0, -5, 0)
    assert str(insns).splitlines()[1] == "   1: (16) if w0 == 0x3 goto pc+4"
    assert str(insns).splitlines()[4] == "   5: (05) goto pc-5"


def test_label_in_imm_forms() -> None:
    insns = Instructions([asm.call_local("f"), asm.gotol("end"), asm.label("f"),
                          asm.mov_imm(R0, 1), asm.label("end"), asm.exit_()])
    out = Instructions.decode(insns.encode())
    assert out[0] == Instruction(0x85, 0, 1, 0, 1)
    assert out[1] == Instruction(0x06, 0, 0, 0, 1)


def test_label_at_end_and_self_jump() -> None:
    insns = Instructions([asm.label("x"), asm.ja("x"), asm.ja("y"), asm.label("y")])
    assert Instructions.decode(insns.encode()) == [Instruction(0x05, off=-1),
                                                    Instruction(0x05, off=0)]


def test_unresolved_label() -> None:
    insns = Instructions([asm.jeq_imm(R0, 0, "nowhere"), asm.exit_()])
    with pytest.raises(ValueError, match="nowhere"):
        insns.encode()
    first = insns[0]
    assert isinstance(first, Instruction)
    with pytest.raises(ValueError, match="nowhere"):
        first.encode()
    assert "goto nowhere" in str(insns)


def test_duplicate_label() -> None:
    insns = Instructions([asm.label("twice"), asm.exit_(), asm.label("twice"), asm.exit_()])
    with pytest.raises(ValueError, match="twice"):
        insns.encode()


def test_jump_out_of_range() -> None:
    far = Instructions([asm.ja("far")] + [asm.mov_imm(R0, 0)] * 0x8000 + [asm.label("far")])
    with pytest.raises(ValueError, match="far"):
        far.encode()
    near = Instructions([asm.ja("far")] + [asm.mov_imm(R0, 0)] * 0x7FFF + [asm.label("far")])
    assert Instructions.decode(near.encode())[0] == Instruction(0x05, off=0x7FFF)
    with pytest.raises(ValueError):
        asm.ja(0x8000)
    long = Instructions([asm.gotol("far")] + [asm.mov_imm(R0, 0)] * 0x8000 + [asm.label("far")])
    assert Instructions.decode(long.encode())[0] == Instruction(0x06, imm=0x8000)


# --- errors ----------------------------------------------------------------------------------


def test_unknown_helper() -> None:
    with pytest.raises(ValueError, match="no_such_helper"):
        asm.call("no_such_helper")
    with pytest.raises(TypeError):
        asm.call(True)
    with pytest.raises(TypeError):
        asm.call(1.0)  # type: ignore[arg-type]


@pytest.mark.parametrize("make", [
    lambda: asm.mov_imm(11, 0),
    lambda: asm.mov_imm(-1, 0),
    lambda: asm.mov_imm(R0, 2**32),
    lambda: asm.mov_imm(R0, -(2**31) - 1),
    lambda: asm.ldx(3, R0, R1, 0),  # type: ignore[arg-type]
    lambda: asm.ldx(DW, R0, R1, 0x8000),
    lambda: asm.atomic_add(B, R0, R1, 0),
    lambda: asm.atomic_cmpxchg(H, R0, R1, 0),
    lambda: asm.to_be(R0, 8),
    lambda: asm.ld_imm64(R0, 2**64),
    lambda: asm.ldxsx(DW, R0, R1, 0),
    lambda: asm.label(""),
    lambda: Instruction(0x100),
    lambda: Instruction(0xB7, imm=2**31),
    lambda: Instruction(0x18, imm=-1),
])
def test_bad_arguments(make: object) -> None:
    with pytest.raises(ValueError):
        make()  # type: ignore[operator]


def test_list_like() -> None:
    insns = Instructions()
    insns.append(asm.mov_imm(R0, 0))
    insns.extend([asm.label("x"), asm.exit_()])
    assert len(insns) == 3
    assert insns[1] == Label("x")
    assert [type(i) for i in insns] == [Instruction, Label, Instruction]
    with pytest.raises(TypeError):
        insns.append("exit")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Instructions([b"\x95" + bytes(7)])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        insns[0] = 5  # type: ignore[call-overload]
    insns[0] = asm.mov_imm(R0, 1)
    assert insns.encode()[:8] == slot(0xB7, 0, 0, 0, 1)


def test_decode_errors() -> None:
    with pytest.raises(ValueError, match="multiple of 8"):
        Instructions.decode(bytes(7))
    with pytest.raises(ValueError, match="truncated"):
        Instructions.decode(slot(0x18, 1, 0, 0, 0))
    with pytest.raises(ValueError, match="second slot"):
        Instructions.decode(slot(0x18, 1, 0, 0, 0) + slot(0x95, 0, 0, 0, 0))
    with pytest.raises(ValueError):
        Instructions.decode("text")  # type: ignore[arg-type]
    assert Instructions.decode(b"") == []
    assert Instructions.decode(bytearray(asm.exit_().encode())) == [asm.exit_()]


# --- hypothesis ------------------------------------------------------------------------------

regs = st.sampled_from(list(asm.Register))
imm32 = st.integers(-(2**31), 2**31 - 1)
off16 = st.integers(-(2**15), 2**15 - 1)
sizes = st.sampled_from([B, H, W, DW])
ALU = ["add", "sub", "mul", "div", "or", "and", "lsh", "rsh", "mod", "xor", "mov", "arsh"]
JMP = ["jeq", "jne", "jgt", "jge", "jlt", "jle", "jset", "jsgt", "jsge", "jslt", "jsle"]
ATOMIC = ["atomic_add", "atomic_and", "atomic_or", "atomic_xor"]

valid_insns = st.one_of(
    st.builds(lambda n, w, d, i: getattr(asm, f"{n}{w}_imm")(d, i),
              st.sampled_from(ALU), st.sampled_from(["", "32"]), regs, imm32),
    st.builds(lambda n, w, d, s: getattr(asm, f"{n}{w}_reg")(d, s),
              st.sampled_from(ALU), st.sampled_from(["", "32"]), regs, regs),
    st.builds(lambda n, w, d, i, o: getattr(asm, f"{n}{w}_imm")(d, i, o),
              st.sampled_from(JMP), st.sampled_from(["", "32"]), regs, imm32, off16),
    st.builds(lambda n, w, d, s, o: getattr(asm, f"{n}{w}_reg")(d, s, o),
              st.sampled_from(JMP), st.sampled_from(["", "32"]), regs, regs, off16),
    st.builds(asm.neg, regs), st.builds(asm.neg32, regs),
    st.builds(lambda f, d, b: f(d, b), st.sampled_from([asm.to_be, asm.to_le, asm.bswap]), regs,
              st.sampled_from([16, 32, 64])),
    st.builds(asm.ld_imm64, regs, st.integers(-(2**63), 2**64 - 1)),
    st.builds(asm.ld_map_fd, regs, st.integers(0, 2**31 - 1)),
    st.builds(asm.ld_map_value, regs, st.integers(0, 2**31 - 1), st.integers(0, 2**31 - 1)),
    st.builds(asm.ldx, sizes, regs, regs, off16),
    st.builds(asm.stx, sizes, regs, regs, off16),
    st.builds(asm.st, sizes, regs, off16, imm32),
    st.builds(asm.ja, off16),
    st.builds(asm.call, st.sampled_from(list(HelperFunc))),
    st.just(asm.exit_()),
    st.builds(lambda n, s, d, r, o, f: getattr(asm, n)(s, d, r, o, fetch=f),
              st.sampled_from(ATOMIC), st.sampled_from([W, DW]), regs, regs, off16, st.booleans()),
    st.builds(asm.atomic_xchg, st.sampled_from([W, DW]), regs, regs, off16),
    st.builds(asm.atomic_cmpxchg, st.sampled_from([W, DW]), regs, regs, off16),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(valid_insns, max_size=20))
def test_roundtrip_builders(items: list[Instruction]) -> None:
    insns = Instructions(items)
    raw = insns.encode()
    assert len(raw) == 8 * sum(i.slots for i in items)
    back = Instructions.decode(raw)
    assert back == items
    assert back.encode() == raw
    assert str(back) == str(insns)
    for insn in back:
        assert isinstance(insn, Instruction)
        assert not insn.text().endswith(") invalid"), insn


raw_insns = st.builds(
    lambda code, d, s, o, i, hi: Instruction(code, d, s, o, (i & 0xFFFFFFFF) | hi << 32
                                             if code == 0x18 else i),
    st.integers(0, 255), st.integers(0, 15), st.integers(0, 15), off16, imm32,
    st.integers(0, 2**32 - 1))


@settings(max_examples=300, deadline=None)
@given(st.lists(raw_insns, max_size=20))
def test_roundtrip_any_instruction(items: list[Instruction]) -> None:
    back = Instructions.decode(Instructions(items).encode())
    assert back == items
    assert len(str(back).splitlines()) == len(items)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_decode_random_bytes(raw: bytes) -> None:
    try:
        insns = Instructions.decode(raw)
    except ValueError:
        return
    assert insns.encode() == raw
    assert len(str(insns).splitlines()) == len(insns)


def test_ld_func_and_local_call_names() -> None:
    insns = Instructions([asm.ld_func(R2, "cb"), asm.call_local("cb"), asm.exit_(),
                          asm.label("cb"), asm.mov_imm(R0, 0), asm.exit_()])
    out = Instructions.decode(insns.encode())
    assert out[0] == Instruction(0x18, 2, asm.PSEUDO_FUNC, 0, 3)
    assert out[1] == Instruction(0x85, 0, asm.PSEUDO_CALL, 0, 1)
    assert str(out[0]) == "(18) r2 = subprog[+3]"
    back = Instructions([asm.label("cb"), asm.exit_(), asm.ld_func(R1, "cb")])
    assert str(Instructions.decode(back.encode())[1]) == "(18) r1 = subprog[-2]"
    assert asm.ld_func(R1, "cb").text() == "(18) r1 = subprog[cb]"
    # once JIT-compiled, bpftool names the callee from the program's jited_ksyms;
    # an address no symbol has prints in hex
    jitted = Instructions.decode(out.encode(), jited_ksyms=[1, 2])
    assert str(jitted).splitlines()[1] == "   2: (85) call pc+1#0x2"
    assert jitted.jited_ksyms == (1, 2)


def test_st_imm_is_st() -> None:
    assert asm.st_imm(W, FP, -4, 7) == asm.st(W, FP, -4, 7)
    assert asm.st_imm(DW, R1, 8, -1).encode() == slot(0x7A, 1, 0, 8, -1)
    with pytest.raises(ValueError):
        asm.st_imm(DW, R1, 0, 2**32)


@pytest.mark.parametrize(("insn", "bare"), [
    (asm.mov_imm(R0, 0), "r0 = 0"),
    (asm.add32_imm(R0, 1), "w0 += 1"),
    (asm.ldx(DW, R1, R10, -8), "r1 = *(u64 *)(r10 -8)"),
    (asm.stx(W, R10, R1, -4), "*(u32 *)(r10 -4) = r1"),
    (asm.jeq_imm(R0, 0, 1), "if r0 == 0x0 goto pc+1"),
    (asm.ja(2), "goto pc+2"),
    (asm.call("map_lookup_elem"), "call bpf_map_lookup_elem#1"),
    (asm.exit_(), "exit"),
    (asm.ld_map_fd(R1, 12), "r1 = map[id:12]"),
    (asm.atomic_add(DW, R1, R2), "lock *(u64 *)(r1 +0) += r2"),
    (asm.atomic_add(DW, R1, R2, fetch=True), "r2 = atomic64_fetch_add((u64 *)(r1 +0), r2)"),
    (asm.atomic_cmpxchg(DW, R1, R2), "r0 = atomic64_cmpxchg((u64 *)(r1 +0), r0, r2)"),
    (asm.atomic_xchg(DW, R1, R2), "r2 = atomic64_xchg((u64 *)(r1 +0), r2)"),
    (Instruction(0xFF), "invalid"),
])
def test_bare_text(insn: Instruction, bare: str) -> None:
    """Without the opcode: the text of the brief's examples, and the full text ends with it."""
    assert insn.text(opcode=False) == bare
    assert insn.text() == f"({insn.opcode:02x}) {bare}"


def test_format_without_opcode() -> None:
    insns = Instructions([asm.ld_map_fd(R1, 3), asm.label("x"), asm.ja("x"), asm.exit_()])
    assert insns.format(opcode=False) == "   0: r1 = map[id:3]\n   2: goto pc-1\n   3: exit"
    assert insns.format(numbered=False, opcode=False).splitlines() == [
        "r1 = map[id:3]", "goto pc-1", "exit"]


# -- the builder families come from tables; Instructions checks every way in -------------


def test_family_builders_from_the_tables() -> None:
    assert len(builders.FAMILY_BUILDERS) == 4 * (len(builders.ALU_FAMILIES)
                                                 + len(builders.JUMP_FAMILIES)) == 92
    for name in builders.FAMILY_BUILDERS:
        fn = getattr(asm, name)
        assert name in asm.__all__ and fn.__name__ == name and fn.__module__ == "bpfobj.asm"
        assert fn.__doc__
    for name, op in builders.ALU_FAMILIES:
        sym = opcodes.ALU_OPS[op]
        assert getattr(asm, f"{name}_imm")(R1, 7) == Instruction(0x07 | op, 1, 0, 0, 7)
        assert getattr(asm, f"{name}_reg")(R1, R2) == Instruction(0x0F | op, 1, 2)
        assert getattr(asm, f"{name}32_imm")(R1, 7) == Instruction(0x04 | op, 1, 0, 0, 7)
        assert getattr(asm, f"{name}32_reg")(R1, R2) == Instruction(0x0C | op, 1, 2)
        assert str(getattr(asm, f"{name}_imm")(R1, 7)).endswith(f"r1 {sym} 7")
    for name, op in builders.JUMP_FAMILIES:
        assert getattr(asm, f"{name}_imm")(R1, 7, 3) == Instruction(0x05 | op, 1, 0, 3, 7)
        assert getattr(asm, f"{name}_reg")(R1, R2, "x") == Instruction(0x0D | op, 1, 2,
                                                                        target="x")
        assert getattr(asm, f"{name}32_imm")(R1, 7, 3) == Instruction(0x06 | op, 1, 0, 3, 7)
        assert getattr(asm, f"{name}32_reg")(R1, R2, 3) == Instruction(0x0E | op, 1, 2, 3)


def test_family_builders_keep_their_signatures() -> None:
    assert list(inspect.signature(asm.mov_imm).parameters) == ["dst", "imm"]
    assert list(inspect.signature(asm.add32_reg).parameters) == ["dst", "src"]
    assert list(inspect.signature(asm.jeq_imm).parameters) == ["dst", "imm", "target"]
    assert list(inspect.signature(asm.jsle32_reg).parameters) == ["dst", "src", "target"]
    assert asm.mov_imm(dst=R0, imm=1) == asm.mov_imm(R0, 1)
    with pytest.raises(ValueError, match="dst 11 is not a register"):
        asm.add_reg(11, R1)


def test_instructions_is_a_checked_sequence_not_a_list() -> None:
    insns = Instructions([asm.mov_imm(R0, 0)])
    assert not isinstance(insns, list)
    insns += [asm.exit_()]
    assert len(insns) == 2 and insns == [asm.mov_imm(R0, 0), asm.exit_()]
    with pytest.raises(TypeError, match="not int"):
        insns += [5]  # type: ignore[list-item]
    with pytest.raises(TypeError, match="not bytes"):
        insns + [b"\x95"]  # type: ignore[list-item]
    with pytest.raises(TypeError, match="not str"):
        insns.extend(["exit"])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        insns[0:1] = [1]  # type: ignore[list-item]
    assert len(insns) == 2  # a refused item leaves the program as it was
    both = [asm.label("top")] + insns
    assert isinstance(both, Instructions) and both[0] == Label("top") and len(both) == 3
    head = both[:2]
    assert isinstance(head, Instructions) and head == [Label("top"), asm.mov_imm(R0, 0)]
    del both[0]
    assert both == insns and both.encode() == insns.encode()
    assert Instructions.decode(insns.encode(), jited_ksyms=[1])[:1].jited_ksyms == (1,)
    assert repr(insns).startswith("Instructions([Instruction(opcode=183")
