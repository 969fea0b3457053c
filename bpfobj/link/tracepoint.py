"""Tracepoint links (cilium/ebpf's link.Tracepoint): a TRACEPOINT program on a trace event.

Owns ``attach_tracepoint``: the event id from tracefs, perf_event_open of a
PERF_TYPE_TRACEPOINT event, then the attachment (perf_event.py). Imports
``_sys``, ``_types``, ``errors``, ``tracefs`` and ``link.perf_event``.
"""

from __future__ import annotations

from bpfobj._internal import syscall as _sys
from bpfobj._internal import tracefs
from bpfobj._types import ProgramType

from .perf_event import PerfEventLink, attach_perf_event, check_program

__all__ = ["attach_tracepoint", "event_fields", "event_id"]

#: Field name -> (offset, size) in a tracepoint program's context, from the
#: event's tracefs ``format`` file; and the event's id.
event_fields = tracefs.event_fields
event_id = tracefs.event_id


def attach_tracepoint(prog: object, group: str, name: str, cookie: int = 0) -> PerfEventLink:
    """Attach a TRACEPOINT program to trace event ``group/name`` (perf_event_open, LINK_CREATE).

    The perf event is opened system-wide (pid -1) on CPU 0: a program
    attached to a tracepoint runs on every CPU whatever the event's CPU. The
    program reads the event's fields at the offsets that
    ``events/GROUP/NAME/format`` lists. ``cookie`` is what
    bpf_get_attach_cookie() returns in the program (Linux 5.15). The
    returned link owns the bpf link and the perf event; closing it (and its
    clones) detaches. Requires Linux 4.7 (the ioctl path), 5.15 for links.

    Raises:
        TypeError: ``prog`` is not a Program.
        ObjectTypeError: the program is not a TRACEPOINT program (nothing is opened).
        ValueError: ``group`` or ``name`` is not a tracefs name.
        BPFError: no such tracepoint (ENOENT; the message names group/name).
        BPFPermissionError: tracefs is not mounted and we are not root.
    """
    what = f"tracepoint {group}/{name}"
    prog_fd = check_program(prog, ProgramType.TRACEPOINT, what)
    event = tracefs.event_id(group, name)
    perf_fd = _sys.perf_event_open(type=_sys.const("PERF_TYPE_TRACEPOINT"), config=event,
                                   sample_period=1, wakeup_events=1, pid=-1, cpu=0, obj=what)
    return attach_perf_event(prog_fd, prog, perf_fd, cookie, what)
