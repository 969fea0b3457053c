/* The C baseline of benchmarks/bench_collection.py: libbpf opens and loads an object
 * (bpf_object__open_file + bpf_object__load, what `bpftool prog loadall` does before it
 * pins), N times in one process, and prints the min and median nanoseconds.
 *
 *   cc -O2 bench_loadall.c -lbpf -o bench_loadall && ./bench_loadall OBJ N
 */
#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

static int silent(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

int main(int argc, char **argv)
{
	int n = argc > 2 ? atoi(argv[2]) : 20;
	long long *open_ns, *load_ns;

	if (argc < 2 || n <= 0) {
		fprintf(stderr, "usage: %s OBJ [N]\n", argv[0]);
		return 2;
	}
	libbpf_set_print(silent);
	open_ns = calloc(n, sizeof(*open_ns));
	load_ns = calloc(n, sizeof(*load_ns));
	for (int i = 0; i < n; i++) {
		long long t0 = now_ns();
		struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
		long long t1 = now_ns();

		if (!obj) {
			fprintf(stderr, "open %s failed\n", argv[1]);
			return 1;
		}
		if (bpf_object__load(obj)) {
			fprintf(stderr, "load %s failed\n", argv[1]);
			return 1;
		}
		load_ns[i] = now_ns() - t0;
		open_ns[i] = t1 - t0;
		bpf_object__close(obj);
	}
	qsort(open_ns, n, sizeof(*open_ns), cmp);
	qsort(load_ns, n, sizeof(*load_ns), cmp);
	printf("{\"open_min\": %lld, \"open_median\": %lld, \"load_min\": %lld, "
	       "\"load_median\": %lld}\n", open_ns[0], open_ns[n / 2], load_ns[0], load_ns[n / 2]);
	return 0;
}
