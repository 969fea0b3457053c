"""The BTF writer: a ``Spec`` to raw BTF bytes (the layout of include/uapi/linux/btf.h).

Owns ``marshal(spec)`` and the string table builder (``StringTable``: each distinct
string stored once). Pure Python; imports ``types`` and ``spec``.

What is written: the spec's own types in id order (for split BTF, the types after the
base, with string offsets continuing after the base's string table, as the kernel expects
of module BTF). Choices the model leaves open: a struct or union gets kind_flag 1 exactly
when one of its members is a bitfield; an enum is ENUM64 when ``Enum.btf_kind`` says so.
The output is what BPF_BTF_LOAD accepts, and ``Spec.from_bytes(marshal(s)) == s``.
"""

from __future__ import annotations

import struct

from .spec import BTF_MAGIC, Spec
from .types import (
    Array,
    Composite,
    Datasec,
    DeclTag,
    Enum,
    Float,
    Func,
    FuncProto,
    Fwd,
    Int,
    Kind,
    Pointer,
    Qualifier,
    Type,
    Typedef,
    TypeTag,
    Var,
)

__all__ = ["marshal", "StringTable"]

_HDR = struct.Struct("<HBBIIIII")
_TYPE = struct.Struct("<III")


class StringTable:
    """A BTF string table under construction: offset 0 is "", each string stored once."""

    __slots__ = ("_offsets", "_parts", "_size", "_base")

    def __init__(self, base: int = 0) -> None:
        """``base``: offsets start after a base string table of this length (split BTF)."""
        self._base = base
        self._offsets: dict[str, int] = {}
        self._parts: list[bytes] = []
        self._size = 0
        if base == 0:
            self._offsets[""] = 0
            self._parts.append(b"\0")
            self._size = 1

    def add(self, s: str) -> int:
        """The offset of ``s``, adding it when new. ValueError for a string with a NUL."""
        off = self._offsets.get(s)
        if off is not None:
            return off
        if not s and self._base:
            return 0  # "" is offset 0 of the base's table
        raw = s.encode("utf-8", "surrogateescape")
        if b"\0" in raw:
            raise ValueError(f"BTF: name {s!r} contains a NUL byte")
        off = self._base + self._size
        self._offsets[s] = off
        self._parts.append(raw + b"\0")
        self._size += len(raw) + 1
        return off

    def __bytes__(self) -> bytes:
        return b"".join(self._parts)


def _info(kind: int, vlen: int, kflag: int, type_id: int) -> int:
    if vlen > 0xFFFF:
        raise ValueError(f"BTF: type {type_id}: {vlen} members/values/parameters, more than "
                         "the 65535 BTF can hold")
    return (kflag << 31) | (kind << 24) | vlen


