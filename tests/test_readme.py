"""The README's Python examples type-check under ``mypy --strict``.

Typed users copy them: ``int.from_bytes(hits.lookup(0), "little")`` must pass
as it reads (Map.lookup() is typed bytes; per-CPU maps have lookup_percpu()).
Each ```python block is checked as its own module, after a prelude that
declares the names the text leaves to the reader (the accepted connection,
the reader's own loader).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

PRELUDE = '''\
from __future__ import annotations
import socket
conn: socket.socket
def run_my_loader() -> None: ...
'''


def blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def test_readme_has_python_examples() -> None:
    found = blocks()
    assert len(found) >= 2
    assert any("hits.lookup(0)" in b for b in found)  # the one typed users tripped on


def test_readme_examples_pass_mypy_strict(tmp_path: Path) -> None:
    files = []
    for i, text in enumerate(blocks()):
        path = tmp_path / f"readme_example_{i}.py"
        path.write_text(PRELUDE + text)
        files.append(str(path))
    res = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary",
         "--cache-dir", str(tmp_path / "cache"), *files],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "MYPYPATH": str(ROOT)})
    # Name the README line of each error: a block's line n is the prelude's plus n.
    shown = []
    starts = [m.start() for m in re.finditer(r"```python\n", README.read_text())]
    offset = PRELUDE.count("\n")
    for line in res.stdout.splitlines():
        m = re.match(r".*readme_example_(\d+)\.py:(\d+): (.*)", line)
        if m:
            block, n, msg = int(m.group(1)), int(m.group(2)), m.group(3)
            readme_line = README.read_text()[:starts[block]].count("\n") + 1 + n - offset
            shown.append(f"README.md:{readme_line}: {msg}")
        elif line.strip():
            shown.append(line)
    assert res.returncode == 0 and not shown, "\n".join(shown) or res.stderr
