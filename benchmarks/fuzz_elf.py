"""Coverage-guided fuzzing of the ELF reader and CollectionSpec with atheris.

    python benchmarks/fuzz_elf.py [elf|collection] [-runs=N]

The input seeds are the BPF objects of the system (libxdp's, when present) and
libFuzzer mutates from there. Each target must return or raise ValueError;
anything else is a finding (atheris stops and prints the input).
tests/unit/test_elf_parse.py is the hypothesis version that CI runs.
"""

from __future__ import annotations

import glob
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks._common import fuzz_main, seed_corpus  # noqa: E402


def target_elf(data: bytes) -> None:
    from bpfobj._internal import elf

    try:
        e = elf.ELFFile(data)
        for sec in e.sections:
            e.data(sec)
        e.symbols()
        e.dynamic_symbols()
        for rel, _ in e.relocation_sections():
            e.relocations(rel)
    except ValueError:
        pass


def target_collection(data: bytes) -> None:
    from bpfobj.collection import CollectionSpec

    try:
        CollectionSpec.from_bytes(data)
    except ValueError:
        pass


TARGETS = {"elf": target_elf, "collection": target_collection}
MODULES = {"elf": "bpfobj._internal.elf", "collection": "bpfobj.collection"}


def _corpus(name: str) -> str:
    seeds = {}
    for path in glob.glob("/usr/lib/*/bpf/*.o")[:8]:
        with open(path, "rb") as src:
            seeds[os.path.basename(path)] = src.read()
    return seed_corpus("elf", seeds)


def main() -> int:
    return fuzz_main(TARGETS, MODULES, default="elf", runs=20_000, corpus=_corpus)


if __name__ == "__main__":
    sys.exit(main())
