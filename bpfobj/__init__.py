"""bpfobj: Linux eBPF objects (programs, maps, links, BTF) from Python.

The package's public names; see DESIGN.md for the layers. Submodules
``objects``, ``bpffs``, ``procfs``, ``fdpass``, ``leak``, ``testing``, ``ringbuf``
and ``perf`` are imported on use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Optional

# These import without the compiled module: the assembler, the enums, the errors.
from . import asm
from ._types import AttachType, HelperFunc, LinkType, MapType, ObjType, ProgramType, fd_type
from ._version import __version__
from .errors import (
    BPFError,
    BPFPermissionError,
    BTFLoadError,
    ClosedError,
    CompiledModuleError,
    KeyExistsError,
    KeyNotFoundError,
    NotBPFFSError,
    NotSupportedError,
    ObjectTypeError,
    ProcessGoneError,
    VerifierError,
)

# These need it. When it is missing or stale, `import bpfobj` (and bpfobj.asm) still
# works, and the first use of one of these names raises the ImportError that says how
# to rebuild (see __getattr__ below).
_COMPILED_MISSING: Optional[CompiledModuleError] = None
try:
    from ._any import load_pinned, new_from_fd
    from .btf import BTF, BTFInfo
    from .collection import Collection, CollectionSpec, VariableSpec, load_collection
    from .link import Link, LinkInfo
    from .map import Map, MapBatch, MapInfo, MapSpec, UpdateFlags
    from .prog import Program, ProgramInfo, ProgramSpec, RunResult, enable_stats
except CompiledModuleError as _exc:  # raised by _internal.syscall: the build is missing or stale
    _COMPILED_MISSING = _exc

__all__ = [
    "AttachType",
    "BTF",
    "BTFInfo",
    "BPFError",
    "BPFPermissionError",
    "BTFLoadError",
    "Collection",
    "CollectionSpec",
    "ClosedError",
    "CompiledModuleError",
    "HelperFunc",
    "KeyExistsError",
    "KeyNotFoundError",
    "Link",
    "LinkInfo",
    "LinkType",
    "Map",
    "MapBatch",
    "MapInfo",
    "MapSpec",
    "MapType",
    "NotBPFFSError",
    "NotSupportedError",
    "ObjType",
    "ObjectTypeError",
    "ProcessGoneError",
    "Program",
    "ProgramInfo",
    "ProgramSpec",
    "ProgramType",
    "RunResult",
    "UpdateFlags",
    "VariableSpec",
    "VerifierError",
    "__version__",
    "asm",
    "enable_stats",
    "fd_type",
    "load_collection",
    "load_pinned",
    "new_from_fd",
]

_SUBMODULES = frozenset({"objects", "bpffs", "procfs", "fdpass", "leak", "testing", "ringbuf",
                         "perf"})

if TYPE_CHECKING:  # the type checker sees the submodules; at run time __getattr__ imports them
    from . import bpffs, fdpass, leak, objects, perf, procfs, ringbuf, testing  # noqa: F401


def __getattr__(name: str) -> object:
    """Import a submodule on first use, so that ``bpfobj.fdpass.send(...)`` works."""
    if _COMPILED_MISSING is not None and (name in _SUBMODULES or name in __all__):
        raise ImportError(str(_COMPILED_MISSING), name=_COMPILED_MISSING.name)
    if name in _SUBMODULES:
        try:
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
