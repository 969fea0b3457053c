"""Map against the real kernel: every constructor, element and batch operation, per map type.

Covers the text forms, both sides of new_from_fd, pins and read-only/write-only
descriptors, pidfd copies, the fd-0 case (in a subprocess with stdin closed),
bad input of every kind, and property tests of key/value sizes and pin names.
The module's descriptor check (conftest) proves that no path leaks.
"""

from __future__ import annotations

import errno
import fcntl
import os
import subprocess
import sys
import tempfile
from array import array
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bpfobj
from bpfobj import (
    BPFError,
    BPFPermissionError,
    ClosedError,
    KeyExistsError,
    KeyNotFoundError,
    Map,
    MapBatch,
    MapInfo,
    MapSpec,
    MapType,
    NotBPFFSError,
    NotSupportedError,
    ObjectTypeError,
    ProcessGoneError,
    ProgramType,
    UpdateFlags,
)
from bpfobj._internal import syscall as _sys
from bpfobj._internal.fd import FD
from bpfobj.errors import NOT_BPFFS_ERRNO
from bpfobj.map import possible_cpus

pytestmark = pytest.mark.usefixtures("kernel")

NCPU_PATH = "/sys/devices/system/cpu/possible"
RETURN_0 = bytes([0xB7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0])  # r0 = 0; exit


def k(i: int) -> bytes:
    return i.to_bytes(4, sys.byteorder)


def v(i: int, size: int = 8) -> bytes:
    return i.to_bytes(size, sys.byteorder)


def spec(t: MapType = MapType.HASH, ks: int = 4, vs: int = 8, n: int = 16,
         name: str = "counts", **kw: object) -> MapSpec:
    return MapSpec(type=t, key_size=ks, value_size=vs, max_entries=n, name=name, **kw)  # type: ignore[arg-type]


@pytest.fixture
def hmap() -> Iterator[Map]:
    with Map.create(spec()) as m:
        yield m


@pytest.fixture
def prog() -> Iterator[FD]:
    fd, _log = _sys.prog_load(prog_type=int(ProgramType.SOCKET_FILTER), insns=RETURN_0,
                              license="GPL")
    with fd:
        yield fd


def cloexec(raw: int) -> bool:
    return bool(fcntl.fcntl(raw, fcntl.F_GETFD) & fcntl.FD_CLOEXEC)


def is_open(raw: int) -> bool:
    try:
        os.fstat(raw)
    except OSError:
        return False
    return True


# -- text forms ------------------------------------------------------------------------


def test_text_forms(hmap: Map) -> None:
    assert str(spec()) == "Hash(keySize=4, valueSize=8, maxEntries=16, flags=0)"
    assert repr(hmap) == f"Hash(counts)#{hmap.fd}"
    info = hmap.info()
    assert str(info) == "Map(name=counts type=Hash keySize=4 valueSize=8 maxEntries=16 flags=0)"
    assert str(spec(MapType.LRU_PERCPU_HASH, flags=1)) == \
        "LRUCPUHash(keySize=4, valueSize=8, maxEntries=16, flags=1)"
    with Map.create(spec(MapType.ARRAY, name="")) as a:
        assert repr(a) == f"Array()#{a.fd}"


def test_info_fields(hmap: Map) -> None:
    info = hmap.info()
    assert isinstance(info, MapInfo)
    assert info.id > 0 and info.type is MapType.HASH
    assert (info.key_size, info.value_size, info.max_entries, info.flags, info.name) == \
        (4, 8, 16, 0, "counts")
    assert info.btf_id == 0 and info.map_extra == 0 and info.ifindex == 0
    # frozen and memlock come on the default path, as the descriptor's fdinfo says them
    with open(f"/proc/self/fdinfo/{hmap.fd}") as f:
        fdinfo = dict(line.split(":", 1) for line in f.read().splitlines())
    assert info.frozen is False and fdinfo["frozen"].strip() == "0"
    assert type(info.memlock) is int and info.memlock == int(fdinfo["memlock"]) > 0
    with pytest.raises(AttributeError):
        info.id = 1  # type: ignore[misc]  # frozen dataclass
    # properties mirror the kernel's answer
    assert (hmap.type, hmap.name, hmap.key_size, hmap.value_size, hmap.max_entries,
            hmap.flags) == (MapType.HASH, "counts", 4, 8, 16, 0)


def test_create_flags_are_kept() -> None:
    with Map.create(spec(flags=1)) as m:  # BPF_F_NO_PREALLOC
        assert m.flags == 1 and m.info().flags == 1


def test_create_bad_spec() -> None:
    with pytest.raises(ValueError, match="15 bytes"):
        Map.create(spec(name="x" * 16))
    with pytest.raises(ValueError, match="letters, digits"):
        Map.create(spec(name="a b"))
    with pytest.raises(ValueError, match="key_size"):
        Map.create(spec(ks=-1))
    with pytest.raises(ValueError, match="max_entries"):
        Map.create(spec(n=2**32))
    with pytest.raises(BPFError, match="map create Hash.*invalid map attributes") as info:
        Map.create(spec(ks=0))
    assert info.value.errno == errno.EINVAL
    with pytest.raises(TypeError, match="MapSpec.type must be a MapType"):
        Map.create(spec("hash"))  # type: ignore[arg-type]
    # a type number our headers do not know still gets the kernel's answer, named
    with pytest.raises(BPFError, match=r"map create MapType\(9999\)\(keySize=4") as info:
        Map.create(spec(9999))  # type: ignore[arg-type]
    assert info.value.errno == errno.EINVAL
    with pytest.raises(TypeError):
        Map()


