"""ELF objects loaded as libbpf loads them: CollectionSpec, Collection, VariableSpec.

Owns the reading of a clang-compiled BPF object (programs by libbpf's section names,
BTF-defined and legacy maps, data sections as one-entry arrays, globals, license and
version, relocations, subprogram linking, func_info/line_info) into specs, and their
loading into kernel objects (maps first, pins, contents, freezing, CO-RE, programs,
prog arrays and map-in-map slots). Imports ``_internal`` (elf, sections, syscall
constants), ``btf``, ``map``, ``prog`` and ``errors``; the CO-RE engine and extern
resolution come from ``btf.core`` when it is there.

Linking follows libbpf so that the result can be compared instruction for instruction
with libbpf's: each program's subprograms (functions of ``.text``) are appended after it
in depth-first order of first reference, each once per program; call and ``ld_func``
offsets are rewritten to the appended copies; func_info and line_info records are
re-based onto the linked program. Map references become BPF_PSEUDO_MAP_FD and
BPF_PSEUDO_MAP_VALUE loads whose descriptors are filled in at load.
"""

from __future__ import annotations

import bisect
import errno as _errno
import os
import struct
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Optional, Union, cast

from typing_extensions import Self

from . import btf as _btf
from ._internal import elf as _elf
from ._internal.sections import parse_section
from ._types import MapType, ProgramType
from .btf import externs as _externs
from .btf.core import Relocator, explain_verifier_log
from .btf.ext import BTFExt, FuncInfo, LineInfo, pack_func_info, pack_line_info
from .errors import BPFError, Op, from_errno
from .map import Map, MapSpec, possible_cpus
from .prog import Program, ProgramSpec

__all__ = ["CollectionSpec", "Collection", "VariableSpec", "Variable", "load_collection",
           "PIN_NONE", "PIN_BY_NAME", "data_map_name", "pin_name"]

PIN_NONE, PIN_BY_NAME = 0, 1

BPF_F_RDONLY_PROG = 1 << 7
BPF_F_MMAPABLE = 1 << 10
BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_VALUE = 1, 2
BPF_PSEUDO_CALL, BPF_PSEUDO_FUNC, BPF_PSEUDO_KFUNC_CALL = 1, 4, 2
_CALL = 0x85          # BPF_JMP | BPF_CALL
_LD_IMM64 = 0x18      # BPF_LD | BPF_IMM | BPF_DW
_INSN = struct.Struct("<BBhi")
_OBJ_NAME_LEN = 16    # BPF_OBJ_NAME_LEN: 15 characters and a NUL

# Map types whose key/value BTF the kernel refuses or ignores: libbpf creates them
# without BTF, and so do we (the same maps, the same map info).
_NO_BTF_TYPES = frozenset({
    MapType.PERF_EVENT_ARRAY, MapType.CGROUP_ARRAY, MapType.STACK_TRACE,
    MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS, MapType.DEVMAP, MapType.DEVMAP_HASH,
    MapType.CPUMAP, MapType.XSKMAP, MapType.SOCKMAP, MapType.SOCKHASH, MapType.QUEUE,
    MapType.STACK, MapType.ARENA,
})
_MAP_IN_MAP = frozenset({MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS})


def _is_data_section(name: str) -> bool:
    return any(name == base or name.startswith(base + ".")
               for base in (".data", ".rodata", ".bss"))


def _object_name(path: str) -> str:
    """libbpf's object name: the file's base name up to its first '.'."""
    return os.path.basename(path).split(".", 1)[0]


def data_map_name(obj_name: str, section: str) -> str:
    """The kernel name libbpf gives the map of data section ``section``.

    ``.data``, ``.rodata``, ``.bss`` and ``.kconfig`` get as much of the object name as
    fits before them (at least 7 characters are kept for the suffix); ``.data.foo``-style
    names are used alone. At most 15 characters; anything but [A-Za-z0-9_.] becomes '_'.
    """
    sfx_len = min(max(7, len(section)), _OBJ_NAME_LEN - 1)
    if "." in section[1:]:
        pfx = ""
    else:
        pfx = obj_name[:max(_OBJ_NAME_LEN - sfx_len - 1, 0)]
    name = (pfx + section[:sfx_len])[:_OBJ_NAME_LEN - 1]
    return "".join(c if c.isascii() and (c.isalnum() or c in "_.") else "_" for c in name)


def _map_type(value: int) -> MapType:
    """The MapType of ``value``; a type newer than our enum stays a plain int."""
    try:
        return MapType(value)
    except ValueError:
        return cast(MapType, value)


def pin_name(name: str) -> str:
    """The bpffs file name libbpf pins ``name`` under: bpffs refuses '.', so '_'."""
    return name.replace(".", "_")


# -- VariableSpec -------------------------------------------------------------------------


class VariableSpec:
    """A global variable of a data section: ``set()`` before load, ``get()``.

    ``name``, ``section`` (the data map's key in ``CollectionSpec.maps``), ``offset`` and
    ``size`` in bytes, ``type`` (its btf.Type, or None without BTF). Values are bytes of
    exactly ``size`` bytes or an int (native byte order, signed or not).
    """

    __slots__ = ("name", "section", "offset", "size", "type", "_map")

    def __init__(self, name: str, section: str, offset: int, size: int, type: Any,
                 map_spec: MapSpec) -> None:
        self.name, self.section, self.offset, self.size, self.type = \
            name, section, offset, size, type
        self._map = map_spec

    def _encode(self, value: Union[bytes, bytearray, memoryview, int]) -> bytes:
        if isinstance(value, int) and not isinstance(value, bool):
            if self.size not in (1, 2, 4, 8):
                raise ValueError(f"variable {self.name}: an int does not fit {self.size} bytes")
            signed = value < 0
            try:
                return value.to_bytes(self.size, sys.byteorder, signed=signed)
            except OverflowError:
                raise ValueError(f"variable {self.name}: {value} does not fit "
                                 f"{self.size} bytes") from None
        raw = bytes(value)
        if len(raw) != self.size:
            raise ValueError(f"variable {self.name}: {len(raw)} bytes given, it has "
                             f"{self.size} bytes")
        return raw

    def _buffer(self) -> bytearray:
        value = self._map.contents[0][1] if self._map.contents else None
        if not isinstance(value, bytearray):
            value = bytearray(value or bytes(self._map.value_size))
            self._map.contents[:] = [(0, value)]
        return value

    def set(self, value: Union[bytes, bytearray, memoryview, int]) -> None:
        """Change the variable's initial value (what the data map is created with)."""
        raw = self._encode(value)
        self._buffer()[self.offset:self.offset + self.size] = raw

    def get(self) -> bytes:
        """The variable's initial value."""
        return bytes(self._buffer()[self.offset:self.offset + self.size])

    def __repr__(self) -> str:
        return f"VariableSpec({self.name}, section={self.section}, offset={self.offset}, " \
               f"size={self.size})"


