"""Passing bpf objects between processes over Unix sockets (SCM_RIGHTS).

Owns ``send`` and ``recv`` and their wire format. Imports ``_types``,
``errors``, ``fd``, ``_internal.linux`` and ``_any`` (which wraps a received
descriptor as the class its kind calls for).

A bpf object lives as long as something references it, so handing its
descriptor to another process (a worker after a privileged loader, the new
version of a daemon after the old one, a holder that keeps objects alive)
keeps the object alive after the sender exits.

Wire format:

* ``SOCK_SEQPACKET`` and ``SOCK_DGRAM`` keep message boundaries: a message is
  the data exactly as given (possibly empty), with the descriptors attached.
  A peer in any language can send to ``recv`` with one plain ``sendmsg``.
* ``SOCK_STREAM`` keeps no boundaries, and a zero-length ``sendmsg`` carries
  no descriptors there, so each message is a frame: one byte ``0xBF``, the
  data's length as an unsigned 32-bit big-endian integer, then the data. The
  descriptors travel with the frame's first byte (one ``sendmsg``). ``recv``
  reads exactly one frame, never a byte of the next one.

Descriptors arrive close-on-exec (``MSG_CMSG_CLOEXEC``), are owned by an FD at
once (a 0 moved to >= 1), are typed from the kernel and wrapped as Map,
Program, Link or BTF without a further dup. Whatever goes wrong on receipt
closes every descriptor the message brought.
"""

from __future__ import annotations

import array
import contextlib
import errno as _errno
import socket
import struct
from collections.abc import Iterable
from typing import Protocol

from typing_extensions import Buffer

from ._any import AnyObject, wrap
from ._internal import linux
from ._internal.fd import FD
from ._types import fd_type
from .errors import BPFError, ClosedError, ObjectTypeError, Op, from_errno

__all__ = ["DEFAULT_MAX_OBJS", "DEFAULT_MAX_SIZE", "FRAME_MAGIC", "SCM_MAX_FD", "recv", "send"]

#: The kernel's limit of descriptors in one SCM_RIGHTS message (SCM_MAX_FD).
SCM_MAX_FD = 253
#: recv's default: at most this many objects in one message.
DEFAULT_MAX_OBJS = 16
#: recv's default: at most this many bytes of data in one message.
DEFAULT_MAX_SIZE = 65536
#: First byte of a SOCK_STREAM frame.
FRAME_MAGIC = 0xBF

_HEADER = struct.Struct(">BI")
_INT_SIZE = array.array("i").itemsize
# SO_PASSPIDFD (Linux 6.5) makes the kernel add an SCM_PIDFD message that
# carries a descriptor of its own; it must be closed like the others.
_SCM_PIDFD: int = getattr(socket, "SCM_PIDFD", 0x04)
# Room for control messages a receiving socket may get besides ours, so that
# they do not truncate the descriptors: SCM_CREDENTIALS (SO_PASSCRED, a
# 12-byte struct ucred) and SCM_PIDFD (one int).
_EXTRA_CMSG_SPACE = socket.CMSG_SPACE(12) + socket.CMSG_SPACE(_INT_SIZE)

_SOCK_KINDS = {
    socket.SOCK_STREAM: "stream",
    socket.SOCK_SEQPACKET: "seqpacket",
    socket.SOCK_DGRAM: "dgram",
}

_SEND_HINTS = {
    _errno.EPIPE: "the peer closed its end",
    _errno.ECONNRESET: "the peer closed its end",
    _errno.ENOTCONN: "connect the socket first (a socketpair end, or connect())",
    _errno.EDESTADDRREQ: "connect the socket first (a socketpair end, or connect())",
    _errno.EMSGSIZE: "too much data for one datagram; send less, or use SOCK_STREAM",
    _errno.ETOOMANYREFS: "too many descriptors in flight: the receiver is not reading",
    _errno.EAGAIN: "the socket is non-blocking and its buffer is full",
}


class _Passable(Protocol):
    """Anything that owns its descriptor in an FD: Map, Program, Link, BTF."""

    @property
    def _fd(self) -> FD: ...


def _describe_socket(sock: socket.socket) -> str:
    kind = _SOCK_KINDS.get(sock.type, "unix")
    return f"{kind} socket fd {sock.fileno()}"


