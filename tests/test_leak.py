"""The leak analyser against real child processes, checked by an independent brute-force scan.

Each test starts a child process that creates bpf objects, pins some of them in
the private test bpffs and leaks others, then analyses it from outside. The
expected result is computed here without bpfobj's /proc or bpffs code: readlink
and fdinfo parsing of /proc/PID/fd, and `ls -R` plus bpftool for the pins.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest

from bpfobj import BPFPermissionError, NotBPFFSError, ObjType, ProcessGoneError
from bpfobj import leak as leak_mod
from bpfobj.leak import LeakReport, analyze

pytestmark = pytest.mark.usefixtures("kernel")


@pytest.fixture(autouse=True)
def _each_test_closes_what_it_opens(no_fd_leaks: object) -> None:
    """Our own plugin's fixture: every test here must close the bpf descriptors it opens."""

# The child: builds the scenario named in argv[1] under the pin directory argv[2],
# prints what it made as JSON, and waits until its stdin closes.
CHILD = textwrap.dedent(r'''
    import ctypes, json, os, sys, time
    from bpfobj import Map, MapSpec, MapType
    from bpfobj._internal import syscall as _sys
    from bpfobj._demo import _xdp_counter

    scenario, pin_dir = sys.argv[1], sys.argv[2]
    keep, made = [], {}

    def mk(name, type_=MapType.HASH, k=4, v=8, n=64, flags=0):
        m = Map.create(MapSpec(type_, k, v, n, name=name, flags=flags))
        keep.append(m)
        made[name] = {"id": m.info().id, "fds": [m.fd]}
        return m

    def dup(name, m):
        c = Map.new_from_fd(m.fd)
        keep.append(c)
        made[name]["fds"].append(c.fd)

    def prog_using(m, name):
        fd, _ = _sys.prog_load(prog_type=_sys.const("BPF_PROG_TYPE_XDP"),
                               insns=_xdp_counter(m.fd), license="GPL", name=name)
        keep.append(fd)
        return fd

    def xdp_link(prog):
        libc = ctypes.CDLL(None, use_errno=True)
        assert libc.unshare(0x40000000) == 0  # a netns of our own: its lo is ifindex 1
        link = _sys.link_create(prog, target_ifindex=1, attach_type=_sys.const("BPF_XDP"))
        keep.append(link)
        return link

    if scenario == "leaky":
        ep = mk("global_ep", k=8, v=12, n=1000000, flags=5)
        ep.pin(os.path.join(pin_dir, "global_ep"))
        dup("global_ep", ep)
        cfg = mk("config", MapType.ARRAY, 4, 4, 4)
        cfg.pin(os.path.join(pin_dir, "config"))
        mk("tmp_scratch")
        stats = mk("xdp_stats", MapType.ARRAY, 4, 8, 1)
        prog = prog_using(stats, "xdp_count")
        made["prog"] = {"fd": prog.raw}
        made["link"] = {"fd": xdp_link(prog).raw}
    elif scenario == "clean":
        cfg = mk("config", MapType.ARRAY, 4, 8, 4)
        cfg.pin(os.path.join(pin_dir, "config"))
        prog = prog_using(cfg, "xdp_clean")
        _sys.obj_pin(prog, os.path.join(pin_dir, "xdp_clean"), "prog")
        made["prog"] = {"fd": prog.raw}
    elif scenario == "growing":
        print(json.dumps({"pid": os.getpid()}), flush=True)
        while True:
            mk("grow%d" % len(keep))
            time.sleep(0.05)
    elif scenario == "many":
        base = mk("many")
        for _ in range(int(os.environ.get("LEAK_DUPS", "100"))):
            dup("many", base)
    print(json.dumps({"pid": os.getpid(), "made": made}), flush=True)
    sys.stdin.read()
''')


