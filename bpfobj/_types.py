"""Enums of the kernel's bpf constants, with values from ``_internal.consts``.

Owns MapType, ProgramType, AttachType, LinkType, HelperFunc and ObjType. Imports
``_internal.consts`` (generated from cdefs/bpf.h, checked against the compiled module
when ``_internal.syscall`` is imported), ``_internal.linux`` and ``errors``: never the
compiled module, so the enums and the assembler work without it. Member names drop the kernel prefix
(``BPF_MAP_TYPE_HASH`` is ``MapType.HASH``); ``str()`` of a map or program type
is cilium/ebpf's name (``Hash``, ``XDP``), and ``.kernel_name`` is what bpftool
prints in JSON (``hash``, ``xdp``).

When cdefs/bpf.h grows, run tools/gen_consts.py and add the new names here
(tests check that no member of the header's enums is missing).
"""

from __future__ import annotations

import enum
import errno
from typing import Optional

from ._internal import consts as _k
from ._internal import kinds, linux
from .errors import Op, from_errno

__all__ = [
    "AttachType", "HelperFunc", "LinkType", "MapType", "ObjType", "ProgramType", "fd_type",
]


class MapType(enum.IntEnum):
    """BPF_MAP_TYPE_*: every map type of the kernel uapi bpfobj was built with."""

    UNSPEC = _k.BPF_MAP_TYPE_UNSPEC
    HASH = _k.BPF_MAP_TYPE_HASH
    ARRAY = _k.BPF_MAP_TYPE_ARRAY
    PROG_ARRAY = _k.BPF_MAP_TYPE_PROG_ARRAY
    PERF_EVENT_ARRAY = _k.BPF_MAP_TYPE_PERF_EVENT_ARRAY
    PERCPU_HASH = _k.BPF_MAP_TYPE_PERCPU_HASH
    PERCPU_ARRAY = _k.BPF_MAP_TYPE_PERCPU_ARRAY
    STACK_TRACE = _k.BPF_MAP_TYPE_STACK_TRACE
    CGROUP_ARRAY = _k.BPF_MAP_TYPE_CGROUP_ARRAY
    LRU_HASH = _k.BPF_MAP_TYPE_LRU_HASH
    LRU_PERCPU_HASH = _k.BPF_MAP_TYPE_LRU_PERCPU_HASH
    LPM_TRIE = _k.BPF_MAP_TYPE_LPM_TRIE
    ARRAY_OF_MAPS = _k.BPF_MAP_TYPE_ARRAY_OF_MAPS
    HASH_OF_MAPS = _k.BPF_MAP_TYPE_HASH_OF_MAPS
    DEVMAP = _k.BPF_MAP_TYPE_DEVMAP
    SOCKMAP = _k.BPF_MAP_TYPE_SOCKMAP
    CPUMAP = _k.BPF_MAP_TYPE_CPUMAP
    XSKMAP = _k.BPF_MAP_TYPE_XSKMAP
    SOCKHASH = _k.BPF_MAP_TYPE_SOCKHASH
    CGROUP_STORAGE = _k.BPF_MAP_TYPE_CGROUP_STORAGE
    REUSEPORT_SOCKARRAY = _k.BPF_MAP_TYPE_REUSEPORT_SOCKARRAY
    PERCPU_CGROUP_STORAGE = _k.BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE
    QUEUE = _k.BPF_MAP_TYPE_QUEUE
    STACK = _k.BPF_MAP_TYPE_STACK
    SK_STORAGE = _k.BPF_MAP_TYPE_SK_STORAGE
    DEVMAP_HASH = _k.BPF_MAP_TYPE_DEVMAP_HASH
    STRUCT_OPS = _k.BPF_MAP_TYPE_STRUCT_OPS
    RINGBUF = _k.BPF_MAP_TYPE_RINGBUF
    INODE_STORAGE = _k.BPF_MAP_TYPE_INODE_STORAGE
    TASK_STORAGE = _k.BPF_MAP_TYPE_TASK_STORAGE
    BLOOM_FILTER = _k.BPF_MAP_TYPE_BLOOM_FILTER
    USER_RINGBUF = _k.BPF_MAP_TYPE_USER_RINGBUF
    CGRP_STORAGE = _k.BPF_MAP_TYPE_CGRP_STORAGE
    ARENA = _k.BPF_MAP_TYPE_ARENA

    def __str__(self) -> str:
        return kinds.MAP_TYPE_NAMES.get(self.name, self.name)

    @property
    def kernel_name(self) -> str:
        """The name bpftool prints (the kernel name, lower case, without prefix)."""
        return self.name.lower()




