"""tracefs: where it is mounted, event ids, and the names it accepts.

Owns finding the tracing filesystem (``mount_point()``), mounting it when it
is absent and we may (root), reading an event's id
(``events/GROUP/NAME/id``, what perf_event_open takes as the config of a
PERF_TYPE_TRACEPOINT event) and validating group and event names before they
become paths. Imports only the stdlib and ``errors``; no kernel call goes
through it but the mount (by the ``mount`` command, so that the one module
that talks to the kernel through cffi stays the only one).

Where tracefs lives, in the order tried:

- wherever /proc/self/mountinfo shows a ``tracefs`` mount (a container or an
  operator may have put it anywhere; the first one listed wins);
- ``/sys/kernel/tracing`` and ``/sys/kernel/debug/tracing``: the second is
  an automount inside debugfs, which the kernel creates on first access, so a
  directory with an ``events`` subdirectory there counts even though
  mountinfo does not list it yet;
- otherwise, as root, ``mount -t tracefs nodev /sys/kernel/tracing``.
"""

from __future__ import annotations

import errno as _errno
import os
import re
import shutil
import subprocess
import threading
from typing import Optional

from bpfobj.errors import BPFError, BPFPermissionError, NotSupportedError, Op, from_errno

__all__ = [
    "DEFAULT_MOUNT",
    "event_fields",
    "event_id",
    "parse_format",
    "mount_point",
    "parse_mountinfo",
    "validate_name",
]

#: Where we mount tracefs when nobody has (the kernel's documented place since 4.1).
DEFAULT_MOUNT = "/sys/kernel/tracing"
_CANDIDATES = (DEFAULT_MOUNT, "/sys/kernel/debug/tracing")

# Group and event names are directory names under events/; the kernel's are
# C identifiers (a group may start with a digit: "9p"). Anything else, a '/'
# or ".." above all, would walk out of events/.
_NAME = re.compile(r"[A-Za-z0-9_]+")
_NAME_MAX = 255  # a path component

_lock = threading.Lock()
_cached: Optional[str] = None


def validate_name(kind: str, name: str) -> None:
    """Check a tracefs group or event name: letters, digits and '_' only.

    ``kind`` names the thing in the message ("tracepoint group").

    Raises:
        TypeError: ``name`` is not a str.
        ValueError: empty, too long, or holding another character.
    """
    if not isinstance(name, str):
        raise TypeError(f"{kind} must be a str, not {type(name).__name__}")
    if not name or len(name) > _NAME_MAX or not _NAME.fullmatch(name):
        raise ValueError(f"invalid {kind} {name!r}: tracefs names are letters, digits and '_'")


def parse_mountinfo(data: bytes) -> list[str]:
    """The mount points of every tracefs mount in /proc/PID/mountinfo text, in order.

    A line reads ``ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [TAGS...] - FSTYPE SRC SOPTS``;
    the optional tags make the field count vary, so the type is the field
    after the lone ``-``. Mount points escape space, tab, newline and
    backslash as octal (``\\040``). Malformed lines are skipped.
    """
    out: list[str] = []
    for line in data.splitlines():
        fields = line.split(b" ")
        try:
            sep = fields.index(b"-", 6)
        except ValueError:
            continue
        if len(fields) <= sep + 1 or fields[sep + 1] != b"tracefs" or len(fields) < 5:
            continue
        out.append(os.fsdecode(_unescape(fields[4])))
    return out


def _unescape(field: bytes) -> bytes:
    return re.sub(rb"\\([0-7]{3})", lambda m: bytes((int(m.group(1), 8) & 0xFF,)), field)


def _usable(path: str) -> bool:
    return os.path.isdir(os.path.join(path, "events"))


def _find(procfs_root: str) -> Optional[str]:
    try:
        with open(os.path.join(procfs_root, "self", "mountinfo"), "rb") as f:
            mounted = parse_mountinfo(f.read())
    except OSError:
        mounted = []
    for path in (*mounted, *_CANDIDATES):
        if _usable(path):
            return path
    return None


def mount_point(*, mount: bool = True, procfs_root: str = "/proc") -> str:
    """The directory tracefs is mounted on; mount it at /sys/kernel/tracing if it is nowhere.

    The answer is cached while the directory still holds ``events/``. With
    ``mount=False`` nothing is mounted and an absent tracefs raises.

    Raises:
        NotSupportedError: the kernel has no tracefs (CONFIG_TRACING unset),
            or it is not mounted and ``mount`` is False.
        BPFPermissionError: it is not mounted and we are not root.
        BPFError: the mount failed.
    """
    global _cached
    with _lock:
        if _cached is not None and _usable(_cached):
            return _cached
        found = _find(procfs_root)
        if found is None:
            if not mount:
                raise _error(NotSupportedError, _errno.ENOENT, "not mounted",
                             f"mount -t tracefs nodev {DEFAULT_MOUNT}")
            found = _mount()
        _cached = found
        return found