class Variable:
    """A loaded global variable: ``get()``/``set()`` read and write its data map live."""

    __slots__ = ("name", "offset", "size", "type", "_map", "_spec")

    def __init__(self, spec: VariableSpec, data_map: Map) -> None:
        self.name, self.offset, self.size, self.type = spec.name, spec.offset, spec.size, \
            spec.type
        self._map = data_map
        self._spec = spec

    def get(self) -> bytes:
        """The variable's current value, read from its map (BPF_MAP_LOOKUP_ELEM)."""
        value = self._map.lookup(0)
        assert isinstance(value, bytes)
        return value[self.offset:self.offset + self.size]

    def set(self, value: Union[bytes, bytearray, memoryview, int]) -> None:
        """Write the variable into its map (fails with EPERM on a frozen .rodata)."""
        raw = self._spec._encode(value)
        current = bytearray(self._map.lookup(0))
        current[self.offset:self.offset + self.size] = raw
        self._map.update(0, bytes(current))

    def __repr__(self) -> str:
        return f"Variable({self.name}, {self._map!r})"


# -- parsing ------------------------------------------------------------------------------


@dataclass
class _Func:
    """One function of an executable section, with its relocations (by own insn index)."""

    name: str
    section: _elf.Section
    start: int                      # first instruction, in the section
    insns: bytearray
    relocs: dict[int, tuple[str, Any]] = field(default_factory=dict)
    is_subprog: bool = False


@dataclass
class _Linked:
    """What linking adds to a ProgramSpec: map references and extern/CO-RE sites."""

    maps: dict[int, str]            # insn index -> map key (fd goes into imm)
    externs: dict[int, str]         # insn index -> extern name
    core: list[tuple[int, Any]]     # (insn index, btf.ext.CoreRelo)


class CollectionSpec:
    """The maps, programs, variables and types of an ELF object (parse only, no kernel).

    ``maps``: dict of MapSpec (BTF-defined ``.maps`` and legacy ``maps`` by name, data
    sections by section name); ``programs``: dict of ProgramSpec by function name
    (``del spec.programs[name]`` skips one at load); ``variables``: dict of VariableSpec;
    ``types``: the object's btf.Spec or None; ``byte_order``: "little" or "big".
    """

    def __init__(self) -> None:
        self.maps: dict[str, MapSpec] = {}
        self.programs: dict[str, ProgramSpec] = {}
        self.variables: dict[str, VariableSpec] = {}
        self.types: Optional[_btf.Spec] = None
        self.byte_order = "little"
        self.name = ""
        self.license = ""
        self.kern_version = 0
        self._linked: dict[str, _Linked] = {}
        self._prog_array_slots: dict[str, dict[int, str]] = {}
        self._map_slots: dict[str, dict[int, str]] = {}
        self._data_sections: set[str] = set()
        self._btf_raw = b""
        self._btf_ext: Any = None
        self._externs: list[Any] = []
        self._kconfig_layout: Any = None

    @classmethod
    def from_file(cls, path: Union[str, os.PathLike[str]]) -> Self:
        """Read an ELF BPF object (cilium's LoadCollectionSpec).

        Raises:
            ValueError: a malformed object (the message names the section or offset).
            OSError: the file cannot be read.
        """
        with open(path, "rb") as f:
            data = f.read()
        return cls.from_bytes(data, name=_object_name(os.fspath(path)))

    @classmethod
    def from_bytes(cls, data: Union[bytes, bytearray, memoryview], name: str = "") -> Self:
        """Read an ELF BPF object from memory; ``name`` is the object name of data maps.

        Raises:
            ValueError: a malformed object (the message names the section or offset).
        """
        self = cls()
        self.name = name
        _Parser(self, bytes(data)).run()
        return self

    def __repr__(self) -> str:
        return f"CollectionSpec({self.name or '?'}: {len(self.maps)} maps, " \
               f"{len(self.programs)} programs)"