# -- new_from_fd ------------------------------------------------------------------------


def test_new_from_fd_wrapper_closed_first(hmap: Map) -> None:
    hmap.update(1, 10)
    other = Map.new_from_fd(hmap.fd)
    assert other.fd != hmap.fd and other.fd >= 1
    assert cloexec(other.fd)
    assert other.info().id == hmap.info().id
    assert repr(other) == f"Hash(counts)#{other.fd}"
    assert other.lookup(1) == v(10)
    other.close()
    # the caller's descriptor is untouched
    assert hmap.lookup(1) == v(10)
    hmap.update(2, 20)


def test_new_from_fd_original_closed_first(hmap: Map) -> None:
    raw = fcntl.fcntl(hmap.fd, fcntl.F_DUPFD, 1)  # the caller's own, not close-on-exec
    try:
        assert not cloexec(raw)
        other = Map.new_from_fd(raw)
    finally:
        os.close(raw)
    with other:
        assert cloexec(other.fd)
        other.update(3, 30)
        assert hmap.lookup(3) == v(30)
        assert other.info().id == hmap.info().id


def test_new_from_fd_bad_input(prog: FD) -> None:
    r, w = os.pipe()
    os.close(w)
    with pytest.raises(ObjectTypeError, match="non-bpf file, not a bpf-map"):
        Map.new_from_fd(r)
    os.close(r)
    with pytest.raises(BPFError, match="bad file descriptor") as info:
        Map.new_from_fd(r)  # now closed
    assert info.value.errno == errno.EBADF
    with open("/dev/null", "rb") as f:
        with pytest.raises(ObjectTypeError, match="not a bpf-map"):
            Map.new_from_fd(f.fileno())
    with pytest.raises(ObjectTypeError, match="bpf-prog, not a bpf-map") as tinfo:
        Map.new_from_fd(prog.raw)
    assert isinstance(tinfo.value, TypeError)
    with pytest.raises(BPFError) as info:
        Map.new_from_fd(-1)
    assert info.value.errno == errno.EBADF
    with pytest.raises(TypeError):
        Map.new_from_fd("3")  # type: ignore[arg-type]


# -- new_from_id ------------------------------------------------------------------------


def test_new_from_id(hmap: Map) -> None:
    map_id = hmap.info().id
    with Map.new_from_id(map_id) as other:
        assert other.info().id == map_id and cloexec(other.fd)
        assert repr(other) == f"Hash(counts)#{other.fd}"


def test_new_from_id_missing() -> None:
    with pytest.raises(BPFError, match="no object with this id") as info:
        Map.new_from_id(2**32 - 2)
    assert info.value.errno == errno.ENOENT
    with pytest.raises(ValueError):
        Map.new_from_id(-1)


# -- pins -------------------------------------------------------------------------------


def test_pin_load_pinned_unpin(hmap: Map, pin_dir: str) -> None:
    path = os.path.join(pin_dir, "counts")
    assert not hmap.is_pinned
    hmap.pin(path)
    assert hmap.is_pinned and hmap.pinned_path == path and os.path.exists(path)
    hmap.update(1, 11)
    with Map.load_pinned(path) as loaded:
        assert loaded.is_pinned and loaded.pinned_path == path
        assert loaded.info().id == hmap.info().id and cloexec(loaded.fd)
        assert loaded.lookup(1) == v(11)
    hmap.pin(path)  # already pinned there: nothing to do (cilium's Pin does the same)
    with Map.create(spec(name="other")) as other, \
            pytest.raises(BPFError, match="path exists") as info:
        other.pin(path)
    assert info.value.errno == errno.EEXIST
    hmap.unpin()
    assert not hmap.is_pinned and not os.path.exists(path)
    hmap.unpin()  # idempotent
    with pytest.raises(BPFError, match="no such pinned object") as info:
        Map.load_pinned(path)
    assert info.value.errno == errno.ENOENT and info.value.filename == path
    hmap.update(2, 22)  # the map lives on


def test_load_pinned_read_only(hmap: Map, pin_dir: str) -> None:
    path = os.path.join(pin_dir, "m")
    hmap.update(1, 1)
    hmap.pin(path)
    with Map.load_pinned(path, read_only=True) as ro:
        assert ro.lookup(1) == v(1)
        assert list(ro.keys()) == [k(1)]
        for write in (lambda: ro.update(1, 2), lambda: ro.delete(1),
                      lambda: ro.batch_update([2], [2]), lambda: ro.freeze()):
            with pytest.raises(BPFPermissionError) as info:
                write()
            msg = str(info.value)
            assert "read-only" in msg and "root" not in msg and "CAP_BPF" not in msg
            assert info.value.errno == errno.EPERM and isinstance(info.value, PermissionError)
    assert hmap.lookup(1) == v(1)


def test_load_pinned_write_only(hmap: Map, pin_dir: str) -> None:
    path = os.path.join(pin_dir, "m")
    hmap.pin(path)
    with Map.load_pinned(path, write_only=True) as wo:
        wo.update(5, 50)
        for read in (lambda: wo.lookup(5), lambda: wo.next_key(None), lambda: wo.batch_lookup()):
            with pytest.raises(BPFPermissionError, match="write-only") as info:
                read()
            assert "root" not in str(info.value)
    assert hmap.lookup(5) == v(50)
    with pytest.raises(ValueError, match="exclude"):
        Map.load_pinned(path, read_only=True, write_only=True)


