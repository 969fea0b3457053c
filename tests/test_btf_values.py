"""btf.decode/encode against bpftool's formatted map dump, Map.key_type/value_type, the CLI.

Maps come from a clang-compiled object (struct, union, bitfield, enum, ENUM64 and array
values) loaded with ``bpftool prog loadall OBJ DIR pinmaps DIR`` into the private bpffs,
filled with random and with encoded values, then dumped by ``bpftool -j``. bpftool 7.1
prints unnamed enum values sign-extended, bitfields as "0x.." strings of their bits,
anonymous members under "", non-text char arrays as signed numbers and any non-zero bool
as true: the comparison reads its output that way; decode itself does none of that.
"""

from __future__ import annotations

import io
import json
import os
import random
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bpfobj import Map, MapSpec, MapType, btf, cli
from bpfobj.btf.codec import _codec

from .conftest import need
from .test_btf_format import CLANG, vmlinux_header

pytestmark = pytest.mark.usefixtures("kernel")

# See test_btf_format: the cached kernel spec's mapping holds a descriptor.
if os.path.exists("/sys/kernel/btf/vmlinux"):
    btf.kernel_spec()

MAPS_PROGRAM = r"""#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

enum color { RED = 0, GREEN = 1, BIG = 0x80000001u };
enum small { S0, S1, S2 } __attribute__((packed));
enum wide { W0 = 0, W1 = 0x100000000ULL, WMAX = 0xffffffffffffffffULL };
struct bits {
	unsigned int a: 3;
	int b: 5;
	unsigned long long c: 40;
	enum small e: 2;
	_Bool f: 1;
};
union either { unsigned int u; unsigned char bytes[4]; struct { unsigned short lo, hi; } half; };
struct value {
	int i;
	unsigned short us;
	char name[8];
	unsigned char raw[3];
	enum color col;
	enum small sm;
	struct bits bf;
	union either un;
	long long arr[2];
	struct { int x, y; } pt[2];
	_Bool flag;
	union { int anon_i; unsigned int anon_u; };
	void *ptr;
};
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, struct bits);
	__type(value, struct value);
} vals SEC(".maps");
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, union either);
} unions SEC(".maps");
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, int);
	__type(value, enum color);
} colors SEC(".maps");
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 3);
	__type(key, __u32);
	__type(value, enum wide);
} wides SEC(".maps");

SEC("socket")
int touch(struct __sk_buff *skb)
{
	__u32 k = 0;
	union either *u = bpf_map_lookup_elem(&unions, &k);
	struct bits b = {};
	struct value *v = bpf_map_lookup_elem(&vals, &b);
	enum color *c = bpf_map_lookup_elem(&colors, &k);
	enum wide *w = bpf_map_lookup_elem(&wides, &k);
	return (u ? u->u : 0) + (v ? v->i : 0) + (c ? *c : 0) + (w ? (int)*w : 0);
}

char LICENSE[] SEC("license") = "GPL";
"""