def _check_socket(sock: object) -> socket.socket:
    if not isinstance(sock, socket.socket):
        raise TypeError(f"fd pass needs a socket.socket, not {type(sock).__name__}")
    if sock.family != socket.AF_UNIX:
        raise ValueError(f"fd pass needs a Unix socket (AF_UNIX), got {sock.family!r}")
    if sock.type not in _SOCK_KINDS:
        raise ValueError(
            f"fd pass needs SOCK_STREAM, SOCK_SEQPACKET or SOCK_DGRAM, got {sock.type!r}")
    return sock


def _error(err: int, what: str, reason: str) -> BPFError:
    return from_errno(err, Op.FD_PASS, what, reason=reason, hint="", cls=BPFError)


def _os_error(exc: OSError, what: str, hints: dict[int, str]) -> BaseException:
    if exc.errno is None:  # a socket timeout: keep Python's TimeoutError
        return exc
    return from_errno(exc.errno, Op.FD_PASS, what, hint=hints.get(exc.errno, ""))


# -- sending ----------------------------------------------------------------------------


def send(sock: socket.socket, objs: _Passable | Iterable[_Passable],
         data: Buffer = b"") -> None:
    """Send bpf objects and some data as one message over a Unix socket (SCM_RIGHTS).

    ``objs`` is one Map, Program, Link or BTF, or an iterable of them (1 to
    253, in the order ``recv`` returns them; the same object may appear
    twice). ``data`` is any bytes-like payload, possibly empty. The socket
    must be connected (a ``socketpair`` end, or ``connect()``ed) and blocking
    or with a timeout. On SOCK_STREAM the data goes in a frame (see the
    module docstring); on the other types as it is.

    Ownership: the objects stay the caller's, open and usable. The receiver
    gets its own descriptors of the same kernel objects, so closing either
    side's copy, or the sender exiting, leaves the other working.

    Raises:
        ClosedError: an object is closed (raised before anything is sent).
        TypeError: an item is not a bpf object wrapper, or ``sock`` is not a socket.
        ValueError: not a Unix socket of a supported type; no objects, or
            more than 253; data over 4 GiB on a stream.
        BPFError: the kernel refused the message (the peer closed its end,
            EMSGSIZE, ETOOMANYREFS, ...).
    """
    _check_socket(sock)
    what = _describe_socket(sock)
    items = [objs] if hasattr(objs, "_fd") else list(objs)
    if not items:
        raise ValueError(f"{Op.FD_PASS.value} {what}: nothing to send (give at least one object)")
    if len(items) > SCM_MAX_FD:
        raise ValueError(f"{Op.FD_PASS.value} {what}: {len(items)} objects, more than the "
                         f"kernel's {SCM_MAX_FD} per message; send several messages")
    for i, obj in enumerate(items, 1):
        fd = getattr(obj, "_fd", None)
        if not isinstance(fd, FD):
            raise TypeError(f"{Op.FD_PASS.value} {what}: item {i} is a {type(obj).__name__}, "
                            "not a Map, Program, Link or BTF (wrap a descriptor number with "
                            "new_from_fd first)")
        if fd.closed:
            raise from_errno(_errno.EBADF, Op.FD_PASS, what, cls=ClosedError, hint="",
                             reason=f"item {i} of {len(items)} ({obj!r}) is closed")
    payload = memoryview(data).cast("B")
    stream = sock.type == socket.SOCK_STREAM
    if stream and payload.nbytes > 0xFFFFFFFF:
        raise ValueError(f"{Op.FD_PASS.value} {what}: {payload.nbytes} bytes of data, more than "
                         "a stream frame holds (4 GiB - 1)")
    with contextlib.ExitStack() as stack:
        # The in-flight guard: a close() racing this send waits for it, so the
        # numbers we hand the kernel cannot be recycled under us.
        raws = array.array("i", (stack.enter_context(obj._fd.borrow(Op.FD_PASS, obj))
                                 for obj in items))
        ancillary = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, raws)]
        if stream:
            buffers: list[Buffer] = [_HEADER.pack(FRAME_MAGIC, payload.nbytes), payload]
        else:
            buffers = [payload]
        try:
            sent = sock.sendmsg(buffers, ancillary)
            if stream:
                total = _HEADER.size + payload.nbytes
                if sent < total:
                    # The descriptors went with the first bytes; finish the frame.
                    rest = bytes(buffers[0]) + payload.tobytes()
                    sock.sendall(rest[sent:])
        except OSError as exc:
            raise _os_error(exc, what, _SEND_HINTS) from exc


