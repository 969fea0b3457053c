"""CollectionSpec and Collection on compiled objects: what loads, how globals, pins,
replacements, tail calls and map-in-map behave, and that every path closes what it made."""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator

import pytest

from bpfobj import (
    AttachType,
    BPFError,
    Collection,
    CollectionSpec,
    Map,
    MapSpec,
    MapType,
    ProgramType,
    VariableSpec,
    btf,
    load_collection,
)
from bpfobj.collection import BPF_F_MMAPABLE, BPF_F_RDONLY_PROG, PIN_BY_NAME, data_map_name
from tests.bpf import LIBXDP, big_endian_object, objects
from tests.conftest import open_fds

pytestmark = pytest.mark.usefixtures("kernel")

# The kernel's BTF (attach targets of tp_btf/fentry) is read once and kept open by its
# cache; open it before the descriptor counts start.
btf.kernel_spec()

XDP_PASS, XDP_DROP = 2, 1
PACKET = bytes(64)


def obj(name: str) -> str:
    return objects()[name]


@pytest.fixture
def fds_unchanged() -> Iterator[None]:
    before = open_fds()
    yield
    assert open_fds() == before


# -- parsing --------------------------------------------------------------------------


def test_spec_of_every_map_kind() -> None:
    spec = CollectionSpec.from_file(obj("maps.bpf"))
    m = spec.maps
    assert m["counts"].type == MapType.HASH and (m["counts"].key_size,
                                                 m["counts"].value_size) == (4, 16)
    assert m["counts"].key_type is not None and m["counts"].key_type.name == "__u32"
    assert m["counts"].value_type.name == "pair"
    assert m["lru"].flags == 2 and m["bloom"].map_extra == 3
    assert m["pinned_map"].pinning == PIN_BY_NAME and m["pinned_map"].flags == 1
    assert m["outer"].type == MapType.ARRAY_OF_MAPS
    assert isinstance(m["outer"].inner_map, MapSpec)
    assert m["outer"].inner_map.type == MapType.ARRAY
    assert m["jumps"].type == MapType.PROG_ARRAY
    for sec in (".rodata", ".data", ".bss", ".data.custom", ".rodata.custom"):
        assert m[sec].type == MapType.ARRAY and m[sec].max_entries == 1
        assert m[sec].flags & BPF_F_MMAPABLE
    assert m[".rodata"].flags & BPF_F_RDONLY_PROG and m[".rodata"].freeze
    assert not m[".data"].flags & BPF_F_RDONLY_PROG
    assert m[".rodata"].name == "maps.rodata" and m[".data.custom"].name == ".data.custom"
    assert str(m["counts"]) == "Hash(keySize=4, valueSize=16, maxEntries=64, flags=0)"
    assert spec.types is not None and spec.license == "GPL"


def test_spec_programs_sections_and_linking() -> None:
    spec = CollectionSpec.from_file(obj("maps.bpf"))
    assert set(spec.programs) == {"xdp_main", "tail_target", "tc_main", "sock_prog"}
    p = spec.programs["xdp_main"]
    assert p.type == ProgramType.XDP and p.section_name == "xdp" and p.license == "GPL"
    assert spec.programs["tc_main"].type == ProgramType.SCHED_CLS
    # xdp_main calls shared -> middle -> leaf: four functions, four func_info records
    assert len(p.func_info) == 4 * 8 and p.line_info
    # sock_prog calls only leaf
    assert len(spec.programs["sock_prog"].func_info) == 2 * 8


def test_data_map_names() -> None:
    assert data_map_name("xdp-dispatcher", ".rodata") == "xdp_disp.rodata"
    assert data_map_name("xdp_dispatcher", ".rodata") == "xdp_disp.rodata"
    assert data_map_name("my_object_name", ".bss") == "my_objec.bss"
    assert data_map_name("my_object_name", ".kconfig") == "my_obje.kconfig"
    assert data_map_name("obj", ".rodata.abracadabra") == ".rodata.abracad"
    assert data_map_name("a-b", ".data") == "a_b.data"


