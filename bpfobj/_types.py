"""Enums of the kernel's bpf constants, with values taken from the compiled headers.

Owns MapType, ProgramType, AttachType, LinkType, HelperFunc and ObjType. Imports
only ``_sys`` (for the constants). Member names drop the kernel prefix
(``BPF_MAP_TYPE_HASH`` is ``MapType.HASH``); ``str()`` of a map or program type
is cilium/ebpf's name (``Hash``, ``XDP``), and ``.kernel_name`` is what bpftool
prints in JSON (``hash``, ``xdp``).

This file is generated from cdefs/bpf.h by listing each enum; when the
header grows, add the new names here too (tests check that none is missing).
"""

from __future__ import annotations

import enum
import errno
import os
from typing import Optional

from ._internal import syscall as _sys
from .errors import Op, from_errno

__all__ = [
    "AttachType", "HelperFunc", "LinkType", "MapType", "ObjType", "ProgramType", "fd_type",
]

_c = _sys.const


class MapType(enum.IntEnum):
    """BPF_MAP_TYPE_*: every map type of the kernel uapi bpfobj was built with."""

    UNSPEC = _c("BPF_MAP_TYPE_UNSPEC")
    HASH = _c("BPF_MAP_TYPE_HASH")
    ARRAY = _c("BPF_MAP_TYPE_ARRAY")
    PROG_ARRAY = _c("BPF_MAP_TYPE_PROG_ARRAY")
    PERF_EVENT_ARRAY = _c("BPF_MAP_TYPE_PERF_EVENT_ARRAY")
    PERCPU_HASH = _c("BPF_MAP_TYPE_PERCPU_HASH")
    PERCPU_ARRAY = _c("BPF_MAP_TYPE_PERCPU_ARRAY")
    STACK_TRACE = _c("BPF_MAP_TYPE_STACK_TRACE")
    CGROUP_ARRAY = _c("BPF_MAP_TYPE_CGROUP_ARRAY")
    LRU_HASH = _c("BPF_MAP_TYPE_LRU_HASH")
    LRU_PERCPU_HASH = _c("BPF_MAP_TYPE_LRU_PERCPU_HASH")
    LPM_TRIE = _c("BPF_MAP_TYPE_LPM_TRIE")
    ARRAY_OF_MAPS = _c("BPF_MAP_TYPE_ARRAY_OF_MAPS")
    HASH_OF_MAPS = _c("BPF_MAP_TYPE_HASH_OF_MAPS")
    DEVMAP = _c("BPF_MAP_TYPE_DEVMAP")
    SOCKMAP = _c("BPF_MAP_TYPE_SOCKMAP")
    CPUMAP = _c("BPF_MAP_TYPE_CPUMAP")
    XSKMAP = _c("BPF_MAP_TYPE_XSKMAP")
    SOCKHASH = _c("BPF_MAP_TYPE_SOCKHASH")
    CGROUP_STORAGE = _c("BPF_MAP_TYPE_CGROUP_STORAGE")
    REUSEPORT_SOCKARRAY = _c("BPF_MAP_TYPE_REUSEPORT_SOCKARRAY")
    PERCPU_CGROUP_STORAGE = _c("BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE")
    QUEUE = _c("BPF_MAP_TYPE_QUEUE")
    STACK = _c("BPF_MAP_TYPE_STACK")
    SK_STORAGE = _c("BPF_MAP_TYPE_SK_STORAGE")
    DEVMAP_HASH = _c("BPF_MAP_TYPE_DEVMAP_HASH")
    STRUCT_OPS = _c("BPF_MAP_TYPE_STRUCT_OPS")
    RINGBUF = _c("BPF_MAP_TYPE_RINGBUF")
    INODE_STORAGE = _c("BPF_MAP_TYPE_INODE_STORAGE")
    TASK_STORAGE = _c("BPF_MAP_TYPE_TASK_STORAGE")
    BLOOM_FILTER = _c("BPF_MAP_TYPE_BLOOM_FILTER")
    USER_RINGBUF = _c("BPF_MAP_TYPE_USER_RINGBUF")
    CGRP_STORAGE = _c("BPF_MAP_TYPE_CGRP_STORAGE")
    ARENA = _c("BPF_MAP_TYPE_ARENA")

    def __str__(self) -> str:
        return _MAPTYPE_NAMES.get(self.name, self.name)

    @property
    def kernel_name(self) -> str:
        """The name bpftool prints (the kernel name, lower case, without prefix)."""
        return self.name.lower()


