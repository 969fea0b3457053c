"""The enums of kernel constants and fd_type(), against the compiled headers and the kernel."""

from __future__ import annotations

import errno
import os
import re
import struct
import subprocess
import time
from collections.abc import Iterator
from enum import IntEnum
from pathlib import Path

import pytest

import bpfobj
from bpfobj import (
    AttachType,
    BPFError,
    HelperFunc,
    LinkType,
    Map,
    MapSpec,
    MapType,
    ObjType,
    ProgramType,
    fd_type,
)
from bpfobj._internal import syscall as _sys
from bpfobj._internal.fd import FD

BPF_H = Path(__file__).resolve().parent.parent / "cdefs" / "bpf.h"
RETURN_1 = bytes([0xB7, 0, 0, 0, 1, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0])  # r0 = 1; exit


@pytest.mark.parametrize("prefix,enum", [
    ("BPF_MAP_TYPE_", MapType), ("BPF_PROG_TYPE_", ProgramType),
    ("BPF_LINK_TYPE_", LinkType), ("BPF_FUNC_", HelperFunc),
])
def test_enums_cover_every_compiled_constant(prefix: str, enum: type[IntEnum]) -> None:
    for name, value in _sys.constants(prefix).items():
        member = enum(value)  # aliases (..._DEPRECATED) resolve to their canonical member
        if not name.endswith("_DEPRECATED"):
            assert member.name == name[len(prefix):]
    assert {m.name for m in enum} <= {n[len(prefix):] for n in _sys.constants(prefix)}


def test_attach_types_cover_the_header() -> None:
    body = re.search(r"enum bpf_attach_type \{(.*?)\}", BPF_H.read_text(), re.S)
    assert body is not None
    names = re.findall(r"^\s*BPF_(\w+)", body.group(1), re.M)
    assert len(names) > 40
    for name in names:
        assert AttachType[name].value == _sys.const("BPF_" + name)


def test_map_type_names() -> None:
    assert str(MapType.HASH) == "Hash" and MapType.HASH.kernel_name == "hash"
    assert str(MapType.PERCPU_ARRAY) == "PerCPUArray"
    assert str(MapType.LRU_PERCPU_HASH) == "LRUCPUHash"
    assert MapType.LRU_PERCPU_HASH.kernel_name == "lru_percpu_hash"
    assert str(MapType.ARRAY_OF_MAPS) == "ArrayOfMaps"
    assert int(MapType.HASH) == 1 and int(MapType.ARRAY) == 2
    for t in MapType:
        assert str(t) and str(t)[0].isupper() and " " not in str(t)
        assert t.kernel_name == t.name.lower()
    assert len({str(t) for t in MapType}) == len(MapType)


def test_program_and_other_names() -> None:
    assert str(ProgramType.XDP) == "XDP" and ProgramType.XDP.kernel_name == "xdp"
    assert str(ProgramType.SOCKET_FILTER) == "SocketFilter"
    assert ProgramType.SCHED_CLS.kernel_name == "sched_cls"
    assert AttachType.CGROUP_INET_INGRESS.kernel_name == "cgroup_inet_ingress"
    assert LinkType.TCX.kernel_name == "tcx"
    assert int(HelperFunc.map_lookup_elem) == 1
    for t in ProgramType:
        assert str(t) and str(t)[0].isupper()
    assert len({str(t) for t in ProgramType}) == len(ProgramType)


def test_obj_type() -> None:
    assert str(ObjType.MAP) == "map" and ObjType("prog") is ObjType.PROG
    assert ObjType.LINK.anon_names == ("bpf_link", "bpf-link")
    assert ObjType.MAP.anon_names == ("bpf-map",) and ObjType.BTF.anon_names == ("btf",)


# -- fd_type against the kernel ----------------------------------------------------------


def _btf_blob() -> bytes:
    """The smallest BTF: one 32-bit int named "int"."""
    strings = b"\x00int\x00"
    types = struct.pack("=III", 1, 1 << 24, 4) + struct.pack("=I", 32)  # BTF_KIND_INT, 32 bits
    header = struct.pack("=HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(strings))
    return header + types + strings


@pytest.fixture
def netns() -> Iterator[FD]:
    """A descriptor of a fresh network namespace, kept alive by a sleeping child."""
    child = subprocess.Popen(["unshare", "--net", "sleep", "60"])
    try:
        path = f"/proc/{child.pid}/ns/net"
        own = os.readlink("/proc/self/ns/net")
        deadline = time.monotonic() + 10
        while os.readlink(path) == own:  # until the child has unshared
            assert time.monotonic() < deadline, "unshare --net did not start"
            time.sleep(0.005)
        raw = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        with FD.adopt(raw) as fd:
            yield fd
    finally:
        child.kill()
        child.wait()


@pytest.mark.usefixtures("kernel")
def test_fd_type_of_every_kind(netns: FD) -> None:
    with Map.create(MapSpec(MapType.ARRAY, 4, 4, 1)) as m:
        assert fd_type(m.fd) is ObjType.MAP and fd_type(m) is ObjType.MAP
        assert fd_type(m._fd) is ObjType.MAP
    prog, _ = _sys.prog_load(prog_type=int(ProgramType.SK_LOOKUP), insns=RETURN_1, license="GPL",
                             expected_attach_type=int(AttachType.SK_LOOKUP))
    with prog:
        assert fd_type(prog.raw) is ObjType.PROG
        btf, _ = _sys.btf_load(_btf_blob())
        with btf:
            assert fd_type(btf) is ObjType.BTF
        link = _sys.link_create(prog, target_fd=netns, attach_type=int(AttachType.SK_LOOKUP))
        with link:
            # fresh from BPF_LINK_CREATE the kernel names it with an underscore
            assert os.readlink(f"/proc/self/fd/{link.raw}") == "anon_inode:bpf_link"
            assert fd_type(link) is ObjType.LINK
            link_id = _sys.link_info(link, "link")[0]["id"]
            with _sys.get_fd_by_id("link", link_id) as again:
                # reopened by ID it reads bpf-link, with a dash
                assert os.readlink(f"/proc/self/fd/{again.raw}") == "anon_inode:bpf-link"
                assert fd_type(again) is ObjType.LINK


def test_fd_type_of_other_files() -> None:
    r, w = os.pipe()
    try:
        assert fd_type(r) is None
        with open("/dev/null", "rb") as f:
            assert fd_type(f.fileno()) is None
    finally:
        os.close(r)
        os.close(w)
    with pytest.raises(BPFError) as info:
        fd_type(r)  # closed now
    assert info.value.errno == errno.EBADF
    with pytest.raises(BPFError):
        fd_type(-1)
    with pytest.raises(TypeError):
        fd_type(True)
    with pytest.raises(TypeError):
        fd_type("3")


def test_public_names() -> None:
    for name in ("MapType", "ProgramType", "AttachType", "LinkType", "ObjType", "fd_type"):
        assert name in bpfobj.__all__
