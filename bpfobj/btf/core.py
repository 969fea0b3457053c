"""CO-RE: relocating a program's field offsets, sizes and type facts onto the target kernel.

Owns the CO-RE relocation engine: parsing of the access strings of ``.BTF.ext`` core_relo
records ("0:1:2"), the search for candidate target types by essential name (the name with
its ``___flavor`` suffix cut off), the compatibility and "matches" rules, the values of
every relocation kind, ambiguity detection and the patching (or poisoning) of the
instruction. Semantics are libbpf's (tools/lib/bpf/relo_core.c), so that an object
relocated here gives the instructions that libbpf would give. Pure Python: imports the type
model (``types``), ``spec`` (``Spec``, ``kernel_spec``), ``ext`` (``CoreRelo``,
``CoreReloKind``) and ``bpfobj.asm`` (instructions); no syscall is made.

API (used by the Collection loader)::

    r = Relocator(local, kernel_types=None)   # local: the object's .BTF Spec; targets:
                                              # kernel_types, or vmlinux then module BTF
    r = Relocator(local, targets=[spec, ...]) # explicit targets (no module search)
    done = r.relocate(insns, relos, program="handle_exec")
        # insns: asm.Instructions or the raw bytes of ONE function (what the relos' insn_off
        #   count from: bytes, as in .BTF.ext); relos: its CoreRelo records
        # -> Relocated(instructions (same type as insns, patched copy), relocations)
    done.relocations[i]  -> Relocation: index, insn, kind, type_id, type_name, access,
                            spec (libbpf's text), target, target_type_id, original, value,
                            poisoned, reason, message
    relocate(insns, relos, local, targets, program="")  # one-shot Relocator
    explain_verifier_log(log, {insn_index: Relocation}) -> (log, [Relocation])
        # the verifier log with each "call unknown#195896080" rewritten as libbpf does, and
        # the poisoned relocations the verifier reached
    apply(insns, [(insn_index, CoreRelo)], local, kernel_types, externs={idx: name},
          program=..., kconfig_fd=..., weak=...) -> bytes
        # what Collection.load calls per linked program: CO-RE through one cached
        # Relocator per (object BTF, target), then the extern sites (btf.externs)
    types_are_compatible(local_t, target_t); types_match(local_t, target_t)
    essential_name("task_struct___v2") -> "task_struct"

One Relocator is meant for one object: like libbpf it caches the candidates of each local
type across all of the object's programs, and prunes from that list the candidates that a
relocation did not match (later relocations of the same type then see only the rest).

Candidates are found by name, not by decoding the target: the spec's name lookup (in C
when the compiled module is there) for the essential name and for each ``___flavor`` name
of the target's string table that reduces to it. Candidate lists are kept per local type.

Targets: with ``kernel_types`` (cilium's ``KernelTypes``, libbpf's ``btf_custom_path``)
that spec is the only target. Without it, candidates come from ``kernel_spec()`` first;
only when vmlinux has none are the modules of /sys/kernel/btf read (each once, in name
order) and searched, as libbpf does. A module candidate's ``target_type_id`` is its id in
the module's split BTF.

Poisoning (libbpf's bpf_core_poison_insn): a relocation that has no target and must change
the instruction (a field offset, size, signedness or shift of a missing field, the value
of a missing enumerator) or whose load/store size cannot be adjusted (a signed or
non-integer field of a different size) is not an error at relocation time. The
instruction becomes ``call 195896080`` (0xbad2310, "bad relo"): opcode 0x85, registers,
offset zero. A ``ld_imm64`` becomes two such calls (its second slot too, so the verifier
does not stop on "unknown opcode 00"). If the program guards the access (a
``bpf_core_field_exists`` that is false), the verifier removes the dead call and the
program loads. If it is reachable, the verifier fails with ``invalid func
unknown#195896080`` at that index; ``explain_verifier_log`` rewrites that part of the log
the way libbpf does (``N: <invalid CO-RE relocation>`` / ``failed to resolve CO-RE
relocation <spec>``) and gives the relocation, whose ``message`` names the program, the
instruction index and the relocation (kind, type name, access string).

Errors: where libbpf refuses the object (a malformed access string or type id, an
anonymous local type, several candidates that give different results, an instruction that
does not hold the value the compiler recorded or cannot take the relocation) this raises
``CORERelocationError`` (a ``ValueError``) naming the program, the instruction index and
the relocation. Nothing loops without bound on crafted BTF: type chains are followed at
most ``MAX_RESOLVE_DEPTH`` levels, as libbpf does.
"""

from __future__ import annotations

import os
import re
import struct
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Optional, Union

from typing_extensions import Buffer

from bpfobj.asm import Instruction, Instructions, Label

from .ext import CoreRelo, CoreReloKind
from .spec import KERNEL_BTF_DIR, Spec, kernel_spec
from .types import (
    MAX_RESOLVE_DEPTH,
    Array,
    Composite,
    Enum,
    Float,
    FuncProto,
    Fwd,
    FwdKind,
    Int,
    IntEncoding,
    Kind,
    Pointer,
    Struct,
    Type,
    Void,
    sizeof,
    underlying_type,
)
from .types import (
    Union as UnionType,
)

__all__ = [
    "Relocator", "Relocated", "Relocation", "CORERelocationError", "relocate",
    "explain_verifier_log", "essential_name", "types_are_compatible", "types_match",
    "POISON_HELPER", "format_kind", "apply",
]

#: The helper id libbpf writes into a poisoned instruction (0xbad2310, "bad relo").
POISON_HELPER = 195896080
_POISON = Instruction(0x85, 0, 0, 0, POISON_HELPER)
_MAX_SPEC_LEN = 64  # BPF_CORE_SPEC_MAX_LEN
_MAX_MEMBER_STEPS = 1 << 20  # members looked at for one candidate (vmlinux needs < 1000)
_MASK64 = (1 << 64) - 1
_LD_IMM64 = 0x18
_SIZES = {0x18: 8, 0x00: 4, 0x08: 2, 0x10: 1}
_SIZE_CODES = {v: k for k, v in _SIZES.items()}
_U32 = struct.Struct("<I")
_ACCESS = re.compile(r"\d+(?::\d+)*:?")

