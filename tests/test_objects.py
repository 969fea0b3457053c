"""bpfobj.objects: every object on the system by ID, checked against objects we made and bpftool."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Generator, Iterator
from typing import Any

import pytest

from bpfobj import (
    BTF,
    Link,
    Map,
    MapSpec,
    MapType,
    ObjType,
    Program,
    ProgramSpec,
    ProgramType,
    objects,
)

from .conftest import run_as_nobody
from .test_btf import raw_btf

pytestmark = pytest.mark.usefixtures("kernel")

RET0 = bytes([0xB7, 0, 0, 0, 0, 0, 0, 0]) + bytes([0x95]) + bytes(7)  # r0 = 0; exit


def _spec(name: str = "objs_test") -> MapSpec:
    return MapSpec(MapType.HASH, 4, 8, 16, name=name)


@pytest.fixture
def prog() -> Iterator[Program]:
    with Program.load(ProgramSpec(type=ProgramType.RAW_TRACEPOINT, instructions=RET0,
                                  license="GPL", name="objs_rt")) as p:
        yield p


def test_maps_finds_ours_with_the_same_info() -> None:
    with Map.create(_spec()) as m, Map.create(MapSpec(MapType.ARRAY, 4, 4, 2, name="b")) as b:
        ours = (m.info(), b.info())
        found = {i.id: i for i in objects.maps()}
        assert found[ours[0].id] == ours[0]
        assert found[ours[1].id] == ours[1]
        assert str(found[ours[0].id]) == str(ours[0])
    # Closed, they are gone (IDs are allocated cyclically: not reused at once).
    after = {i.id for i in objects.maps()}
    assert ours[0].id not in after and ours[1].id not in after


def test_ids_increase_and_name_each_kind(prog: Program) -> None:
    with Map.create(_spec()) as m, Link.attach_raw_tracepoint(prog, "sched_switch") as lk, \
            BTF.load(raw_btf()) as b:
        for kind, obj in ((ObjType.MAP, m), ("prog", prog), (ObjType.LINK, lk), ("btf", b)):
            got = list(objects.ids(kind))
            assert got == sorted(set(got))
            assert obj.info().id in got


def test_programs_links_btfs(prog: Program) -> None:
    with Map.create(_spec()) as m, Link.attach_raw_tracepoint(prog, "sched_switch") as lk, \
            BTF.load(raw_btf()) as b:
        progs = {i.id: i for i in objects.programs()}
        assert progs[prog.info().id] == prog.info()
        links = {i.id: i for i in objects.links()}
        assert links[lk.info().id] == lk.info()
        assert links[lk.info().id].prog_id == prog.info().id
        btfs = {i.id: i for i in objects.btfs()}
        assert btfs[b.info().id] == b.info()
        assert any(i.kernel_btf and i.name == "vmlinux" for i in btfs.values())
        assert m.info().id in {i.id for i in objects.maps()}


@pytest.mark.bpftool
def test_maps_equal_bpftool(bpftool: str) -> None:
    with Map.create(_spec("objs_tool")) as m:
        out = subprocess.run([bpftool, "-j", "map", "show"], capture_output=True, text=True,
                             check=True).stdout
        tool = {d["id"]: d for d in json.loads(out)}
        info = {i.id: i for i in objects.maps()}[m.info().id]
        t = tool[info.id]
        assert (t["name"], t["type"], t["bytes_key"], t["bytes_value"], t["max_entries"]) == (
            info.name, info.type.kernel_name, info.key_size, info.value_size, info.max_entries)


def test_vanished_ids_are_skipped() -> None:
    """The skip path: IDs whose objects are gone when GET_FD_BY_ID runs (ENOENT)."""
    closed = []
    for _ in range(5):
        with Map.create(_spec()) as m:
            closed.append(m.info().id)
    with Map.create(_spec("objs_live")) as live:
        got = list(objects.from_ids(ObjType.MAP, [*closed[:2], live.info().id, *closed[2:]]))
        assert got == [live.info()]
    assert list(objects.from_ids("map", closed)) == []


CHURN = """
from bpfobj import Map, MapSpec, MapType
print("go", flush=True)
while True:
    Map.create(MapSpec(MapType.ARRAY, 4, 4, 1, name="churn")).close()
"""


def test_walk_tolerates_maps_vanishing_meanwhile() -> None:
    """Maps created and closed by another process during the walks never make them fail.

    The other process runs on the other CPU without our GIL: over a hundred
    walks some of its maps vanish between GET_NEXT_ID and GET_FD_BY_ID of a
    walk (a few dozen times on 2 CPUs).
    """
    with Map.create(_spec("objs_keep")) as keep:
        keep_id = keep.info().id
        child = subprocess.Popen([sys.executable, "-c", CHURN], stdout=subprocess.PIPE,
                                 text=True)
        try:
            assert child.stdout is not None and child.stdout.readline() == "go\n"
            for _ in range(100):  # a count, not a time: the machine may be busy
                assert keep_id in {i.id for i in objects.maps()}
        finally:
            child.kill()
            child.wait()
            if child.stdout is not None:
                child.stdout.close()


def test_stopping_early_leaks_nothing() -> None:
    with Map.create(_spec()), Map.create(_spec()):
        it = objects.maps()
        first: Any = next(it)
        assert first.id > 0
        assert isinstance(it, Generator)
        it.close()  # the module's fd-leak check fails if a descriptor stayed open


def test_bad_kind_and_id() -> None:
    with pytest.raises(ValueError):
        list(objects.ids("maps"))
    with pytest.raises(ValueError):
        list(objects.from_ids("map", [2**32]))


def test_not_root_is_a_permission_error() -> None:
    """Opening objects by ID needs CAP_SYS_ADMIN: unprivileged, the walk says so."""
    msg = run_as_nobody(lambda: list(objects.maps()))
    assert msg.startswith("denied") and "CAP_SYS_ADMIN" in msg, msg