class ProgramType(enum.IntEnum):
    """BPF_PROG_TYPE_*: every program type."""

    UNSPEC = _k.BPF_PROG_TYPE_UNSPEC
    SOCKET_FILTER = _k.BPF_PROG_TYPE_SOCKET_FILTER
    KPROBE = _k.BPF_PROG_TYPE_KPROBE
    SCHED_CLS = _k.BPF_PROG_TYPE_SCHED_CLS
    SCHED_ACT = _k.BPF_PROG_TYPE_SCHED_ACT
    TRACEPOINT = _k.BPF_PROG_TYPE_TRACEPOINT
    XDP = _k.BPF_PROG_TYPE_XDP
    PERF_EVENT = _k.BPF_PROG_TYPE_PERF_EVENT
    CGROUP_SKB = _k.BPF_PROG_TYPE_CGROUP_SKB
    CGROUP_SOCK = _k.BPF_PROG_TYPE_CGROUP_SOCK
    LWT_IN = _k.BPF_PROG_TYPE_LWT_IN
    LWT_OUT = _k.BPF_PROG_TYPE_LWT_OUT
    LWT_XMIT = _k.BPF_PROG_TYPE_LWT_XMIT
    SOCK_OPS = _k.BPF_PROG_TYPE_SOCK_OPS
    SK_SKB = _k.BPF_PROG_TYPE_SK_SKB
    CGROUP_DEVICE = _k.BPF_PROG_TYPE_CGROUP_DEVICE
    SK_MSG = _k.BPF_PROG_TYPE_SK_MSG
    RAW_TRACEPOINT = _k.BPF_PROG_TYPE_RAW_TRACEPOINT
    CGROUP_SOCK_ADDR = _k.BPF_PROG_TYPE_CGROUP_SOCK_ADDR
    LWT_SEG6LOCAL = _k.BPF_PROG_TYPE_LWT_SEG6LOCAL
    LIRC_MODE2 = _k.BPF_PROG_TYPE_LIRC_MODE2
    SK_REUSEPORT = _k.BPF_PROG_TYPE_SK_REUSEPORT
    FLOW_DISSECTOR = _k.BPF_PROG_TYPE_FLOW_DISSECTOR
    CGROUP_SYSCTL = _k.BPF_PROG_TYPE_CGROUP_SYSCTL
    RAW_TRACEPOINT_WRITABLE = _k.BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE
    CGROUP_SOCKOPT = _k.BPF_PROG_TYPE_CGROUP_SOCKOPT
    TRACING = _k.BPF_PROG_TYPE_TRACING
    STRUCT_OPS = _k.BPF_PROG_TYPE_STRUCT_OPS
    EXT = _k.BPF_PROG_TYPE_EXT
    LSM = _k.BPF_PROG_TYPE_LSM
    SK_LOOKUP = _k.BPF_PROG_TYPE_SK_LOOKUP
    SYSCALL = _k.BPF_PROG_TYPE_SYSCALL
    NETFILTER = _k.BPF_PROG_TYPE_NETFILTER

    def __str__(self) -> str:
        return kinds.PROGRAM_TYPE_NAMES.get(self.name, self.name)

    @property
    def kernel_name(self) -> str:
        """The name bpftool prints (the kernel name, lower case, without prefix)."""
        return self.name.lower()




