"""Shared fixtures: a private bpffs, the kernel gate, and the per-module fd-leak check.

Tests run against the real kernel, as root. A session-scoped fixture mounts a
private bpffs in a temporary directory (never /sys/fs/bpf) and unmounts it at
the end. With BPFOBJ_REQUIRE_KERNEL=1 (set by .ci/run) a missing kernel
capability fails the test instead of skipping it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator

import pytest

REQUIRE_KERNEL = os.environ.get("BPFOBJ_REQUIRE_KERNEL") == "1"


def need(condition: bool, why: str) -> None:
    """Skip (or, under BPFOBJ_REQUIRE_KERNEL=1, fail) when ``condition`` is false."""
    if condition:
        return
    if REQUIRE_KERNEL:
        pytest.fail(f"BPFOBJ_REQUIRE_KERNEL=1 but {why}", pytrace=False)
    pytest.skip(why)


def open_fds() -> set[int]:
    """The descriptors really open in this process.

    Listing /proc/self/fd opens a descriptor for the listing itself; it shows
    up in the list but is closed by the time we look, so keep only those that
    fstat still sees.
    """
    out = set()
    for name in os.listdir("/proc/self/fd"):
        n = int(name)
        try:
            os.fstat(n)
        except OSError:
            continue
        out.add(n)
    return out


def _bpf_available() -> str:
    if os.geteuid() != 0:
        return "tests need root"
    try:
        from bpfobj import Map, MapSpec, MapType

        with Map.create(MapSpec(MapType.ARRAY, 4, 4, 1)):
            pass
    except Exception as exc:  # noqa: BLE001 - any failure means "no bpf"
        return f"bpf() is not usable: {exc}"
    return ""


_KERNEL_PROBLEM: str | None = None


@pytest.fixture(scope="session")
def kernel() -> None:
    """Require root and a working bpf(): skip, or fail under BPFOBJ_REQUIRE_KERNEL=1."""
    global _KERNEL_PROBLEM
    if _KERNEL_PROBLEM is None:
        _KERNEL_PROBLEM = _bpf_available()
    need(not _KERNEL_PROBLEM, _KERNEL_PROBLEM)


@pytest.fixture(scope="session")
def bpffs(kernel: None) -> Iterator[str]:
    """A private bpffs mounted in a temporary directory for the whole session."""
    root = tempfile.mkdtemp(prefix="bpfobj-test-bpffs-")
    rc = subprocess.run(["mount", "-t", "bpf", "bpf", root], capture_output=True, text=True)
    if rc.returncode != 0:
        os.rmdir(root)
        need(False, f"cannot mount bpffs: {rc.stderr.strip()}")
    try:
        yield root
    finally:
        subprocess.run(["umount", "-l", root], check=False)
        os.rmdir(root)


@pytest.fixture
def pin_dir(bpffs: str) -> Iterator[str]:
    """A fresh directory in the private bpffs for one test, removed afterwards."""
    path = os.path.join(bpffs, uuid.uuid4().hex[:12])
    os.mkdir(path)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module", autouse=True)
def no_leaked_fds() -> Iterator[None]:
    """Every test module must leave no more descriptors open than it found."""
    import gc

    before = open_fds()
    yield
    gc.collect()
    leaked = open_fds() - before
    if leaked:
        described = []
        for n in sorted(leaked):
            try:
                described.append(f"{n} -> {os.readlink(f'/proc/self/fd/{n}')}")
            except OSError:
                described.append(str(n))
        pytest.fail("descriptors leaked by this module: " + ", ".join(described), pytrace=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Under BPFOBJ_REQUIRE_KERNEL=1 nothing skips: a skip from anywhere (a marker, a
    plugin, pytest.skip in a helper) is reported as a failure."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if REQUIRE_KERNEL and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped under BPFOBJ_REQUIRE_KERNEL=1: {report.longrepr}"


@pytest.fixture(scope="session")
def bpftool() -> str:
    """Path of bpftool; skipped when missing (required under BPFOBJ_REQUIRE_KERNEL=1)."""
    path = shutil.which("bpftool")
    need(path is not None, "bpftool is not installed")
    assert path is not None
    return path


def run_as_nobody(action: Callable[[], object]) -> str:
    """Fork a child that drops to uid/gid 65534 (no capabilities), runs ``action``
    and reports: "no error", "denied <message>" for a BPFPermissionError, or
    "<ExceptionType> <message>" for anything else."""
    from bpfobj import BPFPermissionError

    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop privileges, try, report through the pipe
        code = 1
        try:
            os.close(r)
            os.setgroups([])
            os.setresgid(65534, 65534, 65534)
            os.setresuid(65534, 65534, 65534)
            try:
                action()
                msg = "no error"
            except BPFPermissionError as exc:
                msg = f"denied {exc}"
            except BaseException as exc:  # noqa: BLE001 - reported to the parent
                msg = f"{type(exc).__name__} {exc}"
            os.write(w, msg.encode())
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    try:
        with os.fdopen(r, "rb") as f:
            msg = f.read().decode()
    finally:
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return msg
