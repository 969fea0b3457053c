"""BTF as a C header: ``format_c`` (what ``bpftool btf dump ... format c`` prints).

Owns the C formatter. Imports ``bpfobj.btf.types`` (pure Python), and ``gc_paused`` of
``bpfobj.btf.spec`` when it runs.

The header is ordered so that every type is complete where it is used by value:
named structs and unions reached only through a pointer get a forward declaration,
everything else is defined first, depth first, in type id order. Anonymous structs,
unions and enums are written inline where they are used. Names that two types share
get a ``___N`` suffix (tags and ordinary identifiers are separate C namespaces).

Layout: for each struct and union the formatter computes where clang would put every
member (System V rules, which the BPF target follows), and compares with the BTF:

- a member the natural layout would put after its BTF offset, or a size that is not a
  multiple of the natural alignment, makes the type ``__attribute__((packed))``;
- a gap (a member after where C would put it, tail bytes past the last member) is filled
  with unnamed bitfields (``long: 64;``), which add bytes but no alignment;
- an enum whose BTF size differs from what C would pick gets ``packed`` (the smallest
  size that holds its values) or ``mode(..)`` (exactly 1, 2, 4 or 8 bytes).

So ``sizeof`` and ``offsetof`` of every type in the header equal the BTF's.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Optional

from .types import (
    Array,
    Composite,
    Const,
    Enum,
    Float,
    FuncProto,
    Fwd,
    FwdKind,
    Int,
    Pointer,
    Qualifier,
    Restrict,
    Struct,
    Type,
    Typedef,
    TypeTag,
    Void,
    Volatile,
    sizeof,
)
from .types import Union as _Union

__all__ = ["format_c", "CFormatter"]

_PROLOGUE = (
    "#ifndef __VMLINUX_H__\n"
    "#define __VMLINUX_H__\n"
    "\n"
    "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n"
    "#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n"
    "#endif\n"
    "\n"
)
_EPILOGUE = (
    "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n"
    "#pragma clang attribute pop\n"
    "#endif\n"
    "\n"
    "#endif /* __VMLINUX_H__ */\n"
)

_PACKED = " __attribute__((packed))"
#: Unnamed bitfield types for padding, by byte width.
_PAD_TYPE = {8: "long", 4: "int", 2: "short", 1: "char"}
#: ``mode`` names for an enum of exactly this many bytes (signed underlying type).
_ENUM_MODE = {1: "QI", 2: "HI", 4: "SI", 8: "DI"}
_QUALIFIER_WORD = {Const: "const", Volatile: "volatile", Restrict: "restrict"}

_NOT_EMITTED, _EMITTING, _EMITTED = 0, 1, 2
_MAX_NESTING = 200
#: Longest gap (bits) written as unnamed bitfields: 4 KiB, 512 lines of `long: 64;`.
_MAX_BITFIELD_PADDING = 4096 * 8
#: Typedefs the compiler itself provides (clang rejects a redefinition): each use is
#: written as the type it stands for.
_BUILTIN_TYPEDEFS = frozenset({"__builtin_va_list"})

#: A member as the formatter reads it: (name, type, bit offset, bitfield size).
_Mem = tuple[str, Type, int, int]
#: A laid-out member: (member, bits of padding before it); padding after the last member
#: is a separate count.
_Item = tuple[_Mem, int]


class _Layout:
    """How a struct or union is written: packed or not, padding before each member."""

    __slots__ = ("packed", "items", "tail", "align")

    def __init__(self, packed: bool, items: list[_Item], tail: int, align: int) -> None:
        self.packed = packed
        self.items = items
        self.tail = tail  # bits of padding after the last member (struct) / size (union)
        self.align = align  # alignment in bytes of the type as written


def _round_up(n: int, a: int) -> int:
    return (n + a - 1) // a * a


def _enum_bounds(t: Enum) -> tuple[int, int]:
    if not t.values:
        return 0, 0
    vals = [v.value for v in t.values]
    return min(vals), max(vals)


def _fits(lo: int, hi: int, size: int, signed: bool) -> bool:
    bits = size * 8
    if signed:
        return -(1 << (bits - 1)) <= lo and hi < (1 << (bits - 1))
    return lo >= 0 and hi < (1 << bits)


def enum_attribute(t: Enum) -> str:
    """The attribute (with a leading space) that gives ``t`` its BTF size in C, or ""."""
    lo, hi = _enum_bounds(t)
    # C (clang, gcc) gives an enum int or unsigned int when the values fit, else 8 bytes.
    natural = 4 if (_fits(lo, hi, 4, True) or _fits(lo, hi, 4, False)) else 8
    if natural == t.size:
        return ""
    # packed: the smallest of 1, 2, 4, 8 bytes that holds the values, unsigned when none
    # is negative.
    packed = next((n for n in (1, 2, 4, 8) if _fits(lo, hi, n, lo < 0)), 8)
    if packed == t.size:
        return _PACKED
    mode = _ENUM_MODE.get(t.size)
    if mode is not None and _fits(lo, hi, t.size, True):
        return f" __attribute__((mode({mode})))"
    return _PACKED  # no attribute gives this size; the nearest one


def _int_literal(value: int) -> str:
    if value > 0x7FFFFFFFFFFFFFFF:
        return f"{value}ULL"
    if value < -0x7FFFFFFFFFFFFFFF:
        return f"({value + 1}LL - 1)"
    return str(value)


class CFormatter:
    """Writes a spec's types as C. ``names`` maps each named type written to its C name
    (with the ``___N`` suffix when it needed one); ``format_c`` is the usual entry point.

    Raises ValueError (naming the type id) for graphs C cannot express: a struct that
    contains itself by value, or a reference cycle through typedefs or qualifiers.
    """

    def __init__(self, types: Iterable[Type]) -> None:
        self.types = list(types)
        self._ids: dict[Type, int] = {t: i for i, t in enumerate(self.types)}
        self.names: dict[Type, str] = {}
        self._tag_counts: dict[str, int] = {}
        self._ident_counts: dict[str, int] = {}
        self._enum_names: dict[str, int] = {}
        self._state: dict[Type, int] = {}
        self._fwd: set[Type] = set()
        self._layouts: dict[Type, _Layout] = {}
        self._members: dict[Type, list[_Mem]] = {}
        self._sizes: dict[Type, int] = {}
        self._aligns: dict[Type, int] = {}
        self._templates: dict[Type, tuple[str, str]] = {}  # declarator text around a name
        self._walked: set[tuple[Type, bool]] = set()
        self._active: set[Type] = set()  # anonymous structs and unions being walked
        self._depth = 0
        self._out: list[str] = []

    # ---- names

    def _id(self, t: Type) -> str:
        i = self._ids.get(t)
        return f"type {i}" if i is not None else f"{type(t).__name__}({t.name!r})"

    def name_of(self, t: Type) -> str:
        """The C name of a named struct, union, enum, fwd or typedef (deduplicated)."""
        name = self.names.get(t)
        if name is not None:
            return name
        counts = self._ident_counts if type(t) is Typedef else self._tag_counts
        n = counts.get(t.name, 0) + 1
        counts[t.name] = n
        name = t.name if n == 1 else f"{t.name}___{n}"
        self.names[t] = name
        return name

    def _enumerator(self, name: str) -> str:
        # Enumerators share the ordinary-identifier namespace with typedefs; each
        # written occurrence counts (an anonymous enum inlined twice gets ___2 names).
        counts = self._ident_counts
        n = counts.get(name, 0) + 1
        counts[name] = n
        return name if n == 1 else f"{name}___{n}"

    # ---- ordering

    def format(self) -> str:
        """The whole header.

        Raises:
            ValueError: see the class docstring; also for anonymous types nested deeper
                than Python's recursion allows (C code never nests them so).
        """
        from .spec import gc_paused  # at call time: spec imports this module lazily too

        try:
            with gc_paused():  # everything built here is kept until the end
                return self._format()
        except RecursionError:
            raise ValueError("BTF: anonymous types nested too deep to write as C") from None

    def _format(self) -> str:
        referenced = self._referenced_anonymous_enums()
        out = self._out
        out.append(_PROLOGUE)
        for t in self.types:
            cls = type(t)
            if cls is Struct or cls is _Union:
                if t.name:
                    self._emit_composite(t)  # type: ignore[arg-type]
            elif cls is Typedef:
                self._emit_typedef(t, False)  # type: ignore[arg-type]
            elif cls is Enum:
                if t.name or t not in referenced:
                    self._emit_enum(t)  # type: ignore[arg-type]
            elif cls is Fwd:
                self._emit_fwd(t)
        out.append(_EPILOGUE)
        return "".join(out)

    def _referenced_anonymous_enums(self) -> set[Type]:
        """Anonymous enums some type refers to: they are written inline there only."""
        anon = {t for t in self.types if type(t) is Enum and not t.name}
        if not anon:
            return set()
        # C declares an anonymous enum in a member, a typedef or a qualified/array/pointer
        # type, never in a function's parameter list: prototypes need no look.
        seen: set[Type] = set()
        for t in self.types:
            cls = type(t)
            if cls is Struct or cls is _Union:
                for m in self.members(t):  # type: ignore[arg-type]
                    if m[1] in anon:
                        seen.add(m[1])
            elif cls is Pointer:
                if t.target in anon:  # type: ignore[attr-defined]
                    seen.add(t.target)  # type: ignore[attr-defined]
            elif cls is Typedef or cls is Array or cls in _QUALIFIERS:
                ref = t.type  # type: ignore[attr-defined]
                if ref in anon:
                    seen.add(ref)
        return seen

    def members(self, t: Composite) -> list[_Mem]:
        """(name, type, bit offset, bitfield size) of each member, read once."""
        mems = self._members.get(t)
        if mems is None:
            mems = [(m.name, m.type, m.offset, m.bitfield_size) for m in t.members]
            self._members[t] = mems
        return mems

    def sizeof(self, t: Type) -> int:
        """``btf.sizeof``, remembered; 0 for what has no size."""
        n = self._sizes.get(t)
        if n is None:
            try:
                n = sizeof(t)
            except ValueError:
                n = 0
            self._sizes[t] = n
        return n

    def _walk(self, t: Type, ptr: bool) -> None:
        """Emit what a use of ``t`` needs first; ``ptr``: the use is through a pointer."""
        cls = type(t)
        if cls is Int or cls is Void or cls is Float:
            return
        key = (t, ptr)
        if key in self._walked:  # done once, everything it needs is written
            return
        self._walk_uncached(t, ptr)
        self._walked.add(key)

    def _walk_uncached(self, t: Type, ptr: bool) -> None:
        depth = 0
        while True:
            cls = type(t)
            if cls is Pointer:
                t, ptr = t.target, True  # type: ignore[attr-defined]
            elif cls is Array or cls in _QUALIFIERS:
                t = t.type  # type: ignore[attr-defined]
            else:
                break
            depth += 1
            if depth > 64:
                raise ValueError(f"{self._id(t)}: reference chain too deep (a cycle?)")
        if cls is Struct or cls is _Union:
            if t.name:
                if ptr:
                    if self._state.get(t) != _EMITTED:
                        self._emit_fwd(t)
                else:
                    self._emit_composite(t)  # type: ignore[arg-type]
            else:
                self._enter(t)
                for m in self.members(t):  # type: ignore[arg-type]
                    self._walk(m[1], False)
                self._active.discard(t)
        elif cls is Typedef:
            self._deeper(t)
            if not ptr:
                # A use by value needs the typedef's target complete, whatever
                # context first wrote the typedef.
                self._walk(t.type, False)  # type: ignore[attr-defined]
            self._emit_typedef(t, ptr)  # type: ignore[arg-type]
            self._depth -= 1
        elif cls is Enum:
            if t.name:
                self._emit_enum(t)  # type: ignore[arg-type]
        elif cls is FuncProto:
            self._deeper(t)
            self._walk(t.return_, True)  # type: ignore[attr-defined]
            for p in t.params:  # type: ignore[attr-defined]
                self._walk(p.type, True)
            self._depth -= 1
        elif cls is Fwd:
            self._emit_fwd(t)

    def _deeper(self, t: Type) -> None:
        # Typedef chains and prototypes nest; C code never nests them this deep.
        self._depth += 1
        if self._depth > _MAX_NESTING:
            raise ValueError(f"{self._id(t)}: types nested more than {_MAX_NESTING} deep "
                             "(a reference cycle?)")

    def _enter(self, t: Type) -> None:
        if t in self._active:
            raise ValueError(f"{self._id(t)}: {type(t).__name__} contains itself "
                             "(a reference cycle C cannot express)")
        self._active.add(t)

    def _emit_fwd(self, t: Type) -> None:
        if t in self._fwd:
            return
        self._fwd.add(t)
        if type(t) is Fwd:
            word = "union" if t.kind == FwdKind.UNION else "struct"
        else:
            word = "union" if type(t) is _Union else "struct"
        self._out.append(f"{word} {self.name_of(t)};\n\n")

    def _emit_composite(self, t: Composite) -> None:
        state = self._state.get(t, _NOT_EMITTED)
        if state == _EMITTED:
            return
        if state == _EMITTING:
            raise ValueError(f"{self._id(t)}: {type(t).__name__.lower()} {t.name!r} "
                             "contains itself by value")
        self._state[t] = _EMITTING
        for m in self.members(t):
            self._walk(m[1], False)
        self._fwd.add(t)  # a definition declares it too
        text = self._composite_text(t, "", self.name_of(t))
        self._out.append(text + ";\n\n")
        self._state[t] = _EMITTED

    def _emit_typedef(self, t: Typedef, ptr: bool) -> None:
        if self._state.get(t, _NOT_EMITTED) != _NOT_EMITTED:
            return
        if t.name in _BUILTIN_TYPEDEFS:  # written as what it stands for (see _decl)
            self._state[t] = _EMITTED
            self._walk(t.type, ptr)
            return
        self._state[t] = _EMITTING
        target = t.type
        self._walk(target, ptr or self._is_named_composite(target))
        self._out.append(f"typedef {self._decl(target, self.name_of(t), '')};\n\n")
        self._state[t] = _EMITTED

    @staticmethod
    def _is_named_composite(t: Type) -> bool:
        # typedef struct foo foo_t; needs struct foo declared, not defined.
        cls = type(t)
        return (cls is Struct or cls is _Union) and bool(t.name)

    def _emit_enum(self, t: Enum) -> None:
        if self._state.get(t, _NOT_EMITTED) != _NOT_EMITTED:
            return
        self._state[t] = _EMITTED
        self._out.append(self._enum_text(t, "") + ";\n\n")

    # ---- text

    def _enum_text(self, t: Enum, indent: str) -> str:
        head = f"enum {self.name_of(t)}" if t.name else "enum"
        if not t.values:
            return head + " {}" + enum_attribute(t) if not t.name else head + " {}"
        inner = indent + "\t"
        lines = [head + " {\n"]
        signed = t.signed
        for v in t.values:
            value = v.value
            if not signed and value < 0:  # a model built by hand; C wants the bits
                value &= (1 << (t.size * 8)) - 1
            lines.append(f"{inner}{self._enumerator(v.name)} = {_int_literal(value)},\n")
        lines.append(indent + "}" + enum_attribute(t))
        return "".join(lines)

    def _composite_text(self, t: Composite, indent: str, name: Optional[str]) -> str:
        word = "union" if type(t) is _Union else "struct"
        head = f"{word} {name}" if name else word
        layout = self.layout(t)
        inner = indent + "\t"
        lines = [head + " {\n"]
        union = type(t) is _Union
        cursor = 0
        for (name, mt, offset, bitfield), pad in layout.items:
            if pad:
                lines.extend(_padding(cursor, pad, inner))
            decl = self._decl(mt, name, inner)
            if bitfield:
                lines.append(f"{inner}{decl}: {bitfield};\n")
                cursor = offset + bitfield
            else:
                lines.append(f"{inner}{decl};\n")
                cursor = offset + self.sizeof(mt) * 8
        if layout.tail:
            if union:
                lines.extend(_union_padding(layout.tail, inner))
            else:
                lines.extend(_padding(cursor, layout.tail, inner))
        lines.append(indent + "}" + (_PACKED if layout.packed else ""))
        return "".join(lines)

    def _decl(self, t: Type, inner: str, indent: str) -> str:
        """``t`` declared as ``inner`` (a name, or "" for an abstract declarator)."""
        parts = self._templates.get(t)
        if parts is None:
            if not _plain_declarator(t):  # writes a type out: depends on indent and counts
                return self._declare(t, inner, indent)
            pre, _, post = self._declare(t, "\0", indent).partition("\0")
            parts = (pre, post)
            self._templates[t] = parts
        if inner:
            return parts[0] + inner + parts[1]
        return parts[0].rstrip() + parts[1]

    def _declare(self, t: Type, inner: str, indent: str) -> str:
        quals: list[str] = []
        depth = 0
        while True:
            depth += 1
            if depth > 256:
                raise ValueError(f"{self._id(t)}: declarator too deep (a cycle?)")
            cls = type(t)
            if cls is Pointer:
                target = t.target  # type: ignore[attr-defined]
                if quals:
                    inner = " ".join(quals) + (" " + inner if inner else "")
                    quals = []
                nxt = _skip_qualifiers(target)
                if type(nxt) is Array or type(nxt) is FuncProto:
                    inner = f"(*{inner})"
                else:
                    inner = "*" + inner
                t = target
            elif cls in _QUALIFIER_WORDS:
                word = _QUALIFIER_WORD[cls]  # type: ignore[index]
                if word not in quals:
                    quals.append(word)
                t = t.type  # type: ignore[attr-defined]
            elif cls is TypeTag:
                t = t.type  # type: ignore[attr-defined]
            elif cls is Typedef and t.name in _BUILTIN_TYPEDEFS:
                # clang defines __builtin_va_list per target (void * for BPF): write
                # the kernel's type instead, so sizes stay the kernel's.
                t = t.type  # type: ignore[attr-defined]
            elif cls is Array:
                # qualifiers of an array type qualify its elements: keep them for the base
                inner = f"{inner}[{t.nelems}]"  # type: ignore[attr-defined]
                t = t.type  # type: ignore[attr-defined]
            elif cls is FuncProto:
                quals = []  # a qualified function type means nothing in C
                inner = f"{inner}({self._params(t, indent)})"  # type: ignore[arg-type]
                t = t.return_  # type: ignore[attr-defined]
            else:
                break
        base = self._base(t, indent)
        if quals:
            base = " ".join(quals) + " " + base
        if not inner:
            return base
        if inner[0] == "*" and base.endswith("*"):
            return base + inner
        return f"{base} {inner}"

    def _params(self, t: FuncProto, indent: str) -> str:
        params = t.params
        if not params:
            return "void"
        parts = []
        for i, p in enumerate(params):
            if i == len(params) - 1 and type(p.type) is Void:
                parts.append("...")
            else:
                parts.append(self._decl(p.type, p.name, indent))
        return ", ".join(parts)

    def _base(self, t: Type, indent: str) -> str:
        cls = type(t)
        if cls is Struct or cls is _Union:
            if t.name:
                return ("union " if cls is _Union else "struct ") + self.name_of(t)
            return self._composite_text(t, indent, None)  # type: ignore[arg-type]
        if cls is Enum:
            if t.name:
                return "enum " + self.name_of(t)
            return self._enum_text(t, indent)  # type: ignore[arg-type]
        if cls is Typedef:
            return self.name_of(t)
        if cls is Fwd:
            word = "union" if t.kind == FwdKind.UNION else "struct"  # type: ignore[attr-defined]
            return f"{word} {self.name_of(t)}"
        if cls is Int or cls is Float:
            return t.name or "int"
        return "void"

    # ---- layout

    def align(self, t: Type) -> int:
        """The alignment in bytes of ``t`` as this header writes it."""
        a = self._aligns.get(t)
        if a is None:
            a = self._aligns[t] = self._align(t)
        return a

    def _align(self, t: Type) -> int:
        depth = 0
        while True:
            cls = type(t)
            if cls is Array or cls is Typedef or cls in _QUALIFIERS:
                t = t.type  # type: ignore[attr-defined]
                depth += 1
                if depth > 64:
                    raise ValueError(f"{self._id(t)}: reference chain too deep (a cycle?)")
                continue
            break
        if cls is Int or cls is Float or cls is Enum:
            size = t.size  # type: ignore[attr-defined]
            return size if size in (1, 2, 4, 8, 16) else 1
        if cls is Pointer:
            return 8
        if cls is Struct or cls is _Union:
            return self.layout(t).align  # type: ignore[arg-type]
        return 1

    def layout(self, t: Composite) -> _Layout:
        """Packed or not, and the padding that puts each member at its BTF offset."""
        lay = self._layouts.get(t)
        if lay is not None:
            return lay
        if t in self._active:
            raise ValueError(f"{self._id(t)}: {type(t).__name__.lower()} {t.name!r} "
                             "contains itself by value")
        self._active.add(t)
        try:
            if type(t) is _Union:
                lay = self._union_layout(t, False)
                if lay is None:
                    lay = self._union_layout(t, True)
            else:
                lay = self._struct_layout(t, False)
                if lay is None:
                    lay = self._struct_layout(t, True)
            assert lay is not None
        finally:
            self._active.discard(t)
        self._layouts[t] = lay
        return lay

    def _member_shape(self, m: _Mem) -> tuple[int, int]:
        """(alignment in bytes, size in bits) of a member as declared."""
        a = self.align(m[1])
        return a, (m[3] or self.sizeof(m[1]) * 8)

    def _struct_layout(self, t: Composite, packed: bool) -> Optional[_Layout]:
        items: list[_Item] = []
        cursor = 0
        align = 1
        for m in self.members(t):
            a, bits = self._member_shape(m)
            off, bitfield = m[2], m[3]
            if packed:
                pos = cursor if bitfield else _round_up(cursor, 8)
            else:
                pos = _place(cursor, a, bitfield)
                if pos > off:
                    return None
                if pos < off and _place(off, a, bitfield) != off:
                    return None
                if m[0] or not bitfield:
                    align = max(align, a)
            pad = off - cursor if off > pos else 0
            items.append((m, pad))
            cursor = max(off, pos) + bits
        size = t.size * 8
        if not packed and t.size % align:
            return None
        # C rounds the size up to the alignment by itself; pad only past that.
        natural = cursor if packed else _round_up(cursor, align * 8)
        tail = size - cursor if size > natural else 0
        return _Layout(packed, items, tail, 1 if packed else align)

    def _union_layout(self, t: Composite, packed: bool) -> Optional[_Layout]:
        items: list[_Item] = []
        biggest = 0
        align = 1
        for m in self.members(t):
            a, bits = self._member_shape(m)
            items.append((m, 0))
            biggest = max(biggest, (bits + 7) // 8)
            align = max(align, a)
        if packed:
            align = 1
        elif t.size % align:
            return None
        natural = _round_up(biggest, align)
        tail = t.size if t.size > natural else 0  # the padding member spans the union
        return _Layout(packed, items, tail * 8, align)


_QUALIFIERS: frozenset[type] = frozenset({Const, Volatile, Restrict, TypeTag, Qualifier})
_QUALIFIER_WORDS: frozenset[type] = frozenset({Const, Volatile, Restrict})


def _plain_declarator(t: Type) -> bool:
    """Whether ``t`` is declared the same way everywhere: no anonymous type written out,
    no prototype (whose parameters may hold one)."""
    for _ in range(_MAX_NESTING):
        cls = type(t)
        if cls is Pointer:
            t = t.target  # type: ignore[attr-defined]
        elif cls is Array or cls in _QUALIFIERS or (cls is Typedef and t.name in
                                                     _BUILTIN_TYPEDEFS):
            t = t.type  # type: ignore[attr-defined]
        elif cls is FuncProto:
            return False
        else:
            return bool(t.name) or cls is Void
    return False


def _skip_qualifiers(t: Type) -> Type:
    for _ in range(64):
        if type(t) not in _QUALIFIERS:
            return t
        t = t.type  # type: ignore[attr-defined]
    return t


def _place(cursor: int, align: int, bitfield: int) -> int:
    """Where C puts a member (bit offset) at ``cursor`` in a struct that is not packed."""
    unit = align * 8
    if not bitfield:
        return _round_up(cursor, unit)
    # A bitfield stays in one aligned unit of its type; else it starts the next one.
    if cursor // unit != (cursor + bitfield - 1) // unit:
        return _round_up(cursor, unit)
    return cursor


def _padding(cursor: int, bits: int, indent: str) -> list[str]:
    """Unnamed bitfields covering ``bits`` bits from ``cursor``, none crossing a unit."""
    lines = []
    end = cursor + bits
    if bits > _MAX_BITFIELD_PADDING:
        # A gap this long as `long: 64;` lines would be unbounded text on a crafted size:
        # one byte array instead (align 1, so it moves nothing), named by its offset.
        if cursor % 8:
            lines.append(f"{indent}char: {8 - cursor % 8};\n")
            cursor += 8 - cursor % 8
        lines.append(f"{indent}unsigned char __pad_{cursor // 8}[{(end - cursor) // 8}];\n")
        cursor = end - (end - cursor) % 8
    while cursor < end:
        if cursor % 8 or end - cursor < 8:
            k = min(8 - cursor % 8, end - cursor)
            lines.append(f"{indent}char: {k};\n")
            cursor += k
            continue
        byte, left = cursor // 8, (end - cursor) // 8
        for n in (8, 4, 2, 1):
            if byte % n == 0 and left >= n:
                lines.append(f"{indent}{_PAD_TYPE[n]}: {n * 8};\n")
                cursor += n * 8
                break
    return lines


def _union_padding(bits: int, indent: str) -> list[str]:
    """A union member of ``bits`` bits that adds size but no alignment."""
    n = bits // 8
    if n in _PAD_TYPE:
        return [f"{indent}{_PAD_TYPE[n]}: {bits};\n"]
    inner = indent + "\t"
    return [f"{indent}struct {{\n", *_padding(0, bits, inner), f"{indent}}};\n"]


def format_c(types: Iterable[Type]) -> str:
    """Write the types of a spec (any iterable of types, in id order) as a C header.

    Raises:
        ValueError: a struct contains itself by value, or a reference cycle that C
            cannot express (the message names the type id).
    """
    return CFormatter(types).format()
