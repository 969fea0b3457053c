"""Tracepoint links on the real kernel: exact counts, cookies, detach, bpftool parity, errors."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys

import pytest

import bpfobj.link.perf_event as perf_event_mod
from bpfobj import Link, LinkType, ProgramType
from bpfobj._internal import tracefs
from bpfobj._internal.fd import FD
from bpfobj.cli import link_json
from bpfobj.errors import BPFError, NotSupportedError, ObjectTypeError
from bpfobj.link.perf_event import PerfEventLink
from tests.conftest import open_fds
from tests.tracing_util import counter_map, counter_program, read_counts

pytestmark = pytest.mark.usefixtures("kernel")

K = 1000


@pytest.fixture
def counting():  # type: ignore[no-untyped-def]
    m = counter_map()
    p = counter_program(ProgramType.TRACEPOINT, m, tgid=os.getpid(), cookie=True)
    yield m, p
    p.close()
    m.close()


def _getpid_times(n: int) -> None:
    for _ in range(n):
        os.getpid()


def test_counts_exactly_k_calls(counting) -> None:  # type: ignore[no-untyped-def]
    m, p = counting
    with Link.attach_tracepoint(p, "syscalls", "sys_enter_getpid") as link:
        assert isinstance(link, PerfEventLink)
        assert not link.uses_ioctl
        _getpid_times(K)
        assert read_counts(m)[0] == K


def test_tracefs_is_mounted_and_ids_match_the_format_file() -> None:
    root = tracefs.mount_point()
    with open(os.path.join(root, "events/syscalls/sys_enter_getpid/format")) as f:
        line = next(x for x in f if x.startswith("ID:"))
    assert tracefs.event_id("syscalls", "sys_enter_getpid") == int(line.split()[1])


def test_cookie_arrives(counting) -> None:  # type: ignore[no-untyped-def]
    m, p = counting
    cookie = 0xDEADBEEFCAFE
    with Link.attach_tracepoint(p, "syscalls", "sys_enter_getpid", cookie=cookie) as link:
        os.getpid()
        assert read_counts(m)[:2] == (1, cookie)
        info = link.info()
        assert info.perf_event is not None
        assert info.perf_event.cookie == cookie
        assert info.perf_event.kind == "tracepoint"
        assert info.perf_event.name == "sys_enter_getpid"


def test_closing_the_last_owner_detaches(counting) -> None:  # type: ignore[no-untyped-def]
    m, p = counting
    link = Link.attach_tracepoint(p, "syscalls", "sys_enter_getpid")
    clone = link.clone()
    assert clone.perf_fd != link.perf_fd and clone.fd != link.fd
    link.close()
    _getpid_times(10)
    assert read_counts(m)[0] == 10  # the clone keeps it attached
    with pytest.raises(NotSupportedError, match="close them"):
        clone.detach()
    clone.close()
    clone.close()  # idempotent
    _getpid_times(10)
    assert read_counts(m)[0] == 10


def test_ioctl_fallback_counts_and_reports(counting, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    m, p = counting
    monkeypatch.setattr(perf_event_mod, "force_ioctl", True)
    link = Link.attach_tracepoint(p, "syscalls", "sys_enter_getpid")
    try:
        assert link.uses_ioctl and link.fd == link.perf_fd
        _getpid_times(K)
        assert read_counts(m)[0] == K
        info = link.info()  # BPF_TASK_FD_QUERY on our own descriptor (calls getpid once)
        assert (info.id, info.type, info.prog_id) == (0, LinkType.PERF_EVENT, p.info().id)
        assert info.perf_event is not None
        assert (info.perf_event.kind, info.perf_event.name) == ("tracepoint", "sys_enter_getpid")
        with pytest.raises(NotSupportedError, match="cookies need"):
            Link.attach_tracepoint(p, "syscalls", "sys_enter_getppid", cookie=1)
        clone = link.clone()
        link.close()
        before = read_counts(m)[0]
        os.getpid()
        assert read_counts(m)[0] == before + 1
        clone.close()
        os.getpid()
        assert read_counts(m)[0] == before + 1
    finally:
        link.close()


@pytest.mark.bpftool
def test_bpftool_perf_and_link_show_agree(counting, bpftool: str) -> None:  # type: ignore[no-untyped-def]
    _m, p = counting
    with Link.attach_tracepoint(p, "syscalls", "sys_enter_getpid", cookie=9) as link:
        perf = json.loads(subprocess.run([bpftool, "-j", "perf", "show"], check=True,
                                         capture_output=True, text=True).stdout)
        mine = [r for r in perf if r["pid"] == os.getpid()]
        shown = json.loads(subprocess.run([bpftool, "-j", "link", "show", "id", str(link.id)],
                                          check=True, capture_output=True, text=True).stdout)
        prog_id = p.info().id
        assert mine == [{"pid": os.getpid(), "fd": link.perf_fd, "prog_id": prog_id,
                         "fd_type": "tracepoint", "tracepoint": "sys_enter_getpid"}]
        assert shown["prog_id"] == prog_id == link.info().prog_id
        ours = link_json(link)
        for key, value in shown.items():  # every key bpftool prints, with its value
            if key != "pids":
                assert ours[key] == value, key
        assert ours["tracepoint"] == "sys_enter_getpid" and ours["cookie"] == 9


def test_missing_tracepoint_names_itself_and_leaks_nothing(counting) -> None:  # type: ignore[no-untyped-def]
    _m, p = counting
    before = open_fds()
    with pytest.raises(BPFError, match="syscalls/sys_enter_no_such") as exc:
        Link.attach_tracepoint(p, "syscalls", "sys_enter_no_such")
    assert exc.value.errno == errno.ENOENT
    with pytest.raises(BPFError, match="no_group/x.*no event group 'no_group'"):
        Link.attach_tracepoint(p, "no_group", "x")
    for bad in ("../syscalls", "sys/enter", "", "a b"):
        with pytest.raises(ValueError, match="invalid tracepoint"):
            Link.attach_tracepoint(p, "syscalls", bad)
    assert open_fds() == before


def test_wrong_program_type_fails_before_opening_anything() -> None:
    m = counter_map()
    kp = counter_program(ProgramType.KPROBE, m)
    try:
        before = open_fds()
        with pytest.raises(ObjectTypeError, match="type kprobe.*needs type tracepoint"):
            Link.attach_tracepoint(kp, "syscalls", "sys_enter_no_such")  # not even looked up
        with pytest.raises(ObjectTypeError, match="bpf-map, not a bpf-prog"):
            Link.attach_tracepoint(m, "syscalls", "sys_enter_getpid")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="needs a Program"):
            Link.attach_tracepoint("prog", "syscalls", "sys_enter_getpid")  # type: ignore[arg-type]
        assert open_fds() == before
    finally:
        kp.close()
        m.close()


def test_new_from_id_reopens_a_perf_event_link(counting) -> None:  # type: ignore[no-untyped-def]
    _m, p = counting
    with Link.attach_tracepoint(p, "syscalls", "sys_enter_getpid", cookie=3) as link, \
            Link.new_from_id(link.id) as again:
        assert again.type is LinkType.PERF_EVENT
        info = again.info()
        assert info.perf_event is not None and info.perf_event.cookie == 3


def test_example_opensnoop_prints_our_opens(tmp_path) -> None:  # type: ignore[no-untyped-def]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    target = tmp_path / "opened-by-the-test"
    target.write_text("x")
    env = dict(os.environ, PYTHONPATH=root)
    proc = subprocess.Popen(
        [sys.executable, os.path.join(root, "examples", "opensnoop.py"), "-n", "3", "-t", "30",
         "-p", str(os.getpid())], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=env)
    try:
        assert proc.stdout is not None
        header = proc.stdout.readline()
        assert header.split()[:4] == ["TIME(s)", "PID", "TID", "COMM"], header
        for _ in range(3):
            with open(target):
                pass
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    lines = out.splitlines()
    assert len(lines) == 3
    for line in lines:
        f = line.split()
        assert int(f[1]) == os.getpid() and f[-1] == str(target)


def test_a_pin_keeps_it_attached(counting, pin_dir: str) -> None:  # type: ignore[no-untyped-def]
    m, p = counting
    path = os.path.join(pin_dir, "tp_link")
    link = Link.attach_tracepoint(p, "syscalls", "sys_enter_getpid")
    link.pin(path)
    link.close()  # both descriptors; the pinned bpf link holds the perf event
    _getpid_times(5)
    assert read_counts(m)[0] == 5
    with Link.load_pinned(path) as again:
        assert again.info().perf_event is not None
        os.unlink(path)
    _getpid_times(5)
    assert read_counts(m)[0] == 5


def test_cleanup_runs_once_when_the_last_clone_closes(counting) -> None:  # type: ignore[no-untyped-def]
    # The lifecycle kprobe.py's tracefs path relies on (its probe event is
    # removed by the cleanup), on a tracepoint perf event this kernel has.
    from bpfobj._internal import syscall as _sys

    _m, p = counting
    calls: list[int] = []

    def open_event() -> FD:
        return _sys.perf_event_open(type=_sys.const("PERF_TYPE_TRACEPOINT"),
                                    config=tracefs.event_id("syscalls", "sys_enter_getpid"),
                                    sample_period=1, wakeup_events=1, pid=-1, cpu=0)

    link = perf_event_mod.attach_perf_event(p._fd, p, open_event(), 0, "test",
                                            cleanup=lambda: calls.append(1))
    clone = link.clone()
    link.close()
    link.close()
    assert calls == []
    clone.close()
    assert calls == [1]
    # A failed attach closes the perf event and runs the cleanup too.
    m2 = counter_map()
    before = open_fds()
    try:
        with pytest.raises(BPFError):
            perf_event_mod.attach_perf_event(m2._fd, m2, open_event(), 0, "test",
                                             cleanup=lambda: calls.append(2))
    finally:
        m2.close()
    assert calls == [1, 2]
    assert open_fds() <= before


def test_reopened_perf_event_link_owns_the_bpf_link_only(counting) -> None:  # type: ignore[no-untyped-def]
    m, p = counting
    with Link.attach_tracepoint(p, "syscalls", "sys_enter_getpid", cookie=4) as link:
        again = PerfEventLink.new_from_id(link.id)
        try:
            assert not again.uses_ioctl
            assert again.info().perf_event.cookie == 4  # type: ignore[union-attr]
            with pytest.raises(ValueError, match="reopened"):
                again.perf_fd  # noqa: B018
            clone = again.clone()
            clone.close()
        finally:
            again.close()
        os.getpid()
        assert read_counts(m)[0] == 1
