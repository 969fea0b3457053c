"""BTF as ``bpftool btf dump`` prints it: the raw text form and the JSON form (``-j``).

Owns ``dump_json(spec)`` and ``dump_raw(spec)``, used by ``bpfobj btf dump``. Pure Python;
imports ``types`` and ``spec``.

The JSON equals ``bpftool -j btf dump`` key for key, with one deliberate difference:
bpftool 7.1 prints the values of an unsigned 4-byte ENUM that are >= 2**31 sign-extended
to 64 bits (``X86_PF_RMP`` as 18446744071562067968); we print the value (2147483648).
For split BTF (a module), only the spec's own types are listed, as bpftool does.
"""

from __future__ import annotations

from typing import Any

from .spec import Spec, gc_paused
from .types import (
    Array,
    Composite,
    Datasec,
    DeclTag,
    Enum,
    Float,
    Func,
    FuncLinkage,
    FuncProto,
    Fwd,
    Int,
    IntEncoding,
    Kind,
    Pointer,
    Qualifier,
    Type,
    Typedef,
    TypeTag,
    Var,
    VarLinkage,
)

__all__ = ["dump_json", "dump_raw", "type_json"]

_FUNC_LINKAGE = {FuncLinkage.STATIC: "static", FuncLinkage.GLOBAL: "global",
                 FuncLinkage.EXTERN: "extern"}
_VAR_LINKAGE = {VarLinkage.STATIC: "static", VarLinkage.GLOBAL: "global",
                VarLinkage.EXTERN: "extern"}


def _int_encoding(enc: IntEncoding) -> str:
    # One of SIGNED/CHAR/BOOL as bpftool names them, "(none)" for unsigned.
    if enc & IntEncoding.SIGNED:
        return "SIGNED"
    if enc & IntEncoding.CHAR:
        return "CHAR"
    if enc & IntEncoding.BOOL:
        return "BOOL"
    return "(none)"


def _name(s: str) -> str:
    return s or "(anon)"


def _rid(spec: Spec, node: Any, slot: str) -> int:
    """The type id a node refers to, without decoding the target when it is still an id."""
    value = getattr(node, slot)
    return value if value.__class__ is int else spec.type_id(value)


def type_json(spec: Spec, type_id: int, t: Type) -> dict[str, Any]:
    """One type as bpftool's JSON object (``id``, ``kind``, ``name``, then its fields)."""
    kind = t.btf_kind
    d: dict[str, Any] = {"id": type_id, "kind": kind.name, "name": _name(t.name)}
    if isinstance(t, Int):
        d.update(size=t.size, bits_offset=t.offset, nr_bits=t.bits,
                 encoding=_int_encoding(t.encoding))
    elif isinstance(t, Pointer):
        d["type_id"] = _rid(spec, t, "_target")
    elif isinstance(t, Array):
        d.update(type_id=_rid(spec, t, "_type"), index_type_id=_rid(spec, t, "_index"),
                 nr_elems=t.nelems)
    elif isinstance(t, Composite):
        members = []
        for m in t.members:
            md: dict[str, Any] = {"name": _name(m.name), "type_id": _rid(spec, m, "_type"),
                                  "bits_offset": m.offset}
            if m.bitfield_size:
                md["bitfield_size"] = m.bitfield_size
            members.append(md)
        d.update(size=t.size, vlen=len(t.members), members=members)
    elif isinstance(t, Enum):
        d.update(encoding="SIGNED" if t.signed else "UNSIGNED", size=t.size,
                 vlen=len(t.values),
                 values=[{"name": _name(v.name), "val": v.value} for v in t.values])
    elif isinstance(t, Fwd):
        d["fwd_kind"] = "union" if t.kind else "struct"
    elif isinstance(t, (Typedef, Qualifier, TypeTag)):
        d["type_id"] = _rid(spec, t, "_type")
    elif isinstance(t, Func):
        d.update(type_id=_rid(spec, t, "_type"), linkage=_FUNC_LINKAGE[t.linkage])
    elif isinstance(t, FuncProto):
        d.update(ret_type_id=_rid(spec, t, "_return"), vlen=len(t.params),
                 params=[{"name": _name(p.name), "type_id": _rid(spec, p, "_type")}
                         for p in t.params])
    elif isinstance(t, Var):
        d.update(type_id=_rid(spec, t, "_type"), linkage=_VAR_LINKAGE[t.linkage])
    elif isinstance(t, Datasec):
        d.update(size=t.size, vlen=len(t.vars),
                 vars=[{"type_id": _rid(spec, v, "_type"), "offset": v.offset, "size": v.size}
                       for v in t.vars])
    elif isinstance(t, Float):
        d["size"] = t.size
    elif isinstance(t, DeclTag):
        d.update(type_id=_rid(spec, t, "_type"), component_idx=t.index)
    return d


