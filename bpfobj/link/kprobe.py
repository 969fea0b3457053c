"""Kprobes (cilium/ebpf's link.Kprobe/Kretprobe): KPROBE programs on kernel functions.

Owns ``attach_kprobe``. Two ways in, tried in order:

1. the ``kprobe`` PMU (Linux 4.17): perf_event_open with the PMU's type,
   the function name in ``kprobe_func`` and the offset in ``probe_offset``;
   the retprobe bit comes from ``format/retprobe``;
2. tracefs ``kprobe_events``: a ``p:GROUP/NAME FUNC+OFF`` (``r:`` for a
   return probe) line creates a trace event, whose id opens a
   PERF_TYPE_TRACEPOINT event; the link removes the event (``-:GROUP/NAME``)
   when it closes.

A kernel built without CONFIG_KPROBES has neither: ``attach_kprobe`` then
raises NotSupportedError before anything is opened. Imports ``_sys``,
``_types``, ``errors``, ``tracefs`` and ``link``.
"""

from __future__ import annotations

import errno as _errno
import itertools
import os
import re
from collections.abc import Callable
from typing import Optional

from bpfobj._internal import syscall as _sys
from bpfobj._internal import tracefs
from bpfobj._types import ProgramType
from bpfobj.errors import BPFError, NotSupportedError, Op, from_errno

from .perf_event import PerfEventLink, attach_perf_event, check_program
from .uprobe import SYSFS_PMUS, pmu_bit, pmu_type

__all__ = ["attach_kprobe", "kprobe_event_line", "EVENT_GROUP"]

#: The tracefs group of the kprobe events bpfobj creates.
EVENT_GROUP = "bpfobj"
_KSYM_NAME_LEN = 512
_SYMBOL = re.compile(r"[A-Za-z0-9_.$]+")
_serial = itertools.count()


def kprobe_event_line(group: str, name: str, symbol: str, offset: int, ret: bool) -> str:
    """The kprobe_events line that creates event ``group/name`` on ``symbol+offset``.

    ``p:bpfobj/n sym+8`` for an entry probe, ``r:bpfobj/n sym`` for a return
    probe (which only a function's start takes: a non-zero offset is a ValueError).
    """
    tracefs.validate_name("kprobe group", group)
    tracefs.validate_name("kprobe event", name)
    _check_symbol(symbol)
    if ret and offset:
        raise ValueError("a kretprobe takes no offset")
    where = f"{symbol}+{offset}" if offset else symbol
    return f"{'r' if ret else 'p'}:{group}/{name} {where}"


def _check_symbol(symbol: object) -> None:
    if not isinstance(symbol, str):
        raise TypeError(f"symbol must be a str, not {type(symbol).__name__}")
    if not symbol or len(symbol) >= _KSYM_NAME_LEN or not _SYMBOL.fullmatch(symbol):
        raise ValueError(f"invalid kernel symbol {symbol!r}")


def _no_kprobes(what: str) -> BPFError:
    reason = ("the kernel has no kprobes (built without CONFIG_KPROBES: no kprobe PMU in "
              f"{SYSFS_PMUS}, no kprobe_events in tracefs)")
    return from_errno(_errno.EOPNOTSUPP, Op.LINK_CREATE, what, reason=reason, hint="",
                      cls=NotSupportedError)


def _tracefs_events() -> Optional[str]:
    """The kprobe_events file, or None when tracefs has none (or cannot be found)."""
    try:
        path = os.path.join(tracefs.mount_point(), "kprobe_events")
    except BPFError:
        return None
    return path if os.path.exists(path) else None


def attach_kprobe(prog: object, symbol: str, ret: bool = False, offset: int = 0,
                  cookie: int = 0, *, sysfs_root: str = SYSFS_PMUS) -> PerfEventLink:
    """Attach a KPROBE program to kernel function ``symbol`` (entry, or return with ``ret``).

    ``offset`` is bytes past the function's start (entry probes only);
    ``cookie`` is what bpf_get_attach_cookie() returns (Linux 5.15). The
    returned link owns the bpf link and the perf event; closing it detaches
    (and removes the tracefs event, when one was made).

    Raises:
        TypeError: ``prog`` is not a Program.
        ObjectTypeError: the program is not a KPROBE program.
        ValueError: ``symbol`` is not a kernel symbol name; an offset on a kretprobe.
        NotSupportedError: the kernel has no kprobes (nothing was opened).
        BPFError: no such function (ENOENT/EINVAL from the kernel).
    """
    kind = "kretprobe" if ret else "kprobe"
    what = f"{kind} {symbol}" + (f"+{offset}" if offset else "")
    prog_fd = check_program(prog, ProgramType.KPROBE, what)
    _check_symbol(symbol)
    if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset < 2**64:
        raise ValueError(f"offset must be a u64, got {offset!r}")
    if ret and offset:
        raise ValueError("a kretprobe takes no offset")
    pmu = pmu_type("kprobe", sysfs_root)
    if pmu is not None:
        config = (1 << pmu_bit("kprobe", "retprobe", sysfs_root)) if ret else 0
        perf_fd = _sys.perf_event_open(
            type=pmu, config=config, sample_period=1, wakeup_events=1, kprobe_func=symbol,
            probe_offset=offset, pid=-1, cpu=0, obj=what)
        return attach_perf_event(prog_fd, prog, perf_fd, cookie, what)
    events = _tracefs_events()
    if events is None:
        raise _no_kprobes(what)
    name = f"{kind}_{os.getpid()}_{next(_serial)}_{symbol}"[:64]
    name = re.sub(r"[^A-Za-z0-9_]", "_", name)
    _write(events, kprobe_event_line(EVENT_GROUP, name, symbol, offset, ret), what)
    remove = _remover(events, name, what)
    try:
        event = tracefs.event_id(EVENT_GROUP, name, what=kind)
        perf_fd = _sys.perf_event_open(
            type=_sys.const("PERF_TYPE_TRACEPOINT"), config=event, sample_period=1,
            wakeup_events=1, pid=-1, cpu=0, obj=what)
    except BaseException:
        remove()
        raise
    return attach_perf_event(prog_fd, prog, perf_fd, cookie, what, cleanup=remove)


def _write(path: str, line: str, what: str) -> None:
    try:
        with open(path, "a", encoding="ascii") as f:
            f.write(line + "\n")
    except OSError as exc:
        err = exc.errno or _errno.EIO
        reason = f"tracefs refused {line!r}: {os.strerror(err).lower()}"
        if err in (_errno.ENOENT, _errno.EINVAL):
            reason += " (no such kernel function?)"
        raise from_errno(err, Op.LINK_CREATE, what, path, reason=reason, hint="",
                         cls=BPFError) from exc


def _remover(events: str, name: str, what: str) -> Callable[[], None]:
    def remove() -> None:
        try:
            _write(events, f"-:{EVENT_GROUP}/{name}", what)
        except BPFError:
            pass  # gone already (removed by hand), or tracefs went away
    return remove
