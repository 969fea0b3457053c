/* CO-RE reads of kernel structs, .kconfig and __ksym externs, against a vmlinux.h that the
 * test fixture generates with `bpftool btf dump file /sys/kernel/btf/vmlinux format c`.
 * clang -g -O2 -target bpf -I<dir of vmlinux.h> -c core.bpf.c -o core.bpf.o */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

extern int LINUX_KERNEL_VERSION __kconfig;
extern _Bool CONFIG_BPF_SYSCALL __kconfig;
extern int CONFIG_MISSING_OPTION __kconfig __weak;
extern const void schedule __ksym;  /* untyped: from kallsyms (text: no KALLSYMS_ALL here) */
extern void bpf_rcu_read_lock(void) __ksym;
extern void bpf_rcu_read_unlock(void) __ksym;

struct task_struct___mine {
	int pid;
	int no_such_field;
} __attribute__((preserve_access_index));

__u64 out[8];

SEC("tp_btf/sched_switch")
int core_reads(u64 *ctx)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct task_struct___mine *m = (void *)t;

	bpf_rcu_read_lock();
	out[0] = BPF_CORE_READ(t, pid);
	out[1] = bpf_core_field_exists(m->no_such_field);
	out[2] = bpf_core_type_exists(struct task_struct);
	out[3] = bpf_core_enum_value(enum bpf_prog_type, BPF_PROG_TYPE_XDP);
	out[4] = LINUX_KERNEL_VERSION + CONFIG_BPF_SYSCALL + CONFIG_MISSING_OPTION;
	out[5] = (__u64)&schedule;
	out[7] = bpf_core_field_size(t->comm);
	bpf_rcu_read_unlock();
	return 0;
}
