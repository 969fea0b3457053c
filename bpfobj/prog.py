"""Programs: ProgramSpec, ProgramInfo, RunResult and Program (cilium/ebpf's NewProgram & co).

Owns the Program wrapper: loading (with the verifier's log), opening by
descriptor, ID, pin or another process, info, the translated instructions and
BPF_PROG_TEST_RUN. Imports ``_sys``, ``_types``, ``_object``, ``errors`` and
``fd``; ``asm`` lazily, for ``xlated()``.
"""

from __future__ import annotations

import errno as _errno
import os
import time
from dataclasses import dataclass
from typing import Any, Optional, Union

from typing_extensions import Buffer, Self

from ._internal import linux
from ._internal import syscall as _sys
from ._internal.fd import FD
from ._object import BPFObject
from ._types import AttachType, ObjType, ProgramType
from .asm import Instructions
from .errors import BPFError, BPFPermissionError, Op, VerifierError, from_errno

__all__ = ["Program", "ProgramInfo", "ProgramSpec", "RunResult", "enable_stats"]

#: Program types whose BPF_PROG_TEST_RUN input is a packet starting with an
#: Ethernet header: the kernel rejects less than ETH_HLEN (14) bytes with EINVAL.
#: (SK_SKB and LWT_SEG6LOCAL cannot be test-run at all: ENOTSUPP, NotSupportedError.)
PACKET_TYPES = frozenset({
    ProgramType.SOCKET_FILTER, ProgramType.SCHED_CLS, ProgramType.SCHED_ACT, ProgramType.XDP,
    ProgramType.CGROUP_SKB, ProgramType.LWT_IN, ProgramType.LWT_OUT, ProgramType.LWT_XMIT,
    ProgramType.FLOW_DISSECTOR,
})
#: Program types the kernel runs once per BPF_PROG_TEST_RUN, on a context only:
#: it rejects a repeat count, packet data or ctx_out with EINVAL. A SYSCALL
#: program writes its context back into the input (RunResult.ctx).
RUN_ONCE_TYPES = frozenset({ProgramType.RAW_TRACEPOINT, ProgramType.SYSCALL})
ETH_HLEN = 14
#: XDP programs may grow a packet at its head by up to this much (XDP_PACKET_HEADROOM).
_GROWTH = 256 + 64


@dataclass(slots=True)
class ProgramSpec:
    """What Program.load loads.

    ``instructions`` is an ``asm.Instructions`` (or anything with ``encode()``
    returning bytes), or the raw bytes of encoded instructions. ``log_level``
    > 0 keeps the verifier's log of a successful load in ``Program.verifier_log``.
    """

    type: ProgramType
    instructions: Any
    license: str = "GPL"
    name: str = ""
    flags: int = 0
    expected_attach_type: Union[AttachType, int] = 0
    attach_btf_id: int = 0
    kern_version: int = 0
    ifindex: int = 0
    log_level: int = 0
    log_size: int = 0
    # What an ELF object says about the program (CollectionSpec fills these in).
    section_name: str = ""
    attach_to: str = ""
    btf: Any = None  # a loaded btf.BTF: the program's BTF (prog_btf_fd)
    func_info: bytes = b""  # kernel bpf_func_info records, insn_off in instructions
    func_info_rec_size: int = 8
    line_info: bytes = b""  # kernel bpf_line_info records
    line_info_rec_size: int = 16
    attach_prog: Any = None  # a Program: the target of freplace/fentry on a BPF program
    autoload: bool = True  # False for a '?' section: Collection.load skips it

    @property
    def attach_type(self) -> Union[AttachType, int]:
        """The expected attach type (cilium's ``AttachType``)."""
        return self.expected_attach_type

    def encoded(self) -> bytes:
        """The instructions as bytes (ValueError when they cannot be encoded)."""
        insns = self.instructions
        if isinstance(insns, (bytes, bytearray, memoryview)):
            raw = bytes(insns)
        elif hasattr(insns, "encode"):
            raw = insns.encode()
        else:
            raise TypeError("ProgramSpec.instructions must be asm.Instructions or bytes, "
                            f"not {type(insns).__name__}")
        if not raw or len(raw) % 8:
            raise ValueError(f"ProgramSpec.instructions: {len(raw)} bytes is not a positive "
                             "multiple of 8")
        return raw

    def __str__(self) -> str:
        try:
            n = len(self.encoded()) // 8
        except (TypeError, ValueError):
            n = 0
        return f"{_prog_type(int(self.type))}({self.name}, insns={n}, license={self.license})"


