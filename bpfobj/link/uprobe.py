"""Uprobes (cilium/ebpf's link.OpenExecutable().Uprobe): KPROBE programs on user functions.

Owns ``Executable`` (the function symbols of an ELF executable or shared
library, each resolved to the file offset the kernel probes) and its
``uprobe``/``uretprobe`` (one perf event of the ``uprobe`` PMU each,
attached through perf_event.py) and ``uprobe_multi`` (one
BPF_TRACE_UPROBE_MULTI link for many offsets, Linux 6.6). Imports ``_sys``,
``_types``, ``errors``, ``elf`` and ``link``.

A symbol's file offset: its value is a virtual address; the PT_LOAD program
header that maps it gives ``value - p_vaddr + p_offset``, which is what
``readelf -s`` and ``readelf -l`` let one compute by hand. Both ``.symtab``
and ``.dynsym`` are read (a stripped library keeps only the second); among
symbols of one name a global one wins over a weak one, and either over a local.
"""

from __future__ import annotations

import errno as _errno
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Optional, Union

from bpfobj._internal import elf as _elf
from bpfobj._internal import syscall as _sys
from bpfobj._types import AttachType, ProgramType
from bpfobj.errors import BPFError, NotSupportedError, Op, from_errno

from .link import Link
from .perf_event import PerfEventLink, attach_perf_event, check_program

__all__ = ["Executable", "pmu_type", "pmu_bit"]

PathLike = Union[str, "os.PathLike[str]"]

#: Where the kernel lists its dynamic PMUs (perf_uprobe, perf_kprobe; Linux 4.17).
SYSFS_PMUS = "/sys/bus/event_source/devices"

_STT_GNU_IFUNC = 10
_FUNC_TYPES = (_elf.STT_FUNC, _STT_GNU_IFUNC)
_BIND_RANK = {_elf.STB_GLOBAL: 0, _elf.STB_WEAK: 1, _elf.STB_LOCAL: 2}
#: An upper bound on what Executable reads: libraries are a few MiB; this
#: stops a path to a huge file (or a device) from being read whole.
MAX_SIZE = 1 << 30


def pmu_type(name: str, sysfs_root: str = SYSFS_PMUS) -> Optional[int]:
    """The perf ``type`` of dynamic PMU ``name`` (``uprobe``, ``kprobe``), or None when absent.

    Raises:
        ValueError: the type file holds something other than a number.
    """
    try:
        with open(os.path.join(sysfs_root, name, "type"), "rb") as f:
            text = f.read(32)
    except FileNotFoundError:
        return None
    try:
        return int(text.strip())
    except ValueError:
        raise ValueError(f"{sysfs_root}/{name}/type: not a PMU type: {text!r}") from None


def pmu_bit(name: str, field: str, sysfs_root: str = SYSFS_PMUS) -> int:
    """The config bit of a one-bit PMU format field (``format/retprobe`` reads ``config:0``).

    Raises:
        ValueError: the field is missing or not a one-bit ``config:N`` field.
    """
    path = os.path.join(sysfs_root, name, "format", field)
    try:
        with open(path, "rb") as f:
            text = f.read(64).decode("ascii", "replace").strip()
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the PMU format ({exc.strerror})") from None
    key, _, bit = text.partition(":")
    if key != "config" or not bit.isdigit() or int(bit) > 63:
        raise ValueError(f"{path}: not a one-bit config field: {text!r}")
    return int(bit)