def marshal(spec: Spec) -> bytes:  # noqa: C901 - one branch per kind
    """Raw BTF of ``spec``'s own types (split BTF on ``spec.base`` when it has one).

    Raises:
        ValueError: a type that BTF cannot encode (a member offset of 2**24 bits or more in a
            struct with bitfields, more than 65535 members, a name with NUL, a reference to a
            type outside the spec).
    """
    base_str = spec.base._total_str_len() if spec.base is not None else 0
    strings = StringTable(base_str)
    out: list[bytes] = []
    pack = _TYPE.pack

    def ref(t: Type, type_id: int, what: str) -> int:
        try:
            return spec.type_id(t)
        except KeyError:
            raise ValueError(f"BTF: type {type_id}: {what} {t!r} is not in the spec") from None

    for type_id, t in spec.own_types():
        name = strings.add(t.name)
        if isinstance(t, Int):
            out.append(pack(name, _info(Kind.INT, 0, 0, type_id), t.size))
            out.append(struct.pack("<I", (int(t.encoding) << 24) | (t.offset << 16) | t.bits))
        elif isinstance(t, Pointer):
            out.append(pack(name, _info(Kind.PTR, 0, 0, type_id), ref(t.target, type_id, "target")))
        elif isinstance(t, Array):
            out.append(pack(name, _info(Kind.ARRAY, 0, 0, type_id), 0))
            out.append(struct.pack("<III", ref(t.type, type_id, "element"),
                                   ref(t.index, type_id, "index"), t.nelems))
        elif isinstance(t, Composite):
            bitfields = any(m.bitfield_size for m in t.members)
            out.append(pack(name, _info(t.btf_kind, len(t.members), int(bitfields), type_id),
                            t.size))
            for i, m in enumerate(t.members):
                off = m.offset
                if bitfields:
                    if off >= 1 << 24 or m.bitfield_size >= 1 << 8:
                        raise ValueError(f"BTF: type {type_id}: member {i} ({m.name!r}): "
                                         f"offset {off} or bitfield size {m.bitfield_size} "
                                         "too large for a struct with bitfields")
                    off |= m.bitfield_size << 24
                out.append(pack(strings.add(m.name), ref(m.type, type_id, f"member {i}"), off))
        elif isinstance(t, Enum):
            kind = t.btf_kind
            out.append(pack(name, _info(kind, len(t.values), int(t.signed), type_id), t.size))
            lo, hi = (-(1 << 31), 1 << 31) if t.signed else (0, 1 << 32)
            lo64, hi64 = (-(1 << 63), 1 << 63) if t.signed else (0, 1 << 64)
            for v in t.values:
                if not lo64 <= v.value < hi64:
                    sign = "signed" if t.signed else "unsigned"
                    raise ValueError(f"BTF: type {type_id}: enumerator {v.name!r} = {v.value} "
                                     f"is out of range for a {sign} enum")
                if kind == Kind.ENUM:
                    if not lo <= v.value < hi:
                        raise ValueError(f"BTF: type {type_id}: enumerator {v.name!r} = "
                                         f"{v.value} needs ENUM64")
                    out.append(struct.pack("<II", strings.add(v.name), v.value & 0xFFFFFFFF))
                else:
                    u = v.value & 0xFFFFFFFFFFFFFFFF
                    out.append(struct.pack("<III", strings.add(v.name), u & 0xFFFFFFFF, u >> 32))
        elif isinstance(t, Fwd):
            out.append(pack(name, _info(Kind.FWD, 0, int(t.kind), type_id), 0))
        elif isinstance(t, (Typedef, Qualifier)):
            out.append(pack(name, _info(t.btf_kind, 0, 0, type_id), ref(t.type, type_id, "type")))
        elif isinstance(t, Func):
            out.append(pack(name, _info(Kind.FUNC, int(t.linkage), 0, type_id),
                            ref(t.type, type_id, "prototype")))
        elif isinstance(t, FuncProto):
            out.append(pack(name, _info(Kind.FUNC_PROTO, len(t.params), 0, type_id),
                            ref(t.return_, type_id, "return type")))
            for i, p in enumerate(t.params):
                out.append(struct.pack("<II", strings.add(p.name),
                                       ref(p.type, type_id, f"parameter {i}")))
        elif isinstance(t, Var):
            out.append(pack(name, _info(Kind.VAR, 0, 0, type_id), ref(t.type, type_id, "type")))
            out.append(struct.pack("<I", int(t.linkage)))
        elif isinstance(t, Datasec):
            out.append(pack(name, _info(Kind.DATASEC, len(t.vars), 0, type_id), t.size))
            for i, sv in enumerate(t.vars):
                out.append(struct.pack("<III", ref(sv.type, type_id, f"variable {i}"),
                                       sv.offset, sv.size))
        elif isinstance(t, Float):
            out.append(pack(name, _info(Kind.FLOAT, 0, 0, type_id), t.size))
        elif isinstance(t, DeclTag):
            out.append(pack(name, _info(Kind.DECL_TAG, 0, int(t.attribute), type_id),
                            ref(t.type, type_id, "type")))
            out.append(struct.pack("<i", t.index))
        elif isinstance(t, TypeTag):
            out.append(pack(name, _info(Kind.TYPE_TAG, 0, int(t.attribute), type_id),
                            ref(t.type, type_id, "type")))
        else:
            raise ValueError(f"BTF: type {type_id}: cannot write {t!r}")
    types = b"".join(out)
    strs = bytes(strings)
    header = _HDR.pack(BTF_MAGIC, 1, 0, _HDR.size, 0, len(types), len(types), len(strs))
    return header + types + strs
