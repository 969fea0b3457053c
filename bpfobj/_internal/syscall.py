"""The one door to the kernel: one typed function per bpf() command.

Owns every use of the compiled cffi module (``ffi``/``lib``); no other module
imports it. Imports ``errors`` and ``fd`` only. Each function takes owned
``FD`` objects, zeroes its attr (the C helpers build theirs on the C stack),
sets only its command's members, and returns owned FDs, ints, bytes or plain
dicts, never cdata. Failures become exceptions through ``errors.from_errno``.

The C helpers in cdefs/bpfobj.c return ``-errno`` and retry EINTR, so no
function here reads ``ffi.errno``. BPF_PROG_LOAD is also retried on EAGAIN
(the verifier can be interrupted by a signal).

Calls that pass a descriptor number to the kernel go through FD's close
guard, which lives in C (cdefs/bpfobj.c, see fd.py): the hot calls (map
elements, key walks, batches, map info, clone) are each one C call that
enters the FD's slot, makes the syscall and leaves it; every other call uses
``_call(fd, op, obj, fn, *args)`` or ``fd.borrow()``, which bracket it with
the same slot's enter and leave. So a concurrent close never lets a call act
on a recycled number.
"""

from __future__ import annotations

import contextlib
import errno as _errno
import os
import signal
import struct
import sys
from collections.abc import Callable, Iterator
from typing import Any, Optional

from typing_extensions import Buffer

from bpfobj import _version
from bpfobj.errors import (
    BPFError,
    BTFLoadError,
    CompiledModuleError,
    NotBPFFSError,
    ObjectTypeError,
    Op,
    VerifierError,
    closed,
    from_errno,
)

from . import consts as _consts
from . import fd as _fd_module
from . import linux
from .fd import FD

_COMPILED = "bpfobj._bpfobj_cffi"

try:
    from bpfobj._bpfobj_cffi import ffi, lib
except ImportError as exc:  # pragma: no cover - a broken install
    raise CompiledModuleError(
        "bpfobj's compiled module is missing; rebuild it with `pip install -e .` "
        f"(or reinstall bpfobj): {exc}", name=_COMPILED
    ) from exc


def _verify_package_version() -> None:
    built = ffi.string(lib.BPFOBJ_CDEF_VERSION).decode()
    if built != _version.__version__:
        raise CompiledModuleError(
            f"bpfobj's compiled module was built for version {built}, but the package is "
            f"{_version.__version__}; rebuild it with `pip install -e .` or reinstall bpfobj",
            name=_COMPILED)


def _verify_consts() -> None:
    """The generated constants (consts.py: the enums and asm use them) must be the compiled ones."""
    stale = sorted(name for name, value in _consts.VALUES.items()
                   if getattr(lib, name, None) != value)
    if stale:
        shown = ", ".join(f"{n}={_consts.VALUES[n]} (compiled {getattr(lib, n, 'missing')})"
                          for n in stale[:3])
        raise CompiledModuleError(
            f"bpfobj's constants disagree with its compiled module: {shown}"
            f"{' ...' if len(stale) > 3 else ''}; run `python3 tools/gen_consts.py` after "
            "changing cdefs/bpf.h and rebuild with `pip install -e .`", name=_COMPILED)


_verify_package_version()
_verify_consts()

# FD makes its close-guard slots, duplicates and closes through our C helpers
# (cdefs/bpfobj.c): see fd.py. A slot is an index into a table kept in C.
_ECLOSED: int = lib.BPFOBJ_ECLOSED
_slot_enter = lib.bpfobj_slot_enter
_slot_leave = lib.bpfobj_slot_leave

_fd_module.use_slots(
    new=lib.bpfobj_slot_new, dup=lib.bpfobj_slot_dup, enter=_slot_enter, leave=_slot_leave,
    close=lib.bpfobj_slot_close, disown=lib.bpfobj_slot_disown,
    release=lib.bpfobj_slot_release, dup_cloexec=lib.bpfobj_dup_cloexec,
    close_raw=lib.bpfobj_close, eclosed=_ECLOSED)


def _disable_close_guard_for_tests() -> None:
    """Turn the close guard off in this process, for good: calls pass the number
    without counting, and close() frees it at once. Only tests/test_race.py
    uses it (in a child process) to show the failure the guard prevents."""
    lib.bpfobj_set_close_guard(0)


ATTR_SIZE: int = lib.BPFOBJ_BPF_ATTR_SIZE

# -- constants, for _types.py -------------------------------------------------


def constants(prefix: str) -> dict[str, int]:
    """Every compiled constant whose name starts with ``prefix``, by its full name."""
    return {name: getattr(lib, name) for name in dir(lib) if name.startswith(prefix)}


def const(name: str) -> int:
    """One compiled constant by its kernel name (``BPF_MAP_TYPE_HASH``)."""
    value: int = getattr(lib, name)
    return value


# -- generic helpers ----------------------------------------------------------

_slot_elem = lib.bpfobj_slot_map_elem
_slot_next_keys = lib.bpfobj_slot_map_next_keys
_slot_batch = lib.bpfobj_slot_map_batch
_info_by_fd = lib.bpfobj_obj_get_info_by_fd
_slot_map_info = lib.bpfobj_slot_map_info
_new = ffi.new
_unpack = ffi.unpack
_from_buffer = ffi.from_buffer
NULL: Any = ffi.NULL

_LOOKUP: int = lib.BPF_MAP_LOOKUP_ELEM
_UPDATE: int = lib.BPF_MAP_UPDATE_ELEM
_DELETE: int = lib.BPF_MAP_DELETE_ELEM
_LOOKUP_AND_DELETE: int = lib.BPF_MAP_LOOKUP_AND_DELETE_ELEM
_GET_NEXT_KEY: int = lib.BPF_MAP_GET_NEXT_KEY



def _call(fd: FD, op: Op, obj: object, fn: Callable[..., int], *args: Any) -> int:
    """Run ``fn(raw, *args)`` inside fd's close guard; raise on -errno.

    The guard is the C slot's (enter, call, leave): a close() meanwhile
    waits for this call to leave before the number is freed.
    """
    slot = fd._slot
    raw = _slot_enter(slot)
    if raw < 0:
        raise closed(op, obj)
    try:
        rc = fn(raw, *args)
    finally:
        _slot_leave(slot)
    if rc < 0:
        raise from_errno(-rc, op, obj)
    return rc


def _fail(rc: int, op: Op, obj: object) -> BPFError:
    """The error for a slot call's negative result (closed, or -errno)."""
    return closed(op, obj) if rc == _ECLOSED else from_errno(-rc, op, obj)


def _adopt(rc: int, op: Op, obj: object, path: Optional[str] = None) -> FD:
    if rc < 0:
        raise from_errno(-rc, op, obj, path)
    return FD.adopt(rc)


#: BPF_PROG_TEST_RUN restarts from scratch after each signal: past this many
#: interruptions in a row it gives up with EINTR rather than livelock.
MAX_EINTR = 100


def _bpf(cmd: int, attr: Any, size: int = ATTR_SIZE, max_eintr: int = 0) -> int:
    """bpf(cmd, attr, size), retrying EINTR here in Python: pending signal
    handlers run between tries (a KeyboardInterrupt ends the loop). With
    ``max_eintr`` > 0, give up after that many interruptions in a row."""
    tries = 0
    while True:
        rc = int(lib.bpfobj_bpf(cmd, attr, size))
        if rc != -_errno.EINTR:
            return rc
        tries += 1
        if max_eintr and tries >= max_eintr:
            return rc


def _cstr(buf: Any) -> str:
    return ffi.string(buf).decode("utf-8", "replace")  # type: ignore[no-any-return]


def _set_name(field: Any, name: str, what: str) -> None:
    raw = name.encode()
    if len(raw) >= lib.BPF_OBJ_NAME_LEN:
        raise ValueError(f"{what} name {name!r} is longer than {lib.BPF_OBJ_NAME_LEN - 1} bytes")
    for i, b in enumerate(raw):
        field[i] = bytes((b,))


def dup_cloexec(raw: int) -> FD:
    """Own a duplicate of ``raw``: fcntl(raw, F_DUPFD_CLOEXEC, 1). ``raw`` stays the caller's."""
    return FD.dup(raw)


def fd_flags(fd: FD) -> int:
    """fcntl(F_GETFD) of an owned descriptor."""
    return _call(fd, Op.DUP, fd, lib.bpfobj_get_fd_flags)


# -- maps -----------------------------------------------------------------------


