/* Implementation of the BTF helpers declared in btf.h. Included into the cffi module's
 * source by cdefs/build.py, after bpf.h. Reads only within the bounds it is given.
 */
#include <stddef.h>
#include <string.h>

static inline __u32 btf_u32(const unsigned char *p)
{
    __u32 v;
    memcpy(&v, p, sizeof(v)); /* records are 4-aligned in BTF, but the buffer may not be */
    return v;
}

/* Bytes after the 12-byte struct btf_type, fixed and per vlen item, for kinds 0..19. */
static const unsigned char btf_fixed[20] = {
    0, 4, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 4, 0, 0,
};
static const unsigned char btf_per_item[20] = {
    0, 0, 0, 0, 12, 12, 8, 0, 0, 0, 0, 0, 0, 8, 0, 12, 0, 0, 0, 12,
};

long bpfobj_btf_index(const unsigned char *data, size_t start, size_t len, __u32 *offsets,
                      size_t max, size_t *bad_off, size_t *bad_index)
{
    size_t pos = 0, n = 0;
    while (pos < len) {
        __u32 info, kind;
        size_t size;
        *bad_off = pos;
        *bad_index = n;
        if (len - pos < 12)
            return -1;
        info = btf_u32(data + start + pos + 4);
        kind = (info >> 24) & 0x1f;
        if (kind == 0 || kind > 19)
            return -2;
        size = 12 + (size_t)btf_fixed[kind] + (size_t)btf_per_item[kind] * (info & 0xffff);
        if (size > len - pos)
            return -3;
        if (n == max)
            return -4;
        offsets[n++] = (__u32)(start + pos);
        pos += size;
    }
    return (long)n;
}

/* Whether tab[off..] holds exactly name and its NUL, within len bytes. */
static int btf_str_is(const unsigned char *tab, size_t len, size_t off, const char *name,
                      size_t name_len)
{
    return off < len && name_len < len - off && tab[off + name_len] == 0 &&
           memcmp(tab + off, name, name_len) == 0;
}

long bpfobj_btf_find_name(const unsigned char *data, const __u32 *offsets, size_t n,
                          const unsigned char *strs, size_t str_len,
                          const unsigned char *base_strs, size_t base_str_len,
                          const char *name, size_t name_len, __u32 *out, size_t max_out)
{
    size_t i, found = 0;
    for (i = 0; i < n; i++) {
        size_t off = btf_u32(data + offsets[i]);
        int hit = off < base_str_len
                      ? btf_str_is(base_strs, base_str_len, off, name, name_len)
                      : btf_str_is(strs, str_len, off - base_str_len, name, name_len);
        if (!hit)
            continue;
        if (found < max_out)
            out[found] = (__u32)i;
        found++;
    }
    return (long)found;
}

/* The it-th by-value reference of record i (as a type id), or -1 when there is no more.
 * Kinds: 4 STRUCT 5 UNION 15 DATASEC have vlen of them; 3 ARRAY its element; 8 TYPEDEF
 * 9 VOLATILE 10 CONST 11 RESTRICT 14 VAR 18 TYPE_TAG their type. */
static long btf_value_ref(const unsigned char *rec, __u32 it)
{
    __u32 info = btf_u32(rec + 4), kind = (info >> 24) & 0x1f, vlen = info & 0xffff;
    switch (kind) {
    case 4: case 5:
        return it < vlen ? (long)btf_u32(rec + 12 + 12 * (size_t)it + 4) : -1;
    case 15:
        return it < vlen ? (long)btf_u32(rec + 12 + 12 * (size_t)it) : -1;
    case 3:
        return it == 0 ? (long)btf_u32(rec + 12) : -1;
    case 8: case 9: case 10: case 11: case 14: case 18:
        return it == 0 ? (long)btf_u32(rec + 8) : -1;
    default:
        return -1;
    }
}

long bpfobj_btf_find_cycle(const unsigned char *data, const __u32 *offsets, size_t n,
                           size_t id0, unsigned char *state, __u32 *iter, __u32 *stack,
                           size_t *bad_index)
{
    size_t root, sp;
    memset(state, 0, n);
    for (root = 0; root < n; root++) {
        if (state[root])
            continue;
        state[root] = 1;
        iter[root] = 0;
        stack[0] = (__u32)root;
        sp = 1;
        while (sp) {
            __u32 v = stack[sp - 1];
            long ref = btf_value_ref(data + offsets[v], iter[v]++);
            size_t w;
            if (ref < 0) {
                state[v] = 2;
                sp--;
                continue;
            }
            if ((size_t)ref < id0 || (size_t)ref - id0 >= n)
                continue;
            w = (size_t)ref - id0;
            if (state[w] == 1) {
                *bad_index = w;
                return -1;
            }
            if (state[w] == 0) {
                state[w] = 1;
                iter[w] = 0;
                stack[sp++] = (__u32)w;
            }
        }
    }
    return 0;
}

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int bpfobj_map_file_readonly(const char *path, void **addr, size_t *len)
{
    struct stat st;
    void *p;
    int err, fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0) {
        err = -errno;
        close(fd);
        return err;
    }
    if (st.st_size <= 0) {
        close(fd);
        return -ENODATA;
    }
    p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    err = p == MAP_FAILED ? -errno : 0;
    close(fd);
    if (err)
        return err;
    *addr = p;
    *len = (size_t)st.st_size;
    return 0;
}
