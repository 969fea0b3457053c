"""The bpf filesystem: is a path on one, where is one mounted, and what is pinned in it.

Owns ``is_bpffs(path)`` (statfs magic), ``mounts(pid)`` (the bpffs mounts a
process sees, from /proc/PID/mountinfo, as paths usable from here), ``walk(root)``
(every pinned object under a directory, with its type, ID and info), the
records ``Mount`` and ``Pinned``, and the pure mountinfo parsers
(``parse_mountinfo``, ``parse_mountinfo_line``, ``unescape``), which raise
only ValueError on bad input. Imports ``_sys``, ``_types``, ``errors``,
``_internal.linux``, ``procfs`` (process directories) and the object wrappers
through ``_any.CLASSES`` (to describe what is pinned).
"""

from __future__ import annotations

import dataclasses
import errno as _errno
import os
import stat as _stat
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Optional, Union

from ._any import CLASSES
from ._internal import linux
from ._internal import syscall as _sys
from ._internal.fd import FD
from ._types import ObjType, fd_type
from .errors import NOT_BPFFS_ERRNO, BPFError, NotBPFFSError, Op, from_errno
from .link import LinkInfo
from .map import MapInfo
from .map import read_info as read_map_info
from .procfs import _alive, _gone, _pid_dir
from .prog import ProgramInfo

PinnedInfo = Union[MapInfo, ProgramInfo, LinkInfo, None]

__all__ = [
    "BPF_FS_MAGIC",
    "Mount",
    "Pinned",
    "is_bpffs",
    "mounts",
    "parse_mountinfo",
    "parse_mountinfo_line",
    "unescape",
    "walk",
]

#: statfs(2)'s f_type of a bpf filesystem.
BPF_FS_MAGIC = _sys.BPF_FS_MAGIC

PathLike = Union[str, "os.PathLike[str]"]


def is_bpffs(path: PathLike) -> bool:
    """Whether ``path`` is on a bpf filesystem (statfs f_type is BPF_FS_MAGIC).

    False when the path does not exist or cannot be examined (like
    ``os.path.isdir``). Symbolic links are followed.
    """
    try:
        return _sys.statfs_type(os.fspath(path)) == BPF_FS_MAGIC
    except (OSError, ValueError):
        return False


# -- mountinfo ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Mount:
    """One line of /proc/PID/mountinfo (``mounts()`` keeps the bpf ones).

    ``mountpoint`` is the mount point as the process sees it (relative to its
    root directory, in its mount namespace); ``reachable`` the same directory
    as a path usable from this process: ``mountpoint`` itself when the
    process shares our mount namespace and root, else
    ``/proc/PID/root`` + ``mountpoint`` (``via_proc_root`` says which).
    ``root`` is the directory of the filesystem that is mounted there ("/"
    unless a subdirectory was bind-mounted). ``options`` are the per-mount
    options (``rw,relatime``), ``super_options`` the filesystem's
    (``rw,mode=700``), ``optional`` the propagation tags (``shared:5``).
    """

    mount_id: int
    parent_id: int
    major: int
    minor: int
    root: str
    mountpoint: str
    options: str
    optional: tuple[str, ...]
    fstype: str
    source: str
    super_options: str
    reachable: str = ""
    via_proc_root: bool = False

    @property
    def path(self) -> str:
        """The mount point as a path usable from this process (``reachable``)."""
        return self.reachable or self.mountpoint


def unescape(field: Union[bytes, str]) -> str:
    """Undo mountinfo's octal escapes (``\\040`` is a space) and decode the path.

    The kernel escapes space, tab, newline and backslash in paths as a
    backslash and three octal digits (``\\040``, ``\\011``, ``\\012``,
    ``\\134``), so that a line splits on spaces. A backslash not followed by
    three octal digits (never written by the kernel) is kept as it is. Bytes
    that are not UTF-8 survive as surrogate escapes (``os.fsdecode``), so the
    result opens the same file. Pure.

    Raises:
        ValueError: an escape above ``\\377`` (not a byte).
    """
    if isinstance(field, str):
        field = os.fsencode(field)
    if b"\\" not in field:
        return os.fsdecode(field)
    out = bytearray()
    i, n = 0, len(field)
    while i < n:
        c = field[i]
        if c == 0x5C and _is_octal(field[i + 1:i + 4]):
            value = int(field[i + 1:i + 4], 8)
            if value > 0xFF:
                raise ValueError(f"mountinfo escape {field[i:i + 4]!r} is not a byte")
            out.append(value)
            i += 4
        else:
            out.append(c)
            i += 1
    return os.fsdecode(bytes(out))


