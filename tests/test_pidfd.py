"""new_from_pidfd: copying a bpf descriptor out of another process (pidfd_getfd).

A child process holds a map, a program, a link and BTF and waits; the test
copies each descriptor out of it by number, and checks the errors for a
descriptor of the wrong kind, a missing one, a vanished process and a caller
without ptrace access.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from typing import Any

import pytest

from bpfobj import (
    BTF,
    BPFError,
    BPFPermissionError,
    Link,
    Map,
    ObjectTypeError,
    ProcessGoneError,
    Program,
)

from .conftest import open_fds
from .test_fdpass import Child

pytestmark = pytest.mark.usefixtures("kernel")

CLASSES = {"map": Map, "prog": Program, "link": Link, "btf": BTF}
KIND_NAMES = {"map": "bpf-map", "prog": "bpf-prog", "link": "bpf-link", "btf": "btf"}

HOLDER = """
    objs = make_all()
    names = ["map", "prog", "link", "btf"]
    info = {n: {"fd": o.fd, "id": o.info().id} for n, o in zip(names, objs)}
    info["link"]["prog_id"] = objs[2].info().prog_id
    info["pid"] = os.getpid()
    sock.send(json.dumps(info).encode())
    sock.recv(1)                               # until the test is done
    still = {n: os.path.exists("/proc/self/fd/%d" % o.fd) for n, o in zip(names, objs)}
    for o in objs:
        o.close()
    reply(still=still)
"""


@pytest.fixture
def holder() -> Iterator[tuple[Child, dict[str, Any]]]:
    child = Child(HOLDER)
    try:
        info = json.loads(child.sock.recv(4096))
        yield child, info
    finally:
        child.close()


def _cloexec(raw: int) -> bool:
    return bool(fcntl.fcntl(raw, fcntl.F_GETFD) & fcntl.FD_CLOEXEC)


def test_copies_a_map_a_program_a_link_and_btf(holder: tuple[Child, dict[str, Any]]) -> None:
    child, info = holder
    pid = info["pid"]
    m = Map.new_from_pidfd(pid, info["map"]["fd"])
    p = Program.new_from_pidfd(pid, info["prog"]["fd"])
    lk = Link.new_from_pidfd(pid, info["link"]["fd"])
    b = BTF.new_from_pidfd(pid, info["btf"]["fd"])
    with m, p, lk, b:
        for name, obj in (("map", m), ("prog", p), ("link", lk), ("btf", b)):
            assert obj.info().id == info[name]["id"], name
            assert obj.fd != 0 and _cloexec(obj.fd), name
        assert _u64(m.lookup(1)) == 11  # the child wrote it
        m.update(2, 22)
        assert p.test_run(b"\0" * 14).retval == 1
        assert lk.info().prog_id == info["link"]["prog_id"]
        child.sock.send(b"k")
        res = child.finish()
        # The child kept its own descriptors, and has exited: ours live on.
        assert res["still"] == {"map": True, "prog": True, "link": True, "btf": True}
        assert _u64(m.lookup(2)) == 22
        assert p.test_run(b"\0" * 14).retval == 1
        assert lk.info().id == info["link"]["id"]
        assert b.info().id == info["btf"]["id"]


def _u64(value: object) -> int:
    assert isinstance(value, bytes)
    return int.from_bytes(value, "little")


@pytest.mark.parametrize("want", CLASSES)
def test_descriptor_of_another_kind(holder: tuple[Child, dict[str, Any]], want: str) -> None:
    _child, info = holder
    pid = info["pid"]
    before = open_fds()
    for got in CLASSES:
        if got == want:
            continue
        raw = info[got]["fd"]
        with pytest.raises(ObjectTypeError) as exc:
            CLASSES[want].new_from_pidfd(pid, raw)
        message = str(exc.value)
        assert f"pid {pid} fd {raw}: is a " in message, message
        assert message.endswith(f"not a {KIND_NAMES[want]}"), message
        assert KIND_NAMES[got].replace("-", "") in message.replace("_", "").replace("-", "")
    # fd 0 of the child is /dev/null: not a bpf object at all
    with pytest.raises(ObjectTypeError, match=rf"pid {pid} fd 0: is a non-bpf file"):
        CLASSES[want].new_from_pidfd(pid, 0)
    assert open_fds() == before


@pytest.mark.parametrize("want", CLASSES)
def test_missing_descriptor(holder: tuple[Child, dict[str, Any]], want: str) -> None:
    _child, info = holder
    pid = info["pid"]
    before = open_fds()
    with pytest.raises(BPFError, match=rf"process {pid} has no descriptor 987$") as exc:
        CLASSES[want].new_from_pidfd(pid, 987)
    assert exc.value.errno == errno.EBADF
    assert open_fds() == before


@pytest.mark.parametrize("want", CLASSES)
def test_vanished_process(want: str) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    before = open_fds()
    with pytest.raises(ProcessGoneError, match=rf"pid {proc.pid}: no such process"):
        CLASSES[want].new_from_pidfd(proc.pid, 1)
    assert open_fds() == before


def test_exited_but_not_reaped_process() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        deadline = time.monotonic() + 20
        while True:  # wait for the zombie without reaping it
            with open(f"/proc/{proc.pid}/stat", "rb") as f:
                if f.read().rsplit(b")", 1)[1].split()[0] == b"Z":
                    break
            assert time.monotonic() < deadline
            time.sleep(0.01)
        with pytest.raises(ProcessGoneError, match="no such process"):
            Map.new_from_pidfd(proc.pid, 1)
    finally:
        proc.wait()


def test_without_ptrace_access() -> None:
    """A process that dropped to "nobody" may not copy descriptors out of root's."""
    with _a_map() as m:
        raw = m.fd
        script = textwrap.dedent(f"""
            import json, os
            import bpfobj
            from bpfobj import Map, Program
            # Import first: the interpreter's files may not be readable by "nobody".
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            before = len(os.listdir("/proc/self/fd"))
            out = {{}}
            for cls in (Map, Program):
                try:
                    cls.new_from_pidfd({os.getpid()}, {raw})
                    out[cls.__name__] = None
                except bpfobj.BPFError as exc:
                    out[cls.__name__] = [type(exc).__name__, exc.errno, str(exc)]
            out["leaked"] = len(os.listdir("/proc/self/fd")) - before
            print(json.dumps(out))
        """)
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              timeout=30)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    for name in ("Map", "Program"):
        kind, err, message = out[name]
        assert kind == "BPFPermissionError" and err == errno.EPERM, out
        assert message == (f"pidfd_getfd pid {os.getpid()} fd {raw}: not permitted "
                           "(needs ptrace access to the process (root))"), message
    assert out["leaked"] == 0
    assert issubclass(BPFPermissionError, PermissionError)


def _a_map() -> Map:
    from bpfobj import MapSpec, MapType

    return Map.create(MapSpec(MapType.ARRAY, 4, 4, 1, name="pidfd"))
