"""Root-free tests of the /proc and mountinfo parsers, on texts captured from a real kernel.

``data/fdinfo_*.txt`` are /proc/self/fdinfo/N of a map, a program, a link
fresh from BPF_LINK_CREATE (``anon_inode:bpf_link``) and the same link reopened
by ID (``bpf-link``), a BTF object, an iterator link and a ``bpf_iter``
descriptor (Linux 6.18). ``data/mountinfo_escapes.txt`` comes from a private
mount namespace whose mount points hold a space, a tab, a backslash, a newline
and an emoji; ``mountinfo_host.txt`` has propagation tags and a bind mount of
a bpffs subdirectory. ``fds``/``holders``/``mounts`` are also run against a
fake /proc tree (``procfs_root``), which needs no root.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bpfobj import LinkType, MapType, ObjType, ProcessGoneError, ProgramType, bpffs, procfs
from bpfobj.procfs import ProcFD, fd_record, parse_fd_target, parse_fdinfo

DATA = Path(__file__).parent / "data"


def fdinfo(name: str) -> bytes:
    return (DATA / f"fdinfo_{name}.txt").read_bytes()


# -- readlink targets -----------------------------------------------------------------------


@pytest.mark.parametrize("target, want", [
    ("anon_inode:bpf-map", (ObjType.MAP, "bpf-map")),
    ("anon_inode:bpf-prog", (ObjType.PROG, "bpf-prog")),
    ("anon_inode:bpf_link", (ObjType.LINK, "bpf_link")),
    ("anon_inode:bpf-link", (ObjType.LINK, "bpf-link")),
    ("anon_inode:btf", (ObjType.BTF, "btf")),
    ("anon_inode:bpf_iter", (None, "bpf_iter")),
    ("anon_inode:[eventfd]", None),
    ("anon_inode:[eventpoll]", None),
    ("anon_inode:bpf-map (deleted)", None),
    ("/sys/fs/bpf/anon_inode:bpf-map", None),
    ("socket:[12345]", None),
    ("pipe:[42]", None),
    ("/tmp/anon_inode:btf (deleted)", None),
    ("", None),
])
def test_fd_targets(target: str, want: object) -> None:
    assert parse_fd_target(target) == want


# -- fdinfo ---------------------------------------------------------------------------------


def test_parse_fdinfo_map() -> None:
    d = parse_fdinfo(fdinfo("map"))
    assert d["flags"] == "02000002" and d["map_type"] == "2" and d["map_id"] == "248409"
    assert d["map_flags"] == "0x0" and d["frozen"] == "0" and d["memlock"] == "344"


def test_parse_fdinfo_link_keeps_names() -> None:
    d = parse_fdinfo(fdinfo("link_create"))
    assert d["link_type"] == "raw_tracepoint" and d["tp_name"] == "sched_switch"
    assert d["link_id"] == "909" and d["prog_id"] == "2323"


@pytest.mark.parametrize("bad", [b"\xff\xfe:1\n", b"k\xc3\x28:1\n"])
def test_parse_fdinfo_rejects_what_is_not_text(bad: bytes) -> None:
    with pytest.raises(ValueError):
        parse_fdinfo(bad)


def test_parse_fdinfo_skips_table_rows() -> None:
    # A kprobe_multi link's fdinfo ends with a table: header and one row per function.
    text = fdinfo("link_create").replace(b"link_type:\traw_tracepoint", b"link_type:\tkprobe_multi")
    text += b"kprobe_cnt:\t2\nmissed:\t0\ncookie\t func\n1\t bpf_fentry_test1+0x0/0x10\n"
    text += b"2\t bpf_fentry_test2+0x0/0x10\n"
    d = parse_fdinfo(text)
    assert d["kprobe_cnt"] == "2" and d["link_id"] == "909" and "cookie\t func" not in d
    assert len(d) == len(parse_fdinfo(fdinfo("link_create"))) + 2
    for junk in (b"pos 0\n", b"flags\n", b":0\n", b"a b:1\n"):
        assert parse_fdinfo(junk) == {}
    rec = fd_record(3, "anon_inode:bpf_link", text)
    assert rec is not None and rec.link_type is LinkType.KPROBE_MULTI and rec.id == 909


def test_map_record() -> None:
    rec = fd_record(3, "anon_inode:bpf-map", fdinfo("map"))
    assert rec == ProcFD(fd=3, type=ObjType.MAP, id=248409, flags=0o2000002, cloexec=True,
                         anon_name="bpf-map", map_type=MapType.ARRAY, memlock=344)
    assert rec.readable and rec.writable
    assert str(rec) == "fd 3: bpf map id 248409"


def test_prog_record() -> None:
    rec = fd_record(4, "anon_inode:bpf-prog", fdinfo("prog"))
    assert rec is not None
    assert (rec.type, rec.id, rec.prog_id, rec.prog_type) == (
        ObjType.PROG, 2323, 2323, ProgramType.RAW_TRACEPOINT)
    assert rec.cloexec and rec.memlock == 4096 and rec.map_type is None


@pytest.mark.parametrize("name, target", [("link_create", "anon_inode:bpf_link"),
                                          ("link_by_id", "anon_inode:bpf-link")])
def test_link_records_both_spellings(name: str, target: str) -> None:
    rec = fd_record(5, target, fdinfo(name))
    assert rec is not None
    assert (rec.type, rec.id, rec.prog_id) == (ObjType.LINK, 909, 2323)
    assert rec.link_type is LinkType.RAW_TRACEPOINT and rec.anon_name == target[11:]
    # A link's fdinfo says O_RDONLY, and close-on-exec.
    assert rec.flags == 0o2000000 and rec.cloexec and not rec.writable


def test_iter_link_and_btf_and_iterator() -> None:
    link = fd_record(6, "anon_inode:bpf_link", fdinfo("link_iter"))
    assert link is not None and link.link_type is LinkType.ITER and link.id == 921
    btf = fd_record(7, "anon_inode:btf", fdinfo("btf"))
    assert btf is not None and (btf.type, btf.id) == (ObjType.BTF, 239)
    it = fd_record(8, "anon_inode:bpf_iter", fdinfo("iter"))
    assert it is not None and (it.type, it.id, it.anon_name) == (None, 0, "bpf_iter")
    assert str(it) == "fd 8: bpf bpf_iter id 0"


def test_no_cloexec_and_read_only_map() -> None:
    text = fdinfo("map").replace(b"flags:\t02000002", b"flags:\t00000000")
    rec = fd_record(9, "anon_inode:bpf-map", text)
    assert rec is not None and not rec.cloexec and rec.flags == 0
    assert rec.readable and not rec.writable
    assert str(rec).endswith("(no cloexec)")


def test_unknown_types_keep_the_number() -> None:
    text = fdinfo("map").replace(b"map_type:\t2\n", b"map_type:\t999\n")
    rec = fd_record(3, "anon_inode:bpf-map", text)
    assert rec is not None and rec.map_type == 999 and not isinstance(rec.map_type, MapType)
    text = fdinfo("link_create").replace(b"link_type:\traw_tracepoint", b"link_type:\t<77>")
    rec = fd_record(3, "anon_inode:bpf_link", text)
    assert rec is not None and rec.link_type == 77
    text = fdinfo("link_create").replace(b"link_type:\traw_tracepoint", b"link_type:\tfuture")
    rec = fd_record(3, "anon_inode:bpf_link", text)
    assert rec is not None and rec.link_type is None and rec.id == 909


@pytest.mark.parametrize("target, name", [
    ("anon_inode:bpf-map", "prog"),        # number reused by a program
    ("anon_inode:bpf-prog", "map"),
    ("anon_inode:bpf-prog", "link_create"),  # a link's fdinfo has prog_id, but also link_id
    ("anon_inode:bpf_link", "prog"),
    ("anon_inode:btf", "map"),
    ("anon_inode:bpf-map", "iter"),
])
def test_cross_check_rejects_another_kind(target: str, name: str) -> None:
    with pytest.raises(ValueError):
        fd_record(3, target, fdinfo(name))


def test_not_bpf_is_none() -> None:
    assert fd_record(3, "socket:[1]", fdinfo("map")) is None


@pytest.mark.parametrize("text", [
    b"", b"pos:\t0\n", b"pos:\t0\nflags:\tzz\nmap_type:\t1\nmap_id:\t1\n",
    b"pos:\t0\nflags:\t02\nmap_type:\t1\nmap_id:\t-1\n",
    b"pos:\t0\nflags:\t02\nmap_type:\t1\nmap_id:\t7",  # cut: no final newline
    b"pos:\t0\nflags:\t09\nmap_type:\t1\nmap_id:\t7\n",
])
def test_bad_map_fdinfo(text: bytes) -> None:
    with pytest.raises(ValueError):
        fd_record(3, "anon_inode:bpf-map", text)


_TARGETS = st.sampled_from(["anon_inode:bpf-map", "anon_inode:bpf-prog", "anon_inode:bpf_link",
                            "anon_inode:bpf-link", "anon_inode:btf", "anon_inode:bpf_iter",
                            "pipe:[1]"])
_TEXTS = st.sampled_from([fdinfo(n) for n in ("map", "prog", "link_create", "btf", "iter")])


@settings(max_examples=300, deadline=None)
@given(target=_TARGETS, base=_TEXTS, cut=st.integers(0, 400), junk=st.binary(max_size=12))
def test_fd_record_raises_only_value_error(target: str, base: bytes, cut: int,
                                           junk: bytes) -> None:
    text = base[:cut] + junk + base[cut:]
    try:
        rec = fd_record(3, target, text)
    except ValueError:
        return
    assert rec is None or rec.fd == 3


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_parse_fdinfo_raises_only_value_error(text: bytes) -> None:
    try:
        parse_fdinfo(text)
    except ValueError:
        pass


# -- mountinfo ------------------------------------------------------------------------------


def test_mountinfo_escapes() -> None:
    got = bpffs.parse_mountinfo((DATA / "mountinfo_escapes.txt").read_bytes())
    points = [m.mountpoint for m in got]
    assert points == ["/tmp/bpffs-test/a b", "/tmp/bpffs-test/tab\tx",
                      "/tmp/bpffs-test/back\\slash", "/tmp/bpffs-test/emoji 🐝",
                      "/tmp/bpffs-test/new\nline", "/tmp/bpffs-test/emoji 🐝"]
    tmpfs = got[2]
    assert (tmpfs.fstype, tmpfs.source, tmpfs.super_options) == ("tmpfs", "src with space", "rw")
    assert got[1].super_options == "rw,mode=700" and got[1].options == "rw,relatime"
    assert (got[0].mount_id, got[0].parent_id, got[0].major, got[0].minor) == (71, 47, 0, 42)
    assert got[5].parent_id == 74 and got[0].optional == ()


def test_mountinfo_optional_fields_and_bind_root() -> None:
    got = bpffs.parse_mountinfo((DATA / "mountinfo_host.txt").read_bytes())
    run = next(m for m in got if m.mountpoint == "/run")
    assert run.optional == ("shared:15", "master:3", "propagate_from:4")
    assert run.fstype == "tmpfs"
    cil = next(m for m in got if m.mountpoint == "/run/cilium/bpffs")
    assert (cil.root, cil.fstype, cil.source, cil.optional) == ("/cilium", "bpf", "none",
                                                               ("unbindable",))
    root = next(m for m in got if m.mountpoint == "/")
    assert root.major == 254 and root.source == "/dev/vda"


@pytest.mark.parametrize("raw, want", [
    (b"/a\\040b", "/a b"), (b"/x\\011y\\012z", "/x\ty\nz"), (b"/b\\134s", "/b\\s"),
    (b"/no\\escape", "/no\\escape"), (b"/end\\04", "/end\\04"), (b"/e\\0400", "/e 0"),
    (b"/\xf0\x9f\x90\x9d", "/🐝"), (b"/\\377", os.fsdecode(b"/\xff")),
])
def test_unescape(raw: bytes, want: str) -> None:
    assert bpffs.unescape(raw) == want


@pytest.mark.parametrize("line", [
    b"", b"36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 ext3 /dev/root rw",  # no " - "
    b"36 35 98:0 /mnt1 /mnt/parent rw - ext3",                               # too few fields
    b"x 35 98:0 / /mnt rw - ext3 /dev/root rw",                                # bad id
    b"36 35 98 / /mnt rw - ext3 /dev/root rw",                                 # bad dev
    b"36 -35 98:0 / /mnt rw - ext3 /dev/root rw",
    b"36 35 98:0 / /mnt rw - ext3 /dev/root rw extra",
    b"36 35 98:0 / /m\\777 rw - ext3 /dev/root rw",                            # not a byte
])
def test_bad_mountinfo_lines(line: bytes) -> None:
    with pytest.raises(ValueError):
        bpffs.parse_mountinfo_line(line)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=120))
def test_mountinfo_raises_only_value_error(data: bytes) -> None:
    line = b"36 35 98:0 / /mnt rw shared:1 - bpf bpf rw\n"
    for text in (data, line[:len(data) % len(line)] + data):
        try:
            bpffs.parse_mountinfo(text)
        except ValueError:
            pass


# -- a fake /proc (procfs_root) ----------------------------------------------------------------


def fake_proc(tmp_path: Path, pid: int, comm: str, fds: dict[int, tuple[str, bytes]],
              state: str = "S") -> Path:
    """/proc/PID with fd/N symlinks (any target string) and fdinfo/N files."""
    base = tmp_path / str(pid)
    (base / "fd").mkdir(parents=True)
    (base / "fdinfo").mkdir()
    for n, (target, text) in fds.items():
        os.symlink(target, base / "fd" / str(n))
        if text:
            (base / "fdinfo" / str(n)).write_bytes(text)
    (base / "comm").write_bytes(comm.encode() + b"\n")
    (base / "stat").write_bytes(f"{pid} ({comm}) {state} 1 1 1".encode())
    return base


def test_fds_under_a_fake_proc(tmp_path: Path) -> None:
    fake_proc(tmp_path, 41, "agent", {
        0: ("/dev/null", b""),
        3: ("anon_inode:bpf-map", fdinfo("map")),
        4: ("anon_inode:bpf-map", fdinfo("map").replace(b"02000002", b"00000002")),
        5: ("anon_inode:bpf_link", fdinfo("link_create")),
        6: ("socket:[99]", b""),
        7: ("anon_inode:bpf-link", fdinfo("link_by_id")),
        10: ("anon_inode:bpf-prog", fdinfo("prog")),
        11: ("anon_inode:btf", fdinfo("btf")),
        12: ("anon_inode:bpf_iter", fdinfo("iter")),
        13: ("anon_inode:bpf-map", b""),  # closed between listing and fdinfo: skipped
        14: ("anon_inode:bpf-map", fdinfo("prog")),  # stays inconsistent when read again: skipped
        # Longer than one read (a kprobe_multi link lists every address): read to the end.
        15: ("anon_inode:bpf_link", fdinfo("link_create").replace(
            b"link_type:", b"addrs:\t" + b"f" * 9000 + b"\nlink_type:")),
    })
    got = procfs.fds(41, procfs_root=str(tmp_path))
    assert [(r.fd, r.type, r.id, r.cloexec) for r in got] == [
        (3, ObjType.MAP, 248409, True), (4, ObjType.MAP, 248409, False),
        (5, ObjType.LINK, 909, True), (7, ObjType.LINK, 909, True),
        (10, ObjType.PROG, 2323, True), (11, ObjType.BTF, 239, True), (12, None, 0, True),
        (15, ObjType.LINK, 909, True)]
    assert got[0].anon_name == "bpf-map" and got[2].anon_name == "bpf_link"
    assert got[3].anon_name == "bpf-link"
    assert procfs.fds("41", procfs_root=str(tmp_path)) == got

    held = procfs.holders(procfs_root=str(tmp_path))
    assert held[(ObjType.MAP, 248409)] == [(41, "agent", 3), (41, "agent", 4)]
    assert held[(ObjType.LINK, 909)] == [(41, "agent", 5), (41, "agent", 7), (41, "agent", 15)]
    # A process that exited between the /proc listing and its fd directory: skipped.
    (tmp_path / "42").mkdir()
    assert procfs.holders(procfs_root=str(tmp_path)) == held
    assert held[(ObjType.PROG, 2323)][0].comm == "agent"
    assert set(held) == {(ObjType.MAP, 248409), (ObjType.LINK, 909), (ObjType.PROG, 2323),
                         (ObjType.BTF, 239)}


def test_fake_proc_gone_and_zombie(tmp_path: Path) -> None:
    with pytest.raises(ProcessGoneError):
        procfs.fds(77, procfs_root=str(tmp_path))
    # A zombie: its descriptors are gone, its /proc entry is not.
    fake_proc(tmp_path, 78, "dead", {}, state="Z")
    with pytest.raises(ProcessGoneError):
        procfs.fds(78, procfs_root=str(tmp_path))
    # A live process that holds nothing bpf: an empty list, no error.
    fake_proc(tmp_path, 79, "idle", {1: ("/dev/null", b"")})
    assert procfs.fds(79, procfs_root=str(tmp_path)) == []
    # Vanished descriptors of a process that is gone meanwhile.
    fake_proc(tmp_path, 80, "exiting", {3: ("anon_inode:bpf-map", b"")}, state="X")
    with pytest.raises(ProcessGoneError):
        procfs.fds(80, procfs_root=str(tmp_path))
    assert procfs.holders(procfs_root=str(tmp_path)) == {}


@pytest.mark.parametrize("pid", [0, -1, "../1", "1/fd", "", " 1", "１", True])
def test_bad_pids(pid: object) -> None:
    with pytest.raises((ValueError, TypeError)):
        procfs.fds(pid)  # type: ignore[arg-type]


def test_mounts_under_a_fake_proc(tmp_path: Path) -> None:
    base = tmp_path / "self"
    base.mkdir()
    (base / "mountinfo").write_bytes((DATA / "mountinfo_escapes.txt").read_bytes())
    got = bpffs.mounts(procfs_root=str(tmp_path))
    # The tmpfs is no bpffs; the bpffs on "emoji 🐝" (74) is hidden by the bind mount over it (76).
    assert [(m.mount_id, m.mountpoint) for m in got] == [
        (71, "/tmp/bpffs-test/a b"), (72, "/tmp/bpffs-test/tab\tx"),
        (75, "/tmp/bpffs-test/new\nline"), (76, "/tmp/bpffs-test/emoji 🐝")]
    assert all(m.reachable == m.mountpoint == m.path and not m.via_proc_root for m in got)

    # Another process whose namespace we cannot compare: reached through /proc/PID/root.
    other = tmp_path / "55"
    other.mkdir()
    (other / "mountinfo").write_bytes((DATA / "mountinfo_host.txt").read_bytes())
    got = bpffs.mounts(55, procfs_root=str(tmp_path))
    assert [m.mountpoint for m in got] == ["/sys/fs/bpf", "/run/cilium/bpffs"]
    assert got[0].reachable == f"{tmp_path}/55/root/sys/fs/bpf" and got[0].via_proc_root
    with pytest.raises(ProcessGoneError):
        bpffs.mounts(56, procfs_root=str(tmp_path))


def test_parsers_take_text_too() -> None:
    text = (DATA / "mountinfo_escapes.txt").read_bytes()
    assert bpffs.parse_mountinfo(text.decode()) == bpffs.parse_mountinfo(text)
    assert parse_fdinfo(fdinfo("map").decode()) == parse_fdinfo(fdinfo("map"))
    assert bpffs.unescape("/a\\040b") == "/a b"
    with pytest.raises(ValueError):
        bpffs.parse_mountinfo("36 35 98:0 / /\ud800 rw - bpf bpf rw")  # not encodable
