"""The ELF reader and CollectionSpec on objects compiled here, and on hostile bytes.

Big-endian BPF (-target bpfeb) and 32-bit objects (-m32) compiled by clang are read and
compared with pyelftools; truncated and mutated BPF objects must give ValueError from
CollectionSpec.from_bytes, never another exception.
"""

from __future__ import annotations

import os
import subprocess
import tempfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bpfobj import CollectionSpec
from bpfobj._internal import elf
from tests.bpf import big_endian_object, objects
from tests.unit.test_elf_parse import _compare_with_pyelftools

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MAPS = open(objects()["maps.bpf"], "rb").read()  # noqa: SIM115 - read once at import


def test_big_endian_object_equals_pyelftools() -> None:
    data = big_endian_object()
    with tempfile.NamedTemporaryFile(suffix=".o") as f:
        f.write(data)
        f.flush()
        _compare_with_pyelftools(f.name)
    e = elf.ELFFile(data)
    assert not e.little_endian and e.machine == elf.EM_BPF
    assert any(s.name == "knob" for s in e.symbols())


def test_elf32_object_equals_pyelftools(tmp_path: object) -> None:
    src = os.path.join(str(tmp_path), "x.c")
    out = os.path.join(str(tmp_path), "x.o")
    with open(src, "w") as f:
        f.write("int counter = 3;\nint get(void) { return counter; }\n")
    subprocess.run(["clang", "-m32", "-O2", "-c", src, "-o", out], check=True)
    _compare_with_pyelftools(out)
    e = elf.ELFFile(open(out, "rb").read())  # noqa: SIM115
    assert e.elf_class == 32 and e.little_endian
    rels = [r for sec, _ in e.relocation_sections() for r in e.relocations(sec)]
    assert rels and all(r.addend == 0 for r in rels)  # i386 uses REL


def test_every_compiled_object_equals_pyelftools() -> None:
    for path in objects().values():
        _compare_with_pyelftools(path)


def _spec_or_value_error(data: bytes) -> None:
    try:
        CollectionSpec.from_bytes(data)
    except ValueError as exc:
        assert str(exc)


@FUZZ
@given(st.integers(0, len(MAPS) - 1))
def test_truncated_object(cut: int) -> None:
    _spec_or_value_error(MAPS[:cut])


@FUZZ
@given(st.lists(st.tuples(st.integers(0, len(MAPS) - 1), st.integers(0, 255)),
                min_size=1, max_size=6))
def test_mutated_object(edits: list[tuple[int, int]]) -> None:
    data = bytearray(MAPS)
    for off, byte in edits:
        data[off] = byte
    _spec_or_value_error(bytes(data))