def map_create(
    *,
    map_type: int,
    key_size: int,
    value_size: int,
    max_entries: int,
    map_flags: int = 0,
    name: str = "",
    inner_map_fd: Optional[FD] = None,
    numa_node: int = 0,
    map_ifindex: int = 0,
    btf_fd: Optional[FD] = None,
    btf_key_type_id: int = 0,
    btf_value_type_id: int = 0,
    btf_vmlinux_value_type_id: int = 0,
    map_extra: int = 0,
    obj: object = "",
) -> FD:
    """BPF_MAP_CREATE. Returns the new map's descriptor."""
    attr = _new("union bpf_attr *")
    attr.map_type = map_type
    attr.key_size = key_size
    attr.value_size = value_size
    attr.max_entries = max_entries
    attr.map_flags = map_flags
    _set_name(attr.map_name, name, "map")
    attr.numa_node = numa_node
    attr.map_ifindex = map_ifindex
    attr.btf_key_type_id = btf_key_type_id
    attr.btf_value_type_id = btf_value_type_id
    attr.btf_vmlinux_value_type_id = btf_vmlinux_value_type_id
    attr.map_extra = map_extra
    with _borrow_opt(inner_map_fd) as inner, _borrow_opt(btf_fd) as btf:
        attr.inner_map_fd = inner
        attr.btf_fd = btf
        rc = _bpf(lib.BPF_MAP_CREATE, attr)
    return _adopt(rc, Op.MAP_CREATE, obj)


class _NoFD:
    def __enter__(self) -> int:
        return 0

    def __exit__(self, *exc: object) -> None:
        return None


def _borrow_opt(fd: Optional[FD]) -> Any:
    return _NoFD() if fd is None else fd.borrow()


# Element calls: the map's key and value sizes are checked by the caller (Map);
# keys and values are bytes (a key of None: NULL, for maps without keys). Each
# is one C call that enters fd's close guard, makes the syscall and leaves.


def map_update(fd: FD, key: Optional[bytes], value: bytes, flags: int, obj: object) -> None:
    """BPF_MAP_UPDATE_ELEM (for QUEUE and STACK, key None: push)."""
    rc: int = _slot_elem(fd._slot, _UPDATE, NULL if key is None else key, value, flags)
    if rc < 0:
        raise _fail(rc, Op.MAP_UPDATE, obj)


def map_delete(fd: FD, key: bytes, obj: object) -> None:
    """BPF_MAP_DELETE_ELEM; KeyNotFoundError when the key is absent."""
    rc: int = _slot_elem(fd._slot, _DELETE, key, NULL, 0)
    if rc < 0:
        raise _fail(rc, Op.MAP_DELETE, obj)


# The element fast paths, which Map calls with no Python frame of ours in
# between: one C call each that enters the slot (``fd._slot``), makes the
# syscall and leaves. They take ints and bytes of the map's sizes (the caller
# checks them) and return ints: 0, or a negative code for ``elem_error``. A
# small lookup returns a value of at most 8 bytes as an int of its bytes in
# memory order (to_bytes(size, "little") on a little-endian host, which
# SMALL_VALUES says); SMALL_FAIL with a nonzero ``small_error()`` (this
# thread's code) is a failure. No buffer is shared: the value comes back in
# the result, the code in a per-thread variable.
SMALL_VALUES: bool = sys.byteorder == "little"
SMALL_FAIL: int = lib.BPFOBJ_SMALL_FAIL
slot_map_lookup_small: Callable[[int, bytes, int, int], int] = lib.bpfobj_slot_map_lookup_small
small_error: Callable[[], int] = lib.bpfobj_small_error
slot_map_update: Callable[[int, bytes, bytes, int], int] = lib.bpfobj_slot_map_update
slot_map_delete: Callable[[int, bytes], int] = lib.bpfobj_slot_map_delete
elem_error = _fail


# Value buffers for lookups, by size: (C view, memoryview) of one bytearray.
# A call pops one (or makes one) and puts it back when done: list.pop/append
# are atomic under the GIL, so two threads never write into the same buffer,
# even though the cffi call releases the GIL. memoryview.tobytes() is the
# cheapest copy out (a third of ffi.unpack's cost).
# (A plain list: list.pop on a list subclass costs a tenth of a lookup more.)
ValuePool = list[tuple[Any, memoryview]]
_buffer_pools: dict[int, ValuePool] = {}


def value_pool(size: int) -> ValuePool:
    """The pool of lookup buffers of ``size`` bytes, for ``map_lookup``."""
    pool = _buffer_pools.get(size)
    if pool is None:
        pool = _buffer_pools.setdefault(size, [])
    return pool


def _value_buffer(size: int) -> tuple[Any, memoryview]:
    data = bytearray(size)
    return _from_buffer(data), memoryview(data)


def map_lookup(fd: FD, key: Optional[bytes], pool: ValuePool, size: int, flags: int,
               obj: object) -> bytes:
    """BPF_MAP_LOOKUP_ELEM: the value, ``size`` bytes (key None: peek a QUEUE/STACK).

    ``pool`` is ``value_pool(size)`` of the map's value size (per-CPU: all
    CPUs', padded); the caller keeps it, which saves a dict lookup per call.
    Raises KeyNotFoundError for ENOENT.
    """
    try:
        entry = pool.pop()
    except IndexError:
        entry = _value_buffer(size)
    rc: int = _slot_elem(fd._slot, _LOOKUP, NULL if key is None else key, entry[0], flags)
    if rc < 0:
        pool.append(entry)
        raise _fail(rc, Op.MAP_LOOKUP, obj)
    value: bytes = entry[1].tobytes()
    pool.append(entry)
    return value


def map_lookup_and_delete(fd: FD, key: Optional[bytes], size: int, obj: object) -> bytes:
    """BPF_MAP_LOOKUP_AND_DELETE_ELEM: the value, ``size`` bytes (key None: pop)."""
    buf = _new("char[]", size)
    rc: int = _slot_elem(fd._slot, _LOOKUP_AND_DELETE, NULL if key is None else key, buf, 0)
    if rc < 0:
        raise _fail(rc, Op.MAP_LOOKUP_AND_DELETE, obj)
    value: bytes = _unpack(buf, size)
    return value


def map_next_key(fd: FD, key: Optional[bytes], size: int, obj: object) -> Optional[bytes]:
    """BPF_MAP_GET_NEXT_KEY: the key after ``key`` (None: the first), None at the end.

    ``size`` is the map's key size.
    """
    buf = _new("char[]", size)
    rc: int = _slot_elem(fd._slot, _GET_NEXT_KEY, NULL if key is None else key, buf, 0)
    if rc < 0:
        if rc == -_errno.ENOENT:
            return None
        raise _fail(rc, Op.MAP_NEXT_KEY, obj)
    out: bytes = _unpack(buf, size)
    return out


#: Keys read ahead per C call by map_keys.
KEYS_AHEAD = 64


def map_keys(fd: FD, size: int, limit: int, obj: object) -> Iterator[bytes]:
    """Walk the map with BPF_MAP_GET_NEXT_KEY from its first key: each key as bytes.

    ``size`` is the map's key size. The walk reads up to KEYS_AHEAD keys per C
    call (each step a GET_NEXT_KEY from the key before, inside the close
    guard, never across a ``yield``), so it sees the map as each step finds
    it. After ``limit`` keys past the first (a hash map restarts its walk when
    the current key is deleted meanwhile) it stops with a BPFError (EAGAIN)
    rather than loop forever.
    """
    ahead = KEYS_AHEAD
    out = _new("char[]", size * ahead)
    last = _new("char[]", size)
    got = _new("__u32 *")
    slot = fd._slot
    key = NULL
    left = limit + 1
    while True:
        rc: int = _slot_next_keys(slot, key, out, size, ahead, got)
        n = got[0]
        if n:
            if n > left:
                raise from_errno(_errno.EAGAIN, Op.MAP_ITERATE, repr(obj), cls=BPFError,
                                 reason="the map changed too much during iteration",
                                 hint="retry or use batch_lookup()")
            left -= n
            chunk: bytes = _unpack(out, size * n)
            end = size * (n - 1)
            _memmove(last, out + end, size)
            key = last
            if n == 1:
                yield chunk
            else:
                for i in range(0, end + 1, size):
                    yield chunk[i:i + size]
        if rc < 0:
            if rc == -_errno.ENOENT:
                return
            raise _fail(rc, Op.MAP_NEXT_KEY, obj)


def _batch(fd: FD, cmd: int, op: Op, in_batch: Any, out_batch: Any, keys: Any, values: Any,
           count: int, elem_flags: int, obj: object) -> tuple[int, bool]:
    """One BPF_MAP_*_BATCH call: (elements processed, reached the end).

    ENOENT from the lookup batches means "no more elements" and is not an error.
    """
    cnt = _new("__u32 *", count)
    rc: int = _slot_batch(fd._slot, cmd, in_batch, out_batch, keys, values, cnt, elem_flags)
    if rc < 0:
        if rc == -_errno.ENOENT and cmd in (_LOOKUP_BATCH, _LOOKUP_AND_DELETE_BATCH):
            return int(cnt[0]), True
        raise _fail(rc, op, obj)
    return int(cnt[0]), False


_LOOKUP_BATCH: int = lib.BPF_MAP_LOOKUP_BATCH
_LOOKUP_AND_DELETE_BATCH: int = lib.BPF_MAP_LOOKUP_AND_DELETE_BATCH