_FIELD_KINDS = frozenset({CoreReloKind.FIELD_BYTE_OFFSET, CoreReloKind.FIELD_BYTE_SIZE,
                          CoreReloKind.FIELD_EXISTS, CoreReloKind.FIELD_SIGNED,
                          CoreReloKind.FIELD_LSHIFT_U64, CoreReloKind.FIELD_RSHIFT_U64})
_TYPE_KINDS = frozenset({CoreReloKind.TYPE_ID_LOCAL, CoreReloKind.TYPE_ID_TARGET,
                         CoreReloKind.TYPE_EXISTS, CoreReloKind.TYPE_MATCHES,
                         CoreReloKind.TYPE_SIZE})
_ENUM_KINDS = frozenset({CoreReloKind.ENUMVAL_EXISTS, CoreReloKind.ENUMVAL_VALUE})

_KIND_TEXT = {
    CoreReloKind.FIELD_BYTE_OFFSET: "byte_off", CoreReloKind.FIELD_BYTE_SIZE: "byte_sz",
    CoreReloKind.FIELD_EXISTS: "field_exists", CoreReloKind.FIELD_SIGNED: "signed",
    CoreReloKind.FIELD_LSHIFT_U64: "lshift_u64", CoreReloKind.FIELD_RSHIFT_U64: "rshift_u64",
    CoreReloKind.TYPE_ID_LOCAL: "local_type_id", CoreReloKind.TYPE_ID_TARGET: "target_type_id",
    CoreReloKind.TYPE_EXISTS: "type_exists", CoreReloKind.TYPE_MATCHES: "type_matches",
    CoreReloKind.TYPE_SIZE: "type_size", CoreReloKind.ENUMVAL_EXISTS: "enumval_exists",
    CoreReloKind.ENUMVAL_VALUE: "enumval_value",
}


def format_kind(kind: int) -> str:
    """libbpf's short name of a relocation kind (``byte_off``, ``enumval_value`` ...)."""
    try:
        return _KIND_TEXT[CoreReloKind(kind)]
    except ValueError:
        return "unknown"


class CORERelocationError(ValueError):
    """A CO-RE relocation that libbpf would refuse (the object cannot be loaded as is)."""


class _Invalid(Exception):
    """Internal: libbpf's -EINVAL/-E2BIG/-ERANGE/-EOPNOTSUPP (the relocation is refused)."""


class _Poison(Exception):
    """Internal: libbpf's -EUCLEAN (poison the instruction)."""


# --- names and type walking -----------------------------------------------------------------


def essential_name(name: str) -> str:
    """``name`` without its flavor: ``task_struct___v2`` -> ``task_struct`` (libbpf's rule).

    The flavor starts at the LAST ``___`` that has a non-underscore on both sides.
    """
    if "___" not in name:
        return name
    for i in range(len(name) - 5, -1, -1):
        if name[i] != "_" and name[i + 1:i + 4] == "___" and name[i + 4] != "_":
            return name[:i + 1]
    return name


def _skip(t: Type) -> Type:
    try:
        return underlying_type(t)
    except ValueError as exc:
        raise _Invalid(str(exc)) from None


def _size(t: Type) -> int:
    try:
        return sizeof(t)
    except ValueError as exc:
        raise _Invalid(str(exc)) from None


def _kind_compat(a: Type, b: Type) -> bool:
    # One class per BTF kind, except that Enum stands for both ENUM and ENUM64, which
    # CO-RE treats as one kind (libbpf's btf_kind_core_compat).
    return a.__class__ is b.__class__


def _kind_name(t: Type) -> str:
    return t.btf_kind.name.lower()


def _int_offset_zero(a: Type, b: Type) -> bool:
    # Deprecated bitfield-like integers (an INT with a bit offset) never relocate.
    return getattr(a, "offset", 0) == 0 and getattr(b, "offset", 0) == 0


def types_are_compatible(local: Type, target: Type, level: int = MAX_RESOLVE_DEPTH) -> bool:
    """Whether ``target`` may stand for ``local`` (libbpf's bpf_core_types_are_compat).

    Used by type-based relocations and by typed ``__ksym`` externs. The names were already
    matched by the caller; modifiers and typedefs are skipped; structs, unions, enums and
    forward declarations of the same kind are compatible whatever their members; ints of
    any size; pointers and arrays by what they point to or hold; function prototypes
    argument by argument and by their return type.

    Raises:
        ValueError: the types nest deeper than MAX_RESOLVE_DEPTH (a cycle).
    """
    try:
        return _compat(local, target, level)
    except _Invalid as exc:
        raise ValueError(f"CO-RE: {exc}") from None


def _compat(local: Type, target: Type, level: int,
            memo: Optional[dict[tuple[int, int], bool]] = None) -> bool:
    # memo: results of finished comparisons, so crafted prototypes that share parameter
    # types cannot make the walk exponential (libbpf's answer is the same either way).
    if memo is None:
        memo = {}
    key = (id(local), id(target))
    if key in memo:
        return memo[key]
    result = _compat_walk(local, target, level, memo)
    memo[key] = result
    return result


def _compat_walk(local: Type, target: Type, level: int,
                 memo: dict[tuple[int, int], bool]) -> bool:
    if not _kind_compat(local, target):
        return False
    for _ in range(MAX_RESOLVE_DEPTH):
        local, target = _skip(local), _skip(target)
        if not _kind_compat(local, target):
            return False
        if isinstance(local, (Void, Composite, Enum, Fwd)):
            return True
        if isinstance(local, Int):
            return _int_offset_zero(local, target)
        if isinstance(local, Pointer):
            assert isinstance(target, Pointer)
            local, target = local.target, target.target
        elif isinstance(local, Array):
            assert isinstance(target, Array)
            local, target = local.type, target.type
        elif isinstance(local, FuncProto):
            assert isinstance(target, FuncProto)
            if len(local.params) != len(target.params):
                return False
            for lp, tp in zip(local.params, target.params, strict=True):
                if level <= 0:
                    raise _Invalid("function prototypes nest too deep")
                if not _compat(_skip(lp.type), _skip(tp.type), level - 1, memo):
                    return False
            local, target = _skip(local.return_), _skip(target.return_)
        else:
            return False  # libbpf: "unexpected kind relocated"
    raise _Invalid(f"types nest deeper than {MAX_RESOLVE_DEPTH} levels")


