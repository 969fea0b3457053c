/* C baseline for benchmarks/bench_btf.py, built with cc -O2 ... -lbpf.
 *
 *   bench_btf_parse find FILE NAME ROUNDS
 *       btf__parse(FILE) then btf__find_by_name_kind(NAME, BTF_KIND_STRUCT), then
 *       btf__free, ROUNDS times in this process. The first round runs in a fresh process
 *       (cold for libbpf; the file is in the page cache either way).
 *   bench_btf_parse walk FILE ROUNDS
 *       btf__parse(FILE), then btf__type_by_id and btf__name_by_offset for every type
 *       (libbpf's equivalent of visiting every type once).
 * Prints one JSON object: {"first_ns": N, "min_ns": N, "types": N}.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/btf.h>

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long long first = -1, best = -1;
	unsigned long sink = 0;
	unsigned int types = 0;
	int walk, rounds, r;

	if (argc < 4 || (strcmp(argv[1], "find") && strcmp(argv[1], "walk"))) {
		fprintf(stderr, "usage: %s find FILE NAME ROUNDS | walk FILE ROUNDS\n", argv[0]);
		return 2;
	}
	walk = !strcmp(argv[1], "walk");
	if (!walk && argc < 5) {
		fprintf(stderr, "find needs FILE NAME ROUNDS\n");
		return 2;
	}
	rounds = atoi(argv[walk ? 3 : 4]);
	for (r = 0; r < rounds; r++) {
		long long t0 = now_ns(), dt;
		struct btf *btf = btf__parse(argv[2], NULL);
		if (!btf) {
			perror("btf__parse");
			return 1;
		}
		types = btf__type_cnt(btf);
		if (walk) {
			unsigned int id;
			for (id = 1; id < types; id++) {
				const struct btf_type *t = btf__type_by_id(btf, id);
				sink += (unsigned long)btf__name_by_offset(btf, t->name_off)[0] + t->info;
			}
		} else {
			int id = btf__find_by_name_kind(btf, argv[3], BTF_KIND_STRUCT);
			if (id < 0) {
				fprintf(stderr, "%s not found\n", argv[3]);
				return 1;
			}
			sink += (unsigned long)id;
		}
		btf__free(btf);
		dt = now_ns() - t0;
		if (first < 0)
			first = dt;
		if (best < 0 || dt < best)
			best = dt;
	}
	printf("{\"first_ns\": %lld, \"min_ns\": %lld, \"types\": %u, \"sink\": %lu}\n", first,
	       best, types, sink % 2);
	return 0;
}
