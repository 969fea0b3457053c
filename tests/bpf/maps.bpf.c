/* Maps of every kind, globals in every data section, subprograms, tail calls, map-in-map.
 * Built by the test fixture: clang -g -O2 -target bpf -c maps.bpf.c -o maps.bpf.o */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct pair { __u32 a; __u64 b; };

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, struct pair);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__uint(key_size, 4);
	__uint(value_size, 8);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 128);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__type(key, __u64);
	__type(value, __u64);
} lru SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, 4);
	__uint(value_size, 4);
} perf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
	__uint(max_entries, 16);
	__uint(value_size, 4);
	__uint(map_extra, 3);
} bloom SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__uint(numa_node, 0);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} pinned_map SEC(".maps");

struct inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} inner0 SEC(".maps"), inner1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, struct inner);
} outer SEC(".maps") = {
	.values = { [0] = &inner0, [2] = &inner1 },
};

int tail_target(struct xdp_md *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, int (void *));
} jumps SEC(".maps") = {
	.values = { [1] = (void *)&tail_target },
};

/* globals in every data section */
volatile const __u32 retval = 2;          /* .rodata */
volatile const __u32 ro_table[4] = {1, 2, 3, 4};
volatile __u64 hits = 7;                  /* .data */
volatile __u64 bss_counter;               /* .bss */
volatile __u32 custom_data SEC(".data.custom") = 11;
volatile const __u32 custom_ro SEC(".rodata.custom") = 13;
static volatile __u32 static_counter;     /* .bss, static */

static __attribute__((noinline)) __u64 leaf(__u64 x)
{
	return x * 3 + ro_table[x & 3];
}

static __attribute__((noinline)) __u64 middle(__u64 x)
{
	__u32 key = 0;
	struct pair *p = bpf_map_lookup_elem(&counts, &key);
	if (p)
		x += p->b;
	return leaf(x) + 1;
}

__attribute__((noinline)) int shared(__u64 x)
{
	return (int)(middle(x) & 0xff);
}

SEC("xdp")
int xdp_main(struct xdp_md *ctx)
{
	__u32 key = 0;
	__u64 *v = bpf_map_lookup_elem(&scratch, &key);
	bss_counter++;
	hits += 1;
	static_counter++;
	if (v)
		*v += custom_data + custom_ro;
	if (shared(key) == 255)
		bpf_tail_call(ctx, &jumps, 1);
	return retval;
}

SEC("xdp")
int tail_target(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("tc")
int tc_main(struct __sk_buff *skb)
{
	__u32 key = 1, *val;
	void *in = bpf_map_lookup_elem(&outer, &key);
	if (in) {
		__u64 *x = bpf_map_lookup_elem(in, &key);
		if (x)
			return (int)*x;
	}
	val = bpf_map_lookup_elem(&pinned_map, &key);
	if (val)
		return *val;
	__u64 k = 1, *l = bpf_map_lookup_elem(&lru, &k);
	if (l)
		return (int)*l;
	if (bpf_map_peek_elem(&bloom, &key) == 0)
		return 3;
	bpf_perf_event_output(skb, &perf, BPF_F_CURRENT_CPU, &key, sizeof(key));
	bpf_ringbuf_output(&events, &key, sizeof(key), 0);
	return shared(skb->len);
}

SEC("socket")
int sock_prog(struct __sk_buff *skb)
{
	return leaf(skb->len) ? skb->len : 0;
}
