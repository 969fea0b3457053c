"""format_c: the vmlinux.h it writes compiles, and every size and offset in it is the BTF's.

The oracle is clang itself: ``_Static_assert``s on ``sizeof`` and ``__builtin_offsetof`` of
every named struct, union, enum and typedef, generated from the BTF, must all hold when
compiled for the BPF target and for the host; bitfield positions, which C cannot take
``offsetof`` of, are checked by a host program that sets each bitfield and looks at the
bits. A BPF program built against the header (CO-RE reads of task_struct) loads with
bpftool. The header is written and compiled once per session.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.fuzz_btf_format import SEED
from bpfobj import btf
from bpfobj.btf.format import CFormatter, enum_attribute

from .conftest import need

CLANG = shutil.which("clang")

# The cached kernel spec keeps its read-only mapping of /sys/kernel/btf/vmlinux, and
# Python's mmap holds a descriptor for it: open it before the module's fd-leak baseline.
if os.path.exists("/sys/kernel/btf/vmlinux"):
    btf.kernel_spec()


@functools.cache
def vmlinux_header() -> tuple[str, CFormatter]:
    """(directory holding vmlinux.h from format_c() of this kernel, its formatter).

    Shared with test_btf_values; the directory goes away when the session ends.
    """
    spec = btf.kernel_spec()
    f = CFormatter(spec)
    text = f.format()
    assert text == spec.format_c()
    d = tempfile.mkdtemp(prefix="bpfobj-vmlinux-h-")
    atexit.register(shutil.rmtree, d, True)
    with open(os.path.join(d, "vmlinux.h"), "w") as out:
        out.write(text)
    return d, f


def clang_check(src: str, *flags: str, cwd: str) -> subprocess.CompletedProcess[str]:
    need(CLANG is not None, "clang is not installed")
    assert CLANG is not None
    return subprocess.run([CLANG, *flags, "-fsyntax-only", "-ferror-limit=0", "-x", "c", "-"],
                          input=src, capture_output=True, text=True, cwd=cwd)


def layout_asserts(types: list[btf.Type], names: dict[btf.Type, str]) -> list[str]:
    """_Static_asserts on sizeof and offsetof of every named type, from the BTF."""
    out: list[str] = []
    for i, t in enumerate(types):
        if isinstance(t, btf.Composite) and t.name:
            word = "union" if isinstance(t, btf.Union) else "struct"
            c = f"{word} {names.get(t, t.name)}"
            out.append(f'_Static_assert(sizeof({c}) == {t.size}, "{i}");')
            stack = [(t, 0)]
            while stack:
                s, base = stack.pop()
                for m in s.members:
                    if m.name:
                        if not m.bitfield_size:
                            out.append(f"_Static_assert(__builtin_offsetof({c}, {m.name}) == "
                                       f'{(base + m.offset) // 8}, "{i} {m.name}");')
                        continue
                    u = btf.underlying_type(m.type)
                    if isinstance(u, btf.Composite):  # anonymous: its members are ours
                        stack.append((u, base + m.offset))
        elif isinstance(t, btf.Enum) and t.name:
            out.append(f'_Static_assert(sizeof(enum {names.get(t, t.name)}) == {t.size}, "{i}");')
        elif isinstance(t, btf.Typedef) and t.name != "__builtin_va_list":
            try:
                size = btf.sizeof(t)
            except ValueError:
                continue  # a typedef of a function type
            out.append(f'_Static_assert(sizeof({names.get(t, t.name)}) == {size}, "{i}");')
    return out


def bitfield_checks(types: list[btf.Type], names: dict[btf.Type, str]) -> list[str]:
    """One BF(type, member, bit offset, width) line per writable bitfield of a named type."""
    out: list[str] = []
    for t in types:
        if not (isinstance(t, btf.Composite) and t.name):
            continue
        word = "union" if isinstance(t, btf.Union) else "struct"
        c = f"{word} {names.get(t, t.name)}"
        stack = [(t, 0)]
        while stack:
            s, base = stack.pop()
            for m in s.members:
                if m.name:
                    if m.bitfield_size and not isinstance(m.type, btf.Const):
                        out.append(f"BF({c}, {m.name}, {base + m.offset}, {m.bitfield_size});")
                    continue
                u = btf.underlying_type(m.type)
                if isinstance(u, btf.Composite):
                    stack.append((u, base + m.offset))
    return out


BITFIELD_PROGRAM = r"""#include "vmlinux.h"
int printf(const char *, ...);
static int bad;
static void check(const unsigned char *b, unsigned long n, unsigned long off,
                  unsigned long w, const char *what)
{
	unsigned long first = ~0UL, count = 0, i;
	for (i = 0; i < n * 8; i++)
		if (b[i / 8] >> (i % 8) & 1) {
			if (first == ~0UL)
				first = i;
			count++;
		}
	if (first != off || count != w) {
		bad++;
		printf("%s: bit %lu width %lu, BTF says %lu %lu\n", what, first, count, off, w);
	}
}
#define BF(S, F, OFF, W) do { union { S s; unsigned char b[sizeof(S)]; } u; \
	__builtin_memset(&u, 0, sizeof(u)); u.s.F = -1; \
	check(u.b, sizeof(S), OFF, W, #S "." #F); } while (0)
int main(void)
{
CHECKS
	printf("%d bad\n", bad);
	return bad != 0;
}
"""


@pytest.fixture(scope="module")
def header() -> tuple[str, CFormatter]:
    need(os.path.exists("/sys/kernel/btf/vmlinux"), "no /sys/kernel/btf/vmlinux")
    return vmlinux_header()


def test_header_has_the_guard_and_the_co_re_pragma(header: tuple[str, CFormatter]) -> None:
    d, _ = header
    with open(os.path.join(d, "vmlinux.h")) as f:
        text = f.read()
    assert text.startswith("#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n")
    assert ("#pragma clang attribute push (__attribute__((preserve_access_index)), "
            "apply_to = record)") in text
    assert "#pragma clang attribute pop" in text
    assert text.rstrip().endswith("#endif /* __VMLINUX_H__ */")
    assert "struct task_struct {" in text


HOST = ["-DBPF_NO_PRESERVE_ACCESS_INDEX"]  # the attribute exists for the BPF target only


@pytest.mark.parametrize("target", [["-target", "bpf"], HOST], ids=["bpf", "host"])
def test_every_size_and_offset_is_the_btf_one(header: tuple[str, CFormatter],
                                              target: list[str]) -> None:
    d, f = header
    asserts = layout_asserts(f.types, f.names)
    assert len(asserts) > 50_000  # this kernel: about 73,000
    r = clang_check('#include "vmlinux.h"\n' + "\n".join(asserts) + "\n", *target, "-Wall",
                    "-Wno-unused", cwd=d)
    failed = [line for line in r.stderr.splitlines() if "error:" in line]
    assert r.returncode == 0 and not failed, "\n".join(failed[:20])


def test_every_bitfield_is_where_the_btf_says(header: tuple[str, CFormatter],
                                              tmp_path: str) -> None:
    d, f = header
    checks = bitfield_checks(f.types, f.names)
    assert len(checks) > 1000  # this kernel: about 1,700
    src = os.path.join(d, "bitfields.c")
    with open(src, "w") as out:
        out.write(BITFIELD_PROGRAM.replace("CHECKS", "\n".join(checks)))
    exe = os.path.join(str(tmp_path), "bitfields")
    assert CLANG is not None
    build = subprocess.run([CLANG, "-O0", "-w", src, "-o", exe], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-3000:]
    run = subprocess.run([exe], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:]
    assert run.stdout.strip().endswith("0 bad")


CORE_PROGRAM = r"""#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct { pid_t tgid; char comm[16]; __u64 start; });
} seen SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getpid")
int on_getpid(struct trace_event_raw_sys_enter *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 zero = 0;
	typeof(*(typeof(&seen.value[0]))0) *v = 0;
	v = bpf_map_lookup_elem(&seen, &zero);
	if (!v)
		return 0;
	v->tgid = BPF_CORE_READ(task, tgid);
	BPF_CORE_READ_STR_INTO(&v->comm, task, comm);
	v->start = BPF_CORE_READ(task, start_time) + ctx->id;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
"""


@pytest.fixture
def core_object(header: tuple[str, CFormatter], tmp_path: str) -> Iterator[str]:
    d, _ = header
    src = os.path.join(str(tmp_path), "core.bpf.c")
    with open(src, "w") as out:
        out.write(CORE_PROGRAM)
    obj = os.path.join(str(tmp_path), "core.bpf.o")
    need(CLANG is not None, "clang is not installed")
    assert CLANG is not None
    r = subprocess.run([CLANG, "-g", "-O2", "-target", "bpf", "-I", d, "-c", src, "-o", obj],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    yield obj


def test_a_program_built_on_the_header_loads(core_object: str, bpftool: str,
                                             pin_dir: str) -> None:
    pin = os.path.join(pin_dir, "on_getpid")
    r = subprocess.run([bpftool, "prog", "load", core_object, pin], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    show = subprocess.run([bpftool, "-j", "prog", "show", "pinned", pin], capture_output=True,
                          text=True, check=True)
    assert '"type":"tracepoint"' in show.stdout
    assert '"name":"on_getpid"' in show.stdout


# ---- small specs built by hand: each corner compiled with its asserts


def compile_spec(types: list[btf.Type], tmp_path: str) -> tuple[str, CFormatter]:
    spec = btf.Spec(types)
    f = CFormatter(spec)
    text = f.format()
    asserts = layout_asserts(f.types, f.names)
    with open(os.path.join(str(tmp_path), "vmlinux.h"), "w") as out:
        out.write(text)
    src = '#include "vmlinux.h"\n' + "\n".join(asserts) + "\n"
    for target in (["-target", "bpf"], HOST):
        r = clang_check(src, *target, "-Wall", "-Wno-pragma-clang-attribute", cwd=str(tmp_path))
        assert r.returncode == 0 and "warning" not in r.stderr, r.stderr + text
    return text, f


U8 = btf.Int("unsigned char", 1)
U16 = btf.Int("short unsigned int", 2)
U32 = btf.Int("unsigned int", 4)
S32 = btf.Int("int", 4, btf.IntEncoding.SIGNED)
U64 = btf.Int("long long unsigned int", 8)
CHAR = btf.Int("char", 1, btf.IntEncoding.SIGNED)


def test_packed_and_padded_structs(tmp_path: str) -> None:
    # u8 then u32 at byte 1: only packed puts it there; size 5 is no multiple of 4 either.
    packed = btf.Struct("packed_one", 5, [btf.Member("a", U8, 0), btf.Member("b", U32, 8)])
    # a gap C would not leave (b at 8, not 4) and tail bytes up to 64: unnamed bitfields.
    padded = btf.Struct("padded", 64, [btf.Member("a", U32, 0), btf.Member("b", U32, 64)])
    # member-less 8-byte union (what bpftool 7.1 writes empty), and a union wider than
    # its members.
    empty = btf.Union("release_like", 8, [])
    wide = btf.Union("wide", 12, [btf.Member("a", U32, 0), btf.Member("b", U16, 0)])
    outer = btf.Struct("outer", 24, [btf.Member("c", CHAR, 0), btf.Member("p", packed, 8),
                                     btf.Member("w", wide, 64)])
    # a gap too long for bitfield lines: one byte array
    big = btf.Struct("big_gap", 16384, [btf.Member("a", U32, 0), btf.Member("b", U32, 65536)])
    text, _ = compile_spec([packed, padded, empty, wide, outer, big], tmp_path)
    assert "unsigned char __pad_4[8188];" in text
    assert "} __attribute__((packed));" in text
    assert "long: 64;" in text
    assert "union release_like {\n\tlong: 64;\n};" in text


def test_bitfields_and_anonymous_members(tmp_path: str) -> None:
    anon = btf.Struct("", 4, [btf.Member("x", U32, 0, 3), btf.Member("y", U32, 3, 7)])
    inner_union = btf.Union("", 8, [btf.Member("q", U64, 0), btf.Member("r", U32, 0)])
    s = btf.Struct("bits", 24, [
        btf.Member("a", U8, 0, 1), btf.Member("b", U8, 1, 6), btf.Member("", anon, 32),
        btf.Member("c", U64, 64, 40), btf.Member("", inner_union, 128)])
    text, _ = compile_spec([s, anon, inner_union], tmp_path)
    assert "unsigned char a: 1;" in text
    assert "\tstruct {\n\t\tunsigned int x: 3;" in text


def test_enum_sizes_and_values(tmp_path: str) -> None:
    one = btf.Enum("one_byte", 1, False, [btf.EnumValue("A1", 0), btf.EnumValue("B1", 200)])
    two = btf.Enum("two_bytes", 2, False, [btf.EnumValue("A2", 1)])
    neg = btf.Enum("negative", 1, True, [btf.EnumValue("A3", -1), btf.EnumValue("B3", 5)])
    big = btf.Enum("big", 8, False, [btf.EnumValue("A4", 0),
                                     btf.EnumValue("B4", 0xFFFFFFFFFFFFFFFF)])
    wide = btf.Enum("wide_small", 8, True, [btf.EnumValue("A5", 1)])
    anon = btf.Enum("", 4, False, [btf.EnumValue("A1", 7)])  # a name another enum has
    text, _ = compile_spec([one, two, neg, big, wide, anon], tmp_path)
    assert enum_attribute(one) == " __attribute__((packed))"
    assert enum_attribute(two) == " __attribute__((mode(HI)))"
    assert enum_attribute(big) == ""
    assert "B4 = 18446744073709551615ULL," in text
    assert "A1___2 = 7," in text


def test_declarators_forward_declarations_and_name_clashes(tmp_path: str) -> None:
    node = btf.Struct("node", 16, [])
    node.members = [btf.Member("next", btf.Pointer(node), 0), btf.Member("val", S32, 64)]
    fwd = btf.Fwd("opaque", btf.FwdKind.UNION)
    proto = btf.FuncProto(S32, [btf.FuncParam("n", btf.Pointer(node)),
                                btf.FuncParam("", btf.Pointer(fwd))])
    variadic = btf.FuncProto(btf.Void(), [btf.FuncParam("fmt", btf.Pointer(btf.Const(CHAR))),
                                          btf.FuncParam("", btf.Void())])
    cb = btf.Typedef("cb_t", btf.Pointer(proto))
    arr = btf.Array(btf.Pointer(variadic), U32, 4)
    user = btf.Struct("user", 56, [
        btf.Member("cb", cb, 0), btf.Member("logs", arr, 64),
        btf.Member("cp", btf.Const(btf.Pointer(btf.Volatile(U32))), 320),
        btf.Member("grid", btf.Pointer(btf.Array(U8, U32, 3)), 384)])
    twin = btf.Struct("node", 4, [btf.Member("x", S32, 0)])  # a second "struct node"
    text, f = compile_spec([cb, user, node, fwd, twin], tmp_path)
    assert "union opaque;" in text
    assert "typedef int (*cb_t)(struct node *n, union opaque *);" in text
    assert "void (*logs[4])(const char *fmt, ...);" in text
    assert "volatile unsigned int * const cp;" in text.replace("*const", "* const")
    assert "unsigned char (*grid)[3];" in text
    assert f.names[twin] == "node___2"
    assert text.index("struct node;") < text.index("typedef int (*cb_t)")


def test_a_struct_that_contains_itself_is_a_value_error() -> None:
    s = btf.Struct("loop", 8, [])
    s.members = [btf.Member("me", s, 0)]
    with pytest.raises(ValueError, match="contains itself"):
        btf.Spec([s]).format_c()
    t1 = btf.Typedef("t1", btf.Void())
    t2 = btf.Typedef("t2", t1)
    t1.type = t2
    with pytest.raises(ValueError, match="type"):
        btf.Spec([t1, t2]).format_c()


@settings(max_examples=150, deadline=None)
@given(edits=st.lists(st.tuples(st.integers(0, len(SEED) - 1), st.integers(0, 255)),
                      min_size=1, max_size=8))
def test_format_c_of_crafted_btf_raises_only_value_error(edits: list[tuple[int, int]]) -> None:
    blob = bytearray(SEED)
    for pos, byte in edits:
        blob[pos] = byte
    try:
        spec = btf.Spec.from_bytes(bytes(blob))
    except ValueError:
        return
    try:
        spec.format_c()
    except ValueError:
        pass


def test_deeply_nested_anonymous_types_are_a_value_error() -> None:
    t: btf.Type = btf.Int("int", 4, btf.IntEncoding.SIGNED)
    for _ in range(2000):
        t = btf.Struct("", 4, [btf.Member("x", t, 0)])
    with pytest.raises(ValueError, match="nested"):
        btf.Spec([btf.Struct("deep", 4, [btf.Member("d", t, 0)])]).format_c()
