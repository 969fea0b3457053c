/* The C baseline: the same bpf() work as the Python benchmarks, made with
 * syscall(__NR_bpf, ...) and nothing else, timed with CLOCK_MONOTONIC.
 *
 * Built by benchmarks/run.py with `cc -O2`. Prints one JSON object, ns per
 * operation (per key or entry where the operation walks the map).
 *
 *   bench_map elems MAP_FD ITERS NFILLED PIN_PATH PROG_FD
 *       every single-process operation on the inherited map descriptor (a
 *       HASH map, 4-byte keys 0..NFILLED-1, 8-byte values); PIN_PATH is the
 *       map pinned on a bpffs ("-" to skip), PROG_FD an XDP program (-1 to skip)
 *   bench_map fds PID ITERS        list /proc/PID/fd: readlink + fdinfo id of each
 *   bench_map holders ITERS        the same for every process of the machine
 *   bench_map maps ITERS           every map by ID: GET_NEXT_ID, GET_FD_BY_ID, info, close
 *
 * Attrs are zeroed up to the last member the command reads, as a tight C
 * library would do; attr sizes are passed accordingly.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define END(type, member) (offsetof(type, member) + sizeof(((type *)0)->member))
#define ELEM_SZ END(union bpf_attr, flags)
#define BATCH_SZ END(union bpf_attr, batch)
#define INFO_SZ END(union bpf_attr, info)
#define OBJ_SZ END(union bpf_attr, file_flags)
#define ID_SZ END(union bpf_attr, open_flags)
#define TEST_SZ END(union bpf_attr, test)

static long sys_bpf(int cmd, union bpf_attr *attr, unsigned int size)
{
    return syscall(__NR_bpf, cmd, attr, size);
}

static inline uint64_t ptr(const void *p) { return (uint64_t)(uintptr_t)p; }

static uint64_t now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_map: %s: %s\n", what, strerror(errno));
    exit(1);
}

static int elem(int cmd, int fd, const void *key, void *value, uint64_t flags)
{
    union bpf_attr attr;
    memset(&attr, 0, ELEM_SZ);
    attr.map_fd = fd;
    attr.key = ptr(key);
    attr.value = ptr(value);
    attr.flags = flags;
    return (int)sys_bpf(cmd, &attr, ELEM_SZ);
}

static int map_info(int fd, struct bpf_map_info *info)
{
    union bpf_attr attr;
    memset(&attr, 0, INFO_SZ);
    memset(info, 0, sizeof(*info));
    attr.info.bpf_fd = fd;
    attr.info.info_len = sizeof(*info);
    attr.info.info = ptr(info);
    return (int)sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &attr, INFO_SZ);
}

/* The type check of new_from_fd and load_pinned: the descriptor's name. */
static int is_map(int fd)
{
    char path[64], target[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, target, sizeof(target) - 1);
    if (n <= 0)
        return 0;
    target[n] = 0;
    return strcmp(target, "anon_inode:bpf-map") == 0;
}

static int first = 1;
static volatile long long sink; /* keeps parsed values alive */

static void emit(const char *name, uint64_t ns, uint64_t ops)
{
    printf("%s\"%s\": %.2f", first ? "{" : ", ", name, ops ? (double)ns / (double)ops : -1.0);
    first = 0;
}

static void finish(void)
{
    printf("%s}\n", first ? "{" : "");
}

/* The id in a bpf descriptor's fdinfo (map_id/prog_id/link_id/btf_id), or 0. */
static unsigned read_id(int dirfd, const char *name)
{
    char buf[1024];
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    for (char *p = buf; (p = strstr(p, "_id:")) != NULL; p += 4) {
        char *line = p;
        while (line > buf && line[-1] != '\n')
            line--;
        if (!strncmp(line, "map_id:", 7) || !strncmp(line, "prog_id:", 8) ||
            !strncmp(line, "link_id:", 8) || !strncmp(line, "btf_id:", 7))
            return (unsigned)strtoul(p + 4, NULL, 10);
    }
    return 0;
}

/* Scan one process's descriptors; returns how many are bpf objects. */
static long scan_pid(const char *pid)
{
    char path[64], target[256];
    long found = 0;
    snprintf(path, sizeof(path), "/proc/%s/fd", pid);
    int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return 0;
    snprintf(path, sizeof(path), "/proc/%s/fdinfo", pid);
    int ifd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fdopendir(dfd);
    if (!d || ifd < 0) {
        if (d) closedir(d); else close(dfd);
        if (ifd >= 0) close(ifd);
        return 0;
    }
    struct dirent *e;
    volatile unsigned sink = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        ssize_t n = readlinkat(dfd, e->d_name, target, sizeof(target) - 1);
        if (n <= 0)
            continue;
        target[n] = 0;
        if (strncmp(target, "anon_inode:bpf", 14) && strcmp(target, "anon_inode:btf"))
            continue;
        sink += read_id(ifd, e->d_name);
        found++;
    }
    (void)sink;
    closedir(d);
    close(ifd);
    return found;
}