class Executable:
    """An ELF executable or shared library whose functions uprobes attach to.

    ``Executable(path)`` reads the file once (symbols and program headers);
    the kernel opens the path again at attach time, so it should not change
    meanwhile. Nothing stays open.

    Raises:
        OSError: the file cannot be read (FileNotFoundError, ...).
        ValueError: it is not an ELF file, or its headers are malformed.
    """

    __slots__ = ("path", "_offsets")

    def __init__(self, path: PathLike) -> None:
        self.path = os.fspath(path)
        with open(self.path, "rb") as f:
            data = f.read(MAX_SIZE + 1)
        if len(data) > MAX_SIZE:
            raise ValueError(f"{self.path}: larger than {MAX_SIZE} bytes, not read")
        try:
            elf = _elf.ELFFile(data)
            self._offsets = _function_offsets(elf)
        except ValueError as exc:
            raise ValueError(f"{self.path}: {exc}") from None

    def __repr__(self) -> str:
        return f"Executable({self.path!r})"

    @property
    def symbols(self) -> Mapping[str, int]:
        """Function name -> file offset, for every defined function symbol."""
        return dict(self._offsets)

    def address(self, symbol: str, offset: int = 0) -> int:
        """The file offset of ``symbol`` plus ``offset`` bytes: where the kernel puts the probe.

        Raises:
            KeyError: no function of that name (the message names it).
        """
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise ValueError(f"offset must be a non-negative int, got {offset!r}")
        try:
            base = self._offsets[symbol]
        except KeyError:
            raise KeyError(f"symbol {symbol!r} not found in {self.path}") from None
        return base + offset

    def uprobe(self, symbol: str, prog: object, pid: Optional[int] = None, offset: int = 0,
               cookie: int = 0, *, ref_ctr_offset: int = 0) -> PerfEventLink:
        """Attach a KPROBE program to the entry of ``symbol`` (perf_event_open of the uprobe PMU).

        ``pid`` limits the probe to one process (None: every process that
        maps the file). ``offset`` is added to the symbol's start
        (cilium's Offset). ``cookie`` is what bpf_get_attach_cookie() returns
        (Linux 5.15). ``ref_ctr_offset`` is a USDT semaphore's file offset.
        The returned link owns the bpf link and the perf event.
        Requires Linux 4.17 (the uprobe PMU).

        Raises:
            KeyError: no function ``symbol`` (the message names it).
            ObjectTypeError: the program is not a KPROBE program.
            NotSupportedError: the kernel has no uprobe PMU.
            BPFError: what perf_event_open or the attach refuse (ESRCH: no such pid).
        """
        return self._attach(symbol, prog, pid, offset, cookie, ref_ctr_offset, ret=False)

    def uretprobe(self, symbol: str, prog: object, pid: Optional[int] = None, offset: int = 0,
                  cookie: int = 0, *, ref_ctr_offset: int = 0) -> PerfEventLink:
        """Attach a KPROBE program to the returns of ``symbol`` (the uprobe PMU's retprobe bit).

        The program sees the return value in the registers' return slot
        (``rax`` on x86-64). Otherwise as ``uprobe``.
        """
        return self._attach(symbol, prog, pid, offset, cookie, ref_ctr_offset, ret=True)

    def _attach(self, symbol: str, prog: object, pid: Optional[int], offset: int, cookie: int,
                ref_ctr_offset: int, ret: bool) -> PerfEventLink:
        kind = "uretprobe" if ret else "uprobe"
        what = f"{kind} {self.path}:{symbol}" + (f"+{offset}" if offset else "")
        prog_fd = check_program(prog, ProgramType.KPROBE, what)
        where = self.address(symbol, offset)
        _check_pid(pid)
        pmu = pmu_type("uprobe")
        if pmu is None:
            reason = "the kernel has no uprobe PMU (CONFIG_UPROBE_EVENTS, Linux 4.17)"
            raise from_errno(_errno.EOPNOTSUPP, Op.PERF_EVENT_OPEN, what, reason=reason,
                             hint="", cls=NotSupportedError)
        config = (1 << pmu_bit("uprobe", "retprobe")) if ret else 0
        if ref_ctr_offset:
            config |= ref_ctr_offset << 32  # format/ref_ctr_offset reads config:32-63
        perf_fd = _sys.perf_event_open(
            type=pmu, config=config, sample_period=1, wakeup_events=1, uprobe_path=self.path,
            probe_offset=where, pid=-1 if pid is None else pid, cpu=0 if pid is None else -1,
            obj=what)
        return attach_perf_event(prog_fd, prog, perf_fd, cookie, what)

    def uprobe_multi(self, symbols: Sequence[str], prog: object, pid: Optional[int] = None,
                     cookies: Optional[Sequence[int]] = None, ret: bool = False,
                     offsets: Optional[Sequence[int]] = None) -> Link:
        """Attach one program to many functions with one link (BPF_TRACE_UPROBE_MULTI).

        The program must be a KPROBE program loaded with
        ``expected_attach_type=AttachType.TRACE_UPROBE_MULTI``. ``cookies``
        (one per symbol) are what bpf_get_attach_cookie() returns at each;
        ``offsets`` (one per symbol) are added to the symbols' starts;
        ``ret`` makes every probe a return probe. The Link owns the one
        descriptor. Requires Linux 6.6.

        Raises:
            KeyError: a symbol is missing (the message names it).
            ValueError: no symbols, or cookies/offsets of another length.
            ObjectTypeError: the program is not a KPROBE program.
        """
        names = list(symbols)
        if isinstance(symbols, str) or not names:
            raise ValueError("uprobe_multi needs a non-empty sequence of symbol names")
        extra = _per_symbol(offsets, len(names), "offsets")
        cookie_list = _per_symbol(cookies, len(names), "cookies")
        what = f"uprobe_multi {self.path}:{','.join(names[:3])}" + (
            ",..." if len(names) > 3 else "")
        check_program(prog, ProgramType.KPROBE, what)
        _check_pid(pid)
        where = [self.address(n, off) for n, off in zip(names, extra, strict=True)]
        path = os.fsencode(self.path)
        addr = _u64s(where)
        opts: dict[str, object] = {
            "uprobe_multi__path": path, "uprobe_multi__offsets": addr,
            "uprobe_multi__cnt": len(names),
            "uprobe_multi__flags": _sys.const("BPF_F_UPROBE_MULTI_RETURN") if ret else 0,
            "uprobe_multi__pid": pid or 0,
        }
        if any(cookie_list):
            opts["uprobe_multi__cookies"] = _u64s(cookie_list)
        try:
            link = Link._create(prog, AttachType.TRACE_UPROBE_MULTI, what, opts=opts)
        except BPFError as exc:
            if exc.errno != _errno.EINVAL:
                raise
            # The kernel does not say which argument; the usual one first.
            reason = "invalid argument"
            hint = (f"was {prog} loaded with expected_attach_type=TRACE_UPROBE_MULTI? "
                    "is every offset inside the file?")
            raise from_errno(exc.errno, Op.LINK_CREATE, what, cls=BPFError, reason=reason,
                             hint=hint) from exc
        return link