def _fields_compat(local: Type, target: Type) -> bool:
    """libbpf's bpf_core_fields_are_compat: may target's member stand for local's?"""
    for _ in range(MAX_RESOLVE_DEPTH):
        local, target = _skip(local), _skip(target)
        if isinstance(local, Composite) and isinstance(target, Composite):
            return True
        if not _kind_compat(local, target):
            return False
        if isinstance(local, (Pointer, Float)):
            return True
        if isinstance(local, (Fwd, Enum)):
            ln, tn = essential_name(local.name), essential_name(target.name)
            return not ln or not tn or ln == tn
        if isinstance(local, Int):
            return _int_offset_zero(local, target)
        if isinstance(local, Array):
            assert isinstance(target, Array)
            local, target = local.type, target.type
            continue
        return False
    raise _Invalid(f"array types nest deeper than {MAX_RESOLVE_DEPTH} levels")


def _names_match(local: str, target: str) -> bool:
    if not target:
        return not local
    return essential_name(local) == essential_name(target)


def types_match(local: Type, target: Type) -> bool:
    """Whether ``target`` matches ``local`` (libbpf's bpf_core_types_match, for
    ``bpf_core_type_matches``): stricter than compatibility; members of structs and unions
    must exist by name and match recursively, ints must agree in size and signedness, arrays
    in length, enums in size and in having every local enumerator's name.

    Raises:
        ValueError: the types nest deeper than MAX_RESOLVE_DEPTH (a cycle).
    """
    try:
        return _match(local, target, False, MAX_RESOLVE_DEPTH)
    except _Invalid as exc:
        raise ValueError(f"CO-RE: {exc}") from None


def _match(local: Type, target: Type, behind_ptr: bool, level: int,
           memo: Optional[dict[tuple[int, int, bool], bool]] = None) -> bool:
    # memo as for _compat: duplicate member names in crafted BTF stay polynomial.
    if memo is None:
        memo = {}
    key = (id(local), id(target), behind_ptr)
    if key in memo:
        return memo[key]
    result = _match_walk(local, target, behind_ptr, level, memo)
    memo[key] = result
    return result


def _match_walk(local: Type, target: Type, behind_ptr: bool, level: int,  # noqa: C901
                memo: dict[tuple[int, int, bool], bool]) -> bool:
    if level <= 0:
        raise _Invalid(f"types nest deeper than {MAX_RESOLVE_DEPTH} levels")
    for _ in range(MAX_RESOLVE_DEPTH):
        local, target = _skip(local), _skip(target)
        if not _names_match(local.name, target.name):
            return False
        if isinstance(local, Void):
            return isinstance(target, Void)
        if isinstance(local, Fwd):
            if isinstance(target, Fwd):
                return local.kind == target.kind
            if not behind_ptr:
                return False
            return ((isinstance(target, Struct) and local.kind == FwdKind.STRUCT)
                    or (isinstance(target, UnionType) and local.kind == FwdKind.UNION))
        if isinstance(local, Enum):
            if not isinstance(target, Enum) or local.size != target.size:
                return False
            if len(local.values) > len(target.values):
                return False
            return all(any(_names_match(lv.name, tv.name) for tv in target.values)
                       for lv in local.values)
        if isinstance(local, Composite):
            if behind_ptr:
                if local.__class__ is target.__class__:
                    return True
                if not isinstance(target, Fwd):
                    return False
                return isinstance(local, UnionType) == (target.kind == FwdKind.UNION)
            if local.__class__ is not target.__class__:
                return False
            assert isinstance(target, Composite)
            if len(local.members) > len(target.members):
                return False
            for lm in local.members:
                if not any(_names_match(lm.name, tm.name)
                           and _match(lm.type, tm.type, behind_ptr, level - 1, memo)
                           for tm in target.members):
                    return False
            return True
        if isinstance(local, Int):
            return (isinstance(target, Int) and local.size == target.size
                    and local.signed == target.signed)
        if isinstance(local, Pointer):
            if not isinstance(target, Pointer):
                return False
            behind_ptr = True
            local, target = local.target, target.target
        elif isinstance(local, Array):
            if not isinstance(target, Array) or local.nelems != target.nelems:
                return False
            local, target = local.type, target.type
        elif isinstance(local, FuncProto):
            if not isinstance(target, FuncProto) or len(local.params) != len(target.params):
                return False
            for lp, tp in zip(local.params, target.params, strict=True):
                if not _match(lp.type, tp.type, behind_ptr, level - 1, memo):
                    return False
            local, target = local.return_, target.return_
        else:
            return False  # libbpf: "unexpected kind relocated"
    raise _Invalid(f"types nest deeper than {MAX_RESOLVE_DEPTH} levels")


# --- access specs -----------------------------------------------------------------------------


@dataclass(slots=True)
class _Acc:
    """A high-level accessor: a named member of ``type`` (a composite), or (name None) an
    array index whose element type is ``type``."""

    type: Type
    idx: int
    name: Optional[str]


@dataclass(slots=True)
class _Path:
    """libbpf's bpf_core_spec: root type, high-level accessors, raw indexes, bit offset."""

    btf: Spec
    root_id: int
    root: Type
    kind: CoreReloKind
    acc: list[_Acc] = field(default_factory=list)
    raw: list[int] = field(default_factory=list)
    bit_offset: int = 0
    steps: int = 0


def _is_flex(prev: _Acc, arr: Array) -> bool:
    # A flexible array: zero elements, and the last member of the enclosing struct.
    if prev.name is None or arr.nelems > 0:
        return False
    t = prev.type
    return isinstance(t, Composite) and prev.idx == len(t.members) - 1


