"""bpfobj.testing: no_fd_leaks as a context manager and as the pytest fixture of the plugin."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import warnings
from importlib.metadata import entry_points

import pytest

from bpfobj import Map, MapSpec, MapType
from bpfobj.testing import FDLeakChecker, no_fd_leaks

pytestmark = pytest.mark.usefixtures("kernel")


@pytest.fixture(autouse=True)
def _each_test_closes_what_it_opens(no_fd_leaks: object) -> None:
    """Our own plugin's fixture: every test here must close the bpf descriptors it opens."""

SPEC = MapSpec(MapType.HASH, 4, 8, 16, name="leaky")


def _readlink(raw: int) -> str:
    return os.readlink(f"/proc/self/fd/{raw}")


def test_clean_block_passes() -> None:
    with no_fd_leaks():
        with Map.create(SPEC) as m:
            m.update(1, 2)
            with m.clone():
                pass


def test_leaked_map_is_named_with_fd_type_id_and_description() -> None:
    with pytest.raises(AssertionError) as excinfo:
        with no_fd_leaks():
            m = Map.create(SPEC)
    try:
        raw, map_id = m.fd, m.info().id
        assert _readlink(raw) == "anon_inode:bpf-map"
        message = str(excinfo.value)
        assert message.splitlines()[0] == "1 bpf descriptor opened inside the block and not closed:"
        assert message.splitlines()[1] == (
            f"  fd {raw}: bpf map id {map_id} "
            "Map(name=leaky type=Hash keySize=4 valueSize=8 maxEntries=16 flags=0)")
    finally:
        m.close()


def test_every_leaked_descriptor_is_listed_in_order() -> None:
    with pytest.raises(AssertionError) as excinfo:
        with no_fd_leaks():
            a = Map.create(SPEC)
            b = a.clone()
            with Map.create(SPEC):
                pass
    try:
        lines = str(excinfo.value).splitlines()
        assert lines[0].startswith("2 bpf descriptors")
        numbers = [int(m.group(1)) for m in map(re.compile(r"  fd (\d+):").match, lines[1:]) if m]
        assert numbers == sorted([a.fd, b.fd])
    finally:
        a.close()
        b.close()


def test_descriptors_open_before_the_block_do_not_count() -> None:
    with Map.create(SPEC) as before:
        with no_fd_leaks():
            before.update(1, 1)
        assert not before.closed


def test_a_number_reused_for_another_object_counts() -> None:
    old = Map.create(SPEC)
    raw = old.fd
    with pytest.raises(AssertionError) as excinfo:
        with no_fd_leaks():
            old.close()
            new = Map.create(SPEC)
    try:
        assert new.fd == raw  # the kernel handed out the lowest free number again
        assert f"fd {raw}: bpf map id {new.info().id}" in str(excinfo.value)
    finally:
        new.close()


def test_an_object_dropped_unclosed_is_finalized_not_leaked() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        with no_fd_leaks():
            Map.create(SPEC)  # dropped at once; its finalizer closes it


def test_an_exception_in_the_block_propagates_unchanged() -> None:
    with pytest.raises(KeyError):
        with no_fd_leaks():
            raise KeyError("boom")


def test_checker_reports_without_raising() -> None:
    checker = FDLeakChecker()
    with Map.create(SPEC) as m:
        leaked = checker.leaked()
        assert [(x.fd, x.type.value, x.id) for x in leaked] == [(m.fd, "map", m.info().id)]
    assert checker.leaked() == []


def test_plugin_entry_point_is_registered() -> None:
    eps = [ep for ep in entry_points(group="pytest11") if ep.name == "bpfobj"]
    assert [ep.value for ep in eps] == ["bpfobj.testing"]


def test_fixture_fails_a_leaking_test_and_passes_a_clean_one(tmp_path: os.PathLike[str]) -> None:
    test_file = os.path.join(os.fspath(tmp_path), "test_user.py")
    with open(test_file, "w") as f:
        f.write(textwrap.dedent("""
            from bpfobj import Map, MapSpec, MapType

            SPEC = MapSpec(MapType.ARRAY, 4, 4, 1, name="user_map")
            KEEP = []

            def test_clean(no_fd_leaks):
                with Map.create(SPEC):
                    pass

            def test_leaks(no_fd_leaks):
                KEEP.append(Map.create(SPEC))
        """))
    # A fresh interpreter: the fixture must come from the installed entry point alone.
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir",
         os.fspath(tmp_path), test_file],
        capture_output=True, text=True, timeout=120, cwd=os.fspath(tmp_path))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "2 passed, 1 error" in out, out  # a teardown error counts the test as passed too
    assert "ERROR at teardown of test_leaks" in out, out
    assert "1 bpf descriptor opened during the test and not closed:" in out, out
    assert re.search(r"fd \d+: bpf map id \d+ Map\(name=user_map type=Array keySize=4 "
                     r"valueSize=4 maxEntries=1 flags=0\)", out), out
