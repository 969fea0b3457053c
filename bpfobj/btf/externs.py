"""Externs of an ELF object: ``.kconfig`` values and ``__ksym`` symbols, as libbpf resolves them.

Owns the BTF side of externs: finding them in the object's BTF (the ``.kconfig`` and
``.ksyms`` DATASECs), typing ``.kconfig`` externs and laying them out, filling their values
from the running kernel (through ``_internal.kconfig``), resolving ``__ksym`` externs
against kernel BTF (typed variables and functions) or ``/proc/kallsyms`` (untyped), and
patching the instructions that use them. Imports ``types``, ``spec``, ``core`` (the
compatibility rule), ``_internal.kconfig`` and ``bpfobj.asm``; kallsyms is read through
``bpfobj._internal.linux.kernel_symbol_addresses`` (the one kallsyms reader)
unless the caller passes its own reader.

API (used by the Collection loader)::

    ext = find_externs(local, weak={"CONFIG_X", ...})   # weak: names of STB_WEAK symbols
        # -> list[Extern] in libbpf's order: .kconfig by alignment (largest first), then
        #    size, then name; then .ksyms by name (a kfunc's poison number is its index)
    layout = kconfig_layout(ext)    # KconfigLayout: entries (name, kind, size, offset ...)
    layout.size, layout.offsets     #   and the .kconfig map's value size (libbpf's layout)
    data = kconfig_data(layout, config=None, release=None)   # bytes of the .kconfig value
    ksyms = resolve_ksyms(ext, vmlinux=None, modules=None, kallsyms=None)  # name -> Ksym
    insns = patch_externs(insns, sites, ext, layout, ksyms, kconfig_fd=fd)
        # sites: {instruction index: extern name} of one linked program

Rules, all libbpf's (tools/lib/bpf/libbpf.c):

- ``.kconfig`` types: a 1-byte bool; a char; an int of 1, 2, 4 or 8 bytes; ``enum
  libbpf_tristate`` (4 bytes, or an ENUM64 of that name); a char array. Anything else is
  refused. ``LINUX_KERNEL_VERSION`` comes from the release (``_internal.kconfig``),
  ``LINUX_HAS_BPF_COOKIE`` is 1 from Linux 5.15 (libbpf probes the helper), and
  ``LINUX_HAS_SYSCALL_WRAPPER`` is 1 when kallsyms has ``__x64_sys_bpf`` (libbpf creates a
  kprobe there to tell, so where kprobes cannot be made libbpf says 0); other ``LINUX_``
  names are refused unless weak (then 0). ``CONFIG_*`` values come from the kernel's config
  (``_internal.kconfig.read_config``), which must exist when the object has any. An extern
  without a value is 0 when weak and an error otherwise.
- ``__ksym`` variables with a type (``extern const struct rq runqueues __ksym``) resolve to
  the BTF id of the VAR of that name in vmlinux, else in a module's BTF, whose type must be
  compatible (``core.types_are_compatible``); the ld_imm64 becomes BPF_PSEUDO_BTF_ID with the
  id (and the module BTF's fd in the second half). Untyped ones (``extern const void x
  __ksym``) take the address from kallsyms (two different addresses for one name is an
  error). Functions (kfuncs) resolve to the FUNC of their essential name (``bpf_foo___v2``
  -> ``bpf_foo``) with a compatible prototype; the call becomes BPF_PSEUDO_KFUNC_CALL.
  A weak extern that does not resolve is 0 (variables) or a call poisoned as
  ``2002000000 + its extern index`` (functions); a strong one is an error.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Optional, Union

from bpfobj._internal import kconfig as _kconfig
from bpfobj._internal import linux
from bpfobj._internal.kconfig import KcfgKind

from .core import essential_name, types_are_compatible
from .spec import Spec, kernel_spec
from .types import (
    Array,
    Composite,
    Datasec,
    Enum,
    Float,
    Func,
    Int,
    IntEncoding,
    Kind,
    Pointer,
    Type,
    Var,
    Void,
    sizeof,
    underlying_type,
)

__all__ = ["Extern", "KconfigEntry", "KconfigLayout", "Ksym", "find_externs", "kconfig_kind",
           "kconfig_layout", "kconfig_data", "resolve_ksyms", "patch_externs",
           "POISON_KFUNC_BASE", "ExternError"]

#: libbpf's POISON_CALL_KFUNC_BASE: an unresolved weak kfunc call gets this plus its index.
POISON_KFUNC_BASE = 2002000000
_PSEUDO_MAP_VALUE, _PSEUDO_BTF_ID, _PSEUDO_KFUNC_CALL = 2, 3, 2
_LD_IMM64, _CALL = 0x18, 0x85
_SLOT = struct.Struct("<BBhi")


class ExternError(ValueError):
    """An extern that libbpf would refuse to resolve (the message names it)."""


@dataclass(frozen=True, slots=True)
class Extern:
    """One extern of the object: ``type`` is its BTF Var (a variable) or Func (a kfunc)."""

    name: str
    section: str
    type: Type
    weak: bool = False

    @property
    def is_func(self) -> bool:
        return isinstance(self.type, Func)


def _var_type(e: Extern) -> Type:
    t = e.type
    assert isinstance(t, (Var, Func))
    ref: Type = t.type
    return ref


def _align(t: Type) -> int:
    """libbpf's btf__align_of."""
    for _ in range(32):
        t = underlying_type(t)
        if isinstance(t, (Int, Enum, Float)):
            return max(1, min(8, t.size))
        if isinstance(t, Pointer):
            return 8
        if isinstance(t, Array):
            t = t.type
            continue
        if isinstance(t, Composite):
            return max((_align(m.type) for m in t.members), default=1)
        return 1
    return 1


