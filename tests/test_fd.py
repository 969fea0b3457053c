"""FD, the single owner of a descriptor: adopt, dup, clone, close, disown, borrow, finalizer.

These use plain pipes and /dev/null: FD's rules do not depend on bpf, so this
module needs no kernel fixture. The fd-0 move is exercised in-process by
parking a pipe at fd 0 (and restoring the real stdin afterwards).
"""

from __future__ import annotations

import errno
import fcntl
import gc
import os
import sys
import threading
import time
import warnings
from collections.abc import Iterator

import pytest

from bpfobj import BPFError, ClosedError
from bpfobj._internal.fd import FD, fd_flags
from bpfobj.errors import Op


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    r, w = os.pipe()
    try:
        yield r, w
    finally:
        for raw in (r, w):
            try:
                os.close(raw)
            except OSError:
                pass


def ino(raw: int) -> tuple[int, int]:
    st = os.fstat(raw)
    return st.st_dev, st.st_ino


def is_open(raw: int) -> bool:
    try:
        os.fstat(raw)
    except OSError:
        return False
    return True


def cloexec(raw: int) -> bool:
    return bool(fcntl.fcntl(raw, fcntl.F_GETFD) & fcntl.FD_CLOEXEC)


def test_dup_leaves_the_callers_descriptor(pipe: tuple[int, int]) -> None:
    r, _ = pipe
    fcntl.fcntl(r, fcntl.F_SETFD, 0)  # the caller's may be inheritable
    fd = FD.dup(r)
    assert fd.raw not in (r, 0) and fd.raw >= 1 and not fd.closed
    assert cloexec(fd.raw) and not cloexec(r)
    assert ino(fd.raw) == ino(r)
    assert fd_flags(fd.raw) == fcntl.FD_CLOEXEC and fd_flags(-1) is None
    assert repr(fd) == f"FD({fd.raw})" and fd.fileno() == fd.raw
    raw = fd.raw
    fd.close()
    assert not is_open(raw) and is_open(r)
    assert fd.raw == -1 and fd.closed and repr(fd) == "FD(closed)"


def test_dup_bad_input(pipe: tuple[int, int]) -> None:
    r, _ = pipe
    spare = os.dup(r)
    os.close(spare)
    with pytest.raises(BPFError, match=f"dup fd {spare}: bad file descriptor") as info:
        FD.dup(spare)
    assert info.value.errno == errno.EBADF and info.value.op is Op.DUP
    with pytest.raises(BPFError) as info:
        FD.dup(-1)
    assert info.value.errno == errno.EBADF
    with pytest.raises(BPFError):
        FD.dup(2**40)
    for bad in ("3", 3.0, None, True):
        with pytest.raises(TypeError, match="must be an int"):
            FD.dup(bad)  # type: ignore[arg-type]
    with open("/dev/null", "rb") as f, pytest.raises(TypeError):
        FD.dup(f)  # type: ignore[arg-type]


def test_adopt_takes_ownership(pipe: tuple[int, int]) -> None:
    r, _ = pipe
    raw = fcntl.fcntl(r, fcntl.F_DUPFD_CLOEXEC, 1)
    fd = FD.adopt(raw)
    assert fd.raw == raw
    fd.close()
    assert not is_open(raw)
    with pytest.raises(ValueError):
        FD.adopt(-1)


def test_adopt_moves_fd_zero(pipe: tuple[int, int]) -> None:
    r, _ = pipe
    saved = fcntl.fcntl(0, fcntl.F_DUPFD_CLOEXEC, 3) if is_open(0) else None
    try:
        os.dup2(r, 0)  # a syscall "returned 0" because stdin was closed
        fd = FD.adopt(0)
        try:
            assert fd.raw >= 1 and cloexec(fd.raw)
            assert ino(fd.raw) == ino(r)
            assert not is_open(0)  # the library keeps nothing at 0
        finally:
            fd.close()
    finally:
        if saved is not None:
            os.dup2(saved, 0)
            os.close(saved)


def test_close_is_idempotent_and_context_manager(pipe: tuple[int, int]) -> None:
    r, _ = pipe
    with FD.dup(r) as fd:
        raw = fd.raw
        assert is_open(raw)
    assert fd.closed and not is_open(raw)
    fd.close()
    fd.close()
    # the number, reused by someone else, is never closed by the stale FD
    other = os.dup(r)
    try:
        fd.close()
        assert is_open(other)
    finally:
        os.close(other)


def test_closed_fd_refuses_use(pipe: tuple[int, int]) -> None:
    fd = FD.dup(pipe[0])
    fd.close()
    with pytest.raises(ClosedError, match="closed") as info:
        with fd.borrow(Op.MAP_LOOKUP, "Hash(counts)#7"):
            pass
    assert isinstance(info.value, ValueError) and info.value.errno == errno.EBADF
    assert str(info.value) == "map lookup Hash(counts)#7: object is closed"
    with pytest.raises(ClosedError):
        fd.fileno()
    with pytest.raises(ClosedError):
        fd.clone()
    with pytest.raises(ClosedError):
        fd.disown()


