/* bpfobj's own C helpers (implemented in bpfobj.c). Each makes one system
 * call and returns its result, or -errno on failure, so Python never reads
 * errno back through cffi. EINTR is retried inside the helper.
 */

static char *const BPFOBJ_CDEF_VERSION;
static const int BPFOBJ_BPF_ATTR_SIZE;

/* bpf(cmd, attr, size): any command with an attr built by the caller.
 * Unlike the other helpers it does not retry EINTR (see bpfobj.c). */
long bpfobj_bpf(int cmd, union bpf_attr *attr, unsigned int size);

/* BPF_MAP_{LOOKUP,UPDATE,DELETE,LOOKUP_AND_DELETE}_ELEM and
 * BPF_MAP_GET_NEXT_KEY: the attr is built on the C stack. */
int bpfobj_map_elem(int cmd, int map_fd, const char *key, char *value,
                    __u64 flags);

/* BPF_MAP_*_BATCH. *count is in/out. */
int bpfobj_map_batch(int cmd, int map_fd, const char *in_batch,
                     char *out_batch, char *keys, char *values,
                     __u32 *count, __u64 elem_flags, __u64 flags);

/* BPF_OBJ_GET_INFO_BY_FD. *info_len is in/out. */
int bpfobj_obj_get_info_by_fd(int bpf_fd, void *info, __u32 *info_len);

/* BPF_{MAP,PROG,LINK,BTF}_GET_NEXT_ID and *_GET_FD_BY_ID. */
int bpfobj_get_next_id(int cmd, __u32 start_id, __u32 *next_id);
int bpfobj_get_fd_by_id(int cmd, __u32 id, __u32 open_flags);

/* fcntl(fd, F_DUPFD_CLOEXEC, 1): never returns 0. */
int bpfobj_dup_cloexec(int fd);
/* fcntl(fd, F_GETFD) */
int bpfobj_get_fd_flags(int fd);
int bpfobj_close(int fd);

/* pidfd_open(2) and pidfd_getfd(2); pidfd_getfd's result is close-on-exec. */
int bpfobj_pidfd_open(int pid, unsigned int flags);
int bpfobj_pidfd_getfd(int pidfd, int targetfd, unsigned int flags);

/* statfs(2) f_type of path (BPF_FS_MAGIC is 0xcafe4a11), or -errno. */
long long bpfobj_statfs_type(const char *path);
#define BPFOBJ_BPF_FS_MAGIC ...

/* renameat2(AT_FDCWD, oldpath, AT_FDCWD, newpath, RENAME_NOREPLACE): 0 or -errno.
 * Moves a pin on bpffs without ever replacing an existing one. */
int bpfobj_rename_noreplace(const char *oldpath, const char *newpath);
