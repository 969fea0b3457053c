/* C baselines for benchmarks/bench_btf_format.py, built with cc -O2 ... -lbpf.
 *
 *   bench_btf format FILE ROUNDS
 *       btf__parse(FILE), then a btf_dump of every type as C (what bpftool's
 *       `btf dump ... format c` does), output discarded; min ns per round.
 *   bench_btf decode FILE NAME KIND N
 *       btf__parse(FILE), btf__find_by_name_kind(NAME, KIND), then N calls of
 *       btf_dump__dump_type_data on zeroed-then-patterned bytes of that type
 *       (libbpf's value formatter), output discarded; min ns per call over 5 runs.
 * Prints one line: the nanoseconds.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/btf.h>

static void discard(void *ctx, const char *fmt, va_list args)
{
	(void)ctx; (void)fmt; (void)args;
}

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int format_all(const char *file)
{
	struct btf *btf = btf__parse(file, NULL);
	struct btf_dump *d;
	unsigned int i, n;

	if (!btf)
		return -1;
	d = btf_dump__new(btf, discard, NULL, NULL);
	if (!d) {
		btf__free(btf);
		return -1;
	}
	n = btf__type_cnt(btf);
	for (i = 1; i < n; i++)
		if (btf_dump__dump_type(d, i))
			break;
	btf_dump__free(d);
	btf__free(btf);
	return 0;
}

int main(int argc, char **argv)
{
	long long best = -1, t0, t;
	int rounds, r;

	if (argc == 4 && !strcmp(argv[1], "format")) {
		rounds = atoi(argv[3]);
		for (r = 0; r < rounds; r++) {
			t0 = now_ns();
			if (format_all(argv[2]))
				return 1;
			t = now_ns() - t0;
			if (best < 0 || t < best)
				best = t;
		}
		printf("%lld\n", best);
		return 0;
	}
	if (argc == 6 && !strcmp(argv[1], "decode")) {
		struct btf *btf = btf__parse(argv[2], NULL);
		LIBBPF_OPTS(btf_dump_type_data_opts, opts, .compact = true, .emit_zeroes = true);
		struct btf_dump *d;
		unsigned char *data;
		long long n = atoll(argv[5]), i;
		int id, size, run;

		if (!btf)
			return 1;
		id = btf__find_by_name_kind(btf, argv[3], atoi(argv[4]));
		size = id > 0 ? btf__resolve_size(btf, id) : -1;
		d = btf_dump__new(btf, discard, NULL, NULL);
		if (size < 0 || !d)
			return 1;
		data = calloc(1, size);
		for (i = 0; i < size; i++)
			data[i] = (unsigned char)(i * 7);
		for (run = 0; run < 5; run++) {
			t0 = now_ns();
			for (i = 0; i < n; i++)
				btf_dump__dump_type_data(d, id, data, size, &opts);
			t = (now_ns() - t0) / n;
			if (best < 0 || t < best)
				best = t;
		}
		printf("%lld\n", best);
		return 0;
	}
	fprintf(stderr, "usage: %s format FILE ROUNDS | decode FILE NAME KIND N\n", argv[0]);
	return 2;
}
