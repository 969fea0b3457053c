"""The BTF and .BTF.ext parsers on crafted and random bytes (no kernel needed).

Every malformed input must raise ValueError naming the type id or offset; nothing else,
no hang, no unbounded allocation. The C index (cdefs/btf.c) and its pure-Python twin must
agree on every input. Random specs must survive marshal -> from_bytes unchanged.
"""

from __future__ import annotations

import struct
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bpfobj import btf
from bpfobj._internal import syscall as _sys
from bpfobj.btf import spec as spec_module
from bpfobj.btf.dump import dump_json, dump_raw
from bpfobj.btf.ext import BTFExt

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
HDR = struct.Struct("<HBBIIIII")


def every_kind() -> btf.Spec:
    """One type of every kind, a self-referencing struct among them."""
    i32 = btf.Int("int", 4, btf.IntEncoding.SIGNED)
    u8 = btf.Int("unsigned char", 1, btf.IntEncoding.CHAR)
    node = btf.Struct("node", 24)
    node.members = [btf.Member("v", i32, 0), btf.Member("bits", u8, 32, 3),
                    btf.Member("next", btf.Pointer(node), 64),
                    btf.Member("name", btf.Array(u8, i32, 8), 128)]
    un = btf.Union("u", 8, [btf.Member("i", i32), btf.Member("f", btf.Float("double", 8))])
    proto = btf.FuncProto(i32, [btf.FuncParam("n", btf.Pointer(btf.Const(btf.Volatile(node)))),
                                btf.FuncParam("", btf.Void())])
    fn = btf.Func("f", proto, btf.FuncLinkage.GLOBAL)
    var = btf.Var("g", un, btf.VarLinkage.GLOBAL)
    return btf.Spec([
        node, un, fn, var,
        btf.Enum("e", 4, True, [btf.EnumValue("NEG", -1), btf.EnumValue("POS", 7)]),
        btf.Enum("e64", 8, False, [btf.EnumValue("BIG", 1 << 40)]),
        btf.Fwd("later", btf.FwdKind.UNION),
        btf.Typedef("node_t", btf.Pointer(btf.Restrict(btf.Pointer(node)))),
        btf.DeclTag(fn, 0, "arg"), btf.TypeTag(node, "user"),
        btf.Datasec(".data", 8, [btf.VarSecinfo(var, 0, 8)]),
    ])


SEED = every_kind().marshal()


def parse_everything(data: bytes) -> None:
    """What a consumer does with untrusted BTF: parse, decode all, dump, write, re-read."""
    spec = btf.Spec.from_bytes(data)
    for t in spec:
        repr(t)
        try:
            btf.sizeof(t)
        except ValueError:
            pass
    dump_json(spec)
    dump_raw(spec)
    assert btf.Spec.from_bytes(spec.marshal()) == spec


def c_and_python_agree(data: bytes) -> None:
    try:
        start, length, _, _ = spec_module._parse_header(data)
    except ValueError:
        return
    try:
        ours: Any = spec_module._scan_py(data, start, length)
    except ValueError as exc:
        ours = str(exc)
    try:
        theirs: Any = list(_sys.btf_index(data, start, length))
    except ValueError as exc:
        theirs = str(exc)
    if isinstance(ours, str):  # both failed, at the same record ("BTF: type N at offset M")
        assert isinstance(theirs, str) and ours.split(":")[:2] == theirs.split(":")[:2]
    else:
        assert ours == theirs
    if isinstance(ours, list):
        view = _sys.btf_index(data, start, length)
        for id0 in (1, 5):
            assert spec_module._find_cycle_py(data, ours, id0) == \
                _sys.btf_find_cycle(data, view, id0)


def with_record(types: bytes, strings: bytes = b"\0") -> bytes:
    return HDR.pack(0xEB9F, 1, 0, 24, 0, len(types), len(types), len(strings)) + types + strings


def rec(name: int, kind: int, vlen: int, size: int, kflag: int = 0) -> bytes:
    return struct.pack("<III", name, (kflag << 31) | (kind << 24) | vlen, size)


# -- the seed -------------------------------------------------------------------------------


def test_seed_round_trips_and_has_every_kind() -> None:
    spec = btf.Spec.from_bytes(SEED)
    assert spec == every_kind()
    assert {t.btf_kind for t in spec} == set(btf.Kind)  # UNKN is Void
    parse_everything(SEED)
    c_and_python_agree(SEED)


