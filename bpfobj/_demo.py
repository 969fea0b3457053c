"""``bpfobj demo``: a real process with real leaks, analysed from outside.

Owns the demo scenario. The parent mounts a private bpffs in a temporary
directory, starts a child process (``python -m bpfobj._demo child DIR``) that
creates maps, a program that uses a map and an XDP link (on the loopback of
a network namespace of its own, so the host is not touched), pins some of
them and leaks others (forgotten dups, objects never pinned); then it runs
``leak.analyze`` on the child's PID, prints the report, and cleans
everything up: the child is stopped, the bpffs unmounted and the directory
removed, also on error, Ctrl-C or SIGTERM (``BPFOBJ_DEMO_HOLD=SECONDS`` pauses
before the analysis, so tests can interrupt it there). Imports ``leak``, ``map`` and
``_sys`` (the child loads its program with the raw layer, so the demo needs
nothing but the kernel).
"""

from __future__ import annotations

import ctypes
import errno
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from types import FrameType
from typing import Any, Optional, TextIO

from ._internal import syscall as _sys
from ._types import MapType
from .errors import Op, from_errno
from .leak import analyze
from .map import Map, MapSpec

__all__ = ["run"]

_READY_TIMEOUT = 20.0
_CLONE_NEWNET = 0x40000000


# -- the child: a program with leaks --------------------------------------------------------


