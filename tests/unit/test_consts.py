"""The generated constants: tools/gen_consts.py, the checked-in consts.py, and what imports
without the compiled module."""

from __future__ import annotations

import enum
import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from bpfobj import AttachType, HelperFunc, LinkType, MapType, ObjType, ProgramType
from bpfobj._internal import consts, kinds

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "gen_consts.py"

# A meta path finder that refuses the compiled module, as on a machine where it was
# never built: whatever imports it fails as a missing extension would.
BLOCK_COMPILED = textwrap.dedent("""
    import sys
    class _Block:
        def find_spec(self, name, path=None, target=None):
            if name == "bpfobj._bpfobj_cffi":
                raise ImportError("blocked for the test", name=name)
            return None
    sys.meta_path.insert(0, _Block())
""")


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, check=False)


def test_checked_in_file_is_current() -> None:
    proc = subprocess.run([sys.executable, str(TOOL), "--check"], capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr


def test_check_fails_on_a_stale_file(tmp_path: Path) -> None:
    header = tmp_path / "bpf.h"
    header.write_text((ROOT / "cdefs" / "bpf.h").read_text().replace(
        "BPF_MAP_TYPE_HASH = 1,", "BPF_MAP_TYPE_HASH = 1,\n\tBPF_MAP_TYPE_NEW_ONE = 999,"))
    out = tmp_path / "consts.py"
    out.write_text((ROOT / "bpfobj" / "_internal" / "consts.py").read_text())
    args = [sys.executable, str(TOOL), "--header", str(header), "--output", str(out)]
    stale = subprocess.run([*args, "--check"], capture_output=True, text=True, timeout=60,
                           check=False)
    assert stale.returncode == 1 and "stale" in stale.stderr
    assert subprocess.run(args, timeout=60, check=False).returncode == 0
    assert "BPF_MAP_TYPE_NEW_ONE = 999" in out.read_text()
    fresh = subprocess.run([*args, "--check"], timeout=60, check=False)
    assert fresh.returncode == 0


def test_parser_takes_only_explicit_values() -> None:
    spec = importlib.util.spec_from_file_location("gen_consts", TOOL)
    assert spec is not None and spec.loader is not None
    gen_consts: Any = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen_consts)
    enums, defines = gen_consts.parse("enum e { A = 1, B = 0x10, /* c */ C = -2, };\n"
                                      "#define X 7\n#define Y (1 << 2)\n")
    assert enums == {"e": {"A": 1, "B": 16, "C": -2}} and defines == {"X": 7}
    with pytest.raises(ValueError, match="enum e: 'B' has no integer value"):
        gen_consts.parse("enum e { A = 1, B, };")


def test_enum_values_come_from_consts() -> None:
    assert MapType.HASH == consts.BPF_MAP_TYPE_HASH and ProgramType.XDP == consts.BPF_PROG_TYPE_XDP
    assert LinkType.TCX == consts.BPF_LINK_TYPE_TCX and int(AttachType.CGROUP_INET_INGRESS) == 0
    assert HelperFunc.map_lookup_elem == consts.BPF_FUNC_map_lookup_elem == 1
    prefixes: dict[str, tuple[str, type[enum.IntEnum]]] = {
        "bpf_map_type": ("BPF_MAP_TYPE_", MapType),
        "bpf_prog_type": ("BPF_PROG_TYPE_", ProgramType),
        "bpf_link_type": ("BPF_LINK_TYPE_", LinkType),
        "bpf_func_id": ("BPF_FUNC_", HelperFunc),
        "bpf_attach_type": ("BPF_", AttachType),
    }
    for enum_name, (prefix, kind) in prefixes.items():
        for name in consts.ENUMS[enum_name]:
            assert kind(consts.VALUES[name]).value == consts.VALUES[name], name
        names = {n[len(prefix):] for n in consts.ENUMS[enum_name]}
        assert {m.name for m in kind} <= names


def test_asm_and_enums_import_without_the_compiled_module() -> None:
    proc = run_python(BLOCK_COMPILED + textwrap.dedent("""
        import bpfobj.asm as asm
        from bpfobj import MapType, HelperFunc, VerifierError
        from bpfobj._internal import consts, kinds, linux
        assert str(MapType.HASH) == kinds.MAP_TYPE_NAMES["HASH"] == "Hash"
        insns = asm.Instructions([asm.mov_imm(asm.R0, 0), asm.call(HelperFunc.map_lookup_elem),
                                  asm.exit_()])
        assert asm.Instructions.decode(insns.encode()) == insns
        print(str(insns).splitlines()[1], int(MapType.HASH))
        assert "bpfobj._bpfobj_cffi" not in sys.modules
        assert "bpfobj._internal.syscall" not in sys.modules
        import bpfobj
        try:
            bpfobj.Map
        except ImportError as exc:
            print("Map:", exc)
        try:
            from bpfobj import objects
        except ImportError as exc:
            print("objects:", exc)
    """))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "   1: (85) call bpf_map_lookup_elem#1 1"
    assert lines[1].startswith("Map: bpfobj's compiled module is missing; rebuild it")
    assert lines[2].startswith("objects: bpfobj's compiled module is missing")


def test_compiled_values_are_checked_at_import() -> None:
    # A consts.py that disagrees with the compiled module, loaded before bpfobj is.
    proc = run_python(textwrap.dedent("""
        import importlib.util, sys
        spec = importlib.util.spec_from_file_location(
            "bpfobj._internal.consts", "bpfobj/_internal/consts.py")
        consts = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(consts)
        consts.VALUES["BPF_MAP_TYPE_HASH"] = 99
        sys.modules["bpfobj._internal.consts"] = consts
        import bpfobj
        try:
            bpfobj.Map
        except ImportError as exc:
            print(exc.name, exc)
        else:
            print("imported")
    """))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("bpfobj._bpfobj_cffi bpfobj's constants disagree with its "
                                  "compiled module: BPF_MAP_TYPE_HASH=99 (compiled 1)")
    assert "tools/gen_consts.py" in proc.stdout


def test_kind_names_cover_the_enums() -> None:
    assert {m.name for m in MapType} <= set(kinds.MAP_TYPE_NAMES)
    assert {p.name for p in ProgramType} <= set(kinds.PROGRAM_TYPE_NAMES)
    assert str(MapType.LRU_PERCPU_HASH) == "LRUCPUHash" and str(ProgramType.EXT) == "Extension"
    assert set(kinds.ANON_NAMES) == {k.value for k in ObjType}
    assert ObjType.LINK.anon_names == ("bpf_link", "bpf-link")
