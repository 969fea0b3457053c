"""A small ELF reader: sections, symbols, relocations and program headers.

Owns the parsing of ELF files (BPF objects from clang, executables and shared
libraries for uprobes). Pure Python; imports only the standard library, so the
BTF reader, the collection loader and the tracing links use it without the
compiled module.

Why our own reader rather than pyelftools: every malformed input must end in a
``ValueError`` that names the section or offset (never IndexError, struct.error
or a hang), which is easiest to guarantee when every read goes through one
bounds-checked helper; and parsing must be fast (a mid-size BPF object well
under 50 ms), which a reader that decodes only what is asked for, with
``struct.iter_unpack`` over whole tables, gives.

Supported: ELF32 and ELF64, little- and big-endian, section headers and names
(with the SHN_XINDEX extensions), ``.symtab``/``.dynsym``, SHT_REL/SHT_RELA,
program headers. Nothing here is specific to the host: a big-endian BPF object
parses; whoever loads it checks ``ELFFile.little_endian``.

API::

    elf = ELFFile(data)                  # bytes-like; ValueError on a malformed header
    elf.elf_class (32|64), elf.little_endian, elf.machine, elf.type, elf.entry
    elf.sections -> list[Section]        # index order; sections[0] is the null section
    elf.section(name) -> Section | None  # the first section of that name
    sec.name, .type, .flags, .addr, .offset, .size, .link, .info, .entsize, .index
    elf.data(sec) -> bytes               # b"" for SHT_NOBITS; ValueError when out of the file
    elf.symbols() -> list[Symbol]        # .symtab (SHT_SYMTAB), [] when absent
    elf.dynamic_symbols() -> list[Symbol]  # .dynsym (SHT_DYNSYM)
    sym.name, .value, .size, .bind, .type, .visibility, .shndx, .index
    elf.relocations(sec) -> list[Relocation]   # sec is SHT_REL or SHT_RELA
    rel.offset, .sym (symbol index), .type, .addend (0 for REL)
    elf.relocation_sections() -> list[tuple[Section, Section]]  # (rel section, target)
    elf.segments -> list[Segment]        # program headers: type, flags, offset, vaddr,
                                         # filesz, memsz, align
    elf.vaddr_to_offset(addr) -> int     # through PT_LOAD; ValueError when not mapped
    elf.string(strtab_sec, off) -> str   # a NUL-terminated name from a string table
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Optional

__all__ = [
    "ELFFile", "Section", "Symbol", "Relocation", "Segment",
    "SHT_NULL", "SHT_PROGBITS", "SHT_SYMTAB", "SHT_STRTAB", "SHT_RELA", "SHT_NOBITS",
    "SHT_REL", "SHT_DYNSYM", "SHF_WRITE", "SHF_ALLOC", "SHF_EXECINSTR",
    "STB_LOCAL", "STB_GLOBAL", "STB_WEAK", "STT_NOTYPE", "STT_OBJECT", "STT_FUNC",
    "STT_SECTION", "STT_FILE", "SHN_UNDEF", "SHN_ABS", "SHN_COMMON", "PT_LOAD",
    "EM_BPF", "ET_REL", "ET_EXEC", "ET_DYN",
]

SHT_NULL, SHT_PROGBITS, SHT_SYMTAB, SHT_STRTAB, SHT_RELA = 0, 1, 2, 3, 4
SHT_NOBITS, SHT_REL, SHT_DYNSYM = 8, 9, 11
SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR = 0x1, 0x2, 0x4
STB_LOCAL, STB_GLOBAL, STB_WEAK = 0, 1, 2
STT_NOTYPE, STT_OBJECT, STT_FUNC, STT_SECTION, STT_FILE = 0, 1, 2, 3, 4
SHN_UNDEF, SHN_LORESERVE, SHN_ABS, SHN_COMMON, SHN_XINDEX = 0, 0xFF00, 0xFFF1, 0xFFF2, 0xFFFF
PT_LOAD = 1
EM_BPF = 247
ET_REL, ET_EXEC, ET_DYN = 1, 2, 3



@dataclass(frozen=True, slots=True)
class Section:
    """One section header; ``name`` is resolved from the section-name table."""

    index: int
    name: str
    type: int
    flags: int
    addr: int
    offset: int
    size: int
    link: int
    info: int
    addralign: int
    entsize: int


@dataclass(frozen=True, slots=True)
class Symbol:
    """One symbol table entry. ``shndx`` is the real section index (SHN_XINDEX resolved)."""

    index: int
    name: str
    value: int
    size: int
    bind: int
    type: int
    visibility: int
    shndx: int


@dataclass(frozen=True, slots=True)
class Relocation:
    """One REL or RELA entry; ``addend`` is 0 for REL."""

    offset: int
    sym: int
    type: int
    addend: int


@dataclass(frozen=True, slots=True)
class Segment:
    """One program header."""

    type: int
    flags: int
    offset: int
    vaddr: int
    filesz: int
    memsz: int
    align: int


class ELFFile:
    """A parsed ELF file (headers eagerly, tables on demand). See the module docstring."""

    def __init__(self, data: bytes | bytearray | memoryview) -> None:
        self._data = bytes(data)
        d = self._data
        if len(d) < 16 or d[:4] != b"\x7fELF":
            raise ValueError("ELF header at offset 0: not an ELF file (bad magic)")
        if d[4] not in (1, 2):
            raise ValueError(f"ELF header at offset 4: unknown class {d[4]}")
        if d[5] not in (1, 2):
            raise ValueError(f"ELF header at offset 5: unknown data encoding {d[5]}")
        self.elf_class = 32 if d[4] == 1 else 64
        self.little_endian = d[5] == 1
        e = "<" if self.little_endian else ">"
        self._e = e
        if self.elf_class == 64:
            hdr = struct.Struct(e + "HHIQQQIHHHHHH")
            self._shdr = struct.Struct(e + "IIQQQQIIQQ")
            self._phdr = struct.Struct(e + "IIQQQQQQ")
            self._sym = struct.Struct(e + "IBBHQQ")
            self._rel = struct.Struct(e + "QQ")
            self._rela = struct.Struct(e + "QQq")
        else:
            hdr = struct.Struct(e + "HHIIIIIHHHHHH")
            self._shdr = struct.Struct(e + "IIIIIIIIII")
            self._phdr = struct.Struct(e + "IIIIIIII")
            self._sym = struct.Struct(e + "IIIBBH")
            self._rel = struct.Struct(e + "II")
            self._rela = struct.Struct(e + "IIi")
        if len(d) < 16 + hdr.size:
            raise ValueError(f"ELF header at offset 16: truncated ({len(d)} bytes)")
        (self.type, self.machine, _version, self.entry, phoff, shoff, self.flags, _ehsize,
         phentsize, phnum, shentsize, shnum, shstrndx) = hdr.unpack_from(d, 16)
        self.sections = self._read_sections(shoff, shentsize, shnum, shstrndx)
        self.segments = self._read_segments(phoff, phentsize, phnum)
        self._by_name: dict[str, Section] = {}
        for sec in self.sections:
            self._by_name.setdefault(sec.name, sec)

    # -- headers ---------------------------------------------------------------------

    def _table(self, what: str, off: int, entsize: int, count: int, need: int) -> None:
        if count and entsize < need:
            raise ValueError(f"{what} at offset {off:#x}: entry size {entsize} < {need}")
        if off + entsize * count > len(self._data):
            raise ValueError(f"{what} at offset {off:#x}: {count} entries of {entsize} bytes "
                             f"run past the end of the file ({len(self._data)} bytes)")

    def _read_sections(self, shoff: int, shentsize: int, shnum: int,
                       shstrndx: int) -> list[Section]:
        if shoff == 0:
            return []
        ss = self._shdr
        self._table("section header table", shoff, shentsize, max(shnum, 1), ss.size)
        raw0 = ss.unpack_from(self._data, shoff)
        if shnum == 0:  # more than SHN_LORESERVE sections: the count is in section 0
            shnum = raw0[5]
            self._table("section header table", shoff, shentsize, shnum, ss.size)
        if shstrndx == SHN_XINDEX:
            shstrndx = raw0[6]
        raws = [ss.unpack_from(self._data, shoff + i * shentsize) for i in range(shnum)]
        if shstrndx >= shnum:
            if shstrndx:
                raise ValueError(f"ELF header: section-name table index {shstrndx} is out of "
                                 f"range ({shnum} sections)")
        names: Optional[tuple[int, int]] = None
        if 0 < shstrndx < shnum:
            r = raws[shstrndx]
            self._check_range(f"section-name table (section {shstrndx})", r[4], r[5])
            names = (r[4], r[5])
        out = []
        for i, r in enumerate(raws):
            name = ""
            if names is not None and i:
                name = self._cstring(names[0], names[1], r[0],
                                     f"name of section {i}")
            # r: name, type, flags, addr, offset, size, link, info, addralign, entsize
            out.append(Section(i, name, r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9]))
        return out

    def _read_segments(self, phoff: int, phentsize: int, phnum: int) -> list[Segment]:
        if phoff == 0 or phnum == 0:
            return []
        ps = self._phdr
        self._table("program header table", phoff, phentsize, phnum, ps.size)
        out = []
        for i in range(phnum):
            r = ps.unpack_from(self._data, phoff + i * phentsize)
            if self.elf_class == 64:
                p_type, p_flags, off, vaddr, _paddr, filesz, memsz, align = r
            else:
                p_type, off, vaddr, _paddr, filesz, memsz, p_flags, align = r
            out.append(Segment(p_type, p_flags, off, vaddr, filesz, memsz, align))
        return out

    # -- bytes and strings -------------------------------------------------------------

    def _check_range(self, what: str, off: int, size: int) -> None:
        if off + size > len(self._data):
            raise ValueError(f"{what} at offset {off:#x}: {size} bytes run past the end of "
                             f"the file ({len(self._data)} bytes)")

    def _cstring(self, base: int, size: int, off: int, what: str) -> str:
        if off >= size:
            if off == 0 and size == 0:
                return ""
            raise ValueError(f"{what}: string offset {off:#x} is past the end of its string "
                             f"table ({size} bytes at {base:#x})")
        start = base + off
        end = self._data.find(b"\0", start, base + size)
        if end < 0:
            raise ValueError(f"{what}: string at offset {start:#x} is not NUL-terminated "
                             "within its string table")
        return self._data[start:end].decode("utf-8", "replace")

    def data(self, sec: Section) -> bytes:
        """The section's bytes (b"" for SHT_NOBITS such as .bss)."""
        if sec.type in (SHT_NOBITS, SHT_NULL):
            return b""
        self._check_range(f"section {sec.name or sec.index}", sec.offset, sec.size)
        return self._data[sec.offset:sec.offset + sec.size]

    def section(self, name: str) -> Optional[Section]:
        """The first section named ``name``, or None."""
        return self._by_name.get(name)

    def _linked(self, sec: Section, what: str) -> Section:
        if not 0 < sec.link < len(self.sections):
            raise ValueError(f"section {sec.name or sec.index}: {what} index {sec.link} is out "
                             f"of range ({len(self.sections)} sections)")
        return self.sections[sec.link]

    def string(self, strtab: Section, off: int) -> str:
        """The NUL-terminated string at ``off`` in string table ``strtab``."""
        self._check_range(f"string table {strtab.name or strtab.index}", strtab.offset,
                          strtab.size)
        return self._cstring(strtab.offset, strtab.size, off,
                             f"string table {strtab.name or strtab.index}")

    # -- symbols -------------------------------------------------------------------

    def symbols(self) -> list[Symbol]:
        """The entries of the SHT_SYMTAB section (index order; entry 0 is the null symbol)."""
        return self._symbols_of(SHT_SYMTAB)

    def dynamic_symbols(self) -> list[Symbol]:
        """The entries of the SHT_DYNSYM section."""
        return self._symbols_of(SHT_DYNSYM)

    def _symbols_of(self, sh_type: int) -> list[Symbol]:
        for sec in self.sections:
            if sec.type == sh_type:
                return self.symbols_in(sec)
        return []

    def _xindex(self, symtab: Section) -> Optional[list[int]]:
        for sec in self.sections:
            if sec.type == 18 and sec.link == symtab.index:  # SHT_SYMTAB_SHNDX
                raw = self.data(sec)
                n = len(raw) // 4
                return list(struct.unpack_from(f"{self._e}{n}I", raw))
        return None

    def symbols_in(self, symtab: Section) -> list[Symbol]:
        """The symbols of one symbol table section."""
        ss = self._sym
        what = f"symbol table {symtab.name or symtab.index}"
        entsize = symtab.entsize or ss.size
        if entsize < ss.size:
            raise ValueError(f"{what}: entry size {entsize} < {ss.size}")
        raw = self.data(symtab)
        strtab = self._linked(symtab, "string table")
        self._check_range(f"string table {strtab.name or strtab.index}", strtab.offset,
                          strtab.size)
        sbase, ssize = strtab.offset, strtab.size
        count = len(raw) // entsize
        xindex: Optional[list[int]] = None
        out = []
        for i in range(count):
            if self.elf_class == 64:
                st_name, info, other, shndx, value, size = ss.unpack_from(raw, i * entsize)
            else:
                st_name, value, size, info, other, shndx = ss.unpack_from(raw, i * entsize)
            if shndx == SHN_XINDEX:
                if xindex is None:
                    xindex = self._xindex(symtab) or []
                if i >= len(xindex):
                    raise ValueError(f"{what}: symbol {i} uses SHN_XINDEX without an "
                                     "extended index entry")
                shndx = xindex[i]
            name = self._cstring(sbase, ssize, st_name, f"{what}: name of symbol {i}") \
                if st_name else ""
            out.append(Symbol(i, name, value, size, info >> 4, info & 0xF, other & 0x3, shndx))
        return out

    # -- relocations -----------------------------------------------------------------

    def relocation_sections(self) -> list[tuple[Section, Section]]:
        """Each SHT_REL/SHT_RELA section with the section it applies to (sh_info).

        Dynamic relocations (``.rela.dyn``) apply to no one section: their target is
        the null section ``sections[0]``.
        """
        out = []
        for sec in self.sections:
            if sec.type in (SHT_REL, SHT_RELA):
                if not 0 <= sec.info < len(self.sections):
                    raise ValueError(f"relocation section {sec.name or sec.index}: target "
                                     f"section {sec.info} is out of range")
                out.append((sec, self.sections[sec.info]))
        return out

    def relocations(self, sec: Section) -> list[Relocation]:
        """The entries of an SHT_REL or SHT_RELA section."""
        what = f"relocation section {sec.name or sec.index}"
        if sec.type not in (SHT_REL, SHT_RELA):
            raise ValueError(f"{what}: type {sec.type} is not SHT_REL or SHT_RELA")
        rs = self._rela if sec.type == SHT_RELA else self._rel
        entsize = sec.entsize or rs.size
        if entsize < rs.size:
            raise ValueError(f"{what}: entry size {entsize} < {rs.size}")
        raw = self.data(sec)
        shift, mask = (32, 0xFFFFFFFF) if self.elf_class == 64 else (8, 0xFF)
        out = []
        rela = sec.type == SHT_RELA
        for i in range(len(raw) // entsize):
            r = rs.unpack_from(raw, i * entsize)
            out.append(Relocation(r[0], r[1] >> shift, r[1] & mask, r[2] if rela else 0))
        return out

    # -- addresses -------------------------------------------------------------------

    def vaddr_to_offset(self, addr: int) -> int:
        """The file offset of virtual address ``addr``, through the PT_LOAD segments."""
        for seg in self.segments:
            if seg.type == PT_LOAD and seg.vaddr <= addr < seg.vaddr + seg.filesz:
                return addr - seg.vaddr + seg.offset
        # Executables without program headers (relocatable objects): fall back to sections.
        for sec in self.sections:
            if sec.flags & SHF_ALLOC and sec.type != SHT_NOBITS and \
                    sec.addr <= addr < sec.addr + sec.size:
                return addr - sec.addr + sec.offset
        raise ValueError(f"address {addr:#x} is in no PT_LOAD segment")
