"""CO-RE relocation on crafted local and target specs: every kind, missing fields (poisoned),
anonymous members, arrays, bitfields, flavors, ambiguity, candidate pruning, module BTF.

Expected values are worked out by hand from libbpf's rules (tools/lib/bpf/relo_core.c);
tests/test_core.py checks the same engine against libbpf itself on compiled objects.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bpfobj import asm, btf
from bpfobj.asm import Instruction, Instructions
from bpfobj.btf import core
from bpfobj.btf.ext import CoreRelo
from bpfobj.btf.ext import CoreReloKind as K

S32 = btf.Int("int", 4, btf.IntEncoding.SIGNED)
U32 = btf.Int("unsigned int", 4)
U64 = btf.Int("long long unsigned int", 8)
S64 = btf.Int("long long int", 8, btf.IntEncoding.SIGNED)
U8 = btf.Int("unsigned char", 1)
POISON = Instruction(0x85, 0, 0, 0, core.POISON_HELPER)


def relo(kind: K, type_id: int, access: str = "0", insn: int = 0) -> CoreRelo:
    return CoreRelo(insn * 8, type_id, 0, kind, access)


def run(local_types: Sequence[btf.Type], target_types: Sequence[btf.Type],
        insns: Sequence[Instruction], relos_: Sequence[tuple[K, str, str]],
        targets: Sequence[btf.Spec] | None = None) -> core.Relocated:
    """Relocate: one relo per instruction, in order: (kind, local type name, access)."""
    local = btf.Spec(local_types)
    target = btf.Spec(target_types)
    slots, slot = [], 0
    for insn in insns:
        slots.append(slot)
        slot += insn.slots
    records = []
    for i, (kind, name, access) in enumerate(relos_):
        tid = next(t for t in range(len(local)) if local[t].name == name)
        records.append(relo(kind, tid, access, slots[i]))
    return core.relocate(Instructions(insns), records, local,
                         [target] if targets is None else targets, program="prog")


def mov(imm: int) -> Instruction:
    return asm.mov_imm(asm.R0, imm)


def values(r: core.Relocated) -> list[int]:
    return [x.value for x in r.relocations]


# --- names ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name, essential", [
    ("task_struct", "task_struct"), ("task_struct___v2", "task_struct"),
    ("foo___bar___baz", "foo___bar"), ("a___b", "a"), ("a____b", "a____b"),
    ("___a", "___a"), ("a___", "a___"), ("a__b", "a__b"), ("", ""), ("x___y_", "x"),
])
def test_essential_name(name: str, essential: str) -> None:
    assert core.essential_name(name) == essential


# --- fields ---------------------------------------------------------------------------------


def test_field_offsets_and_sizes_follow_the_target() -> None:
    local = btf.Struct("foo", 8, [btf.Member("a", S32, 0), btf.Member("b", U32, 32)])
    target = btf.Struct("foo", 24, [btf.Member("x", U64, 0), btf.Member("b", U32, 64),
                                    btf.Member("a", S32, 128)])
    insns = [asm.ldx(asm.W, asm.R0, asm.R1, 4), asm.add_imm(asm.R1, 0), mov(4), mov(1)]
    r = run([local], [target], insns, [(K.FIELD_BYTE_OFFSET, "foo", "0:1"),
                                       (K.FIELD_BYTE_OFFSET, "foo", "0:0"),
                                       (K.FIELD_BYTE_SIZE, "foo", "0:1"),
                                       (K.FIELD_EXISTS, "foo", "0:1")])
    assert values(r) == [8, 16, 4, 1]
    out = r.instructions
    assert isinstance(out, Instructions)
    assert out[0] == asm.ldx(asm.W, asm.R0, asm.R1, 8)
    assert out[1] == asm.add_imm(asm.R1, 16)
    assert r.relocations[0].spec == "<byte_off> [1] struct foo.b (0:1 @ offset 4)"
    assert r.relocations[0].target == "<byte_off> [1] struct foo.b (0:1 @ offset 8)"
    assert not any(x.poisoned for x in r.relocations)


def test_load_size_adjusts_for_unsigned_and_poisons_signed() -> None:
    local = btf.Struct("foo", 8, [btf.Member("u", U32, 0), btf.Member("s", S32, 32)])
    target = btf.Struct("foo", 16, [btf.Member("u", U64, 0), btf.Member("s", S64, 64)])
    insns = [asm.ldx(asm.W, asm.R0, asm.R1, 0), asm.ldx(asm.W, asm.R2, asm.R1, 4),
             asm.add_imm(asm.R1, 4)]
    r = run([local], [target], insns, [(K.FIELD_BYTE_OFFSET, "foo", "0:0"),
                                       (K.FIELD_BYTE_OFFSET, "foo", "0:1"),
                                       (K.FIELD_BYTE_OFFSET, "foo", "0:1")])
    out = r.instructions
    assert isinstance(out, Instructions)
    assert out[0] == asm.ldx(asm.DW, asm.R0, asm.R1, 0)      # u32 -> u64: widened
    assert out[1] == POISON                                   # s32 -> s64: poisoned
    assert r.relocations[1].poisoned and "size" in r.relocations[1].reason
    assert out[2] == asm.add_imm(asm.R1, 8)                   # ALU: only the offset
    assert not r.relocations[2].poisoned


def test_missing_field_poisons_but_exists_is_zero() -> None:
    local = btf.Struct("foo", 8, [btf.Member("a", S32, 0), btf.Member("gone", S32, 32)])
    target = btf.Struct("foo", 4, [btf.Member("a", S32, 0)])
    insns = [mov(1), asm.ldx(asm.W, asm.R0, asm.R1, 4), asm.ld_imm64(asm.R2, 4), mov(4),
             mov(0)]
    r = run([local], [target], insns, [(K.FIELD_EXISTS, "foo", "0:1"),
                                       (K.FIELD_BYTE_OFFSET, "foo", "0:1"),
                                       (K.FIELD_BYTE_OFFSET, "foo", "0:1"),
                                       (K.FIELD_BYTE_SIZE, "foo", "0:1"),
                                       (K.FIELD_SIGNED, "foo", "0:1")])
    out = r.instructions
    assert isinstance(out, Instructions)
    assert out[0] == mov(0)
    # ld_imm64 becomes two poisoned calls: the program keeps its length in slots.
    assert list(out[1:]) == [POISON, POISON, POISON, POISON, POISON]
    assert [x.poisoned for x in r.relocations] == [False, True, True, True, True]
    assert r.relocations[1].target == ""
    assert "gone" in r.relocations[1].reason
    assert "instruction 1" in r.relocations[1].message and "'prog'" in r.relocations[1].message
    assert len(out.encode()) == len(Instructions(insns).encode())


def test_field_through_anonymous_members() -> None:
    local = btf.Struct("foo", 8, [btf.Member("a", S32, 0), btf.Member("b", S32, 32)])
    inner = btf.Union("", 4, [btf.Member("b", S32, 0), btf.Member("c", U32, 0)])
    anon = btf.Struct("", 8, [btf.Member("pad", S32, 0), btf.Member("", inner, 32)])
    target = btf.Struct("foo", 16, [btf.Member("a", S32, 0), btf.Member("", anon, 64)])
    r = run([local], [target], [mov(4)], [(K.FIELD_BYTE_OFFSET, "foo", "0:1")])
    assert values(r) == [12]
    assert r.relocations[0].target == "<byte_off> [1] struct foo.b (0:1:1:0 @ offset 12)"


def test_typedefs_and_qualifiers_are_skipped() -> None:
    pid_t = btf.Typedef("pid_t", S32)
    local = btf.Struct("foo", 4, [btf.Member("pid", btf.Const(pid_t), 0)])
    target = btf.Struct("foo", 8, [btf.Member("x", S32, 0), btf.Member("pid", S32, 32)])
    r = run([btf.Typedef("foo_t", local)], [target], [mov(0)],
            [(K.FIELD_BYTE_OFFSET, "foo_t", "0:0")])
    # The root typedef is the local type: candidates are typedefs named foo_t, none here.
    assert r.relocations[0].poisoned
    r = run([local], [target], [mov(0), mov(1)], [(K.FIELD_BYTE_OFFSET, "foo", "0:0"),
                                                  (K.FIELD_SIGNED, "foo", "0:0")])
    assert values(r) == [4, 1]


def test_incompatible_member_type_does_not_match() -> None:
    local = btf.Struct("foo", 8, [btf.Member("p", btf.Pointer(S32), 0)])
    target = btf.Struct("foo", 8, [btf.Member("p", U64, 0)])
    r = run([local], [target], [mov(1)], [(K.FIELD_EXISTS, "foo", "0:0")])
    assert values(r) == [0]
    # Structs and unions stand for each other; enums need the same essential name.
    e1, e2 = btf.Enum("color", 4), btf.Enum("colour", 4)
    local = btf.Struct("bar", 8, [btf.Member("s", btf.Struct("x", 4), 0),
                                  btf.Member("e", e1, 32)])
    target = btf.Struct("bar", 8, [btf.Member("s", btf.Union("y", 4), 0),
                                   btf.Member("e", e2, 32)])
    r = run([local], [target], [mov(1), mov(1)], [(K.FIELD_EXISTS, "bar", "0:0"),
                                                  (K.FIELD_EXISTS, "bar", "0:1")])
    assert values(r) == [1, 0]


def test_arrays_bounds_and_flexible_arrays() -> None:
    arr4 = btf.Array(S32, U32, 4)
    local = btf.Struct("foo", 24, [btf.Member("n", S32, 0), btf.Member("v", arr4, 32),
                                   btf.Member("tail", btf.Array(U8, U32, 0), 160)])
    target = btf.Struct("foo", 16, [btf.Member("n", S64, 0),
                                    btf.Member("v", btf.Array(S32, U32, 2), 64),
                                    btf.Member("tail", btf.Array(U8, U32, 0), 128)])
    insns = [mov(16), mov(8), mov(20 + 5), mov(4), mov(48)]
    r = run([local], [target], insns, [(K.FIELD_BYTE_OFFSET, "foo", "0:1:3"),
                                       (K.FIELD_BYTE_OFFSET, "foo", "0:1:1"),
                                       (K.FIELD_BYTE_OFFSET, "foo", "0:2:5"),
                                       (K.FIELD_BYTE_SIZE, "foo", "0:1:1"),
                                       (K.FIELD_BYTE_OFFSET, "foo", "2")])
    # v[3] is past the target's 2 elements: poisoned; v[1] moves; tail[5] of the flexible
    # array is allowed on both sides; foo[2] (pointer arithmetic) scales by the new size.
    assert [x.poisoned for x in r.relocations] == [True, False, False, False, False]
    assert values(r)[1:] == [12, 21, 4, 32]
    assert r.relocations[1].target == "<byte_off> [1] struct foo.v[1] (0:1:1 @ offset 12)"
    assert r.relocations[4].spec == "<byte_off> [1] struct foo[2] (2 @ offset 48)"


def test_array_access_rejects_other_kinds() -> None:
    local = btf.Struct("foo", 16, [btf.Member("v", btf.Array(S32, U32, 4), 0)])
    with pytest.raises(core.CORERelocationError, match="array access"):
        run([local], [local], [mov(0)], [(K.FIELD_SIGNED, "foo", "0:0:1")])


def test_bitfields() -> None:
    # A 3-bit field at bit 35 of an unsigned int storage unit, and one straddling bytes.
    local = btf.Struct("foo", 8, [btf.Member("a", U32, 0),
                                  btf.Member("f", U32, 35, bitfield_size=3),
                                  btf.Member("g", S32, 38, bitfield_size=20)])
    target = btf.Struct("foo", 16, [btf.Member("a", U64, 0),
                                    btf.Member("f", U32, 67, bitfield_size=3),
                                    btf.Member("g", S32, 94, bitfield_size=20)])
    kinds = [K.FIELD_BYTE_OFFSET, K.FIELD_BYTE_SIZE, K.FIELD_LSHIFT_U64,
             K.FIELD_RSHIFT_U64, K.FIELD_SIGNED]
    # The compiler's values are not checked for bitfields (except signed and rshift):
    # give odd ones to show it.
    insns = [mov(1), mov(1), mov(1), mov(61), mov(0)]
    r = run([local], [target], insns, [(k, "foo", "0:1") for k in kinds])
    # f: storage unit at byte 8 (bits 64..95), lshift = 64 - (67 + 3 - 64), rshift = 61.
    assert values(r) == [8, 4, 58, 61, 0]
    insns = [mov(1), mov(1), mov(1), mov(44), mov(1)]
    r = run([local], [target], insns, [(k, "foo", "0:2") for k in kinds])
    # g (bits 94..113) does not fit a 4-byte unit at 8 (bits 64..95): an 8-byte one at 8.
    assert values(r) == [8, 8, 64 - (94 + 20 - 64), 44, 1]


def test_bitfield_rshift_is_validated() -> None:
    local = btf.Struct("foo", 4, [btf.Member("f", U32, 3, bitfield_size=3)])
    with pytest.raises(core.CORERelocationError, match="unexpected ALU"):
        run([local], [local], [mov(1)], [(K.FIELD_RSHIFT_U64, "foo", "0:0")])


# --- types ----------------------------------------------------------------------------------


def test_type_relocations() -> None:
    local = btf.Struct("foo", 4, [btf.Member("a", S32, 0)])
    other = btf.Struct("nope", 4, [btf.Member("a", S32, 0)])
    target = btf.Struct("foo", 32, [])
    insns = [mov(1), mov(4), asm.ld_imm64(asm.R1, 1), asm.ld_imm64(asm.R1, 1), mov(1), mov(4),
             asm.ld_imm64(asm.R1, 2)]
    r = run([local, other], [btf.Int("pad", 4), target], insns,
            [(K.TYPE_EXISTS, "foo", "0"), (K.TYPE_SIZE, "foo", "0"),
             (K.TYPE_ID_TARGET, "foo", "0"), (K.TYPE_ID_LOCAL, "foo", "0"),
             (K.TYPE_EXISTS, "nope", "0"), (K.TYPE_SIZE, "nope", "0"),
             (K.TYPE_ID_TARGET, "nope", "0")])
    assert values(r) == [1, 32, 2, 1, 0, 0, 0]
    assert not any(x.poisoned for x in r.relocations)


def test_type_id_local_ignores_the_recorded_value_and_anonymity() -> None:
    anon = btf.Struct("", 4, [btf.Member("a", S32, 0)])
    local = btf.Spec([anon])
    r = core.relocate(Instructions([asm.ld_imm64(asm.R1, 99)]),
                      [relo(K.TYPE_ID_LOCAL, 1)], local, [btf.Spec()])
    assert values(r) == [1]
    with pytest.raises(core.CORERelocationError, match="anonymous"):
        core.relocate(Instructions([mov(1)]), [relo(K.TYPE_EXISTS, 1)], local, [btf.Spec()])


def test_type_compatibility_rules() -> None:
    p = btf.Pointer
    assert core.types_are_compatible(p(S32), p(U64))                  # ints: any size
    assert core.types_are_compatible(btf.Array(p(S32), U32, 2), btf.Array(p(U8), U32, 9))
    assert not core.types_are_compatible(p(S32), p(btf.Struct("x", 4)))
    assert not core.types_are_compatible(btf.Struct("x", 4), btf.Union("x", 4))
    assert core.types_are_compatible(btf.Enum("e", 4), btf.Enum("e", 8))  # ENUM ~ ENUM64
    f1 = btf.FuncProto(S32, [btf.FuncParam("a", p(S32))])
    f2 = btf.FuncProto(btf.Typedef("int_t", S32), [btf.FuncParam("b", p(U32))])
    f3 = btf.FuncProto(S32, [])
    assert core.types_are_compatible(f1, f2)
    assert not core.types_are_compatible(f1, f3)
    # The root kinds must agree before typedefs are skipped.
    assert not core.types_are_compatible(btf.Typedef("t", S32), S32)


def test_type_matches() -> None:
    pid_t = btf.Typedef("pid_t", S32)
    kernel = btf.Struct("task", 16, [btf.Member("pid", pid_t, 0), btf.Member("tgid", pid_t, 32),
                                     btf.Member("next", btf.Pointer(btf.Fwd("task")), 64)])
    sub = btf.Struct("task___sub", 8, [btf.Member("tgid", S32, 0)])
    wide = btf.Struct("task___wide", 8, [btf.Member("pid", S64, 0)])
    unsigned = btf.Struct("task___u", 8, [btf.Member("pid", U32, 0)])
    ptr = btf.Struct("task___p", 8, [btf.Member("next", btf.Pointer(btf.Struct("task", 99)),
                                                0)])
    extra = btf.Struct("task___x", 8, [btf.Member("nope", S32, 0)])
    assert core.types_match(sub, kernel)
    assert not core.types_match(wide, kernel)
    assert not core.types_match(unsigned, kernel)
    assert core.types_match(ptr, kernel)          # behind a pointer: struct matches a fwd
    assert not core.types_match(extra, kernel)
    e = btf.Enum("e", 4, values=[btf.EnumValue("A___x", 1)])
    assert core.types_match(e, btf.Enum("e", 4, values=[btf.EnumValue("B", 0),
                                                        btf.EnumValue("A", 9)]))
    assert not core.types_match(e, btf.Enum("e", 8, values=[btf.EnumValue("A", 1)]))
    assert not core.types_match(btf.Array(S32, U32, 2), btf.Array(S32, U32, 3))
    r = run([sub, wide], [kernel], [mov(1), mov(1)],
            [(K.TYPE_MATCHES, "task___sub", "0"), (K.TYPE_MATCHES, "task___wide", "0")])
    assert values(r) == [1, 0]


# --- enums ----------------------------------------------------------------------------------


def test_enum_values_enum_and_enum64() -> None:
    local = btf.Enum("mode", 4, values=[btf.EnumValue("A", 0), btf.EnumValue("B", 1),
                                        btf.EnumValue("GONE", 2), btf.EnumValue("C___v2", 3)])
    target = btf.Enum("mode", 4, signed=True, values=[btf.EnumValue("C", -2),
                                                      btf.EnumValue("B", 7)])
    insns = [asm.ld_imm64(asm.R0, 1), asm.ld_imm64(asm.R0, 1), asm.ld_imm64(asm.R0, 3),
             asm.ld_imm64(asm.R0, 1), asm.ld_imm64(asm.R0, 2)]
    r = run([local], [target], insns, [(K.ENUMVAL_EXISTS, "mode", "1"),
                                       (K.ENUMVAL_VALUE, "mode", "1"),
                                       (K.ENUMVAL_VALUE, "mode", "3"),
                                       (K.ENUMVAL_EXISTS, "mode", "2"),
                                       (K.ENUMVAL_VALUE, "mode", "2")])
    # A 32-bit enum value sign-extends into the 64-bit result, as libbpf's __s32 does.
    assert values(r) == [1, 7, (1 << 64) - 2, 0, 0]
    assert r.relocations[4].poisoned
    assert r.relocations[2].target == "<enumval_value> [1] enum mode::C = -2"
    out = r.instructions
    assert isinstance(out, Instructions)
    assert out[2] == asm.ld_imm64(asm.R0, (1 << 64) - 2)
    assert list(out[4:]) == [POISON, POISON]
    big = btf.Enum("mode", 8, values=[btf.EnumValue("B", 1 << 40)])
    r = run([local], [big], [asm.ld_imm64(asm.R0, 1)], [(K.ENUMVAL_VALUE, "mode", "1")])
    assert values(r) == [1 << 40]


def test_enum_access_must_name_an_enumerator() -> None:
    local = btf.Enum("mode", 4, values=[btf.EnumValue("A", 0)])
    for access in ("1", "0:0"):
        with pytest.raises(core.CORERelocationError, match="enumerator"):
            run([local], [local], [mov(0)], [(K.ENUMVAL_VALUE, "mode", access)])


# --- candidates -------------------------------------------------------------------------------


def test_flavors_find_the_kernel_type() -> None:
    local = btf.Struct("foo___v1", 4, [btf.Member("a", S32, 0)])
    target = btf.Struct("foo", 8, [btf.Member("x", S32, 0), btf.Member("a", S32, 32)])
    r = run([local], [target], [mov(0)], [(K.FIELD_BYTE_OFFSET, "foo___v1", "0:0")])
    assert values(r) == [4]


def test_ambiguity_is_an_error() -> None:
    local = btf.Struct("foo", 4, [btf.Member("a", S32, 0)])
    t1 = btf.Struct("foo", 8, [btf.Member("a", S32, 0)])
    t2 = btf.Struct("foo___2", 8, [btf.Member("x", S32, 0), btf.Member("a", S32, 32)])
    with pytest.raises(core.CORERelocationError,
                       match=r"program 'prog': instruction 0: CO-RE relocation #0 .*"
                             r"field offset ambiguity"):
        run([local], [t1, t2], [mov(0)], [(K.FIELD_BYTE_OFFSET, "foo", "0:0")])
    # Same answer from both: fine.
    t3 = btf.Struct("foo___3", 8, [btf.Member("a", S32, 0)])
    r = run([local], [t1, t3], [mov(0)], [(K.FIELD_BYTE_OFFSET, "foo", "0:0")])
    assert values(r) == [0]
    # Same offset, different decision (size).
    t4 = btf.Struct("foo___4", 8, [btf.Member("a", S64, 0)])
    with pytest.raises(core.CORERelocationError, match="decision ambiguity"):
        run([local], [t1, t4], [mov(4)], [(K.FIELD_BYTE_SIZE, "foo", "0:0")])


def test_candidates_are_pruned_for_later_relocations() -> None:
    local = btf.Struct("foo", 8, [btf.Member("a", S32, 0), btf.Member("b", S32, 32)])
    t1 = btf.Struct("foo", 8, [btf.Member("a", S32, 0)])
    t2 = btf.Struct("foo___2", 16, [btf.Member("a", S32, 64), btf.Member("b", S32, 96)])
    # First b (only foo___2 has it), then a: foo is no longer a candidate, so no ambiguity.
    r = run([local], [t1, t2], [mov(4), mov(0)], [(K.FIELD_BYTE_OFFSET, "foo", "0:1"),
                                                  (K.FIELD_BYTE_OFFSET, "foo", "0:0")])
    assert values(r) == [12, 8]
    # The other order is ambiguous at the first relocation.
    with pytest.raises(core.CORERelocationError, match="ambiguity"):
        run([local], [t1, t2], [mov(0), mov(4)], [(K.FIELD_BYTE_OFFSET, "foo", "0:0"),
                                                  (K.FIELD_BYTE_OFFSET, "foo", "0:1")])


def test_targets_in_order_and_module_btf() -> None:
    vm_types = [btf.Struct("in_vmlinux", 8, [btf.Member("x", S32, 0), btf.Member("a", S32, 32)])]
    vmlinux = btf.Spec(vm_types)
    module = btf.Spec([btf.Struct("in_module", 16, [btf.Member("a", S32, 96)]),
                       btf.Struct("in_vmlinux", 16, [btf.Member("a", S32, 64)])],
                      base=vmlinux)
    lv = btf.Struct("in_vmlinux", 4, [btf.Member("a", S32, 0)])
    lm = btf.Struct("in_module", 4, [btf.Member("a", S32, 0)])
    local = btf.Spec([lv, lm])
    v, m = local.type_id(lv), local.type_id(lm)
    r = core.Relocator(local, vmlinux=vmlinux, modules=[module]).relocate(
        Instructions([mov(0), mov(0), asm.ld_imm64(asm.R0, 2)]),
        [relo(K.FIELD_BYTE_OFFSET, v, "0:0", 0), relo(K.FIELD_BYTE_OFFSET, m, "0:0", 1),
         relo(K.TYPE_ID_TARGET, m, "0", 2)], program="p")
    # vmlinux has in_vmlinux: the module's copy is not looked at; in_module only in mod1.
    assert values(r) == [4, 12, len(vmlinux)]
    assert r.relocations[2].target_btf is not None
    assert r.relocations[2].target_btf.base is not None
    # kernel_types replaces the kernel and disables the module search.
    r = core.Relocator(local, btf.Spec(vm_types)).relocate(
        Instructions([mov(0)]), [relo(K.FIELD_BYTE_OFFSET, m, "0:0", 0)])
    assert r.relocations[0].poisoned


# --- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize("access, match", [
    ("", "access"), (":0", "access"), ("0::1", "access"), ("a", "access"), ("-1", "access"),
    ("0:9", "member index"), ("0:0:1", "not a struct"),
    (":".join(["0"] * 65), "longer"),
])
def test_bad_access_strings(access: str, match: str) -> None:
    local = btf.Struct("foo", 4, [btf.Member("a", S32, 0)])
    with pytest.raises(core.CORERelocationError, match=match):
        run([local], [local], [mov(0)], [(K.FIELD_BYTE_OFFSET, "foo", access)])


def test_refusals_name_program_instruction_and_relocation() -> None:
    local = btf.Spec([btf.Struct("foo", 4, [btf.Member("a", S32, 0)])])
    target = [btf.Spec([btf.Struct("foo", 8, [btf.Member("a", S32, 32)])])]
    cases = [
        ([mov(1)], relo(K.FIELD_BYTE_OFFSET, 1, "0:0"), "unexpected ALU"),
        ([asm.ldx(asm.W, asm.R0, asm.R1, 2)], relo(K.FIELD_BYTE_OFFSET, 1, "0:0"),
         "unexpected LDX"),
        ([asm.ldx(asm.H, asm.R0, asm.R1, 0)], relo(K.FIELD_BYTE_OFFSET, 1, "0:0"), None),
        ([asm.add_reg(asm.R0, asm.R1)], relo(K.FIELD_BYTE_OFFSET, 1, "0:0"), "register"),
        ([asm.exit_()], relo(K.FIELD_BYTE_OFFSET, 1, "0:0"), "cannot be relocated"),
        ([mov(0)], relo(K.FIELD_BYTE_OFFSET, 7, "0:0"), "not in the object"),
        ([mov(0)], CoreRelo(4, 1, 0, K.FIELD_BYTE_OFFSET, "0:0"), "not an instruction"),
        ([mov(0)], CoreRelo(8, 1, 0, K.FIELD_BYTE_OFFSET, "0:0"), "not an instruction"),
        ([mov(0)], CoreRelo(0, 1, 0, 42, "0:0"), "kind 42"),  # type: ignore[arg-type]
        ([mov(0)], relo(K.TYPE_EXISTS, 1, "0:0"), "not \"0\""),
    ]
    for insns, r, match in cases:
        if match is None:  # an access of the field's size, and the size did not change
            core.relocate(Instructions(insns), [r], local, target)
            continue
        with pytest.raises(core.CORERelocationError, match=match) as info:
            core.relocate(Instructions(insns), [r], local, target, program="xdp_prog")
        assert str(info.value).startswith("program 'xdp_prog': instruction ")


def test_offset_too_big_for_a_load() -> None:
    local = btf.Struct("foo", 4, [btf.Member("a", S32, 0)])
    target = btf.Struct("foo", 0x10004, [btf.Member("a", S32, 0x8000 * 8)])
    with pytest.raises(core.CORERelocationError, match="too big"):
        run([local], [target], [asm.ldx(asm.W, asm.R0, asm.R1, 0)],
            [(K.FIELD_BYTE_OFFSET, "foo", "0:0")])


# --- instructions as bytes, labels, the verifier log --------------------------------------------


def test_bytes_in_bytes_out_and_labels_kept() -> None:
    local = btf.Spec([btf.Struct("foo", 4, [btf.Member("a", S32, 0)])])
    target = [btf.Spec([btf.Struct("foo", 8, [btf.Member("a", S32, 32)])])]
    prog = Instructions([asm.jeq_imm(asm.R1, 0, "out"), asm.ld_imm64(asm.R2, 0),
                         asm.label("out"), mov(0), asm.exit_()])
    r = core.relocate(prog, [relo(K.FIELD_BYTE_OFFSET, 1, "0:0", 1),
                             relo(K.FIELD_BYTE_OFFSET, 1, "0:0", 3)], local, target)
    out = r.instructions
    assert isinstance(out, Instructions)
    assert "out" in out.labels()
    assert out[1] == asm.ld_imm64(asm.R2, 4) and out[3] == mov(4)
    raw = core.relocate(prog.encode(), [relo(K.FIELD_BYTE_OFFSET, 1, "0:0", 3)], local,
                        target).instructions
    assert isinstance(raw, bytes)
    assert struct.unpack_from("<i", raw, 3 * 8 + 4)[0] == 4
    with pytest.raises(core.CORERelocationError, match="multiple of 8"):
        core.relocate(b"\0" * 7, [], local, target)


def test_explain_verifier_log() -> None:
    log = ("0: R1=ctx() R10=fp0\n0: (b7) r0 = 0\n1: (85) call unknown#195896080\n"
           "invalid func unknown#195896080\nprocessed 2 insns\n")
    local = btf.Struct("foo", 8, [btf.Member("a", S32, 0), btf.Member("gone", S32, 32)])
    r = run([local], [btf.Struct("foo", 4, [btf.Member("a", S32, 0)])],
            [mov(1), mov(4)], [(K.FIELD_EXISTS, "foo", "0:1"),
                               (K.FIELD_BYTE_OFFSET, "foo", "0:1")])
    text, found = core.explain_verifier_log(log, {1: r.relocations[1]})
    assert found == [r.relocations[1]]
    assert text == ("0: R1=ctx() R10=fp0\n0: (b7) r0 = 0\n1: <invalid CO-RE relocation>\n"
                    "failed to resolve CO-RE relocation <byte_off> [1] struct foo.gone "
                    "(0:1 @ offset 4)\nprocessed 2 insns\n")
    assert core.explain_verifier_log(log, {5: r.relocations[1]}) == (log, [])


# --- crafted input never raises anything but CORERelocationError --------------------------------

_LOCAL = btf.Spec([btf.Struct("foo", 16, [
    btf.Member("a", S32, 0), btf.Member("arr", btf.Array(U8, U32, 4), 32),
    btf.Member("", btf.Union("", 4, [btf.Member("u", U32, 0)]), 64),
    btf.Member("bf", U32, 96, bitfield_size=5), btf.Member("e", btf.Enum("k", 4, values=[
        btf.EnumValue("X", 1)]), 104)]),
    btf.Enum("k2", 8, values=[btf.EnumValue("Y", -1)]), btf.Typedef("t", btf.Pointer(S32))])
_TARGET = btf.Spec([btf.Struct("foo", 8, [btf.Member("arr", btf.Array(U8, U32, 2), 0),
                                          btf.Member("bf", U64, 3, bitfield_size=7)]),
                    btf.Enum("k2", 4, values=[btf.EnumValue("Y", 5)]),
                    btf.Typedef("t", btf.Pointer(U8))])


@settings(max_examples=300, deadline=None)
@given(kind=st.integers(0, 14), type_id=st.integers(0, len(_LOCAL) + 1),
       access=st.lists(st.integers(0, 6), min_size=0, max_size=5),
       insn=st.sampled_from([mov(0), asm.ldx(asm.W, asm.R0, asm.R1, 0), asm.ld_imm64(asm.R0, 0),
                             asm.exit_(), asm.st(asm.B, asm.R1, 0, 1)]))
def test_crafted_relocations(kind: int, type_id: int, access: list[int],
                             insn: Instruction) -> None:
    r = CoreRelo(0, type_id, 0, kind, ":".join(map(str, access)))  # type: ignore[arg-type]
    try:
        out = core.relocate(Instructions([insn]), [r], _LOCAL, [_TARGET])
    except core.CORERelocationError:
        return
    assert len(out.relocations) == 1


def test_flavored_candidates_in_raw_btf() -> None:
    # Read back from bytes, the target is searched by name without decoding every type.
    local = btf.Spec([btf.Struct("foo", 4, [btf.Member("a", S32, 0)])])
    built = btf.Spec([btf.Struct("foo___x", 8, [btf.Member("p", S32, 0), btf.Member("a", S32, 32)]),
                      btf.Struct("bar", 4, [btf.Member("a", S32, 0)]),
                      btf.Struct("foo", 8, [btf.Member("q", S32, 0), btf.Member("a", S32, 32)])])
    raw = btf.Spec.from_bytes(built.marshal())
    r = core.relocate(Instructions([mov(0)]), [relo(K.FIELD_BYTE_OFFSET, 1, "0:0")], local, [raw])
    assert values(r) == [4]
    assert r.relocations[0].target_type_id == 1  # the first candidate in id order


def test_type_matching_stays_polynomial_on_crafted_btf() -> None:
    # Twenty levels of structs whose target members all share one name: without memoizing,
    # matching would try 20**20 paths.
    local: btf.Type = S32
    target: btf.Type = U32  # unsigned: no level ever matches, every path is tried
    for i in range(20):
        local = btf.Struct(f"n{i}", 4, [btf.Member("m", local, 0)])
        target = btf.Struct(f"n{i}", 4, [btf.Member("m", target, 0) for _ in range(20)])
    assert not core.types_match(local, target)
    proto_l: btf.Type = S32
    proto_t: btf.Type = btf.Struct("x", 4)
    for _ in range(20):
        proto_l = btf.FuncProto(proto_l, [btf.FuncParam("", btf.Pointer(proto_l))] * 20)
        proto_t = btf.FuncProto(proto_t, [btf.FuncParam("", btf.Pointer(proto_t))] * 20)
    assert not core.types_are_compatible(proto_l, proto_t)


def test_member_search_is_bounded_on_crafted_btf() -> None:
    # An anonymous struct of 40 anonymous members that are all the next such struct, 30 deep.
    inner: btf.Type = btf.Struct("", 4, [btf.Member("x", S32, 0)])
    for _ in range(30):
        inner = btf.Struct("", 4, [btf.Member("", inner, 0) for _ in range(40)])
    target = btf.Struct("foo", 4, [btf.Member("", inner, 0)])
    local = btf.Struct("foo", 4, [btf.Member("a", S32, 0)])
    with pytest.raises(core.CORERelocationError, match="members searched"):
        run([local], [target], [mov(1)], [(K.FIELD_EXISTS, "foo", "0:0")])
