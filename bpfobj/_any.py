"""Open any bpf object without knowing its kind: ``new_from_fd`` and ``load_pinned``.

Owns the one registry from an object kind (ObjType) to its wrapper class, ``CLASSES``,
and the dispatch from a descriptor's kind (``fd_type``) to it; every module that turns
a kind into a class (fdpass, objects, leak, cli) asks here. Imports the wrappers:
``map``, ``prog``, ``link``, ``btf``.
"""

from __future__ import annotations

import os
from typing import Union

from ._internal import syscall as _sys
from ._internal.fd import FD
from ._types import ObjType, fd_type
from .btf import BTF
from .errors import Op, wrong_type
from .link import Link
from .map import Map
from .prog import Program

__all__ = ["CLASSES", "AnyObject", "load_pinned", "new_from_fd", "wrap"]

AnyObject = Union[Program, Map, Link, BTF]

_Class = Union[type[Program], type[Map], type[Link], type[BTF]]
#: The one ObjType -> wrapper class registry.
CLASSES: dict[ObjType, _Class] = {
    ObjType.MAP: Map, ObjType.PROG: Program, ObjType.LINK: Link, ObjType.BTF: BTF,
}


def wrap(fd: FD, *, op: Op, what: str, pinned: Union[str, None] = None) -> AnyObject:
    """Wrap an owned descriptor as the class its kind calls for.

    On error the caller closes ``fd``.
    """
    kind = fd_type(fd.raw)
    if kind is None:
        raise wrong_type(op, what, "non-bpf file", "bpf object", pinned)
    cls = CLASSES[kind]
    obj: AnyObject = cls._from_fd(fd, pinned, check_type=False, op=op, what=what)
    return obj


def new_from_fd(raw: int) -> AnyObject:
    """Open whatever bpf object descriptor ``raw`` holds, by duplicating it (F_DUPFD_CLOEXEC, >= 1).

    Returns a Program, Map, Link or BTF; ``raw`` stays the caller's.

    Raises:
        BPFError: ``raw`` is not open (EBADF).
        ObjectTypeError: ``raw`` is not a bpf object.
    """
    fd = _sys.dup_cloexec(raw)
    try:
        return wrap(fd, op=Op.DUP, what=f"fd {raw}")
    except BaseException:
        fd.close()
        raise


def load_pinned(path: Union[str, os.PathLike[str]]) -> Union[Program, Map, Link]:
    """Open whatever is pinned at ``path`` (BPF_OBJ_GET): a Program, Map or Link.

    Raises:
        NotBPFFSError: the path is not on a bpffs mount.
        BPFError: nothing is pinned there (ENOENT).
    """
    path = os.fspath(path)
    fd = _sys.obj_get(path, 0, "object")
    try:
        obj = wrap(fd, op=Op.OBJ_GET, what=path, pinned=path)
    except BaseException:
        fd.close()
        raise
    assert not isinstance(obj, BTF)  # BTF cannot be pinned
    return obj
