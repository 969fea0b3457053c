"""The package as a user installs it: a wheel in a fresh venv, run from the source tree.

CI installs bpfobj editable, which hides mistakes a user meets with ``pip install .``:
a build script shipped in the wheel, a missing ``py.typed``, or a subprocess that
imports the uncompiled source tree because the current directory comes first on
its path. These tests build a real wheel and use it from a fresh virtual
environment, with the clone's own directory as the working directory.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
import venv
import zipfile
from collections.abc import Iterator

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def clean_tree(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """The source files as a fresh clone has them: no compiled module, no build directory."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60, check=True)
    dest = tmp_path_factory.mktemp("clone")
    for name in listed.stdout.splitlines():
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    assert not list(dest.glob("bpfobj/*.so"))
    return dest


@pytest.fixture(scope="module")
def wheel(clean_tree: pathlib.Path, tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """A wheel built from the clean tree, in pip's isolated build environment as a user's is."""
    out = tmp_path_factory.mktemp("wheel")
    rc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
         "-w", str(out), str(clean_tree)],
        capture_output=True, text=True, timeout=300)
    assert rc.returncode == 0, rc.stderr[-2000:]
    wheels = list(out.glob("bpfobj-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="module")
def venv_python(wheel: pathlib.Path,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[pathlib.Path]:
    """A fresh virtual environment with only the wheel (and its dependencies) installed."""
    env_dir = tmp_path_factory.mktemp("venv")
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    rc = subprocess.run([str(python), "-m", "pip", "install", "-q", str(wheel)],
                        capture_output=True, text=True, timeout=300)
    assert rc.returncode == 0, rc.stderr[-2000:]
    yield python


def test_wheel_ships_the_package_not_the_build_script(wheel: pathlib.Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("bpfobj/__init__.py", "bpfobj/py.typed", "bpfobj/_bpfobj_cffi.pyi",
                   "bpfobj/_internal/syscall.py", "bpfobj/asm/__init__.py",
                   "bpfobj/btf/__init__.py", "bpfobj/link/__init__.py"):
        assert needed in names, needed
    assert any(n.startswith("bpfobj/_bpfobj_cffi") and n.endswith(".so") for n in names)
    assert not any(n.endswith("build.py") for n in names), sorted(names)
    assert not any(n.startswith(("cdefs/", "tests/", "benchmarks/")) for n in names)


def test_installed_package_is_the_one_imported(venv_python: pathlib.Path,
                                               clean_tree: pathlib.Path) -> None:
    # From the source directory, `python -c` sees the source tree first; `-I` does not.
    out = subprocess.run([str(venv_python), "-I", "-c", "import bpfobj; print(bpfobj.__file__)"],
                         cwd=clean_tree, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "site-packages" in out.stdout


def test_demo_runs_from_the_source_directory(kernel: None, venv_python: pathlib.Path,
                                             clean_tree: pathlib.Path) -> None:
    """README's main command, `pip install . && bpfobj demo`, from the clone's directory.

    The demo's child process must import the installed bpfobj, not the uncompiled
    source tree in its working directory.
    """
    exe = venv_python.parent / "bpfobj"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    out = subprocess.run([str(exe), "demo"], cwd=clean_tree, capture_output=True, text=True,
                         timeout=120, env=env)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert "Sure leak:" in out.stdout
    assert "tmp_scratch" in out.stdout
    assert "Cleaned up" in out.stdout
