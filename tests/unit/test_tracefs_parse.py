"""Pure parts of tracefs, kprobe and uprobe handling: mountinfo, names, PMU formats (no root)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bpfobj._internal import tracefs

MOUNTINFO = (
    b"22 27 0:21 / /proc rw,relatime - proc proc rw\n"
    b"47 23 0:13 / /sys/kernel/tracing rw,relatime shared:9 master:2 - tracefs nodev rw\n"
    b"48 27 0:13 / /mnt/my\\040trace rw,relatime - tracefs tracefs rw\n"
    b"broken line\n"
    b"49 27 0:14 / /sys/kernel/debug rw - debugfs debugfs rw\n"
)


def test_parse_mountinfo_finds_every_tracefs_in_order() -> None:
    assert tracefs.parse_mountinfo(MOUNTINFO) == ["/sys/kernel/tracing", "/mnt/my trace"]
    assert tracefs.parse_mountinfo(b"") == []


@given(st.binary(max_size=2048))
def test_parse_mountinfo_never_raises(data: bytes) -> None:
    out = tracefs.parse_mountinfo(data)
    assert all(isinstance(p, str) for p in out)


@given(st.lists(st.sampled_from([b"tracefs", b"proc", b"-", b"/x", b"\\040", b" "]),
                max_size=14))
def test_parse_mountinfo_shaped_lines(parts: list[bytes]) -> None:
    tracefs.parse_mountinfo(b" ".join(parts))


@pytest.mark.parametrize("name", ["syscalls", "sys_enter_getpid", "9p", "_x", "A1"])
def test_valid_names(name: str) -> None:
    tracefs.validate_name("tracepoint name", name)


@pytest.mark.parametrize("name", ["", "..", "a/b", "a b", "x\0", "tab\t", "é", "a" * 256, "-"])
def test_invalid_names(name: str) -> None:
    with pytest.raises(ValueError, match="invalid tracepoint name"):
        tracefs.validate_name("tracepoint name", name)


def test_name_type() -> None:
    with pytest.raises(TypeError):
        tracefs.validate_name("tracepoint name", b"x")  # type: ignore[arg-type]


@given(st.text(max_size=40))
def test_validate_name_only_value_errors(name: str) -> None:
    try:
        tracefs.validate_name("event", name)
    except ValueError:
        return
    assert name and all(c.isascii() and (c.isalnum() or c == "_") for c in name)


FORMAT = b"""name: sys_enter_openat
ID: 642
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;
\tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;
\tfield:char prev_comm[16];\toffset:32;\tsize:16;\tsigned:0;

print fmt: "filename: 0x%08lx", ((unsigned long)(REC->filename))
"""


def test_parse_format() -> None:
    assert tracefs.parse_format(FORMAT) == {
        "common_type": (0, 2), "__syscall_nr": (8, 4), "filename": (24, 8),
        "prev_comm": (32, 16)}


@given(st.binary(max_size=1024))
def test_parse_format_never_raises(data: bytes) -> None:
    tracefs.parse_format(FORMAT[:40] + data)


@given(st.binary(max_size=4096))
def test_executable_symbols_only_value_errors(data: bytes) -> None:
    from bpfobj._internal import elf
    from bpfobj.link import uprobe

    try:
        uprobe._function_offsets(elf.ELFFile(b"\x7fELF\x02\x01\x01" + data))
    except ValueError:
        pass
