/* Implementation of the helpers declared in bpfobj.h. Included into the
 * cffi module's source by cdefs/build.py, after bpf.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <stdio.h>
#include <unistd.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/vfs.h>

#define BPFOBJ_BPF_FS_MAGIC 0xcafe4a11 /* include/uapi/linux/magic.h */

#ifndef __NR_pidfd_open
#define __NR_pidfd_open 434
#endif
#ifndef __NR_pidfd_getfd
#define __NR_pidfd_getfd 438
#endif

/* bpf.h writes __aligned_u64 as __u64: only valid where they agree. */
_Static_assert(sizeof(void *) == 8, "bpfobj supports 64-bit targets only");
_Static_assert(sizeof(union bpf_attr) % 8 == 0, "bpf_attr size");
_Static_assert(sizeof(struct bpf_map_info) == 104, "bpf_map_info layout");

static char *const BPFOBJ_CDEF_VERSION = BPFOBJ_VERSION_STRING;
static const int BPFOBJ_BPF_ATTR_SIZE = sizeof(union bpf_attr);

static inline long bpfobj_sys(int cmd, union bpf_attr *attr, unsigned int size)
{
    long r;
    do {
        r = syscall(__NR_bpf, cmd, attr, size);
    } while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : r;
}

/* No EINTR retry here: the caller (Python) retries, so that signal handlers
 * run in between and a Ctrl-C can end a long BPF_PROG_TEST_RUN, which the
 * kernel restarts from scratch after every interruption. */
long bpfobj_bpf(int cmd, union bpf_attr *attr, unsigned int size)
{
    long r = syscall(__NR_bpf, cmd, attr, size);
    return r < 0 ? -errno : r;
}

/* The elem commands read only this prefix of the attr: map_fd, key,
 * value/next_key and flags. Passing the prefix's size keeps the copy small. */
#define ELEM_ATTR_SIZE (offsetof(union bpf_attr, flags) + sizeof(__u64))

int bpfobj_map_elem(int cmd, int map_fd, const char *key, char *value,
                    __u64 flags)
{
    union bpf_attr attr;
    memset(&attr, 0, ELEM_ATTR_SIZE);
    attr.map_fd = map_fd;
    attr.key = (__u64)(unsigned long)key;
    attr.value = (__u64)(unsigned long)value;
    attr.flags = flags;
    return (int)bpfobj_sys(cmd, &attr, ELEM_ATTR_SIZE);
}

int bpfobj_map_batch(int cmd, int map_fd, const char *in_batch,
                     char *out_batch, char *keys, char *values,
                     __u32 *count, __u64 elem_flags, __u64 flags)
{
    union bpf_attr attr;
    long r;
    memset(&attr, 0, sizeof(attr.batch));
    attr.batch.map_fd = map_fd;
    attr.batch.in_batch = (__u64)(unsigned long)in_batch;
    attr.batch.out_batch = (__u64)(unsigned long)out_batch;
    attr.batch.keys = (__u64)(unsigned long)keys;
    attr.batch.values = (__u64)(unsigned long)values;
    attr.batch.count = *count;
    attr.batch.elem_flags = elem_flags;
    attr.batch.flags = flags;
    r = bpfobj_sys(cmd, &attr, sizeof(attr.batch));
    /* The kernel reports how many elements it processed, also on error. */
    *count = attr.batch.count;
    return (int)r;
}

int bpfobj_obj_get_info_by_fd(int bpf_fd, void *info, __u32 *info_len)
{
    union bpf_attr attr;
    long r;
    memset(&attr, 0, sizeof(attr.info));
    attr.info.bpf_fd = bpf_fd;
    attr.info.info_len = *info_len;
    attr.info.info = (__u64)(unsigned long)info;
    r = bpfobj_sys(BPF_OBJ_GET_INFO_BY_FD, &attr, sizeof(attr.info));
    *info_len = attr.info.info_len;
    return (int)r;
}

#define ID_ATTR_SIZE (offsetof(union bpf_attr, open_flags) + sizeof(__u32))

int bpfobj_get_next_id(int cmd, __u32 start_id, __u32 *next_id)
{
    union bpf_attr attr;
    long r;
    memset(&attr, 0, ID_ATTR_SIZE);
    attr.start_id = start_id;
    r = bpfobj_sys(cmd, &attr, ID_ATTR_SIZE);
    *next_id = attr.next_id;
    return (int)r;
}

