/* Inclusive segmented scan (prefix sum) of u64 values, modulo 2**64.
 *
 * Element i is (flag[i], v[i]); the running sum restarts at v[i] where flag[i]
 * is set. The combining operator (f1, v1) + (f2, v2) = (f1 | f2, f2 ? v2 :
 * v1 + v2) is associative, so the scan runs in tiles of SCAN_TILE elements:
 *
 *   scan_tiles   each work-group scans one tile (SCAN_ITEMS sequential values
 *                per work-item, then a Hillis-Steele scan over the work-items'
 *                totals in local memory) and writes the tile's total;
 *   (host)       scans the tile totals the same way, recursively;
 *   scan_fixup   adds the total of all earlier tiles to each element that no
 *                reset separates from its tile's start (seen[i] == 0).
 *
 * use_flags = 0 makes it a plain prefix sum (flags and seen are not touched).
 */
KERNEL void scan_tiles(GLOBAL const u64 *in, GLOBAL const u8 *flags, GLOBAL u64 *out,
                       GLOBAL u8 *seen, GLOBAL u64 *tile_sum, GLOBAL u8 *tile_flag,
                       u64 n, i32 use_flags)
{
    LOCAL u64 sv[WG];
    LOCAL u32 sf[WG];
    int t = LID;
    u64 base = GRP * SCAN_TILE + (u64)t * SCAN_ITEMS;
    u64 acc = 0;
    u32 f = 0;
    for (int j = 0; j < SCAN_ITEMS; j++) {
        u64 i = base + j;
        if (i < n) {
            u64 v = in[i];
            if (use_flags && flags[i]) {
                acc = v;
                f = 1;
            } else {
                acc += v;
            }
        }
    }
    sv[t] = acc;
    sf[t] = f;
    BARRIER();
    for (int d = 1; d < WG; d <<= 1) {
        u64 pv = 0;
        u32 pf = 0;
        if (t >= d) {
            pv = sv[t - d];
            pf = sf[t - d];
        }
        BARRIER();
        if (t >= d) {
            if (!sf[t])
                sv[t] += pv;
            sf[t] |= pf;
        }
        BARRIER();
    }
    acc = t ? sv[t - 1] : 0;
    f = t ? sf[t - 1] : 0;
    for (int j = 0; j < SCAN_ITEMS; j++) {
        u64 i = base + j;
        if (i < n) {
            u64 v = in[i];
            if (use_flags && flags[i]) {
                acc = v;
                f = 1;
            } else {
                acc += v;
            }
            out[i] = acc;
            if (use_flags)
                seen[i] = (u8)f;
        }
    }
    if (t == WG - 1) {
        tile_sum[GRP] = sv[WG - 1];
        tile_flag[GRP] = (u8)sf[WG - 1];
    }
}

KERNEL void scan_fixup(GLOBAL u64 *out, GLOBAL const u8 *seen, GLOBAL const u64 *tile_incl,
                       u64 n, i32 use_flags)
{
    u64 i = GRP * WG + LID;
    if (i >= n)
        return;
    u64 tile = i / SCAN_TILE;
    if (tile == 0 || (use_flags && seen[i]))
        return;
    out[i] += tile_incl[tile - 1];
}