_MAPTYPE_NAMES = {
    "HASH": "Hash",
    "ARRAY": "Array",
    "PROG_ARRAY": "ProgramArray",
    "PERF_EVENT_ARRAY": "PerfEventArray",
    "PERCPU_HASH": "PerCPUHash",
    "PERCPU_ARRAY": "PerCPUArray",
    "STACK_TRACE": "StackTrace",
    "CGROUP_ARRAY": "CGroupArray",
    "LRU_HASH": "LRUHash",
    "LRU_PERCPU_HASH": "LRUCPUHash",
    "LPM_TRIE": "LPMTrie",
    "ARRAY_OF_MAPS": "ArrayOfMaps",
    "HASH_OF_MAPS": "HashOfMaps",
    "DEVMAP": "DevMap",
    "SOCKMAP": "SockMap",
    "CPUMAP": "CPUMap",
    "XSKMAP": "XSKMap",
    "SOCKHASH": "SockHash",
    "CGROUP_STORAGE": "CGroupStorage",
    "REUSEPORT_SOCKARRAY": "ReusePortSockArray",
    "PERCPU_CGROUP_STORAGE": "PerCPUCGroupStorage",
    "QUEUE": "Queue",
    "STACK": "Stack",
    "SK_STORAGE": "SkStorage",
    "DEVMAP_HASH": "DevMapHash",
    "STRUCT_OPS": "StructOpsMap",
    "RINGBUF": "RingBuf",
    "INODE_STORAGE": "InodeStorage",
    "TASK_STORAGE": "TaskStorage",
    "BLOOM_FILTER": "BloomFilter",
    "USER_RINGBUF": "UserRingbuf",
    "CGRP_STORAGE": "CgroupStorage",
    "ARENA": "Arena",
    "UNSPEC": "UnspecifiedMap",
}


class ProgramType(enum.IntEnum):
    """BPF_PROG_TYPE_*: every program type."""

    UNSPEC = _c("BPF_PROG_TYPE_UNSPEC")
    SOCKET_FILTER = _c("BPF_PROG_TYPE_SOCKET_FILTER")
    KPROBE = _c("BPF_PROG_TYPE_KPROBE")
    SCHED_CLS = _c("BPF_PROG_TYPE_SCHED_CLS")
    SCHED_ACT = _c("BPF_PROG_TYPE_SCHED_ACT")
    TRACEPOINT = _c("BPF_PROG_TYPE_TRACEPOINT")
    XDP = _c("BPF_PROG_TYPE_XDP")
    PERF_EVENT = _c("BPF_PROG_TYPE_PERF_EVENT")
    CGROUP_SKB = _c("BPF_PROG_TYPE_CGROUP_SKB")
    CGROUP_SOCK = _c("BPF_PROG_TYPE_CGROUP_SOCK")
    LWT_IN = _c("BPF_PROG_TYPE_LWT_IN")
    LWT_OUT = _c("BPF_PROG_TYPE_LWT_OUT")
    LWT_XMIT = _c("BPF_PROG_TYPE_LWT_XMIT")
    SOCK_OPS = _c("BPF_PROG_TYPE_SOCK_OPS")
    SK_SKB = _c("BPF_PROG_TYPE_SK_SKB")
    CGROUP_DEVICE = _c("BPF_PROG_TYPE_CGROUP_DEVICE")
    SK_MSG = _c("BPF_PROG_TYPE_SK_MSG")
    RAW_TRACEPOINT = _c("BPF_PROG_TYPE_RAW_TRACEPOINT")
    CGROUP_SOCK_ADDR = _c("BPF_PROG_TYPE_CGROUP_SOCK_ADDR")
    LWT_SEG6LOCAL = _c("BPF_PROG_TYPE_LWT_SEG6LOCAL")
    LIRC_MODE2 = _c("BPF_PROG_TYPE_LIRC_MODE2")
    SK_REUSEPORT = _c("BPF_PROG_TYPE_SK_REUSEPORT")
    FLOW_DISSECTOR = _c("BPF_PROG_TYPE_FLOW_DISSECTOR")
    CGROUP_SYSCTL = _c("BPF_PROG_TYPE_CGROUP_SYSCTL")
    RAW_TRACEPOINT_WRITABLE = _c("BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE")
    CGROUP_SOCKOPT = _c("BPF_PROG_TYPE_CGROUP_SOCKOPT")
    TRACING = _c("BPF_PROG_TYPE_TRACING")
    STRUCT_OPS = _c("BPF_PROG_TYPE_STRUCT_OPS")
    EXT = _c("BPF_PROG_TYPE_EXT")
    LSM = _c("BPF_PROG_TYPE_LSM")
    SK_LOOKUP = _c("BPF_PROG_TYPE_SK_LOOKUP")
    SYSCALL = _c("BPF_PROG_TYPE_SYSCALL")
    NETFILTER = _c("BPF_PROG_TYPE_NETFILTER")

    def __str__(self) -> str:
        return _PROGRAMTYPE_NAMES.get(self.name, self.name)

    @property
    def kernel_name(self) -> str:
        """The name bpftool prints (the kernel name, lower case, without prefix)."""
        return self.name.lower()


