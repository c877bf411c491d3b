/* L3 delta coding (cobol.layers.l3_delta), bit for bit.
 *
 * Residual of value i under order 0/1/2/3: x, zz(x - x[i-1]), zz(x - 2 x[i-1]
 * + x[i-2]), x - x[i-1] (order 3 = order 1 without zigzag, for chunks whose
 * steps are all >= 0); zz = zigzag, order 0 zigzags only if zigzag0. Values
 * before index 0 count as 0; predictions use the whole array whatever the
 * chunk; all arithmetic is uint64. */

/* One work-group per chunk: the order whose residual range (max - min, as
 * signed int64) has the fewest bits, ties to the lower; order 1 becomes 3 when
 * no step is negative; values 0 and 1 do not vote. */
KERNEL void delta_choose_orders(GLOBAL const u64 *u, GLOBAL u8 *orders, u64 n, u64 chunk)
{
    LOCAL i64 s_lo[3][WG_CHUNK];
    LOCAL i64 s_hi[3][WG_CHUNK];
    LOCAL u32 s_any[WG_CHUNK];
    int t = LID;
    u64 c = GRP;
    u64 start = c * chunk;
    u64 stop = umin64(start + chunk, n);
    u64 first = umax64(start, 2);
    i64 lo0 = 0, hi0 = 0, lo1 = 0, hi1 = 0, lo2 = 0, hi2 = 0;
    u32 any = 0;
    for (u64 i = first + t; i < stop; i += WG_CHUNK) {
        u64 x = u[i], p1 = u[i - 1], p2 = u[i - 2];
        i64 r0 = (i64)x, r1 = (i64)(x - p1), r2 = (i64)(x - 2 * p1 + p2);
        if (!any) {
            lo0 = hi0 = r0;
            lo1 = hi1 = r1;
            lo2 = hi2 = r2;
            any = 1;
        }
        lo0 = imin64(lo0, r0); hi0 = imax64(hi0, r0);
        lo1 = imin64(lo1, r1); hi1 = imax64(hi1, r1);
        lo2 = imin64(lo2, r2); hi2 = imax64(hi2, r2);
    }
    s_lo[0][t] = lo0; s_hi[0][t] = hi0;
    s_lo[1][t] = lo1; s_hi[1][t] = hi1;
    s_lo[2][t] = lo2; s_hi[2][t] = hi2;
    s_any[t] = any;
    BARRIER();
    for (int d = WG_CHUNK / 2; d > 0; d >>= 1) {
        if (t < d && s_any[t + d]) {
            if (!s_any[t]) {
                for (int k = 0; k < 3; k++) {
                    s_lo[k][t] = s_lo[k][t + d];
                    s_hi[k][t] = s_hi[k][t + d];
                }
                s_any[t] = 1;
            } else {
                for (int k = 0; k < 3; k++) {
                    s_lo[k][t] = imin64(s_lo[k][t], s_lo[k][t + d]);
                    s_hi[k][t] = imax64(s_hi[k][t], s_hi[k][t + d]);
                }
            }
        }
        BARRIER();
    }
    if (t == 0) {
        u8 best = 0;
        if (s_any[0]) {
            int cost0 = bit_length64((u64)s_hi[0][0] - (u64)s_lo[0][0]);
            int cost1 = bit_length64((u64)s_hi[1][0] - (u64)s_lo[1][0]);
            int cost2 = bit_length64((u64)s_hi[2][0] - (u64)s_lo[2][0]);
            if (cost1 < cost0) {
                best = 1;
                cost0 = cost1;
            }
            if (cost2 < cost0)
                best = 2;
            if (best == 1 && s_lo[1][0] >= 0)
                best = 3;
        }
        orders[c] = best;
    }
}

/* Element-parallel: orders other than 0, 1 and 3 count as 2 (as the CPU encoder). */
KERNEL void delta_encode(GLOBAL const u64 *u, GLOBAL const u8 *orders, GLOBAL u64 *out,
                         u64 n, u64 chunk, i32 zigzag0)
{
    u64 i = GRP * WG + LID;
    if (i >= n)
        return;
    u8 o = orders[i / chunk];
    u64 x = u[i];
    u64 p1 = i >= 1 ? u[i - 1] : 0;
    u64 p2 = i >= 2 ? u[i - 2] : 0;
    if (o == 0)
        out[i] = zigzag0 ? zigzag64(x) : x;
    else if (o == 1)
        out[i] = zigzag64(x - p1);
    else if (o == 3)
        out[i] = x - p1;
    else
        out[i] = zigzag64(x - 2 * p1 + p2);
}

/* Decoding is two segmented prefix sums (scan.cl). With d[i] = x[i] - x[i-1]:
 * an order-1 or order-3 element has d = r (a reset; r is the unzigzagged code,
 * or the code itself for order 3), an order-2 element d = d[i-1] + r
 * (an add), an order-0 element d = x[i] - x[i-1] read straight from the codes
 * (a reset; at a chunk start its d is never used when chunk >= 2, the host
 * handles chunk == 1). Then x = x[i-1] + d for orders 1 and 2 and x = r
 * (a reset) for order 0. This kernel writes the first scan's input. */
KERNEL void delta_decode_d(GLOBAL const u64 *z, GLOBAL const u8 *orders, GLOBAL u64 *dv,
                           GLOBAL u8 *dflag, GLOBAL u32 *bad_chunk, u64 n, u64 chunk, i32 zigzag0)
{
    u64 i = GRP * WG + LID;
    if (i >= n)
        return;
    u64 c = i / chunk;
    u8 o = orders[c];
    if (o > 3) {
        ATOMIC_MIN_G(bad_chunk, c);
        dv[i] = 0;
        dflag[i] = 1;
        return;
    }
    if (o == 0) {
        u64 x = zigzag0 ? unzigzag64(z[i]) : z[i];
        u64 p = 0;
        if (i > c * chunk)
            p = zigzag0 ? unzigzag64(z[i - 1]) : z[i - 1];
        dv[i] = x - p;
        dflag[i] = 1;
    } else if (o == 3) {
        dv[i] = z[i];
        dflag[i] = 1;
    } else {
        dv[i] = unzigzag64(z[i]);
        dflag[i] = o == 1;
    }
}

KERNEL void delta_decode_x(GLOBAL const u64 *z, GLOBAL const u8 *orders, GLOBAL const u64 *d,
                           GLOBAL u64 *xv, GLOBAL u8 *xflag, u64 n, u64 chunk, i32 zigzag0)
{
    u64 i = GRP * WG + LID;
    if (i >= n)
        return;
    u8 o = orders[i / chunk];
    if (o == 0) {
        xv[i] = zigzag0 ? unzigzag64(z[i]) : z[i];
        xflag[i] = 1;
    } else {
        xv[i] = d[i];
        xflag[i] = 0;
    }
}
