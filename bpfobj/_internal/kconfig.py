"""The running kernel's build configuration and version, as libbpf reads them for externs.

Owns reading the kernel's Kconfig (``/boot/config-$(uname -r)``, else ``/proc/config.gz``;
either may be gzip-compressed or plain, as libbpf's gzopen accepts both), the value of
``LINUX_KERNEL_VERSION`` (from the release string of uname, parsed as libbpf's
``"%u.%u.%u"``; no distribution-specific files), and the encoding of one Kconfig value into
the bytes of a ``.kconfig`` extern of a given kind (libbpf's set_kcfg_value_* rules). Pure
Python; imports nothing of bpfobj. The BTF side (which kind an extern's type is, the layout
of ``.kconfig``) is ``bpfobj.btf.externs``.

Parsing rules (libbpf's bpf_object__process_kconfig_line): only lines that start with
``CONFIG_`` count ("# CONFIG_X is not set" lines do not: such an option is simply absent);
such a line needs ``=`` and a value, else the whole file is refused; the first line for a
name wins. A value starting with ``y``, ``n`` or ``m`` is a tristate (an extern of type
bool, ``enum libbpf_tristate`` or char takes it; ``m`` does not fit a bool), one starting
with ``"`` a string (a char array takes it, truncated to fit with its NUL), anything else
an integer in C's ``strtoull(s, 0)`` syntax (decimal, 0x hex, 0 octal, a leading ``-``
wraps) that must fit the extern's integer or char.
"""

from __future__ import annotations

import enum
import gzip
import io
import os
import re
from collections.abc import Iterable, Sequence
from typing import Optional

__all__ = ["KcfgKind", "TRI_NO", "TRI_YES", "TRI_MODULE", "kernel_release", "kernel_version",
           "config_paths", "read_config", "parse_config", "encode_value", "parse_u64"]

#: enum libbpf_tristate (bpf_helpers.h).
TRI_NO, TRI_YES, TRI_MODULE = 0, 1, 2
_MAX_CONFIG = 64 << 20  # a decompressed config is ~300 KiB; refuse a gzip bomb


class KcfgKind(enum.Enum):
    """What an extern's type lets it hold (libbpf's enum kcfg_type)."""

    UNKNOWN = "unknown"
    CHAR = "char"
    BOOL = "bool"
    INT = "int"
    TRISTATE = "tristate"
    CHAR_ARR = "char array"


def kernel_release() -> str:
    """``uname -r``."""
    return os.uname().release


def kernel_version(release: Optional[str] = None) -> int:
    """LINUX_KERNEL_VERSION: ``KERNEL_VERSION(a, b, c)`` of the release ``a.b.c...``.

    As libbpf's get_kernel_version: the sublevel is capped at 255; a release that does not
    start with three dot-separated numbers (``6.18-rc1``) gives 0.
    """
    m = re.match(r"\s*\+?(\d+)\.\s*\+?(\d+)\.\s*\+?(\d+)",
                 kernel_release() if release is None else release)
    if m is None:
        return 0
    major, minor, patch = (int(g) for g in m.groups())
    return ((major << 16) + (minor << 8) + min(patch, 255)) & 0xFFFFFFFF


def config_paths(release: Optional[str] = None) -> list[str]:
    """Where the config is looked for, in libbpf's order."""
    rel = kernel_release() if release is None else release
    return [f"/boot/config-{rel}", "/proc/config.gz"]


def read_config(paths: Optional[Sequence[str]] = None) -> dict[str, str]:
    """The running kernel's ``CONFIG_*`` options: name -> value text (see the module doc).

    Raises:
        FileNotFoundError: none of ``paths`` (default: ``config_paths()``) can be opened.
        ValueError: a ``CONFIG_`` line without ``=`` or without a value (naming the file
            and line), or a file that does not decompress.
    """
    tried = []
    for path in config_paths() if paths is None else paths:
        try:
            with open(path, "rb") as f:
                raw = f.read(_MAX_CONFIG + 1)
        except OSError as exc:
            tried.append(f"{path}: {exc.strerror}")
            continue
        if raw[:2] == b"\x1f\x8b":
            try:
                with gzip.GzipFile(fileobj=io.BytesIO(raw)) as g:
                    raw = g.read(_MAX_CONFIG + 1)
            except (OSError, EOFError) as exc:
                raise ValueError(f"kernel config {path}: {exc}") from None
        if len(raw) > _MAX_CONFIG:
            raise ValueError(f"kernel config {path}: larger than {_MAX_CONFIG} bytes")
        return parse_config(raw.decode("utf-8", "surrogateescape").splitlines(True), path)
    raise FileNotFoundError("cannot read the kernel config: " + "; ".join(tried))