def test_clone(pipe: tuple[int, int]) -> None:
    with FD.dup(pipe[0]) as fd:
        c = fd.clone()
        assert type(c) is FD and c.raw != fd.raw and cloexec(c.raw)
        assert ino(c.raw) == ino(fd.raw)
    assert is_open(c.raw)
    c.close()


def test_disown(pipe: tuple[int, int]) -> None:
    fd = FD.dup(pipe[0])
    raw = fd.disown()
    try:
        assert fd.closed and is_open(raw)
        fd.close()  # no-op: the number is the caller's now
        assert is_open(raw)
        with pytest.raises(ClosedError):
            fd.disown()
        del fd
        gc.collect()
        assert is_open(raw)  # no finalizer close after disown
    finally:
        os.close(raw)


def test_finalizer_closes_forgotten_fd(pipe: tuple[int, int]) -> None:
    fd = FD.dup(pipe[0])
    raw = fd.raw
    with pytest.warns(ResourceWarning, match=f"unclosed descriptor {raw}"):
        del fd
        gc.collect()
    assert not is_open(raw)


def test_no_warning_for_closed_fd(pipe: tuple[int, int]) -> None:
    fd = FD.dup(pipe[0])
    fd.close()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        del fd
        gc.collect()


def test_eq_is_identity(pipe: tuple[int, int]) -> None:
    with FD.dup(pipe[0]) as a, FD.dup(pipe[0]) as b:
        assert a == a and a != b and len({a, b}) == 2


# -- close racing use ---------------------------------------------------------------


def test_close_during_borrow_is_deferred(pipe: tuple[int, int]) -> None:
    fd = FD.dup(pipe[0])
    raw = fd.raw
    with fd.borrow() as b1:
        with fd.borrow() as b2:
            assert b1 == b2 == raw
            assert fd.close() is False  # left to the last borrow out
            assert fd.closed and is_open(raw)  # still borrowed twice
            assert fd.close() is True  # idempotent: nothing more to do
            with pytest.raises(ClosedError):  # no new borrow once closed
                with fd.borrow():
                    pass
            assert is_open(raw)
        assert is_open(raw)  # one borrow still in flight
        assert ino(raw) == ino(pipe[0])
    assert not is_open(raw)  # the last one out closed it
    fd.close()


def test_close_racing_borrows_never_frees_a_borrowed_number(pipe: tuple[int, int]) -> None:
    """Threads borrow and check the number is still their pipe; the main thread closes
    while they run and at once opens files that would take a freed number."""
    r, _ = pipe
    want = ino(r)
    errors: list[str] = []
    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often, inside borrows too
    try:
        for _round in range(20):
            fd = FD.dup(r)
            progress = [0] * 4

            def worker(i: int, fd: FD = fd, progress: list[int] = progress) -> None:
                while True:
                    try:
                        with fd.borrow() as raw:
                            time.sleep(0)  # let the closer run while we hold the number
                            if ino(raw) != want:
                                errors.append(f"fd {raw} was recycled while borrowed")
                    except ClosedError:
                        return
                    except OSError as exc:
                        errors.append(f"borrowed fd closed under us: {exc}")
                        return
                    progress[i] += 1

            threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
            for t in threads:
                t.start()
            while min(progress) < 5:
                time.sleep(0)
            fd.close()
            squatters = [os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC) for _ in range(4)]
            for t in threads:
                t.join()
            for sq in squatters:
                os.close(sq)
    finally:
        sys.setswitchinterval(old_interval)
    assert not errors, errors[:3]


def test_disown_during_borrow_leaves_the_number_open(pipe: tuple[int, int]) -> None:
    fd = FD.dup(pipe[0])
    with fd.borrow() as raw:
        assert fd.disown() == raw  # given up while a call is in flight
    # the call left, and did not close what is now the caller's
    try:
        assert is_open(raw) and ino(raw) == ino(pipe[0])
    finally:
        os.close(raw)


def test_a_slot_is_reused_only_after_its_fd_is_gone(pipe: tuple[int, int]) -> None:
    """The guard's slot (in C) outlives close(): a stale FD never reaches another's number."""
    old = FD.dup(pipe[0])
    slot = old.slot
    old.close()
    fresh = [FD.dup(pipe[0]) for _ in range(8)]
    try:
        assert slot not in {f.slot for f in fresh}  # the closed FD still holds its slot
        with pytest.raises(ClosedError):
            with old.borrow():
                pass
        assert old.closed
        with pytest.raises(ClosedError):
            old.clone()
        del old
        gc.collect()
        again = FD.dup(pipe[0])  # now the slot is free for the next FD
        assert again.slot == slot
        again.close()
    finally:
        for f in fresh:
            f.close()
