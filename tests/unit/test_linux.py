"""_internal/linux.py: the process's own /proc and /sys, without root."""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bpfobj._internal import linux

PACKAGE = Path(linux.__file__).resolve().parents[1]


def test_parse_cpu_list() -> None:
    assert linux.parse_cpu_list("0\n") == 1
    assert linux.parse_cpu_list("0-3") == 4
    assert linux.parse_cpu_list("0-3,8,10-11\n") == 7
    for bad in ("", "a", "3-1", "-1", "0-"):
        with pytest.raises(ValueError):
            linux.parse_cpu_list(bad)


def test_possible_cpus_is_the_sysfs_count() -> None:
    with open("/sys/devices/system/cpu/possible") as f:
        text = f.read()
    assert linux.possible_cpus() == linux.parse_cpu_list(text) >= (os.cpu_count() or 1)


def test_own_fdinfo_and_target() -> None:
    r, w = os.pipe()
    try:
        info = linux.fdinfo(r)
        assert int(info["pos"]) == 0 and info["flags"].startswith("0")
        assert linux.fd_target(r).startswith("pipe:[")
        assert r in linux.fd_numbers() and w in linux.fd_numbers()
    finally:
        os.close(r)
        os.close(w)
    with pytest.raises(FileNotFoundError):
        linux.fdinfo(r)
    with pytest.raises(FileNotFoundError):
        linux.fd_target(r)


def test_parse_fdinfo_skips_table_rows() -> None:
    text = b"pos:\t0\nflags:\t02000002\nlink_type:\tkprobe_multi\ncookie  func\n0\t f+0x0/0x10\n"
    assert linux.parse_fdinfo(text) == {"pos": "0", "flags": "02000002",
                                        "link_type": "kprobe_multi"}
    with pytest.raises(ValueError, match="not text"):
        linux.parse_fdinfo(b"\xff\xfe:")


def test_read_kallsyms(tmp_path: Path) -> None:
    f = tmp_path / "kallsyms"
    f.write_text("ffffffff81000000 T _stext\nffffffff81200000 T __bpf_call_base\n"
                 "ffffffff81200010 t bpf_map_lookup_elem\nffffffff81200010 t alias\nshort\n")
    syms = linux.read_kallsyms(str(f))
    assert syms.base == 0xFFFFFFFF81200000
    assert syms.names[0xFFFFFFFF81200010] == "bpf_map_lookup_elem"  # the first name wins
    hidden = tmp_path / "hidden"
    hidden.write_text("0000000000000000 T __bpf_call_base\n0000000000000000 T x\n")
    assert linux.read_kallsyms(str(hidden)) == linux.Kallsyms(0, {})
    assert linux.read_kallsyms(str(tmp_path / "missing")) == linux.Kallsyms(0, {})


def test_capabilities_and_kernel_version() -> None:
    with open("/proc/self/status") as f:
        cap_eff = next(line for line in f if line.startswith("CapEff:"))
    assert linux.capabilities() == int(cap_eff.split()[1], 16)
    assert linux.has_capability(linux.CAP_SYS_ADMIN) == bool(
        linux.capabilities() >> linux.CAP_SYS_ADMIN & 1)
    major, minor, patch = linux.kernel_version()
    assert os.uname().release.startswith(f"{major}.{minor}")
    assert major >= 5 and patch >= 0


def test_own_proc_is_read_only_here() -> None:
    """No module but linux.py reads /proc/self, /proc/kallsyms or /sys."""
    pattern = re.compile(r"/proc/self|/proc/kallsyms|/sys/devices")
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "linux.py":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and pattern.search(node.value) and not _is_docstring(tree, node):
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
            if isinstance(node, ast.JoinedStr):
                text = "".join(v.value for v in node.values
                               if isinstance(v, ast.Constant) and isinstance(v.value, str))
                if pattern.search(text):
                    found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert found == []


def _is_docstring(tree: ast.Module, node: ast.Constant) -> bool:
    for owner in ast.walk(tree):
        if isinstance(owner, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            body = owner.body
            if body and isinstance(body[0], ast.Expr) and body[0].value is node:
                return True
    return False


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789-,\n x", max_size=40))
def test_parse_cpu_list_raises_only_valueerror(text: str) -> None:
    try:
        n = linux.parse_cpu_list(text)
    except ValueError:
        return
    assert n >= 1


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_read_kallsyms_never_raises(tmp_path_factory: pytest.TempPathFactory, raw: bytes) -> None:
    path = tmp_path_factory.mktemp("ks") / "kallsyms"
    path.write_bytes(raw)
    syms = linux.read_kallsyms(str(path))
    assert (syms.base == 0) == (not syms.names)