def kconfig_kind(t: Type) -> tuple[KcfgKind, bool]:
    """libbpf's find_kcfg_type: what a ``.kconfig`` extern of type ``t`` holds, and signedness."""
    t = underlying_type(t)
    if isinstance(t, Int):
        if t.encoding & IntEncoding.BOOL:
            return (KcfgKind.BOOL if t.size == 1 else KcfgKind.UNKNOWN), False
        signed = bool(t.encoding & IntEncoding.SIGNED)
        if t.size == 1:
            return KcfgKind.CHAR, signed
        if t.size not in (2, 4, 8):
            return KcfgKind.UNKNOWN, signed
        return KcfgKind.INT, signed
    if isinstance(t, Enum):
        if t.name != "libbpf_tristate" or (t.btf_kind == Kind.ENUM and t.size != 4):
            return KcfgKind.UNKNOWN, False
        return KcfgKind.TRISTATE, False
    if isinstance(t, Array):
        if t.nelems == 0 or kconfig_kind(t.type)[0] is not KcfgKind.CHAR:
            return KcfgKind.UNKNOWN, False
        return KcfgKind.CHAR_ARR, False
    return KcfgKind.UNKNOWN, False


def find_externs(local: Spec, weak: Collection[str] = ()) -> list[Extern]:
    """The externs in the object's ``.kconfig`` and ``.ksyms`` DATASECs, in libbpf's order.

    Raises:
        ExternError: an extern of ``.kconfig`` whose type libbpf does not support, or a
            function in ``.kconfig``.
    """
    kcfg: list[tuple[int, int, str, Extern]] = []
    ksym: list[tuple[str, Extern]] = []
    for _, t in local.own_types():
        if not isinstance(t, Datasec) or t.name not in (".kconfig", ".ksyms"):
            continue
        for vs in t.vars:
            v = vs.type
            if not isinstance(v, (Var, Func)) or not v.name:
                continue
            e = Extern(v.name, t.name, v, v.name in weak)
            if t.name == ".kconfig":
                if isinstance(v, Func):
                    raise ExternError(f"extern (kcfg) {v.name}: a function cannot be a "
                                      "kconfig extern")
                if kconfig_kind(v.type)[0] is KcfgKind.UNKNOWN:
                    raise ExternError(f"extern (kcfg) {v.name}: type is unsupported")
                kcfg.append((-_align(v.type), sizeof(v.type), v.name, e))
            else:
                ksym.append((v.name, e))
    # libbpf's cmp_externs: kconfig before ksym; kconfig by alignment (descending), then
    # size (ascending); ties by name.
    return [e for *_, e in sorted(kcfg)] + [e for _, e in sorted(ksym, key=lambda x: x[0])]


@dataclass(frozen=True, slots=True)
class KconfigEntry:
    """A ``.kconfig`` extern: its kind, size, alignment, signedness and offset in the map."""

    name: str
    kind: KcfgKind
    size: int
    align: int
    signed: bool
    offset: int
    weak: bool


@dataclass(frozen=True, slots=True)
class KconfigLayout:
    """The ``.kconfig`` map value: ``entries`` in order, and ``size`` in bytes."""

    entries: list[KconfigEntry] = field(default_factory=list)
    size: int = 0

    @property
    def offsets(self) -> dict[str, int]:
        return {e.name: e.offset for e in self.entries}


