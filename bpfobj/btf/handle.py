"""BTF handles: BTF and BTFInfo (load raw BTF or a Spec, open by descriptor or ID, info,
read the types back).

Owns the BTF wrapper. Imports ``_sys``, ``_types``, ``_object``, ``fd`` and the reader
(``spec``) and writer (``marshal``) of this package.
"""

from __future__ import annotations

import errno as _errno
import os
from dataclasses import dataclass
from typing import Union

from typing_extensions import Buffer, Self

from bpfobj._internal import syscall as _sys
from bpfobj._internal.fd import FD
from bpfobj._object import BPFObject
from bpfobj._types import ObjType
from bpfobj.btf.spec import Spec, kernel_spec
from bpfobj.errors import BPFError, Op, from_errno

__all__ = ["BTF", "BTFInfo"]

_NAME_MAX = 256


@dataclass(frozen=True, slots=True)
class BTFInfo:
    """What the kernel says about a BTF object (BPF_OBJ_GET_INFO_BY_FD).

    ``name`` is "vmlinux" or a module's name for kernel BTF, "" for BTF
    loaded from user space; ``size`` is the raw BTF's size in bytes.
    """

    id: int
    name: str
    size: int
    kernel_btf: bool

    def __str__(self) -> str:
        return f"BTF(id={self.id} name={self.name} size={self.size} kernel={int(self.kernel_btf)})"


class BTF(BPFObject):
    """A BTF object in the kernel, owning one descriptor. ``repr()``: ``BTF#7``."""

    __slots__ = ("log",)
    _KIND = ObjType.BTF
    log: str

    def _init_from_fd(self, fd: FD) -> None:
        self.log = ""

    @classmethod
    def load(cls, data: Union[Spec, Buffer], log_level: int = 0) -> Self:
        """Load raw BTF, or a Spec's marshalled types (BPF_BTF_LOAD).

        The new BTF owns the only descriptor.

        With ``log_level`` > 0 the kernel's log of a successful load is kept in
        ``log``; on rejection the load is retried with a log either way.

        Raises:
            BTFLoadError: the kernel rejected the BTF (``.log`` holds its log).
            BPFPermissionError: needs root or CAP_BPF.
        """
        raw = data.marshal() if isinstance(data, Spec) else bytes(memoryview(data))
        if not raw:
            raise ValueError("BTF.load: no data")
        fd, log = _sys.btf_load(raw, log_level=log_level, obj="BTF")
        btf = cls._adopting(fd, check_type=False)
        btf.log = log
        return btf

    def info(self) -> BTFInfo:
        """What the kernel says about this BTF (BPF_OBJ_GET_INFO_BY_FD), name included."""
        return _btf_info(self._fd, self)

    def raw(self) -> bytes:
        """The raw BTF the kernel holds for this object (BPF_OBJ_GET_INFO_BY_FD, ``btf``).

        For a module's BTF this is split BTF: its types and strings continue vmlinux's.
        """
        return _sys.btf_raw(self._fd, self)

    def spec(self, base: Union[Spec, None] = None) -> Spec:
        """The types of this BTF object, parsed (BPF_OBJ_GET_INFO_BY_FD, then Spec.from_bytes).

        A module's kernel BTF is split BTF: its ids continue from vmlinux, whose types come
        from ``base`` (default: ``btf.kernel_spec()``).

        Raises:
            ValueError: the kernel's bytes do not parse (a bug here or there).
        """
        info = self.info()
        if base is None and info.kernel_btf and info.name != "vmlinux":
            base = kernel_spec()
        return Spec.from_bytes(self.raw(), base=base)

    def pin(self, path: Union[str, os.PathLike[str]]) -> None:
        """Pin the BTF at ``path`` (BPF_OBJ_PIN), where the kernel allows it.

        Linux pins only maps, programs and links: it answers EINVAL for BTF,
        which becomes a BPFError that says so.

        Raises:
            BPFError: the kernel cannot pin BTF objects (EINVAL), or the pin failed.
            NotBPFFSError: the path is not on a bpffs mount.
        """
        try:
            super().pin(path)
        except BPFError as exc:
            if exc.errno != _errno.EINVAL:
                raise
            raise from_errno(
                exc.errno, Op.OBJ_PIN, repr(self), os.fspath(path), cls=BPFError,
                reason="the kernel pins only maps, programs and links, not BTF",
                hint="keep a descriptor open, or pass it with bpfobj.fdpass") from None

    def __repr__(self) -> str:
        return f"BTF{self._repr_fd()}"


def _btf_info(fd: FD, obj: object) -> BTFInfo:
    d = _sys.btf_info(fd, obj)
    return BTFInfo(id=d["id"], name=d["name"], size=d["btf_size"], kernel_btf=bool(d["kernel_btf"]))
