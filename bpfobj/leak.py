"""The leak analyser: which bpf objects a live process holds and should not.

Owns ``analyze(pid, bpffs=None) -> LeakReport`` and the report's records and
text/JSON forms. Imports ``procfs`` (the process's descriptors, read from
/proc from outside), ``bpffs`` (mounts and pins), ``objects`` (every program
and link, for what still references a leaked object) and the object wrappers
(descriptions by ID). It never touches the target's descriptors: objects are
opened by ID (BPF_*_GET_FD_BY_ID, needs CAP_SYS_ADMIN) and closed again.

Per object type (map, prog, link):

- a *sure* leak is an object the process holds that is pinned in none of the
  bpffs roots: when the process exits it is gone, and nothing else names it;
- a *possible* leak is a pinned object the process holds through several
  descriptors: one is usually enough, the others are often forgotten dups.

Each entry is one descriptor (ID, FD), with the object's pinned paths and
description, and what still references the object (the programs that use a
map, the links that hold a program), so an orphan can be told from an object
in use. Each distinct object is opened once, however many descriptors hold it.
BTF objects are counted but not reported as leaks: BTF cannot be pinned, so
"not pinned" says nothing about it.
"""

from __future__ import annotations

import errno as _errno
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional, Union

from . import bpffs as _bpffs
from . import objects, procfs
from ._internal import linux
from ._types import ObjType
from .errors import NOT_BPFFS_ERRNO, NotBPFFSError, Op, from_errno

__all__ = ["LeakEntry", "LeakReport", "PerfReference", "Reference", "analyze", "REPORTED_TYPES"]

#: The object types the report has a section for, in order.
REPORTED_TYPES = (ObjType.MAP, ObjType.PROG, ObjType.LINK)



@dataclass(frozen=True, slots=True)
class Reference:
    """An object that still uses a leaked one: a program using a map, a link holding a program."""

    type: ObjType
    id: int
    description: str
    relation: str  # "used by" (map <- prog), "attached by" (prog <- link)

    def __str__(self) -> str:
        return f"{self.relation}: ID={self.id} {self.description}"

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type.value, "id": self.id, "relation": self.relation,
                "description": self.description}


@dataclass(frozen=True, slots=True)
class PerfReference:
    """A perf event of the analysed process that a leaked program is attached to.

    What ``bpftool perf show`` lists (BPF_TASK_FD_QUERY): the process's
    descriptor of the perf event, its kind (tracepoint, kprobe, kretprobe,
    uprobe, uretprobe) and where it fires. bpftrace, bcc and older libbpf
    attach this way (PERF_EVENT_IOC_SET_BPF), with no bpf link to show.
    """

    fd: int
    kind: str
    name: str
    offset: int = 0
    addr: int = 0
    relation: str = "attached by"

    @property
    def description(self) -> str:
        """Where the event fires: ``tracepoint sys_enter_openat``."""
        if self.kind in ("kprobe", "kretprobe"):
            where = f"{self.name}+{self.offset}" if self.name else f"{self.addr:#x}"
            return f"{self.kind} {where}"
        if self.kind in ("uprobe", "uretprobe"):
            return f"{self.kind} {self.name}+{self.offset:#x}"
        return f"{self.kind} {self.name}"

    def __str__(self) -> str:
        return f"{self.relation}: perf_event FD={self.fd} {self.description}"

    def to_dict(self) -> dict[str, Any]:
        return {"type": "perf_event", "fd": self.fd, "relation": self.relation,
                "kind": self.kind, "name": self.name, "offset": self.offset,
                "description": self.description}


AnyReference = Union[Reference, PerfReference]


