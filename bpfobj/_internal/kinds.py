"""Kind names as pure Python: what cilium/ebpf calls each map and program type, and the
names the kernel gives bpf descriptors.

Owns ``MAP_TYPE_NAMES``, ``PROGRAM_TYPE_NAMES`` and ``ANON_NAMES``. Imports nothing:
the enums (``bpfobj._types``) and readers of ELF, BTF and /proc use these without the
compiled module.
"""

from __future__ import annotations

__all__ = ["ANON_NAMES", "MAP_TYPE_NAMES", "PROGRAM_TYPE_NAMES"]

#: cilium/ebpf's names of the map types (``str(MapType.HASH)``), by BPF_MAP_TYPE_ suffix.
MAP_TYPE_NAMES: dict[str, str] = {
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

#: cilium/ebpf's names of the program types (``str(ProgramType.XDP)``), by suffix.
PROGRAM_TYPE_NAMES: dict[str, str] = {
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

#: The ``anon_inode:`` names the kernel gives descriptors of each object kind (by
#: ObjType value). A link fresh from BPF_LINK_CREATE reads ``bpf_link``; the same link
#: reopened by BPF_OBJ_GET or BPF_LINK_GET_FD_BY_ID reads ``bpf-link``.
ANON_NAMES: dict[str, tuple[str, ...]] = {
    "map": ("bpf-map",),
    "prog": ("bpf-prog",),
    "link": ("bpf_link", "bpf-link"),
    "btf": ("btf",),
}
