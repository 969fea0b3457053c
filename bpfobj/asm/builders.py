"""The instruction builders: one function per instruction form, ``asm.mov_imm`` and the rest.

The ALU and jump families are made from tables (``ALU_FAMILIES``, ``JUMP_FAMILIES``:
operation, opcode, operator), four builders per row: ``<op>_imm``, ``<op>_reg``,
``<op>32_imm`` and ``<op>32_reg``; the forms that fit no family (loads, stores,
atomics, calls, byte swaps) are written out. Imports ``opcodes``, ``insn`` and
``_types`` (HelperFunc).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, Union

from bpfobj._types import HelperFunc

from .insn import Instruction
from .opcodes import (
    ABS,
    ADD,
    ALU,
    ALU64,
    ALU_OPS,
    AND,
    ARSH,
    ATOMIC,
    CALL,
    CMPXCHG,
    DIV,
    DW,
    END,
    EXIT,
    FETCH,
    IND,
    JA,
    JEQ,
    JGE,
    JGT,
    JLE,
    JLT,
    JMP,
    JMP32,
    JMP_OPS,
    JNE,
    JSET,
    JSGE,
    JSGT,
    JSLE,
    JSLT,
    LD,
    LD_IMM64,
    LDX,
    LSH,
    MEM,
    MEMSX,
    MOD,
    MOV,
    MUL,
    NEG,
    OR,
    PSEUDO_CALL,
    PSEUDO_FUNC,
    PSEUDO_MAP_FD,
    PSEUDO_MAP_VALUE,
    RSH,
    ST,
    STX,
    SUB,
    TO_BE,
    TO_LE,
    XCHG,
    XOR,
    K,
    Register,
    Size,
    W,
    X,
    s32,
)

RegLike = Union[Register, int]
Target = Union[str, int]


def _reg(r: RegLike, what: str = "register") -> int:
    if isinstance(r, bool) or not isinstance(r, int) or not 0 <= r <= 10:
        raise ValueError(f"{what} {r!r} is not a register R0-R10")
    return int(r)


def _imm32(v: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError(f"immediate {v!r} is not an integer")
    if not -0x80000000 <= v <= 0xFFFFFFFF:
        raise ValueError(f"immediate {v} does not fit 32 bits")
    return s32(v)


def _size(size: Size, what: str) -> int:
    if isinstance(size, bool) or size not in (0x00, 0x08, 0x10, 0x18):
        raise ValueError(f"{what}: size {size!r} is not B, H, W or DW")
    return int(size)


def _alu(cls: int, op: int, src_mode: int, dst: RegLike, src: RegLike = 0, imm: int = 0,
         off: int = 0) -> Instruction:
    return Instruction(cls | op | src_mode, _reg(dst, "dst"),
                       _reg(src, "src") if src_mode == X else 0, off,
                       0 if src_mode == X else _imm32(imm))


# --- the ALU and jump families, from tables ----------------------------------------------

#: (name, opcode) of each ALU operation with the four forms (64/32-bit, imm/reg).
ALU_FAMILIES: tuple[tuple[str, int], ...] = (
    ("add", ADD), ("sub", SUB), ("mul", MUL), ("div", DIV), ("or", OR), ("and", AND),
    ("lsh", LSH), ("rsh", RSH), ("mod", MOD), ("xor", XOR), ("mov", MOV), ("arsh", ARSH),
)

#: (name, opcode) of each conditional jump with the four forms (64/32-bit, imm/reg).
JUMP_FAMILIES: tuple[tuple[str, int], ...] = (
    ("jeq", JEQ), ("jne", JNE), ("jgt", JGT), ("jge", JGE), ("jlt", JLT), ("jle", JLE),
    ("jset", JSET), ("jsgt", JSGT), ("jsge", JSGE), ("jslt", JSLT), ("jsle", JSLE),
)


class AluImm(Protocol):
    def __call__(self, dst: RegLike, imm: int) -> Instruction: ...


class AluReg(Protocol):
    def __call__(self, dst: RegLike, src: RegLike) -> Instruction: ...


class JumpImm(Protocol):
    def __call__(self, dst: RegLike, imm: int, target: Target) -> Instruction: ...


class JumpReg(Protocol):
    def __call__(self, dst: RegLike, src: RegLike, target: Target) -> Instruction: ...


def _named(fn: Callable[..., Instruction], name: str, doc: str) -> None:
    """Give a family member the name, docstring and module of a hand-written builder."""
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    fn.__module__ = "bpfobj.asm"


def _alu_family(op: int) -> tuple[AluImm, AluReg, AluImm, AluReg]:
    """The four builders of ALU operation ``op``: 64-bit imm, 64-bit reg, 32-bit imm, 32-bit reg."""
    name = next(n for n, o in ALU_FAMILIES if o == op)
    sym = ALU_OPS[op]

    def imm64(dst: RegLike, imm: int) -> Instruction:
        return _alu(ALU64, op, K, dst, imm=imm)

    def reg64(dst: RegLike, src: RegLike) -> Instruction:
        return _alu(ALU64, op, X, dst, src)

    def imm32(dst: RegLike, imm: int) -> Instruction:
        return _alu(ALU, op, K, dst, imm=imm)

    def reg32(dst: RegLike, src: RegLike) -> Instruction:
        return _alu(ALU, op, X, dst, src)

    _named(imm64, f"{name}_imm", f"dst {sym} imm (64-bit).")
    _named(reg64, f"{name}_reg", f"dst {sym} src (64-bit).")
    _named(imm32, f"{name}32_imm", f"wdst {sym} imm (32-bit; the upper half of dst is zeroed).")
    _named(reg32, f"{name}32_reg", f"wdst {sym} wsrc (32-bit; the upper half of dst is zeroed).")
    return imm64, reg64, imm32, reg32


def _jump_family(op: int) -> tuple[JumpImm, JumpReg, JumpImm, JumpReg]:
    """The four builders of conditional jump ``op``: 64-bit imm/reg, 32-bit imm/reg compares."""
    name = next(n for n, o in JUMP_FAMILIES if o == op)
    sym = JMP_OPS[op]

    def imm64(dst: RegLike, imm: int, target: Target) -> Instruction:
        return _jump(JMP | op | K, _reg(dst, "dst"), 0, _imm32(imm), target)

    def reg64(dst: RegLike, src: RegLike, target: Target) -> Instruction:
        return _jump(JMP | op | X, _reg(dst, "dst"), _reg(src, "src"), 0, target)

    def imm32(dst: RegLike, imm: int, target: Target) -> Instruction:
        return _jump(JMP32 | op | K, _reg(dst, "dst"), 0, _imm32(imm), target)

    def reg32(dst: RegLike, src: RegLike, target: Target) -> Instruction:
        return _jump(JMP32 | op | X, _reg(dst, "dst"), _reg(src, "src"), 0, target)

    _named(imm64, f"{name}_imm",
           f"if dst {sym} imm goto target (64-bit compare; target: a label or a slot offset).")
    _named(reg64, f"{name}_reg", f"if dst {sym} src goto target (64-bit compare).")
    _named(imm32, f"{name}32_imm", f"if wdst {sym} imm goto target (32-bit compare).")
    _named(reg32, f"{name}32_reg", f"if wdst {sym} wsrc goto target (32-bit compare).")
    return imm64, reg64, imm32, reg32


def _jump(code: int, dst: int, src: int, imm: int, target: Target) -> Instruction:
    if isinstance(target, str):
        return Instruction(code, dst, src, 0, imm, target)
    return Instruction(code, dst, src, _off(target), imm)


# One line per table row: the names stay plain module attributes that type checkers see.
add_imm, add_reg, add32_imm, add32_reg = _alu_family(ADD)
sub_imm, sub_reg, sub32_imm, sub32_reg = _alu_family(SUB)
mul_imm, mul_reg, mul32_imm, mul32_reg = _alu_family(MUL)
div_imm, div_reg, div32_imm, div32_reg = _alu_family(DIV)
or_imm, or_reg, or32_imm, or32_reg = _alu_family(OR)
and_imm, and_reg, and32_imm, and32_reg = _alu_family(AND)
lsh_imm, lsh_reg, lsh32_imm, lsh32_reg = _alu_family(LSH)
rsh_imm, rsh_reg, rsh32_imm, rsh32_reg = _alu_family(RSH)
mod_imm, mod_reg, mod32_imm, mod32_reg = _alu_family(MOD)
xor_imm, xor_reg, xor32_imm, xor32_reg = _alu_family(XOR)
mov_imm, mov_reg, mov32_imm, mov32_reg = _alu_family(MOV)
arsh_imm, arsh_reg, arsh32_imm, arsh32_reg = _alu_family(ARSH)

jeq_imm, jeq_reg, jeq32_imm, jeq32_reg = _jump_family(JEQ)
jne_imm, jne_reg, jne32_imm, jne32_reg = _jump_family(JNE)
jgt_imm, jgt_reg, jgt32_imm, jgt32_reg = _jump_family(JGT)
jge_imm, jge_reg, jge32_imm, jge32_reg = _jump_family(JGE)
jlt_imm, jlt_reg, jlt32_imm, jlt32_reg = _jump_family(JLT)
jle_imm, jle_reg, jle32_imm, jle32_reg = _jump_family(JLE)
jset_imm, jset_reg, jset32_imm, jset32_reg = _jump_family(JSET)
jsgt_imm, jsgt_reg, jsgt32_imm, jsgt32_reg = _jump_family(JSGT)
jsge_imm, jsge_reg, jsge32_imm, jsge32_reg = _jump_family(JSGE)
jslt_imm, jslt_reg, jslt32_imm, jslt32_reg = _jump_family(JSLT)
jsle_imm, jsle_reg, jsle32_imm, jsle32_reg = _jump_family(JSLE)

#: The builder names the families make, in table order.
FAMILY_BUILDERS: tuple[str, ...] = tuple(
    f"{name}{width}_{form}"
    for name, _op in (*ALU_FAMILIES, *JUMP_FAMILIES)
    for width in ("", "32") for form in ("imm", "reg")
)


# --- the other forms --------------------------------------------------------------------

def sdiv_imm(dst: RegLike, imm: int) -> Instruction:
    """dst s/= imm (64-bit signed division; Linux 6.6)."""
    return _alu(ALU64, DIV, K, dst, imm=imm, off=1)


def sdiv_reg(dst: RegLike, src: RegLike) -> Instruction:
    """dst s/= src (64-bit signed division; Linux 6.6)."""
    return _alu(ALU64, DIV, X, dst, src, off=1)


def smod_imm(dst: RegLike, imm: int) -> Instruction:
    """dst s%= imm (64-bit signed modulo; Linux 6.6)."""
    return _alu(ALU64, MOD, K, dst, imm=imm, off=1)


def smod_reg(dst: RegLike, src: RegLike) -> Instruction:
    """dst s%= src (64-bit signed modulo; Linux 6.6)."""
    return _alu(ALU64, MOD, X, dst, src, off=1)


def movsx_reg(dst: RegLike, src: RegLike, bits: int) -> Instruction:
    """dst = (s<bits>)src, sign-extending 8, 16 or 32 bits (Linux 6.6)."""
    if bits not in (8, 16, 32):
        raise ValueError(f"movsx_reg: bits {bits!r} is not 8, 16 or 32")
    return _alu(ALU64, MOV, X, dst, src, off=bits)


def movsx32_reg(dst: RegLike, src: RegLike, bits: int) -> Instruction:
    """wdst = (s<bits>)wsrc, sign-extending 8 or 16 bits (Linux 6.6)."""
    if bits not in (8, 16):
        raise ValueError(f"movsx32_reg: bits {bits!r} is not 8 or 16")
    return _alu(ALU, MOV, X, dst, src, off=bits)


def neg(dst: RegLike) -> Instruction:
    """dst = -dst (64-bit)."""
    return Instruction(ALU64 | NEG, _reg(dst, "dst"))


def neg32(dst: RegLike) -> Instruction:
    """wdst = -wdst (32-bit)."""
    return Instruction(ALU | NEG, _reg(dst, "dst"))


def _bits(bits: int, what: str) -> int:
    if bits not in (16, 32, 64) or isinstance(bits, bool):
        raise ValueError(f"{what}: bits {bits!r} is not 16, 32 or 64")
    return bits


def to_be(dst: RegLike, bits: int) -> Instruction:
    """dst = htobe<bits>(dst): to big endian, upper bits zeroed."""
    return Instruction(ALU | END | TO_BE, _reg(dst, "dst"), imm=_bits(bits, "to_be"))


def to_le(dst: RegLike, bits: int) -> Instruction:
    """dst = htole<bits>(dst): to little endian, upper bits zeroed."""
    return Instruction(ALU | END | TO_LE, _reg(dst, "dst"), imm=_bits(bits, "to_le"))


def bswap(dst: RegLike, bits: int) -> Instruction:
    """dst = bswap<bits>(dst), whatever the host order (Linux 6.6)."""
    return Instruction(ALU64 | END, _reg(dst, "dst"), imm=_bits(bits, "bswap"))


def ld_imm64(dst: RegLike, value: int) -> Instruction:
    """dst = a 64-bit constant (two slots); negative values are taken modulo 2**64."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"ld_imm64: {value!r} is not an integer")
    if not -(1 << 63) <= value < 1 << 64:
        raise ValueError(f"ld_imm64: {value} does not fit 64 bits")
    return Instruction(LD_IMM64, _reg(dst, "dst"), imm=value & 0xFFFFFFFFFFFFFFFF)


