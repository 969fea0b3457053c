"""Maps: MapSpec, MapInfo, UpdateFlags and Map (cilium/ebpf's NewMap & co).

Owns the Map wrapper and its element operations. Imports ``_sys``,
``_types``, ``errors`` and ``fd``.

Keys and values are any bytes-like object of the map's exact size, or an int
(converted in native byte order). Sizes are checked before any syscall, so a
wrong size is a ValueError and the kernel never reads past a buffer.
Per-CPU maps take and return lists with one value per possible CPU.
"""

from __future__ import annotations

import enum
import errno as _errno
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from dataclasses import field as _field
from typing import TYPE_CHECKING, Any, Optional, Protocol, TypeVar, Union, overload

from typing_extensions import Buffer, Self

from ._internal import syscall as _sys
from ._internal.fd import FD
from ._internal.linux import possible_cpus
from ._object import BPFObject
from ._types import MapType, ObjType
from .errors import BPFError, KeyNotFoundError, Op, from_errno

if TYPE_CHECKING:
    from .btf.types import Type as BTFType

__all__ = ["Map", "MapBatch", "MapInfo", "MapSpec", "UpdateFlags", "possible_cpus"]

KeyLike = Union[Buffer, int]
ValueLike = Union[Buffer, int]
Value = Union[bytes, list[bytes]]
_T = TypeVar("_T")
_V = TypeVar("_V")

_BYTEORDER = sys.byteorder

_PERCPU_TYPES = frozenset({
    MapType.PERCPU_HASH, MapType.PERCPU_ARRAY, MapType.LRU_PERCPU_HASH,
    MapType.PERCPU_CGROUP_STORAGE,
})
# Maps without keys: lookup peeks, update pushes, lookup_and_delete pops.
_KEYLESS_TYPES = frozenset({MapType.QUEUE, MapType.STACK, MapType.BLOOM_FILTER})
# Maps whose values are objects: update() takes the object (its descriptor goes to the kernel).
_OBJECT_VALUE_TYPES = {
    MapType.ARRAY_OF_MAPS: ObjType.MAP, MapType.HASH_OF_MAPS: ObjType.MAP,
    MapType.PROG_ARRAY: ObjType.PROG,
}
# Maps whose values are sockets: update() takes a socket (anything with fileno()).
_SOCKET_VALUE_TYPES = frozenset({MapType.SOCKMAP, MapType.SOCKHASH})


class _HasFileno(Protocol):
    def fileno(self) -> int: ...


class UpdateFlags(enum.IntFlag):
    """Flags of Map.update (BPF_ANY, BPF_NOEXIST, BPF_EXIST, BPF_F_LOCK)."""

    ANY = _sys.const("BPF_ANY")
    NOEXIST = _sys.const("BPF_NOEXIST")
    EXIST = _sys.const("BPF_EXIST")
    LOCK = _sys.const("BPF_F_LOCK")


@dataclass(slots=True)
class MapSpec:
    """What Map.create makes. ``str()`` reads like cilium/ebpf's MapSpec.

    ``inner_map`` is the template of the inner maps of ARRAY_OF_MAPS and
    HASH_OF_MAPS (a MapSpec, created for the call and closed again, or a Map).
    """

    type: MapType
    key_size: int
    value_size: int
    max_entries: int
    name: str = ""
    flags: int = 0
    inner_map: Optional[Union[MapSpec, Map]] = None
    numa_node: int = 0
    map_extra: int = 0
    ifindex: int = 0
    # What an ELF object says about the map (CollectionSpec fills these in).
    key_type: Any = None  # btf.Type of the key, or None
    value_type: Any = None  # btf.Type of the value (a Datasec for .data/.rodata/.bss)
    pinning: int = 0  # PIN_BY_NAME (1): Collection.load pins it under pin_path
    # (key, value) pairs Collection.load writes after creating the map (Map.create does not)
    contents: list[tuple[Any, Any]] = _field(default_factory=list)
    freeze: bool = False  # Collection.load freezes it after the contents (.rodata, .kconfig)

    def __str__(self) -> str:
        try:
            kind = str(MapType(self.type))
        except ValueError:  # a type newer than our headers, or garbage: still printable
            kind = f"MapType({self.type!r})"
        return (f"{kind}(keySize={self.key_size}, valueSize={self.value_size}, "
                f"maxEntries={self.max_entries}, flags={int(self.flags)})")


