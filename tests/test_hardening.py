"""Hardening: fork, exec, signals, descriptor exhaustion, privilege, big maps.

A library that owns kernel objects must never lose one, never hand one to a
child program by accident, and fail clearly when the process runs out of
descriptors or privilege.
"""

from __future__ import annotations

import errno
import os
import resource
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable

import pytest

from bpfobj import (
    BPFError,
    BPFPermissionError,
    Map,
    MapSpec,
    MapType,
    ProgramType,
)
from bpfobj._internal import syscall as _sys

from .conftest import open_fds

pytestmark = pytest.mark.usefixtures("kernel")

SPEC = MapSpec(MapType.HASH, 4, 8, 64, name="hard")
RET0 = bytes([0xB7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0])


def _bpf_fds_of(pid: int) -> list[str]:
    out = []
    for name in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{name}")
        except OSError:
            continue
        if target.startswith("anon_inode:") and ("bpf" in target or target == "anon_inode:btf"):
            out.append(f"{name} -> {target}")
    return out


# -- fork and exec --------------------------------------------------------------


def test_fork_child_uses_and_closes_its_copies_only() -> None:
    with Map.create(SPEC) as m:
        m.update(1, 10)
        number = m.fd
        pid = os.fork()
        if pid == 0:  # child: use, change, close, and forget a second map
            code = 1
            try:
                if int.from_bytes(m.lookup(1), "little") == 10:
                    m.update(1, 20)
                    m.close()
                    forgotten = m.clone() if not m.closed else Map.create(SPEC)
                    del forgotten  # its finalizer closes the child's copy only
                    code = 0
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        # The parent's descriptor is untouched, and the child's write is visible.
        assert m.fd == number
        assert os.readlink(f"/proc/self/fd/{number}") == "anon_inode:bpf-map"
        assert m.lookup(1) == (20).to_bytes(8, "little")


def test_exec_child_inherits_no_bpf_descriptor() -> None:
    fd, _log = _sys.prog_load(prog_type=int(ProgramType.SOCKET_FILTER), insns=RET0,
                              license="GPL")
    with Map.create(SPEC) as m, m.clone() as c, fd:
        dup = Map.new_from_fd(m.fd)
        try:
            child = subprocess.run(
                [sys.executable, "-c", textwrap.dedent("""
                    import os
                    for n in os.listdir('/proc/self/fd'):
                        try:
                            print(n, os.readlink('/proc/self/fd/' + n))
                        except OSError:
                            pass
                """)],
                close_fds=False, capture_output=True, text=True, check=True,
            )
        finally:
            dup.close()
        held = {str(x) for x in (m.fd, c.fd, fd.raw)}
        lines = child.stdout.splitlines()
        assert not [ln for ln in lines if "bpf" in ln], lines
        # Sanity: the child did see descriptors (its stdio), so the listing worked.
        assert any(ln.split()[0] in {"0", "1", "2"} for ln in lines)
        assert held  # the numbers we held are not in the child's bpf list above


# -- signals ----------------------------------------------------------------------


def test_signal_flood_during_batches_loads_and_creates() -> None:
    delivered = [0]

    def handler(signum: int, frame: object) -> None:
        delivered[0] += 1

    old = signal.signal(signal.SIGALRM, handler)
    before = open_fds()
    signal.setitimer(signal.ITIMER_REAL, 0.0002, 0.0002)
    errors: list[BaseException] = []
    try:
        big = MapSpec(MapType.HASH, 4, 8, 20000)
        for _ in range(20):
            try:
                with Map.create(big) as m:
                    keys = [i.to_bytes(4, "little") for i in range(20000)]
                    assert m.batch_update(b"".join(keys), bytes(8 * 20000)) == 20000
                    assert len(m.batch_lookup()) == 20000
                    assert m.batch_delete(b"".join(keys[:1000])) == 1000
                fd, _ = _sys.prog_load(prog_type=int(ProgramType.SOCKET_FILTER),
                                       insns=RET0 * 1 + RET0[:0], license="GPL")
                fd.close()
            except BPFError as exc:  # a clear error is acceptable, a crash is not
                errors.append(exc)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0, 0)
        signal.signal(signal.SIGALRM, old)
    print(f"signals delivered: {delivered[0]}, errors: {errors!r}")
    assert delivered[0] > 50
    assert not errors
    assert open_fds() == before


