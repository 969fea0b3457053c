"""Test helpers: private network namespaces, veth pairs and cgroup v2 directories.

Everything here is made by the test and removed afterwards, also on failure;
nothing touches the machine's own interfaces or cgroups. Needs root and the
``ip`` command (iproute2).

- ``netns()``: a named network namespace (``ip netns add``), deleted afterwards.
  ``NetNS.run(fn, *args)`` calls ``fn`` in a helper thread that has entered the
  namespace with setns(2) (setns changes only the calling thread, so the rest
  of the process stays where it was); sockets made there belong to the
  namespace and can be used from any thread.
- ``veth_pair()``: two namespaces joined by a veth pair with addresses,
  static neighbour entries (so that no ARP is needed after a drop) and both
  ends up; ``udp_probe()`` sends one datagram across and says whether it came.
- ``cgroup_dir()``: a fresh directory under the cgroup v2 mount, removed afterwards.
"""

from __future__ import annotations

import ctypes
import json
import os
import socket
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

_T = TypeVar("_T")

NETNS_DIR = "/var/run/netns"
CLONE_NEWNET = 0x40000000


def _setns(fd: int, nstype: int) -> None:
    """setns(2) for the calling thread (os.setns only exists from Python 3.12)."""
    setns = getattr(os, "setns", None)
    if setns is not None:
        setns(fd, nstype)
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, nstype) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def _ip(*args: str) -> str:
    proc = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)
    if proc.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {proc.stderr.strip()}")
    return proc.stdout


@dataclass(frozen=True)
class NetNS:
    """A network namespace made by ``netns()``."""

    name: str

    @property
    def path(self) -> str:
        return os.path.join(NETNS_DIR, self.name)

    def ip(self, *args: str) -> str:
        """Run ``ip -n NAME ARGS...``; returns its output, raises on failure."""
        return _ip("-n", self.name, *args)

    def ifindex(self, dev: str) -> int:
        """The ifindex of ``dev`` inside this namespace."""
        return int(json.loads(self.ip("-j", "link", "show", "dev", dev))[0]["ifindex"])

    def link_json(self, dev: str) -> dict[str, Any]:
        """``ip -j -d link show dev DEV`` inside this namespace (xdp state included)."""
        return json.loads(self.ip("-j", "-d", "link", "show", "dev", dev))[0]  # type: ignore[no-any-return]

    def run(self, fn: Callable[..., _T], *args: Any) -> _T:
        """Call ``fn(*args)`` in a thread inside this namespace; return or raise its result."""
        result: list[Any] = []
        error: list[BaseException] = []

        def body() -> None:
            try:
                nsfd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
                try:
                    _setns(nsfd, CLONE_NEWNET)
                finally:
                    os.close(nsfd)
                result.append(fn(*args))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                error.append(exc)

        # The thread ends after the call, so its namespace never needs restoring.
        t = threading.Thread(target=body, name=f"netns-{self.name}")
        t.start()
        t.join()
        if error:
            raise error[0]
        return result[0]  # type: ignore[no-any-return]


@contextmanager
def netns(prefix: str = "bpfobj") -> Iterator[NetNS]:
    """A new named network namespace with ``lo`` up; deleted on exit."""
    ns = NetNS(f"{prefix}-{uuid.uuid4().hex[:8]}")
    _ip("netns", "add", ns.name)
    try:
        ns.ip("link", "set", "lo", "up")
        yield ns
    finally:
        subprocess.run(["ip", "netns", "del", ns.name], capture_output=True, timeout=10)


@dataclass(frozen=True)
class Veth:
    """A veth pair: end ``a`` in namespace ``ns_a``, end ``b`` in ``ns_b``."""

    ns_a: NetNS
    ns_b: NetNS
    dev_a: str
    dev_b: str
    ifindex_a: int
    ifindex_b: int
    addr_a: str
    addr_b: str


@contextmanager
def veth_pair() -> Iterator[Veth]:
    """Two fresh namespaces joined by a veth pair, addressed 10.199.0.1 <-> 10.199.0.2.

    Static neighbour entries make delivery independent of ARP, so traffic
    starts again at once after a program stopped dropping it. Deleting the
    namespaces removes the veth pair.
    """
    with ExitStack() as stack:
        a = stack.enter_context(netns("bpfobj-a"))
        b = stack.enter_context(netns("bpfobj-b"))
        a.ip("link", "add", "veth0", "type", "veth", "peer", "name", "veth1", "netns", b.name)
        addr_a, addr_b = "10.199.0.1", "10.199.0.2"
        a.ip("addr", "add", f"{addr_a}/24", "dev", "veth0")
        b.ip("addr", "add", f"{addr_b}/24", "dev", "veth1")
        a.ip("link", "set", "veth0", "up")
        b.ip("link", "set", "veth1", "up")
        mac_a = a.link_json("veth0")["address"]
        mac_b = b.link_json("veth1")["address"]
        a.ip("neigh", "replace", addr_b, "lladdr", mac_b, "dev", "veth0", "nud", "permanent")
        b.ip("neigh", "replace", addr_a, "lladdr", mac_a, "dev", "veth1", "nud", "permanent")
        yield Veth(a, b, "veth0", "veth1", a.ifindex("veth0"), b.ifindex("veth1"), addr_a, addr_b)


@contextmanager
def udp_path(veth: Veth) -> Iterator[Callable[[float], bool]]:
    """A UDP sender in ``ns_a`` and a receiver in ``ns_b``; yields ``probe(timeout) -> arrived``.

    Each probe sends one datagram with a fresh payload from a to b and waits
    at most ``timeout`` seconds for it; stale datagrams are discarded.
    """

    def make_rx() -> socket.socket:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((veth.addr_b, 0))
        return s

    def make_tx() -> socket.socket:
        return socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    rx = veth.ns_b.run(make_rx)
    try:
        tx = veth.ns_a.run(make_tx)
    except BaseException:
        rx.close()
        raise
    port = rx.getsockname()[1]

    def probe(timeout: float = 0.3) -> bool:
        token = uuid.uuid4().bytes
        tx.sendto(token, (veth.addr_b, port))
        rx.settimeout(timeout)
        try:
            while True:
                if rx.recv(64) == token:
                    return True
        except (TimeoutError, BlockingIOError):
            return False

    try:
        yield probe
    finally:
        tx.close()
        rx.close()


def cgroup2_mount(mounts: str = "/proc/self/mounts") -> str | None:
    """Where cgroup v2 is mounted (the first cgroup2 line of /proc/self/mounts), or None."""
    with open(mounts, "rb") as f:
        for line in f.read().decode().splitlines():
            fields = line.split()
            if len(fields) >= 3 and fields[2] == "cgroup2":
                # Mount points escape spaces as \040.
                return fields[1].replace("\\040", " ")
    return None


@contextmanager
def cgroup_dir(prefix: str = "bpfobj-test") -> Iterator[str]:
    """A fresh cgroup v2 directory; removed on exit (it holds no processes)."""
    root = cgroup2_mount()
    if root is None:
        raise RuntimeError("no cgroup2 mount in /proc/self/mounts")
    path = os.path.join(root, f"{prefix}-{uuid.uuid4().hex[:8]}")
    os.mkdir(path)
    try:
        yield path
    finally:
        try:
            os.rmdir(path)
        except FileNotFoundError:
            pass
