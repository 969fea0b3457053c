"""The BTF type model: one class per BTF kind, with cilium/ebpf's names in snake_case.

Owns ``Type`` and its subclasses (``Void Int Pointer Array Struct Union Enum Fwd Typedef
Volatile Const Restrict Func FuncProto Var Datasec Float DeclTag TypeTag``), their parts
(``Member EnumValue FuncParam VarSecinfo``), the kind and flag enums, ``sizeof`` and
``underlying_type``. Pure Python: imports nothing of bpfobj, so the ELF reader, the C
formatter and the value codec use it without the compiled module.

Meanings of the raw fields are applied here, not left to the reader of the model:

- ``Member.offset`` is in bits and ``Member.bitfield_size`` in bits (0 for a plain member),
  whichever of the two encodings the raw BTF used: with ``kind_flag`` both come from the
  member; without it ``bitfield_size`` is 0 and a legacy bitfield is described by its Int's
  ``offset``/``bits``, kept as read.
- ``Fwd.kind`` says struct or union; ``Enum.signed`` comes from ``kind_flag``; ENUM and
  ENUM64 are both ``Enum`` (``Enum.btf_kind`` keeps which one was read, and the writer emits
  it; for a new Enum: ENUM64 when the size is 8 or a value needs 64 bits).
- References (``Pointer.target``, ``Member.type``, ``FuncProto.return_`` ...) are ``Type``
  objects. A spec read from bytes resolves them on first access (see spec.py), which is
  invisible to users: reading the attribute always gives a ``Type``.

Identity: types compare and hash by identity (``is``), so graphs with cycles (a struct
that points to itself) are safe in sets and dicts. Structural equality is defined on a
whole ``Spec`` (see ``Spec.__eq__``).
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from typing import Any, ClassVar, Optional, Protocol

__all__ = [
    "Kind", "IntEncoding", "FwdKind", "FuncLinkage", "VarLinkage",
    "Type", "Void", "Int", "Pointer", "Array", "Struct", "Union", "Composite", "Member",
    "Enum", "EnumValue", "Fwd", "Typedef", "Volatile", "Const", "Restrict", "Qualifier",
    "Func", "FuncProto", "FuncParam", "Var", "Datasec", "VarSecinfo", "Float", "DeclTag",
    "TypeTag", "sizeof", "underlying_type", "MAX_RESOLVE_DEPTH",
]

#: How many typedefs/qualifiers/arrays ``sizeof`` and ``underlying_type`` follow before
#: calling the chain a cycle (libbpf uses the same bound).
MAX_RESOLVE_DEPTH = 32


class Kind(enum.IntEnum):
    """BTF_KIND_* of include/uapi/linux/btf.h; the names are bpftool's ``kind`` strings."""

    UNKN = 0
    INT = 1
    PTR = 2
    ARRAY = 3
    STRUCT = 4
    UNION = 5
    ENUM = 6
    FWD = 7
    TYPEDEF = 8
    VOLATILE = 9
    CONST = 10
    RESTRICT = 11
    FUNC = 12
    FUNC_PROTO = 13
    VAR = 14
    DATASEC = 15
    FLOAT = 16
    DECL_TAG = 17
    TYPE_TAG = 18
    ENUM64 = 19


class IntEncoding(enum.IntFlag):
    """BTF_INT_SIGNED / BTF_INT_CHAR / BTF_INT_BOOL (cilium's Signed, Char, Bool)."""

    UNSIGNED = 0
    SIGNED = 1
    CHAR = 2
    BOOL = 4


class FwdKind(enum.IntEnum):
    """What a ``Fwd`` declares (its ``kind_flag``)."""

    STRUCT = 0
    UNION = 1


class FuncLinkage(enum.IntEnum):
    """BTF_FUNC_STATIC / GLOBAL / EXTERN."""

    STATIC = 0
    GLOBAL = 1
    EXTERN = 2


class VarLinkage(enum.IntEnum):
    """BTF_VAR_STATIC / GLOBAL_ALLOCATED / GLOBAL_EXTERN."""

    STATIC = 0
    GLOBAL = 1
    EXTERN = 2


class _Resolver(Protocol):
    def _resolve(self, type_id: int) -> Type: ...


def _ref(slot: str, what: str) -> Any:
    """A property over ``slot`` that turns a stored type id into its ``Type`` on first read.

    A reader stores the raw id (an ``int``) and sets ``_src``; everybody else stores Types.
    """

    def get(self: Any) -> Type:
        value = getattr(self, slot)
        if value.__class__ is int:
            value = self._src._resolve(value)
            setattr(self, slot, value)
        return value  # type: ignore[no-any-return]

    def put(self: Any, value: Type) -> None:
        if not isinstance(value, Type):
            raise TypeError(f"{type(self).__name__}.{what} must be a btf.Type, "
                            f"not {type(value).__name__}")
        setattr(self, slot, value)

    return property(get, put, doc=f"The referenced type ({what}).")