@dataclass(frozen=True, slots=True)
class MapInfo:
    """What the kernel says about a map (BPF_OBJ_GET_INFO_BY_FD).

    ``frozen`` and ``memlock`` are not in struct bpf_map_info: they come from
    the descriptor's /proc/self/fdinfo, read in the same C call. ``frozen`` is
    true exactly when the map was frozen at the time of the call; ``memlock``
    is the kernel's count of the map's memory in bytes (-1 when /proc is not
    mounted).
    """

    id: int
    type: MapType
    key_size: int
    value_size: int
    max_entries: int
    flags: int
    name: str
    btf_id: int = 0
    btf_key_type_id: int = 0
    btf_value_type_id: int = 0
    btf_vmlinux_value_type_id: int = 0
    map_extra: int = 0
    ifindex: int = 0
    netns_dev: int = 0
    netns_ino: int = 0
    frozen: bool = False
    memlock: int = -1

    def __str__(self) -> str:
        return (f"Map(name={self.name} type={self.type} keySize={self.key_size} "
                f"valueSize={self.value_size} maxEntries={self.max_entries} flags={self.flags})")


_MAP_TYPES: dict[int, MapType] = {int(t): t for t in MapType}
_new_object = object.__new__
# The slot setters of the frozen dataclass: building a MapInfo with them skips
# the frozen __init__'s object.__setattr__ per field (twice as fast).
(_s_id, _s_type, _s_key_size, _s_value_size, _s_max_entries, _s_flags, _s_name, _s_btf_id,
 _s_btf_key_type_id, _s_btf_value_type_id, _s_btf_vmlinux_value_type_id, _s_map_extra,
 _s_ifindex, _s_netns_dev, _s_netns_ino, _s_frozen, _s_memlock) = (
    getattr(MapInfo, f).__set__ for f in MapInfo.__dataclass_fields__)


def _map_info(v: tuple[Any, ...]) -> MapInfo:
    """A MapInfo from ``_sys.parse_map_info``'s tuple (the order of ``_sys.MAP_INFO_ORDER``)."""
    (kind, map_id, key_size, value_size, max_entries, flags, name, ifindex, vmlinux_value,
     netns_dev, netns_ino, btf_id, btf_key, btf_value, _btf_vmlinux_id, map_extra,
     frozen, memlock) = v
    info = _new_object(MapInfo)
    _s_id(info, map_id)
    _s_type(info, _MAP_TYPES.get(kind, kind))  # a type newer than our headers: the number
    _s_key_size(info, key_size)
    _s_value_size(info, value_size)
    _s_max_entries(info, max_entries)
    _s_flags(info, flags)
    _s_name(info, name)
    _s_btf_id(info, btf_id)
    _s_btf_key_type_id(info, btf_key)
    _s_btf_value_type_id(info, btf_value)
    _s_btf_vmlinux_value_type_id(info, vmlinux_value)
    _s_map_extra(info, map_extra)
    _s_ifindex(info, ifindex)
    _s_netns_dev(info, netns_dev)
    _s_netns_ino(info, netns_ino)
    _s_frozen(info, frozen)
    _s_memlock(info, memlock)
    return info


def read_info(fd: FD, what: object) -> MapInfo:
    """The MapInfo of the map behind ``fd`` (BPF_OBJ_GET_INFO_BY_FD): the one way a MapInfo
    is made, shared by Map.info(), ``objects.maps()``, ``bpffs.walk()`` and the leak report.
    """
    return _map_info(_sys.parse_map_info(_sys.map_info_bytes(fd, what)))


class MapBatch(Sequence[tuple[bytes, Value]]):
    """The result of a batch lookup: (key, value) pairs, backed by two buffers.

    Entries are sliced out only when used, so a batch costs the kernel's copy
    and little more. ``raw_keys``/``raw_values`` are the packed buffers (for
    ``array``/``memoryview.cast``); ``key_list()``/``value_list()`` give lists;
    ``dict(batch)`` gives a dict (there is deliberately no ``keys()`` method,
    so that dict() takes the pairs).
    """

    __slots__ = ("raw_keys", "raw_values", "_ks", "_vs", "_n")

    def __init__(self, raw_keys: bytes, raw_values: bytes, key_size: int, value_size: int,
                 count: int) -> None:
        self.raw_keys = raw_keys
        self.raw_values = raw_values
        self._ks = key_size
        self._vs = value_size  # stride of one element's value (per-CPU: all CPUs, padded)
        self._n = count

    def __len__(self) -> int:
        return self._n

    def _value(self, i: int) -> Value:
        vs = self._vs
        return self.raw_values[i * vs:(i + 1) * vs]

    @overload
    def __getitem__(self, i: int) -> tuple[bytes, Value]: ...

    @overload
    def __getitem__(self, i: slice) -> list[tuple[bytes, Value]]: ...

    def __getitem__(self, i: Union[int, slice]) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self._n))]
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError("batch index out of range")
        ks = self._ks
        return self.raw_keys[i * ks:(i + 1) * ks], self._value(i)

    def __iter__(self) -> Iterator[tuple[bytes, Value]]:
        return zip(self.key_list(), self.value_list(), strict=True)

    def key_list(self) -> list[bytes]:
        ks, rk = self._ks, self.raw_keys
        return [rk[i:i + ks] for i in range(0, self._n * ks, ks)]

    def value_list(self) -> list[Value]:
        vs, rv = self._vs, self.raw_values
        return [rv[i:i + vs] for i in range(0, self._n * vs, vs)]

    def __repr__(self) -> str:
        return f"MapBatch({self._n} entries)"