# -- receiving --------------------------------------------------------------------------


class _Inbox:
    """The descriptors one message brought, owned from the moment they arrive."""

    __slots__ = ("sock", "what", "max_objs", "ancbufsize", "fds", "truncated")

    def __init__(self, sock: socket.socket, what: str, max_objs: int) -> None:
        self.sock = sock
        self.what = what
        self.max_objs = max_objs
        self.ancbufsize = socket.CMSG_SPACE(max_objs * _INT_SIZE) + _EXTRA_CMSG_SPACE
        self.fds: list[FD] = []
        self.truncated = False

    def recvmsg(self, nbytes: int) -> tuple[bytes, int]:
        """One recvmsg(MSG_CMSG_CLOEXEC); adopts every descriptor it brings."""
        try:
            data, ancdata, flags, _addr = self.sock.recvmsg(
                nbytes, self.ancbufsize, socket.MSG_CMSG_CLOEXEC)
        except OSError as exc:
            raise _os_error(exc, self.what, {}) from exc
        raws: list[int] = []
        pidfds: list[int] = []
        for level, kind, cdata in ancdata:
            if level != socket.SOL_SOCKET or kind not in (socket.SCM_RIGHTS, _SCM_PIDFD):
                continue
            ints = array.array("i")
            ints.frombytes(cdata[:len(cdata) - len(cdata) % _INT_SIZE])
            (raws if kind == socket.SCM_RIGHTS else pidfds).extend(ints)
        pending = raws + pidfds
        for i, raw in enumerate(pending):
            try:
                fd = FD.adopt(raw)
            except BaseException:
                for rest in pending[i + 1:]:
                    FD.adopt(rest).close()
                raise
            if i < len(raws):
                self.fds.append(fd)
            else:
                fd.close()  # a pidfd of the sender we did not ask for
        if flags & socket.MSG_CTRUNC:
            self.truncated = True
        return data, flags

    def check(self) -> None:
        """Raise for a truncated message, too many descriptors or a non-bpf one."""
        n = len(self.fds)
        if self.truncated or n > self.max_objs:
            raise _error(
                _errno.EMSGSIZE, self.what,
                f"the message carried more than max_objs={self.max_objs} descriptors (control "
                "message truncated, or this process is out of descriptors); every descriptor "
                "it brought was closed")
        for i, fd in enumerate(self.fds, 1):
            if fd_type(fd.raw) is None:
                raise from_errno(
                    _errno.EINVAL, Op.FD_PASS, self.what, cls=ObjectTypeError, hint="",
                    reason=f"received descriptor {i} of {n} is a {_describe_file(fd.raw)}, "
                    "not a bpf object")

    def close(self) -> None:
        for fd in self.fds:
            fd.close()


def _describe_file(raw: int) -> str:
    try:
        target = linux.fd_target(raw)
    except OSError:
        return "non-bpf file"
    if target.startswith("anon_inode:"):
        return target[len("anon_inode:"):].strip("[]")
    if target.endswith("]") and ":[" in target:  # pipe:[123], socket:[456]
        return target.partition(":[")[0]
    return f"file {target!r}"


