// The C side of benchmarks/bench_latency.py: the same tracepoint-to-reader
// latency, read with libbpf's ring_buffer (Debian's libbpf-dev).
//
//   bench_latency same MAP_FD N      after a byte on stdin: N times, time a
//                                    getppid() and ring_buffer__consume() until
//                                    its record arrives; print each latency (ns)
//   bench_latency blocked MAP_FD N   print "ready", then wait in
//                                    ring_buffer__poll() for N records; print
//                                    each one's (now - the ktime the program
//                                    stamped), in ns
//   bench_latency trigger N US       after a byte on stdin: N getppid() calls,
//                                    US microseconds apart
//
// MAP_FD is the RINGBUF map descriptor inherited from the Python parent.

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

struct state {
	long got;
	uint64_t *lat;
	int blocked;
};

static int on_sample(void *ctx, void *data, size_t size)
{
	struct state *st = ctx;
	uint64_t stamp;

	if (size < sizeof(stamp))
		return 0;
	memcpy(&stamp, data, sizeof(stamp));
	if (st->blocked)
		st->lat[st->got] = now_ns() - stamp;
	st->got++;
	return 0;
}

static int wait_go(void)
{
	char go;

	return read(0, &go, 1) == 1 ? 0 : -1;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: %s same|blocked MAP_FD N | trigger N US\n", argv[0]);
		return 2;
	}
	if (strcmp(argv[1], "trigger") == 0) {
		long n = atol(argv[2]);
		long us = atol(argv[3]);

		if (wait_go())
			return 2;
		for (long i = 0; i < n; i++) {
			getppid();
			if (us)
				usleep(us);
		}
		return 0;
	}
	int map_fd = atoi(argv[2]);
	long n = atol(argv[3]);
	struct state st = { 0 };
	st.lat = calloc(n, sizeof(*st.lat));
	st.blocked = strcmp(argv[1], "blocked") == 0;
	struct ring_buffer *rb = ring_buffer__new(map_fd, on_sample, &st, NULL);
	if (!rb || !st.lat) {
		fprintf(stderr, "ring_buffer__new failed\n");
		return 1;
	}
	if (st.blocked) {
		printf("ready\n");
		fflush(stdout);
		while (st.got < n)
			if (ring_buffer__poll(rb, 1000) < 0)
				return 1;
	} else {
		if (wait_go())
			return 2;
		for (long i = 0; i < n; i++) {
			uint64_t t0 = now_ns();
			long want = st.got + 1;

			getppid();
			while (st.got < want)
				ring_buffer__consume(rb);
			st.lat[i] = now_ns() - t0;
		}
	}
	for (long i = 0; i < n; i++)
		printf("%llu\n", (unsigned long long)st.lat[i]);
	ring_buffer__free(rb);
	return 0;
}
