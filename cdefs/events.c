/* Implementation of the helpers declared in events.h: perf_event_open, the
 * perf ioctls, mmap, epoll, eventfd, and the consumers of the BPF ring
 * buffer and of perf buffers. Included into the cffi module's source by
 * cdefs/build.py, after bpf.h, perf_event.h and events.h.
 *
 * Memory ordering of the BPF ring buffer (kernel side: kernel/bpf/ringbuf.c).
 * The producer writes a record, then commits it by clearing BUSY in its
 * header with a release store (xchg in bpf_ringbuf_commit), then reads the
 * consumer position to decide whether to wake the reader; producer_pos is
 * advanced with a release store at reserve time. So here:
 *  - producer_pos is loaded with acquire: the headers it covers are visible;
 *  - each header is loaded with acquire: a header without BUSY means the
 *    sample behind it is complete;
 *  - the sample is copied out, then consumer_pos is stored with release, so
 *    the producer cannot reuse the space before the copy is done;
 *  - when the reader has caught up it issues a full fence between that store
 *    and re-reading producer_pos. Without it the load may pass the store: the
 *    reader sees no new record while the producer, committing one, still
 *    reads the old consumer_pos, concludes the reader is behind and skips the
 *    wakeup, and the record sits unseen until the next one.
 *
 * Perf buffers (kernel side: kernel/events/ring_buffer.c): data_head is
 * loaded with acquire (the kernel's smp_wmb before publishing it), records
 * are copied, then data_tail is stored with release (pairs with the kernel's
 * smp_mb after reading data_tail in perf_output_begin).
 */
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

_Static_assert(sizeof(struct perf_event_attr) == PERF_ATTR_SIZE_VER8,
               "perf_event_attr layout");
_Static_assert(offsetof(struct perf_event_attr, config1) == 56, "config1");
_Static_assert(offsetof(struct perf_event_attr, sig_data) == 120, "sig_data");
_Static_assert(offsetof(struct perf_event_mmap_page, data_head) == 1024,
               "perf_event_mmap_page layout");
_Static_assert(sizeof(struct perf_event_header) == 8, "perf_event_header");
_Static_assert(PERF_EVENT_IOC_ENABLE == _IO('$', 0), "ioctl");
_Static_assert(PERF_EVENT_IOC_DISABLE == _IO('$', 1), "ioctl");
_Static_assert(PERF_EVENT_IOC_REFRESH == _IO('$', 2), "ioctl");
_Static_assert(PERF_EVENT_IOC_RESET == _IO('$', 3), "ioctl");
_Static_assert(PERF_EVENT_IOC_PERIOD == _IOW('$', 4, __u64), "ioctl");
_Static_assert(PERF_EVENT_IOC_SET_OUTPUT == _IO('$', 5), "ioctl");
_Static_assert(PERF_EVENT_IOC_SET_FILTER == _IOW('$', 6, char *), "ioctl");
_Static_assert(PERF_EVENT_IOC_ID == _IOR('$', 7, __u64 *), "ioctl");
_Static_assert(PERF_EVENT_IOC_SET_BPF == _IOW('$', 8, __u32), "ioctl");
_Static_assert(PERF_EVENT_IOC_PAUSE_OUTPUT == _IOW('$', 9, __u32), "ioctl");
_Static_assert(PERF_EVENT_IOC_QUERY_BPF ==
               _IOWR('$', 10, struct perf_event_query_bpf *), "ioctl");
_Static_assert(PERF_EVENT_IOC_MODIFY_ATTRIBUTES ==
               _IOW('$', 11, struct perf_event_attr *), "ioctl");

int bpfobj_perf_event_open(struct perf_event_attr *attr, int pid, int cpu,
                           int group_fd, unsigned long flags)
{
    long r;
    do {
        r = syscall(__NR_perf_event_open, attr, pid, cpu, group_fd,
                    flags | PERF_FLAG_FD_CLOEXEC);
    } while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : (int)r;
}

int bpfobj_ioctl(int fd, unsigned long request, unsigned long arg)
{
    int r;
    do {
        r = ioctl(fd, request, arg);
    } while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : r;
}

int bpfobj_ioctl_ptr(int fd, unsigned long request, void *arg)
{
    int r;
    do {
        r = ioctl(fd, request, arg);
    } while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : r;
}

