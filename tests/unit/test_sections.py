"""libbpf's section names: program type, expected attach type, target and flags."""

from __future__ import annotations

import pytest

from bpfobj import AttachType, ProgramType
from bpfobj._internal.sections import BPF_F_SLEEPABLE, BPF_F_XDP_HAS_FRAGS, parse_section

P, A = ProgramType, AttachType


@pytest.mark.parametrize("name, prog_type, attach_type, target, flags", [
    ("xdp", P.XDP, A.XDP, "", 0),
    ("xdp.frags", P.XDP, A.XDP, "", BPF_F_XDP_HAS_FRAGS),
    ("xdp/devmap", P.XDP, A.XDP_DEVMAP, "", 0),
    ("xdp.frags/cpumap", P.XDP, A.XDP_CPUMAP, "", BPF_F_XDP_HAS_FRAGS),
    ("tc", P.SCHED_CLS, 0, "", 0),
    ("tcx/ingress", P.SCHED_CLS, A.TCX_INGRESS, "", 0),
    ("tc/egress", P.SCHED_CLS, A.TCX_EGRESS, "", 0),
    ("netkit/peer", P.SCHED_CLS, A.NETKIT_PEER, "", 0),
    ("socket", P.SOCKET_FILTER, 0, "", 0),
    ("sk_skb/stream_verdict", P.SK_SKB, A.SK_SKB_STREAM_VERDICT, "", 0),
    ("sk_msg", P.SK_MSG, A.SK_MSG_VERDICT, "", 0),
    ("cgroup_skb/egress", P.CGROUP_SKB, A.CGROUP_INET_EGRESS, "", 0),
    ("cgroup/connect6", P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_CONNECT, "", 0),
    ("cgroup/sock", P.CGROUP_SOCK, A.CGROUP_INET_SOCK_CREATE, "", 0),
    ("cgroup/setsockopt", P.CGROUP_SOCKOPT, A.CGROUP_SETSOCKOPT, "", 0),
    ("sockops", P.SOCK_OPS, A.CGROUP_SOCK_OPS, "", 0),
    ("tracepoint/syscalls/sys_enter_openat", P.TRACEPOINT, 0, "syscalls/sys_enter_openat", 0),
    ("tp/sched/sched_switch", P.TRACEPOINT, 0, "sched/sched_switch", 0),
    ("raw_tp/sys_enter", P.RAW_TRACEPOINT, 0, "sys_enter", 0),
    ("raw_tracepoint.w/bpf_test_finish", P.RAW_TRACEPOINT_WRITABLE, 0, "bpf_test_finish", 0),
    ("tp_btf/sched_switch", P.TRACING, A.TRACE_RAW_TP, "sched_switch", 0),
    ("uprobe//bin/bash:readline", P.KPROBE, 0, "/bin/bash:readline", 0),
    ("uretprobe.s//lib/libc.so.6:malloc", P.KPROBE, 0, "/lib/libc.so.6:malloc",
     BPF_F_SLEEPABLE),
    ("uprobe.multi//bin/x:f*", P.KPROBE, A.TRACE_UPROBE_MULTI, "/bin/x:f*", 0),
    ("kprobe/do_sys_openat2", P.KPROBE, 0, "do_sys_openat2", 0),
    ("kretprobe.multi/vfs_*", P.KPROBE, A.TRACE_KPROBE_MULTI, "vfs_*", 0),
    ("ksyscall/openat", P.KPROBE, 0, "openat", 0),
    ("usdt/./app:provider:probe", P.KPROBE, 0, "./app:provider:probe", 0),
    ("fentry/do_unlinkat", P.TRACING, A.TRACE_FENTRY, "do_unlinkat", 0),
    ("fexit.s/do_unlinkat", P.TRACING, A.TRACE_FEXIT, "do_unlinkat", BPF_F_SLEEPABLE),
    ("fmod_ret/security_x", P.TRACING, A.MODIFY_RETURN, "security_x", 0),
    ("freplace/handler", P.EXT, 0, "handler", 0),
    ("lsm/file_open", P.LSM, A.LSM_MAC, "file_open", 0),
    ("lsm.s/bprm_check", P.LSM, A.LSM_MAC, "bprm_check", BPF_F_SLEEPABLE),
    ("lsm_cgroup/socket_bind", P.LSM, A.LSM_CGROUP, "socket_bind", 0),
    ("iter/task", P.TRACING, A.TRACE_ITER, "task", 0),
    ("iter.s/task_vma", P.TRACING, A.TRACE_ITER, "task_vma", BPF_F_SLEEPABLE),
    ("struct_ops/dctcp_init", P.STRUCT_OPS, 0, "dctcp_init", 0),
    ("syscall", P.SYSCALL, 0, "", BPF_F_SLEEPABLE),
    ("sk_lookup", P.SK_LOOKUP, A.SK_LOOKUP, "", 0),
    ("flow_dissector", P.FLOW_DISSECTOR, A.FLOW_DISSECTOR, "", 0),
    ("lwt_xmit", P.LWT_XMIT, 0, "", 0),
    ("perf_event", P.PERF_EVENT, 0, "", 0),
    ("sk_reuseport/migrate", P.SK_REUSEPORT, A.SK_REUSEPORT_SELECT_OR_MIGRATE, "", 0),
    ("netfilter", P.NETFILTER, A.NETFILTER, "", 0),
])
def test_section(name: str, prog_type: ProgramType, attach_type: int, target: str,
                 flags: int) -> None:
    s = parse_section(name)
    assert (s.prog_type, s.attach_type, s.attach_to, s.prog_flags) == (
        prog_type, int(attach_type), target, flags)
    assert s.known and s.autoload


def test_btf_targets() -> None:
    assert parse_section("tp_btf/x").btf_target_prefix == "btf_trace_"
    assert parse_section("lsm/x").btf_target_prefix == "bpf_lsm_"
    assert parse_section("iter/x").btf_target_prefix == "bpf_iter_"
    assert parse_section("fentry/x").needs_btf_target
    assert not parse_section("kprobe/x").needs_btf_target


@pytest.mark.parametrize("name", ["xdp_foo", "xdp/", "tcx", "socketx", "kprobex/y", "", "?",
                                  "cgroup/unknown", "classifier/x"])
def test_unknown(name: str) -> None:
    s = parse_section(name)
    assert s.prog_type == ProgramType.UNSPEC and not s.known


def test_question_mark_is_not_autoloaded() -> None:
    s = parse_section("?kprobe/do_exit")
    assert not s.autoload and s.prog_type == ProgramType.KPROBE and s.attach_to == "do_exit"
