"""CO-RE against the running kernel, with libbpf as the oracle.

Objects are compiled here from tests/bpf/core_*.c (clang, against a vmlinux.h that bpftool
dumps from /sys/kernel/btf/vmlinux). For every relocation, the local spec, the matching
candidate, the patched value and the poisoning must be what libbpf logs when it loads the
same object (``bpftool -d prog loadall``), and the patched instruction must hold the value
libbpf wrote. Programs whose type loads here run through test_run against a kernel_types
Spec built by the test.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bpfobj import Program, ProgramSpec, ProgramType, VerifierError, btf
from bpfobj._internal.elf import ELFFile
from bpfobj.asm import Instruction, Instructions
from bpfobj.btf import core, externs
from bpfobj.btf.ext import BTFExt, CoreRelo
from bpfobj.btf.ext import CoreReloKind as K

from .conftest import need

HERE = Path(__file__).parent / "bpf"

# kernel_spec() keeps its mapping of /sys/kernel/btf/vmlinux (and that descriptor) for the
# life of the process: open it before the module's descriptor count is taken.
try:
    btf.kernel_spec()
except (OSError, ValueError):
    pass  # no kernel BTF: the tests that need it fail or skip through their fixtures
S32 = btf.Int("int", 4, btf.IntEncoding.SIGNED)
U32 = btf.Int("unsigned int", 4)
U16 = btf.Int("unsigned short", 2)


@pytest.fixture(scope="session")
def vmlinux_h(tmp_path_factory: pytest.TempPathFactory, bpftool: str) -> Path:
    d = tmp_path_factory.mktemp("vmlinux")
    out = subprocess.run([bpftool, "btf", "dump", "file", "/sys/kernel/btf/vmlinux", "format",
                          "c"], capture_output=True, check=True)
    (d / "vmlinux.h").write_bytes(out.stdout)
    return d


def compile_bpf(src: str, out_dir: Path, include: Path) -> Path:
    clang = shutil.which("clang")
    need(clang is not None, "clang is not installed")
    assert clang is not None
    obj = out_dir / (Path(src).stem + ".o")
    subprocess.run([clang, "-g", "-O2", "-target", "bpf", "-D__TARGET_ARCH_x86",
                    f"-I{include}", "-I/usr/include/x86_64-linux-gnu", "-c", str(HERE / src),
                    "-o", str(obj)], check=True, capture_output=True)
    return obj


@dataclass
class Obj:
    path: Path
    local: btf.Spec
    relos: dict[str, list[CoreRelo]]
    code: dict[str, bytes]
    funcs: dict[str, tuple[str, int, int]]  # name -> (section, first slot, slot count)


def read_obj(path: Path) -> Obj:
    f = ELFFile(path.read_bytes())
    btf_sec, ext_sec = f.section(".BTF"), f.section(".BTF.ext")
    assert btf_sec is not None and ext_sec is not None
    local = btf.Spec.from_bytes(f.data(btf_sec))
    ext = BTFExt.from_bytes(f.data(ext_sec), local)
    code = {}
    for name in ext.core_relo:
        sec = f.section(name)
        assert sec is not None
        code[name] = f.data(sec)
    funcs = {}
    for sym in f.symbols():
        if sym.type == 2 and 0 < sym.shndx < len(f.sections):  # STT_FUNC
            sec_name = f.sections[sym.shndx].name
            funcs[sym.name] = (sec_name, sym.value // 8, sym.size // 8)
    return Obj(path, local, ext.core_relo, code, funcs)


def with_type_matches(obj: Path, names: set[str]) -> Path:
    """A copy of ``obj`` whose TYPE_EXISTS relocations of ``names`` are TYPE_MATCHES ones
    (clang 14 cannot emit bpf_core_type_matches; libbpf 1.0 and later apply it)."""
    o = read_obj(obj)
    data = bytearray(obj.read_bytes())
    f = ELFFile(bytes(data))
    ext_sec = f.section(".BTF.ext")
    assert ext_sec is not None
    start, end = ext_sec.offset, ext_sec.offset + ext_sec.size
    done = 0
    for relos in o.relos.values():
        for r in relos:
            if r.kind == K.TYPE_EXISTS and o.local[r.type_id].name in names:
                rec = struct.pack("<IIII", r.insn_off, r.type_id, r.access_str_off, r.kind)
                at = data.find(rec, start, end)
                assert at >= 0
                data[at + 12:at + 16] = struct.pack("<I", K.TYPE_MATCHES)
                done += 1
    assert done == len(names)
    out = obj.with_name(obj.stem + "_matches.o")
    out.write_bytes(bytes(data))
    return out


@dataclass
class LibbpfRelo:
    spec: str = ""
    target: str = ""
    value: int | None = None
    insn: int | None = None
    poisoned: list[int] = field(default_factory=list)


_LINE = re.compile(r"prog '([^']+)': relo #(\d+): (.*)$")


def libbpf_relocations(bpftool: str, obj: Path, pin: str) -> dict[str, dict[int, LibbpfRelo]]:
    """What libbpf logs about each CO-RE relocation while loading ``obj`` (bpftool -d)."""
    run = subprocess.run([bpftool, "-d", "prog", "loadall", str(obj), pin],
                         capture_output=True, text=True)
    out: dict[str, dict[int, LibbpfRelo]] = {}
    for line in (run.stdout + run.stderr).splitlines():
        m = _LINE.search(line)
        if m is None:
            continue
        prog, n, text = m.group(1), int(m.group(2)), m.group(3)
        r = out.setdefault(prog, {}).setdefault(n, LibbpfRelo())
        if text.startswith("<"):
            r.spec = text
        elif text.startswith("matching candidate #"):
            r.target = text.split(" ", 3)[3]
        elif m2 := re.match(r"patched insn #(\d+) \(([^)]+)\) (?:imm|off|imm64) \d+ -> (\d+)",
                            text):
            r.insn, r.value = int(m2.group(1)), int(m2.group(3))
        elif m2 := re.match(r"substituting insn #(\d+) w/ invalid insn", text):
            r.poisoned.append(int(m2.group(1)))
    return out


def check_against_libbpf(obj: Obj, theirs: dict[str, dict[int, LibbpfRelo]],
                         kernel_types: btf.Spec | None = None) -> dict[str, core.Relocated]:
    relocator = core.Relocator(obj.local, kernel_types)
    results = {}
    for sec, relos in obj.relos.items():
        # libbpf numbers relocations per section and instructions from the program's start.
        progs = sorted((start, name) for name, (s, start, _) in obj.funcs.items() if s == sec)
        for start, name in progs:
            n = obj.funcs[name][2]
            first = next((i for i, r in enumerate(relos) if start <= r.insn_off // 8), 0)
            mine = [CoreRelo(r.insn_off - start * 8, r.type_id, r.access_str_off, r.kind,
                             r.access) for r in relos if start <= r.insn_off // 8 < start + n]
            code = obj.code[sec][start * 8:(start + n) * 8]
            done = relocator.relocate(code, mine, program=name)
            results[name] = done
            want = theirs[name]
            assert len(done.relocations) == len(want), name
            assert isinstance(done.instructions, bytes)
            slots: dict[int, Instruction] = {}
            slot = 0
            for item in Instructions.decode(done.instructions):
                assert isinstance(item, Instruction)
                slots[slot] = item
                slot += item.slots
            for rec in done.relocations:
                lib = want[first + rec.index]
                where = f"{name} relo #{rec.index}"
                assert rec.spec == lib.spec, where
                assert rec.target == lib.target, where
                if lib.poisoned:
                    assert rec.poisoned, where
                    assert lib.poisoned[0] == rec.insn, where
                    for i in lib.poisoned:
                        assert slots.get(i, Instruction(0x85, 0, 0, 0, core.POISON_HELPER)) \
                            == Instruction(0x85, 0, 0, 0, core.POISON_HELPER), where
                    continue
                assert not rec.poisoned, where
                assert lib.insn == rec.insn and lib.value is not None, where
                assert rec.value == lib.value, where
                insn = slots[rec.insn]
                if insn.opcode == 0x18:
                    assert insn.imm == lib.value, where
                elif insn.cls in (1, 2, 3):
                    assert insn.off == lib.value, where
                else:
                    assert insn.imm & 0xFFFFFFFF == lib.value & 0xFFFFFFFF, where
    return results


@pytest.fixture
def objdir(tmp_path: Path) -> Path:
    return tmp_path


def test_kernel_structs_as_libbpf(kernel: None, bpftool: str, vmlinux_h: Path, objdir: Path,
                                  pin_dir: str) -> None:
    obj_path = compile_bpf("core_kernel.c", objdir, vmlinux_h)
    obj_path = with_type_matches(obj_path, {"task_struct___sub", "task_struct___wide"})
    theirs = libbpf_relocations(bpftool, obj_path, os.path.join(pin_dir, "k"))
    need("core_kernel" in theirs, "bpftool -d printed no CO-RE relocations")
    obj = read_obj(obj_path)
    done = check_against_libbpf(obj, theirs)["core_kernel"]
    kinds = {r.kind for r in done.relocations}
    assert kinds == set(K)  # every relocation kind is in the object
    by_kind: dict[K, list[core.Relocation]] = {}
    for r in done.relocations:
        by_kind.setdefault(r.kind, []).append(r)
    # The ___old flavor's field is missing here: exists says 0, its read is poisoned.
    assert [r.value for r in by_kind[K.FIELD_EXISTS]] == [1, 0, 1]
    assert len(done.poisoned) == 1 and done.poisoned[0].type_name == "task_struct___old"
    assert [r.value for r in by_kind[K.TYPE_MATCHES]] == [1, 0]
    vmlinux = btf.kernel_spec()
    task = vmlinux.type_by_name("task_struct", btf.Struct)
    assert by_kind[K.TYPE_ID_TARGET][0].value == vmlinux.type_id(task)
    assert by_kind[K.TYPE_SIZE][0].value == task.size
    xdp = [v.value for v in vmlinux.type_by_name("bpf_prog_type", btf.Enum).values
           if v.name == "BPF_PROG_TYPE_XDP"][0]
    assert by_kind[K.ENUMVAL_VALUE][0].value == xdp


def test_local_types_against_libbpf(kernel: None, bpftool: str, vmlinux_h: Path, objdir: Path,
                                    pin_dir: str) -> None:
    # The kernel has no `struct hdr`: libbpf poisons the accesses, as we must.
    obj_path = compile_bpf("core_local.c", objdir, vmlinux_h)
    theirs = libbpf_relocations(bpftool, obj_path, os.path.join(pin_dir, "l"))
    results = check_against_libbpf(read_obj(obj_path), theirs)
    assert all(r.poisoned for r in results["core_local_unguarded"].relocations)


def _load_xdp(insns: bytes | Instructions, name: str) -> Program:
    if not isinstance(insns, Instructions):
        insns = Instructions.decode(insns)
    return Program.load(ProgramSpec(type=ProgramType.XDP, instructions=insns, license="GPL",
                                    name=name))


@pytest.fixture(scope="module")
def local_obj(tmp_path_factory: pytest.TempPathFactory, vmlinux_h: Path) -> Obj:
    return read_obj(compile_bpf("core_local.c", tmp_path_factory.mktemp("core"), vmlinux_h))


def _relocate_func(obj: Obj, name: str, kernel_types: btf.Spec) -> core.Relocated:
    sec, start, n = obj.funcs[name]
    relos = [CoreRelo(r.insn_off - start * 8, r.type_id, r.access_str_off, r.kind, r.access)
             for r in obj.relos[sec] if start <= r.insn_off // 8 < start + n]
    return core.Relocator(obj.local, kernel_types).relocate(
        obj.code[sec][start * 8:(start + n) * 8], relos, program=name)


PACKET = bytes(range(64))


def _u32(off: int) -> int:
    return int.from_bytes(PACKET[off:off + 4], "little")


def _u16(off: int) -> int:
    return int.from_bytes(PACKET[off:off + 2], "little")


def test_run_with_kernel_types(kernel: None, local_obj: Obj) -> None:
    mode = btf.Enum("mode", 4, values=[btf.EnumValue("MODE_B", 5)])
    moved = btf.Spec([btf.Struct("hdr", 16, [btf.Member("pad", U32, 0),
                                             btf.Member("a", U32, 32),
                                             btf.Member("b", U32, 64),
                                             btf.Member("gone", U16, 96)]), mode])
    done = _relocate_func(local_obj, "core_local", moved)
    assert not done.poisoned
    with _load_xdp(done.instructions, "core_local") as p:
        assert p.test_run(PACKET).retval == (_u32(8) + _u16(12) + (5 << 24)) & 0xFFFFFFFF
    # Without `gone` and the enumerator: guarded, so poisoned but dead; the program loads.
    missing = btf.Spec([btf.Struct("hdr", 12, [btf.Member("x", U32, 0),
                                               btf.Member("b", U32, 64)])])
    done = _relocate_func(local_obj, "core_local", missing)
    assert [r.kind for r in done.poisoned] == [K.FIELD_BYTE_OFFSET, K.ENUMVAL_VALUE]
    with _load_xdp(done.instructions, "core_local") as p:
        assert p.test_run(PACKET).retval == _u32(8)
    # The compiler's own layout, as a target: the program reads what it was compiled for.
    with _load_xdp(_relocate_func(local_obj, "core_local", local_obj.local).instructions,
                   "core_local") as p:
        assert p.test_run(PACKET).retval == (_u32(4) + _u16(8) + (2 << 24)) & 0xFFFFFFFF


def test_unguarded_missing_field_names_the_relocation(kernel: None, local_obj: Obj) -> None:
    missing = btf.Spec([btf.Struct("hdr", 8, [btf.Member("b", U32, 0)])])
    done = _relocate_func(local_obj, "core_local_unguarded", missing)
    (bad,) = done.poisoned
    with pytest.raises(VerifierError) as info:
        _load_xdp(done.instructions, "core_unguarded").close()
    assert f"{bad.insn}: (85) call unknown#{core.POISON_HELPER}" in info.value.log
    log, found = core.explain_verifier_log(info.value.log, {bad.insn: bad})
    assert found == [bad]
    assert (f"{bad.insn}: <invalid CO-RE relocation>\nfailed to resolve CO-RE relocation "
            "<byte_off> ") in log
    assert "struct hdr.gone (0:2 @ offset 8)" in log
    assert bad.message.startswith(f"program 'core_local_unguarded': instruction {bad.insn}: "
                                  "CO-RE relocation #0 <byte_off> ")
    assert "struct hdr.gone" in bad.message and "cannot be applied" in bad.message


def test_kernel_spec_relocation_is_cached(kernel: None, local_obj: Obj) -> None:
    # The second Relocator reuses the essential-name index of the cached kernel spec.
    kernel_types = btf.kernel_spec()
    first = _relocate_func(local_obj, "core_local", kernel_types)
    second = _relocate_func(local_obj, "core_local", kernel_types)
    assert first == second



# --- externs -----------------------------------------------------------------------------------

_EXT = re.compile(r"libbpf: extern \((kcfg|ksym)\) #(\d+): symbol \d+, (?:off (\d+), )?name (\S+)")


def _externs_of(path: Path) -> list[externs.Extern]:
    f = ELFFile(path.read_bytes())
    sec = f.section(".BTF")
    assert sec is not None
    weak = {s.name for s in f.symbols() if s.bind == 2}  # STB_WEAK
    return externs.find_externs(btf.Spec.from_bytes(f.data(sec)), weak)


def test_kconfig_as_libbpf(kernel: None, bpftool: str, vmlinux_h: Path, objdir: Path,
                           pin_dir: str) -> None:
    obj = compile_bpf("core_externs.c", objdir, vmlinux_h)
    progs, maps = os.path.join(pin_dir, "p"), os.path.join(pin_dir, "m")
    os.mkdir(maps)
    run = subprocess.run([bpftool, "-d", "prog", "loadall", str(obj), progs, "pinmaps", maps],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    found = _externs_of(obj)
    layout = externs.kconfig_layout(found)
    # libbpf's extern order and offsets.
    theirs = [(m.group(4), int(m.group(3)) if m.group(3) else None)
              for m in _EXT.finditer(run.stderr)]
    order = sorted((int(m.group(2)), m.group(4)) for m in _EXT.finditer(run.stderr))
    assert [name for _, name in order] == [e.name for e in found]
    assert {n: off for n, off in theirs if off is not None} == layout.offsets
    # The .kconfig map's value, byte for byte.
    (pinned,) = [p for p in os.listdir(maps) if p.endswith("kconfig")]
    dump = subprocess.run([bpftool, "map", "dump", "pinned", os.path.join(maps, pinned), "-j"],
                          capture_output=True, text=True, check=True)
    value = bytes(int(x, 16) for x in json.loads(dump.stdout)[0]["value"])
    assert externs.kconfig_data(layout) == value
    # The untyped ksym's address, as libbpf set it; the missing weak one is 0.
    ksyms = externs.resolve_ksyms(found)
    m = re.search(r"extern \(ksym\) '__x64_sys_bpf': set to (0x[0-9a-f]+)", run.stderr)
    assert m is not None and ksyms["__x64_sys_bpf"].address == int(m.group(1), 16)
    assert not ksyms["no_such_symbol_here"].resolved


def test_typed_ksyms_as_libbpf(kernel: None, bpftool: str, vmlinux_h: Path, objdir: Path,
                               pin_dir: str) -> None:
    # This kernel's kallsyms has no data symbols, so the load itself fails on the per-CPU
    # variable ("failed to find the address"); libbpf resolves the externs before that.
    obj = compile_bpf("core_ksyms.c", objdir, vmlinux_h)
    run = subprocess.run([bpftool, "-d", "prog", "loadall", str(obj),
                          os.path.join(pin_dir, "t")], capture_output=True, text=True)
    theirs: dict[str, int] = {}
    for m in re.finditer(r"extern \((?:var|func) ksym\) '(\w+)': resolved to (?:kernel )?"
                         r"\[(\d+)\]", run.stderr):
        theirs[m.group(1)] = int(m.group(2))
    weak = set(re.findall(r"extern '(\w+)' \(weak\): not resolved", run.stderr))
    need(bool(theirs), "bpftool -d printed no ksym resolution")
    ksyms = externs.resolve_ksyms(_externs_of(obj))
    assert {n: k.btf_id for n, k in ksyms.items() if k.resolved} == theirs
    assert {n for n, k in ksyms.items() if not k.resolved} == weak
    assert {n for n, k in ksyms.items() if k.func} == {"bpf_task_acquire", "bpf_task_release",
                                                        "bpf_no_such_kfunc"}


# --- through Collection.load -------------------------------------------------------------------


def _xlated_lines(text: str) -> list[str]:
    return [re.sub(r"map\[id:\d+\]", "map[id:N]", line).strip() for line in text.splitlines()
            if re.match(r"\s*\d+:", line)]


@pytest.mark.parametrize("source, program", [("core_kernel.c", "core_kernel"),
                                             ("core_externs.c", "core_externs")])
def test_collection_as_libbpf(kernel: None, bpftool: str, vmlinux_h: Path, objdir: Path,
                              pin_dir: str, source: str, program: str) -> None:
    from bpfobj import Collection, CollectionSpec

    obj = compile_bpf(source, objdir, vmlinux_h)
    if program == "core_kernel":
        obj = with_type_matches(obj, {"task_struct___sub", "task_struct___wide"})
    progs, maps = os.path.join(pin_dir, "p"), os.path.join(pin_dir, "m")
    os.mkdir(maps)
    subprocess.run([bpftool, "prog", "loadall", str(obj), progs, "pinmaps", maps],
                   check=True, capture_output=True)
    pinned = os.path.join(progs, program)
    theirs = subprocess.run([bpftool, "prog", "dump", "xlated", "pinned", pinned],
                            capture_output=True, text=True, check=True).stdout
    info = json.loads(subprocess.run([bpftool, "prog", "show", "pinned", pinned, "-j"],
                                     capture_output=True, text=True, check=True).stdout)
    with Collection.load(CollectionSpec.from_file(obj)) as coll:
        prog = coll.programs[program]
        assert prog.info().tag == info["tag"]
        assert _xlated_lines(str(prog.xlated())) == _xlated_lines(theirs)
        if ".kconfig" in coll.maps:
            (kc,) = [p for p in os.listdir(maps) if p.endswith("kconfig")]
            dump = subprocess.run([bpftool, "map", "dump", "pinned", os.path.join(maps, kc),
                                   "-j"], capture_output=True, text=True, check=True)
            want = bytes(int(x, 16) for x in json.loads(dump.stdout)[0]["value"])
            assert coll.maps[".kconfig"].lookup(0) == want


def test_collection_reads_kernel_structs(kernel: None, vmlinux_h: Path, objdir: Path) -> None:
    from bpfobj import Collection, CollectionSpec, Link

    obj = with_type_matches(compile_bpf("core_kernel.c", objdir, vmlinux_h),
                            {"task_struct___sub", "task_struct___wide"})
    vmlinux = btf.kernel_spec()
    task = vmlinux.type_by_name("task_struct", btf.Struct)
    with Collection.load(CollectionSpec.from_file(obj)) as coll:
        with Link.attach_tracepoint(coll.programs["core_kernel"], "syscalls",
                                    "sys_enter_getpid"):
            os.getpid()
        value = coll.maps[".bss"].lookup(0)
        assert isinstance(value, bytes)
        out = struct.unpack("<24Q", value)
    assert out[2:4] == (1, 0)                       # __state exists, ___old's state does not
    assert out[4] == 0                              # the guarded, poisoned read: dead code
    assert out[5:10] == (16, 4, 1, 0, task.size)    # sizes, type exists, type size
    assert out[10] == vmlinux.type_id(task)
    assert out[12:17] == (1, 6, 0, 1, 0)            # enum value exists/value; type matches
    assert out[19:21] == (1, 1)                     # pid is signed; ___sub's tgid exists
    if out[21] == os.getpid():  # this process made the last getpid (not another one)
        assert out[0] == threading.get_native_id() and out[1] == os.getppid()