def dump_json(spec: Spec) -> dict[str, Any]:
    """``{"types": [...]}`` as ``bpftool -j btf dump`` prints it."""
    with gc_paused():  # a dict per type, all kept: collections would find nothing
        return {"types": [type_json(spec, i, t) for i, t in spec.own_types()]}


def _raw_lines(spec: Spec, type_id: int, t: Type) -> list[str]:
    d = type_json(spec, type_id, t)
    head = f"[{type_id}] {d['kind']} '{d['name']}'"
    kind = t.btf_kind
    if isinstance(t, Int):
        return [f"{head} size={t.size} bits_offset={t.offset} nr_bits={t.bits} "
                f"encoding={d['encoding']}"]
    if isinstance(t, Array):
        return [f"{head} type_id={d['type_id']} index_type_id={d['index_type_id']} "
                f"nr_elems={t.nelems}"]
    if isinstance(t, Composite):
        lines = [f"{head} size={t.size} vlen={d['vlen']}"]
        for m in d["members"]:
            bf = f" bitfield_size={m['bitfield_size']}" if "bitfield_size" in m else ""
            lines.append(f"\t'{m['name']}' type_id={m['type_id']} "
                         f"bits_offset={m['bits_offset']}{bf}")
        return lines
    if isinstance(t, Enum):
        lines = [f"{head} encoding={d['encoding']} size={t.size} vlen={d['vlen']}"]
        suffix = ("LL" if t.signed else "ULL") if kind == Kind.ENUM64 else ""
        lines.extend(f"\t'{_name(v.name)}' val={v.value}{suffix}" for v in t.values)
        return lines
    if isinstance(t, Fwd):
        return [f"{head} fwd_kind={d['fwd_kind']}"]
    if isinstance(t, Func):
        return [f"{head} type_id={d['type_id']} linkage={d['linkage']}"]
    if isinstance(t, FuncProto):
        lines = [f"{head} ret_type_id={d['ret_type_id']} vlen={d['vlen']}"]
        lines.extend(f"\t'{p['name']}' type_id={p['type_id']}" for p in d["params"])
        return lines
    if isinstance(t, Var):
        return [f"{head} type_id={d['type_id']}, linkage={d['linkage']}"]
    if isinstance(t, Datasec):
        lines = [f"{head} size={t.size} vlen={d['vlen']}"]
        for v, vd in zip(t.vars, d["vars"], strict=True):
            target = v.type
            lines.append(f"\ttype_id={vd['type_id']} offset={vd['offset']} size={vd['size']} "
                         f"({target.btf_kind.name} '{_name(target.name)}')")
        return lines
    if isinstance(t, Float):
        return [f"{head} size={t.size}"]
    if isinstance(t, DeclTag):
        return [f"{head} type_id={d['type_id']} component_idx={t.index}"]
    return [f"{head} type_id={d['type_id']}"]  # PTR, TYPEDEF, qualifiers, TYPE_TAG


def dump_raw(spec: Spec) -> str:
    """The text of ``bpftool btf dump`` (format raw), ending with a newline."""
    lines: list[str] = []
    for i, t in spec.own_types():
        lines.extend(_raw_lines(spec, i, t))
    return "\n".join(lines) + "\n" if lines else ""