def _short(t: object) -> str:
    """``Struct('task_struct')`` or ``Pointer()``: a reference shown without following it."""
    name = getattr(t, "name", "")
    return f"{type(t).__name__}({name!r})" if name else f"{type(t).__name__}()"


class _Node:
    """Base of types and their parts: slots, identity equality, ``_src`` for lazy refs."""

    __slots__ = ("_src",)
    _src: Optional[_Resolver]
    _fields: ClassVar[tuple[str, ...]] = ()
    _refs: ClassVar[frozenset[str]] = frozenset()

    def _field_reprs(self) -> Iterator[str]:
        for f in self._fields:
            value = getattr(self, f)
            if f in self._refs:
                text = _short(value)
            elif isinstance(value, list):
                text = f"[{len(value)}]" if isinstance(self, Type) else repr(value)
            elif isinstance(value, enum.Enum):
                text = str(value.name)
            else:
                text = repr(value)
            yield f"{f}={text}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(self._field_reprs())})"


class Type(_Node):
    """A BTF type. ``btf_kind`` is its ``Kind``; ``name`` is "" when anonymous.

    (``btf_kind``, not ``kind``: ``Fwd.kind`` is the FwdKind, as cilium names it.)
    """

    __slots__ = ("name",)
    btf_kind: ClassVar[Kind] = Kind.UNKN  # Enum overrides this with a property
    name: str


class Void(Type):
    """Type id 0: ``void``. Each spec has its own; ``spec[0]`` is it."""

    __slots__ = ()
    btf_kind = Kind.UNKN

    def __init__(self) -> None:
        self._src = None
        self.name = ""


class Int(Type):
    """An integer: ``size`` bytes, ``encoding`` flags; ``offset``/``bits`` as in the raw type.

    ``bits`` defaults to ``size * 8`` and ``offset`` to 0 (what compilers emit); other values
    are the legacy bitfield encoding and are kept as read.
    """

    __slots__ = ("size", "encoding", "offset", "bits")
    btf_kind = Kind.INT
    _fields = ("name", "size", "encoding", "offset", "bits")

    def __init__(self, name: str, size: int, encoding: IntEncoding = IntEncoding.UNSIGNED,
                 offset: int = 0, bits: Optional[int] = None) -> None:
        self._src = None
        self.name = name
        self.size = size
        self.encoding = IntEncoding(encoding)
        self.offset = offset
        self.bits = size * 8 if bits is None else bits

    @property
    def signed(self) -> bool:
        """Whether BTF_INT_SIGNED is set."""
        return bool(self.encoding & IntEncoding.SIGNED)


class Pointer(Type):
    """A pointer to ``target``."""

    __slots__ = ("_target",)
    btf_kind = Kind.PTR
    _fields = ("target",)
    _refs = frozenset({"target"})
    target = _ref("_target", "target")

    def __init__(self, target: Type) -> None:
        self._src = None
        self.name = ""
        self.target = target


class Array(Type):
    """``nelems`` elements of ``type``, indexed by ``index`` (an Int)."""

    __slots__ = ("_type", "_index", "nelems")
    btf_kind = Kind.ARRAY
    _fields = ("type", "index", "nelems")
    _refs = frozenset({"type", "index"})
    type = _ref("_type", "type")
    index = _ref("_index", "index")

    def __init__(self, type: Type, index: Type, nelems: int) -> None:
        self._src = None
        self.name = ""
        self.type = type
        self.index = index
        self.nelems = nelems


class Member(_Node):
    """A struct or union member: ``offset`` in bits, ``bitfield_size`` in bits (0: none)."""

    __slots__ = ("name", "_type", "offset", "bitfield_size")
    _fields = ("name", "type", "offset", "bitfield_size")
    _refs = frozenset({"type"})
    type = _ref("_type", "type")

    def __init__(self, name: str, type: Type, offset: int = 0, bitfield_size: int = 0) -> None:
        self._src = None
        self.name = name
        self.type = type
        self.offset = offset
        self.bitfield_size = bitfield_size


class Composite(Type):
    """Struct or Union: ``size`` bytes and ``members``."""

    __slots__ = ("size", "members")
    _fields = ("name", "size", "members")
    size: int
    members: list[Member]

    def __init__(self, name: str, size: int, members: Optional[list[Member]] = None) -> None:
        self._src = None
        self.name = name
        self.size = size
        self.members = [] if members is None else members


class Struct(Composite):
    """A struct."""

    __slots__ = ()
    btf_kind = Kind.STRUCT


