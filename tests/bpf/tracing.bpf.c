/* Programs this kernel can and cannot load: kprobe and tp_btf load, fentry/fexit/freplace
 * do not. clang -g -O2 -target bpf -c tracing.bpf.c -o tracing.bpf.o */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

__u64 seen;

SEC("kprobe/do_sys_openat2")
int on_open(void *ctx)
{
	seen++;
	return 0;
}

SEC("tp_btf/sched_switch")
int on_switch(void *ctx)
{
	seen++;
	return 0;
}

SEC("fentry/do_unlinkat")
int on_unlink(void *ctx)
{
	seen++;
	return 0;
}

SEC("fexit/do_unlinkat")
int on_unlink_exit(void *ctx)
{
	seen++;
	return 0;
}

SEC("freplace/handler")
int replacement(void *ctx)
{
	return 0;
}

SEC("raw_tp/sys_enter")
int on_enter(void *ctx)
{
	seen++;
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getpid")
int on_getpid(void *ctx)
{
	seen++;
	return 0;
}

SEC("?socket")
int not_autoloaded(void *ctx)
{
	return 0;
}

SEC("weird_section_name")
int unknown(void *ctx)
{
	return 0;
}
