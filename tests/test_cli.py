"""The `bpfobj` command: bpftool parity of show/dump JSON, leak exit codes, --watch, demo."""

from __future__ import annotations

import glob
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import pytest

from bpfobj import Map, MapSpec, MapType
from bpfobj._demo import _xdp_counter
from bpfobj._internal import syscall as _sys
from bpfobj.cli import main

from .test_leak import brute_fds, start_child  # noqa: F401 - start_child is a fixture

pytestmark = pytest.mark.usefixtures("kernel")


@pytest.fixture(autouse=True)
def _each_test_closes_what_it_opens(no_fd_leaks: object) -> None:
    """Our own plugin's fixture: every test here must close the bpf descriptors it opens."""


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def run_json(*argv: str) -> Any:
    code, text = run(*argv, "--json")
    assert code == 0, text
    return json.loads(text)


def bpftool_json(*argv: str) -> Any:
    out = subprocess.run(["bpftool", "-j", "-f", *argv], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def brute_pids(kind: str, obj_id: int) -> list[dict[str, Any]]:
    """Every process holding (kind, obj_id): readlink + fdinfo over all of /proc, parsed here."""
    names = {"map": ("anon_inode:bpf-map",), "prog": ("anon_inode:bpf-prog",),
             "link": ("anon_inode:bpf_link", "anon_inode:bpf-link")}[kind]
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") not in names:
                    continue
                with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                    if f"{kind}_id:\t{obj_id}\n" in f.read():
                        with open(f"/proc/{pid}/comm") as c:
                            found[int(pid)] = c.read().strip()
        except OSError:
            continue
    return [{"pid": p, "comm": c} for p, c in sorted(found.items())]


def assert_shared_keys_equal(ours: dict[str, Any], theirs: dict[str, Any], core: set[str]) -> None:
    assert core <= set(ours), f"missing in ours: {core - set(ours)}"
    assert core <= set(theirs), f"missing in bpftool's: {core - set(theirs)}"
    for key in set(ours) & set(theirs):
        if key == "loaded_at":  # seconds computed from boot time by each tool: may round apart
            assert abs(ours[key] - theirs[key]) <= 1
        else:
            assert ours[key] == theirs[key], key


@pytest.fixture
def objects(pin_dir: str) -> Iterator[dict[str, Any]]:
    """A pinned hash map with an entry, a per-CPU array, an XDP program using the map."""
    m = Map.create(MapSpec(MapType.HASH, 8, 12, 1000, name="cli_ep", flags=1))
    pc = Map.create(MapSpec(MapType.PERCPU_ARRAY, 4, 8, 2, name="cli_pc"))
    prog = None
    try:
        m.update(b"abcdefgh", b"0123456789ab")
        m.pin(os.path.join(pin_dir, "cli_ep"))
        prog, _ = _sys.prog_load(prog_type=_sys.const("BPF_PROG_TYPE_XDP"),
                                 insns=_xdp_counter(m.fd), license="GPL", name="cli_prog")
        prog_id = json.loads(subprocess.run(
            ["bpftool", "-j", "prog", "show", "name", "cli_prog"], capture_output=True,
            text=True, check=True).stdout)["id"]
        yield {"map": m, "pc": pc, "prog": prog, "prog_id": prog_id,
               "pin": os.path.join(pin_dir, "cli_ep")}
    finally:
        m.close()
        pc.close()
        if prog is not None:
            prog.close()


# -- show and dump: bpftool parity -------------------------------------------------------------


@pytest.mark.bpftool
def test_map_show_json_equals_bpftool(objects: dict[str, Any], bpftool: str) -> None:
    map_id = objects["map"].info().id
    ours = run_json("map", "show", "id", str(map_id))
    theirs = bpftool_json("map", "show", "id", str(map_id))
    assert_shared_keys_equal(ours, theirs, {"id", "type", "name", "flags", "bytes_key",
                                            "bytes_value", "max_entries", "bytes_memlock",
                                            "frozen", "pinned"})
    assert ours["type"] == "hash" and ours["pinned"] == [objects["pin"]]
    assert ours["pids"] == brute_pids("map", map_id)
    assert {"pid": os.getpid(), "comm": ours["pids"][0]["comm"]} in ours["pids"]
    # The same object by its bare ID, and by its pin.
    assert run_json("map", "show", str(map_id)) == ours
    assert run_json("map", "show", "pinned", objects["pin"]) == ours


@pytest.mark.bpftool
def test_prog_show_json_equals_bpftool(objects: dict[str, Any], bpftool: str) -> None:
    prog_id = objects["prog_id"]
    ours = run_json("prog", "show", "id", str(prog_id))
    theirs = bpftool_json("prog", "show", "id", str(prog_id))
    assert_shared_keys_equal(ours, theirs, {"id", "type", "name", "tag", "gpl_compatible",
                                            "loaded_at", "uid", "bytes_xlated", "jited",
                                            "bytes_jited", "bytes_memlock", "map_ids"})
    assert ours["map_ids"] == [objects["map"].info().id]
    assert ours["pids"] == brute_pids("prog", prog_id)


@pytest.mark.bpftool
def test_link_show_json_equals_bpftool(start_child: Any, bpftool: str) -> None:
    c = start_child("leaky")
    link_ids = sorted({i for k, i, _ in brute_fds(c.pid) if k == "link"})
    assert len(link_ids) == 1
    ours = run_json("link", "show", "id", str(link_ids[0]))
    theirs = bpftool_json("link", "show", "id", str(link_ids[0]))
    assert_shared_keys_equal(ours, theirs, {"id", "type", "prog_id"})
    assert ours["type"] == "xdp"
    assert ours["pids"] == brute_pids("link", link_ids[0])
    assert c.pid in [p["pid"] for p in ours["pids"]]


@pytest.mark.bpftool
def test_show_all_is_an_array_holding_each_object(objects: dict[str, Any], bpftool: str) -> None:
    map_id = objects["map"].info().id
    ours = {d["id"]: d for d in run_json("map", "show")}
    theirs = {d["id"]: d for d in bpftool_json("map", "show")}
    assert map_id in ours and map_id in theirs
    assert_shared_keys_equal(ours[map_id], theirs[map_id], {"id", "type", "bytes_key"})
    progs = {d["id"] for d in run_json("prog", "show")}
    assert objects["prog_id"] in progs


@pytest.mark.bpftool
def test_map_dump_equals_bpftool(objects: dict[str, Any], bpftool: str) -> None:
    for m in (objects["map"], objects["pc"]):
        map_id = str(m.info().id)
        assert run_json("map", "dump", "id", map_id) == bpftool_json("map", "dump", "id", map_id)
        code, text = run("map", "dump", map_id)
        plain = subprocess.run(["bpftool", "map", "dump", "id", map_id], capture_output=True,
                               text=True, check=True).stdout
        assert code == 0 and text == plain


def test_show_text_and_errors(objects: dict[str, Any]) -> None:
    map_id = objects["map"].info().id
    code, text = run("map", "show", str(map_id))
    assert code == 0 and text.startswith(f"{map_id}: hash  name cli_ep  flags 0x1\n")
    assert f"\tpinned {objects['pin']}\n" in text
    assert run("map", "show", "id", str(2**32 - 2))[0] == 6
    assert run("prog", "show", "id", str(map_id + 10**9))[0] == 6
    assert run("map", "show", "id", "nope")[0] == 2
    assert run("map", "show", "pinned", "/proc/nothing-here")[0] == 6
    assert run("map", "frobnicate")[0] == 2


# -- pinned, fds ------------------------------------------------------------------------------


def test_pinned_lists_what_is_pinned(objects: dict[str, Any], pin_dir: str) -> None:
    rows = run_json("pinned", pin_dir)
    assert [(r["path"], r["type"], r["id"]) for r in rows] == [
        (objects["pin"], "map", objects["map"].info().id)]
    assert rows[0]["description"] == str(objects["map"].info())
    assert run("pinned", tempfile.gettempdir())[0] == 7


def test_fds_of_a_process_equal_the_brute_force_scan(start_child: Any) -> None:
    c = start_child("leaky")
    rows = run_json("fds", str(c.pid))
    assert sorted((r["type"], r["id"], r["fd"]) for r in rows) == brute_fds(c.pid)
    assert all(r["description"] for r in rows if r["type"] != "btf")
    assert run("fds", str(2**22 + 99))[0] == 5


# -- leak -------------------------------------------------------------------------------------


def test_leak_exit_codes(start_child: Any, bpffs: str, tmp_path: Any) -> None:
    leaky = start_child("leaky")
    code, text = run("leak", str(leaky.pid), "--bpffs", bpffs)
    assert code == 1 and "Sure leak:" in text
    data = run_json_code("leak", str(leaky.pid), "--bpffs", bpffs, expect=1)
    assert data["map"]["sure"]
    clean = start_child("clean")
    code, text = run("leak", str(clean.pid), "--bpffs", bpffs)
    assert code == 0 and text.count("No leak!") == 3
    assert run("leak", str(2**22 + 77))[0] == 5
    assert run("leak", "not-a-pid")[0] == 2
    assert run("leak", str(clean.pid), "--bpffs", os.fspath(tmp_path))[0] == 7


def run_json_code(*argv: str, expect: int) -> Any:
    code, text = run(*argv, "--json")
    assert code == expect, text
    return json.loads(text)


def test_leak_watch_flags_growth(start_child: Any) -> None:
    grow = start_child("growing")
    code, text = run("leak", str(grow.pid), "--watch", "0.3", "--count", "3")
    assert code == 1, text
    assert "growing" in text and text.splitlines()[-1].startswith("3 samples: map +")
    clean = start_child("clean")
    code, text = run("leak", str(clean.pid), "--watch", "0.05", "--count", "2")
    assert code == 0 and text.splitlines()[-1] == "2 samples: no change"
    code, text = run("leak", str(clean.pid), "--watch", "0.05", "--count", "2", "--json")
    samples = [json.loads(line) for line in text.splitlines()]
    assert [s["map"] for s in samples] == [1, 1] and samples[0]["growth"] == {}


# -- the installed command, python -m, and the demo -------------------------------------------


def test_entry_points_run() -> None:
    for argv in (["bpfobj", "--help"], [sys.executable, "-m", "bpfobj", "--help"]):
        out = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0 and "leak" in out.stdout


def _demo_leftovers() -> tuple[list[str], list[str], list[str]]:
    with open("/proc/self/mountinfo") as f:
        mounts = [line for line in f if "bpfobj-demo-" in line]
    dirs = glob.glob(os.path.join(tempfile.gettempdir(), "bpfobj-demo-*"))
    procs = subprocess.run(["pgrep", "-f", "from bpfobj._demo import child"], capture_output=True,
                           text=True).stdout.split()
    return mounts, dirs, procs


def test_demo_runs_end_to_end_and_cleans_up() -> None:
    before = _demo_leftovers()
    out = subprocess.run(["bpfobj", "demo"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    text = out.stdout
    for needle in ("bpf map:\nSure leak:\n", "Possible leak:\n", "Map(name=global_ep type=Hash "
                   "keySize=8 valueSize=12 maxEntries=1000000 flags=5)", "Map(name=tmp_scratch",
                   "  used by: ID=", "bpf prog:\nSure leak:\n", "  attached by: ID=",
                   "bpf link:\nSure leak:\n", "`bpfobj leak` exits 1", "Cleaned up:"):
        assert needle in text, needle
    assert _demo_leftovers() == before == ([], [], [])


def test_demo_cleans_up_on_interrupt() -> None:
    proc = subprocess.Popen(["bpfobj", "demo"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "BPFOBJ_DEMO_HOLD": "30"})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not _demo_leftovers()[2]:
        time.sleep(0.05)
    assert _demo_leftovers()[2], "the demo child never started"
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stdout + stderr
    assert "interrupted; cleaning up" in stdout and "Cleaned up:" in stdout
    assert _demo_leftovers() == ([], [], [])