@pytest.fixture(scope="module")
def maps_object(tmp_path_factory: pytest.TempPathFactory) -> str:
    need(CLANG is not None, "clang is not installed")
    assert CLANG is not None
    d, _ = vmlinux_header()
    work = str(tmp_path_factory.mktemp("btf-values"))
    src = os.path.join(work, "maps.bpf.c")
    with open(src, "w") as out:
        out.write(MAPS_PROGRAM)
    obj = os.path.join(work, "maps.bpf.o")
    r = subprocess.run([CLANG, "-g", "-O2", "-target", "bpf", "-I", d, "-c", src, "-o", obj],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    return obj


@pytest.fixture
def pinned_maps(maps_object: str, bpftool: str, pin_dir: str) -> Iterator[str]:
    progs, maps = os.path.join(pin_dir, "progs"), os.path.join(pin_dir, "maps")
    r = subprocess.run([bpftool, "prog", "loadall", maps_object, progs, "pinmaps", maps],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    yield maps


def bpftool_dump(bpftool: str, path: str) -> list[dict[str, Any]]:
    r = subprocess.run([bpftool, "-j", "map", "dump", "pinned", path], capture_output=True,
                       text=True, check=True)
    rows: list[dict[str, Any]] = json.loads(r.stdout)
    return rows


def _raw(row_bytes: list[str]) -> bytes:
    return bytes(int(x, 16) for x in row_bytes)


def assert_as_bpftool(t: btf.Type, mine: Any, theirs: Any, path: str = "") -> None:
    """``mine`` (decode's value) is what bpftool 7.1 printed as ``theirs``, read through
    bpftool's quirks (module docstring)."""
    u = btf.underlying_type(t)
    if isinstance(u, btf.Composite):
        assert isinstance(mine, dict) and isinstance(theirs, dict), path
        for m in u.members:
            where = f"{path}.{m.name}"
            if not m.name:  # bpftool nests it under "", decode merges it
                assert_as_bpftool(m.type, mine, theirs[""], where)
            elif m.bitfield_size:
                bits = int(theirs[m.name], 16)
                v = mine[m.name]
                mu = btf.underlying_type(m.type)
                if isinstance(mu, btf.Enum) and isinstance(v, str):
                    v = next(e.value for e in mu.values if e.name == v)
                assert int(v) & ((1 << m.bitfield_size) - 1) == bits, where
            else:
                assert_as_bpftool(m.type, mine[m.name], theirs[m.name], where)
    elif isinstance(u, btf.Array):
        if isinstance(mine, str):
            assert theirs == mine, path
        elif isinstance(mine, bytes):  # a char array that is not text
            if isinstance(theirs, str):  # bpftool stops at the NUL and ignores the rest
                assert mine.split(b"\0")[0].decode() == theirs, path
            else:
                assert [b - 256 if b > 127 else b for b in mine] == theirs, path
        else:
            assert len(mine) == len(theirs) == u.nelems, path
            for i, (a, b) in enumerate(zip(mine, theirs, strict=True)):
                assert_as_bpftool(u.type, a, b, f"{path}[{i}]")
    elif isinstance(u, btf.Enum):
        if isinstance(mine, str) and isinstance(theirs, str):
            assert theirs == mine, path
        else:  # bpftool read the value signed and missed the enumerator, or there is none
            if isinstance(mine, str):
                mine = next(e.value for e in u.values if e.name == mine)
            assert isinstance(mine, int) and isinstance(theirs, int), path
            bits = u.size * 8
            assert theirs % (1 << bits) == mine % (1 << bits), path
    elif isinstance(u, btf.Int) and u.encoding & btf.IntEncoding.BOOL:
        assert theirs is bool(mine), path
    else:
        assert mine == theirs, path


def check_against_bpftool(bpftool: str, path: str) -> int:
    m = Map.load_pinned(path)
    with m:
        kt, vt = m.key_type, m.value_type
        assert kt is not None and vt is not None
        rows = bpftool_dump(bpftool, path)
        for row in rows:
            key = _raw(row["key"])
            assert_as_bpftool(kt, btf.decode(kt, key), row["formatted"]["key"], "key")
            if "values" in row:
                for per_cpu, fmt in zip(row["values"], row["formatted"]["values"], strict=True):
                    assert_as_bpftool(vt, btf.decode(vt, _raw(per_cpu["value"])),
                                      fmt["value"], "value")
            else:
                value = _raw(row["value"])
                assert_as_bpftool(vt, btf.decode(vt, value), row["formatted"]["value"],
                                  "value")
                assert btf.encode(vt, btf.decode(vt, value)) == value or _has_padding(vt)
    return len(rows)


def _has_padding(t: btf.Type) -> bool:
    return _codec(t).mask != (1 << (btf.sizeof(t) * 8)) - 1


def test_struct_bitfield_enum_and_array_values_equal_bpftool(pinned_maps: str,
                                                            bpftool: str) -> None:
    rng = random.Random(12)
    path = os.path.join(pinned_maps, "vals")
    with Map.load_pinned(path) as m:
        vt, kt = m.value_type, m.key_type
        assert isinstance(vt, btf.Struct) and vt.name == "value"
        assert isinstance(kt, btf.Struct) and kt.name == "bits"
        for _ in range(10):  # random bytes: every odd value bpftool has to print
            m.update(rng.randbytes(m.key_size), rng.randbytes(m.value_size))
        # values made by encode: text, named enumerators, signed bitfields, ENUM bits
        key = btf.encode(kt, {"a": 5, "b": -3, "c": (1 << 40) - 1, "e": "S2", "f": True})
        value = btf.encode(vt, {
            "i": -7, "us": 65535, "name": "hello", "raw": [1, 2, 255], "col": "BIG",
            "sm": "S1", "bf": {"a": 1, "b": -16, "c": 12345, "e": "S0", "f": False},
            "un": {"half": {"lo": 1, "hi": 2}}, "arr": [-1, 1 << 62],
            "pt": [{"x": 1, "y": -1}, {"x": 2, "y": -2}], "flag": True, "anon_u": 7,
            "ptr": 0xFFFF888000000000})
        m.update(key, value)
        got = btf.decode(vt, m.lookup(key))
        assert isinstance(got, dict)
        assert got["name"] == "hello" and got["col"] == "BIG" and got["bf"]["b"] == -16
        assert got["anon_i"] == 7 and got["un"]["u"] == 1 | 2 << 16
        assert btf.decode(kt, key) == {"a": 5, "b": -3, "c": (1 << 40) - 1, "e": "S2",
                                       "f": True}
    assert check_against_bpftool(bpftool, path) == 11


def test_union_percpu_enum_and_8_byte_enum_values_equal_bpftool(pinned_maps: str,
                                                          bpftool: str) -> None:
    rng = random.Random(7)
    with Map.load_pinned(os.path.join(pinned_maps, "unions")) as m:
        for k in range(4):
            m.update(k, rng.randbytes(4))
    with Map.load_pinned(os.path.join(pinned_maps, "colors")) as m:
        vt = m.value_type
        assert isinstance(vt, btf.Enum)
        ncpu = len(m.lookup(0))
        m.update(0, [btf.encode(vt, "BIG")] + [rng.randbytes(4) for _ in range(ncpu - 1)])
        m.update(1, [(0xFFFFFFF0 + i).to_bytes(4, "little") for i in range(ncpu)])
    with Map.load_pinned(os.path.join(pinned_maps, "wides")) as m:
        vt = m.value_type
        assert isinstance(vt, btf.Enum) and vt.size == 8
        m.update(0, btf.encode(vt, "WMAX"))
        m.update(1, btf.encode(vt, 5))
        assert btf.decode(vt, m.lookup(0)) == "WMAX"
        assert btf.decode(vt, m.lookup(1)) == 5
    for name in ("unions", "colors", "wides"):
        assert check_against_bpftool(bpftool, os.path.join(pinned_maps, name)) > 0


def test_cli_map_dump_formatted(pinned_maps: str, bpftool: str) -> None:
    path = os.path.join(pinned_maps, "unions")
    with Map.load_pinned(path) as m:
        m.update(2, b"AB\0\x80")
    out = io.StringIO()
    assert cli.main(["map", "dump", "pinned", path, "--json"], out=out) == 0
    ours = json.loads(out.getvalue())
    theirs = bpftool_dump(bpftool, path)
    assert [r["key"] for r in ours] == [r["key"] for r in theirs]
    assert [r["value"] for r in ours] == [r["value"] for r in theirs]
    # a union of ints and an unsigned char array: no quirk applies, the JSON is equal
    assert [r["formatted"] for r in ours] == [r["formatted"] for r in theirs]
    out = io.StringIO()
    assert cli.main(["map", "dump", "pinned", os.path.join(pinned_maps, "colors"),
                     "--json"], out=out) == 0
    row = json.loads(out.getvalue())[0]
    assert set(row["formatted"]) == {"key", "values"}
    assert row["formatted"]["values"][0] == {"cpu": 0, "value": "RED"}


def test_key_and_value_types(pinned_maps: str) -> None:
    with Map.load_pinned(os.path.join(pinned_maps, "unions")) as m:
        kt = m.key_type
        assert kt is not None and btf.underlying_type(kt).name == "unsigned int"
        assert isinstance(m.value_type, btf.Union) and m.value_type.name == "either"
        assert m.value_type is m.value_type  # read once
        with m.clone() as c:
            assert c.value_type is m.value_type
    with Map.create(MapSpec(MapType.ARRAY, 4, 8, 1)) as plain:
        assert plain.key_type is None and plain.value_type is None


# ---- the codec alone


def _vmlinux_types() -> list[btf.Type]:
    spec = btf.kernel_spec()
    out: list[btf.Type] = []
    for name, kind in (("tcphdr", btf.Struct), ("iphdr", btf.Struct), ("bpf_attr", btf.Union),
                       ("sk_buff", btf.Struct), ("task_struct", btf.Struct),
                       ("bpf_map_type", btf.Enum), ("pt_regs", btf.Struct)):
        out.append(spec.type_by_name(name, kind))
    return out


@pytest.fixture(scope="module")
def sample_types() -> list[btf.Type]:
    need(os.path.exists("/sys/kernel/btf/vmlinux"), "no /sys/kernel/btf/vmlinux")
    return _vmlinux_types()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.data_too_large])
