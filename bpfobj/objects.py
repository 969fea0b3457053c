"""Every bpf object on the system, by ID: programs, maps, links and BTF.

Owns ``ids(kind)`` and ``programs()``, ``maps()``, ``links()``, ``btfs()``,
which walk the kernel's ID space (BPF_*_GET_NEXT_ID), open each object
(BPF_*_GET_FD_BY_ID), read its info and close it again: the one ID walk
(``leak`` and ``cli`` use it too). Imports ``_sys``, ``_types``, ``errors`` and the
wrappers through ``_any.CLASSES``.

An object can be freed between GET_NEXT_ID naming it and GET_FD_BY_ID opening
it: GET_FD_BY_ID then answers ENOENT, and the object is skipped. Needs root
(CAP_SYS_ADMIN: CAP_BPF is not enough to open objects by ID).
"""

from __future__ import annotations

import errno as _errno
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Optional, TypeVar, Union

from ._any import CLASSES, AnyObject
from ._internal import syscall as _sys
from ._internal.fd import FD
from ._types import ObjType
from .btf import BTFInfo
from .errors import BPFError
from .link import LinkInfo
from .map import MapInfo
from .map import read_info as read_map_info
from .prog import ProgramInfo

__all__ = ["btfs", "from_ids", "ids", "links", "maps", "opened", "programs"]

T = TypeVar("T")
KindLike = Union[ObjType, str]


def _kind(kind: KindLike) -> ObjType:
    return kind if isinstance(kind, ObjType) else ObjType(kind)


def ids(kind: KindLike) -> Iterator[int]:
    """Yield the ID of every object of this kind, in increasing order (BPF_*_GET_NEXT_ID).

    ``kind`` is an ObjType or its value ("map", "prog", "link", "btf"). The
    IDs are a snapshot taken one step at a time: objects created or freed
    meanwhile may or may not appear.

    Raises:
        BPFPermissionError: needs root or CAP_SYS_ADMIN.
    """
    name = _kind(kind)
    last = 0
    while True:
        nxt = _sys.get_next_id(name.value, last)
        if nxt is None:
            return
        yield nxt
        last = nxt


def _walk(kind: ObjType, id_list: Optional[Iterable[int]]) -> Iterator[tuple[str, FD]]:
    """Open each object of ``kind`` by ID (GET_FD_BY_ID); the one ID walk of the package.

    Yields (description, FD): the consumer owns and closes each FD. Objects that
    vanished since GET_NEXT_ID named them are skipped.
    """
    for obj_id in ids(kind) if id_list is None else id_list:
        try:
            fd = _sys.get_fd_by_id(kind.value, obj_id)
        except BPFError as exc:
            if exc.errno == _errno.ENOENT:
                continue  # freed between GET_NEXT_ID and GET_FD_BY_ID
            if exc.errno == _errno.EAGAIN:
                # A link whose ID is allocated but whose creation has not
                # settled (bpf_link_by_id answers EAGAIN): not an object yet.
                continue
            raise
        yield f"{kind} id {obj_id}", fd


def _each(kind: ObjType, read: Callable[[FD, str], T],
          id_list: Optional[Iterable[int]] = None) -> Iterator[T]:
    """Open each object of ``kind`` by ID, read it with ``read``, close it, yield the result.

    ``id_list`` defaults to every ID (``ids(kind)``). No descriptor is held
    between items: each is closed before its result is yielded, so a
    consumer that stops early leaks nothing.
    """
    for what, fd in _walk(kind, id_list):
        try:
            result = read(fd, what)
        finally:
            fd.close()
        yield result


def opened(kind: KindLike, id_list: Optional[Iterable[int]] = None) -> Iterator[AnyObject]:
    """Yield every object of this kind, open (a Map, Program, Link or BTF), by ID.

    Each object is closed when the next one is asked for, or when the loop ends:
    ``clone()`` one to keep it. Objects that vanish during the walk are skipped.

    Raises:
        BPFPermissionError: needs root or CAP_SYS_ADMIN.
    """
    name = _kind(kind)
    cls = CLASSES[name]
    for what, fd in _walk(name, id_list):
        with cls._adopting(fd, check_type=False, what=what) as obj:
            yield obj


def _read_with(kind: ObjType) -> Callable[[FD, str], Any]:
    if kind is ObjType.MAP:
        # The hot path (systems hold maps by the thousand): one info call on the
        # descriptor, converted without a Map wrapper.
        return read_map_info
    cls = CLASSES[kind]

    def read(fd: FD, what: str) -> Any:
        # The wrapper owns a duplicate (closed by ``with``; by _adopting on error);
        # the caller closes ``fd``.
        with cls._adopting(fd.clone(), check_type=False, what=what) as obj:
            return obj.info()
    return read


_READERS: dict[ObjType, Callable[[FD, str], Any]] = {kind: _read_with(kind) for kind in ObjType}


def from_ids(kind: KindLike, id_list: Iterable[int]) -> Iterator[Any]:
    """Yield the info of each object of this kind among ``id_list`` that exists (GET_FD_BY_ID).

    IDs of objects that no longer exist (ENOENT) are skipped, as ``maps()``
    and friends skip objects freed during their walk. Yields MapInfo,
    ProgramInfo, LinkInfo or BTFInfo by ``kind``, in the order of ``id_list``.

    Raises:
        BPFPermissionError: needs root or CAP_SYS_ADMIN.
        ValueError: an ID outside 0..2**32-1.
    """
    name = _kind(kind)
    return _each(name, _READERS[name], id_list)


def maps() -> Iterator[MapInfo]:
    """Yield the MapInfo of every map on the system, by ID (GET_NEXT_ID, GET_FD_BY_ID, info).

    Maps freed during the walk are skipped; no descriptor outlives its item.

    Raises:
        BPFPermissionError: needs root or CAP_SYS_ADMIN.
    """
    return _each(ObjType.MAP, read_map_info)


def programs() -> Iterator[ProgramInfo]:
    """Yield the ProgramInfo of every program on the system, by ID (map IDs included).

    Programs unloaded during the walk are skipped; no descriptor outlives its item.

    Raises:
        BPFPermissionError: needs root or CAP_SYS_ADMIN.
    """
    return _each(ObjType.PROG, _READERS[ObjType.PROG])


def links() -> Iterator[LinkInfo]:
    """Yield the LinkInfo of every link on the system, by ID.

    Links released during the walk are skipped; no descriptor outlives its item.

    Raises:
        BPFPermissionError: needs root or CAP_SYS_ADMIN.
    """
    return _each(ObjType.LINK, _READERS[ObjType.LINK])


def btfs() -> Iterator[BTFInfo]:
    """Yield the BTFInfo of every BTF object on the system (kernel and modules included), by ID.

    BTF freed during the walk is skipped; no descriptor outlives its item.

    Raises:
        BPFPermissionError: needs root or CAP_SYS_ADMIN.
    """
    return _each(ObjType.BTF, _READERS[ObjType.BTF])