def _map_fd(m: object) -> int:
    fd = getattr(m, "fd", m)
    raw = getattr(fd, "raw", fd)
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= 0x7FFFFFFF:
        raise ValueError(f"not a map or a map descriptor: {m!r}")
    return raw


def ld_map_fd(dst: RegLike, map_or_fd: object) -> Instruction:
    """dst = the map (BPF_PSEUDO_MAP_FD): a Map (its descriptor is used) or a raw fd.

    The descriptor must stay open until the program is loaded.
    """
    return Instruction(LD_IMM64, _reg(dst, "dst"), PSEUDO_MAP_FD, imm=_map_fd(map_or_fd))


def ld_map_value(dst: RegLike, map_or_fd: object, off: int = 0) -> Instruction:
    """dst = &value[0] + off of an array map (BPF_PSEUDO_MAP_VALUE): a Map or a raw fd."""
    if isinstance(off, bool) or not isinstance(off, int) or not 0 <= off <= 0x7FFFFFFF:
        raise ValueError(f"ld_map_value: offset {off!r} is not in [0, 2**31)")
    return Instruction(LD_IMM64, _reg(dst, "dst"), PSEUDO_MAP_VALUE,
                       imm=off << 32 | _map_fd(map_or_fd))


def _off(off: int) -> int:
    if isinstance(off, bool) or not isinstance(off, int) or not -0x8000 <= off <= 0x7FFF:
        raise ValueError(f"offset {off!r} does not fit 16 bits")
    return off