# -- exhaustion ---------------------------------------------------------------------


def test_emfile_is_a_clear_error_and_nothing_is_half_made(pin_dir: str) -> None:
    keep = Map.create(SPEC)
    keep.pin(os.path.join(pin_dir, "m"))
    keep_id = keep.info().id
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    before = open_fds()
    limit = max(before) + 1  # no descriptor number is free under the limit
    filler: list[int] = []
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))
        # Use up every free number below the limit.
        while True:
            try:
                filler.append(os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC))
            except OSError as exc:
                assert exc.errno == errno.EMFILE
                break
        attempts: dict[str, Callable[[], object]] = {
            "create": lambda: Map.create(SPEC),
            "new_from_fd": lambda: Map.new_from_fd(keep.fd),
            "clone": keep.clone,
            "load_pinned": lambda: Map.load_pinned(os.path.join(pin_dir, "m")),
            "new_from_id": lambda: Map.new_from_id(keep_id),
        }
        for what, attempt in attempts.items():
            with pytest.raises(BPFError) as info:
                attempt()
            assert info.value.errno == errno.EMFILE, what
            assert "RLIMIT_NOFILE" in str(info.value), str(info.value)
    finally:
        for raw in filler:
            os.close(raw)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert open_fds() == before
    keep.unpin()
    keep.close()


def test_map_too_large_is_a_clear_error() -> None:
    with pytest.raises(BPFError) as info:
        Map.create(MapSpec(MapType.ARRAY, 4, 1 << 20, (1 << 31) - 1, name="huge"))
    assert info.value.errno in (errno.E2BIG, errno.ENOMEM, errno.EINVAL)
    assert "map create" in str(info.value)


# -- privilege -----------------------------------------------------------------------


DROP = """
import os, sys, json
# Import first: the interpreter's files may not be readable by "nobody".
from bpfobj import Map, MapSpec, MapType, BPFPermissionError, BPFError
os.setgroups([])
os.setgid(65534)
os.setuid(65534)
out = {}
try:
    Map.create(MapSpec(MapType.HASH, 4, 4, 4))
    out["create"] = "ok"
except BPFPermissionError as e:
    out["create"] = ["perm", str(e)]
except BPFError as e:
    out["create"] = ["other", str(e)]
try:
    with Map.load_pinned(sys.argv[1], read_only=True) as m:
        out["load_ro"] = ["ok", m.lookup(1).hex()]
except BPFError as e:
    out["load_ro"] = [type(e).__name__, str(e)]
try:
    Map.new_from_id(int(sys.argv[2]))
    out["by_id"] = "ok"
except BPFPermissionError as e:
    out["by_id"] = ["perm", str(e)]
except BPFError as e:
    out["by_id"] = [type(e).__name__, str(e)]
print(json.dumps(out))
"""


def test_unprivileged_process_gets_clear_permission_errors(pin_dir: str) -> None:
    import json

    path = os.path.join(pin_dir, "shared")
    with Map.create(SPEC) as m:
        m.update(1, 5)
        m.pin(path)
        # Let "nobody" reach and read the pin: the directories and the pin itself.
        for d in (os.path.dirname(pin_dir), pin_dir):
            os.chmod(d, 0o755)
        os.chmod(path, 0o644)
        proc = subprocess.run([sys.executable, "-c", DROP, path, str(m.info().id)],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        out = json.loads(proc.stdout)
        m.unpin()
    assert out["create"][0] == "perm", out
    assert "CAP_BPF" in out["create"][1]
    assert out["load_ro"] == ["ok", (5).to_bytes(8, "little").hex()], out
    assert out["by_id"][0] == "perm", out
    assert "CAP_SYS_ADMIN" in out["by_id"][1]


def test_permission_error_is_also_permissionerror() -> None:
    assert issubclass(BPFPermissionError, PermissionError)
