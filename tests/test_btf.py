"""BTF handles against the real kernel: load raw BTF, open by id/fd, info, errors."""

from __future__ import annotations

import json
import struct
import subprocess

import pytest

import bpfobj
from bpfobj import BTF, BPFError, BTFLoadError, ClosedError, ObjectTypeError
from bpfobj._internal import syscall as _sys

from .conftest import open_fds

pytestmark = pytest.mark.usefixtures("kernel")

BTF_KIND_INT = 1


def raw_btf(name: bytes = b"int", size: int = 4) -> bytes:
    """A minimal BTF blob: one INT type named ``name``; header, types, strings."""
    strings = b"\0" + name + b"\0"
    # struct btf_type: name_off, info (kind << 24), size; then the INT encoding u32.
    types = struct.pack("<IIII", 1, BTF_KIND_INT << 24, size, size * 8)
    header = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(strings))
    return header + types + strings


def test_load_and_info() -> None:
    blob = raw_btf()
    with BTF.load(blob) as b:
        info = b.info()
        assert info.id > 0
        assert info.size == len(blob)
        assert info.kernel_btf is False
        assert info.name == ""
        assert repr(b) == f"BTF#{b.fd}"
        assert bpfobj.fd_type(b) is bpfobj.ObjType.BTF
        with BTF.new_from_id(info.id) as again, BTF.new_from_fd(b.fd) as dup:
            assert again.info() == info == dup.info()


def test_kernel_btf_is_vmlinux() -> None:
    first = _sys.get_next_id("btf", 0)
    assert first is not None
    with BTF.new_from_id(first) as b:
        info = b.info()
    assert info.kernel_btf is True
    assert info.name == "vmlinux"


def test_invalid_btf_gives_the_kernel_log() -> None:
    bad = bytearray(raw_btf())
    bad[24 + 4:24 + 8] = struct.pack("<I", 99 << 24)  # an unknown kind
    with pytest.raises(BTFLoadError) as info:
        BTF.load(bytes(bad))
    assert info.value.log
    with pytest.raises(ValueError):
        BTF.load(b"")


def test_wrong_type() -> None:
    with bpfobj.Map.create(bpfobj.MapSpec(bpfobj.MapType.ARRAY, 4, 4, 1)) as m:
        with pytest.raises(ObjectTypeError, match="bpf-map, not a btf"):
            BTF.new_from_fd(m.fd)


@pytest.mark.bpftool
def test_info_equals_bpftool(bpftool: str) -> None:
    with BTF.load(raw_btf()) as b:
        info = b.info()
        out = subprocess.run([bpftool, "-j", "btf", "show", "id", str(info.id)],
                             capture_output=True, text=True, check=True)
        j = json.loads(out.stdout)
        assert j["id"] == info.id
        assert j["size"] == info.size
        assert j.get("kernel", False) == info.kernel_btf


def test_clone_close_and_closed_errors() -> None:
    b = BTF.load(raw_btf())
    c = b.clone()
    b.close()
    b.close()
    with pytest.raises(ClosedError):
        b.info()
    assert c.info().size == len(raw_btf())  # the clone outlives the original
    c.close()


def test_btf_cannot_be_pinned(pin_dir: str) -> None:
    with BTF.load(raw_btf()) as b:
        with pytest.raises(BPFError, match="pins only maps, programs and links"):
            b.pin(pin_dir + "/btf")
        assert not b.is_pinned


def test_load_failures_leak_nothing() -> None:
    before = open_fds()
    blob = raw_btf()
    for bad in (blob[:10], b"\0" * 24, blob[:-1], blob[:24]):
        with pytest.raises(BTFLoadError) as info:
            BTF.load(bad)
        assert info.value.errno
    assert open_fds() == before


def test_program_and_map_descriptors_are_not_btf() -> None:
    prog = bpfobj.Program.load(bpfobj.ProgramSpec(
        bpfobj.ProgramType.XDP, bytes([0xB7, 0, 0, 0, 2, 0, 0, 0, 0x95]) + bytes(7)))
    with prog:
        with pytest.raises(ObjectTypeError, match="bpf-prog, not a btf"):
            BTF.new_from_fd(prog.fd)
    with BTF.new_from_id(1) as b, pytest.raises(ObjectTypeError, match="btf, not a bpf-prog"):
        bpfobj.Program.new_from_fd(b.fd)


@pytest.mark.bpftool
def test_kernel_btf_equals_bpftool(bpftool: str) -> None:
    first = _sys.get_next_id("btf", 0)
    assert first is not None
    with BTF.new_from_id(first) as b:
        info = b.info()
    out = subprocess.run([bpftool, "-j", "btf", "show", "id", str(first)],
                         capture_output=True, text=True, check=True)
    j = json.loads(out.stdout)
    assert (j["id"], j["size"], j["kernel"], j["name"]) == (
        info.id, info.size, info.kernel_btf, info.name)


def test_log_of_a_successful_load() -> None:
    with BTF.load(raw_btf(), log_level=1) as b:
        assert "btf_total_size: 45" in b.log
        assert "[1] INT int size=4" in b.log  # the kernel describes each type
    with BTF.load(raw_btf()) as b, BTF.new_from_id(b.info().id) as again:
        assert b.log == "" == again.log
