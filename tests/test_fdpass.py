"""bpfobj.fdpass: bpf objects handed between processes over Unix sockets.

Most tests cross a real fork/exec boundary: a small Python script runs in a
child with one end of a socketpair (pass_fds), the test keeps the other.
Every error path is checked for descriptors left open, in both processes.
"""

from __future__ import annotations

import ast
import errno
import fcntl
import json
import os
import re
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import bpfobj
from bpfobj import (
    BPFError,
    ClosedError,
    Map,
    MapSpec,
    MapType,
    ObjectTypeError,
    ObjType,
    fdpass,
)

from .conftest import open_fds

pytestmark = pytest.mark.usefixtures("kernel")

ROOT = Path(__file__).resolve().parent.parent
SPEC = MapSpec(MapType.HASH, 4, 8, 16, name="fdpass")
SOCK_TYPES = {
    "stream": socket.SOCK_STREAM,
    "seqpacket": socket.SOCK_SEQPACKET,
    "dgram": socket.SOCK_DGRAM,
}
TIMEOUT = 20

# Runs first in every child: its end of the socketpair is argv[1]; it talks
# back with one JSON line on stdout. make_all() builds one object of each kind.
PRELUDE = textwrap.dedent("""
    import ctypes, errno, fcntl, json, os, socket, sys
    import bpfobj
    from bpfobj import fdpass, Map, MapSpec, MapType
    from bpfobj._internal import syscall as _sys
    sock = socket.socket(fileno=int(sys.argv[1]))
    sock.settimeout(20)
    SPEC = MapSpec(MapType.HASH, 4, 8, 16, name="fdpass")

    def nfds():
        return len(os.listdir("/proc/self/fd")) - 1  # minus the listing's own

    def reply(**kw):
        print(json.dumps(kw), flush=True)

    def make_all():
        # A map, a socket filter program, BTF with one int, and an sk_lookup
        # link in a network namespace of this child's own.
        from bpfobj import BTF, Link, AttachType, Program, ProgramSpec, ProgramType
        m = Map.create(SPEC)
        m.update(1, 11)
        ret1 = bytes([0xb7, 0, 0, 0, 1, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0])
        p = Program.load(ProgramSpec(type=ProgramType.SOCKET_FILTER, instructions=ret1,
                                     license="GPL", name="fdpass_prog"))
        lk_prog = Program.load(ProgramSpec(type=ProgramType.SK_LOOKUP, instructions=ret1,
                                           license="GPL", name="fdpass_lookup",
                                           expected_attach_type=AttachType.SK_LOOKUP))
        if ctypes.CDLL(None, use_errno=True).unshare(0x40000000) != 0:  # CLONE_NEWNET
            raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNET)")
        lk = Link.attach_netns(lk_prog, "/proc/self/ns/net", AttachType.SK_LOOKUP)
        lk_prog.close()  # the link holds the program
        int_btf = (bytes.fromhex("9feb0100") + (24).to_bytes(4, "little") + bytes(4)
                   + (16).to_bytes(4, "little") + (16).to_bytes(4, "little")
                   + (5).to_bytes(4, "little")
                   + (1).to_bytes(4, "little") + (1 << 24).to_bytes(4, "little")
                   + (4).to_bytes(4, "little") + (32).to_bytes(4, "little") + b"\\0int\\0")
        b = BTF.load(int_btf)
        return [m, p, lk, b]
""")


class Child:
    """A Python child process holding one end of a socketpair."""

    def __init__(self, script: str, sock_type: int = socket.SOCK_SEQPACKET,
                 close_stdin: bool = False) -> None:
        self.sock, theirs = socket.socketpair(socket.AF_UNIX, sock_type)
        self.sock.settimeout(TIMEOUT)
        code = PRELUDE + textwrap.dedent(script)
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", code, str(theirs.fileno())], pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL if not close_stdin else None,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                preexec_fn=(lambda: os.close(0)) if close_stdin else None,
            )
        except BaseException:
            self.sock.close()
            raise
        finally:
            theirs.close()

    def finish(self) -> dict[str, Any]:
        """Wait for the child; its JSON reply (the last stdout line)."""
        try:
            out, err = self.proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError("child timed out") from None
        assert self.proc.returncode == 0, f"child failed ({self.proc.returncode}):\n{err}"
        lines = out.strip().splitlines()
        assert lines, f"child printed nothing:\n{err}"
        return json.loads(lines[-1])  # type: ignore[no-any-return]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()
        self.sock.close()