int bpfobj_get_fd_by_id(int cmd, __u32 id, __u32 open_flags)
{
    union bpf_attr attr;
    memset(&attr, 0, ID_ATTR_SIZE);
    attr.start_id = id;
    attr.open_flags = open_flags;
    return (int)bpfobj_sys(cmd, &attr, ID_ATTR_SIZE);
}

int bpfobj_dup_cloexec(int fd)
{
    int r = fcntl(fd, F_DUPFD_CLOEXEC, 1);
    return r < 0 ? -errno : r;
}

int bpfobj_get_fd_flags(int fd)
{
    int r = fcntl(fd, F_GETFD);
    return r < 0 ? -errno : r;
}

int bpfobj_close(int fd)
{
    /* Never retry close(2) on EINTR: on Linux the descriptor is gone. */
    return close(fd) < 0 ? -errno : 0;
}

int bpfobj_pidfd_open(int pid, unsigned int flags)
{
    long r = syscall(__NR_pidfd_open, pid, flags);
    return r < 0 ? -errno : (int)r;
}

int bpfobj_pidfd_getfd(int pidfd, int targetfd, unsigned int flags)
{
    long r = syscall(__NR_pidfd_getfd, pidfd, targetfd, flags);
    return r < 0 ? -errno : (int)r;
}

long long bpfobj_statfs_type(const char *path)
{
    struct statfs st;
    if (statfs(path, &st) < 0)
        return -errno;
    return (long long)(unsigned long)st.f_type;
}

/* -- the close guard (see bpfobj.h) ------------------------------------------ */

struct bpfobj_slot {
    int fd; /* the number; while the slot is free, the next free slot */
    /* bit 0: closing (no call enters); bit 1: disowned (nobody closes the
     * number); bits 2 and up: calls in flight. */
    unsigned int state;
};

#define BPFOBJ_ECLOSED (-65536) /* not an errno: those stay below 4096 */
#define SLOT_CLOSING 1u
#define SLOT_DISOWNED 2u
#define SLOT_CALL 4u

/* The table: chunks of slots, allocated as needed and never moved or freed,
 * so that a slot's address stays valid while calls run without any lock. */
#define SLOT_CHUNK_BITS 12
#define SLOT_CHUNK (1 << SLOT_CHUNK_BITS)
#define SLOT_CHUNKS 8192 /* 32M slots: far more than RLIMIT_NOFILE allows */
static struct bpfobj_slot *slot_chunks[SLOT_CHUNKS];
static int slot_free_head = -1, slot_used;
static pthread_mutex_t slot_lock = PTHREAD_MUTEX_INITIALIZER;
static int bpfobj_guard_on = 1;

static inline struct bpfobj_slot *slot_at(int i)
{
    return &slot_chunks[i >> SLOT_CHUNK_BITS][i & (SLOT_CHUNK - 1)];
}

void bpfobj_set_close_guard(int on)
{
    __atomic_store_n(&bpfobj_guard_on, on ? 1 : 0, __ATOMIC_SEQ_CST);
}

int bpfobj_slot_new(int fd)
{
    int i;
    struct bpfobj_slot *s;
    pthread_mutex_lock(&slot_lock);
    if (slot_free_head >= 0) {
        i = slot_free_head;
        slot_free_head = slot_at(i)->fd;
    } else {
        i = slot_used;
        if (i >= SLOT_CHUNKS * SLOT_CHUNK) {
            pthread_mutex_unlock(&slot_lock);
            return -ENOMEM;
        }
        if (!slot_chunks[i >> SLOT_CHUNK_BITS]) {
            struct bpfobj_slot *chunk = calloc(SLOT_CHUNK, sizeof(*chunk));
            if (!chunk) {
                pthread_mutex_unlock(&slot_lock);
                return -ENOMEM;
            }
            slot_chunks[i >> SLOT_CHUNK_BITS] = chunk;
        }
        slot_used++;
    }
    s = slot_at(i);
    s->fd = fd;
    __atomic_store_n(&s->state, 0u, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&slot_lock);
    return i;
}