def ldx(size: Size, dst: RegLike, src: RegLike, off: int = 0) -> Instruction:
    """dst = *(size *)(src + off)."""
    return Instruction(LDX | MEM | _size(size, "ldx"), _reg(dst, "dst"), _reg(src, "src"),
                       _off(off))


def ldxsx(size: Size, dst: RegLike, src: RegLike, off: int = 0) -> Instruction:
    """dst = *(signed size *)(src + off), sign-extended (B, H, W; Linux 6.6)."""
    if size == DW:
        raise ValueError("ldxsx: size DW has no sign extension")
    return Instruction(LDX | MEMSX | _size(size, "ldxsx"), _reg(dst, "dst"), _reg(src, "src"),
                       _off(off))


def stx(size: Size, dst: RegLike, src: RegLike, off: int = 0) -> Instruction:
    """*(size *)(dst + off) = src."""
    return Instruction(STX | MEM | _size(size, "stx"), _reg(dst, "dst"), _reg(src, "src"),
                       _off(off))


def st(size: Size, dst: RegLike, off: int, imm: int) -> Instruction:
    """*(size *)(dst + off) = imm."""
    return Instruction(ST | MEM | _size(size, "st"), _reg(dst, "dst"), 0, _off(off), _imm32(imm))


def st_imm(size: Size, dst: RegLike, off: int, imm: int) -> Instruction:
    """*(size *)(dst + off) = imm (the same instruction as ``st``)."""
    return st(size, dst, off, imm)


