"""bpfobj.bpffs on real bpf filesystems: the session's, fresh ones, another mount namespace's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Generator, Iterator

import pytest

from bpfobj import (
    Link,
    Map,
    MapInfo,
    MapSpec,
    MapType,
    NotBPFFSError,
    ObjType,
    ProcessGoneError,
    Program,
    ProgramSpec,
    ProgramType,
)
from bpfobj import bpffs as bpffs_mod

from .conftest import need, open_fds

pytestmark = pytest.mark.usefixtures("kernel")

RET0 = bytes([0xB7, 0, 0, 0, 0, 0, 0, 0]) + bytes([0x95]) + bytes(7)  # r0 = 0; exit


def _spec(name: str = "bpffs_test") -> MapSpec:
    return MapSpec(MapType.HASH, 4, 8, 16, name=name)


@pytest.fixture
def prog() -> Iterator[Program]:
    with Program.load(ProgramSpec(type=ProgramType.RAW_TRACEPOINT, instructions=RET0,
                                  license="GPL", name="bpffs_rt")) as p:
        yield p


def _mount_bpffs(where: str) -> None:
    rc = subprocess.run(["mount", "-t", "bpf", "bpf", where], capture_output=True, text=True)
    need(rc.returncode == 0, f"cannot mount bpffs: {rc.stderr.strip()}")


@pytest.fixture
def fresh_bpffs(kernel: None) -> Iterator[str]:
    """A bpffs of its own, freshly mounted in a temporary directory (unmounted afterwards)."""
    root = tempfile.mkdtemp(prefix="bpfobj-fresh-bpffs-")
    try:
        _mount_bpffs(root)
        try:
            yield root
        finally:
            subprocess.run(["umount", "-l", root], check=False)
    finally:
        os.rmdir(root)


# -- is_bpffs, mounts ---------------------------------------------------------------------


def test_is_bpffs(bpffs: str, pin_dir: str, tmp_path: object) -> None:
    assert bpffs_mod.is_bpffs(bpffs) and bpffs_mod.is_bpffs(pin_dir)
    with Map.create(_spec()) as m:
        m.pin(os.path.join(pin_dir, "m"))
    assert bpffs_mod.is_bpffs(os.path.join(pin_dir, "m"))  # a pin is on bpffs too
    assert not bpffs_mod.is_bpffs(str(tmp_path)) and not bpffs_mod.is_bpffs("/proc")
    assert not bpffs_mod.is_bpffs(os.path.join(pin_dir, "missing"))
    assert not bpffs_mod.is_bpffs("")


def test_mounts_lists_the_session_bpffs(bpffs: str) -> None:
    for pid in ("self", os.getpid()):
        got = {m.mountpoint: m for m in bpffs_mod.mounts(pid)}
        assert bpffs in got
        m = got[bpffs]
        assert (m.fstype, m.root, m.reachable, m.path, m.via_proc_root) == (
            "bpf", "/", bpffs, bpffs, False)
        assert m.mount_id > 0 and m.options.split(",")[0] in ("rw", "ro")
    mine = bpffs_mod.mounts()
    assert mine and all(bpffs_mod.is_bpffs(m.reachable) and m.fstype == "bpf" for m in mine)
    # The same mounts as findmnt sees (an independent mountinfo reader).
    out = subprocess.run(["findmnt", "-J", "-t", "bpf", "-o", "TARGET"], capture_output=True,
                         text=True)
    if out.returncode == 0 and out.stdout.strip():
        def targets(nodes: list[dict[str, object]]) -> Iterator[str]:
            for n in nodes:
                yield str(n["target"])
                yield from targets(n.get("children", []))  # type: ignore[arg-type]
        assert set(targets(json.loads(out.stdout)["filesystems"])) == {m.mountpoint for m in mine}


def test_mount_over_a_bpffs_hides_it(fresh_bpffs: str, tmp_path: object) -> None:
    assert fresh_bpffs in {m.mountpoint for m in bpffs_mod.mounts()}
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", fresh_bpffs], check=True)
    try:
        assert fresh_bpffs not in {m.mountpoint for m in bpffs_mod.mounts()}
    finally:
        subprocess.run(["umount", fresh_bpffs], check=True)
    assert fresh_bpffs in {m.mountpoint for m in bpffs_mod.mounts()}


def test_mounts_of_a_gone_process() -> None:
    proc = subprocess.Popen(["true"])
    try:
        # Exited, not reaped: a zombie has no mount namespace (mountinfo says EINVAL).
        for _ in range(200):
            with open(f"/proc/{proc.pid}/stat", "rb") as f:
                if f.read().rsplit(b")", 1)[1].split()[0] == b"Z":
                    break
            time.sleep(0.01)
        with pytest.raises(ProcessGoneError, match="exited"):
            bpffs_mod.mounts(proc.pid)
    finally:
        proc.wait()
    with pytest.raises(ProcessGoneError, match="no such process"):
        bpffs_mod.mounts(proc.pid)


NS_CHILD = textwrap.dedent(r'''
    import json, os, subprocess, sys
    from bpfobj import Map, MapSpec, MapType
    where = sys.argv[1]
    subprocess.run(["mount", "-t", "bpf", "bpf", where], check=True)
    os.mkdir(os.path.join(where, "d 🐝"))
    m = Map.create(MapSpec(MapType.ARRAY, 4, 4, 1, name="ns_map"))
    m.pin(os.path.join(where, "d 🐝", "ns map"))
    print(json.dumps({"id": m.info().id}), flush=True)
    sys.stdin.read()
''')


def test_a_process_in_another_mount_namespace(tmp_path: object) -> None:
    """Its bpffs is invisible here, and reached through /proc/PID/root."""
    where = str(tmp_path)
    try:
        child = subprocess.Popen(["unshare", "-m", "--propagation", "private", sys.executable,
                                  "-c", NS_CHILD, where], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True)
    except FileNotFoundError:
        need(False, "unshare(1) is not installed")
        return
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        need(bool(line), "the child could not mount a bpffs in a new mount namespace")
        map_id = json.loads(line)["id"]
        assert not bpffs_mod.is_bpffs(where)  # not in our namespace
        assert where not in {m.mountpoint for m in bpffs_mod.mounts()}
        theirs = {m.mountpoint: m for m in bpffs_mod.mounts(child.pid)}
        m = theirs[where]
        assert m.via_proc_root and m.reachable == f"/proc/{child.pid}/root{where}"
        assert m.path == m.reachable and bpffs_mod.is_bpffs(m.reachable)
        got = list(bpffs_mod.walk(m.reachable))
        assert [(p.path, p.type, p.id) for p in got] == [
            (os.path.join(m.reachable, "d 🐝", "ns map"), ObjType.MAP, map_id)]
        assert isinstance(got[0].info, MapInfo) and got[0].info.name == "ns_map"
    finally:
        for f in (child.stdin, child.stdout):
            if f is not None:
                f.close()
        child.wait(timeout=30)


# -- walk -------------------------------------------------------------------------------------


ODD_NAMES = ["🐝 bee", "tab\tand space", "new\nline", "back\\slash", os.fsdecode(b"\xff\xfe"),
             "x" * 255, "-", " "]


def test_walk_nested_dirs_odd_names_and_kinds(pin_dir: str, prog: Program) -> None:
    nested = os.path.join(pin_dir, "a", "🚀 b", "c")
    os.makedirs(nested)
    os.mkdir(os.path.join(pin_dir, "empty"))
    made: dict[str, tuple[ObjType, bpffs_mod.PinnedInfo]] = {}
    with Map.create(_spec("walk_a")) as a, Map.create(MapSpec(MapType.ARRAY, 4, 4, 2)) as b, \
            Link.attach_raw_tracepoint(prog, "sched_switch") as lk:
        for i, name in enumerate(ODD_NAMES):
            m = a if i % 2 else b
            path = os.path.join(nested if i % 2 else pin_dir, name)
            with Map.new_from_fd(m.fd) as extra:  # pin() again would move m's pin
                extra.pin(path)
            made[path] = (ObjType.MAP, m.info())
        prog.pin(os.path.join(pin_dir, "a", "prog"))
        made[os.path.join(pin_dir, "a", "prog")] = (ObjType.PROG, prog.info())
        lk.pin(os.path.join(nested, "link"))  # links open only read-write: the second try
        made[os.path.join(nested, "link")] = (ObjType.LINK, lk.info())
        got = list(bpffs_mod.walk(pin_dir))
    assert {p.path: (p.type, p.info) for p in got} == made
    assert len(got) == len(made)
    assert all(p.info is not None and p.id == p.info.id for p in got)
    # A directory's pins first, then its subdirectories, each by name: os.walk's order.
    want: list[str] = []
    for where, dirs, files in os.walk(pin_dir):
        dirs.sort()
        want.extend(os.path.join(where, f) for f in sorted(files))
    assert [p.path for p in got] == want


@pytest.mark.bpftool
def test_walk_equals_bpftool_pinned(pin_dir: str, bpftool: str) -> None:
    with Map.create(_spec("walk_tool")) as m:
        for name in ("one", "🐝 two"):
            with Map.new_from_fd(m.fd) as extra:  # another pin, not a move of m's
                extra.pin(os.path.join(pin_dir, name))
        got = sorted(p.path for p in bpffs_mod.walk(pin_dir) if p.id == m.info().id)
        out = subprocess.run([bpftool, "-j", "-f", "map", "show", "id", str(m.info().id)],
                             capture_output=True, text=True, check=True).stdout
        tool = json.loads(out).get("pinned", [])
        assert got == sorted(tool) and len(got) == 2


def test_fresh_root_skips_the_kernels_debug_entries(fresh_bpffs: str) -> None:
    entries = set(os.listdir(fresh_bpffs))
    need(entries >= {"maps.debug", "progs.debug"},
         "this kernel's fresh bpffs has no maps.debug/progs.debug (CONFIG_BPF_PRELOAD)")
    assert list(bpffs_mod.walk(fresh_bpffs)) == []
    with Map.create(_spec("fresh")) as m:
        m.pin(os.path.join(fresh_bpffs, "mine"))
        got = list(bpffs_mod.walk(fresh_bpffs))
        assert [(p.path, p.id) for p in got] == [(os.path.join(fresh_bpffs, "mine"),
                                                  m.info().id)]


def test_walk_stays_on_its_filesystem_and_skips_symlinks(pin_dir: str) -> None:
    inner = os.path.join(pin_dir, "inner")
    os.mkdir(inner)
    _mount_bpffs(inner)
    try:
        with Map.create(_spec("outer")) as outer, Map.create(_spec("inner")) as m_in:
            outer.pin(os.path.join(pin_dir, "outer"))
            m_in.pin(os.path.join(inner, "in"))
            os.symlink(os.path.join(pin_dir, "outer"), os.path.join(pin_dir, "sym"))
            os.symlink(pin_dir, os.path.join(pin_dir, "loop"))
            assert [p.path for p in bpffs_mod.walk(pin_dir)] == [os.path.join(pin_dir, "outer")]
            assert [p.id for p in bpffs_mod.walk(inner)] == [m_in.info().id]
    finally:
        subprocess.run(["umount", "-l", inner], check=False)


def test_walk_holds_no_descriptor_between_items(pin_dir: str) -> None:
    with Map.create(_spec()) as a, Map.create(_spec()) as b:
        a.pin(os.path.join(pin_dir, "a"))
        b.pin(os.path.join(pin_dir, "b"))
        before = open_fds()
        it = bpffs_mod.walk(pin_dir)
        assert isinstance(it, Generator)
        first = next(it)
        assert first.path.endswith("/a") and open_fds() == before
        assert next(it).path.endswith("/b") and open_fds() == before
        it.close()


def test_walk_a_single_pin_and_bad_roots(pin_dir: str, tmp_path: object) -> None:
    path = os.path.join(pin_dir, "only")
    with Map.create(_spec()) as m:
        m.pin(path)
        map_id = m.info().id
    # The pin keeps the map alive after its last descriptor closed.
    assert [(p.path, p.type, p.id) for p in bpffs_mod.walk(path)] == [
        (path, ObjType.MAP, map_id)]
    assert [p.id for p in bpffs_mod.walk(pin_dir)] == [map_id]
    with pytest.raises(NotBPFFSError, match="not on a bpffs"):
        list(bpffs_mod.walk(str(tmp_path)))
    with pytest.raises(FileNotFoundError):
        list(bpffs_mod.walk(os.path.join(pin_dir, "missing")))