int bpfobj_mmap(int fd, size_t length, int writable, size_t offset, void **addr)
{
    int prot = writable ? PROT_READ | PROT_WRITE : PROT_READ;
    void *p = mmap(NULL, length, prot, MAP_SHARED, fd, (off_t)offset);
    if (p == MAP_FAILED)
        return -errno;
    *addr = p;
    return 0;
}

int bpfobj_munmap(void *addr, size_t length)
{
    return munmap(addr, length) < 0 ? -errno : 0;
}

long bpfobj_page_size(void)
{
    return sysconf(_SC_PAGESIZE);
}

int bpfobj_epoll_create(void)
{
    int r = epoll_create1(EPOLL_CLOEXEC);
    return r < 0 ? -errno : r;
}

int bpfobj_epoll_add(int epfd, int fd, __u64 tag)
{
    struct epoll_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN;
    ev.data.u64 = tag;
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int bpfobj_epoll_wait(int epfd, __u64 *tags, int max, int timeout_ms)
{
    struct epoll_event evs[64];
    int i, n;
    if (max > 64)
        max = 64;
    n = epoll_wait(epfd, evs, max, timeout_ms);
    if (n < 0)
        return -errno;
    for (i = 0; i < n; i++)
        tags[i] = evs[i].data.u64;
    return n;
}

int bpfobj_eventfd(void)
{
    int r = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    return r < 0 ? -errno : r;
}

int bpfobj_eventfd_signal(int fd)
{
    __u64 one = 1;
    /* EAGAIN: the counter is saturated, and so already signalled. */
    if (write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        return -errno;
    return 0;
}

/* -- BPF ring buffer ---------------------------------------------------- */

#define RB_BUSY ((__u32)BPF_RINGBUF_BUSY_BIT)
#define RB_DISCARD ((__u32)BPF_RINGBUF_DISCARD_BIT)
#define RB_HDR ((unsigned long)BPF_RINGBUF_HDR_SZ)

/* Where the next committed record is. Returns its header's length word (BUSY
 * clear) and leaves *cons at it, skipping discarded records (and releasing
 * their space); returns RB_BUSY when the next record is not committed, or
 * when none is there, after the fence described at the top. */
static inline __u32 ring_next(struct bpfobj_ring *r, unsigned long *cons)
{
    unsigned long prod = __atomic_load_n(r->producer_pos, __ATOMIC_ACQUIRE);
    for (;;) {
        __u32 len;
        if (*cons >= prod) {
            /* Caught up: the consumer position stored before (release) must
             * be visible to the producer before producer_pos is read again. */
            __atomic_thread_fence(__ATOMIC_SEQ_CST);
            prod = __atomic_load_n(r->producer_pos, __ATOMIC_ACQUIRE);
            if (*cons >= prod)
                return RB_BUSY;
        }
        len = __atomic_load_n((const __u32 *)(r->data + (*cons & r->mask)),
                              __ATOMIC_ACQUIRE);
        if (len & RB_BUSY)
            return RB_BUSY;
        if (!(len & RB_DISCARD))
            return len;
        *cons += ((len & ~RB_DISCARD) + RB_HDR + 7) & ~7UL;
        __atomic_store_n(r->consumer_pos, *cons, __ATOMIC_RELEASE);
    }
}

/* Append "<len>s" to a struct format; at most FMT_ITEM bytes. */
#define FMT_ITEM 11
static inline char *fmt_bytes(char *p, __u32 len)
{
    char digits[10];
    int k = 0;
    do {
        digits[k++] = (char)('0' + len % 10);
        len /= 10;
    } while (len);
    while (k)
        *p++ = digits[--k];
    *p++ = 's';
    return p;
}

long bpfobj_ringbuf_consume(struct bpfobj_ring *r, char *out, size_t cap,
                            char *fmt, size_t fmt_cap, long max_records,
                            __u64 *info)
{
    unsigned long cons = __atomic_load_n(r->consumer_pos, __ATOMIC_RELAXED);
    size_t used = 0;
    char *f = fmt, *fmt_end = fmt + fmt_cap;
    long n = 0;
    info[0] = 0;
    *f++ = '=';
    while (n < max_records && fmt_end - f >= FMT_ITEM) {
        __u32 len = ring_next(r, &cons);
        if (len == RB_BUSY)
            break;
        if (len > r->mask)
            return -EBADMSG;
        if (used + len > cap) {
            info[0] = len;
            break;
        }
        memcpy(out + used, r->data + (cons & r->mask) + RB_HDR, len);
        used += len;
        f = fmt_bytes(f, len);
        n++;
        cons += (len + RB_HDR + 7) & ~7UL;
        __atomic_store_n(r->consumer_pos, cons, __ATOMIC_RELEASE);
    }
    info[1] = (__u64)(f - fmt);
    return n;
}

int bpfobj_ringbuf_pending(struct bpfobj_ring *r)
{
    return __atomic_load_n(r->producer_pos, __ATOMIC_ACQUIRE) !=
           __atomic_load_n(r->consumer_pos, __ATOMIC_RELAXED);
}

/* -- perf buffers ------------------------------------------------------- */

/* Copy len bytes at ring offset pos, in two pieces when they wrap. */
static inline void perf_copy(const struct bpfobj_perf_ring *p, __u64 pos,
                             void *dst, __u64 len)
{
    __u64 off = pos & (p->size - 1);
    __u64 first = p->size - off;
    if (first >= len) {
        memcpy(dst, p->data + off, len);
    } else {
        memcpy(dst, p->data + off, first);
        memcpy((char *)dst + first, p->data, len - first);
    }
}

long bpfobj_perf_consume(struct bpfobj_perf_ring *rings, int nrings, int *next,
                         char *out, size_t cap, char *fmt, size_t fmt_cap,
                         long max_records, __u64 *info)
{
    const size_t extra = sizeof(__u32) + sizeof(__u64); /* cpu, lost */
    size_t used = 0;
    char *f = fmt, *fmt_end = fmt + fmt_cap;
    long n = 0;
    int visited, i = *next;
    info[0] = 0;
    *f++ = '=';
    if (i < 0 || i >= nrings)
        i = 0;
    for (visited = 0; visited < nrings && n < max_records; visited++) {
        struct bpfobj_perf_ring *p = &rings[i];
        struct perf_event_mmap_page *page = p->page;
        __u64 head = __atomic_load_n(&page->data_head, __ATOMIC_ACQUIRE);
        __u64 tail = page->data_tail;
        int full = 0;
        while (tail < head && n < max_records) {
            struct perf_event_header h;
            perf_copy(p, tail, &h, sizeof(h));
            if (h.size < sizeof(h) || h.size > head - tail)
                return -EBADMSG;
            if (h.type == PERF_RECORD_SAMPLE) {
                __u32 size = 0, cpu = (__u32)i;
                if (h.size >= sizeof(h) + sizeof(size))
                    perf_copy(p, tail + sizeof(h), &size, sizeof(size));
                /* The raw sample is cut to what its size says, and to what
                 * the record holds. */
                if (size > h.size - sizeof(h) - sizeof(size))
                    size = h.size > sizeof(h) + sizeof(size)
                               ? h.size - sizeof(h) - sizeof(size) : 0;
                if (used + size + extra > cap || fmt_end - f < FMT_ITEM + 2) {
                    info[0] = size + extra;
                    full = 1;
                    break;
                }
                memcpy(out + used, &cpu, sizeof(cpu));
                used += sizeof(cpu);
                perf_copy(p, tail + sizeof(h) + sizeof(size), out + used, size);
                used += size;
                memcpy(out + used, &p->lost, sizeof(p->lost));
                used += sizeof(p->lost);
                p->lost = 0;
                *f++ = 'I';
                f = fmt_bytes(f, size);
                *f++ = 'Q';
                n++;
            } else if (h.type == PERF_RECORD_LOST && h.size >= sizeof(h) + 16) {
                __u64 count;
                perf_copy(p, tail + sizeof(h) + 8, &count, sizeof(count));
                p->lost += count;
            } else if (h.type == PERF_RECORD_LOST_SAMPLES && h.size >= sizeof(h) + 8) {
                __u64 count;
                perf_copy(p, tail + sizeof(h), &count, sizeof(count));
                p->lost += count;
            }
            tail += h.size;
        }
        __atomic_store_n(&page->data_tail, tail, __ATOMIC_RELEASE);
        if (full)
            break;
        if (++i == nrings)
            i = 0;
    }
    *next = i;
    info[1] = (__u64)(f - fmt);
    return n;
}

int bpfobj_perf_pending(struct bpfobj_perf_ring *rings, int nrings)
{
    int i;
    for (i = 0; i < nrings; i++) {
        struct perf_event_mmap_page *page = rings[i].page;
        if (__atomic_load_n(&page->data_head, __ATOMIC_ACQUIRE) != page->data_tail)
            return 1;
    }
    return 0;
}
