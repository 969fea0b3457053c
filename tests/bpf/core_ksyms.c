// SPDX-License-Identifier: GPL-2.0
/* Typed __ksym externs: a per-CPU variable (its BTF id; the load needs its address in
 * kallsyms, which this kernel does not list) and kfuncs, one of them weak and missing. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

extern const int bpf_prog_active __ksym;
extern const int no_such_variable __ksym __weak;
extern struct task_struct *bpf_task_acquire(struct task_struct *p) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;
extern void bpf_no_such_kfunc(void) __ksym __weak;

__u64 out[4];

SEC("tp_btf/sys_enter")
int core_ksyms(void *ctx)
{
	struct task_struct *t = bpf_task_acquire(bpf_get_current_task_btf());

	if (t)
		bpf_task_release(t);
	if (bpf_no_such_kfunc)
		bpf_no_such_kfunc();
	out[0] = (__u64)bpf_this_cpu_ptr(&bpf_prog_active) != 0;
	out[1] = (__u64)&no_such_variable;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