class Union(Composite):
    """A union."""

    __slots__ = ()
    btf_kind = Kind.UNION


class EnumValue(_Node):
    """One enumerator: ``value`` is a Python int, negative only for a signed enum."""

    __slots__ = ("name", "value")
    _fields = ("name", "value")

    def __init__(self, name: str, value: int) -> None:
        self._src = None
        self.name = name
        self.value = value


class Enum(Type):
    """An enum of ``size`` bytes (BTF_KIND_ENUM or ENUM64); ``signed`` from kind_flag.

    ``btf_kind`` is the kind read from raw BTF, which the writer keeps (clang without ENUM64
    support emits 8-byte enums as ENUM); for an Enum made in Python (``btf_kind=None``) it is
    ENUM64 when the size is 8 or a value needs more than 32 bits, else ENUM.
    """

    __slots__ = ("size", "signed", "values", "_kind")
    _fields = ("name", "size", "signed", "values", "btf_kind")

    def __init__(self, name: str, size: int = 4, signed: bool = False,
                 values: Optional[list[EnumValue]] = None,
                 btf_kind: Optional[Kind] = None) -> None:
        self._src = None
        self.name = name
        self.size = size
        self.signed = signed
        self.values = [] if values is None else values
        self._kind = btf_kind

    @property
    def btf_kind(self) -> Kind:
        """ENUM or ENUM64: as read, else ENUM64 for 8 bytes or values past 32 bits."""
        if self._kind is not None:
            return self._kind
        if self.size == 8:
            return Kind.ENUM64
        lo, hi = (-(1 << 31), 1 << 31) if self.signed else (0, 1 << 32)
        for v in self.values:
            if not lo <= v.value < hi:
                return Kind.ENUM64
        return Kind.ENUM

    @btf_kind.setter
    def btf_kind(self, kind: Optional[Kind]) -> None:
        if kind not in (None, Kind.ENUM, Kind.ENUM64):
            raise ValueError(f"Enum.btf_kind must be ENUM, ENUM64 or None, not {kind!r}")
        self._kind = kind


class Fwd(Type):
    """A forward declaration of a struct or union (``kind``: FwdKind)."""

    __slots__ = ("kind",)
    btf_kind = Kind.FWD
    _fields = ("name", "kind")

    def __init__(self, name: str, kind: FwdKind = FwdKind.STRUCT) -> None:
        self._src = None
        self.name = name
        self.kind = FwdKind(kind)


class Typedef(Type):
    """``typedef type name``."""

    __slots__ = ("_type",)
    btf_kind = Kind.TYPEDEF
    _fields = ("name", "type")
    _refs = frozenset({"type"})
    type = _ref("_type", "type")

    def __init__(self, name: str, type: Type) -> None:
        self._src = None
        self.name = name
        self.type = type


class Qualifier(Type):
    """Volatile, Const or Restrict of ``type``."""

    __slots__ = ("_type",)
    _fields = ("type",)
    _refs = frozenset({"type"})
    type = _ref("_type", "type")

    def __init__(self, type: Type) -> None:
        self._src = None
        self.name = ""
        self.type = type


class Volatile(Qualifier):
    """``volatile type``."""

    __slots__ = ()
    btf_kind = Kind.VOLATILE


class Const(Qualifier):
    """``const type``."""

    __slots__ = ()
    btf_kind = Kind.CONST


class Restrict(Qualifier):
    """``restrict type``."""

    __slots__ = ()
    btf_kind = Kind.RESTRICT


class Func(Type):
    """A function: ``type`` is its FuncProto, ``linkage`` a FuncLinkage."""

    __slots__ = ("_type", "linkage")
    btf_kind = Kind.FUNC
    _fields = ("name", "type", "linkage")
    _refs = frozenset({"type"})
    type = _ref("_type", "type")

    def __init__(self, name: str, type: Type,
                 linkage: FuncLinkage = FuncLinkage.STATIC) -> None:
        self._src = None
        self.name = name
        self.type = type
        self.linkage = FuncLinkage(linkage)


class FuncParam(_Node):
    """A parameter of a FuncProto. A variadic prototype ends with ``FuncParam("", Void())``."""

    __slots__ = ("name", "_type")
    _fields = ("name", "type")
    _refs = frozenset({"type"})
    type = _ref("_type", "type")

    def __init__(self, name: str, type: Type) -> None:
        self._src = None
        self.name = name
        self.type = type


class FuncProto(Type):
    """A function prototype: ``return_`` (Void for void) and ``params``."""

    __slots__ = ("_return", "params")
    btf_kind = Kind.FUNC_PROTO
    _fields = ("return_", "params")
    _refs = frozenset({"return_"})
    return_ = _ref("_return", "return_")

    def __init__(self, return_: Type, params: Optional[list[FuncParam]] = None) -> None:
        self._src = None
        self.name = ""
        self.return_ = return_
        self.params = [] if params is None else params


