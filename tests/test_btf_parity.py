"""BTF parity with bpftool: every type of vmlinux, a split BTF on top of it, compiled objects.

bpftool is the oracle: ``bpftool -j btf dump`` (and the plain text form) of the same bytes
must equal what our model says, field by field. bpftool runs once per input per session.
"""

from __future__ import annotations

import glob
import json
import os
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from bpfobj import BTF, btf
from bpfobj.btf.dump import dump_json, dump_raw
from bpfobj.cli import main as cli_main

pytestmark = pytest.mark.bpftool

VMLINUX = "/sys/kernel/btf/vmlinux"
XDP_OBJECTS = sorted(glob.glob("/usr/lib/x86_64-linux-gnu/bpf/*.o"))

C_SOURCE = r"""
typedef unsigned long long u64;
typedef unsigned int u32;
struct node {
    int value;
    unsigned int flag : 1, kind : 3, : 0;
    unsigned long long wide : 40;
    struct node *next;
    char name[16];
    union { u32 as_u32; float as_float; } alias;
    struct { short a, b; } pair;
    const volatile int cv;
    int *restrict rp;
    void (*callback)(int, ...);
};
enum color { RED = 1, GREEN = -2, BLUE = 0x7fffffff };
enum big : unsigned long long { SMALL = 1, HUGE = 0xffffffff00000000ULL };
enum flags : unsigned int { HIGH = 0x80000000u };
union un { u64 v; int i; double d; };
struct __attribute__((packed)) packed { char c; int i; };
struct fwd_only;
struct uses_fwd { struct fwd_only *p; union fwd_union *u; };
int __attribute__((btf_decl_tag("tagged_var"))) tagged;
int __attribute__((btf_type_tag("user"))) *user_ptr;
struct node head = {};
static volatile const int config = 7;
extern int extern_var __attribute__((weak));
enum color col;
enum big bigv;
enum flags fl;
union un unv;
struct packed pk;
struct uses_fwd uf;
long double ld;
static __attribute__((noinline)) int helper(struct node *n, int x)
    __attribute__((btf_decl_tag("helper_tag")));
static __attribute__((noinline)) int helper(struct node *n, int x) { return n->value + x; }
__attribute__((section("xdp"))) int prog(struct node *ctx)
{
    return helper(ctx, config) + tagged + (user_ptr != 0) + col + (int)bigv + fl + unv.i + pk.i
        + (uf.p != 0) + (int)sizeof(ld) + (&extern_var != 0);
}
char _license[] __attribute__((section("license"))) = "GPL";
"""


def _bpftool_json(bpftool: str, *args: str) -> list[dict[str, Any]]:
    out = subprocess.run([bpftool, "-j", "btf", "dump", *args], capture_output=True,
                         check=True).stdout
    types: list[dict[str, Any]] = json.loads(out)["types"]
    return types


def _bpftool_text(bpftool: str, *args: str) -> str:
    return subprocess.run([bpftool, "btf", "dump", *args], capture_output=True, text=True,
                          check=True).stdout


def _through_quirks(t: dict[str, Any]) -> dict[str, Any]:
    """bpftool 7.1 prints an unsigned 32-bit ENUM value >= 2**31 sign-extended to 64 bits.

    Check that this is what it did, then compare the value itself.
    """
    if t["kind"] != "ENUM" or t["encoding"] != "UNSIGNED":
        return t
    values = []
    for v in t["values"]:
        val = v["val"]
        if val >= 1 << 32:
            assert val >> 31 == (1 << 33) - 1, f"type {t['id']}: {v} is not a sign extension"
            v = {**v, "val": val & 0xFFFFFFFF}
        values.append(v)
    return {**t, "values": values}


_LINKAGE = {0: "static", 1: "global", 2: "extern"}


