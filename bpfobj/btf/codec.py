"""Values of BTF types: ``decode(t, data)`` and its inverse ``encode(t, value)``.

Owns the value codec. Imports only ``bpfobj.btf.types`` (pure Python).

What a value becomes in Python:

- integers (signedness from the BTF, bitfields included) and pointers: ``int``;
  ``bool`` types: ``bool`` when the byte is 0 or 1 (else the ``int``, so nothing is lost);
- floats: ``float`` (4 and 8 bytes; other sizes stay ``bytes``);
- enums: the enumerator's name (``str``) when the value has one, else the ``int``;
- char arrays: ``str`` when they hold UTF-8 text up to a NUL followed only by NULs,
  else ``bytes``; other arrays: ``list``;
- structs and unions: ``dict`` of member name to value, the members of anonymous
  struct/union members merged in (as C lets you name them); for a union, every member;
- a Datasec (a ``.data``/``.bss`` map value): ``dict`` of variable name to value;
- typedefs, qualifiers and type tags are followed.

``encode`` takes the same shapes back (a missing struct member is zero; padding is zero)
and raises ValueError naming the member on a mismatch. ``encode(t, decode(t, b)) == b``
whenever the padding of ``b`` is zero (decode does not keep padding). Byte order is the
host's; bitfields are laid out as on little-endian machines.
"""

from __future__ import annotations

import struct
import sys
from collections.abc import Callable
from typing import Any, Optional

from typing_extensions import Buffer

from .types import (
    Array,
    Composite,
    Datasec,
    Enum,
    Float,
    Int,
    IntEncoding,
    Pointer,
    Qualifier,
    Type,
    Typedef,
    TypeTag,
    Var,
    sizeof,
    underlying_type,
)

__all__ = ["decode", "encode"]

_ORDER = sys.byteorder
_INT_FORMATS = {(1, False): "B", (1, True): "b", (2, False): "H", (2, True): "h",
                (4, False): "I", (4, True): "i", (8, False): "Q", (8, True): "q"}
_FLOAT_FORMATS = {4: "f", 8: "d"}
_CACHE_LIMIT = 1 << 16
#: Arrays of zero-sized elements longer than this are refused (nothing bounds them).
_MAX_EMPTY_ELEMS = 1 << 16
_MAX_DEPTH = 64

Decoder = Callable[[bytes, int], Any]
Encoder = Callable[[Any, bytearray, int, str], None]


class _Codec:
    """How one type's values are read and written: ``size`` bytes, ``mask`` (an int over
    the value's bits: those a value sets, padding excluded), ``dec``, ``enc``."""

    __slots__ = ("size", "mask", "dec", "enc")

    def __init__(self, size: int, mask: int, dec: Decoder, enc: Encoder) -> None:
        self.size = size
        self.mask = mask
        self.dec = dec
        self.enc = enc


_codecs: dict[Type, _Codec] = {}


def decode(t: Type, data: Buffer) -> object:
    """The Python value of ``data``, a value of type ``t`` (see the module docstring).

    Raises:
        ValueError: ``data`` is not ``sizeof(t)`` bytes, or ``t`` has no values (void,
            a function, a forward declaration) or is a cycle.
    """
    c = _codec(t)
    raw = bytes(memoryview(data))
    if len(raw) != c.size:
        raise ValueError(f"decode {_what(t)}: {len(raw)} bytes, the type has {c.size} bytes")
    return c.dec(raw, 0)


def encode(t: Type, value: object) -> bytes:
    """The bytes of ``value`` as type ``t``: the inverse of ``decode``.

    Raises:
        ValueError: the value does not fit the type; the message names the member
            (``key.flags[2]``) and what was expected.
    """
    c = _codec(t)
    buf = bytearray(c.size)
    c.enc(value, buf, 0, "")
    return bytes(buf)


def _what(t: Type) -> str:
    name = getattr(t, "name", "")
    return f"{type(t).__name__}({name!r})" if name else type(t).__name__


def _where(path: str) -> str:
    return f"member {path!r}" if path else "value"