class AttachType(enum.IntEnum):
    """BPF_* attach types (enum bpf_attach_type)."""

    CGROUP_INET_INGRESS = _k.BPF_CGROUP_INET_INGRESS
    CGROUP_INET_EGRESS = _k.BPF_CGROUP_INET_EGRESS
    CGROUP_INET_SOCK_CREATE = _k.BPF_CGROUP_INET_SOCK_CREATE
    CGROUP_SOCK_OPS = _k.BPF_CGROUP_SOCK_OPS
    SK_SKB_STREAM_PARSER = _k.BPF_SK_SKB_STREAM_PARSER
    SK_SKB_STREAM_VERDICT = _k.BPF_SK_SKB_STREAM_VERDICT
    CGROUP_DEVICE = _k.BPF_CGROUP_DEVICE
    SK_MSG_VERDICT = _k.BPF_SK_MSG_VERDICT
    CGROUP_INET4_BIND = _k.BPF_CGROUP_INET4_BIND
    CGROUP_INET6_BIND = _k.BPF_CGROUP_INET6_BIND
    CGROUP_INET4_CONNECT = _k.BPF_CGROUP_INET4_CONNECT
    CGROUP_INET6_CONNECT = _k.BPF_CGROUP_INET6_CONNECT
    CGROUP_INET4_POST_BIND = _k.BPF_CGROUP_INET4_POST_BIND
    CGROUP_INET6_POST_BIND = _k.BPF_CGROUP_INET6_POST_BIND
    CGROUP_UDP4_SENDMSG = _k.BPF_CGROUP_UDP4_SENDMSG
    CGROUP_UDP6_SENDMSG = _k.BPF_CGROUP_UDP6_SENDMSG
    LIRC_MODE2 = _k.BPF_LIRC_MODE2
    FLOW_DISSECTOR = _k.BPF_FLOW_DISSECTOR
    CGROUP_SYSCTL = _k.BPF_CGROUP_SYSCTL
    CGROUP_UDP4_RECVMSG = _k.BPF_CGROUP_UDP4_RECVMSG
    CGROUP_UDP6_RECVMSG = _k.BPF_CGROUP_UDP6_RECVMSG
    CGROUP_GETSOCKOPT = _k.BPF_CGROUP_GETSOCKOPT
    CGROUP_SETSOCKOPT = _k.BPF_CGROUP_SETSOCKOPT
    TRACE_RAW_TP = _k.BPF_TRACE_RAW_TP
    TRACE_FENTRY = _k.BPF_TRACE_FENTRY
    TRACE_FEXIT = _k.BPF_TRACE_FEXIT
    MODIFY_RETURN = _k.BPF_MODIFY_RETURN
    LSM_MAC = _k.BPF_LSM_MAC
    TRACE_ITER = _k.BPF_TRACE_ITER
    CGROUP_INET4_GETPEERNAME = _k.BPF_CGROUP_INET4_GETPEERNAME
    CGROUP_INET6_GETPEERNAME = _k.BPF_CGROUP_INET6_GETPEERNAME
    CGROUP_INET4_GETSOCKNAME = _k.BPF_CGROUP_INET4_GETSOCKNAME
    CGROUP_INET6_GETSOCKNAME = _k.BPF_CGROUP_INET6_GETSOCKNAME
    XDP_DEVMAP = _k.BPF_XDP_DEVMAP
    CGROUP_INET_SOCK_RELEASE = _k.BPF_CGROUP_INET_SOCK_RELEASE
    XDP_CPUMAP = _k.BPF_XDP_CPUMAP
    SK_LOOKUP = _k.BPF_SK_LOOKUP
    XDP = _k.BPF_XDP
    SK_SKB_VERDICT = _k.BPF_SK_SKB_VERDICT
    SK_REUSEPORT_SELECT = _k.BPF_SK_REUSEPORT_SELECT
    SK_REUSEPORT_SELECT_OR_MIGRATE = _k.BPF_SK_REUSEPORT_SELECT_OR_MIGRATE
    PERF_EVENT = _k.BPF_PERF_EVENT
    TRACE_KPROBE_MULTI = _k.BPF_TRACE_KPROBE_MULTI
    LSM_CGROUP = _k.BPF_LSM_CGROUP
    STRUCT_OPS = _k.BPF_STRUCT_OPS
    NETFILTER = _k.BPF_NETFILTER
    TCX_INGRESS = _k.BPF_TCX_INGRESS
    TCX_EGRESS = _k.BPF_TCX_EGRESS
    TRACE_UPROBE_MULTI = _k.BPF_TRACE_UPROBE_MULTI
    CGROUP_UNIX_CONNECT = _k.BPF_CGROUP_UNIX_CONNECT
    CGROUP_UNIX_SENDMSG = _k.BPF_CGROUP_UNIX_SENDMSG
    CGROUP_UNIX_RECVMSG = _k.BPF_CGROUP_UNIX_RECVMSG
    CGROUP_UNIX_GETPEERNAME = _k.BPF_CGROUP_UNIX_GETPEERNAME
    CGROUP_UNIX_GETSOCKNAME = _k.BPF_CGROUP_UNIX_GETSOCKNAME
    NETKIT_PRIMARY = _k.BPF_NETKIT_PRIMARY
    NETKIT_PEER = _k.BPF_NETKIT_PEER
    TRACE_KPROBE_SESSION = _k.BPF_TRACE_KPROBE_SESSION
    TRACE_UPROBE_SESSION = _k.BPF_TRACE_UPROBE_SESSION

    def __str__(self) -> str:
        # IntEnum's str() is the number on Python 3.11+; print the name, like MapType.
        return self.name

    @property
    def kernel_name(self) -> str:
        """The name bpftool prints (the kernel name, lower case, without prefix)."""
        return self.name.lower()


