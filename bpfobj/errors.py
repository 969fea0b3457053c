"""The exception hierarchy and the (operation, errno) table.

Owns every exception type bpfobj raises and the one place where an errno
becomes an exception: ``from_errno``. A leaf: imports only the stdlib.

One errno means different things per operation (EPERM is a missing
capability for MAP_CREATE, a frozen map for UPDATE_ELEM, a path outside bpffs
for OBJ_PIN), so the table is keyed by (Op, errno) and each entry says the
reason that applies, with a hint when one helps.
"""

from __future__ import annotations

import enum
import errno as _errno
import os
import resource
from typing import Optional

__all__ = [
    "BPFError",
    "BPFPermissionError",
    "BTFLoadError",
    "ClosedError",
    "ENOTSUPP",
    "KeyExistsError",
    "KeyNotFoundError",
    "LogError",
    "NOT_BPFFS_ERRNO",
    "NotBPFFSError",
    "NotSupportedError",
    "ObjectTypeError",
    "Op",
    "ProcessGoneError",
    "VerifierError",
    "closed",
    "from_errno",
    "strerror",
    "wrong_type",
]

#: The kernel-internal "operation is not supported" errno that leaks out of
#: some bpf commands (BPF_PROG_TEST_RUN for most program types). Python's
#: errno module does not know it; os.strerror renders it "Unknown error 524".
ENOTSUPP = 524

#: The one errno of NotBPFFSError, whatever the kernel answered (OBJ_PIN says EPERM,
#: OBJ_GET says EINVAL, a walk finds it with statfs): one condition, one errno.
NOT_BPFFS_ERRNO = _errno.EINVAL


class Op(str, enum.Enum):
    """The operation an error happened in; its value starts the message."""

    MAP_CREATE = "map create"
    MAP_LOOKUP = "map lookup"
    MAP_UPDATE = "map update"
    MAP_DELETE = "map delete"
    MAP_LOOKUP_AND_DELETE = "map lookup and delete"
    MAP_NEXT_KEY = "map next key"
    MAP_BATCH_LOOKUP = "map batch lookup"
    MAP_BATCH_LOOKUP_AND_DELETE = "map batch lookup and delete"
    MAP_BATCH_UPDATE = "map batch update"
    MAP_BATCH_DELETE = "map batch delete"
    MAP_FREEZE = "map freeze"
    PROG_LOAD = "program load"
    PROG_TEST_RUN = "program test run"
    BTF_LOAD = "btf load"
    ENABLE_STATS = "enable stats"
    LINK_CREATE = "link create"
    LINK_UPDATE = "link update"
    LINK_DETACH = "link detach"
    OBJ_PIN = "pin"
    MAP_PIN = "map pin"
    OBJ_GET = "load pinned"
    OBJ_GET_INFO = "info"
    GET_FD_BY_ID = "open by id"
    GET_NEXT_ID = "next id"
    DUP = "dup"
    FILENO = "fileno"
    DISOWN = "disown"
    MAP_ITERATE = "map iterate"
    PIDFD = "pidfd_getfd"
    FD_PASS = "fd pass"
    PROCFS = "procfs"
    BPFFS_WALK = "walk bpffs"
    LEAK = "leak analysis"
    DEMO = "demo"
    TRACEFS = "tracefs"
    TASK_FD_QUERY = "task fd query"
    PERF_EVENT_OPEN = "perf event open"
    PERF_EVENT_IOCTL = "perf event ioctl"
    MMAP = "mmap"
    EPOLL = "epoll"
    RINGBUF_READ = "ringbuf read"
    PERF_READ = "perf read"


class CompiledModuleError(ImportError):
    """bpfobj's compiled module is missing, or was built from other sources.

    Raised when ``bpfobj._internal.syscall`` is first imported; the message says
    how to rebuild. ``import bpfobj`` itself survives it (the assembler and the
    enums work without the build), and the first use of a name that needs the
    kernel raises it.
    """