def test_load_pinned_wrong_object(pin_dir: str, prog: FD) -> None:
    path = os.path.join(pin_dir, "prog")
    _sys.obj_pin(prog, path, "prog")
    with pytest.raises(ObjectTypeError, match="bpf-prog, not a bpf-map") as info:
        Map.load_pinned(path)
    assert info.value.filename == path
    with pytest.raises(ObjectTypeError, match="directory"):
        Map.load_pinned(pin_dir)


def test_pin_and_load_outside_bpffs(hmap: Map) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "m")
        with pytest.raises(NotBPFFSError, match="not on a bpffs mount") as info:
            hmap.pin(path)
        assert info.value.errno == NOT_BPFFS_ERRNO and info.value.filename == path
        assert not hmap.is_pinned and not os.path.exists(path)
        open(path, "wb").close()
        with pytest.raises(NotBPFFSError, match="not on a bpffs mount"):
            Map.load_pinned(path)


def test_pin_bad_names(hmap: Map, pin_dir: str) -> None:
    with pytest.raises(BPFError, match="may not contain '.'") as info:
        hmap.pin(os.path.join(pin_dir, "a.b"))
    assert not isinstance(info.value, NotBPFFSError)
    with pytest.raises(BPFError, match="parent directory does not exist") as info:
        hmap.pin(os.path.join(pin_dir, "nodir", "m"))
    assert info.value.errno == errno.ENOENT
    assert not hmap.is_pinned


_PIN_NAME = st.text(
    st.characters(codec="utf-8", blacklist_characters="/.\x00"),
    min_size=1, max_size=40,
).filter(lambda s: len(s.encode()) <= 255)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=_PIN_NAME)
def test_pin_odd_names(pin_dir: str, name: str) -> None:
    path = os.path.join(pin_dir, name)
    with Map.create(spec(MapType.ARRAY, n=1)) as m:
        m.pin(path)
        try:
            assert name in os.listdir(pin_dir)
            with Map.load_pinned(path) as again:
                assert again.info().id == m.info().id
        finally:
            m.unpin()
    assert not os.path.exists(path)


def test_pin_emoji_name(hmap: Map, pin_dir: str) -> None:
    path = os.path.join(pin_dir, "counts 🐝 ünï")
    hmap.pin(path)
    with Map.load_pinned(path) as again:
        assert again.info().id == hmap.info().id
    hmap.unpin()


# -- pidfd ------------------------------------------------------------------------------

_CHILD = r"""
import sys
from bpfobj import Map, MapSpec, MapType
m = Map.create(MapSpec(MapType.HASH, 4, 8, 4, name="child"))
m.update(7, 70)
print(m.fd, m.info().id, flush=True)
sys.stdin.readline()
"""


