"""PPMd var.H decoding with the 7z range decoder (7-Zip's Ppmd7z_RangeDec
and Ppmd7_DecodeSymbol), as a Numba kernel that is safe on any input.

The range decoder reads through a bounds-checked reader: past the end of the
stream it reads zeros and counts them, so a truncated stream decodes to
garbage or an error, never past the buffer. A valid stream is read exactly to
its last byte (the encoder's flush writes the five bytes the decoder's
lookahead needs, no more), which :func:`decode_kernel` reports. Range-decoder
counts outside their total (possible only in corrupt data) and an escape out
of the order-0 context (7-Zip's end mark, which our streams never contain)
stop the decode with a status code.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .heap import EPOCH, ERR, MASK, PS, FOUND, HI_BITS, INIT_ESC, MIN_CTX, ORDER_FALL, PREV_SUCCESS, RC_CODE, RC_POS, RC_RANGE
from .model import (
    CHAIN_BOUND, EXP_ESCAPE, HB2FLAG, INT_BITS, M32, PERIOD_BITS, bin_summ_index, init_model, make_esc_freq,
    num_stats, see_update, stats, suffix, summ_freq, update1, update1_0, update2, update_bin,
)
from .heap import get8

TOP = 1 << 24

OK = 0
DATA_ERROR = 1  # a range-decoder count outside its total
END_MARK = 2  # an escape out of the order-0 context before decoded_len symbols
BAD_START = 3  # the stream does not start with the range coder's zero byte
MODEL_ERROR = 4  # an inconsistent model (a bug, reported rather than followed)


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def _read_byte(src, m):
    p = m[RC_POS]
    m[RC_POS] = p + 1
    if p < src.shape[0]:
        return np.int64(src[p])
    return np.int64(0)


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def _normalize(src, m):
    for _ in range(2):
        if m[RC_RANGE] >= TOP:
            return
        m[RC_CODE] = ((m[RC_CODE] << 8) | _read_byte(src, m)) & M32
        m[RC_RANGE] = (m[RC_RANGE] << 8) & M32


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def _threshold(m, total):
    """Scale the range by ``total`` and return the count, or -1 when the
    range cannot be scaled (only in corrupt data)."""
    if total <= 0:
        return -1
    r = m[RC_RANGE] // total
    if r == 0:
        return -1
    m[RC_RANGE] = r
    return m[RC_CODE] // r


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def _decode(src, m, start, size):
    m[RC_CODE] = (m[RC_CODE] - start * m[RC_RANGE]) & M32
    m[RC_RANGE] = (m[RC_RANGE] * size) & M32
    _normalize(src, m)


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def _mean(prob):
    return (prob + (1 << (PERIOD_BITS - 2))) >> PERIOD_BITS


@njit(cache=True, nogil=True, _nrt=False, inline='always')
def decode_symbol(src, h8, h16, h32, m):
    """One symbol (0..255), or -DATA_ERROR / -END_MARK / -MODEL_ERROR."""
    mc = m[MIN_CTX]
    ns = num_stats(h16, mc)
    epoch = m[EPOCH] + 1
    m[EPOCH] = epoch
    if ns != 1:
        s = stats(h32, mc)
        total = summ_freq(h16, mc)
        count = _threshold(m, total)
        if count < 0:
            return -DATA_ERROR
        hi = get8(h8, s + 1)
        if count < hi:
            _decode(src, m, 0, hi)
            m[FOUND] = s
            sym = get8(h8, s)
            update1_0(h8, h16, h32, m)
            return sym
        m[PREV_SUCCESS] = 0
        for _ in range(ns - 1):
            s += 6
            f = get8(h8, s + 1)
            hi += f
            if hi > count:
                _decode(src, m, hi - f, f)
                m[FOUND] = s
                sym = get8(h8, s)
                update1(h8, h16, h32, m)
                return sym
        if count >= total:
            return -DATA_ERROR
        m[HI_BITS] = HB2FLAG[get8(h8, m[FOUND])]
        _decode(src, m, hi, total - hi)
        s = stats(h32, mc)
        for _ in range(ns):
            m[MASK + get8(h8, s)] = epoch
            s += 6
    else:
        j = bin_summ_index(h8, h16, h32, m)
        prob = m[j]
        bound = (m[RC_RANGE] >> 14) * prob
        if m[RC_CODE] < bound:
            m[RC_RANGE] = bound
            _normalize(src, m)
            m[j] = (prob + (1 << INT_BITS) - _mean(prob)) & 0xFFFF
            s = mc + 2
            m[FOUND] = s
            sym = get8(h8, s)
            update_bin(h8, h16, h32, m)
            return sym
        m[RC_CODE] = (m[RC_CODE] - bound) & M32
        m[RC_RANGE] = (m[RC_RANGE] - bound) & M32
        _normalize(src, m)
        prob = (prob - _mean(prob)) & 0xFFFF
        m[j] = prob
        m[INIT_ESC] = EXP_ESCAPE[min(prob >> 10, 15)]
        m[MASK + get8(h8, mc + 2)] = epoch
        m[PREV_SUCCESS] = 0

    for _ in range(CHAIN_BOUND):
        mc = m[MIN_CTX]
        num_masked = num_stats(h16, mc)
        steps = 0
        while True:
            steps += 1
            if steps > CHAIN_BOUND:
                return -MODEL_ERROR
            m[ORDER_FALL] += 1
            mc = suffix(h32, mc)
            if mc == 0:
                return -END_MARK
            if num_stats(h16, mc) != num_masked:
                break
        m[MIN_CTX] = mc
        ns = num_stats(h16, mc)
        num = ns - num_masked
        hi = 0
        i = 0
        s = stats(h32, mc)
        for _ in range(ns):
            if m[MASK + get8(h8, s)] != epoch:
                hi += get8(h8, s + 1)
                m[PS + i] = s
                i += 1
                if i == num:
                    break
            s += 6
        if i != num or num <= 0:
            return -MODEL_ERROR
        see, esc = make_esc_freq(h16, h32, m, num_masked)
        freq_sum = esc + hi
        count = _threshold(m, freq_sum)
        if count < 0:
            return -DATA_ERROR
        if count < hi:
            acc = 0
            k = 0
            while True:  # ends by k = num - 1: count < hi, the sum of all num
                acc += get8(h8, m[PS + k] + 1)
                if acc > count or k >= num - 1:
                    break
                k += 1
            s = m[PS + k]
            f = get8(h8, s + 1)
            _decode(src, m, acc - f, f)
            see_update(m, see)
            m[FOUND] = s
            sym = get8(h8, s)
            update2(h8, h16, h32, m)
            return sym
        if count >= freq_sum:
            return -DATA_ERROR
        _decode(src, m, hi, freq_sum - hi)
        m[see] = (m[see] + freq_sum) & 0xFFFF
        for k in range(num):
            m[MASK + get8(h8, m[PS + k])] = epoch
    return -MODEL_ERROR


@njit(cache=True, nogil=True, _nrt=False)
def decode_kernel(src, out, h8, h16, h32, m, size, order):
    """Decode len(out) symbols of the stream ``src`` (range coder bytes) with
    a fresh order-``order`` model of ``size`` heap bytes.

    Returns (status, symbols decoded, bytes the range decoder read); a read
    count over len(src) means the stream was too short."""
    init_model(h8, h16, h32, m, size, order)
    m[RC_RANGE] = M32
    m[RC_CODE] = 0
    m[RC_POS] = 0
    if _read_byte(src, m) != 0:
        return BAD_START, 0, m[RC_POS]
    for _ in range(4):
        m[RC_CODE] = (m[RC_CODE] << 8) | _read_byte(src, m)
    if m[RC_CODE] == M32:
        return DATA_ERROR, 0, m[RC_POS]
    n = out.shape[0]
    for i in range(n):
        sym = decode_symbol(src, h8, h16, h32, m)
        if sym < 0:
            return -sym, i, m[RC_POS]
        if m[ERR] != 0:
            return MODEL_ERROR, i, m[RC_POS]
        out[i] = sym
    return OK, n, m[RC_POS]