def ld_abs(size: Size, imm: int) -> Instruction:
    """r0 = *(size *)skb[imm] (legacy packet access, socket filters)."""
    if size == DW:
        raise ValueError("ld_abs: size DW is not allowed")
    return Instruction(LD | ABS | _size(size, "ld_abs"), imm=_imm32(imm))


def ld_ind(size: Size, src: RegLike, imm: int) -> Instruction:
    """r0 = *(size *)skb[src + imm] (legacy packet access, socket filters)."""
    if size == DW:
        raise ValueError("ld_ind: size DW is not allowed")
    return Instruction(LD | IND | _size(size, "ld_ind"), 0, _reg(src, "src"), imm=_imm32(imm))


def ja(target: Target) -> Instruction:
    """goto target (a label name or a slot offset)."""
    return _jump(JMP | JA, 0, 0, 0, target)


def gotol(target: Target) -> Instruction:
    """goto target with a 32-bit offset (JMP32 | JA; Linux 6.6)."""
    if isinstance(target, str):
        return Instruction(JMP32 | JA, target=target)
    return Instruction(JMP32 | JA, imm=_imm32(target))


def _helper_id(helper: HelperFunc | str | int) -> int:
    if isinstance(helper, bool):
        raise TypeError("call(): a helper is a HelperFunc, a name or an int, not a bool")
    if isinstance(helper, str):
        name = helper[4:] if helper.startswith("bpf_") else helper
        try:
            return int(HelperFunc[name])
        except KeyError:
            raise ValueError(f"call(): unknown helper {helper!r}") from None
    if isinstance(helper, int):
        if not -0x80000000 <= int(helper) <= 0x7FFFFFFF:
            raise ValueError(f"call(): helper id {helper} is not a 32-bit integer")
        return int(helper)
    raise TypeError("call(): a helper is a HelperFunc, a name or an int, "
                    f"not {type(helper).__name__}")


