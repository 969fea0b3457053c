"""bpfobj.new_from_fd and bpfobj.load_pinned against the real kernel: the right class for
a map, a program, a link (fresh from the kernel or reopened) and BTF; errors leak nothing."""

from __future__ import annotations

import errno
import fcntl
import os
import struct
from collections.abc import Iterator

import pytest

import bpfobj
from bpfobj import (
    BTF,
    BPFError,
    Link,
    Map,
    MapSpec,
    MapType,
    NotBPFFSError,
    ObjectTypeError,
    ObjType,
    Program,
    ProgramSpec,
    ProgramType,
)

from .conftest import open_fds

pytestmark = pytest.mark.usefixtures("kernel")

EXIT = bytes([0x95]) + bytes(7)


def mov_r0(imm: int) -> bytes:
    return bytes([0xB7, 0, 0, 0]) + imm.to_bytes(4, "little", signed=True)


def raw_btf() -> bytes:
    strings = b"\0int\0"
    types = struct.pack("<IIII", 1, 1 << 24, 4, 32)  # INT "int", 4 bytes, 32 bits
    return struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types),
                       len(strings)) + types + strings


@pytest.fixture
def objs() -> Iterator[dict[str, object]]:
    """One of each kind: map, XDP program, raw tracepoint link (and its program), BTF."""
    made: list[object] = []
    try:
        m = Map.create(MapSpec(MapType.ARRAY, 4, 4, 1, name="any_map"))
        made.append(m)
        p = Program.load(ProgramSpec(ProgramType.XDP, mov_r0(2) + EXIT, name="any_xdp"))
        made.append(p)
        tp = Program.load(ProgramSpec(ProgramType.RAW_TRACEPOINT, mov_r0(0) + EXIT,
                                      name="any_tp"))
        made.append(tp)
        link = Link.attach_raw_tracepoint(tp, "task_rename")
        made.append(link)
        b = BTF.load(raw_btf())
        made.append(b)
        yield {"map": m, "prog": p, "link": link, "btf": b}
    finally:
        for obj in reversed(made):
            obj.close()  # type: ignore[attr-defined]


def _id(obj: object) -> int:
    return obj.info().id  # type: ignore[attr-defined, no-any-return]


CLASSES = {"map": Map, "prog": Program, "link": Link, "btf": BTF}


@pytest.mark.parametrize("kind", ["map", "prog", "link", "btf"])
def test_new_from_fd_returns_the_right_class(objs: dict[str, object], kind: str) -> None:
    obj = objs[kind]
    raw = os.dup(obj.fd)  # type: ignore[attr-defined]
    try:
        with bpfobj.new_from_fd(raw) as again:
            assert type(again) is CLASSES[kind]
            assert _id(again) == _id(obj)
            assert again.fd != raw and again.fd >= 1
            assert fcntl.fcntl(again.fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC
        # Closing ours left the caller's descriptor open and usable.
        assert bpfobj.fd_type(raw) is not None
        with bpfobj.new_from_fd(raw) as third:
            assert _id(third) == _id(obj)
    finally:
        os.close(raw)
    # ... and the other way round: the caller closing its own leaves ours working.
    raw = os.dup(obj.fd)
    again = bpfobj.new_from_fd(raw)
    os.close(raw)
    try:
        assert _id(again) == _id(obj)
    finally:
        again.close()


def test_link_reads_as_link_whichever_way_it_was_opened(objs: dict[str, object],
                                                        pin_dir: str) -> None:
    link = objs["link"]
    assert isinstance(link, Link)
    # Fresh from the kernel (raw tracepoint open) the descriptor reads anon_inode:bpf_link;
    # reopened by ID or from a pin it reads anon_inode:bpf-link. Both are links.
    names = {os.readlink(f"/proc/self/fd/{link.fd}")}
    with Link.new_from_id(_id(link)) as by_id:
        names.add(os.readlink(f"/proc/self/fd/{by_id.fd}"))
        with bpfobj.new_from_fd(by_id.fd) as again:
            assert type(again) is Link
    path = os.path.join(pin_dir, "link")
    link.pin(path)
    try:
        with bpfobj.load_pinned(path) as pinned:
            assert type(pinned) is Link
            assert pinned.is_pinned and pinned.pinned_path == path
            assert _id(pinned) == _id(link)
            names.add(os.readlink(f"/proc/self/fd/{pinned.fd}"))
    finally:
        link.unpin()
    assert names <= {"anon_inode:bpf_link", "anon_inode:bpf-link"}
    assert bpfobj.fd_type(link) is ObjType.LINK


@pytest.mark.parametrize("kind", ["map", "prog", "link"])
def test_load_pinned_returns_the_right_class(objs: dict[str, object], kind: str,
                                             pin_dir: str) -> None:
    obj = objs[kind]
    path = os.path.join(pin_dir, kind)
    obj.pin(path)  # type: ignore[attr-defined]
    try:
        with bpfobj.load_pinned(path) as again:
            assert type(again) is CLASSES[kind]
            assert _id(again) == _id(obj)
            assert again.is_pinned and again.pinned_path == path
            assert fcntl.fcntl(again.fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC
    finally:
        obj.unpin()  # type: ignore[attr-defined]


def test_load_pinned_errors(pin_dir: str, tmp_path: object) -> None:
    before = open_fds()
    with pytest.raises(BPFError) as info:
        bpfobj.load_pinned(os.path.join(pin_dir, "nothing_here"))
    assert info.value.errno == errno.ENOENT
    plain = os.path.join(str(tmp_path), "file")
    open(plain, "w").close()
    with pytest.raises(NotBPFFSError):
        bpfobj.load_pinned(plain)
    assert open_fds() == before


def test_new_from_fd_errors() -> None:
    before = open_fds()
    r, w = os.pipe()
    try:
        with pytest.raises(ObjectTypeError, match=f"dup fd {r}: is a non-bpf file"):
            bpfobj.new_from_fd(r)
    finally:
        os.close(r)
        os.close(w)
    with pytest.raises(BPFError) as info:
        bpfobj.new_from_fd(r)  # closed now
    assert info.value.errno == errno.EBADF
    with pytest.raises(BPFError):
        bpfobj.new_from_fd(-1)
    assert open_fds() == before


def test_typed_constructors_refuse_other_kinds(objs: dict[str, object]) -> None:
    before = open_fds()
    names = {"map": "bpf-map", "prog": "bpf-prog", "link": "bpf-link", "btf": "btf"}
    for have, obj in objs.items():
        for want, cls in CLASSES.items():
            if have == want:
                continue
            with pytest.raises(ObjectTypeError,
                               match=f"is a {names[have]}, not a {names[want]}"):
                cls.new_from_fd(obj.fd)  # type: ignore[attr-defined]
    assert open_fds() == before
