"""PPMd var.H encoding with the 7z range encoder (7-Zip's Ppmd7z_RangeEnc and
Ppmd7_EncodeSymbol), the mirror of :mod:`.decoder`: the same model updates,
so its output is byte-identical to 7-Zip's / pyppmd's for the same order and
memory (without an end mark).

The output goes into a caller-sized array; when it would overflow, the
kernel stops and says so (the caller retries with a larger one).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .heap import (
    EPOCH, FOUND, HI_BITS, INIT_ESC, MASK, MIN_CTX, ORDER_FALL, OUT_POS, PREV_SUCCESS, RC_CACHE, RC_CACHE_SIZE,
    RC_LOW, RC_RANGE, get8,
)
from .model import (
    CHAIN_BOUND, EXP_ESCAPE, HB2FLAG, INT_BITS, M32, PERIOD_BITS, bin_summ_index, init_model, make_esc_freq,
    num_stats, see_update, stats, suffix, summ_freq, update1, update1_0, update2, update_bin,
)

TOP = 1 << 24

OK = 0
OVERFLOW = 1  # the output array is too small
MODEL_ERROR = 2  # a symbol the order-0 context lacks (an inconsistent model)


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def _put(out, m, b):
    p = m[OUT_POS]
    if p < out.shape[0]:
        out[p] = b & 0xFF
    m[OUT_POS] = p + 1


@njit(cache=True, nogil=True, _nrt=False)
def _shift_low(out, m):
    low = m[RC_LOW]
    if (low & M32) < 0xFF000000 or (low >> 32) != 0:
        temp = m[RC_CACHE]
        while True:
            _put(out, m, temp + (low >> 32))
            temp = 0xFF
            m[RC_CACHE_SIZE] -= 1
            if m[RC_CACHE_SIZE] == 0:
                break
        m[RC_CACHE] = (low >> 24) & 0xFF
    m[RC_CACHE_SIZE] += 1
    m[RC_LOW] = (low & 0x00FFFFFF) << 8


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def _normalize(out, m):
    while m[RC_RANGE] < TOP:
        m[RC_RANGE] = (m[RC_RANGE] << 8) & M32
        _shift_low(out, m)


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def _encode(out, m, start, size, total):
    r = m[RC_RANGE] // total
    m[RC_LOW] += start * r
    m[RC_RANGE] = r * size
    _normalize(out, m)


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def _mean(prob):
    return (prob + (1 << (PERIOD_BITS - 2))) >> PERIOD_BITS


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def encode_symbol(out, h8, h16, h32, m, symbol):
    """Code one symbol and update the model; returns OK or MODEL_ERROR."""
    mc = m[MIN_CTX]
    ns = num_stats(h16, mc)
    epoch = m[EPOCH] + 1
    m[EPOCH] = epoch
    if ns != 1:
        s = stats(h32, mc)
        total = summ_freq(h16, mc)
        if get8(h8, s) == symbol:
            _encode(out, m, 0, get8(h8, s + 1), total)
            m[FOUND] = s
            update1_0(h8, h16, h32, m)
            return OK
        m[PREV_SUCCESS] = 0
        acc = get8(h8, s + 1)
        for _ in range(ns - 1):
            s += 6
            f = get8(h8, s + 1)
            if get8(h8, s) == symbol:
                _encode(out, m, acc, f, total)
                m[FOUND] = s
                update1(h8, h16, h32, m)
                return OK
            acc += f
        m[HI_BITS] = HB2FLAG[get8(h8, m[FOUND])]
        s = stats(h32, mc)
        for _ in range(ns):
            m[MASK + get8(h8, s)] = epoch
            s += 6
        _encode(out, m, acc, total - acc, total)
    else:
        j = bin_summ_index(h8, h16, h32, m)
        prob = m[j]
        s = mc + 2
        bound = (m[RC_RANGE] >> 14) * prob
        if get8(h8, s) == symbol:
            m[RC_RANGE] = bound
            _normalize(out, m)
            m[j] = (prob + (1 << INT_BITS) - _mean(prob)) & 0xFFFF
            m[FOUND] = s
            update_bin(h8, h16, h32, m)
            return OK
        m[RC_LOW] += bound
        m[RC_RANGE] = (m[RC_RANGE] - bound) & M32
        _normalize(out, m)
        prob = (prob - _mean(prob)) & 0xFFFF
        m[j] = prob
        m[INIT_ESC] = EXP_ESCAPE[min(prob >> 10, 15)]
        m[MASK + get8(h8, s)] = epoch
        m[PREV_SUCCESS] = 0

    for _ in range(CHAIN_BOUND):
        mc = m[MIN_CTX]
        num_masked = num_stats(h16, mc)
        steps = 0
        while True:
            steps += 1
            if steps > CHAIN_BOUND:
                return MODEL_ERROR
            m[ORDER_FALL] += 1
            mc = suffix(h32, mc)
            if mc == 0:
                return MODEL_ERROR
            if num_stats(h16, mc) != num_masked:
                break
        m[MIN_CTX] = mc
        see, esc = make_esc_freq(h16, h32, m, num_masked)
        s = stats(h32, mc)
        ns = num_stats(h16, mc)
        acc = 0
        for i in range(ns):
            cur = get8(h8, s)
            if cur == symbol:
                low = acc
                s1 = s
                for _ in range(ns - i):
                    if m[MASK + get8(h8, s)] != epoch:
                        acc += get8(h8, s + 1)
                    s += 6
                _encode(out, m, low, get8(h8, s1 + 1), acc + esc)
                see_update(m, see)
                m[FOUND] = s1
                update2(h8, h16, h32, m)
                return OK
            if m[MASK + cur] != epoch:
                acc += get8(h8, s + 1)
            m[MASK + cur] = epoch
            s += 6
        _encode(out, m, acc, esc, acc + esc)
        m[see] = (m[see] + acc + esc) & 0xFFFF
    return MODEL_ERROR


@njit(cache=True, nogil=True, _nrt=False)
def encode_kernel(src, out, h8, h16, h32, m, size, order):
    """Code ``src`` with a fresh order-``order`` model of ``size`` heap bytes
    into ``out`` and flush (no end mark). Returns (status, bytes written);
    OVERFLOW with the bytes it would have needed so far when ``out`` is short."""
    init_model(h8, h16, h32, m, size, order)
    m[RC_LOW] = 0
    m[RC_RANGE] = M32
    m[RC_CACHE] = 0
    m[RC_CACHE_SIZE] = 1
    m[OUT_POS] = 0
    for i in range(src.shape[0]):
        if encode_symbol(out, h8, h16, h32, m, np.int64(src[i])) != OK:
            return MODEL_ERROR, m[OUT_POS]
        if m[OUT_POS] > out.shape[0]:
            return OVERFLOW, m[OUT_POS]
    for _ in range(5):
        _shift_low(out, m)
    if m[OUT_POS] > out.shape[0]:
        return OVERFLOW, m[OUT_POS]
    return OK, m[OUT_POS]
