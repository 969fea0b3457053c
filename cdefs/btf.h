/* BTF reader helpers (implemented in btf.c): walk the raw records of a BTF type section
 * (layout of include/uapi/linux/btf.h, Linux 6.18) in one call, so that Python need not
 * touch 126,622 records to find one name. Pure functions over caller-owned memory: no
 * system calls, no allocation.
 */

/* Index the type section data[start, start+len): offsets[i] gets the absolute byte offset
 * of type record i (at most max records). Returns the number of records, or a negative
 * code: -1 truncated header, -2 unknown kind, -3 record runs past the section, -4 more than
 * max records. On failure *bad_off is the offset (from start) of the bad record and
 * *bad_index its index. Kind and vlen are masked as the newest uapi does (5 and 16 bits). */
long bpfobj_btf_index(const unsigned char *data, size_t start, size_t len, __u32 *offsets,
                      size_t max, size_t *bad_off, size_t *bad_index);

/* Indexes i of the n records at offsets[] whose name is exactly name[0:name_len]: a
 * name_off below base_str_len is in base_strs (split BTF: the base's table), the others in
 * strs[0, str_len) at name_off - base_str_len.
 * Writes up to max_out indexes to out; returns how many matched (may exceed max_out). */
long bpfobj_btf_find_name(const unsigned char *data, const __u32 *offsets, size_t n,
                          const unsigned char *strs, size_t str_len,
                          const unsigned char *base_strs, size_t base_str_len,
                          const char *name, size_t name_len, __u32 *out, size_t max_out);

/* Look for a reference cycle that does not pass through a pointer or a function: a type
 * that contains itself through typedefs, qualifiers, type tags, array elements, members
 * held by value, variables or datasec entries (the kernel rejects those). offsets[] are
 * the n records of types id0 .. id0+n-1; references below id0 (Void, a base) and out of
 * range (reported when decoded) are not followed. state, iter and stack are caller-owned
 * scratch arrays of n entries each. Returns 0, or -1 with *bad_index set to the index of a
 * type on a cycle. Linear in types + references; no recursion. */
long bpfobj_btf_find_cycle(const unsigned char *data, const __u32 *offsets, size_t n,
                           size_t id0, unsigned char *state, __u32 *iter, __u32 *stack,
                           size_t *bad_index);

/* Map the whole file at path read-only and private (the /sys/kernel/btf files can be mapped
 * since Linux 6.16), closing the descriptor before returning: the mapping holds no fd.
 * Returns 0 with *addr and *len set, or -errno (an empty file is -ENODATA). munmap it with
 * bpfobj_munmap. */
int bpfobj_map_file_readonly(const char *path, void **addr, size_t *len);