@dataclass(frozen=True, slots=True)
class LeakEntry:
    """One descriptor of the process that holds a leaked (or possibly leaked) object."""

    type: ObjType
    id: int
    fd: int
    pinned: tuple[str, ...]
    description: str
    cloexec: Optional[bool] = None
    referenced_by: tuple[AnyReference, ...] = ()

    def line(self) -> str:
        """The report line: ``ID=210420 FD=19 Map(name=... )``."""
        return f"ID={self.id} FD={self.fd} {self.description}".rstrip()

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type.value, "id": self.id, "fd": self.fd, "pinned": list(self.pinned),
            "description": self.description, "cloexec": self.cloexec,
            "referenced_by": [r.to_dict() for r in self.referenced_by],
        }


@dataclass(frozen=True, slots=True)
class LeakReport:
    """The result of ``analyze``: sure and possible leaks, per object type.

    ``sure`` and ``possible`` hold one entry per descriptor, ordered by type,
    then (possible) pinned path, then ID and FD. ``held`` counts the process's
    descriptors per type (BTF included); ``bpffs`` lists the roots searched
    for pins; ``warnings`` says what limited the analysis (no bpffs mounted).
    """

    pid: int
    comm: str
    bpffs: tuple[str, ...]
    sure: tuple[LeakEntry, ...]
    possible: tuple[LeakEntry, ...]
    held: dict[str, int] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def has_sure_leaks(self) -> bool:
        return bool(self.sure)

    def section(self, kind: ObjType) -> tuple[tuple[LeakEntry, ...], tuple[LeakEntry, ...]]:
        """The (sure, possible) entries of one object type."""
        return (tuple(e for e in self.sure if e.type is kind),
                tuple(e for e in self.possible if e.type is kind))

    def to_text(self) -> str:
        """The report as its users know it: per type "Sure leak:", "Possible leak:" or "No leak!".

        A pinned path heads the descriptors that hold its object; each
        descriptor line gives ID, FD and the object. What still references an
        object follows its lines, indented ("  used by: ID=7 Program(...)").
        """
        out: list[str] = []
        for kind in REPORTED_TYPES:
            sure, possible = self.section(kind)
            out.append(f"bpf {kind.value}:")
            if not sure and not possible:
                out.append("No leak!")
                out.append("")
                continue
            if sure:
                out.append("Sure leak:")
                out.extend(_lines(sure, headed=False))
                out.append("")
            if possible:
                out.append("Possible leak:")
                out.extend(_lines(possible, headed=True))
                out.append("")
        return "\n".join(out).rstrip("\n") + "\n"

    def to_dict(self) -> dict[str, Any]:
        """The same report as plain data (what ``to_json`` serialises)."""
        data: dict[str, Any] = {"pid": self.pid, "comm": self.comm, "bpffs": list(self.bpffs)}
        for kind in REPORTED_TYPES:
            sure, possible = self.section(kind)
            data[kind.value] = {
                "sure": [e.to_dict() for e in sure],
                "possible": [e.to_dict() for e in possible],
                "leak": bool(sure or possible),
            }
        data["held"] = dict(self.held)
        data["warnings"] = list(self.warnings)
        return data

    def to_json(self, indent: Optional[int] = None) -> str:
        """The report as a JSON document (``to_dict()`` serialised)."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)


def _lines(entries: Sequence[LeakEntry], headed: bool) -> list[str]:
    out: list[str] = []
    previous: Optional[tuple[int, tuple[str, ...]]] = None
    group: list[LeakEntry] = []

    def flush() -> None:
        if group and group[-1].referenced_by:
            out.extend(f"  {r}" for r in group[-1].referenced_by)
        group.clear()

    for e in entries:
        key = (e.id, e.pinned)
        if key != previous:
            flush()
            if headed:
                out.extend(e.pinned)
            previous = key
        group.append(e)
        out.append(e.line())
    flush()
    return out


# -- analysis ------------------------------------------------------------------------


BPFFSArg = Union[None, str, "os.PathLike[str]", Iterable[Union[str, "os.PathLike[str]"]]]


def analyze(pid: Union[int, str], bpffs: BPFFSArg = None) -> LeakReport:
    """Find the bpf descriptors process ``pid`` leaks, reading /proc from outside it.

    ``bpffs`` is where pins count: a root path, a list of them, or None for
    every bpffs mount the process sees (``bpffs.mounts(pid)``). The target's
    descriptors are never touched: the analyser lists /proc/PID/fd and fdinfo,
    then opens each distinct object once by ID for its description, and closes
    it. Needs root (CAP_SYS_ADMIN, and ptrace access to read another user's
    /proc/PID/fd).

    Raises:
        BPFPermissionError: not root (no CAP_SYS_ADMIN).
        ProcessGoneError: no such process, or it exited during the scan.
        NotBPFFSError: a given ``bpffs`` root is not on a bpf filesystem.
    """
    _require_admin()

    pid_s = str(pid)
    comm = _comm(pid_s)

    warnings: list[str] = []
    if bpffs is None:
        roots = list(_mount_roots(pid_s))
        if not roots:
            warnings.append(
                "no bpffs is mounted in the process's view: nothing can be pinned, so every "
                "object it holds counts as a sure leak (mount one: mount -t bpf bpf /sys/fs/bpf)")
    else:
        given = [bpffs] if isinstance(bpffs, (str, os.PathLike)) else list(bpffs)
        roots = []
        for root in given:
            path = os.fspath(root)
            if not _bpffs.is_bpffs(path):
                raise from_errno(NOT_BPFFS_ERRNO, Op.LEAK, "bpffs root", path,
                                 cls=NotBPFFSError, reason="is not a bpffs mount",
                                 hint="mount one with: mount -t bpf bpf DIR")
            roots.append((path, path))

    held = procfs.fds(pid_s)
    counts: dict[str, int] = {k.value: 0 for k in ObjType}
    by_obj: dict[tuple[ObjType, int], list[procfs.ProcFD]] = {}
    for p in held:
        kind = p.type
        if not isinstance(kind, ObjType):
            continue
        counts[kind.value] += 1
        if kind in REPORTED_TYPES:
            by_obj.setdefault((kind, p.id), []).append(p)

    # Pins: (kind, id) -> paths as the process sees them; infos of pinned objects.
    pins: dict[tuple[ObjType, int], list[str]] = {}
    infos: dict[tuple[ObjType, int], Any] = {}
    for shown, walk_root in roots:
        for pinned in _bpffs.walk(walk_root):
            key = (pinned.type, pinned.id)
            pins.setdefault(key, []).append(_shown_path(pinned.path, walk_root, shown))
            if pinned.info is not None:
                infos.setdefault(key, pinned.info)

    sure: list[LeakEntry] = []
    possible: list[LeakEntry] = []
    gone: list[tuple[ObjType, int]] = []
    for key, descs in by_obj.items():
        paths = tuple(sorted(pins.get(key, ())))
        if paths and len(descs) < 2:
            continue
        if key not in infos:
            info = _info_by_id(*key)
            if info is None:
                gone.append(key)
                continue
            infos[key] = info
        target = sure if not paths else possible
        for p in descs:
            target.append(LeakEntry(key[0], key[1], p.fd, paths, str(infos[key]),
                                    p.cloexec))

    if gone and not os.path.exists(f"/proc/{pid_s}"):
        raise from_errno(_errno.ESRCH, Op.LEAK, f"pid {pid_s}", hint="",
                         reason="the process exited during the scan")
    # An object closed between the listing and the lookup is no longer held: drop it.

    refs: dict[tuple[ObjType, int], tuple[AnyReference, ...]] = dict(
        _references({(e.type, e.id) for e in (*sure, *possible)}))
    leaked_progs = {e.id for e in (*sure, *possible) if e.type is ObjType.PROG}
    if leaked_progs:
        for prog_id, perf_refs in _perf_references(pid_s, leaked_progs).items():
            key = (ObjType.PROG, prog_id)
            refs[key] = (*refs.get(key, ()), *perf_refs)
    sure = [_with_refs(e, refs) for e in sure]
    possible = [_with_refs(e, refs) for e in possible]
    order = {k: i for i, k in enumerate(REPORTED_TYPES)}
    sure.sort(key=lambda e: (order[e.type], e.id, e.fd))
    possible.sort(key=lambda e: (order[e.type], e.pinned, e.id, e.fd))
    return LeakReport(
        pid=int(pid_s) if pid_s.isdigit() else os.getpid(),
        comm=comm, bpffs=tuple(shown for shown, _ in roots), sure=tuple(sure),
        possible=tuple(possible), held=counts, warnings=tuple(warnings),
    )


def _with_refs(e: LeakEntry,
               refs: dict[tuple[ObjType, int], tuple[AnyReference, ...]]) -> LeakEntry:
    r = refs.get((e.type, e.id), ())
    if not r:
        return e
    return LeakEntry(e.type, e.id, e.fd, e.pinned, e.description, e.cloexec, r)


def _perf_references(pid: str, prog_ids: set[int]) -> dict[int, tuple[PerfReference, ...]]:
    """The analysed process's perf events that run the leaked programs, by program ID.

    Raw tracepoint links also answer BPF_TASK_FD_QUERY; they are links, and
    already listed as "attached by" the link, so they are left out here.
    """

    out: dict[int, list[PerfReference]] = {}
    for a in procfs.perf_attachments(pid):
        if a.prog_id in prog_ids and a.is_perf_event:
            out.setdefault(a.prog_id, []).append(
                PerfReference(fd=a.fd, kind=a.kind, name=a.name, offset=a.offset, addr=a.addr))
    return {k: tuple(v) for k, v in out.items()}


def _require_admin() -> None:
    if linux.has_capability(linux.CAP_SYS_ADMIN):
        return
    raise from_errno(
        _errno.EPERM, Op.LEAK, reason="needs root",
        hint="CAP_SYS_ADMIN opens objects by ID, and reading another process's /proc/PID/fd "
             "needs ptrace access: run it with sudo")


def _comm(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/comm", "rb") as f:
            return f.read().decode("utf-8", "replace").strip()
    except FileNotFoundError:
        raise from_errno(_errno.ESRCH, Op.LEAK, f"pid {pid}") from None
    except OSError:
        return ""


def _mount_roots(pid: str) -> list[tuple[str, str]]:
    """(path as the process sees it, path to walk from here) of every bpffs the process sees."""

    out = []
    for m in _bpffs.mounts(pid):
        out.append((m.mountpoint, m.reachable or m.mountpoint))
    return out


def _shown_path(path: str, walk_root: str, shown_root: str) -> str:
    if walk_root == shown_root:
        return path
    rel = os.path.relpath(path, walk_root)
    return shown_root if rel == "." else os.path.join(shown_root, rel)


def _info_by_id(kind: ObjType, obj_id: int) -> Any:
    """Open one object by ID, read its info, close it; None when it no longer exists."""
    return next(objects.from_ids(kind, [obj_id]), None)


def _references(
    wanted: set[tuple[ObjType, int]],
) -> dict[tuple[ObjType, int], tuple[Reference, ...]]:
    """For leaked maps and programs: the programs that use them and the links that hold them.

    Scans every program (for ``map_ids``) and link (for ``prog_id``) on the
    system, only when a leaked map or program asks for it.
    """
    out: dict[tuple[ObjType, int], list[Reference]] = {}
    want_maps = {i for k, i in wanted if k is ObjType.MAP}
    want_progs = {i for k, i in wanted if k is ObjType.PROG}
    if want_maps:
        for prog in objects.programs():
            for map_id in prog.map_ids:
                if map_id in want_maps:
                    out.setdefault((ObjType.MAP, map_id), []).append(
                        Reference(ObjType.PROG, prog.id, str(prog), "used by"))
    if want_progs:
        for link in objects.links():
            if link.prog_id in want_progs:
                out.setdefault((ObjType.PROG, link.prog_id), []).append(
                    Reference(ObjType.LINK, link.id, str(link), "attached by"))
    return {k: tuple(sorted(v, key=lambda r: r.id)) for k, v in out.items()}
