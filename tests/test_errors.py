"""Errors raised by real kernel calls: the right class, errno, message and hint for the cause."""

from __future__ import annotations

import errno
import os
import pickle
import tempfile
from collections.abc import Iterator

import pytest

from bpfobj import (
    BPFError,
    BPFPermissionError,
    KeyExistsError,
    KeyNotFoundError,
    Map,
    MapSpec,
    MapType,
    NotBPFFSError,
    NotSupportedError,
    UpdateFlags,
    bpffs,
    leak,
)
from bpfobj.errors import ENOTSUPP, NOT_BPFFS_ERRNO

pytestmark = pytest.mark.usefixtures("kernel")


@pytest.fixture
def m() -> Iterator[Map]:
    with Map.create(MapSpec(MapType.HASH, 4, 8, 2, name="counts")) as m:
        yield m


def test_lookup_message_names_op_and_object(m: Map) -> None:
    with pytest.raises(KeyNotFoundError) as info:
        m.lookup(1)
    e = info.value
    assert str(e) == f"map lookup Hash(counts)#{m.fd}: key not found"
    assert e.errno == errno.ENOENT and isinstance(e, KeyError) and isinstance(e, OSError)
    again = pickle.loads(pickle.dumps(e))
    assert type(again) is KeyNotFoundError and str(again) == str(e) and again.errno == e.errno


def test_update_flags_errors(m: Map) -> None:
    m.update(1, 1)
    with pytest.raises(KeyExistsError) as info:
        m.update(1, 1, UpdateFlags.NOEXIST)
    assert info.value.errno == errno.EEXIST and "NOEXIST" in str(info.value)
    with pytest.raises(KeyNotFoundError) as kinfo:
        m.update(2, 1, UpdateFlags.EXIST)
    assert "EXIST" in str(kinfo.value)


def test_frozen_map_error_is_not_blamed_on_privilege(m: Map) -> None:
    m.freeze()
    with pytest.raises(BPFPermissionError) as info:
        m.update(1, 1)
    e = info.value
    assert isinstance(e, PermissionError) and e.errno == errno.EPERM
    assert "frozen" in str(e) and "root" not in str(e)
    assert str(e).startswith(f"map update Hash(counts)#{m.fd}: ")


def test_pin_outside_bpffs(m: Map) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "x")
        with pytest.raises(NotBPFFSError) as info:
            m.pin(path)
    e = info.value
    assert isinstance(e, OSError) and e.errno == NOT_BPFFS_ERRNO and e.filename == path
    assert "not on a bpffs mount" in str(e) and "mount -t bpf" in str(e)
    assert str(e).startswith(f"pin Hash(counts)#{m.fd} ")


def test_map_type_not_supported() -> None:
    with Map.create(MapSpec(MapType.ARRAY, 4, 4, 1)) as a:
        with pytest.raises(NotSupportedError) as info:
            a.lookup_and_delete(0)
    assert info.value.errno in (errno.EOPNOTSUPP, ENOTSUPP)
    assert "Unknown error" not in str(info.value) and "this map type" in str(info.value)


def test_create_einval_names_the_spec() -> None:
    with pytest.raises(BPFError) as info:
        Map.create(MapSpec(MapType.HASH, 0, 4, 1))
    assert info.value.errno == errno.EINVAL
    assert str(info.value).startswith(
        "map create Hash(keySize=0, valueSize=4, maxEntries=1, flags=0): invalid map attributes")


def test_not_bpffs_errno_is_one_for_pin_get_and_walk(m: Map) -> None:
    """The kernel says EPERM for a pin and EACCES/EINVAL for a get: one condition, one errno."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "x")
        open(path, "w").close()
        errs: list[NotBPFFSError] = []
        for call in (lambda: m.pin(os.path.join(tmp, "y")), lambda: Map.load_pinned(path),
                     lambda: list(bpffs.walk(tmp)), lambda: leak.analyze(os.getpid(), bpffs=tmp)):
            with pytest.raises(NotBPFFSError) as info:
                call()
            errs.append(info.value)
    assert {e.errno for e in errs} == {NOT_BPFFS_ERRNO}
    assert [str(e).split(" ", 2)[:2] for e in errs] == [
        ["pin", "Hash(counts)#" + str(m.fd)], ["load", "pinned"], ["walk", "bpffs"],
        ["leak", "analysis"]]
    assert [e.op.value if e.op else "" for e in errs] == [
        "pin", "load pinned", "walk bpffs", "leak analysis"]