static int run_elems(int argc, char **argv)
{
    if (argc < 7)
        return 2;
    int fd = atoi(argv[2]);
    long iters = atol(argv[3]);
    uint32_t nfilled = (uint32_t)atol(argv[4]);
    const char *pin = argv[5];
    int prog_fd = atoi(argv[6]);
    uint64_t value = 0, t0;
    uint32_t key, next;
    long i, n;
    union bpf_attr attr;

    t0 = now();
    for (i = 0; i < iters; i++) {
        key = (uint32_t)i % nfilled;
        if (elem(BPF_MAP_LOOKUP_ELEM, fd, &key, &value, 0) < 0)
            die("lookup");
    }
    emit("lookup", now() - t0, iters);

    t0 = now();
    for (i = 0; i < iters; i++) {
        key = (uint32_t)i % nfilled;
        value = (uint64_t)i;
        if (elem(BPF_MAP_UPDATE_ELEM, fd, &key, &value, BPF_ANY) < 0)
            die("update");
    }
    emit("update", now() - t0, iters);

    t0 = now();
    for (i = 0; i < iters; i++) {
        key = (uint32_t)i % nfilled;
        if (elem(BPF_MAP_DELETE_ELEM, fd, &key, NULL, 0) < 0)
            die("delete");
        if (elem(BPF_MAP_UPDATE_ELEM, fd, &key, &value, BPF_ANY) < 0)
            die("update");
    }
    emit("delete+update", now() - t0, iters);

    /* A full walk with GET_NEXT_KEY, per key. */
    t0 = now();
    n = 0;
    if (elem(BPF_MAP_GET_NEXT_KEY, fd, NULL, &key, 0) == 0) {
        n = 1;
        while (elem(BPF_MAP_GET_NEXT_KEY, fd, &key, &next, 0) == 0) {
            key = next;
            n++;
        }
    }
    emit("next_key", now() - t0, (uint64_t)n);

    /* items(): the walk plus a lookup of each key. */
    t0 = now();
    n = 0;
    if (elem(BPF_MAP_GET_NEXT_KEY, fd, NULL, &key, 0) == 0) {
        do {
            if (elem(BPF_MAP_LOOKUP_ELEM, fd, &key, &value, 0) < 0)
                die("lookup");
            n++;
        } while (elem(BPF_MAP_GET_NEXT_KEY, fd, &key, &key, 0) == 0);
    }
    emit("items", now() - t0, (uint64_t)n);

    /* The whole map with LOOKUP_BATCH, 4096 elements a call, per entry. */
    {
        enum { CHUNK = 4096 };
        static uint32_t keys[CHUNK], tok_in, tok_out;
        static uint64_t values[CHUNK];
        t0 = now();
        n = 0;
        for (int firstcall = 1;; firstcall = 0) {
            memset(&attr, 0, BATCH_SZ);
            attr.batch.map_fd = fd;
            attr.batch.in_batch = firstcall ? 0 : ptr(&tok_in);
            attr.batch.out_batch = ptr(&tok_out);
            attr.batch.keys = ptr(keys);
            attr.batch.values = ptr(values);
            attr.batch.count = CHUNK;
            long r = sys_bpf(BPF_MAP_LOOKUP_BATCH, &attr, BATCH_SZ);
            n += attr.batch.count;
            if (r < 0) {
                if (errno == ENOENT)
                    break;
                die("lookup batch");
            }
            tok_in = tok_out;
        }
        emit("batch_lookup", now() - t0, (uint64_t)n);
    }

    /* UPDATE_BATCH of every filled key at once, per entry. */
    {
        uint32_t *keys = malloc(nfilled * sizeof(*keys));
        uint64_t *values = malloc(nfilled * sizeof(*values));
        for (uint32_t j = 0; j < nfilled; j++) {
            keys[j] = j;
            values[j] = j;
        }
        t0 = now();
        memset(&attr, 0, BATCH_SZ);
        attr.batch.map_fd = fd;
        attr.batch.keys = ptr(keys);
        attr.batch.values = ptr(values);
        attr.batch.count = nfilled;
        if (sys_bpf(BPF_MAP_UPDATE_BATCH, &attr, BATCH_SZ) < 0)
            die("update batch");
        emit("batch_update", now() - t0, nfilled);
        free(keys);
        free(values);
    }

    struct bpf_map_info info;
    t0 = now();
    for (i = 0; i < iters; i++)
        if (map_info(fd, &info) < 0)
            die("info");
    emit("info", now() - t0, iters);

    /* info plus /proc/self/fdinfo (frozen, memlock). */
    {
        char path[64], buf[1024];
        snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
        t0 = now();
        for (i = 0; i < iters; i++) {
            if (map_info(fd, &info) < 0)
                die("info");
            int f = open(path, O_RDONLY | O_CLOEXEC);
            ssize_t got;
            if (f < 0 || (got = read(f, buf, sizeof(buf) - 1)) <= 0)
                die("fdinfo");
            close(f);
            buf[got] = '\0';
            /* the two keys Map.info() reports: frozen and memlock */
            char *fz = strstr(buf, "\nfrozen:"), *ml = strstr(buf, "\nmemlock:");
            if (!fz || !ml)
                die("fdinfo keys");
            sink += strtoll(fz + 8, NULL, 10) + strtoll(ml + 9, NULL, 10);
        }
        emit("info+fdinfo", now() - t0, iters);
    }

    /* Map.new_from_fd + close: dup, the type check (readlink), info, close. */
    t0 = now();
    for (i = 0; i < iters; i++) {
        int d = fcntl(fd, F_DUPFD_CLOEXEC, 1);
        if (d < 0 || !is_map(d) || map_info(d, &info) < 0)
            die("dup+info");
        close(d);
    }
    emit("new_from_fd+close", now() - t0, iters);

    /* clone + close: dup, close. */
    t0 = now();
    for (i = 0; i < iters; i++) {
        int d = fcntl(fd, F_DUPFD_CLOEXEC, 1);
        if (d < 0)
            die("dup");
        close(d);
    }
    emit("clone+close", now() - t0, iters);

    /* load_pinned + close: OBJ_GET, the type check (readlink), info, close. */
    if (strcmp(pin, "-")) {
        t0 = now();
        for (i = 0; i < iters; i++) {
            memset(&attr, 0, OBJ_SZ);
            attr.pathname = ptr(pin);
            int d = (int)sys_bpf(BPF_OBJ_GET, &attr, OBJ_SZ);
            if (d < 0 || !is_map(d) || map_info(d, &info) < 0)
                die("obj_get");
            close(d);
        }
        emit("load_pinned+close", now() - t0, iters);
    }

    /* fd_type: the name the kernel gives the descriptor. */
    {
        char path[64], target[128];
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        t0 = now();
        for (i = 0; i < iters; i++)
            if (readlink(path, target, sizeof(target)) <= 0)
                die("readlink");
        emit("fd_type", now() - t0, iters);
    }

    /* PROG_TEST_RUN of an XDP program on 64 bytes, repeat=1. */
    if (prog_fd >= 0) {
        static char data_in[64], data_out[64 + 320];
        t0 = now();
        for (i = 0; i < iters; i++) {
            memset(&attr, 0, TEST_SZ);
            attr.test.prog_fd = prog_fd;
            attr.test.data_in = ptr(data_in);
            attr.test.data_size_in = sizeof(data_in);
            attr.test.data_out = ptr(data_out);
            attr.test.data_size_out = sizeof(data_out);
            attr.test.repeat = 1;
            if (sys_bpf(BPF_PROG_TEST_RUN, &attr, TEST_SZ) < 0)
                die("test_run");
        }
        emit("test_run", now() - t0, iters);
    }
    finish();
    return 0;
}

