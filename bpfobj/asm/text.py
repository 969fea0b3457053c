"""The text forms of eBPF instructions: what the kernel's disassembler and bpftool print.

Owns ``render`` (one instruction as ``(b7) r0 = 0``) and the naming of calls: a helper
by its HelperFunc id, a translated call by the kernel symbol at ``__bpf_call_base`` +
imm, a BPF-to-BPF call by the program's ``jited_ksyms``. Imports ``opcodes``,
``_types`` (HelperFunc) and ``_internal.linux`` (kallsyms, read once and lazily).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bpfobj._internal import linux
from bpfobj._types import HelperFunc

from .opcodes import (
    ABS,
    ADD,
    ALU,
    ALU64,
    ALU_OPS,
    ALU_SIGNED,
    AND,
    ATOMIC,
    ATOMIC_ALU,
    CALL,
    CMPXCHG,
    DW,
    END,
    EXIT,
    FETCH,
    IND,
    JA,
    JCOND,
    JMP,
    JMP32,
    JMP_OPS,
    LD,
    LD_IMM64,
    LDST,
    LDSX,
    LDX,
    LOAD_ACQ,
    MAY_GOTO,
    MEM,
    MEMSX,
    MOV,
    NEG,
    OR,
    PSEUDO_CALL,
    PSEUDO_FUNC,
    PSEUDO_MAP_FD,
    PSEUDO_MAP_IDX_VALUE,
    PSEUDO_MAP_VALUE,
    ST,
    STORE_REL,
    STX,
    XCHG,
    XOR,
    X,
    s32,
)

if TYPE_CHECKING:
    from .insn import Instruction

__all__ = ["render"]


def render(insn: Instruction, jited_ksyms: Sequence[int] = ()) -> str:
    """The instruction as the kernel's disassembler prints it, opcode prefix included."""
    code, cls, op = insn.opcode, insn.opcode & 0x07, insn.opcode & 0xF0
    d, s, off, imm = insn.dst, insn.src, insn.off, insn.imm
    p = f"({code:02x}) "
    bad = p + "invalid"
    mode, size = code & 0xE0, code & 0x18
    if cls in (ALU, ALU64):
        w = "w" if cls == ALU else "r"
        if op == END:
            if cls == ALU64:
                if code & X or imm not in (16, 32, 64):
                    return bad
                return p + f"r{d} = bswap{imm} r{d}"
            if imm not in (16, 32, 64):
                return bad
            return p + f"r{d} = {'be' if code & X else 'le'}{imm} r{d}"
        if op == NEG:
            return bad if code & X else p + f"{w}{d} = -{w}{d}"
        if op not in ALU_OPS:
            return bad
        if code == ALU64 | MOV | X and off == 1:
            return p + f"r{d} = addr_space_cast(r{s}, {imm >> 16 & 0xFFFF}, {imm & 0xFFFF})"
        if code == ALU64 | MOV | X and off == -1:
            return p + f"r{d} = &(void __percpu *)(r{s})"
        sign = off == 1 and op in ALU_SIGNED
        name = ALU_SIGNED[op] if sign else ALU_OPS[op]
        if code & X:
            movsx = f"(s{off})" if op == MOV and off in (8, 16, 32) else ""
            return p + f"{w}{d} {name} {movsx}{w}{s}"
        return p + f"{w}{d} {name} {imm}"
    if cls == STX:
        sz = LDST[size]
        if mode == MEM:
            return p + f"*({sz} *)(r{d} {off:+d}) = r{s}"
        if mode != ATOMIC:
            return bad
        bits = "64" if size == DW else ""
        if imm in (ADD, AND, OR, XOR):
            return p + f"lock *({sz} *)(r{d} {off:+d}) {ALU_OPS[imm]} r{s}"
        if imm & ~0xF0 == FETCH and imm & 0xF0 in ATOMIC_ALU:
            return (p + f"r{s} = atomic{bits}_fetch_{ATOMIC_ALU[imm & 0xF0]}"
                    f"(({sz} *)(r{d} {off:+d}), r{s})")
        if imm == CMPXCHG:
            return p + f"r0 = atomic{bits}_cmpxchg(({sz} *)(r{d} {off:+d}), r0, r{s})"
        if imm == XCHG:
            return p + f"r{s} = atomic{bits}_xchg(({sz} *)(r{d} {off:+d}), r{s})"
        if imm == LOAD_ACQ:
            return p + f"r{d} = load_acquire(({sz} *)(r{s} {off:+d}))"
        if imm == STORE_REL:
            return p + f"store_release(({sz} *)(r{d} {off:+d}), r{s})"
        return bad
    if cls == ST:
        if mode == MEM:
            return p + f"*({LDST[size]} *)(r{d} {off:+d}) = {imm}"
        if mode == ATOMIC:
            return p + "nospec"
        return bad
    if cls == LDX:
        if mode not in (MEM, MEMSX):
            return bad
        sz = LDST[size] if mode == MEM else LDSX[size]
        return p + f"r{d} = *({sz} *)(r{s} {off:+d})"
    if cls == LD:
        if mode == ABS:
            return p + f"r0 = *({LDST[size]} *)skb[{imm}]"
        if mode == IND:
            return p + f"r0 = *({LDST[size]} *)skb[r{s} + {imm}]"
        if code == LD_IMM64:
            return p + f"r{d} = {_imm64_text(insn)}"
        return bad
    # JMP, JMP32
    where = f"pc{off:+d}" if insn.target is None else insn.target
    if op == CALL:
        if cls == JMP32:
            return bad
        if s == PSEUDO_CALL:
            if insn.target is not None:
                return p + f"call {insn.target}"
            return p + f"call pc{_local_call_name(imm, jited_ksyms)}"
        return p + f"call {_call_name(imm, s)}#{imm}"
    if code == JMP | JA:
        return p + f"goto {where}"
    if code == JMP | JCOND:
        return p + f"may_goto {where}" if s == MAY_GOTO else bad
    if code == JMP32 | JA:
        return p + (f"gotol pc{imm:+d}" if insn.target is None else f"gotol {insn.target}")
    if code == JMP | EXIT:
        return p + "exit"
    if op not in JMP_OPS:
        return bad
    w = "w" if cls == JMP32 else "r"
    if code & X:
        return p + f"if {w}{d} {JMP_OPS[op]} {w}{s} goto {where}"
    return p + f"if {w}{d} {JMP_OPS[op]} {imm & 0xFFFFFFFF:#x} goto {where}"


