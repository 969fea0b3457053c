"""What every link family shares: BPF_LINK_CREATE and its errors, targets, names.

Owns ``create`` (BPF_LINK_CREATE, the result wrapped in the caller's class, the
kernel's bare EINVAL explained), the checks of programs and targets, and the names
of attach and link types. Imports ``_sys``, ``_types``, ``errors``, ``fd`` and
``linux``; never ``link.link``: the family modules import this one, and Link
imports them.
"""

from __future__ import annotations

import errno as _errno
import os
import socket
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Optional, TypeVar, Union

from bpfobj._internal import linux
from bpfobj._internal import syscall as _sys
from bpfobj._internal.fd import FD
from bpfobj._types import AttachType, LinkType, ObjType, ProgramType, fd_type
from bpfobj.errors import BPFError, ObjectTypeError, Op, closed, from_errno, wrong_type

if TYPE_CHECKING:
    from bpfobj._object import BPFObject

L = TypeVar("L", bound="BPFObject")
AttachTypeLike = Union[AttachType, int]
Target = Union[str, "os.PathLike[str]", int]


def attach_type(value: int) -> AttachTypeLike:
    """The AttachType of a kernel value; the number itself when it is newer than our headers."""
    try:
        return AttachType(value)
    except ValueError:
        return value


def attach_name(value: int) -> str:
    """How bpftool names an attach type (``xdp``, ``tcx_ingress``); the number if unknown."""
    try:
        return AttachType(value).kernel_name
    except ValueError:
        return str(value)


def type_name(t: Union[LinkType, int]) -> str:
    """A link type's enum name (``XDP``), or its number."""
    return t.name if isinstance(t, LinkType) else str(int(t))


def kernel_name(t: Union[LinkType, int]) -> str:
    """A link type as bpftool names it (``xdp``), or ``type N``."""
    return t.kernel_name if isinstance(t, LinkType) else f"type {int(t)}"


# The program type each attach type of the attach_* helpers needs, to explain
# the kernel's bare EINVAL when a program of another type is passed.
PROG_TYPE_FOR: dict[AttachType, ProgramType] = {
    AttachType.XDP: ProgramType.XDP,
    AttachType.TCX_INGRESS: ProgramType.SCHED_CLS,
    AttachType.TCX_EGRESS: ProgramType.SCHED_CLS,
    AttachType.NETKIT_PRIMARY: ProgramType.SCHED_CLS,
    AttachType.NETKIT_PEER: ProgramType.SCHED_CLS,
    AttachType.SK_LOOKUP: ProgramType.SK_LOOKUP,
    AttachType.FLOW_DISSECTOR: ProgramType.FLOW_DISSECTOR,
    AttachType.CGROUP_INET_INGRESS: ProgramType.CGROUP_SKB,
    AttachType.CGROUP_INET_EGRESS: ProgramType.CGROUP_SKB,
    AttachType.CGROUP_INET_SOCK_CREATE: ProgramType.CGROUP_SOCK,
    AttachType.CGROUP_INET_SOCK_RELEASE: ProgramType.CGROUP_SOCK,
    AttachType.CGROUP_INET4_POST_BIND: ProgramType.CGROUP_SOCK,
    AttachType.CGROUP_INET6_POST_BIND: ProgramType.CGROUP_SOCK,
    AttachType.CGROUP_SOCK_OPS: ProgramType.SOCK_OPS,
    AttachType.CGROUP_DEVICE: ProgramType.CGROUP_DEVICE,
    AttachType.CGROUP_SYSCTL: ProgramType.CGROUP_SYSCTL,
    AttachType.CGROUP_GETSOCKOPT: ProgramType.CGROUP_SOCKOPT,
    AttachType.CGROUP_SETSOCKOPT: ProgramType.CGROUP_SOCKOPT,
    **{t: ProgramType.CGROUP_SOCK_ADDR for t in AttachType if t.name.startswith((
        "CGROUP_INET4_", "CGROUP_INET6_", "CGROUP_UDP4_", "CGROUP_UDP6_", "CGROUP_UNIX_"))
       and not t.name.endswith("POST_BIND")},
}


def prog_fd(prog: object, op: Op, what: str) -> FD:
    """The FD of a Program (or any wrapper holding ``_fd``); TypeError for anything else."""
    fd = getattr(prog, "_fd", None)
    if not isinstance(fd, FD):
        raise TypeError(f"{op.value} {what}: needs a Program, not {type(prog).__name__}")
    return fd


