"""tracefs found, and mounted when absent, on the real kernel (in a private mount namespace)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from bpfobj._internal import tracefs
from tests.conftest import need

pytestmark = pytest.mark.usefixtures("kernel")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Runs in a new mount namespace (unshare -m makes its mounts private), with
# every tracefs and debugfs there unmounted, so the host keeps its own.
SCRIPT = r"""
import subprocess, sys
sys.path.insert(0, sys.argv[1])
from bpfobj._internal import tracefs
from bpfobj.errors import NotSupportedError
for _ in range(8):
    found = tracefs.parse_mountinfo(open("/proc/self/mountinfo", "rb").read())
    if not found:
        break
    subprocess.run(["umount", "-l", found[-1]], check=True)
subprocess.run(["umount", "-l", "/sys/kernel/debug"], capture_output=True)
try:
    tracefs.mount_point(mount=False)
    print("found-without-mount")
except NotSupportedError as exc:
    print("refused:", exc)
path = tracefs.mount_point()
print("mounted:", path, tracefs.parse_mountinfo(open("/proc/self/mountinfo", "rb").read()))
print("id:", tracefs.event_id("syscalls", "sys_enter_getpid"))
"""


def test_mounts_tracefs_when_absent() -> None:
    need(shutil.which("unshare") is not None, "no unshare(1) for a private mount namespace")
    out = subprocess.run(["unshare", "-m", sys.executable, "-c", SCRIPT, ROOT],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("refused: tracefs: not mounted (mount -t tracefs"), lines
    assert lines[1] == "mounted: /sys/kernel/tracing ['/sys/kernel/tracing']"
    assert lines[2] == f"id: {tracefs.event_id('syscalls', 'sys_enter_getpid')}"


def test_mount_point_is_where_mountinfo_says() -> None:
    path = tracefs.mount_point()
    with open("/proc/self/mountinfo", "rb") as f:
        listed = tracefs.parse_mountinfo(f.read())
    assert path in listed or path in ("/sys/kernel/tracing", "/sys/kernel/debug/tracing")
    assert os.path.isdir(os.path.join(path, "events", "syscalls"))