def test_new_from_pidfd() -> None:
    child = subprocess.Popen([sys.executable, "-c", _CHILD], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        raw, map_id = map(int, child.stdout.readline().split())
        with Map.new_from_pidfd(child.pid, raw) as m:
            assert m.info().id == map_id and m.name == "child" and cloexec(m.fd)
            assert m.lookup(7) == v(70)
        with pytest.raises(ObjectTypeError, match="not a bpf-map"):
            Map.new_from_pidfd(child.pid, 0)  # the child's stdin pipe
        with pytest.raises(BPFError, match="has no descriptor 1000") as info:
            Map.new_from_pidfd(child.pid, 1000)
        assert info.value.errno == errno.EBADF
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(10)
        assert child.stdout is not None
        child.stdout.close()
    with pytest.raises(ProcessGoneError):
        Map.new_from_pidfd(child.pid, raw)  # reaped: gone


# -- clone, close, context manager --------------------------------------------------------


def test_clone(hmap: Map) -> None:
    c = hmap.clone()
    assert type(c) is Map and c.fd != hmap.fd and cloexec(c.fd)
    assert repr(c) == f"Hash(counts)#{c.fd}"
    hmap.update(1, 1)
    hmap.close()
    assert c.lookup(1) == v(1)
    c.close()
    with pytest.raises(ClosedError):
        c.clone()


def test_close_idempotent_and_context_manager() -> None:
    with Map.create(spec()) as m:
        raw = m.fd
        assert not m.closed
    assert m.closed and not is_open(raw)
    m.close()
    m.close()
    assert repr(m).startswith("Hash(counts)#")
    with pytest.raises(ClosedError, match="map lookup Hash\\(counts\\).*closed") as info:
        m.lookup(1)
    assert isinstance(info.value, ValueError)
    with pytest.raises(ClosedError):
        _ = m.fd
    for call in (lambda: m.update(1, 1), lambda: m.info(), lambda: list(m.keys()),
                 lambda: m.batch_lookup(), lambda: m.freeze()):
        with pytest.raises(ClosedError):
            call()


def test_not_picklable(hmap: Map) -> None:
    import pickle

    with pytest.raises(TypeError, match="fdpass"):
        pickle.dumps(hmap)


# -- elements ---------------------------------------------------------------------------


def test_hash_elements(hmap: Map) -> None:
    assert hmap.next_key(None) is None and list(hmap.keys()) == [] and hmap.count_entries() == 0
    with pytest.raises(KeyNotFoundError) as info:
        hmap.lookup(1)
    assert str(info.value) == f"map lookup Hash(counts)#{hmap.fd}: key not found"
    assert isinstance(info.value, KeyError) and info.value.errno == errno.ENOENT
    assert hmap.get(1) is None and hmap.get(1, b"d") == b"d" and 1 not in hmap
    hmap.update(1, 100)
    hmap[k(2)] = v(200)
    assert hmap.lookup(1) == v(100) and hmap[2] == v(200) and hmap.get(k(2)) == v(200)
    assert 1 in hmap and k(2) in hmap
    assert sorted(hmap.keys()) == [k(1), k(2)] and sorted(hmap) == [k(1), k(2)]
    assert dict(hmap.items()) == {k(1): v(100), k(2): v(200)}
    assert sorted(hmap.values()) == [v(100), v(200)]
    assert hmap.count_entries() == 2
    first = hmap.next_key(None)
    second = hmap.next_key(first)
    assert {first, second} == {k(1), k(2)} and hmap.next_key(second) is None
    assert hmap.next_key(99) in (k(1), k(2))  # an absent key restarts a hash walk
    assert hmap.lookup_and_delete(1) == v(100) and 1 not in hmap
    with pytest.raises(KeyNotFoundError, match="map lookup and delete"):
        hmap.lookup_and_delete(1)
    del hmap[2]
    with pytest.raises(KeyNotFoundError, match="map delete"):
        hmap.delete(2)
    assert hmap.count_entries() == 0


def test_update_flags(hmap: Map) -> None:
    with pytest.raises(KeyNotFoundError, match="key not found.*EXIST"):
        hmap.update(1, 1, UpdateFlags.EXIST)
    hmap.update(1, 1, UpdateFlags.NOEXIST)
    with pytest.raises(KeyExistsError, match="key exists.*NOEXIST") as info:
        hmap.update(1, 2, UpdateFlags.NOEXIST)
    assert info.value.errno == errno.EEXIST and isinstance(info.value, FileExistsError)
    assert hmap.lookup(1) == v(1)
    hmap.update(1, 3, UpdateFlags.EXIST)
    hmap.update(1, 4, UpdateFlags.ANY)
    hmap.update(2, 5)
    assert hmap.lookup(1) == v(4) and hmap.lookup(2) == v(5)


@pytest.mark.parametrize("vs", [1, 3, 7, 8, 9, 16])
def test_bytes_fast_paths_match_the_converting_ones(vs: int) -> None:
    # bytes keys and values of the map's sizes take one C call each (values of
    # at most 8 bytes come back in the call's result); ints take the converting
    # path. Both must give the same bytes and the same errors, for every value
    # size around the 8-byte limit and for a value whose bytes are all 0xff
    # (the small lookup's failure marker: a value, not an error).
    with Map.create(spec(vs=vs, n=4)) as m:
        for val in (bytes(vs), b"\xff" * vs, bytes(range(1, vs + 1))):
            m.update(k(1), val)
            assert m.lookup(k(1)) == val == m.lookup(1) == m[k(1)]
            assert type(m.lookup(k(1))) is bytes
        with pytest.raises(KeyNotFoundError, match=r"map lookup Hash\(counts\)#\d+: key not found"):
            m.lookup(k(2))
        assert m.lookup(k(1)) == bytes(range(1, vs + 1))  # no stale error code
        m.update(k(1), b"\xff" * vs)
        with pytest.raises(KeyNotFoundError):
            m.lookup(k(2))
        assert m.lookup(k(1)) == b"\xff" * vs  # the marker value after a failure: still a value
        with pytest.raises(KeyExistsError, match="map update.*key exists"):
            m.update(k(1), bytes(vs), UpdateFlags.NOEXIST)
        with pytest.raises(KeyNotFoundError, match="map update.*key not found"):
            m.update(k(3), bytes(vs), UpdateFlags.EXIST)
        with pytest.raises(ValueError, match="key is 3 bytes"):
            m.lookup(b"abc")
        with pytest.raises(ValueError, match=f"value is {vs + 1} bytes"):
            m.update(k(1), bytes(vs + 1))
        m.delete(k(1))
        with pytest.raises(KeyNotFoundError, match=r"map delete Hash\(counts\)#\d+: key not found"):
            m.delete(k(1))
        m.close()
        for call in (lambda: m.lookup(k(1)), lambda: m.update(k(1), bytes(vs)),
                     lambda: m.delete(k(1))):
            with pytest.raises(ClosedError):
                call()


def test_small_lookup_error_code_is_per_thread() -> None:
    # The small lookup leaves its error code in a per-thread variable while the
    # GIL is released: a thread that fails must never make another thread's
    # all-0xff value read as a failure, nor a success hide its own failure.
    import threading

    with Map.create(spec(n=4)) as m:
        m.update(k(1), b"\xff" * 8)
        bad: list[str] = []

        def hits() -> None:
            for _ in range(2000):
                try:
                    if m.lookup(k(1)) != b"\xff" * 8:
                        bad.append("value")
                except KeyNotFoundError as exc:
                    bad.append(f"another thread's error: {exc}")

        def misses() -> None:
            for _ in range(2000):
                try:
                    m.lookup(k(2))
                    bad.append("no error")
                except KeyNotFoundError:
                    pass

        threads = [threading.Thread(target=f) for f in (hits, misses, hits, misses)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not bad, bad[:3]


def test_hash_full() -> None:
    with Map.create(spec(n=2)) as m:
        m.update(1, 1)
        m.update(2, 2)
        with pytest.raises(BPFError, match="map is full") as info:
            m.update(3, 3)
        assert info.value.errno == errno.E2BIG
        m.update(2, 22)  # replacing an existing key still works


def test_key_value_conversion(hmap: Map) -> None:
    hmap.update(-1, -2)
    assert hmap.lookup(b"\xff" * 4) == (-2).to_bytes(8, sys.byteorder, signed=True)
    hmap.update(bytearray(k(5)), memoryview(v(6)))
    assert hmap.lookup(array("I", [5])) == v(6)
    hmap.update(bytearray(k(7) * 2)[4:], v(8))
    assert hmap.lookup(7) == v(8)
    strided = memoryview(bytes(x for b in k(7) for x in (b, 0xEE)))[::2]  # not contiguous
    assert not strided.c_contiguous and hmap.lookup(strided) == v(8)
    assert hmap.lookup(2**32 - 1) == (-2).to_bytes(8, sys.byteorder, signed=True)


def test_bad_keys_and_values_fail_before_any_syscall() -> None:
    m = Map.create(spec())
    m.close()
    # On a closed map any syscall would raise ClosedError: these must not get that far.
    for key, exc, pattern in [
        (b"abc", ValueError, "key is 3 bytes, the map's keys are 4"),
        (bytearray(5), ValueError, "key is 5 bytes"),
        (2**32, ValueError, "does not fit in 4 bytes"),
        (-(2**31) - 1, ValueError, "does not fit"),
        ("abcd", TypeError, "bytes-like or int, not str"),
        (1.0, TypeError, "not float"),
        (None, ValueError, "must not be None"),
    ]:
        with pytest.raises(exc, match=pattern):
            m.lookup(key)  # type: ignore[arg-type]
        with pytest.raises(exc, match=pattern):
            m.update(key, 0)  # type: ignore[arg-type]
        with pytest.raises(exc, match=pattern):
            m.delete(key)  # type: ignore[arg-type]
    for value, exc, pattern in [
        (b"1234567", ValueError, "value is 7 bytes, the map's values are 8"),
        (2**64, ValueError, "does not fit in 8 bytes"),
        ([1], TypeError, "not list"),
        (object(), TypeError, "not object"),
    ]:
        with pytest.raises(exc, match=pattern):
            m.update(1, value)  # type: ignore[arg-type]


# -- per map type ---------------------------------------------------------------------


def test_array() -> None:
    with Map.create(spec(MapType.ARRAY, n=4)) as a:
        assert dict(a.items()) == {k(i): v(0) for i in range(4)} and a.count_entries() == 4
        a.update(3, 33)
        assert a.lookup(3) == v(33)
        with pytest.raises(KeyExistsError):
            a.update(0, 1, UpdateFlags.NOEXIST)
        with pytest.raises(KeyNotFoundError):
            a.lookup(4)
        with pytest.raises(BPFError, match="past the array's end") as info:
            a.update(4, 1)
        assert info.value.errno == errno.E2BIG
        with pytest.raises(BPFError, match="cannot be deleted") as info:
            a.delete(0)
        assert info.value.errno == errno.EINVAL
        with pytest.raises(NotSupportedError, match="not supported by this map type"):
            a.lookup_and_delete(0)
        with pytest.raises(NotSupportedError, match="not supported by this map type"):
            a.batch_lookup(delete=True)
        assert a.next_key(None) == k(0) and a.next_key(3) is None


def test_possible_cpus() -> None:
    with open(NCPU_PATH) as f:
        text = f.read().strip()
    last = int(text.replace(",", "-").split("-")[-1])
    assert possible_cpus() == last + 1 or "," in text  # contiguous on every machine we know
    assert possible_cpus() >= (os.cpu_count() or 1)


@pytest.mark.parametrize("mtype", [MapType.PERCPU_HASH, MapType.PERCPU_ARRAY,
                                   MapType.LRU_PERCPU_HASH])
def test_percpu(mtype: MapType) -> None:
    n = possible_cpus()
    with Map.create(spec(mtype, vs=5, n=4, name="pc")) as m:
        values = [bytes([i + 1]) * 5 for i in range(n)]
        m.update_percpu(1, values)
        got = m.lookup_percpu(1)
        assert got == values  # one per possible CPU, the 8-byte slot padding stripped
        assert all(len(x) == 5 for x in got)
        m.update_percpu(2, [0x0102030405 + i for i in range(n)])
        assert m.lookup_percpu(2) == [(0x0102030405 + i).to_bytes(5, sys.byteorder)
                                      for i in range(n)]
        assert dict(m.items_percpu())[k(1)] == values
        batch = m.batch_lookup()
        assert dict(batch)[k(1)] == values and dict(batch)[k(2)] == m.lookup_percpu(2)
        assert all(isinstance(x, list) and len(x) == n for x in batch.value_list())
        assert m.batch_update([k(0), k(3)], [values, [b"\x09" * 5] * n]) == 2
        assert m.lookup_percpu(3) == [b"\x09" * 5] * n and m.lookup_percpu(0) == values
        with pytest.raises(ValueError, match=f"one per possible CPU \\({n}\\)"):
            m.update_percpu(1, values[:-1] if n > 1 else values * 2)
        with pytest.raises(TypeError, match="list of"):
            m.update_percpu(1, b"\x00" * 5)
        with pytest.raises(ValueError, match="value is 4 bytes"):
            m.update_percpu(1, [b"\x00" * 4] * n)
        if mtype is not MapType.PERCPU_ARRAY:
            assert m.lookup_and_delete_percpu(1) == values
            assert 1 not in m


def test_lru_hash_evicts() -> None:
    with Map.create(spec(MapType.LRU_HASH, n=8, name="lru")) as m:
        for i in range(64):
            m.update(i, i)  # never "map is full": old keys are evicted
        assert 0 < m.count_entries() <= 64
        assert 63 in m and m.lookup(63) == v(63)
        m.delete(63)
        assert m.get(63) is None


@pytest.mark.parametrize("mtype,order", [(MapType.QUEUE, [1, 2, 3]), (MapType.STACK, [3, 2, 1])])
def test_queue_and_stack(mtype: MapType, order: list[int]) -> None:
    with Map.create(spec(mtype, ks=0, vs=4, n=3, name="q")) as q:
        assert repr(q) == f"{mtype}(q)#{q.fd}"
        with pytest.raises(KeyNotFoundError, match=f"the {str(mtype).lower()} is empty"):
            q.lookup()
        for i in (1, 2, 3):
            q.update(None, v(i, 4))
        with pytest.raises(BPFError, match="map is full") as info:
            q.update(None, v(4, 4))
        assert info.value.errno == errno.E2BIG
        assert q.lookup() == v(order[0], 4)  # peek
        assert [q.lookup_and_delete() for _ in range(3)] == [v(i, 4) for i in order]
        with pytest.raises(KeyNotFoundError, match="is empty"):
            q.lookup_and_delete()
        with pytest.raises(ValueError, match="no keys"):
            q.update(1, 1)
        with pytest.raises(TypeError, match="no keys to iterate"):
            list(q.keys())


def test_array_of_maps() -> None:
    inner_spec = spec(MapType.ARRAY, vs=4, n=2, name="inner")
    with Map.create(spec(MapType.ARRAY_OF_MAPS, vs=4, n=2, name="outer",
                         inner_map=inner_spec)) as outer, Map.create(inner_spec) as inner:
        assert outer.type is MapType.ARRAY_OF_MAPS
        inner.update(1, v(5, 4))
        outer.update(0, inner.fd)
        inner_id = int.from_bytes(outer.lookup(0), sys.byteorder)
        assert inner_id == inner.info().id
        with Map.new_from_id(inner_id) as again:
            assert again.lookup(1) == v(5, 4)
        outer.delete(0)
        with pytest.raises(KeyNotFoundError):
            outer.lookup(0)
        # an inner map given as a Map is used and not closed
        with Map.create(spec(MapType.ARRAY_OF_MAPS, vs=4, n=1, inner_map=inner)) as o2:
            o2.update(0, inner.fd)
        assert not inner.closed
        with Map.create(spec(MapType.HASH, ks=8, vs=4, n=1)) as wrong:
            with pytest.raises(BPFError) as info:
                outer.update(1, wrong.fd)  # not compatible with the template
            assert info.value.errno == errno.EINVAL

        # the objects themselves: update() passes their descriptors, lookup() gives IDs
        outer.update(1, inner)
        assert int.from_bytes(outer.lookup(1), sys.byteorder) == inner.info().id
        with pytest.raises(TypeError, match="value is a map"):
            outer.update(0, _xdp_pass())  # a Program where a Map belongs


def _xdp_pass() -> bpfobj.Program:
    insns = bpfobj.asm.Instructions([bpfobj.asm.mov_imm(bpfobj.asm.R0, 2), bpfobj.asm.exit_()])
    return bpfobj.Program.load(bpfobj.ProgramSpec(bpfobj.ProgramType.XDP, insns, name="pass"))


def test_prog_array_takes_programs() -> None:
    with Map.create(spec(MapType.PROG_ARRAY, vs=4, n=2, name="jumps")) as jumps, \
            _xdp_pass() as prog, Map.create(spec(MapType.HASH)) as other:
        jumps.update(0, prog)
        assert int.from_bytes(jumps.lookup(0), sys.byteorder) == prog.info().id
        jumps.update(1, prog.fd)  # a descriptor number, as the kernel takes it
        assert jumps.lookup(1) == jumps.lookup(0)
        with pytest.raises(TypeError, match="value is a prog"):
            jumps.update(0, other)
        with pytest.raises(TypeError, match="value is bytes or an int"):
            other.update(1, prog)  # an ordinary map holds no objects
        prog.close()
        with pytest.raises(ClosedError):
            jumps.update(0, prog)


def test_sockmap_takes_sockets() -> None:
    import socket

    with Map.create(spec(MapType.SOCKMAP, vs=4, n=2, name="socks")) as socks:
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        with a, b:
            socks.update(0, a)
            socks.update(1, b.fileno())
            socks.delete(0)
            a.close()
            with pytest.raises(ValueError, match="socket is closed"):
                socks.update(0, a)


def test_percpu_methods_are_typed_and_checked() -> None:
    n = possible_cpus()
    with Map.create(spec(MapType.PERCPU_HASH, vs=4, name="pc")) as pc, \
            Map.create(spec()) as plain:
        values = [bytes([i, 0, 0, 1]) for i in range(n)]
        pc.update_percpu(1, values)
        got: list[bytes] = pc.lookup_percpu(1)
        # the plain method still answers a list here (its annotation says bytes)
        assert got == values == pc.lookup(1)  # type: ignore[comparison-overlap]
        assert dict(pc.items_percpu()) == {k(1): values}
        assert pc.lookup_and_delete_percpu(1) == values
        for call in (lambda: plain.lookup_percpu(1), lambda: plain.update_percpu(1, [b""]),
                     lambda: plain.items_percpu(), lambda: plain.lookup_and_delete_percpu(1)):
            with pytest.raises(TypeError, match="for per-CPU maps"):
                call()


# -- batches ------------------------------------------------------------------------------


def test_batch_lookup_hash() -> None:
    with Map.create(spec(n=64)) as m:
        assert len(m.batch_lookup()) == 0
        model = {k(i): v(i * 3) for i in range(50)}
        assert m.batch_update(list(model), list(model.values())) == 50
        batch = m.batch_lookup(batch_size=7)
        assert isinstance(batch, MapBatch) and len(batch) == 50
        assert dict(batch) == model == dict(m.items())
        assert batch.key_list() == [key for key, _ in batch]
        assert batch.value_list() == [model[key] for key in batch.key_list()]
        assert len(batch.raw_keys) == 50 * 4 and len(batch.raw_values) == 50 * 8
        assert batch.raw_keys == b"".join(batch.key_list())
        assert batch[0] == (batch.raw_keys[:4], batch.raw_values[:8])
        assert batch[-1] == batch[49] and batch[1:3] == [batch[1], batch[2]]
        with pytest.raises(IndexError):
            batch[50]
        assert repr(batch) == "MapBatch(50 entries)"
        assert m.count_entries() == 50  # a plain lookup batch deletes nothing


def test_batch_update_packed_and_delete() -> None:
    with Map.create(spec(n=32)) as m:
        keys = b"".join(k(i) for i in range(10))
        values = bytearray(b"".join(v(i + 100) for i in range(10)))
        assert m.batch_update(keys, values) == 10
        assert dict(m.items()) == {k(i): v(i + 100) for i in range(10)}
        for flags in (UpdateFlags.NOEXIST, UpdateFlags.EXIST):
            with pytest.raises(ValueError, match="ANY or LOCK"):
                m.batch_update([0], [0], flags)
        with pytest.raises(ValueError, match="2 keys but 1 values"):
            m.batch_update([1, 2], [1])
        with pytest.raises(ValueError, match="not a multiple"):
            m.batch_update(keys[:-1], values)
        assert m.batch_update([], []) == 0
        assert m.batch_delete([0, 1, 2]) == 3
        assert m.batch_delete(k(3) + k(4)) == 2
        with pytest.raises(KeyNotFoundError, match="map batch delete"):
            m.batch_delete([0])
        assert sorted(m.keys()) == [k(i) for i in range(5, 10)]
        taken = m.batch_lookup(delete=True, batch_size=2)
        assert dict(taken) == {k(i): v(i + 100) for i in range(5, 10)}
        assert m.count_entries() == 0
        assert len(m.batch_lookup_and_delete()) == 0


def test_batch_array() -> None:
    with Map.create(spec(MapType.ARRAY, n=5)) as a:
        assert a.batch_update(range(5), [v(i) for i in range(5)]) == 5
        batch = a.batch_lookup(batch_size=2)
        assert dict(batch) == {k(i): v(i) for i in range(5)}
    with Map.create(spec(n=1)) as m, pytest.raises(ValueError, match="batch_size"):
        m.batch_lookup(batch_size=0)


# -- freeze ---------------------------------------------------------------------------------


def test_freeze(hmap: Map) -> None:
    hmap.update(1, 1)
    before = hmap.info()
    assert before.frozen is False
    with hmap.clone() as other:
        hmap.freeze()
        # true at once, on the default path, through every descriptor of the map
        assert hmap.info().frozen is True and other.info().frozen is True
        assert hmap.info() is not before and hmap.info().memlock == before.memlock
    for write in (lambda: hmap.update(1, 2), lambda: hmap.delete(1),
                  lambda: hmap.batch_update([2], [2])):
        with pytest.raises(BPFPermissionError, match="frozen") as info:
            write()
        assert "root" not in str(info.value) and info.value.errno == errno.EPERM
    assert hmap.lookup(1) == v(1)  # reads still work
    with pytest.raises(BPFPermissionError, match="already frozen"):
        hmap.freeze()
    with hmap.clone() as c:  # every descriptor of a frozen map refuses writes
        with pytest.raises(BPFPermissionError, match="frozen"):
            c.update(1, 3)


# -- the fd-0 case --------------------------------------------------------------------------

_FD0 = r"""
import os, fcntl
os.close(0)
from bpfobj import Map, MapSpec, MapType
m = Map.create(MapSpec(MapType.HASH, 4, 8, 1))
c = m.clone()
n = Map.new_from_id(m.info().id)
try:
    os.fstat(0)
    zero = os.readlink("/proc/self/fd/0")
except OSError:
    zero = "closed"
cloexec = all(fcntl.fcntl(x.fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC for x in (m, c, n))
print(m.fd, c.fd, n.fd, zero, cloexec)
"""


def test_fd_zero_never_held() -> None:
    out = subprocess.run([sys.executable, "-c", _FD0], capture_output=True, text=True,
                         timeout=30, check=True).stdout.split()
    a, b, c = map(int, out[:3])
    assert 0 not in (a, b, c) and len({a, b, c}) == 3
    assert out[3] == "closed"  # fd 0 was moved away and closed again: nothing bpf at 0
    assert out[4] == "True"


# -- property tests -----------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(ks=st.integers(1, 64), vs=st.integers(1, 256), data=st.data())
def test_sizes_round_trip(ks: int, vs: int, data: st.DataObject) -> None:
    with Map.create(MapSpec(MapType.HASH, ks, vs, 4)) as m:
        pairs = data.draw(st.dictionaries(st.binary(min_size=ks, max_size=ks),
                                          st.binary(min_size=vs, max_size=vs), max_size=4))
        for key, value in pairs.items():
            m.update(key, value)
        assert dict(m.items()) == pairs
        assert dict(m.batch_lookup()) == pairs
        for key, value in pairs.items():
            assert m.lookup(bytearray(key)) == value
        with pytest.raises(ValueError):
            m.lookup(bytes(ks + 1))
        with pytest.raises(ValueError):
            m.update(bytes(ks), bytes(vs - 1))


def test_public_names() -> None:
    for name in ("Map", "MapSpec", "MapType", "MapInfo", "MapBatch", "UpdateFlags"):
        assert name in bpfobj.__all__
    assert int(UpdateFlags.ANY) == 0 and int(UpdateFlags.NOEXIST) == 1
    assert int(UpdateFlags.EXIST) == 2 and int(UpdateFlags.LOCK) == 4


# -- pins move, length, closed repr (issue: the house before the extension) --------------


def test_pin_again_moves_the_pin(hmap: Map, pin_dir: str) -> None:
    first, second = os.path.join(pin_dir, "first"), os.path.join(pin_dir, "second")
    hmap.pin(first)
    ino = os.stat(first).st_ino
    hmap.pin(second)                      # a move, not a second pin
    assert not os.path.lexists(first)
    assert os.stat(second).st_ino == ino  # renamed: the same bpffs inode
    assert hmap.pinned_path == second
    hmap.pin(second)                      # pinning at the current path does nothing
    with Map.load_pinned(second) as again:
        assert again.info().id == hmap.info().id
    hmap.unpin()
    assert os.listdir(pin_dir) == []


def test_pin_move_never_replaces(hmap: Map, pin_dir: str) -> None:
    first, taken = os.path.join(pin_dir, "first"), os.path.join(pin_dir, "taken")
    with Map.create(spec(name="other")) as other:
        other.pin(taken)
        hmap.pin(first)
        with pytest.raises(bpfobj.BPFError, match="pin") as err:
            hmap.pin(taken)
        assert err.value.errno == errno.EEXIST
        assert hmap.pinned_path == first and os.path.exists(first)
        with Map.load_pinned(taken) as still:
            assert still.info().id == other.info().id
        other.unpin()
    hmap.unpin()


def test_pin_move_after_the_old_pin_was_removed(hmap: Map, pin_dir: str) -> None:
    first, second = os.path.join(pin_dir, "first"), os.path.join(pin_dir, "second")
    hmap.pin(first)
    os.unlink(first)                      # someone else removed it
    hmap.pin(second)                      # falls back to a fresh pin
    assert os.path.exists(second) and hmap.pinned_path == second
    with pytest.raises(bpfobj.BPFError) as err:
        hmap.pin(os.path.join(pin_dir, "missing-dir", "x"))
    assert err.value.errno == errno.ENOENT
    assert hmap.pinned_path == second
    hmap.unpin()


def test_pin_move_across_bpffs_mounts(hmap: Map, pin_dir: str) -> None:
    other_root = tempfile.mkdtemp(prefix="bpfobj-test-second-bpffs-")
    subprocess.run(["mount", "-t", "bpf", "bpf", other_root], check=True)
    try:
        first, far = os.path.join(pin_dir, "first"), os.path.join(other_root, "far")
        hmap.pin(first)
        hmap.pin(far)                     # EXDEV: pinned anew, the old pin removed
        assert not os.path.lexists(first) and os.path.exists(far)
        hmap.unpin()
        assert set(os.listdir(other_root)) <= {"maps.debug", "progs.debug"}
    finally:
        subprocess.run(["umount", other_root], check=True)
        os.rmdir(other_root)


def test_map_has_no_len_and_is_always_true() -> None:
    with Map.create(spec(n=8)) as m:
        assert m                          # empty, but a Map is an object, not a container
        with pytest.raises(TypeError):
            len(m)  # type: ignore[arg-type]
        m.update(1, 1)
        m.update(2, 2)
        assert m.count_entries() == 2
    with Map.create(MapSpec(MapType.QUEUE, 0, 4, 4)) as q:
        assert q
        with pytest.raises(TypeError, match="no keys"):
            q.count_entries()


def test_repr_of_a_closed_object_says_closed() -> None:
    m = Map.create(spec(name="gone"))
    assert repr(m).startswith("Hash(gone)#") and not repr(m).endswith("closed")
    m.close()
    assert repr(m) == "Hash(gone)#closed"
