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

long bpfobj_btf_find_name(const unsigned char *data, const __u32 *offsets, size_t n,
                          size_t str_start, size_t str_len, size_t base_str_len,
                          const char *name, size_t name_len, __u32 *out, size_t max_out)
{
    const unsigned char *strs = data + str_start;
    size_t i, found = 0;
    for (i = 0; i < n; i++) {
        size_t off = btf_u32(data + offsets[i]);
        if (off < base_str_len)
            continue;
        off -= base_str_len;
        if (off >= str_len || name_len >= str_len - off)
            continue;
        if (strs[off + name_len] != 0 || memcmp(strs + off, name, name_len) != 0)
            continue;
        if (found < max_out)
            out[found] = (__u32)i;
        found++;
    }
    return (long)found;
}
