"""btf.Spec on real data: vmlinux, split BTF on it, compiled objects, .BTF.ext, the kernel."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from bpfobj import BTF, BTFLoadError, btf
from bpfobj._internal.elf import ELFFile
from bpfobj.btf.ext import BTFExt, CoreReloKind, pack_func_info, pack_line_info
from bpfobj.cli import main as cli_main

VMLINUX = "/sys/kernel/btf/vmlinux"

EXT_SOURCE = r"""
struct pair { int a; int b; };
__attribute__((section("xdp"))) int first(void *ctx)
{
    return 1;
}
static __attribute__((noinline)) int sub(int x) { return x * 3; }
__attribute__((section("tc"))) int second(struct pair *p)
{
    return sub(__builtin_preserve_access_index(p->b));
}
char _license[] __attribute__((section("license"))) = "GPL";
"""


@pytest.fixture(scope="module")
def ext_object(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("ext")
    (d / "ext.bpf.c").write_text(EXT_SOURCE)
    subprocess.run(["clang", "-g", "-O2", "-target", "bpf", "-c", str(d / "ext.bpf.c"), "-o",
                    str(d / "ext.bpf.o")], check=True, capture_output=True)
    return d / "ext.bpf.o"


def _node_spec() -> tuple[btf.Spec, btf.Struct]:
    """A struct that points to itself, with a bitfield, a typedef and an array of it."""
    node = btf.Struct("node", 32)
    int_t = btf.Int("int", 4, btf.IntEncoding.SIGNED)
    uint = btf.Int("unsigned int", 4)
    node.members = [btf.Member("value", int_t, 0), btf.Member("flag", uint, 32, 1),
                    btf.Member("kind", uint, 33, 3), btf.Member("next", btf.Pointer(node), 64),
                    btf.Member("pad", btf.Array(int_t, int_t, 4), 128)]
    return btf.Spec([node, btf.Typedef("node_t", node)]), node


# -- the container --------------------------------------------------------------------------


def test_the_compiled_index_is_used() -> None:
    # Without the C helpers the reader still works (the pure-Python twin), only ~100x slower
    # to open vmlinux: make their absence a failure, not a slowdown nobody sees.
    from bpfobj.btf import spec as spec_module

    csys = spec_module._csys()
    assert csys is not None
    for name in ("btf_index", "btf_find_by_name", "btf_find_cycle", "map_file_readonly"):
        assert callable(getattr(csys, name))


def test_kernel_spec_is_cached_and_indexed() -> None:
    spec = btf.kernel_spec()
    assert btf.kernel_spec() is spec
    assert isinstance(spec[0], btf.Void) and spec.type_id(spec[0]) == 0
    last = len(spec) - 1
    assert spec.type_id(spec[last]) == last
    with pytest.raises(IndexError):
        spec[len(spec)]
    with pytest.raises(IndexError):
        spec[-1]
    ids = [spec.type_id(t) for t in spec]
    assert ids == list(range(len(spec)))


def test_type_by_name_decodes_little(tmp_path: Path) -> None:
    spec = btf.Spec.from_file(VMLINUX)  # a fresh one, not the cached kernel spec
    task = spec.type_by_name("task_struct", btf.Struct)
    decoded = sum(t is not None for t in spec._types)
    assert decoded < 10, f"{decoded} types decoded to find one"
    assert btf.sizeof(task) == task.size > 1000
    first = task.members[0]
    assert isinstance(first.type, btf.Type) and first.name == "thread_info"
    assert spec.type_id(first.type) > 0


def test_threads_reading_the_same_types_get_the_same_objects() -> None:
    import threading

    spec = btf.Spec.from_file(VMLINUX)
    seen: list[list[int]] = []

    def read() -> None:
        ids = []
        for i in range(1, 30_000, 7):
            t = spec[i]
            ids.append(id(t.members[0].type) if isinstance(t, btf.Struct) and t.members
                       else id(t))
        seen.append(ids)

    threads = [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 4 and all(s == seen[0] for s in seen)


def test_names() -> None:
    spec = btf.kernel_spec()
    pid_t = spec.types_by_name("pid_t")
    assert pid_t and all(t.name == "pid_t" for t in pid_t)
    assert isinstance(spec.type_by_name("pid_t", btf.Typedef), btf.Typedef)
    assert btf.sizeof(spec.type_by_name("pid_t", btf.Typedef)) == 4
    assert spec.types_by_name("no_such_type_in_any_kernel") == []
    with pytest.raises(KeyError, match="no_such"):
        spec.type_by_name("no_such_type_in_any_kernel")
    with pytest.raises(KeyError):
        spec.type_by_name("task_struct", btf.Union)
    assert spec.types_by_name("") == []


def test_type_id_of_a_foreign_type() -> None:
    with pytest.raises(KeyError):
        btf.kernel_spec().type_id(btf.Int("int", 4))


def test_self_reference_identity_and_equality() -> None:
    spec, node = _node_spec()
    ptr = node.members[3].type
    assert isinstance(ptr, btf.Pointer) and ptr.target is node
    assert {node, ptr, node} == {node, ptr}  # identity hashing, finite on the cycle
    assert "Struct('node')" in repr(ptr)
    again = btf.Spec.from_bytes(spec.marshal())
    assert again == spec
    assert again.type_by_name("node", btf.Struct) is not node
    read = again.type_by_name("node", btf.Struct)
    assert read.members[3].type.target is read
    read.members[1].offset = 40
    assert again != spec


def test_sizeof_and_underlying() -> None:
    spec, node = _node_spec()
    td = spec.type_by_name("node_t", btf.Typedef)
    assert btf.sizeof(td) == 32 and btf.underlying_type(td) is node
    assert btf.sizeof(node.members[4].type) == 16
    loop = btf.Typedef("loop", btf.Int("int", 4))
    loop.type = btf.Const(loop)
    with pytest.raises(ValueError, match="cycle"):
        btf.sizeof(loop)
    with pytest.raises(ValueError, match="cycle"):
        btf.underlying_type(loop)
    with pytest.raises(ValueError, match="no size"):
        btf.sizeof(btf.Func("f", btf.FuncProto(btf.Void())))


def test_enum_kind_choice() -> None:
    assert btf.Enum("e", 4, False, [btf.EnumValue("A", 1)]).btf_kind is btf.Kind.ENUM
    assert btf.Enum("e", 8).btf_kind is btf.Kind.ENUM64
    big = btf.Enum("e", 4, False, [btf.EnumValue("A", 1 << 33)])
    assert big.btf_kind is btf.Kind.ENUM64
    big.btf_kind = btf.Kind.ENUM
    with pytest.raises(ValueError, match="needs ENUM64"):
        btf.Spec([big]).marshal()


def test_string_dedup() -> None:
    int_t = btf.Int("int", 4, btf.IntEncoding.SIGNED)
    s = btf.Struct("int", 8, [btf.Member("int", int_t, 0), btf.Member("int", int_t, 32)])
    raw = btf.Spec([s, btf.Typedef("int", s)]).marshal()
    assert raw.count(b"\0int\0") == 1


# -- header and masking (what newer kernels may write) ------------------------------------


def _with_header(raw: bytes, extra: bytes) -> bytes:
    magic, version, flags, hdr_len, *rest = struct.unpack_from("<HBBIIIII", raw)
    return struct.pack("<HBBIIIII", magic, version, flags, hdr_len + len(extra), *rest) + \
        extra + raw[hdr_len:]


def test_longer_header_with_zero_tail() -> None:
    spec, _ = _node_spec()
    raw = spec.marshal()
    assert btf.Spec.from_bytes(_with_header(raw, bytes(8))) == spec
    with pytest.raises(ValueError, match="not zero"):
        btf.Spec.from_bytes(_with_header(raw, b"\0\0\0\1"))


def test_kind_and_vlen_masked_as_newest_uapi() -> None:
    spec, _ = _node_spec()
    raw = bytearray(spec.marshal())
    # Set the unused bits of every type's info word (bits 16-23 and 29-30).
    for off in btf.Spec.from_bytes(bytes(raw))._offsets:
        info = struct.unpack_from("<I", raw, off + 4)[0]
        struct.pack_into("<I", raw, off + 4, info | 0x60FF0000)
    assert btf.Spec.from_bytes(bytes(raw)) == spec


# -- split BTF and modules ----------------------------------------------------------------


def test_split_btf_uses_base_ids_and_strings(tmp_path: Path) -> None:
    base = btf.kernel_spec()
    task = base.type_by_name("task_struct", btf.Struct)
    # A module-style record: a typedef whose name is a string of the base's table.
    name_off = base._strs.find(b"\0task_struct\0") + 1
    types = struct.pack("<III", name_off, 8 << 24, base.type_id(task))
    types += struct.pack("<III", 0, 2 << 24, len(base))  # a pointer to the typedef
    strings = b"\0"
    hdr = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(strings))
    split = btf.Spec.from_bytes(hdr + types + strings, base=base)
    assert len(split) == len(base) + 2
    td = split[len(base)]
    assert isinstance(td, btf.Typedef) and td.name == "task_struct" and td.type is task
    assert split[len(base) + 1].target is td  # type: ignore[attr-defined]
    assert split[1] is base[1]
    assert [t.btf_kind for t in split.types_by_name("task_struct")] == \
        [btf.Kind.STRUCT, btf.Kind.TYPEDEF]
    assert btf.Spec.from_bytes(split.marshal(), base=base) == split


def test_kernel_spec_module_from_a_btf_dir(tmp_path: Path) -> None:
    shutil.copyfile(VMLINUX, tmp_path / "vmlinux")
    base_copy = btf.kernel_spec(btf_dir=str(tmp_path))
    assert base_copy is not btf.kernel_spec() and len(base_copy) == len(btf.kernel_spec())
    mod_type = btf.Struct("bpfobj_test_mod", 8, [
        btf.Member("t", btf.Pointer(base_copy.type_by_name("task_struct", btf.Struct)), 0)])
    (tmp_path / "bpfobj_test_mod").write_bytes(btf.Spec([mod_type], base=base_copy).marshal())
    mod = btf.kernel_spec("bpfobj_test_mod", btf_dir=str(tmp_path))
    assert mod is btf.kernel_spec("bpfobj_test_mod", btf_dir=str(tmp_path))
    assert mod.base is base_copy
    s = mod.type_by_name("bpfobj_test_mod", btf.Struct)
    assert mod.type_id(s) == len(base_copy)
    assert s.members[0].type.target is base_copy.type_by_name(
        "task_struct", btf.Struct)
    with pytest.raises(FileNotFoundError):
        btf.kernel_spec("no_such_module", btf_dir=str(tmp_path))


# -- ELF objects and .BTF.ext ---------------------------------------------------------------


def test_from_file_reads_the_elf_btf_section(ext_object: Path, tmp_path: Path) -> None:
    data = ext_object.read_bytes()
    elf = ELFFile(data)
    sec = elf.section(".BTF")
    assert sec is not None
    assert btf.Spec.from_file(ext_object) == btf.Spec.from_bytes(elf.data(sec))
    no_btf = tmp_path / "nobtf.o"
    (tmp_path / "x.c").write_text("int x;\n")
    subprocess.run(["clang", "-O2", "-target", "bpf", "-c", str(tmp_path / "x.c"), "-o",
                    str(no_btf)], check=True, capture_output=True)
    with pytest.raises(ValueError, match=r"no \.BTF section"):
        btf.Spec.from_file(no_btf)


def test_btf_ext_records(ext_object: Path) -> None:
    elf = ELFFile(ext_object.read_bytes())
    spec = btf.Spec.from_file(ext_object)
    sec = elf.section(".BTF.ext")
    assert sec is not None
    ext = BTFExt.from_bytes(elf.data(sec), spec)
    assert (ext.func_info_rec_size, ext.line_info_rec_size, ext.core_relo_rec_size) == \
        (8, 16, 16)
    names = {s: [spec[f.type_id].name for f in fs] for s, fs in ext.func_info.items()}
    assert names["xdp"] == ["first"]
    assert names["tc"][0] == "second"
    assert all(isinstance(spec[f.type_id], btf.Func) for fs in ext.func_info.values()
               for f in fs)
    # Function symbols of each section sit where func_info says they start.
    by_section = {s.index: s.name for s in elf.sections}
    for sym in elf.symbols():
        if sym.type == 2 and by_section.get(sym.shndx) in ext.func_info:  # STT_FUNC
            offs = {f.insn_off: spec[f.type_id].name
                    for f in ext.func_info[by_section[sym.shndx]]}
            assert offs.get(sym.value) == sym.name
    src_lines = EXT_SOURCE.split("\n")
    for records in ext.line_info.values():
        for li in records:
            assert li.file_name.endswith("ext.bpf.c")
            assert li.text == src_lines[li.line - 1]
    relo = ext.core_relo["tc"]
    assert [(r.kind, r.access, spec[r.type_id].name) for r in relo] == \
        [(CoreReloKind.FIELD_BYTE_OFFSET, "0:1", "pair")]
    packed = pack_func_info(ext.func_info["tc"])
    assert struct.unpack_from("<II", packed) == (0, ext.func_info["tc"][0].type_id)
    assert len(pack_line_info(ext.line_info["tc"])) == 16 * len(ext.line_info["tc"])


# -- the kernel: loading and reading back ---------------------------------------------------


@pytest.mark.usefixtures("kernel")
def test_load_and_read_back_a_spec() -> None:
    spec, _ = _node_spec()
    with BTF.load(spec) as b:
        assert b.spec() == spec
        assert b.raw() == spec.marshal()


@pytest.mark.usefixtures("kernel")
def test_vmlinux_marshal_round_trips_through_the_kernel() -> None:
    spec = btf.kernel_spec()
    raw = spec.marshal()
    assert len(raw) <= os.path.getsize(VMLINUX)  # strings stored once
    with BTF.load(raw) as b:
        assert b.raw() == raw
        back = b.spec()
    assert back == spec


@pytest.mark.usefixtures("kernel")
def test_kernel_rejection_is_a_btf_load_error() -> None:
    bad = btf.Struct("bad", 2, [btf.Member("x", btf.Int("int", 4), 0)])
    with pytest.raises(BTFLoadError) as info:
        BTF.load(btf.Spec([bad]))
    assert info.value.log


@pytest.mark.usefixtures("kernel")
def test_kernel_btf_object_spec_is_vmlinux() -> None:
    from bpfobj._internal import syscall as _sys

    start = 0
    while (next_id := _sys.get_next_id("btf", start)) is not None:
        start = next_id
        with BTF.new_from_id(next_id) as b:
            info = b.info()
            if info.name == "vmlinux":
                spec = b.spec()
                break
    else:
        pytest.fail("no vmlinux BTF object")
    assert spec.base is None and len(spec) == len(btf.kernel_spec())
    assert spec.type_by_name("task_struct", btf.Struct).size == \
        btf.kernel_spec().type_by_name("task_struct", btf.Struct).size


# -- the command ----------------------------------------------------------------------------


def test_cli_btf_dump_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.btf"
    bad.write_bytes(b"\x9f\xeb\x01\x00" + bytes(4))
    assert cli_main(["btf", "dump", "file", str(bad)]) == 3
    assert "BTF" in capsys.readouterr().err
    assert cli_main(["btf", "dump", "file", str(tmp_path / "missing")]) == 6
    assert cli_main(["btf", "dump", "file", str(bad), "format", "xml"]) == 2
    assert cli_main(["btf", "dump", "prog", "1"]) == 2
    capsys.readouterr()