_map_lookup = _sys.map_lookup
_map_update = _sys.map_update
_map_delete = _sys.map_delete
_lookup_small = _sys.slot_map_lookup_small
_small_error = _sys.small_error
_update_fast = _sys.slot_map_update
_delete_fast = _sys.slot_map_delete
_elem_error = _sys.elem_error
_SMALL_FAIL = _sys.SMALL_FAIL


class Map(BPFObject):
    """An open eBPF map, owning one descriptor. Use as a context manager or close().

    ``repr()`` reads like cilium/ebpf's: ``Hash(counts)#7`` (type, name, fd).
    Not picklable; share across processes with bpfobj.fdpass or pins. The
    constructors shared by every object (new_from_fd, new_from_id,
    new_from_pidfd, pin, unpin, close) come from BPFObject.
    """

    __slots__ = (
        "_type", "_name", "_key_size", "_value_size", "_max_entries", "_flags",
        "_ncpu", "_vbuf_size", "_info", "_pool", "_small", "_btf_types",
    )
    _KIND = ObjType.MAP
    # Declared for the type checker; the storage is the slots above.
    _type: MapType
    _name: str
    _key_size: int
    _value_size: int
    _max_entries: int
    _flags: int
    _ncpu: int
    _vbuf_size: int
    _info: Optional[tuple[bytes, MapInfo]]  # the last info(): the kernel's bytes, the MapInfo
    _pool: _sys.ValuePool  # lookup buffers of _vbuf_size bytes
    _btf_types: Optional[tuple[Optional[BTFType], Optional[BTFType]]]  # key, value; read once
    _small: int  # the value size when lookups take the small-value C call, else 0

    def _init_from_fd(self, fd: FD) -> None:
        d = _sys.map_info(fd, f"fd {fd.raw}", fdinfo=False)
        try:
            self._type = MapType(d["type"])
        except ValueError:
            self._type = d["type"]
        self._name = d["name"]
        self._key_size = d["key_size"]
        self._value_size = d["value_size"]
        self._max_entries = d["max_entries"]
        self._flags = d["map_flags"]
        self._info = None
        self._btf_types = None
        if self._type in _PERCPU_TYPES:
            self._ncpu = possible_cpus()
            self._vbuf_size = ((self._value_size + 7) & ~7) * self._ncpu
        else:
            self._ncpu = 0
            self._vbuf_size = self._value_size
        self._pool = _sys.value_pool(self._vbuf_size)
        vs = self._value_size
        self._small = vs if _sys.SMALL_VALUES and not self._ncpu and 0 < vs <= 8 else 0

    # -- constructors --------------------------------------------------------------

    @classmethod
    def create(cls, spec: MapSpec, *, btf: Any = None, btf_key_type_id: int = 0,
               btf_value_type_id: int = 0) -> Self:
        """Create a map (BPF_MAP_CREATE). The new Map owns the only descriptor.

        ``btf`` (a loaded ``btf.BTF``) with ``btf_key_type_id``/``btf_value_type_id`` gives
        the map its key and value types, as an ELF object's maps have them; the caller
        keeps owning ``btf``.

        Raises:
            BPFPermissionError: needs root or CAP_BPF.
            BPFError: invalid attributes (EINVAL), too large (E2BIG, ENOMEM).
        """
        if not spec.name.isascii() or len(spec.name.encode()) > 15:
            raise ValueError(f"map name {spec.name!r} must be ASCII of at most 15 bytes")
        if spec.name.strip("._") and not spec.name.replace("_", "").replace(".", "").isalnum():
            raise ValueError(f"map name {spec.name!r} may hold only letters, digits, '_' and '.'")
        if not isinstance(spec.type, int):
            raise TypeError(f"MapSpec.type must be a MapType, not {type(spec.type).__name__}")
        for field in ("key_size", "value_size", "max_entries"):
            value = getattr(spec, field)
            if not isinstance(value, int) or not 0 <= value < 2**32:
                raise ValueError(f"MapSpec.{field} must be an int in [0, 2**32), got {value!r}")
        inner: Optional[Map] = None
        own_inner = False
        if isinstance(spec.inner_map, MapSpec):
            inner, own_inner = Map.create(spec.inner_map), True
        elif isinstance(spec.inner_map, Map):
            inner = spec.inner_map
        try:
            fd = _sys.map_create(
                map_type=int(spec.type), key_size=spec.key_size, value_size=spec.value_size,
                max_entries=spec.max_entries, map_flags=int(spec.flags), name=spec.name,
                inner_map_fd=inner._fd if inner is not None else None,
                numa_node=spec.numa_node, map_ifindex=spec.ifindex, map_extra=spec.map_extra,
                btf_fd=btf._fd if btf is not None else None, btf_key_type_id=btf_key_type_id,
                btf_value_type_id=btf_value_type_id, obj=spec,
            )
        finally:
            if own_inner and inner is not None:
                inner.close()
        return cls._adopting(fd, check_type=False, what=str(spec))

    @classmethod
    def load_pinned(cls, path: Union[str, os.PathLike[str]], read_only: bool = False,
                    write_only: bool = False) -> Self:
        """Open the map pinned at ``path`` (BPF_OBJ_GET), checking that it is a map.

        ``read_only``/``write_only`` open it with BPF_F_RDONLY/BPF_F_WRONLY. The Map
        owns the new descriptor and remembers the path (``is_pinned``).

        Raises:
            ObjectTypeError: a program or link is pinned there ("incorrect object type").
            NotBPFFSError: the path is not on a bpffs mount.
            BPFError: nothing is pinned there (ENOENT).
        """
        if read_only and write_only:
            raise ValueError("read_only and write_only exclude each other")
        flags = _sys.const("BPF_F_RDONLY") if read_only else 0
        flags |= _sys.const("BPF_F_WRONLY") if write_only else 0
        return cls._load_pinned(path, flags)

    def clone(self) -> Self:
        """A new Map owning a duplicate of this map's descriptor (F_DUPFD_CLOEXEC).

        Overrides BPFObject.clone with explicit copies: it is a hot path.
        """
        fd = self._fd.clone()
        other = object.__new__(type(self))
        other._fd = fd
        other._type = self._type
        other._name = self._name
        other._key_size = self._key_size
        other._value_size = self._value_size
        other._max_entries = self._max_entries
        other._flags = self._flags
        other._ncpu = self._ncpu
        other._vbuf_size = self._vbuf_size
        other._pinned = self._pinned
        other._info = self._info
        other._pool = self._pool
        other._btf_types = self._btf_types
        other._small = self._small
        return other

    # -- properties --------------------------------------------------------------------

    @property
    def type(self) -> MapType:
        return self._type

    @property
    def name(self) -> str:
        return self._name

    @property
    def key_size(self) -> int:
        return self._key_size

    @property
    def value_size(self) -> int:
        return self._value_size

    @property
    def max_entries(self) -> int:
        return self._max_entries

    @property
    def flags(self) -> int:
        return self._flags

    @property
    def key_type(self) -> Optional[BTFType]:
        """The BTF type of the keys (info ``btf_id``/``btf_key_type_id``), None without BTF.

        The map's BTF is opened by ID and parsed on first use, then cached.
        """
        return self._read_btf_types()[0]

    @property
    def value_type(self) -> Optional[BTFType]:
        """The BTF type of the values (info ``btf_value_type_id``), None without BTF."""
        return self._read_btf_types()[1]

    def _read_btf_types(self) -> tuple[Optional[BTFType], Optional[BTFType]]:
        if self._btf_types is None:
            # deferred: parsing BTF is needed only by maps that ask for their types
            from .btf import BTF

            info = self.info()
            key: Optional[BTFType] = None
            value: Optional[BTFType] = None
            if info.btf_id:
                with BTF.new_from_id(info.btf_id) as b:
                    spec = b.spec()
                if info.btf_key_type_id:
                    key = spec[info.btf_key_type_id]
                if info.btf_value_type_id:
                    value = spec[info.btf_value_type_id]
            self._btf_types = (key, value)
        return self._btf_types

    def __repr__(self) -> str:
        return f"{self._type}({self._name}){self._repr_fd()}"

    # -- pinning ---------------------------------------------------------------------

    # -- info --------------------------------------------------------------------------

    def info(self, fdinfo: bool = True) -> MapInfo:
        """What the kernel says about the map (BPF_OBJ_GET_INFO_BY_FD), ``frozen`` and
        ``memlock`` included (the descriptor's fdinfo, read in the same C call).

        ``fdinfo`` is accepted for compatibility and changes nothing: frozen and
        memlock are always read.
        """
        data = _sys.map_info_bytes(self._fd, self)
        # MapInfo is immutable: while the kernel's answer is the same bytes,
        # the last one is the answer.
        last = self._info
        if last is not None and last[0] == data:
            return last[1]
        info = _map_info(_sys.parse_map_info(data))
        self._info = (data, info)
        return info

    # -- conversion ------------------------------------------------------------------

    def _key(self, key: Optional[KeyLike]) -> Any:
        ks = self._key_size
        if type(key) is bytes:
            if len(key) != ks:
                raise ValueError(f"{self!r}: key is {len(key)} bytes, the map's keys are {ks}")
            return key
        return self._convert(key, ks, "key")

    def _convert(self, obj: Any, size: int, what: str) -> Any:
        if obj is None:
            if size == 0:
                return None  # a map without keys: NULL
            raise ValueError(f"{self!r}: {what} must not be None")
        if isinstance(obj, int):
            if size == 0:
                raise ValueError(f"{self!r}: this map has no {what}s")
            try:
                return obj.to_bytes(size, _BYTEORDER, signed=obj < 0)
            except OverflowError:
                raise ValueError(f"{self!r}: {what} {obj} does not fit in {size} bytes") from None
        try:
            view = memoryview(obj)
        except TypeError:
            raise TypeError(
                f"{self!r}: {what} must be bytes-like or int, not {type(obj).__name__}"
            ) from None
        if view.nbytes != size:
            raise ValueError(
                f"{self!r}: {what} is {view.nbytes} bytes, the map's {what}s are {size}")
        return view.tobytes()

    def _value(self, value: Any) -> Any:
        if self._ncpu:
            return self._percpu_value(value)
        vs = self._value_size
        if type(value) is bytes:
            if len(value) != vs:
                raise ValueError(
                    f"{self!r}: value is {len(value)} bytes, the map's values are {vs}")
            return value
        return self._convert(value, vs, "value")

    def _percpu_value(self, value: Any) -> bytes:
        if (isinstance(value, (bytes, bytearray, memoryview, int))
                or not isinstance(value, Iterable)):
            raise TypeError(f"{self!r}: a per-CPU map takes a list of {self._ncpu} values")
        values = list(value)
        if len(values) != self._ncpu:
            raise ValueError(f"{self!r}: got {len(values)} values, the map needs one per possible "
                             f"CPU ({self._ncpu})")
        vs = self._value_size
        stride = (vs + 7) & ~7
        pad = bytes(stride - vs)
        parts = []
        for v in values:
            parts.append(self._convert(v, vs, "value"))
            parts.append(pad)
        return b"".join(parts)

    def _split_percpu(self, raw: bytes) -> list[bytes]:
        # One value per possible CPU, each in an 8-byte aligned slot.
        vs = self._value_size
        stride = (vs + 7) & ~7
        return [raw[i:i + vs] for i in range(0, stride * self._ncpu, stride)]

    # -- elements ------------------------------------------------------------------------
    #
    # Typing: lookup(), get(), [], lookup_and_delete(), items() and values() are
    # typed with bytes values, which is what every map but a per-CPU one returns.
    # Per-CPU maps have their own typed methods, lookup_percpu(), update_percpu(),
    # lookup_and_delete_percpu() and items_percpu(), with one value per possible
    # CPU. For compatibility the plain methods still return (and update() still
    # takes) such a list on a per-CPU map, but typed code should use the
    # _percpu methods there.

    def lookup(self, key: Optional[KeyLike] = None, flags: int = 0) -> bytes:
        """The value at ``key`` (BPF_MAP_LOOKUP_ELEM), ``value_size`` bytes.

        For QUEUE and STACK maps (no key) this peeks at the next value. For
        ARRAY_OF_MAPS/HASH_OF_MAPS and PROG_ARRAY it is the inner object's ID,
        as the kernel gives it. On a per-CPU map it returns what
        ``lookup_percpu()`` does (a list, which the annotation does not show).

        Raises:
            KeyNotFoundError: the key is absent (also a KeyError).
            ValueError: the key has the wrong size.
        """
        k = key if type(key) is bytes and len(key) == self._key_size else self._key(key)
        vs = self._small
        if vs and k is not None:
            # Values of at most 8 bytes: one C call, the value in its result.
            v = _lookup_small(self._fd._slot, k, vs, flags)
            if v != _SMALL_FAIL:
                return v.to_bytes(vs, "little")
            rc = _small_error()
            if rc:
                exc = _elem_error(rc, Op.MAP_LOOKUP, self)
                if isinstance(exc, KeyNotFoundError):
                    raise self._empty(exc) from None
                raise exc
            return v.to_bytes(vs, "little")
        try:
            raw = _map_lookup(self._fd, k, self._pool, self._vbuf_size, flags, self)
        except KeyNotFoundError as exc:
            raise self._empty(exc) from None
        if self._ncpu:
            return self._split_percpu(raw)  # type: ignore[return-value]
        return raw

    def lookup_percpu(self, key: KeyLike, flags: int = 0) -> list[bytes]:
        """The values at ``key`` of a per-CPU map (BPF_MAP_LOOKUP_ELEM): one per possible
        CPU, each ``value_size`` bytes (the kernel's 8-byte slot padding stripped).

        Raises:
            TypeError: the map is not a per-CPU map.
            KeyNotFoundError: the key is absent.
        """
        if not self._ncpu:
            raise self._not_percpu("lookup_percpu")
        raw = _map_lookup(self._fd, self._key(key), self._pool, self._vbuf_size, flags, self)
        return self._split_percpu(raw)

    def _not_percpu(self, method: str) -> TypeError:
        return TypeError(f"{self!r}: {method}() is for per-CPU maps; use "
                         f"{method.replace('_percpu', '')}()")

    def get(self, key: Optional[KeyLike], default: _T = None) -> Union[bytes, _T]:  # type: ignore[assignment]
        """The value at ``key``, or ``default`` when the key is absent."""
        try:
            return self.lookup(key)
        except KeyNotFoundError:
            return default

    def __getitem__(self, key: KeyLike) -> bytes:
        return self.lookup(key)

    def __setitem__(self, key: KeyLike, value: Any) -> None:
        self.update(key, value)

    def __delitem__(self, key: KeyLike) -> None:
        self.delete(key)

    def __contains__(self, key: object) -> bool:
        try:
            self.lookup(key)  # type: ignore[arg-type]
        except KeyNotFoundError:
            return False
        return True

    def update(self, key: Optional[KeyLike],
               value: Union[ValueLike, BPFObject, _HasFileno, Sequence[ValueLike]],
               flags: int = 0) -> None:
        """Set ``key`` to ``value`` (BPF_MAP_UPDATE_ELEM).

        ``flags``: UpdateFlags.ANY (0, the default), NOEXIST (fails if present),
        EXIST (fails if absent), LOCK (spin-locked value). For QUEUE and STACK maps ``key`` is
        None and this pushes ``value``. ARRAY_OF_MAPS and HASH_OF_MAPS take a
        Map, PROG_ARRAY a Program, SOCKMAP and SOCKHASH a socket (or, for all
        of them, a descriptor number, as the kernel does).
        On a per-CPU map, ``value`` is a list as for ``update_percpu()``.

        Raises:
            KeyExistsError: NOEXIST and the key exists.
            KeyNotFoundError: EXIST and the key is absent.
            BPFPermissionError: the map is frozen or the descriptor is read-only.
            BPFError: the map is full (E2BIG).
        """
        if (type(key) is bytes and len(key) == self._key_size and type(value) is bytes
                and len(value) == self._value_size and not self._ncpu):
            # The common case: one C call, no frame in between.
            rc = _update_fast(self._fd._slot, key, value,
                              flags if type(flags) is int else int(flags))
            if rc:
                raise _elem_error(rc, Op.MAP_UPDATE, self)
            return
        k = key if type(key) is bytes and len(key) == self._key_size else self._key(key)
        if type(value) is not bytes or len(value) != self._value_size or self._ncpu:
            if isinstance(value, BPFObject):
                self._update_object(k, value, flags)
                return
            if self._type in _SOCKET_VALUE_TYPES and hasattr(value, "fileno"):
                raw = value.fileno()
                if raw < 0:
                    raise ValueError(f"{self!r}: the socket is closed")
                value = raw.to_bytes(self._value_size, _BYTEORDER)
            value = self._value(value)
        flags = flags if type(flags) is int else int(flags)
        if k is None:  # QUEUE and STACK: push (a NULL key)
            _map_update(self._fd, k, value, flags, self)  # type: ignore[arg-type]
            return
        # The sizes are checked above (value: bytes of the map's size by now).
        rc = _update_fast(self._fd._slot, k, value, flags)  # type: ignore[arg-type]
        if rc:
            raise _elem_error(rc, Op.MAP_UPDATE, self)

    def update_percpu(self, key: KeyLike, values: Iterable[ValueLike],
                      flags: int = UpdateFlags.ANY) -> None:
        """Set ``key`` of a per-CPU map to one value per possible CPU (BPF_MAP_UPDATE_ELEM).

        Raises:
            TypeError: the map is not a per-CPU map.
            ValueError: not one value per possible CPU, or a value of the wrong size.
        """
        if not self._ncpu:
            raise self._not_percpu("update_percpu")
        self.update(key, values, flags)  # type: ignore[arg-type]

    def _update_object(self, key: Optional[bytes], value: BPFObject, flags: int) -> None:
        want = _OBJECT_VALUE_TYPES.get(self._type)
        if want is None or value._KIND is not want:
            what = f"a {want.value}" if want is not None else "bytes or an int"
            raise TypeError(f"{self!r}: a {self._type} map's value is {what}, "
                            f"not {type(value).__name__}")
        # The kernel takes the descriptor's number and keeps a reference to the object.
        with value._fd.borrow(Op.MAP_UPDATE, value) as raw:
            _map_update(self._fd, key, raw.to_bytes(self._value_size, _BYTEORDER), int(flags),
                        self)

    def delete(self, key: KeyLike) -> None:
        """Remove ``key`` (BPF_MAP_DELETE_ELEM). KeyNotFoundError when absent."""
        if type(key) is bytes and len(key) == self._key_size:
            rc = _delete_fast(self._fd._slot, key)
            if rc:
                raise _elem_error(rc, Op.MAP_DELETE, self)
            return
        _map_delete(self._fd, self._key(key), self)

    def lookup_and_delete(self, key: Optional[KeyLike] = None) -> bytes:
        """Remove ``key`` and return its value (BPF_MAP_LOOKUP_AND_DELETE_ELEM).

        For QUEUE and STACK maps (key None) this pops. Requires Linux 5.14 for
        hash maps. On a per-CPU map it returns what ``lookup_and_delete_percpu()`` does.
        """
        k = self._key(key)
        try:
            raw = _sys.map_lookup_and_delete(self._fd, k, self._vbuf_size, self)
        except KeyNotFoundError as exc:
            raise self._empty(exc) from None
        if self._ncpu:
            return self._split_percpu(raw)  # type: ignore[return-value]
        return raw

    def lookup_and_delete_percpu(self, key: KeyLike) -> list[bytes]:
        """lookup_and_delete() of a per-CPU map: one value per possible CPU."""
        if not self._ncpu:
            raise self._not_percpu("lookup_and_delete_percpu")
        raw = _sys.map_lookup_and_delete(self._fd, self._key(key), self._vbuf_size, self)
        return self._split_percpu(raw)

    def _empty(self, exc: KeyNotFoundError) -> BPFError:
        """For a QUEUE or STACK, ENOENT means "empty", not "key not found"."""
        if self._type not in _KEYLESS_TYPES:
            return exc
        return from_errno(_errno.ENOENT, exc.op or Op.MAP_LOOKUP, repr(self), hint="",
                          reason=f"the {str(self._type).lower()} is empty")

    def next_key(self, key: Optional[KeyLike] = None) -> Optional[bytes]:
        """The key after ``key``, or the first key for None; None at the end (BPF_MAP_GET_NEXT_KEY).

        For hash maps, a ``key`` that is not in the map gives the first key.
        """
        ks = self._key_size
        if key is None:
            k = None
        else:
            k = key if type(key) is bytes and len(key) == ks else self._key(key)
        return _sys.map_next_key(self._fd, k, ks, self)

    def keys(self) -> Iterator[bytes]:
        """Iterate over the keys (BPF_MAP_GET_NEXT_KEY).

        The walk reads a few dozen keys ahead per call into C (each one a
        GET_NEXT_KEY from the one before). Keys deleted meanwhile may restart
        a hash map's walk (the kernel then returns its first key): the walk
        stops with a BPFError after visiting more keys than max_entries
        allows, rather than loop forever.
        """
        ks = self._key_size
        if ks == 0:
            return self._no_keys()
        # The walk itself is one generator in _sys: a frame less per key.
        return _sys.map_keys(self._fd, ks, max(self._max_entries, 1) * 2, self)

    def _no_keys(self) -> Iterator[bytes]:
        # QUEUE, STACK and BLOOM_FILTER: the kernel's GET_NEXT_KEY says only EINVAL.
        # A generator, so that the error comes with the first next(), as before.
        raise TypeError(f"{self!r}: a {self._type} map has no keys to iterate "
                        "(pop its values with lookup_and_delete())")
        yield b""  # pragma: no cover - makes this a generator

    def __iter__(self) -> Iterator[bytes]:
        return self.keys()

    def items(self) -> Iterator[tuple[bytes, bytes]]:
        """Iterate over (key, value) pairs; keys deleted during the walk are skipped.

        On a per-CPU map the values are lists, as ``items_percpu()`` gives them.
        """
        return self._items(self.lookup)

    def items_percpu(self) -> Iterator[tuple[bytes, list[bytes]]]:
        """items() of a per-CPU map: each value one per possible CPU."""
        if not self._ncpu:
            raise self._not_percpu("items_percpu")
        return self._items(self.lookup_percpu)

    def _items(self, lookup: Callable[[bytes], _V]) -> Iterator[tuple[bytes, _V]]:
        for key in self.keys():
            try:
                yield key, lookup(key)
            except KeyNotFoundError:
                continue

    def values(self) -> Iterator[bytes]:
        for _key, value in self.items():
            yield value

    # No __len__ on purpose (cilium/ebpf has no Len either): the kernel keeps no
    # count of a map's entries, so len() would be a walk of one syscall per key,
    # wrong by the time it returns on a map that programs update, and meaningless
    # for QUEUE/STACK maps. A Map is therefore always true in ``if m:``, like any
    # object; ``max_entries`` is its capacity, count_entries() the explicit walk.

    def count_entries(self) -> int:
        """Count the keys with a full walk (BPF_MAP_GET_NEXT_KEY per key): not cheap.

        The count is a snapshot that programs may change while it is taken.

        Raises:
            TypeError: the map type has no keys (QUEUE, STACK, RINGBUF, ...).
        """
        return sum(1 for _ in self.keys())

    # -- batches -------------------------------------------------------------------------

    def _batch_size(self, batch_size: Optional[int]) -> int:
        if batch_size is None:
            return max(1, min(self._max_entries, 4096))
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        return batch_size

    def batch_lookup(self, batch_size: Optional[int] = None, delete: bool = False) -> MapBatch:
        """Read the whole map with BPF_MAP_LOOKUP_BATCH (or LOOKUP_AND_DELETE_BATCH).

        Returns a MapBatch: a sequence of (key, value) pairs backed by two
        buffers. Requires Linux 5.6; array maps do not support delete=True.
        """
        ks, vstride = self._key_size, self._vbuf_size
        rk, rv, total = _sys.map_lookup_batch(self._fd, ks, vstride,
                                              self._batch_size(batch_size), delete, self)
        return _PerCPUBatch(rk, rv, ks, vstride, total, self._ncpu, self._value_size) \
            if self._ncpu else MapBatch(rk, rv, ks, vstride, total)

    def batch_lookup_and_delete(self, batch_size: Optional[int] = None) -> MapBatch:
        """batch_lookup(delete=True): read and remove every element."""
        return self.batch_lookup(batch_size, delete=True)

    def _pack_many(self, items: Any, size: int, what: str, conv: Any) -> tuple[Any, int]:
        if isinstance(items, (bytes, bytearray, memoryview)):
            view = memoryview(items)
            if size == 0 or view.nbytes % size:
                raise ValueError(f"{self!r}: packed {what}s of {view.nbytes} bytes are not a "
                                 f"multiple of the {what} size {size}")
            return items, view.nbytes // size
        parts = [conv(x) for x in items]
        return b"".join(parts), len(parts)

    def batch_update(self, keys: Any, values: Any, flags: int = UpdateFlags.ANY) -> int:
        """Set many elements at once (BPF_MAP_UPDATE_BATCH); returns how many.

        ``keys``/``values``: sequences of keys and values (as for update), or
        one bytes-like object each holding them packed back to back.
        ``flags``: UpdateFlags.ANY or LOCK; the kernel's batch update has no
        NOEXIST/EXIST (it would refuse them with EINVAL). Requires Linux 5.6.
        """
        if int(flags) & ~int(UpdateFlags.LOCK):
            raise ValueError(f"{self!r}: batch_update takes only UpdateFlags.ANY or LOCK, "
                             f"not {flags!r} (use update() for NOEXIST/EXIST)")
        k, nk = self._pack_many(keys, self._key_size, "key", self._key)
        v, nv = self._pack_many(values, self._vbuf_size, "value", self._value_packed)
        if nk != nv:
            raise ValueError(f"{self!r}: {nk} keys but {nv} values")
        if nk == 0:
            return 0
        return _sys.map_update_batch(self._fd, k, v, nk, int(flags), self)

    def _value_packed(self, value: Any) -> Any:
        return self._value(value)

    def batch_delete(self, keys: Any) -> int:
        """Remove many keys at once (BPF_MAP_DELETE_BATCH); returns how many.

        Raises KeyNotFoundError when a key is absent (the ones before it are deleted).
        """
        k, nk = self._pack_many(keys, self._key_size, "key", self._key)
        if nk == 0:
            return 0
        return _sys.map_delete_batch(self._fd, k, nk, self)

    def freeze(self) -> None:
        """Make the map read-only for user space from now on (BPF_MAP_FREEZE). Linux 5.2."""
        _sys.map_freeze(self._fd, self)


class _PerCPUBatch(MapBatch):
    """A MapBatch of a per-CPU map: each value is a list, one entry per possible CPU."""

    __slots__ = ("_ncpu", "_true_vs")

    def __init__(self, raw_keys: bytes, raw_values: bytes, key_size: int, stride: int,
                 count: int, ncpu: int, value_size: int) -> None:
        super().__init__(raw_keys, raw_values, key_size, stride, count)
        self._ncpu = ncpu
        self._true_vs = value_size

    def _value(self, i: int) -> Value:
        vs = self._vs
        raw = self.raw_values[i * vs:(i + 1) * vs]
        step = vs // self._ncpu
        return [raw[j:j + self._true_vs] for j in range(0, vs, step)]

    def value_list(self) -> list[Value]:
        return [self._value(i) for i in range(self._n)]