def map_lookup_batch(fd: FD, key_size: int, value_size: int, chunk: int, delete: bool,
                     obj: object) -> tuple[bytes, bytes, int]:
    """Read the whole map with BPF_MAP_LOOKUP_BATCH (or LOOKUP_AND_DELETE_BATCH).

    ``value_size`` is the stride of one element's value (a per-CPU map's: every
    CPU's, padded). Returns the keys and the values packed back to back, and
    how many elements there were. ``chunk`` elements per call; a hash bucket
    that holds more (ENOSPC) doubles it.
    """
    op = Op.MAP_BATCH_LOOKUP_AND_DELETE if delete else Op.MAP_BATCH_LOOKUP
    cmd = _LOOKUP_AND_DELETE_BATCH if delete else _LOOKUP_BATCH
    # The kernel's out_batch token is the size of a key for hash maps (a
    # bucket index, u32, for others): a key-sized buffer of at least 4.
    tok_size = max(key_size, 4)
    in_tok, out_tok = _new("char[]", tok_size), _new("char[]", tok_size)
    key_parts: list[bytes] = []
    val_parts: list[bytes] = []
    total = 0
    first = True
    keys = _new("char[]", key_size * chunk)
    values = _new("char[]", value_size * chunk)
    while True:
        try:
            n, done = _batch(fd, cmd, op, NULL if first else in_tok, out_tok, keys, values,
                             chunk, 0, obj)
        except BPFError as exc:
            if exc.errno == _errno.ENOSPC and chunk < 1 << 20:
                chunk *= 2
                keys = _new("char[]", key_size * chunk)
                values = _new("char[]", value_size * chunk)
                continue
            raise
        if n:
            key_parts.append(_unpack(keys, key_size * n))
            val_parts.append(_unpack(values, value_size * n))
            total += n
        if done:
            break
        first = False
        in_tok, out_tok = out_tok, in_tok
    rk = key_parts[0] if len(key_parts) == 1 else b"".join(key_parts)
    rv = val_parts[0] if len(val_parts) == 1 else b"".join(val_parts)
    return rk, rv, total


def map_update_batch(fd: FD, keys: Buffer, values: Buffer, count: int, flags: int,
                     obj: object) -> int:
    """BPF_MAP_UPDATE_BATCH of ``count`` packed keys and values; returns how many."""
    return _batch(fd, lib.BPF_MAP_UPDATE_BATCH, Op.MAP_BATCH_UPDATE, NULL, NULL,
                  _from_buffer(keys), _from_buffer(values), count, flags, obj)[0]


def map_delete_batch(fd: FD, keys: Buffer, count: int, obj: object) -> int:
    """BPF_MAP_DELETE_BATCH of ``count`` packed keys; returns how many."""
    return _batch(fd, lib.BPF_MAP_DELETE_BATCH, Op.MAP_BATCH_DELETE, NULL, NULL,
                  _from_buffer(keys), NULL, count, 0, obj)[0]


def map_freeze(fd: FD, obj: object) -> None:
    """BPF_MAP_FREEZE."""
    attr = _new("union bpf_attr *")

    def run(raw: int) -> int:
        attr.map_fd = raw
        return _bpf(lib.BPF_MAP_FREEZE, attr)

    _call(fd, Op.MAP_FREEZE, obj, run)


def _struct_of(ctype: str, names: tuple[str, ...]) -> struct.Struct:
    """A struct.Struct reading ``names`` of ``ctype``, laid out from the compiled offsets.

    Unsigned members of 4 or 8 bytes and char arrays only; everything else is skipped.
    """
    fields = dict(ffi.typeof(ctype).fields)
    fmt, pos = "=", 0
    for name in names:
        f = fields[name]
        if f.offset > pos:
            fmt += f"{f.offset - pos}x"
        size = ffi.sizeof(f.type)
        if f.type.kind == "array":
            fmt += f"{size}s"
        else:
            fmt += {4: "I", 8: "Q"}[size]
        pos = f.offset + size
    return struct.Struct(fmt)


#: struct bpf_map_info as MapInfo reads it, in this order (``name`` decoded), then
#: the two keys of the map's fdinfo: ``frozen`` (0 or 1) and ``memlock`` (bytes).
MAP_INFO_ORDER = (
    "type", "id", "key_size", "value_size", "max_entries", "map_flags", "name", "ifindex",
    "btf_vmlinux_value_type_id", "netns_dev", "netns_ino", "btf_id", "btf_key_type_id",
    "btf_value_type_id", "btf_vmlinux_id", "map_extra", "frozen", "memlock",
)
_MAP_INFO_SIZE: int = ffi.sizeof("struct bpf_map_info")
# One buffer holds the info struct, then the two fdinfo values (long long each),
# so that one unpack gives bytes that compare equal exactly when nothing changed.
_MAP_INFO_ALL = _MAP_INFO_SIZE + 16
_MAP_INFO_STRUCT = struct.Struct(
    _struct_of("struct bpf_map_info", MAP_INFO_ORDER[:-2]).format
    + f"{_MAP_INFO_SIZE - _struct_of('struct bpf_map_info', MAP_INFO_ORDER[:-2]).size}x" + "qq")
# (C view keeping the bytearray alive, info pointer, fdinfo pointer, memoryview):
# memoryview.tobytes() copies out for a third of ffi.unpack's cost, as for lookups.
_info_pool: list[tuple[Any, Any, Any, memoryview]] = []
_memmove = ffi.memmove
_cast = ffi.cast


def map_info_bytes(fd: FD, obj: object, fdinfo: bool = True) -> bytes:
    """BPF_OBJ_GET_INFO_BY_FD for a map, then its fdinfo: one C call, as bytes.

    Two equal results describe the same state; ``parse_map_info`` reads one.
    Buffers are pooled like the lookup buffers (the C side zeroes the info).
    ``fdinfo=False`` skips the fdinfo read (frozen then reads False, memlock -1).
    """
    try:
        entry = _info_pool.pop()
    except IndexError:
        data = bytearray(_MAP_INFO_ALL)
        buf = _from_buffer(data)
        entry = (buf, _cast("struct bpf_map_info *", buf),
                 _cast("long long *", buf + _MAP_INFO_SIZE), memoryview(data))
    extra = entry[2]
    if not fdinfo:
        extra[0] = extra[1] = -1
    rc: int = _slot_map_info(fd._slot, entry[1], extra if fdinfo else NULL)
    if rc < 0:
        _info_pool.append(entry)
        raise _fail(rc, Op.OBJ_GET_INFO, obj)
    out: bytes = entry[3].tobytes()
    _info_pool.append(entry)
    return out


def parse_map_info(raw: bytes) -> tuple[Any, ...]:
    """The members of MAP_INFO_ORDER from ``map_info_bytes``: ``name`` as str,
    ``frozen`` as bool, ``memlock`` as int (-1 when the fdinfo was unreadable)."""
    v = _MAP_INFO_STRUCT.unpack_from(raw)
    name: bytes = v[6]
    return (*v[:6], name.split(b"\0", 1)[0].decode("utf-8", "replace"), *v[7:16],
            v[16] > 0, v[17])


def map_info(fd: FD, obj: object, fdinfo: bool = True) -> dict[str, Any]:
    """BPF_OBJ_GET_INFO_BY_FD for a map and its fdinfo: the MAP_INFO_ORDER members as a dict."""
    return dict(zip(MAP_INFO_ORDER, parse_map_info(map_info_bytes(fd, obj, fdinfo)), strict=True))


def _struct_to_dict(cdata: Any) -> dict[str, Any]:
    """Convert a (nested) C struct to a dict: char arrays to str, other arrays to lists."""
    out: dict[str, Any] = {}
    for name, field in ffi.typeof(cdata).fields:
        if name is None:
            continue
        value = getattr(cdata, name)
        out[name] = _value(value, field.type)
    return out


def _value(value: Any, tp: Any) -> Any:
    if tp.kind == "struct" or tp.kind == "union":
        return _struct_to_dict(value)
    if tp.kind == "array":
        if tp.item.cname == "char":
            return _cstr(value)
        return [_value(v, tp.item) for v in value]
    return value


def _get_info(fd: FD, ctype: str, obj: object, setup: Optional[Callable[[Any], None]] = None
              ) -> Any:
    """BPF_OBJ_GET_INFO_BY_FD into a fresh ``ctype``; ``setup(info)`` first sets the
    members through which the kernel fills user buffers. Returns the cdata."""
    info = _new(ctype + " *")  # zeroed: the kernel reads some members as input
    if setup is not None:
        setup(info)
    size = _new("__u32 *", ffi.sizeof(ctype))
    _call(fd, Op.OBJ_GET_INFO, obj, _info_by_fd, info, size)
    return info


def prog_info(fd: FD, obj: object) -> dict[str, Any]:
    """BPF_OBJ_GET_INFO_BY_FD for a program: struct bpf_prog_info as a dict (kernel
    member names; ``tag`` as bytes, ``map_ids`` as a tuple of the program's map IDs)."""
    info = _get_info(fd, "struct bpf_prog_info", obj)
    n = info.nr_map_ids
    ids: tuple[int, ...] = ()
    if n:
        buf = _new("__u32[]", n)

        def want_ids(i: Any) -> None:
            i.nr_map_ids = n
            i.map_ids = address(buf)

        info = _get_info(fd, "struct bpf_prog_info", obj, want_ids)
        ids = tuple(buf[0:min(n, info.nr_map_ids)])
    d = _struct_to_dict(info[0])
    d["tag"] = bytes(ffi.buffer(info.tag))
    d["map_ids"] = ids
    return d