def test_variables_from_every_data_section() -> None:
    spec = CollectionSpec.from_file(obj("maps.bpf"))
    v = spec.variables
    assert {"retval", "ro_table", "hits", "bss_counter", "custom_data", "custom_ro",
            "static_counter"} <= set(v)
    assert isinstance(v["retval"], VariableSpec) and v["retval"].section == ".rodata"
    assert int.from_bytes(v["retval"].get(), "little") == 2
    assert v["ro_table"].size == 16 and v["hits"].get() == struct.pack("<Q", 7)
    assert v["bss_counter"].get() == bytes(8)
    with pytest.raises(ValueError, match="4 bytes"):
        v["retval"].set(b"\0" * 3)
    with pytest.raises(ValueError, match="does not fit"):
        v["retval"].set(1 << 40)


def test_legacy_maps_and_version() -> None:
    spec = CollectionSpec.from_file(obj("legacy.bpf"))
    assert spec.maps["old_hash"] == MapSpec(MapType.HASH, 4, 8, 32, name="old_hash")
    assert spec.maps["old_array"].type == MapType.ARRAY
    assert spec.kern_version == 0x060000
    with Collection.load(spec) as coll:
        assert coll.programs["legacy_prog"].info().map_ids


def test_tracing_sections_parse() -> None:
    spec = CollectionSpec.from_file(obj("tracing.bpf"))
    p = spec.programs
    assert p["on_open"].type == ProgramType.KPROBE and p["on_open"].attach_to == "do_sys_openat2"
    assert p["on_switch"].type == ProgramType.TRACING and p["on_switch"].attach_to == \
        "sched_switch"
    assert p["on_unlink"].type == ProgramType.TRACING
    assert p["replacement"].type == ProgramType.EXT
    assert p["on_getpid"].attach_to == "syscalls/sys_enter_getpid"
    assert not p["not_autoloaded"].autoload
    assert p["unknown"].type == ProgramType.UNSPEC


# -- loading --------------------------------------------------------------------------


def test_rodata_set_before_load_changes_test_run(fds_unchanged: None) -> None:
    for value, want in ((XDP_PASS, XDP_PASS), (XDP_DROP, XDP_DROP)):
        spec = CollectionSpec.from_file(obj("rodata.bpf"))
        spec.variables["answer"].set(value)
        with Collection.load(spec) as coll:
            assert coll.programs["knob"].test_run(PACKET).retval == want
            with pytest.raises(BPFError):
                coll.variables["answer"].set(3)  # frozen .rodata


def test_bss_reads_back_live(fds_unchanged: None) -> None:
    with load_collection(obj("rodata.bpf")) as coll:
        runs = coll.variables["runs"]
        assert runs.get() == bytes(8)
        coll.programs["knob"].test_run(PACKET, repeat=5)
        assert int.from_bytes(runs.get(), "little") == 5
        runs.set(100)
        coll.programs["knob"].test_run(PACKET)
        assert int.from_bytes(runs.get(), "little") == 101


def test_tail_call_and_map_in_map_slots(fds_unchanged: None) -> None:
    with load_collection(obj("maps.bpf")) as coll:
        jumps = coll.maps["jumps"]
        tail_id = coll.programs["tail_target"].info().id
        assert int.from_bytes(jumps.lookup(1), "little") == tail_id
        assert jumps.get(0) is None
        outer = coll.maps["outer"]
        assert int.from_bytes(outer.lookup(0), "little") == coll.maps["inner0"].info().id
        assert int.from_bytes(outer.lookup(2), "little") == coll.maps["inner1"].info().id
        # the xdp program runs its subprograms and returns retval from .rodata
        assert coll.programs["xdp_main"].test_run(PACKET).retval == 2
        assert int.from_bytes(coll.variables["hits"].get(), "little") == 8


