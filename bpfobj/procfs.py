"""What bpf objects processes hold, read from /proc without touching their descriptors.

Owns ``fds(pid)`` (one process's bpf descriptors as ``ProcFD`` records),
``holders()`` (for every object, which processes hold it through which
descriptors: bpftool's "pids", with descriptor numbers), and the pure parsers
of /proc text they use (``parse_fd_target``, ``fd_record``; ``parse_fdinfo`` is
``_internal.linux``'s, re-exported), which raise only ValueError on bad input.
``fd_record`` reads the few fdinfo keys it needs by search rather than through
``parse_fdinfo``: a /proc scan parses thousands of descriptors. Imports ``_types``,
``errors`` and ``_internal.linux``.

How a descriptor is read: ``readlink /proc/PID/fd/N`` names its kind
(``anon_inode:bpf-map`` ...) and ``/proc/PID/fdinfo/N`` gives its flags and the
object's ID. Nothing else: no pidfd_getfd, no open() of /proc/PID/fd/N, so the
target's descriptors, offsets and locks are never touched, and no object is
opened. psutil's manners: bytes are read under a settable ``procfs_root``; a
descriptor or process that vanishes in the middle of a scan is skipped, and
the process is then confirmed alive (``ProcessGoneError`` when it is not).
"""

from __future__ import annotations

import errno as _errno
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple, Optional, Union

from ._internal.linux import parse_fdinfo
from ._types import LinkType, MapType, ObjType, ProgramType
from .errors import BPFError, BPFPermissionError, Op, ProcessGoneError, from_errno

__all__ = [
    "Holder",
    "PerfAttachment",
    "ProcFD",
    "fd_record",
    "fds",
    "holders",
    "parse_fd_target",
    "parse_fdinfo",
    "perf_attachments",
    "perf_attachments_all",
]

PidLike = Union[int, str]

#: The kernel's names of bpf descriptors (``readlink /proc/PID/fd/N`` gives
#: ``anon_inode:NAME``) -> (object type, the fdinfo key that holds its ID).
#: Why each is here:
#: - ``bpf-map``, ``bpf-prog``: maps and programs, however they were opened;
#: - ``bpf_link`` *and* ``bpf-link``: a link fresh from BPF_LINK_CREATE (or
#:   BPF_RAW_TRACEPOINT_OPEN) is created by bpf_link_prime() with the underscore
#:   name, the same link reopened by BPF_OBJ_GET or BPF_LINK_GET_FD_BY_ID gets
#:   the dash name from bpf_link_new_fd(): both spellings occur for one link;
#: - ``btf``: BTF objects (BPF_BTF_LOAD, BPF_BTF_GET_FD_BY_ID);
#: - ``bpf_iter``: an iterator opened by BPF_ITER_CREATE; it has no ID and no
#:   ObjType (it is a reader of a link, not an object), its fdinfo has no
#:   bpf keys, so its type is None and its ID 0.
BPF_FD_NAMES: dict[str, tuple[Optional[ObjType], bytes]] = {
    "bpf-map": (ObjType.MAP, b"map_id"),
    "bpf-prog": (ObjType.PROG, b"prog_id"),
    "bpf_link": (ObjType.LINK, b"link_id"),
    "bpf-link": (ObjType.LINK, b"link_id"),
    "btf": (ObjType.BTF, b"btf_id"),
    "bpf_iter": (None, b""),
}

# The readlink target -> (type, id key, name), for one dict lookup per descriptor.
_TARGETS: dict[str, tuple[Optional[ObjType], bytes, str]] = {
    f"anon_inode:{name}": (kind, key, name) for name, (kind, key) in BPF_FD_NAMES.items()
}

#: O_CLOEXEC as fdinfo's ``flags:`` shows it: the kernel ORs the descriptor's
#: close-on-exec bit (kept in the fd table, not in the file) into f_flags there.
O_CLOEXEC = os.O_CLOEXEC
_O_ACCMODE = 0o3