def prog_xlated(fd: FD, obj: object) -> bytes:
    """The program's instructions after verification (xlated), encoded; empty when hidden."""
    size = _get_info(fd, "struct bpf_prog_info", obj).xlated_prog_len
    if not size:
        return b""
    buf = _new("char[]", size)

    def want(i: Any) -> None:
        i.xlated_prog_len = size
        i.xlated_prog_insns = address(buf)

    info = _get_info(fd, "struct bpf_prog_info", obj, want)
    out: bytes = _unpack(buf, min(size, info.xlated_prog_len))
    return out


def prog_jited_ksyms(fd: FD, obj: object) -> tuple[int, ...]:
    """The kernel addresses of the program's JIT-compiled functions; empty when hidden."""
    n = _get_info(fd, "struct bpf_prog_info", obj).nr_jited_ksyms
    if not n:
        return ()
    buf = _new("__u64[]", n)

    def want(i: Any) -> None:
        i.nr_jited_ksyms = n
        i.jited_ksyms = address(buf)

    info = _get_info(fd, "struct bpf_prog_info", obj, want)
    return tuple(int(x) for x in buf[0:min(n, info.nr_jited_ksyms)])


#: bpf_btf_info's name buffer: BTF names of kernel modules are short.
_BTF_NAME_MAX = 256


def btf_info(fd: FD, obj: object) -> dict[str, Any]:
    """BPF_OBJ_GET_INFO_BY_FD for BTF: struct bpf_btf_info as a dict, ``name`` as str."""
    name = _new("char[]", _BTF_NAME_MAX)

    def want(i: Any) -> None:
        i.name = address(name)
        i.name_len = _BTF_NAME_MAX

    info = _get_info(fd, "struct bpf_btf_info", obj, want)
    d = _struct_to_dict(info[0])
    n = min(info.name_len, _BTF_NAME_MAX)
    d["name"] = _unpack(name, n).split(b"\0", 1)[0].decode("utf-8", "replace")
    return d


def btf_raw(fd: FD, obj: object) -> bytes:
    """BPF_OBJ_GET_INFO_BY_FD for BTF with a ``btf`` buffer: the raw BTF the kernel holds.

    The size comes from a first call; the kernel's BTF never changes size once
    loaded, so a second call with a buffer that large gets all of it.
    """
    size = int(_get_info(fd, "struct bpf_btf_info", obj).btf_size)
    buf = _new("char[]", max(size, 1))

    def want(i: Any) -> None:
        i.btf = address(buf)
        i.btf_size = size

    got = int(_get_info(fd, "struct bpf_btf_info", obj, want).btf_size)
    return _unpack(buf, min(got, size))  # type: ignore[no-any-return]


_PATH_MAX = 4096
# enum bpf_perf_event_type (include/uapi/linux/bpf.h): the kinds that carry a name.
_PERF_EVENT_NAMED = (1, 2, 3, 4, 5)  # uprobe, uretprobe, kprobe, kretprobe, tracepoint


def link_info(fd: FD, obj: object) -> tuple[dict[str, Any], str]:
    """BPF_OBJ_GET_INFO_BY_FD for a link: struct bpf_link_info as a nested dict, and
    the name it carries (tracepoint, iterator target, probed file or symbol; else "").

    The kernel fills names only into buffers the caller passes: the first call
    says which type the link is (and, for raw tracepoints and iterators, how
    long the name is), a second passes a buffer of that size.
    """
    info = _get_info(fd, "struct bpf_link_info", obj)
    t = info.type
    size = 0
    if t == lib.BPF_LINK_TYPE_RAW_TRACEPOINT:
        size = info.raw_tracepoint.tp_name_len
    elif t == lib.BPF_LINK_TYPE_ITER:
        size = info.iter.target_name_len
    elif t == lib.BPF_LINK_TYPE_UPROBE_MULTI or (
            t == lib.BPF_LINK_TYPE_PERF_EVENT and info.perf_event.type in _PERF_EVENT_NAMED):
        size = _PATH_MAX
    if not size:
        return _struct_to_dict(info[0]), ""
    buf = _new("char[]", size)

    def want(i: Any) -> None:
        ptr = address(buf)
        if t == lib.BPF_LINK_TYPE_RAW_TRACEPOINT:
            i.raw_tracepoint.tp_name, i.raw_tracepoint.tp_name_len = ptr, size
        elif t == lib.BPF_LINK_TYPE_ITER:
            i.iter.target_name, i.iter.target_name_len = ptr, size
        elif t == lib.BPF_LINK_TYPE_UPROBE_MULTI:
            i.uprobe_multi.path, i.uprobe_multi.path_size = ptr, size
        else:
            # The name pointer and length sit at the same offsets in the uprobe,
            # kprobe and tracepoint members of the union.
            i.perf_event.probe.uprobe.file_name = ptr
            i.perf_event.probe.uprobe.name_len = size

    try:
        info = _get_info(fd, "struct bpf_link_info", obj, want)
    except BPFError as exc:
        if exc.errno != _errno.ENOSPC:
            raise
        # The name grew between the calls (it cannot for these types): keep what fits.
        info = _get_info(fd, "struct bpf_link_info", obj)
    text = _unpack(buf, size).split(b"\0", 1)[0].decode("utf-8", "replace")
    return _struct_to_dict(info[0]), text


def _set_member(cdata: Any, dotted: str, value: Any) -> None:
    *path, last = dotted.split("__")
    for part in path:
        cdata = getattr(cdata, part)
    setattr(cdata, last, value)


def address(buf: Any) -> int:
    """The address of a C buffer, for an attr's or info struct's pointer member."""
    return int(ffi.cast("unsigned long", buf))


# -- pins and IDs ---------------------------------------------------------------


def obj_pin(fd: FD, path: str, obj: object) -> None:
    """BPF_OBJ_PIN ``fd`` at ``path`` (on a bpffs mount)."""
    cpath = _new("char[]", os.fsencode(path))
    attr = _new("union bpf_attr *")
    attr.pathname = address(cpath)

    def run(raw: int) -> int:
        attr.bpf_fd = raw
        return _bpf(lib.BPF_OBJ_PIN, attr)

    slot = fd._slot
    raw = _slot_enter(slot)
    if raw < 0:
        raise closed(Op.OBJ_PIN, obj)
    try:
        rc = run(raw)
    finally:
        _slot_leave(slot)
    if rc < 0:
        raise from_errno(-rc, Op.OBJ_PIN, obj, path)


def obj_get(path: str, file_flags: int = 0, obj: object = "") -> FD:
    """BPF_OBJ_GET: open the object pinned at ``path``."""
    cpath = _new("char[]", os.fsencode(path))
    attr = _new("union bpf_attr *")
    attr.pathname = address(cpath)
    attr.file_flags = file_flags
    rc = _bpf(lib.BPF_OBJ_GET, attr)
    if rc in (-_errno.EACCES, -_errno.EPERM):
        # The kernel says EACCES both for a path outside bpffs and for a bpffs
        # directory; tell those apart from a pin whose mode forbids the access.
        raise _explain_obj_get(-rc, path, obj)
    return _adopt(rc, Op.OBJ_GET, obj, path)


def _explain_obj_get(err: int, path: str, obj: object) -> BPFError:
    try:
        on_bpffs = statfs_type(path) == BPF_FS_MAGIC
    except OSError:
        on_bpffs = True  # vanished meanwhile: keep the kernel's answer
    if not on_bpffs:
        return from_errno(err, Op.OBJ_GET, obj, path, cls=NotBPFFSError, hint="",
                          reason="path is not on a bpffs mount")
    if os.path.isdir(path):
        return from_errno(err, Op.OBJ_GET, obj, path, cls=ObjectTypeError, hint="",
                          reason="a directory, not a pinned object")
    return from_errno(err, Op.OBJ_GET, obj, path)


GET_NEXT_ID = {
    "map": lib.BPF_MAP_GET_NEXT_ID,
    "prog": lib.BPF_PROG_GET_NEXT_ID,
    "link": lib.BPF_LINK_GET_NEXT_ID,
    "btf": lib.BPF_BTF_GET_NEXT_ID,
}
GET_FD_BY_ID = {
    "map": lib.BPF_MAP_GET_FD_BY_ID,
    "prog": lib.BPF_PROG_GET_FD_BY_ID,
    "link": lib.BPF_LINK_GET_FD_BY_ID,
    "btf": lib.BPF_BTF_GET_FD_BY_ID,
}


