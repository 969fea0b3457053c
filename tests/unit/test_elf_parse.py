"""The ELF reader on real files and on hostile bytes (no root needed).

Real files: the system's BPF objects, a shared library and an executable are
read and compared field by field with pyelftools, an independent reader.
Hostile bytes: hypothesis truncates and mutates real objects; the reader must
return or raise ValueError (naming a section or offset), in bounded time.
"""

from __future__ import annotations

import glob
import os
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bpfobj._internal import elf

BPF_DIR = "/usr/lib/x86_64-linux-gnu/bpf"
OBJECTS = sorted(glob.glob(os.path.join(BPF_DIR, "*.o")))
NATIVE = [p for p in ("/usr/lib/x86_64-linux-gnu/libc.so.6", "/bin/ls") if os.path.exists(p)]
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _compare_with_pyelftools(path: str) -> None:
    from elftools.elf.elffile import ELFFile as Other
    from elftools.elf.relocation import RelocationSection
    from elftools.elf.sections import SymbolTableSection

    ours = elf.ELFFile(_read(path))
    with open(path, "rb") as f:
        other = Other(f)
        assert ours.elf_class == other.elfclass
        assert ours.little_endian == other.little_endian
        assert ours.type == {"ET_REL": 1, "ET_EXEC": 2, "ET_DYN": 3}[other["e_type"]]
        assert len(ours.sections) == other.num_sections()
        for mine, theirs in zip(ours.sections, other.iter_sections(), strict=True):
            assert mine.name == theirs.name
            assert (mine.offset, mine.size, mine.link, mine.info) == (
                theirs["sh_offset"], theirs["sh_size"], theirs["sh_link"], theirs["sh_info"])
            if isinstance(theirs, SymbolTableSection):
                syms = ours.symbols_in(mine)
                assert [(s.name, s.value, s.size) for s in syms] == [
                    (t.name, t["st_value"], t["st_size"]) for t in theirs.iter_symbols()]
            if isinstance(theirs, RelocationSection):
                rels = ours.relocations(mine)
                assert [(r.offset, r.sym, r.type) for r in rels] == [
                    (t["r_offset"], t["r_info_sym"], t["r_info_type"])
                    for t in theirs.iter_relocations()]
        assert [(s.offset, s.vaddr, s.filesz, s.memsz) for s in ours.segments] == [
            (s["p_offset"], s["p_vaddr"], s["p_filesz"], s["p_memsz"])
            for s in other.iter_segments()]


@pytest.mark.parametrize("path", OBJECTS + NATIVE, ids=os.path.basename)
def test_equals_pyelftools(path: str) -> None:
    _compare_with_pyelftools(path)


def test_bpf_object_shape() -> None:
    e = elf.ELFFile(_read(os.path.join(BPF_DIR, "xdp-dispatcher.o")))
    assert e.machine == elf.EM_BPF and e.type == elf.ET_REL and e.elf_class == 64
    assert e.little_endian
    assert {".text", "xdp", ".rodata", "license", ".BTF", ".BTF.ext"} <= {
        s.name for s in e.sections}
    lic = e.section("license")
    assert lic is not None and e.data(lic).rstrip(b"\0") == b"GPL"
    targets = {t.name for _, t in e.relocation_sections()}
    assert "xdp" in targets
    funcs = {s.name for s in e.symbols() if s.type == elf.STT_FUNC}
    assert "xdp_dispatcher" in funcs and "prog0" in funcs


def test_vaddr_to_offset_of_a_library_symbol() -> None:
    path = NATIVE[0]
    e = elf.ELFFile(_read(path))
    sym = next(s for s in e.dynamic_symbols() if s.name == "getpid")
    off = e.vaddr_to_offset(sym.value)
    seg = next(s for s in e.segments
               if s.type == elf.PT_LOAD and s.vaddr <= sym.value < s.vaddr + s.filesz)
    assert off == sym.value - seg.vaddr + seg.offset
    with pytest.raises(ValueError, match="no PT_LOAD"):
        e.vaddr_to_offset(1 << 62)


def _swap_ident(data: bytes, big: bool) -> bytes:
    return data[:5] + (b"\x02" if big else b"\x01") + data[6:]


def test_minimal_headers_every_class_and_order() -> None:
    for cls in (32, 64):
        for big in (False, True):
            e = ">" if big else "<"
            ident = b"\x7fELF" + bytes([1 if cls == 32 else 2, 2 if big else 1, 1]) + bytes(9)
            fmt = "HHIIIIIHHHHHH" if cls == 32 else "HHIQQQIHHHHHH"
            hdr = ident + struct.pack(e + fmt, 1, elf.EM_BPF, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            f = elf.ELFFile(hdr)
            assert (f.elf_class, f.little_endian, f.machine) == (cls, not big, elf.EM_BPF)
            assert f.sections == [] and f.segments == []


@pytest.mark.parametrize("data, match", [
    (b"", "bad magic"), (b"\x7fELF", "bad magic"), (b"\x7fELF\x03\x01" + bytes(10), "class"),
    (b"\x7fELF\x02\x03" + bytes(10), "encoding"), (b"\x7fELF\x02\x01" + bytes(20), "truncated"),
])
def test_bad_headers(data: bytes, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        elf.ELFFile(data)


def test_section_table_past_the_end_names_the_offset() -> None:
    data = bytearray(_read(os.path.join(BPF_DIR, "xdp-dispatcher.o")))
    struct.pack_into("<Q", data, 0x28, len(data) - 8)  # e_shoff
    with pytest.raises(ValueError, match=r"section header table at offset 0x"):
        elf.ELFFile(bytes(data))


def _exercise(data: bytes) -> None:
    try:
        e = elf.ELFFile(data)
        for sec in e.sections:
            e.data(sec)
        e.symbols()
        e.dynamic_symbols()
        for rel, _target in e.relocation_sections():
            e.relocations(rel)
    except ValueError as exc:
        assert str(exc)


SMALL = _read(os.path.join(BPF_DIR, "xdpfilt_alw_all.o")) if OBJECTS else b""


@FUZZ
@given(st.integers(0, max(len(SMALL) - 1, 0)))
def test_truncated_objects_raise_value_error(cut: int) -> None:
    _exercise(SMALL[:cut])


@FUZZ
@given(st.lists(st.tuples(st.integers(0, max(len(SMALL) - 1, 0)), st.integers(0, 255)),
                min_size=1, max_size=8))
def test_mutated_objects_raise_value_error(edits: list[tuple[int, int]]) -> None:
    data = bytearray(SMALL)
    for off, byte in edits:
        data[off] = byte
    _exercise(bytes(data))


@FUZZ
@given(st.integers(0, 0x3F), st.integers(0, 2**64 - 1))
def test_mutated_header_words(off: int, value: int) -> None:
    data = bytearray(SMALL)
    width = 8 if off + 8 <= 0x40 else 2
    struct.pack_into("<Q" if width == 8 else "<H", data, off, value & ((1 << 8 * width) - 1))
    _exercise(bytes(data))


@FUZZ
@given(st.binary(max_size=200))
def test_random_bytes(data: bytes) -> None:
    _exercise(b"\x7fELF" + data)