Spawn = Callable[..., Child]


@pytest.fixture
def spawn() -> Iterator[Spawn]:
    children: list[Child] = []

    def start(script: str, sock_type: int = socket.SOCK_SEQPACKET, **kw: bool) -> Child:
        child = Child(script, sock_type, **kw)
        children.append(child)
        return child

    try:
        yield start
    finally:
        for child in children:
            child.close()


def _u64(value: bytes | list[bytes]) -> int:
    assert isinstance(value, bytes)
    return int.from_bytes(value, "little")


def _cloexec(raw: int) -> bool:
    return bool(fcntl.fcntl(raw, fcntl.F_GETFD) & fcntl.FD_CLOEXEC)


# -- round trips across exec ------------------------------------------------------------


@pytest.mark.parametrize("kind", SOCK_TYPES)
def test_round_trip_both_ways(spawn: Spawn, kind: str) -> None:
    """Each side reads what the other wrote; each side's object outlives the other's."""
    child = spawn("""
        data, objs = fdpass.recv(sock, max_objs=1)
        (m,) = objs
        seen = int.from_bytes(m.lookup(1), "little")
        m.update(2, 200)                       # the parent must see this
        mine = Map.create(SPEC)
        mine.update(7, 77)
        fdpass.send(sock, [mine])              # empty data
        flags = fcntl.fcntl(m.fd, fcntl.F_GETFD)
        reply(data=data.hex(), seen=seen, kind=type(m).__name__, fd=m.fd,
              cloexec=bool(flags & fcntl.FD_CLOEXEC), id=m.info().id, mine=mine.info().id)
        m.close(); mine.close()
    """, SOCK_TYPES[kind])
    with Map.create(SPEC) as m:
        m.update(1, 100)
        fdpass.send(child.sock, m, b"from parent \x00\xff")
        res = child.finish()  # the child has exited: its map must live on here
        data, objs = fdpass.recv(child.sock)
        (theirs,) = objs
        with theirs:
            assert data == b""
            assert isinstance(theirs, Map)
            assert theirs.info().id == res["mine"]
            assert _u64(theirs.lookup(7)) == 77
            assert _cloexec(theirs.fd)
        assert bytes.fromhex(res["data"]) == b"from parent \x00\xff"
        assert res["seen"] == 100 and res["kind"] == "Map" and res["cloexec"] is True
        assert res["id"] == m.info().id
        assert _u64(m.lookup(2)) == 200


@pytest.mark.parametrize("kind", SOCK_TYPES)
def test_many_messages_keep_their_boundaries(spawn: Spawn, kind: str) -> None:
    child = spawn("""
        out = []
        for i in range(5):
            data, objs = fdpass.recv(sock, max_objs=3)
            out.append([data.hex(), len(objs)])
            for o in objs:
                o.close()
        reply(out=out, fds=nfds())
    """, SOCK_TYPES[kind])
    with Map.create(SPEC) as m:
        sent = [(b"", 1), (b"a", 2), (b"x" * 5000, 3), (b"", 3), (bytes(range(256)), 1)]
        for data, n in sent:
            fdpass.send(child.sock, [m] * n, data)
        res = child.finish()
    assert res["out"] == [[d.hex(), n] for d, n in sent]


