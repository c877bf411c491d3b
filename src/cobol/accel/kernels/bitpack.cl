/* L4 variable bit-packing (cobol.layers.l4_bitpack), bit for bit.
 *
 * One work-group (WG_CHUNK work-items) per chunk; work-item t owns a
 * contiguous slice of the chunk. Chunk-level facts (sums, maxima, runs that
 * cross slices, slot numbers of exceptions) are combined by work-item 0 in
 * slice order through local memory, so the result never depends on timing.
 * Bit fields are OR-ed into a pre-zeroed u32 word stream (put_bits). */

#define L4_CONST 0
#define L4_FOR 1
#define L4_ZERO_RUN 2
#define L4_DELTA 3
#define L4_PATCHED 4
#define L4_COLS 13
#define L4_NONE U64_MAX

DEVFN u64 put_varint_g(GLOBAL u8 *buf, u64 p, u64 v)
{
    while (v >= 0x80) {
        buf[p++] = (u8)((v & 0x7F) | 0x80);
        v >>= 7;
    }
    buf[p++] = (u8)v;
    return p;
}

/* Per chunk: the 13 columns of l4_bitpack._analyze (min, max, range, bits,
 * cost in bits of const/for/zero_run/delta/patched, patch b, run width,
 * nonzero width, delta width), the cheapest allowed strategy (ties to the
 * lower number), its header length in bytes and its payload length in bits. */
KERNEL void l4_analyze(GLOBAL const u64 *codes, GLOBAL u64 *table, GLOBAL u8 *choice,
                       GLOBAL u64 *hdr_len, GLOBAL u64 *pay_bits, u64 n, u64 chunk, u32 allowed)
{
    LOCAL u32 hist[65];
    LOCAL u64 s_lo[WG_CHUNK];
    LOCAL u64 s_hi[WG_CHUNK];
    LOCAL u64 s_nz[WG_CHUNK];
    LOCAL u64 s_maxnz[WG_CHUNK];
    LOCAL u64 s_dmax[WG_CHUNK];
    LOCAL u64 s_first[WG_CHUNK];
    LOCAL u64 s_last[WG_CHUNK];
    LOCAL u64 s_inner[WG_CHUNK];
    int t = LID;
    u64 c = GRP;
    u64 start = c * chunk;
    u64 stop = umin64(start + chunk, n);
    u64 m = stop - start;
    u64 per = (m + WG_CHUNK - 1) / WG_CHUNK;
    u64 a = umin64(start + (u64)t * per, stop);
    u64 b = umin64(a + per, stop);
    for (int k = t; k < 65; k += WG_CHUNK)
        hist[k] = 0;
    BARRIER();
    u64 lo = U64_MAX, hi = 0, nz = 0, maxnz = 0, dmax = 0, first = L4_NONE, last = L4_NONE, inner = 0;
    u64 prev = a > start ? codes[a - 1] : codes[start];
    for (u64 i = a; i < b; i++) {
        u64 v = codes[i];
        lo = umin64(lo, v);
        hi = umax64(hi, v);
        ATOMIC_ADD_L(hist + bit_length64(v), 1);
        dmax = umax64(dmax, zigzag64(v - prev));
        prev = v;
        if (v) {
            nz++;
            maxnz = umax64(maxnz, v - 1);
            if (last != L4_NONE)
                inner = umax64(inner, i - last - 1);
            else
                first = i;
            last = i;
        }
    }
    s_lo[t] = lo;
    s_hi[t] = hi;
    s_nz[t] = nz;
    s_maxnz[t] = maxnz;
    s_dmax[t] = dmax;
    s_first[t] = first;
    s_last[t] = last;
    s_inner[t] = inner;
    BARRIER();
    if (t != 0)
        return;
    lo = U64_MAX;
    hi = 0;
    nz = 0;
    maxnz = 0;
    dmax = 0;
    u64 max_run = 0, next_free = start;
    for (int q = 0; q < WG_CHUNK; q++) {
        lo = umin64(lo, s_lo[q]);
        hi = umax64(hi, s_hi[q]);
        nz += s_nz[q];
        maxnz = umax64(maxnz, s_maxnz[q]);
        dmax = umax64(dmax, s_dmax[q]);
        if (s_first[q] != L4_NONE) {
            max_run = umax64(max_run, umax64(s_first[q] - next_free, s_inner[q]));
            next_free = s_last[q] + 1;
        }
    }
    int w = bit_length64(hi);
    u64 rng = hi - lo;
    u64 cost[5];
    cost[0] = 16 + m * (u64)w;
    cost[1] = 16 + 8 * (u64)varint_len64(lo) + m * (u64)bit_length64(rng);
    int rw = bit_length64(max_run);
    int nzw = bit_length64(maxnz);
    cost[2] = 16 + 8 * (u64)varint_len64(nz) + 8 + nz * (u64)(rw + nzw);
    int dw = bit_length64(dmax);
    cost[3] = 16 + 8 * (u64)varint_len64(codes[start]) + (m - 1) * (u64)dw;
    u64 pw = (u64)bit_length64(m - 1);
    u64 best = 16 + m * (u64)w + 8 + 8;
    int best_b = w;
    u64 above = 0, best_e = 0;
    for (int bb = w - 1; bb >= 0; bb--) {
        above += hist[bb + 1];
        u64 cb = 16 + 8 + 8 * (u64)varint_len64(above) + m * (u64)bb + above * (pw + (u64)(w - bb));
        if (cb < best) {
            best = cb;
            best_b = bb;
            best_e = above;
        }
    }
    cost[4] = best;
    GLOBAL u64 *row = table + c * L4_COLS;
    row[0] = lo;
    row[1] = hi;
    row[2] = rng;
    row[3] = (u64)w;
    for (int k = 0; k < 5; k++)
        row[4 + k] = cost[k];
    row[9] = (u64)best_b;
    row[10] = (u64)rw;
    row[11] = (u64)nzw;
    row[12] = (u64)dw;
    int s = -1;
    for (int k = 0; k < 5; k++)
        if (((allowed >> k) & 1) && (s < 0 || cost[k] < cost[s]))
            s = k;
    if (s < 0)
        s = 0;
    u64 h;
    if (s == L4_CONST)
        h = 2;
    else if (s == L4_FOR)
        h = 2 + (u64)varint_len64(lo);
    else if (s == L4_ZERO_RUN)
        h = 3 + (u64)varint_len64(nz);
    else if (s == L4_DELTA)
        h = 2 + (u64)varint_len64(codes[start]);
    else
        h = 3 + (u64)varint_len64(best_e);
    choice[c] = (u8)s;
    hdr_len[c] = h;
    pay_bits[c] = cost[s] - 8 * h;
}