def kconfig_layout(externs: Iterable[Extern]) -> KconfigLayout:
    """Offsets of the ``.kconfig`` externs as libbpf assigns them (each aligned, in order)."""
    entries = []
    off = 0
    for e in externs:
        if e.section != ".kconfig":
            continue
        t = _var_type(e)
        kind, signed = kconfig_kind(t)
        size, align = sizeof(t), _align(t)
        off = (off + align - 1) // align * align
        entries.append(KconfigEntry(e.name, kind, size, align, signed, off, e.weak))
        off += size
    return KconfigLayout(entries, off)


def _has_syscall_wrapper(kallsyms: Optional[Callable[[Iterable[str]], Mapping[str, Sequence[int]]]]
                         ) -> int:
    found = _kallsyms_reader(kallsyms)(["__x64_sys_bpf"])
    return 1 if found.get("__x64_sys_bpf") else 0


def kconfig_data(layout: KconfigLayout, *, config: Optional[Mapping[str, str]] = None,
                 release: Optional[str] = None,
                 kallsyms: Optional[Callable[[Iterable[str]], Mapping[str, Sequence[int]]]]
                 = None) -> bytes:
    """The value of the ``.kconfig`` map: every extern filled as libbpf fills it.

    ``config`` replaces the kernel's config (name -> value text, as in the file), and
    ``release`` the kernel release of LINUX_KERNEL_VERSION.

    Raises:
        ExternError: a value that does not suit its extern, an unknown LINUX_ extern that
            is not weak, a strong extern without a value.
        FileNotFoundError: the object has CONFIG_ externs and the kernel's config cannot be
            read.
    """
    data = bytearray(layout.size)
    if config is None and any(e.name.startswith("CONFIG_") for e in layout.entries):
        try:
            config = _kconfig.read_config()
        except ValueError as exc:
            raise ExternError(str(exc)) from None
    for e in layout.entries:
        try:
            if e.name.startswith("CONFIG_"):
                assert config is not None
                text = config.get(e.name)
                if text is None:
                    if not e.weak:
                        raise ExternError(f"extern (kcfg) {e.name} (strong): not resolved "
                                          "(not in the kernel's config)")
                    continue  # weak: stays 0
                raw = _kconfig.encode_value(e.name, e.kind, e.size, e.signed, text)
            else:
                if e.name == "LINUX_KERNEL_VERSION":
                    value = _kconfig.kernel_version(release)
                    if not value:
                        raise ExternError(f"extern (kcfg) {e.name}: cannot get the kernel "
                                          "version")
                elif e.name == "LINUX_HAS_BPF_COOKIE":
                    value = int(_kconfig.kernel_version(release) >= (5 << 16) + (15 << 8))
                elif e.name == "LINUX_HAS_SYSCALL_WRAPPER":
                    value = _has_syscall_wrapper(kallsyms)
                elif e.name.startswith("LINUX_") and e.weak:
                    continue  # an unknown weak LINUX_ extern is 0
                else:
                    raise ExternError(f"extern (kcfg) {e.name}: unrecognized virtual extern")
                raw = _kconfig.encode_number(e.name, e.kind, e.size, e.signed, value)
        except ValueError as exc:
            if isinstance(exc, ExternError):
                raise
            raise ExternError(str(exc)) from None
        data[e.offset:e.offset + e.size] = raw
    return bytes(data)


# --- ksyms ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ksym:
    """How one ``__ksym`` extern resolved.

    ``typed``: through BTF (``btf_id`` of the VAR or FUNC in ``btf``, ``module`` its module
    name, "" for vmlinux), else an ``address`` from kallsyms. ``resolved`` is False for a
    weak extern that was not found (or, for a kfunc, not compatible).
    """

    name: str
    func: bool
    typed: bool
    resolved: bool
    btf_id: int = 0
    module: str = ""
    btf: Optional[Spec] = field(default=None, compare=False, repr=False)
    address: int = 0


def _kallsyms_reader(kallsyms: Optional[Callable[[Iterable[str]], Mapping[str, Sequence[int]]]]
                     ) -> Callable[[Iterable[str]], Mapping[str, Sequence[int]]]:
    if kallsyms is not None:
        return kallsyms
    return linux.kernel_symbol_addresses


def _find_named(spec: Spec, name: str, cls: type[Type], own_only: bool) -> Optional[int]:
    for t in spec.types_by_name(name):
        if isinstance(t, cls):
            tid = spec.type_id(t)
            if own_only and spec.base is not None and tid < len(spec.base):
                continue
            return tid
    return None


