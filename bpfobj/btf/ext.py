"""The ``.BTF.ext`` reader: func_info, line_info and CO-RE relocations of an ELF object.

Owns the layout of ``struct btf_ext_header`` and its three sections (libbpf's
libbpf_internal.h / the kernel's include/uapi/linux/bpf.h records). Pure Python; imports
``spec`` (names are offsets into the object's ``.BTF`` string table).

API (used by the ELF loader and CO-RE)::

    ext = BTFExt.from_bytes(data, spec)      # data: the .BTF.ext section, spec: its .BTF
    ext.func_info["xdp"]  -> list[FuncInfo]  # by ELF section name, in file order
    ext.line_info["xdp"]  -> list[LineInfo]
    ext.core_relo["xdp"]  -> list[CoreRelo]
    ext.func_info_rec_size, ext.line_info_rec_size, ext.core_relo_rec_size  # as stored
    FuncInfo(insn_off, type_id)              # insn_off: BYTES from the section start
    LineInfo(insn_off, file_name_off, line_off, line, col, file_name, text)
    CoreRelo(insn_off, type_id, access_str_off, kind, access)   # access: "0:1:2"
    pack_func_info(records, insn_base=0) / pack_line_info(records, insn_base=0) -> bytes

In the file, ``insn_off`` counts bytes from the start of the ELF section; the kernel wants
instruction indexes relative to the program. ``pack_*`` write the kernel's records
(``struct bpf_func_info`` / ``bpf_line_info``, 8 and 16 bytes) with
``insn_off // 8 - insn_base``. A record size larger than the one we know is accepted (the
extra tail is skipped), as libbpf does; a smaller one, or one not a multiple of 4, is a
ValueError.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from .spec import Spec

__all__ = ["BTFExt", "FuncInfo", "LineInfo", "CoreRelo", "CoreReloKind", "pack_func_info",
           "pack_line_info", "FUNC_INFO_SIZE", "LINE_INFO_SIZE", "CORE_RELO_SIZE"]

BTF_EXT_MAGIC = 0xEB9F
FUNC_INFO_SIZE = 8    # struct bpf_func_info: insn_off, type_id
LINE_INFO_SIZE = 16   # struct bpf_line_info: insn_off, file_name_off, line_off, line_col
CORE_RELO_SIZE = 16   # struct bpf_core_relo: insn_off, type_id, access_str_off, kind
_HDR = struct.Struct("<HBBIIIII")  # magic, version, flags, hdr_len, func/line off+len
_CORE = struct.Struct("<II")      # core_relo_off, core_relo_len (optional part)
_MAX_RECORD = 1 << 12


class CoreReloKind(enum.IntEnum):
    """enum bpf_core_relo_kind (include/uapi/linux/bpf.h)."""

    FIELD_BYTE_OFFSET = 0
    FIELD_BYTE_SIZE = 1
    FIELD_EXISTS = 2
    FIELD_SIGNED = 3
    FIELD_LSHIFT_U64 = 4
    FIELD_RSHIFT_U64 = 5
    TYPE_ID_LOCAL = 6
    TYPE_ID_TARGET = 7
    TYPE_EXISTS = 8
    TYPE_SIZE = 9
    ENUMVAL_EXISTS = 10
    ENUMVAL_VALUE = 11
    TYPE_MATCHES = 12


@dataclass(frozen=True, slots=True)
class FuncInfo:
    """A function's start: ``insn_off`` in bytes from its ELF section, its FUNC ``type_id``."""

    insn_off: int
    type_id: int


@dataclass(frozen=True, slots=True)
class LineInfo:
    """A source line at ``insn_off`` (bytes); ``line``/``col`` from the packed line_col."""

    insn_off: int
    file_name_off: int
    line_off: int
    line: int
    col: int
    file_name: str
    text: str


@dataclass(frozen=True, slots=True)
class CoreRelo:
    """A CO-RE relocation of the instruction at ``insn_off`` (bytes) against local
    ``type_id``; ``access`` is the accessor string ("0:1"), ``kind`` a CoreReloKind."""

    insn_off: int
    type_id: int
    access_str_off: int
    kind: CoreReloKind
    access: str