def call(helper: HelperFunc | str | int) -> Instruction:
    """Call a helper: a HelperFunc, its name (``"map_lookup_elem"`` or ``"bpf_..."``) or its id.

    Raises:
        ValueError: an unknown helper name.
    """
    return Instruction(JMP | CALL, imm=_helper_id(helper))


def call_local(target: Target) -> Instruction:
    """Call a BPF subprogram at a label (or a slot offset) (BPF_PSEUDO_CALL)."""
    if isinstance(target, str):
        return Instruction(JMP | CALL, src=PSEUDO_CALL, target=target)
    return Instruction(JMP | CALL, src=PSEUDO_CALL, imm=_imm32(target))


def ld_func(dst: RegLike, target: Target) -> Instruction:
    """dst = the address of a subprogram at a label or a slot offset (BPF_PSEUDO_FUNC).

    For helpers that take a callback (``bpf_loop``, ``bpf_for_each_map_elem``...).
    """
    if isinstance(target, str):
        return Instruction(LD_IMM64, _reg(dst, "dst"), PSEUDO_FUNC, target=target)
    return Instruction(LD_IMM64, _reg(dst, "dst"), PSEUDO_FUNC,
                       imm=_imm32(target) & 0xFFFFFFFF)


def exit_() -> Instruction:
    """Return r0 to the caller."""
    return Instruction(JMP | EXIT)


def _atomic(what: str, size: Size, dst: RegLike, src: RegLike, off: int, imm: int) -> Instruction:
    if isinstance(size, bool) or size not in (W, DW):
        raise ValueError(f"{what}: size {size!r} is not W or DW")
    return Instruction(STX | ATOMIC | int(size), _reg(dst, "dst"), _reg(src, "src"), _off(off), imm)


def atomic_add(size: Size, dst: RegLike, src: RegLike, off: int = 0,
               fetch: bool = False) -> Instruction:
    """*(size *)(dst + off) += src, atomically; with ``fetch``, src = the old value."""
    return _atomic("atomic_add", size, dst, src, off, ADD | (FETCH if fetch else 0))


def atomic_and(size: Size, dst: RegLike, src: RegLike, off: int = 0,
               fetch: bool = False) -> Instruction:
    """*(size *)(dst + off) &= src, atomically; with ``fetch``, src = the old value."""
    return _atomic("atomic_and", size, dst, src, off, AND | (FETCH if fetch else 0))


def atomic_or(size: Size, dst: RegLike, src: RegLike, off: int = 0,
              fetch: bool = False) -> Instruction:
    """*(size *)(dst + off) |= src, atomically; with ``fetch``, src = the old value."""
    return _atomic("atomic_or", size, dst, src, off, OR | (FETCH if fetch else 0))


def atomic_xor(size: Size, dst: RegLike, src: RegLike, off: int = 0,
               fetch: bool = False) -> Instruction:
    """*(size *)(dst + off) ^= src, atomically; with ``fetch``, src = the old value."""
    return _atomic("atomic_xor", size, dst, src, off, XOR | (FETCH if fetch else 0))


def atomic_xchg(size: Size, dst: RegLike, src: RegLike, off: int = 0) -> Instruction:
    """Swap src and *(size *)(dst + off) atomically."""
    return _atomic("atomic_xchg", size, dst, src, off, XCHG)


def atomic_cmpxchg(size: Size, dst: RegLike, src: RegLike, off: int = 0) -> Instruction:
    """If *(size *)(dst + off) == r0 then store src; r0 = the old value, atomically."""
    return _atomic("atomic_cmpxchg", size, dst, src, off, CMPXCHG)
