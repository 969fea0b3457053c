"""Links on the real kernel: XDP and tcx on a veth pair in namespaces made here,
a cgroup link on a fresh cgroup v2 directory, sk_lookup on a namespace, a raw
tracepoint; update and detach seen through info() and through traffic;
LinkInfo against bpftool and /proc/self/fdinfo; opening, pinning, bad input.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from bpfobj import (
    AttachType,
    BPFError,
    ClosedError,
    LinkType,
    Map,
    MapSpec,
    MapType,
    NotSupportedError,
    ObjectTypeError,
    ObjType,
    ProgramType,
    fd_type,
)
from bpfobj._internal import syscall as _sys
from bpfobj.link import Link, LinkInfo, XDPLinkInfo
from bpfobj.prog import Program, ProgramSpec

from .conftest import need
from .netutil import Veth, cgroup_dir, netns, udp_path, veth_pair

pytestmark = pytest.mark.usefixtures("kernel")

XDP_DROP, XDP_PASS = 1, 2
TCX_PASS, TCX_DROP = 0, 2
SK_DROP, SK_PASS = 0, 1
BPF_F_BEFORE = _sys.const("BPF_F_BEFORE")


# -- programs ---------------------------------------------------------------------------


def _ret(value: int) -> bytes:
    """``r0 = value; exit`` hand-encoded (BPF_ALU64|BPF_MOV|BPF_K, then BPF_JMP|BPF_EXIT)."""
    mov = bytes([0xB7, 0, 0, 0]) + (value & 0xFFFFFFFF).to_bytes(4, "little")
    return mov + bytes([0x95]) + bytes(7)


def _load(ptype: ProgramType, ret: int, attach_type: int = 0, **kw: Any) -> Program:
    return Program.load(ProgramSpec(type=ptype, instructions=_ret(ret), name="t",
                                    expected_attach_type=attach_type, **kw))


def _id(prog: Program) -> int:
    return prog.info().id


@pytest.fixture
def progs() -> Iterator[Any]:
    """A factory of programs returning a constant; all closed after the test."""
    made: list[Program] = []

    def load(ptype: ProgramType, ret: int, attach_type: int = 0) -> Program:
        p = _load(ptype, ret, attach_type)
        made.append(p)
        return p

    yield load
    for p in made:
        p.close()


@pytest.fixture
def veth() -> Iterator[Veth]:
    with veth_pair() as v:
        yield v


def _fdinfo(raw: int) -> dict[str, str]:
    out = {}
    with open(f"/proc/self/fdinfo/{raw}", "rb") as f:
        for line in f.read().decode().splitlines():
            k, _, v = line.partition(":")
            out[k.strip()] = v.strip()
    return out


def _bpftool(*args: str) -> Any:
    proc = subprocess.run(["bpftool", "-j", *args], capture_output=True, text=True, timeout=20)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _readlink(raw: int) -> str:
    return os.readlink(f"/proc/self/fd/{raw}")


# -- XDP ------------------------------------------------------------------------------------


@pytest.mark.net
def test_xdp_link_update_and_detach_seen_in_traffic(veth: Veth, progs: Any) -> None:
    drop, pass_ = progs(ProgramType.XDP, XDP_DROP), progs(ProgramType.XDP, XDP_PASS)
    with udp_path(veth) as probe:
        assert probe(1.0), "no traffic across the veth pair before any program"
        link = veth.ns_b.run(Link.attach_xdp, drop, veth.ifindex_b)
        with link:
            info = link.info()
            assert info.type is LinkType.XDP and info.prog_id == _id(drop)
            assert info.xdp == XDPLinkInfo(ifindex=veth.ifindex_b)
            assert info.details is info.xdp and info.cgroup is None and info.tcx is None
            xdp = veth.ns_b.link_json(veth.dev_b)["xdp"]
            assert xdp["prog"]["id"] == _id(drop)
            assert not probe(0.2), "XDP_DROP let a datagram through"

            link.update(pass_, old_prog=drop)
            assert link.info().prog_id == _id(pass_)
            assert veth.ns_b.link_json(veth.dev_b)["xdp"]["prog"]["id"] == _id(pass_)
            assert probe(1.0), "XDP_PASS after update dropped the datagram"

            # The kernel checks old_prog: drop is not the current program any more.
            with pytest.raises(BPFError) as exc:
                link.update(drop, old_prog=drop)
            assert exc.value.errno == errno.EPERM
            assert "is not the link's current program" in str(exc.value)
            assert link.info().prog_id == _id(pass_)

            link.update(drop)  # no old_prog: unconditional
            assert link.info().prog_id == _id(drop)
            assert not probe(0.2)

            link.detach()
            after = link.info()
            assert after.xdp == XDPLinkInfo(ifindex=0) and after.id == info.id
            assert "xdp" not in veth.ns_b.link_json(veth.dev_b)
            assert probe(1.0), "traffic still dropped after detach"
            link.detach()  # detaching again is harmless
            with pytest.raises(BPFError, match="the link is detached") as exc:
                link.update(pass_)
            assert exc.value.errno == errno.ENOLINK


@pytest.mark.net
def test_xdp_link_lives_as_long_as_a_descriptor_or_pin(veth: Veth, progs: Any,
                                                       pin_dir: str) -> None:
    drop = progs(ProgramType.XDP, XDP_DROP)
    link = veth.ns_b.run(Link.attach_xdp, drop, veth.ifindex_b)
    path = os.path.join(pin_dir, "xdp_link")
    link.pin(path)
    assert link.is_pinned and link.pinned_path == path
    link_id = link.id
    link.close()
    # The pin holds the attachment.
    assert veth.ns_b.link_json(veth.dev_b)["xdp"]["prog"]["id"] == _id(drop)
    with Link.load_pinned(path) as again:
        assert again.is_pinned and again.id == link_id
        assert again.info().xdp == XDPLinkInfo(ifindex=veth.ifindex_b)
        again.unpin()
        assert not again.is_pinned and not os.path.exists(path)
    # Last descriptor and pin gone: the kernel detaches.
    assert "xdp" not in veth.ns_b.link_json(veth.dev_b)
    with pytest.raises(BPFError) as exc:
        Link.new_from_id(link_id)
    assert exc.value.errno == errno.ENOENT


@pytest.mark.net
def test_second_xdp_link_on_one_device_is_refused(veth: Veth, progs: Any) -> None:
    p = progs(ProgramType.XDP, XDP_PASS)
    with veth.ns_b.run(Link.attach_xdp, p, veth.ifindex_b):
        with pytest.raises(BPFError) as exc:
            veth.ns_b.run(Link.attach_xdp, p, veth.ifindex_b)
        assert exc.value.errno in (errno.EBUSY, errno.EEXIST)
        assert "link create xdp ifindex" in str(exc.value)


@pytest.mark.net
def test_xdp_ifindex_is_resolved_in_the_callers_namespace(veth: Veth, progs: Any) -> None:
    p = progs(ProgramType.XDP, XDP_PASS)
    with netns() as empty:
        # Only lo (ifindex 1) exists in the fresh namespace.
        with pytest.raises(BPFError, match="no interface has ifindex 4242") as exc:
            empty.run(Link.attach_xdp, p, 4242)
        # tcx says ENODEV itself.
        with pytest.raises(BPFError, match="no such device") as exc2:
            empty.run(Link.attach_tcx, progs(ProgramType.SCHED_CLS, 0), veth.ifindex_b)
    assert exc.value.errno == errno.EINVAL and exc2.value.errno == errno.ENODEV


# -- tcx ------------------------------------------------------------------------------------


@pytest.mark.net
def test_tcx_link_update_and_detach_seen_in_traffic(veth: Veth, progs: Any) -> None:
    drop, pass_ = progs(ProgramType.SCHED_CLS, TCX_DROP), progs(ProgramType.SCHED_CLS, TCX_PASS)
    with udp_path(veth) as probe:
        assert probe(1.0)
        link = veth.ns_b.run(Link.attach_tcx, drop, veth.ifindex_b, AttachType.TCX_INGRESS)
        with link:
            info = link.info()
            assert info.type is LinkType.TCX and info.prog_id == _id(drop)
            assert info.tcx is not None and info.details is info.tcx
            assert info.tcx.ifindex == veth.ifindex_b
            assert info.tcx.attach_type is AttachType.TCX_INGRESS
            assert not probe(0.2), "tcx drop let a datagram through"
            link.update(pass_, old_prog=drop)
            assert link.info().prog_id == _id(pass_)
            assert probe(1.0)
            link.update(drop)
            assert not probe(0.2)
            link.detach()
            assert link.info().tcx.ifindex == 0  # type: ignore[union-attr]
            assert probe(1.0), "traffic still dropped after detach"


@pytest.mark.net
def test_tcx_relative_and_expected_revision(veth: Veth, progs: Any) -> None:
    a, b, c = (progs(ProgramType.SCHED_CLS, TCX_PASS) for _ in range(3))
    first = veth.ns_b.run(Link.attach_tcx, a, veth.ifindex_b, AttachType.TCX_EGRESS)
    with first:
        # Before the first link: BPF_F_LINK is added because `relative` is a Link.
        second = veth.ns_b.run(lambda: Link.attach_tcx(
            b, veth.ifindex_b, AttachType.TCX_EGRESS, BPF_F_BEFORE, relative=first))
        with second:
            assert second.info().tcx.attach_type is AttachType.TCX_EGRESS  # type: ignore[union-attr]
            # Two attachments so far: a stale revision is refused.
            with pytest.raises(BPFError) as exc:
                veth.ns_b.run(lambda: Link.attach_tcx(
                    c, veth.ifindex_b, AttachType.TCX_EGRESS, expected_revision=1))
            assert exc.value.errno == errno.ESTALE
            # The same program twice on one hook is refused.
            with pytest.raises(BPFError) as exc:
                veth.ns_b.run(Link.attach_tcx, a, veth.ifindex_b, AttachType.TCX_EGRESS)
            assert exc.value.errno == errno.EEXIST


# -- cgroup ---------------------------------------------------------------------------------

_CHILD_SEND = (
    "import errno, socket, sys\n"
    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "try:\n"
    "    s.sendto(b'x', ('127.0.0.1', 9))\n"
    "except OSError as e:\n"
    "    print(errno.errorcode[e.errno]); sys.exit(0)\n"
    "print('sent')\n"
)


def _send_from(cgroup: str) -> str:
    """Run a child inside ``cgroup`` that sends one UDP datagram; 'sent' or the errno name."""
    procs = os.path.join(cgroup, "cgroup.procs")
    proc = subprocess.run(
        ["sh", "-c", f'echo $$ > "{procs}" && exec "{sys.executable}" -S -c "$0"', _CHILD_SEND],
        capture_output=True, text=True, timeout=20)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_cgroup_link_update_and_detach_seen_in_traffic(progs: Any) -> None:
    egress = int(AttachType.CGROUP_INET_EGRESS)
    deny = progs(ProgramType.CGROUP_SKB, 0, egress)
    allow = progs(ProgramType.CGROUP_SKB, 1, egress)
    with cgroup_dir() as cg:
        assert _send_from(cg) == "sent"
        with Link.attach_cgroup(deny, cg, AttachType.CGROUP_INET_EGRESS) as link:
            info = link.info()
            assert info.type is LinkType.CGROUP and info.prog_id == _id(deny)
            assert info.cgroup is not None and info.details is info.cgroup
            # A cgroup's ID is its directory's inode number.
            assert info.cgroup.cgroup_id == os.stat(cg).st_ino
            assert info.cgroup.attach_type is AttachType.CGROUP_INET_EGRESS
            assert _send_from(cg) == "EPERM"
            link.update(allow, old_prog=deny)
            assert link.info().prog_id == _id(allow)
            assert _send_from(cg) == "sent"
            link.update(deny)
            assert _send_from(cg) == "EPERM"
            link.detach()
            assert link.info().cgroup.cgroup_id == 0  # type: ignore[union-attr]
            assert _send_from(cg) == "sent"


def test_cgroup_link_by_descriptor_keeps_callers_descriptor(progs: Any) -> None:
    p = progs(ProgramType.CGROUP_SKB, 1, int(AttachType.CGROUP_INET_INGRESS))
    with cgroup_dir() as cg:
        raw = os.open(cg, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            with Link.attach_cgroup(p, raw, AttachType.CGROUP_INET_INGRESS) as link:
                assert link.info().cgroup.cgroup_id == os.fstat(raw).st_ino  # type: ignore[union-attr]
            os.fstat(raw)  # still open
        finally:
            os.close(raw)


def test_cgroup_attach_bad_targets(progs: Any, tmp_path: Any) -> None:
    p = progs(ProgramType.CGROUP_SKB, 1, int(AttachType.CGROUP_INET_INGRESS))
    with pytest.raises(BPFError, match="not a cgroup v2 directory"):
        Link.attach_cgroup(p, str(tmp_path), AttachType.CGROUP_INET_INGRESS)
    missing = str(tmp_path / "missing")
    with pytest.raises(BPFError) as exc:
        Link.attach_cgroup(p, missing, AttachType.CGROUP_INET_INGRESS)
    assert exc.value.errno == errno.ENOENT and exc.value.filename == missing
    assert "link create" in str(exc.value) and missing in str(exc.value)
    with pytest.raises(TypeError):
        Link.attach_cgroup(p, 1.5, AttachType.CGROUP_INET_INGRESS)  # type: ignore[arg-type]


# -- netns ----------------------------------------------------------------------------------


@pytest.mark.net
def test_sk_lookup_netns_link_update_and_detach_seen_in_traffic(veth: Veth, progs: Any) -> None:
    at = int(AttachType.SK_LOOKUP)
    drop = progs(ProgramType.SK_LOOKUP, SK_DROP, at)
    pass_ = progs(ProgramType.SK_LOOKUP, SK_PASS, at)
    with udp_path(veth) as probe:
        assert probe(1.0)
        with Link.attach_netns(drop, veth.ns_b.path, AttachType.SK_LOOKUP) as link:
            info = link.info()
            assert info.type is LinkType.NETNS and info.prog_id == _id(drop)
            assert info.netns is not None and info.details is info.netns
            assert info.netns.netns_ino == os.stat(veth.ns_b.path).st_ino
            assert info.netns.attach_type is AttachType.SK_LOOKUP
            assert not probe(0.2), "sk_lookup SK_DROP let a datagram through"
            link.update(pass_, old_prog=drop)
            assert link.info().prog_id == _id(pass_)
            assert probe(1.0)
            link.update(drop)
            assert not probe(0.2)
            link.detach()
            assert link.info().netns.netns_ino == 0  # type: ignore[union-attr]
            assert probe(1.0)


def test_netns_link_by_descriptor_and_bad_target(progs: Any, tmp_path: Any) -> None:
    p = progs(ProgramType.FLOW_DISSECTOR, 0, int(AttachType.FLOW_DISSECTOR))
    with netns() as ns:
        raw = os.open(ns.path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            with Link.attach_netns(p, raw, AttachType.FLOW_DISSECTOR) as link:
                info = link.info()
                assert info.netns is not None
                assert info.netns.attach_type is AttachType.FLOW_DISSECTOR
                assert info.netns.netns_ino == os.fstat(raw).st_ino
            os.fstat(raw)
        finally:
            os.close(raw)
    regular = tmp_path / "file"
    regular.write_bytes(b"")
    with pytest.raises(BPFError, match="not a network namespace file"):
        Link.attach_netns(p, str(regular), AttachType.FLOW_DISSECTOR)


# -- raw tracepoint ---------------------------------------------------------------------------


def test_raw_tracepoint_link_names_its_tracepoint(progs: Any) -> None:
    p = progs(ProgramType.RAW_TRACEPOINT, 0)
    with Link.attach_raw_tracepoint(p, "task_rename", cookie=7) as link:
        info = link.info()
        assert info.type is LinkType.RAW_TRACEPOINT and info.prog_id == _id(p)
        assert info.raw_tracepoint is not None
        assert info.raw_tracepoint.tp_name == "task_rename"
        fd = _fdinfo(link.fd)
        assert fd["tp_name"] == "task_rename"
        if "cookie" in fd:
            assert info.raw_tracepoint.cookie == int(fd["cookie"]) == 7
        with pytest.raises(NotSupportedError, match="cannot be detached"):
            link.detach()
    with pytest.raises(BPFError) as exc:
        Link.attach_raw_tracepoint(p, "no_such_tracepoint_here")
    assert exc.value.errno == errno.ENOENT


# -- iterator -----------------------------------------------------------------------------------

_BTF_EXTRA = {1: 4, 3: 12, 14: 4, 17: 4}  # INT, ARRAY, VAR, DECL_TAG: bytes after btf_type
_BTF_PER_MEMBER = {4: 12, 5: 12, 6: 8, 13: 8, 15: 12, 19: 12}  # STRUCT .. ENUM64: per vlen


def _vmlinux_func_id(name: str) -> int:
    """The BTF ID of kernel function ``name`` in /sys/kernel/btf/vmlinux (BTF_KIND_FUNC)."""
    import struct

    try:
        with open("/sys/kernel/btf/vmlinux", "rb") as f:
            data = f.read()
    except OSError:
        need(False, "no /sys/kernel/btf/vmlinux")
    magic, _ver, _flags, hdr_len, type_off, type_len, str_off, str_len = struct.unpack_from(
        "<HBBIIIII", data)
    assert magic == 0xEB9F
    strings = data[hdr_len + str_off:hdr_len + str_off + str_len]
    at = strings.find(b"\0" + name.encode() + b"\0")
    need(at >= 0, f"kernel BTF has no {name}")
    name_off = at + 1
    pos, end, type_id = hdr_len + type_off, hdr_len + type_off + type_len, 0
    header = struct.Struct("<III")
    while pos < end:
        type_id += 1
        noff, info, _size = header.unpack_from(data, pos)
        kind = (info >> 24) & 0x1F
        if kind == 12 and noff == name_off:
            return type_id
        pos += 12 + _BTF_EXTRA.get(kind, 0) + _BTF_PER_MEMBER.get(kind, 0) * (info & 0xFFFF)
    need(False, f"kernel BTF has no function {name}")
    raise AssertionError("unreachable")


def test_iter_link_names_its_target(bpftool: str) -> None:
    with _load(ProgramType.TRACING, 0, int(AttachType.TRACE_ITER),
               attach_btf_id=_vmlinux_func_id("bpf_iter_bpf_map")) as p:
        # A tracing link has no target: attach_raw passes 0.
        with Link.attach_raw(p, 0, AttachType.TRACE_ITER) as link:
            info = link.info()
            assert info.type is LinkType.ITER and info.iter is not None
            assert info.iter.target_name == "bpf_map" == _fdinfo(link.fd)["target_name"]
            tool = _bpftool("link", "show", "id", str(info.id))
            assert tool["type"] == "iter" and tool["target_name"] == "bpf_map"
            assert tool["prog_id"] == info.prog_id
            assert repr(link) == f"Link(iter)#{link.fd}"


# -- oracles: bpftool and fdinfo ------------------------------------------------------------


@pytest.mark.bpftool
@pytest.mark.net
def test_link_info_equals_bpftool_and_fdinfo(veth: Veth, progs: Any, bpftool: str) -> None:
    links: list[Link] = []
    try:
        links.append(veth.ns_b.run(Link.attach_xdp, progs(ProgramType.XDP, XDP_PASS),
                                   veth.ifindex_b))
        links.append(veth.ns_b.run(Link.attach_tcx, progs(ProgramType.SCHED_CLS, TCX_PASS),
                                   veth.ifindex_b, AttachType.TCX_EGRESS))
        links.append(Link.attach_netns(
            progs(ProgramType.SK_LOOKUP, SK_PASS, int(AttachType.SK_LOOKUP)), veth.ns_a.path,
            AttachType.SK_LOOKUP))
        links.append(Link.attach_raw_tracepoint(progs(ProgramType.RAW_TRACEPOINT, 0),
                                                "task_rename"))
        with cgroup_dir() as cg:
            links.append(Link.attach_cgroup(
                progs(ProgramType.CGROUP_SKB, 1, int(AttachType.CGROUP_INET_INGRESS)), cg,
                AttachType.CGROUP_INET_INGRESS))
            checked = 0
            for link in links:
                info = link.info()
                fdi = _fdinfo(link.fd)
                # fdinfo knows every type the running kernel has.
                assert fdi["link_type"] == info.type.kernel_name  # type: ignore[union-attr]
                assert int(fdi["link_id"]) == info.id and int(fdi["prog_id"]) == info.prog_id
                tool = _bpftool("link", "show", "id", str(info.id))
                assert tool["id"] == info.id and tool["prog_id"] == info.prog_id
                if isinstance(tool["type"], int):
                    # This bpftool predates the type (tcx in v7.1): fdinfo is the oracle.
                    assert tool["type"] == int(info.type)
                else:
                    assert tool["type"] == info.type.kernel_name  # type: ignore[union-attr]
                details = info.details
                assert details is not None
                for key, value in tool.items():
                    if key in ("id", "type", "prog_id", "pids", "pinned"):
                        continue
                    ours = getattr(details, key)
                    if key == "attach_type":
                        ours = ours.kernel_name
                    assert ours == value, (info, key)
                    checked += 1
                if "ifindex" in fdi:  # xdp and tcx: bpftool v7.1 prints neither
                    assert details.ifindex == int(fdi["ifindex"])  # type: ignore[union-attr]
                    checked += 1
                if info.type is LinkType.TCX:
                    # "attach_type:\t47 (egress)"
                    assert int(fdi["attach_type"].split()[0]) == int(details.attach_type)  # type: ignore[union-attr]
                    checked += 1
            # netns_ino+attach_type, cgroup_id+attach_type, tp_name, 2 ifindex, tcx attach_type
            assert checked >= 8
    finally:
        for link in links:
            link.close()


# -- descriptors: both anon_inode names, opening, pinning -------------------------------------


@pytest.fixture
def xdp_link(veth: Veth, progs: Any) -> Iterator[Link]:
    with veth.ns_b.run(Link.attach_xdp, progs(ProgramType.XDP, XDP_PASS), veth.ifindex_b) as link:
        yield link


@pytest.mark.net
def test_link_reads_as_link_whichever_way_it_was_opened(xdp_link: Link, pin_dir: str) -> None:
    # Fresh from BPF_LINK_CREATE the kernel names it with an underscore ...
    assert _readlink(xdp_link.fd) == "anon_inode:bpf_link"
    assert fd_type(xdp_link.fd) is ObjType.LINK
    with Link.new_from_fd(xdp_link.fd) as dup:  # a dup keeps the file, so the name too
        assert _readlink(dup.fd) == "anon_inode:bpf_link" and dup.id == xdp_link.id
    # ... reopened by ID or from a pin, with a dash.
    with Link.new_from_id(xdp_link.id) as by_id:
        assert _readlink(by_id.fd) == "anon_inode:bpf-link"
        assert fd_type(by_id.fd) is ObjType.LINK
        with Link.new_from_fd(by_id.fd) as dup2:
            assert dup2.info().id == xdp_link.id
    path = os.path.join(pin_dir, "l")
    xdp_link.pin(path)
    with Link.load_pinned(path) as pinned:
        assert _readlink(pinned.fd) == "anon_inode:bpf-link"
        assert pinned.info() == xdp_link.info()
    xdp_link.unpin()


@pytest.mark.net
def test_new_from_fd_leaves_the_callers_descriptor_working(xdp_link: Link) -> None:
    raw = os.dup(xdp_link.fd)
    try:
        other = Link.new_from_fd(raw)
        assert other.fd != raw
        assert _sys.fd_flags(other._fd) & 1  # FD_CLOEXEC
        other.close()
        with Link.new_from_fd(raw) as again:  # raw still open, still a link
            assert again.info().id == xdp_link.id
    finally:
        os.close(raw)
    with xdp_link.clone() as c:
        assert c.fd != xdp_link.fd and c.info() == xdp_link.info()
    assert xdp_link.info().xdp is not None  # the original survives its clone's close


@pytest.mark.net
def test_new_from_pidfd_of_own_process(xdp_link: Link) -> None:
    with Link.new_from_pidfd(os.getpid(), xdp_link.fd) as copy:
        assert copy.id == xdp_link.id and copy.fd != xdp_link.fd


@pytest.mark.net
def test_program_opens_the_links_current_program(veth: Veth, progs: Any) -> None:
    first, second = progs(ProgramType.XDP, XDP_PASS), progs(ProgramType.XDP, XDP_DROP)
    with veth.ns_b.run(Link.attach_xdp, first, veth.ifindex_b) as link:
        with link.program() as cur:
            assert isinstance(cur, Program) and cur.type is ProgramType.XDP
            assert _id(cur) == _id(first) and cur.fd != first.fd
            assert _readlink(cur.fd) == "anon_inode:bpf-prog"
            # What the link runs, run by hand: XDP_PASS.
            assert cur.test_run(bytes(64)).retval == XDP_PASS
        link.update(second, old_prog=first)
        with link.program() as cur:
            assert _id(cur) == _id(second) and cur.test_run(bytes(64)).retval == XDP_DROP
            # The program from program() is a valid old_prog.
            link.update(first, old_prog=cur)
        assert link.info().prog_id == _id(first)


@pytest.mark.net
def test_repr_and_str(xdp_link: Link) -> None:
    info = xdp_link.info()
    assert repr(xdp_link) == f"Link(xdp)#{xdp_link.fd}"
    assert str(info) == f"Link(type=XDP id={info.id} prog_id={info.prog_id})"
    assert isinstance(info, LinkInfo)
    with pytest.raises(AttributeError):
        info.id = 1  # type: ignore[misc]
    assert xdp_link.type is LinkType.XDP


# -- bad input -------------------------------------------------------------------------------


def test_wrong_object_types(progs: Any, pin_dir: str, tmp_path: Any) -> None:
    p = progs(ProgramType.XDP, XDP_PASS)
    with Map.create(MapSpec(MapType.ARRAY, 4, 4, 1)) as m:
        with pytest.raises(ObjectTypeError, match="bpf-map, not a bpf-link"):
            Link.new_from_fd(m.fd)
        path = os.path.join(pin_dir, "m")
        m.pin(path)
        with pytest.raises(ObjectTypeError, match="not a bpf-link"):
            Link.load_pinned(path)
        # A map where a program belongs.
        with pytest.raises(ObjectTypeError, match="bpf-map, not a bpf-prog"):
            Link.attach_xdp(m, 1)  # type: ignore[arg-type]
    with pytest.raises(ObjectTypeError, match="bpf-prog, not a bpf-link"):
        Link.new_from_fd(p._fd.raw)
    with open(tmp_path / "f", "wb") as f:
        with pytest.raises(ObjectTypeError, match="non-bpf file"):
            Link.new_from_fd(f.fileno())
    with pytest.raises(BPFError) as exc:
        Link.new_from_id(2**32 - 2)
    assert exc.value.errno == errno.ENOENT
    with pytest.raises(TypeError, match="needs a Program"):
        Link.attach_xdp(object(), 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Link.attach_xdp(p, 0)
    with pytest.raises(TypeError):
        Link.attach_xdp(p, "eth0")  # type: ignore[arg-type]


@pytest.mark.net
def test_attach_of_a_wrong_program_type_is_explained(veth: Veth, progs: Any) -> None:
    cls = progs(ProgramType.SCHED_CLS, 0)
    xdp = progs(ProgramType.XDP, XDP_PASS)
    with pytest.raises(ObjectTypeError) as exc:
        veth.ns_b.run(Link.attach_xdp, cls, veth.ifindex_b)
    assert "type sched_cls" in str(exc.value) and "needs type xdp" in str(exc.value)
    assert exc.value.errno == errno.EINVAL
    with pytest.raises(ObjectTypeError, match="needs type sched_cls"):
        veth.ns_b.run(Link.attach_tcx, xdp, veth.ifindex_b, AttachType.TCX_INGRESS)
    with pytest.raises(ObjectTypeError, match="needs type sk_lookup"):
        Link.attach_netns(xdp, veth.ns_a.path, AttachType.SK_LOOKUP)
    with cgroup_dir() as cg:
        with pytest.raises(ObjectTypeError, match="needs type cgroup_skb"):
            Link.attach_cgroup(xdp, cg, AttachType.CGROUP_INET_INGRESS)
    # update() to a program of another type: the kernel's EINVAL, explained.
    with veth.ns_b.run(Link.attach_xdp, xdp, veth.ifindex_b) as link:
        with pytest.raises(BPFError, match="type or expected attach type differs") as exc2:
            link.update(cls)
        assert exc2.value.errno == errno.EINVAL
        assert link.info().prog_id == _id(xdp)


@pytest.mark.net
def test_closed_descriptors(veth: Veth, progs: Any, pin_dir: str) -> None:
    p = progs(ProgramType.XDP, XDP_PASS)
    link = veth.ns_b.run(Link.attach_xdp, p, veth.ifindex_b)
    link.close()
    link.close()  # idempotent
    assert link.closed
    for call in (link.info, link.detach, lambda: link.update(p), lambda: link.fd,
                 lambda: link.pin(os.path.join(pin_dir, "x")), link.clone, link.program):
        with pytest.raises(ClosedError):
            call()
    assert repr(link) == "Link(xdp)#closed"
    # A closed program cannot be attached or become a link's program.
    q = _load(ProgramType.XDP, XDP_PASS)
    q.close()
    with pytest.raises(ClosedError):
        veth.ns_b.run(Link.attach_xdp, q, veth.ifindex_b)
    with veth.ns_b.run(Link.attach_xdp, p, veth.ifindex_b) as live:
        with pytest.raises(ClosedError):
            live.update(q)
        with pytest.raises(ClosedError):
            live.update(p, old_prog=q)
        assert live.info().prog_id == _id(p)
    with pytest.raises(BPFError) as exc:
        Link.new_from_fd(987654)
    assert exc.value.errno == errno.EBADF


@pytest.mark.net
def test_attach_raw(veth: Veth, progs: Any) -> None:
    xdp = progs(ProgramType.XDP, XDP_PASS)
    with veth.ns_b.run(Link.attach_raw, xdp, veth.ifindex_b, AttachType.XDP) as link:
        assert link.info().xdp == XDPLinkInfo(ifindex=veth.ifindex_b)
    skb = progs(ProgramType.CGROUP_SKB, 1, int(AttachType.CGROUP_INET_EGRESS))
    with cgroup_dir() as cg:
        with _open_dir(cg) as dirfile:
            with Link.attach_raw(skb, dirfile, AttachType.CGROUP_INET_EGRESS) as link:
                assert link.info().cgroup.cgroup_id == os.stat(cg).st_ino  # type: ignore[union-attr]
    with pytest.raises(TypeError):
        Link.attach_raw(xdp, "eth0", AttachType.XDP)
    with pytest.raises(BPFError) as exc:
        Link.attach_raw(xdp, 1, 9999)
    assert exc.value.errno == errno.EINVAL


class _open_dir:
    """A directory descriptor with fileno(), closed on exit."""

    def __init__(self, path: str) -> None:
        self.raw = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)

    def fileno(self) -> int:
        return self.raw

    def __enter__(self) -> _open_dir:
        return self

    def __exit__(self, *exc: object) -> None:
        os.close(self.raw)


def test_link_cannot_be_constructed_or_pickled(progs: Any) -> None:
    import pickle

    with pytest.raises(TypeError):
        Link()
    p = progs(ProgramType.RAW_TRACEPOINT, 0)
    with Link.attach_raw_tracepoint(p, "task_rename") as link:
        with pytest.raises(TypeError):
            pickle.dumps(link)
