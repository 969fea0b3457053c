"""Test helpers for users of bpfobj: ``no_fd_leaks`` and its pytest fixture.

Owns the descriptor-leak check that test suites wrap around code under test:
a context manager that fails with a readable list of the bpf descriptors
opened inside the block and still open at its end, and the pytest fixture of
the same name, exported through the ``pytest11`` entry point (``bpfobj``), so
that ``def test_x(no_fd_leaks): ...`` works in any project that installs
bpfobj. Imports ``procfs`` (the /proc reader) and the object wrappers, to
describe what leaked; pytest only when pytest loads this module as a plugin.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from . import procfs
from ._types import ObjType

__all__ = ["FDLeakChecker", "LeakedFD", "bpf_fds", "describe_fd", "no_fd_leaks"]


@dataclass(frozen=True, slots=True)
class LeakedFD:
    """One bpf descriptor of this process: number, kind, object ID and description."""

    fd: int
    type: ObjType
    id: int
    description: str

    def __str__(self) -> str:
        return f"fd {self.fd}: bpf {self.type.value} id {self.id} {self.description}".rstrip()


def bpf_fds() -> dict[int, tuple[ObjType, int]]:
    """The bpf descriptors of this process now: {fd: (kind, object id)}, from /proc/self.

    Reads /proc/self/fd and /proc/self/fdinfo (through ``procfs.fds``); touches
    no descriptor. The object ID tells a descriptor closed and reopened under
    the same number apart from the one that was there before.
    """
    return {p.fd: (p.type, p.id) for p in procfs.fds("self") if isinstance(p.type, ObjType)}


def describe_fd(raw: int, kind: ObjType) -> str:
    """Describe the object behind this process's descriptor ``raw`` (its info's text form).

    Opens a duplicate of ``raw`` for BPF_OBJ_GET_INFO_BY_FD and closes it again;
    returns "" when the object cannot be described (closed meanwhile).
    """
    # Imported here: pytest loads this module as a plugin in every run of a project that
    # installs bpfobj, and the wrappers need the compiled module; bpf_fds() does not.
    from ._any import CLASSES

    try:
        with CLASSES[kind].new_from_fd(raw) as obj:
            return str(obj.info())
    except (OSError, ValueError):
        return ""


class FDLeakChecker:
    """The state of one ``no_fd_leaks`` block: the bpf descriptors open when it began."""

    def __init__(self, collect: bool = True) -> None:
        self.collect = collect
        self.before = bpf_fds()

    def leaked(self) -> list[LeakedFD]:
        """The bpf descriptors open now that were not open (with the same object) at the start.

        With ``collect`` (the default) runs the garbage collector first, so an
        object that was dropped without ``close()`` is closed by its finalizer
        and does not count: only what is still reachable leaks.
        """
        if self.collect:
            gc.collect()
        now = bpf_fds()
        out = []
        for raw, (kind, obj_id) in sorted(now.items()):
            if self.before.get(raw) == (kind, obj_id):
                continue
            out.append(LeakedFD(raw, kind, obj_id, describe_fd(raw, kind)))
        return out

    def check(self) -> None:
        """Raise AssertionError naming the bpf descriptors opened since the start, still open."""
        leaked = self.leaked()
        if leaked:
            raise AssertionError(format_leaks(leaked))


def format_leaks(leaked: list[LeakedFD], where: str = "inside the block") -> str:
    """The failure message: a count, then one line per descriptor."""
    n = len(leaked)
    head = f"{n} bpf descriptor{'s' if n != 1 else ''} opened {where} and not closed:"
    return "\n".join([head, *(f"  {item}" for item in leaked)])


@contextmanager
def no_fd_leaks(collect: bool = True) -> Iterator[FDLeakChecker]:
    """Fail when the block leaves bpf descriptors open that it opened.

    On leaving the block (normally; an exception from the block propagates
    unchanged) compares this process's bpf descriptors, read from /proc/self,
    with those open on entry, and raises AssertionError naming each new one
    with its number, kind, ID and description::

        with no_fd_leaks():
            m = Map.create(spec)   # forgotten: AssertionError
                                   #   fd 7: bpf map id 42 Map(name=... )

    Descriptors opened by other threads meanwhile count too. Nothing is
    closed for you: the check only reports.
    """
    checker = FDLeakChecker(collect)
    yield checker
    checker.check()


try:  # the pytest fixture, when pytest imports this module as a plugin
    import pytest
except ImportError:  # pragma: no cover - pytest is optional
    pytest = None  # type: ignore[assignment]

if pytest is not None:

    @pytest.fixture(name="no_fd_leaks")
    def _no_fd_leaks_fixture() -> Iterator[FDLeakChecker]:
        """Fail the test (at teardown) when it leaves bpf descriptors open that it opened."""
        checker = FDLeakChecker()
        yield checker
        leaked = checker.leaked()
        if leaked:
            pytest.fail(format_leaks(leaked, "during the test"), pytrace=False)