class LinkType(enum.IntEnum):
    """BPF_LINK_TYPE_*: every link type."""

    UNSPEC = _k.BPF_LINK_TYPE_UNSPEC
    RAW_TRACEPOINT = _k.BPF_LINK_TYPE_RAW_TRACEPOINT
    TRACING = _k.BPF_LINK_TYPE_TRACING
    CGROUP = _k.BPF_LINK_TYPE_CGROUP
    ITER = _k.BPF_LINK_TYPE_ITER
    NETNS = _k.BPF_LINK_TYPE_NETNS
    XDP = _k.BPF_LINK_TYPE_XDP
    PERF_EVENT = _k.BPF_LINK_TYPE_PERF_EVENT
    KPROBE_MULTI = _k.BPF_LINK_TYPE_KPROBE_MULTI
    STRUCT_OPS = _k.BPF_LINK_TYPE_STRUCT_OPS
    NETFILTER = _k.BPF_LINK_TYPE_NETFILTER
    TCX = _k.BPF_LINK_TYPE_TCX
    UPROBE_MULTI = _k.BPF_LINK_TYPE_UPROBE_MULTI
    NETKIT = _k.BPF_LINK_TYPE_NETKIT
    SOCKMAP = _k.BPF_LINK_TYPE_SOCKMAP

    def __str__(self) -> str:
        # IntEnum's str() is the number on Python 3.11+; print the name, like MapType.
        return self.name

    @property
    def kernel_name(self) -> str:
        """The name bpftool prints (the kernel name, lower case, without prefix)."""
        return self.name.lower()


