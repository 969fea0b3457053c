/* A .rodata knob read by an XDP program, a .bss counter, and a legacy-free small object.
 * clang -g -O2 -target bpf -c rodata.bpf.c -o rodata.bpf.o */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

volatile const __u32 answer = 1;
__u64 runs;

SEC("xdp")
int knob(struct xdp_md *ctx)
{
	runs++;
	return answer;
}