def get_next_id(kind: str, start_id: int) -> Optional[int]:
    """BPF_{MAP,PROG,LINK,BTF}_GET_NEXT_ID; None after the last object."""
    nxt = _new("__u32 *")
    rc = lib.bpfobj_get_next_id(GET_NEXT_ID[kind], start_id, nxt)
    if rc == -_errno.ENOENT:
        return None
    if rc < 0:
        raise from_errno(-rc, Op.GET_NEXT_ID, f"{kind} after id {start_id}")
    return int(nxt[0])


def get_fd_by_id(kind: str, obj_id: int, open_flags: int = 0) -> FD:
    """BPF_{MAP,PROG,LINK,BTF}_GET_FD_BY_ID."""
    if not 0 <= obj_id < 2**32:
        raise ValueError(f"{kind} id {obj_id} out of range")
    rc = lib.bpfobj_get_fd_by_id(GET_FD_BY_ID[kind], obj_id, open_flags)
    return _adopt(rc, Op.GET_FD_BY_ID, f"{kind} id {obj_id}")


# -- programs ---------------------------------------------------------------------


#: BPF_PROG_LOAD tries with signals deliverable before one with them blocked.
_LOAD_TRIES = 10


@contextlib.contextmanager
def _signals_blocked() -> Iterator[None]:
    """Block every blockable signal in this thread; restore the old mask after."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def prog_load(
    *,
    prog_type: int,
    insns: bytes,
    license: str,
    name: str = "",
    expected_attach_type: int = 0,
    prog_flags: int = 0,
    kern_version: int = 0,
    prog_ifindex: int = 0,
    attach_btf_id: int = 0,
    attach_prog_fd: Optional[FD] = None,
    prog_btf_fd: Optional[FD] = None,
    func_info: bytes = b"",
    func_info_rec_size: int = 0,
    line_info: bytes = b"",
    line_info_rec_size: int = 0,
    log_level: int = 0,
    log_size: int = 0,
    obj: object = "",
) -> tuple[FD, str]:
    """BPF_PROG_LOAD. Returns the program's descriptor and the verifier log.

    With ``log_level`` 0 the load runs without a log first; on rejection it is
    run again with log level 1 to capture the verifier's reason (as cilium/ebpf
    does). EAGAIN is retried. Rejection raises VerifierError(.log).
    """
    if len(insns) % 8:
        raise ValueError(f"instructions must be a multiple of 8 bytes, got {len(insns)}")
    cinsns = _new("char[]", insns)
    clicense = _new("char[]", license.encode())
    attr = _new("union bpf_attr *")
    keep: list[Any] = []  # buffers the attr points into, alive until the call returns
    attr.prog_type = prog_type
    attr.insn_cnt = len(insns) // 8
    attr.insns = address(cinsns)
    attr.license = address(clicense)
    _set_name(attr.prog_name, name, "program")
    attr.expected_attach_type = expected_attach_type
    attr.prog_flags = prog_flags
    attr.kern_version = kern_version
    attr.prog_ifindex = prog_ifindex
    attr.attach_btf_id = attach_btf_id
    # func_info/line_info: records of the given size (bpf_func_info / bpf_line_info), which
    # the kernel reads only with a program BTF.
    for kind, blob, rec in (("func_info", func_info, func_info_rec_size),
                            ("line_info", line_info, line_info_rec_size)):
        if not blob:
            continue
        if rec <= 0 or len(blob) % rec:
            raise ValueError(f"{kind}: {len(blob)} bytes is not a multiple of the record "
                             f"size {rec}")
        buf = _new("char[]", blob)
        keep.append(buf)
        setattr(attr, kind, address(buf))
        setattr(attr, f"{kind}_cnt", len(blob) // rec)
        setattr(attr, f"{kind}_rec_size", rec)

    def load(level: int, size: int) -> tuple[int, str]:
        log = _new("char[]", size) if level else ffi.NULL
        attr.log_level = level
        attr.log_size = size if level else 0
        attr.log_buf = address(log) if level else 0
        with _borrow_opt(attach_prog_fd) as target, _borrow_opt(prog_btf_fd) as btf:
            attr.attach_prog_fd = target
            attr.prog_btf_fd = btf
            # The verifier gives up with EAGAIN (EINTR before it runs) when a signal
            # is pending, and the next try starts from scratch: a signal that comes
            # faster than verification ends would livelock an unbounded retry. So
            # after a few tries the last one runs with signals blocked; they are
            # delivered (and Python's handlers run) as soon as it returns.
            rc = _bpf(lib.BPF_PROG_LOAD, attr, max_eintr=_LOAD_TRIES)
            for _ in range(_LOAD_TRIES):
                if rc not in (-_errno.EAGAIN, -_errno.EINTR):
                    break
                rc = _bpf(lib.BPF_PROG_LOAD, attr, max_eintr=_LOAD_TRIES)
            if rc in (-_errno.EAGAIN, -_errno.EINTR):
                with _signals_blocked():
                    rc = _bpf(lib.BPF_PROG_LOAD, attr, max_eintr=_LOAD_TRIES)
        return rc, (_cstr(log) if level else "")

    rc, log = load(log_level, log_size or (1 << 20 if log_level else 0))
    if rc in (-_errno.EAGAIN, -_errno.EINTR):  # pragma: no cover - only a fatal signal
        raise from_errno(-rc, Op.PROG_LOAD, obj, cls=BPFError, hint="",
                         reason="verification was interrupted by signals, also with signals "
                                "blocked")
    if rc == -_errno.ENOSPC and log_level:
        rc, log = load(log_level, 1 << 24)
    if rc < 0 and rc not in (-_errno.EPERM, -_errno.ENOMEM, -_errno.EMFILE) and not log_level:
        rc2, log = load(1, 1 << 22)
        if rc2 >= 0:  # pragma: no cover - accepted with a log after all
            rc = rc2
    if rc < 0:
        if rc in (-_errno.EINVAL, -_errno.EACCES, -_errno.ENOSPC, -_errno.E2BIG) or log:
            last = _last_line(log)
            raise from_errno(-rc, Op.PROG_LOAD, obj, cls=VerifierError, log=log, hint="",
                             reason="verifier rejected the program" + (f": {last}" if last
                                                                       else ""))
        raise from_errno(-rc, Op.PROG_LOAD, obj)
    return FD.adopt(rc), log


def _last_line(log: str) -> str:
    lines = [line for line in log.splitlines() if line.strip()]
    # The verifier ends with a "processed N insns" summary; the reason is before it.
    for line in reversed(lines):
        if not line.startswith(("processed ", "verification time")):
            return line.strip()
    return ""


def prog_test_run(
    fd: FD,
    *,
    data_in: bytes,
    data_size_out: int,
    ctx_in: Optional[bytes],
    ctx_size_out: int,
    repeat: int,
    flags: int = 0,
    cpu: int = 0,
    batch_size: int = 0,
    obj: object = "",
) -> dict[str, Any]:
    """BPF_PROG_TEST_RUN. Returns retval, duration, data_out and ctx_out."""
    cin = _new("char[]", data_in) if data_in else ffi.NULL
    cout = _new("char[]", data_size_out) if data_size_out else ffi.NULL
    xin = _new("char[]", ctx_in) if ctx_in else ffi.NULL
    xout = _new("char[]", ctx_size_out) if ctx_size_out else ffi.NULL
    attr = _new("union bpf_attr *")
    t = attr.test
    t.data_size_in = len(data_in)
    t.data_in = address(cin) if data_in else 0
    t.data_size_out = data_size_out
    t.data_out = address(cout) if data_size_out else 0
    t.ctx_size_in = len(ctx_in) if ctx_in else 0
    t.ctx_in = address(xin) if ctx_in else 0
    t.ctx_size_out = ctx_size_out
    t.ctx_out = address(xout) if ctx_size_out else 0
    t.repeat = repeat
    t.flags = flags
    t.cpu = cpu
    t.batch_size = batch_size

    def run(raw: int) -> int:
        t.prog_fd = raw
        return _bpf(lib.BPF_PROG_TEST_RUN, attr, max_eintr=MAX_EINTR)

    _call(fd, Op.PROG_TEST_RUN, obj, run)
    return {
        "retval": int(t.retval),
        "duration": int(t.duration),
        "data_out": _unpack(cout, min(t.data_size_out, data_size_out)) if data_size_out else b"",
        "ctx_out": _unpack(xout, min(t.ctx_size_out, ctx_size_out)) if ctx_size_out else b"",
        # Syscall programs write their context back into ctx_in.
        "ctx_in": _unpack(xin, len(ctx_in)) if ctx_in else b"",
    }


#: enum bpf_stats_type in include/uapi/linux/bpf.h (Linux 5.8): its only member.
BPF_STATS_RUN_TIME = 0


def enable_stats(stats_type: int = BPF_STATS_RUN_TIME) -> FD:
    """BPF_ENABLE_STATS: statistics stay on while the returned descriptor is open."""
    attr = _new("union bpf_attr *")
    attr.enable_stats.type = stats_type
    rc = _bpf(lib.BPF_ENABLE_STATS, attr)
    return _adopt(rc, Op.ENABLE_STATS, "run time statistics")


# -- BTF ------------------------------------------------------------------------


def btf_load(data: bytes, *, log_level: int = 0, obj: object = "") -> tuple[FD, str]:
    """BPF_BTF_LOAD. Rejection raises BTFLoadError(.log), retried with a log."""
    cbtf = _new("char[]", data)
    attr = _new("union bpf_attr *")
    attr.btf = address(cbtf)
    attr.btf_size = len(data)

    def load(level: int) -> tuple[int, str]:
        log = _new("char[]", 1 << 20) if level else ffi.NULL
        attr.btf_log_level = level
        attr.btf_log_size = (1 << 20) if level else 0
        attr.btf_log_buf = address(log) if level else 0
        return _bpf(lib.BPF_BTF_LOAD, attr), (_cstr(log) if level else "")

    rc, log = load(log_level)
    if rc < 0 and rc != -_errno.EPERM and not log_level:
        _rc2, log = load(1)
    if rc < 0:
        if rc == -_errno.EINVAL or log:
            last = _last_line(log)
            raise from_errno(-rc, Op.BTF_LOAD, obj, cls=BTFLoadError, log=log, hint="",
                             reason="kernel rejected the BTF" + (f": {last}" if last else ""))
        raise from_errno(-rc, Op.BTF_LOAD, obj)
    return FD.adopt(rc), log


# -- links ----------------------------------------------------------------------


def link_create(
    prog_fd: FD,
    *,
    target_fd: Optional[FD] = None,
    target_ifindex: int = 0,
    attach_type: int,
    flags: int = 0,
    relative_fd: Optional[FD] = None,
    expected_revision: int = 0,
    opts: Optional[dict[str, Any]] = None,
    obj: object = "",
) -> FD:
    """BPF_LINK_CREATE.

    ``relative_fd`` (borrowed for the call) and ``expected_revision`` are the
    tcx, netkit and cgroup members (the three share one layout in the union). ``opts``
    passes members of the type-specific union through as ``Link.attach_raw``
    documents them (``__`` between levels: ``tcx__relative_fd``); a bytes value
    is copied into a NUL-terminated C buffer whose address the member gets (the
    pointer members: paths, arrays of u64). Typed callers use the keywords instead.
    """
    attr = _new("union bpf_attr *")
    lc = attr.link_create
    lc.attach_type = attach_type
    lc.flags = flags
    lc.opts.tcx.expected_revision = expected_revision
    keep: list[Any] = []  # C copies of bytes members, alive until the call returns
    for name, value in (opts or {}).items():
        if isinstance(value, (bytes, bytearray)):
            buf = _new("char[]", bytes(value))  # NUL-terminated: paths work as they are
            keep.append(buf)
            value = address(buf)
        _set_member(lc.opts, name, value)
    with prog_fd.borrow(Op.LINK_CREATE, obj) as praw, _borrow_opt(target_fd) as traw, \
            _borrow_opt(relative_fd) as rraw:
        lc.prog_fd = praw
        lc.target_fd = traw if target_fd is not None else target_ifindex
        if relative_fd is not None:
            lc.opts.tcx.relative_fd = rraw
        rc = _bpf(lib.BPF_LINK_CREATE, attr)
    return _adopt(rc, Op.LINK_CREATE, obj)


def link_update(link_fd: FD, new_prog_fd: FD, old_prog_fd: Optional[FD] = None,
                obj: object = "") -> None:
    """BPF_LINK_UPDATE; with ``old_prog_fd`` the kernel checks it is the current program."""
    attr = _new("union bpf_attr *")
    lu = attr.link_update
    with link_fd.borrow(Op.LINK_UPDATE, obj) as lraw, \
            new_prog_fd.borrow(Op.LINK_UPDATE, obj) as nraw, \
            _borrow_opt(old_prog_fd) as oraw:
        lu.link_fd = lraw
        lu.new_prog_fd = nraw
        if old_prog_fd is not None:
            lu.old_prog_fd = oraw
            lu.flags = lib.BPF_F_REPLACE
        rc = _bpf(lib.BPF_LINK_UPDATE, attr)
    if rc < 0:
        raise from_errno(-rc, Op.LINK_UPDATE, obj)


def link_detach(link_fd: FD, obj: object = "") -> None:
    """BPF_LINK_DETACH."""
    attr = _new("union bpf_attr *")

    def run(raw: int) -> int:
        attr.link_detach.link_fd = raw
        return _bpf(lib.BPF_LINK_DETACH, attr)

    _call(link_fd, Op.LINK_DETACH, obj, run)


def raw_tracepoint_open(prog_fd: FD, name: str, cookie: int = 0, obj: object = "") -> FD:
    """BPF_RAW_TRACEPOINT_OPEN: attach a raw tracepoint program to tracepoint ``name``.

    Returns the new link's descriptor (a raw_tracepoint link).
    """
    cname = _new("char[]", name.encode())
    attr = _new("union bpf_attr *")
    rt = attr.raw_tracepoint
    rt.name = address(cname)
    rt.cookie = cookie
    with prog_fd.borrow(Op.LINK_CREATE, obj) as praw:
        rt.prog_fd = praw
        rc = _bpf(lib.BPF_RAW_TRACEPOINT_OPEN, attr)
    return _adopt(rc, Op.LINK_CREATE, obj)


#: BPF_TASK_FD_QUERY's first name buffer; a longer name (a uprobe's path) is
#: asked for again with the length the kernel reported.
_TASK_FD_NAME = 256


def task_fd_query(pid: int, target_raw: int, obj: object = "") -> dict[str, Any]:
    """BPF_TASK_FD_QUERY: what program descriptor ``target_raw`` of process ``pid`` attaches.

    The descriptor is another process's number (never opened here): a perf
    event with a program (tracepoint, kprobe, uprobe) or a raw tracepoint
    link. Returns ``prog_id``, ``fd_type`` (BPF_FD_TYPE_*), ``name`` (the
    tracepoint, the kernel function, or the uprobe's file; "" for a kprobe
    given by address), ``probe_offset`` and ``probe_addr``.
    """
    size = _TASK_FD_NAME
    for _ in range(2):
        buf = _new("char[]", size)
        attr = _new("union bpf_attr *")
        q = attr.task_fd_query
        q.pid = pid
        q.fd = target_raw
        q.buf = address(buf)
        q.buf_len = size
        rc = _bpf(lib.BPF_TASK_FD_QUERY, attr)
        if rc == -_errno.ENOSPC and q.buf_len + 1 > size:
            size = q.buf_len + 1  # the kernel says how long the name is
            continue
        if rc < 0:
            raise from_errno(-rc, Op.TASK_FD_QUERY, obj)
        return {"prog_id": int(q.prog_id), "fd_type": int(q.fd_type), "name": _cstr(buf),
                "probe_offset": int(q.probe_offset), "probe_addr": int(q.probe_addr)}
    raise from_errno(_errno.ENOSPC, Op.TASK_FD_QUERY, obj)


# -- other processes -------------------------------------------------------------


def pidfd_open(pid: int) -> FD:
    """pidfd_open(2): a descriptor for process ``pid`` (close-on-exec)."""
    rc = lib.bpfobj_pidfd_open(pid, 0)
    return _adopt(rc, Op.PIDFD, f"pid {pid}")


def pidfd_getfd(pidfd: FD, target_raw: int, obj: object = "") -> FD:
    """pidfd_getfd(2): a close-on-exec copy of descriptor ``target_raw`` of the pidfd's process."""
    with pidfd.borrow(Op.PIDFD, obj) as praw:
        rc = lib.bpfobj_pidfd_getfd(praw, target_raw, 0)
        if rc == -_errno.EBADF:
            # Our pidfd is open, so EBADF means the target lacks the descriptor.
            raise _no_such_descriptor(praw, target_raw, obj)
    return _adopt(rc, Op.PIDFD, obj)