_PROGRAMTYPE_NAMES = {
    "UNSPEC": "UnspecifiedProgram",
    "SOCKET_FILTER": "SocketFilter",
    "KPROBE": "Kprobe",
    "SCHED_CLS": "SchedCLS",
    "SCHED_ACT": "SchedACT",
    "TRACEPOINT": "TracePoint",
    "XDP": "XDP",
    "PERF_EVENT": "PerfEvent",
    "CGROUP_SKB": "CGroupSKB",
    "CGROUP_SOCK": "CGroupSock",
    "LWT_IN": "LWTIn",
    "LWT_OUT": "LWTOut",
    "LWT_XMIT": "LWTXmit",
    "SOCK_OPS": "SockOps",
    "SK_SKB": "SkSKB",
    "CGROUP_DEVICE": "CGroupDevice",
    "SK_MSG": "SkMsg",
    "RAW_TRACEPOINT": "RawTracepoint",
    "CGROUP_SOCK_ADDR": "CGroupSockAddr",
    "LWT_SEG6LOCAL": "LWTSeg6Local",
    "LIRC_MODE2": "LircMode2",
    "SK_REUSEPORT": "SkReuseport",
    "FLOW_DISSECTOR": "FlowDissector",
    "CGROUP_SYSCTL": "CGroupSysctl",
    "RAW_TRACEPOINT_WRITABLE": "RawTracepointWritable",
    "CGROUP_SOCKOPT": "CGroupSockopt",
    "TRACING": "Tracing",
    "STRUCT_OPS": "StructOps",
    "EXT": "Extension",
    "LSM": "LSM",
    "SK_LOOKUP": "SkLookup",
    "SYSCALL": "Syscall",
    "NETFILTER": "Netfilter",
}


class AttachType(enum.IntEnum):
    """BPF_* attach types (enum bpf_attach_type)."""

    CGROUP_INET_INGRESS = _c("BPF_CGROUP_INET_INGRESS")
    CGROUP_INET_EGRESS = _c("BPF_CGROUP_INET_EGRESS")
    CGROUP_INET_SOCK_CREATE = _c("BPF_CGROUP_INET_SOCK_CREATE")
    CGROUP_SOCK_OPS = _c("BPF_CGROUP_SOCK_OPS")
    SK_SKB_STREAM_PARSER = _c("BPF_SK_SKB_STREAM_PARSER")
    SK_SKB_STREAM_VERDICT = _c("BPF_SK_SKB_STREAM_VERDICT")
    CGROUP_DEVICE = _c("BPF_CGROUP_DEVICE")
    SK_MSG_VERDICT = _c("BPF_SK_MSG_VERDICT")
    CGROUP_INET4_BIND = _c("BPF_CGROUP_INET4_BIND")
    CGROUP_INET6_BIND = _c("BPF_CGROUP_INET6_BIND")
    CGROUP_INET4_CONNECT = _c("BPF_CGROUP_INET4_CONNECT")
    CGROUP_INET6_CONNECT = _c("BPF_CGROUP_INET6_CONNECT")
    CGROUP_INET4_POST_BIND = _c("BPF_CGROUP_INET4_POST_BIND")
    CGROUP_INET6_POST_BIND = _c("BPF_CGROUP_INET6_POST_BIND")
    CGROUP_UDP4_SENDMSG = _c("BPF_CGROUP_UDP4_SENDMSG")
    CGROUP_UDP6_SENDMSG = _c("BPF_CGROUP_UDP6_SENDMSG")
    LIRC_MODE2 = _c("BPF_LIRC_MODE2")
    FLOW_DISSECTOR = _c("BPF_FLOW_DISSECTOR")
    CGROUP_SYSCTL = _c("BPF_CGROUP_SYSCTL")
    CGROUP_UDP4_RECVMSG = _c("BPF_CGROUP_UDP4_RECVMSG")
    CGROUP_UDP6_RECVMSG = _c("BPF_CGROUP_UDP6_RECVMSG")
    CGROUP_GETSOCKOPT = _c("BPF_CGROUP_GETSOCKOPT")
    CGROUP_SETSOCKOPT = _c("BPF_CGROUP_SETSOCKOPT")
    TRACE_RAW_TP = _c("BPF_TRACE_RAW_TP")
    TRACE_FENTRY = _c("BPF_TRACE_FENTRY")
    TRACE_FEXIT = _c("BPF_TRACE_FEXIT")
    MODIFY_RETURN = _c("BPF_MODIFY_RETURN")
    LSM_MAC = _c("BPF_LSM_MAC")
    TRACE_ITER = _c("BPF_TRACE_ITER")
    CGROUP_INET4_GETPEERNAME = _c("BPF_CGROUP_INET4_GETPEERNAME")
    CGROUP_INET6_GETPEERNAME = _c("BPF_CGROUP_INET6_GETPEERNAME")
    CGROUP_INET4_GETSOCKNAME = _c("BPF_CGROUP_INET4_GETSOCKNAME")
    CGROUP_INET6_GETSOCKNAME = _c("BPF_CGROUP_INET6_GETSOCKNAME")
    XDP_DEVMAP = _c("BPF_XDP_DEVMAP")
    CGROUP_INET_SOCK_RELEASE = _c("BPF_CGROUP_INET_SOCK_RELEASE")
    XDP_CPUMAP = _c("BPF_XDP_CPUMAP")
    SK_LOOKUP = _c("BPF_SK_LOOKUP")
    XDP = _c("BPF_XDP")
    SK_SKB_VERDICT = _c("BPF_SK_SKB_VERDICT")
    SK_REUSEPORT_SELECT = _c("BPF_SK_REUSEPORT_SELECT")
    SK_REUSEPORT_SELECT_OR_MIGRATE = _c("BPF_SK_REUSEPORT_SELECT_OR_MIGRATE")
    PERF_EVENT = _c("BPF_PERF_EVENT")
    TRACE_KPROBE_MULTI = _c("BPF_TRACE_KPROBE_MULTI")
    LSM_CGROUP = _c("BPF_LSM_CGROUP")
    STRUCT_OPS = _c("BPF_STRUCT_OPS")
    NETFILTER = _c("BPF_NETFILTER")
    TCX_INGRESS = _c("BPF_TCX_INGRESS")
    TCX_EGRESS = _c("BPF_TCX_EGRESS")
    TRACE_UPROBE_MULTI = _c("BPF_TRACE_UPROBE_MULTI")
    CGROUP_UNIX_CONNECT = _c("BPF_CGROUP_UNIX_CONNECT")
    CGROUP_UNIX_SENDMSG = _c("BPF_CGROUP_UNIX_SENDMSG")
    CGROUP_UNIX_RECVMSG = _c("BPF_CGROUP_UNIX_RECVMSG")
    CGROUP_UNIX_GETPEERNAME = _c("BPF_CGROUP_UNIX_GETPEERNAME")
    CGROUP_UNIX_GETSOCKNAME = _c("BPF_CGROUP_UNIX_GETSOCKNAME")
    NETKIT_PRIMARY = _c("BPF_NETKIT_PRIMARY")
    NETKIT_PEER = _c("BPF_NETKIT_PEER")
    TRACE_KPROBE_SESSION = _c("BPF_TRACE_KPROBE_SESSION")
    TRACE_UPROBE_SESSION = _c("BPF_TRACE_UPROBE_SESSION")

    def __str__(self) -> str:
        # IntEnum's str() is the number on Python 3.11+; print the name, like MapType.
        return self.name

    @property
    def kernel_name(self) -> str:
        """The name bpftool prints (the kernel name, lower case, without prefix)."""
        return self.name.lower()