def _model_json(spec: btf.Spec, type_id: int, t: btf.Type) -> dict[str, Any]:
    """The model's fields in bpftool's shape, written apart from btf.dump (a second reading)."""
    d: dict[str, Any] = {"id": type_id, "kind": t.btf_kind.name, "name": t.name or "(anon)"}
    tid = spec.type_id
    if isinstance(t, btf.Int):
        enc = ("SIGNED" if t.encoding & btf.IntEncoding.SIGNED else
               "CHAR" if t.encoding & btf.IntEncoding.CHAR else
               "BOOL" if t.encoding & btf.IntEncoding.BOOL else "(none)")
        d.update(size=t.size, bits_offset=t.offset, nr_bits=t.bits, encoding=enc)
    elif isinstance(t, btf.Pointer):
        d["type_id"] = tid(t.target)
    elif isinstance(t, btf.Array):
        d.update(type_id=tid(t.type), index_type_id=tid(t.index), nr_elems=t.nelems)
    elif isinstance(t, (btf.Struct, btf.Union)):
        members = []
        for m in t.members:
            md: dict[str, Any] = {"name": m.name or "(anon)", "type_id": tid(m.type),
                                  "bits_offset": m.offset}
            if m.bitfield_size:
                md["bitfield_size"] = m.bitfield_size
            members.append(md)
        d.update(size=t.size, vlen=len(members), members=members)
    elif isinstance(t, btf.Enum):
        d.update(encoding="SIGNED" if t.signed else "UNSIGNED", size=t.size,
                 vlen=len(t.values),
                 values=[{"name": v.name or "(anon)", "val": v.value} for v in t.values])
    elif isinstance(t, btf.Fwd):
        d["fwd_kind"] = "union" if t.kind is btf.FwdKind.UNION else "struct"
    elif isinstance(t, (btf.Typedef, btf.Volatile, btf.Const, btf.Restrict, btf.TypeTag)):
        d["type_id"] = tid(t.type)
    elif isinstance(t, btf.Func):
        d.update(type_id=tid(t.type), linkage=_LINKAGE[int(t.linkage)])
    elif isinstance(t, btf.FuncProto):
        d.update(ret_type_id=tid(t.return_), vlen=len(t.params),
                 params=[{"name": p.name or "(anon)", "type_id": tid(p.type)}
                         for p in t.params])
    elif isinstance(t, btf.Var):
        d.update(type_id=tid(t.type), linkage=_LINKAGE[int(t.linkage)])
    elif isinstance(t, btf.Datasec):
        d.update(size=t.size, vlen=len(t.vars),
                 vars=[{"type_id": tid(v.type), "offset": v.offset, "size": v.size}
                       for v in t.vars])
    elif isinstance(t, btf.Float):
        d["size"] = t.size
    elif isinstance(t, btf.DeclTag):
        d.update(type_id=tid(t.type), component_idx=t.index)
    return d


def _differences(spec: btf.Spec, expected: list[dict[str, Any]]) -> list[str]:
    ours = list(spec.own_types())
    problems = []
    if len(ours) != len(expected):
        problems.append(f"{len(ours)} types, bpftool has {len(expected)}")
    for (type_id, t), want in zip(ours, expected, strict=False):  # counted above
        want = _through_quirks(want)
        got = _model_json(spec, type_id, t)
        if got != want:
            keys = sorted(k for k in set(got) | set(want) if got.get(k) != want.get(k))
            problems.append(f"type {type_id}: {keys}: ours {[got.get(k) for k in keys]!r:.300} "
                            f"bpftool {[want.get(k) for k in keys]!r:.300}")
        if len(problems) > 10:
            break
    return problems


# -- vmlinux: all of it -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def vmlinux_json(bpftool: str) -> list[dict[str, Any]]:
    return _bpftool_json(bpftool, "file", VMLINUX)


def test_vmlinux_every_type_equals_bpftool(vmlinux_json: list[dict[str, Any]]) -> None:
    spec = btf.kernel_spec()
    assert len(spec) == len(vmlinux_json) + 1  # + Void
    assert _differences(spec, vmlinux_json) == []
    kinds = {t["kind"] for t in vmlinux_json}
    # The kinds old readers fail on are really in there, and were compared.
    assert {"ENUM64", "DECL_TAG", "TYPE_TAG", "FLOAT", "DATASEC", "VAR"} <= kinds


def test_vmlinux_dump_json_and_text_equal_bpftool(bpftool: str,
                                                  vmlinux_json: list[dict[str, Any]]) -> None:
    spec = btf.kernel_spec()
    assert dump_json(spec)["types"] == [_through_quirks(t) for t in vmlinux_json]
    assert dump_raw(spec) == _bpftool_text(bpftool, "file", VMLINUX)


def test_vmlinux_enum_values_bpftool_sign_extends() -> None:
    # X86_PF_RMP is 1 << 31 in an unsigned 4-byte enum: bpftool -j prints
    # 18446744071562067968; the model (and our JSON) keep the value.
    spec = btf.kernel_spec()
    found = [v for t in spec.types_by_name("x86_pf_error_code") if isinstance(t, btf.Enum)
             for v in t.values if v.name == "X86_PF_RMP"]
    assert [v.value for v in found] == [1 << 31]


