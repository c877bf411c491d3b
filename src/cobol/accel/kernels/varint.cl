/* LEB128 varints (cobol.format.wire): 7 bits per byte, least significant group
 * first, high bit on every byte but the last, at most 10 bytes, minimal. */

KERNEL void varint_lengths(GLOBAL const u64 *values, GLOBAL u64 *lengths, u64 n)
{
    u64 i = GRP * WG + LID;
    if (i < n)
        lengths[i] = (u64)varint_len64(values[i]);
}

/* ends_incl = inclusive scan of the lengths: value i starts at ends_incl[i] - len. */
KERNEL void varint_write(GLOBAL const u64 *values, GLOBAL const u64 *ends_incl, GLOBAL u8 *out, u64 n)
{
    u64 i = GRP * WG + LID;
    if (i >= n)
        return;
    u64 x = values[i];
    int len = varint_len64(x);
    u64 p = ends_incl[i] - (u64)len;
    for (int k = 0; k < len - 1; k++) {
        out[p + k] = (u8)((x & 0x7F) | 0x80);
        x >>= 7;
    }
    out[p + len - 1] = (u8)x;
}

/* 1 where a varint ends (high bit clear). */
KERNEL void varint_end_flags(GLOBAL const u8 *buf, GLOBAL u64 *is_end, u64 n)
{
    u64 i = GRP * WG + LID;
    if (i < n)
        is_end[i] = buf[i] < 0x80 ? 1 : 0;
}

KERNEL void varint_scatter_ends(GLOBAL const u8 *buf, GLOBAL const u64 *ends_incl, GLOBAL u64 *ends, u64 n)
{
    u64 i = GRP * WG + LID;
    if (i < n && buf[i] < 0x80)
        ends[ends_incl[i] - 1] = i;
}

/* Decode varint j from its last byte ends[j]; the index of the first invalid
 * one (longer than 10 bytes, not minimal, above 64 bits) goes to *first_bad. */
KERNEL void varint_decode(GLOBAL const u8 *buf, GLOBAL const u64 *ends, GLOBAL u64 *out,
                          GLOBAL u32 *first_bad, u64 count)
{
    u64 j = GRP * WG + LID;
    if (j >= count)
        return;
    u64 e = ends[j];
    u64 s = j ? ends[j - 1] + 1 : 0;
    u64 len = e - s + 1;
    if (len > 10 || (len > 1 && buf[e] == 0) || (len == 10 && buf[e] > 1)) {
        ATOMIC_MIN_G(first_bad, j);
        out[j] = 0;
        return;
    }
    u64 x = 0;
    for (u64 k = 0; k < len; k++)
        x |= (u64)(buf[s + k] & 0x7F) << (7 * k);
    out[j] = x;
}
