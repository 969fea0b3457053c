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

/* -- the close guard ---------------------------------------------------------
 * One slot per FD object, named by its index in a table kept in C. A call
 * that passes the slot's number to the kernel enters the slot (one more call
 * in flight), makes its system call and leaves; close() marks the slot
 * closing, so no call enters any more, and the number is closed by whoever is
 * last: close() itself when nothing is in flight, else the last call to
 * leave. So a number is never freed (and handed to the next open) while a
 * call may still pass it to the kernel. A slot index is reused only after
 * bpfobj_slot_release(), which the FD's finalizer calls when no call can hold
 * it any more. Every call on a closing slot returns BPFOBJ_ECLOSED. */
#define BPFOBJ_ECLOSED ...

/* A slot holding fd: its index, or -ENOMEM. */
int bpfobj_slot_new(int fd);
/* Close (when still open) and free the slot; 1 when it was still open. */
int bpfobj_slot_release(int slot);
/* The number, with the call counted in flight; BPFOBJ_ECLOSED once closing. */
int bpfobj_slot_enter(int slot);
/* End a call; closes the number when it is the last one out after a close. */
void bpfobj_slot_leave(int slot);
/* 1: closed now; 0: calls in flight, the last one out closes it;
 * -1: closed or disowned before. */
int bpfobj_slot_close(int slot);
/* Give the number up (nobody closes it); BPFOBJ_ECLOSED once closing. */
int bpfobj_slot_disown(int slot);
/* Test only: 0 turns the guard off in this process (calls pass the number
 * without counting, close() closes at once), to show what it prevents. */
void bpfobj_set_close_guard(int on);

/* The hot calls, each one C call: enter, system call(s), leave. */
int bpfobj_slot_map_elem(int slot, int cmd, const char *key, char *value, __u64 flags);
/* The same calls with the command bound, for the element fast paths (one
 * C call from Python, no pointer cdata): a lookup of a value of at most 8
 * bytes returns it in the result, its bytes in memory order, zero-padded
 * (size is the map's value size: more than 8 fails with -E2BIG before the
 * kernel is called). On failure it returns BPFOBJ_SMALL_FAIL and this
 * thread's bpfobj_small_error() is the negative code (BPFOBJ_ECLOSED or
 * -errno); a value that reads BPFOBJ_SMALL_FAIL leaves that 0. */
#define BPFOBJ_SMALL_FAIL ...
unsigned long long bpfobj_slot_map_lookup_small(int slot, const char *key, __u32 size,
                                                __u64 flags);
int bpfobj_small_error(void);
int bpfobj_slot_map_update(int slot, const char *key, const char *value, __u64 flags);
int bpfobj_slot_map_delete(int slot, const char *key);
/* BPF_MAP_GET_NEXT_KEY up to max times from key (NULL: the first), writing the
 * keys back to back into out; *n is how many. 0, or -errno (-ENOENT: the map
 * ended after *n keys). */
int bpfobj_slot_map_next_keys(int slot, const char *key, char *out, __u32 key_size,
                              __u32 max, __u32 *n);
int bpfobj_slot_map_batch(int slot, int cmd, const char *in_batch, char *out_batch,
                          char *keys, char *values, __u32 *count, __u64 elem_flags);
/* BPF_OBJ_GET_INFO_BY_FD for a map, then /proc/self/fdinfo/N: fdinfo[0] is its
 * "frozen:" and fdinfo[1] its "memlock:" (-1 when absent or unreadable);
 * a NULL fdinfo skips the read. */
int bpfobj_slot_map_info(int slot, struct bpf_map_info *info, long long *fdinfo);
/* fcntl(F_DUPFD_CLOEXEC, 1) of the slot's number into a new slot:
 * (new slot << 32) | new number, or -errno, or BPFOBJ_ECLOSED. */
long long bpfobj_slot_dup(int slot);

/* renameat2(AT_FDCWD, oldpath, AT_FDCWD, newpath, RENAME_NOREPLACE): 0 or -errno.
 * Moves a pin on bpffs without ever replacing an existing one. */
int bpfobj_rename_noreplace(const char *oldpath, const char *newpath);