_MAP_TYPES = {int(t): t for t in MapType}
_PROG_TYPES = {int(t): t for t in ProgramType}
_LINK_TYPES = {t.kernel_name: t for t in LinkType}
_LINK_NUMBERS = {int(t): t for t in LinkType}


@dataclass(frozen=True, slots=True)
class ProcFD:
    """One bpf descriptor of a process, as /proc shows it (never opened by us).

    ``type`` is the object's kind (None for a ``bpf_iter`` iterator, which is
    no object); ``id`` the object's kernel ID (0 for an iterator);
    ``anon_name`` the kernel's name of the descriptor (``bpf-map``,
    ``bpf-prog``, ``bpf_link``, ``bpf-link``, ``btf``, ``bpf_iter``);
    ``flags`` the open flags fdinfo shows (octal ``flags:``, close-on-exec
    included) and ``cloexec`` whether the descriptor is close-on-exec.
    ``map_type``/``prog_type``/``link_type`` are the object's type when the
    descriptor is of that kind (a plain int when newer than our headers; a
    link type the kernel names but our headers do not know is None);
    ``prog_id`` is a program's own ID, or the program a link holds (0 when
    none); ``memlock`` the bytes charged to the object (maps and programs).
    """

    fd: int
    type: Optional[ObjType]
    id: int
    flags: int
    cloexec: bool
    anon_name: str
    map_type: Union[MapType, int, None] = None
    prog_type: Union[ProgramType, int, None] = None
    link_type: Union[LinkType, int, None] = None
    prog_id: int = 0
    memlock: Optional[int] = None

    @property
    def readable(self) -> bool:
        """The descriptor allows reads (not opened write-only: BPF_F_WRONLY)."""
        return self.flags & _O_ACCMODE != os.O_WRONLY

    @property
    def writable(self) -> bool:
        """The descriptor allows writes (not opened read-only: BPF_F_RDONLY).

        Only meaningful for maps: the kernel opens programs, links and BTF
        with whatever mode it likes (a link fresh from BPF_LINK_CREATE reads
        O_RDONLY in fdinfo and is still fully usable).
        """
        return self.flags & _O_ACCMODE != os.O_RDONLY

    def __str__(self) -> str:
        kind = self.type.value if self.type is not None else self.anon_name
        return f"fd {self.fd}: bpf {kind} id {self.id}" + ("" if self.cloexec else " (no cloexec)")


class Holder(NamedTuple):
    """A process holding an object through one descriptor: ``(pid, comm, fd)``.

    A named tuple, not a dataclass: the contract is the plain triple
    (``for pid, comm, fd in holders()[key]``), and it compares equal to one.
    """

    pid: int
    comm: str
    fd: int


# -- pure parsers (fuzzed: only ValueError on bad input) --------------------------------


def parse_fd_target(target: str) -> Optional[tuple[Optional[ObjType], str]]:
    """The bpf kind of a descriptor from its ``readlink /proc/PID/fd/N`` target.

    Returns ``(type, anon_name)`` for a bpf descriptor (type None for
    ``bpf_iter``), None for anything else (files, sockets, other anon inodes).
    Pure; never raises for a str.
    """
    # bpf descriptors are anonymous inodes: the kernel names them
    # "anon_inode:<name>" with no brackets (eventfd and friends read
    # "anon_inode:[eventfd]"); real files, "socket:[N]", "pipe:[N]" and paths
    # with a " (deleted)" suffix never match one of these exact strings.
    hit = _TARGETS.get(target)
    if hit is None:
        return None
    return hit[0], hit[2]


def _field(data: bytes, needle: bytes) -> Optional[bytes]:
    """The value on the fdinfo line that starts with ``needle`` (``b"\\nmap_id:"``), or None."""
    # Keys are looked up at a line start ("\nmap_id:") so that "prog_id" does
    # not match inside "owner_prog_id" or a value; "pos:" is always the first
    # line, so every key we want has a newline before it.
    at = data.find(needle)
    if at < 0:
        return None
    start = at + len(needle)
    end = data.find(b"\n", start)
    return data[start:] if end < 0 else data[start:end]


