"""bpfobj: Linux eBPF objects (programs, maps, links, BTF) from Python.

The package's public names; see DESIGN.md for the layers. Submodules
``objects``, ``bpffs``, ``procfs``, ``fdpass``, ``leak`` and ``testing`` are
imported on use.
"""

from __future__ import annotations

from ._types import AttachType, HelperFunc, LinkType, MapType, ObjType, ProgramType, fd_type
from ._version import __version__
from .errors import (
    BPFError,
    BPFPermissionError,
    BTFLoadError,
    ClosedError,
    KeyExistsError,
    KeyNotFoundError,
    NotBPFFSError,
    NotSupportedError,
    ObjectTypeError,
    ProcessGoneError,
    VerifierError,
)
from .link import Link, LinkInfo
from .map import Map, MapBatch, MapInfo, MapSpec, UpdateFlags

__all__ = [
    "AttachType",
    "BPFError",
    "BPFPermissionError",
    "BTFLoadError",
    "ClosedError",
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
    "ProgramType",
    "UpdateFlags",
    "VerifierError",
    "__version__",
    "fd_type",
]