def _xdp_counter(map_raw: int) -> bytes:
    """XDP program: count packets in the 8-byte value at key 0 of a map, return XDP_PASS.

    The map's keys must be at most 8 bytes and its values at least 8.

    Encoded by hand (8-byte instructions, little-endian fields) so that the
    demo depends on nothing but the kernel.
    """

    def insn(op: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
        return (bytes([op, (src << 4) | dst]) + off.to_bytes(2, "little", signed=True)
                + imm.to_bytes(4, "little", signed=True))

    return b"".join([
        insn(0x7A, dst=10, off=-8, imm=0),   # *(u64 *)(r10 - 8) = 0: key 0 (up to 8 bytes)
        insn(0x18, dst=1, src=1, imm=map_raw),  # r1 = map (BPF_PSEUDO_MAP_FD)
        insn(0x00),
        insn(0xBF, dst=2, src=10),           # r2 = r10
        insn(0x07, dst=2, imm=-8),           # r2 += -8
        insn(0x85, imm=1),                   # call bpf_map_lookup_elem
        insn(0x15, dst=0, off=2, imm=0),     # if r0 == 0 goto +2
        insn(0xB7, dst=1, imm=1),            # r1 = 1
        insn(0xDB, dst=0, src=1, off=0, imm=0),  # lock *(u64 *)(r0 + 0) += r1
        insn(0xB7, dst=0, imm=2),            # r0 = XDP_PASS
        insn(0x95),                          # exit
    ])


def child(pin_root: str) -> int:
    """Create objects, pin some, leak others; say "ready"; wait for stdin to close."""
    # Ctrl-C in a terminal reaches the whole process group: the parent cleans up, not us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    keep: list[Any] = []
    notes: list[str] = []
    # Pinned and held once: the normal case, not reported.
    config = Map.create(MapSpec(MapType.ARRAY, 4, 4, 16, name="config"))
    config.pin(os.path.join(pin_root, "config"))
    keep.append(config)
    # Pinned, but held through two descriptors: a forgotten dup (possible leak).
    global_ep = Map.create(MapSpec(MapType.HASH, 8, 12, 1_000_000, name="global_ep", flags=5))
    global_ep.pin(os.path.join(pin_root, "global_ep"))
    keep += [global_ep, Map.new_from_fd(global_ep.fd)]
    # Never pinned, used by nothing: an orphan (sure leak).
    keep.append(Map.create(MapSpec(MapType.HASH, 4, 8, 64, name="tmp_scratch")))
    # Never pinned, but used by a program: a sure leak that is still in use.
    stats = Map.create(MapSpec(MapType.ARRAY, 4, 8, 1, name="xdp_stats"))
    keep.append(stats)
    prog: Any = None
    try:
        prog, _log = _sys.prog_load(
            prog_type=_sys.const("BPF_PROG_TYPE_XDP"), insns=_xdp_counter(stats.fd),
            license="GPL", name="xdp_count")
        keep.append(prog)
        notes.append("prog")
    except Exception as exc:  # noqa: BLE001 - the demo goes on without it
        notes.append(f"no program: {exc}")
    if prog is not None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.unshare(_CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
            # The namespace's own loopback (ifindex 1): attaching here touches no host device.
            keep.append(_sys.link_create(prog, target_ifindex=1,
                                         attach_type=_sys.const("BPF_XDP"), obj="xdp link"))
            notes.append("link")
        except Exception as exc:  # noqa: BLE001
            notes.append(f"no link: {exc}")
    sys.stdout.write("ready " + ";".join(notes) + "\n")
    sys.stdout.flush()
    sys.stdin.read()  # until the parent closes our stdin (or kills us)
    return 0


# -- the parent -----------------------------------------------------------------------------


class _Terminated(Exception):
    pass


def _on_sigterm(signum: int, frame: Optional[FrameType]) -> None:
    raise _Terminated()


def run(out: TextIO) -> int:
    """Run the demo end to end, writing to ``out``; 0 when it worked.

    Raises:
        BPFPermissionError: not root.
    """

    if os.geteuid() != 0:
        raise from_errno(
            errno.EPERM, Op.DEMO, reason="needs root",
            hint="it mounts a bpffs, creates bpf objects and reads another process's "
                 "descriptors: run it with sudo")
    old_term = signal.signal(signal.SIGTERM, _on_sigterm)
    root = tempfile.mkdtemp(prefix="bpfobj-demo-")
    mounted = False
    proc: Optional[subprocess.Popen[str]] = None
    try:
        rc = subprocess.run(["mount", "-t", "bpf", "bpf", root], capture_output=True, text=True)
        if rc.returncode != 0:
            out.write(f"bpfobj demo: cannot mount a bpffs on {root}: {rc.stderr.strip()}\n")
            return 3
        mounted = True
        proc = subprocess.Popen(
            [sys.executable, "-c", _CHILD_BOOT, _package_parent(), root],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        notes = _wait_ready(proc)
        hold = float(os.environ.get("BPFOBJ_DEMO_HOLD", "0") or 0)
        if hold > 0:  # for tests of the cleanup: a window to interrupt the demo in
            time.sleep(hold)
        out.write(
            f"A child process (pid {proc.pid}) created bpf objects and pinned some of them in a\n"
            f"private bpffs mounted on {root}:\n"
            "  config       map, pinned, one descriptor        (fine)\n"
            "  global_ep    map, pinned, two descriptors       (a forgotten dup)\n"
            "  tmp_scratch  map, never pinned, used by nothing (an orphan)\n"
            "  xdp_stats    map, never pinned, used by xdp_count\n")
        if "prog" in notes:
            out.write("  xdp_count    XDP program using xdp_stats, never pinned\n")
        if "link" in notes:
            out.write("  XDP link     xdp_count on the loopback of the child's own netns, "
                      "never pinned\n")
        for n in notes:
            if n.startswith("no "):
                out.write(f"  ({n})\n")
        out.write(f"\nAnalysed from outside (/proc/{proc.pid}/fd + fdinfo, objects opened by ID):"
                  f"\n$ bpfobj leak {proc.pid}\n")
        started = time.perf_counter()
        report = analyze(proc.pid)
        elapsed = (time.perf_counter() - started) * 1000
        out.write(report.to_text())
        out.write(f"\n`bpfobj leak` exits {1 if report.sure else 0} on this report "
                  f"({len(report.sure)} descriptors of sure leaks, {len(report.possible)} of "
                  f"possible ones; analysed in {elapsed:.1f} ms).\n")
        return 0
    except (KeyboardInterrupt, _Terminated):
        out.write("\nbpfobj demo: interrupted; cleaning up\n")
        return 130
    finally:
        _stop(proc)
        if mounted:
            subprocess.run(["umount", root], capture_output=True)
            if os.path.ismount(root):
                subprocess.run(["umount", "-l", root], capture_output=True)
        try:
            os.rmdir(root)
        except OSError as exc:
            out.write(f"bpfobj demo: could not remove {root}: {exc}\n")
        else:
            out.write(f"Cleaned up: child stopped, bpffs unmounted, {root} removed.\n")
        signal.signal(signal.SIGTERM, old_term)


def _wait_ready(proc: subprocess.Popen[str]) -> list[str]:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], _READY_TIMEOUT)
    line = proc.stdout.readline() if ready else ""
    if not line.startswith("ready"):
        raise RuntimeError(f"the demo child did not start (exit status {proc.poll()})")
    return line.split(maxsplit=1)[1].strip().split(";") if " " in line.strip() else []


def _stop(proc: Optional[subprocess.Popen[str]]) -> None:
    if proc is None:
        return
    try:
        if proc.stdin is not None:
            proc.stdin.close()
        proc.wait(timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        proc.kill()
        proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


# The child must import the very bpfobj this process runs, whatever the working
# directory: ``python -m`` and ``-c`` put the current directory first on sys.path,
# and from a source checkout that finds the uncompiled source tree instead of the
# installed package. So the child puts this package's parent directory first.
_CHILD_BOOT = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from bpfobj._demo import child; sys.exit(child(sys.argv[2]))"
)


def _package_parent() -> str:
    """The directory holding the ``bpfobj`` package this process imported."""
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "child":
        sys.exit(child(sys.argv[2]))
    sys.stderr.write("usage: python -m bpfobj._demo child PIN_ROOT (run `bpfobj demo` instead)\n")
    sys.exit(2)