def _int(value: Optional[bytes], what: str, base: int = 10) -> int:
    if value is None:
        raise ValueError(f"fdinfo has no {what!r} line")
    try:
        # int() strips the tab after the colon; a sign or "_" is no fdinfo number.
        n = int(value, base)
    except ValueError:
        raise ValueError(f"fdinfo {what!r} is not a number: {value[:40]!r}") from None
    if n < 0 or b"_" in value:
        raise ValueError(f"fdinfo {what!r} is not a number: {value[:40]!r}")
    return n


def _optional_int(value: Optional[bytes], what: str) -> Optional[int]:
    return None if value is None else _int(value, what)


def _flags(data: bytes) -> int:
    # "flags:" is octal (the kernel prints f_flags with %o), close-on-exec
    # included: fdinfo ORs the fd table's close-on-exec bit into it.
    return _int(_field(data, b"\nflags:"), "flags", 8)


def _map_record(fd: int, data: bytes, name: str) -> ProcFD:
    # The hot path (processes leak maps by the thousand), written out: three
    # finds and three int() calls. fdinfo text always ends with a newline,
    # so each value found ends at one.
    if not data.endswith(b"\n"):
        raise ValueError("fdinfo text does not end with a newline")
    f = data.find(b"\nflags:")
    t = data.find(b"\nmap_type:")
    i = data.find(b"\nmap_id:")
    if f < 0 or t < 0 or i < 0:
        raise ValueError("fdinfo of a bpf-map descriptor lacks flags, map_type or map_id")
    find = data.find
    try:
        flags = int(data[f + 7:find(b"\n", f + 7)], 8)
        kind = int(data[t + 10:find(b"\n", t + 10)])
        map_id = int(data[i + 8:find(b"\n", i + 8)])
    except ValueError:
        raise ValueError("fdinfo of a bpf-map descriptor has a bad number") from None
    if flags < 0 or kind < 0 or map_id < 0:
        raise ValueError("fdinfo of a bpf-map descriptor has a negative number")
    m = find(b"\nmemlock:")
    memlock = None if m < 0 else _int(data[m + 9:find(b"\n", m + 9)], "memlock")
    return _build(fd, ObjType.MAP, map_id, flags, name, _MAP_TYPES.get(kind, kind), None, None,
                  0, memlock)  # a map type newer than our headers: the number


def _prog_record(fd: int, data: bytes, name: str) -> ProcFD:
    # A link's fdinfo has prog_id too; only link_id tells it apart.
    if b"\nlink_id:" in data:
        raise ValueError("fdinfo of a bpf-prog descriptor has a link_id line")
    prog_id = _int(_field(data, b"\nprog_id:"), "prog_id")
    t = _int(_field(data, b"\nprog_type:"), "prog_type")
    return _build(fd, ObjType.PROG, prog_id, _flags(data), name, None, _PROG_TYPES.get(t, t),
                  None, prog_id, _optional_int(_field(data, b"\nmemlock:"), "memlock"))


def _link_type(raw: Optional[bytes]) -> Union[LinkType, int, None]:
    if raw is None:
        return None
    # link_type is a name ("raw_tracepoint"); the kernel prints "<N>" for a
    # type it has no name for.
    text = raw.strip().decode("ascii", "replace")
    if text.startswith("<") and text.endswith(">"):
        n = _int(text[1:-1].encode(), "link_type")
        return _LINK_NUMBERS.get(n, n)
    # A name newer than our headers: None, not an error (the descriptor is
    # still a link, with its ID; dropping it would hide it from leak reports).
    return _LINK_TYPES.get(text)


def _link_record(fd: int, data: bytes, name: str) -> ProcFD:
    link_id = _int(_field(data, b"\nlink_id:"), "link_id")
    # A link whose program is gone (detached, some types) has no prog_id line.
    prog_id = _optional_int(_field(data, b"\nprog_id:"), "prog_id") or 0
    return _build(fd, ObjType.LINK, link_id, _flags(data), name, None, None,
                  _link_type(_field(data, b"\nlink_type:")), prog_id, None)


