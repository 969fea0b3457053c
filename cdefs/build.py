"""Build the cffi module bpfobj._bpfobj_cffi from the declarations in cdefs/.

Read only at build time (setup.py's ``cffi_modules``); it is not part of the
installed package and nothing at run time imports it. It assembles the headers
of cdefs/ into the cdef and compiles cdefs/bpfobj.c with them, in cffi's API
out-of-line mode.
"""

from __future__ import annotations

import pathlib
import re

from cffi import FFI

_ROOT = pathlib.Path(__file__).resolve().parent.parent
_CDEFS = _ROOT / "cdefs"
# Order matters: bpfobj.h uses the types of bpf.h; events.h those of bpf.h
# and perf_event.h.
_HEADERS = ("bpf.h", "perf_event.h", "bpfobj.h", "events.h", "btf.h")
# The C source: the uapi subsets and struct declarations, then the helpers.
_C_PARTS = ("bpf.h", "perf_event.h", "bpfobj.c", "events.h", "events.c", "btf.h", "btf.c")


def _version() -> str:
    text = (_ROOT / "bpfobj" / "_version.py").read_text()
    match = re.search(r'^__version__ = "([^"]+)"', text, re.M)
    if match is None:
        raise RuntimeError("bpfobj/_version.py has no __version__")
    return match.group(1)


def _c_text(cdef: str) -> str:
    """Turn cdef text into C: drop cffi's ``...;`` "layout from the compiler" markers.

    cffi lays out a nested struct that starts with an anonymous union wrongly
    in API mode; bpf.h avoids that shape, and may mark a struct flexible with
    ``...;``, which only cffi understands.
    """
    return re.sub(r"^\s*\.\.\.;\n", "", cdef, flags=re.M)


ffibuilder = FFI()
ffibuilder.cdef("\n".join((_CDEFS / name).read_text() for name in _HEADERS))
ffibuilder.set_source(
    "bpfobj._bpfobj_cffi",
    f'#define BPFOBJ_VERSION_STRING "{_version()}"\n#include <stddef.h>\n'
    + "\n".join(_c_text((_CDEFS / name).read_text()) for name in _C_PARTS),
    depends=[str(_CDEFS / n) for n in sorted({*_HEADERS, *_C_PARTS})],
    extra_compile_args=["-O2"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