def parse_config(lines: Iterable[str], where: str = "kernel config") -> dict[str, str]:
    """Parse config lines (libbpf's rules, see the module doc): name -> value text.

    Raises:
        ValueError: a ``CONFIG_`` line without ``=`` or without a value.
    """
    out: dict[str, str] = {}
    for n, line in enumerate(lines, 1):
        if not line.startswith("CONFIG_"):
            continue
        if line.endswith("\n"):
            line = line[:-1]
        name, sep, value = line.partition("=")
        if not sep:
            raise ValueError(f"{where}: line {n}: {line!r} has no '='")
        if not value:
            raise ValueError(f"{where}: line {n}: {line!r} has no value")
        out.setdefault(name, value)
    return out


def parse_u64(text: str) -> int:
    """An integer as C's ``strtoull(text, &end, 0)`` with nothing left over reads it.

    Raises:
        ValueError: not an integer, or more than 64 bits.
    """
    m = re.fullmatch(r"[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)", text)
    if m is None:
        raise ValueError(f"{text!r} is not an integer")
    digits = m.group(2)
    if digits[:2] in ("0x", "0X"):
        v = int(digits[2:], 16)
    elif digits.startswith("0"):
        v = int(digits, 8)
    else:
        v = int(digits)
    if v >> 64:
        raise ValueError(f"{text!r} does not fit 64 bits")
    return (-v) & ((1 << 64) - 1) if m.group(1) == "-" else v


def _in_range(value: int, size: int, signed: bool) -> bool:
    # libbpf's is_kcfg_value_in_range on the u64: an 8-byte extern takes anything.
    bits = size * 8
    if size >= 8:
        return True
    if signed:
        return (value + (1 << (bits - 1))) & ((1 << 64) - 1) < (1 << bits)
    return value >> bits == 0


def encode_number(name: str, kind: KcfgKind, size: int, signed: bool, value: int) -> bytes:
    """libbpf's set_kcfg_value_num: ``value`` (a u64) into an int, char or bool extern.

    Raises:
        ValueError: the kind takes no number, a bool given more than 1, or out of range.
    """
    if kind not in (KcfgKind.INT, KcfgKind.CHAR, KcfgKind.BOOL):
        raise ValueError(f"extern (kcfg) {name}: value {value} implies integer, char or "
                         "boolean type")
    if kind is KcfgKind.BOOL and value > 1:
        raise ValueError(f"extern (kcfg) {name}: value {value} is not boolean compatible")
    if kind is not KcfgKind.BOOL and not _in_range(value, size, signed):
        raise ValueError(f"extern (kcfg) {name}: value {value} does not fit in {size} bytes")
    if size not in (1, 2, 4, 8):
        raise ValueError(f"extern (kcfg) {name}: {size}-byte integers are not supported")
    return (value & ((1 << (size * 8)) - 1)).to_bytes(size, "little")


def encode_value(name: str, kind: KcfgKind, size: int, signed: bool, text: str) -> bytes:
    """The ``size`` bytes an extern of ``kind`` holds for the config value ``text``.

    Raises:
        ValueError: the value does not suit the extern (libbpf's message, naming it).
    """
    if kind is KcfgKind.UNKNOWN:
        raise ValueError(f"extern (kcfg) {name}: type is unsupported")
    first = text[:1]
    if first in ("y", "n", "m"):
        if kind is KcfgKind.BOOL:
            if first == "m":
                raise ValueError(f"extern (kcfg) {name}: value 'm' implies tristate or char "
                                 "type")
            return (b"\x01" if first == "y" else b"\x00").ljust(size, b"\0")
        if kind is KcfgKind.TRISTATE:
            tri = {"y": TRI_YES, "m": TRI_MODULE, "n": TRI_NO}[first]
            return tri.to_bytes(min(size, 4), "little").ljust(size, b"\0")
        if kind is KcfgKind.CHAR:
            return first.encode("ascii").ljust(size, b"\0")
        raise ValueError(f"extern (kcfg) {name}: value {first!r} implies bool, tristate or "
                         "char type")
    if first == '"':
        if kind is not KcfgKind.CHAR_ARR:
            raise ValueError(f"extern (kcfg) {name}: value {text} implies char array type")
        if len(text) < 2 or not text.endswith('"'):
            raise ValueError(f"extern (kcfg) {name}: invalid string config {text}")
        body = text[1:-1].encode("utf-8", "surrogateescape")[:max(size - 1, 0)]
        return body.ljust(size, b"\0")
    try:
        number = parse_u64(text)
    except ValueError:
        raise ValueError(f"extern (kcfg) {name}: value {text!r} is not a valid integer") \
            from None
    if kind not in (KcfgKind.INT, KcfgKind.CHAR):
        raise ValueError(f"extern (kcfg) {name}: value {text!r} implies integer type")
    return encode_number(name, kind, size, signed, number)