class _Parser:
    """One pass over an ELF object, filling a CollectionSpec."""

    def __init__(self, spec: CollectionSpec, data: bytes) -> None:
        self.spec = spec
        self.elf = _elf.ELFFile(data)
        e = self.elf
        if e.machine != _elf.EM_BPF:
            raise ValueError(f"ELF header: machine {e.machine} is not BPF ({_elf.EM_BPF})")
        if e.type != _elf.ET_REL:
            raise ValueError(f"ELF header: type {e.type} is not a relocatable object")
        if e.elf_class != 64:
            raise ValueError("ELF header: a BPF object is ELF64")
        spec.byte_order = "little" if e.little_endian else "big"
        self.order = "<" if e.little_endian else ">"
        self.symbols = e.symbols()
        self.types: Optional[_btf.Spec] = None
        self.funcs: dict[tuple[int, int], _Func] = {}   # (section index, start) -> func
        self.map_at: dict[tuple[int, int], str] = {}     # (section index, offset) -> map
        self.data_maps: dict[int, str] = {}              # section index -> map key

    def run(self) -> None:
        e, spec = self.elf, self.spec
        lic = e.section("license")
        if lic is not None:
            spec.license = e.data(lic).split(b"\0", 1)[0].decode("ascii", "replace")
        ver = e.section("version")
        if ver is not None:
            raw = e.data(ver)
            if len(raw) != 4:
                raise ValueError(f"section version: {len(raw)} bytes, want 4")
            spec.kern_version = struct.unpack(self.order + "I", raw)[0]
        self._read_btf()
        for sec in e.sections:
            if sec.type == _elf.SHT_PROGBITS and sec.flags & _elf.SHF_EXECINSTR and sec.size:
                self._read_functions(sec)
            elif sec.name == ".maps":
                self._read_btf_maps(sec)
            elif sec.name == "maps":
                self._read_legacy_maps(sec)
            elif _is_data_section(sec.name) and sec.flags & _elf.SHF_ALLOC and \
                    sec.type in (_elf.SHT_PROGBITS, _elf.SHT_NOBITS) and sec.size:
                self._read_data_section(sec)
        self._read_kconfig()
        for rel, target in e.relocation_sections():
            if target.index in {f.section.index for f in self.funcs.values()}:
                self._read_prog_relocs(rel, target)
            elif target.name == ".maps":
                self._read_map_relocs(rel, target)
        self._link_all()

    # -- BTF ---------------------------------------------------------------------------

    def _read_btf(self) -> None:
        e = self.elf
        sec = e.section(".BTF")
        if sec is None:
            return
        if not e.little_endian:
            return  # the BTF reader reads little-endian BTF only; such objects cannot load
        raw = bytearray(e.data(sec))
        types = _btf.Spec.from_bytes(bytes(raw))
        self._fixup_datasecs(types, raw)
        raw = self._fixup_externs(types, raw)
        # What the kernel gets: the patched bytes. What callers see: the object's own
        # types (type ids are the same), with the data sections' sizes and offsets set.
        self.spec._btf_raw = bytes(raw)
        self.types = self.spec.types = types
        ext = e.section(".BTF.ext")
        if ext is not None:

            self.spec._btf_ext = BTFExt.from_bytes(e.data(ext), self.types)

    def _fixup_datasecs(self, types: _btf.Spec, raw: bytearray) -> None:
        """Give each DATASEC its ELF section's size and its variables their symbol offsets.

        clang leaves both zero; the kernel refuses a zero-sized DATASEC and wants the
        variables in offset order, so they are sorted, as libbpf does. The patch is made
        in the raw bytes (record offsets from the reader's index), keeping every type id.
        """
        by_name: dict[tuple[int, str], int] = {}
        for sym in self.symbols:
            if sym.type == _elf.STT_OBJECT and sym.name:
                by_name[(sym.shndx, sym.name)] = sym.value
        hdr_order = self.order
        offsets = types._offsets  # record offsets, one per type after Void
        # Variables live in allocated, non-executable sections: only those can have one.
        datasecs = [t for sec in self.elf.sections
                    if sec.name and sec.flags & _elf.SHF_ALLOC and
                    not sec.flags & _elf.SHF_EXECINSTR
                    for t in types.types_by_name(sec.name) if isinstance(t, _btf.Datasec)]
        for t in datasecs:
            sec = self.elf.section(t.name)
            if sec is None:
                continue
            pos = offsets[types.type_id(t) - 1]
            if sec.size >= 1 << 32:
                raise ValueError(f"section {sec.name}: size {sec.size:#x} does not fit BTF")
            struct.pack_into(hdr_order + "I", raw, pos + 8, sec.size)
            entries = []
            for k, v in enumerate(t.vars):
                vpos = pos + 12 + 12 * k
                type_id, off, size = struct.unpack_from(hdr_order + "III", raw, vpos)
                name = getattr(v.type, "name", "")
                off = by_name.get((sec.index, name), off)
                if off + size > sec.size:
                    raise ValueError(f"section {sec.name}: variable {name} at {off:#x} "
                                     f"({size} bytes) runs past the section")
                entries.append((off, type_id, size))
            entries.sort()
            for k, (off, type_id, size) in enumerate(entries):
                struct.pack_into(hdr_order + "III", raw, pos + 12 + 12 * k, type_id, off, size)
            t.size = sec.size
            by_id = {types.type_id(v.type): v for v in t.vars}
            t.vars = [by_id[type_id] for _off, type_id, _size in entries if type_id in by_id]
            for v, (off, _id, _size) in zip(t.vars, entries, strict=False):
                v.offset = off

    def _fixup_externs(self, types: _btf.Spec, raw: bytearray) -> bytearray:
        """Lay out ``.kconfig`` and ``.ksyms`` in the BTF as libbpf does before loading it.

        The kernel refuses extern linkage and zero-sized DATASECs: ``.kconfig`` variables
        get their layout offsets and allocated linkage; ``.ksyms`` entries become 4-byte
        int variables one after another (a kfunc's entry points at one dummy variable
        appended to the types), and extern functions become global.
        """

        kinds = {t.name for t in (types.types_by_name(".kconfig") +
                                  types.types_by_name(".ksyms"))
                 if isinstance(t, _btf.Datasec)}
        if not kinds:
            return raw
        weak = {s.name for s in self.symbols
                if s.shndx == _elf.SHN_UNDEF and s.bind == _elf.STB_WEAK and s.name}
        found = _externs.find_externs(types, weak)
        layout = _externs.kconfig_layout(found)
        self.spec._externs, self.spec._kconfig_layout = found, layout
        offsets = types._offsets
        put = struct.pack_into
        dummy_id = 0
        extra = b""
        for t in [t for k in sorted(kinds) for t in types.types_by_name(k)
                  if isinstance(t, _btf.Datasec)]:
            pos = offsets[types.type_id(t) - 1]
            if t.name == ".kconfig":
                entries = {e.name: e for e in layout.entries}
                put("<I", raw, pos + 8, layout.size)
                placed = []
                for vs in t.vars:
                    v = vs.type
                    if isinstance(v, _btf.Var) and v.name in entries:
                        ent = entries[v.name]
                        placed.append((ent.offset, types.type_id(v), ent.size))
                        put("<I", raw, offsets[types.type_id(v) - 1] + 12, 1)
                for k, (off, ref, size) in enumerate(sorted(placed)):  # the kernel wants order
                    put("<III", raw, pos + 12 + 12 * k, ref, off, size)
                t.size = layout.size
                for vs in t.vars:
                    if isinstance(vs.type, _btf.Var) and vs.type.name in entries:
                        vs.offset = entries[vs.type.name].offset
                        vs.size = entries[vs.type.name].size
                t.vars.sort(key=lambda vs: vs.offset)
                continue
            int_id = self._int_type_id(types)
            for k, vs in enumerate(t.vars):
                v = vs.type
                ref = types.type_id(v)
                if isinstance(v, _btf.Func):
                    rpos = offsets[ref - 1]
                    info = struct.unpack_from("<I", raw, rpos + 4)[0]
                    put("<I", raw, rpos + 4, (info & ~0xFFFF) | 1)  # extern -> global
                    if not dummy_id:
                        dummy_id = len(types)
                        name_off = struct.unpack_from("<I", raw, rpos)[0]
                        extra = struct.pack("<IIII", name_off, 14 << 24, int_id, 1)
                    ref = dummy_id
                elif isinstance(v, _btf.Var):
                    vpos = offsets[ref - 1]
                    put("<II", raw, vpos + 8, int_id, 1)
                put("<III", raw, pos + 12 + 12 * k, ref, 4 * k, 4)
            put("<I", raw, pos + 8, 4 * len(t.vars))
        if extra:
            hdr_len, type_off, type_len, str_off = struct.unpack_from("<IIII", raw, 4)
            end = hdr_len + type_off + type_len
            raw = raw[:end] + bytearray(extra) + raw[end:]
            put("<I", raw, 12, type_len + len(extra))
            if str_off >= type_off + type_len:
                put("<I", raw, 16, str_off + len(extra))
        return raw

    @staticmethod
    def _int_type_id(types: _btf.Spec) -> int:
        for t in types.types_by_name("int"):
            if isinstance(t, _btf.Int) and t.size == 4:
                return types.type_id(t)
        for _i, t in types.own_types():
            if isinstance(t, _btf.Int) and t.size == 4:
                return types.type_id(t)
        raise ValueError("section .ksyms: the object's BTF has no 4-byte int for the "
                         "__ksym externs")

    def _datasec(self, name: str) -> Optional[_btf.Datasec]:
        if self.types is None:
            return None
        for t in self.types.types_by_name(name):
            if isinstance(t, _btf.Datasec):
                return t
        return None

    # -- functions --------------------------------------------------------------------

    def _read_functions(self, sec: _elf.Section) -> None:
        data = self.elf.data(sec)
        if len(data) % 8:
            raise ValueError(f"section {sec.name}: size {len(data)} is not a multiple of 8")
        funcs = sorted((s for s in self.symbols
                        if s.shndx == sec.index and s.type == _elf.STT_FUNC),
                       key=lambda s: s.value)
        is_text = sec.name == ".text"
        info = parse_section(sec.name)
        for sym in funcs:
            if sym.value % 8 or sym.size % 8 or sym.value + sym.size > len(data):
                raise ValueError(f"section {sec.name}: function {sym.name} at {sym.value:#x} "
                                 f"size {sym.size} is not whole instructions inside the "
                                 "section")
            if not is_text and sym.bind == _elf.STB_LOCAL:
                raise ValueError(f"section {sec.name}: program {sym.name} is static; "
                                 "programs must be global functions")
            size = sym.size or len(data) - sym.value
            f = _Func(sym.name, sec, sym.value // 8,
                      bytearray(data[sym.value:sym.value + size]), is_subprog=is_text)
            self.funcs[(sec.index, sym.value // 8)] = f
            if is_text:
                continue
            spec = self.spec
            prog = ProgramSpec(
                type=info.prog_type, instructions=b"", license=spec.license,
                name=sym.name[:_OBJ_NAME_LEN - 1], flags=info.prog_flags,
                expected_attach_type=info.attach_type, kern_version=spec.kern_version,
                section_name=sec.name, attach_to=info.attach_to, autoload=info.autoload)
            if sym.name in spec.programs:
                raise ValueError(f"section {sec.name}: program {sym.name} is defined twice")
            spec.programs[sym.name] = prog

    # -- maps -------------------------------------------------------------------------

    def _read_btf_maps(self, sec: _elf.Section) -> None:
        ds = self._datasec(".maps")
        if ds is None and not self.elf.little_endian:
            raise ValueError("section .maps: BTF-defined maps of a big-endian object cannot be "
                             "read (big-endian BTF is not supported; such an object cannot "
                             "load on this host either)")
        if ds is None:
            raise ValueError("section .maps: the object has no BTF (or no .maps DATASEC); "
                             "BTF-defined maps need it")
        offsets = {s.name: s.value for s in self.symbols
                   if s.shndx == sec.index and s.type == _elf.STT_OBJECT}
        for vsi in ds.vars:
            var = vsi.type
            if not isinstance(var, _btf.Var):
                raise ValueError(f"section .maps: DATASEC member {vsi!r} is not a variable")
            name = var.name
            if name not in offsets:
                raise ValueError(f"section .maps: map {name} has no symbol")
            mspec, slots_kind, values_off = self._map_def(name, var.type, False)
            self.spec.maps[name] = mspec
            self.map_at[(sec.index, offsets[name])] = name
            if slots_kind:
                self._pending_values = getattr(self, "_pending_values", {})
                self._pending_values[name] = (offsets[name] + values_off, slots_kind)

    def _map_def(self, name: str, t: Any, inner: bool) -> tuple[MapSpec, str, int]:
        """A MapSpec from a BTF map definition struct; also what its ``values`` hold."""
        t = _btf.underlying_type(t)
        if not isinstance(t, _btf.Struct):
            raise ValueError(f"section .maps: map {name}: definition is a "
                             f"{type(t).__name__}, not a struct")
        fields: dict[str, int] = {}
        key_type = value_type = None
        inner_spec: Optional[MapSpec] = None
        slots_kind, values_off = "", 0
        for m in t.members:
            mt = _btf.underlying_type(m.type)
            if m.name in ("type", "max_entries", "map_flags", "numa_node", "map_extra",
                          "key_size", "value_size", "pinning"):
                fields[m.name] = self._uint(name, m.name, mt)
            elif m.name in ("key", "value"):
                if not isinstance(mt, _btf.Pointer):
                    raise ValueError(f"section .maps: map {name}: {m.name} is not a pointer")
                if m.name == "key":
                    key_type = mt.target
                else:
                    value_type = mt.target
            elif m.name == "values":
                if inner:
                    raise ValueError(f"section .maps: map {name}: nested values")
                if not isinstance(mt, _btf.Array) or not isinstance(
                        _btf.underlying_type(mt.type), _btf.Pointer):
                    raise ValueError(f"section .maps: map {name}: values is not an array of "
                                     "pointers")
                target = _btf.underlying_type(_btf.underlying_type(mt.type).target)  # type: ignore[attr-defined]
                values_off = m.offset // 8
                if isinstance(target, _btf.FuncProto):
                    slots_kind = "prog"
                else:
                    inner_spec, _, _ = self._map_def(name + ".inner", target, True)
                    slots_kind = "map"
            else:
                raise ValueError(f"section .maps: map {name}: unknown field {m.name!r}")
        if "type" not in fields:
            raise ValueError(f"section .maps: map {name}: no type")
        map_type = _map_type(fields["type"])
        key_size = fields.get("key_size", 0)
        value_size = fields.get("value_size", 0)
        for what, tp, size in (("key", key_type, key_size), ("value", value_type, value_size)):
            if tp is not None:
                real = _btf.sizeof(tp)
                if size and size != real:
                    raise ValueError(f"section .maps: map {name}: {what}_size {size} and "
                                     f"{what} type of {real} bytes disagree")
                if what == "key":
                    key_size = real
                else:
                    value_size = real
        if slots_kind == "map" and not value_size:
            value_size = 4
        if slots_kind == "prog" and not value_size:
            value_size = 4
        if fields.get("pinning", 0) not in (PIN_NONE, PIN_BY_NAME):
            raise ValueError(f"section .maps: map {name}: unknown pinning "
                             f"{fields['pinning']}")
        mspec = MapSpec(type=map_type, key_size=key_size, value_size=value_size,
                        max_entries=fields.get("max_entries", 0),
                        name=name[:_OBJ_NAME_LEN - 1], flags=fields.get("map_flags", 0),
                        inner_map=inner_spec, numa_node=fields.get("numa_node", 0),
                        map_extra=fields.get("map_extra", 0), key_type=key_type,
                        value_type=value_type, pinning=fields.get("pinning", 0))
        return mspec, slots_kind, values_off

    @staticmethod
    def _uint(name: str, member: str, t: Any) -> int:
        """``__uint(member, N)`` is ``int (*member)[N]``: N is the array's length."""
        if isinstance(t, _btf.Pointer):
            arr = _btf.underlying_type(t.target)
            if isinstance(arr, _btf.Array):
                return int(arr.nelems)
        raise ValueError(f"section .maps: map {name}: {member} is not __uint(...)")

    def _read_legacy_maps(self, sec: _elf.Section) -> None:
        data = self.elf.data(sec)
        syms = sorted((s for s in self.symbols
                       if s.shndx == sec.index and s.type in (_elf.STT_OBJECT,
                                                              _elf.STT_NOTYPE) and s.name),
                      key=lambda s: s.value)
        if not syms:
            return
        for i, s in enumerate(syms):
            end = syms[i + 1].value if i + 1 < len(syms) else len(data)
            size = s.size or end - s.value
            if size < 20 or s.value + size > len(data):
                raise ValueError(f"section maps: map {s.name} at {s.value:#x}: definition of "
                                 f"{size} bytes is shorter than 20 or past the section")
            words = struct.unpack_from(self.order + "5I", data, s.value)
            if any(data[s.value + 20:s.value + size]):
                raise ValueError(f"section maps: map {s.name}: unrecognized non-zero fields "
                                 "after map_flags")
            self.spec.maps[s.name] = MapSpec(
                type=_map_type(words[0]), key_size=words[1], value_size=words[2],
                max_entries=words[3], flags=words[4], name=s.name[:_OBJ_NAME_LEN - 1])
            self.map_at[(sec.index, s.value)] = s.name

    def _read_data_section(self, sec: _elf.Section) -> None:
        ds = self._datasec(sec.name)
        # Every data map is mmapable, as the libbpf that bpftool ships (1.1) makes them
        # (later libbpf leaves it off for a section of static variables only).
        flags = BPF_F_MMAPABLE
        freeze = sec.name.startswith(".rodata")
        if freeze:
            flags |= BPF_F_RDONLY_PROG
        contents = bytearray(self.elf.data(sec)) if sec.type != _elf.SHT_NOBITS else \
            bytearray(sec.size)
        mspec = MapSpec(type=MapType.ARRAY, key_size=4, value_size=sec.size, max_entries=1,
                        name=data_map_name(self.spec.name, sec.name), flags=flags,
                        value_type=ds, contents=[(0, contents)], freeze=freeze)
        self.spec.maps[sec.name] = mspec
        self.spec._data_sections.add(sec.name)
        self.data_maps[sec.index] = sec.name
        var_types = {}
        if ds is not None:
            var_types = {v.type.name: v.type.type for v in ds.vars if isinstance(v.type, _btf.Var)}
        for s in self.symbols:
            if s.shndx != sec.index or s.type != _elf.STT_OBJECT or not s.name:
                continue
            if s.value + s.size > sec.size:
                raise ValueError(f"section {sec.name}: variable {s.name} at {s.value:#x} runs "
                                 "past the section")
            self.spec.variables[s.name] = VariableSpec(s.name, sec.name, s.value, s.size,
                                                       var_types.get(s.name), mspec)

    def _read_kconfig(self) -> None:
        """The ``.kconfig`` DATASEC (externs): a frozen one-entry array laid out by BTF."""
        ds = self._datasec(".kconfig")
        layout = self.spec._kconfig_layout
        if ds is None or layout is None or not layout.entries:
            return
        size = layout.size
        mspec = MapSpec(type=MapType.ARRAY, key_size=4, value_size=size, max_entries=1,
                        name=data_map_name(self.spec.name, ".kconfig"),
                        flags=BPF_F_RDONLY_PROG | BPF_F_MMAPABLE, value_type=ds,
                        contents=[(0, bytearray(size))], freeze=True)
        self.spec.maps[".kconfig"] = mspec
        self.spec._data_sections.add(".kconfig")
        for ent in layout.entries:
            self.spec.variables[ent.name] = VariableSpec(ent.name, ".kconfig", ent.offset,
                                                         ent.size, None, mspec)

    # -- relocations --------------------------------------------------------------------

    def _func_at(self, sec_index: int, insn: int) -> Optional[_Func]:
        for (si, start), f in self.funcs.items():
            if si == sec_index and start <= insn < start + len(f.insns) // 8:
                return f
        return None

    def _read_prog_relocs(self, rel: _elf.Section, target: _elf.Section) -> None:
        what = f"relocation section {rel.name}"
        text = self.elf.section(".text")
        text_index = text.index if text is not None else -1
        for r in self.elf.relocations(rel):
            if r.offset % 8:
                raise ValueError(f"{what}: offset {r.offset:#x} is not an instruction")
            if not 0 < r.sym < len(self.symbols):
                raise ValueError(f"{what}: offset {r.offset:#x}: symbol {r.sym} out of range")
            sym = self.symbols[r.sym]
            f = self._func_at(target.index, r.offset // 8)
            if f is None:
                raise ValueError(f"{what}: offset {r.offset:#x} is in no function")
            idx = r.offset // 8 - f.start
            code, regs, _off, imm = _INSN.unpack_from(f.insns, idx * 8)
            src = regs >> 4
            if sym.shndx == _elf.SHN_UNDEF and sym.name:
                f.relocs[idx] = ("extern", sym.name)
                continue
            if code == _CALL:
                if src != BPF_PSEUDO_CALL:
                    raise ValueError(f"{what}: offset {r.offset:#x}: relocated call is not a "
                                     "BPF-to-BPF call")
                if sym.shndx != text_index or sym.value % 8:
                    raise ValueError(f"{what}: offset {r.offset:#x}: call target {sym.name} is "
                                     "not a function of .text")
                f.relocs[idx] = ("call", sym.value // 8 + imm + 1)
                continue
            if code != _LD_IMM64 or idx * 8 + 16 > len(f.insns):
                raise ValueError(f"{what}: offset {r.offset:#x}: relocation of instruction "
                                 f"{code:#04x}, not a 64-bit load")
            if sym.shndx == text_index and text_index >= 0 and (
                    sym.type == _elf.STT_FUNC or sym.type == _elf.STT_SECTION):
                if sym.value % 8 or imm % 8:
                    raise ValueError(f"{what}: offset {r.offset:#x}: misaligned function "
                                     "address")
                f.relocs[idx] = ("func", (sym.value + imm) // 8)
                continue
            if sym.shndx == 0 or sym.shndx >= _elf.SHN_LORESERVE:
                raise ValueError(f"{what}: offset {r.offset:#x}: relocation against special "
                                 f"section {sym.shndx:#x} (an uninitialized global?)")
            if sym.shndx in self.data_maps:
                key = self.data_maps[sym.shndx]
                base = sym.value if sym.type != _elf.STT_SECTION else 0
                hi_imm = base + imm
                struct.pack_into("<i", f.insns, idx * 8 + 12, hi_imm)
                struct.pack_into("<i", f.insns, idx * 8 + 4, 0)
                f.insns[idx * 8 + 1] = (regs & 0x0F) | (BPF_PSEUDO_MAP_VALUE << 4)
                f.relocs[idx] = ("map", key)
                continue
            key2 = self.map_at.get((sym.shndx, sym.value))
            if key2 is None:
                sec_name = self.elf.sections[sym.shndx].name if sym.shndx < len(
                    self.elf.sections) else str(sym.shndx)
                raise ValueError(f"{what}: offset {r.offset:#x}: relocation against "
                                 f"{sym.name or '?'} in section {sec_name}, which is no map")
            f.insns[idx * 8 + 1] = (regs & 0x0F) | (BPF_PSEUDO_MAP_FD << 4)
            f.relocs[idx] = ("map", key2)

    def _read_map_relocs(self, rel: _elf.Section, target: _elf.Section) -> None:
        """``.values = { [i] = &prog_or_map }`` of prog arrays and map-in-map."""
        pending = getattr(self, "_pending_values", {})
        starts = sorted(((off, name) for (si, off), name in self.map_at.items()
                         if si == target.index), reverse=True)
        for r in self.elf.relocations(rel):
            if not 0 < r.sym < len(self.symbols):
                raise ValueError(f"relocation section {rel.name}: symbol {r.sym} out of range")
            sym = self.symbols[r.sym]
            owner = next((n for off, n in starts if off <= r.offset), None)
            if owner is None or owner not in pending:
                raise ValueError(f"relocation section {rel.name}: offset {r.offset:#x} is in "
                                 "no map with values")
            values_at, kind = pending[owner]
            slot, rem = divmod(r.offset - values_at, 8)
            if slot < 0 or rem or slot >= self.spec.maps[owner].max_entries:
                raise ValueError(f"relocation section {rel.name}: offset {r.offset:#x}: bad "
                                 f"slot of map {owner}")
            if kind == "prog":
                if sym.type != _elf.STT_FUNC or sym.name not in self.spec.programs:
                    raise ValueError(f"relocation section {rel.name}: map {owner} slot {slot}: "
                                     f"{sym.name} is not a program")
                self.spec._prog_array_slots.setdefault(owner, {})[slot] = sym.name
            else:
                name = self.map_at.get((sym.shndx, sym.value))
                if name is None:
                    raise ValueError(f"relocation section {rel.name}: map {owner} slot {slot}: "
                                     f"{sym.name} is not a map")
                self.spec._map_slots.setdefault(owner, {})[slot] = name

    # -- linking ------------------------------------------------------------------------

    def _link_all(self) -> None:
        text = self.elf.section(".text")
        text_funcs = {start: f for (si, start), f in self.funcs.items()
                      if text is not None and si == text.index}
        ext = self.spec._btf_ext
        if ext is not None:
            ext = (_by_offset(ext.func_info), _by_offset(ext.line_info),
                   _by_offset(ext.core_relo))
        for (_si, _start), f in sorted(self.funcs.items()):
            if f.is_subprog:
                continue
            prog = self.spec.programs[f.name]
            self._link(prog, f, text_funcs, ext)

    def _link(self, prog: ProgramSpec, main: _Func, text_funcs: dict[int, _Func],
              ext: Any) -> None:
        out = bytearray()
        placed: dict[int, int] = {}        # id(func) -> start in out
        order: list[_Func] = []
        linked = _Linked({}, {}, [])

        def place(f: _Func) -> None:
            base = len(out) // 8
            placed[id(f)] = base
            order.append(f)
            out.extend(f.insns)
            # Only relocated instructions and BPF-to-BPF calls/ld_func can need work.
            ops = f.insns[0::8]
            sites = set(f.relocs)
            for op in (_CALL, _LD_IMM64):
                at = ops.find(op)
                while at >= 0:
                    sites.add(at)
                    at = ops.find(op, at + 1)
            for idx in sorted(sites):
                rel = f.relocs.get(idx)
                code, regs, _o, imm = _INSN.unpack_from(out, (base + idx) * 8)
                target: Optional[_Func] = None
                if rel is not None and rel[0] in ("call", "func"):
                    target = text_funcs.get(rel[1])
                    if target is None:
                        raise ValueError(f"program {main.name}: instruction {idx} of "
                                         f"{f.name} calls .text+{rel[1] * 8:#x}, which is "
                                         "no function start")
                elif rel is None and ((code == _CALL and regs >> 4 == BPF_PSEUDO_CALL) or
                                      (code == _LD_IMM64 and regs >> 4 == BPF_PSEUDO_FUNC)):
                    # A call within the same section needs no relocation.
                    target = self.funcs.get((f.section.index, f.start + idx + imm + 1))
                    if target is None:
                        raise ValueError(f"program {main.name}: call at instruction {idx} of "
                                         f"{f.name} has no target")
                if target is not None:
                    if id(target) not in placed:
                        place(target)
                    new = placed[id(target)] - (base + idx) - 1
                    struct.pack_into("<i", out, (base + idx) * 8 + 4, new)
                elif rel is not None and rel[0] == "map":
                    linked.maps[base + idx] = rel[1]
                elif rel is not None and rel[0] == "extern":
                    linked.externs[base + idx] = rel[1]

        place(main)
        prog.instructions = bytes(out)
        self.spec._linked[main.name] = linked
        if ext is None:
            return

        funcs: list[FuncInfo] = []
        lines: list[LineInfo] = []
        for f in order:
            lo, hi = f.start * 8, (f.start + len(f.insns) // 8) * 8
            shift = (placed[id(f)] - f.start) * 8
            name = f.section.name
            for fi in _in_range(ext[0].get(name, ()), lo, hi):
                funcs.append(FuncInfo(fi.insn_off + shift, fi.type_id))
            for li in _in_range(ext[1].get(name, ()), lo, hi):
                lines.append(LineInfo(li.insn_off + shift, li.file_name_off, li.line_off,
                                      li.line, li.col, li.file_name, li.text))
            for cr in _in_range(ext[2].get(name, ()), lo, hi):
                linked.core.append(((cr.insn_off + shift) // 8, cr))
        prog.func_info = pack_func_info(funcs)
        prog.line_info = pack_line_info(lines)


def _in_range(records: Any, lo: int, hi: int) -> Any:
    """The records (sorted by insn_off) with lo <= insn_off < hi."""

    start = bisect.bisect_left(records, lo, key=lambda r: r.insn_off)
    end = bisect.bisect_left(records, hi, lo=start, key=lambda r: r.insn_off)
    return records[start:end]


def _by_offset(records: dict[str, list[Any]]) -> dict[str, list[Any]]:
    return {k: sorted(v, key=lambda r: r.insn_off) for k, v in records.items()}


# -- loading ------------------------------------------------------------------------------


class Collection:
    """The maps and programs of a loaded CollectionSpec (cilium's Collection).

    ``maps`` and ``programs`` by the spec's keys; ``variables`` give live access to
    globals through their data maps. The Collection owns every object in them (not the
    maps of ``map_replacements``, which stay the caller's): ``close()`` or ``with``.
    """

    def __init__(self) -> None:
        self.maps: dict[str, Map] = {}
        self.programs: dict[str, Program] = {}
        self.variables: dict[str, Variable] = {}
        self.btf: Any = None
        self._borrowed: set[str] = set()

    @classmethod
    def load(cls, spec: CollectionSpec, pin_path: Optional[str] = None,
             map_replacements: Optional[Mapping[str, Map]] = None,
             kernel_types: Optional[_btf.Spec] = None) -> Self:
        """Create the maps and load the programs of ``spec`` (cilium's NewCollection).

        Maps first: a map with ``pinning == PIN_BY_NAME`` reuses a compatible map pinned
        at ``pin_path/<name>`` (and refuses an incompatible one), or is created and pinned
        there. Contents are written, then ``.rodata``/``.kconfig`` frozen, map-in-map slots
        filled; CO-RE is applied against ``kernel_types`` (default: the running kernel's);
        programs load with the object's BTF (loaded once); prog arrays are filled last.
        ``map_replacements`` maps a name to a caller's Map used instead (the caller keeps
        owning it). Any failure closes everything made so far.

        Raises:
            VerifierError: a program was rejected (the message names it; ``.log``).
            BPFError: a map could not be created, or a pin is incompatible.
            ValueError: the object cannot load here (big-endian, unknown section ...).
        """
        coll = cls()
        loader = _Loader(spec, coll, pin_path, dict(map_replacements or {}), kernel_types)
        try:
            loader.run()
        except BaseException:
            # As libbpf: the pins this load made go too (reused pins stay).
            for path in loader.pinned:
                try:
                    os.unlink(path)
                except OSError:
                    pass
            coll.close()
            raise
        return coll

    def close(self) -> None:
        """Close every map and program the collection made."""
        for p in self.programs.values():
            p.close()
        for name, m in self.maps.items():
            if name not in self._borrowed:
                m.close()
        if self.btf is not None:
            self.btf.close()
            self.btf = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Collection({len(self.maps)} maps, {len(self.programs)} programs)"


def _explain_pin_mismatch(name: str, path: str, want: MapSpec, info: Any) -> BPFError:
    diffs = []
    for what, mine, theirs in (("type", int(want.type), int(info.type)),
                               ("key_size", want.key_size, info.key_size),
                               ("value_size", want.value_size, info.value_size),
                               ("max_entries", want.max_entries, info.max_entries),
                               ("flags", int(want.flags), int(info.flags)),
                               ("map_extra", want.map_extra, info.map_extra)):
        if mine != theirs:
            diffs.append(f"{what} {theirs} != {mine}")
    return from_errno(_errno.EINVAL, Op.MAP_PIN, name, path,
                      reason="the map pinned there is incompatible", hint=", ".join(diffs),
                      cls=BPFError)


class _Loader:
    def __init__(self, spec: CollectionSpec, coll: Collection, pin_path: Optional[str],
                 replacements: dict[str, Map], kernel_types: Optional[_btf.Spec]) -> None:
        self.spec, self.coll, self.pin_path = spec, coll, pin_path
        self.replacements = replacements
        self.kernel_types = kernel_types
        self.pinned: list[str] = []

    def run(self) -> None:
        spec, coll = self.spec, self.coll
        if spec.byte_order != sys.byteorder:
            raise ValueError(f"object {spec.name or '?'} is {spec.byte_order}-endian; this "
                             f"host is {sys.byteorder}-endian and cannot load it")
        for name in self.replacements:
            if name not in spec.maps:
                raise ValueError(f"map_replacements: the object has no map {name!r}")
        loading = [(n, p) for n, p in spec.programs.items() if p.autoload]
        for name, prog in loading:
            if prog.type == ProgramType.UNSPEC:
                raise ValueError(f"program {name}: section {prog.section_name!r} is not a "
                                 "known program type (libbpf's section names)")
        for name, prog in loading:
            if prog.type == ProgramType.EXT and prog.attach_prog is None:
                raise ValueError(f"program {name}: section {prog.section_name!r} (freplace) "
                                 "needs a target program: set attach_prog and attach_to")
        self._prepare_externs()
        if spec._btf_raw:
            coll.btf = _btf.BTF.load(spec._btf_raw)
        reused: set[str] = set()
        for name, mspec in spec.maps.items():
            if name in self.replacements:
                coll.maps[name] = self.replacements[name]
                coll._borrowed.add(name)
                continue
            m, was_reused = self._create_map(name, mspec)
            coll.maps[name] = m
            if was_reused:
                reused.add(name)
        for name, mspec in spec.maps.items():
            if name in reused or name in coll._borrowed:
                continue
            m = coll.maps[name]
            if name == ".kconfig" and self.kconfig_data is not None:
                m.update(0, self.kconfig_data)
            for k, v in mspec.contents if name != ".kconfig" else ():
                m.update(k, bytes(v) if isinstance(v, bytearray) else v)
            for slot, target in spec._map_slots.get(name, {}).items():
                m.update(slot, coll.maps[target].fd)
            if mspec.freeze:
                m.freeze()
            if mspec.pinning == PIN_BY_NAME and self.pin_path is not None:
                path = os.path.join(self.pin_path, pin_name(name))
                m.pin(path)
                self.pinned.append(path)
        for name, var in spec.variables.items():
            coll.variables[name] = Variable(var, coll.maps[var.section])
        for name, prog in spec.programs.items():
            if prog.autoload:
                coll.programs[name] = self._load_program(name, prog)
        for name, slots in spec._prog_array_slots.items():
            if name in reused or name in coll._borrowed:
                continue
            for slot, pname in slots.items():
                if pname in coll.programs:
                    coll.maps[name].update(slot, coll.programs[pname].fd)

    def _create_map(self, name: str, mspec: MapSpec) -> tuple[Map, bool]:
        if mspec.pinning == PIN_BY_NAME and self.pin_path is not None:
            path = os.path.join(self.pin_path, pin_name(name))
            if os.path.exists(path):
                m = Map.load_pinned(path)
                try:
                    info = m.info()
                    want = self._effective(mspec)
                    if (int(info.type), info.key_size, info.value_size, info.max_entries,
                            int(info.flags), info.map_extra) != (
                            int(want.type), want.key_size, want.value_size, want.max_entries,
                            int(want.flags), want.map_extra):
                        raise _explain_pin_mismatch(name, path, want, info)
                except BaseException:
                    m.close()
                    raise
                return m, True
        want = self._effective(mspec)
        btf = self.coll.btf
        key_id = value_id = 0
        types = self.spec.types
        if btf is not None and types is not None and want.type not in _NO_BTF_TYPES:
            if want.key_type is not None:
                key_id = types.type_id(want.key_type)
            if want.value_type is not None:
                value_id = types.type_id(want.value_type)
        if isinstance(want.inner_map, MapSpec):
            want.inner_map = self._effective(want.inner_map)
        if btf is not None and (key_id or value_id):
            try:
                return Map.create(want, btf=btf, btf_key_type_id=key_id,
                                  btf_value_type_id=value_id), False
            except BPFError:
                pass  # as libbpf: the kernel refused the map's BTF, so try without it
        return Map.create(want), False

    @staticmethod
    def _effective(mspec: MapSpec) -> MapSpec:
        """The spec as created: libbpf's adjustments for perf arrays and ring buffers."""


        max_entries = mspec.max_entries
        key_size, value_size = mspec.key_size, mspec.value_size
        if mspec.type == MapType.PERF_EVENT_ARRAY:
            max_entries = max_entries or possible_cpus()
            key_size, value_size = key_size or 4, value_size or 4
        elif mspec.type in (MapType.RINGBUF, MapType.USER_RINGBUF):
            page = os.sysconf("SC_PAGE_SIZE")
            n = max(max_entries, page)
            if n & (n - 1) or n % page:
                p = page
                while p < n:
                    p *= 2
                n = p
            max_entries = n
        if (max_entries, key_size, value_size) == (mspec.max_entries, mspec.key_size,
                                                   mspec.value_size):
            return mspec
        return replace(mspec, max_entries=max_entries, key_size=key_size,
                       value_size=value_size)

    def _prepare_externs(self) -> None:
        """The .kconfig value and the __ksym resolutions, once per load (btf.externs)."""

        spec = self.spec
        self.kconfig_data: Optional[bytes] = None
        self.ksyms: dict[str, Any] = {}
        if not spec._externs:
            return
        layout = spec._kconfig_layout
        if layout is not None and layout.entries and ".kconfig" in spec.maps:
            self.kconfig_data = _externs.kconfig_data(layout)
        if any(e.section == ".ksyms" for e in spec._externs):
            self.ksyms = dict(_externs.resolve_ksyms(spec._externs))

    def _relocator(self) -> Any:
        if getattr(self, "_core", None) is None:

            assert self.spec.types is not None
            self._core = Relocator(self.spec.types, self.kernel_types)
        return self._core

    def _load_program(self, name: str, prog: ProgramSpec) -> Program:

        spec = self.spec
        linked = spec._linked.get(name, _Linked({}, {}, []))
        insns = bytearray(prog.encoded())
        relocated: Any = None
        if linked.core:
            relos = [replace(cr, insn_off=idx * 8) for idx, cr in linked.core]
            relocated = self._relocator().relocate(bytes(insns), relos, program=name)
            insns = bytearray(relocated.instructions)
        if linked.externs:

            kconfig = self.coll.maps.get(".kconfig")
            insns = bytearray(_externs.patch_externs(
                insns, linked.externs, spec._externs, spec._kconfig_layout, self.ksyms,
                kconfig_fd=kconfig.fd if kconfig is not None else 0))
        for idx, key in linked.maps.items():
            fd = self.coll.maps[key].fd
            struct.pack_into("<i", insns, idx * 8 + 4, fd)
        attach_btf_id = prog.attach_btf_id
        info = parse_section(prog.section_name) if prog.section_name else None
        if info is not None and info.needs_btf_target and not attach_btf_id:
            if prog.attach_prog is None:
                attach_btf_id = self._btf_target(name, prog, info.btf_target_prefix)
        btf = self.coll.btf if prog.func_info or prog.line_info else None
        load = replace(prog, instructions=bytes(insns), attach_btf_id=attach_btf_id, btf=btf)
        try:
            return Program.load(load)
        except BPFError as exc:
            # Name the object's program (the kernel name may be truncated) and its section.
            exc.message = f"program {name} (section {prog.section_name}): {exc.message}"
            log = getattr(exc, "log", None)
            if relocated is not None and isinstance(log, str) and relocated.poisoned:

                new_log, found = explain_verifier_log(
                    log, {r.insn: r for r in relocated.relocations})
                exc.log = new_log  # type: ignore[attr-defined]
                if found:
                    exc.message += f" ({found[0].message})"
            raise

    def _btf_target(self, name: str, prog: ProgramSpec, prefix: str) -> int:
        target = prog.attach_to
        if not target:
            raise ValueError(f"program {name}: section {prog.section_name!r} names no attach "
                             "target")
        types = self.kernel_types or _btf.kernel_spec()
        kind: Any = _btf.Typedef if prefix == "btf_trace_" else _btf.Func
        try:
            t = types.type_by_name(prefix + target, kind)
        except KeyError:
            raise ValueError(f"program {name}: attach target {prefix + target} is not in the "
                             "kernel's BTF") from None
        return types.type_id(t)


def load_collection(path: Union[str, os.PathLike[str]], **options: Any) -> Collection:
    """Read an ELF object and load it: ``Collection.load(CollectionSpec.from_file(path))``."""
    return Collection.load(CollectionSpec.from_file(path), **options)