def _is_octal(three: bytes) -> bool:
    return len(three) == 3 and all(0x30 <= b <= 0x37 for b in three)


def parse_mountinfo_line(line: Union[bytes, str]) -> Mount:
    """Parse one line of /proc/PID/mountinfo (see proc(5)). Pure.

    ``36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue``:
    mount ID, parent ID, major:minor, root, mount point, mount options, zero
    or more optional fields, a lone ``-``, filesystem type, source, super
    options.

    Raises:
        ValueError: the line does not have that shape.
    """
    if isinstance(line, str):
        line = os.fsencode(line)
    line = line.rstrip(b"\n")
    # Fields are separated by single spaces; spaces inside paths are escaped
    # (\040), so a plain split is exact.
    fields = line.split(b" ")
    if len(fields) < 10:
        raise ValueError(f"mountinfo line has {len(fields)} fields, needs at least 10: {line!r}")
    # The optional fields (shared:N, master:N, propagate_from:N, unbindable)
    # run up to a lone "-"; their number varies, so find the separator. The
    # first six fields are fixed (a path is never a lone "-": it is absolute).
    try:
        sep = fields.index(b"-", 6)
    except ValueError:
        raise ValueError(f"mountinfo line has no ' - ' separator: {line!r}") from None
    tail = fields[sep + 1:]
    # After the separator: type, source, super options. A kernel older than
    # 2.6.26 printed no super options; an empty source shows as "none" (or
    # as an empty field, which splits into b"").
    if len(tail) < 2 or len(tail) > 3:
        raise ValueError(f"mountinfo line has {len(tail)} fields after ' - ', needs 3: {line!r}")
    dev = fields[2].split(b":")
    if len(dev) != 2:
        raise ValueError(f"mountinfo device {fields[2]!r} is not major:minor")
    try:
        mount_id, parent_id = int(fields[0]), int(fields[1])
        major, minor = int(dev[0]), int(dev[1])
    except ValueError:
        raise ValueError(f"mountinfo line has a bad number: {line!r}") from None
    if min(mount_id, parent_id, major, minor) < 0 or not fields[0].isdigit():
        raise ValueError(f"mountinfo line has a negative number: {line!r}")
    mountpoint = unescape(fields[4])
    return Mount(
        mount_id=mount_id, parent_id=parent_id, major=major, minor=minor,
        root=unescape(fields[3]), mountpoint=mountpoint, options=_text(fields[5]),
        optional=tuple(_text(f) for f in fields[6:sep]), fstype=_text(tail[0]),
        source=unescape(tail[1]), super_options=unescape(tail[2]) if len(tail) > 2 else "",
        reachable=mountpoint,
    )


def _text(field: bytes) -> str:
    return field.decode("utf-8", "surrogateescape")


def parse_mountinfo(data: Union[bytes, str]) -> list[Mount]:
    """Parse the whole of /proc/PID/mountinfo, one Mount per line, in order. Pure.

    Raises:
        ValueError: a line does not have mountinfo's shape.
    """
    if isinstance(data, str):
        data = os.fsencode(data)
    return [parse_mountinfo_line(line) for line in data.split(b"\n") if line]


def _same_view(pid_dir: str, procfs_root: str) -> bool:
    """Whether the process shares our mount namespace and root directory."""
    try:
        return (os.readlink(pid_dir + "/ns/mnt") == os.readlink(procfs_root + "/self/ns/mnt")
                and os.readlink(pid_dir + "/root") == os.readlink(procfs_root + "/self/root"))
    except OSError:
        return False  # cannot tell (no ptrace access): go through /proc/PID/root


