/* Dictionary lookup: tokens (byte ranges of one buffer) or 64-bit token hashes
 * to dense ids through an open-addressing table (linear probing, load <= 1/2,
 * empty slot id = -1) built on the host (cobol.accel.base.DictionaryTable). */

DEVFN u64 fnv1a64(GLOBAL const u8 *p, u64 len)
{
    u64 h = (u64)0xcbf29ce484222325UL;
    for (u64 k = 0; k < len; k++) {
        h ^= p[k];
        h *= (u64)0x100000001b3UL;
    }
    return h;
}

/* Table slot of a hash (mirrored by DictionaryTable on the host). */
DEVFN u64 slot_of(u64 h, u64 mask)
{
    u64 x = h * (u64)0x9E3779B97F4A7C15UL;
    return (x ^ (x >> 32)) & mask;
}

/* The index of the first token with a bad range goes to *first_bad. */
KERNEL void hash_tokens(GLOBAL const u8 *buf, GLOBAL const u64 *starts, GLOBAL const u64 *ends,
                        GLOBAL u64 *out, GLOBAL u32 *first_bad, u64 ntok, u64 nbuf)
{
    u64 i = GRP * WG + LID;
    if (i >= ntok)
        return;
    u64 s = starts[i], e = ends[i];
    if (s > e || e > nbuf) {
        ATOMIC_MIN_G(first_bad, i);
        out[i] = 0;
        return;
    }
    out[i] = fnv1a64(buf + s, e - s);
}

KERNEL void lookup_tokens(GLOBAL const u8 *buf, GLOBAL const u64 *starts, GLOBAL const u64 *ends,
                          GLOBAL const u64 *slot_hash, GLOBAL const i32 *slot_id,
                          GLOBAL const u8 *key_data, GLOBAL const u64 *key_off,
                          GLOBAL i32 *out, GLOBAL u32 *first_bad, u64 ntok, u64 nbuf, u64 mask)
{
    u64 i = GRP * WG + LID;
    if (i >= ntok)
        return;
    u64 s = starts[i], e = ends[i];
    if (s > e || e > nbuf) {
        ATOMIC_MIN_G(first_bad, i);
        out[i] = -1;
        return;
    }
    u64 len = e - s;
    u64 h = fnv1a64(buf + s, len);
    u64 slot = slot_of(h, mask);
    i32 found = -1;
    for (u64 probe = 0; probe <= mask; probe++) {
        i32 id = slot_id[slot];
        if (id < 0)
            break;
        if (slot_hash[slot] == h) {
            u64 a = key_off[id], b = key_off[id + 1];
            if (b - a == len) {
                int same = 1;
                for (u64 k = 0; k < len; k++) {
                    if (key_data[a + k] != buf[s + k]) {
                        same = 0;
                        break;
                    }
                }
                if (same) {
                    found = id;
                    break;
                }
            }
        }
        slot = (slot + 1) & mask;
    }
    out[i] = found;
}

KERNEL void lookup_hashes(GLOBAL const u64 *hashes, GLOBAL const u64 *slot_hash,
                          GLOBAL const i32 *slot_id, GLOBAL i32 *out, u64 ntok, u64 mask)
{
    u64 i = GRP * WG + LID;
    if (i >= ntok)
        return;
    u64 h = hashes[i];
    u64 slot = slot_of(h, mask);
    i32 found = -1;
    for (u64 probe = 0; probe <= mask; probe++) {
        i32 id = slot_id[slot];
        if (id < 0)
            break;
        if (slot_hash[slot] == h) {
            found = id;
            break;
        }
        slot = (slot + 1) & mask;
    }
    out[i] = found;
}