def _codec(t: Type, depth: int = 0, active: Optional[set[Type]] = None) -> _Codec:
    c = _codecs.get(t)
    if c is not None:
        return c
    if depth > _MAX_DEPTH:
        raise ValueError(f"{_what(t)}: types nested more than {_MAX_DEPTH} deep (a cycle?)")
    active = set() if active is None else active
    if t in active:
        raise ValueError(f"{_what(t)}: contains itself by value")
    active.add(t)
    try:
        c = _build(t, depth, active)
    finally:
        active.discard(t)
    if len(_codecs) >= _CACHE_LIMIT:
        _codecs.clear()
    _codecs[t] = c
    return c


def _build(t: Type, depth: int, active: set[Type]) -> _Codec:
    if isinstance(t, (Typedef, Qualifier, TypeTag, Var)):
        return _codec(t.type, depth + 1, active)
    if isinstance(t, Int):
        if t.offset or t.bits != t.size * 8:  # the legacy bitfield-in-Int encoding
            return _bits_codec(t.size, t.offset, t.bits, t.signed, None,
                               bool(t.encoding & IntEncoding.BOOL))
        return _int_codec(t.size, t.signed, bool(t.encoding & IntEncoding.BOOL))
    if isinstance(t, Pointer):
        return _int_codec(8, False, False)
    if isinstance(t, Enum):
        return _enum_codec(t)
    if isinstance(t, Float):
        return _float_codec(t.size)
    if isinstance(t, Array):
        return _array_codec(t, depth, active)
    if isinstance(t, Composite):
        return _composite_codec(t, depth, active)
    if isinstance(t, Datasec):
        return _datasec_codec(t, depth, active)
    raise ValueError(f"{_what(t)}: {t.btf_kind.name} has no values")


def _int_range(size: int, signed: bool) -> tuple[int, int]:
    bits = size * 8
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)


def _check_int(value: object, lo: int, hi: int, path: str, kind: str) -> int:
    if not isinstance(value, int):
        raise ValueError(f"{_where(path)}: expected an int ({kind}), got "
                         f"{type(value).__name__} {value!r}")
    if not lo <= value <= hi:
        raise ValueError(f"{_where(path)}: {value} out of range for {kind} [{lo}, {hi}]")
    return value


def _int_codec(size: int, signed: bool, is_bool: bool) -> _Codec:
    lo, hi = _int_range(size, signed)
    kind = f"{'bool' if is_bool else 'signed' if signed else 'unsigned'} {size}-byte int"
    fmt = _INT_FORMATS.get((size, signed))
    mask = (1 << (size * 8)) - 1
    if fmt is not None:
        st = struct.Struct("=" + fmt)
        unpack, pack = st.unpack_from, st.pack_into

        if is_bool:
            def dec(buf: bytes, off: int) -> Any:
                v = unpack(buf, off)[0]
                return v == 1 if v in (0, 1) else v
        else:
            def dec(buf: bytes, off: int) -> Any:
                return unpack(buf, off)[0]

        def enc(value: Any, buf: bytearray, off: int, path: str) -> None:
            if value.__class__ is not int:
                _check_int(value, lo, hi, path, kind)
            try:
                pack(buf, off, value)
            except struct.error:
                _check_int(value, lo, hi, path, kind)
                raise
        return _Codec(size, mask, dec, enc)

    def dec_big(buf: bytes, off: int) -> Any:
        return int.from_bytes(buf[off:off + size], _ORDER, signed=signed)

    def enc_big(value: Any, buf: bytearray, off: int, path: str) -> None:
        v = _check_int(value, lo, hi, path, kind)
        buf[off:off + size] = v.to_bytes(size, _ORDER, signed=signed)
    return _Codec(size, mask, dec_big, enc_big)


