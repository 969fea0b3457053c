"""What the benchmark scripts and the atheris harnesses share.

Owns the C baseline build (``cc -O2`` into benchmarks/c/bin/, skipped when the
binary is newer), the JSON writer, and the entry point of every fuzz harness.
Imports only the standard library (and atheris, inside ``fuzz_main``), so that a
harness can instrument bpfobj's modules as they are first imported.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from typing import Any, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
C_BIN_DIR = os.path.join(HERE, "c", "bin")


def build_c(source: str, *link: str, out: Optional[str] = None,
            cc: str = "cc") -> Optional[str]:
    """Compile ``source`` with ``cc -O2 -Wall`` and ``link`` unless the binary is newer.

    The binary goes to benchmarks/c/bin/<stem> unless ``out`` names it. Returns its
    path, or None (with a note on stderr) when there is no compiler or the build fails,
    so that the C column stays empty.
    """
    if out is None:
        out = os.path.join(C_BIN_DIR, os.path.splitext(os.path.basename(source))[0])
    if os.path.exists(out) and os.path.getmtime(out) >= os.path.getmtime(source):
        return out
    if shutil.which(cc) is None:
        print(f"note: no C compiler ({cc}); the C column stays empty", file=sys.stderr)
        return None
    os.makedirs(os.path.dirname(out), exist_ok=True)
    done = subprocess.run([cc, "-O2", "-Wall", "-o", out, source, *link], capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        print(f"note: cannot build {os.path.basename(source)}: {done.stderr.strip()}",
              file=sys.stderr)
        return None
    return out


def write_json(doc: Any, out: str, indent: int = 2) -> None:
    """Write ``doc`` to ``out`` (making its directory) and say so."""
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        json.dump(doc, f, indent=indent)
    print(f"wrote {out}")


def seed_corpus(name: str, seeds: Mapping[str, bytes]) -> str:
    """A fresh temporary corpus directory for target ``name`` holding ``seeds``."""
    corpus = tempfile.mkdtemp(prefix=f"fuzz-{name}-")
    for file, data in seeds.items():
        with open(os.path.join(corpus, file), "wb") as f:
            f.write(data)
    return corpus


def fuzz_main(targets: Mapping[str, Callable[[bytes], None]], modules: Mapping[str, str], *,
              default: str, runs: int,
              corpus: Optional[Callable[[str], str]] = None) -> int:
    """Run one atheris target named on the command line (``all``: each in a child).

    ``argv`` is ``[TARGET ...] [-libfuzzer-flag ...]``; without flags, ``-runs=<runs>``.
    ``modules[target]`` is instrumented as it is imported (or, if the package imported
    it already, with everything loaded); without an entry everything loaded is.
    ``corpus(target)`` returns a seeded corpus directory. libFuzzer prints
    "Done N runs in S second(s)" at the end, or the crashing input.
    """
    try:
        import atheris
    except ImportError:
        print("atheris is not installed (pip install atheris); nothing to do")
        return 0
    args = [a for a in sys.argv[1:] if not a.startswith("-")]
    flags = [a for a in sys.argv[1:] if a.startswith("-")] or [f"-runs={runs}"]
    names = args or [default]
    if names == ["all"]:
        names = list(targets)
    if len(names) > 1:
        # atheris.Fuzz() ends the process when its runs are done: one child per target.
        for name in names:
            rc = subprocess.call([sys.executable, sys.argv[0], name, *flags])
            if rc:
                return rc
        return 0
    name = names[0]
    dirs = [corpus(name)] if corpus is not None else []
    atheris.Setup([sys.argv[0], *flags, *dirs], targets[name])
    module = modules.get(name)
    if module is None or module in sys.modules:
        atheris.instrument_all()  # imported already: instrument what is loaded
    else:
        import importlib

        with atheris.instrument_imports():
            importlib.import_module(module)
    atheris.Fuzz()
    return 0