# -- split BTF, written here on top of vmlinux, as a module's would be -------------------------


def _module_types(base: btf.Spec) -> list[btf.Type]:
    task = base.type_by_name("task_struct", btf.Struct)
    u64 = base.type_by_name("u64", btf.Typedef)
    int_t = base.type_by_name("int", btf.Int)
    uint = base.type_by_name("unsigned int", btf.Int)
    state = btf.Struct("bpfobj_mod_state", 24, [])
    state.members = [
        btf.Member("task", btf.Pointer(task), 0),
        btf.Member("count", u64, 64),
        btf.Member("flags", uint, 128, 3),
        btf.Member("mode", uint, 131, 5),
        btf.Member("self", btf.Pointer(state), 0),
    ]
    state.members.sort(key=lambda m: m.offset)
    proto = btf.FuncProto(int_t, [btf.FuncParam("s", btf.Pointer(state)),
                                  btf.FuncParam("n", u64)])
    fn = btf.Func("bpfobj_mod_fn", proto, btf.FuncLinkage.GLOBAL)
    var = btf.Var("bpfobj_mod_var", state, btf.VarLinkage.GLOBAL)
    return [
        state,
        btf.Enum("bpfobj_mod_mode", 8, False, [btf.EnumValue("MODE_A", 1),
                                                btf.EnumValue("MODE_BIG", 1 << 40)]),
        btf.Enum("bpfobj_mod_sign", 4, True, [btf.EnumValue("NEG", -5)]),
        fn,
        btf.DeclTag(fn, -1, "bpf_kfunc"),
        btf.DeclTag(fn, 0, "arg_tag"),
        btf.Typedef("bpfobj_mod_ptr_t", btf.Pointer(btf.TypeTag(btf.Const(state), "user"))),
        btf.Fwd("bpfobj_mod_fwd", btf.FwdKind.UNION),
        btf.Array(u64, int_t, 4),
        btf.Float("bpfobj_mod_float", 8),
        btf.Datasec(".data..bpfobj", 24, [btf.VarSecinfo(var, 0, 24)]),
    ]


@pytest.fixture(scope="module")
def split_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, btf.Spec]]:
    base = btf.kernel_spec()
    spec = btf.Spec(_module_types(base), base=base)
    path = tmp_path_factory.mktemp("split") / "bpfobj_mod"
    path.write_bytes(spec.marshal())
    yield str(path), spec


def test_split_btf_equals_bpftool_with_base(bpftool: str,
                                            split_file: tuple[str, btf.Spec]) -> None:
    path, written = split_file
    base = btf.kernel_spec()
    spec = btf.Spec.from_file(path, base=base)
    assert spec == written
    own = list(spec.own_types())
    assert own[0][0] == len(base)  # ids continue from vmlinux
    assert spec.type_by_name("task_struct") is base.type_by_name("task_struct")
    expected = _bpftool_json(bpftool, "-B", VMLINUX, "file", path)
    assert _differences(spec, expected) == []
    assert dump_raw(spec) == _bpftool_text(bpftool, "-B", VMLINUX, "file", path)


