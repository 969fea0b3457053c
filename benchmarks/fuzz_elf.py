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
import tempfile


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


def main() -> int:
    try:
        import atheris
    except ImportError:
        print("atheris is not installed (pip install atheris); nothing to do")
        return 0
    args = [a for a in sys.argv[1:] if not a.startswith("-")]
    flags = [a for a in sys.argv[1:] if a.startswith("-")] or ["-runs=20000"]
    name = args[0] if args else "elf"
    corpus = tempfile.mkdtemp(prefix="fuzz-elf-")
    for path in glob.glob("/usr/lib/*/bpf/*.o")[:8]:
        with open(path, "rb") as src, open(os.path.join(corpus, os.path.basename(path)),
                                           "wb") as dst:
            dst.write(src.read())
    import importlib

    # Run from a checkout: the package beside this directory, not an installed one.
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    atheris.Setup([sys.argv[0], *flags, corpus], TARGETS[name])
    with atheris.instrument_imports():
        importlib.import_module(MODULES[name])
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    sys.exit(main())
