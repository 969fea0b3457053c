"""libbpf's ELF section-name conventions: what a program section's name says.

Owns the table that turns a section name (``xdp``, ``tracepoint/syscalls/sys_enter_openat``,
``?fentry.s/do_unlinkat``) into a program type, an expected attach type, an attach target
and load flags, with the semantics libbpf gives them (learned from its documentation and
behaviour; written here from scratch). Imports only the enums of ``bpfobj._types``.

Matching, as libbpf 1.x does it:
- a leading ``?`` means "not loaded by default" (libbpf's autoload off) and is stripped;
- an entry written ``name+`` matches ``name`` itself and ``name/<target>``;
- an entry written ``name/`` matches only ``name/<target>``;
- any other entry matches only the exact name;
- the first matching entry wins, so longer names come before their prefixes.

An unknown name gives ``ProgramType.UNSPEC``; the loader refuses it, naming the
program and the section.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from bpfobj._types import AttachType, ProgramType

__all__ = ["SectionDef", "Section", "parse_section", "SECTION_DEFS"]

# Flags of a table entry (libbpf's SEC_* names, in lower case).
SLEEPABLE = 1 << 0       # BPF_F_SLEEPABLE at load
XDP_FRAGS = 1 << 1       # BPF_F_XDP_HAS_FRAGS at load
ATTACH_BTF = 1 << 2      # the target after '/' is a BTF name resolved to attach_btf_id
USDT = 1 << 3
EXP_ATTACH_OPT = 1 << 4  # the expected attach type may be dropped on old kernels

BPF_F_SLEEPABLE = 1 << 4
BPF_F_XDP_HAS_FRAGS = 1 << 5


@dataclass(frozen=True, slots=True)
class SectionDef:
    """One entry of the table."""

    pattern: str
    prog_type: ProgramType
    attach_type: int
    flags: int = 0


@dataclass(frozen=True, slots=True)
class Section:
    """What a section name means: the parse of one program section's name.

    ``attach_to`` is the text after the matched prefix's '/' (a tracepoint
    ``cat/name``, a function, a ``path:symbol`` for uprobes), "" when there is
    none. ``prog_flags`` holds BPF_F_SLEEPABLE / BPF_F_XDP_HAS_FRAGS.
    ``autoload`` is False for a ``?`` name. ``btf_target_prefix`` says how the
    kernel BTF name of the attach target is built (``btf_trace_`` for tp_btf,
    ``bpf_lsm_`` for lsm, ``bpf_iter_`` for iter, "" for fentry and friends)
    when ``needs_btf_target``.
    """

    name: str
    prog_type: ProgramType
    attach_type: int
    attach_to: str
    prog_flags: int
    autoload: bool
    needs_btf_target: bool
    btf_target_prefix: str
    known: bool


P = ProgramType
A = AttachType
_S = SLEEPABLE
_B = ATTACH_BTF
_O = EXP_ATTACH_OPT

SECTION_DEFS: tuple[SectionDef, ...] = (
    SectionDef("socket", P.SOCKET_FILTER, 0),
    SectionDef("sk_reuseport/migrate", P.SK_REUSEPORT, A.SK_REUSEPORT_SELECT_OR_MIGRATE),
    SectionDef("sk_reuseport", P.SK_REUSEPORT, A.SK_REUSEPORT_SELECT),
    SectionDef("kprobe+", P.KPROBE, 0),
    SectionDef("uprobe+", P.KPROBE, 0),
    SectionDef("uprobe.s+", P.KPROBE, 0, _S),
    SectionDef("kretprobe+", P.KPROBE, 0),
    SectionDef("uretprobe+", P.KPROBE, 0),
    SectionDef("uretprobe.s+", P.KPROBE, 0, _S),
    SectionDef("kprobe.multi+", P.KPROBE, A.TRACE_KPROBE_MULTI),
    SectionDef("kretprobe.multi+", P.KPROBE, A.TRACE_KPROBE_MULTI),
    SectionDef("kprobe.session+", P.KPROBE, A.TRACE_KPROBE_SESSION),
    SectionDef("uprobe.multi+", P.KPROBE, A.TRACE_UPROBE_MULTI),
    SectionDef("uretprobe.multi+", P.KPROBE, A.TRACE_UPROBE_MULTI),
    SectionDef("uprobe.session+", P.KPROBE, A.TRACE_UPROBE_SESSION),
    SectionDef("uprobe.multi.s+", P.KPROBE, A.TRACE_UPROBE_MULTI, _S),
    SectionDef("uretprobe.multi.s+", P.KPROBE, A.TRACE_UPROBE_MULTI, _S),
    SectionDef("uprobe.session.s+", P.KPROBE, A.TRACE_UPROBE_SESSION, _S),
    SectionDef("ksyscall+", P.KPROBE, 0),
    SectionDef("kretsyscall+", P.KPROBE, 0),
    SectionDef("usdt+", P.KPROBE, 0, USDT),
    SectionDef("usdt.s+", P.KPROBE, 0, USDT | _S),
    # tc/ingress and tc/egress are libbpf's aliases of tcx/*.
    SectionDef("tc/ingress", P.SCHED_CLS, A.TCX_INGRESS),
    SectionDef("tc/egress", P.SCHED_CLS, A.TCX_EGRESS),
    SectionDef("tcx/ingress", P.SCHED_CLS, A.TCX_INGRESS),
    SectionDef("tcx/egress", P.SCHED_CLS, A.TCX_EGRESS),
    SectionDef("tc", P.SCHED_CLS, 0),
    SectionDef("classifier", P.SCHED_CLS, 0),
    SectionDef("action", P.SCHED_ACT, 0),
    SectionDef("netkit/primary", P.SCHED_CLS, A.NETKIT_PRIMARY),
    SectionDef("netkit/peer", P.SCHED_CLS, A.NETKIT_PEER),
    SectionDef("tracepoint+", P.TRACEPOINT, 0),
    SectionDef("tp+", P.TRACEPOINT, 0),
    SectionDef("raw_tracepoint+", P.RAW_TRACEPOINT, 0),
    SectionDef("raw_tp+", P.RAW_TRACEPOINT, 0),
    SectionDef("raw_tracepoint.w+", P.RAW_TRACEPOINT_WRITABLE, 0),
    SectionDef("raw_tp.w+", P.RAW_TRACEPOINT_WRITABLE, 0),
    SectionDef("tp_btf+", P.TRACING, A.TRACE_RAW_TP, _B),
    SectionDef("fentry+", P.TRACING, A.TRACE_FENTRY, _B),
    SectionDef("fmod_ret+", P.TRACING, A.MODIFY_RETURN, _B),
    SectionDef("fexit+", P.TRACING, A.TRACE_FEXIT, _B),
    SectionDef("fentry.s+", P.TRACING, A.TRACE_FENTRY, _B | _S),
    SectionDef("fmod_ret.s+", P.TRACING, A.MODIFY_RETURN, _B | _S),
    SectionDef("fexit.s+", P.TRACING, A.TRACE_FEXIT, _B | _S),
    SectionDef("freplace+", P.EXT, 0, _B),
    SectionDef("lsm+", P.LSM, A.LSM_MAC, _B),
    SectionDef("lsm.s+", P.LSM, A.LSM_MAC, _B | _S),
    SectionDef("lsm_cgroup+", P.LSM, A.LSM_CGROUP, _B),
    SectionDef("iter+", P.TRACING, A.TRACE_ITER, _B),
    SectionDef("iter.s+", P.TRACING, A.TRACE_ITER, _B | _S),
    SectionDef("syscall", P.SYSCALL, 0, _S),
    SectionDef("xdp.frags/devmap", P.XDP, A.XDP_DEVMAP, XDP_FRAGS),
    SectionDef("xdp/devmap", P.XDP, A.XDP_DEVMAP),
    SectionDef("xdp.frags/cpumap", P.XDP, A.XDP_CPUMAP, XDP_FRAGS),
    SectionDef("xdp/cpumap", P.XDP, A.XDP_CPUMAP),
    SectionDef("xdp.frags", P.XDP, A.XDP, XDP_FRAGS),
    SectionDef("xdp", P.XDP, A.XDP, _O),
    SectionDef("perf_event", P.PERF_EVENT, 0),
    SectionDef("lwt_in", P.LWT_IN, 0),
    SectionDef("lwt_out", P.LWT_OUT, 0),
    SectionDef("lwt_xmit", P.LWT_XMIT, 0),
    SectionDef("lwt_seg6local", P.LWT_SEG6LOCAL, 0),
    SectionDef("sockops", P.SOCK_OPS, A.CGROUP_SOCK_OPS, _O),
    SectionDef("sk_skb/stream_parser", P.SK_SKB, A.SK_SKB_STREAM_PARSER, _O),
    SectionDef("sk_skb/stream_verdict", P.SK_SKB, A.SK_SKB_STREAM_VERDICT, _O),
    SectionDef("sk_skb/verdict", P.SK_SKB, A.SK_SKB_VERDICT, _O),
    SectionDef("sk_skb", P.SK_SKB, 0),
    SectionDef("sk_msg", P.SK_MSG, A.SK_MSG_VERDICT, _O),
    SectionDef("lirc_mode2", P.LIRC_MODE2, A.LIRC_MODE2, _O),
    SectionDef("flow_dissector", P.FLOW_DISSECTOR, A.FLOW_DISSECTOR, _O),
    SectionDef("cgroup_skb/ingress", P.CGROUP_SKB, A.CGROUP_INET_INGRESS, _O),
    SectionDef("cgroup_skb/egress", P.CGROUP_SKB, A.CGROUP_INET_EGRESS, _O),
    SectionDef("cgroup/skb", P.CGROUP_SKB, 0),
    SectionDef("cgroup/sock_create", P.CGROUP_SOCK, A.CGROUP_INET_SOCK_CREATE),
    SectionDef("cgroup/sock_release", P.CGROUP_SOCK, A.CGROUP_INET_SOCK_RELEASE),
    SectionDef("cgroup/sock", P.CGROUP_SOCK, A.CGROUP_INET_SOCK_CREATE, _O),
    SectionDef("cgroup/post_bind4", P.CGROUP_SOCK, A.CGROUP_INET4_POST_BIND),
    SectionDef("cgroup/post_bind6", P.CGROUP_SOCK, A.CGROUP_INET6_POST_BIND),
    SectionDef("cgroup/bind4", P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_BIND),
    SectionDef("cgroup/bind6", P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_BIND),
    SectionDef("cgroup/connect4", P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_CONNECT),
    SectionDef("cgroup/connect6", P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_CONNECT),
    SectionDef("cgroup/connect_unix", P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_CONNECT),
    SectionDef("cgroup/sendmsg4", P.CGROUP_SOCK_ADDR, A.CGROUP_UDP4_SENDMSG),
    SectionDef("cgroup/sendmsg6", P.CGROUP_SOCK_ADDR, A.CGROUP_UDP6_SENDMSG),
    SectionDef("cgroup/sendmsg_unix", P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_SENDMSG),
    SectionDef("cgroup/recvmsg4", P.CGROUP_SOCK_ADDR, A.CGROUP_UDP4_RECVMSG),
    SectionDef("cgroup/recvmsg6", P.CGROUP_SOCK_ADDR, A.CGROUP_UDP6_RECVMSG),
    SectionDef("cgroup/recvmsg_unix", P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_RECVMSG),
    SectionDef("cgroup/getpeername4", P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_GETPEERNAME),
    SectionDef("cgroup/getpeername6", P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_GETPEERNAME),
    SectionDef("cgroup/getpeername_unix", P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_GETPEERNAME),
    SectionDef("cgroup/getsockname4", P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_GETSOCKNAME),
    SectionDef("cgroup/getsockname6", P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_GETSOCKNAME),
    SectionDef("cgroup/getsockname_unix", P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_GETSOCKNAME),
    SectionDef("cgroup/sysctl", P.CGROUP_SYSCTL, A.CGROUP_SYSCTL),
    SectionDef("cgroup/getsockopt", P.CGROUP_SOCKOPT, A.CGROUP_GETSOCKOPT),
    SectionDef("cgroup/setsockopt", P.CGROUP_SOCKOPT, A.CGROUP_SETSOCKOPT),
    SectionDef("cgroup/dev", P.CGROUP_DEVICE, A.CGROUP_DEVICE, _O),
    SectionDef("struct_ops+", P.STRUCT_OPS, 0),
    SectionDef("struct_ops.s+", P.STRUCT_OPS, 0, _S),
    SectionDef("sk_lookup", P.SK_LOOKUP, A.SK_LOOKUP),
    SectionDef("netfilter", P.NETFILTER, A.NETFILTER),
)

_BTF_PREFIX = {P.LSM: "bpf_lsm_", A.TRACE_RAW_TP: "btf_trace_", A.TRACE_ITER: "bpf_iter_"}


def _match(pattern: str, name: str) -> tuple[bool, str]:
    """Whether ``name`` matches a table pattern, and the attach target that follows."""
    if pattern.endswith("+"):
        base = pattern[:-1]
        if name == base:
            return True, ""
        if name.startswith(base + "/"):
            return True, name[len(base) + 1:]
        return False, ""
    if pattern.endswith("/"):
        if name.startswith(pattern) and len(name) > len(pattern):
            return True, name[len(pattern):]
        return False, ""
    return name == pattern, ""


@functools.lru_cache(maxsize=1024)
def parse_section(name: str) -> Section:
    """What section ``name`` means (libbpf's conventions); UNSPEC when unknown."""
    autoload = not name.startswith("?")
    bare = name[1:] if not autoload else name
    for d in SECTION_DEFS:
        ok, target = _match(d.pattern, bare)
        if not ok:
            continue
        flags = 0
        if d.flags & SLEEPABLE:
            flags |= BPF_F_SLEEPABLE
        if d.flags & XDP_FRAGS:
            flags |= BPF_F_XDP_HAS_FRAGS
        needs_btf = bool(d.flags & ATTACH_BTF)
        prefix = ""
        if needs_btf:
            prefix = _BTF_PREFIX.get(d.prog_type, "") if d.prog_type == P.LSM else \
                _BTF_PREFIX.get(AttachType(d.attach_type), "") if d.attach_type else ""
        return Section(name, d.prog_type, int(d.attach_type), target, flags, autoload,
                       needs_btf, prefix, True)
    return Section(name, P.UNSPEC, 0, "", 0, autoload, False, "", False)