def test_pin_by_name_reuse(pin_dir: str, fds_unchanged: None) -> None:
    with load_collection(obj("maps.bpf"), pin_path=pin_dir) as first:
        path = os.path.join(pin_dir, "pinned_map")
        assert os.path.exists(path)
        first.maps["pinned_map"].update(1, 42)
        with load_collection(obj("maps.bpf"), pin_path=pin_dir) as second:
            assert second.maps["pinned_map"].info().id == first.maps["pinned_map"].info().id
            assert int.from_bytes(second.maps["pinned_map"].lookup(1), "little") == 42
            # tc_main reads the reused map: slot 1 holds 42
            assert second.maps["counts"].info().id != first.maps["counts"].info().id


def test_incompatible_pin_is_refused(pin_dir: str, fds_unchanged: None) -> None:
    with Map.create(MapSpec(MapType.HASH, 4, 8, 8, name="pinned_map")) as other:
        other.pin(os.path.join(pin_dir, "pinned_map"))
    with pytest.raises(BPFError, match=r"incompatible \(.*value_size 8 != 4"):
        load_collection(obj("maps.bpf"), pin_path=pin_dir)


def test_map_replacements_leave_the_callers_map_usable(fds_unchanged: None) -> None:
    with Map.create(MapSpec(MapType.HASH, 4, 16, 64, name="counts")) as mine:
        mine.update(0, bytes(16))
        with load_collection(obj("maps.bpf"), map_replacements={"counts": mine}) as coll:
            assert coll.maps["counts"] is mine
            assert mine.info().id in coll.programs["xdp_main"].info().map_ids
        assert mine.lookup(0) == bytes(16)
    with pytest.raises(ValueError, match="no map 'nope'"):
        load_collection(obj("maps.bpf"), map_replacements={"nope": mine})


def test_what_this_kernel_cannot_load(fds_unchanged: None) -> None:
    spec = CollectionSpec.from_file(obj("tracing.bpf"))
    with pytest.raises(ValueError, match=r"program unknown: section 'weird_section_name'"):
        Collection.load(spec)
    del spec.programs["unknown"]
    with pytest.raises(ValueError, match="program replacement: .*freplace.* needs a target"):
        Collection.load(spec)
    del spec.programs["replacement"]
    with pytest.raises(BPFError, match=r"program on_unlink \(section fentry/do_unlinkat\)"):
        Collection.load(spec)
    del spec.programs["on_unlink"]
    with pytest.raises(BPFError, match=r"program on_unlink_exit \(section fexit/do_unlinkat\)"):
        Collection.load(spec)
    del spec.programs["on_unlink_exit"]
    with Collection.load(spec) as coll:
        assert set(coll.programs) == {"on_open", "on_switch", "on_enter", "on_getpid"}
        assert coll.programs["on_switch"].type == ProgramType.TRACING
        assert coll.programs["on_open"].type == ProgramType.KPROBE


def test_verifier_error_names_the_program(fds_unchanged: None) -> None:
    spec = CollectionSpec.from_file(obj("rodata.bpf"))
    # A cgroup_skb program must return 0..3; the frozen .rodata makes it return 7.
    spec.programs["knob"].type = ProgramType.CGROUP_SKB
    spec.programs["knob"].expected_attach_type = AttachType.CGROUP_INET_INGRESS
    spec.variables["answer"].set(7)
    with pytest.raises(BPFError, match=r"program knob \(section xdp\)") as err:
        Collection.load(spec)
    assert getattr(err.value, "log", None) is not None


def test_big_endian_object_parses_and_refuses_to_load() -> None:
    spec = CollectionSpec.from_bytes(big_endian_object(), name="rodata")
    assert spec.byte_order == "big" and "knob" in spec.programs
    assert spec.maps[".rodata"].value_size == 4
    with pytest.raises(ValueError, match="big-endian; this host is little-endian"):
        Collection.load(spec)