def _parse(btf: Spec, type_id: int, access: str, kind: CoreReloKind) -> _Path:
    """Turn a relocation's type and access string into a spec (libbpf's bpf_core_parse_spec)."""
    try:
        root = btf[type_id]
    except IndexError:
        raise _Invalid(f"type id {type_id} is not in the object's BTF") from None
    path = _Path(btf, type_id, root, kind)
    if not access or access[0] == ":":
        raise _Invalid(f"bad access string {access!r}")
    if kind in _TYPE_KINDS:
        if access != "0":
            raise _Invalid(f"access string {access!r} of a type relocation is not \"0\"")
        return path
    if not _ACCESS.fullmatch(access):
        raise _Invalid(f"bad access string {access!r}")
    path.raw = [int(p) for p in access.rstrip(":").split(":")]
    if len(path.raw) > _MAX_SPEC_LEN:
        raise _Invalid(f"access string {access!r} is longer than {_MAX_SPEC_LEN} accessors")
    t = _skip(root)
    idx = path.raw[0]
    first = _Acc(t, idx, None)
    path.acc.append(first)
    if kind in _ENUM_KINDS:
        if not isinstance(t, Enum) or len(path.raw) > 1 or idx >= len(t.values):
            raise _Invalid(f"access {access!r} is not an enumerator of [{type_id}]")
        first.name = t.values[idx].name
        return path
    if kind not in _FIELD_KINDS:
        raise _Invalid(f"unknown relocation kind {int(kind)}")
    path.bit_offset = idx * _size(t) * 8
    for i, idx in enumerate(path.raw[1:], 1):
        t = _skip(t)
        if isinstance(t, Composite):
            if idx >= len(t.members):
                raise _Invalid(f"member index {idx} (at {i}) past the {len(t.members)} "
                               f"members of {_kind_name(t)} {t.name or '<anon>'}")
            m = t.members[idx]
            path.bit_offset += m.offset
            if m.name:
                path.acc.append(_Acc(t, idx, m.name))
            t = m.type
        elif isinstance(t, Array):
            elem = _skip(t.type)
            if not _is_flex(path.acc[-1], t) and idx >= t.nelems:
                raise _Invalid(f"array index {idx} (at {i}) past {t.nelems} elements")
            path.acc.append(_Acc(elem, idx, None))
            path.bit_offset += idx * _size(elem) * 8
            t = elem
        else:
            raise _Invalid(f"access {access!r} (at {i}) reaches a {_kind_name(t)}, "
                           "not a struct, union or array")
    return path


def _format(path: _Path) -> str:
    """libbpf's bpf_core_format_spec text: ``<byte_off> [7] struct foo.a[1] (0:1:1 @ offset 8)``."""
    root = path.root
    text = (f"<{format_kind(path.kind)}> [{path.root_id}] {_kind_name(root)} "
            f"{root.name or '<anon>'}")
    if path.kind in _TYPE_KINDS:
        return text
    if path.kind in _ENUM_KINDS:
        t = underlying_type(root)
        if isinstance(t, Enum) and path.raw and path.raw[0] < len(t.values):
            v = t.values[path.raw[0]]
            return f"{text}::{v.name} = {_enum_text(t, v.value)}"
        return text
    for i, acc in enumerate(path.acc):
        if acc.name is not None:
            text += f".{acc.name}"
        elif i > 0 or acc.idx > 0:
            text += f"[{acc.idx}]"
    raw = ":".join(str(r) for r in path.raw)
    off = f"{path.bit_offset // 8}.{path.bit_offset % 8}" if path.bit_offset % 8 \
        else f"{path.bit_offset // 8}"
    return f"{text} ({raw} @ offset {off})"


def _enum_text(t: Enum, value: int) -> str:
    # libbpf prints %d/%u of the raw 32-bit value for ENUM, %lld/%llu of the 64 for ENUM64.
    bits = 64 if t.btf_kind == Kind.ENUM64 else 32
    raw = value & ((1 << bits) - 1)
    if t.signed and raw >> (bits - 1):
        raw -= 1 << bits
    return str(raw)


def _enum_value(t: Enum, value: int) -> int:
    # libbpf: an ENUM's 32-bit value is signed (__s32) and sign-extends into the u64
    # result whatever the enum's signedness; an ENUM64's is the raw 64 bits.
    if t.btf_kind == Kind.ENUM64:
        return value & _MASK64
    raw = value & 0xFFFFFFFF
    if raw >> 31:
        raw -= 1 << 32
    return raw & _MASK64


# --- matching a local spec against a candidate ------------------------------------------------


def _match_member(local_acc: _Acc, targ: Type, path: _Path) -> tuple[bool, Type]:
    """Find local_acc's member in target composite ``targ`` (through anonymous members)."""
    targ = _skip(targ)
    if not isinstance(targ, Composite):
        return False, targ
    local_comp = local_acc.type
    assert isinstance(local_comp, Composite)
    local_member = local_comp.members[local_acc.idx]
    for i, m in enumerate(targ.members):
        if len(path.raw) == _MAX_SPEC_LEN:
            raise _Invalid(f"target nests deeper than {_MAX_SPEC_LEN} members")
        path.steps += 1
        if path.steps > _MAX_MEMBER_STEPS:  # crafted anonymous members shared many times
            raise _Invalid(f"more than {_MAX_MEMBER_STEPS} members searched")
        path.bit_offset += m.offset
        path.raw.append(i)
        if not m.name:
            found, nxt = _match_member(local_acc, m.type, path)
            if found:
                return True, nxt
        elif m.name == local_member.name:
            ok = _fields_compat(local_member.type, m.type)
            if ok:
                path.acc.append(_Acc(targ, i, m.name))
            return ok, m.type
        path.bit_offset -= m.offset
        path.raw.pop()
    return False, targ


def _spec_match(local: _Path, btf: Spec, targ_id: int, targ: Type) -> Optional[_Path]:
    """libbpf's bpf_core_spec_match: the target spec, or None when the candidate does not fit."""
    path = _Path(btf, targ_id, targ, local.kind)
    if local.kind in _TYPE_KINDS:
        if local.kind == CoreReloKind.TYPE_MATCHES:
            ok = _match(local.root, targ, False, MAX_RESOLVE_DEPTH)
        else:
            ok = _compat(local.root, targ, MAX_RESOLVE_DEPTH)
        return path if ok else None
    if local.kind in _ENUM_KINDS:
        t = _skip(targ)
        if not isinstance(t, Enum):
            return None
        want = essential_name(local.acc[0].name or "")
        for i, v in enumerate(t.values):
            if essential_name(v.name) == want:
                path.acc.append(_Acc(t, i, v.name))
                path.raw.append(i)
                return path
        return None
    cur: Type = targ
    for i, lacc in enumerate(local.acc):
        t = _skip(cur)
        if lacc.name is not None:
            found, cur = _match_member(lacc, t, path)
            if not found:
                return None
            continue
        if i > 0:
            if not isinstance(t, Array):
                return None
            if not _is_flex(path.acc[-1], t) and lacc.idx >= t.nelems:
                return None
            t = _skip(t.type)
        if len(path.raw) == _MAX_SPEC_LEN:
            raise _Invalid(f"target nests deeper than {_MAX_SPEC_LEN} members")
        path.acc.append(_Acc(t, lacc.idx, None))
        path.raw.append(lacc.idx)
        path.bit_offset += lacc.idx * _size(t) * 8
        cur = t
    return path