def _btf_record(fd: int, data: bytes, name: str) -> ProcFD:
    return _build(fd, ObjType.BTF, _int(_field(data, b"\nbtf_id:"), "btf_id"), _flags(data),
                  name, None, None, None, 0, None)


def _iter_record(fd: int, data: bytes, name: str) -> ProcFD:
    # bpf_iter: no object ID, no bpf keys in its fdinfo.
    return _build(fd, None, 0, _flags(data), name, None, None, None, 0, None)


_RECORDERS: dict[Optional[ObjType], Callable[[int, bytes, str], ProcFD]] = {
    ObjType.MAP: _map_record, ObjType.PROG: _prog_record, ObjType.LINK: _link_record,
    ObjType.BTF: _btf_record, None: _iter_record,
}

# The readlink target -> (record builder, name): one dict lookup per descriptor.
_FAST: dict[str, tuple[Callable[[int, bytes, str], ProcFD], str]] = {
    target: (_RECORDERS[kind], name) for target, (kind, _key, name) in _TARGETS.items()
}


def fd_record(fd: int, target: str, data: bytes) -> Optional[ProcFD]:
    """Build the ProcFD of descriptor ``fd`` from its readlink target and fdinfo text.

    Returns None when ``target`` is not a bpf descriptor. The ID key
    cross-checks the readlink name: a map's fdinfo has ``map_id``, a
    program's ``prog_id`` (and no ``link_id``), a link's ``link_id`` (and the
    ``prog_id`` of its program), BTF's ``btf_id``. Pure.

    Raises:
        ValueError: the fdinfo text does not belong to a descriptor of that
            kind (no ``flags:`` line, no ID key, a number that is not one):
            the descriptor was closed and its number reused between the
            readlink and the fdinfo read, or the text is not fdinfo.
    """
    hit = _FAST.get(target)
    if hit is None:
        return None
    return hit[0](fd, data, hit[1])


_new = object.__new__
# The slot setters of the frozen dataclass: building a ProcFD with them skips the
# frozen __init__'s object.__setattr__ per field (this runs once per descriptor).
(_s_fd, _s_type, _s_id, _s_flags, _s_cloexec, _s_anon_name, _s_map_type, _s_prog_type,
 _s_link_type, _s_prog_id, _s_memlock) = (
    getattr(ProcFD, f).__set__ for f in ProcFD.__dataclass_fields__)


def _build(fd: int, kind: Optional[ObjType], obj_id: int, flags: int, name: str,
           map_type: Union[MapType, int, None], prog_type: Union[ProgramType, int, None],
           link_type: Union[LinkType, int, None], prog_id: int,
           memlock: Optional[int]) -> ProcFD:
    rec = _new(ProcFD)
    _s_fd(rec, fd)
    _s_type(rec, kind)
    _s_id(rec, obj_id)
    _s_flags(rec, flags)
    _s_cloexec(rec, bool(flags & O_CLOEXEC))
    _s_anon_name(rec, name)
    _s_map_type(rec, map_type)
    _s_prog_type(rec, prog_type)
    _s_link_type(rec, link_type)
    _s_prog_id(rec, prog_id)
    _s_memlock(rec, memlock)
    return rec


def _renumbered(rec: ProcFD, fd: int) -> ProcFD:
    """A copy of ``rec`` for descriptor ``fd`` (another descriptor of the same object)."""
    return _build(fd, rec.type, rec.id, rec.flags, rec.anon_name, rec.map_type, rec.prog_type,
                  rec.link_type, rec.prog_id, rec.memlock)


# -- reading /proc ------------------------------------------------------------------------


def _pid_dir(pid: PidLike, procfs_root: str) -> str:
    # Only "self" or a number: a pid string is part of a path, and "../x"
    # must not become one.
    if isinstance(pid, bool):
        raise TypeError("pid must be an int or 'self', not bool")
    if isinstance(pid, int):
        if pid <= 0:
            raise ValueError(f"pid {pid} is not a process ID")
        return f"{procfs_root}/{pid}"
    if pid == "self":
        return f"{procfs_root}/self"
    if isinstance(pid, str) and pid.isdigit() and pid.isascii() and int(pid) > 0:
        return f"{procfs_root}/{int(pid)}"  # "0042" names /proc/42
    raise ValueError(f"pid {pid!r} is not a process ID or 'self'")