def test_split_btf_cli_equals_bpftool(bpftool: str, split_file: tuple[str, btf.Spec],
                                      capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = split_file
    assert cli_main(["btf", "dump", "file", path, "--base", VMLINUX, "--json"]) == 0
    ours = json.loads(capsys.readouterr().out)
    assert ours == {"types": _bpftool_json(bpftool, "-B", VMLINUX, "file", path)}


# -- objects compiled here, and the libxdp objects the system ships ----------------------------


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> str:
    d = tmp_path_factory.mktemp("obj")
    src = d / "prog.bpf.c"
    src.write_text(C_SOURCE)
    out = d / "prog.bpf.o"
    subprocess.run(["clang", "-g", "-O2", "-target", "bpf", "-c", str(src), "-o", str(out)],
                   check=True, capture_output=True)
    return str(out)


def test_compiled_object_equals_bpftool(bpftool: str, compiled: str) -> None:
    spec = btf.Spec.from_file(compiled)
    expected = _bpftool_json(bpftool, "file", compiled)
    assert _differences(spec, expected) == []
    assert dump_raw(spec) == _bpftool_text(bpftool, "file", compiled)
    kinds = {t.btf_kind for t in spec}
    assert {btf.Kind.DECL_TAG, btf.Kind.TYPE_TAG, btf.Kind.FWD, btf.Kind.RESTRICT,
            btf.Kind.FLOAT, btf.Kind.DATASEC, btf.Kind.VAR} <= kinds
    node = spec.type_by_name("node", btf.Struct)
    bits = {m.name: (m.offset, m.bitfield_size) for m in node.members}
    assert bits["flag"] == (32, 1) and bits["kind"] == (33, 3) and bits["wide"][1] == 40
    # clang 14 sets no signedness on enums (kind_flag came with ENUM64): GREEN = -2 is stored
    # as the unsigned 32-bit value; vmlinux has signed ones, compared above.
    assert [v.value for v in spec.type_by_name("color", btf.Enum).values] == \
        [1, (1 << 32) - 2, 0x7FFFFFFF]
    big = spec.type_by_name("big", btf.Enum)
    if big.btf_kind is btf.Kind.ENUM64:  # clang 15 and later
        assert [v.value for v in big.values] == [1, 0xFFFFFFFF << 32]
    else:  # clang 14 writes an 8-byte ENUM and truncates the value; we keep what it wrote
        assert (big.size, [v.value for v in big.values]) == (8, [1, 0])
    assert [v.value for v in spec.type_by_name("flags", btf.Enum).values] == [1 << 31]
    assert spec.type_by_name("fwd_union", btf.Fwd).kind is btf.FwdKind.UNION


def test_compiled_object_cli_equals_bpftool(bpftool: str, compiled: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["btf", "dump", "file", compiled, "-j"]) == 0
    theirs = [_through_quirks(t) for t in _bpftool_json(bpftool, "file", compiled)]
    assert json.loads(capsys.readouterr().out) == {"types": theirs}
    assert cli_main(["btf", "dump", "file", compiled, "format", "raw"]) == 0
    assert capsys.readouterr().out == _bpftool_text(bpftool, "file", compiled)


@pytest.mark.parametrize("path", XDP_OBJECTS, ids=os.path.basename)
def test_system_objects_equal_bpftool(bpftool: str, path: str) -> None:
    spec = btf.Spec.from_file(path)
    assert _differences(spec, _bpftool_json(bpftool, "file", path)) == []


def test_system_objects_present() -> None:
    assert len(XDP_OBJECTS) >= 10, "libxdp1's BPF objects are missing"


# -- the kernel's copy ---------------------------------------------------------------------


@pytest.mark.usefixtures("kernel")
def test_kernel_btf_object_raw_is_the_vmlinux_file() -> None:
    with BTF.new_from_id(_vmlinux_id()) as b:
        assert b.raw() == open(VMLINUX, "rb").read()
        assert b.info().kernel_btf


@pytest.mark.usefixtures("kernel")
def test_loaded_btf_dump_by_id_equals_bpftool(bpftool: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    base = btf.kernel_spec()
    spec = btf.Spec(t.type if isinstance(t, btf.Var) else t  # no datasec: the kernel wants
                    for t in _module_types(base)           # sizes libbpf fills in
                    if not isinstance(t, btf.Datasec))
    with BTF.load(spec) as b:
        type_id = b.info().id
        assert b.spec() == spec
        assert cli_main(["btf", "dump", "id", str(type_id), "-j"]) == 0
        ours = json.loads(capsys.readouterr().out)["types"]
        theirs = _bpftool_json(bpftool, "id", str(type_id))
        assert cli_main(["btf", "dump", "id", str(type_id)]) == 0
        assert capsys.readouterr().out == _bpftool_text(bpftool, "id", str(type_id))
    assert ours == [_through_quirks(t) for t in theirs]
    assert len(ours) > 50  # the task_struct closure came along


def _vmlinux_id() -> int:
    for b in bpfobj_btfs():
        if b.name == "vmlinux":
            return int(b.id)
    raise AssertionError("no vmlinux BTF object")


def bpfobj_btfs() -> list[Any]:
    from bpfobj._internal import syscall as _sys

    out = []
    start = 0
    while (next_id := _sys.get_next_id("btf", start)) is not None:
        start = next_id
        try:
            with BTF.new_from_id(next_id) as b:
                out.append(b.info())
        except OSError:
            continue
    return out
