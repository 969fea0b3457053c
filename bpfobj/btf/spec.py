"""The BTF reader: ``Spec`` (raw BTF bytes -> the type model), split BTF, ``kernel_spec()``.

Owns parsing of raw BTF (the ``.BTF`` section layout of include/uapi/linux/btf.h) and the
``Spec`` container. Imports ``types`` (the model), ``_internal.elf`` for ELF objects, and,
when the compiled module is present, ``_internal.syscall`` for the one-call index of
type offsets and names (the pure-Python scan gives the same result without it).

Decoding is lazy: ``from_bytes`` validates the header and indexes where each type starts;
``spec[id]`` decodes one type, and its references decode when they are first read.
Finding a name scans the raw records for it (in C when compiled) without decoding anything
else.

Untrusted input: every error is a ``ValueError`` that names the type id or the byte
offset; nothing loops without bound (type records are walked once, reference chains are
bounded by ``MAX_RESOLVE_DEPTH``) and no allocation exceeds a small multiple of the input.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import os
import struct
import sys
import threading
from collections.abc import Iterable, Iterator
from typing import Any, Optional, TypeVar, Union, overload

from .types import (
    Array,
    Const,
    Datasec,
    DeclTag,
    Enum,
    EnumValue,
    Float,
    Func,
    FuncLinkage,
    FuncParam,
    FuncProto,
    Fwd,
    FwdKind,
    Int,
    IntEncoding,
    Kind,
    Member,
    Pointer,
    Restrict,
    Struct,
    Type,
    Typedef,
    TypeTag,
    Var,
    VarLinkage,
    VarSecinfo,
    Void,
    Volatile,
)
from .types import (
    Union as UnionType,
)

__all__ = ["Spec", "kernel_spec", "BTF_MAGIC", "KERNEL_BTF_DIR"]

BTF_MAGIC = 0xEB9F
KERNEL_BTF_DIR = "/sys/kernel/btf"
_HDR = struct.Struct("<HBBIIIII")
_HDR_LEN = _HDR.size  # 24
_TYPE = struct.Struct("<III")
_U32 = struct.Struct("<I")
_I32 = struct.Struct("<i")
_3U32 = struct.Struct("<III")
_2U32 = struct.Struct("<II")
_2I32 = struct.Struct("<Ii")
_ENCODINGS = [IntEncoding(i) for i in range(16)]
_FUNC_LINKAGES = list(FuncLinkage)
_VAR_LINKAGES = list(VarLinkage)
_ENUM_KINDS = (Kind.ENUM, Kind.ENUM64)
# Plain ints for the decoder's comparisons: ``kind == Kind.STRUCT`` costs ten times
# ``kind == _K_STRUCT`` (an enum attribute lookup each time), which was most of decoding.
_K_ARRAY = int(Kind.ARRAY)
_K_DATASEC = int(Kind.DATASEC)
_K_DECL_TAG = int(Kind.DECL_TAG)
_K_ENUM = int(Kind.ENUM)
_K_ENUM64 = int(Kind.ENUM64)
_K_FLOAT = int(Kind.FLOAT)
_K_FUNC = int(Kind.FUNC)
_K_FUNC_PROTO = int(Kind.FUNC_PROTO)
_K_FWD = int(Kind.FWD)
_K_INT = int(Kind.INT)
_K_PTR = int(Kind.PTR)
_K_STRUCT = int(Kind.STRUCT)
_K_UNION = int(Kind.UNION)
_K_VAR = int(Kind.VAR)
_MAX_KIND = 19
_KINDS = list(Kind)

# Bytes after the 12-byte btf_type header: fixed, and per vlen item.
_EXTRA: dict[int, tuple[int, int]] = {
    Kind.INT: (4, 0), Kind.PTR: (0, 0), Kind.ARRAY: (12, 0), Kind.STRUCT: (0, 12),
    Kind.UNION: (0, 12), Kind.ENUM: (0, 8), Kind.FWD: (0, 0), Kind.TYPEDEF: (0, 0),
    Kind.VOLATILE: (0, 0), Kind.CONST: (0, 0), Kind.RESTRICT: (0, 0), Kind.FUNC: (0, 0),
    Kind.FUNC_PROTO: (0, 8), Kind.VAR: (4, 0), Kind.DATASEC: (0, 12), Kind.FLOAT: (0, 0),
    Kind.DECL_TAG: (4, 0), Kind.TYPE_TAG: (0, 0), Kind.ENUM64: (0, 12),
}
# Kinds whose name must be empty / whose size field is a type id.
_REF_KINDS = frozenset({Kind.PTR, Kind.TYPEDEF, Kind.VOLATILE, Kind.CONST, Kind.RESTRICT,
                        Kind.FUNC, Kind.FUNC_PROTO, Kind.VAR, Kind.DECL_TAG, Kind.TYPE_TAG})

T = TypeVar("T", bound=Type)


@functools.lru_cache(maxsize=1)
def _csys() -> Any:
    """The syscall module when the compiled module imports, else None (pure-Python scan)."""
    try:
        # deferred: the model must import without the compiled module
        from bpfobj._internal import syscall
    except ImportError:
        return None
    return syscall if hasattr(syscall, "btf_index") else None


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC (if it runs) for a bulk build of objects that are all kept."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _parse_header(data: bytes) -> tuple[int, int, int, int]:
    """Check the header; return (type_start, type_len, str_start, str_len), absolute."""
    if len(data) < _HDR_LEN:
        raise ValueError(f"BTF: {len(data)} bytes is shorter than the {_HDR_LEN}-byte header")
    magic, version, _flags, hdr_len, type_off, type_len, str_off, str_len = \
        _HDR.unpack_from(data, 0)
    if magic != BTF_MAGIC:
        if magic == 0x9FEB:
            raise ValueError("BTF: big-endian BTF (magic 0x9feb) is not supported")
        raise ValueError(f"BTF: bad magic {magic:#06x} at offset 0 (want {BTF_MAGIC:#06x})")
    if version != 1:
        raise ValueError(f"BTF: unsupported version {version} at offset 2")
    if hdr_len < _HDR_LEN or hdr_len > len(data):
        raise ValueError(f"BTF: header length {hdr_len} at offset 4 out of range "
                         f"({_HDR_LEN}..{len(data)})")
    if any(data[_HDR_LEN:hdr_len]):
        raise ValueError(f"BTF: header is {hdr_len} bytes and its bytes past {_HDR_LEN} "
                         "are not zero (a newer format)")
    body = len(data) - hdr_len
    if type_off % 4:
        raise ValueError(f"BTF: type section offset {type_off} is not 4-byte aligned")
    if type_off + type_len > body:
        raise ValueError(f"BTF: type section {type_off}+{type_len} past the end ({body} bytes "
                         f"after the header)")
    if str_off + str_len > body:
        raise ValueError(f"BTF: string section {str_off}+{str_len} past the end ({body} bytes "
                         f"after the header)")
    if type_off < str_off + str_len and str_off < type_off + type_len:
        raise ValueError("BTF: type and string sections overlap")
    return hdr_len + type_off, type_len, hdr_len + str_off, str_len


def _scan_py(data: bytes, start: int, length: int) -> list[int]:
    """Byte offsets (absolute) of each type record; the pure-Python twin of btf_index()."""
    offsets: list[int] = []
    pos, end = start, start + length
    unpack = _U32.unpack_from
    while pos < end:
        if end - pos < 12:
            raise ValueError(f"BTF: type {len(offsets) + 1} at offset {pos - start}: "
                             f"truncated header ({end - pos} bytes left)")
        info = unpack(data, pos + 4)[0]
        kind = (info >> 24) & 0x1F
        if kind == 0 or kind > _MAX_KIND:
            raise ValueError(f"BTF: type {len(offsets) + 1} at offset {pos - start}: "
                             f"unknown kind {kind}")
        fixed, per = _EXTRA[kind]
        size = 12 + fixed + per * (info & 0xFFFF)
        if size > end - pos:
            raise ValueError(f"BTF: type {len(offsets) + 1} at offset {pos - start}: "
                             f"{_KINDS[kind].name} of {size} bytes runs past the type section")
        offsets.append(pos)
        pos += size
    return offsets


def _value_refs(data: bytes, pos: int) -> list[int]:
    """The by-value references of the record at ``pos`` (twin of btf.c's btf_value_ref)."""
    info, size = _2U32.unpack_from(data, pos + 4)
    kind, vlen = (info >> 24) & 0x1F, info & 0xFFFF
    if kind in (Kind.STRUCT, Kind.UNION):
        return [m for _, m, _ in _3U32.iter_unpack(data[pos + 12:pos + 12 + 12 * vlen])]
    if kind == Kind.DATASEC:
        return [v for v, _, _ in _3U32.iter_unpack(data[pos + 12:pos + 12 + 12 * vlen])]
    if kind == Kind.ARRAY:
        return [_U32.unpack_from(data, pos + 12)[0]]
    if kind in (Kind.TYPEDEF, Kind.VOLATILE, Kind.CONST, Kind.RESTRICT, Kind.VAR,
                Kind.TYPE_TAG):
        return [size]
    return []


def _find_cycle_py(data: bytes, offsets: Any, id0: int) -> Optional[int]:
    """Index of a type on a by-value reference cycle, or None (twin of btf_find_cycle)."""
    n = len(offsets)
    state = bytearray(n)
    for root in range(n):
        if state[root]:
            continue
        state[root] = 1
        stack = [(root, iter(_value_refs(data, offsets[root])))]
        while stack:
            v, refs = stack[-1]
            ref = next(refs, None)
            if ref is None:
                state[v] = 2
                stack.pop()
                continue
            w = ref - id0
            if not 0 <= w < n:
                continue
            if state[w] == 1:
                return w
            if state[w] == 0:
                state[w] = 1
                stack.append((w, iter(_value_refs(data, offsets[w]))))
    return None


class Spec:
    """The types of one BTF blob (cilium/ebpf's ``btf.Spec``), indexed by type id.

    ``len(spec)`` counts Void (id 0) and, for split BTF, the base's types: ids continue
    from the base, as the kernel numbers module BTF on top of vmlinux. ``spec[id]`` gives
    the ``Type``; iteration is in id order (Void first, then the base's types, if any).

    Equality: two specs are equal when they have the same number of types and, id by id,
    the types have the same class, the same scalar fields and lists, and references to the
    same type ids (their bases compared the same way). This is a structural comparison that
    is finite on cyclic graphs; ``Spec.from_bytes(spec.marshal()) == spec`` holds for any
    spec. Encoding details the model does not keep (kind_flag of a struct without bitfields,
    string order and deduplication, the header's length) do not take part; ENUM vs ENUM64
    does (``Enum.btf_kind``). Types themselves compare by identity (see types.py).
    """

    __slots__ = ("_base", "_shift", "_id0", "_types", "_ids", "_data", "_offsets", "_strs",
                 "_base_str_len", "_name_cache", "_keep", "_lock", "__weakref__")

    def __init__(self, types: Iterable[Type] = (), base: Optional[Spec] = None) -> None:
        """Make a spec of ``types`` and every type they reference, in that order.

        Types already in ``base`` keep their base ids; new ones get ids after it.
        Void is always id 0, and is not listed.
        """
        self._base = base
        # _types[type_id - _shift] holds the type; offsets[k] is the record of type _id0 + k.
        self._shift = len(base) if base is not None else 0
        self._id0 = self._shift if base is not None else 1
        self._data: Any = b""  # the raw BTF: bytes, or a memoryview of a mapping (_keep)
        self._keep: Any = None
        self._offsets: Any = ()
        self._strs = b""  # the string section, always bytes
        self._base_str_len = base._total_str_len() if base is not None else 0
        self._name_cache: Optional[dict[str, list[int]]] = None
        # Decoding happens under this lock: two threads reading the same type get one object.
        self._lock = threading.Lock()
        self._ids: dict[Type, int] = {}
        self._types: list[Optional[Type]] = []
        if base is None:
            void = Void()
            self._types.append(void)
            self._ids[void] = 0
        for t in types:
            self._add(t)

    # -- building -------------------------------------------------------------------------

    def _known(self, t: Type) -> bool:
        if t in self._ids or isinstance(t, Void):
            return True
        return self._base is not None and self._base._known(t)

    def _add(self, root: Type) -> None:
        """Add ``root`` and what it references (iteratively: deep graphs and cycles are fine)."""
        stack = [root]
        while stack:
            t = stack.pop()
            if not isinstance(t, Type):
                raise TypeError(f"Spec: {t!r} is not a btf.Type")
            if self._known(t):
                continue
            self._ids[t] = self._shift + len(self._types)
            self._types.append(t)
            stack.extend(reversed(list(_references(t))))

    # -- reading --------------------------------------------------------------------------

    @classmethod
    def from_bytes(cls, data: Union[bytes, bytearray, memoryview],
                   base: Optional[Spec] = None) -> Spec:
        """Parse raw BTF: a ``.BTF`` section or a /sys/kernel/btf file.

        With ``base`` the BTF is split BTF on top of it (a module's on vmlinux): its type
        ids and string offsets continue after the base's.

        Raises:
            ValueError: the bytes are not valid BTF (the message names the type id or offset).
        """
        # Copied once (unless bytes already), so that later changes cannot reach us.
        return cls._from_raw(data if isinstance(data, bytes) else bytes(data), base)

    @classmethod
    def _from_raw(cls, raw: Any, base: Optional[Spec], keep: Any = None) -> Spec:
        """Parse ``raw`` (bytes, or a read-only memoryview of a mapping that ``keep`` owns)."""
        type_start, type_len, str_start, str_len = _parse_header(raw)
        if str_len and raw[str_start + str_len - 1] != 0:
            raise ValueError(f"BTF: string section does not end with NUL (offset "
                             f"{str_start + str_len - 1})")
        if base is None and str_len and raw[str_start] != 0:
            raise ValueError("BTF: string section does not start with NUL (offset 0)")
        csys = _csys()
        offsets: Any
        if csys is not None:
            try:
                offsets = csys.btf_index(raw, type_start, type_len)
            except ValueError:
                _scan_py(raw, type_start, type_len)  # the same error, said in more detail
                raise
        else:
            offsets = _scan_py(raw, type_start, type_len)
        spec = cls(base=base)
        find_cycle = csys.btf_find_cycle if csys is not None else _find_cycle_py
        bad = find_cycle(raw, offsets, spec._id0)
        if bad is not None:
            raise ValueError(f"BTF: type {spec._id0 + bad}: reference cycle (the type contains "
                             "itself through typedefs, qualifiers, arrays or by-value members)")
        spec._data = raw
        spec._keep = keep
        spec._offsets = offsets
        spec._strs = bytes(raw[str_start:str_start + str_len])
        spec._types.extend([None] * len(offsets))
        return spec

    @classmethod
    def from_file(cls, path: Union[str, os.PathLike[str]], base: Optional[Spec] = None) -> Spec:
        """Read a raw BTF file, or the ``.BTF`` section of an ELF object.

        Raises:
            ValueError: not BTF, or an ELF object without a ``.BTF`` section.
            OSError: the file cannot be read.
        """
        with open(path, "rb") as f:
            data = f.read()
        if data[:4] == b"\x7fELF":
            data = elf_btf_section(data, os.fspath(path))
        return cls.from_bytes(data, base=base)

    def _base_strings(self) -> bytes:
        """The base's whole string table (what offsets below _base_str_len index)."""
        return self._base._all_strings() if self._base is not None else b""

    def _all_strings(self) -> bytes:
        return self._base_strings() + self._strs if self._base is not None else self._strs

    def _total_str_len(self) -> int:
        return self._base_str_len + len(self._strs)

    def _str(self, off: int, type_id: int) -> str:
        if off < self._base_str_len:
            assert self._base is not None
            return self._base._str(off, type_id)
        off -= self._base_str_len
        if off >= len(self._strs):
            raise ValueError(f"BTF: type {type_id}: name offset "
                             f"{off + self._base_str_len} past the string section "
                             f"({self._total_str_len()} bytes)")
        end = self._strs.find(b"\0", off)  # the section ends with NUL: always found
        return self._strs[off:end].decode("utf-8", "surrogateescape")

    def string_at(self, off: int) -> str:
        """The string at offset ``off`` of the string table (split BTF: the base's first).

        Raises:
            ValueError: ``off`` is outside the string table.
        """
        if off == 0:
            return ""
        if off < 0 or off >= self._total_str_len():
            raise ValueError(f"BTF: string offset {off} outside the string table "
                             f"({self._total_str_len()} bytes)")
        return self._str(off, -1)

    def _check_id(self, ref: int, type_id: int, what: str) -> int:
        if ref >= len(self):
            raise ValueError(f"BTF: type {type_id}: {what} refers to type {ref}, "
                             f"past the last type ({len(self) - 1})")
        return ref

    def _resolve(self, type_id: int) -> Type:
        return self[type_id]

    def _decode_range(self, lo: int, hi: int) -> None:
        """Decode ids lo..hi-1; the cyclic GC pauses for a large range.

        Decoding allocates hundreds of thousands of objects and frees none, so collections
        during it find nothing and, as the heap grows, cost as much as the decoding itself
        (measured: vmlinux decodes in half the time without them).
        """
        with self._lock:  # the records skip what another thread decoded meanwhile
            if hi - lo < 1024:
                self._decode_records(lo, hi)
                return
            with gc_paused():
                self._decode_records(lo, hi)

    def _decode_records(self, lo: int, hi: int) -> None:  # noqa: C901 - one branch per kind
        """Decode the records of ids lo..hi-1 not decoded yet; references stay ids until
        first read. One loop for many types: iterating the whole spec pays no per-type
        call overhead."""
        data = self._data
        offsets, id0, shift = self._offsets, self._id0, self._shift
        types, ids = self._types, self._ids
        count = self._shift + len(self._types)
        strs = self._strs
        sbase, slen = self._base_str_len, len(strs)
        find = strs.find

        type_id = lo

        def text(off: int) -> str:
            # Names are almost all local and ASCII: the fast path avoids a method call.
            if off == 0:
                return ""
            rel = off - sbase
            if 0 <= rel < slen:
                return strs[rel:find(b"\0", rel)].decode("utf-8", "surrogateescape")
            return self._str(off, type_id)

        def bad_ref(ref: int, what: str) -> ValueError:
            return ValueError(f"BTF: type {type_id}: {what} refers to type {ref}, "
                              f"past the last type ({count - 1})")

        for type_id in range(lo, hi):
            if types[type_id - shift] is not None:
                continue
            pos = offsets[type_id - id0]
            name_off, info, size = _TYPE.unpack_from(data, pos)
            kind = (info >> 24) & 0x1F
            vlen = info & 0xFFFF
            kflag = info >> 31
            name = text(name_off)
            p = pos + 12
            t: Any
            if kind in _REF_KINDS and size >= count:
                raise bad_ref(size, "return type" if kind == _K_FUNC_PROTO else "type")
            # Most frequent kinds first (vmlinux: 44% FUNC, 23% FUNC_PROTO, 12% PTR).
            if kind == _K_FUNC:
                if vlen > 2:
                    raise ValueError(f"BTF: type {type_id}: unknown func linkage {vlen}")
                t = Func.__new__(Func)
                t.name, t._type, t.linkage = name, size, _FUNC_LINKAGES[vlen]
            elif kind == _K_INT:
                enc = _U32.unpack_from(data, p)[0]
                t = Int.__new__(Int)
                t.name, t.size, t.encoding = name, size, _ENCODINGS[(enc >> 24) & 0x0F]
                t.offset, t.bits = (enc >> 16) & 0xFF, enc & 0xFF
            elif kind == _K_PTR:
                t = Pointer.__new__(Pointer)
                t.name, t._target = name, size
            elif kind == _K_STRUCT or kind == _K_UNION:
                t = (Struct if kind == _K_STRUCT else UnionType).__new__(
                    Struct if kind == _K_STRUCT else UnionType)
                members: list[Member] = []
                new = Member.__new__
                for m_name, m_type, m_off in _3U32.iter_unpack(data[p:p + 12 * vlen]):
                    if m_type >= count:
                        raise bad_ref(m_type, f"member {len(members)}")
                    m = new(Member)
                    rel = m_name - sbase
                    if m_name and 0 <= rel < slen:  # text(), inlined: the hottest path
                        mname = strs[rel:find(b"\0", rel)].decode("utf-8", "surrogateescape")
                    else:
                        mname = text(m_name)
                    m._src, m.name, m._type = self, mname, m_type  # type: ignore[attr-defined]
                    if kflag:
                        m.offset, m.bitfield_size = m_off & 0xFFFFFF, m_off >> 24
                    else:
                        m.offset, m.bitfield_size = m_off, 0
                    members.append(m)
                t.name, t.size, t.members = name, size, members
            elif kind in _QUALIFIERS:  # TYPEDEF VOLATILE CONST RESTRICT
                cls = _QUALIFIERS[kind]
                t = cls.__new__(cls)
                t.name, t._type = name, size
            elif kind == _K_ARRAY:
                elem, index, nelems = _3U32.unpack_from(data, p)
                if elem >= count:
                    raise bad_ref(elem, "array element type")
                if index >= count:
                    raise bad_ref(index, "array index type")
                t = Array.__new__(Array)
                t.name, t._type, t._index, t.nelems = name, elem, index, nelems
            elif kind == _K_FUNC_PROTO:
                params: list[FuncParam] = []
                newp = FuncParam.__new__
                for p_name, p_type in _2U32.iter_unpack(data[p:p + 8 * vlen]):
                    if p_type >= count:
                        raise bad_ref(p_type, f"parameter {len(params)}")
                    fp = newp(FuncParam)
                    fp._src, fp.name, fp._type = self, text(p_name), p_type  # type: ignore[attr-defined]
                    params.append(fp)
                t = FuncProto.__new__(FuncProto)
                t.name, t._return, t.params = name, size, params
            elif kind == _K_ENUM or kind == _K_ENUM64:
                newv = EnumValue.__new__
                values: list[EnumValue] = []
                if kind == _K_ENUM:
                    for n, v in (_2I32 if kflag else _2U32).iter_unpack(data[p:p + 8 * vlen]):
                        ev = newv(EnumValue)
                        ev._src, ev.name, ev.value = None, text(n), v
                        values.append(ev)
                else:
                    for n, lo, hi in _3U32.iter_unpack(data[p:p + 12 * vlen]):
                        v = (hi << 32) | lo
                        if kflag and v >= 1 << 63:
                            v -= 1 << 64
                        ev = newv(EnumValue)
                        ev._src, ev.name, ev.value = None, text(n), v
                        values.append(ev)
                t = Enum.__new__(Enum)
                t.name, t.size, t.signed, t.values = name, size, bool(kflag), values
                t._kind = _ENUM_KINDS[kind == _K_ENUM64]
            elif kind == _K_FWD:
                t = Fwd.__new__(Fwd)
                t.name, t.kind = name, FwdKind.UNION if kflag else FwdKind.STRUCT
            elif kind == _K_VAR:
                linkage = _U32.unpack_from(data, p)[0]
                if linkage > 2:
                    raise ValueError(f"BTF: type {type_id}: unknown var linkage {linkage}")
                t = Var.__new__(Var)
                t.name, t._type, t.linkage = name, size, _VAR_LINKAGES[linkage]
            elif kind == _K_DATASEC:
                secinfos: list[VarSecinfo] = []
                news = VarSecinfo.__new__
                for v_type, v_off, v_size in _3U32.iter_unpack(data[p:p + 12 * vlen]):
                    if v_type >= count:
                        raise bad_ref(v_type, f"variable {len(secinfos)}")
                    vs = news(VarSecinfo)
                    vs._src, vs._type, vs.offset, vs.size = self, v_type, v_off, v_size  # type: ignore[attr-defined]
                    secinfos.append(vs)
                t = Datasec.__new__(Datasec)
                t.name, t.size, t.vars = name, size, secinfos
            elif kind == _K_FLOAT:
                t = Float.__new__(Float)
                t.name, t.size = name, size
            elif kind == _K_DECL_TAG:
                t = DeclTag.__new__(DeclTag)
                t.name, t._type, t.index = name, size, _I32.unpack_from(data, p)[0]
                t.attribute = bool(kflag)
            else:  # TYPE_TAG; the scan admitted no other kind
                t = TypeTag.__new__(TypeTag)
                t.name, t._type, t.attribute = name, size, bool(kflag)
            t._src = self
            types[type_id - shift] = t
            ids[t] = type_id

    # -- container protocol ---------------------------------------------------------------

    def __len__(self) -> int:
        return self._shift + len(self._types)

    def __getitem__(self, type_id: int) -> Type:
        """The type with this id (0 is Void).

        Raises:
            IndexError: no such id (a ``ValueError`` when the raw bytes of the type are bad).
        """
        if type_id < 0:
            raise IndexError(f"BTF type id {type_id} is negative")
        if type_id < self._shift and self._base is not None:
            return self._base[type_id]
        local = type_id - self._shift
        try:
            t = self._types[local]
        except IndexError:
            raise IndexError(f"BTF type id {type_id} out of range (last is "
                             f"{len(self) - 1})") from None
        if t is None:
            self._decode_range(type_id, type_id + 1)
            t = self._types[local]
            assert t is not None
        return t

    def __iter__(self) -> Iterator[Type]:
        if self._base is not None:
            yield from self._base
        self._decode_all()
        yield from self._types  # type: ignore[misc]

    def _decode_all(self) -> None:
        if len(self._data) and None in self._types:
            self._decode_range(self._id0, len(self))

    def own_types(self) -> Iterator[tuple[int, Type]]:
        """(id, type) of this spec's own types: for split BTF, not the base's; no Void."""
        self._decode_all()
        for i in range(self._id0, len(self)):
            yield i, self[i]

    @property
    def base(self) -> Optional[Spec]:
        """The base spec of split BTF (vmlinux for a module), or None."""
        return self._base

    def type_id(self, t: Type) -> int:
        """The id of ``t`` in this spec (identity, not structure).

        Raises:
            KeyError: ``t`` is not a type of this spec (or of its base).
        """
        try:
            return self._ids[t]
        except KeyError:
            pass
        if isinstance(t, Void):
            return 0
        if self._base is not None:
            return self._base.type_id(t)
        raise KeyError(f"{t!r} is not a type of this spec")

    def _ids_named(self, name: str) -> list[int]:
        """Ids of the types named ``name``, this spec's and its base's, in id order."""
        found = self._base._ids_named(name) if self._base is not None else []
        if len(self._data):
            csys = _csys()
            if csys is not None:
                found.extend(self._id0 + i for i in
                             csys.btf_find_by_name(self._data, self._offsets, self._strs,
                                                   self._base_strings(), name))
                return found
            if self._name_cache is None:
                self._name_cache = self._build_name_cache()
            found.extend(self._name_cache.get(name, ()))
            return found
        found.extend(self._shift + i for i, t in enumerate(self._types)
                     if t is not None and t.name == name)
        return found

    def _build_name_cache(self) -> dict[str, list[int]]:
        cache: dict[str, list[int]] = {}
        for local, pos in enumerate(self._offsets):
            off = _U32.unpack_from(self._data, pos)[0]
            if off == 0 or off >= self._total_str_len():
                continue  # anonymous; or a bad offset, which decoding the type reports
            tid = self._id0 + local
            cache.setdefault(self._str(off, tid), []).append(tid)
        return cache

    def types_by_name(self, name: str) -> list[Type]:
        """Every type named ``name`` (any kind), in id order; [] when there is none."""
        if not name:
            return []
        return [self[i] for i in self._ids_named(name)]

    @overload
    def type_by_name(self, name: str) -> Type: ...
    @overload
    def type_by_name(self, name: str, kind: type[T]) -> T: ...

    def type_by_name(self, name: str, kind: Optional[type[Any]] = None) -> Any:
        """The one type named ``name`` (of class ``kind`` when given: ``btf.Struct``).

        Raises:
            KeyError: no such type, or more than one and ``kind`` does not tell them apart.
        """
        found = [t for t in self.types_by_name(name) if kind is None or isinstance(t, kind)]
        if not found:
            what = f" of kind {kind.__name__}" if kind is not None else ""
            raise KeyError(f"BTF: no type named {name!r}{what}")
        if len(found) > 1:
            # Prefer the one type that is not a forward declaration (cilium does the same).
            full = [t for t in found if not isinstance(t, Fwd)]
            if len(full) == 1:
                return full[0]
            raise KeyError(f"BTF: {len(found)} types named {name!r}; pass the kind")
        return found[0]

    # -- equality -------------------------------------------------------------------------

    def _shape(self, t: Type) -> tuple[object, ...]:
        parts: list[object] = [type(t)]
        for f in t._fields:
            value = getattr(t, f)
            if f in t._refs:
                parts.append(self.type_id(value))
            elif isinstance(value, list):
                parts.append(tuple(tuple(self.type_id(getattr(item, g)) if g in item._refs
                                         else getattr(item, g) for g in item._fields)
                                   for item in value))
            else:
                parts.append(value)
        return tuple(parts)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Spec):
            return NotImplemented
        if len(self) != len(other):
            return False
        if (self._base is None) != (other._base is None):
            return False
        if self._base is not None and other._base is not None and \
                self._base is not other._base and self._base != other._base:
            return False
        start = self._id0
        with gc_paused():
            return all(self._shape(self[i]) == other._shape(other[i])
                       for i in range(start, len(self)))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        base = f", base={len(self._base)} types" if self._base is not None else ""
        return f"Spec({len(self)} types{base})"

    def marshal(self) -> bytes:
        """Raw BTF of this spec's own types (split BTF when it has a base); see marshal.py."""
        from .marshal import marshal  # type: ignore[import-not-found, unused-ignore]

        return marshal(self)  # type: ignore[no-any-return, unused-ignore]

    def format_c(self) -> str:
        """A C header of these types, as ``bpftool btf dump ... format c`` (see format.py)."""
        from . import format as _format  # type: ignore[attr-defined, unused-ignore]

        return _format.format_c(self)  # type: ignore[no-any-return, unused-ignore]