def explain_attach(exc: BPFError, prog: object, prog_fd: FD, attach_type: int,
                    what: str) -> BPFError:
    """Turn the kernel's bare EINVAL from BPF_LINK_CREATE into the reason, when we can tell it.

    Checks (only on failure, so success costs nothing) whether the descriptor
    is a program at all and whether its type suits the attach type.
    """
    if exc.errno != _errno.EINVAL or prog_fd.closed:
        return exc
    kind = fd_type(prog_fd.raw)
    if kind is not ObjType.PROG:
        got = f"bpf-{kind.value}" if kind is not None else "non-bpf file"
        return wrong_type(Op.LINK_CREATE, what, got, "bpf-prog")
    try:
        want = PROG_TYPE_FOR.get(AttachType(attach_type))
    except ValueError:
        want = None
    try:
        d = _sys.prog_info(prog_fd, prog)
    except BPFError:
        return exc
    try:
        ptype: Union[ProgramType, int] = ProgramType(d["type"])
    except ValueError:
        ptype = d["type"]
    pname = ptype.kernel_name if isinstance(ptype, ProgramType) else f"type {ptype}"
    attach = attach_name(attach_type)
    if want is not None and ptype != want:
        return from_errno(
            _errno.EINVAL, Op.LINK_CREATE, what, cls=ObjectTypeError, hint="",
            reason=f"{prog} is a program of type {pname}; attach type {attach} needs type "
                   f"{want.kernel_name}")
    return exc


def open_target(target: object, kind: str, directory: bool) -> tuple[FD, str]:
    """An owned descriptor for a cgroup or netns given as a path, a descriptor number or a file.

    A path is opened read-only; a number (or an object with ``fileno()``) is
    duplicated, so the caller's descriptor stays the caller's.
    """
    if isinstance(target, (str, os.PathLike)):
        path = os.fspath(target)
        flags = os.O_RDONLY | os.O_CLOEXEC | (os.O_DIRECTORY if directory else 0)
        try:
            raw = os.open(path, flags)
        except OSError as exc:
            raise from_errno(exc.errno or _errno.ENOENT, Op.LINK_CREATE, kind, path) from exc
        return FD.adopt(raw), f"{kind} {path!r}"
    if isinstance(target, bool):
        raise TypeError(f"a {kind} is a path or a descriptor, not bool")
    if isinstance(target, int):
        return FD.dup(target), f"{kind} fd {target}"
    fileno = getattr(target, "fileno", None)
    if callable(fileno):
        raw = fileno()
        return FD.dup(raw), f"{kind} fd {raw}"
    raise TypeError(f"a {kind} is a path or a descriptor, not {type(target).__name__}")


def create(cls: type[L], prog: object, attach_type: int, what: str, *,
           target_fd: Optional[FD] = None, target_ifindex: int = 0, flags: int = 0,
           opts: Optional[Mapping[str, Any]] = None, ifindex: int = 0) -> L:
    """BPF_LINK_CREATE and wrap the result in ``cls``, which owns the new descriptor.

    ``ifindex`` (when the target is an interface) lets a failure say that the
    interface does not exist.
    """
    pfd = prog_fd(prog, Op.LINK_CREATE, what)
    if pfd.closed:
        raise closed(Op.LINK_CREATE, prog)
    try:
        fd = _sys.link_create(pfd, target_fd=target_fd, target_ifindex=target_ifindex,
                              attach_type=int(attach_type), flags=int(flags),
                              opts=dict(opts) if opts else None, obj=what)
    except BPFError as exc:
        better = explain_attach(exc, prog, pfd, int(attach_type), what)
        if (better is exc and ifindex and exc.errno == _errno.EINVAL
                and not has_ifindex(ifindex)):
            better = from_errno(
                _errno.EINVAL, Op.LINK_CREATE, what, cls=BPFError, hint="",
                reason=f"no interface has ifindex {ifindex} in this thread's network "
                       "namespace")
        if better is exc:
            raise
        raise better from exc
    return wrap(cls, fd, what)


def wrap(cls: type[L], fd: FD, what: str) -> L:
    """Wrap a new link descriptor in ``cls``; closes ``fd`` when that fails."""
    try:
        return cls._from_fd(fd, check_type=False, what=what)
    except BaseException:
        fd.close()
        raise


def check_index(value: object, what: str, allow_zero: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    low = 0 if allow_zero else 1
    if not low <= value < 2**32:
        raise ValueError(f"{what} must be in [{low}, 2**32), got {value}")


def has_ifindex(ifindex: int) -> bool:
    """Whether the calling thread's network namespace has interface ``ifindex``.

    The kernel answers EINVAL, not ENODEV, for a missing interface; a socket
    made here lives in this thread's namespace, as the attach did.
    """
    try:
        socket.if_indextoname(ifindex)
    except OSError:
        return False
    return True


def not_a(exc: BPFError, what: str, want: str) -> BPFError:
    return from_errno(exc.errno or _errno.EINVAL, Op.LINK_CREATE, what, cls=BPFError, hint="",
                      reason=f"the target is not {want}")


def is_netns(fd: FD) -> bool:
    """Whether ``fd`` is a network namespace file (nsfs; /proc/self/fd names it ``net:[N]``)."""
    try:
        return linux.fd_target(fd.raw).startswith("net:[")
    except OSError:
        return False
