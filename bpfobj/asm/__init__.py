"""eBPF instructions: a builder, an encoder/decoder and the kernel's disassembly text.

Owns ``Instruction``, ``Label``, ``Instructions`` and one builder function per
instruction form (``mov_imm``, ``add32_reg``, ``ldx``, ``jeq_imm``, ``call``,
``atomic_add``, ...). Pure Python: no syscall is made here. Imports only
``_types`` (for ``HelperFunc``); ``/proc/kallsyms`` is read, once and lazily,
to name the helper calls of translated (xlated) programs as bpftool does.

Encoding is the host's byte order, as the kernel expects. A ``ld_imm64``
(and its pseudo forms ``ld_map_fd``/``ld_map_value``) is ONE ``Instruction``
that takes two 8-byte slots; jump offsets given as integers count slots, as
the kernel's do. ``str(Instructions)`` prints one line per instruction in the
text of ``bpftool prog dump xlated``: ``   0: (b7) r0 = 0``.

The text follows the running kernel's disassembler (kernel/bpf/disasm.c) with
bpftool's callbacks: ``map[id:N]`` and ``map[id:N][0]+off`` for map loads,
``subprog[+N]`` for ``ld_func``, a helper call named from the HelperFunc id
(``call bpf_map_lookup_elem#1``) or, in a translated program whose call imm is
the distance from ``__bpf_call_base``, from /proc/kallsyms as bpftool does
(``call __htab_map_lookup_elem#330864``; hex when no symbol is there), and a
BPF-to-BPF call as ``call pc+N`` or, given the program's ``jited_ksyms``,
``call pc+N#bpf_prog_<tag>_<name>``. The instructions of Linux 6.6 (bswap,
sdiv/smod, movsx, sign-extending loads, gotol) print as the kernel prints them
(``(d7) r0 = bswap16 r0``); a bpftool older than those prints ``BUG_...`` there.

Decoding never raises anything but ``ValueError`` (a length that is not a
multiple of 8, a ``ld_imm64`` cut short or whose second slot is not zero
apart from its imm). Any other 8 bytes decode to an ``Instruction``, even
when the opcode is undefined; such an instruction prints as ``(xx) invalid``
(the kernel's disassembler would print a ``BUG_...`` or ``(null)`` text there,
but the verifier never lets an undefined opcode into a loaded program).
"""

from __future__ import annotations

import enum
import struct
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import SupportsIndex, Union, overload

from typing_extensions import Buffer

from bpfobj._types import HelperFunc