def test_object_survives_sender_exit(spawn: Spawn) -> None:
    child = spawn("""
        m = Map.create(SPEC)
        for k in range(10):
            m.update(k, k * k)
        fdpass.send(sock, m, str(m.info().id).encode())
        reply(pid=os.getpid())
        # exits without closing: the process's exit closes its descriptor
    """)
    res = child.finish()
    assert child.proc.returncode == 0
    assert not os.path.exists(f"/proc/{res['pid']}")  # the sender is gone and reaped
    data, (m,) = fdpass.recv(child.sock)
    with m:
        assert isinstance(m, Map)
        assert m.info().id == int(data)
        assert {int.from_bytes(k, "little"): _u64(v) for k, v in m.items()} == {
            k: k * k for k in range(10)}


def test_mixed_types_in_one_message(spawn: Spawn) -> None:
    from bpfobj import BTF, Link, Program  # noqa: F401 - the wrappers must exist

    child = spawn("""
        objs = make_all()
        ids = [o.info().id for o in objs]
        fdpass.send(sock, objs + [objs[0]], json.dumps(ids).encode())
        for o in objs:
            o.close()
        reply(ids=ids, fds_after=nfds())
    """)
    res = child.finish()
    data, objs = fdpass.recv(child.sock, max_objs=5)
    try:
        assert [type(o).__name__ for o in objs] == ["Map", "Program", "Link", "BTF", "Map"]
        assert [bpfobj.fd_type(o) for o in objs] == [
            ObjType.MAP, ObjType.PROG, ObjType.LINK, ObjType.BTF, ObjType.MAP]
        ids = [o.info().id for o in objs]
        assert ids[:4] == res["ids"] == json.loads(data)
        assert ids[4] == ids[0]
        assert objs[0].fd != objs[4].fd  # two descriptors of one map
        assert isinstance(objs[0], Map) and _u64(objs[0].lookup(1)) == 11
        assert all(_cloexec(o.fd) for o in objs)
    finally:
        for o in objs:
            o.close()


# -- errors leave nothing open, on either side -----------------------------------------


@pytest.mark.parametrize("kind", SOCK_TYPES)
def test_truncated_message_closes_all_and_stream_stays_in_step(spawn: Spawn, kind: str) -> None:
    child = spawn("""
        before = nfds()
        try:
            fdpass.recv(sock, max_objs=2)
        except bpfobj.BPFError as exc:
            err = [type(exc).__name__, exc.errno, str(exc)]
        else:
            err = None
        after_error = nfds()
        data, objs = fdpass.recv(sock, max_objs=2)   # the next message arrives intact
        ok = [data.decode(), len(objs)]
        for o in objs:
            o.close()
        reply(err=err, before=before, after_error=after_error, after=nfds(), ok=ok)
    """, SOCK_TYPES[kind])
    before = open_fds()
    with Map.create(SPEC) as m:
        fdpass.send(child.sock, [m, m, m, m], b"four")
        fdpass.send(child.sock, [m, m], b"two")
    assert open_fds() == before
    res = child.finish()
    name, err, message = res["err"]
    assert name == "BPFError" and err == errno.EMSGSIZE
    assert "more than max_objs=2 descriptors" in message
    assert res["before"] == res["after_error"] == res["after"]
    assert res["ok"] == ["two", 2]


@pytest.mark.parametrize("kind", SOCK_TYPES)
def test_truncation_on_the_receiving_parent(spawn: Spawn, kind: str) -> None:
    child = spawn("""
        before = nfds()
        m = Map.create(SPEC)
        fdpass.send(sock, [m] * 3, b"x")
        m.close()
        reply(before=before, after=nfds())
    """, SOCK_TYPES[kind])
    res = child.finish()
    assert res["before"] == res["after"]
    before = open_fds()
    with pytest.raises(BPFError, match=r"more than max_objs=1 descriptors") as info:
        fdpass.recv(child.sock, max_objs=1)
    assert info.value.errno == errno.EMSGSIZE
    assert open_fds() == before


