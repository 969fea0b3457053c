"""Kconfig parsing and extern encoding (libbpf's rules), extern layout and patching, on
crafted input. tests/test_core.py compares the same code with libbpf on compiled objects."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bpfobj import btf
from bpfobj._internal import kconfig as kc
from bpfobj._internal.kconfig import KcfgKind
from bpfobj.btf import externs as ex

U32 = btf.Int("unsigned int", 4)
S32 = btf.Int("int", 4, btf.IntEncoding.SIGNED)
U64 = btf.Int("long long unsigned int", 8)
CHAR = btf.Int("char", 1, btf.IntEncoding.SIGNED)
BOOL = btf.Int("_Bool", 1, btf.IntEncoding.BOOL)
TRI = btf.Enum("libbpf_tristate", 4, values=[btf.EnumValue("TRI_NO", 0),
                                              btf.EnumValue("TRI_YES", 1),
                                              btf.EnumValue("TRI_MODULE", 2)])


@pytest.mark.parametrize("release, version", [
    ("6.18.44-fc-v1045", (6 << 16) + (18 << 8) + 44), ("5.4.300", (5 << 16) + (4 << 8) + 255),
    ("6.18-rc1", 0), ("4.19.0", (4 << 16) + (19 << 8)), ("garbage", 0),
])
def test_kernel_version(release: str, version: int) -> None:
    assert kc.kernel_version(release) == version


def test_parse_config_rules() -> None:
    lines = ["# CONFIG_GONE is not set\n", "CONFIG_A=y\n", "CONFIG_A=n\n", "CONFIG_S=\"x y\"\n",
             "OTHER=1\n", "CONFIG_N=0x10"]
    assert kc.parse_config(lines) == {"CONFIG_A": "y", "CONFIG_S": '"x y"', "CONFIG_N": "0x10"}
    with pytest.raises(ValueError, match="line 1: .* no '='"):
        kc.parse_config(["CONFIG_X\n"])
    with pytest.raises(ValueError, match="line 2: .* no value"):
        kc.parse_config(["\n", "CONFIG_X=\n"])


def test_read_config_plain_and_gzip(tmp_path: Path) -> None:
    plain, packed = tmp_path / "config", tmp_path / "config.gz"
    plain.write_text("CONFIG_A=m\n")
    packed.write_bytes(gzip.compress(b"CONFIG_B=42\n"))
    assert kc.read_config([str(tmp_path / "missing"), str(plain)]) == {"CONFIG_A": "m"}
    assert kc.read_config([str(packed)]) == {"CONFIG_B": "42"}
    with pytest.raises(FileNotFoundError, match="missing"):
        kc.read_config([str(tmp_path / "missing")])
    bad = tmp_path / "bad.gz"
    bad.write_bytes(b"\x1f\x8b" + b"\0" * 20)
    with pytest.raises(ValueError, match="bad.gz"):
        kc.read_config([str(bad)])


@pytest.mark.parametrize("text, value", [
    ("0", 0), ("42", 42), ("0x1F", 31), ("017", 15), ("-1", (1 << 64) - 1), (" +7", 7),
    ("18446744073709551615", (1 << 64) - 1),
])
def test_parse_u64(text: str, value: int) -> None:
    assert kc.parse_u64(text) == value


@pytest.mark.parametrize("text", ["", "0x", "08", "1a", "1 ", "18446744073709551616", "y"])
def test_parse_u64_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        kc.parse_u64(text)


@pytest.mark.parametrize("kind, size, signed, text, raw", [
    (KcfgKind.BOOL, 1, False, "y", b"\x01"), (KcfgKind.BOOL, 1, False, "n", b"\x00"),
    (KcfgKind.TRISTATE, 4, False, "m", b"\x02\0\0\0"),
    (KcfgKind.TRISTATE, 4, False, "y", b"\x01\0\0\0"),
    (KcfgKind.CHAR, 1, True, "m", b"m"), (KcfgKind.CHAR, 1, True, "65", b"A"),
    (KcfgKind.INT, 4, True, "-2", b"\xfe\xff\xff\xff"), (KcfgKind.INT, 2, False, "0xffff",
                                                          b"\xff\xff"),
    (KcfgKind.INT, 8, False, "-1", b"\xff" * 8),
    (KcfgKind.CHAR_ARR, 4, False, '"abcdef"', b"abc\0"),
    (KcfgKind.CHAR_ARR, 8, False, '"ab"', b"ab\0\0\0\0\0\0"),
])
def test_encode_value(kind: KcfgKind, size: int, signed: bool, text: str, raw: bytes) -> None:
    assert kc.encode_value("CONFIG_X", kind, size, signed, text) == raw


@pytest.mark.parametrize("kind, size, signed, text, match", [
    (KcfgKind.BOOL, 1, False, "m", "implies tristate"),
    (KcfgKind.INT, 4, False, "y", "implies bool"),
    (KcfgKind.BOOL, 1, False, "1", "implies integer"),
    (KcfgKind.INT, 1 + 1, False, "65536", "does not fit"),
    (KcfgKind.INT, 4, True, "2147483648", "does not fit"),
    (KcfgKind.INT, 4, False, '"s"', "char array"),
    (KcfgKind.CHAR_ARR, 4, False, '"open', "invalid string"),
    (KcfgKind.CHAR_ARR, 4, False, "12", "implies integer"),
    (KcfgKind.INT, 4, False, "1x", "not a valid integer"),
    (KcfgKind.UNKNOWN, 4, False, "1", "unsupported"),
])
def test_encode_value_refuses(kind: KcfgKind, size: int, signed: bool, text: str,
                              match: str) -> None:
    with pytest.raises(ValueError, match=match) as info:
        kc.encode_value("CONFIG_X", kind, size, signed, text)
    assert "CONFIG_X" in str(info.value)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=12), kind=st.sampled_from(list(KcfgKind)),
       size=st.sampled_from([1, 2, 4, 8]), signed=st.booleans())
def test_encode_never_raises_anything_else(text: str, kind: KcfgKind, size: int,
                                           signed: bool) -> None:
    try:
        raw = kc.encode_value("CONFIG_X", kind, size, signed, text)
    except ValueError:
        return
    assert len(raw) == size


def test_kconfig_kinds() -> None:
    assert ex.kconfig_kind(BOOL) == (KcfgKind.BOOL, False)
    assert ex.kconfig_kind(btf.Int("_Bool", 4, btf.IntEncoding.BOOL))[0] is KcfgKind.UNKNOWN
    assert ex.kconfig_kind(CHAR) == (KcfgKind.CHAR, True)
    assert ex.kconfig_kind(btf.Const(S32)) == (KcfgKind.INT, True)
    assert ex.kconfig_kind(btf.Int("odd", 3))[0] is KcfgKind.UNKNOWN
    assert ex.kconfig_kind(TRI)[0] is KcfgKind.TRISTATE
    assert ex.kconfig_kind(btf.Enum("other", 4))[0] is KcfgKind.UNKNOWN
    assert ex.kconfig_kind(btf.Array(CHAR, U32, 8))[0] is KcfgKind.CHAR_ARR
    assert ex.kconfig_kind(btf.Array(CHAR, U32, 0))[0] is KcfgKind.UNKNOWN
    assert ex.kconfig_kind(btf.Pointer(CHAR))[0] is KcfgKind.UNKNOWN


def _object(kconfig: list[tuple[str, btf.Type]], ksyms: list[btf.Type]) -> btf.Spec:
    vars_ = [btf.VarSecinfo(btf.Var(n, t, btf.VarLinkage.EXTERN), 0, 0) for n, t in kconfig]
    return btf.Spec([btf.Datasec(".kconfig", 0, vars_),
                     btf.Datasec(".ksyms", 0, [btf.VarSecinfo(t, 0, 0) for t in ksyms])])


def test_layout_and_data_as_libbpf() -> None:
    local = _object([("CONFIG_S", btf.Array(CHAR, U32, 6)), ("CONFIG_B", BOOL),
                     ("LINUX_KERNEL_VERSION", U32), ("CONFIG_T", TRI), ("CONFIG_BIG", U64),
                     ("CONFIG_MISSING", BOOL), ("LINUX_HAS_BPF_COOKIE", BOOL)], [])
    found = ex.find_externs(local, weak={"CONFIG_MISSING"})
    # Alignment 8, then 4 (size order, then names), then 1.
    assert [e.name for e in found] == ["CONFIG_BIG", "CONFIG_T", "LINUX_KERNEL_VERSION",
                                       "CONFIG_B", "CONFIG_MISSING", "LINUX_HAS_BPF_COOKIE",
                                       "CONFIG_S"]
    layout = ex.kconfig_layout(found)
    assert layout.offsets == {"CONFIG_BIG": 0, "CONFIG_T": 8, "LINUX_KERNEL_VERSION": 12,
                              "CONFIG_B": 16, "CONFIG_MISSING": 17, "LINUX_HAS_BPF_COOKIE": 18,
                              "CONFIG_S": 19}
    assert layout.size == 25
    data = ex.kconfig_data(layout, config={"CONFIG_S": '"hello world"', "CONFIG_B": "y",
                                           "CONFIG_T": "m", "CONFIG_BIG": "0x100000000"},
                           release="5.15.3")
    assert data == (struct.pack("<QII", 1 << 32, 2, (5 << 16) + (15 << 8) + 3)
                    + b"\x01\x00\x01" + b"hello\0")
    with pytest.raises(ex.ExternError, match="CONFIG_BIG .*strong.* not resolved"):
        ex.kconfig_data(layout, config={}, release="5.15.3")
    ex.write_layout(local, layout)
    again = ex.datasec_layout(local, found)
    assert (again.offsets, again.size) == (layout.offsets, layout.size)


def test_unknown_externs_are_refused() -> None:
    local = _object([("LINUX_WHAT", U32)], [])
    layout = ex.kconfig_layout(ex.find_externs(local))
    with pytest.raises(ex.ExternError, match="unrecognized virtual extern"):
        ex.kconfig_data(layout, config={})
    weak = ex.kconfig_layout(ex.find_externs(local, weak={"LINUX_WHAT"}))
    assert ex.kconfig_data(weak, config={}) == b"\0" * 4
    with pytest.raises(ex.ExternError, match="unsupported"):
        ex.find_externs(_object([("CONFIG_P", btf.Pointer(CHAR))], []))


def _kernel() -> btf.Spec:
    proto = btf.FuncProto(btf.Pointer(btf.Struct("task", 8)),
                          [btf.FuncParam("p", btf.Pointer(btf.Struct("task", 8)))])
    return btf.Spec([btf.Var("counter", S32, btf.VarLinkage.GLOBAL),
                     btf.Func("bpf_get", proto, btf.FuncLinkage.GLOBAL),
                     btf.Var("wrong", btf.Struct("x", 4), btf.VarLinkage.GLOBAL)])


def test_resolve_and_patch_ksyms() -> None:
    kernel = _kernel()
    void = btf.Void()
    lproto = btf.FuncProto(btf.Pointer(btf.Struct("task", 0)),
                           [btf.FuncParam("t", btf.Pointer(btf.Struct("task", 0)))])
    local = _object([("CONFIG_X", U32)], [
        btf.Var("counter", btf.Const(S32), btf.VarLinkage.EXTERN),
        btf.Var("sym", btf.Const(void), btf.VarLinkage.EXTERN),
        btf.Var("gone", btf.Const(void), btf.VarLinkage.EXTERN),
        btf.Func("bpf_get___v2", lproto, btf.FuncLinkage.EXTERN),
        btf.Func("bpf_missing", lproto, btf.FuncLinkage.EXTERN)])
    found = ex.find_externs(local, weak={"gone", "bpf_missing"})
    assert [e.name for e in found] == ["CONFIG_X", "bpf_get___v2", "bpf_missing", "counter",
                                       "gone", "sym"]
    addrs = {"sym": [0xFFFFFFFF81000010]}
    ksyms = ex.resolve_ksyms(found, vmlinux=kernel, modules=[],
                             kallsyms=lambda names: {n: addrs[n] for n in names if n in addrs})
    assert ksyms["counter"].resolved and ksyms["counter"].btf_id == 1
    assert ksyms["bpf_get___v2"].btf_id == kernel.type_id(kernel.types_by_name("bpf_get")[0])
    assert not ksyms["bpf_missing"].resolved and not ksyms["gone"].resolved
    assert ksyms["sym"].address == 0xFFFFFFFF81000010
    layout = ex.kconfig_layout(found)
    ld = struct.pack("<BBhi", 0x18, 0x01, 0, 0) + struct.pack("<BBhi", 0, 0, 0, 0)
    call = struct.pack("<BBhi", 0x85, 0x10, 0, -1)
    prog = ld * 4 + call * 2
    out = ex.patch_externs(prog, {0: "CONFIG_X", 2: "counter", 4: "sym", 6: "gone",
                                  8: "bpf_get___v2", 9: "bpf_missing"},
                           found, layout, ksyms, kconfig_fd=7)
    slots = [struct.unpack_from("<BBhi", out, i * 8) for i in range(len(out) // 8)]
    assert slots[0:2] == [(0x18, 0x21, 0, 7), (0, 0, 0, 0)]           # map value, offset 0
    assert slots[2:4] == [(0x18, 0x31, 0, 1), (0, 0, 0, 0)]           # BTF id of counter
    assert slots[4:6] == [(0x18, 0x01, 0, 0x81000010 - (1 << 32)), (0, 0, 0, -1)]
    assert slots[6:8] == [(0x18, 0x01, 0, 0), (0, 0, 0, 0)]           # weak, missing: 0
    assert slots[8] == (0x85, 0x20, 0, ksyms["bpf_get___v2"].btf_id)  # kfunc call
    assert slots[9] == (0x85, 0, 0, ex.POISON_KFUNC_BASE + 2)         # extern #2, poisoned
    with pytest.raises(ex.ExternError, match="a call of a variable"):
        ex.patch_externs(call, {0: "counter"}, found, layout, ksyms)
    with pytest.raises(ex.ExternError, match="not a ld_imm64"):
        ex.patch_externs(struct.pack("<BBhi", 0xB7, 0, 0, 0), {0: "counter"}, found, layout,
                         ksyms)
    with pytest.raises(ex.ExternError, match="not an extern"):
        ex.patch_externs(ld, {0: "nobody"}, found, layout, ksyms)


def test_ksym_refusals() -> None:
    kernel = _kernel()
    local = _object([], [btf.Var("wrong", S32, btf.VarLinkage.EXTERN)])
    with pytest.raises(ex.ExternError, match="incompatible"):
        ex.resolve_ksyms(ex.find_externs(local), vmlinux=kernel, modules=[])
    local = _object([], [btf.Var("nowhere", S32, btf.VarLinkage.EXTERN)])
    with pytest.raises(ex.ExternError, match="not found"):
        ex.resolve_ksyms(ex.find_externs(local), vmlinux=kernel, modules=[])
    module = btf.Spec([btf.Var("nowhere", S32, btf.VarLinkage.GLOBAL)], base=kernel)
    k = ex.resolve_ksyms(ex.find_externs(local), vmlinux=kernel, modules=[module])["nowhere"]
    assert k.module and k.btf_id == len(kernel)
    local = _object([], [btf.Var("dup", btf.Void(), btf.VarLinkage.EXTERN)])
    with pytest.raises(ex.ExternError, match="ambiguous"):
        ex.resolve_ksyms(ex.find_externs(local), vmlinux=kernel, modules=[],
                         kallsyms=lambda names: {"dup": [1, 2]})