def test_pure_python_reader_equals_c(monkeypatch: pytest.MonkeyPatch) -> None:
    with_c = btf.Spec.from_bytes(SEED)
    names = [t.name for t in with_c]
    monkeypatch.setattr(spec_module, "_csys", lambda: None)
    without = btf.Spec.from_bytes(SEED)
    assert without == with_c
    assert [without.type_id(t) for n in names if n for t in without.types_by_name(n)] == \
        [with_c.type_id(t) for n in names if n for t in with_c.types_by_name(n)]


# -- crafted bad input ----------------------------------------------------------------------


@pytest.mark.parametrize("data, match", [
    (b"", "shorter than"),
    (SEED[:10], "shorter than"),
    (b"\x00\x00" + SEED[2:], "bad magic"),
    (b"\xeb\x9f" + SEED[2:], "big-endian"),
    (SEED[:2] + b"\x02" + SEED[3:], "version 2"),
    (HDR.pack(0xEB9F, 1, 0, 1 << 30, 0, 0, 0, 0), "header length"),
    (HDR.pack(0xEB9F, 1, 0, 24, 0, 1 << 20, 0, 0), "type section"),
    (HDR.pack(0xEB9F, 1, 0, 24, 0, 0, 0, 1 << 20), "string section"),
    (HDR.pack(0xEB9F, 1, 0, 24, 2, 0, 0, 0), "aligned"),
    (with_record(b"", b"x\0"), "start with NUL"),
    (with_record(b"", b"\0x"), "end with NUL"),
    (with_record(rec(0, 1, 0, 4)), r"type 1 at offset 0: INT of 16 bytes"),
    (with_record(rec(0, 4, 0xFFFF, 8)), r"type 1 at offset 0: STRUCT of 786432 bytes"),
    (with_record(rec(0, 25, 0, 0)), r"type 1 at offset 0: unknown kind 25"),
    (with_record(rec(0, 2, 0, 0) + b"\0" * 4), r"type 2 at offset 12: truncated"),
    (with_record(rec(0, 2, 0, 5)), r"type 1: type refers to type 5"),
    (with_record(rec(9, 16, 0, 4)), r"type 1: name offset 9"),
    (with_record(rec(0, 3, 0, 0) + struct.pack("<III", 1, 0, 4)), r"type 1: reference cycle"),
    (with_record(rec(0, 8, 0, 2) + rec(0, 10, 0, 1)), r"type 1: reference cycle"),
    (with_record(rec(0, 4, 1, 4) + struct.pack("<III", 0, 1, 0)), r"type 1: reference cycle"),
    (with_record(rec(0, 12, 7, 0)), r"type 1: unknown func linkage 7"),
    (with_record(rec(0, 14, 0, 0) + struct.pack("<I", 9)), r"type 1: unknown var linkage 9"),
])
def test_bad_input_is_a_value_error_naming_where(data: bytes, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        parse_everything(data)
    c_and_python_agree(data)


def test_pointer_cycles_are_fine() -> None:
    # struct a { struct a *self; }: the cycle goes through a pointer.
    data = with_record(rec(0, 4, 1, 8) + struct.pack("<III", 0, 2, 0) + rec(0, 2, 0, 1))
    spec = btf.Spec.from_bytes(data)
    assert spec[1].members[0].type.target is spec[1]  # type: ignore[attr-defined]


def test_every_truncation_is_a_value_error() -> None:
    for n in range(len(SEED)):
        with pytest.raises(ValueError):
            btf.Spec.from_bytes(SEED[:n])


# -- random input ---------------------------------------------------------------------------


mutations = st.lists(st.tuples(st.integers(0, len(SEED) - 1), st.integers(0, 255)),
                     min_size=1, max_size=6)


@FUZZ
@given(mutations)
def test_mutated_seed_only_value_error(changes: list[tuple[int, int]]) -> None:
    data = bytearray(SEED)
    for pos, value in changes:
        data[pos] = value
    try:
        parse_everything(bytes(data))
    except ValueError:
        pass
    c_and_python_agree(bytes(data))


@FUZZ
@given(st.binary(max_size=200))
def test_random_types_only_value_error(body: bytes) -> None:
    data = with_record(body[: len(body) // 4 * 4], b"\0a\0bc\0")
    try:
        parse_everything(data)
    except ValueError:
        pass
    c_and_python_agree(data)


@st.composite
def random_specs(draw: st.DrawFn) -> btf.Spec:
    names = st.sampled_from(["", "a", "b", "long_name", "ünï"])
    ints = [btf.Int("int", 4, btf.IntEncoding.SIGNED), btf.Int("char", 1, btf.IntEncoding.CHAR)]
    made: list[btf.Type] = list(ints)
    structs: list[btf.Struct] = []
    for _ in range(draw(st.integers(1, 12))):
        pick = st.sampled_from(made)
        choice = draw(st.integers(0, 8))
        t: btf.Type
        if choice == 0:
            s = btf.Struct(draw(names), draw(st.integers(0, 64)))
            structs.append(s)
            t = s
        elif choice == 1:
            t = btf.Pointer(draw(st.sampled_from(made + structs)))
        elif choice == 2:
            t = btf.Array(draw(pick), ints[0], draw(st.integers(0, 2**32 - 1)))
        elif choice == 3:
            signed = draw(st.booleans())
            values = st.integers(-2**63, 2**63 - 1) if signed else st.integers(0, 2**64 - 1)
            t = btf.Enum(draw(names), draw(st.sampled_from([1, 2, 4, 8])), signed,
                         [btf.EnumValue(draw(names), draw(values))
                          for _ in range(draw(st.integers(0, 3)))])
        elif choice == 4:
            t = btf.Typedef(draw(names), draw(pick))
        elif choice == 5:
            t = btf.FuncProto(draw(pick), [btf.FuncParam(draw(names), draw(pick))
                                           for _ in range(draw(st.integers(0, 3)))])
        elif choice == 6:
            t = btf.Fwd(draw(names), draw(st.sampled_from(list(btf.FwdKind))))
        elif choice == 7:
            t = btf.TypeTag(draw(pick), draw(names), draw(st.booleans()))
        else:
            t = btf.Float(draw(names), draw(st.sampled_from([4, 8, 16])))
        made.append(t)
    # Members point back at their struct (a cycle through a pointer, which BTF allows); by
    # value they hold only scalars, as a struct cannot contain itself.
    scalars = [t for t in made if isinstance(t, (btf.Int, btf.Pointer, btf.Enum, btf.Float))]
    for s in structs:
        s.members = [btf.Member(draw(names), draw(st.sampled_from(scalars)) if i else
                                btf.Pointer(s), 8 * i, draw(st.integers(0, 7)))
                     for i in range(draw(st.integers(0, 4)))]
    return btf.Spec(made)


@FUZZ
@given(random_specs())
def test_random_specs_round_trip(spec: btf.Spec) -> None:
    again = btf.Spec.from_bytes(spec.marshal())
    assert again == spec
    assert dump_json(again) == dump_json(spec)


# -- .BTF.ext ----------------------------------------------------------------------------------


def ext_seed() -> tuple[bytes, btf.Spec]:
    spec = btf.Spec.from_bytes(with_record(rec(0, 2, 0, 0), b"\0xdp\0f.c\0return 0;\0"))
    func = struct.pack("<I", 8) + struct.pack("<II", 1, 1) + struct.pack("<II", 0, 1)
    line = struct.pack("<I", 16) + struct.pack("<II", 1, 1) + \
        struct.pack("<IIII", 0, 5, 9, (3 << 10) | 5)
    core = struct.pack("<I", 16) + struct.pack("<II", 1, 1) + struct.pack("<IIII", 8, 1, 1, 0)
    body = func + line + core
    hdr = struct.pack("<HBBIIIIIII", 0xEB9F, 1, 0, 32, 0, len(func), len(func), len(line),
                      len(func) + len(line), len(core))
    return hdr + body, spec


def test_ext_seed() -> None:
    data, spec = ext_seed()
    ext = BTFExt.from_bytes(data, spec)
    assert ext.func_info["xdp"][0].type_id == 1
    li = ext.line_info["xdp"][0]
    assert (li.file_name, li.text, li.line, li.col) == ("f.c", "return 0;", 3, 5)
    assert ext.core_relo["xdp"][0].insn_off == 8


@pytest.mark.parametrize("cut, match", [(10, "shorter"), (36, "past the end")])
def test_ext_truncated(cut: int, match: str) -> None:
    data, spec = ext_seed()
    with pytest.raises(ValueError, match=match):
        BTFExt.from_bytes(data[:cut], spec)


@FUZZ
@given(st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), min_size=1, max_size=6))
def test_ext_mutations_only_value_error(changes: list[tuple[int, int]]) -> None:
    data, spec = ext_seed()
    raw = bytearray(data)
    for pos, value in changes:
        raw[pos % len(raw)] = value
    try:
        BTFExt.from_bytes(bytes(raw), spec)
    except ValueError:
        pass