# --- values -------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Res:
    orig: int = 0
    new: int = 0
    poison: bool = False
    validate: bool = True
    fail_memsz: bool = False
    orig_sz: int = 0
    new_sz: int = 0
    orig_type: Optional[Type] = None
    new_type: Optional[Type] = None


def _field_value(kind: CoreReloKind, path: Optional[_Path]) -> tuple[int, int, Optional[Type],
                                                                    bool]:
    """(value, field size for a load/store, field type, validate) of a field relocation."""
    if kind == CoreReloKind.FIELD_EXISTS:
        return (1 if path is not None else 0), 0, None, True
    if path is None:
        raise _Poison("field not found")
    acc = path.acc[-1]
    if acc.name is None:  # a[n]: the element itself
        if kind == CoreReloKind.FIELD_BYTE_OFFSET:
            return path.bit_offset // 8, _size(acc.type), acc.type, True
        if kind == CoreReloKind.FIELD_BYTE_SIZE:
            return _size(acc.type), 0, None, True
        raise _Invalid(f"relocation {format_kind(kind)} cannot be applied to an array access")
    comp = acc.type
    assert isinstance(comp, Composite)
    m = comp.members[acc.idx]
    mt = _skip(m.type)
    bit_off = path.bit_offset
    bit_sz = m.bitfield_size
    bitfield = bit_sz > 0
    if bitfield:
        byte_sz = getattr(mt, "size", 0)
        if not isinstance(byte_sz, int) or byte_sz <= 0:
            raise _Invalid(f"bitfield {m.name} of a {_kind_name(mt)}")
        byte_off = bit_off // 8 // byte_sz * byte_sz
        while bit_off + bit_sz - byte_off * 8 > byte_sz * 8:
            if byte_sz >= 8:
                raise _Invalid(f"bitfield {m.name} cannot be read with a 64-bit load")
            byte_sz *= 2
            byte_off = bit_off // 8 // byte_sz * byte_sz
    else:
        byte_sz = _size(mt)
        byte_off = bit_off // 8
        bit_sz = byte_sz * 8
    # Bitfield values are ambiguous (the compiler may have chosen another load), so only
    # signedness and the right shift are checked against the instruction there.
    validate = not bitfield
    if kind == CoreReloKind.FIELD_BYTE_OFFSET:
        if bitfield:
            return byte_off, 0, None, validate
        return byte_off, byte_sz, mt, validate
    if kind == CoreReloKind.FIELD_BYTE_SIZE:
        return byte_sz, 0, None, validate
    if kind == CoreReloKind.FIELD_SIGNED:
        signed = (isinstance(mt, Enum) and mt.signed) or (isinstance(mt, Int) and mt.signed)
        return int(signed), 0, None, True
    if kind == CoreReloKind.FIELD_LSHIFT_U64:  # little-endian hosts only (see spec.py)
        return 64 - (bit_off + bit_sz - byte_off * 8), 0, None, validate
    if kind == CoreReloKind.FIELD_RSHIFT_U64:
        return 64 - bit_sz, 0, None, True
    raise _Invalid(f"unknown relocation kind {int(kind)}")


def _type_value(kind: CoreReloKind, path: Optional[_Path]) -> int:
    if path is None:
        return 0  # type-based relocations give 0 when the type is missing
    if kind == CoreReloKind.TYPE_ID_TARGET:
        return path.root_id
    if kind in (CoreReloKind.TYPE_EXISTS, CoreReloKind.TYPE_MATCHES):
        return 1
    if kind == CoreReloKind.TYPE_SIZE:
        return _size(path.root)
    raise _Invalid(f"unknown relocation kind {int(kind)}")


def _enum_reloc_value(kind: CoreReloKind, path: Optional[_Path]) -> int:
    if kind == CoreReloKind.ENUMVAL_EXISTS:
        return 1 if path is not None else 0
    if path is None:
        raise _Poison("enumerator not found")
    t = path.acc[0].type
    assert isinstance(t, Enum)
    return _enum_value(t, t.values[path.acc[0].idx].value)


def _is_unsigned_int(t: Optional[Type]) -> bool:
    # libbpf compares the whole encoding with BTF_INT_SIGNED: a signed char counts as unsigned.
    return isinstance(t, Int) and t.encoding != IntEncoding.SIGNED


def _calc(local: _Path, targ: Optional[_Path]) -> _Res:
    """libbpf's bpf_core_calc_relo: original and new value of one relocation."""
    res = _Res()
    kind = local.kind
    try:
        if kind in _FIELD_KINDS:
            res.orig, res.orig_sz, res.orig_type, res.validate = _field_value(kind, local)
            res.new, res.new_sz, res.new_type, _ = _field_value(kind, targ)
            if res.orig_sz != res.new_sz:
                ok = ((isinstance(res.orig_type, Pointer) and isinstance(res.new_type, Pointer))
                      or (_is_unsigned_int(res.orig_type) and _is_unsigned_int(res.new_type)))
                res.fail_memsz = not ok
        elif kind in _TYPE_KINDS:
            res.orig = _type_value(kind, local)
            res.new = _type_value(kind, targ)
            res.validate = kind != CoreReloKind.TYPE_ID_TARGET
        else:
            res.orig = _enum_reloc_value(kind, local)
            res.new = _enum_reloc_value(kind, targ)
    except _Poison:
        res.poison = True
    return res


# --- candidates --------------------------------------------------------------------------------

_RAW_KIND_CLASS = {Kind.STRUCT: Struct, Kind.UNION: UnionType, Kind.ENUM: Enum,
                   Kind.ENUM64: Enum}
# Specs do not hash (their equality is structural): keyed by identity, dropped with the spec.
_INDEXES: dict[int, tuple[weakref.ref[Spec], dict[str, list[str]], dict[str, list[int]]]] = {}
_FLAVOR = re.compile(rb"[^_\0]___[^_\0]")