_READ = 4096
_VANISHED = (_errno.ENOENT, _errno.ESRCH)


def _read_at(name: str, dir_fd: int) -> bytes:
    """Read a small /proc file relative to ``dir_fd``: one open, one read (mostly), one close."""
    raw = os.open(name, os.O_RDONLY | os.O_CLOEXEC, dir_fd=dir_fd)
    try:
        data = os.read(raw, _READ)
        return _read_rest(raw, data) if len(data) == _READ else data
    finally:
        os.close(raw)


def _open_dir(path: str) -> int:
    return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)


def _scan(base: str) -> tuple[list[ProcFD], bool]:
    """The bpf descriptors under ``base`` (/proc/PID); and whether any vanished meanwhile.

    Raises OSError from opening or listing the fd directory (ENOENT: no such
    process; EACCES: no ptrace access).
    """
    dir_fd = _open_dir(base + "/fd")
    info_fd = -1
    out: list[ProcFD] = []
    vanished = False
    try:
        # The listing is taken before anything is read or opened (the
        # directory's own descriptor aside, which is no bpf descriptor), so
        # scanning "self" never chases descriptors opened during the scan.
        names = os.listdir(dir_fd)
        # The loop runs once per descriptor (10,000 in a leaking process):
        # names bound locally, one dict lookup decides "not bpf", and a bpf
        # descriptor costs readlink + open/read/close of its fdinfo, all
        # relative to directory descriptors (no /proc path walk per file).
        readlink, os_open, os_read, os_close = os.readlink, os.open, os.read, os.close
        fast = _FAST
        flags = os.O_RDONLY | os.O_CLOEXEC
        append = out.append
        seen: dict[tuple[bytes, str], ProcFD] = {}
        for name in names:
            try:
                target = readlink(name, dir_fd=dir_fd)
            except OSError as exc:
                # Closed since the listing (or the process exited): skip it.
                if exc.errno not in _VANISHED:
                    raise
                vanished = True
                continue
            hit = fast.get(target)
            if hit is None:
                continue  # not bpf: the common case
            if info_fd < 0:
                info_fd = _open_dir(base + "/fdinfo")
            try:
                raw = os_open(name, flags, dir_fd=info_fd)
            except OSError as exc:
                if exc.errno not in _VANISHED:
                    raise
                vanished = True
                continue
            try:
                data = os_read(raw, _READ)
                if len(data) == _READ:
                    data = _read_rest(raw, data)
            except OSError as exc:
                # The fdinfo file opened, but the descriptor was closed before
                # the read: the kernel's fdinfo show then fails with ENOENT.
                if exc.errno not in _VANISHED:
                    raise
                vanished = True
                continue
            finally:
                os_close(raw)
            # Descriptors of one object (dups, the usual leak) have the same
            # fdinfo text, flags included: parse it once, copy it per number.
            key = (data, hit[1])
            same = seen.get(key)
            if same is not None:
                append(_renumbered(same, int(name)))
                continue
            try:
                rec = hit[0](int(name), data, hit[1])
                seen[key] = rec
                append(rec)
            except ValueError:
                # The number was closed and reused by another object between
                # readlink and fdinfo: look again at what it is now.
                again = _reread(name, dir_fd, info_fd)
                if again is None:
                    vanished = True
                else:
                    append(again)
    finally:
        os.close(dir_fd)
        if info_fd >= 0:
            os.close(info_fd)
    return out, vanished


def _read_rest(raw: int, first: bytes) -> bytes:
    # Long fdinfo (kprobe_multi links list every address): read to the end.
    parts = [first]
    while True:
        more = os.read(raw, 65536)
        if not more:
            return b"".join(parts)
        parts.append(more)