class BPFError(OSError):
    """Base class: an OSError whose message names the operation and object.

    ``errno`` keeps the kernel's errno, ``strerror`` the reason, ``filename``
    the path when there is one; ``op`` and ``obj`` say what failed on what.
    ``str(err)`` reads ``"<op> <object>: <reason>[ (<hint>)]"``.
    """

    def __init__(
        self,
        err: int,
        message: str,
        *,
        op: Optional[Op] = None,
        obj: str = "",
        reason: str = "",
        filename: Optional[str] = None,
    ) -> None:
        super().__init__(err, reason or message, filename)
        self.message = message
        self.op = op
        self.obj = obj

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):  # type: ignore[no-untyped-def]
        # Keep pickling (multiprocessing, pytest-xdist) working with our signature.
        # The state (third item) carries subclass attributes such as VerifierError.log.
        return (
            _rebuild,
            (type(self), self.errno, self.message, self.op, self.obj, self.strerror,
             self.filename),
            dict(self.__dict__),
        )


def _rebuild(cls: type[BPFError], err: int, message: str, op: Optional[Op], obj: str,
             reason: str, filename: Optional[str]) -> BPFError:
    return cls(err, message, op=op, obj=obj, reason=reason, filename=filename)


class KeyNotFoundError(BPFError, KeyError):
    """The key is not in the map (ENOENT on an element operation). Also a KeyError."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return self.message


class KeyExistsError(BPFError, FileExistsError):
    """The key exists and UpdateFlags.NOEXIST was given (EEXIST)."""


class BPFPermissionError(BPFError, PermissionError):
    """The kernel refused for lack of privilege, or the object forbids the access."""


class NotSupportedError(BPFError):
    """The running kernel does not support this (EOPNOTSUPP, ENOTSUPP=524, EINVAL in probes)."""


class ObjectTypeError(BPFError, TypeError):
    """The descriptor or pinned path holds another kind of object than asked for."""


class NotBPFFSError(BPFError):
    """The path is not on a bpf filesystem (bpffs) mount."""


class ClosedError(BPFError, ValueError):
    """The object was closed; like I/O on a closed file, also a ValueError."""


class ProcessGoneError(BPFError, ProcessLookupError):
    """The process exited (or never existed) while it was being inspected."""


class LogError(BPFError):
    """The kernel rejected what it was asked to load; ``log`` holds the kernel's log."""

    def __init__(self, err: int, message: str, *, log: str = "", **kw: object) -> None:
        super().__init__(err, message, **kw)  # type: ignore[arg-type]
        self.log = log


class VerifierError(LogError):
    """The verifier rejected a program; ``log`` holds the verifier's log."""


class BTFLoadError(LogError):
    """The kernel rejected BTF; ``log`` holds the kernel's BTF log."""


_NEEDS_BPF = "needs root or CAP_BPF"
_NEEDS_ADMIN = "needs root or CAP_SYS_ADMIN"

_ELEM_OPS = (Op.MAP_LOOKUP, Op.MAP_DELETE, Op.MAP_LOOKUP_AND_DELETE)
_WRITE_OPS = (
    Op.MAP_UPDATE, Op.MAP_DELETE, Op.MAP_LOOKUP_AND_DELETE, Op.MAP_BATCH_UPDATE,
    Op.MAP_BATCH_DELETE, Op.MAP_BATCH_LOOKUP_AND_DELETE,
)

_MAP_OPS = (
    Op.MAP_LOOKUP, Op.MAP_UPDATE, Op.MAP_DELETE, Op.MAP_LOOKUP_AND_DELETE, Op.MAP_NEXT_KEY,
    Op.MAP_BATCH_LOOKUP, Op.MAP_BATCH_LOOKUP_AND_DELETE, Op.MAP_BATCH_UPDATE,
    Op.MAP_BATCH_DELETE, Op.MAP_FREEZE,
)

