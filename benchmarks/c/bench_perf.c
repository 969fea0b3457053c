// The C side of benchmarks/bench_events.py for perf buffers: libbpf's
// perf_buffer (Debian's libbpf-dev) on a PERF_EVENT_ARRAY map, draining the
// samples already in the buffers with perf_buffer__consume(), copying each
// sample out as the Python reader does.
//
//   bench_perf MAP_FD PAGES N   set up per-CPU buffers of PAGES pages (libbpf
//                               stores its perf events in the map), print
//                               "ready", wait for a byte on stdin (the parent
//                               fills the buffers meanwhile), consume until N
//                               samples were seen, print
//                               {"records": n, "lost": l, "ns_per_record": t}
//
// MAP_FD is the map descriptor inherited from the Python parent. Setup is not
// timed.

#include <bpf/libbpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static char copy[1 << 16];
static long seen, lost;

static void on_sample(void *ctx, int cpu, void *data, __u32 size)
{
	(void)ctx;
	(void)cpu;
	if (size > sizeof(copy))
		size = sizeof(copy);
	memcpy(copy, data, size);
	seen++;
}

static void on_lost(void *ctx, int cpu, __u64 n)
{
	(void)ctx;
	(void)cpu;
	lost += (long)n;
}

int main(int argc, char **argv)
{
	struct perf_buffer *pb;
	uint64_t t0, t1;
	long want;
	char go;
	int fd;

	if (argc != 4) {
		fprintf(stderr, "usage: %s MAP_FD PAGES N\n", argv[0]);
		return 2;
	}
	fd = atoi(argv[1]);
	want = atol(argv[3]);
	pb = perf_buffer__new(fd, (size_t)atol(argv[2]), on_sample, on_lost, NULL, NULL);
	if (!pb) {
		perror("perf_buffer__new");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	if (read(0, &go, 1) != 1)
		return 1;
	t0 = now_ns();
	while (seen + lost < want) {
		if (perf_buffer__consume(pb) < 0) {
			perror("perf_buffer__consume");
			return 1;
		}
	}
	t1 = now_ns();
	printf("{\"records\": %ld, \"lost\": %ld, \"ns_per_record\": %.3f}\n", seen, lost,
	       (double)(t1 - t0) / (double)(seen ? seen : 1));
	perf_buffer__free(pb);
	return 0;
}