def _reread(name: str, dir_fd: int, info_fd: int) -> Optional[ProcFD]:
    """Read descriptor ``name`` again (up to twice); None when it vanished or is no longer bpf."""
    for _attempt in range(2):
        try:
            target = os.readlink(name, dir_fd=dir_fd)
            if target not in _FAST:
                return None
            data = _read_at(name, info_fd)
        except OSError as exc:
            if exc.errno not in _VANISHED:
                raise
            return None
        try:
            return fd_record(int(name), target, data)
        except ValueError:
            continue
    return None


def _gone(pid: PidLike, what: str) -> BPFError:
    return from_errno(_errno.ESRCH, Op.PROCFS, f"pid {pid}", reason=what, hint="",
                      cls=ProcessGoneError)


def _alive(base: str) -> bool:
    """The process exists and has not exited (a zombie has exited: its descriptors are gone)."""
    try:
        with open(base + "/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return False
    # The state follows the command name, which is in parentheses and may
    # itself hold ") " : take the last ")".
    state = stat[stat.rfind(b")") + 2:stat.rfind(b")") + 3]
    return state not in (b"Z", b"X", b"x")


def fds(pid: PidLike = "self", *, procfs_root: str = "/proc") -> list[ProcFD]:
    """The bpf descriptors process ``pid`` holds, from /proc/PID/fd and /proc/PID/fdinfo.

    ``pid`` is a process ID or "self". Ordered by descriptor number. The
    target's descriptors are never touched (no pidfd_getfd, no open of
    /proc/PID/fd/N) and no object is opened. Descriptors closed during the
    scan are left out. Needs ptrace access to the process (root, or the same
    user) to list its descriptors.

    Raises:
        ProcessGoneError: no such process, or it exited during the scan.
        BPFPermissionError: /proc/PID/fd may not be read (no ptrace access).
        ValueError: ``pid`` is neither a positive number nor "self".
    """
    base = _pid_dir(pid, procfs_root)
    try:
        out, vanished = _scan(base)
    except OSError as exc:
        if exc.errno in _VANISHED:
            raise _gone(pid, "no such process" if not os.path.exists(base) else
                        "the process exited during the scan") from None
        if exc.errno in (_errno.EACCES, _errno.EPERM):
            raise from_errno(exc.errno, Op.PROCFS, f"pid {pid}", f"{base}/fd",
                             cls=BPFPermissionError, reason="cannot read the descriptor list",
                             hint="needs root or ptrace access to the process") from None
        raise
    if pid != "self" and (vanished or not out) and not _alive(base):
        # Something vanished, or nothing was found: tell "the process exited"
        # (its descriptors were all closed) from "it holds no bpf objects".
        raise _gone(pid, "the process exited during the scan")
    out.sort(key=_by_fd)
    return out


def _by_fd(rec: ProcFD) -> int:
    return rec.fd


def _pids(procfs_root: str) -> Iterable[str]:
    with os.scandir(procfs_root) as it:
        for entry in it:
            name = entry.name
            if name.isdigit():
                yield name


def _comm(base: str) -> Optional[str]:
    try:
        with open(base + "/comm", "rb") as f:
            data = f.read()
    except OSError:
        return None
    # comm is up to 15 bytes of whatever the process set, newline-terminated;
    # it need not be UTF-8.
    return data.rstrip(b"\n").decode("utf-8", "replace")


def holders(*, procfs_root: str = "/proc") -> dict[tuple[ObjType, int], list[Holder]]:
    """For every bpf object held by a process: which processes hold it, through which descriptors.

    What bpftool shows as "pids", with descriptor numbers: ``{(ObjType.MAP,
    42): [Holder(pid=1234, comm='agent', fd=7), ...]}``, each list ordered by
    pid and fd. Every process under ``procfs_root`` is scanned, this one
    included; processes that exit during the scan, and those whose
    descriptors may not be read (not root), are left out. Descriptors are
    read from the thread-group leader's fd table (/proc/PID/fd), which all
    threads share unless one unshared it. Iterator descriptors (``bpf_iter``)
    hold no object of their own and are not listed.
    """
    out: dict[tuple[ObjType, int], list[Holder]] = {}
    for name in _pids(procfs_root):
        base = f"{procfs_root}/{name}"
        try:
            recs, _vanished = _scan(base)
        except OSError as exc:
            if exc.errno in _VANISHED or exc.errno in (_errno.EACCES, _errno.EPERM):
                continue  # exited, or not ours to read
            raise
        if not recs:
            continue
        comm = _comm(base)
        if comm is None:
            continue  # exited after its descriptors were read
        pid = int(name)
        for rec in recs:
            if rec.type is None:
                continue
            out.setdefault((rec.type, rec.id), []).append(Holder(pid, comm, rec.fd))
    for held in out.values():
        held.sort(key=_holder_order)
    return out


def _holder_order(h: Holder) -> tuple[int, int]:
    return (h.pid, h.fd)


# -- perf-event attachments (bpftool perf show) ------------------------------------------

#: BPF_TASK_FD_QUERY's fd_type (enum bpf_task_fd_type) -> bpftool's name of it.
PERF_FD_TYPES: dict[int, str] = {
    0: "raw_tracepoint", 1: "tracepoint", 2: "kprobe", 3: "kretprobe", 4: "uprobe",
    5: "uretprobe",
}

#: The descriptors BPF_TASK_FD_QUERY can answer for: perf events (a
#: tracepoint, kprobe or uprobe with a program, attached by the ioctl or
#: through a perf link) and bpf links (raw tracepoint links; the kernel says
#: ENOTSUPP for the other link types). Both link spellings occur (see above).
_PERF_TARGETS = frozenset({"anon_inode:[perf_event]", "anon_inode:bpf_link",
                           "anon_inode:bpf-link"})
#: Answers that mean "nothing attached here" or "closed meanwhile": skipped.
_NOT_ATTACHED = (_errno.ENOENT, _errno.EBADF, _errno.EOPNOTSUPP, 524, _errno.EINVAL)


@dataclass(frozen=True, slots=True)
class PerfAttachment:
    """A program attached through one descriptor of a process, as ``bpftool perf show`` lists it.

    ``kind`` is bpftool's ``fd_type`` (raw_tracepoint, tracepoint, kprobe,
    kretprobe, uprobe, uretprobe); ``name`` the tracepoint, the kernel
    function (empty for a kprobe given by address) or the uprobe's file;
    ``offset`` the probe's offset (into the function, or the file);
    ``addr`` a kprobe's address when it was given as one.
    """

    pid: int
    fd: int
    prog_id: int
    kind: str
    name: str
    offset: int = 0
    addr: int = 0

    @property
    def is_perf_event(self) -> bool:
        """True for a perf event's descriptor (False for a raw tracepoint link)."""
        return self.kind != "raw_tracepoint"

    def target(self) -> str:
        """What it is attached to, in bpftool's words: ``tracepoint sys_enter_openat``."""
        if self.kind in ("kprobe", "kretprobe"):
            if self.name:
                return f"{self.kind} func {self.name} offset {self.offset}"
            return f"{self.kind} addr {self.addr:x}"
        if self.kind in ("uprobe", "uretprobe"):
            return f"{self.kind} filename {self.name} offset {self.offset}"
        return f"{self.kind} {self.name}"

    def bpftool_line(self) -> str:
        """The line ``bpftool perf show`` prints: ``pid 7  fd 5: prog_id 9  tracepoint  x``."""
        if self.kind in ("kprobe", "kretprobe"):
            where = (f"func {self.name}  offset {self.offset}" if self.name
                     else f"addr {self.addr:x}")
        elif self.kind in ("uprobe", "uretprobe"):
            where = f"filename {self.name}  offset {self.offset}"
        else:
            where = self.name
        return f"pid {self.pid}  fd {self.fd}: prog_id {self.prog_id}  {self.kind}  {where}"

    def __str__(self) -> str:
        """``perf_event FD=8 tracepoint sys_enter_openat``, the leak report's words."""
        what = "perf_event" if self.is_perf_event else "raw_tracepoint link"
        return f"{what} FD={self.fd} {self.target()}"

    def to_bpftool(self) -> dict[str, object]:
        """The record as ``bpftool -j perf show`` prints it."""
        d: dict[str, object] = {"pid": self.pid, "fd": self.fd, "prog_id": self.prog_id,
                                "fd_type": self.kind}
        if self.kind in ("raw_tracepoint", "tracepoint"):
            d["tracepoint"] = self.name
        elif self.kind in ("kprobe", "kretprobe"):
            if self.name:
                d["func"] = self.name
                d["offset"] = self.offset
            else:
                d["addr"] = self.addr
        else:
            d["filename"] = self.name
            d["offset"] = self.offset
        return d


def perf_attachments(pid: PidLike = "self", *, procfs_root: str = "/proc") -> list[PerfAttachment]:
    """The programs process ``pid`` attaches through perf events (BPF_TASK_FD_QUERY).

    Each perf event descriptor (and raw tracepoint link) of the process is
    asked, by number, what program it runs and where: the target's
    descriptors are never opened or copied. Ordered by descriptor. Needs
    root (the kernel asks for CAP_SYS_ADMIN) and ptrace access.

    Raises:
        ProcessGoneError: no such process, or it exited during the scan.
        BPFPermissionError: not root, or /proc/PID/fd may not be read.
    """
    base = _pid_dir(pid, procfs_root)
    try:
        numbers = _perf_fds(base)
    except OSError as exc:
        if exc.errno in _VANISHED:
            raise _gone(pid, "no such process") from None
        if exc.errno in (_errno.EACCES, _errno.EPERM):
            raise from_errno(exc.errno, Op.PROCFS, f"pid {pid}", f"{base}/fd",
                             cls=BPFPermissionError, reason="cannot read the descriptor list",
                             hint="needs root or ptrace access to the process") from None
        raise
    real = os.getpid() if pid == "self" else int(pid)
    out = _query_all(real, numbers)
    if out is None:
        raise _gone(pid, "the process exited during the scan")
    return out


def _perf_fds(base: str) -> list[int]:
    dir_fd = _open_dir(base + "/fd")
    try:
        names = os.listdir(dir_fd)
        out = []
        for name in names:
            try:
                target = os.readlink(name, dir_fd=dir_fd)
            except OSError as exc:
                if exc.errno in _VANISHED:
                    continue
                raise
            if target in _PERF_TARGETS:
                out.append(int(name))
    finally:
        os.close(dir_fd)
    out.sort()
    return out


def _query_all(pid: int, numbers: Iterable[int]) -> Optional[list[PerfAttachment]]:
    """Query each descriptor; None when the process is gone (ESRCH, or ENOENT with no /proc)."""
    # deferred: the /proc scan itself runs without the compiled module
    from ._internal import syscall as _sys

    out = []
    for raw in numbers:
        try:
            q = _sys.task_fd_query(pid, raw, f"pid {pid} fd {raw}")
        except BPFError as exc:
            if exc.errno == _errno.ESRCH:
                return None
            if exc.errno == _errno.EPERM or exc.errno == _errno.EACCES:
                raise
            if exc.errno in _NOT_ATTACHED:
                continue
            raise
        kind = PERF_FD_TYPES.get(q["fd_type"], f"type {q['fd_type']}")
        out.append(PerfAttachment(pid=pid, fd=raw, prog_id=q["prog_id"], kind=kind,
                                  name=q["name"], offset=q["probe_offset"],
                                  addr=q["probe_addr"]))
    if not out and not os.path.exists(f"/proc/{pid}"):
        return None
    return out


def perf_attachments_all(*, procfs_root: str = "/proc") -> list[PerfAttachment]:
    """Every process's perf-event attachments (``bpftool perf show``), by pid then descriptor.

    Processes that exit during the scan, or whose descriptors may not be
    read, are left out.
    """
    out: list[PerfAttachment] = []
    for name in sorted(_pids(procfs_root), key=int):
        try:
            numbers = _perf_fds(f"{procfs_root}/{name}")
        except OSError as exc:
            if exc.errno in _VANISHED or exc.errno in (_errno.EACCES, _errno.EPERM):
                continue
            raise
        if numbers:
            out.extend(_query_all(int(name), numbers) or [])
    return out