@dataclass(frozen=True, slots=True)
class ProgramInfo:
    """What the kernel says about a program (BPF_OBJ_GET_INFO_BY_FD).

    ``tag`` is the kernel's 8-byte program tag as 16 hex digits; ``load_time``
    is nanoseconds since boot; ``run_count``/``run_time_ns`` count only while
    BPF statistics are enabled (sysctl kernel.bpf_stats_enabled).
    """

    id: int
    type: ProgramType
    tag: str
    name: str
    map_ids: tuple[int, ...] = ()
    btf_id: int = 0
    created_by_uid: int = 0
    load_time: int = 0
    run_count: int = 0
    run_time_ns: int = 0
    xlated_len: int = 0
    jited_len: int = 0
    verified_insns: int = 0
    gpl_compatible: bool = False
    recursion_misses: int = 0
    ifindex: int = 0
    netns_dev: int = 0
    netns_ino: int = 0
    attach_btf_id: int = 0
    attach_btf_obj_id: int = 0

    def __str__(self) -> str:
        return f"Program(name={self.name} type={self.type} tag={self.tag})"

    @property
    def loaded_at(self) -> float:
        """When the program was loaded, in seconds since the epoch (``load_time``
        moved from CLOCK_BOOTTIME to CLOCK_REALTIME, as bpftool's ``loaded_at``)."""
        boot_to_real = time.clock_gettime(time.CLOCK_REALTIME) - time.clock_gettime(
            time.CLOCK_BOOTTIME)
        return boot_to_real + self.load_time / 1e9


@dataclass(frozen=True, slots=True)
class RunResult:
    """The outcome of BPF_PROG_TEST_RUN: the program's return value, the packet
    as the program left it, the context out (when asked), and the average time
    per run in nanoseconds."""

    retval: int
    data: bytes
    duration_ns: int
    ctx: bytes = b""


def _prog_type(value: int) -> ProgramType:
    try:
        return ProgramType(value)
    except ValueError:
        return value  # type: ignore[return-value]  # newer than our headers


def _explain_load_error(exc: BPFError, what: str, count: int) -> BPFError:
    """Say what a BPF_PROG_LOAD error means when the verifier never ran.

    E2BIG with an empty log: too many instructions. EINVAL with an empty log:
    the kernel refused the attributes before verifying anything. EPERM for a
    process that has CAP_BPF or CAP_SYS_ADMIN: "needs root" would mislead.
    Returns ``exc`` itself otherwise.
    """
    if isinstance(exc, VerifierError) and not exc.log.strip() and exc.errno == _errno.E2BIG:
        return from_errno(
            _errno.E2BIG, Op.PROG_LOAD, what, cls=VerifierError, log="",
            reason=f"too many instructions ({count}; the kernel takes at most 1000000, or 4096 "
                   "without CAP_BPF)", hint="")
    if isinstance(exc, VerifierError) and not exc.log.strip():
        err = exc.errno or _errno.EINVAL
        return from_errno(
            err, Op.PROG_LOAD, what, cls=VerifierError, log="",
            reason=f"{os.strerror(err).lower()}, refused before verification",
            hint="check the program type, expected_attach_type, attach_btf_id and flags")
    if isinstance(exc, BPFPermissionError) and _privileged():
        return from_errno(
            _errno.EPERM, Op.PROG_LOAD, what,
            reason="operation not permitted, although this process has CAP_BPF or "
                   "CAP_SYS_ADMIN",
            hint="the kernel refuses this program type or attach type here: e.g. LSM "
                 "programs need the bpf LSM enabled; kernel lockdown")
    return exc




