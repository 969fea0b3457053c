"""BTF handles: BTF and BTFInfo (load raw BTF, open by descriptor or ID, info).

Owns the BTF wrapper. Parsing BTF is out of scope for now: loading the raw
bytes (BPF_BTF_LOAD) and reading what the kernel says about them is enough
to hold, pass and inspect BTF objects. Imports ``_sys``, ``_types``,
``_object`` and ``fd``.
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
    def load(cls, data: Buffer, log_level: int = 0) -> Self:
        """Load raw BTF (BPF_BTF_LOAD). The new BTF owns the only descriptor.

        With ``log_level`` > 0 the kernel's log of a successful load is kept in
        ``log``; on rejection the load is retried with a log either way.

        Raises:
            BTFLoadError: the kernel rejected the BTF (``.log`` holds its log).
            BPFPermissionError: needs root or CAP_BPF.
        """
        raw = bytes(memoryview(data))
        if not raw:
            raise ValueError("BTF.load: no data")
        fd, log = _sys.btf_load(raw, log_level=log_level, obj="BTF")
        btf = cls._adopting(fd, check_type=False)
        btf.log = log
        return btf

    def info(self) -> BTFInfo:
        """What the kernel says about this BTF (BPF_OBJ_GET_INFO_BY_FD), name included."""
        return _btf_info(self._fd, self)

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
