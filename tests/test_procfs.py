"""bpfobj.procfs against real descriptors: ours, a child's, an exited process's; bpftool's pids."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from typing import Any

import pytest

from bpfobj import (
    BTF,
    AttachType,
    Link,
    LinkType,
    Map,
    MapSpec,
    MapType,
    ObjType,
    ProcessGoneError,
    Program,
    ProgramSpec,
    ProgramType,
    procfs,
)

from .conftest import run_as_nobody
from .test_btf import raw_btf

pytestmark = pytest.mark.usefixtures("kernel")

RET0 = bytes([0xB7, 0, 0, 0, 0, 0, 0, 0]) + bytes([0x95]) + bytes(7)  # r0 = 0; exit


def _spec(name: str = "procfs_test") -> MapSpec:
    return MapSpec(MapType.HASH, 4, 8, 16, name=name)


def by_fd(pid: Any = "self") -> dict[int, procfs.ProcFD]:
    return {r.fd: r for r in procfs.fds(pid)}


@pytest.fixture
def prog() -> Iterator[Program]:
    with Program.load(ProgramSpec(type=ProgramType.RAW_TRACEPOINT, instructions=RET0,
                                  license="GPL", name="procfs_rt")) as p:
        yield p


def test_self_lists_our_maps_with_ids_and_cloexec() -> None:
    with Map.create(_spec()) as a, Map.create(MapSpec(MapType.ARRAY, 4, 4, 1)) as b:
        # A descriptor without close-on-exec, as a careless C caller makes one.
        raw = fcntl.fcntl(a.fd, fcntl.F_DUPFD, 3)
        try:
            for pid in ("self", os.getpid(), str(os.getpid())):
                got = by_fd(pid)
                assert (got[a.fd].type, got[a.fd].id) == (ObjType.MAP, a.info().id)
                assert (got[b.fd].type, got[b.fd].id) == (ObjType.MAP, b.info().id)
                assert got[a.fd].cloexec and got[b.fd].cloexec
                assert (got[raw].id, got[raw].cloexec) == (a.info().id, False)
                assert got[a.fd].map_type is MapType.HASH and got[b.fd].map_type is MapType.ARRAY
                assert got[a.fd].anon_name == "bpf-map" and got[a.fd].memlock
                assert got[a.fd].flags & os.O_CLOEXEC and not got[raw].flags & os.O_CLOEXEC
        finally:
            os.close(raw)
        assert raw not in by_fd()


def test_every_bpf_descriptor_and_nothing_else() -> None:
    """fds() lists exactly the descriptors whose readlink names a bpf object."""
    with Map.create(_spec()), Map.create(_spec()):
        got = procfs.fds("self")
        want = set()
        for name in os.listdir("/proc/self/fd"):
            try:
                target = os.readlink(f"/proc/self/fd/{name}")
            except OSError:
                continue
            if target.startswith("anon_inode:") and target[11:] in procfs.BPF_FD_NAMES:
                want.add(int(name))
        assert {r.fd for r in got} == want and len(want) >= 2
        assert [r.fd for r in got] == sorted(r.fd for r in got)


def test_read_only_map_descriptor(pin_dir: str) -> None:
    with Map.create(_spec()) as m:
        m.pin(os.path.join(pin_dir, "ro"))
        with Map.load_pinned(os.path.join(pin_dir, "ro"), read_only=True) as ro:
            got = by_fd()
            assert got[ro.fd].id == got[m.fd].id == m.info().id
            assert not got[ro.fd].writable and got[ro.fd].readable
            assert got[m.fd].writable


def test_program_link_btf_and_both_link_spellings(prog: Program, pin_dir: str) -> None:
    with Link.attach_raw_tracepoint(prog, "sched_switch") as created, BTF.load(raw_btf()) as b:
        link_id = created.info().id
        path = os.path.join(pin_dir, "link")
        created.pin(path)
        with Link.new_from_id(link_id) as by_id, Link.load_pinned(path) as pinned:
            got = by_fd()
            # BPF_LINK_CREATE names the descriptor bpf_link; GET_FD_BY_ID and OBJ_GET bpf-link.
            assert got[created.fd].anon_name == "bpf_link"
            assert got[by_id.fd].anon_name == got[pinned.fd].anon_name == "bpf-link"
            for fd in (created.fd, by_id.fd, pinned.fd):
                rec = got[fd]
                assert (rec.type, rec.id, rec.prog_id) == (ObjType.LINK, link_id,
                                                           prog.info().id)
                assert rec.link_type is LinkType.RAW_TRACEPOINT
            p = got[prog.fd]
            assert (p.type, p.id, p.prog_id, p.prog_type) == (
                ObjType.PROG, prog.info().id, prog.info().id, ProgramType.RAW_TRACEPOINT)
            assert (got[b.fd].type, got[b.fd].id) == (ObjType.BTF, b.info().id)


def test_link_create_and_pin_spellings(pin_dir: str) -> None:
    """A link from BPF_LINK_CREATE itself (an iterator link) reads bpf_link; its pin, bpf-link."""
    from .test_link import _load, _vmlinux_func_id

    with _load(ProgramType.TRACING, 0, int(AttachType.TRACE_ITER),
               attach_btf_id=_vmlinux_func_id("bpf_iter_bpf_map")) as p, \
            Link.attach_raw(p, 0, AttachType.TRACE_ITER) as created:
        path = os.path.join(pin_dir, "iter")
        created.pin(path)
        with Link.load_pinned(path) as pinned:
            got = by_fd()
            assert (got[created.fd].anon_name, got[pinned.fd].anon_name) == ("bpf_link",
                                                                             "bpf-link")
            for fd in (created.fd, pinned.fd):
                assert (got[fd].type, got[fd].id, got[fd].link_type, got[fd].prog_id) == (
                    ObjType.LINK, created.info().id, LinkType.ITER, p.info().id)


CHILD = textwrap.dedent(r'''
    import fcntl, json, os, sys
    from bpfobj import Map, MapSpec, MapType
    keep = [Map.create(MapSpec(MapType.HASH, 4, 8, 8, name="child%d" % i)) for i in range(3)]
    keep.append(keep[0].clone())
    inherit = fcntl.fcntl(keep[1].fd, fcntl.F_DUPFD, 3)   # no close-on-exec
    fds = {m.fd: [m.info().id, True] for m in keep}
    fds[inherit] = [keep[1].info().id, False]
    print(json.dumps(fds), flush=True)
    sys.stdin.read()
''')


@pytest.fixture
def child() -> Iterator[tuple[subprocess.Popen[str], dict[int, list[Any]]]]:
    proc = subprocess.Popen([sys.executable, "-c", CHILD], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        told = {int(k): v for k, v in json.loads(proc.stdout.readline()).items()}
        yield proc, told
    finally:
        for f in (proc.stdin, proc.stdout):
            if f is not None:
                f.close()
        proc.kill()
        proc.wait()


def test_child_process_fds(child: tuple[subprocess.Popen[str], dict[int, list[Any]]]) -> None:
    proc, told = child
    got = procfs.fds(proc.pid)
    assert {r.fd: [r.id, r.cloexec] for r in got} == told
    assert all(r.type is ObjType.MAP for r in got)


def test_child_fds_equal_what_the_kernel_says(
        child: tuple[subprocess.Popen[str], dict[int, list[Any]]]) -> None:
    """An oracle outside /proc: copy each listed descriptor (pidfd_getfd) and ask the kernel."""
    proc, _told = child
    got = procfs.fds(proc.pid)
    assert got
    for rec in got:
        with Map.new_from_pidfd(proc.pid, rec.fd) as copy:
            info = copy.info()
            assert (rec.id, rec.map_type) == (info.id, info.type)
    held = procfs.holders()
    for (kind, obj_id), hs in held.items():
        for h in hs:
            if h.pid == proc.pid:
                with Map.new_from_pidfd(proc.pid, h.fd) as copy:
                    assert (kind, obj_id) == (ObjType.MAP, copy.info().id)


def test_exited_process_is_gone(child: tuple[subprocess.Popen[str], dict[int, list[Any]]]) -> None:
    proc, _told = child
    proc.kill()
    # Not reaped yet: a zombie, whose descriptors are all closed.
    for _ in range(200):
        with open(f"/proc/{proc.pid}/stat", "rb") as f:
            if f.read().rsplit(b")", 1)[1].split()[0] == b"Z":
                break
        time.sleep(0.01)
    with pytest.raises(ProcessGoneError, match=f"pid {proc.pid}"):
        procfs.fds(proc.pid)
    proc.wait()
    # Reaped: no such process.
    with pytest.raises(ProcessGoneError) as err:
        procfs.fds(proc.pid)
    assert isinstance(err.value, ProcessLookupError)
    assert not any(h.pid == proc.pid for hs in procfs.holders().values() for h in hs)


def test_a_process_without_bpf_descriptors() -> None:
    proc = subprocess.Popen(["sleep", "30"])
    try:
        assert procfs.fds(proc.pid) == []
    finally:
        proc.kill()
        proc.wait()


def test_holders_include_us_and_the_child(
        child: tuple[subprocess.Popen[str], dict[int, list[Any]]]) -> None:
    proc, told = child
    with Map.create(_spec("holders")) as m, Map.new_from_fd(m.fd) as dup:
        held = procfs.holders()
        me = os.getpid()
        comm = open("/proc/self/comm").read().strip()
        assert held[(ObjType.MAP, m.info().id)] == sorted(
            [(me, comm, m.fd), (me, comm, dup.fd)], key=lambda h: h[2])
        child_comm = open(f"/proc/{proc.pid}/comm").read().strip()
        for fd, (obj_id, _cloexec) in told.items():
            hs = held[(ObjType.MAP, obj_id)]
            assert {h.pid for h in hs} == {proc.pid}
            assert (proc.pid, child_comm, fd) in hs
        # Exactly the child's descriptors, no more.
        assert sorted(h.fd for hs in held.values() for h in hs if h.pid == proc.pid) == \
            sorted(told)


@pytest.mark.bpftool
def test_holders_equal_bpftool_pids(
        bpftool: str, child: tuple[subprocess.Popen[str], dict[int, list[Any]]]) -> None:
    proc, told = child
    with Map.create(_spec("pids")) as m:
        # The child's first map, held by it twice; ours, held by us.
        shared_id = told[min(told)][0]
        held = procfs.holders()
        for obj_id in (m.info().id, shared_id):
            out = subprocess.run([bpftool, "-j", "map", "show", "id", str(obj_id)],
                                 capture_output=True, text=True, check=True).stdout
            data = json.loads(out)
            ours = {(h.pid, h.comm) for h in held[(ObjType.MAP, obj_id)]}
            assert data["id"] == obj_id
            if "pids" not in data:
                # bpftool fills "pids" from a BPF iterator skeleton; a bpftool built
                # without skeletons (features: no "skeletons") never prints it. Then
                # the oracle is a scan of every /proc/PID/fdinfo written here.
                assert _brute_force_pids(obj_id) == ours
                continue
            tool = data["pids"]
            assert {(p["pid"], p["comm"]) for p in tool} == ours


def test_not_root_cannot_read_another_process() -> None:
    """Unprivileged, /proc/PID/fd of root's process is a BPFPermissionError naming the cause."""
    parent = os.getpid()
    msg = run_as_nobody(lambda: procfs.fds(parent))
    assert msg.startswith("denied"), msg
    assert f"pid {parent}" in msg and "ptrace" in msg


def test_bad_pid() -> None:
    with pytest.raises(ValueError):
        procfs.fds("../self")
    with pytest.raises(ProcessGoneError):
        procfs.fds(2**22 + 12345)  # above pid_max's default ceiling


def _brute_force_pids(map_id: int) -> set[tuple[int, str]]:
    """(pid, comm) of every process with a descriptor whose fdinfo says map_id: map_id."""
    found = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            names = os.listdir(f"/proc/{pid}/fd")
            comm = open(f"/proc/{pid}/comm").read().strip()
        except OSError:
            continue
        for name in names:
            try:
                text = open(f"/proc/{pid}/fdinfo/{name}").read()
            except OSError:
                continue
            if f"map_id:\t{map_id}\n" in text:
                found.add((int(pid), comm))
    return found