class HelperFunc(enum.IntEnum):
    """BPF_FUNC_*: helper function ids, for asm.call()."""

    unspec = _k.BPF_FUNC_unspec
    map_lookup_elem = _k.BPF_FUNC_map_lookup_elem
    map_update_elem = _k.BPF_FUNC_map_update_elem
    map_delete_elem = _k.BPF_FUNC_map_delete_elem
    probe_read = _k.BPF_FUNC_probe_read
    ktime_get_ns = _k.BPF_FUNC_ktime_get_ns
    trace_printk = _k.BPF_FUNC_trace_printk
    get_prandom_u32 = _k.BPF_FUNC_get_prandom_u32
    get_smp_processor_id = _k.BPF_FUNC_get_smp_processor_id
    skb_store_bytes = _k.BPF_FUNC_skb_store_bytes
    l3_csum_replace = _k.BPF_FUNC_l3_csum_replace
    l4_csum_replace = _k.BPF_FUNC_l4_csum_replace
    tail_call = _k.BPF_FUNC_tail_call
    clone_redirect = _k.BPF_FUNC_clone_redirect
    get_current_pid_tgid = _k.BPF_FUNC_get_current_pid_tgid
    get_current_uid_gid = _k.BPF_FUNC_get_current_uid_gid
    get_current_comm = _k.BPF_FUNC_get_current_comm
    get_cgroup_classid = _k.BPF_FUNC_get_cgroup_classid
    skb_vlan_push = _k.BPF_FUNC_skb_vlan_push
    skb_vlan_pop = _k.BPF_FUNC_skb_vlan_pop
    skb_get_tunnel_key = _k.BPF_FUNC_skb_get_tunnel_key
    skb_set_tunnel_key = _k.BPF_FUNC_skb_set_tunnel_key
    perf_event_read = _k.BPF_FUNC_perf_event_read
    redirect = _k.BPF_FUNC_redirect
    get_route_realm = _k.BPF_FUNC_get_route_realm
    perf_event_output = _k.BPF_FUNC_perf_event_output
    skb_load_bytes = _k.BPF_FUNC_skb_load_bytes
    get_stackid = _k.BPF_FUNC_get_stackid
    csum_diff = _k.BPF_FUNC_csum_diff
    skb_get_tunnel_opt = _k.BPF_FUNC_skb_get_tunnel_opt
    skb_set_tunnel_opt = _k.BPF_FUNC_skb_set_tunnel_opt
    skb_change_proto = _k.BPF_FUNC_skb_change_proto
    skb_change_type = _k.BPF_FUNC_skb_change_type
    skb_under_cgroup = _k.BPF_FUNC_skb_under_cgroup
    get_hash_recalc = _k.BPF_FUNC_get_hash_recalc
    get_current_task = _k.BPF_FUNC_get_current_task
    probe_write_user = _k.BPF_FUNC_probe_write_user
    current_task_under_cgroup = _k.BPF_FUNC_current_task_under_cgroup
    skb_change_tail = _k.BPF_FUNC_skb_change_tail
    skb_pull_data = _k.BPF_FUNC_skb_pull_data
    csum_update = _k.BPF_FUNC_csum_update
    set_hash_invalid = _k.BPF_FUNC_set_hash_invalid
    get_numa_node_id = _k.BPF_FUNC_get_numa_node_id
    skb_change_head = _k.BPF_FUNC_skb_change_head
    xdp_adjust_head = _k.BPF_FUNC_xdp_adjust_head
    probe_read_str = _k.BPF_FUNC_probe_read_str
    get_socket_cookie = _k.BPF_FUNC_get_socket_cookie
    get_socket_uid = _k.BPF_FUNC_get_socket_uid
    set_hash = _k.BPF_FUNC_set_hash
    setsockopt = _k.BPF_FUNC_setsockopt
    skb_adjust_room = _k.BPF_FUNC_skb_adjust_room
    redirect_map = _k.BPF_FUNC_redirect_map
    sk_redirect_map = _k.BPF_FUNC_sk_redirect_map
    sock_map_update = _k.BPF_FUNC_sock_map_update
    xdp_adjust_meta = _k.BPF_FUNC_xdp_adjust_meta
    perf_event_read_value = _k.BPF_FUNC_perf_event_read_value
    perf_prog_read_value = _k.BPF_FUNC_perf_prog_read_value
    getsockopt = _k.BPF_FUNC_getsockopt
    override_return = _k.BPF_FUNC_override_return
    sock_ops_cb_flags_set = _k.BPF_FUNC_sock_ops_cb_flags_set
    msg_redirect_map = _k.BPF_FUNC_msg_redirect_map
    msg_apply_bytes = _k.BPF_FUNC_msg_apply_bytes
    msg_cork_bytes = _k.BPF_FUNC_msg_cork_bytes
    msg_pull_data = _k.BPF_FUNC_msg_pull_data
    bind = _k.BPF_FUNC_bind
    xdp_adjust_tail = _k.BPF_FUNC_xdp_adjust_tail
    skb_get_xfrm_state = _k.BPF_FUNC_skb_get_xfrm_state
    get_stack = _k.BPF_FUNC_get_stack
    skb_load_bytes_relative = _k.BPF_FUNC_skb_load_bytes_relative
    fib_lookup = _k.BPF_FUNC_fib_lookup
    sock_hash_update = _k.BPF_FUNC_sock_hash_update
    msg_redirect_hash = _k.BPF_FUNC_msg_redirect_hash
    sk_redirect_hash = _k.BPF_FUNC_sk_redirect_hash
    lwt_push_encap = _k.BPF_FUNC_lwt_push_encap
    lwt_seg6_store_bytes = _k.BPF_FUNC_lwt_seg6_store_bytes
    lwt_seg6_adjust_srh = _k.BPF_FUNC_lwt_seg6_adjust_srh
    lwt_seg6_action = _k.BPF_FUNC_lwt_seg6_action
    rc_repeat = _k.BPF_FUNC_rc_repeat
    rc_keydown = _k.BPF_FUNC_rc_keydown
    skb_cgroup_id = _k.BPF_FUNC_skb_cgroup_id
    get_current_cgroup_id = _k.BPF_FUNC_get_current_cgroup_id
    get_local_storage = _k.BPF_FUNC_get_local_storage
    sk_select_reuseport = _k.BPF_FUNC_sk_select_reuseport
    skb_ancestor_cgroup_id = _k.BPF_FUNC_skb_ancestor_cgroup_id
    sk_lookup_tcp = _k.BPF_FUNC_sk_lookup_tcp
    sk_lookup_udp = _k.BPF_FUNC_sk_lookup_udp
    sk_release = _k.BPF_FUNC_sk_release
    map_push_elem = _k.BPF_FUNC_map_push_elem
    map_pop_elem = _k.BPF_FUNC_map_pop_elem
    map_peek_elem = _k.BPF_FUNC_map_peek_elem
    msg_push_data = _k.BPF_FUNC_msg_push_data
    msg_pop_data = _k.BPF_FUNC_msg_pop_data
    rc_pointer_rel = _k.BPF_FUNC_rc_pointer_rel
    spin_lock = _k.BPF_FUNC_spin_lock
    spin_unlock = _k.BPF_FUNC_spin_unlock
    sk_fullsock = _k.BPF_FUNC_sk_fullsock
    tcp_sock = _k.BPF_FUNC_tcp_sock
    skb_ecn_set_ce = _k.BPF_FUNC_skb_ecn_set_ce
    get_listener_sock = _k.BPF_FUNC_get_listener_sock
    skc_lookup_tcp = _k.BPF_FUNC_skc_lookup_tcp
    tcp_check_syncookie = _k.BPF_FUNC_tcp_check_syncookie
    sysctl_get_name = _k.BPF_FUNC_sysctl_get_name
    sysctl_get_current_value = _k.BPF_FUNC_sysctl_get_current_value
    sysctl_get_new_value = _k.BPF_FUNC_sysctl_get_new_value
    sysctl_set_new_value = _k.BPF_FUNC_sysctl_set_new_value
    strtol = _k.BPF_FUNC_strtol
    strtoul = _k.BPF_FUNC_strtoul
    sk_storage_get = _k.BPF_FUNC_sk_storage_get
    sk_storage_delete = _k.BPF_FUNC_sk_storage_delete
    send_signal = _k.BPF_FUNC_send_signal
    tcp_gen_syncookie = _k.BPF_FUNC_tcp_gen_syncookie
    skb_output = _k.BPF_FUNC_skb_output
    probe_read_user = _k.BPF_FUNC_probe_read_user
    probe_read_kernel = _k.BPF_FUNC_probe_read_kernel
    probe_read_user_str = _k.BPF_FUNC_probe_read_user_str
    probe_read_kernel_str = _k.BPF_FUNC_probe_read_kernel_str
    tcp_send_ack = _k.BPF_FUNC_tcp_send_ack
    send_signal_thread = _k.BPF_FUNC_send_signal_thread
    jiffies64 = _k.BPF_FUNC_jiffies64
    read_branch_records = _k.BPF_FUNC_read_branch_records
    get_ns_current_pid_tgid = _k.BPF_FUNC_get_ns_current_pid_tgid
    xdp_output = _k.BPF_FUNC_xdp_output
    get_netns_cookie = _k.BPF_FUNC_get_netns_cookie
    get_current_ancestor_cgroup_id = _k.BPF_FUNC_get_current_ancestor_cgroup_id
    sk_assign = _k.BPF_FUNC_sk_assign
    ktime_get_boot_ns = _k.BPF_FUNC_ktime_get_boot_ns
    seq_printf = _k.BPF_FUNC_seq_printf
    seq_write = _k.BPF_FUNC_seq_write
    sk_cgroup_id = _k.BPF_FUNC_sk_cgroup_id
    sk_ancestor_cgroup_id = _k.BPF_FUNC_sk_ancestor_cgroup_id
    ringbuf_output = _k.BPF_FUNC_ringbuf_output
    ringbuf_reserve = _k.BPF_FUNC_ringbuf_reserve
    ringbuf_submit = _k.BPF_FUNC_ringbuf_submit
    ringbuf_discard = _k.BPF_FUNC_ringbuf_discard
    ringbuf_query = _k.BPF_FUNC_ringbuf_query
    csum_level = _k.BPF_FUNC_csum_level
    skc_to_tcp6_sock = _k.BPF_FUNC_skc_to_tcp6_sock
    skc_to_tcp_sock = _k.BPF_FUNC_skc_to_tcp_sock
    skc_to_tcp_timewait_sock = _k.BPF_FUNC_skc_to_tcp_timewait_sock
    skc_to_tcp_request_sock = _k.BPF_FUNC_skc_to_tcp_request_sock
    skc_to_udp6_sock = _k.BPF_FUNC_skc_to_udp6_sock
    get_task_stack = _k.BPF_FUNC_get_task_stack
    load_hdr_opt = _k.BPF_FUNC_load_hdr_opt
    store_hdr_opt = _k.BPF_FUNC_store_hdr_opt
    reserve_hdr_opt = _k.BPF_FUNC_reserve_hdr_opt
    inode_storage_get = _k.BPF_FUNC_inode_storage_get
    inode_storage_delete = _k.BPF_FUNC_inode_storage_delete
    d_path = _k.BPF_FUNC_d_path
    copy_from_user = _k.BPF_FUNC_copy_from_user
    snprintf_btf = _k.BPF_FUNC_snprintf_btf
    seq_printf_btf = _k.BPF_FUNC_seq_printf_btf
    skb_cgroup_classid = _k.BPF_FUNC_skb_cgroup_classid
    redirect_neigh = _k.BPF_FUNC_redirect_neigh
    per_cpu_ptr = _k.BPF_FUNC_per_cpu_ptr
    this_cpu_ptr = _k.BPF_FUNC_this_cpu_ptr
    redirect_peer = _k.BPF_FUNC_redirect_peer
    task_storage_get = _k.BPF_FUNC_task_storage_get
    task_storage_delete = _k.BPF_FUNC_task_storage_delete
    get_current_task_btf = _k.BPF_FUNC_get_current_task_btf
    bprm_opts_set = _k.BPF_FUNC_bprm_opts_set
    ktime_get_coarse_ns = _k.BPF_FUNC_ktime_get_coarse_ns
    ima_inode_hash = _k.BPF_FUNC_ima_inode_hash
    sock_from_file = _k.BPF_FUNC_sock_from_file
    check_mtu = _k.BPF_FUNC_check_mtu
    for_each_map_elem = _k.BPF_FUNC_for_each_map_elem
    snprintf = _k.BPF_FUNC_snprintf
    sys_bpf = _k.BPF_FUNC_sys_bpf
    btf_find_by_name_kind = _k.BPF_FUNC_btf_find_by_name_kind
    sys_close = _k.BPF_FUNC_sys_close
    timer_init = _k.BPF_FUNC_timer_init
    timer_set_callback = _k.BPF_FUNC_timer_set_callback
    timer_start = _k.BPF_FUNC_timer_start
    timer_cancel = _k.BPF_FUNC_timer_cancel
    get_func_ip = _k.BPF_FUNC_get_func_ip
    get_attach_cookie = _k.BPF_FUNC_get_attach_cookie
    task_pt_regs = _k.BPF_FUNC_task_pt_regs
    get_branch_snapshot = _k.BPF_FUNC_get_branch_snapshot
    trace_vprintk = _k.BPF_FUNC_trace_vprintk
    skc_to_unix_sock = _k.BPF_FUNC_skc_to_unix_sock
    kallsyms_lookup_name = _k.BPF_FUNC_kallsyms_lookup_name
    find_vma = _k.BPF_FUNC_find_vma
    loop = _k.BPF_FUNC_loop
    strncmp = _k.BPF_FUNC_strncmp
    get_func_arg = _k.BPF_FUNC_get_func_arg
    get_func_ret = _k.BPF_FUNC_get_func_ret
    get_func_arg_cnt = _k.BPF_FUNC_get_func_arg_cnt
    get_retval = _k.BPF_FUNC_get_retval
    set_retval = _k.BPF_FUNC_set_retval
    xdp_get_buff_len = _k.BPF_FUNC_xdp_get_buff_len
    xdp_load_bytes = _k.BPF_FUNC_xdp_load_bytes
    xdp_store_bytes = _k.BPF_FUNC_xdp_store_bytes
    copy_from_user_task = _k.BPF_FUNC_copy_from_user_task
    skb_set_tstamp = _k.BPF_FUNC_skb_set_tstamp
    ima_file_hash = _k.BPF_FUNC_ima_file_hash
    kptr_xchg = _k.BPF_FUNC_kptr_xchg
    map_lookup_percpu_elem = _k.BPF_FUNC_map_lookup_percpu_elem
    skc_to_mptcp_sock = _k.BPF_FUNC_skc_to_mptcp_sock
    dynptr_from_mem = _k.BPF_FUNC_dynptr_from_mem
    ringbuf_reserve_dynptr = _k.BPF_FUNC_ringbuf_reserve_dynptr
    ringbuf_submit_dynptr = _k.BPF_FUNC_ringbuf_submit_dynptr
    ringbuf_discard_dynptr = _k.BPF_FUNC_ringbuf_discard_dynptr
    dynptr_read = _k.BPF_FUNC_dynptr_read
    dynptr_write = _k.BPF_FUNC_dynptr_write
    dynptr_data = _k.BPF_FUNC_dynptr_data
    tcp_raw_gen_syncookie_ipv4 = _k.BPF_FUNC_tcp_raw_gen_syncookie_ipv4
    tcp_raw_gen_syncookie_ipv6 = _k.BPF_FUNC_tcp_raw_gen_syncookie_ipv6
    tcp_raw_check_syncookie_ipv4 = _k.BPF_FUNC_tcp_raw_check_syncookie_ipv4
    tcp_raw_check_syncookie_ipv6 = _k.BPF_FUNC_tcp_raw_check_syncookie_ipv6
    ktime_get_tai_ns = _k.BPF_FUNC_ktime_get_tai_ns
    user_ringbuf_drain = _k.BPF_FUNC_user_ringbuf_drain
    cgrp_storage_get = _k.BPF_FUNC_cgrp_storage_get
    cgrp_storage_delete = _k.BPF_FUNC_cgrp_storage_delete

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
        return kinds.ANON_NAMES[self.value]

    @property
    def id_key(self) -> str:
        """The fdinfo key that holds an object's ID (``map_id``, ``prog_id``, ...)."""
        return f"{self.value}_id"

    def __str__(self) -> str:
        return self.value



#: readlink("/proc/self/fd/N") target -> ObjType, for bpf descriptors.
ANON_INODE_TYPES: dict[str, ObjType] = {
    f"anon_inode:{name}": kind for kind in ObjType for name in kind.anon_names
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
        target = linux.fd_target(raw)
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