R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class BTFExt:
    """A parsed ``.BTF.ext``: records by ELF section name, and the record sizes as stored."""

    func_info: dict[str, list[FuncInfo]]
    line_info: dict[str, list[LineInfo]]
    core_relo: dict[str, list[CoreRelo]]
    func_info_rec_size: int
    line_info_rec_size: int
    core_relo_rec_size: int

    @classmethod
    def from_bytes(cls, data: bytes, spec: Spec) -> BTFExt:
        """Parse a ``.BTF.ext`` section; names resolve in ``spec``'s strings (its ``.BTF``).

        Raises:
            ValueError: bad magic, version or header; a section or record out of range;
                a record size too small; a name offset outside the string table.
        """
        data = bytes(data)
        if len(data) < _HDR.size:
            raise ValueError(f".BTF.ext: {len(data)} bytes is shorter than the header")
        magic, version, _flags, hdr_len, fi_off, fi_len, li_off, li_len = \
            _HDR.unpack_from(data, 0)
        if magic != BTF_EXT_MAGIC:
            raise ValueError(f".BTF.ext: bad magic {magic:#06x} at offset 0")
        if version != 1:
            raise ValueError(f".BTF.ext: unsupported version {version} at offset 2")
        if hdr_len < _HDR.size or hdr_len > len(data):
            raise ValueError(f".BTF.ext: header length {hdr_len} at offset 4 out of range")
        co_off = co_len = 0
        if hdr_len >= _HDR.size + _CORE.size:
            co_off, co_len = _CORE.unpack_from(data, _HDR.size)
        body = data[hdr_len:]

        def strings(off: int, where: str) -> str:
            try:
                return spec.string_at(off)
            except ValueError:
                raise ValueError(f".BTF.ext: {where}: string offset {off} outside the "
                                 ".BTF string table") from None

        def func(rec: bytes, at: str) -> FuncInfo:
            insn_off, type_id = struct.unpack_from("<II", rec)
            return FuncInfo(insn_off, type_id)

        def line(rec: bytes, at: str) -> LineInfo:
            insn_off, fname, text, line_col = struct.unpack_from("<IIII", rec)
            return LineInfo(insn_off, fname, text, line_col >> 10, line_col & 0x3FF,
                            strings(fname, at), strings(text, at))

        def core(rec: bytes, at: str) -> CoreRelo:
            insn_off, type_id, acc, kind = struct.unpack_from("<IIII", rec)
            try:
                k = CoreReloKind(kind)
            except ValueError:
                raise ValueError(f".BTF.ext: {at}: unknown CO-RE relocation kind {kind}") \
                    from None
            return CoreRelo(insn_off, type_id, acc, k, strings(acc, at))

        fi, fi_size = _section(body, hdr_len, fi_off, fi_len, FUNC_INFO_SIZE, "func_info",
                               func, strings)
        li, li_size = _section(body, hdr_len, li_off, li_len, LINE_INFO_SIZE, "line_info",
                               line, strings)
        co, co_size = _section(body, hdr_len, co_off, co_len, CORE_RELO_SIZE, "core_relo",
                               core, strings)
        return cls(fi, li, co, fi_size, li_size, co_size)


def _section(body: bytes, hdr_len: int, off: int, length: int, min_size: int, what: str,
             parse: Callable[[bytes, str], R],
             strings: Callable[[int, str], str]) -> tuple[dict[str, list[R]], int]:
    """One info section: u32 record_size, then {sec_name_off, num_info, records}..."""
    out: dict[str, list[R]] = {}
    if length == 0:
        return out, 0
    if off + length > len(body):
        raise ValueError(f".BTF.ext: {what} {off}+{length} past the end of the section")
    if length < 4:
        raise ValueError(f".BTF.ext: {what} at offset {hdr_len + off}: no record size")
    rec_size = struct.unpack_from("<I", body, off)[0]
    if rec_size < min_size or rec_size % 4 or rec_size > _MAX_RECORD:
        raise ValueError(f".BTF.ext: {what} at offset {hdr_len + off}: bad record size "
                         f"{rec_size} (at least {min_size}, a multiple of 4)")
    pos, end = off + 4, off + length
    while pos < end:
        where = f"{what} at offset {hdr_len + pos}"
        if end - pos < 8:
            raise ValueError(f".BTF.ext: {where}: truncated section header")
        name_off, num = struct.unpack_from("<II", body, pos)
        if num == 0:
            raise ValueError(f".BTF.ext: {where}: section with no records")
        name = strings(name_off, where)
        pos += 8
        if num > (end - pos) // rec_size:
            raise ValueError(f".BTF.ext: {where}: {num} records of {rec_size} bytes run past "
                             f"the {what} section")
        records = out.setdefault(name, [])
        for i in range(num):
            records.append(parse(body[pos:pos + rec_size], f"{where} record {i}"))
            pos += rec_size
    return out, rec_size


def pack_func_info(records: Iterable[FuncInfo], insn_base: int = 0) -> bytes:
    """The kernel's ``struct bpf_func_info`` array (insn_off in instructions, from insn_base)."""
    return b"".join(struct.pack("<II", r.insn_off // 8 - insn_base, r.type_id) for r in records)


def pack_line_info(records: Iterable[LineInfo], insn_base: int = 0) -> bytes:
    """The kernel's ``struct bpf_line_info`` array (insn_off in instructions, from insn_base).

    The string offsets stay those of the object's ``.BTF``, which is what the kernel gets.
    """
    return b"".join(struct.pack("<IIII", r.insn_off // 8 - insn_base, r.file_name_off,
                                r.line_off, (r.line << 10) | r.col) for r in records)
