"""eBPF instructions as values, and their encoding: ``Instruction``, ``Label``, ``Instructions``.

Owns the 8-byte slot codec (host byte order, as the kernel expects; a ``ld_imm64`` is
one Instruction of two slots), label resolution, and ``Instructions``, a typed sequence
of Instruction and Label items that checks every item it is given, whatever the way
(constructor, append, extend, insert, item assignment, ``+`` and ``+=``). Imports
``opcodes`` and ``text``.

Decoding never raises anything but ``ValueError`` (a length that is not a multiple of 8,
a ``ld_imm64`` cut short or whose second slot is not zero apart from its imm).
"""

from __future__ import annotations

import struct
import sys
from collections.abc import Iterable, Iterator, MutableSequence, Sequence
from dataclasses import dataclass, replace
from typing import SupportsIndex, Union, overload

from typing_extensions import Buffer, Self

from .opcodes import CALL, EXIT, JA, JMP, JMP32, LD_IMM64, PSEUDO_CALL, PSEUDO_FUNC, s32
from .text import render

__all__ = ["Instruction", "Instructions", "Item", "Label", "label"]

_LITTLE = sys.byteorder == "little"
_SLOT = struct.Struct("=BBhi")


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
        if self.opcode == LD_IMM64:
            if not 0 <= self.imm < 1 << 64:
                raise ValueError(f"ld_imm64 constant {self.imm} is not in [0, 2**64)")
        elif not -0x80000000 <= self.imm <= 0x7FFFFFFF:
            raise ValueError(f"instruction imm {self.imm} is not a signed 32-bit integer")
        if self.target is not None and (not isinstance(self.target, str) or not self.target):
            raise ValueError(f"jump target {self.target!r} is not a label name")

    @property
    def slots(self) -> int:
        """How many 8-byte slots the instruction takes (2 for ld_imm64, else 1)."""
        return 2 if self.opcode == LD_IMM64 else 1

    @property
    def cls(self) -> int:
        """The instruction class (BPF_CLASS: LD, LDX, ST, STX, ALU, JMP, JMP32, ALU64)."""
        return self.opcode & 0x07

    def _target_in_imm(self) -> bool:
        return ((self.opcode == JMP | CALL and self.src == PSEUDO_CALL)
                or self.opcode == JMP32 | JA
                or (self.opcode == LD_IMM64 and self.src == PSEUDO_FUNC))

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
        if self.opcode == LD_IMM64:
            return (_SLOT.pack(self.opcode, regs, self.off, s32(self.imm))
                    + _SLOT.pack(0, 0, 0, s32(self.imm >> 32)))
        return _SLOT.pack(self.opcode, regs, self.off, self.imm)

    # -- text --------------------------------------------------------------------------------

    def text(self, jited_ksyms: Sequence[int] = (), *, opcode: bool = True) -> str:
        """The instruction as the kernel's disassembler (and bpftool) prints it: ``(b7) r0 = 0``.

        ``jited_ksyms`` (the program's ``jited_ksyms`` info: the kernel
        addresses of its JIT-compiled functions) lets a BPF-to-BPF call name
        its target as bpftool does (``call pc+1#bpf_prog_<tag>_<name>``).
        With ``opcode=False`` the ``(b7) `` prefix is left out: ``r0 = 0``.
        """
        text = render(self, jited_ksyms)
        return text if opcode else text[5:]

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


class Instructions(MutableSequence[Item]):
    """A program: a sequence of Instruction and Label items.

    ``encode()`` resolves labels; ``decode()`` reads raw bytes back;
    ``str()`` prints as ``bpftool prog dump xlated`` does. Every way in (the
    constructor, ``append``, ``extend``, ``insert``, item and slice assignment,
    ``+``, ``+=``) checks the items: anything but an Instruction or a Label is a
    TypeError. An Instructions equals another, or a list, with the same items.
    """

    __slots__ = ("_items", "jited_ksyms")

    #: The kernel addresses of the program's JIT-compiled functions, when decoded
    #: from a loaded program with them: used to name BPF-to-BPF calls as bpftool does.
    jited_ksyms: tuple[int, ...]

    def __init__(self, items: Iterable[Item] = (), jited_ksyms: Iterable[int] = ()) -> None:
        self.jited_ksyms = tuple(jited_ksyms)
        self._items: list[Item] = [_check(i) for i in items]

    # -- the sequence ------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Item]:
        return iter(self._items)

    @overload
    def __getitem__(self, index: SupportsIndex) -> Item: ...
    @overload
    def __getitem__(self, index: slice) -> Instructions: ...

    def __getitem__(self, index: SupportsIndex | slice) -> Item | Instructions:
        if isinstance(index, slice):
            return Instructions(self._items[index], self.jited_ksyms)
        return self._items[index]

    @overload
    def __setitem__(self, index: SupportsIndex, item: Item) -> None: ...
    @overload
    def __setitem__(self, index: slice, item: Iterable[Item]) -> None: ...

    def __setitem__(self, index: SupportsIndex | slice, item: object) -> None:
        if isinstance(index, slice):
            if not isinstance(item, Iterable):
                raise TypeError("slice assignment needs an iterable of Instruction or Label")
            self._items[index] = [_check(i) for i in item]
        else:
            self._items[index] = _check(item)

    def __delitem__(self, index: SupportsIndex | slice) -> None:
        del self._items[index]

    def insert(self, index: SupportsIndex, item: Item) -> None:
        """Insert one instruction or label."""
        self._items.insert(index, _check(item))

    def append(self, item: Item) -> None:
        """Add one instruction or label at the end."""
        self._items.append(_check(item))

    def extend(self, items: Iterable[Item]) -> None:
        """Add instructions or labels at the end (all checked before any is added)."""
        self._items.extend([_check(i) for i in items])

    def __iadd__(self, items: Iterable[Item]) -> Self:
        self.extend(items)
        return self

    def __add__(self, items: Iterable[Item]) -> Instructions:
        if not isinstance(items, Iterable):
            return NotImplemented
        return Instructions([*self._items, *items], self.jited_ksyms)

    def __radd__(self, items: Iterable[Item]) -> Instructions:
        if not isinstance(items, Iterable):
            return NotImplemented
        return Instructions([*items, *self._items], self.jited_ksyms)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Instructions):
            return self._items == other._items
        if isinstance(other, list):
            return self._items == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, like a list

    def copy(self) -> Instructions:
        """A shallow copy (the items are immutable)."""
        return Instructions(self._items, self.jited_ksyms)

    # -- labels and encoding -----------------------------------------------------------

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
                    if insn.opcode == LD_IMM64:   # ld_func: the offset in the low half
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
            if code == LD_IMM64:
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
        return f"Instructions({self._items!r})"


def _check(item: object) -> Item:
    if not isinstance(item, (Instruction, Label)):
        raise TypeError(f"Instructions hold Instruction or Label, not {type(item).__name__}")
    return item