def _bits_codec(size: int, bit_off: int, bits: int, signed: bool,
                names: Optional[Enum] = None, is_bool: bool = False) -> _Codec:
    """A value of ``bits`` bits at ``bit_off`` inside ``size`` bytes (a bitfield)."""
    first = bit_off // 8
    nbytes = (bit_off % 8 + bits + 7) // 8
    shift = bit_off % 8
    field = (1 << bits) - 1
    sign = 1 << (bits - 1) if bits else 0
    lo, hi = (-sign, sign - 1) if signed else (0, field)
    by_value, by_name = _enum_maps(names) if isinstance(names, Enum) else ({}, {})
    kind = f"{bits}-bit {'signed' if signed else 'unsigned'} bitfield"
    size = max(size, first + nbytes)

    def dec(buf: bytes, off: int) -> Any:
        raw = int.from_bytes(buf[off + first:off + first + nbytes], "little")
        v = (raw >> shift) & field
        if signed and v & sign:
            v -= 1 << bits
        if by_value:
            return by_value.get(v, v)
        if is_bool and v in (0, 1):
            return v == 1
        return v

    def enc(value: Any, buf: bytearray, off: int, path: str) -> None:
        if isinstance(value, str) and by_name:
            if value not in by_name:
                raise ValueError(f"{_where(path)}: {value!r} is not an enumerator of "
                                 f"{_what(names) if names is not None else 'the enum'}")
            value = by_name[value]
        v = _check_int(value, lo, hi, path, kind) & field
        start = off + first
        raw = int.from_bytes(buf[start:start + nbytes], "little")
        raw = (raw & ~(field << shift)) | (v << shift)
        buf[start:start + nbytes] = raw.to_bytes(nbytes, "little")
    return _Codec(size, field << bit_off, dec, enc)


def _enum_maps(t: Enum) -> tuple[dict[int, str], dict[str, int]]:
    by_value: dict[int, str] = {}
    by_name: dict[str, int] = {}
    bits = t.size * 8
    for v in t.values:
        value = v.value
        if t.signed and value >= 1 << (bits - 1):  # stored unsigned: read it as C does
            value -= 1 << bits
        elif not t.signed and value < 0:
            value &= (1 << bits) - 1
        by_value.setdefault(value, v.name)
        by_name.setdefault(v.name, value)
    return by_value, by_name


def _enum_codec(t: Enum) -> _Codec:
    inner = _int_codec(t.size, t.signed, False)
    by_value, by_name = _enum_maps(t)
    idec, ienc = inner.dec, inner.enc

    def dec(buf: bytes, off: int) -> Any:
        v = idec(buf, off)
        return by_value.get(v, v)

    def enc(value: Any, buf: bytearray, off: int, path: str) -> None:
        if isinstance(value, str):
            if value not in by_name:
                raise ValueError(f"{_where(path)}: {value!r} is not an enumerator of "
                                 f"{_what(t)}")
            value = by_name[value]
        ienc(value, buf, off, path)
    return _Codec(t.size, inner.mask, dec, enc)


def _float_codec(size: int) -> _Codec:
    fmt = _FLOAT_FORMATS.get(size)
    if fmt is None:
        return _bytes_codec(size)
    st = struct.Struct("=" + fmt)
    unpack, pack = st.unpack_from, st.pack_into

    def dec(buf: bytes, off: int) -> Any:
        return unpack(buf, off)[0]

    def enc(value: Any, buf: bytearray, off: int, path: str) -> None:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ValueError(f"{_where(path)}: expected a float, got "
                             f"{type(value).__name__} {value!r}")
        try:
            pack(buf, off, value)
        except (OverflowError, struct.error) as exc:
            raise ValueError(f"{_where(path)}: {value!r} does not fit a {size}-byte "
                             f"float: {exc}") from None
    return _Codec(size, (1 << (size * 8)) - 1, dec, enc)


def _bytes_codec(size: int) -> _Codec:
    def dec(buf: bytes, off: int) -> Any:
        return buf[off:off + size]

    def enc(value: Any, buf: bytearray, off: int, path: str) -> None:
        if not isinstance(value, (bytes, bytearray, memoryview)) or len(value) != size:
            raise ValueError(f"{_where(path)}: expected {size} bytes, got {value!r}")
        buf[off:off + size] = value
    return _Codec(size, (1 << (size * 8)) - 1, dec, enc)