def recv(sock: socket.socket, max_objs: int = DEFAULT_MAX_OBJS, *,
         max_size: int = DEFAULT_MAX_SIZE) -> tuple[bytes, list[AnyObject]]:
    """Receive one message of bpf objects and data from a Unix socket (SCM_RIGHTS).

    Returns ``(data, objs)``: the message's data (``b""`` when it had none)
    and 1 to ``max_objs`` objects, each wrapped as the class its kernel type
    says (Map, Program, Link, BTF), in the order they were sent. On
    SOCK_STREAM it reads exactly one frame written by ``send``. Blocks until a
    message arrives (or the socket's timeout, which raises TimeoutError).

    ``max_objs`` (1 to 253) is the most descriptors a message may bring; a
    message with more is an error. ``max_size`` is the most bytes of data.

    Ownership: the caller owns the returned objects; each holds the
    descriptor that arrived (close-on-exec, never fd 0), without a further
    dup. On any error every descriptor the message brought is closed first.
    After an error on SOCK_STREAM the next message is read correctly as long
    as the frame itself was well formed; after a framing error (bad first
    byte, data over ``max_size``, end of stream inside a frame) the stream is
    out of step: close it.

    Raises:
        ObjectTypeError: a descriptor is not a bpf object ("... received
            descriptor 2 of 2 is a pipe, not a bpf object").
        BPFError: the message carried no descriptors (ENOMSG); more than
            ``max_objs`` (EMSGSIZE, the control message was truncated); more
            data than ``max_size`` (EMSGSIZE); a stream frame not written by
            ``send`` (EPROTO); the peer closed the connection (ECONNRESET).
        NotSupportedError: a descriptor's kind has no wrapper in this bpfobj.
        ValueError: ``max_objs`` or ``max_size`` out of range, not a Unix socket.
    """
    _check_socket(sock)
    if not isinstance(max_objs, int) or not 1 <= max_objs <= SCM_MAX_FD:
        raise ValueError(f"max_objs must be an int from 1 to {SCM_MAX_FD}, got {max_objs!r}")
    if not isinstance(max_size, int) or max_size < 0:
        raise ValueError(f"max_size must be an int >= 0, got {max_size!r}")
    inbox = _Inbox(sock, _describe_socket(sock), max_objs)
    try:
        if sock.type == socket.SOCK_STREAM:
            data = _recv_frame(inbox, max_size)
        else:
            data = _recv_packet(inbox, max_size)
        inbox.check()
        if not inbox.fds:
            raise _error(_errno.ENOMSG, inbox.what,
                         f"the message carried no descriptors ({len(data)} bytes of data)")
        n = len(inbox.fds)
        objs = [wrap(fd, op=Op.FD_PASS, what=f"{inbox.what}: received descriptor {i} of {n}")
                for i, fd in enumerate(inbox.fds, 1)]
    except BaseException:
        inbox.close()
        raise
    return data, objs


def _eof(inbox: _Inbox) -> BPFError:
    return _error(_errno.ECONNRESET, inbox.what, "the peer closed the connection")


def _recv_packet(inbox: _Inbox, max_size: int) -> bytes:
    data, flags = inbox.recvmsg(max_size)
    if flags & socket.MSG_TRUNC:
        inbox.check()
        raise _error(_errno.EMSGSIZE, inbox.what,
                     f"the message carried more than max_size={max_size} bytes of data; "
                     "every descriptor it brought was closed")
    if not data and not inbox.fds and inbox.sock.type == socket.SOCK_SEQPACKET:
        # recvmsg returns 0 at the end of the connection, and for an empty
        # message without descriptors: neither is a message we can return.
        raise _error(_errno.ECONNRESET, inbox.what,
                     "the peer closed the connection (or sent an empty message without "
                     "descriptors)")
    return data


def _recv_frame(inbox: _Inbox, max_size: int) -> bytes:
    header = b""
    while len(header) < _HEADER.size:
        chunk, _flags = inbox.recvmsg(_HEADER.size - len(header))
        if not chunk:
            if not header and not inbox.fds:
                raise _eof(inbox)
            inbox.check()
            raise _error(_errno.EPROTO, inbox.what,
                         "the connection closed in the middle of a message")
        header += chunk
        if header[0] != FRAME_MAGIC:
            inbox.check()  # a non-bpf descriptor is the better diagnosis
            raise _error(_errno.EPROTO, inbox.what,
                         f"not a bpfobj.fdpass frame (first byte 0x{header[0]:02x}, not "
                         f"0x{FRAME_MAGIC:02x}): send with bpfobj.fdpass.send, or use "
                         "SOCK_SEQPACKET for other senders")
    _magic, length = _HEADER.unpack(header)
    if length > max_size:
        inbox.check()
        raise _error(_errno.EMSGSIZE, inbox.what,
                     f"the message carries {length} bytes of data, more than "
                     f"max_size={max_size}; the stream is out of step: close it")
    parts: list[bytes] = []
    remaining = length
    while remaining:
        # Never ask for more than this frame holds: the next frame's
        # descriptors must stay in the socket for the next recv.
        chunk, _flags = inbox.recvmsg(min(remaining, 1 << 20))
        if not chunk:
            inbox.check()
            raise _error(_errno.EPROTO, inbox.what,
                         "the connection closed in the middle of a message")
        parts.append(chunk)
        remaining -= len(chunk)
    return b"".join(parts)
