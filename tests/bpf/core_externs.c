// SPDX-License-Identifier: GPL-2.0
/* .kconfig and untyped __ksym externs: kernel version, Kconfig values of every libbpf kind,
 * weak ones that are missing, a symbol's address. Loads here (core_ksyms.c has the typed
 * ones, which this kernel cannot load: its kallsyms lists no data symbols). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

extern unsigned int LINUX_KERNEL_VERSION __kconfig;
extern bool LINUX_HAS_BPF_COOKIE __kconfig __weak;
extern int LINUX_NO_SUCH_THING __kconfig __weak;
extern bool CONFIG_BPF __kconfig;
extern enum libbpf_tristate CONFIG_BPF_JIT __kconfig __weak;
extern int CONFIG_HZ __kconfig __weak;
extern unsigned long long CONFIG_NR_CPUS __kconfig __weak;
extern char CONFIG_LOCALVERSION[8] __kconfig __weak;
extern char CONFIG_DEFAULT_HOSTNAME[32] __kconfig __weak;
extern bool CONFIG_NO_SUCH_OPTION __kconfig __weak;
extern enum libbpf_tristate CONFIG_NO_SUCH_TRISTATE __kconfig __weak;

extern const void __x64_sys_bpf __ksym;
extern const void no_such_symbol_here __ksym __weak;

__u64 out[16];

SEC("tp/syscalls/sys_enter_getpid")
int core_externs(void *ctx)
{
	out[0] = LINUX_KERNEL_VERSION;
	out[1] = LINUX_HAS_BPF_COOKIE;
	out[2] = LINUX_NO_SUCH_THING;
	out[3] = CONFIG_BPF;
	out[4] = CONFIG_BPF_JIT;
	out[5] = CONFIG_HZ;
	out[6] = CONFIG_NR_CPUS;
	out[7] = CONFIG_LOCALVERSION[1];
	out[8] = CONFIG_DEFAULT_HOSTNAME[0];
	out[9] = CONFIG_NO_SUCH_OPTION;
	out[10] = CONFIG_NO_SUCH_TRISTATE;
	out[12] = (__u64)&__x64_sys_bpf;
	out[13] = (__u64)&no_such_symbol_here;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