def _mount() -> str:
    if not _has_tracefs():
        raise _error(NotSupportedError, _errno.ENODEV,
                     "the kernel has no tracefs (built without CONFIG_TRACING)")
    if os.geteuid() != 0:
        raise _error(BPFPermissionError, _errno.EPERM, "not mounted",
                     f"mounting it needs root: mount -t tracefs nodev {DEFAULT_MOUNT}")
    tool = shutil.which("mount") or "/bin/mount"
    try:
        done = subprocess.run([tool, "-t", "tracefs", "nodev", DEFAULT_MOUNT],
                              capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        raise _error(BPFError, _errno.EIO, f"cannot run {tool}: {exc}") from exc
    if done.returncode != 0 or not _usable(DEFAULT_MOUNT):
        why = done.stderr.decode("utf-8", "replace").strip() or f"exit status {done.returncode}"
        raise _error(BPFError, _errno.EIO, f"mount -t tracefs nodev {DEFAULT_MOUNT} failed: {why}")
    return DEFAULT_MOUNT


def _has_tracefs() -> bool:
    try:
        with open("/proc/filesystems", "rb") as f:
            return any(line.split()[-1:] == [b"tracefs"] for line in f)
    except OSError:
        return True  # cannot tell: let the mount say


def _error(cls: type[BPFError], err: int, reason: str, hint: str = "") -> BPFError:
    return from_errno(err, Op.TRACEFS, reason=reason, hint=hint, cls=cls)


def event_id(group: str, name: str, *, what: str = "tracepoint") -> int:
    """The id of trace event ``group/name`` (``events/GROUP/NAME/id``).

    ``what`` names the event in messages ("tracepoint", "kprobe").

    Raises:
        ValueError: a name that is not a tracefs name.
        BPFError: no such event (ENOENT, the message names group/name);
            tracefs absent and not mountable (see ``mount_point``).
    """
    validate_name(f"{what} group", group)
    validate_name(f"{what} name", name)
    path = os.path.join(mount_point(), "events", group, name, "id")
    try:
        with open(path, "rb") as f:
            text = f.read(64)
    except FileNotFoundError:
        reason = f"no {what} {group}/{name}"
        hint = ""
        if not os.path.isdir(os.path.join(mount_point(), "events", group)):
            hint = f"tracefs has no event group {group!r}"
        raise from_errno(_errno.ENOENT, Op.TRACEFS, f"{what} {group}/{name}", path,
                         reason=reason, hint=hint, cls=BPFError) from None
    except OSError as exc:
        err = exc.errno or _errno.EIO
        cls = BPFPermissionError if err in (_errno.EACCES, _errno.EPERM) else BPFError
        raise from_errno(err, Op.TRACEFS, f"{what} {group}/{name}", path,
                         reason=os.strerror(err).lower(), hint="", cls=cls) from exc
    try:
        return int(text.strip())
    except ValueError:
        raise ValueError(f"{path}: not an event id: {text[:32]!r}") from None


_FIELD = re.compile(rb"^\s*field:(.*?);\s*offset:(\d+);\s*size:(\d+);", re.M)


def parse_format(data: bytes) -> dict[str, tuple[int, int]]:
    """Field name -> (offset, size) from an event's ``format`` file.

    ``field:const char * filename;\toffset:24;\tsize:8;\tsigned:0;``: the
    name is the declaration's last word, without an array suffix (``[16]``).
    Lines of another shape are skipped.
    """
    out: dict[str, tuple[int, int]] = {}
    for decl, off, size in _FIELD.findall(data):
        words = decl.split()
        if not words:
            continue
        name = words[-1].split(b"[", 1)[0].lstrip(b"*").decode("ascii", "replace")
        if name:
            out[name] = (int(off), int(size))
    return out


def event_fields(group: str, name: str) -> dict[str, tuple[int, int]]:
    """Field name -> (offset, size) of trace event ``group/name``: where a
    TRACEPOINT program finds each field in its context.

    Raises:
        ValueError: a name that is not a tracefs name.
        BPFError: no such event (see ``event_id``).
    """
    event_id(group, name)  # validates, and names a missing event
    with open(os.path.join(mount_point(), "events", group, name, "format"), "rb") as f:
        return parse_format(f.read(1 << 16))