static inline int slot_enter(struct bpfobj_slot *s)
{
    unsigned int st = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
    if (__builtin_expect(!__atomic_load_n(&bpfobj_guard_on, __ATOMIC_RELAXED), 0)) {
        /* Unguarded (test only), as a binding without this slot would be:
         * the number is read, and the thread may be preempted before the
         * kernel sees it. The yield stands for that preemption, which a
         * loaded machine gives at any moment; without it the race test
         * needs some ten seconds instead of a fraction of one to lose. */
        int fd = s->fd;
        if (st & SLOT_CLOSING)
            return BPFOBJ_ECLOSED;
        sched_yield();
        return fd;
    }
    do {
        if (st & SLOT_CLOSING)
            return BPFOBJ_ECLOSED;
    } while (!__atomic_compare_exchange_n(&s->state, &st, st + SLOT_CALL, 1,
                                          __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
    return s->fd;
}

static inline void slot_leave(struct bpfobj_slot *s)
{
    if (__builtin_expect(!__atomic_load_n(&bpfobj_guard_on, __ATOMIC_RELAXED), 0))
        return;
    /* Exactly "closing, not disowned, nothing in flight" once: this call was
     * the last one out after close(), which left the number to it. */
    if (__atomic_sub_fetch(&s->state, SLOT_CALL, __ATOMIC_ACQ_REL) == SLOT_CLOSING)
        close(s->fd);
}

int bpfobj_slot_enter(int slot) { return slot_enter(slot_at(slot)); }
void bpfobj_slot_leave(int slot) { slot_leave(slot_at(slot)); }

int bpfobj_slot_close(int slot)
{
    struct bpfobj_slot *s = slot_at(slot);
    unsigned int old = __atomic_fetch_or(&s->state, SLOT_CLOSING, __ATOMIC_ACQ_REL);
    if (old & SLOT_CLOSING)
        return -1;
    if (old >= SLOT_CALL && __atomic_load_n(&bpfobj_guard_on, __ATOMIC_RELAXED))
        return 0;
    /* Never retry close(2) on EINTR: on Linux the descriptor is gone. */
    close(s->fd);
    return 1;
}

int bpfobj_slot_release(int slot)
{
    int was_open = bpfobj_slot_close(slot) > 0;
    pthread_mutex_lock(&slot_lock);
    slot_at(slot)->fd = slot_free_head;
    slot_free_head = slot;
    pthread_mutex_unlock(&slot_lock);
    return was_open;
}

int bpfobj_slot_disown(int slot)
{
    struct bpfobj_slot *s = slot_at(slot);
    unsigned int old = __atomic_fetch_or(&s->state, SLOT_CLOSING | SLOT_DISOWNED,
                                         __ATOMIC_ACQ_REL);
    return (old & SLOT_CLOSING) ? BPFOBJ_ECLOSED : s->fd;
}

int bpfobj_slot_map_elem(int slot, int cmd, const char *key, char *value, __u64 flags)
{
    struct bpfobj_slot *s = slot_at(slot);
    int fd = slot_enter(s), r;
    if (fd < 0)
        return fd;
    r = bpfobj_map_elem(cmd, fd, key, value, flags);
    slot_leave(s);
    return r;
}

#define BPFOBJ_SMALL_FAIL 0xffffffffffffffffULL
/* Per thread: the GIL is released during the call, and the code must reach
 * the thread that made it, whatever other threads do meanwhile. */
static __thread int bpfobj_small_err;

unsigned long long bpfobj_slot_map_lookup_small(int slot, const char *key, __u32 size,
                                                __u64 flags)
{
    union {
        unsigned long long v;
        char b[8];
    } value = {0};
    int r = size > sizeof(value) ? -E2BIG
                                 : bpfobj_slot_map_elem(slot, BPF_MAP_LOOKUP_ELEM, key,
                                                        value.b, flags);
    if (r < 0) {
        bpfobj_small_err = r;
        return BPFOBJ_SMALL_FAIL;
    }
    if (value.v == BPFOBJ_SMALL_FAIL)
        bpfobj_small_err = 0;
    return value.v;
}

int bpfobj_small_error(void) { return bpfobj_small_err; }

int bpfobj_slot_map_update(int slot, const char *key, const char *value, __u64 flags)
{
    return bpfobj_slot_map_elem(slot, BPF_MAP_UPDATE_ELEM, key, (char *)value, flags);
}

int bpfobj_slot_map_delete(int slot, const char *key)
{
    return bpfobj_slot_map_elem(slot, BPF_MAP_DELETE_ELEM, key, NULL, 0);
}

int bpfobj_slot_map_next_keys(int slot, const char *key, char *out, __u32 key_size,
                              __u32 max, __u32 *n)
{
    struct bpfobj_slot *s = slot_at(slot);
    int fd = slot_enter(s), r = 0;
    __u32 i = 0;
    if (fd < 0)
        return fd;
    for (; i < max; i++) {
        char *next = out + (size_t)i * key_size;
        r = bpfobj_map_elem(BPF_MAP_GET_NEXT_KEY, fd, key, next, 0);
        if (r < 0)
            break;
        key = next;
    }
    slot_leave(s);
    *n = i;
    return r < 0 ? r : 0;
}

int bpfobj_slot_map_batch(int slot, int cmd, const char *in_batch, char *out_batch,
                          char *keys, char *values, __u32 *count, __u64 elem_flags)
{
    struct bpfobj_slot *s = slot_at(slot);
    int fd = slot_enter(s), r;
    if (fd < 0)
        return fd;
    r = bpfobj_map_batch(cmd, fd, in_batch, out_batch, keys, values, count, elem_flags, 0);
    slot_leave(s);
    return r;
}

/* The value of "key:\t<number>" in fdinfo text, or -1. */
static long long fdinfo_value(const char *text, const char *key)
{
    size_t klen = strlen(key);
    const char *p = text;
    while (p && *p) {
        if (strncmp(p, key, klen) == 0) {
            long long v = 0;
            int digits = 0;
            p += klen;
            while (*p == ' ' || *p == '\t')
                p++;
            for (; *p >= '0' && *p <= '9' && v < (1LL << 58); p++, digits++)
                v = v * 10 + (*p - '0');
            return digits ? v : -1;
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return -1;
}

static void read_fdinfo(int fd, long long *out)
{
    char path[48], text[2048];
    size_t len = 0;
    int f;
    out[0] = out[1] = -1;
    snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
    f = open(path, O_RDONLY | O_CLOEXEC);
    if (f < 0)
        return;
    /* seq_file gives the whole text to one read that has room for it; read
     * again only when the buffer filled (no extra read() just to see EOF). */
    while (len < sizeof(text) - 1) {
        size_t want = sizeof(text) - 1 - len;
        ssize_t r = read(f, text + len, want);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
        if ((size_t)r < want)
            break;
    }
    close(f);
    text[len] = '\0';
    out[0] = fdinfo_value(text, "frozen:");
    out[1] = fdinfo_value(text, "memlock:");
}

int bpfobj_slot_map_info(int slot, struct bpf_map_info *info, long long *fdinfo)
{
    struct bpfobj_slot *s = slot_at(slot);
    __u32 len = sizeof(*info);
    int fd = slot_enter(s), r;
    if (fd < 0)
        return fd;
    memset(info, 0, sizeof(*info));
    r = bpfobj_obj_get_info_by_fd(fd, info, &len);
    if (r >= 0 && fdinfo)
        read_fdinfo(fd, fdinfo);
    slot_leave(s);
    return r;
}

long long bpfobj_slot_dup(int slot)
{
    struct bpfobj_slot *s = slot_at(slot);
    int fd = slot_enter(s), r, i;
    if (fd < 0)
        return fd;
    r = bpfobj_dup_cloexec(fd);
    slot_leave(s);
    if (r < 0)
        return r;
    i = bpfobj_slot_new(r);
    if (i < 0) {
        close(r);
        return i;
    }
    return ((long long)i << 32) | (long long)r;
}

int bpfobj_rename_noreplace(const char *oldpath, const char *newpath)
{
    /* The raw syscall: glibc's renameat2() wrapper needs _GNU_SOURCE. */
    if (syscall(SYS_renameat2, AT_FDCWD, oldpath, AT_FDCWD, newpath,
                1U /* RENAME_NOREPLACE */) < 0)
        return -errno;
    return 0;
}