class LinkType(enum.IntEnum):
    """BPF_LINK_TYPE_*: every link type."""

    UNSPEC = _c("BPF_LINK_TYPE_UNSPEC")
    RAW_TRACEPOINT = _c("BPF_LINK_TYPE_RAW_TRACEPOINT")
    TRACING = _c("BPF_LINK_TYPE_TRACING")
    CGROUP = _c("BPF_LINK_TYPE_CGROUP")
    ITER = _c("BPF_LINK_TYPE_ITER")
    NETNS = _c("BPF_LINK_TYPE_NETNS")
    XDP = _c("BPF_LINK_TYPE_XDP")
    PERF_EVENT = _c("BPF_LINK_TYPE_PERF_EVENT")
    KPROBE_MULTI = _c("BPF_LINK_TYPE_KPROBE_MULTI")
    STRUCT_OPS = _c("BPF_LINK_TYPE_STRUCT_OPS")
    NETFILTER = _c("BPF_LINK_TYPE_NETFILTER")
    TCX = _c("BPF_LINK_TYPE_TCX")
    UPROBE_MULTI = _c("BPF_LINK_TYPE_UPROBE_MULTI")
    NETKIT = _c("BPF_LINK_TYPE_NETKIT")
    SOCKMAP = _c("BPF_LINK_TYPE_SOCKMAP")

    def __str__(self) -> str:
        # IntEnum's str() is the number on Python 3.11+; print the name, like MapType.
        return self.name

    @property
    def kernel_name(self) -> str:
        """The name bpftool prints (the kernel name, lower case, without prefix)."""
        return self.name.lower()


