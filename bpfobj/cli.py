"""The ``bpfobj`` command: show objects, dump maps, walk bpffs, list a process's descriptors,
analyse leaks, and run the demo.

Owns argument parsing, the text and JSON output of every subcommand and the
exit codes. JSON output uses bpftool's keys (``bpftool -j ... show``) for the
fields both tools have, so scripts written for one read the other. Imports
everything below it: the object wrappers, ``objects``, ``bpffs``, ``procfs``
and ``leak``; ``_demo`` for ``bpfobj demo``.

Exit codes: 0 success; 1 ``leak`` found a sure leak (``--watch``: a count
grew); 2 usage error; 3 other error; 4 not root / not permitted; 5 no such
process (or it exited mid-scan); 6 no such object (ID or pin); 7 not a bpffs.
"""

from __future__ import annotations

import argparse
import dataclasses
import errno as _errno
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Optional, TextIO, Union

from . import _demo, bpffs, btf, objects, procfs
from ._any import CLASSES
from ._internal import linux
from ._types import ObjType
from .btf import decode, dump
from .collection import Collection, CollectionSpec, pin_name
from .errors import BPFError, BPFPermissionError, NotBPFFSError, ProcessGoneError
from .leak import _info_by_id, analyze
from .link import (
    CgroupLinkInfo,
    IterLinkInfo,
    LinkInfo,
    NetfilterLinkInfo,
    NetkitLinkInfo,
    NetNsLinkInfo,
    TCXLinkInfo,
    XDPLinkInfo,
)

__all__ = ["main"]

EXIT_OK = 0
EXIT_LEAK = 1
EXIT_USAGE = 2
EXIT_ERROR = 3
EXIT_PERMISSION = 4
EXIT_NO_PROCESS = 5
EXIT_NOT_FOUND = 6
EXIT_NOT_BPFFS = 7


class CLIError(Exception):
    """A failure with a message for the user and an exit code."""

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.code = code


# -- object selection ---------------------------------------------------------------------

_KINDS = {"map": ObjType.MAP, "prog": ObjType.PROG, "link": ObjType.LINK, "btf": ObjType.BTF}