# (op, errno) -> (exception type, reason, hint). Looked up first with the
# operation, then with None for the errno's meaning in any operation.
_Entry = tuple[type[BPFError], str, str]
_ERRNO_TABLE: dict[tuple[Optional[Op], int], _Entry] = {
    **{(op, _errno.ENOENT): (KeyNotFoundError, "key not found", "") for op in _ELEM_OPS},
    (Op.MAP_UPDATE, _errno.ENOENT): (KeyNotFoundError, "key not found", "UpdateFlags.EXIST"),
    (Op.MAP_UPDATE, _errno.EEXIST): (KeyExistsError, "key exists", "UpdateFlags.NOEXIST"),
    (Op.MAP_UPDATE, _errno.E2BIG): (
        BPFError, "map is full or the index is past the array's end", "max_entries reached"),
    (Op.MAP_UPDATE, _errno.ENOMEM): (BPFError, "out of memory or map is full", ""),
    (Op.MAP_NEXT_KEY, _errno.ENOENT): (KeyNotFoundError, "no next key", ""),
    (Op.MAP_BATCH_DELETE, _errno.ENOENT): (
        KeyNotFoundError, "a key was not found", "the keys before it were deleted"),
    (Op.MAP_BATCH_UPDATE, _errno.ENOENT): (
        KeyNotFoundError, "a key was not found", "UpdateFlags.EXIST; the keys before it were set"),
    (Op.MAP_BATCH_UPDATE, _errno.EEXIST): (
        KeyExistsError, "a key exists", "UpdateFlags.NOEXIST; the keys before it were set"),
    (Op.MAP_BATCH_UPDATE, _errno.E2BIG): (BPFError, "map is full", "max_entries reached"),
    **{(op, _errno.EPERM): (
        BPFPermissionError, "map is frozen or the descriptor is read-only",
        "writes need a writable descriptor of a map that was not frozen")
       for op in _WRITE_OPS},
    (Op.MAP_LOOKUP, _errno.EPERM): (
        BPFPermissionError, "descriptor is write-only", "open the map with read access"),
    (Op.MAP_NEXT_KEY, _errno.EPERM): (
        BPFPermissionError, "descriptor is write-only", "open the map with read access"),
    (Op.MAP_BATCH_LOOKUP, _errno.EPERM): (
        BPFPermissionError, "descriptor is write-only", "open the map with read access"),
    (Op.MAP_FREEZE, _errno.EBUSY): (
        BPFError, "map is busy (already frozen or mmap'ed writable)", ""),
    # A frozen map drops write access from every descriptor, so freezing twice is EPERM too.
    (Op.MAP_FREEZE, _errno.EPERM): (
        BPFPermissionError, "map is already frozen or the descriptor is read-only", ""),
    (Op.MAP_DELETE, _errno.EINVAL): (
        BPFError, "invalid argument", "array, queue and stack elements cannot be deleted"),
    **{(op, err): (NotSupportedError, "not supported by this map type", "")
       for op in _MAP_OPS for err in (_errno.EOPNOTSUPP, ENOTSUPP)},
    (Op.MAP_CREATE, _errno.EPERM): (BPFPermissionError, "operation not permitted", _NEEDS_BPF),
    (Op.MAP_CREATE, _errno.E2BIG): (
        BPFError, "map is too large", "lower max_entries or value_size"),
    (Op.MAP_CREATE, _errno.ENOMEM): (BPFError, "out of memory", "lower max_entries or value_size"),
    (Op.MAP_CREATE, _errno.EINVAL): (
        BPFError, "invalid map attributes", "check type, sizes, flags and max_entries"),
    (Op.PROG_LOAD, _errno.EPERM): (BPFPermissionError, "operation not permitted", _NEEDS_BPF),
    (Op.BTF_LOAD, _errno.EPERM): (BPFPermissionError, "operation not permitted", _NEEDS_BPF),
    (Op.LINK_CREATE, _errno.EPERM): (
        BPFPermissionError, "operation not permitted", "needs root or CAP_NET_ADMIN/CAP_BPF"),
    (Op.OBJ_PIN, _errno.EPERM): (
        NotBPFFSError, "path is not on a bpffs mount, or its name holds a '.'",
        "pin under a bpf filesystem (mount -t bpf bpf DIR)"),
    (Op.OBJ_PIN, _errno.EEXIST): (BPFError, "path exists", "unpin it first"),
    (Op.OBJ_PIN, _errno.ENOENT): (BPFError, "parent directory does not exist", ""),
    (Op.OBJ_GET, _errno.EPERM): (
        BPFPermissionError, "not permitted", "path not on bpffs, or its mode forbids the access"),
    (Op.OBJ_GET, _errno.EACCES): (
        BPFPermissionError, "permission denied", "the pin's mode forbids it"),
    (Op.OBJ_GET, _errno.EINVAL): (NotBPFFSError, "path is not on a bpffs mount", ""),
    (Op.OBJ_GET, _errno.ENOENT): (BPFError, "no such pinned object", ""),
    (Op.GET_FD_BY_ID, _errno.EPERM): (BPFPermissionError, "operation not permitted", _NEEDS_ADMIN),
    (Op.GET_NEXT_ID, _errno.EPERM): (BPFPermissionError, "operation not permitted", _NEEDS_ADMIN),
    (Op.ENABLE_STATS, _errno.EPERM): (BPFPermissionError, "operation not permitted", _NEEDS_ADMIN),
    (Op.GET_FD_BY_ID, _errno.ENOENT): (BPFError, "no object with this id", ""),
    (Op.PROG_TEST_RUN, _errno.EOPNOTSUPP): (
        NotSupportedError, "program type cannot be test-run", ""),
    (Op.PROG_TEST_RUN, ENOTSUPP): (NotSupportedError, "program type cannot be test-run", ""),
    (Op.PROG_TEST_RUN, _errno.EINTR): (
        BPFError, "interrupted by signals 100 times in a row",
        "the kernel restarts the run after each signal: use a smaller repeat"),
    (Op.PROG_TEST_RUN, _errno.ENOSPC): (
        BPFError, "output buffer too small", "pass a larger data_size_out"),
    (Op.PIDFD, _errno.ESRCH): (ProcessGoneError, "no such process", ""),
    (Op.PIDFD, _errno.EBADF): (BPFError, "the process has no such descriptor", ""),
    (Op.PIDFD, _errno.EPERM): (
        BPFPermissionError, "not permitted", "needs ptrace access to the process (root)"),
    (Op.TASK_FD_QUERY, _errno.ENOENT): (
        BPFError, "no such process, or no program is attached to the perf event", ""),
    (Op.TASK_FD_QUERY, _errno.EBADF): (BPFError, "the process has no such descriptor", ""),
    **{(Op.TASK_FD_QUERY, err): (
        BPFError, "not a perf event or raw tracepoint link descriptor", "")
       for err in (_errno.EOPNOTSUPP, ENOTSUPP)},
    (Op.PERF_EVENT_OPEN, _errno.ENOENT): (
        BPFError, "no such event", "check the event id, PMU type and config"),
    (Op.PERF_EVENT_OPEN, _errno.EACCES): (
        BPFPermissionError, "permission denied",
        "needs root or CAP_PERFMON (see /proc/sys/kernel/perf_event_paranoid)"),
    (Op.PERF_EVENT_OPEN, _errno.EPERM): (
        BPFPermissionError, "operation not permitted", "needs root or CAP_PERFMON"),
    (Op.PERF_EVENT_OPEN, _errno.ENODEV): (
        NotSupportedError, "no such CPU or PMU", ""),
    (Op.MMAP, _errno.EPERM): (
        BPFPermissionError, "mapping not permitted", "a read-only or frozen descriptor?"),
    (None, _errno.EBADF): (BPFError, "bad file descriptor", ""),
    (None, _errno.EMFILE): (
        BPFError, "too many open files", "the process hit RLIMIT_NOFILE"),
    (None, _errno.ENFILE): (BPFError, "too many open files in the system", ""),
    (None, _errno.EPERM): (BPFPermissionError, "operation not permitted", _NEEDS_BPF),
    (None, _errno.EACCES): (BPFPermissionError, "permission denied", ""),
    (None, _errno.EOPNOTSUPP): (NotSupportedError, "not supported by this kernel", ""),
    (None, ENOTSUPP): (NotSupportedError, "not supported by this kernel", ""),
    (None, _errno.ENOSYS): (
        NotSupportedError, "bpf() is not available", "kernel built without BPF?"),
    (None, _errno.ESRCH): (ProcessGoneError, "no such process", ""),
}


