"""The analyser against churn: targets that open and close descriptors in a tight loop,
targets that exit mid-scan, and a target whose descriptor table must stay untouched.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest

from bpfobj import ProcessGoneError, leak

pytestmark = pytest.mark.usefixtures("kernel")

CHURN = textwrap.dedent("""
    import sys, os
    from bpfobj import Map, MapSpec, MapType
    stable = [Map.create(MapSpec(MapType.ARRAY, 4, 4, 1, name=f"stable{i}")) for i in range(8)]
    print(" ".join(f"{m.fd}:{m.info().id}" for m in stable), flush=True)
    n = 0
    while True:
        with Map.create(MapSpec(MapType.HASH, 4, 4, 4, name="churn")) as m:
            dup = m.clone()
            dup.close()
        n += 1
""")

QUIET = textwrap.dedent("""
    import sys
    from bpfobj import Map, MapSpec, MapType
    keep = [Map.create(MapSpec(MapType.ARRAY, 4, 4, 1, name=f"q{i}")) for i in range(5)]
    keep.append(keep[0].clone())
    print("ready", flush=True)
    sys.stdin.read()
""")


def _start(code: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.kill()
    proc.wait()
    for stream in (proc.stdin, proc.stdout):
        if stream:
            stream.close()


def test_churning_target_never_mixes_descriptors_and_objects(bpffs: str) -> None:
    proc = _start(CHURN)
    try:
        assert proc.stdout is not None
        stable: dict[int, int] = {}
        for pair in proc.stdout.readline().split():
            fd_s, _, id_s = pair.partition(":")
            stable[int(fd_s)] = int(id_s)
        rounds = 0
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            report = leak.analyze(proc.pid, bpffs=bpffs)
            rounds += 1
            seen = {}
            for entry in report.sure:
                assert entry.description, entry
                # The description was read for this entry's ID: names must agree.
                assert ("churn" in entry.description) != ("stable" in entry.description)
                seen[entry.fd] = entry.id
            for fd, obj_id in stable.items():
                # The stable maps are always there, each at its own descriptor.
                assert seen.get(fd) == obj_id, (fd, obj_id, seen)
        assert rounds >= 5
    finally:
        _stop(proc)


def test_target_exiting_mid_scan_raises_only_process_gone(bpffs: str) -> None:
    outcomes = {"report": 0, "gone": 0}
    for i in range(15):
        proc = _start(CHURN)
        assert proc.stdout is not None
        proc.stdout.readline()
        # Kill it at varying moments while analyses run.
        killer = subprocess.Popen(["sh", "-c", f"sleep 0.0{i % 10}; kill -9 {proc.pid}"])
        try:
            for _ in range(50):
                try:
                    leak.analyze(proc.pid, bpffs=bpffs)
                    outcomes["report"] += 1
                except ProcessGoneError:
                    outcomes["gone"] += 1
                    break
        finally:
            killer.wait()
            _stop(proc)
    # After the process was reaped, it is certainly gone.
    with pytest.raises(ProcessGoneError):
        leak.analyze(proc.pid, bpffs=bpffs)
    assert outcomes["gone"] >= 1, outcomes


def _fd_table(pid: int) -> dict[str, tuple[str, str]]:
    out = {}
    for name in os.listdir(f"/proc/{pid}/fd"):
        target = os.readlink(f"/proc/{pid}/fd/{name}")
        with open(f"/proc/{pid}/fdinfo/{name}") as f:
            info = f.read()
        out[name] = (target, info)
    return out


def test_analysis_leaves_the_target_descriptor_table_unchanged(bpffs: str) -> None:
    proc = _start(QUIET)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        before = _fd_table(proc.pid)
        for _ in range(3):
            report = leak.analyze(proc.pid, bpffs=bpffs)
        assert _fd_table(proc.pid) == before
        assert len(report.sure) == 6  # five maps, one of them held twice
    finally:
        _stop(proc)