@given(data=st.data())
def test_encode_decode_round_trip(sample_types: list[btf.Type], data: st.DataObject) -> None:
    t = data.draw(st.sampled_from(sample_types))
    size = btf.sizeof(t)
    raw = data.draw(st.binary(min_size=size, max_size=size))
    # decode keeps no padding: clear it, then bytes -> value -> bytes is the identity
    x = (int.from_bytes(raw, "little") & _codec(t).mask).to_bytes(size, "little")
    v = btf.decode(t, x)
    assert btf.encode(t, v) == x
    assert btf.decode(t, btf.encode(t, v)) == v


F32 = btf.Float("float", 4)
F64 = btf.Float("double", 8)
POINT = btf.Struct("point", 16, [btf.Member("x", F32, 0), btf.Member("flags", btf.Int(
    "unsigned int", 4), 32), btf.Member("y", F64, 64)])


@given(x=st.floats(width=32, allow_nan=False), y=st.floats(allow_nan=False),
       flags=st.integers(0, 2**32 - 1))
def test_floats_round_trip(x: float, y: float, flags: int) -> None:
    v = {"x": x, "flags": flags, "y": y}
    assert btf.decode(POINT, btf.encode(POINT, v)) == v


def test_mismatches_name_the_member(sample_types: list[btf.Type]) -> None:
    tcp = sample_types[0]
    with pytest.raises(ValueError, match="'doff'.*out of range"):
        btf.encode(tcp, {"doff": 16})
    with pytest.raises(ValueError, match="no member 'nope'"):
        btf.encode(tcp, {"nope": 1})
    with pytest.raises(ValueError, match="'source'.*expected an int"):
        btf.encode(tcp, {"source": "80"})
    enum = sample_types[5]
    with pytest.raises(ValueError, match="not an enumerator"):
        btf.encode(enum, "BPF_MAP_TYPE_NOPE")
    assert btf.decode(enum, btf.encode(enum, "BPF_MAP_TYPE_HASH")) == "BPF_MAP_TYPE_HASH"
    with pytest.raises(ValueError, match="19 bytes, the type has 20 bytes"):
        btf.decode(tcp, b"\0" * 19)
    either = btf.Union("either", 4, [btf.Member("u", btf.Int("unsigned int", 4), 0),
                                     btf.Member("b", btf.Array(btf.Int("unsigned char", 1),
                                                               btf.Int("int", 4), 4), 0)])
    with pytest.raises(ValueError, match="disagrees"):
        btf.encode(either, {"u": 1, "b": [2, 0, 0, 0]})
    assert btf.encode(either, {"u": 1, "b": [1, 0, 0, 0]}) == b"\1\0\0\0"
    with pytest.raises(ValueError, match=r"'b'.*expected 4 elements"):
        btf.encode(either, {"b": [1]})
    with pytest.raises(ValueError, match="has no values"):
        btf.decode(btf.Void(), b"")
    loop = btf.Struct("loop", 4, [])
    loop.members = [btf.Member("me", loop, 0)]
    with pytest.raises(ValueError, match="contains itself"):
        btf.decode(loop, b"\0" * 4)


