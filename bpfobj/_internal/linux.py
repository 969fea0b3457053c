"""The process looking at itself: its own fdinfo and descriptors, possible CPUs, kallsyms,
capabilities and the kernel version.

Owns every read the library makes of /proc/self, /proc/kallsyms and /sys about its own
process and the running kernel, and the one parser of fdinfo text (``parse_fdinfo``),
which ``procfs`` also uses for other processes. Imports only the stdlib: it sits below
every public module and works without the compiled module.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import NamedTuple, Optional, Union

__all__ = [
    "CAP_BPF",
    "CAP_NET_ADMIN",
    "CAP_PERFMON",
    "CAP_SYS_ADMIN",
    "KALLSYMS",
    "Kallsyms",
    "capabilities",
    "fd_numbers",
    "fd_target",
    "fdinfo",
    "has_capability",
    "kallsyms",
    "kernel_symbol_addresses",
    "kernel_version",
    "parse_cpu_list",
    "parse_fdinfo",
    "possible_cpus",
    "read_kallsyms",
]

#: Capability bits (include/uapi/linux/capability.h).
CAP_NET_ADMIN = 12
CAP_SYS_ADMIN = 21
CAP_PERFMON = 38
CAP_BPF = 39

KALLSYMS = "/proc/kallsyms"
_POSSIBLE = "/sys/devices/system/cpu/possible"


# -- fdinfo -----------------------------------------------------------------------------


def parse_fdinfo(data: Union[bytes, str]) -> dict[str, str]:
    """Parse the text of /proc/PID/fdinfo/N into ``{key: value}``.

    Lines read ``key:<tab>value``; values are kept as text (``flags`` is
    octal, ``map_flags`` hex, IDs decimal, ``link_type`` a name). Lines that
    are not ``key: value`` are skipped: kprobe_multi and uprobe_multi links
    end their fdinfo with a table (a ``cookie  func`` header, one row per
    probe). Pure.

    Raises:
        ValueError: bytes that are not text (neither ASCII nor UTF-8).
    """
    out: dict[str, str] = {}
    if isinstance(data, str):
        data = os.fsencode(data)
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        # fdinfo of a bpf descriptor is ASCII, except the names some link
        # types print (tp_name, target_name, path): keep those as UTF-8.
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"fdinfo is not text: {exc}") from None
    for line in text.split("\n"):
        if not line:
            continue  # the text ends with a newline
        key, sep, value = line.partition(":")
        # Keys are C identifiers (map_id, prog_tag, ...). A line without one
        # is a table row of a multi-probe link ("0\t bpf_fentry_test1+0x0/0x10"),
        # not a field: skip it.
        if not sep or not key or not key.replace("_", "a").isalnum() or not key.isascii():
            continue
        out[key] = value.strip()
    return out


def fdinfo_bytes(raw: int) -> bytes:
    """The text of /proc/self/fdinfo/RAW. Raises OSError (ENOENT once it is closed)."""
    with open(f"/proc/self/fdinfo/{raw}", "rb") as f:
        return f.read()


def fdinfo(raw: int) -> dict[str, str]:
    """This process's fdinfo of descriptor ``raw``, parsed (``parse_fdinfo``).

    Raises:
        OSError: the descriptor is not open (ENOENT).
        ValueError: the text is not fdinfo text.
    """
    return parse_fdinfo(fdinfo_bytes(raw))


def fd_target(raw: int) -> str:
    """What /proc/self/fd/RAW links to (``anon_inode:bpf-map``, ``net:[4026531840]``, a path).

    Raises:
        OSError: the descriptor is not open (ENOENT).
    """
    return os.readlink(f"/proc/self/fd/{raw}")


def fd_numbers() -> list[int]:
    """This process's open descriptor numbers (/proc/self/fd), the listing's own included."""
    return sorted(int(name) for name in os.listdir("/proc/self/fd"))


# -- CPUs -------------------------------------------------------------------------------


def parse_cpu_list(text: str) -> int:
    """How many CPUs a kernel CPU list names (``0-3,8,10-11`` is 7).

    Raises:
        ValueError: not a CPU list.
    """
    count = 0
    for part in text.strip().split(","):
        lo, dash, hi = part.partition("-")
        first = int(lo)
        last = int(hi) if dash else first
        if first < 0 or last < first:
            raise ValueError(f"bad CPU range {part!r}")
        count += last - first + 1
    return count


_possible_cpus: Optional[int] = None


def possible_cpus() -> int:
    """Number of possible CPUs (/sys/devices/system/cpu/possible): per-CPU values per element.

    Read once: the set of possible CPUs is fixed at boot.
    """
    global _possible_cpus
    if _possible_cpus is None:
        with open(_POSSIBLE, "rb") as f:
            _possible_cpus = parse_cpu_list(f.read().decode("ascii"))
    return _possible_cpus


# -- kallsyms ---------------------------------------------------------------------------


class Kallsyms(NamedTuple):
    """The kernel's symbols: ``base`` is __bpf_call_base's address, ``names`` by address.

    Both are empty (0, {}) when kallsyms hides addresses (kernel.kptr_restrict) or
    cannot be read.
    """

    base: int
    names: dict[int, str]


def _kallsyms_entries(path: str) -> Iterator[tuple[int, str]]:
    """``(address, name)`` for each ``address type name [module]`` line of a kallsyms file.

    Lines that do not parse are skipped; a file that cannot be read yields nothing.
    """
    try:
        with open(path, "rb") as f:
            for line in f:
                parts = line.split()
                if len(parts) < 3:
                    continue
                try:
                    addr = int(parts[0], 16)
                except ValueError:
                    continue
                yield addr, parts[2].decode("ascii", "replace")
    except OSError:
        return


def read_kallsyms(path: str = KALLSYMS) -> Kallsyms:
    """Read a kallsyms file (``address type name [module]`` lines); the first name wins."""
    base = 0
    names: dict[int, str] = {}
    for addr, name in _kallsyms_entries(path):
        if name == "__bpf_call_base":
            base = addr
        names.setdefault(addr, name)
    if not base:  # addresses hidden: every one reads 0
        return Kallsyms(0, {})
    return Kallsyms(base, names)


def kernel_symbol_addresses(names: Iterable[str], path: str = KALLSYMS
                            ) -> dict[str, list[int]]:
    """The addresses of kernel symbols by name (a kallsyms file, read once per call).

    Every address a name has (a static symbol may repeat in several objects); a name that
    kallsyms lists with a ``.llvm.<hash>`` suffix counts as the name (libbpf's rule for
    externs). Names not found are left out; all are when kallsyms hides the addresses
    (kernel.kptr_restrict makes them read as zero).
    """
    wanted = set(names)
    found: dict[str, list[int]] = {}
    if not wanted:
        return found
    for addr, name in _kallsyms_entries(path):
        if name not in wanted:
            name = name.split(".llvm.", 1)[0]
            if name not in wanted:
                continue
        if addr:
            found.setdefault(name, []).append(addr)
    return found


_kallsyms: Optional[Kallsyms] = None


def kallsyms(refresh: bool = False) -> Kallsyms:
    """/proc/kallsyms, read once (or again with ``refresh``: a program's JIT-compiled
    functions appear there as it loads)."""
    global _kallsyms
    if _kallsyms is None or refresh:
        _kallsyms = read_kallsyms()
    return _kallsyms


# -- capabilities and kernel ------------------------------------------------------------


def capabilities() -> int:
    """The effective capability set (CapEff of /proc/self/status); 0 when unreadable."""
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"CapEff:"):
                    return int(line.split()[1], 16)
    except (OSError, ValueError, IndexError):
        pass
    return 0


def has_capability(*bits: int) -> bool:
    """Whether the effective capabilities hold any of ``bits`` (CAP_BPF, CAP_SYS_ADMIN, ...)."""
    caps = capabilities()
    return any(caps >> bit & 1 for bit in bits)


def kernel_version() -> tuple[int, int, int]:
    """The running kernel's version from uname's release (``6.18.0-rc1`` is (6, 18, 0))."""
    release = os.uname().release
    parts: list[int] = []
    for piece in release.split(".")[:3]:
        digits = ""
        for ch in piece:
            if not ch.isdigit():
                break
            digits += ch
        parts.append(int(digits) if digits else 0)
        if len(digits) < len(piece):
            break
    while len(parts) < 3:
        parts.append(0)
    return parts[0], parts[1], parts[2]
