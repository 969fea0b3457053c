/* Implementation of the helpers declared in bpfobj.h. Included into the
 * cffi module's source by bpfobj/_build.py, after bpf.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
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

int bpfobj_rename_noreplace(const char *oldpath, const char *newpath)
{
    /* The raw syscall: glibc's renameat2() wrapper needs _GNU_SOURCE. */
    if (syscall(SYS_renameat2, AT_FDCWD, oldpath, AT_FDCWD, newpath,
                1U /* RENAME_NOREPLACE */) < 0)
        return -errno;
    return 0;
}
