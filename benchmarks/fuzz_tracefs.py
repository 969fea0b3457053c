"""Coverage-guided fuzzing of the tracefs and uprobe parsers with atheris.

    python benchmarks/fuzz_tracefs.py [mountinfo|format|executable] [-runs=N]

``mountinfo``: tracefs.parse_mountinfo (never raises); ``format``:
tracefs.parse_format over event format files (seeded from this machine's
tracefs when mounted); ``executable``: link.Executable's symbol table (any
ValueError is fine, seeded with the system's libc). Anything else that
escapes is a finding. tests/unit/test_tracefs_parse.py is the hypothesis
version that CI runs.
"""

from __future__ import annotations

import glob
import importlib
import os
import sys
import tempfile


def target_mountinfo(data: bytes) -> None:
    from bpfobj._internal import tracefs

    for path in tracefs.parse_mountinfo(data):
        assert isinstance(path, str)


def target_format(data: bytes) -> None:
    from bpfobj._internal import tracefs

    for name, (off, size) in tracefs.parse_format(data).items():
        assert isinstance(name, str) and off >= 0 and size >= 0


def target_executable(data: bytes) -> None:
    from bpfobj._internal import elf
    from bpfobj.link import uprobe

    try:
        uprobe._function_offsets(elf.ELFFile(data))
    except ValueError:
        pass


TARGETS = {"mountinfo": target_mountinfo, "format": target_format,
           "executable": target_executable}
MODULES = {"mountinfo": "bpfobj._internal.tracefs", "format": "bpfobj._internal.tracefs",
           "executable": "bpfobj.link.uprobe"}


def _seeds(name: str, corpus: str) -> None:
    if name == "format":
        paths = glob.glob("/sys/kernel/tracing/events/syscalls/sys_enter_open*/format")[:4]
    elif name == "mountinfo":
        paths = ["/proc/self/mountinfo"]
    else:
        paths = glob.glob("/usr/lib/x86_64-linux-gnu/libc.so.6")[:1]
    for i, path in enumerate(paths):
        try:
            with open(path, "rb") as src:
                data = src.read(1 << 22)
        except OSError:
            continue
        with open(os.path.join(corpus, f"seed{i}"), "wb") as dst:
            dst.write(data)


def main() -> int:
    try:
        import atheris
    except ImportError:
        print("atheris is not installed (pip install atheris); nothing to do")
        return 0
    args = [a for a in sys.argv[1:] if not a.startswith("-")]
    flags = [a for a in sys.argv[1:] if a.startswith("-")] or ["-runs=20000"]
    name = args[0] if args else "mountinfo"
    corpus = tempfile.mkdtemp(prefix=f"fuzz-{name}-")
    _seeds(name, corpus)
    # Run from a checkout: the package beside this directory, not an installed one.
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    atheris.Setup([sys.argv[0], *flags, corpus], TARGETS[name])
    with atheris.instrument_imports():
        importlib.import_module(MODULES[name])
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    sys.exit(main())
