"""Every bpf object on the system, by ID: programs, maps, links and BTF.

Owns ``ids(kind)`` and ``programs()``, ``maps()``, ``links()``, ``btfs()``,
which walk the kernel's ID space (BPF_*_GET_NEXT_ID), open each object
(BPF_*_GET_FD_BY_ID), read its info and close it again. Imports ``_sys``,
``_types`` and ``errors``; the object wrappers (``map``, ``prog``, ``link``,
``btf``) only inside the functions that need them.

An object can be freed between GET_NEXT_ID naming it and GET_FD_BY_ID opening
it: GET_FD_BY_ID then answers ENOENT, and the object is skipped. Needs root
(CAP_SYS_ADMIN: CAP_BPF is not enough to open objects by ID).
"""

from __future__ import annotations

import errno as _errno
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Optional, TypeVar, Union

from ._internal import syscall as _sys
from ._types import ObjType
from .errors import BPFError

if TYPE_CHECKING:
    from ._internal.fd import FD
    from .btf import BTFInfo
    from .link import LinkInfo
    from .map import MapInfo
    from .prog import ProgramInfo

__all__ = ["btfs", "from_ids", "ids", "links", "maps", "programs"]

T = TypeVar("T")
KindLike = Union[ObjType, str]


def _kind(kind: KindLike) -> str:
    value = kind.value if isinstance(kind, ObjType) else ObjType(kind).value
    return value


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
        nxt = _sys.get_next_id(name, last)
        if nxt is None:
            return
        yield nxt
        last = nxt


def _each(kind: str, read: Callable[[FD, str], T],
          id_list: Optional[Iterable[int]] = None) -> Iterator[T]:
    """Open each object of ``kind`` by ID, read it with ``read``, close it, yield the result.

    ``id_list`` defaults to every ID (``ids(kind)``). No descriptor is held
    between items: each is closed before its result is yielded, so a
    consumer that stops early leaks nothing.
    """
    for obj_id in ids(kind) if id_list is None else id_list:
        what = f"{kind} id {obj_id}"
        try:
            fd = _sys.get_fd_by_id(kind, obj_id)
        except BPFError as exc:
            if exc.errno == _errno.ENOENT:
                continue  # freed between GET_NEXT_ID and GET_FD_BY_ID
            if exc.errno == _errno.EAGAIN:
                # A link whose ID is allocated but whose creation has not
                # settled (bpf_link_by_id answers EAGAIN): not an object yet.
                continue
            raise
        try:
            result = read(fd, what)
        finally:
            fd.close()
        yield result


def _read_map(fd: FD, what: str) -> MapInfo:
    # The hot path (systems hold maps by the thousand): one info call on the
    # descriptor, converted without a Map wrapper.
    from .map import _map_info

    return _map_info(_sys.parse_map_info(_sys.map_info_bytes(fd, what)))


def _read_with(cls_name: str) -> Callable[[FD, str], Any]:
    def read(fd: FD, what: str) -> Any:
        cls = _wrapper(cls_name)
        # The wrapper owns a duplicate (closed by ``with``; by _adopting on error);
        # the caller closes ``fd``.
        with cls._adopting(fd.clone(), check_type=False, what=what) as obj:
            return obj.info()
    return read


def _wrapper(name: str) -> Any:
    if name == "prog":
        from .prog import Program
        return Program
    if name == "link":
        from .link import Link
        return Link
    from .btf import BTF
    return BTF


_READERS: dict[str, Callable[[FD, str], Any]] = {}


def _reader(kind: str) -> Callable[[FD, str], Any]:
    read = _READERS.get(kind)
    if read is None:
        read = _READERS[kind] = _read_map if kind == "map" else _read_with(kind)
    return read


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
    return _each(name, _reader(name), id_list)


def maps() -> Iterator[MapInfo]:
    """Yield the MapInfo of every map on the system, by ID (GET_NEXT_ID, GET_FD_BY_ID, info).

    Maps freed during the walk are skipped; no descriptor outlives its item.

    Raises:
        BPFPermissionError: needs root or CAP_SYS_ADMIN.
    """
    return _each("map", _read_map)


def programs() -> Iterator[ProgramInfo]:
    """Yield the ProgramInfo of every program on the system, by ID (map IDs included).

    Programs unloaded during the walk are skipped; no descriptor outlives its item.

    Raises:
        BPFPermissionError: needs root or CAP_SYS_ADMIN.
    """
    return _each("prog", _reader("prog"))


def links() -> Iterator[LinkInfo]:
    """Yield the LinkInfo of every link on the system, by ID.

    Links released during the walk are skipped; no descriptor outlives its item.

    Raises:
        BPFPermissionError: needs root or CAP_SYS_ADMIN.
    """
    return _each("link", _reader("link"))


def btfs() -> Iterator[BTFInfo]:
    """Yield the BTFInfo of every BTF object on the system (kernel and modules included), by ID.

    BTF freed during the walk is skipped; no descriptor outlives its item.

    Raises:
        BPFPermissionError: needs root or CAP_SYS_ADMIN.
    """
    return _each("btf", _reader("btf"))
