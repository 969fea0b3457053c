"""Uprobes on the real kernel: an executable compiled here, libc, pid filters, readelf offsets."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from bpfobj import Link, LinkType, ProgramType
from bpfobj.cli import link_json
from bpfobj.errors import ObjectTypeError
from bpfobj.link import Executable
from bpfobj.link.perf_event import PerfEventLink
from tests.conftest import need, open_fds
from tests.tracing_util import (
    Target,
    build_target,
    counter_map,
    counter_program,
    libc_path,
    read_counts,
    tempdir,
    uprobe_multi_attach_type,
)

pytestmark = pytest.mark.usefixtures("kernel")

N = 200


@pytest.fixture(scope="module")
def exe() -> Iterator[str]:
    need(shutil.which("cc") is not None, "no C compiler (cc) to build the probed executable")
    d = tempdir()
    try:
        yield build_target(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def counting():  # type: ignore[no-untyped-def]
    m = counter_map()
    p = counter_program(ProgramType.KPROBE, m, cookie=True, retval=True)
    yield m, p
    p.close()
    m.close()


def _readelf_offset(path: str, symbol: str) -> int:
    """The file offset of ``symbol`` computed by hand from readelf -s and readelf -l."""
    syms = subprocess.run(["readelf", "-sW", path], check=True, capture_output=True,
                          text=True).stdout
    value = None
    for line in syms.splitlines():
        f = line.split()
        if len(f) >= 8 and f[7].split("@")[0] == symbol and f[3] in ("FUNC", "IFUNC") \
                and f[6] != "UND":
            value = int(f[1], 16)
            break
    assert value is not None, symbol
    phdrs = subprocess.run(["readelf", "-lW", path], check=True, capture_output=True,
                           text=True).stdout
    for line in phdrs.splitlines():
        f = line.split()
        if f and f[0] == "LOAD":
            off, vaddr, filesz = int(f[1], 16), int(f[2], 16), int(f[4], 16)
            if vaddr <= value < vaddr + filesz:
                return value - vaddr + off
    raise AssertionError(f"{symbol} in no LOAD segment")


def test_offsets_equal_readelf(exe: str) -> None:
    x = Executable(exe)
    for sym in ("bpfobj_target", "bpfobj_other", "main"):
        assert x.address(sym) == _readelf_offset(exe, sym)
    assert x.address("bpfobj_target", 4) == _readelf_offset(exe, "bpfobj_target") + 4
    lc = libc_path()
    assert Executable(lc).address("getppid") == _readelf_offset(lc, "getppid")


def test_counts_exactly_n_calls_with_cookie(exe: str, counting) -> None:  # type: ignore[no-untyped-def]
    m, p = counting
    t = Target(exe, N)
    try:
        with Executable(exe).uprobe("bpfobj_target", p, pid=t.pid, cookie=77) as link:
            assert isinstance(link, PerfEventLink)
            info = link.info()
            assert info.type is LinkType.PERF_EVENT and info.perf_event is not None
            assert (info.perf_event.kind, info.perf_event.offset, info.perf_event.cookie) == (
                "uprobe", Executable(exe).address("bpfobj_target"), 77)
            assert os.path.samefile(info.perf_event.name, exe)
            t.run()
            count, cookie, _ = read_counts(m)
            assert (count, cookie) == (N, 77)
    finally:
        t.kill()


def test_uretprobe_reads_return_values(exe: str, counting) -> None:  # type: ignore[no-untyped-def]
    m, p = counting
    t = Target(exe, N)
    try:
        with Executable(exe).uretprobe("bpfobj_target", p, pid=t.pid) as link:
            info = link.info()
            assert info.perf_event is not None and info.perf_event.kind == "uretprobe"
            printed = t.run()
            count, _, total = read_counts(m)
            assert count == N
            assert total == printed == sum(2 * i + 1 for i in range(N))
    finally:
        t.kill()


def test_pid_filter_excludes_other_processes(exe: str, counting) -> None:  # type: ignore[no-untyped-def]
    m, p = counting
    mine, other = Target(exe, N), Target(exe, 3 * N)
    try:
        with Executable(exe).uprobe("bpfobj_target", p, pid=mine.pid):
            other.run()
            mine.run()
            assert read_counts(m)[0] == N
    finally:
        mine.kill()
        other.kill()


def test_no_pid_counts_every_process(exe: str, counting) -> None:  # type: ignore[no-untyped-def]
    m, p = counting
    a, b = Target(exe, N), Target(exe, 2 * N)
    try:
        with Executable(exe).uprobe("bpfobj_target", p):
            a.run()
            b.run()
            assert read_counts(m)[0] == 3 * N
    finally:
        a.kill()
        b.kill()


def _second_instruction(exe: str, symbol: str) -> int:
    """Bytes from ``symbol``'s start to its second instruction (objdump's disassembly)."""
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", exe], check=True,
                         capture_output=True, text=True).stdout
    body = out.split(f"<{symbol}>:\n", 1)[1].split("\n\n", 1)[0]
    addrs = [int(line.split(":")[0], 16) for line in body.splitlines() if ":" in line]
    return addrs[1] - addrs[0]


def test_offset_past_the_symbol_start(exe: str, counting) -> None:  # type: ignore[no-untyped-def]
    m, p = counting
    need(shutil.which("objdump") is not None, "no objdump to find an instruction boundary")
    off = _second_instruction(exe, "bpfobj_target")
    assert off > 0
    t = Target(exe, N)
    try:
        x = Executable(exe)
        with x.uprobe("bpfobj_target", p, pid=t.pid, offset=off) as link:
            info = link.info().perf_event
            assert info is not None and info.offset == x.address("bpfobj_target") + off
            t.run()
            assert read_counts(m)[0] == N
    finally:
        t.kill()


def test_libc_function(exe: str, counting) -> None:  # type: ignore[no-untyped-def]
    m, p = counting
    t = Target(exe, N)
    try:
        libc = _libc_of(t.pid)
        with Executable(libc).uprobe("getppid", p, pid=t.pid):
            t.run()
            assert read_counts(m)[0] == N
    finally:
        t.kill()


def _libc_of(pid: int) -> str:
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            path = line.split(maxsplit=5)[-1].strip()
            if re.match(r"libc[.-]", os.path.basename(path)):
                return path
    return libc_path()


def test_uprobe_multi(exe: str) -> None:
    m = counter_map()
    p = counter_program(ProgramType.KPROBE, m, cookie=True,
                        attach_type=uprobe_multi_attach_type())
    t = Target(exe, N)
    try:
        x = Executable(exe)
        with x.uprobe_multi(["bpfobj_target", "bpfobj_other"], p, pid=t.pid,
                            cookies=[5, 6]) as link:
            info = link.info()
            assert info.type is LinkType.UPROBE_MULTI and info.uprobe_multi is not None
            assert info.uprobe_multi.count == 2 and info.uprobe_multi.pid == t.pid
            t.run()
            count, cookie, _ = read_counts(m)
            assert count == 3 * N  # bpfobj_target once, bpfobj_other twice per round
            assert cookie in (5, 6)
    finally:
        t.kill()
        p.close()
        m.close()


@pytest.mark.bpftool
def test_bpftool_perf_show_agrees(exe: str, counting, bpftool: str) -> None:  # type: ignore[no-untyped-def]
    _m, p = counting
    t = Target(exe, 1)
    try:
        with Executable(exe).uretprobe("bpfobj_target", p, pid=t.pid) as link:
            rows = json.loads(subprocess.run([bpftool, "-j", "perf", "show"], check=True,
                                             capture_output=True, text=True).stdout)
            mine = [r for r in rows if r["pid"] == os.getpid()]
            assert mine == [{"pid": os.getpid(), "fd": link.perf_fd, "prog_id": p.info().id,
                             "fd_type": "uretprobe", "filename": link.info().perf_event.name,  # type: ignore[union-attr]
                             "offset": Executable(exe).address("bpfobj_target")}]
            ours = link_json(link)
            assert ours["retprobe"] is True and ours["offset"] == mine[0]["offset"]
            t.run()
    finally:
        t.kill()


def test_missing_symbol_names_itself(exe: str, counting) -> None:  # type: ignore[no-untyped-def]
    _m, p = counting
    before = open_fds()
    with pytest.raises(KeyError, match="no_such_function"):
        Executable(exe).uprobe("no_such_function", p)
    with pytest.raises(KeyError, match="no_such_function"):
        Executable(exe).uprobe_multi(["bpfobj_target", "no_such_function"], p)
    assert open_fds() == before


def test_not_an_elf_is_a_value_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "script.sh"
    path.write_text("#!/bin/sh\necho hi\n")
    with pytest.raises(ValueError, match="not an ELF"):
        Executable(path)
    with pytest.raises(FileNotFoundError):
        Executable(tmp_path / "absent")


def test_wrong_program_type(exe: str) -> None:
    m = counter_map()
    tp = counter_program(ProgramType.TRACEPOINT, m)
    try:
        before = open_fds()
        with pytest.raises(ObjectTypeError, match="needs type kprobe"):
            Executable(exe).uprobe("bpfobj_target", tp)
        assert open_fds() == before
    finally:
        tp.close()
        m.close()


def test_clone_owns_both_descriptors(exe: str, counting) -> None:  # type: ignore[no-untyped-def]
    m, p = counting
    t = Target(exe, N)
    try:
        link = Executable(exe).uprobe("bpfobj_target", p, pid=t.pid)
        clone = link.clone()
        link.close()
        t.run()
        assert read_counts(m)[0] == N
        clone.close()
        assert isinstance(clone, Link) and clone.closed
    finally:
        t.kill()


def test_uprobe_multi_needs_its_attach_type(exe: str, counting) -> None:  # type: ignore[no-untyped-def]
    _m, p = counting  # loaded without expected_attach_type
    before = open_fds()
    with pytest.raises(OSError, match="expected_attach_type=TRACE_UPROBE_MULTI"):
        Executable(exe).uprobe_multi(["bpfobj_target"], p)
    with pytest.raises(ValueError, match="cookies: 1 given for 2"):
        Executable(exe).uprobe_multi(["bpfobj_target", "bpfobj_other"], p, cookies=[1])
    assert open_fds() == before