_QUALIFIERS: dict[int, Any] = {Kind.TYPEDEF: Typedef, Kind.VOLATILE: Volatile,
                               Kind.CONST: Const, Kind.RESTRICT: Restrict}

def _references(t: Type) -> Iterator[Type]:
    """The types ``t`` refers to directly, in field order."""
    for f in t._fields:
        value = getattr(t, f)
        if f in t._refs:
            yield value
        elif isinstance(value, list):
            for item in value:
                for g in item._refs:
                    yield getattr(item, g)


def elf_btf_section(data: bytes, where: str) -> bytes:
    """The ``.BTF`` section of an ELF object (through ``_internal.elf``).

    Raises:
        ValueError: a malformed ELF file, or no ``.BTF`` section.
    """
    # deferred: only ELF files need the ELF reader
    from bpfobj._internal.elf import ELFFile

    f = ELFFile(data)
    sec = f.section(".BTF")
    if sec is None:
        raise ValueError(f"{where}: ELF object has no .BTF section")
    return f.data(sec)


_kernel_cache: dict[str, Spec] = {}


def kernel_spec(module: Optional[str] = None, *, btf_dir: str = KERNEL_BTF_DIR) -> Spec:
    """The running kernel's types (cilium's ``LoadKernelSpec``), parsed once and cached.

    ``module`` gives that module's split BTF on top of vmlinux.

    Raises:
        FileNotFoundError: the kernel has no BTF (CONFIG_DEBUG_INFO_BTF), or no such module.
        ValueError: the file is not valid BTF.
    """
    key = f"{btf_dir}\0{module or 'vmlinux'}"
    spec = _kernel_cache.get(key)
    if spec is None:
        base = None if module is None else kernel_spec(btf_dir=btf_dir)
        path = os.path.join(btf_dir, module or "vmlinux")
        csys = _csys()
        mapped = csys.map_file_readonly(path) if csys is not None else None
        if mapped is not None:
            # A private mapping (Linux 6.16+): no 1,350 reads of 4 KiB, no 5 MB copy; no
            # descriptor stays open. The spec keeps the mapping for as long as it lives.
            spec = Spec._from_raw(mapped[1], base, keep=mapped[0])
        else:
            spec = Spec.from_file(path, base=base)
        _kernel_cache[key] = spec
    return spec


if sys.byteorder != "little":  # pragma: no cover - every target we build for
    raise ImportError("bpfobj.btf reads little-endian BTF on little-endian hosts only")
