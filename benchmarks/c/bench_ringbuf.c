// The C side of benchmarks/bench_events.py for the BPF ring buffer: drain the
// records already in a RINGBUF map with libbpf's ring_buffer__consume()
// (Debian's libbpf-dev), copying each sample out as the Python reader does.
//
//   bench_ringbuf MAP_FD N    consume until N records were seen; print
//                             {"records": n, "ns_per_record": t} as JSON
//
// MAP_FD is the map descriptor inherited from the Python parent, which filled
// the ring before starting this program. Setup (mmap) is not timed.

#include <bpf/libbpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static char copy[1 << 16];
static long seen;

static int on_sample(void *ctx, void *data, size_t size)
{
	(void)ctx;
	if (size > sizeof(copy))
		size = sizeof(copy);
	memcpy(copy, data, size);
	seen++;
	return 0;
}

int main(int argc, char **argv)
{
	struct ring_buffer *rb;
	uint64_t t0, t1;
	long want;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: %s MAP_FD N\n", argv[0]);
		return 2;
	}
	fd = atoi(argv[1]);
	want = atol(argv[2]);
	rb = ring_buffer__new(fd, on_sample, NULL, NULL);
	if (!rb) {
		perror("ring_buffer__new");
		return 1;
	}
	t0 = now_ns();
	while (seen < want) {
		if (ring_buffer__consume(rb) < 0) {
			perror("ring_buffer__consume");
			return 1;
		}
	}
	t1 = now_ns();
	printf("{\"records\": %ld, \"ns_per_record\": %.3f}\n", seen,
	       (double)(t1 - t0) / (double)seen);
	ring_buffer__free(rb);
	return 0;
}
