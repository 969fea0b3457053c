"""C sources of the test objects, compiled once per test session by ``objects()``."""

from __future__ import annotations

import atexit
import functools
import os
import platform
import shutil
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
LIBXDP = "/usr/lib/x86_64-linux-gnu/bpf"


def _arch_include() -> str:
    machine = {"x86_64": "x86_64", "aarch64": "aarch64"}.get(platform.machine(),
                                                            platform.machine())
    return f"/usr/include/{machine}-linux-gnu"


@functools.lru_cache(maxsize=1)
def objects() -> dict[str, str]:
    """Compile every ``*.bpf.c`` here with ``clang -g -O2 -target bpf -c``: name -> path."""
    out = tempfile.mkdtemp(prefix="bpfobj-objs-")
    atexit.register(shutil.rmtree, out, True)
    with open(os.path.join(out, "vmlinux.h"), "w") as header:  # for core.bpf.c
        subprocess.run(["bpftool", "btf", "dump", "file", "/sys/kernel/btf/vmlinux",
                        "format", "c"], check=True, stdout=header)
    built = {}
    for src in sorted(os.listdir(HERE)):
        if not src.endswith(".bpf.c"):
            continue
        name = src[:-len(".c")]
        dst = os.path.join(out, name + ".o")
        subprocess.run(["clang", "-g", "-O2", "-target", "bpf", "-I", _arch_include(), "-I",
                        out, "-c", os.path.join(HERE, src), "-o", dst], check=True,
                       capture_output=True)
        built[name] = dst
    return built


def big_endian_object() -> bytes:
    """rodata.bpf.c compiled for big-endian BPF (-target bpfeb)."""
    out = tempfile.mkdtemp(prefix="bpfobj-objs-")
    try:
        dst = os.path.join(out, "rodata.bpfeb.o")
        subprocess.run(["clang", "-g", "-O2", "-target", "bpfeb", "-I", _arch_include(), "-c",
                        os.path.join(HERE, "rodata.bpf.c"), "-o", dst], check=True,
                       capture_output=True)
        with open(dst, "rb") as f:
            return f.read()
    finally:
        shutil.rmtree(out, ignore_errors=True)