def _privileged() -> bool:
    """Whether the effective capabilities hold CAP_BPF or CAP_SYS_ADMIN."""
    return linux.has_capability(linux.CAP_BPF, linux.CAP_SYS_ADMIN)


class Program(BPFObject):
    """A loaded eBPF program, owning one descriptor. ``repr()``: ``XDP(xdp_pass)#7``."""

    __slots__ = ("_type", "_name", "verifier_log")
    _KIND = ObjType.PROG
    _type: ProgramType
    _name: str
    verifier_log: str

    def _init_from_fd(self, fd: FD) -> None:
        d = _sys.prog_info(fd, self._what(fd))
        self._type = _prog_type(d["type"])
        self._name = d["name"]
        self.verifier_log = ""

    @staticmethod
    def _what(fd: FD) -> str:
        return f"fd {fd.raw}"

    @classmethod
    def load(cls, spec: ProgramSpec) -> Self:
        """Load a program (BPF_PROG_LOAD). The new Program owns the only descriptor.

        The verifier's log is captured: on rejection the load is retried with
        logging on and VerifierError carries it in ``.log``; with
        ``spec.log_level`` > 0 the log of a successful load is kept in
        ``verifier_log``. EAGAIN (a verifier interrupted by a signal) is retried.

        Raises:
            VerifierError: the verifier rejected the program (``.log``).
            BPFPermissionError: needs root or CAP_BPF.
            ValueError: the instructions or the name are malformed.
        """
        if not spec.name.isascii() or len(spec.name.encode()) > 15:
            raise ValueError(f"program name {spec.name!r} must be ASCII of at most 15 bytes")
        if spec.name.strip("._") and not spec.name.replace("_", "").replace(".", "").isalnum():
            raise ValueError(f"program name {spec.name!r} may hold only letters, digits, "
                             "'_' and '.'")
        if not isinstance(spec.type, int):
            raise TypeError("ProgramSpec.type must be a ProgramType, not "
                            f"{type(spec.type).__name__}")
        if "\0" in spec.license or not spec.license.isascii():
            raise ValueError(f"license {spec.license!r} must be ASCII without NUL")
        insns = spec.encoded()
        what = f"{_prog_type(int(spec.type))}({spec.name})"
        try:
            fd, log = _sys.prog_load(
                prog_type=int(spec.type), insns=insns, license=spec.license, name=spec.name,
                expected_attach_type=int(spec.expected_attach_type), prog_flags=spec.flags,
                kern_version=spec.kern_version, prog_ifindex=spec.ifindex,
                attach_btf_id=spec.attach_btf_id, log_level=spec.log_level,
                log_size=spec.log_size, obj=what,
                prog_btf_fd=spec.btf._fd if spec.btf is not None else None,
                attach_prog_fd=spec.attach_prog._fd if spec.attach_prog is not None else None,
                func_info=spec.func_info if spec.btf is not None else b"",
                func_info_rec_size=spec.func_info_rec_size,
                line_info=spec.line_info if spec.btf is not None else b"",
                line_info_rec_size=spec.line_info_rec_size,
            )
        except (VerifierError, BPFPermissionError) as exc:
            raise _explain_load_error(exc, what, len(insns) // 8) from None
        prog = cls._adopting(fd, check_type=False)
        prog.verifier_log = log
        return prog

    # -- properties -----------------------------------------------------------------

    @property
    def type(self) -> ProgramType:
        return self._type

    @property
    def name(self) -> str:
        return self._name

    def __repr__(self) -> str:
        return f"{self._type}({self._name}){self._repr_fd()}"

    # -- info ---------------------------------------------------------------------------

    def info(self) -> ProgramInfo:
        """What the kernel says about the program (BPF_OBJ_GET_INFO_BY_FD), map IDs included."""
        d = _sys.prog_info(self._fd, self)
        map_ids = d["map_ids"]
        return ProgramInfo(
            id=d["id"], type=_prog_type(d["type"]), tag=d["tag"].hex(), name=d["name"],
            map_ids=map_ids, btf_id=d["btf_id"], created_by_uid=d["created_by_uid"],
            load_time=d["load_time"], run_count=d["run_cnt"], run_time_ns=d["run_time_ns"],
            xlated_len=d["xlated_prog_len"], jited_len=d["jited_prog_len"],
            verified_insns=d["verified_insns"], gpl_compatible=bool(d["gpl_compatible"]),
            recursion_misses=d["recursion_misses"], ifindex=d["ifindex"],
            netns_dev=d["netns_dev"], netns_ino=d["netns_ino"],
            attach_btf_id=d["attach_btf_id"], attach_btf_obj_id=d["attach_btf_obj_id"],
        )

    def xlated_bytes(self) -> bytes:
        """The instructions as the kernel holds them after verification (xlated), encoded.

        Map loads read ``map[id:N]``-style: the kernel replaces map fds by map IDs.
        Empty when the kernel hides them (kernel.kptr_restrict, no CAP_SYS_ADMIN).
        """
        return _sys.prog_xlated(self._fd, self)

    def xlated_call_names(self) -> dict[int, str]:
        """Name the helpers the translated instructions call, as bpftool does.

        After verification a helper call's ``imm`` is the helper's address
        minus ``__bpf_call_base``; this maps each such ``imm`` to the kernel
        symbol at that address (/proc/kallsyms), e.g. ``bpf_map_lookup_elem``.
        Empty when kallsyms hides addresses (kernel.kptr_restrict).
        """
        return kernel_call_names(self.xlated_bytes())

    def jited_ksyms(self) -> tuple[int, ...]:
        """The kernel addresses of the program's JIT-compiled functions (BPF_OBJ_GET_INFO_BY_FD).

        One per function (the main program, then each BPF-to-BPF callee);
        empty when the program is interpreted or the addresses are hidden
        (kernel.kptr_restrict).
        """
        return _sys.prog_jited_ksyms(self._fd, self)

    def xlated(self) -> Instructions:
        """Read the translated instructions (BPF_OBJ_GET_INFO_BY_FD), decoded by ``asm``.

        ``str()`` of the result reads as ``bpftool prog dump xlated`` prints it,
        BPF-to-BPF calls included (named from ``jited_ksyms()``, as bpftool does).
        """
        raw = self.xlated_bytes()
        return Instructions.decode(raw, self.jited_ksyms() if raw else ())

    # -- running ---------------------------------------------------------------------------

    def test_run(self, data: Buffer = b"", repeat: int = 1, ctx: Optional[Buffer] = None, *,
                 ctx_size_out: int = 0, flags: int = 0, cpu: int = 0) -> RunResult:
        """Run the program in the kernel on ``data`` (BPF_PROG_TEST_RUN).

        ``repeat`` runs it that many times (the duration is the average);
        ``ctx`` is the context given to the program (e.g. ``struct xdp_md``);
        ``ctx_size_out`` asks for the context back in ``RunResult.ctx``. The
        output buffer grows when the program grows the packet (ENOSPC is retried).
        RAW_TRACEPOINT and SYSCALL programs run once, on ``ctx`` alone; a
        SYSCALL program's context as it left it comes back in ``RunResult.ctx``.
        EINTR restarts the run (up to a limit, then BPFError). Requires Linux
        4.12; the program types that accept it vary by kernel.

        Raises:
            ValueError: packet programs need at least 14 bytes (an Ethernet header);
                repeat must be >= 1 (exactly 1 for RAW_TRACEPOINT and SYSCALL).
            NotSupportedError: this program type cannot be test-run (EOPNOTSUPP, ENOTSUPP).
            BPFError: the kernel rejected the input (EINVAL).
        """
        data = bytes(memoryview(data))
        ctx_in = bytes(memoryview(ctx)) if ctx is not None else None
        if not isinstance(repeat, int) or not 1 <= repeat < 2**32:
            raise ValueError(f"program test run {self!r}: repeat must be in [1, 2**32), "
                             f"got {repeat!r}")
        if self._type in PACKET_TYPES and len(data) < ETH_HLEN:
            raise ValueError(
                f"program test run {self!r}: a {self._type} program needs at least {ETH_HLEN} "
                f"bytes of packet data (an Ethernet header), got {len(data)}")
        once = self._type in RUN_ONCE_TYPES
        if once:
            if repeat != 1 or data or ctx_size_out:
                raise ValueError(
                    f"program test run {self!r}: a {self._type} program runs once on a "
                    "context only (no repeat, data or ctx_size_out)")
            repeat = 0  # the kernel rejects any other count for these types
        size_out = len(data) + _GROWTH if data else 0
        while True:
            try:
                out = _sys.prog_test_run(
                    self._fd, data_in=data, data_size_out=size_out,
                    ctx_in=ctx_in, ctx_size_out=ctx_size_out,
                    repeat=repeat, flags=flags, cpu=cpu, obj=self)
            except BPFError as exc:
                # The program grew the packet past our buffer: retry with room.
                if exc.errno == _errno.ENOSPC and data and size_out < 1 << 24:
                    size_out *= 4
                    continue
                raise
            ctx_out = out["ctx_in"] if self._type is ProgramType.SYSCALL else out["ctx_out"]
            return RunResult(retval=out["retval"], data=out["data_out"],
                             duration_ns=out["duration"], ctx=ctx_out)


def kernel_call_names(xlated: bytes, kallsyms: str = linux.KALLSYMS) -> dict[int, str]:
    """Map the ``imm`` of each helper call in translated instructions to its kernel symbol.

    Reads ``kallsyms`` (through ``linux.read_kallsyms``; the cached copy for the
    default path): the address of ``__bpf_call_base`` plus
    ``imm`` is the helper's address. Calls whose address has no symbol, and all
    of them when the addresses read as zero (kernel.kptr_restrict), are left out.
    """
    imms = set()
    for i in range(0, len(xlated) - 7, 8):
        # BPF_JMP|BPF_CALL with src_reg 0: a helper (1 is a bpf-to-bpf call, 2 a kfunc).
        if xlated[i] == 0x85 and xlated[i + 1] >> 4 == 0:
            imms.add(int.from_bytes(xlated[i + 4:i + 8], "little", signed=True))
    if not imms:
        return {}
    syms = linux.kallsyms() if kallsyms == linux.KALLSYMS else linux.read_kallsyms(kallsyms)
    if not syms.base:
        return {}
    names = {}
    for imm in imms:
        name = syms.names.get((syms.base + imm) % 2**64)
        if name is None and kallsyms == linux.KALLSYMS:
            # a symbol loaded after the cached read (a new module): read again
            name = linux.kallsyms(refresh=True).names.get((syms.base + imm) % 2**64)
        if name is not None:
            names[imm] = name
    return names


def enable_stats() -> FD:
    """Turn on run-time statistics for every program (BPF_ENABLE_STATS), as cilium's EnableStats.

    While the returned FD is open, the kernel counts ``ProgramInfo.run_count``
    and ``run_time_ns`` (as ``sysctl kernel.bpf_stats_enabled=1`` does, but
    released when the descriptor closes, also if the process dies). The caller
    owns the FD: close it, or use it as a context manager. Requires Linux 5.8.

    Raises:
        BPFPermissionError: needs CAP_SYS_ADMIN.
    """
    return _sys.enable_stats()