def strerror(err: int) -> str:
    """Describe an errno, including the kernel-internal ones Python lacks."""
    if err == ENOTSUPP:
        return "operation not supported (ENOTSUPP)"
    return os.strerror(err)


def from_errno(
    err: int,
    op: Op,
    obj: object = "",
    path: Optional[str] = None,
    *,
    reason: str = "",
    hint: Optional[str] = None,
    cls: Optional[type[BPFError]] = None,
    log: Optional[str] = None,
) -> BPFError:
    """Build (do not raise) the exception for errno ``err`` in operation ``op`` on ``obj``.

    The one builder of every bpfobj exception. The (op, errno) table gives the class,
    the reason and the hint; ``reason``, ``hint`` (``""`` drops the table's) and ``cls``
    override them when the caller knows better. ``obj`` is rendered with ``str()``
    (``Hash(counts)#7``); ``path`` becomes the exception's ``filename`` and is named in
    the message, which reads ``"<op> <object> '<path>': <reason>[ (<hint>)]"``. ``log``
    is the kernel's log for a LogError (VerifierError, BTFLoadError). A NotBPFFSError
    always carries NOT_BPFFS_ERRNO.
    """
    entry = _ERRNO_TABLE.get((op, err)) or _ERRNO_TABLE.get((None, err))
    if entry is None:
        table_cls, table_reason, table_hint = BPFError, strerror(err).lower(), ""
    else:
        table_cls, table_reason, table_hint = entry
    if err == _errno.EMFILE:
        table_hint = _rlimit_hint()
    cls = cls or table_cls
    reason = reason or table_reason
    hint = table_hint if hint is None else hint
    if issubclass(cls, NotBPFFSError):
        err = NOT_BPFFS_ERRNO
    target = str(obj)
    if path is not None:
        target = f"{target} {path!r}".strip()
    message = f"{op.value} {target}: {reason}" if target else f"{op.value}: {reason}"
    if hint:
        message += f" ({hint})"
    if issubclass(cls, LogError):
        return cls(err, message, log=log or "", op=op, obj=str(obj), reason=reason,
                   filename=path)
    return cls(err, message, op=op, obj=str(obj), reason=reason, filename=path)


def _rlimit_hint() -> str:
    try:
        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (OSError, ValueError):
        return "the process hit RLIMIT_NOFILE"
    return f"the process hit RLIMIT_NOFILE={soft}"


def closed(op: Op, obj: object = "") -> BPFError:
    """Build the error for an operation on a closed object (a ClosedError, EBADF)."""
    return from_errno(_errno.EBADF, op, obj, reason="object is closed", hint="", cls=ClosedError)


def wrong_type(op: Op, obj: object, got: str, want: str,
               path: Optional[str] = None) -> BPFError:
    """Build the error for a descriptor or pin of the wrong kind (an ObjectTypeError, EINVAL).

    The message reads "dup fd 7: is a bpf-prog, not a bpf-map", or for a pin
    "load pinned map '/sys/fs/bpf/x': holds a bpf-prog, not a bpf-map".
    """
    verb = "holds" if path is not None else "is"
    return from_errno(_errno.EINVAL, op, obj, path, reason=f"{verb} a {got}, not a {want}",
                      hint="", cls=ObjectTypeError)