@pytest.mark.parametrize("kind", SOCK_TYPES)
def test_non_bpf_descriptor_closes_every_descriptor(spawn: Spawn, kind: str) -> None:
    """A raw send_fds of a map and a pipe: ObjectTypeError, and both copies closed."""
    child = spawn("""
        before = nfds()
        m = Map.create(SPEC)
        r, w = os.pipe()
        frame = b"\\xbf\\0\\0\\0\\0" if sock.type == socket.SOCK_STREAM else b"raw"
        socket.send_fds(sock, [frame], [m.fd, r])
        os.close(r)
        m.close()
        sock.recv(1)           # the parent has run recv
        try:
            os.write(w, b"x")  # only the parent's copy of r was left
            broken = False
        except BrokenPipeError:
            broken = True
        os.close(w)
        reply(broken=broken, before=before, after=nfds())
    """, SOCK_TYPES[kind])
    before = open_fds()
    with pytest.raises(ObjectTypeError, match=r"received descriptor 2 of 2 is a pipe, not a bpf"):
        fdpass.recv(child.sock)
    assert open_fds() == before
    child.sock.send(b"k")
    res = child.finish()
    assert res["broken"] is True  # the pipe's read end died with our copy
    assert res["before"] == res["after"]


def test_non_bpf_descriptor_before_bad_framing_on_stream(spawn: Spawn) -> None:
    child = spawn("""
        r, w = os.pipe()
        socket.send_fds(sock, [b"not a frame"], [r])
        reply()
    """, socket.SOCK_STREAM)
    before = open_fds()
    with pytest.raises(ObjectTypeError, match=r"is a pipe, not a bpf object"):
        fdpass.recv(child.sock)
    assert open_fds() == before
    child.finish()


def test_received_descriptors_are_cloexec_and_never_fd0(spawn: Spawn) -> None:
    child = spawn("""
        try:
            os.fstat(0)
            stdin_open = True
        except OSError:
            stdin_open = False
        data, objs = fdpass.recv(sock, max_objs=4)
        fds = [o.fd for o in objs]
        cloexec = [bool(fcntl.fcntl(n, fcntl.F_GETFD) & fcntl.FD_CLOEXEC) for n in fds]
        try:
            os.fstat(0)
            fd0 = True
        except OSError:
            fd0 = False
        reply(stdin_open=stdin_open, fds=fds, cloexec=cloexec, fd0=fd0)
        for o in objs:
            o.close()
    """, close_stdin=True)
    with Map.create(SPEC) as m:
        fdpass.send(child.sock, [m, m, m])
        res = child.finish()
    assert res["stdin_open"] is False  # the kernel's lowest free number was 0
    assert 0 not in res["fds"]
    assert res["cloexec"] == [True, True, True]
    assert res["fd0"] is False  # and 0 was not left open either


# -- errors without a child --------------------------------------------------------------


Pair = tuple[socket.socket, socket.socket]


@pytest.fixture
def pair() -> Iterator[Pair]:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    a.settimeout(TIMEOUT)
    b.settimeout(TIMEOUT)
    with a, b:
        yield a, b


def test_sending_a_closed_object_fails_before_the_syscall(pair: Pair) -> None:
    a, b = pair
    with Map.create(SPEC) as m:
        gone = m.clone()
        gone.close()
        with pytest.raises(ClosedError, match=r"fd pass seqpacket socket fd \d+: item 2 of 2 "
                                              r"\(Hash\(fdpass\)#closed\) is closed"):
            fdpass.send(a, [m, gone], b"data")
    b.setblocking(False)
    with pytest.raises(BlockingIOError):
        b.recv(100)  # nothing was sent