class HelperFunc(enum.IntEnum):
    """BPF_FUNC_*: helper function ids, for asm.call()."""

    unspec = _c("BPF_FUNC_unspec")
    map_lookup_elem = _c("BPF_FUNC_map_lookup_elem")
    map_update_elem = _c("BPF_FUNC_map_update_elem")
    map_delete_elem = _c("BPF_FUNC_map_delete_elem")
    probe_read = _c("BPF_FUNC_probe_read")
    ktime_get_ns = _c("BPF_FUNC_ktime_get_ns")
    trace_printk = _c("BPF_FUNC_trace_printk")
    get_prandom_u32 = _c("BPF_FUNC_get_prandom_u32")
    get_smp_processor_id = _c("BPF_FUNC_get_smp_processor_id")
    skb_store_bytes = _c("BPF_FUNC_skb_store_bytes")
    l3_csum_replace = _c("BPF_FUNC_l3_csum_replace")
    l4_csum_replace = _c("BPF_FUNC_l4_csum_replace")
    tail_call = _c("BPF_FUNC_tail_call")
    clone_redirect = _c("BPF_FUNC_clone_redirect")
    get_current_pid_tgid = _c("BPF_FUNC_get_current_pid_tgid")
    get_current_uid_gid = _c("BPF_FUNC_get_current_uid_gid")
    get_current_comm = _c("BPF_FUNC_get_current_comm")
    get_cgroup_classid = _c("BPF_FUNC_get_cgroup_classid")
    skb_vlan_push = _c("BPF_FUNC_skb_vlan_push")
    skb_vlan_pop = _c("BPF_FUNC_skb_vlan_pop")
    skb_get_tunnel_key = _c("BPF_FUNC_skb_get_tunnel_key")
    skb_set_tunnel_key = _c("BPF_FUNC_skb_set_tunnel_key")
    perf_event_read = _c("BPF_FUNC_perf_event_read")
    redirect = _c("BPF_FUNC_redirect")
    get_route_realm = _c("BPF_FUNC_get_route_realm")
    perf_event_output = _c("BPF_FUNC_perf_event_output")
    skb_load_bytes = _c("BPF_FUNC_skb_load_bytes")
    get_stackid = _c("BPF_FUNC_get_stackid")
    csum_diff = _c("BPF_FUNC_csum_diff")
    skb_get_tunnel_opt = _c("BPF_FUNC_skb_get_tunnel_opt")
    skb_set_tunnel_opt = _c("BPF_FUNC_skb_set_tunnel_opt")
    skb_change_proto = _c("BPF_FUNC_skb_change_proto")
    skb_change_type = _c("BPF_FUNC_skb_change_type")
    skb_under_cgroup = _c("BPF_FUNC_skb_under_cgroup")
    get_hash_recalc = _c("BPF_FUNC_get_hash_recalc")
    get_current_task = _c("BPF_FUNC_get_current_task")
    probe_write_user = _c("BPF_FUNC_probe_write_user")
    current_task_under_cgroup = _c("BPF_FUNC_current_task_under_cgroup")
    skb_change_tail = _c("BPF_FUNC_skb_change_tail")
    skb_pull_data = _c("BPF_FUNC_skb_pull_data")
    csum_update = _c("BPF_FUNC_csum_update")
    set_hash_invalid = _c("BPF_FUNC_set_hash_invalid")
    get_numa_node_id = _c("BPF_FUNC_get_numa_node_id")
    skb_change_head = _c("BPF_FUNC_skb_change_head")
    xdp_adjust_head = _c("BPF_FUNC_xdp_adjust_head")
    probe_read_str = _c("BPF_FUNC_probe_read_str")
    get_socket_cookie = _c("BPF_FUNC_get_socket_cookie")
    get_socket_uid = _c("BPF_FUNC_get_socket_uid")
    set_hash = _c("BPF_FUNC_set_hash")
    setsockopt = _c("BPF_FUNC_setsockopt")
    skb_adjust_room = _c("BPF_FUNC_skb_adjust_room")
    redirect_map = _c("BPF_FUNC_redirect_map")
    sk_redirect_map = _c("BPF_FUNC_sk_redirect_map")
    sock_map_update = _c("BPF_FUNC_sock_map_update")
    xdp_adjust_meta = _c("BPF_FUNC_xdp_adjust_meta")
    perf_event_read_value = _c("BPF_FUNC_perf_event_read_value")
    perf_prog_read_value = _c("BPF_FUNC_perf_prog_read_value")
    getsockopt = _c("BPF_FUNC_getsockopt")
    override_return = _c("BPF_FUNC_override_return")
    sock_ops_cb_flags_set = _c("BPF_FUNC_sock_ops_cb_flags_set")
    msg_redirect_map = _c("BPF_FUNC_msg_redirect_map")
    msg_apply_bytes = _c("BPF_FUNC_msg_apply_bytes")
    msg_cork_bytes = _c("BPF_FUNC_msg_cork_bytes")
    msg_pull_data = _c("BPF_FUNC_msg_pull_data")
    bind = _c("BPF_FUNC_bind")
    xdp_adjust_tail = _c("BPF_FUNC_xdp_adjust_tail")
    skb_get_xfrm_state = _c("BPF_FUNC_skb_get_xfrm_state")
    get_stack = _c("BPF_FUNC_get_stack")
    skb_load_bytes_relative = _c("BPF_FUNC_skb_load_bytes_relative")
    fib_lookup = _c("BPF_FUNC_fib_lookup")
    sock_hash_update = _c("BPF_FUNC_sock_hash_update")
    msg_redirect_hash = _c("BPF_FUNC_msg_redirect_hash")
    sk_redirect_hash = _c("BPF_FUNC_sk_redirect_hash")
    lwt_push_encap = _c("BPF_FUNC_lwt_push_encap")
    lwt_seg6_store_bytes = _c("BPF_FUNC_lwt_seg6_store_bytes")
    lwt_seg6_adjust_srh = _c("BPF_FUNC_lwt_seg6_adjust_srh")
    lwt_seg6_action = _c("BPF_FUNC_lwt_seg6_action")
    rc_repeat = _c("BPF_FUNC_rc_repeat")
    rc_keydown = _c("BPF_FUNC_rc_keydown")
    skb_cgroup_id = _c("BPF_FUNC_skb_cgroup_id")
    get_current_cgroup_id = _c("BPF_FUNC_get_current_cgroup_id")
    get_local_storage = _c("BPF_FUNC_get_local_storage")
    sk_select_reuseport = _c("BPF_FUNC_sk_select_reuseport")
    skb_ancestor_cgroup_id = _c("BPF_FUNC_skb_ancestor_cgroup_id")
    sk_lookup_tcp = _c("BPF_FUNC_sk_lookup_tcp")
    sk_lookup_udp = _c("BPF_FUNC_sk_lookup_udp")
    sk_release = _c("BPF_FUNC_sk_release")
    map_push_elem = _c("BPF_FUNC_map_push_elem")
    map_pop_elem = _c("BPF_FUNC_map_pop_elem")
    map_peek_elem = _c("BPF_FUNC_map_peek_elem")
    msg_push_data = _c("BPF_FUNC_msg_push_data")
    msg_pop_data = _c("BPF_FUNC_msg_pop_data")
    rc_pointer_rel = _c("BPF_FUNC_rc_pointer_rel")
    spin_lock = _c("BPF_FUNC_spin_lock")
    spin_unlock = _c("BPF_FUNC_spin_unlock")
    sk_fullsock = _c("BPF_FUNC_sk_fullsock")
    tcp_sock = _c("BPF_FUNC_tcp_sock")
    skb_ecn_set_ce = _c("BPF_FUNC_skb_ecn_set_ce")
    get_listener_sock = _c("BPF_FUNC_get_listener_sock")
    skc_lookup_tcp = _c("BPF_FUNC_skc_lookup_tcp")
    tcp_check_syncookie = _c("BPF_FUNC_tcp_check_syncookie")
    sysctl_get_name = _c("BPF_FUNC_sysctl_get_name")
    sysctl_get_current_value = _c("BPF_FUNC_sysctl_get_current_value")
    sysctl_get_new_value = _c("BPF_FUNC_sysctl_get_new_value")
    sysctl_set_new_value = _c("BPF_FUNC_sysctl_set_new_value")
    strtol = _c("BPF_FUNC_strtol")
    strtoul = _c("BPF_FUNC_strtoul")
    sk_storage_get = _c("BPF_FUNC_sk_storage_get")
    sk_storage_delete = _c("BPF_FUNC_sk_storage_delete")
    send_signal = _c("BPF_FUNC_send_signal")
    tcp_gen_syncookie = _c("BPF_FUNC_tcp_gen_syncookie")
    skb_output = _c("BPF_FUNC_skb_output")
    probe_read_user = _c("BPF_FUNC_probe_read_user")
    probe_read_kernel = _c("BPF_FUNC_probe_read_kernel")
    probe_read_user_str = _c("BPF_FUNC_probe_read_user_str")
    probe_read_kernel_str = _c("BPF_FUNC_probe_read_kernel_str")
    tcp_send_ack = _c("BPF_FUNC_tcp_send_ack")
    send_signal_thread = _c("BPF_FUNC_send_signal_thread")
    jiffies64 = _c("BPF_FUNC_jiffies64")
    read_branch_records = _c("BPF_FUNC_read_branch_records")
    get_ns_current_pid_tgid = _c("BPF_FUNC_get_ns_current_pid_tgid")
    xdp_output = _c("BPF_FUNC_xdp_output")
    get_netns_cookie = _c("BPF_FUNC_get_netns_cookie")
    get_current_ancestor_cgroup_id = _c("BPF_FUNC_get_current_ancestor_cgroup_id")
    sk_assign = _c("BPF_FUNC_sk_assign")
    ktime_get_boot_ns = _c("BPF_FUNC_ktime_get_boot_ns")
    seq_printf = _c("BPF_FUNC_seq_printf")
    seq_write = _c("BPF_FUNC_seq_write")
    sk_cgroup_id = _c("BPF_FUNC_sk_cgroup_id")
    sk_ancestor_cgroup_id = _c("BPF_FUNC_sk_ancestor_cgroup_id")
    ringbuf_output = _c("BPF_FUNC_ringbuf_output")
    ringbuf_reserve = _c("BPF_FUNC_ringbuf_reserve")
    ringbuf_submit = _c("BPF_FUNC_ringbuf_submit")
    ringbuf_discard = _c("BPF_FUNC_ringbuf_discard")
    ringbuf_query = _c("BPF_FUNC_ringbuf_query")
    csum_level = _c("BPF_FUNC_csum_level")
    skc_to_tcp6_sock = _c("BPF_FUNC_skc_to_tcp6_sock")
    skc_to_tcp_sock = _c("BPF_FUNC_skc_to_tcp_sock")
    skc_to_tcp_timewait_sock = _c("BPF_FUNC_skc_to_tcp_timewait_sock")
    skc_to_tcp_request_sock = _c("BPF_FUNC_skc_to_tcp_request_sock")
    skc_to_udp6_sock = _c("BPF_FUNC_skc_to_udp6_sock")
    get_task_stack = _c("BPF_FUNC_get_task_stack")
    load_hdr_opt = _c("BPF_FUNC_load_hdr_opt")
    store_hdr_opt = _c("BPF_FUNC_store_hdr_opt")
    reserve_hdr_opt = _c("BPF_FUNC_reserve_hdr_opt")
    inode_storage_get = _c("BPF_FUNC_inode_storage_get")
    inode_storage_delete = _c("BPF_FUNC_inode_storage_delete")
    d_path = _c("BPF_FUNC_d_path")
    copy_from_user = _c("BPF_FUNC_copy_from_user")
    snprintf_btf = _c("BPF_FUNC_snprintf_btf")
    seq_printf_btf = _c("BPF_FUNC_seq_printf_btf")
    skb_cgroup_classid = _c("BPF_FUNC_skb_cgroup_classid")
    redirect_neigh = _c("BPF_FUNC_redirect_neigh")
    per_cpu_ptr = _c("BPF_FUNC_per_cpu_ptr")
    this_cpu_ptr = _c("BPF_FUNC_this_cpu_ptr")
    redirect_peer = _c("BPF_FUNC_redirect_peer")
    task_storage_get = _c("BPF_FUNC_task_storage_get")
    task_storage_delete = _c("BPF_FUNC_task_storage_delete")
    get_current_task_btf = _c("BPF_FUNC_get_current_task_btf")
    bprm_opts_set = _c("BPF_FUNC_bprm_opts_set")
    ktime_get_coarse_ns = _c("BPF_FUNC_ktime_get_coarse_ns")
    ima_inode_hash = _c("BPF_FUNC_ima_inode_hash")
    sock_from_file = _c("BPF_FUNC_sock_from_file")
    check_mtu = _c("BPF_FUNC_check_mtu")
    for_each_map_elem = _c("BPF_FUNC_for_each_map_elem")
    snprintf = _c("BPF_FUNC_snprintf")
    sys_bpf = _c("BPF_FUNC_sys_bpf")
    btf_find_by_name_kind = _c("BPF_FUNC_btf_find_by_name_kind")
    sys_close = _c("BPF_FUNC_sys_close")
    timer_init = _c("BPF_FUNC_timer_init")
    timer_set_callback = _c("BPF_FUNC_timer_set_callback")
    timer_start = _c("BPF_FUNC_timer_start")
    timer_cancel = _c("BPF_FUNC_timer_cancel")
    get_func_ip = _c("BPF_FUNC_get_func_ip")
    get_attach_cookie = _c("BPF_FUNC_get_attach_cookie")
    task_pt_regs = _c("BPF_FUNC_task_pt_regs")
    get_branch_snapshot = _c("BPF_FUNC_get_branch_snapshot")
    trace_vprintk = _c("BPF_FUNC_trace_vprintk")
    skc_to_unix_sock = _c("BPF_FUNC_skc_to_unix_sock")
    kallsyms_lookup_name = _c("BPF_FUNC_kallsyms_lookup_name")
    find_vma = _c("BPF_FUNC_find_vma")
    loop = _c("BPF_FUNC_loop")
    strncmp = _c("BPF_FUNC_strncmp")
    get_func_arg = _c("BPF_FUNC_get_func_arg")
    get_func_ret = _c("BPF_FUNC_get_func_ret")
    get_func_arg_cnt = _c("BPF_FUNC_get_func_arg_cnt")
    get_retval = _c("BPF_FUNC_get_retval")
    set_retval = _c("BPF_FUNC_set_retval")
    xdp_get_buff_len = _c("BPF_FUNC_xdp_get_buff_len")
    xdp_load_bytes = _c("BPF_FUNC_xdp_load_bytes")
    xdp_store_bytes = _c("BPF_FUNC_xdp_store_bytes")
    copy_from_user_task = _c("BPF_FUNC_copy_from_user_task")
    skb_set_tstamp = _c("BPF_FUNC_skb_set_tstamp")
    ima_file_hash = _c("BPF_FUNC_ima_file_hash")
    kptr_xchg = _c("BPF_FUNC_kptr_xchg")
    map_lookup_percpu_elem = _c("BPF_FUNC_map_lookup_percpu_elem")
    skc_to_mptcp_sock = _c("BPF_FUNC_skc_to_mptcp_sock")
    dynptr_from_mem = _c("BPF_FUNC_dynptr_from_mem")
    ringbuf_reserve_dynptr = _c("BPF_FUNC_ringbuf_reserve_dynptr")
    ringbuf_submit_dynptr = _c("BPF_FUNC_ringbuf_submit_dynptr")
    ringbuf_discard_dynptr = _c("BPF_FUNC_ringbuf_discard_dynptr")
    dynptr_read = _c("BPF_FUNC_dynptr_read")
    dynptr_write = _c("BPF_FUNC_dynptr_write")
    dynptr_data = _c("BPF_FUNC_dynptr_data")
    tcp_raw_gen_syncookie_ipv4 = _c("BPF_FUNC_tcp_raw_gen_syncookie_ipv4")
    tcp_raw_gen_syncookie_ipv6 = _c("BPF_FUNC_tcp_raw_gen_syncookie_ipv6")
    tcp_raw_check_syncookie_ipv4 = _c("BPF_FUNC_tcp_raw_check_syncookie_ipv4")
    tcp_raw_check_syncookie_ipv6 = _c("BPF_FUNC_tcp_raw_check_syncookie_ipv6")
    ktime_get_tai_ns = _c("BPF_FUNC_ktime_get_tai_ns")
    user_ringbuf_drain = _c("BPF_FUNC_user_ringbuf_drain")
    cgrp_storage_get = _c("BPF_FUNC_cgrp_storage_get")
    cgrp_storage_delete = _c("BPF_FUNC_cgrp_storage_delete")

    def __str__(self) -> str:
        # IntEnum's str() is the number on Python 3.11+; print the name, like MapType.
        return self.name

    @property
    def kernel_name(self) -> str:
        """The name bpftool prints (the kernel name, lower case, without prefix)."""
        return self.name.lower()