__all__ = [
    "R0", "R1", "R2", "R3", "R4", "R5", "R6", "R7", "R8", "R9", "R10", "FP",
    "B", "H", "W", "DW",
    "Register", "Size", "Instruction", "Label", "Instructions", "label",
    "PSEUDO_MAP_FD", "PSEUDO_MAP_VALUE", "PSEUDO_CALL",
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
PSEUDO_MAP_FD, PSEUDO_MAP_VALUE, PSEUDO_BTF_ID, PSEUDO_FUNC = 1, 2, 3, 4
PSEUDO_MAP_IDX, PSEUDO_MAP_IDX_VALUE = 5, 6
#: call src_reg values.
PSEUDO_CALL, PSEUDO_KFUNC_CALL = 1, 2
_MAY_GOTO = 0
_LD_IMM64 = LD | IMM | 0x18


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

_LDST = {0x00: "u32", 0x08: "u16", 0x10: "u8", 0x18: "u64"}
_LDSX = {0x00: "s32", 0x08: "s16", 0x10: "s8", 0x18: "s64"}
_ALU_OPS = {ADD: "+=", SUB: "-=", MUL: "*=", DIV: "/=", OR: "|=", AND: "&=", LSH: "<<=",
            RSH: ">>=", MOD: "%=", XOR: "^=", MOV: "=", ARSH: "s>>="}
_ALU_SIGNED = {DIV: "s/=", MOD: "s%="}
_JMP_OPS = {JEQ: "==", JGT: ">", JGE: ">=", JSET: "&", JNE: "!=", JSGT: "s>", JSGE: "s>=",
            JLT: "<", JLE: "<=", JSLT: "s<", JSLE: "s<="}
_ATOMIC_ALU = {ADD: "add", AND: "and", OR: "or", XOR: "xor"}

_LITTLE = sys.byteorder == "little"
_SLOT = struct.Struct("=BBhi")


def _s32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


# --- instructions -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Instruction:
    """One eBPF instruction: opcode, registers, offset, immediate.

    ``imm`` is a signed 32-bit value, except for ``ld_imm64`` (opcode 0x18),
    which takes two slots and whose ``imm`` is the unsigned 64-bit constant
    (for ``ld_map_value``: map fd or ID in the low half, value offset in the
    high half). ``target`` names the label a jump or local call goes to; it
    replaces ``off`` (or ``imm`` for ``gotol`` and local calls) at encode time.
    """

    opcode: int
    dst: int = 0
    src: int = 0
    off: int = 0
    imm: int = 0
    target: str | None = None

    def __post_init__(self) -> None:
        for name, value, lo, hi in (("opcode", self.opcode, 0, 0xFF), ("dst", self.dst, 0, 15),
                                    ("src", self.src, 0, 15), ("off", self.off, -0x8000, 0x7FFF)):
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                raise ValueError(f"instruction {name} {value!r} is not an integer in [{lo}, {hi}]")
        if isinstance(self.imm, bool) or not isinstance(self.imm, int):
            raise ValueError(f"instruction imm {self.imm!r} is not an integer")
        if self.opcode == _LD_IMM64:
            if not 0 <= self.imm < 1 << 64:
                raise ValueError(f"ld_imm64 constant {self.imm} is not in [0, 2**64)")
        elif not -0x80000000 <= self.imm <= 0x7FFFFFFF:
            raise ValueError(f"instruction imm {self.imm} is not a signed 32-bit integer")
        if self.target is not None and (not isinstance(self.target, str) or not self.target):
            raise ValueError(f"jump target {self.target!r} is not a label name")

    @property
    def slots(self) -> int:
        """How many 8-byte slots the instruction takes (2 for ld_imm64, else 1)."""
        return 2 if self.opcode == _LD_IMM64 else 1

    @property
    def cls(self) -> int:
        """The instruction class (BPF_CLASS: LD, LDX, ST, STX, ALU, JMP, JMP32, ALU64)."""
        return self.opcode & 0x07

    def _target_in_imm(self) -> bool:
        return ((self.opcode == JMP | CALL and self.src == PSEUDO_CALL)
                or self.opcode == JMP32 | JA
                or (self.opcode == _LD_IMM64 and self.src == PSEUDO_FUNC))

    def is_jump(self) -> bool:
        """Whether the instruction jumps to an offset (any ``goto``, ``gotol``, local call)."""
        cls, op = self.cls, self.opcode & 0xF0
        if cls not in (JMP, JMP32):
            return False
        return op not in (CALL, EXIT) or self._target_in_imm()

    def encode(self) -> bytes:
        """The instruction's 8 (or 16) bytes; ValueError when its label is unresolved."""
        if self.target is not None:
            raise ValueError(f"unresolved label {self.target!r}: encode the Instructions")
        regs = (self.src << 4 | self.dst) if _LITTLE else (self.dst << 4 | self.src)
        if self.opcode == _LD_IMM64:
            return (_SLOT.pack(self.opcode, regs, self.off, _s32(self.imm))
                    + _SLOT.pack(0, 0, 0, _s32(self.imm >> 32)))
        return _SLOT.pack(self.opcode, regs, self.off, self.imm)

    # -- text --------------------------------------------------------------------------------

    def text(self, jited_ksyms: Sequence[int] = (), *, opcode: bool = True) -> str:
        """The instruction as the kernel's disassembler (and bpftool) prints it: ``(b7) r0 = 0``.

        ``jited_ksyms`` (the program's ``jited_ksyms`` info: the kernel
        addresses of its JIT-compiled functions) lets a BPF-to-BPF call name
        its target as bpftool does (``call pc+1#bpf_prog_<tag>_<name>``).
        With ``opcode=False`` the ``(b7) `` prefix is left out: ``r0 = 0``.
        """
        text = self._text(jited_ksyms)
        return text if opcode else text[5:]

    def _text(self, jited_ksyms: Sequence[int]) -> str:
        code, cls, op = self.opcode, self.opcode & 0x07, self.opcode & 0xF0
        d, s, off, imm = self.dst, self.src, self.off, self.imm
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
            if op not in _ALU_OPS:
                return bad
            if code == ALU64 | MOV | X and off == 1:
                return p + f"r{d} = addr_space_cast(r{s}, {imm >> 16 & 0xFFFF}, {imm & 0xFFFF})"
            if code == ALU64 | MOV | X and off == -1:
                return p + f"r{d} = &(void __percpu *)(r{s})"
            sign = off == 1 and op in _ALU_SIGNED
            name = _ALU_SIGNED[op] if sign else _ALU_OPS[op]
            if code & X:
                movsx = f"(s{off})" if op == MOV and off in (8, 16, 32) else ""
                return p + f"{w}{d} {name} {movsx}{w}{s}"
            return p + f"{w}{d} {name} {imm}"
        if cls == STX:
            sz = _LDST[size]
            if mode == MEM:
                return p + f"*({sz} *)(r{d} {off:+d}) = r{s}"
            if mode != ATOMIC:
                return bad
            bits = "64" if size == DW else ""
            if imm in (ADD, AND, OR, XOR):
                return p + f"lock *({sz} *)(r{d} {off:+d}) {_ALU_OPS[imm]} r{s}"
            if imm & ~0xF0 == FETCH and imm & 0xF0 in _ATOMIC_ALU:
                return (p + f"r{s} = atomic{bits}_fetch_{_ATOMIC_ALU[imm & 0xF0]}"
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
                return p + f"*({_LDST[size]} *)(r{d} {off:+d}) = {imm}"
            if mode == ATOMIC:
                return p + "nospec"
            return bad
        if cls == LDX:
            if mode not in (MEM, MEMSX):
                return bad
            sz = _LDST[size] if mode == MEM else _LDSX[size]
            return p + f"r{d} = *({sz} *)(r{s} {off:+d})"
        if cls == LD:
            if mode == ABS:
                return p + f"r0 = *({_LDST[size]} *)skb[{imm}]"
            if mode == IND:
                return p + f"r0 = *({_LDST[size]} *)skb[r{s} + {imm}]"
            if code == _LD_IMM64:
                return p + f"r{d} = {self._imm64_text()}"
            return bad
        # JMP, JMP32
        where = f"pc{off:+d}" if self.target is None else self.target
        if op == CALL:
            if cls == JMP32:
                return bad
            if s == PSEUDO_CALL:
                if self.target is not None:
                    return p + f"call {self.target}"
                return p + f"call pc{_local_call_name(imm, jited_ksyms)}"
            return p + f"call {_call_name(imm, s)}#{imm}"
        if code == JMP | JA:
            return p + f"goto {where}"
        if code == JMP | JCOND:
            return p + f"may_goto {where}" if s == _MAY_GOTO else bad
        if code == JMP32 | JA:
            return p + (f"gotol pc{imm:+d}" if self.target is None else f"gotol {self.target}")
        if code == JMP | EXIT:
            return p + "exit"
        if op not in _JMP_OPS:
            return bad
        w = "w" if cls == JMP32 else "r"
        if code & X:
            return p + f"if {w}{d} {_JMP_OPS[op]} {w}{s} goto {where}"
        return p + f"if {w}{d} {_JMP_OPS[op]} {imm & 0xFFFFFFFF:#x} goto {where}"

    def _imm64_text(self) -> str:
        lo, hi = _s32(self.imm), _s32(self.imm >> 32)
        if self.target is not None and self.src == PSEUDO_FUNC:
            return f"subprog[{self.target}]"
        if self.src == PSEUDO_MAP_FD:
            return f"map[id:{lo}]"
        if self.src == PSEUDO_MAP_VALUE:
            return f"map[id:{lo}][0]+{hi}"
        if self.src == PSEUDO_MAP_IDX_VALUE:
            return f"map[idx:{lo}]+{hi}"
        if self.src == PSEUDO_FUNC:
            return f"subprog[{lo:+d}]"
        return f"{self.imm:#x}"

    def __str__(self) -> str:
        return self.text()


@dataclass(frozen=True, slots=True)
class Label:
    """A jump target: marks the position of the next instruction; takes no slot."""

    name: str

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"label name {self.name!r} is not a non-empty string")

    def __str__(self) -> str:
        return f"{self.name}:"


Item = Union[Instruction, Label]


def label(name: str) -> Label:
    """Mark a jump target; jumps name it and are resolved at encode time."""
    return Label(name)


class Instructions(list[Item]):
    """A program: a list of Instruction and Label items.

    ``encode()`` resolves labels; ``decode()`` reads raw bytes back;
    ``str()`` prints as ``bpftool prog dump xlated`` does.
    """

    #: The kernel addresses of the program's JIT-compiled functions, when decoded
    #: from a loaded program with them: used to name BPF-to-BPF calls as bpftool does.
    jited_ksyms: tuple[int, ...]

    def __init__(self, items: Iterable[Item] = (), jited_ksyms: Iterable[int] = ()) -> None:
        super().__init__()
        self.jited_ksyms = tuple(jited_ksyms)
        self.extend(items)

    @staticmethod
    def _check(item: object) -> Item:
        if not isinstance(item, (Instruction, Label)):
            raise TypeError(f"Instructions hold Instruction or Label, not {type(item).__name__}")
        return item

    def append(self, item: Item) -> None:
        """Add one instruction or label at the end."""
        super().append(self._check(item))

    def extend(self, items: Iterable[Item]) -> None:
        """Add instructions or labels at the end."""
        super().extend([self._check(i) for i in items])

    def insert(self, index: SupportsIndex, item: Item) -> None:
        """Insert one instruction or label."""
        super().insert(index, self._check(item))

    @overload
    def __setitem__(self, index: SupportsIndex, item: Item) -> None: ...
    @overload
    def __setitem__(self, index: slice, item: Iterable[Item]) -> None: ...

    def __setitem__(self, index: SupportsIndex | slice, item: object) -> None:
        if isinstance(index, slice):
            super().__setitem__(index, [self._check(i) for i in item])  # type: ignore[attr-defined]
        else:
            super().__setitem__(index, self._check(item))

    def labels(self) -> dict[str, int]:
        """Map each label to the slot it marks (ValueError on a duplicate label)."""
        slot = 0
        found: dict[str, int] = {}
        for item in self:
            if isinstance(item, Label):
                if item.name in found:
                    raise ValueError(f"duplicate label {item.name!r}")
                found[item.name] = slot
            else:
                slot += item.slots
        return found

    def resolved(self, strict: bool = True) -> list[tuple[int, Instruction]]:
        """Every instruction with its slot number, jump labels turned into offsets.

        Raises:
            ValueError: a duplicate label, an unresolved label (when ``strict``)
                or an offset out of range for its field.
        """
        names = self.labels()
        out: list[tuple[int, Instruction]] = []
        slot = 0
        for item in self:
            if isinstance(item, Label):
                continue
            insn = item
            if insn.target is not None:
                if insn.target not in names:
                    if strict:
                        raise ValueError(f"unresolved label {insn.target!r} at instruction {slot}")
                    out.append((slot, insn))
                    slot += insn.slots
                    continue
                delta = names[insn.target] - (slot + 1)
                if insn._target_in_imm():
                    if not -0x80000000 <= delta <= 0x7FFFFFFF:
                        raise ValueError(f"jump to label {insn.target!r} at instruction {slot}: "
                                         f"offset {delta} out of range")
                    if insn.opcode == _LD_IMM64:   # ld_func: the offset in the low half
                        delta &= 0xFFFFFFFF
                    insn = replace(insn, imm=delta, target=None)
                else:
                    if not -0x8000 <= delta <= 0x7FFF:
                        raise ValueError(f"jump to label {insn.target!r} at instruction {slot}: "
                                         f"offset {delta} does not fit 16 bits")
                    insn = replace(insn, off=delta, target=None)
            out.append((slot, insn))
            slot += insn.slots
        return out

    def encode(self) -> bytes:
        """The program's bytes, labels resolved (ValueError on a label problem)."""
        return b"".join(insn.encode() for _, insn in self.resolved())

    @classmethod
    def decode(cls, raw: Buffer, jited_ksyms: Iterable[int] = ()) -> Instructions:
        """Read encoded instructions (host byte order) back.

        ``jited_ksyms``: see ``Instructions.jited_ksyms``.

        Raises:
            ValueError: the length is not a multiple of 8, or a ld_imm64 is
                truncated or has a malformed second slot.
        """
        try:
            data = memoryview(raw).cast("B")
        except TypeError as exc:
            raise ValueError(f"cannot decode {type(raw).__name__}: not bytes-like") from exc
        if len(data) % 8:
            raise ValueError(f"instructions: {len(data)} bytes is not a multiple of 8")
        out = cls(jited_ksyms=jited_ksyms)
        n = len(data) // 8
        i = 0
        while i < n:
            code, regs, off, imm = _SLOT.unpack_from(data, i * 8)
            dst, src = (regs & 0xF, regs >> 4) if _LITTLE else (regs >> 4, regs & 0xF)
            if code == _LD_IMM64:
                if i + 1 >= n:
                    raise ValueError(f"instruction {i}: ld_imm64 is truncated (no second slot)")
                code2, regs2, off2, imm2 = _SLOT.unpack_from(data, i * 8 + 8)
                if code2 or regs2 or off2:
                    raise ValueError(f"instruction {i}: ld_imm64's second slot must be zero "
                                     "apart from its imm")
                imm = (imm2 & 0xFFFFFFFF) << 32 | (imm & 0xFFFFFFFF)
                out.append(Instruction(code, dst, src, off, imm))
                i += 2
            else:
                out.append(Instruction(code, dst, src, off, imm))
                i += 1
        return out

    def format(self, numbered: bool = True, opcode: bool = True) -> str:
        """One line per instruction; ``numbered`` prefixes bpftool's ``%4d: `` slot number.

        ``opcode=False`` leaves out each line's ``(xx) `` opcode, as
        ``Instruction.text(opcode=False)`` does.

        Labels are resolved where they can be (an unresolved one prints by
        name) and take no line.
        """
        lines = []
        for slot, insn in self.resolved(strict=False):
            text = insn.text(self.jited_ksyms, opcode=opcode)
            lines.append(f"{slot:4d}: {text}" if numbered else text)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()

    def __repr__(self) -> str:
        return f"Instructions({list.__repr__(self)})"


# --- helper names ---------------------------------------------------------------------------

_KALLSYMS: tuple[int, dict[int, str]] | None = None


def _kallsyms(refresh: bool = False) -> tuple[int, dict[int, str]]:
    """__bpf_call_base's address and the kernel's symbols by address (read once, or again)."""
    global _KALLSYMS
    if _KALLSYMS is None or refresh:
        base = 0
        syms: dict[int, str] = {}
        try:
            with open("/proc/kallsyms", "rb") as f:
                for line in f:
                    parts = line.split()
                    if len(parts) < 3:
                        continue
                    addr = int(parts[0], 16)
                    name = parts[2].decode("ascii", "replace")
                    if name == "__bpf_call_base":
                        base = addr
                    syms.setdefault(addr, name)
        except (OSError, ValueError):
            base, syms = 0, {}
        if not base:
            syms = {}
        _KALLSYMS = (base, syms)
    return _KALLSYMS


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
    base, syms = _kallsyms()
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
    base, syms = _kallsyms()
    if 0 <= imm < len(jited_ksyms):
        addr = jited_ksyms[imm]
    else:
        addr = (base + imm) & 0xFFFFFFFFFFFFFFFF
    name = syms.get(addr)
    if name is None and syms:
        # a program's JIT-compiled functions appear in kallsyms as it loads: read again
        name = _kallsyms(refresh=True)[1].get(addr)
    return f"{imm:+d}#{name}" if name is not None else f"{imm:+d}#{addr:#x}"


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


# --- builders -------------------------------------------------------------------------------

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
    return _s32(v)


def _size(size: Size, what: str) -> int:
    if isinstance(size, bool) or size not in (0x00, 0x08, 0x10, 0x18):
        raise ValueError(f"{what}: size {size!r} is not B, H, W or DW")
    return int(size)


def _alu(cls: int, op: int, src_mode: int, dst: RegLike, src: RegLike = 0, imm: int = 0,
         off: int = 0) -> Instruction:
    return Instruction(cls | op | src_mode, _reg(dst, "dst"),
                       _reg(src, "src") if src_mode == X else 0, off,
                       0 if src_mode == X else _imm32(imm))


def add_imm(dst: RegLike, imm: int) -> Instruction:
    """dst += imm (64-bit)."""
    return _alu(ALU64, ADD, K, dst, imm=imm)


def add_reg(dst: RegLike, src: RegLike) -> Instruction:
    """dst += src (64-bit)."""
    return _alu(ALU64, ADD, X, dst, src)


def add32_imm(dst: RegLike, imm: int) -> Instruction:
    """wdst += imm (32-bit; the upper half of dst is zeroed)."""
    return _alu(ALU, ADD, K, dst, imm=imm)


def add32_reg(dst: RegLike, src: RegLike) -> Instruction:
    """wdst += wsrc (32-bit)."""
    return _alu(ALU, ADD, X, dst, src)



def sub_imm(dst: RegLike, imm: int) -> Instruction:
    """dst -= imm (64-bit)."""
    return _alu(ALU64, SUB, K, dst, imm=imm)


def sub_reg(dst: RegLike, src: RegLike) -> Instruction:
    """dst -= src (64-bit)."""
    return _alu(ALU64, SUB, X, dst, src)


def sub32_imm(dst: RegLike, imm: int) -> Instruction:
    """wdst -= imm (32-bit; the upper half of dst is zeroed)."""
    return _alu(ALU, SUB, K, dst, imm=imm)


def sub32_reg(dst: RegLike, src: RegLike) -> Instruction:
    """wdst -= wsrc (32-bit; the upper half of dst is zeroed)."""
    return _alu(ALU, SUB, X, dst, src)


def mul_imm(dst: RegLike, imm: int) -> Instruction:
    """dst *= imm (64-bit)."""
    return _alu(ALU64, MUL, K, dst, imm=imm)


def mul_reg(dst: RegLike, src: RegLike) -> Instruction:
    """dst *= src (64-bit)."""
    return _alu(ALU64, MUL, X, dst, src)


def mul32_imm(dst: RegLike, imm: int) -> Instruction:
    """wdst *= imm (32-bit; the upper half of dst is zeroed)."""
    return _alu(ALU, MUL, K, dst, imm=imm)


def mul32_reg(dst: RegLike, src: RegLike) -> Instruction:
    """wdst *= wsrc (32-bit; the upper half of dst is zeroed)."""
    return _alu(ALU, MUL, X, dst, src)


def div_imm(dst: RegLike, imm: int) -> Instruction:
    """dst /= imm (64-bit)."""
    return _alu(ALU64, DIV, K, dst, imm=imm)


def div_reg(dst: RegLike, src: RegLike) -> Instruction:
    """dst /= src (64-bit)."""
    return _alu(ALU64, DIV, X, dst, src)


def div32_imm(dst: RegLike, imm: int) -> Instruction:
    """wdst /= imm (32-bit; the upper half of dst is zeroed)."""
    return _alu(ALU, DIV, K, dst, imm=imm)


def div32_reg(dst: RegLike, src: RegLike) -> Instruction:
    """wdst /= wsrc (32-bit; the upper half of dst is zeroed)."""
    return _alu(ALU, DIV, X, dst, src)


def or_imm(dst: RegLike, imm: int) -> Instruction:
    """dst |= imm (64-bit)."""
    return _alu(ALU64, OR, K, dst, imm=imm)


def or_reg(dst: RegLike, src: RegLike) -> Instruction:
    """dst |= src (64-bit)."""
    return _alu(ALU64, OR, X, dst, src)


def or32_imm(dst: RegLike, imm: int) -> Instruction:
    """wdst |= imm (32-bit; the upper half of dst is zeroed)."""
    return _alu(ALU, OR, K, dst, imm=imm)


def or32_reg(dst: RegLike, src: RegLike) -> Instruction:
    """wdst |= wsrc (32-bit; the upper half of dst is zeroed)."""
    return _alu(ALU, OR, X, dst, src)


def and_imm(dst: RegLike, imm: int) -> Instruction:
    """dst &= imm (64-bit)."""
    return _alu(ALU64, AND, K, dst, imm=imm)


def and_reg(dst: RegLike, src: RegLike) -> Instruction:
    """dst &= src (64-bit)."""
    return _alu(ALU64, AND, X, dst, src)


def and32_imm(dst: RegLike, imm: int) -> Instruction:
    """wdst &= imm (32-bit; the upper half of dst is zeroed)."""
    return _alu(ALU, AND, K, dst, imm=imm)


def and32_reg(dst: RegLike, src: RegLike) -> Instruction:
    """wdst &= wsrc (32-bit; the upper half of dst is zeroed)."""
    return _alu(ALU, AND, X, dst, src)


def lsh_imm(dst: RegLike, imm: int) -> Instruction:
    """dst <<= imm (64-bit)."""
    return _alu(ALU64, LSH, K, dst, imm=imm)


def lsh_reg(dst: RegLike, src: RegLike) -> Instruction:
    """dst <<= src (64-bit)."""
    return _alu(ALU64, LSH, X, dst, src)


def lsh32_imm(dst: RegLike, imm: int) -> Instruction:
    """wdst <<= imm (32-bit; the upper half of dst is zeroed)."""
    return _alu(ALU, LSH, K, dst, imm=imm)


def lsh32_reg(dst: RegLike, src: RegLike) -> Instruction:
    """wdst <<= wsrc (32-bit; the upper half of dst is zeroed)."""
    return _alu(ALU, LSH, X, dst, src)


def rsh_imm(dst: RegLike, imm: int) -> Instruction:
    """dst >>= imm (64-bit)."""
    return _alu(ALU64, RSH, K, dst, imm=imm)


def rsh_reg(dst: RegLike, src: RegLike) -> Instruction:
    """dst >>= src (64-bit)."""
    return _alu(ALU64, RSH, X, dst, src)


def rsh32_imm(dst: RegLike, imm: int) -> Instruction:
    """wdst >>= imm (32-bit; the upper half of dst is zeroed)."""
    return _alu(ALU, RSH, K, dst, imm=imm)


def rsh32_reg(dst: RegLike, src: RegLike) -> Instruction:
    """wdst >>= wsrc (32-bit; the upper half of dst is zeroed)."""
    return _alu(ALU, RSH, X, dst, src)


def mod_imm(dst: RegLike, imm: int) -> Instruction:
    """dst %= imm (64-bit)."""
    return _alu(ALU64, MOD, K, dst, imm=imm)


def mod_reg(dst: RegLike, src: RegLike) -> Instruction:
    """dst %= src (64-bit)."""
    return _alu(ALU64, MOD, X, dst, src)


def mod32_imm(dst: RegLike, imm: int) -> Instruction:
    """wdst %= imm (32-bit; the upper half of dst is zeroed)."""
    return _alu(ALU, MOD, K, dst, imm=imm)


def mod32_reg(dst: RegLike, src: RegLike) -> Instruction:
    """wdst %= wsrc (32-bit; the upper half of dst is zeroed)."""
    return _alu(ALU, MOD, X, dst, src)


def xor_imm(dst: RegLike, imm: int) -> Instruction:
    """dst ^= imm (64-bit)."""
    return _alu(ALU64, XOR, K, dst, imm=imm)


def xor_reg(dst: RegLike, src: RegLike) -> Instruction:
    """dst ^= src (64-bit)."""
    return _alu(ALU64, XOR, X, dst, src)


def xor32_imm(dst: RegLike, imm: int) -> Instruction:
    """wdst ^= imm (32-bit; the upper half of dst is zeroed)."""
    return _alu(ALU, XOR, K, dst, imm=imm)


def xor32_reg(dst: RegLike, src: RegLike) -> Instruction:
    """wdst ^= wsrc (32-bit; the upper half of dst is zeroed)."""
    return _alu(ALU, XOR, X, dst, src)


def mov_imm(dst: RegLike, imm: int) -> Instruction:
    """dst = imm (64-bit)."""
    return _alu(ALU64, MOV, K, dst, imm=imm)


def mov_reg(dst: RegLike, src: RegLike) -> Instruction:
    """dst = src (64-bit)."""
    return _alu(ALU64, MOV, X, dst, src)


def mov32_imm(dst: RegLike, imm: int) -> Instruction:
    """wdst = imm (32-bit; the upper half of dst is zeroed)."""
    return _alu(ALU, MOV, K, dst, imm=imm)


def mov32_reg(dst: RegLike, src: RegLike) -> Instruction:
    """wdst = wsrc (32-bit; the upper half of dst is zeroed)."""
    return _alu(ALU, MOV, X, dst, src)


def arsh_imm(dst: RegLike, imm: int) -> Instruction:
    """dst s>>= imm (64-bit)."""
    return _alu(ALU64, ARSH, K, dst, imm=imm)


def arsh_reg(dst: RegLike, src: RegLike) -> Instruction:
    """dst s>>= src (64-bit)."""
    return _alu(ALU64, ARSH, X, dst, src)


def arsh32_imm(dst: RegLike, imm: int) -> Instruction:
    """wdst s>>= imm (32-bit; the upper half of dst is zeroed)."""
    return _alu(ALU, ARSH, K, dst, imm=imm)


def arsh32_reg(dst: RegLike, src: RegLike) -> Instruction:
    """wdst s>>= wsrc (32-bit; the upper half of dst is zeroed)."""
    return _alu(ALU, ARSH, X, dst, src)


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
    return Instruction(_LD_IMM64, _reg(dst, "dst"), imm=value & 0xFFFFFFFFFFFFFFFF)


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
    return Instruction(_LD_IMM64, _reg(dst, "dst"), PSEUDO_MAP_FD, imm=_map_fd(map_or_fd))


def ld_map_value(dst: RegLike, map_or_fd: object, off: int = 0) -> Instruction:
    """dst = &value[0] + off of an array map (BPF_PSEUDO_MAP_VALUE): a Map or a raw fd."""
    if isinstance(off, bool) or not isinstance(off, int) or not 0 <= off <= 0x7FFFFFFF:
        raise ValueError(f"ld_map_value: offset {off!r} is not in [0, 2**31)")
    return Instruction(_LD_IMM64, _reg(dst, "dst"), PSEUDO_MAP_VALUE,
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


def _jump(code: int, dst: int, src: int, imm: int, target: Target) -> Instruction:
    if isinstance(target, str):
        return Instruction(code, dst, src, 0, imm, target)
    return Instruction(code, dst, src, _off(target), imm)


def ja(target: Target) -> Instruction:
    """goto target (a label name or a slot offset)."""
    return _jump(JMP | JA, 0, 0, 0, target)


def gotol(target: Target) -> Instruction:
    """goto target with a 32-bit offset (JMP32 | JA; Linux 6.6)."""
    if isinstance(target, str):
        return Instruction(JMP32 | JA, target=target)
    return Instruction(JMP32 | JA, imm=_imm32(target))



def jeq_imm(dst: RegLike, imm: int, target: Target) -> Instruction:
    """if dst == imm goto target (64-bit compare; target: a label or a slot offset)."""
    return _jump(JMP | JEQ | K, _reg(dst, "dst"), 0, _imm32(imm), target)


def jeq_reg(dst: RegLike, src: RegLike, target: Target) -> Instruction:
    """if dst == src goto target (64-bit compare)."""
    return _jump(JMP | JEQ | X, _reg(dst, "dst"), _reg(src, "src"), 0, target)


def jeq32_imm(dst: RegLike, imm: int, target: Target) -> Instruction:
    """if wdst == imm goto target (32-bit compare)."""
    return _jump(JMP32 | JEQ | K, _reg(dst, "dst"), 0, _imm32(imm), target)


def jeq32_reg(dst: RegLike, src: RegLike, target: Target) -> Instruction:
    """if wdst == wsrc goto target (32-bit compare)."""
    return _jump(JMP32 | JEQ | X, _reg(dst, "dst"), _reg(src, "src"), 0, target)


def jne_imm(dst: RegLike, imm: int, target: Target) -> Instruction:
    """if dst != imm goto target (64-bit compare; target: a label or a slot offset)."""
    return _jump(JMP | JNE | K, _reg(dst, "dst"), 0, _imm32(imm), target)


def jne_reg(dst: RegLike, src: RegLike, target: Target) -> Instruction:
    """if dst != src goto target (64-bit compare)."""
    return _jump(JMP | JNE | X, _reg(dst, "dst"), _reg(src, "src"), 0, target)


def jne32_imm(dst: RegLike, imm: int, target: Target) -> Instruction:
    """if wdst != imm goto target (32-bit compare)."""
    return _jump(JMP32 | JNE | K, _reg(dst, "dst"), 0, _imm32(imm), target)


def jne32_reg(dst: RegLike, src: RegLike, target: Target) -> Instruction:
    """if wdst != wsrc goto target (32-bit compare)."""
    return _jump(JMP32 | JNE | X, _reg(dst, "dst"), _reg(src, "src"), 0, target)


def jgt_imm(dst: RegLike, imm: int, target: Target) -> Instruction:
    """if dst > imm goto target (64-bit compare; target: a label or a slot offset)."""
    return _jump(JMP | JGT | K, _reg(dst, "dst"), 0, _imm32(imm), target)


def jgt_reg(dst: RegLike, src: RegLike, target: Target) -> Instruction:
    """if dst > src goto target (64-bit compare)."""
    return _jump(JMP | JGT | X, _reg(dst, "dst"), _reg(src, "src"), 0, target)


def jgt32_imm(dst: RegLike, imm: int, target: Target) -> Instruction:
    """if wdst > imm goto target (32-bit compare)."""
    return _jump(JMP32 | JGT | K, _reg(dst, "dst"), 0, _imm32(imm), target)


def jgt32_reg(dst: RegLike, src: RegLike, target: Target) -> Instruction:
    """if wdst > wsrc goto target (32-bit compare)."""
    return _jump(JMP32 | JGT | X, _reg(dst, "dst"), _reg(src, "src"), 0, target)


def jge_imm(dst: RegLike, imm: int, target: Target) -> Instruction:
    """if dst >= imm goto target (64-bit compare; target: a label or a slot offset)."""
    return _jump(JMP | JGE | K, _reg(dst, "dst"), 0, _imm32(imm), target)


def jge_reg(dst: RegLike, src: RegLike, target: Target) -> Instruction:
    """if dst >= src goto target (64-bit compare)."""
    return _jump(JMP | JGE | X, _reg(dst, "dst"), _reg(src, "src"), 0, target)


def jge32_imm(dst: RegLike, imm: int, target: Target) -> Instruction:
    """if wdst >= imm goto target (32-bit compare)."""
    return _jump(JMP32 | JGE | K, _reg(dst, "dst"), 0, _imm32(imm), target)


def jge32_reg(dst: RegLike, src: RegLike, target: Target) -> Instruction:
    """if wdst >= wsrc goto target (32-bit compare)."""
    return _jump(JMP32 | JGE | X, _reg(dst, "dst"), _reg(src, "src"), 0, target)


def jlt_imm(dst: RegLike, imm: int, target: Target) -> Instruction:
    """if dst < imm goto target (64-bit compare; target: a label or a slot offset)."""
    return _jump(JMP | JLT | K, _reg(dst, "dst"), 0, _imm32(imm), target)


def jlt_reg(dst: RegLike, src: RegLike, target: Target) -> Instruction:
    """if dst < src goto target (64-bit compare)."""
    return _jump(JMP | JLT | X, _reg(dst, "dst"), _reg(src, "src"), 0, target)


def jlt32_imm(dst: RegLike, imm: int, target: Target) -> Instruction:
    """if wdst < imm goto target (32-bit compare)."""
    return _jump(JMP32 | JLT | K, _reg(dst, "dst"), 0, _imm32(imm), target)


def jlt32_reg(dst: RegLike, src: RegLike, target: Target) -> Instruction:
    """if wdst < wsrc goto target (32-bit compare)."""
    return _jump(JMP32 | JLT | X, _reg(dst, "dst"), _reg(src, "src"), 0, target)


def jle_imm(dst: RegLike, imm: int, target: Target) -> Instruction:
    """if dst <= imm goto target (64-bit compare; target: a label or a slot offset)."""
    return _jump(JMP | JLE | K, _reg(dst, "dst"), 0, _imm32(imm), target)


def jle_reg(dst: RegLike, src: RegLike, target: Target) -> Instruction:
    """if dst <= src goto target (64-bit compare)."""
    return _jump(JMP | JLE | X, _reg(dst, "dst"), _reg(src, "src"), 0, target)


def jle32_imm(dst: RegLike, imm: int, target: Target) -> Instruction:
    """if wdst <= imm goto target (32-bit compare)."""
    return _jump(JMP32 | JLE | K, _reg(dst, "dst"), 0, _imm32(imm), target)


def jle32_reg(dst: RegLike, src: RegLike, target: Target) -> Instruction:
    """if wdst <= wsrc goto target (32-bit compare)."""
    return _jump(JMP32 | JLE | X, _reg(dst, "dst"), _reg(src, "src"), 0, target)


def jset_imm(dst: RegLike, imm: int, target: Target) -> Instruction:
    """if dst & imm goto target (64-bit compare; target: a label or a slot offset)."""
    return _jump(JMP | JSET | K, _reg(dst, "dst"), 0, _imm32(imm), target)


def jset_reg(dst: RegLike, src: RegLike, target: Target) -> Instruction:
    """if dst & src goto target (64-bit compare)."""
    return _jump(JMP | JSET | X, _reg(dst, "dst"), _reg(src, "src"), 0, target)


def jset32_imm(dst: RegLike, imm: int, target: Target) -> Instruction:
    """if wdst & imm goto target (32-bit compare)."""
    return _jump(JMP32 | JSET | K, _reg(dst, "dst"), 0, _imm32(imm), target)


def jset32_reg(dst: RegLike, src: RegLike, target: Target) -> Instruction:
    """if wdst & wsrc goto target (32-bit compare)."""
    return _jump(JMP32 | JSET | X, _reg(dst, "dst"), _reg(src, "src"), 0, target)


def jsgt_imm(dst: RegLike, imm: int, target: Target) -> Instruction:
    """if dst s> imm goto target (64-bit compare; target: a label or a slot offset)."""
    return _jump(JMP | JSGT | K, _reg(dst, "dst"), 0, _imm32(imm), target)


def jsgt_reg(dst: RegLike, src: RegLike, target: Target) -> Instruction:
    """if dst s> src goto target (64-bit compare)."""
    return _jump(JMP | JSGT | X, _reg(dst, "dst"), _reg(src, "src"), 0, target)


def jsgt32_imm(dst: RegLike, imm: int, target: Target) -> Instruction:
    """if wdst s> imm goto target (32-bit compare)."""
    return _jump(JMP32 | JSGT | K, _reg(dst, "dst"), 0, _imm32(imm), target)


def jsgt32_reg(dst: RegLike, src: RegLike, target: Target) -> Instruction:
    """if wdst s> wsrc goto target (32-bit compare)."""
    return _jump(JMP32 | JSGT | X, _reg(dst, "dst"), _reg(src, "src"), 0, target)


def jsge_imm(dst: RegLike, imm: int, target: Target) -> Instruction:
    """if dst s>= imm goto target (64-bit compare; target: a label or a slot offset)."""
    return _jump(JMP | JSGE | K, _reg(dst, "dst"), 0, _imm32(imm), target)


def jsge_reg(dst: RegLike, src: RegLike, target: Target) -> Instruction:
    """if dst s>= src goto target (64-bit compare)."""
    return _jump(JMP | JSGE | X, _reg(dst, "dst"), _reg(src, "src"), 0, target)


def jsge32_imm(dst: RegLike, imm: int, target: Target) -> Instruction:
    """if wdst s>= imm goto target (32-bit compare)."""
    return _jump(JMP32 | JSGE | K, _reg(dst, "dst"), 0, _imm32(imm), target)


def jsge32_reg(dst: RegLike, src: RegLike, target: Target) -> Instruction:
    """if wdst s>= wsrc goto target (32-bit compare)."""
    return _jump(JMP32 | JSGE | X, _reg(dst, "dst"), _reg(src, "src"), 0, target)


def jslt_imm(dst: RegLike, imm: int, target: Target) -> Instruction:
    """if dst s< imm goto target (64-bit compare; target: a label or a slot offset)."""
    return _jump(JMP | JSLT | K, _reg(dst, "dst"), 0, _imm32(imm), target)


def jslt_reg(dst: RegLike, src: RegLike, target: Target) -> Instruction:
    """if dst s< src goto target (64-bit compare)."""
    return _jump(JMP | JSLT | X, _reg(dst, "dst"), _reg(src, "src"), 0, target)


def jslt32_imm(dst: RegLike, imm: int, target: Target) -> Instruction:
    """if wdst s< imm goto target (32-bit compare)."""
    return _jump(JMP32 | JSLT | K, _reg(dst, "dst"), 0, _imm32(imm), target)


def jslt32_reg(dst: RegLike, src: RegLike, target: Target) -> Instruction:
    """if wdst s< wsrc goto target (32-bit compare)."""
    return _jump(JMP32 | JSLT | X, _reg(dst, "dst"), _reg(src, "src"), 0, target)


def jsle_imm(dst: RegLike, imm: int, target: Target) -> Instruction:
    """if dst s<= imm goto target (64-bit compare; target: a label or a slot offset)."""
    return _jump(JMP | JSLE | K, _reg(dst, "dst"), 0, _imm32(imm), target)


def jsle_reg(dst: RegLike, src: RegLike, target: Target) -> Instruction:
    """if dst s<= src goto target (64-bit compare)."""
    return _jump(JMP | JSLE | X, _reg(dst, "dst"), _reg(src, "src"), 0, target)


def jsle32_imm(dst: RegLike, imm: int, target: Target) -> Instruction:
    """if wdst s<= imm goto target (32-bit compare)."""
    return _jump(JMP32 | JSLE | K, _reg(dst, "dst"), 0, _imm32(imm), target)


def jsle32_reg(dst: RegLike, src: RegLike, target: Target) -> Instruction:
    """if wdst s<= wsrc goto target (32-bit compare)."""
    return _jump(JMP32 | JSLE | X, _reg(dst, "dst"), _reg(src, "src"), 0, target)


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
        return Instruction(_LD_IMM64, _reg(dst, "dst"), PSEUDO_FUNC, target=target)
    return Instruction(_LD_IMM64, _reg(dst, "dst"), PSEUDO_FUNC,
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


__all__ += [
    "add_imm", "add_reg", "add32_imm", "add32_reg",
    "sub_imm",
    "sub_reg",
    "sub32_imm",
    "sub32_reg",
    "mul_imm",
    "mul_reg",
    "mul32_imm",
    "mul32_reg",
    "div_imm",
    "div_reg",
    "div32_imm",
    "div32_reg",
    "or_imm",
    "or_reg",
    "or32_imm",
    "or32_reg",
    "and_imm",
    "and_reg",
    "and32_imm",
    "and32_reg",
    "lsh_imm",
    "lsh_reg",
    "lsh32_imm",
    "lsh32_reg",
    "rsh_imm",
    "rsh_reg",
    "rsh32_imm",
    "rsh32_reg",
    "mod_imm",
    "mod_reg",
    "mod32_imm",
    "mod32_reg",
    "xor_imm",
    "xor_reg",
    "xor32_imm",
    "xor32_reg",
    "mov_imm",
    "mov_reg",
    "mov32_imm",
    "mov32_reg",
    "arsh_imm",
    "arsh_reg",
    "arsh32_imm",
    "arsh32_reg",
    "jeq_imm",
    "jeq_reg",
    "jeq32_imm",
    "jeq32_reg",
    "jne_imm",
    "jne_reg",
    "jne32_imm",
    "jne32_reg",
    "jgt_imm",
    "jgt_reg",
    "jgt32_imm",
    "jgt32_reg",
    "jge_imm",
    "jge_reg",
    "jge32_imm",
    "jge32_reg",
    "jlt_imm",
    "jlt_reg",
    "jlt32_imm",
    "jlt32_reg",
    "jle_imm",
    "jle_reg",
    "jle32_imm",
    "jle32_reg",
    "jset_imm",
    "jset_reg",
    "jset32_imm",
    "jset32_reg",
    "jsgt_imm",
    "jsgt_reg",
    "jsgt32_imm",
    "jsgt32_reg",
    "jsge_imm",
    "jsge_reg",
    "jsge32_imm",
    "jsge32_reg",
    "jslt_imm",
    "jslt_reg",
    "jslt32_imm",
    "jslt32_reg",
    "jsle_imm",
    "jsle_reg",
    "jsle32_imm",
    "jsle32_reg",
    "sdiv_imm", "sdiv_reg", "smod_imm", "smod_reg", "movsx_reg", "movsx32_reg", "neg", "neg32",
    "to_be", "to_le", "bswap", "ld_imm64", "ld_map_fd", "ld_map_value", "ld_func", "ldx", "ldxsx",
    "stx",
    "st", "st_imm", "ld_abs", "ld_ind", "ja", "gotol", "call", "call_local", "exit_", "atomic_add",
    "atomic_and", "atomic_or", "atomic_xor", "atomic_xchg", "atomic_cmpxchg",
]