def mounts(pid: Union[int, str] = "self", *, procfs_root: str = "/proc") -> list[Mount]:
    """The bpffs mounts process ``pid`` sees, from /proc/PID/mountinfo, in mount order.

    Each Mount's ``reachable`` is a path usable from this process: the mount
    point itself when the process shares our mount namespace and root
    directory, else ``/proc/PID/root/<mountpoint>`` (``via_proc_root``), which
    reaches into the other namespace (needs ptrace access to the process). A
    bpffs hidden under a later mount on the same mount point is left out:
    nothing under it can be reached by path.

    Raises:
        ProcessGoneError: no such process.
        ValueError: ``pid`` is not a process ID or "self"; mountinfo is malformed.
    """
    base = _pid_dir(pid, procfs_root)
    try:
        with open(base + "/mountinfo", "rb") as f:
            data = f.read()
    except OSError as exc:
        if exc.errno in (_errno.ENOENT, _errno.ESRCH):
            raise _gone(pid, "no such process") from None
        # A process that exited but was not reaped (a zombie) has no mount
        # namespace any more: opening its mountinfo fails with EINVAL.
        if exc.errno == _errno.EINVAL and not _alive(base):
            raise _gone(pid, "the process exited") from None
        raise
    if not data and pid != "self" and not _alive(base):
        raise _gone(pid, "the process exited")
    every = parse_mountinfo(data)
    # The last mount on a mount point is the one a path reaches.
    top: dict[str, int] = {m.mountpoint: i for i, m in enumerate(every)}
    via_root = pid != "self" and not _same_view(base, procfs_root)
    out = []
    for i, m in enumerate(every):
        if m.fstype != "bpf" or top[m.mountpoint] != i:
            continue
        if via_root:
            m = dataclasses.replace(m, reachable=base + "/root" + m.mountpoint.rstrip("/"),
                                    via_proc_root=True)
        out.append(m)
    return out


# -- walk ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pinned:
    """An object pinned in a bpffs: where, what kind, which ID, and its info.

    ``info`` is the object's MapInfo, ProgramInfo or LinkInfo; None only when
    the info could not be converted (a kind our wrappers do not know yet).
    """

    path: str
    type: ObjType
    id: int
    info: PinnedInfo = None

    def __str__(self) -> str:
        what = str(self.info) if self.info is not None else f"{self.type.value} id {self.id}"
        return f"{self.path}: {what}"


_RDONLY = _sys.const("BPF_F_RDONLY")


def _open_pinned(path: str) -> Optional[FD]:
    """BPF_OBJ_GET ``path`` read-only; None when nothing can be opened there (ENOENT)."""
    try:
        # Read-only: a walk must not hold a writable map descriptor, and a pin
        # whose mode allows only reads still opens.
        return _sys.obj_get(path, _RDONLY, "object")
    except BPFError as exc:
        if exc.errno == _errno.ENOENT:
            # Unpinned since the listing, or one of the kernel's own entries
            # of a fresh bpffs root (maps.debug, progs.debug: iterator files
            # that BPF_OBJ_GET does not open).
            return None
        if exc.errno != _errno.EINVAL:
            raise
    # Links open only read-write (bpf_obj_get_user answers EINVAL for any other
    # mode), so a link pin needs a second try without BPF_F_RDONLY.
    try:
        return _sys.obj_get(path, 0, "object")
    except BPFError as exc:
        if exc.errno == _errno.ENOENT:
            return None
        raise


