/* Helpers for perf events, mappings, epoll and the two event buffers
 * (implemented in events.c). Like bpfobj.h's helpers they return -errno on
 * failure, so Python never reads errno back through cffi. Uses the types of
 * bpf.h and perf_event.h.
 */

/* perf_event_open(2); PERF_FLAG_FD_CLOEXEC is always added. Retries EINTR. */
int bpfobj_perf_event_open(struct perf_event_attr *attr, int pid, int cpu,
                           int group_fd, unsigned long flags);
/* ioctl(fd, request, arg) with an integer argument, or with a pointer one. */
int bpfobj_ioctl(int fd, unsigned long request, unsigned long arg);
int bpfobj_ioctl_ptr(int fd, unsigned long request, void *arg);

/* mmap(2) of a descriptor, MAP_SHARED: 0 and *addr set, or -errno. */
int bpfobj_mmap(int fd, size_t length, int writable, size_t offset, void **addr);
int bpfobj_munmap(void *addr, size_t length);
long bpfobj_page_size(void);

/* epoll_create1(EPOLL_CLOEXEC); epoll_ctl(ADD) with EPOLLIN and a 64-bit
 * tag; epoll_wait returning up to max tags (-EINTR is returned, not retried,
 * so that Python's signal handlers run and timeouts are recomputed). */
int bpfobj_epoll_create(void);
int bpfobj_epoll_add(int epfd, int fd, __u64 tag);
int bpfobj_epoll_wait(int epfd, __u64 *tags, int max, int timeout_ms);
/* eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) and a write of 1 to it. */
int bpfobj_eventfd(void);
int bpfobj_eventfd_signal(int fd);

/* A BPF ring buffer's mappings: the consumer page (read-write), the producer
 * page, and the data pages, which the kernel maps twice in a row so that a
 * record crossing the end reads as one piece. */
struct bpfobj_ring {
	unsigned long *consumer_pos;
	const unsigned long *producer_pos;
	const char *data;
	unsigned long mask;
};

/* Copy up to max_records committed records, in order, into out (cap bytes),
 * one after the other, and describe them in fmt as a struct module format
 * ("=" then "<len>s" per record; fmt_cap bytes, 11 per record suffice).
 * Discarded records are skipped, a busy one ends the batch. Each record is
 * copied before the consumer position moves past it. Returns the count;
 * info[0] is the length of a record that did not fit in what was left of out
 * (else 0), info[1] the length of fmt. -EBADMSG on a record longer than the
 * ring. */
long bpfobj_ringbuf_consume(struct bpfobj_ring *r, char *out, size_t cap,
                            char *fmt, size_t fmt_cap, long max_records,
                            __u64 *info);
/* Whether unread bytes (committed, busy or discarded) sit in the ring. */
int bpfobj_ringbuf_pending(struct bpfobj_ring *r);

/* One CPU's perf buffer: the mmapped control page and its 2^n data pages.
 * lost holds PERF_RECORD_LOST counts waiting for the next sample. */
struct bpfobj_perf_ring {
	struct perf_event_mmap_page *page;
	const char *data;
	__u64 size;
	__u64 lost;
};

/* Copy up to max_records samples from rings[0..nrings) into out, starting
 * with ring *next and going round; each is laid out as the u32 ring index,
 * the sample, and the u64 count of samples lost on that ring before it, and
 * described in fmt ("=" then "I<len>sQ" per sample; 13 bytes per sample
 * suffice). *next is where the following call starts. Records that wrap the
 * buffer's end are copied in two pieces; the raw sample is cut to its u32
 * size. Returns the count, with info[] as for the ring buffer, or -EBADMSG
 * on a corrupt header. */
long bpfobj_perf_consume(struct bpfobj_perf_ring *rings, int nrings, int *next,
                         char *out, size_t cap, char *fmt, size_t fmt_cap,
                         long max_records, __u64 *info);
/* Whether any ring has unread data. */
int bpfobj_perf_pending(struct bpfobj_perf_ring *rings, int nrings);
