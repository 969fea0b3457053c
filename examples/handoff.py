"""Hand a map from a loader process to a worker over a Unix socket, then let the loader exit.

Run it as root:

    python examples/handoff.py

It starts a worker that listens on a Unix socket, then a loader that creates
and fills a map, hands it to the worker with bpfobj.fdpass and exits. The
worker waits until the loader is gone and keeps using the map: nothing pins
it, yet it lives on, because the worker holds a descriptor of it.

Each role also runs on its own, e.g. in two terminals:

    python examples/handoff.py worker /tmp/handoff.sock
    python examples/handoff.py loader /tmp/handoff.sock
"""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import tempfile
import time

from bpfobj import Map, MapSpec, MapType, fdpass

SPEC = MapSpec(MapType.HASH, key_size=4, value_size=8, max_entries=64, name="handoff")


def say(text: str) -> None:
    print(text, flush=True)


def connect(sock: socket.socket, path: str, timeout: float = 30) -> None:
    """Connect to the worker, waiting for it to listen (its socket file exists before that)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            sock.connect(path)
            return
        except (FileNotFoundError, ConnectionRefusedError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def loader(path: str) -> None:
    """Create and fill a map, send it to the worker at ``path``, exit."""
    with Map.create(SPEC) as counts:
        for port in (22, 80, 443):
            counts.update(port, 1)
        info = counts.info()
        say(f"loader: created {counts!r} (id {info.id}) with {len(list(counts.keys()))} entries")
        with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as sock:
            connect(sock, path)
            note = json.dumps({"pid": os.getpid(), "map_id": info.id}).encode()
            fdpass.send(sock, counts, note)
        say("loader: sent the map; exiting (its descriptor closes with it)")


def wait_for_exit(pid: int, timeout: float) -> None:
    """Block until process ``pid`` has exited (a pidfd polls readable then)."""
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return  # already gone
    try:
        if not select.select([pidfd], [], [], timeout)[0]:
            raise TimeoutError(f"process {pid} did not exit")
    finally:
        os.close(pidfd)


def worker(path: str) -> None:
    """Receive a map on ``path``, wait for its sender to exit, keep using the map."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as listener:
        listener.bind(path)
        listener.listen(1)
        say(f"worker: listening on {path}")
        conn, _addr = listener.accept()
    with conn:
        conn.settimeout(30)
        note, (counts,) = fdpass.recv(conn, max_objs=1)
    meta = json.loads(note)
    with counts:
        if not isinstance(counts, Map):
            raise SystemExit(f"worker: expected a map, got {counts!r}")
        wait_for_exit(meta["pid"], timeout=30)
        say(f"worker: loader (pid {meta['pid']}) has exited; map id {counts.info().id} "
            f"(sent as {meta['map_id']}) is still alive")
        for round_ in range(3):
            for key in counts.keys():
                value = int.from_bytes(counts.lookup(key), "little")  # type: ignore[arg-type]
                counts.update(key, value + 1)
            snapshot = {int.from_bytes(k, "little"): int.from_bytes(v, "little")  # type: ignore[arg-type]
                        for k, v in counts.items()}
            say(f"worker: still using {counts!r}, round {round_ + 1}: {snapshot}")
            time.sleep(0.05)
    say("worker: done; closing the last descriptor frees the map")


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[1] in ("loader", "worker"):
        (loader if argv[1] == "loader" else worker)(argv[2])
        return 0
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    # The demo: a worker, then a loader that exits while the worker goes on.
    with tempfile.TemporaryDirectory(prefix="bpfobj-handoff-") as tmp:
        path = os.path.join(tmp, "handoff.sock")
        me = os.path.abspath(__file__)
        work = subprocess.Popen([sys.executable, me, "worker", path])
        try:
            deadline = time.monotonic() + 30
            while not os.path.exists(path):
                if work.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the worker did not start")
                time.sleep(0.01)
            subprocess.run([sys.executable, me, "loader", path], check=True, timeout=30)
            return work.wait(timeout=30)
        finally:
            if work.poll() is None:
                work.kill()
                work.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