def _module_specs(modules: Optional[Sequence[Spec]]) -> list[tuple[str, Spec]]:
    if modules is not None:
        return [(f"module#{i}", m) for i, m in enumerate(modules)]
    import os

    from .spec import KERNEL_BTF_DIR

    out = []
    try:
        names = sorted(n for n in os.listdir(KERNEL_BTF_DIR) if n != "vmlinux")
    except OSError:
        names = []
    for n in names:
        try:
            out.append((n, kernel_spec(n)))
        except (OSError, ValueError):
            continue
    return out


def resolve_ksyms(externs: Iterable[Extern], *, vmlinux: Optional[Spec] = None,
                  modules: Optional[Sequence[Spec]] = None,
                  kallsyms: Optional[Callable[[Iterable[str]], Mapping[str, Sequence[int]]]]
                  = None) -> dict[str, Ksym]:
    """Resolve the ``.ksyms`` externs (see the module doc for the rules).

    ``vmlinux`` defaults to ``kernel_spec()``, ``modules`` to every module's BTF (read only
    for a name vmlinux lacks), ``kallsyms`` to ``linux.kernel_symbol_addresses``.

    Raises:
        ExternError: a strong extern that is missing or whose kernel type is incompatible,
            or an untyped one with two addresses.
    """
    ksyms = [e for e in externs if e.section == ".ksyms"]
    out: dict[str, Ksym] = {}
    untyped = []
    mods: Optional[list[tuple[str, Spec]]] = None
    for e in ksyms:
        local_t = underlying_type(_var_type(e))
        if not e.is_func and isinstance(local_t, Void):
            untyped.append(e)
            continue
        want = essential_name(e.name) if e.is_func else e.name
        cls: type[Type] = Func if e.is_func else Var
        main = kernel_spec() if vmlinux is None else vmlinux
        found: Optional[tuple[str, Spec, int]] = None
        tid = _find_named(main, want, cls, False)
        if tid is not None:
            found = ("", main, tid)
        else:
            if mods is None:
                mods = _module_specs(modules)
            for mname, mspec in mods:
                tid = _find_named(mspec, want, cls, True)
                if tid is not None:
                    found = (mname, mspec, tid)
                    break
        what = "func ksym" if e.is_func else "var ksym"
        if found is None:
            if e.weak:
                out[e.name] = Ksym(e.name, e.is_func, True, False)
                continue
            raise ExternError(f"extern ({what}) {e.name}: not found in kernel BTF")
        mname, spec, tid = found
        target = spec[tid]
        assert isinstance(target, (Var, Func))
        target_t = underlying_type(target.type)
        try:
            ok = types_are_compatible(local_t, target_t)
        except ValueError:
            ok = False
        if not ok:
            if e.is_func and e.weak:
                out[e.name] = Ksym(e.name, True, True, False)
                continue
            raise ExternError(f"extern ({what}) {e.name}: incompatible types, expected "
                              f"{local_t.btf_kind.name.lower()} {local_t.name or '<anon>'}, "
                              f"but the kernel has [{tid}] "
                              f"{target_t.btf_kind.name.lower()} {target_t.name or '<anon>'}")
        out[e.name] = Ksym(e.name, e.is_func, True, True, tid, mname, spec)
    if untyped:
        found_addrs = _kallsyms_reader(kallsyms)([e.name for e in untyped])
        for e in untyped:
            addrs = sorted(set(found_addrs.get(e.name, ())))
            if len(addrs) > 1:
                raise ExternError(f"extern (ksym) {e.name}: resolution is ambiguous: "
                                  + " or ".join(f"{a:#x}" for a in addrs))
            if not addrs:
                if not e.weak:
                    raise ExternError(f"extern (ksym) {e.name} (strong): not resolved "
                                      f"(not in {linux.KALLSYMS})")
                out[e.name] = Ksym(e.name, False, False, False)
                continue
            out[e.name] = Ksym(e.name, False, False, True, address=addrs[0])
    return out