def _is_char(t: Type) -> bool:
    u = underlying_type(t)
    # As bpftool: a 1-byte int encoded CHAR or named "char"; "unsigned char" (__u8)
    # arrays are numbers.
    return (isinstance(u, Int) and u.size == 1 and u.bits == 8
            and (bool(u.encoding & IntEncoding.CHAR) or u.name == "char"))


def _char_array_codec(n: int) -> _Codec:
    def dec(buf: bytes, off: int) -> Any:
        raw = buf[off:off + n]
        head, nul, rest = raw.partition(b"\0")
        if rest.count(0) == len(rest):
            try:
                text = head.decode()
            except UnicodeDecodeError:
                return raw
            if text.isprintable():
                return text
        return raw

    def enc(value: Any, buf: bytearray, off: int, path: str) -> None:
        if isinstance(value, str):
            data = value.encode()
        elif isinstance(value, (bytes, bytearray, memoryview)):
            data = bytes(value)
        else:
            raise ValueError(f"{_where(path)}: expected str or bytes for char[{n}], got "
                             f"{type(value).__name__} {value!r}")
        if len(data) > n:
            raise ValueError(f"{_where(path)}: {len(data)} bytes do not fit char[{n}]")
        buf[off:off + len(data)] = data
    return _Codec(n, (1 << (n * 8)) - 1, dec, enc)


def _array_codec(t: Array, depth: int, active: set[Type]) -> _Codec:
    n = t.nelems
    if _is_char(t.type):
        return _char_array_codec(n)
    elem = _codec(t.type, depth + 1, active)
    es = elem.size
    if es == 0 and n > _MAX_EMPTY_ELEMS:
        raise ValueError(f"{_what(t)}: {n} elements of size 0")
    mask = 0
    if elem.mask:
        for i in range(n):
            mask |= elem.mask << (i * es * 8)
    edec, eenc = elem.dec, elem.enc
    u = _scalar(t.type)
    fmt = _INT_FORMATS.get((u.size, u.signed)) if isinstance(u, Int) and u.encoding in (
        IntEncoding.UNSIGNED, IntEncoding.SIGNED) and u.bits == u.size * 8 else None

    if fmt is not None and n:
        unpack = struct.Struct(f"={n}{fmt}").unpack_from

        def dec(buf: bytes, off: int) -> Any:
            return list(unpack(buf, off))
    else:
        def dec(buf: bytes, off: int) -> Any:
            return [edec(buf, off + i * es) for i in range(n)]

    def enc(value: Any, buf: bytearray, off: int, path: str) -> None:
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{_where(path)}: expected a list of {n}, got "
                             f"{type(value).__name__}")
        if len(value) != n:
            raise ValueError(f"{_where(path)}: expected {n} elements, got {len(value)}")
        for i, v in enumerate(value):
            eenc(v, buf, off + i * es, f"{path}[{i}]")
    return _Codec(n * es, mask, dec, enc)


def _scalar(t: Type) -> Type:
    return underlying_type(t)


#: A field of a struct or union as the codec sees it: (name, byte offset, codec).
_Field = tuple[str, int, _Codec]


