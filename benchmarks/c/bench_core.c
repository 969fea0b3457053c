// SPDX-License-Identifier: GPL-2.0
/* C baseline for benchmarks/bench_core.py: libbpf's own CO-RE engine (the relo_core.c that
 * libbpf.a carries, as bpftool links it) doing the same work per round as bpfobj's
 * Relocator: a fresh candidate cache, then for each relocation the candidate search in
 * vmlinux (once per local type), bpf_core_calc_relo_insn and bpf_core_patch_insn on a copy
 * of the instructions. vmlinux BTF is parsed once, before the rounds.
 *
 *   bench_core OBJ RELOS INSNS ROUNDS   (RELOS: 16-byte struct bpf_core_relo records,
 *                                        insn_off relative to INSNS)
 * prints {"n": ..., "min_ns": ..., "median_ns": ...} (per round). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/bpf.h>
#include <bpf/btf.h>

/* relo_core.h of libbpf 1.1 (not installed by libbpf-dev): the candidate list. The spec
 * and result structs are only passed by pointer, so generous buffers stand in for them. */
struct bpf_core_cand {
	const struct btf *btf;
	__u32 id;
};
struct bpf_core_cand_list {
	struct bpf_core_cand *cands;
	int len;
};
int bpf_core_add_cands(struct bpf_core_cand *local_cand, size_t local_essent_len,
		       const struct btf *targ_btf, const char *targ_btf_name,
		       int targ_start_id, struct bpf_core_cand_list *cands);
void bpf_core_free_cands(struct bpf_core_cand_list *cands);
size_t bpf_core_essential_name_len(const char *name);
int bpf_core_calc_relo_insn(const char *prog_name, const struct bpf_core_relo *relo,
			    int relo_idx, const struct btf *local_btf,
			    struct bpf_core_cand_list *cands, void *specs_scratch, void *targ_res);
int bpf_core_patch_insn(const char *prog_name, struct bpf_insn *insn, int insn_idx,
			const struct bpf_core_relo *relo, int relo_idx, const void *res);

static void *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	void *buf;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	*len = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(*len ? *len : 1);
	if (fread(buf, 1, *len, f) != *len) {
		fclose(f);
		return NULL;
	}
	fclose(f);
	return buf;
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	size_t relo_len, insn_len;
	struct bpf_core_relo *relos;
	struct bpf_insn *insns, *work;
	struct btf *local, *vmlinux;
	long long *times;
	int rounds, n, r, i;
	static char scratch[3 * 8192], res[512];

	if (argc != 5)
		return 2;
	local = btf__parse_elf(argv[1], NULL);
	vmlinux = btf__load_vmlinux_btf();
	relos = slurp(argv[2], &relo_len);
	insns = slurp(argv[3], &insn_len);
	rounds = atoi(argv[4]);
	if (!local || !vmlinux || !relos || !insns || rounds <= 0)
		return 1;
	n = relo_len / sizeof(*relos);
	work = malloc(insn_len);
	times = calloc(rounds, sizeof(*times));
	for (r = 0; r < rounds; r++) {
		int ntypes = btf__type_cnt(local);
		struct bpf_core_cand_list **cache = calloc(ntypes, sizeof(*cache));
		long long t0 = now_ns();

		memcpy(work, insns, insn_len);
		for (i = 0; i < n; i++) {
			const struct bpf_core_relo *relo = &relos[i];
			struct bpf_core_cand_list *cands = cache[relo->type_id];

			if (relo->kind != BPF_CORE_TYPE_ID_LOCAL && !cands) {
				struct bpf_core_cand local_cand = { local, relo->type_id };
				const struct btf_type *t = btf__type_by_id(local, relo->type_id);
				const char *name = btf__name_by_offset(local, t->name_off);

				cands = calloc(1, sizeof(*cands));
				if (bpf_core_add_cands(&local_cand, bpf_core_essential_name_len(name),
						       vmlinux, "vmlinux", 1, cands))
					return 1;
				cache[relo->type_id] = cands;
			}
			if (bpf_core_calc_relo_insn("bench", relo, i, local, cands, scratch, res))
				return 1;
			if (bpf_core_patch_insn("bench", &work[relo->insn_off / 8],
						relo->insn_off / 8, relo, i, res))
				return 1;
		}
		times[r] = now_ns() - t0;
		for (i = 0; i < ntypes; i++)
			if (cache[i])
				bpf_core_free_cands(cache[i]);
		free(cache);
	}
	qsort(times, rounds, sizeof(*times), cmp_ll);
	printf("{\"n\": %d, \"min_ns\": %lld, \"median_ns\": %lld}\n", n, times[0],
	       times[rounds / 2]);
	return 0;
}