def test_enum64_values_of_vmlinux() -> None:
    need(os.path.exists("/sys/kernel/btf/vmlinux"), "no /sys/kernel/btf/vmlinux")
    # clang 14 writes 8-byte enums as ENUM with 32-bit values: vmlinux has real ENUM64s
    wide = [t for t in btf.kernel_spec() if isinstance(t, btf.Enum) and t.size == 8
            and any(v.value >= 1 << 32 for v in t.values)]
    assert wide
    for t in wide[:50]:
        assert isinstance(t, btf.Enum)
        for v in t.values:
            raw = btf.encode(t, v.name)
            assert int.from_bytes(raw, "little", signed=t.signed) == v.value
            got = btf.decode(t, raw)
            assert got == v.name or next(
                e.name for e in t.values if e.value == v.value) == got


def test_char_arrays() -> None:
    char = btf.Int("char", 1, btf.IntEncoding.SIGNED)
    arr = btf.Array(char, btf.Int("int", 4), 6)
    assert btf.decode(arr, b"abc\0\0\0") == "abc"
    assert btf.decode(arr, b"abcdef") == "abcdef"
    assert btf.decode(arr, b"ab\0c\0\0") == b"ab\0c\0\0"  # not text: kept whole
    assert btf.decode(arr, b"\x01bc\0\0\0") == b"\x01bc\0\0\0"
    assert btf.encode(arr, "abc") == b"abc\0\0\0"
    with pytest.raises(ValueError, match="do not fit"):
        btf.encode(arr, "abcdefg")
    u8 = btf.Typedef("__u8", btf.Int("unsigned char", 1))
    assert btf.decode(btf.Array(u8, btf.Int("int", 4), 2), b"ab") == [97, 98]
