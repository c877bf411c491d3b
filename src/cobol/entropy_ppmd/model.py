"""The PPMd var.H context model (Shkarin's PPMd H, as 7-Zip's Ppmd7 runs it):
restart, successor creation, model update after each symbol, rescaling, and
the SEE / binary-context probability lookups the coders share.

Symbols are coded by :mod:`.decoder` / :mod:`.encoder`; both call the same
update functions here, so the decoder's model is, symbol for symbol, the one
the encoder had. Heap layout and accessors: :mod:`.heap`. Arithmetic that is
unsigned 16/32-bit in 7-Zip is masked to that width, so even a model fed
unusual data evolves exactly as 7-Zip's would.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .heap import (
    ALIGN, BIN, CS_PS, CS_PS_LEN, DUMMY_SEE, ERR, ERR_MODEL, FOUND, FREE, GLUE_COUNT, HI_BITS, HI_UNIT, INIT_ESC, INIT_RL, LO_UNIT,
    MAX_CTX, MAX_ORD, MAX_ORDER, MIN_CTX, NUM_INDEXES, ORDER_FALL, PREV_SUCCESS, RESTARTS, RUN_LENGTH, SEE, SIZE, TEXT,
    UNIT_SIZE, UNITS_START, alloc_context, alloc_units, copy_state, copy_units, get8, get16, get32, get_successor,
    insert_node, set8, set16, set32, set_successor, shrink_units, swap_states, u2i,
)

MAX_FREQ = 124
INT_BITS = 7
PERIOD_BITS = 7
BIN_SCALE = 1 << (INT_BITS + PERIOD_BITS)
M32 = 0xFFFFFFFF
#: bound on walks along suffix chains (a chain is at most MAX_ORDER + 1 long)
CHAIN_BOUND = 4 * MAX_ORDER

EXP_ESCAPE = np.array([25, 14, 9, 7, 5, 5, 4, 4, 4, 3, 3, 3, 2, 2, 2, 2], np.int64)
INIT_BIN_ESC = np.array([0x3CDD, 0x1F3F, 0x59BF, 0x48F3, 0x64A1, 0x5ABC, 0x6632, 0x6051], np.int64)


def _tables():
    ns2bs = np.empty(256, np.int64)
    ns2bs[0], ns2bs[1], ns2bs[2:11], ns2bs[11:] = 0, 2, 4, 6
    ns2indx = np.empty(256, np.int64)
    ns2indx[:3] = (0, 1, 2)
    step, k = 3, 1
    for i in range(3, 256):
        ns2indx[i] = step
        k -= 1
        if k == 0:
            step += 1
            k = step - 2
    hb2flag = np.where(np.arange(256) >= 0x40, 8, 0).astype(np.int64)
    return ns2bs, ns2indx, hb2flag


NS2BS_INDX, NS2INDX, HB2FLAG = _tables()

# ---- field accessors of contexts and states


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def num_stats(h16, c):
    return get16(h16, c)


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def summ_freq(h16, c):
    return get16(h16, c + 2)


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def stats(h32, c):
    return get32(h32, c + 4)


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def suffix(h32, c):
    return get32(h32, c + 8)


@njit(cache=True, nogil=True, _nrt=False)
def find_state(h8, h16, h32, m, c, sym):
    """The state of ``sym`` in the (multi-symbol) context c; it must be there."""
    s = stats(h32, c)
    n = num_stats(h16, c)
    for _ in range(n):
        if get8(h8, s) == sym:
            return s
        s += 6
    m[ERR] = ERR_MODEL
    return stats(h32, c)


# ---- restart


@njit(cache=True, nogil=True, _nrt=False)
def restart_model(h8, h16, h32, m):
    m[RESTARTS] += 1
    for i in range(NUM_INDEXES):
        m[FREE + i] = 0
    size = m[SIZE]
    m[TEXT] = ALIGN
    m[HI_UNIT] = ALIGN + size
    m[LO_UNIT] = m[UNITS_START] = m[HI_UNIT] - size // 8 // UNIT_SIZE * 7 * UNIT_SIZE
    m[GLUE_COUNT] = 0
    m[ORDER_FALL] = m[MAX_ORD]
    m[RUN_LENGTH] = m[INIT_RL] = -min(m[MAX_ORD], 12) - 1
    m[PREV_SUCCESS] = 0

    m[HI_UNIT] -= UNIT_SIZE
    c = m[HI_UNIT]
    m[MIN_CTX] = m[MAX_CTX] = c
    set32(h32, c + 8, 0)
    set16(h16, c, 256)
    set16(h16, c + 2, 256 + 1)
    s = m[LO_UNIT]
    m[FOUND] = s
    m[LO_UNIT] += (256 // 2) * UNIT_SIZE
    set32(h32, c + 4, s)
    for i in range(256):
        set8(h8, s + 6 * i, i)
        set8(h8, s + 6 * i + 1, 1)
        set_successor(h16, s + 6 * i, 0)
    for i in range(128):
        for k in range(8):
            val = BIN_SCALE - INIT_BIN_ESC[k] // (i + 2)
            for j in range(0, 64, 8):
                m[BIN + i * 64 + k + j] = val
    for i in range(25):
        for k in range(16):
            e = SEE + 3 * (i * 16 + k)
            m[e + 1] = PERIOD_BITS - 4
            m[e] = ((5 * i + 10) << m[e + 1]) & 0xFFFF
            m[e + 2] = 4


@njit(cache=True, nogil=True, _nrt=False)
def init_model(h8, h16, h32, m, size, max_order):
    """A fresh model of ``size`` heap bytes (a multiple of 4) and order 2..64."""
    m[:] = 0
    m[RESTARTS] = -1  # the first start is no restart
    m[SIZE] = size
    m[MAX_ORD] = max_order
    restart_model(h8, h16, h32, m)
    e = SEE + 3 * DUMMY_SEE
    m[e], m[e + 1], m[e + 2] = 0, PERIOD_BITS, 64


# ---- successors


@njit(cache=True, nogil=True, _nrt=False)
def create_successors(h8, h16, h32, m, skip):
    """Contexts for the found symbol along the suffix chain up to where it
    already has one; returns the longest, or 0 when the heap is full."""
    c = m[MIN_CTX]
    fs = m[FOUND]
    fsym = get8(h8, fs)
    up_branch = get_successor(h16, fs)
    num_ps = 0
    if not skip:
        m[CS_PS] = fs
        num_ps = 1
    steps = 0
    while suffix(h32, c) != 0:
        steps += 1
        if steps > CHAIN_BOUND or num_ps >= CS_PS_LEN:
            m[ERR] = ERR_MODEL
            return 0
        c = suffix(h32, c)
        if num_stats(h16, c) != 1:
            s = find_state(h8, h16, h32, m, c, fsym)
        else:
            s = c + 2
        succ = get_successor(h16, s)
        if succ != up_branch:
            c = succ
            if num_ps == 0:
                return c
            break
        m[CS_PS + num_ps] = s
        num_ps += 1

    up_sym = get8(h8, up_branch)
    up_succ = up_branch + 1
    if num_stats(h16, c) == 1:
        up_freq = get8(h8, c + 3)
    else:
        s = find_state(h8, h16, h32, m, c, up_sym)
        cf = (get8(h8, s + 1) - 1) & M32
        s0 = (summ_freq(h16, c) - num_stats(h16, c) - cf) & M32
        if 2 * cf <= s0:
            up_freq = 1 + (1 if 5 * cf > s0 else 0)
        else:
            up_freq = 1 + ((2 * cf + 3 * s0 - 1) & M32) // (2 * s0) if s0 != 0 else 1
        up_freq &= 0xFF

    while num_ps != 0:
        c1 = alloc_context(h16, h32, m)
        if c1 == 0:
            return 0
        set16(h16, c1, 1)
        set8(h8, c1 + 2, up_sym)
        set8(h8, c1 + 3, up_freq)
        set_successor(h16, c1 + 2, up_succ)
        set32(h32, c1 + 8, c)
        num_ps -= 1
        set_successor(h16, m[CS_PS + num_ps], c1)
        c = c1
    return c


@njit(cache=True, nogil=True, _nrt=False)
def update_model(h8, h16, h32, m):
    """Add the found symbol to the contexts it escaped from and move to the
    next context (7-Zip's UpdateModel); restarts the model when the heap is full."""
    fs = m[FOUND]
    fsym = get8(h8, fs)
    ffreq = get8(h8, fs + 1)
    f_successor = get_successor(h16, fs)
    mc = m[MIN_CTX]

    if ffreq < MAX_FREQ // 4 and suffix(h32, mc) != 0:
        c = suffix(h32, mc)
        if num_stats(h16, c) == 1:
            s = c + 2
            if get8(h8, s + 1) < 32:
                set8(h8, s + 1, get8(h8, s + 1) + 1)
        else:
            s = stats(h32, c)
            if get8(h8, s) != fsym:
                s = find_state(h8, h16, h32, m, c, fsym)
                if get8(h8, s + 1) >= get8(h8, s - 6 + 1):
                    swap_states(h16, s, s - 6)
                    s -= 6
            if get8(h8, s + 1) < MAX_FREQ - 9:
                set8(h8, s + 1, get8(h8, s + 1) + 2)
                set16(h16, c + 2, summ_freq(h16, c) + 2)

    if m[ORDER_FALL] == 0:
        c = create_successors(h8, h16, h32, m, True)
        m[MIN_CTX] = m[MAX_CTX] = c
        if c == 0:
            restart_model(h8, h16, h32, m)
            return
        set_successor(h16, m[FOUND], c)
        return

    set8(h8, m[TEXT], fsym)
    m[TEXT] += 1
    successor = m[TEXT]
    if m[TEXT] >= m[UNITS_START]:
        restart_model(h8, h16, h32, m)
        return

    if f_successor != 0:
        if f_successor <= successor:
            cs = create_successors(h8, h16, h32, m, False)
            if cs == 0:
                restart_model(h8, h16, h32, m)
                return
            f_successor = cs
        m[ORDER_FALL] -= 1
        if m[ORDER_FALL] == 0:
            successor = f_successor
            if m[MAX_CTX] != m[MIN_CTX]:
                m[TEXT] -= 1
    else:
        set_successor(h16, m[FOUND], successor)
        f_successor = m[MIN_CTX]

    ns = num_stats(h16, mc)
    ffreq = get8(h8, m[FOUND] + 1)
    s0 = (summ_freq(h16, mc) - ns - (ffreq - 1)) & M32

    c = m[MAX_CTX]
    steps = 0
    while c != mc:
        steps += 1
        if steps > CHAIN_BOUND:
            m[ERR] = ERR_MODEL
            return
        ns1 = num_stats(h16, c)
        if ns1 != 1:
            if (ns1 & 1) == 0:
                old_nu = ns1 >> 1
                i = u2i(old_nu)
                if i != u2i(old_nu + 1):
                    ptr = alloc_units(h16, h32, m, i + 1)
                    if ptr == 0:
                        restart_model(h8, h16, h32, m)
                        return
                    old_ptr = stats(h32, c)
                    copy_units(h32, ptr, old_ptr, old_nu)
                    insert_node(h32, m, old_ptr, i)
                    set32(h32, c + 4, ptr)
            sf_c = summ_freq(h16, c)
            sf_c += (1 if 2 * ns1 < ns else 0) + 2 * (1 if (4 * ns1 <= ns and sf_c <= 8 * ns1) else 0)
            set16(h16, c + 2, sf_c)
        else:
            s = alloc_units(h16, h32, m, 0)
            if s == 0:
                restart_model(h8, h16, h32, m)
                return
            copy_state(h16, s, c + 2)
            set32(h32, c + 4, s)
            f = get8(h8, s + 1)
            f = f << 1 if f < MAX_FREQ // 4 - 1 else MAX_FREQ - 4
            set8(h8, s + 1, f)
            set16(h16, c + 2, f + m[INIT_ESC] + (1 if ns > 3 else 0))
        sf_c = summ_freq(h16, c)
        cf = (2 * ffreq * (sf_c + 6)) & M32
        sf = (s0 + sf_c) & M32
        if cf < ((6 * sf) & M32):
            cf = 1 + (1 if cf > sf else 0) + (1 if cf >= ((4 * sf) & M32) else 0)
            set16(h16, c + 2, sf_c + 3)
        else:
            cf = (4 + (1 if cf >= ((9 * sf) & M32) else 0) + (1 if cf >= ((12 * sf) & M32) else 0)
                  + (1 if cf >= ((15 * sf) & M32) else 0))
            set16(h16, c + 2, sf_c + cf)
        s = stats(h32, c) + ns1 * 6
        set_successor(h16, s, successor)
        set8(h8, s, fsym)
        set8(h8, s + 1, cf)
        set16(h16, c, ns1 + 1)
        c = suffix(h32, c)
    m[MAX_CTX] = m[MIN_CTX] = f_successor


@njit(cache=True, nogil=True, _nrt=False)
def rescale(h8, h16, h32, m):
    """Halve the frequencies of the current context, moving the found state
    to the front and dropping states whose frequency falls to zero."""
    mc = m[MIN_CTX]
    st = stats(h32, mc)
    s = m[FOUND]
    n_stats = num_stats(h16, mc)
    k = (s - st) // 6
    if s < st or k >= n_stats:
        m[ERR] = ERR_MODEL
        return
    t0, t1, t2 = get16(h16, s), get16(h16, s + 2), get16(h16, s + 4)
    for _ in range(k):
        copy_state(h16, s, s - 6)
        s -= 6
    set16(h16, s, t0)
    set16(h16, s + 2, t1)
    set16(h16, s + 4, t2)

    esc_freq = (summ_freq(h16, mc) - get8(h8, s + 1)) & M32
    set8(h8, s + 1, get8(h8, s + 1) + 4)
    adder = 1 if m[ORDER_FALL] != 0 else 0
    set8(h8, s + 1, (get8(h8, s + 1) + adder) >> 1)
    sum_freq = get8(h8, s + 1)

    for _ in range(n_stats - 1):
        s += 6
        f = get8(h8, s + 1)
        esc_freq = (esc_freq - f) & M32
        f = (f + adder) >> 1
        set8(h8, s + 1, f)
        sum_freq += f
        if f > get8(h8, s - 6 + 1):
            s1 = s
            t0, t1, t2 = get16(h16, s1), get16(h16, s1 + 2), get16(h16, s1 + 4)
            while True:
                copy_state(h16, s1, s1 - 6)
                s1 -= 6
                if s1 == st or f <= get8(h8, s1 - 6 + 1):
                    break
            set16(h16, s1, t0)
            set16(h16, s1 + 2, t1)
            set16(h16, s1 + 4, t2)

    if get8(h8, s + 1) == 0:
        i = 0
        while True:
            i += 1
            s -= 6
            if get8(h8, s + 1) != 0 or s <= st:
                break
        esc_freq = (esc_freq + i) & M32
        set16(h16, mc, n_stats - i)
        if n_stats - i == 1:
            t0, t1, t2 = get16(h16, st), get16(h16, st + 2), get16(h16, st + 4)
            f = t0 >> 8
            while True:
                f -= f >> 1
                esc_freq >>= 1
                if esc_freq <= 1:
                    break
            insert_node(h32, m, st, u2i((n_stats + 1) >> 1))
            set16(h16, mc + 2, (t0 & 0xFF) | (f << 8))
            set16(h16, mc + 4, t1)
            set16(h16, mc + 6, t2)
            m[FOUND] = mc + 2
            return
        n0 = (n_stats + 1) >> 1
        n1 = (n_stats - i + 1) >> 1
        if n0 != n1:
            set32(h32, mc + 4, shrink_units(h16, h32, m, st, n0, n1))
    set16(h16, mc + 2, sum_freq + esc_freq - (esc_freq >> 1))
    m[FOUND] = stats(h32, mc)


# ---- per-symbol updates (7-Zip's Update1, Update1_0, UpdateBin, Update2)


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def next_context(h8, h16, h32, m):
    c = get_successor(h16, m[FOUND])
    if m[ORDER_FALL] == 0 and c > m[TEXT]:
        m[MIN_CTX] = m[MAX_CTX] = c
    else:
        update_model(h8, h16, h32, m)


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def update1(h8, h16, h32, m):
    """A non-first symbol of the context was coded."""
    s = m[FOUND]
    mc = m[MIN_CTX]
    set8(h8, s + 1, get8(h8, s + 1) + 4)
    set16(h16, mc + 2, summ_freq(h16, mc) + 4)
    if get8(h8, s + 1) > get8(h8, s - 6 + 1):
        swap_states(h16, s, s - 6)
        s -= 6
        m[FOUND] = s
        if get8(h8, s + 1) > MAX_FREQ:
            rescale(h8, h16, h32, m)
    next_context(h8, h16, h32, m)


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def update1_0(h8, h16, h32, m):
    """The context's first (most probable) symbol was coded."""
    s = m[FOUND]
    mc = m[MIN_CTX]
    m[PREV_SUCCESS] = 1 if 2 * get8(h8, s + 1) > summ_freq(h16, mc) else 0
    m[RUN_LENGTH] += m[PREV_SUCCESS]
    set16(h16, mc + 2, summ_freq(h16, mc) + 4)
    set8(h8, s + 1, get8(h8, s + 1) + 4)
    if get8(h8, s + 1) > MAX_FREQ:
        rescale(h8, h16, h32, m)
    next_context(h8, h16, h32, m)


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def update_bin(h8, h16, h32, m):
    """The symbol of a one-symbol context was coded."""
    s = m[FOUND]
    f = get8(h8, s + 1)
    set8(h8, s + 1, f + (1 if f < 128 else 0))
    m[PREV_SUCCESS] = 1
    m[RUN_LENGTH] += 1
    next_context(h8, h16, h32, m)


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def update2(h8, h16, h32, m):
    """A symbol was coded after one or more escapes."""
    s = m[FOUND]
    mc = m[MIN_CTX]
    set16(h16, mc + 2, summ_freq(h16, mc) + 4)
    set8(h8, s + 1, get8(h8, s + 1) + 4)
    if get8(h8, s + 1) > MAX_FREQ:
        rescale(h8, h16, h32, m)
    m[RUN_LENGTH] = m[INIT_RL]
    update_model(h8, h16, h32, m)


# ---- probabilities


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def bin_summ_index(h8, h16, h32, m):
    """Index in m of the probability of the one-symbol context MinContext
    (sets HiBitsFlag from the previous symbol, as 7-Zip does)."""
    mc = m[MIN_CTX]
    f = get8(h8, mc + 3) - 1
    if f < 0:
        f = 0
    elif f > 127:
        f = 127
    ns_suffix = num_stats(h16, suffix(h32, mc))
    m[HI_BITS] = HB2FLAG[get8(h8, m[FOUND])]
    j = (m[PREV_SUCCESS] + NS2BS_INDX[(ns_suffix - 1) & 0xFF] + m[HI_BITS] + 2 * HB2FLAG[get8(h8, mc + 2)]
         + ((m[RUN_LENGTH] >> 26) & 0x20))
    return BIN + f * 64 + (j & 63)


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def make_esc_freq(h16, h32, m, num_masked):
    """(index in m of the SEE context, escape frequency) for MinContext with
    num_masked of its symbols masked."""
    mc = m[MIN_CTX]
    ns = num_stats(h16, mc)
    non_masked = ns - num_masked
    if ns != 256:
        nm1 = non_masked - 1
        if nm1 < 0:
            nm1 = 0
        elif nm1 > 255:
            nm1 = 255
        diff = (num_stats(h16, suffix(h32, mc)) - ns) & M32
        k = ((1 if non_masked < diff else 0) + 2 * (1 if summ_freq(h16, mc) < 11 * ns else 0)
             + 4 * (1 if num_masked > non_masked else 0) + m[HI_BITS])
        idx = NS2INDX[nm1]
        if idx > 24:
            idx = 24
        see = SEE + 3 * (idx * 16 + (k & 15))
        r = m[see] >> m[see + 1]
        m[see] = (m[see] - r) & 0xFFFF
        return see, r + (1 if r == 0 else 0)
    return SEE + 3 * DUMMY_SEE, 1


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def see_update(m, see):
    if m[see + 1] < PERIOD_BITS:
        m[see + 2] -= 1
        if m[see + 2] == 0:
            m[see] = (m[see] << 1) & 0xFFFF
            m[see + 2] = (3 << m[see + 1]) & 0xFF
            m[see + 1] += 1