def patch_externs(insns: Union[bytes, bytearray], sites: Mapping[int, str],
                  externs: Sequence[Extern], layout: KconfigLayout, ksyms: Mapping[str, Ksym],
                  *, kconfig_fd: int = 0,
                  module_fd: Optional[Callable[[Ksym], int]] = None,
                  kfunc_fd_index: Optional[Callable[[Ksym], int]] = None) -> bytes:
    """The instructions with each extern site patched as libbpf patches it.

    ``sites`` maps instruction indexes (8-byte slots) to extern names. A ``.kconfig`` site
    becomes a map-value load (BPF_PSEUDO_MAP_VALUE, ``kconfig_fd``, the extern's offset).
    A resolved typed ksym becomes BPF_PSEUDO_BTF_ID (the module BTF's fd from
    ``module_fd`` in the second half); any other ksym variable loads its address (0 when
    unresolved). A kfunc call becomes BPF_PSEUDO_KFUNC_CALL (``kfunc_fd_index`` gives the
    fd_array index of a module's BTF), or a poisoned call when unresolved.

    Raises:
        ExternError: a site that is not the instruction its extern needs, an unknown name,
            or a module's kfunc without ``kfunc_fd_index``.
    """
    out = bytearray(insns)
    index = {e.name: i for i, e in enumerate(externs)}
    offsets = layout.offsets
    for idx, name in sites.items():
        at = idx * 8
        if not 0 <= at <= len(out) - 8:
            raise ExternError(f"extern {name}: instruction {idx} is outside the program")
        code, regs, off, imm = _SLOT.unpack_from(out, at)
        e = next((x for x in externs if x.name == name), None)
        if e is None:
            raise ExternError(f"extern {name} at instruction {idx}: not an extern of the "
                              "object's .kconfig or .ksyms")
        if code == _CALL:
            if not e.is_func:
                raise ExternError(f"extern {name} at instruction {idx}: a call of a variable")
            k = ksyms.get(name)
            if k is None or not k.resolved:
                _SLOT.pack_into(out, at, _CALL, 0, 0, POISON_KFUNC_BASE + index[name])
                continue
            fd_idx = 0
            if k.module:
                if kfunc_fd_index is None:
                    raise ExternError(f"extern (func ksym) {name}: a module's kfunc needs an "
                                      "fd_array index")
                fd_idx = kfunc_fd_index(k)
            _SLOT.pack_into(out, at, _CALL, (regs & 0x0F) | _PSEUDO_KFUNC_CALL << 4, fd_idx,
                            k.btf_id)
            continue
        if code != _LD_IMM64 or at + 16 > len(out):
            raise ExternError(f"extern {name} at instruction {idx}: not a ld_imm64")
        dst = regs & 0x0F
        if e.section == ".kconfig":
            lo, hi, src = kconfig_fd, offsets[name], _PSEUDO_MAP_VALUE
        else:
            k = ksyms.get(name)
            if k is not None and k.typed and k.resolved:
                src, lo = _PSEUDO_BTF_ID, k.btf_id
                hi = module_fd(k) if (k.module and module_fd is not None) else 0
            else:
                src = regs >> 4
                addr = k.address if k is not None else 0
                lo, hi = addr & 0xFFFFFFFF, addr >> 32
        _SLOT.pack_into(out, at, code, dst | src << 4, off, _s32(lo))
        _SLOT.pack_into(out, at + 8, 0, 0, 0, _s32(hi))
    return bytes(out)


def _s32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v >> 31 else v



def datasec_layout(local: Spec, externs: Sequence[Extern]) -> KconfigLayout:
    """The ``.kconfig`` layout the object's DATASEC holds now (its VarSecinfo offsets).

    Use it when the loader laid the map out itself; ``write_layout`` puts libbpf's
    ``kconfig_layout`` into the DATASEC (as libbpf rewrites it) so both agree.
    """
    by_name = {e.name: e for e in externs if e.section == ".kconfig"}
    entries = []
    size = 0
    for _, t in local.own_types():
        if isinstance(t, Datasec) and t.name == ".kconfig":
            for vs in t.vars:
                e = by_name.get(getattr(vs.type, "name", ""))
                if e is None:
                    continue
                vt = _var_type(e)
                kind, signed = kconfig_kind(vt)
                entries.append(KconfigEntry(e.name, kind, sizeof(vt), _align(vt), signed,
                                            vs.offset, e.weak))
                size = max(size, vs.offset + sizeof(vt))
    return KconfigLayout(entries, size)


def write_layout(local: Spec, layout: KconfigLayout) -> None:
    """Set the ``.kconfig`` DATASEC's offsets (and size) to ``layout``'s, as libbpf does."""
    by_name = {e.name: e for e in layout.entries}
    for _, t in local.own_types():
        if isinstance(t, Datasec) and t.name == ".kconfig":
            for vs in t.vars:
                entry = by_name.get(getattr(vs.type, "name", ""))
                if entry is not None:
                    vs.offset, vs.size = entry.offset, entry.size
            t.size = layout.size