/* Writes chunk c's header at hdr_incl[c] - hdr_len[c] and its fields at bit
 * bits_incl[c] - pay_bits[c] (inclusive scans of the analysis outputs). */
KERNEL void l4_pack(GLOBAL const u64 *codes, GLOBAL const u64 *table, GLOBAL const u8 *choice,
                    GLOBAL const u8 *tags, GLOBAL const u64 *hdr_len, GLOBAL const u64 *hdr_incl,
                    GLOBAL const u64 *pay_bits, GLOBAL const u64 *bits_incl,
                    GLOBAL u8 *headers, GLOBAL u32 *words, u64 n, u64 chunk)
{
    LOCAL u64 s_cnt[WG_CHUNK];
    LOCAL u64 s_next[WG_CHUNK];
    LOCAL u64 s_total[1];
    int t = LID;
    u64 c = GRP;
    u64 start = c * chunk;
    u64 stop = umin64(start + chunk, n);
    u64 m = stop - start;
    u64 per = (m + WG_CHUNK - 1) / WG_CHUNK;
    u64 a = umin64(start + (u64)t * per, stop);
    u64 b = umin64(a + per, stop);
    GLOBAL const u64 *row = table + c * L4_COLS;
    int s = choice[c];
    u64 pos0 = bits_incl[c] - pay_bits[c];
    int w = (int)row[3];
    int pb = (int)row[9];
    /* slot numbers: nonzero values (zero run) or exceptions (patched) before each slice */
    u64 cnt = 0, lastf = L4_NONE;
    if (s == L4_ZERO_RUN || s == L4_PATCHED) {
        for (u64 i = a; i < b; i++) {
            u64 v = codes[i];
            int f = s == L4_ZERO_RUN ? v != 0 : (pb < 64 && (v >> pb) != 0);
            if (f) {
                cnt++;
                lastf = i;
            }
        }
    }
    s_cnt[t] = cnt;
    s_next[t] = lastf;
    BARRIER();
    if (t == 0) {
        u64 run = 0, nf = start;
        for (int q = 0; q < WG_CHUNK; q++) {
            u64 k = s_cnt[q], l = s_next[q];
            s_cnt[q] = run;
            s_next[q] = nf;
            run += k;
            if (k)
                nf = l + 1;
        }
        s_total[0] = run;
        u64 hp = hdr_incl[c] - hdr_len[c];
        headers[hp++] = (u8)(s | (tags[c] << 3));
        if (s == L4_CONST) {
            headers[hp++] = (u8)w;
        } else if (s == L4_FOR) {
            headers[hp++] = (u8)bit_length64(row[2]);
            put_varint_g(headers, hp, row[0]);
        } else if (s == L4_ZERO_RUN) {
            headers[hp++] = (u8)row[11];
            hp = put_varint_g(headers, hp, run);
            headers[hp] = (u8)row[10];
        } else if (s == L4_DELTA) {
            headers[hp++] = (u8)row[12];
            put_varint_g(headers, hp, codes[start]);
        } else {
            headers[hp++] = (u8)w;
            headers[hp++] = (u8)pb;
            put_varint_g(headers, hp, run);
        }
    }
    BARRIER();
    u64 slot = s_cnt[t], nf = s_next[t], total = s_total[0];
    if (s == L4_CONST) {
        for (u64 i = a; i < b; i++)
            put_bits(words, pos0 + (i - start) * (u64)w, codes[i], w);
    } else if (s == L4_FOR) {
        int fw = bit_length64(row[2]);
        u64 base = row[0];
        for (u64 i = a; i < b; i++)
            put_bits(words, pos0 + (i - start) * (u64)fw, codes[i] - base, fw);
    } else if (s == L4_DELTA) {
        int dw = (int)row[12];
        for (u64 i = umax64(a, start + 1); i < b; i++)
            put_bits(words, pos0 + (i - start - 1) * (u64)dw, zigzag64(codes[i] - codes[i - 1]), dw);
    } else if (s == L4_ZERO_RUN) {
        int rw = (int)row[10], vw = (int)row[11];
        for (u64 i = a; i < b; i++) {
            u64 v = codes[i];
            if (v) {
                put_bits(words, pos0 + slot * (u64)rw, i - nf, rw);
                put_bits(words, pos0 + total * (u64)rw + slot * (u64)vw, v - 1, vw);
                slot++;
                nf = i + 1;
            }
        }
    } else {
        int pw = bit_length64(m - 1);
        u64 low_mask = pb == 64 ? U64_MAX : ((((u64)1) << pb) - 1);
        u64 hi_base = pos0 + m * (u64)pb + total * (u64)pw;
        for (u64 i = a; i < b; i++) {
            u64 v = codes[i];
            put_bits(words, pos0 + (i - start) * (u64)pb, v & low_mask, pb);
            if (pb < 64 && (v >> pb) != 0) {
                put_bits(words, pos0 + m * (u64)pb + slot * (u64)pw, i - start, pw);
                put_bits(words, hi_base + slot * (u64)(w - pb), v >> pb, w - pb);
                slot++;
            }
        }
    }
}

