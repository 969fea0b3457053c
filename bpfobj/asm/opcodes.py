"""eBPF opcode fields, registers, access sizes and the operator tables of the text forms.

Owns the constants of include/uapi/linux/bpf_common.h and the BPF_PSEUDO_* values
(taken from ``_internal.consts``, generated from cdefs/bpf.h), ``Register`` and
``Size``. Imports only ``_internal.consts``: no compiled module.
"""

from __future__ import annotations

import enum

from bpfobj._internal import consts as _k

__all__ = [
    "R0", "R1", "R2", "R3", "R4", "R5", "R6", "R7", "R8", "R9", "R10", "FP",
    "B", "H", "W", "DW", "Register", "Size",
    "PSEUDO_MAP_FD", "PSEUDO_MAP_VALUE", "PSEUDO_BTF_ID", "PSEUDO_FUNC", "PSEUDO_MAP_IDX",
    "PSEUDO_MAP_IDX_VALUE", "PSEUDO_CALL", "PSEUDO_KFUNC_CALL",
]

# --- opcode fields (include/uapi/linux/bpf_common.h, bpf.h) ----------------------------

LD, LDX, ST, STX, ALU, JMP, JMP32, ALU64 = range(8)
K, X = 0x00, 0x08
IMM, ABS, IND, MEM, MEMSX, ATOMIC = 0x00, 0x20, 0x40, 0x60, 0x80, 0xC0
ADD, SUB, MUL, DIV, OR, AND, LSH, RSH, NEG, MOD, XOR, MOV, ARSH, END = (
    0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0x90, 0xA0, 0xB0, 0xC0, 0xD0)
JA, JEQ, JGT, JGE, JSET, JNE, JSGT, JSGE, CALL, EXIT, JLT, JLE, JSLT, JSLE, JCOND = (
    0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0x90, 0xA0, 0xB0, 0xC0, 0xD0, 0xE0)
TO_LE, TO_BE = 0x00, 0x08
FETCH, XCHG, CMPXCHG = 0x01, 0xE0 | 0x01, 0xF0 | 0x01
LOAD_ACQ, STORE_REL = 0x100, 0x110

#: ld_imm64 src_reg values (BPF_PSEUDO_*).
PSEUDO_MAP_FD = _k.BPF_PSEUDO_MAP_FD
PSEUDO_MAP_VALUE = _k.BPF_PSEUDO_MAP_VALUE
PSEUDO_BTF_ID = _k.BPF_PSEUDO_BTF_ID
PSEUDO_FUNC = _k.BPF_PSEUDO_FUNC
PSEUDO_MAP_IDX = _k.BPF_PSEUDO_MAP_IDX
PSEUDO_MAP_IDX_VALUE = _k.BPF_PSEUDO_MAP_IDX_VALUE
#: call src_reg values.
PSEUDO_CALL = _k.BPF_PSEUDO_CALL
PSEUDO_KFUNC_CALL = _k.BPF_PSEUDO_KFUNC_CALL
MAY_GOTO = 0
LD_IMM64 = LD | IMM | 0x18


class Register(enum.IntEnum):
    """The eleven registers; R10 (also FP) is the read-only frame pointer."""

    R0 = 0
    R1 = 1
    R2 = 2
    R3 = 3
    R4 = 4
    R5 = 5
    R6 = 6
    R7 = 7
    R8 = 8
    R9 = 9
    R10 = 10

    def __str__(self) -> str:
        return f"r{int(self)}"


R0, R1, R2, R3 = Register.R0, Register.R1, Register.R2, Register.R3
R4, R5, R6, R7 = Register.R4, Register.R5, Register.R6, Register.R7
R8, R9, R10 = Register.R8, Register.R9, Register.R10
FP = R10


class Size(enum.IntEnum):
    """Memory access sizes (the BPF_SIZE field): 1, 2, 4 and 8 bytes."""

    W = 0x00
    H = 0x08
    B = 0x10
    DW = 0x18

    @property
    def nbytes(self) -> int:
        """The access width in bytes."""
        return {0x00: 4, 0x08: 2, 0x10: 1, 0x18: 8}[int(self)]


B, H, W, DW = Size.B, Size.H, Size.W, Size.DW

#: The text forms' operators: what the kernel's disassembler prints for each operation.
LDST = {0x00: "u32", 0x08: "u16", 0x10: "u8", 0x18: "u64"}
LDSX = {0x00: "s32", 0x08: "s16", 0x10: "s8", 0x18: "s64"}
ALU_OPS = {ADD: "+=", SUB: "-=", MUL: "*=", DIV: "/=", OR: "|=", AND: "&=", LSH: "<<=",
           RSH: ">>=", MOD: "%=", XOR: "^=", MOV: "=", ARSH: "s>>="}
ALU_SIGNED = {DIV: "s/=", MOD: "s%="}
JMP_OPS = {JEQ: "==", JGT: ">", JGE: ">=", JSET: "&", JNE: "!=", JSGT: "s>", JSGE: "s>=",
           JLT: "<", JLE: "<=", JSLT: "s<", JSLE: "s<="}
ATOMIC_ALU = {ADD: "add", AND: "and", OR: "or", XOR: "xor"}


def s32(v: int) -> int:
    """The low 32 bits of ``v`` as a signed integer."""
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v