class Child:
    """A running child process with its scenario's objects; stopped by ``stop()``."""

    def __init__(self, scenario: str, pin_dir: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, scenario, pin_dir], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.stop()
            raise AssertionError(f"child {scenario} failed to start")
        self.info: dict[str, Any] = json.loads(line)
        self.pin_dir = pin_dir
        self.pid: int = self.proc.pid

    def stop(self) -> None:
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.fixture
def start_child(pin_dir: str) -> Iterator[Any]:
    children: list[Child] = []

    def start(scenario: str, env: dict[str, str] | None = None) -> Child:
        own = os.path.join(pin_dir, f"{scenario}{len(children)}")  # children's pins never collide
        os.mkdir(own)
        c = Child(scenario, own, env)
        children.append(c)
        return c

    yield start
    for c in children:
        c.stop()


# -- the independent oracle -------------------------------------------------------------------

_NAMES = {"anon_inode:bpf-map": "map", "anon_inode:bpf-prog": "prog",
          "anon_inode:bpf_link": "link", "anon_inode:bpf-link": "link", "anon_inode:btf": "btf"}


def brute_fds(pid: int) -> list[tuple[str, int, int]]:
    """(type, id, fd) of every bpf descriptor of ``pid``: readlink + fdinfo, parsed here."""
    out = []
    for name in os.listdir(f"/proc/{pid}/fd"):
        kind = _NAMES.get(os.readlink(f"/proc/{pid}/fd/{name}"))
        if kind is None:
            continue
        with open(f"/proc/{pid}/fdinfo/{name}") as f:
            fields = dict(line.split(":", 1) for line in f.read().splitlines() if ":" in line)
        out.append((kind, int(fields[f"{kind}_id"].strip()), int(name)))
    return sorted(out)


def brute_pins(root: str) -> dict[tuple[str, int], list[str]]:
    """(type, id) -> pinned paths under ``root``: `ls -R` for the names, bpftool for the IDs."""
    listing = subprocess.run(["ls", "-R", "-p", root], capture_output=True, text=True,
                             check=True).stdout
    paths = []
    current = root
    for line in listing.splitlines():
        if line.endswith(":"):
            current = line[:-1]
        elif line and not line.endswith("/") and not line.endswith(".debug"):
            paths.append(os.path.join(current, line))
    out: dict[tuple[str, int], list[str]] = {}
    for path in paths:
        for kind in ("map", "prog", "link"):
            rc = subprocess.run(["bpftool", "-j", kind, "show", "pinned", path],
                                capture_output=True, text=True)
            if rc.returncode == 0 and rc.stdout.strip().startswith("{"):
                out.setdefault((kind, json.loads(rc.stdout)["id"]), []).append(path)
                break
    return out


def expected(pid: int, root: str) -> tuple[set[tuple[str, int, int]], set[tuple[str, int, int]]]:
    held = [h for h in brute_fds(pid) if h[0] != "btf"]
    pins = brute_pins(root)
    count: dict[tuple[str, int], int] = {}
    for kind, obj_id, _fd in held:
        count[(kind, obj_id)] = count.get((kind, obj_id), 0) + 1
    sure = {h for h in held if (h[0], h[1]) not in pins}
    possible = {h for h in held if (h[0], h[1]) in pins and count[(h[0], h[1])] > 1}
    return sure, possible


def triples(entries: Any) -> set[tuple[str, int, int]]:
    return {(e.type.value, e.id, e.fd) for e in entries}


# -- tests ------------------------------------------------------------------------------------


def test_leaky_child_is_reported_exactly(start_child: Any, bpffs: str, pin_dir: str) -> None:
    c = start_child("leaky")
    report = analyze(c.pid, bpffs=bpffs)
    sure, possible = expected(c.pid, bpffs)
    assert triples(report.sure) == sure
    assert triples(report.possible) == possible
    made = c.info["made"]
    # What the oracle found is what the child made: nothing more, nothing less.
    assert {(k, i) for k, i, _ in possible} == {("map", made["global_ep"]["id"])}
    assert {f for k, _, f in possible} == set(made["global_ep"]["fds"])
    sure_maps = {i for k, i, _ in sure if k == "map"}
    assert sure_maps == {made["tmp_scratch"]["id"], made["xdp_stats"]["id"]}
    assert {k for k, _, _ in sure} == {"map", "prog", "link"}