def _describe(fd: FD, path: str) -> Optional[Pinned]:
    """The Pinned record of an open pinned object (its descriptor stays the caller's)."""
    kind = fd_type(fd.raw)
    if kind is None or kind is ObjType.BTF:
        return None  # bpffs pins only maps, programs and links
    info: PinnedInfo = None
    obj_id = 0
    try:
        if kind is ObjType.MAP:
            # One info call, converted without a Map wrapper (leak analysis
            # walks thousands of pins).
            info = read_map_info(fd, path)
        else:
            # A wrapper of its own duplicate (closed by ``with``; by _adopting on error).
            with CLASSES[kind]._adopting(fd.clone(), pinned=path, check_type=False,
                                         op=Op.OBJ_GET, what=path) as obj:
                got = obj.info()
            assert isinstance(got, (ProgramInfo, LinkInfo))  # bpffs pins no BTF
            info = got
        obj_id = int(info.id)
    except (ValueError, NotImplementedError):
        # A kind or type our wrappers cannot describe: the ID still comes
        # from our descriptor's fdinfo.
        obj_id = _own_id(fd, kind)
        info = None
    return Pinned(path, kind, obj_id, info)


def _own_id(fd: FD, kind: ObjType) -> int:
    value = linux.fdinfo(fd.raw).get(kind.id_key, "0")
    return int(value) if value.isdigit() else 0


def walk(root: PathLike) -> Iterator[Pinned]:
    """Yield every object pinned under ``root`` (a bpffs directory), depth first.

    Each pinned object is opened read-only (BPF_OBJ_GET with BPF_F_RDONLY;
    links, which open only read-write, without it), described, and closed
    again before it is yielded: the walk holds no descriptor between items.
    In each directory the pins come first, then its subdirectories, each in
    name order. Names may hold any characters. Directories are recursed, symbolic links
    are not followed, and the walk stays on ``root``'s filesystem. Pins that
    vanish during the walk, and the kernel's own ``maps.debug`` and
    ``progs.debug`` of a fresh bpffs root (which BPF_OBJ_GET does not open),
    are skipped. ``root`` may also be a single pinned object.

    Raises:
        NotBPFFSError: ``root`` is not on a bpf filesystem.
        FileNotFoundError: ``root`` does not exist.
        BPFError: a pinned object could not be opened (a pin's mode forbids it).
    """
    top = os.fspath(root)
    try:
        fs_type = _sys.statfs_type(top)
    except OSError as exc:
        raise FileNotFoundError(exc.errno, f"walk bpffs {top!r}: {exc.strerror}", top) from None
    if fs_type != BPF_FS_MAGIC:
        raise from_errno(NOT_BPFFS_ERRNO, Op.BPFFS_WALK, "", top, cls=NotBPFFSError,
                         reason="not on a bpffs mount",
                         hint="mount one with: mount -t bpf bpf DIR")
    st = os.stat(top)
    if not _stat.S_ISDIR(st.st_mode):
        yield from _one(top)
        return
    yield from _walk_dir(top, st.st_dev)


def _one(path: str) -> Iterator[Pinned]:
    rec = _pinned_at(path)
    if rec is not None:
        yield rec


def _pinned_at(path: str) -> Optional[Pinned]:
    """Open the pin at ``path``, describe it, close it; None when nothing is pinned there."""
    fd = _open_pinned(path)
    if fd is None:
        return None
    try:
        return _describe(fd, path)
    finally:
        fd.close()


def _walk_dir(top: str, dev: int) -> Iterator[Pinned]:
    # An explicit stack instead of recursion: deep trees cannot hit the
    # recursion limit, and a file costs no generator of its own.
    stack = [top]
    while stack:
        path = stack.pop()
        try:
            with os.scandir(path) as it:
                entries = sorted(it, key=_by_name)
        except FileNotFoundError:
            continue  # removed during the walk
        subdirs = []
        for entry in entries:
            try:
                if entry.is_symlink():
                    continue  # not a pin; following it could loop or leave the tree
                if entry.is_dir(follow_symlinks=False):
                    # Stay on this filesystem (like find -xdev): a bpffs mounted
                    # below is a mount of its own, walked when it is asked for.
                    if entry.stat(follow_symlinks=False).st_dev == dev:
                        subdirs.append(entry.path)
                    continue
            except FileNotFoundError:
                continue
            rec = _pinned_at(entry.path)
            if rec is not None:
                yield rec
        # Files of a directory first, then its subdirectories, each by name.
        stack.extend(reversed(subdirs))


def _by_name(entry: os.DirEntry[str]) -> str:
    return entry.name
