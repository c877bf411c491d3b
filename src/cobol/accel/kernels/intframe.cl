/* Frame of reference and common divisor of an int64 array
 * (cobol.layers.intcodec._frame_of_reference): x = base + g * y, base = min,
 * g = gcd of the nonzero x - base (uint64 wraparound), y >= 0. The reductions
 * write one partial per work-group (grid-stride loops); the host finishes them. */

DEVFN u64 gcd64(u64 a, u64 b)
{
    while (b != 0) {
        u64 r = a % b;
        a = b;
        b = r;
    }
    return a;
}

KERNEL void reduce_min_i64(GLOBAL const i64 *x, GLOBAL i64 *partial, u64 n)
{
    LOCAL i64 s[WG];
    int t = LID;
    i64 lo = x[0];
    for (u64 i = GRP * WG + t; i < n; i += NGRP * WG)
        lo = imin64(lo, x[i]);
    s[t] = lo;
    BARRIER();
    for (int d = WG / 2; d > 0; d >>= 1) {
        if (t < d)
            s[t] = imin64(s[t], s[t + d]);
        BARRIER();
    }
    if (t == 0)
        partial[GRP] = s[0];
}

KERNEL void reduce_gcd(GLOBAL const u64 *u, GLOBAL u64 *partial, u64 base, u64 n)
{
    LOCAL u64 s[WG];
    int t = LID;
    u64 g = 0;
    for (u64 i = GRP * WG + t; i < n; i += NGRP * WG) {
        u64 d = u[i] - base;
        if (d != 0 && g != 1)
            g = g ? gcd64(d, g) : d;
    }
    s[t] = g;
    BARRIER();
    for (int d = WG / 2; d > 0; d >>= 1) {
        if (t < d)
            s[t] = gcd64(s[t], s[t + d]);
        BARRIER();
    }
    if (t == 0)
        partial[GRP] = s[0];
}

KERNEL void frame_apply(GLOBAL const u64 *u, GLOBAL u64 *y, u64 base, u64 g, u64 n)
{
    u64 i = GRP * WG + LID;
    if (i >= n)
        return;
    u64 d = u[i] - base;
    y[i] = g > 1 ? d / g : d;
}
