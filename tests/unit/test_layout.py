"""The package's shape: one registry, one ID walk, link families in their modules, imports
at the top of modules (a function-level import must say why it is there)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

from bpfobj import BTF, Link, LinkInfo, Map, ObjType, Program, _any, link, objects
from bpfobj.link import XDPLinkInfo

PACKAGE = Path(_any.__file__).resolve().parent


def test_one_registry_of_object_classes() -> None:
    assert _any.CLASSES == {ObjType.MAP: Map, ObjType.PROG: Program, ObjType.LINK: Link,
                            ObjType.BTF: BTF}
    for kind, cls in _any.CLASSES.items():
        assert cls._KIND is kind


def test_one_id_walk() -> None:
    """Only objects.py calls GET_NEXT_ID (``_sys.get_next_id``)."""
    callers = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr == "get_next_id" \
                    and path.name != "syscall.py":
                callers.append(path.name)
    assert callers == ["objects.py"]
    assert callable(objects.opened)


def test_link_families_have_their_modules() -> None:
    for family, record in (("xdp", "XDPLinkInfo"), ("tcx", "TCXLinkInfo"),
                           ("cgroup", "CgroupLinkInfo"), ("netns", "NetNsLinkInfo"),
                           ("raw_tracepoint", "RawTracepointLinkInfo")):
        module = importlib.import_module(f"bpfobj.link.{family}")
        assert callable(module.attach) and getattr(link, record) is getattr(module, record)
        assert hasattr(Link, f"attach_{family}")
    assert importlib.import_module("bpfobj.link.iter").IterLinkInfo is link.IterLinkInfo
    assert link.Link is Link and link.LinkInfo is LinkInfo and link.XDPLinkInfo is XDPLinkInfo
    # The tracing families: each has its module; Link delegates to them.
    from bpfobj.link import kprobe, perf_event, tracepoint, uprobe

    assert callable(tracepoint.attach_tracepoint) and callable(kprobe.attach_kprobe)
    assert issubclass(perf_event.PerfEventLink, Link)
    assert link.Executable is uprobe.Executable
    assert hasattr(Link, "attach_tracepoint") and hasattr(Link, "attach_kprobe")


def test_function_level_imports_say_why() -> None:
    """An import inside a function breaks a cycle or defers a heavy import, and says so."""
    bare = []
    for path in sorted(PACKAGE.rglob("*.py")):
        lines = path.read_text().splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for sub in ast.walk(node):
                if isinstance(sub, (ast.Import, ast.ImportFrom)):
                    context = "\n".join(lines[max(0, sub.lineno - 4):sub.lineno])
                    if "#" not in context:
                        bare.append(f"{path.relative_to(PACKAGE)}:{sub.lineno}")
    assert bare == []