def _fields(t: Composite, base_bits: int, depth: int, active: set[Type],
            out: list[_Field]) -> None:
    """The named fields of ``t`` (anonymous members' fields merged in), at byte offsets
    from the outermost value; bitfields get a codec over the whole outer value."""
    for m in t.members:
        bit = base_bits + m.offset
        mt = m.type
        if m.bitfield_size:
            u = _scalar(mt)
            signed = bool(getattr(u, "signed", False))
            is_bool = isinstance(u, Int) and bool(u.encoding & IntEncoding.BOOL)
            c = _bits_codec(0, bit % 8, m.bitfield_size, signed,
                            u if isinstance(u, Enum) else None, is_bool)
            out.append((m.name, bit // 8, c))
            continue
        if bit % 8:
            raise ValueError(f"{_what(t)}: member {m.name!r} at bit {bit} is not "
                             "byte-aligned")
        if not m.name:
            u = _scalar(mt)
            if isinstance(u, Composite):
                if u in active:
                    raise ValueError(f"{_what(u)}: contains itself by value")
                active.add(u)
                try:
                    _fields(u, bit, depth + 1, active, out)
                finally:
                    active.discard(u)
                continue
        out.append((m.name, bit // 8, _codec(mt, depth + 1, active)))


def _composite_codec(t: Composite, depth: int, active: set[Type]) -> _Codec:
    fields: list[_Field] = []
    _fields(t, 0, depth, active, fields)
    size = t.size
    return _record_codec(_what(t), size, fields)


def _datasec_codec(t: Datasec, depth: int, active: set[Type]) -> _Codec:
    fields: list[_Field] = []
    for vs in t.vars:
        v = vs.type
        name = v.name if isinstance(v, Var) else ""
        c = _codec(v, depth + 1, active)
        if vs.offset + c.size > t.size:
            raise ValueError(f"{_what(t)}: variable {name!r} at {vs.offset} ends past "
                             f"the section's {t.size} bytes")
        fields.append((name, vs.offset, c))
    return _record_codec(_what(t), t.size, fields)


def _record_codec(what: str, size: int, fields: list[_Field]) -> _Codec:
    names: set[str] = set()
    for name, off, c in fields:
        if name in names:  # C rejects such a type too (anonymous members merge)
            raise ValueError(f"{what}: two members named {name!r}")
        names.add(name)
        if off + c.size > size:
            raise ValueError(f"{what}: member {name!r} ends past the type's {size} bytes")
    masks = [c.mask << (off * 8) for _name, off, c in fields]
    mask = 0
    for m in masks:
        mask |= m
    # Members of (merged) unions share bits: those are written through _enc_shared.
    shared = {i for i, m in enumerate(masks)
              if any(m & other for j, other in enumerate(masks) if j != i)}
    lone = [f for i, f in enumerate(fields) if i not in shared]
    together = [(fields[i], masks[i]) for i in sorted(shared)]
    decs = [(name, off, c.dec) for name, off, c in fields]

    def dec(buf: bytes, off: int) -> Any:
        return {name: d(buf, off + o) for name, o, d in decs}

    def enc(value: Any, buf: bytearray, off: int, path: str) -> None:
        if not isinstance(value, dict):
            raise ValueError(f"{_where(path)}: expected a dict for {what}, got "
                             f"{type(value).__name__}")
        for key in value:
            if key not in names:
                raise ValueError(f"{_where(path)}: {what} has no member {key!r}")
        for name, o, c in lone:
            if name in value:
                c.enc(value[name], buf, off + o, f"{path}.{name}" if path else name)
        if together:
            _enc_shared(value, buf, off, path, together, size)

    return _Codec(size, mask, dec, enc)


def _enc_shared(value: dict[str, Any], buf: bytearray, off: int, path: str,
                fields: list[tuple[_Field, int]], size: int) -> None:
    """Union members share bytes: each is encoded alone, and they must agree."""
    acc = acc_mask = 0
    written: list[tuple[str, int]] = []
    for (name, o, c), m in fields:
        if name not in value:
            continue
        where = f"{path}.{name}" if path else name
        scratch = bytearray(c.size)
        c.enc(value[name], scratch, 0, where)
        v = int.from_bytes(scratch, "little") << (o * 8)
        clash = (acc ^ v) & acc_mask & m
        if clash:
            other = next(w for w, wm in written if wm & clash)
            raise ValueError(f"{_where(where)}: disagrees with {other!r}, which shares "
                             "its bytes")
        acc = (acc & ~m) | (v & m)
        acc_mask |= m
        written.append((where, m))
    if acc_mask:
        cur = int.from_bytes(buf[off:off + size], "little")
        cur = (cur & ~acc_mask) | acc
        buf[off:off + size] = cur.to_bytes(size, "little")


def type_size(t: Type) -> int:
    """``sizeof(t)``, for callers that import only this module."""
    return sizeof(t)