def test_send_checks_its_arguments(pair: Pair) -> None:
    a, _b = pair
    with Map.create(SPEC) as m:
        with pytest.raises(ValueError, match="nothing to send"):
            fdpass.send(a, [])
        with pytest.raises(TypeError, match=r"item 2 is a int, not a Map, Program, Link or BTF"):
            fdpass.send(a, [m, m.fd])  # type: ignore[list-item]
        with pytest.raises(ValueError, match="more than the kernel's 253"):
            fdpass.send(a, [m] * 254)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as inet:
            with pytest.raises(ValueError, match="needs a Unix socket"):
                fdpass.send(inet, m)
        with pytest.raises(TypeError, match="needs a socket.socket"):
            fdpass.send(a.fileno(), m)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="max_objs"):
            fdpass.recv(a, max_objs=0)
        with pytest.raises(ValueError, match="max_objs"):
            fdpass.recv(a, max_objs=254)


def test_send_to_a_closed_peer_is_a_bpf_error(pair: Pair) -> None:
    a, b = pair
    b.close()
    with Map.create(SPEC) as m, pytest.raises(BPFError, match="the peer closed its end") as info:
        fdpass.send(a, m)
    assert info.value.errno == errno.EPIPE


@pytest.mark.parametrize("kind", SOCK_TYPES)
def test_message_without_descriptors(kind: str) -> None:
    a, b = socket.socketpair(socket.AF_UNIX, SOCK_TYPES[kind])
    with a, b:
        b.settimeout(TIMEOUT)
        a.send(b"\xbf\0\0\0\x02hi" if kind == "stream" else b"hi")
        with pytest.raises(BPFError, match=r"carried no descriptors \(2 bytes of data\)") as info:
            fdpass.recv(b)
        assert info.value.errno == errno.ENOMSG


@pytest.mark.parametrize("kind", ["stream", "seqpacket"])
def test_peer_closed(kind: str) -> None:
    a, b = socket.socketpair(socket.AF_UNIX, SOCK_TYPES[kind])
    with b:
        a.close()
        with pytest.raises(BPFError, match="the peer closed the connection") as info:
            fdpass.recv(b)
        assert info.value.errno == errno.ECONNRESET


def test_stream_framing_errors_close_what_arrived() -> None:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with a, b, Map.create(SPEC) as m:
        b.settimeout(TIMEOUT)
        before = open_fds()
        socket.send_fds(a, [b"GET / HTTP/1.0"], [m.fd])
        with pytest.raises(BPFError, match=r"not a bpfobj.fdpass frame \(first byte 0x47") as e:
            fdpass.recv(b)
        assert e.value.errno == errno.EPROTO
        assert open_fds() == before
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with a, b, Map.create(SPEC) as m:
        b.settimeout(TIMEOUT)
        fdpass.send(a, m, b"y" * 100)
        with pytest.raises(BPFError, match=r"100 bytes of data, more than max_size=10"):
            fdpass.recv(b, max_size=10)
        assert open_fds() == before
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with b, Map.create(SPEC) as m:
        b.settimeout(TIMEOUT)
        before = open_fds() - {a.fileno()}
        socket.send_fds(a, [b"\xbf\0\0\0\x09abc"], [m.fd])
        a.close()
        with pytest.raises(BPFError, match="closed in the middle of a message"):
            fdpass.recv(b)
        assert open_fds() == before


@pytest.mark.parametrize("kind", ["seqpacket", "dgram"])
def test_packet_longer_than_max_size(kind: str) -> None:
    a, b = socket.socketpair(socket.AF_UNIX, SOCK_TYPES[kind])
    with a, b, Map.create(SPEC) as m:
        b.settimeout(TIMEOUT)
        before = open_fds()
        fdpass.send(a, [m, m], b"z" * 64)
        with pytest.raises(BPFError, match=r"more than max_size=16 bytes") as info:
            fdpass.recv(b, max_size=16)
        assert info.value.errno == errno.EMSGSIZE
        assert open_fds() == before


SO_PASSPIDFD = getattr(socket, "SO_PASSPIDFD", 76)  # Linux 6.5