/* Decoding, from chunk descriptors the host parsed and validated out of the
 * headers (strategy, width, p1 = base / k / e, p2 = run width / b, bit
 * position). The checks that need the bit stream happen here: a zero run
 * past the chunk's end (err 8) and patch positions out of range or not
 * increasing (err 9); the chunk is then left unfinished and the host raises. */
KERNEL void l4_unpack(GLOBAL const u32 *words, GLOBAL const u8 *strat, GLOBAL const u8 *wid,
                      GLOBAL const u64 *p1, GLOBAL const u8 *p2, GLOBAL const u64 *bitpos,
                      GLOBAL u64 *out, GLOBAL u8 *err, u64 n, u64 chunk)
{
    LOCAL u64 s_sum[WG_CHUNK];
    LOCAL u32 s_bad[1];
    int t = LID;
    u64 c = GRP;
    u64 start = c * chunk;
    u64 stop = umin64(start + chunk, n);
    u64 m = stop - start;
    u64 per = (m + WG_CHUNK - 1) / WG_CHUNK;
    u64 a = umin64(start + (u64)t * per, stop);
    u64 b = umin64(a + per, stop);
    int s = strat[c];
    int w = wid[c];
    u64 pos = bitpos[c];
    u64 q1 = p1[c];
    int q2 = p2[c];
    if (t == 0)
        s_bad[0] = 0;
    BARRIER();
    /* phase 1: plain fields, slice sums, validation */
    u64 sum = 0;
    u64 k = q1;  /* zero run: nonzero count; patched: exception count */
    u64 kper = (k + WG_CHUNK - 1) / WG_CHUNK;
    u64 ja = umin64((u64)t * kper, k), jb = umin64(ja + kper, k);
    int pw = bit_length64(m - 1);
    if (s == L4_CONST || s == L4_FOR) {
        u64 base = s == L4_FOR ? q1 : 0;
        for (u64 i = a; i < b; i++)
            out[i] = get_bits(words, pos + (i - start) * (u64)w, w) + base;
    } else if (s == L4_DELTA) {
        for (u64 i = umax64(a, start + 1); i < b; i++)
            sum += unzigzag64(get_bits(words, pos + (i - start - 1) * (u64)w, w));
    } else if (s == L4_ZERO_RUN) {
        int rw = q2;
        for (u64 i = a; i < b; i++)
            out[i] = 0;
        for (u64 j = ja; j < jb; j++) {
            u64 run = get_bits(words, pos + j * (u64)rw, rw);
            if (run >= m)
                ATOMIC_ADD_L(s_bad, 1);
            else
                sum += run + 1;
        }
    } else {
        int pb = q2;
        for (u64 i = a; i < b; i++)
            out[i] = get_bits(words, pos + (i - start) * (u64)pb, pb);
        u64 pbase = pos + m * (u64)pb;
        for (u64 j = ja; j < jb; j++) {
            u64 p = get_bits(words, pbase + j * (u64)pw, pw);
            if (p >= m || (j > 0 && p <= get_bits(words, pbase + (j - 1) * (u64)pw, pw)))
                ATOMIC_ADD_L(s_bad, 1);
        }
    }
    s_sum[t] = sum;
    BARRIER();
    if (t == 0) {
        u64 acc = s == L4_DELTA ? q1 : start;
        for (int q = 0; q < WG_CHUNK; q++) {
            u64 x = s_sum[q];
            s_sum[q] = acc;
            acc += x;
        }
        if (s == L4_ZERO_RUN && acc > stop)
            s_bad[0] += 1;
    }
    BARRIER();
    /* phase 2: fields that need the slice prefixes */
    int bad = s_bad[0] != 0;
    if (s == L4_DELTA) {
        u64 acc = s_sum[t];
        for (u64 i = a; i < b; i++) {
            if (i > start)
                acc += unzigzag64(get_bits(words, pos + (i - start - 1) * (u64)w, w));
            out[i] = acc;
        }
    } else if (s == L4_ZERO_RUN && !bad) {
        int rw = q2;
        u64 p = s_sum[t];
        u64 vbase = pos + k * (u64)rw;
        for (u64 j = ja; j < jb; j++) {
            p += get_bits(words, pos + j * (u64)rw, rw);
            out[p] = get_bits(words, vbase + j * (u64)w, w) + 1;
            p++;
        }
    } else if (s == L4_PATCHED && !bad) {
        int pb = q2;
        u64 pbase = pos + m * (u64)pb;
        u64 hbase = pbase + k * (u64)pw;
        for (u64 j = ja; j < jb; j++) {
            u64 p = get_bits(words, pbase + j * (u64)pw, pw);
            out[start + p] |= get_bits(words, hbase + j * (u64)(w - pb), w - pb) << pb;
        }
    }
    if (t == 0)
        err[c] = bad ? (s == L4_ZERO_RUN ? 8 : 9) : 0;
}
