/* Byte histograms: one work-group per tile (a byte range of one segment),
 * counted in local memory, then added to the segment's 256 global counters.
 * Counters are u32: the host keeps every segment under 2**32 bytes. */
KERNEL void byte_histogram(GLOBAL const u8 *data, GLOBAL const u64 *tile_start,
                           GLOBAL const u64 *tile_end, GLOBAL const u32 *tile_seg, GLOBAL u32 *hist)
{
    LOCAL u32 h[256];
    for (int k = LID; k < 256; k += WG)
        h[k] = 0;
    BARRIER();
    u64 g = GRP;
    u64 e = tile_end[g];
    for (u64 i = tile_start[g] + LID; i < e; i += WG)
        ATOMIC_ADD_L(h + data[i], 1);
    BARRIER();
    u64 seg = tile_seg[g];
    for (int k = LID; k < 256; k += WG)
        if (h[k])
            ATOMIC_ADD_G(hist + seg * 256 + k, h[k]);
}
