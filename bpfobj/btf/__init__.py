"""BTF: the kernel handle (``BTF``), the type model, its reader and writer, ``.BTF.ext``.

Owns the ``bpfobj.btf`` namespace: ``types`` (the model), ``spec`` (the reader, ``Spec``
and ``kernel_spec``), ``marshal`` (the writer), ``ext`` (.BTF.ext), ``handle`` (``BTF``,
the kernel object). Imports the layers above it only (``_internal``, ``_object``, ``errors``).
"""

from __future__ import annotations

from .codec import decode, encode
from .core import CORERelocationError, Relocator
from .handle import BTF, BTFInfo
from .spec import Spec, kernel_spec
from .types import (
    Array,
    Composite,
    Const,
    Datasec,
    DeclTag,
    Enum,
    EnumValue,
    Float,
    Func,
    FuncLinkage,
    FuncParam,
    FuncProto,
    Fwd,
    FwdKind,
    Int,
    IntEncoding,
    Kind,
    Member,
    Pointer,
    Qualifier,
    Restrict,
    Struct,
    Type,
    Typedef,
    TypeTag,
    Union,
    Var,
    VarLinkage,
    VarSecinfo,
    Void,
    Volatile,
    sizeof,
    underlying_type,
)

__all__ = [
    "BTF", "BTFInfo", "Spec", "kernel_spec",
    "Type", "Void", "Int", "Pointer", "Array", "Struct", "Union", "Composite", "Member",
    "Enum", "EnumValue", "Fwd", "Typedef", "Volatile", "Const", "Restrict", "Qualifier",
    "Func", "FuncProto", "FuncParam", "Var", "Datasec", "VarSecinfo", "Float", "DeclTag",
    "TypeTag", "Kind", "IntEncoding", "FwdKind", "FuncLinkage", "VarLinkage",
    "sizeof", "underlying_type", "decode", "encode", "Relocator", "CORERelocationError",
]