def _imm64_text(insn: Instruction) -> str:
    lo, hi = s32(insn.imm), s32(insn.imm >> 32)
    if insn.target is not None and insn.src == PSEUDO_FUNC:
        return f"subprog[{insn.target}]"
    if insn.src == PSEUDO_MAP_FD:
        return f"map[id:{lo}]"
    if insn.src == PSEUDO_MAP_VALUE:
        return f"map[id:{lo}][0]+{hi}"
    if insn.src == PSEUDO_MAP_IDX_VALUE:
        return f"map[idx:{lo}]+{hi}"
    if insn.src == PSEUDO_FUNC:
        return f"subprog[{lo:+d}]"
    return f"{insn.imm:#x}"


def _call_name(imm: int, src: int) -> str:
    """How bpftool names a call: a helper by id, else the kernel symbol at __bpf_call_base + imm.

    The verifier rewrites a helper call's imm into the distance from
    ``__bpf_call_base`` to the function; bpftool looks that address up in
    /proc/kallsyms and prints its address in hex when no symbol is there.
    """
    if src == 0 and 0 <= imm:
        try:
            return f"bpf_{HelperFunc(imm).name}"
        except ValueError:
            pass
    base, syms = linux.kallsyms()
    addr = (base + imm) & 0xFFFFFFFFFFFFFFFF
    name = syms.get(addr)
    return name if name is not None else f"{addr:#x}"


def _local_call_name(imm: int, jited_ksyms: Sequence[int]) -> str:
    """bpftool's name for a BPF-to-BPF call: ``+1`` alone, or ``+1#<symbol>`` once JIT-compiled.

    bpftool indexes the program's jited_ksyms with the call's imm when it is
    below their count, else takes __bpf_call_base + imm, and looks the address
    up in /proc/kallsyms (hex when no symbol is there). An interpreted program
    (no jited_ksyms) gets the bare offset.
    """
    if not jited_ksyms:
        return f"{imm:+d}"
    base, syms = linux.kallsyms()
    if 0 <= imm < len(jited_ksyms):
        addr = jited_ksyms[imm]
    else:
        addr = (base + imm) & 0xFFFFFFFFFFFFFFFF
    name = syms.get(addr)
    if name is None and syms:
        # a program's JIT-compiled functions appear in kallsyms as it loads: read again
        name = linux.kallsyms(refresh=True).names.get(addr)
    return f"{imm:+d}#{name}" if name is not None else f"{imm:+d}#{addr:#x}"
