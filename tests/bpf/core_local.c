// SPDX-License-Identifier: GPL-2.0
/* CO-RE on the program's own types, for test_run: the tests relocate it against a
 * kernel_types Spec they build, where `b` moves and `gone` may be missing. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct hdr {
	__u32 a;
	__u32 b;
	__u16 gone;
} __attribute__((preserve_access_index));

enum mode { MODE_A = 1, MODE_B = 2 };

SEC("xdp")
int core_local(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct hdr *h = data;
	__u32 r;

	if (data + 64 > end)
		return 0;
	r = h->b;
	if (bpf_core_field_exists(h->gone))
		r += h->gone;
	if (bpf_core_enum_value_exists(enum mode, MODE_B))
		r += bpf_core_enum_value(enum mode, MODE_B) << 24;
	return r;
}

SEC("xdp")
int core_local_unguarded(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct hdr *h = data;

	if (data + 64 > end)
		return 0;
	return h->gone;
}

char LICENSE[] SEC("license") = "GPL";