class Var(Type):
    """A global variable: ``type`` and ``linkage`` (VarLinkage)."""

    __slots__ = ("_type", "linkage")
    btf_kind = Kind.VAR
    _fields = ("name", "type", "linkage")
    _refs = frozenset({"type"})
    type = _ref("_type", "type")

    def __init__(self, name: str, type: Type, linkage: VarLinkage = VarLinkage.STATIC) -> None:
        self._src = None
        self.name = name
        self.type = type
        self.linkage = VarLinkage(linkage)


class VarSecinfo(_Node):
    """A variable in a Datasec: ``type`` (usually a Var), ``offset`` and ``size`` in bytes."""

    __slots__ = ("_type", "offset", "size")
    _fields = ("type", "offset", "size")
    _refs = frozenset({"type"})
    type = _ref("_type", "type")

    def __init__(self, type: Type, offset: int, size: int) -> None:
        self._src = None
        self.type = type
        self.offset = offset
        self.size = size


class Datasec(Type):
    """A data section (``.data``, ``.bss`` ...) of ``size`` bytes holding ``vars``."""

    __slots__ = ("size", "vars")
    btf_kind = Kind.DATASEC
    _fields = ("name", "size", "vars")

    def __init__(self, name: str, size: int = 0,
                 vars: Optional[list[VarSecinfo]] = None) -> None:
        self._src = None
        self.name = name
        self.size = size
        self.vars = [] if vars is None else vars


class Float(Type):
    """A floating point type of ``size`` bytes."""

    __slots__ = ("size",)
    btf_kind = Kind.FLOAT
    _fields = ("name", "size")

    def __init__(self, name: str, size: int) -> None:
        self._src = None
        self.name = name
        self.size = size


class DeclTag(Type):
    """``__attribute__((btf_decl_tag(name)))`` on ``type``, or on its member/parameter
    ``index`` (-1: the whole type). ``attribute`` is the raw kind_flag (the tag is a plain
    ``__attribute__`` rather than a btf_decl_tag; Linux 6.14 and later)."""

    __slots__ = ("_type", "index", "attribute")
    btf_kind = Kind.DECL_TAG
    _fields = ("name", "type", "index", "attribute")
    _refs = frozenset({"type"})
    type = _ref("_type", "type")

    def __init__(self, type: Type, index: int, name: str, attribute: bool = False) -> None:
        self._src = None
        self.name = name
        self.type = type
        self.index = index
        self.attribute = attribute


class TypeTag(Type):
    """``__attribute__((btf_type_tag(name)))`` on ``type``; ``attribute`` as for DeclTag."""

    __slots__ = ("_type", "attribute")
    btf_kind = Kind.TYPE_TAG
    _fields = ("name", "type", "attribute")
    _refs = frozenset({"type"})
    type = _ref("_type", "type")

    def __init__(self, type: Type, name: str, attribute: bool = False) -> None:
        self._src = None
        self.name = name
        self.type = type
        self.attribute = attribute


_SKIPPED = (Typedef, Qualifier, TypeTag)


def underlying_type(t: Type) -> Type:
    """Follow typedefs, qualifiers and type tags to the type they name.

    Raises:
        ValueError: the chain is longer than MAX_RESOLVE_DEPTH (a cycle).
    """
    for _ in range(MAX_RESOLVE_DEPTH):
        if not isinstance(t, _SKIPPED):
            return t
        t = t.type
    raise ValueError(f"{_short(t)}: more than {MAX_RESOLVE_DEPTH} typedefs/qualifiers "
                     "(a reference cycle?)")


def sizeof(t: Type) -> int:
    """The size in bytes of a value of type ``t`` (C's ``sizeof``).

    Raises:
        ValueError: ``t`` has no size (void, a function, a forward declaration, a tag), or
            the chain of references is a cycle.
    """
    n = 1
    for _ in range(MAX_RESOLVE_DEPTH):
        if isinstance(t, (Int, Enum, Float, Composite, Datasec)):
            return n * t.size
        if isinstance(t, Pointer):
            return n * 8
        if isinstance(t, Array):
            n *= t.nelems
            t = t.type
        elif isinstance(t, (Typedef, Qualifier, TypeTag, Var)):
            t = t.type
        else:
            raise ValueError(f"sizeof {_short(t)}: {t.btf_kind.name} has no size")
    raise ValueError(f"sizeof {_short(t)}: more than {MAX_RESOLVE_DEPTH} levels "
                     "(a reference cycle?)")