def _no_such_descriptor(pidfd_raw: int, target_raw: int, obj: object) -> BPFError:
    try:
        pid = linux.fdinfo(pidfd_raw).get("Pid", "?")
    except (OSError, ValueError):
        pid = "?"
    return from_errno(_errno.EBADF, Op.PIDFD, obj, cls=BPFError, hint="",
                      reason=f"process {pid} has no descriptor {target_raw}")


# -- filesystems ------------------------------------------------------------------

BPF_FS_MAGIC: int = lib.BPFOBJ_BPF_FS_MAGIC


def statfs_type(path: str) -> int:
    """statfs(2)'s f_type for ``path``; raises OSError (ENOENT, ...) like os.stat."""
    rc = int(lib.bpfobj_statfs_type(os.fsencode(path)))
    if rc < 0:
        raise OSError(-rc, os.strerror(-rc), path)
    return rc


def rename_noreplace(old: str, new: str) -> None:
    """renameat2(old, new, RENAME_NOREPLACE); raises OSError (EEXIST, ENOENT, EXDEV, ...)."""
    rc = int(lib.bpfobj_rename_noreplace(os.fsencode(old), os.fsencode(new)))
    if rc < 0:
        raise OSError(-rc, os.strerror(-rc), old, None, new)

# -- perf events ------------------------------------------------------------------
#
# perf_event_open(2) and the ioctls on its descriptors. The attr is built and
# dropped here: callers pass typed keywords, and get an owned FD back.

