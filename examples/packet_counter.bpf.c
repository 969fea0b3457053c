// SPDX-License-Identifier: GPL-2.0
/* An XDP program that counts packets by IP protocol and can be told, before it loads,
 * to drop one protocol. Build it with:
 *
 *   clang -g -O2 -target bpf -I/usr/include/$(uname -m)-linux-gnu \
 *         -c packet_counter.bpf.c -o packet_counter.bpf.o
 *
 * (needs clang and libbpf's headers: apt install clang libbpf-dev)
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

/* Packets seen, by IP protocol number. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u64);
} by_protocol SEC(".maps");

/* Set from Python before loading (.rodata: fixed once the program is verified). */
volatile const __u32 drop_protocol = 0;

/* Read live from Python (.bss). */
__u64 total_packets;

SEC("xdp")
int count_packets(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	__u32 proto;
	__u64 *count;

	__sync_fetch_and_add(&total_packets, 1);
	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	proto = ip->protocol;
	count = bpf_map_lookup_elem(&by_protocol, &proto);
	if (count)
		*count += 1;
	return drop_protocol && proto == drop_protocol ? XDP_DROP : XDP_PASS;
}
