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
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks._common import fuzz_main, seed_corpus  # noqa: E402


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


def _corpus(name: str) -> str:
    if name == "format":
        paths = glob.glob("/sys/kernel/tracing/events/syscalls/sys_enter_open*/format")[:4]
    elif name == "mountinfo":
        paths = ["/proc/self/mountinfo"]
    else:
        paths = glob.glob("/usr/lib/x86_64-linux-gnu/libc.so.6")[:1]
    seeds = {}
    for i, path in enumerate(paths):
        try:
            with open(path, "rb") as src:
                seeds[f"seed{i}"] = src.read(1 << 22)
        except OSError:
            continue
    return seed_corpus(name, seeds)


def main() -> int:
    return fuzz_main(TARGETS, MODULES, default="mountinfo", runs=20_000, corpus=_corpus)


if __name__ == "__main__":
    sys.exit(main())