def _flavored(spec: Spec) -> dict[str, list[str]]:
    """The names with a ``___flavor`` among the spec's strings, by essential name."""
    out: dict[str, list[str]] = {}
    tables = [getattr(s, "_strs", None) for s in (spec, spec.base) if s is not None]
    raw = len(getattr(spec, "_data", b"")) > 0
    if not raw or any(not isinstance(t, bytes) for t in tables):  # built: look at the types
        names = {t.name for _, t in spec.own_types() if "___" in t.name}
    else:
        names = set()
        for strs in tables:
            assert isinstance(strs, bytes)
            for m in _FLAVOR.finditer(strs):
                start = strs.rfind(b"\0", 0, m.start()) + 1
                end = strs.find(b"\0", m.end())
                names.add(strs[start:end if end >= 0 else len(strs)].decode(
                    "utf-8", "surrogateescape"))
    for name in sorted(names):
        ess = essential_name(name)
        if ess != name:
            out.setdefault(ess, []).append(name)
    return out


def _candidate_ids(spec: Spec, essential: str) -> list[int]:
    """Ids of the spec's own types whose essential name is ``essential``, in id order.

    Found by exact name (the spec's name lookup, in C when compiled) for ``essential`` and
    for each flavored name of the spec that reduces to it: no type is decoded but those.
    """
    entry = _INDEXES.get(id(spec))
    if entry is None or entry[0]() is not spec:
        key = id(spec)
        entry = (weakref.ref(spec, lambda _: _INDEXES.pop(key, None)), _flavored(spec), {})
        _INDEXES[key] = entry
    _, flavored, found = entry
    ids = found.get(essential)
    if ids is None:
        first = len(spec.base) if spec.base is not None else 1
        ids = sorted({i for name in [essential, *flavored.get(essential, ())]
                      for i in spec._ids_named(name) if i >= first})
        found[essential] = ids
    return ids


@dataclass(slots=True)
class _Cand:
    btf: Spec
    id: int
    type: Type


def _add_cands(local: Type, spec: Spec, out: list[_Cand]) -> None:
    for tid in _candidate_ids(spec, essential_name(local.name)):
        t = spec[tid]
        if _kind_compat(local, t) and t.name:
            out.append(_Cand(spec, tid, t))


def _module_specs(btf_dir: str) -> Iterator[Spec]:
    try:
        names = sorted(n for n in os.listdir(btf_dir) if n != "vmlinux")
    except OSError:
        return
    for name in names:
        try:
            yield kernel_spec(name, btf_dir=btf_dir)
        except (OSError, ValueError):
            continue  # a module unloaded meanwhile, or BTF we cannot read: not a candidate


# --- results -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Relocation:
    """What one CO-RE relocation did.

    ``index`` is its position in the records given (libbpf's ``relo #N``), ``insn`` the
    index (8-byte slot) of its instruction in the instructions given; ``spec`` is libbpf's
    text of the local access (``<byte_off> [7] struct task_struct.pid (0:55 @ offset 2456)``)
    and ``target`` that of the target's ("" when no candidate matched). ``original`` is the
    value the compiler recorded, ``value`` the relocated one (unsigned 64-bit, as libbpf
    computes them). ``poisoned`` relocations changed the instruction into a call of helper
    ``POISON_HELPER``; ``reason`` says why.
    """

    index: int
    insn: int
    kind: CoreReloKind
    type_id: int
    type_name: str
    access: str
    spec: str
    target: str = ""
    target_type_id: int = 0
    target_btf: Optional[Spec] = field(default=None, compare=False, repr=False)
    original: int = 0
    value: int = 0
    poisoned: bool = False
    reason: str = ""
    program: str = ""

    @property
    def message(self) -> str:
        """``program 'p': instruction 12: CO-RE relocation #3 <byte_off> [7] struct foo ...``."""
        what = f"CO-RE relocation #{self.index} {self.spec}"
        text = f"program {self.program!r}: instruction {self.insn}: {what}"
        if self.poisoned:
            text += f" cannot be applied on this kernel ({self.reason})"
        return text

    def moved(self, insn: int) -> Relocation:
        """The same record at another instruction index (after the loader linked functions)."""
        return replace(self, insn=insn)


@dataclass(frozen=True, slots=True)
class Relocated:
    """The relocated copy of the instructions (the type given), and one record per relocation."""

    instructions: Union[Instructions, bytes]
    relocations: list[Relocation]

    @property
    def poisoned(self) -> list[Relocation]:
        """The relocations whose instruction was poisoned."""
        return [r for r in self.relocations if r.poisoned]


# --- the relocator -------------------------------------------------------------------------------