static int run_fds(int argc, char **argv)
{
    if (argc < 4)
        return 2;
    long iters = atol(argv[3]);
    uint64_t t0 = now();
    long found = 0;
    for (long i = 0; i < iters; i++)
        found = scan_pid(argv[2]);
    emit("procfs.fds", now() - t0, iters);
    printf(", \"descriptors\": %ld", found);
    finish();
    return 0;
}

static int run_holders(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    long iters = atol(argv[2]);
    long found = 0;
    uint64_t t0 = now();
    for (long i = 0; i < iters; i++) {
        DIR *d = opendir("/proc");
        struct dirent *e;
        if (!d)
            die("/proc");
        found = 0;
        while ((e = readdir(d)) != NULL)
            if (e->d_name[0] >= '1' && e->d_name[0] <= '9')
                found += scan_pid(e->d_name);
        closedir(d);
    }
    emit("procfs.holders", now() - t0, iters);
    printf(", \"descriptors\": %ld", found);
    finish();
    return 0;
}

static int run_maps(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    long iters = atol(argv[2]);
    long found = 0;
    union bpf_attr attr;
    struct bpf_map_info info;
    uint64_t t0 = now();
    for (long i = 0; i < iters; i++) {
        uint32_t id = 0;
        found = 0;
        for (;;) {
            memset(&attr, 0, ID_SZ);
            attr.start_id = id;
            if (sys_bpf(BPF_MAP_GET_NEXT_ID, &attr, ID_SZ) < 0)
                break;
            id = attr.next_id;
            memset(&attr, 0, ID_SZ);
            attr.map_id = id;
            int fd = (int)sys_bpf(BPF_MAP_GET_FD_BY_ID, &attr, ID_SZ);
            if (fd < 0)
                continue; /* gone meanwhile */
            if (map_info(fd, &info) == 0)
                found++;
            close(fd);
        }
    }
    emit("objects.maps", now() - t0, iters);
    printf(", \"maps\": %ld", found);
    finish();
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    if (!strcmp(argv[1], "elems"))
        return run_elems(argc, argv);
    if (!strcmp(argv[1], "fds"))
        return run_fds(argc, argv);
    if (!strcmp(argv[1], "holders"))
        return run_holders(argc, argv);
    if (!strcmp(argv[1], "maps"))
        return run_maps(argc, argv);
    fprintf(stderr, "usage: bench_map elems|fds|holders|maps ...\n");
    return 2;
}