def _parse_id(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise CLIError(f"can't parse {text!r} as an ID", EXIT_USAGE) from None
    if not 0 <= value < 2**32:
        raise CLIError(f"ID {value} is out of range", EXIT_USAGE)
    return value


def _selector(words: Sequence[str], required: bool) -> Optional[tuple[str, str]]:
    """``[ID | id ID | pinned PATH]`` -> ("id", "7") / ("pinned", path) / None."""
    words = list(words)
    if not words:
        if required:
            raise CLIError("expected ID, 'id ID' or 'pinned PATH'", EXIT_USAGE)
        return None
    if len(words) == 1 and words[0] not in ("id", "pinned"):
        return ("id", words[0])
    if len(words) == 2 and words[0] in ("id", "pinned"):
        return (words[0], words[1])
    raise CLIError(f"expected ID, 'id ID' or 'pinned PATH', got: {' '.join(words)}", EXIT_USAGE)


def _open(kind: ObjType, sel: tuple[str, str]) -> Any:
    cls: Any = CLASSES[kind]
    how, arg = sel
    if how == "id":
        obj_id = _parse_id(arg)
        try:
            return cls.new_from_id(obj_id)
        except BPFPermissionError:
            raise
        except BPFError as exc:
            if exc.errno == _errno.ENOENT:
                raise CLIError(f"no {kind.value} with ID {obj_id}", EXIT_NOT_FOUND) from None
            raise
    try:
        return cls.load_pinned(arg)
    except (BPFPermissionError, NotBPFFSError):
        raise
    except BPFError as exc:
        if exc.errno == _errno.ENOENT:
            raise CLIError(f"nothing is pinned at {arg!r}", EXIT_NOT_FOUND) from None
        raise


def _each(kind: ObjType) -> Iterator[Any]:
    """Every object of this kind on the system, opened one at a time (vanished ones skipped)."""
    return objects.opened(kind)


# -- context shared by show: pins and holders -----------------------------------------------


class _Context:
    """What every ``show`` entry needs: pinned paths and holding processes, computed once.

    Holders are read before this command opens anything, so its own
    descriptors never appear among them (as bpftool leaves itself out).
    """

    def __init__(self) -> None:
        self.holders: dict[tuple[ObjType, int], list[dict[str, Any]]] = {}
        for key, procs in procfs.holders().items():
            seen: dict[int, str] = {}
            for pid, comm, _fd in procs:
                seen.setdefault(pid, comm)
            if seen:
                self.holders[key] = [{"pid": p, "comm": c} for p, c in sorted(seen.items())]
        self.pins: dict[tuple[ObjType, int], list[str]] = {}
        for root in _bpffs_roots():
            for pinned in _walk(root):
                self.pins.setdefault((pinned.type, pinned.id), []).append(pinned.path)

    def extra(self, kind: ObjType, obj_id: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        out["pinned"] = sorted(self.pins.get((kind, obj_id), []))
        pids = self.holders.get((kind, obj_id))
        if pids:
            out["pids"] = pids
        return out


def _bpffs_roots() -> list[str]:
    return [m.mountpoint for m in bpffs.mounts("self")]


def _walk(root: str) -> Iterator[bpffs.Pinned]:
    return bpffs.walk(root)


# -- JSON in bpftool's keys -----------------------------------------------------------------


def _enum_name(value: Any) -> Any:
    name = getattr(value, "kernel_name", None)
    return name if name is not None else int(value)


def map_json(m: Any, ctx: Optional[_Context] = None) -> dict[str, Any]:
    """A map as ``bpftool -j map show`` prints it (id, type, name, flags, bytes_key, ...)."""
    info = m.info(fdinfo=True)
    d: dict[str, Any] = {"id": info.id, "type": _enum_name(info.type)}
    if info.name:
        d["name"] = info.name
    d["flags"] = info.flags
    if info.ifindex:
        d["ifindex"] = info.ifindex
    d["bytes_key"] = info.key_size
    d["bytes_value"] = info.value_size
    d["max_entries"] = info.max_entries
    if info.memlock is not None:
        d["bytes_memlock"] = info.memlock
    d["frozen"] = int(bool(info.frozen))
    if info.btf_id:
        d["btf_id"] = info.btf_id
    if info.map_extra:
        d["map_extra"] = info.map_extra
    if ctx is not None:
        d.update(ctx.extra(ObjType.MAP, info.id))
    return d


def _boot_to_epoch(load_time_ns: int) -> int:
    """A CLOCK_BOOTTIME timestamp (ns) as wall-clock seconds since the epoch."""
    offset = time.clock_gettime(time.CLOCK_REALTIME) - time.clock_gettime(time.CLOCK_BOOTTIME)
    return int(offset + load_time_ns / 1e9)


def prog_json(p: Any, ctx: Optional[_Context] = None) -> dict[str, Any]:
    """A program as ``bpftool -j prog show`` prints it (id, type, name, tag, map_ids, ...)."""
    info = p.info()
    d: dict[str, Any] = {"id": info.id, "type": _enum_name(info.type)}
    if info.name:
        d["name"] = info.name
    d["tag"] = info.tag
    d["gpl_compatible"] = bool(info.gpl_compatible)
    if info.run_time_ns:
        d["run_time_ns"] = info.run_time_ns
        d["run_cnt"] = info.run_count
    if info.load_time:
        d["loaded_at"] = _boot_to_epoch(info.load_time)
        d["uid"] = info.created_by_uid
    d["orphaned"] = False
    d["bytes_xlated"] = info.xlated_len
    jited = info.jited_len
    d["jited"] = bool(jited)
    if jited:
        d["bytes_jited"] = jited
    memlock = _fdinfo_int(p, "memlock")
    if memlock is not None:
        d["bytes_memlock"] = memlock
    if info.map_ids:
        d["map_ids"] = list(info.map_ids)
    if info.btf_id:
        d["btf_id"] = info.btf_id
    if info.verified_insns:
        d["verified_insns"] = info.verified_insns
    if ctx is not None:
        d.update(ctx.extra(ObjType.PROG, info.id))
    return d


def link_json(lk: Any, ctx: Optional[_Context] = None) -> dict[str, Any]:
    """A link as ``bpftool -j link show`` prints it (id, type, prog_id, per-type fields)."""
    info = lk.info()
    d: dict[str, Any] = {"id": info.id, "type": _enum_name(info.type), "prog_id": info.prog_id}
    for key, value in _link_fields(info).items():
        d[key] = value
    if ctx is not None:
        d.update(ctx.extra(ObjType.LINK, info.id))
    return d


def _link_fields(info: LinkInfo) -> dict[str, Any]:
    """The type-specific fields of a link, under bpftool's keys."""
    out: dict[str, Any] = {}
    if info.perf_event is not None:
        out.update(_perf_link_fields(info.perf_event))
    sub = info.details
    if sub is None or not isinstance(sub, _SHOWN_DETAILS):
        return out
    values = {f.name: getattr(sub, f.name) for f in dataclasses.fields(sub)}
    for key in ("ifindex", "cgroup_id", "netns_ino", "target_name", "map_id"):
        if key in values:
            out[key] = values[key]
    if "attach_type" in values:
        out["attach_type"] = _enum_name(values["attach_type"])
    return out


#: The link types whose own fields ``bpftool link show`` prints under these keys.
_SHOWN_DETAILS = (XDPLinkInfo, TCXLinkInfo, NetkitLinkInfo, NetNsLinkInfo, CgroupLinkInfo,
                  IterLinkInfo, NetfilterLinkInfo)


def _perf_link_fields(perf: Any) -> dict[str, Any]:
    """A perf_event link's fields under bpftool's keys (bpftool 7.3's link show)."""
    kind = perf.kind
    if kind in ("kprobe", "kretprobe"):
        return {"retprobe": perf.retprobe, "addr": perf.addr, "func": perf.name,
                "offset": perf.offset, "missed": perf.missed, "cookie": perf.cookie}
    if kind in ("uprobe", "uretprobe"):
        return {"retprobe": perf.retprobe, "file": perf.name, "offset": perf.offset,
                "cookie": perf.cookie, "ref_ctr_offset": perf.ref_ctr_offset}
    if kind == "tracepoint":
        return {"tracepoint": perf.name, "cookie": perf.cookie}
    if kind == "event":
        return {"event_type": perf.event_type, "event_config": perf.config,
                "cookie": perf.cookie}
    return {}


def btf_json(b: Any, ctx: Optional[_Context] = None,
             users: Optional[dict[int, dict[str, list[int]]]] = None) -> dict[str, Any]:
    """A BTF object as ``bpftool -j btf show`` prints it (id, size, prog_ids, map_ids, ...)."""
    info = b.info()
    d: dict[str, Any] = {"id": info.id, "size": info.size}
    u = (users or {}).get(info.id, {"prog_ids": [], "map_ids": []})
    d["prog_ids"] = u["prog_ids"]
    d["map_ids"] = u["map_ids"]
    d["kernel"] = bool(info.kernel_btf)
    if info.name:
        d["name"] = info.name
    if ctx is not None:
        pids = ctx.holders.get((ObjType.BTF, info.id))
        if pids:
            d["pids"] = pids
    return d


def _btf_users() -> dict[int, dict[str, list[int]]]:
    users: dict[int, dict[str, list[int]]] = {}
    for kind, key in ((ObjType.PROG, "prog_ids"), (ObjType.MAP, "map_ids")):
        for obj in _each(kind):
            info = obj.info()
            if info.btf_id:
                users.setdefault(info.btf_id, {"prog_ids": [], "map_ids": []})[key].append(info.id)
    return users


def _fdinfo_int(obj: Any, key: str) -> Optional[int]:
    try:
        return int(linux.fdinfo(obj.fd)[key])
    except (OSError, ValueError, KeyError):
        return None


_TO_JSON: dict[ObjType, Callable[..., dict[str, Any]]] = {
    ObjType.MAP: map_json, ObjType.PROG: prog_json, ObjType.LINK: link_json,
    ObjType.BTF: btf_json,
}


# -- plain text -----------------------------------------------------------------------------


def _plain(kind: ObjType, d: dict[str, Any]) -> str:
    name = f"  name {d['name']}" if "name" in d else ""
    if kind is ObjType.MAP:
        lines = [f"{d['id']}: {d['type']}{name}  flags {d['flags']:#x}",
                 f"\tkey {d['bytes_key']}B  value {d['bytes_value']}B  "
                 f"max_entries {d['max_entries']}"
                 + (f"  memlock {d['bytes_memlock']}B" if "bytes_memlock" in d else "")]
        if d.get("btf_id"):
            lines.append(f"\tbtf_id {d['btf_id']}" + ("  frozen" if d.get("frozen") else ""))
        elif d.get("frozen"):
            lines.append("\tfrozen")
    elif kind is ObjType.PROG:
        lines = [f"{d['id']}: {d['type']}{name}  tag {d['tag']}"
                 + ("  gpl" if d.get("gpl_compatible") else "")]
        if "loaded_at" in d:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(d["loaded_at"]))
            lines.append(f"\tloaded_at {stamp}  uid {d['uid']}")
        jit = f"  jited {d['bytes_jited']}B" if d.get("jited") else "  not jited"
        mem = f"  memlock {d['bytes_memlock']}B" if "bytes_memlock" in d else ""
        maps = "  map_ids " + ",".join(map(str, d["map_ids"])) if d.get("map_ids") else ""
        lines.append(f"\txlated {d['bytes_xlated']}B{jit}{mem}{maps}")
        if d.get("btf_id"):
            lines.append(f"\tbtf_id {d['btf_id']}")
    elif kind is ObjType.LINK:
        rest = "  ".join(f"{k} {v}" for k, v in d.items()
                         if k not in ("id", "type", "prog_id", "pinned", "pids"))
        lines = [f"{d['id']}: {d['type']}  prog {d['prog_id']}"]
        if rest:
            lines.append(f"\t{rest}")
    else:
        lines = [f"{d['id']}: name {d.get('name', '')}  size {d['size']}B"
                 + ("  kernel" if d.get("kernel") else "")]
        if d["prog_ids"]:
            lines.append("\tprog_ids " + ",".join(map(str, d["prog_ids"])))
        if d["map_ids"]:
            lines.append("\tmap_ids " + ",".join(map(str, d["map_ids"])))
    for path in d.get("pinned", ()):
        lines.append(f"\tpinned {path}")
    if d.get("pids"):
        lines.append("\tpids " + ", ".join(f"{p['comm']}({p['pid']})" for p in d["pids"]))
    return "\n".join(lines)


# -- commands -------------------------------------------------------------------------------


def cmd_show(args: argparse.Namespace, out: TextIO) -> int:
    kind = _KINDS[args.kind]
    sel = _selector(args.target, required=False)
    ctx = _Context()  # before anything is opened: our own descriptors are not holders
    users = _btf_users() if kind is ObjType.BTF else None
    conv = _TO_JSON[kind]

    def one(obj: Any) -> dict[str, Any]:
        if kind is ObjType.BTF:
            return btf_json(obj, ctx, users)
        return conv(obj, ctx)

    if sel is not None:
        with _open(kind, sel) as obj:
            d = one(obj)
        if args.json:
            out.write(json.dumps(d) + "\n")
        else:
            out.write(_plain(kind, d) + "\n")
        return EXIT_OK
    items = [one(obj) for obj in _each(kind)]
    if args.json:
        out.write(json.dumps(items) + "\n")
    else:
        for d in items:
            out.write(_plain(kind, d) + "\n")
    return EXIT_OK


def _hex_list(data: bytes) -> list[str]:
    return [f"0x{b:02x}" for b in data]


def _hex_text(data: bytes) -> str:
    groups = [" ".join(f"{b:02x}" for b in data[i:i + 8]) for i in range(0, len(data), 8)]
    return "  ".join(groups)


def _json_value(v: Any) -> Any:
    """A decoded BTF value as JSON: bytes (a char array that is not text) become numbers,
    signed as char is on the machines bpftool runs on (x86, arm64 print it so)."""
    if isinstance(v, bytes):
        return [b - 256 if b > 127 else b for b in v]
    if isinstance(v, dict):
        return {k: _json_value(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_json_value(x) for x in v]
    return v


def _formatted(key_type: Any, value_type: Any, key: bytes,
               value: Union[bytes, list[bytes]]) -> dict[str, Any]:
    """The "formatted" member of a dump entry, as bpftool -j prints it for a map with BTF."""

    d: dict[str, Any] = {}
    if key_type is not None:
        d["key"] = _json_value(decode(key_type, key))
    if value_type is not None:
        if isinstance(value, list):
            d["values"] = [{"cpu": cpu, "value": _json_value(decode(value_type, v))}
                           for cpu, v in enumerate(value)]
        else:
            d["value"] = _json_value(decode(value_type, value))
    return d


def cmd_dump(args: argparse.Namespace, out: TextIO) -> int:
    sel = _selector(args.target, required=True)
    assert sel is not None
    with _open(ObjType.MAP, sel) as m:
        entries = list(m.items())
        key_type, value_type = (m.key_type, m.value_type) if args.json else (None, None)
    if args.json:
        rows: list[dict[str, Any]] = []
        for key, value in entries:
            if isinstance(value, list):
                row = {"key": _hex_list(key), "values": [
                    {"cpu": cpu, "value": _hex_list(v)} for cpu, v in enumerate(value)]}
            else:
                row = {"key": _hex_list(key), "value": _hex_list(value)}
            if key_type is not None or value_type is not None:
                try:
                    row["formatted"] = _formatted(key_type, value_type, key, value)
                except ValueError:  # BTF that does not describe the bytes: raw only
                    pass
            rows.append(row)
        out.write(json.dumps(rows) + "\n")
        return EXIT_OK
    for key, value in entries:
        if isinstance(value, list):
            out.write(f"key:\n{_hex_text(key)}\n")
            for cpu, v in enumerate(value):
                out.write(f"value (CPU {cpu:02d}): {_hex_text(v)}\n")
        else:
            wide = len(key) > 16 or len(value) > 16
            one_line = not wide and len(key) + len(value) <= 24
            sep = "\n" if wide else " "
            out.write(f"key:{sep}{_hex_text(key)}" + ("  " if one_line else "\n")
                      + f"value:{sep}{_hex_text(value)}\n")
    n = len(entries)
    out.write(f"Found {n} element{'s' if n != 1 else ''}\n")
    return EXIT_OK


def cmd_pinned(args: argparse.Namespace, out: TextIO) -> int:
    if args.root is not None:
        if not os.path.exists(args.root):
            raise CLIError(f"{args.root!r} does not exist", EXIT_NOT_FOUND)
        if not bpffs.is_bpffs(args.root):
            raise CLIError(f"{args.root!r} is not on a bpffs mount "
                           "(mount one with: mount -t bpf bpf DIR)", EXIT_NOT_BPFFS)
        roots = [args.root]
    else:
        roots = _bpffs_roots()
        if not roots:
            raise CLIError("no bpffs is mounted (mount one with: mount -t bpf bpf /sys/fs/bpf)",
                           EXIT_NOT_BPFFS)
    rows = []
    for root in roots:
        for p in _walk(root):
            rows.append({"path": p.path, "type": p.type.value, "id": p.id,
                         "description": str(p.info) if p.info is not None else ""})
    if args.json:
        out.write(json.dumps(rows, ensure_ascii=False) + "\n")
    else:
        for r in rows:
            out.write(f"{r['path']}  {r['type']}  id {r['id']}  {r['description']}\n")
    return EXIT_OK


def _pid_arg(text: str) -> int:
    try:
        pid = int(text)
    except ValueError:
        raise CLIError(f"{text!r} is not a process ID", EXIT_USAGE) from None
    if pid <= 0:
        raise CLIError(f"{text!r} is not a process ID", EXIT_USAGE)
    if not os.path.exists(f"/proc/{pid}"):
        raise CLIError(f"no such process: {pid}", EXIT_NO_PROCESS)
    return pid


def cmd_fds(args: argparse.Namespace, out: TextIO) -> int:
    pid = _pid_arg(args.pid)
    rows = []
    cache: dict[tuple[ObjType, int], str] = {}
    for p in procfs.fds(pid):
        if not isinstance(p.type, ObjType):
            continue
        key = (p.type, p.id)
        if key not in cache:
            info = _info_by_id(p.type, p.id)
            cache[key] = str(info) if info is not None else ""
        rows.append({"fd": p.fd, "type": p.type.value, "id": p.id,
                     "cloexec": p.cloexec, "description": cache[key]})
    if args.json:
        out.write(json.dumps(rows) + "\n")
    else:
        for r in rows:
            flag = "" if r["cloexec"] in (True, None) else "  (no cloexec)"
            out.write(f"FD={r['fd']} ID={r['id']} {r['type']} {r['description']}{flag}\n")
    return EXIT_OK


def cmd_leak(args: argparse.Namespace, out: TextIO) -> int:
    pid = _pid_arg(args.pid)
    if args.watch is not None:
        return _watch(pid, args.watch, args.count, args.json, out)
    report = analyze(pid, bpffs=args.bpffs or None)
    for w in report.warnings:
        sys.stderr.write(f"bpfobj: warning: {w}\n")
    if args.json:
        out.write(report.to_json() + "\n")
    else:
        out.write(report.to_text())
    return EXIT_LEAK if report.sure else EXIT_OK


def _watch(pid: int, interval: float, count: Optional[int], as_json: bool, out: TextIO) -> int:
    """Sample the process's descriptor counts per type; flag growth. Ctrl-C or --count ends it."""
    kinds = [k.value for k in ObjType]
    first: Optional[dict[str, int]] = None
    last: Optional[dict[str, int]] = None
    samples = 0
    grew = False
    start = time.monotonic()
    if not as_json:
        out.write("time      " + "".join(f"{k:>10}" for k in kinds) + "\n")
    try:
        while count is None or samples < count:
            if samples:
                time.sleep(interval)
            counts = dict.fromkeys(kinds, 0)
            for p in procfs.fds(pid):
                if isinstance(p.type, ObjType):
                    counts[p.type.value] += 1
            growth = {k: counts[k] - last[k] for k in kinds if last and counts[k] > last[k]}
            grew = grew or bool(growth)
            if first is None:
                first = counts
            last = counts
            samples += 1
            t = time.monotonic() - start
            if as_json:
                out.write(json.dumps({"t": round(t, 3), **counts, "growth": growth}) + "\n")
            else:
                cells = "".join(
                    f"{(f'{counts[k]} (+{growth[k]})' if k in growth else str(counts[k])):>10}"
                    for k in kinds)
                out.write(f"{t:8.1f}s {cells}" + ("  growing" if growth else "") + "\n")
            out.flush()
    except KeyboardInterrupt:
        pass
    if first is not None and last is not None and not as_json:
        total = {k: last[k] - first[k] for k in kinds if last[k] != first[k]}
        summary = ", ".join(f"{k} {v:+d}" for k, v in total.items()) or "no change"
        out.write(f"{samples} samples: {summary}\n")
    return EXIT_LEAK if grew else EXIT_OK


def cmd_perf(args: argparse.Namespace, out: TextIO) -> int:
    """``bpfobj perf``: every program attached through a perf event, as ``bpftool perf show``."""

    rows = procfs.perf_attachments_all()
    if args.json:
        out.write(json.dumps([r.to_bpftool() for r in rows], ensure_ascii=False) + "\n")
    else:
        for r in rows:
            out.write(r.bpftool_line() + "\n")
    return EXIT_OK


def _btf_dump_spec(args: argparse.Namespace) -> Any:
    """The Spec that ``btf dump id ID | file PATH`` names (split on vmlinux for modules)."""

    words = list(args.target)
    fmt = "raw"
    if len(words) >= 2 and words[-2] == "format":
        fmt = words[-1]
        del words[-2:]
    if fmt not in ("raw", "c"):
        raise CLIError(f"unknown format {fmt!r} (raw or c)", EXIT_USAGE)
    if len(words) != 2 or words[0] not in ("id", "file"):
        raise CLIError("expected 'id ID' or 'file PATH' [format raw|c]", EXIT_USAGE)
    args.format = fmt
    try:
        if words[0] == "id":
            with btf.BTF.new_from_id(_parse_id(words[1])) as b:
                return b.spec()
        path = words[1]
        base = None
        if args.base:
            base = btf.Spec.from_file(args.base)
        elif os.path.dirname(os.path.abspath(path)) == btf.spec.KERNEL_BTF_DIR and \
                os.path.basename(path) != "vmlinux":
            base = btf.kernel_spec()  # a module's split BTF, as bpftool reads it
        return btf.Spec.from_file(path, base=base)
    except FileNotFoundError as exc:
        raise CLIError(f"{exc.filename}: no such file", EXIT_NOT_FOUND) from None
    except ValueError as exc:
        raise CLIError(str(exc)) from None


def cmd_btf_dump(args: argparse.Namespace, out: TextIO) -> int:
    """``bpfobj btf dump``: every type, as ``bpftool btf dump`` prints it (raw, JSON, or C)."""

    spec = _btf_dump_spec(args)
    if args.format == "c":
        if args.json:
            raise CLIError("format c has no JSON form", EXIT_USAGE)
        out.write(spec.format_c())
    elif args.json:
        out.write(json.dumps(dump.dump_json(spec), separators=(",", ":")))
        out.write("\n")
    else:
        out.write(dump.dump_raw(spec))
    return EXIT_OK


def cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    code: int = _demo.run(out)
    return code


# -- prog load / loadall ------------------------------------------------------------------


def cmd_prog_load(args: argparse.Namespace, out: TextIO) -> int:
    """``prog load OBJ PATH`` / ``prog loadall OBJ DIR``, pinning as bpftool does.

    ``load`` pins the object's first program at PATH; ``loadall`` pins every program at
    DIR/<function name>. ``--pinmaps DIR`` pins every map at DIR/<map name> (the kernel
    name for data maps). PIN_BY_NAME maps are reused or pinned under ``--pin-root``
    (libbpf's default, /sys/fs/bpf). On failure nothing stays pinned. The pins hold the
    objects after the command exits.
    """

    if args.rest:
        if len(args.rest) != 2 or args.rest[0] != "pinmaps" or args.pinmaps:
            raise CLIError(f"prog {args.op}: unexpected {' '.join(args.rest)!r} (expected "
                           "'pinmaps DIR')", EXIT_USAGE)
        args.pinmaps = args.rest[1]
    try:
        spec = CollectionSpec.from_file(args.obj)
    except (OSError, ValueError) as exc:
        raise CLIError(f"{args.obj}: {exc}") from None
    pinned: list[str] = []
    try:
        with Collection.load(spec, pin_path=args.pin_root) as coll:
            if not coll.programs:
                raise CLIError(f"{args.obj}: no program to load")
            targets: list[tuple[str, Any]]
            if args.op == "load":
                targets = [(args.path, next(iter(coll.programs.values())))]
            else:
                os.makedirs(args.path, exist_ok=True)
                targets = [(os.path.join(args.path, pin_name(n)), p)
                           for n, p in coll.programs.items()]
            if args.pinmaps:
                os.makedirs(args.pinmaps, exist_ok=True)
                for key, m in coll.maps.items():
                    name = spec.maps[key].name if key.startswith(".") else key
                    targets.append((os.path.join(args.pinmaps, pin_name(name)), m))
            for path, obj in targets:
                # A second pin, through a fresh wrapper: pin() on an object that is
                # already pinned (a PIN_BY_NAME map) would move its pin instead.
                with type(obj).new_from_fd(obj.fd) as extra:
                    extra.pin(path)
                pinned.append(path)
    except ValueError as exc:
        _unpin(pinned)
        raise CLIError(f"{args.obj}: {exc}") from None
    except BaseException:
        _unpin(pinned)
        raise
    return EXIT_OK


def _unpin(paths: list[str]) -> None:
    for path in paths:
        try:
            os.unlink(path)
        except OSError:
            pass


# -- parser and main ------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``bpfobj``."""
    parser = argparse.ArgumentParser(
        prog="bpfobj",
        description="Inspect eBPF programs, maps, links and BTF, and find descriptor leaks "
                    "in a live process (from outside it).")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, what in (("prog", "programs"), ("map", "maps"), ("link", "links"), ("btf", "BTF")):
        dumps = name in ("map", "btf")
        p = sub.add_parser(name, help=f"{what}: show" + (", dump" if dumps else ""))
        ops = p.add_subparsers(dest="op", metavar="OP", required=True)
        show = ops.add_parser("show", aliases=["list"], help=f"show {what} (all, or one)")
        show.add_argument("target", nargs="*", metavar="ID | id ID | pinned PATH")
        show.add_argument("--json", "-j", action="store_true", help="bpftool-compatible JSON")
        show.set_defaults(func=cmd_show, kind=name)
        if name == "btf":
            dump = ops.add_parser("dump", help="dump BTF types as bpftool btf dump does")
            dump.add_argument("target", nargs="+", metavar="id ID | file PATH [format raw|c]")
            dump.add_argument("--json", "-j", action="store_true", help="bpftool-compatible JSON")
            dump.add_argument("--base", "-B", metavar="PATH",
                              help="base BTF of a split BTF file (bpftool -B)")
            dump.set_defaults(func=cmd_btf_dump)
        if name == "prog":
            for op, dest, what in (("load", "PATH", "pin the first program at PATH"),
                                   ("loadall", "DIR", "pin every program under DIR")):
                load = ops.add_parser(op, help=f"load an ELF object and {what} (as bpftool)")
                load.add_argument("obj", metavar="OBJ")
                load.add_argument("path", metavar=dest)
                load.add_argument("--pinmaps", metavar="DIR",
                                  help="pin every map of the object under DIR")
                load.add_argument("--pin-root", default="/sys/fs/bpf", metavar="DIR",
                                  help="where PIN_BY_NAME maps are pinned (default: %(default)s)")
                load.add_argument("rest", nargs="*", metavar="pinmaps DIR",
                                  help="bpftool's spelling of --pinmaps")
                load.set_defaults(func=cmd_prog_load)
        if name == "map":
            dump = ops.add_parser("dump", help="dump a map's entries")
            dump.add_argument("target", nargs="+", metavar="ID | id ID | pinned PATH")
            dump.add_argument("--json", "-j", action="store_true", help="bpftool-compatible JSON")
            dump.set_defaults(func=cmd_dump)
    p = sub.add_parser("pinned", help="walk bpffs: every pinned object")
    p.add_argument("root", nargs="?", help="a bpffs directory (default: every bpffs mount)")
    p.add_argument("--json", "-j", action="store_true")
    p.set_defaults(func=cmd_pinned)
    p = sub.add_parser("fds", help="the bpf descriptors a process holds")
    p.add_argument("pid")
    p.add_argument("--json", "-j", action="store_true")
    p.set_defaults(func=cmd_fds)
    p = sub.add_parser("leak", help="find bpf descriptor leaks in a process (exit 1: sure leak)")
    p.add_argument("pid")
    p.add_argument("--bpffs", action="append", metavar="DIR",
                   help="where pins count (repeatable; default: every bpffs the process sees)")
    p.add_argument("--json", "-j", action="store_true")
    p.add_argument("--watch", type=float, metavar="SECONDS",
                   help="sample descriptor counts per type every SECONDS and flag growth "
                        "(exit 1 when a count grew); Ctrl-C stops")
    p.add_argument("--count", type=int, metavar="N", help="with --watch: stop after N samples")
    p.set_defaults(func=cmd_leak)
    p = sub.add_parser("perf", help="programs attached through perf events (bpftool perf show)")
    p.add_argument("op", nargs="?", choices=("show", "list"), default="show")
    p.add_argument("--json", "-j", action="store_true", help="bpftool-compatible JSON")
    p.set_defaults(func=cmd_perf)
    p = sub.add_parser("demo", help="run a real process with real leaks and analyse it")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: Optional[Sequence[str]] = None, out: Optional[TextIO] = None) -> int:
    """Run ``bpfobj`` with ``argv`` (default: sys.argv[1:]); return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    if getattr(args, "watch", None) is not None and args.watch <= 0:
        parser.print_usage(sys.stderr)
        sys.stderr.write("bpfobj: error: --watch needs a positive number of seconds\n")
        return EXIT_USAGE
    stream = out if out is not None else sys.stdout
    try:
        return int(args.func(args, stream))
    except CLIError as exc:
        sys.stderr.write(f"bpfobj: {exc}\n")
        return exc.code
    except ProcessGoneError as exc:
        sys.stderr.write(f"bpfobj: {exc}\n")
        return EXIT_NO_PROCESS
    except BPFPermissionError as exc:
        sys.stderr.write(f"bpfobj: {exc}\n")
        return EXIT_PERMISSION
    except NotBPFFSError as exc:
        sys.stderr.write(f"bpfobj: {exc}\n")
        return EXIT_NOT_BPFFS
    except BPFError as exc:
        sys.stderr.write(f"bpfobj: {exc}\n")
        return EXIT_NOT_FOUND if exc.errno == _errno.ENOENT else EXIT_ERROR
    except PermissionError as exc:
        sys.stderr.write(f"bpfobj: {exc.filename or ''}: permission denied (run as root)\n")
        return EXIT_PERMISSION
    except BrokenPipeError:
        return EXIT_OK
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