@pytest.mark.parametrize("option", ["SO_PASSCRED", "SO_PASSPIDFD"])
def test_receiver_with_credentials_option(option: str) -> None:
    """Credentials (and a pidfd of the sender) arriving beside the descriptors are no trouble."""
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    with a, b, Map.create(SPEC) as m:
        b.settimeout(TIMEOUT)
        value = socket.SO_PASSCRED if option == "SO_PASSCRED" else SO_PASSPIDFD
        b.setsockopt(socket.SOL_SOCKET, value, 1)
        before = open_fds()
        fdpass.send(a, [m, m], b"creds")
        data, objs = fdpass.recv(b, max_objs=2)
        assert data == b"creds" and [o.info().id for o in objs] == [m.info().id] * 2
        for o in objs:
            o.close()
        assert open_fds() == before  # an SCM_PIDFD descriptor was closed too
        fdpass.send(a, [m, m, m])
        with pytest.raises(BPFError, match="more than max_objs=2"):
            fdpass.recv(b, max_objs=2)
        assert open_fds() == before


def test_stream_message_larger_than_the_socket_buffer() -> None:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with a, b, Map.create(SPEC) as m:
        a.settimeout(TIMEOUT)
        b.settimeout(TIMEOUT)
        big = os.urandom(3 << 20)
        got: list[tuple[bytes, list[Any]]] = []
        t = threading.Thread(target=lambda: got.append(fdpass.recv(b, max_size=len(big))),
                             daemon=True)
        t.start()
        fdpass.send(a, m, big)  # partly sent, the rest follows the descriptors
        fdpass.send(a, m, b"next")
        t.join(TIMEOUT)
        data, objs = got[0]
        assert data == big and len(objs) == 1
        objs[0].close()
        data, (o,) = fdpass.recv(b)
        o.close()
        assert data == b"next"


def test_close_racing_send_never_sends_a_recycled_number(pair: Pair) -> None:
    """Threads close maps while another sends them: each send sends the map or raises."""
    a, b = pair
    stop = threading.Event()
    failures: list[BaseException] = []

    def drain() -> None:
        while not stop.is_set():
            try:
                _data, objs = fdpass.recv(b)
            except TimeoutError:
                continue
            except BPFError as exc:
                if exc.errno == errno.ECONNRESET:
                    return
                failures.append(exc)
                return
            for o in objs:
                if not isinstance(o, Map) or o.info().name != "fdpass":
                    failures.append(AssertionError(f"got {o!r}"))
                o.close()

    b.settimeout(0.2)
    t = threading.Thread(target=drain)
    t.start()
    sent = refused = 0
    try:
        with Map.create(SPEC) as template:
            for _ in range(300):
                m = template.clone()

                def close_and_reuse(m: Map = m) -> None:
                    m.close()
                    # The freed number goes to the next open: a send that read the
                    # number before the close and used it after would pass /dev/null.
                    decoy = os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC)
                    os.close(decoy)

                closer = threading.Thread(target=close_and_reuse)
                closer.start()
                try:
                    fdpass.send(a, m)
                    sent += 1
                except ClosedError:
                    refused += 1
                closer.join()
    finally:
        stop.set()
        t.join()
    assert not failures, failures
    assert sent + refused == 300


# -- the example ----------------------------------------------------------------------------


def test_handoff_example_runs() -> None:
    before = open_fds()
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "handoff.py")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert re.search(r"loader: created Hash\(handoff\)#\d+ \(id (\d+)\) with 3 entries", out)
    sent_id = re.search(r"\(id (\d+)\)", out).group(1)  # type: ignore[union-attr]
    assert re.search(rf"worker: loader \(pid \d+\) has exited; map id {sent_id} ", out)
    last = re.search(r"round 3: (\{.*\})", out)
    assert last and ast.literal_eval(last.group(1)) == {22: 4, 80: 4, 443: 4}
    assert out.index("loader: sent the map; exiting") < out.index("worker: loader (pid")
    assert open_fds() == before


def test_fdpass_is_reachable_as_an_attribute_after_import_bpfobj() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", "import bpfobj; print(bpfobj.fdpass.send.__module__, "
                               "hasattr(bpfobj, 'no_such_module'))"],
        capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["bpfobj.fdpass", "False"]