class Relocator:
    """CO-RE relocation of one object's programs against target BTF (libbpf's semantics).

    ``local`` is the object's ``.BTF``. Targets: ``targets`` when given (searched in order,
    all of them); else ``kernel_types`` alone when given; else ``vmlinux`` (default: the
    running kernel's, from ``btf_dir``) and, for a type vmlinux does not have, ``modules``
    (default: every module's split BTF in ``btf_dir``, read when first needed).
    """

    def __init__(self, local: Spec, kernel_types: Optional[Spec] = None, *,
                 targets: Optional[Sequence[Spec]] = None,
                 vmlinux: Optional[Spec] = None, modules: Optional[Sequence[Spec]] = None,
                 btf_dir: str = KERNEL_BTF_DIR) -> None:
        self.local = local
        self._targets: Optional[list[Spec]] = None
        self._main: Optional[Spec] = vmlinux
        self._modules: Optional[list[Spec]] = None if modules is None else list(modules)
        if targets is not None:
            self._targets = list(targets)
        elif kernel_types is not None:
            self._targets = [kernel_types]
        self._btf_dir = btf_dir
        self._cands: dict[int, list[_Cand]] = {}

    def _find_cands(self, local: Type) -> list[_Cand]:
        out: list[_Cand] = []
        if self._targets is not None:
            for spec in self._targets:
                _add_cands(local, spec, out)
            return out
        if self._main is None:
            self._main = kernel_spec(btf_dir=self._btf_dir)
        _add_cands(local, self._main, out)
        if out:
            return out  # vmlinux has candidates: modules are not searched
        if self._modules is None:
            self._modules = list(_module_specs(self._btf_dir))
        for spec in self._modules:
            _add_cands(local, spec, out)
        return out

    def relocate(self, insns: Union[Instructions, Buffer], relos: Iterable[CoreRelo],
                 program: str = "") -> Relocated:
        """Apply ``relos`` (byte offsets into ``insns``) to a copy of ``insns``.

        Raises:
            CORERelocationError: a relocation libbpf would refuse (see the module docstring).
        """
        items: list[Union[Instruction, Label]]
        if isinstance(insns, Instructions):
            items = list(insns)
        else:
            try:
                items = list(Instructions.decode(insns))
            except ValueError as exc:
                raise CORERelocationError(f"program {program!r}: {exc}") from None
        at: dict[int, int] = {}  # slot -> position in items
        slot = 0
        for pos, item in enumerate(items):
            if isinstance(item, Instruction):
                at[slot] = pos
                slot += item.slots
        replaced: dict[int, list[Instruction]] = {}
        records = []
        for n, relo in enumerate(relos):
            records.append(self._one(n, relo, items, at, replaced, program))
        out: list[Union[Instruction, Label]] = []
        for pos, item in enumerate(items):
            out.extend(replaced.get(pos, (item,)))
        if isinstance(insns, Instructions):
            result: Union[Instructions, bytes] = Instructions(out, insns.jited_ksyms)
        else:
            result = b"".join(i.encode() for i in out if isinstance(i, Instruction))
        return Relocated(result, records)

    def _one(self, n: int, relo: CoreRelo, items: list[Union[Instruction, Label]],
             at: dict[int, int], replaced: dict[int, list[Instruction]],
             program: str) -> Relocation:
        insn_idx = relo.insn_off // 8
        try:
            kind = CoreReloKind(relo.kind)
        except ValueError:
            kind = relo.kind
        base = Relocation(n, insn_idx, kind, relo.type_id, "", relo.access,
                          f"[{relo.type_id}] + {relo.access}", program=program)

        def fail(reason: str) -> CORERelocationError:
            return CORERelocationError(f"program {program!r}: instruction {insn_idx}: "
                                       f"CO-RE relocation #{n} {base.spec}: {reason}")

        if relo.insn_off % 8 or insn_idx not in at:
            raise fail(f"instruction offset {relo.insn_off} is not an instruction of "
                       "the program")
        pos = at[insn_idx]
        insn = replaced[pos][0] if pos in replaced else items[pos]
        assert isinstance(insn, Instruction)
        try:
            local = _parse(self.local, relo.type_id, relo.access, kind)
        except _Invalid as exc:
            raise fail(f"cannot parse the access: {exc}") from None
        name = local.root.name
        base = replace(base, type_name=name, spec=_format(local))
        try:
            res, targ, reason = self._resolve(local)
        except _Invalid as exc:
            raise fail(str(exc)) from None
        if targ is not None:
            base = replace(base, target=_format(targ), target_type_id=targ.root_id,
                           target_btf=targ.btf)
        try:
            patched, why = _patch(insn, res)
        except _Invalid as exc:
            raise fail(str(exc)) from None
        if why:
            reason = why
        replaced[pos] = patched
        return replace(base, original=res.orig, value=res.new, poisoned=res.poison or bool(why),
                       reason=reason if (res.poison or why) else "")

    def _resolve(self, local: _Path) -> tuple[_Res, Optional[_Path], str]:
        kind = local.kind
        if kind == CoreReloKind.TYPE_ID_LOCAL:
            return _Res(local.root_id, local.root_id, validate=False), None, ""
        if not local.root.name:
            raise _Invalid("relocations of anonymous types are not supported")
        cands = self._cands.get(local.root_id)
        if cands is None:
            cands = self._cands[local.root_id] = self._find_cands(local.root)
        kept: list[_Cand] = []
        best: Optional[_Path] = None
        res: Optional[_Res] = None
        for cand in cands:
            targ = _spec_match(local, cand.btf, cand.id, cand.type)
            if targ is None:
                continue
            cres = _calc(local, targ)
            if res is None or best is None:
                res, best = cres, targ
            elif targ.bit_offset != best.bit_offset:
                raise _Invalid(f"field offset ambiguity: {targ.bit_offset} != "
                               f"{best.bit_offset} bits ({_format(targ)} or {_format(best)})")
            elif cres.poison != res.poison or cres.new != res.new:
                raise _Invalid("relocation decision ambiguity: "
                               f"{_decision(cres)} != {_decision(res)} "
                               f"({_format(targ)} or {_format(best)})")
            kept.append(cand)
        if kept:
            cands[:] = kept  # libbpf prunes the cached list for later relocations
        if res is None:
            res = _calc(local, None)
            return res, None, _missing(local, bool(cands))
        reason = "load/store of a field whose size changed" if res.fail_memsz else ""
        return res, best, reason


def _decision(res: _Res) -> str:
    return f"{'failure' if res.poison else 'success'} {res.new}"


def _missing(local: _Path, had_cands: bool) -> str:
    root = local.root
    what = f"{_kind_name(root)} {root.name}"
    if not had_cands:
        return f"the target has no {what}"
    if local.kind in _ENUM_KINDS:
        return f"no {what} of the target has enumerator {local.acc[0].name}"
    names = [a.name for a in local.acc if a.name]
    field_text = ".".join(names) if names else "the accessed element"
    return f"no {what} of the target has a compatible {field_text}"


