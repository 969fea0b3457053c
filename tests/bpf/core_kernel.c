// SPDX-License-Identifier: GPL-2.0
/* CO-RE reads of kernel structs (compiled against a vmlinux.h of the running kernel).
 * Every CO-RE relocation kind, a ___flavor struct, a guarded missing field (poisoned, dead
 * code) and bitfields. Results land in `out` (.bss). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

/* task_struct.state was renamed __state in 5.14: this flavor's field is missing here. */
struct task_struct___old {
	long state;
} __attribute__((preserve_access_index));

/* A flavor that matches the kernel's task_struct (a subset of its members). The tests
 * turn the TYPE_EXISTS relocations of ___sub and ___wide into TYPE_MATCHES ones in the
 * object's .BTF.ext (clang 14 has no bpf_core_type_matches). */
struct task_struct___sub {
	pid_t pid;
	pid_t tgid;
} __attribute__((preserve_access_index));

/* A flavor that does not match: the kernel's pid is not a 64-bit integer. */
struct task_struct___wide {
	long long pid;
} __attribute__((preserve_access_index));

struct no_such_struct___x {
	int a;
};

enum no_such_enum { NO_SUCH_VALUE = 7 };

__u64 out[24];

SEC("tp/syscalls/sys_enter_getpid")
int core_kernel(void *ctx)
{
	struct task_struct *t = (void *)bpf_get_current_task();
	struct task_struct___old *o = (void *)t;

	out[0] = BPF_CORE_READ(t, pid);
	out[1] = BPF_CORE_READ(t, real_parent, tgid);
	out[2] = bpf_core_field_exists(t->__state);
	out[3] = bpf_core_field_exists(o->state);
	if (bpf_core_field_exists(o->state))
		out[4] = BPF_CORE_READ(o, state);
	out[5] = bpf_core_field_size(t->comm);
	out[6] = bpf_core_field_size(t->pid);
	out[7] = bpf_core_type_exists(struct task_struct);
	out[8] = bpf_core_type_exists(struct no_such_struct___x);
	out[9] = bpf_core_type_size(struct task_struct);
	out[10] = bpf_core_type_id_kernel(struct task_struct);
	out[11] = bpf_core_type_id_local(struct task_struct);
	out[12] = bpf_core_enum_value_exists(enum bpf_prog_type, BPF_PROG_TYPE_XDP);
	out[13] = bpf_core_enum_value(enum bpf_prog_type, BPF_PROG_TYPE_XDP);
	out[14] = bpf_core_enum_value_exists(enum no_such_enum, NO_SUCH_VALUE);
	out[15] = bpf_core_type_exists(struct task_struct___sub);
	out[16] = bpf_core_type_exists(struct task_struct___wide);
	out[17] = BPF_CORE_READ_BITFIELD_PROBED(t, sched_reset_on_fork);
	out[18] = BPF_CORE_READ_BITFIELD_PROBED(t, in_execve);
	out[19] = __builtin_preserve_field_info(t->pid, BPF_FIELD_SIGNED);
	out[20] = bpf_core_field_exists(((struct task_struct___sub *)t)->tgid);
	out[21] = BPF_CORE_READ((struct task_struct___sub *)t, tgid);
	out[22] = bpf_core_field_offset(t->thread_info);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