class ObjType(str, enum.Enum):
    """Kinds of bpf object, by the name the kernel gives their descriptors."""

    MAP = "map"
    PROG = "prog"
    LINK = "link"
    BTF = "btf"

    @property
    def anon_names(self) -> tuple[str, ...]:
        """The ``anon_inode:`` names of descriptors of this kind, as readlink shows them.

        A link fresh from BPF_LINK_CREATE reads ``bpf_link``; the same link
        reopened by BPF_OBJ_GET or BPF_LINK_GET_FD_BY_ID reads ``bpf-link``.
        """
        return _ANON_NAMES[self]

    def __str__(self) -> str:
        return self.value


_ANON_NAMES = {
    ObjType.MAP: ("bpf-map",),
    ObjType.PROG: ("bpf-prog",),
    ObjType.LINK: ("bpf_link", "bpf-link"),
    ObjType.BTF: ("btf",),
}

#: readlink("/proc/self/fd/N") target -> ObjType, for bpf descriptors.
ANON_INODE_TYPES: dict[str, ObjType] = {
    f"anon_inode:{name}": kind for kind, names in _ANON_NAMES.items() for name in names
}


def fd_type(fd: object) -> Optional[ObjType]:
    """What kind of bpf object a descriptor is, from the kernel; None for anything else.

    ``fd`` is a descriptor number, an FD, or an object with an ``fd``
    attribute (Map, Program, Link, BTF). Reads the name the kernel gives the
    descriptor (readlink of /proc/self/fd/N): ``anon_inode:bpf-map``,
    ``bpf-prog``, ``bpf_link`` or ``bpf-link`` (both spellings name links:
    the underscore one comes from BPF_LINK_CREATE, the dash one from
    BPF_OBJ_GET or BPF_LINK_GET_FD_BY_ID), and ``btf``.

    Raises:
        BPFError: the descriptor is not open (EBADF).
    """
    raw = _raw_of(fd)
    try:
        target = os.readlink(f"/proc/self/fd/{raw}")
    except FileNotFoundError:
        raise from_errno(errno.EBADF, Op.DUP, f"fd {raw}") from None
    return ANON_INODE_TYPES.get(target)


def _raw_of(fd: object) -> int:
    if isinstance(fd, bool):
        raise TypeError("a descriptor must be an int, not bool")
    if isinstance(fd, int):
        raw = fd
    elif hasattr(fd, "raw") and isinstance(fd.raw, int):
        raw = fd.raw
    elif hasattr(fd, "fd"):
        raw = fd.fd
    else:
        raise TypeError(f"expected a descriptor, not {type(fd).__name__}")
    if not isinstance(raw, int) or raw < 0:
        raise from_errno(errno.EBADF, Op.DUP, f"fd {raw}")
    return raw