def _patch(insn: Instruction, res: _Res) -> tuple[list[Instruction], str]:
    """libbpf's bpf_core_patch_insn: the instruction(s) that replace ``insn``, and the
    reason when it was poisoned for a load/store size that cannot be adjusted."""
    if res.poison:
        return _poisoned(insn), ""
    cls = insn.cls
    orig, new = res.orig, res.new
    if cls in (0x04, 0x07):  # ALU, ALU64
        if insn.opcode & 0x08:
            raise _Invalid("ALU instruction with a register source cannot be relocated")
        if res.validate and insn.imm & _MASK64 != orig:
            raise _Invalid(f"unexpected ALU/ALU64 value: got {insn.imm & 0xFFFFFFFF}, "
                           f"expected {orig} -> {new}")
        imm = new & 0xFFFFFFFF
        return [replace(insn, imm=imm - (1 << 32) if imm >> 31 else imm)], ""
    if cls in (0x01, 0x02, 0x03):  # LDX, ST, STX
        if res.validate and insn.off & _MASK64 != orig:
            raise _Invalid(f"unexpected LDX/ST/STX value: got {insn.off & 0xFFFF}, "
                           f"expected {orig} -> {new}")
        if new > 0x7FFF:
            raise _Invalid(f"LDX/ST/STX offset too big: {new}")
        if res.fail_memsz:
            return _poisoned(insn), ("the access has another size on the target and is not "
                                     "a pointer or an unsigned integer")
        code = insn.opcode
        if res.new_sz != res.orig_sz:
            if _SIZES[code & 0x18] != res.orig_sz:
                raise _Invalid(f"unexpected LDX/ST/STX memory size: got {_SIZES[code & 0x18]}, "
                               f"expected {res.orig_sz}")
            if res.new_sz not in _SIZE_CODES:
                raise _Invalid(f"invalid new LDX/ST/STX memory size: {res.new_sz}")
            code = (code & ~0x18) | _SIZE_CODES[res.new_sz]
        return [replace(insn, opcode=code, off=new)], ""
    if cls == 0x00:  # LD
        if insn.opcode != _LD_IMM64 or insn.src != 0 or insn.off != 0:
            raise _Invalid("LDIMM64 instruction has an unexpected form")
        if res.validate and insn.imm != orig:
            raise _Invalid(f"unexpected LDIMM64 value: got {insn.imm}, expected {orig} -> {new}")
        return [replace(insn, imm=new & _MASK64)], ""
    raise _Invalid(f"instruction with opcode {insn.opcode:#04x} cannot be relocated")


def _poisoned(insn: Instruction) -> list[Instruction]:
    # Both slots of a ld_imm64, so the verifier does not stop on "unknown opcode 00".
    return [_POISON, _POISON] if insn.opcode == _LD_IMM64 else [_POISON]


def relocate(insns: Union[Instructions, Buffer], relos: Iterable[CoreRelo], local: Spec,
             targets: Sequence[Spec], program: str = "") -> Relocated:
    """Apply ``relos`` to ``insns`` against ``targets`` with a fresh Relocator (see there)."""
    return Relocator(local, targets=targets).relocate(insns, relos, program)


_POISON_LINE = re.compile(r"^(\d+): \(85\) call unknown#195896080\n", re.M)


def explain_verifier_log(log: str, relocations: Mapping[int, Relocation]
                         ) -> tuple[str, list[Relocation]]:
    """Rewrite the verifier's lines about poisoned instructions as libbpf does.

    ``relocations`` maps an instruction index of the loaded program to its relocation.
    Each ``N: (85) call unknown#195896080`` / ``invalid func unknown#195896080`` pair whose
    index has a relocation becomes ``N: <invalid CO-RE relocation>`` / ``failed to resolve
    CO-RE relocation <spec>``. Returns the new log and the relocations found in it.
    """
    found: list[Relocation] = []

    def sub(m: re.Match[str]) -> str:
        relo = relocations.get(int(m.group(1)))
        if relo is None:
            return m.group(0)
        found.append(relo)
        return (f"{m.group(1)}: <invalid CO-RE relocation>\n"
                f"failed to resolve CO-RE relocation {relo.spec}\n")

    text = _POISON_LINE.sub(sub, log)
    if found:
        text = text.replace("invalid func unknown#195896080\n", "", len(found))
    return text, found



# --- the loader's entry point ----------------------------------------------------------------

_RELOCATORS: dict[tuple[int, int], tuple[weakref.ref[Spec], Relocator]] = {}


def _relocator_for(local: Spec, kernel_types: Optional[Spec]) -> Relocator:
    """One Relocator per (object BTF, target), so its candidate cache spans the object's
    programs as libbpf's does; dropped with the object's Spec."""
    key = (id(local), id(kernel_types))
    entry = _RELOCATORS.get(key)
    if entry is not None and entry[0]() is local:
        return entry[1]
    r = Relocator(local, kernel_types)
    _RELOCATORS[key] = (weakref.ref(local, lambda _: _RELOCATORS.pop(key, None)), r)
    return r


def apply(insns: Union[bytes, bytearray], relos: Iterable[tuple[int, CoreRelo]],
          local: Optional[Spec], kernel_types: Optional[Spec] = None, *,
          externs: Optional[Mapping[int, str]] = None, program: str = "",
          kconfig: object = None, kconfig_fd: int = 0, weak: Iterable[str] = (),
          module_fd: Optional[Callable[[Any], int]] = None) -> bytes:
    """CO-RE relocations and extern sites of one linked program, as the loader calls it.

    ``relos``: (instruction index in ``insns``, CoreRelo) pairs; ``externs``: instruction
    index -> extern name. ``.kconfig`` sites load ``kconfig_fd`` at the extern's offset in
    the object's ``.kconfig`` DATASEC; ``weak`` names the weak extern symbols. Returns the
    patched bytes; the relocation records are dropped (use ``Relocator`` to keep them).

    Raises:
        CORERelocationError: a CO-RE relocation libbpf would refuse.
        bpfobj.btf.externs.ExternError: an extern libbpf would refuse.
    """
    out = bytes(insns)
    pairs = list(relos)
    if pairs:
        if local is None:
            raise CORERelocationError(f"program {program!r}: has CO-RE relocations and the "
                                      "object has no BTF")
        moved = [CoreRelo(idx * 8, r.type_id, r.access_str_off, r.kind, r.access)
                 for idx, r in pairs]
        done = _relocator_for(local, kernel_types).relocate(out, moved, program)
        assert isinstance(done.instructions, bytes)
        out = done.instructions
    if externs:
        # a cycle: externs imports core's compatibility rule
        from . import externs as _ext

        if local is None:
            raise _ext.ExternError(f"program {program!r}: uses externs and the object has "
                                   "no BTF")
        found = _ext.find_externs(local, set(weak))
        ksyms = _ext.resolve_ksyms([e for e in found if e.name in set(externs.values())],
                                   vmlinux=kernel_types)
        layout = _ext.datasec_layout(local, found)
        out = _ext.patch_externs(out, externs, found, layout, ksyms, kconfig_fd=kconfig_fd,
                                 module_fd=module_fd)
    return out