def test_leaky_child_text_report(start_child: Any, bpffs: str, pin_dir: str) -> None:
    c = start_child("leaky")
    report = analyze(c.pid, bpffs=[bpffs])
    made = c.info["made"]
    ep, scratch, stats = made["global_ep"], made["tmp_scratch"], made["xdp_stats"]
    prog_fd, link_fd = made["prog"]["fd"], made["link"]["fd"]
    (prog_entry,) = [e for e in report.sure if e.type is ObjType.PROG]
    (link_entry,) = [e for e in report.sure if e.type is ObjType.LINK]
    prog_id, link_id = prog_entry.id, link_entry.id
    assert (prog_entry.fd, link_entry.fd) == (prog_fd, link_fd)
    ep_desc = "Map(name=global_ep type=Hash keySize=8 valueSize=12 maxEntries=1000000 flags=5)"
    map_lines = sorted([
        (scratch["id"], f"ID={scratch['id']} FD={scratch['fds'][0]} Map(name=tmp_scratch "
                        "type=Hash keySize=4 valueSize=8 maxEntries=64 flags=0)", []),
        (stats["id"], f"ID={stats['id']} FD={stats['fds'][0]} Map(name=xdp_stats type=Array "
                      "keySize=4 valueSize=8 maxEntries=1 flags=0)",
         [f"  used by: ID={prog_id} {prog_entry.description}"]),
    ])
    lines = ["bpf map:", "Sure leak:"]
    for _id, line, extra in map_lines:
        lines += [line, *extra]
    lines += ["", "Possible leak:", os.path.join(c.pin_dir, "global_ep")]
    lines += [f"ID={ep['id']} FD={fd} {ep_desc}" for fd in sorted(ep["fds"])]
    lines += ["", "bpf prog:", "Sure leak:", f"ID={prog_id} FD={prog_fd} {prog_entry.description}",
              f"  attached by: ID={link_id} {link_entry.description}", "",
              "bpf link:", "Sure leak:", f"ID={link_id} FD={link_fd} {link_entry.description}"]
    assert report.to_text() == "\n".join(lines) + "\n"
    assert prog_entry.description.startswith("Program(name=xdp_count")
    assert str(link_id) in link_entry.description


def test_leaky_child_json_report(start_child: Any, bpffs: str) -> None:
    c = start_child("leaky")
    report = analyze(c.pid, bpffs=bpffs)
    data = json.loads(report.to_json())
    assert data["pid"] == c.pid and data["bpffs"] == [bpffs]
    for kind in ("map", "prog", "link"):
        sure, possible = report.section(ObjType(kind))
        assert data[kind]["sure"] == [e.to_dict() for e in sure]
        assert data[kind]["possible"] == [e.to_dict() for e in possible]
        assert data[kind]["leak"] is True
    stats_id = c.info["made"]["xdp_stats"]["id"]
    (stats,) = [e for e in data["map"]["sure"] if e["id"] == stats_id]
    assert [r["type"] for r in stats["referenced_by"]] == ["prog"]
    scratch_id = c.info["made"]["tmp_scratch"]["id"]
    (scratch,) = [e for e in data["map"]["sure"] if e["id"] == scratch_id]
    assert scratch["referenced_by"] == []  # the orphan
    held = brute_fds(c.pid)
    kinds = ("map", "prog", "link", "btf")
    assert data["held"] == {k: sum(1 for h in held if h[0] == k) for k in kinds}


def test_default_roots_are_the_mounts_the_process_sees(start_child: Any, bpffs: str) -> None:
    c = start_child("leaky")
    report = analyze(c.pid)
    assert bpffs in report.bpffs
    sure, possible = expected(c.pid, bpffs)
    assert triples(report.possible) == possible
    assert triples(report.sure) == sure