def test_libxdp_dispatcher_loads_and_runs(fds_unchanged: None) -> None:
    spec = CollectionSpec.from_file(os.path.join(LIBXDP, "xdp-dispatcher.o"))
    assert ".rodata" in spec.maps and "conf" in spec.variables
    with Collection.load(spec) as coll:
        # with no programs configured the dispatcher passes every packet
        assert coll.programs["xdp_dispatcher"].test_run(PACKET).retval == XDP_PASS
        assert coll.maps[".rodata"].info().name == "xdp_disp.rodata"


# -- the command ----------------------------------------------------------------------


def test_cli_loadall_and_load_pin_as_bpftool(pin_dir: str, fds_unchanged: None) -> None:
    from bpfobj import Program
    from bpfobj.cli import main

    progs, maps = os.path.join(pin_dir, "progs"), os.path.join(pin_dir, "maps")
    assert main(["prog", "loadall", obj("maps.bpf"), progs, "--pinmaps", maps,
                 "--pin-root", pin_dir]) == 0
    assert sorted(os.listdir(progs)) == ["sock_prog", "tail_target", "tc_main", "xdp_main"]
    assert {"counts", "maps_rodata", "maps_bss", "_data_custom", "outer", "jumps"} <= set(
        os.listdir(maps))
    assert os.path.exists(os.path.join(pin_dir, "pinned_map"))  # PIN_BY_NAME, under the root
    with Program.load_pinned(os.path.join(progs, "xdp_main")) as p:
        assert p.test_run(PACKET).retval == 2  # prog array and data maps held by the pins
    one = os.path.join(pin_dir, "one")
    assert main(["prog", "load", obj("rodata.bpf"), one]) == 0
    with Program.load_pinned(one) as p:
        assert p.name == "knob"
    # a failing load leaves nothing pinned
    bad = os.path.join(pin_dir, "bad")
    assert main(["prog", "loadall", obj("tracing.bpf"), bad]) != 0
    assert not os.path.exists(bad) or os.listdir(bad) == []


def test_core_kconfig_and_ksyms(fds_unchanged: None) -> None:
    from bpfobj._internal.kconfig import kernel_version

    spec = CollectionSpec.from_file(obj("core.bpf"))
    kc = spec.maps[".kconfig"]
    assert kc.flags & BPF_F_RDONLY_PROG and kc.freeze and kc.name == "core.kconfig"
    assert {"LINUX_KERNEL_VERSION", "CONFIG_BPF_SYSCALL", "CONFIG_MISSING_OPTION"} <= set(
        spec.variables)
    with Collection.load(spec, kernel_types=btf.kernel_spec()) as coll:
        v = coll.variables
        assert int.from_bytes(v["LINUX_KERNEL_VERSION"].get(), "little") == kernel_version()
        assert v["CONFIG_BPF_SYSCALL"].get() == b"\x01"
        assert v["CONFIG_MISSING_OPTION"].get() == bytes(4)  # weak and absent: zero
        assert coll.programs["core_reads"].type == ProgramType.TRACING


def test_the_example_builds_and_runs(tmp_path: object) -> None:
    import subprocess
    import sys

    from tests.bpf import _arch_include

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = os.path.join(str(tmp_path), "packet_counter.bpf.o")
    subprocess.run(["clang", "-g", "-O2", "-target", "bpf", "-I", _arch_include(), "-c",
                    os.path.join(root, "examples", "packet_counter.bpf.c"), "-o", out],
                   check=True)
    run = subprocess.run([sys.executable, os.path.join(root, "examples", "packet_counter.py"),
                          out], capture_output=True, text=True, check=True, cwd=root,
                         env=dict(os.environ, PYTHONPATH=root))
    assert "protocol 17: XDP_DROP" in run.stdout and "total packets: 3" in run.stdout


def test_a_failed_load_removes_its_pins(pin_dir: str, fds_unchanged: None) -> None:
    spec = CollectionSpec.from_file(obj("maps.bpf"))
    spec.programs["xdp_main"].type = ProgramType.CGROUP_SYSCTL  # the verifier refuses it
    with pytest.raises(BPFError, match="program xdp_main"):
        Collection.load(spec, pin_path=pin_dir)
    assert os.listdir(pin_dir) == []
