/* Multi-pattern matching: every (overlapping) occurrence of up to 32 byte
 * patterns. first_lut[b] has bit j set when pattern j starts with byte b, so a
 * position only compares the patterns its byte can start; `single` has the
 * bits of the one-byte patterns. */
KERNEL void pattern_mask(GLOBAL const u8 *data, GLOBAL const u8 *pats, GLOBAL const u32 *pat_off,
                         GLOBAL const u32 *first_lut, GLOBAL u32 *mask, u64 n, i32 npat, u32 single)
{
    u64 i = GRP * WG + LID;
    if (i >= n)
        return;
    u32 cand = first_lut[data[i]];
    /* one-byte patterns (structural characters) match on the table alone */
    u32 m = cand & single;
    cand &= ~single;
    for (int j = 0; j < npat && cand; j++) {
        if (!((cand >> j) & 1))
            continue;
        cand &= ~(1u << j);
        u32 a = pat_off[j];
        u64 len = pat_off[j + 1] - a;
        if (i + len > n)
            continue;
        int ok = 1;
        for (u64 k = 1; k < len; k++) {
            if (data[i + k] != pats[a + k]) {
                ok = 0;
                break;
            }
        }
        if (ok)
            m |= 1u << j;
    }
    mask[i] = m;
}

/* out[j * nbytes + k] bit b = pattern j occurs at 8k + b (LSB-first). */
KERNEL void pattern_bitmap(GLOBAL const u32 *mask, GLOBAL u8 *out, u64 n, u64 nbytes, i32 npat)
{
    u64 k = GRP * WG + LID;
    if (k >= nbytes)
        return;
    u32 m[8];
    for (int b = 0; b < 8; b++)
        m[b] = 8 * k + b < n ? mask[8 * k + b] : 0;
    for (int j = 0; j < npat; j++) {
        u32 byte = 0;
        for (int b = 0; b < 8; b++)
            byte |= ((m[b] >> j) & 1) << b;
        out[(u64)j * nbytes + k] = (u8)byte;
    }
}

KERNEL void pattern_counts(GLOBAL const u32 *mask, GLOBAL u64 *counts, u64 n)
{
    u64 i = GRP * WG + LID;
    if (i < n)
        counts[i] = (u64)POPC32(mask[i]);
}

/* Matches in (position, pattern index) order. */
KERNEL void pattern_scatter(GLOBAL const u32 *mask, GLOBAL const u64 *counts_incl,
                            GLOBAL u64 *positions, GLOBAL u8 *ids, u64 n)
{
    u64 i = GRP * WG + LID;
    if (i >= n)
        return;
    u32 m = mask[i];
    if (!m)
        return;
    u64 o = counts_incl[i] - (u64)POPC32(m);
    while (m) {
        u32 low = m & (~m + 1);  /* lowest set bit: pattern POPC32(low - 1) */
        positions[o] = i;
        ids[o] = (u8)POPC32(low - 1);
        o++;
        m ^= low;
    }
}