def test_clean_child_has_no_leak(start_child: Any, bpffs: str) -> None:
    c = start_child("clean")
    report = analyze(c.pid, bpffs=bpffs)
    assert report.sure == () and report.possible == ()
    assert expected(c.pid, bpffs) == (set(), set())
    assert report.to_text() == "bpf map:\nNo leak!\n\nbpf prog:\nNo leak!\n\nbpf link:\nNo leak!\n"
    assert report.held["map"] == 1 and report.held["prog"] == 1


def test_roots_elsewhere_make_every_object_a_sure_leak(start_child: Any, bpffs: str,
                                                       pin_dir: str) -> None:
    c = start_child("clean")
    other = os.path.join(bpffs, "elsewhere")
    os.mkdir(other)
    try:
        report = analyze(c.pid, bpffs=other)
    finally:
        os.rmdir(other)
    assert triples(report.sure) == {h for h in brute_fds(c.pid) if h[0] != "btf"}


def test_one_object_through_many_descriptors(start_child: Any, bpffs: str) -> None:
    c = start_child("many", env={"LEAK_DUPS": "300"})
    report = analyze(c.pid, bpffs=bpffs)
    assert triples(report.sure) == expected(c.pid, bpffs)[0]
    assert len(report.sure) == 301 and len({e.id for e in report.sure}) == 1


def test_no_such_process() -> None:
    with pytest.raises(ProcessGoneError, match="no such process"):
        analyze(2**22 + 12345)


def test_process_exiting_mid_scan(start_child: Any, bpffs: str,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    c = start_child("leaky")
    real = leak_mod._info_by_id

    def kill_then_look(kind: ObjType, obj_id: int) -> Any:
        if c.proc.poll() is None:
            c.proc.kill()
            c.proc.wait()
        return real(kind, obj_id)

    monkeypatch.setattr(leak_mod, "_info_by_id", kill_then_look)
    with pytest.raises(ProcessGoneError, match="exited during the scan"):
        analyze(c.pid, bpffs=bpffs)


def test_root_that_is_not_bpffs(start_child: Any, tmp_path: Any) -> None:
    c = start_child("clean")
    with pytest.raises(NotBPFFSError, match="is not a bpffs mount"):
        analyze(c.pid, bpffs=os.fspath(tmp_path))


def test_not_root_gets_a_clear_message() -> None:
    code = textwrap.dedent("""
        import os
        from bpfobj.leak import analyze
        from bpfobj import BPFPermissionError
        os.setgid(65534); os.setuid(65534)  # after the imports: /root is not readable then
        try:
            analyze(1)
        except BPFPermissionError as exc:
            print("OK", exc)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.startswith("OK leak analysis: needs root"), out.stdout + out.stderr
    assert issubclass(BPFPermissionError, PermissionError)  # the type users catch


def test_report_from_records_matches_the_seed_layout() -> None:
    from bpfobj.leak import LeakEntry

    ep = "Map(name=global_ep type=Hash keySize=8 valueSize=12 maxEntries=1000000 flags=5)"
    report = LeakReport(
        pid=1, comm="gw", bpffs=("/sys/fs/bpf",),
        sure=(LeakEntry(ObjType.MAP, 210420, 19, (), "Map(name=tmp_scratch type=Hash keySize=4 "
                        "valueSize=8 maxEntries=64 flags=0)"),),
        possible=(LeakEntry(ObjType.MAP, 210414, 11, ("/sys/fs/bpf/global_ep",), ep),
                  LeakEntry(ObjType.MAP, 210414, 26, ("/sys/fs/bpf/global_ep",), ep)))
    assert report.to_text() == textwrap.dedent("""\
        bpf map:
        Sure leak:
        ID=210420 FD=19 Map(name=tmp_scratch type=Hash keySize=4 valueSize=8 maxEntries=64 flags=0)

        Possible leak:
        /sys/fs/bpf/global_ep
        ID=210414 FD=11 Map(name=global_ep type=Hash keySize=8 valueSize=12 maxEntries=1000000 flags=5)
        ID=210414 FD=26 Map(name=global_ep type=Hash keySize=8 valueSize=12 maxEntries=1000000 flags=5)

        bpf prog:
        No leak!

        bpf link:
        No leak!
        """)