PERF_TYPE_SOFTWARE: int = lib.PERF_TYPE_SOFTWARE
PERF_TYPE_TRACEPOINT: int = lib.PERF_TYPE_TRACEPOINT
PERF_COUNT_SW_BPF_OUTPUT: int = lib.PERF_COUNT_SW_BPF_OUTPUT
PERF_SAMPLE_RAW: int = lib.PERF_SAMPLE_RAW


def perf_event_open(
    *,
    type: int,  # noqa: A002 - the kernel's name
    config: int = 0,
    pid: int = -1,
    cpu: int = -1,
    group_fd: Optional[FD] = None,
    flags: int = 0,
    sample_type: int = 0,
    sample_period: int = 0,
    wakeup_events: int = 0,
    disabled: bool = False,
    inherit: bool = False,
    exclude_kernel: bool = False,
    exclude_user: bool = False,
    exclude_hv: bool = False,
    config1: int = 0,
    config2: int = 0,
    uprobe_path: Optional[str] = None,
    kprobe_func: Optional[str] = None,
    probe_offset: int = 0,
    obj: object = "",
) -> FD:
    """perf_event_open(2): open a perf event; the returned FD is the caller's (close-on-exec).

    ``type``/``config`` select the event (PERF_TYPE_TRACEPOINT with a tracefs
    event id, PERF_TYPE_SOFTWARE with PERF_COUNT_SW_BPF_OUTPUT, a PMU's type
    from /sys/bus/event_source/devices/*/type). ``uprobe_path`` or
    ``kprobe_func`` fill config1 (the kernel's union) and ``probe_offset``
    config2, for the perf_uprobe and perf_kprobe PMUs.

    Raises:
        BPFError: from the kernel (ENOENT: no such event; EACCES/EPERM: privileges).
    """
    if uprobe_path is not None and kprobe_func is not None:
        raise ValueError("perf_event_open: give uprobe_path or kprobe_func, not both")
    attr = _new("struct perf_event_attr *")
    attr.size = ffi.sizeof("struct perf_event_attr")
    attr.type = type
    attr.config = config
    attr.sample_type = sample_type
    attr.sample_period = sample_period
    attr.wakeup_events = wakeup_events
    attr.disabled = int(disabled)
    attr.inherit = int(inherit)
    attr.exclude_kernel = int(exclude_kernel)
    attr.exclude_user = int(exclude_user)
    attr.exclude_hv = int(exclude_hv)
    attr.config1 = config1
    attr.config2 = config2
    name = uprobe_path if uprobe_path is not None else kprobe_func
    cname = None
    if name is not None:
        cname = _new("char[]", os.fsencode(name))
        attr.config1 = address(cname)
        attr.probe_offset = probe_offset
    if group_fd is None:
        rc = lib.bpfobj_perf_event_open(attr, pid, cpu, -1, flags)
    else:
        with group_fd.borrow(Op.PERF_EVENT_OPEN, obj) as graw:
            rc = lib.bpfobj_perf_event_open(attr, pid, cpu, graw, flags)
    del cname  # kept alive across the call
    return _adopt(rc, Op.PERF_EVENT_OPEN, obj)


def perf_event_enable(fd: FD, obj: object = "") -> None:
    """PERF_EVENT_IOC_ENABLE."""
    _call(fd, Op.PERF_EVENT_IOCTL, obj, lib.bpfobj_ioctl, lib.PERF_EVENT_IOC_ENABLE, 0)


def perf_event_disable(fd: FD, obj: object = "") -> None:
    """PERF_EVENT_IOC_DISABLE."""
    _call(fd, Op.PERF_EVENT_IOCTL, obj, lib.bpfobj_ioctl, lib.PERF_EVENT_IOC_DISABLE, 0)


def perf_event_set_bpf(fd: FD, prog_fd: FD, obj: object = "") -> None:
    """PERF_EVENT_IOC_SET_BPF: attach a program to the perf event (the pre-BPF-link way)."""
    with prog_fd.borrow(Op.PERF_EVENT_IOCTL, obj) as praw:
        _call(fd, Op.PERF_EVENT_IOCTL, obj, lib.bpfobj_ioctl, lib.PERF_EVENT_IOC_SET_BPF, praw)


def perf_event_id(fd: FD, obj: object = "") -> int:
    """PERF_EVENT_IOC_ID: the event's id, as the kernel reports it in samples."""
    out = _new("__u64 *")
    _call(fd, Op.PERF_EVENT_IOCTL, obj, lib.bpfobj_ioctl_ptr, lib.PERF_EVENT_IOC_ID, out)
    return int(out[0])


def perf_event_query_bpf(fd: FD, max_ids: int = 64, obj: object = "") -> list[int]:
    """PERF_EVENT_IOC_QUERY_BPF: IDs of the programs attached to the event's tracepoint."""
    hdr = ffi.sizeof("struct perf_event_query_bpf")
    buf = _new("char[]", hdr + 4 * max_ids)
    query = ffi.cast("struct perf_event_query_bpf *", buf)
    query.ids_len = max_ids
    _call(fd, Op.PERF_EVENT_IOCTL, obj, lib.bpfobj_ioctl_ptr, lib.PERF_EVENT_IOC_QUERY_BPF, buf)
    ids = ffi.cast("__u32 *", buf + hdr)
    return [int(ids[i]) for i in range(min(int(query.prog_cnt), max_ids))]


# -- mappings ---------------------------------------------------------------------

PAGE_SIZE: int = int(lib.bpfobj_page_size())


class Mapping:
    """One MAP_SHARED mmap(2) of a descriptor, unmapped exactly once.

    ``close()`` is idempotent; a forgotten Mapping is unmapped by its
    finalizer. The owner keeps calls that read the memory from racing
    ``close()`` (see _Consumer).
    """

    __slots__ = ("_addr", "_length", "_token")

    def __init__(self, addr: Any, length: int) -> None:
        self._addr = addr
        self._length = length
        self._token: list[bool] = [True]

    @property
    def address(self) -> int:
        """The start address (0 once unmapped)."""
        return int(ffi.cast("uintptr_t", self._addr)) if self._token else 0

    @property
    def length(self) -> int:
        return self._length

    def close(self) -> None:
        """munmap(2), once."""
        try:
            self._token.pop()
        except IndexError:
            return
        lib.bpfobj_munmap(self._addr, self._length)

    def __del__(self) -> None:
        if getattr(self, "_token", None):
            self.close()


def mmap_fd(fd: FD, length: int, *, offset: int = 0, writable: bool = False,
            obj: object = "") -> Mapping:
    """mmap(2) ``length`` bytes of ``fd`` at ``offset``, shared; read-only unless ``writable``."""
    out = _new("void **")
    _call(fd, Op.MMAP, obj, lib.bpfobj_mmap, length, int(writable), offset, out)
    return Mapping(out[0], length)


# -- epoll and eventfd --------------------------------------------------------------


def epoll_create() -> FD:
    """epoll_create1(EPOLL_CLOEXEC)."""
    return _adopt(lib.bpfobj_epoll_create(), Op.EPOLL, "")


def epoll_add(epfd: FD, fd: FD, tag: int, obj: object = "") -> None:
    """epoll_ctl(EPOLL_CTL_ADD, fd, EPOLLIN) reporting ``tag`` when fd is readable."""
    with fd.borrow(Op.EPOLL, obj) as raw:
        _call(epfd, Op.EPOLL, obj, lib.bpfobj_epoll_add, raw, tag)


def _epoll_wait_once(raw: int, tags: Any, max_events: int, timeout_ms: int) -> int:
    rc = int(lib.bpfobj_epoll_wait(raw, tags, max_events, timeout_ms))
    return 0 if rc == -_errno.EINTR else rc  # the caller recomputes its timeout


def epoll_wait(epfd: FD, timeout_ms: int, max_events: int = 8, obj: object = "") -> list[int]:
    """epoll_wait(2): the tags of ready descriptors; [] on timeout or a signal.

    ``timeout_ms`` < 0 waits for ever. The GIL is released while waiting;
    a concurrent close of ``epfd`` is deferred until the wait returns.
    """
    tags = _new("__u64[]", max_events)
    n = _call(epfd, Op.EPOLL, obj, _epoll_wait_once, tags, max_events, timeout_ms)
    return [int(tags[i]) for i in range(n)]


def eventfd() -> FD:
    """eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)."""
    return _adopt(lib.bpfobj_eventfd(), Op.EPOLL, "eventfd")


def eventfd_signal(fd: FD) -> None:
    """Write 1 to an eventfd, making it readable."""
    _call(fd, Op.EPOLL, "eventfd", lib.bpfobj_eventfd_signal)


# -- event buffer consumers --------------------------------------------------------
#
# The memory of a BPF ring buffer or of perf buffers, read by the C helpers
# in cdefs/events.c. Samples are copied into a private buffer before the
# consumer position moves past them; Python only ever sees bytes. The C side
# also writes a struct format describing what it copied, so that one
# struct.unpack_from call cuts the batch into bytes objects.

