"""MapInfo and map contents against bpftool, an independent oracle, field by field."""

from __future__ import annotations

import json
import struct
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from bpfobj import Map, MapInfo, MapSpec, MapType
from bpfobj._internal import syscall as _sys
from bpfobj.map import possible_cpus

pytestmark = [pytest.mark.usefixtures("kernel"), pytest.mark.bpftool]

TYPES = [MapType.HASH, MapType.ARRAY, MapType.PERCPU_HASH, MapType.PERCPU_ARRAY,
         MapType.LRU_HASH, MapType.LRU_PERCPU_HASH]
# Every key bpftool prints for a plain map; anything else is a field we do not compare yet.
KNOWN = {"id", "type", "name", "flags", "bytes_key", "bytes_value", "max_entries",
         "bytes_memlock", "frozen", "btf_id", "pids", "pinned", "map_extra"}


def show(bpftool: str, map_id: int) -> dict[str, Any]:
    out = subprocess.run([bpftool, "-j", "map", "show", "id", str(map_id)], capture_output=True,
                         text=True, check=True, timeout=30).stdout
    result: dict[str, Any] = json.loads(out)
    return result


def dump(bpftool: str, map_id: int) -> list[dict[str, Any]]:
    out = subprocess.run([bpftool, "-j", "map", "dump", "id", str(map_id)], capture_output=True,
                         text=True, check=True, timeout=30).stdout
    result: list[dict[str, Any]] = json.loads(out)
    return result


def unhex(items: list[str]) -> bytes:
    return bytes(int(x, 16) for x in items)


def assert_same(info: MapInfo, j: dict[str, Any]) -> None:
    assert set(j) <= KNOWN, f"bpftool prints fields we do not compare: {set(j) - KNOWN}"
    assert j["id"] == info.id
    assert j["type"] == info.type.kernel_name
    assert j["name"] == info.name
    assert j["flags"] == info.flags
    assert j["bytes_key"] == info.key_size
    assert j["bytes_value"] == info.value_size
    assert j["max_entries"] == info.max_entries
    assert j["bytes_memlock"] == info.memlock
    assert bool(j["frozen"]) == info.frozen
    assert j.get("btf_id", 0) == info.btf_id
    assert j.get("map_extra", 0) == info.map_extra


@pytest.fixture(params=TYPES, ids=lambda t: t.kernel_name)
def any_map(request: pytest.FixtureRequest) -> Iterator[Map]:
    flags = 1 if request.param in (MapType.HASH, MapType.PERCPU_HASH) else 0  # NO_PREALLOC
    with Map.create(MapSpec(request.param, 4, 12, 8, name=f"t_{request.param.kernel_name}"[:15],
                            flags=flags)) as m:
        yield m


def test_info_equals_bpftool_show(bpftool: str, any_map: Map) -> None:
    info = any_map.info(fdinfo=True)
    assert_same(info, show(bpftool, info.id))


def test_frozen_equals_bpftool(bpftool: str) -> None:
    with Map.create(MapSpec(MapType.ARRAY, 4, 8, 2, name="frozen")) as m:
        m.freeze()
        info = m.info(fdinfo=True)
        assert info.frozen is True
        j = show(bpftool, info.id)
        assert j["frozen"] == 1
        assert_same(info, j)


def test_btf_map_equals_bpftool(bpftool: str) -> None:
    strings = b"\x00int\x00"
    types = struct.pack("=III", 1, 1 << 24, 4) + struct.pack("=I", 32)  # one 32-bit int
    header = struct.pack("=HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(strings))
    btf, _ = _sys.btf_load(header + types + strings)
    with btf:
        fd = _sys.map_create(map_type=int(MapType.HASH), key_size=4, value_size=4, max_entries=4,
                             name="with_btf", btf_fd=btf, btf_key_type_id=1, btf_value_type_id=1)
    with fd, Map.new_from_fd(fd.raw) as m:
        m.update(3, 4)
        info = m.info(fdinfo=True)
        assert info.btf_id > 0 and info.btf_key_type_id == 1 and info.btf_value_type_id == 1
        assert_same(info, show(bpftool, info.id))
        (entry,) = dump(bpftool, info.id)
        assert unhex(entry["key"]) == m.next_key() and unhex(entry["value"]) == m.lookup(3)
        assert entry["formatted"] == {"key": 3, "value": 4}


def test_dump_equals_items(bpftool: str, any_map: Map) -> None:
    ncpu = possible_cpus()
    percpu = any_map.type in (MapType.PERCPU_HASH, MapType.PERCPU_ARRAY, MapType.LRU_PERCPU_HASH)
    for i in range(5):
        value = bytes(range(i, i + 12))
        if percpu:
            any_map.update_percpu(i, [value[c % 12:] + value[:c % 12] for c in range(ncpu)])
        else:
            any_map.update(i, value)
    ours = dict(any_map.items())
    theirs: dict[bytes, Any] = {}
    for entry in dump(bpftool, any_map.info().id):
        key = unhex(entry["key"])
        if percpu:
            by_cpu = sorted(entry["values"], key=lambda e: e["cpu"])
            assert [e["cpu"] for e in by_cpu] == list(range(ncpu))
            theirs[key] = [unhex(e["value"]) for e in by_cpu]
        else:
            theirs[key] = unhex(entry["value"])
    assert theirs == ours
    assert len(ours) == (8 if any_map.type in (MapType.ARRAY, MapType.PERCPU_ARRAY) else 5)
