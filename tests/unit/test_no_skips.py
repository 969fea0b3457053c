"""Under BPFOBJ_REQUIRE_KERNEL=1 nothing skips: tests/conftest.py reports a skip as a failure."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(tmp_path: Path, require: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "conftest.py").write_text(
        "from tests.conftest import pytest_runtest_makereport  # noqa: F401\n")
    (tmp_path / "test_probe.py").write_text(textwrap.dedent("""
        import pytest

        def test_skips():
            pytest.skip("no such capability")

        @pytest.mark.skipif(True, reason="marker")
        def test_marked():
            pass

        def test_passes():
            pass
    """))
    env = {**os.environ, "BPFOBJ_REQUIRE_KERNEL": require, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider",
         "--rootdir", str(tmp_path), str(tmp_path)],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path, check=False)


def test_a_skip_fails_under_require_kernel(tmp_path: Path) -> None:
    proc = _run(tmp_path, "1")
    assert proc.returncode == 1, proc.stdout
    # the call-time skip fails; the marker skips at setup and reports as an error
    assert "1 failed, 1 passed, 1 error" in proc.stdout, proc.stdout
    assert "skipped under BPFOBJ_REQUIRE_KERNEL=1" in proc.stdout


def test_a_skip_stays_a_skip_otherwise(tmp_path: Path) -> None:
    proc = _run(tmp_path, "0")
    assert proc.returncode == 0, proc.stdout
    assert "1 passed, 2 skipped" in proc.stdout, proc.stdout