#: Records copied per C call, and the initial size of the copy buffer.
_BATCH = 4096
_INITIAL_CAP = 1 << 20
#: Format bytes per record: "=" once, then "<len>s" (ring) or "I<len>sQ" (perf).
_FMT_CAP = 1 + 13 * _BATCH
_unpack_from = struct.unpack_from


class _Consumer:
    """Owns mappings and keeps calls into them from racing close().

    The guard is FD's: a call appends to ``_inflight``, checks ``_closed``,
    and pops when done; close() marks, and the last call out unmaps.
    """

    __slots__ = ("_maps", "_inflight", "_closed", "_buf", "_view", "_cap", "_fmt", "_info",
                 "_obj", "__weakref__")

    def __init__(self, obj: object) -> None:
        self._maps: list[Mapping] = []
        self._inflight: list[None] = []
        self._closed = False
        self._grow(_INITIAL_CAP)
        self._fmt = _new("char[]", _FMT_CAP)
        self._info = _new("__u64[2]")
        self._obj = obj

    def _grow(self, need: int) -> None:
        cap = _INITIAL_CAP
        while cap < need:
            cap *= 2
        self._buf = _new("char[]", cap)
        self._view = ffi.buffer(self._buf)
        self._cap = cap

    def _unmap(self) -> None:
        for m in self._maps:
            m.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Unmap now, or when the call in flight on another thread returns. Idempotent."""
        self._closed = True
        if not self._inflight:
            self._unmap()

    def _consume(self, op: Op, fn: Callable[..., int], *args: Any) -> list[Any]:
        """Run the C consumer ``fn(*args[:-1], out, cap, fmt, fmt_cap, max, info)`` in
        batches until ``args[-1]`` records; the flat list struct.unpack_from makes of them."""
        *head, limit = args
        out: list[Any] = []
        info = self._info
        inflight = self._inflight
        while limit > 0:
            inflight.append(None)
            try:
                if self._closed:
                    raise closed(op, self._obj)
                n = fn(*head, self._buf, self._cap, self._fmt, _FMT_CAP, min(limit, _BATCH),
                       info)
            finally:
                inflight.pop()
                if self._closed and not inflight:
                    self._unmap()
            if n < 0:
                raise from_errno(-n, op, self._obj)
            if n:
                out += _unpack_from(_unpack(self._fmt, info[1]), self._view)
                limit -= n
            if info[0]:
                if n == 0:
                    self._grow(info[0])
                continue  # stopped for room, not for lack of records
            if n < min(limit + n, _BATCH):
                break  # nothing more committed
        return out


class RingConsumer(_Consumer):
    """The mappings of a BPF_MAP_TYPE_RINGBUF map, and reads from them.

    Maps the consumer page read-write and the producer page plus the data
    (which the kernel maps twice) read-only. ``map_fd`` stays the caller's.
    """

    __slots__ = ("_ring",)

    def __init__(self, map_fd: FD, size: int, obj: object = "") -> None:
        super().__init__(obj)
        if size <= 0 or size & (size - 1) or size % PAGE_SIZE:
            raise ValueError(f"ringbuf {obj}: size {size} is not a power-of-2 multiple of pages")
        try:
            cons = mmap_fd(map_fd, PAGE_SIZE, writable=True, obj=obj)
            self._maps.append(cons)
            prod = mmap_fd(map_fd, PAGE_SIZE + 2 * size, offset=PAGE_SIZE, obj=obj)
            self._maps.append(prod)
        except BaseException:
            self._unmap()
            raise
        ring = _new("struct bpfobj_ring *")
        ring.consumer_pos = ffi.cast("unsigned long *", cons._addr)
        ring.producer_pos = ffi.cast("unsigned long *", prod._addr)
        ring.data = ffi.cast("char *", prod._addr) + PAGE_SIZE
        ring.mask = size - 1
        self._ring = ring

    def read_many(self, max_records: int) -> list[bytes]:
        """Up to ``max_records`` committed samples, in order (up to 4096 per C call)."""
        return self._consume(Op.RINGBUF_READ, lib.bpfobj_ringbuf_consume, self._ring,
                             max_records)


class PerfConsumer(_Consumer):
    """The mmapped perf buffers of one perf event per CPU, and reads from them.

    Each buffer is 1 + ``pages`` pages (a control page, then the data);
    ``fds`` stay the caller's. ``read_many`` returns a flat list, three items
    per sample: the index of its buffer in ``fds``, the sample, and the
    number of samples the kernel dropped (PERF_RECORD_LOST) in that buffer
    before this one.
    """

    __slots__ = ("_rings", "_nrings", "_next")

    def __init__(self, fds: list[FD], pages: int, obj: object = "") -> None:
        super().__init__(obj)
        if pages <= 0 or pages & (pages - 1):
            raise ValueError(f"perf buffer {obj}: {pages} pages is not a power of 2")
        n = len(fds)
        rings = _new("struct bpfobj_perf_ring[]", n)
        try:
            for i, fd in enumerate(fds):
                m = mmap_fd(fd, (1 + pages) * PAGE_SIZE, writable=True, obj=obj)
                self._maps.append(m)
                rings[i].page = ffi.cast("struct perf_event_mmap_page *", m._addr)
                rings[i].data = ffi.cast("char *", m._addr) + PAGE_SIZE
                rings[i].size = pages * PAGE_SIZE
        except BaseException:
            self._unmap()
            raise
        self._rings = rings
        self._nrings = n
        self._next = _new("int *")

    def read_many(self, max_records: int) -> list[Any]:
        """Up to ``max_records`` samples from all buffers, each buffer's in order."""
        return self._consume(Op.PERF_READ, lib.bpfobj_perf_consume, self._rings, self._nrings,
                             self._next, max_records)


# -- BTF reader helpers (cdefs/btf.c): no system call, one C walk over raw BTF -----------

_BTF_INDEX_ERRORS = {-1: "truncated header", -2: "unknown kind",
                     -3: "record runs past the type section", -4: "too many types"}


def btf_index(data: Buffer, start: int, length: int) -> memoryview:
    """Absolute byte offsets of the type records of data[start:start+length], as u32s.

    Raises:
        ValueError: a record is truncated, of an unknown kind, or runs past the section
            (the message names its type id and offset).
    """
    size = memoryview(data).nbytes
    if start < 0 or length < 0 or start + length > size:
        raise ValueError(f"BTF: type section {start}+{length} outside {size} bytes")
    cap = length // 12 + 1
    offsets = _new("__u32[]", cap)
    bad = _new("size_t[2]")
    n = lib.bpfobj_btf_index(_from_buffer(data), start, length, offsets, cap, bad, bad + 1)
    if n < 0:
        raise ValueError(f"BTF: type {bad[1] + 1} at offset {bad[0]}: "
                         f"{_BTF_INDEX_ERRORS.get(n, 'bad record')}")
    return memoryview(ffi.buffer(offsets, 4 * n)[:]).cast("I")


def btf_find_by_name(data: Buffer, offsets: memoryview, strs: bytes, base_strs: bytes,
                     name: str) -> list[int]:
    """Indexes into ``offsets`` of the records named ``name`` (see cdefs/btf.h).

    ``offsets`` must come from ``btf_index`` over the same ``data``; ``strs`` is the string
    section, ``base_strs`` the base's whole string table (split BTF) or b"".
    """
    raw_name = name.encode("utf-8", "surrogateescape")
    n = len(offsets)
    cap = 16
    while True:
        out = _new("__u32[]", cap)
        found = lib.bpfobj_btf_find_name(_from_buffer(data), _from_buffer("__u32[]", offsets), n,
                                         strs, len(strs), base_strs, len(base_strs), raw_name,
                                         len(raw_name), out, cap)
        if found <= cap:
            return list(out[0:found])
        cap = found


def btf_find_cycle(data: Buffer, offsets: memoryview, id0: int) -> Optional[int]:
    """The index into ``offsets`` of a type on a by-value reference cycle, or None.

    ``offsets`` must come from ``btf_index`` over the same ``data`` (see cdefs/btf.h).
    """
    n = len(offsets)
    if n == 0:
        return None
    bad = _new("size_t *")
    rc = lib.bpfobj_btf_find_cycle(_from_buffer(data), _from_buffer("__u32[]", offsets), n,
                                   id0, _new("unsigned char[]", n), _new("__u32[]", n),
                                   _new("__u32[]", n), bad)
    return None if rc == 0 else int(bad[0])


def map_file_readonly(path: str) -> Optional[tuple[Mapping, memoryview]]:
    """A private read-only mapping of the whole file and a memoryview over it, or None when
    the file cannot be mapped (then read it). No descriptor stays open.

    The memoryview is valid while the Mapping is open: keep both, close the Mapping last.
    """
    addr = _new("void **")
    size = _new("size_t *")
    if lib.bpfobj_map_file_readonly(os.fsencode(path), addr, size) < 0:
        return None
    mapping = Mapping(addr[0], size[0])
    return mapping, memoryview(ffi.buffer(addr[0], size[0])).toreadonly()