def _u64s(values: Iterable[int]) -> bytes:
    out = bytearray()
    for v in values:
        out += int(v).to_bytes(8, sys.byteorder)
    return bytes(out)


def _per_symbol(values: Optional[Sequence[int]], n: int, what: str) -> list[int]:
    if values is None:
        return [0] * n
    out = list(values)
    if len(out) != n:
        raise ValueError(f"{what}: {len(out)} given for {n} symbols")
    for v in out:
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < 2**64:
            raise ValueError(f"{what}: {v!r} is not a u64")
    return out


def _check_pid(pid: Optional[int]) -> None:
    if pid is None:
        return
    if isinstance(pid, bool) or not isinstance(pid, int):
        raise TypeError(f"pid must be an int or None, not {type(pid).__name__}")
    if not 0 < pid < 2**31:
        raise ValueError(f"pid must be positive, got {pid}")


def _function_offsets(elf: _elf.ELFFile) -> dict[str, int]:
    """Name -> file offset of every defined function symbol of .symtab and .dynsym."""
    best: dict[str, tuple[int, int]] = {}  # name -> (bind rank, file offset)
    for sym in (*elf.symbols(), *elf.dynamic_symbols()):
        if sym.type not in _FUNC_TYPES or sym.shndx == _elf.SHN_UNDEF or not sym.name:
            continue
        if sym.value == 0:
            continue
        rank = _BIND_RANK.get(sym.bind, 3)
        held = best.get(sym.name)
        if held is not None and held[0] <= rank:
            continue
        try:
            off = elf.vaddr_to_offset(sym.value)
        except ValueError:
            continue  # not in the file (a symbol of a section that is not loaded)
        best[sym.name] = (rank, off)
    return {name: off for name, (_rank, off) in best.items()}
