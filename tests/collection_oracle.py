"""What libbpf makes of an object, as `bpftool prog loadall OBJ DIR pinmaps DIR` loads it.

Run as a child in a private mount namespace (``oracle(obj)``): it mounts a fresh bpffs on
/sys/fs/bpf (where libbpf pins PIN_BY_NAME maps) and on a scratch directory, lets bpftool
load the object there, and prints ``describe()`` of what was pinned as JSON. Everything
vanishes with the namespace. ``describe()`` is also what the tests apply to bpfobj's own
Collection, so both sides are summarised by the same code.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from typing import Any

MAP_ID = re.compile(r"map\[id:(\d+)\]")


def _xlated(prog_id: int, names: dict[int, str]) -> str:
    text = subprocess.run(["bpftool", "prog", "dump", "xlated", "id", str(prog_id)],
                          check=True, capture_output=True, text=True).stdout
    return MAP_ID.sub(lambda m: f"map[{names.get(int(m.group(1)), '?')}]", text)


def describe(prog_ids: dict[str, int], map_ids: dict[str, int]) -> dict[str, Any]:
    """Programs (type, name, tag, xlated with map names for ids) and maps (kernel info)."""
    from bpfobj import Map, Program

    maps: dict[str, Any] = {}
    names: dict[int, str] = {}
    for map_id in map_ids.values():
        with Map.new_from_id(map_id) as m:
            i = m.info()
        names[map_id] = i.name
        maps[i.name] = {"type": int(i.type), "key_size": i.key_size,
                        "value_size": i.value_size, "max_entries": i.max_entries,
                        "flags": i.flags, "map_extra": i.map_extra,
                        "btf": bool(i.btf_id), "btf_key_type_id": i.btf_key_type_id,
                        "btf_value_type_id": i.btf_value_type_id}
    progs: dict[str, Any] = {}
    for name, prog_id in prog_ids.items():
        with Program.new_from_id(prog_id) as p:
            pi = p.info()
        progs[name] = {"type": int(pi.type), "name": pi.name, "tag": pi.tag,
                       "btf": bool(pi.btf_id), "xlated": _xlated(prog_id, names)}
    return {"programs": progs, "maps": maps}


def _child(obj: str, root: str) -> None:
    subprocess.run(["mount", "--make-rprivate", "/"], check=True)
    subprocess.run(["mount", "-t", "bpf", "bpf", "/sys/fs/bpf"], check=True)
    subprocess.run(["mount", "-t", "bpf", "bpf", root], check=True)
    pdir, mdir = os.path.join(root, "progs"), os.path.join(root, "maps")
    rc = subprocess.run(["bpftool", "prog", "loadall", obj, pdir, "pinmaps", mdir],
                        capture_output=True, text=True)
    all_maps = True
    if rc.returncode and "different from" in rc.stderr:
        # libbpf refuses `pinmaps` for an object with PIN_BY_NAME maps (they already have
        # a pin path under /sys/fs/bpf): load without it and find the maps through the
        # programs and those pins.
        all_maps = False
        subprocess.run(["rm", "-rf", pdir, mdir], check=True)
        rc = subprocess.run(["bpftool", "prog", "loadall", obj, pdir], capture_output=True,
                            text=True)
    if rc.returncode:
        print(json.dumps({"error": rc.stderr[-3000:]}))
        return
    from bpfobj import Map, Program

    prog_ids, map_ids = {}, {}
    for name in os.listdir(pdir):
        with Program.load_pinned(os.path.join(pdir, name)) as p:
            info = p.info()
        prog_ids[name] = info.id
        for map_id in info.map_ids:
            map_ids[f"id{map_id}"] = map_id
    for d in (mdir, "/sys/fs/bpf"):
        for name in os.listdir(d) if os.path.isdir(d) else ():
            if name.endswith(".debug"):  # a fresh bpffs shows bpf_preload's iterators
                continue
            with Map.load_pinned(os.path.join(d, name)) as m:
                map_ids[name] = m.info().id
    out = describe(prog_ids, map_ids)
    out["all_maps"] = all_maps
    out["pins"] = {"progs": sorted(os.listdir(pdir)),
                   "maps": sorted(os.listdir(mdir)) if os.path.isdir(mdir) else []}
    print(json.dumps(out))


def oracle(obj: str, scratch: str) -> dict[str, Any]:
    """Run the child in a new mount namespace; its JSON summary of libbpf's load."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run(["unshare", "-m", sys.executable, "-m", "tests.collection_oracle",
                          obj, scratch], cwd=root, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(out.stdout)
    return result


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2])
