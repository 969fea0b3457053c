"""Perf-event attachments of another process: procfs.perf_attachments, `bpfobj perf`, the leak view.

A child process attaches a tracepoint program twice, as bpftrace and bcc do
(PERF_EVENT_IOC_SET_BPF, no bpf link) and as libbpf does (a BPF_PERF_EVENT
link), plus a raw tracepoint link; bpftool perf show is the oracle.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from bpfobj import ObjType, leak, procfs
from bpfobj.cli import main
from bpfobj.errors import ProcessGoneError

pytestmark = pytest.mark.usefixtures("kernel")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHILD = r"""
import sys
sys.path.insert(0, sys.argv[1])
import bpfobj.link.perf_event as pe
from bpfobj import Link, ProgramType
from tests.tracing_util import counter_map, counter_program

m = counter_map()
p = counter_program(ProgramType.TRACEPOINT, m, name="tp_count")
raw = counter_program(ProgramType.RAW_TRACEPOINT, m, name="raw_count")
pe.force_ioctl = True
a = Link.attach_tracepoint(p, "syscalls", "sys_enter_openat")
pe.force_ioctl = False
b = Link.attach_tracepoint(p, "syscalls", "sys_enter_getpid", cookie=5)
c = Link.attach_raw_tracepoint(raw, "sys_enter")
print(a.perf_fd, b.perf_fd, b.fd, c.fd, p.fd, p.info().id, raw.info().id, b.id, flush=True)
sys.stdin.read()
"""


class Child:
    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", CHILD, ROOT], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, cwd=ROOT)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line, "the child failed to attach"
        (self.ioctl_fd, self.link_perf_fd, self.link_fd, self.raw_fd, self.prog_fd,
         self.prog_id, self.raw_prog_id, self.link_id) = map(int, line.split())

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.communicate("", timeout=30)


@pytest.fixture(scope="module")
def child() -> Iterator[Child]:
    c = Child()
    try:
        yield c
    finally:
        c.stop()


def _bpftool_perf(bpftool: str, pid: int) -> list[dict[str, object]]:
    rows = json.loads(subprocess.run([bpftool, "-j", "perf", "show"], check=True,
                                     capture_output=True, text=True).stdout)
    return sorted((r for r in rows if r["pid"] == pid), key=lambda r: int(r["fd"]))


def test_perf_attachments_of_a_child(child: Child) -> None:
    got = procfs.perf_attachments(child.pid)
    assert [(a.fd, a.prog_id, a.kind, a.name) for a in got] == sorted([
        (child.ioctl_fd, child.prog_id, "tracepoint", "sys_enter_openat"),
        (child.link_perf_fd, child.prog_id, "tracepoint", "sys_enter_getpid"),
        (child.raw_fd, child.raw_prog_id, "raw_tracepoint", "sys_enter"),
    ])
    assert str(got[0]).startswith("perf_event FD=") or str(got[0]).startswith("raw_tracepoint")


@pytest.mark.bpftool
def test_perf_attachments_equal_bpftool(child: Child, bpftool: str) -> None:
    ours = [a.to_bpftool() for a in procfs.perf_attachments(child.pid)]
    assert ours == _bpftool_perf(bpftool, child.pid)


@pytest.mark.bpftool
def test_cli_perf_json_equals_bpftool(child: Child, bpftool: str) -> None:
    out = io.StringIO()
    assert main(["perf", "--json"], out=out) == 0
    ours = sorted((r for r in json.loads(out.getvalue()) if r["pid"] == child.pid),
                  key=lambda r: r["fd"])
    assert ours == _bpftool_perf(bpftool, child.pid)
    text = io.StringIO()
    assert main(["perf", "show"], out=text) == 0
    plain = subprocess.run([bpftool, "perf", "show"], check=True, capture_output=True,
                           text=True).stdout
    mine = [ln for ln in text.getvalue().splitlines() if ln.startswith(f"pid {child.pid} ")]
    theirs = [ln.rstrip() for ln in plain.splitlines() if ln.startswith(f"pid {child.pid} ")]
    assert sorted(mine) == sorted(theirs) and len(mine) == 3


def test_leak_report_has_attached_by_lines(child: Child, bpffs: str) -> None:
    report = leak.analyze(child.pid, bpffs=bpffs)
    sure, _ = report.section(ObjType.PROG)
    entry = next(e for e in sure if e.id == child.prog_id)
    perf_refs = [r for r in entry.referenced_by if isinstance(r, leak.PerfReference)]
    assert sorted((r.fd, r.description) for r in perf_refs) == sorted([
        (child.ioctl_fd, "tracepoint sys_enter_openat"),
        (child.link_perf_fd, "tracepoint sys_enter_getpid"),
    ])
    # The BPF_PERF_EVENT link is "attached by" as a link too.
    assert any(isinstance(r, leak.Reference) and r.id == child.link_id
               for r in entry.referenced_by)
    text = report.to_text()
    assert f"  attached by: perf_event FD={child.ioctl_fd} tracepoint sys_enter_openat\n" in text
    assert f"  attached by: perf_event FD={child.link_perf_fd} tracepoint sys_enter_getpid\n" \
        in text
    # The raw tracepoint program is attached by its link only (no perf_event line).
    raw = next(e for e in sure if e.id == child.raw_prog_id)
    assert not any(isinstance(r, leak.PerfReference) for r in raw.referenced_by)
    data = json.loads(report.to_json())
    refs = next(e for e in data["prog"]["sure"] if e["id"] == child.prog_id)["referenced_by"]
    assert {"type": "perf_event", "fd": child.ioctl_fd, "relation": "attached by",
            "kind": "tracepoint", "name": "sys_enter_openat", "offset": 0,
            "description": "tracepoint sys_enter_openat"} in refs


def test_gone_process() -> None:
    p = subprocess.Popen(["true"])
    p.wait()
    with pytest.raises(ProcessGoneError):
        procfs.perf_attachments(p.pid)


def test_self_has_none_and_a_process_without_any() -> None:
    assert procfs.perf_attachments("self") == []
    assert procfs.perf_attachments(os.getpid()) == []
