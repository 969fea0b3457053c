"""Iterator links (bpf_iter): the record of their info.

Owns ``IterLinkInfo`` and its decoder. Imports nothing of the package.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["IterLinkInfo"]


@dataclass(frozen=True, slots=True)
class IterLinkInfo:
    """An iterator link's own fields: the target name and the target's parameters."""

    target_name: str
    map_id: int
    cgroup_id: int
    order: int
    tid: int
    pid: int


def decode(d: dict[str, Any], name: str) -> IterLinkInfo:
    """The record of an iterator link's info; ``name`` is the target's."""
    x = d["iter"]
    t = x["target"]
    return IterLinkInfo(target_name=name, map_id=x["map"]["map_id"],
                        cgroup_id=t["cgroup"]["cgroup_id"], order=t["cgroup"]["order"],
                        tid=t["task"]["tid"], pid=t["task"]["pid"])
