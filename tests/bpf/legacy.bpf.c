/* A legacy `maps` section (struct bpf_map_def), as iproute2-era objects have it.
 * clang -g -O2 -target bpf -c legacy.bpf.c -o legacy.bpf.o */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct legacy_def {
	unsigned int type, key_size, value_size, max_entries, map_flags;
};

struct legacy_def old_hash SEC("maps") = {
	.type = BPF_MAP_TYPE_HASH, .key_size = 4, .value_size = 8, .max_entries = 32,
};
struct legacy_def old_array SEC("maps") = {
	.type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 4, .max_entries = 2,
};

char LICENSE[] SEC("license") = "GPL";
__u32 kversion SEC("version") = 0x060000;

SEC("socket")
int legacy_prog(struct __sk_buff *skb)
{
	__u32 key = 1;
	__u32 *v = bpf_map_lookup_elem(&old_array, &key);
	__u64 *h = bpf_map_lookup_elem(&old_hash, &key);
	return (v ? *v : 0) + (h ? 1 : 0);
}
