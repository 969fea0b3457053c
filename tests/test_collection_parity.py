"""Collection.load against libbpf: the same object loaded by `bpftool prog loadall`.

Per program: type, name, the kernel's tag and the xlated text (map ids replaced by map
names); per map: type, sizes, flags, map_extra, name and BTF key/value type ids. libbpf's
side runs in a private mount namespace (tests/collection_oracle.py), ours in this process.
"""

from __future__ import annotations

import glob
import os
from typing import Any

import pytest

from bpfobj import Collection, CollectionSpec
from tests.bpf import LIBXDP, objects
from tests.collection_oracle import describe, oracle

pytestmark = pytest.mark.bpftool

OURS = ["maps.bpf", "rodata.bpf", "core.bpf"]  # libbpf 1.x refuses legacy maps
SYSTEM = sorted(glob.glob(os.path.join(LIBXDP, "xdp-dispatcher.o")) +
                glob.glob(os.path.join(LIBXDP, "xdpfilt_*.o")))


def _ours(path: str, pin_dir: str) -> dict[str, Any]:
    with Collection.load(CollectionSpec.from_file(path), pin_path=pin_dir) as coll:
        return describe({n: p.info().id for n, p in coll.programs.items()},
                        {n: m.info().id for n, m in coll.maps.items()})


def _compare(path: str, pin_dir: str, tmp_path: Any) -> None:
    theirs = oracle(path, str(tmp_path))
    assert "error" not in theirs, theirs.get("error")
    mine = _ours(path, pin_dir)
    assert set(mine["programs"]) == set(theirs["programs"])
    for name, want in theirs["programs"].items():
        got = mine["programs"][name]
        assert got["tag"] == want["tag"], f"{name}: tag differs"
        assert got == want, name
    if theirs["all_maps"]:
        assert set(mine["maps"]) == set(theirs["maps"])
    for name, want in theirs["maps"].items():
        assert mine["maps"][name] == want, name


def test_cli_pins_as_bpftool(bpftool: str, pin_dir: str, tmp_path: Any) -> None:
    from bpfobj.cli import main

    path = objects()["rodata.bpf"]
    theirs = oracle(path, str(tmp_path))["pins"]
    progs, maps = os.path.join(pin_dir, "p"), os.path.join(pin_dir, "m")
    assert main(["prog", "loadall", path, progs, "pinmaps", maps]) == 0
    assert sorted(os.listdir(progs)) == theirs["progs"]
    assert sorted(os.listdir(maps)) == theirs["maps"]


@pytest.mark.parametrize("name", OURS)
def test_parity_compiled_objects(name: str, bpftool: str, pin_dir: str, tmp_path: Any) -> None:
    _compare(objects()[name], pin_dir, tmp_path)


@pytest.mark.parametrize("path", SYSTEM, ids=os.path.basename)
def test_parity_libxdp_objects(path: str, bpftool: str, pin_dir: str, tmp_path: Any) -> None:
    _compare(path, pin_dir, tmp_path)


def test_libxdp_objects_are_present() -> None:
    assert any(p.endswith("xdp-dispatcher.o") for p in SYSTEM), "libxdp1 is not installed"
