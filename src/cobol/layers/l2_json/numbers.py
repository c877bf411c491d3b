"""Number columns: parsing canonical spellings to mantissa and scale, per-column
scales and the stored values and flags."""

from __future__ import annotations

import numpy as np
from numba import njit
from .symbols import FLAG_RAW, MAX_SCALE, NUM_SCALED



@njit(cache=True, nogil=True)
def _parse_numbers(buf, starts, toks, mant):
    """Canonical number spellings -> (mantissa into ``mant``, one per token,
    scale, digit count); scale -1 = raw (mantissa 0)."""
    n = toks.size
    mant[:] = 0
    scale = np.full(n, -1, np.int8)
    ndig = np.zeros(n, np.int8)
    for i in range(n):
        t = toks[i]
        p = starts[t]
        b = starts[t + 1]
        neg = False
        if buf[p] == 45:
            neg = True
            p += 1
        if p >= b or not (48 <= buf[p] <= 57):
            continue
        m = np.int64(0)
        digits = 0  # digits appended to m; at most MAX_SCALE so |m| < 10**18
        sig = 0  # ... of which significant
        if buf[p] == 48:
            p += 1
            if p < b and 48 <= buf[p] <= 57:
                continue  # leading zero
        else:
            while p < b and 48 <= buf[p] <= 57 and digits < MAX_SCALE:
                m = m * 10 + (buf[p] - 48)
                digits += 1
                p += 1
            sig = digits  # (the first digit is not 0)
            if p < b and 48 <= buf[p] <= 57:
                continue  # too many digits
        s = 0
        if p < b and buf[p] == 46:
            p += 1
            if p >= b or not (48 <= buf[p] <= 57):
                continue
            while p < b and 48 <= buf[p] <= 57 and digits < MAX_SCALE:
                m = m * 10 + (buf[p] - 48)
                digits += 1
                sig += m != 0  # (zeros before the first nonzero digit are not significant)
                s += 1
                p += 1
        if p != b:
            continue
        if neg and m == 0:
            continue
        mant[i] = -m if neg else m
        scale[i] = s
        ndig[i] = max(sig, 1)  # significant digits of |m|, counted as they were read (no divisions)
    return mant, scale, ndig


@njit(cache=True, nogil=True)
def _number_columns(col, scale, ndig, ncols):
    """Per column: max scale, any raw, whether scaling to the max scale fits."""
    smax = np.zeros(ncols, np.int64)
    anyraw = np.zeros(ncols, np.bool_)
    for i in range(col.size):
        c = col[i]
        if scale[i] < 0:
            anyraw[c] = True
        elif scale[i] > smax[c]:
            smax[c] = scale[i]
    fits = np.ones(ncols, np.bool_)
    for i in range(col.size):
        c = col[i]
        if scale[i] >= 0 and ndig[i] + smax[c] - scale[i] > MAX_SCALE:
            fits[c] = False
    return smax, anyraw, fits


@njit(cache=True, nogil=True)
def _number_values(col, mant, scale, mode, smax, vals):
    """Normalized mantissas into ``vals`` (raw numbers' entries left as they
    were), which to keep, and per-number flags."""
    n = col.size
    keep = np.zeros(n, np.bool_)
    flags = np.empty(n, np.uint8)
    p10 = np.ones(MAX_SCALE + 1, np.int64)
    for i in range(1, MAX_SCALE + 1):
        p10[i] = p10[i - 1] * 10
    for i in range(n):
        c = col[i]
        s = scale[i]
        if s < 0:
            flags[i] = FLAG_RAW
            continue
        keep[i] = True
        md = mode[c]
        if md == NUM_SCALED:
            f = smax[c] - s
            flags[i] = f
            vals[i] = mant[i] * p10[f]
        else:
            flags[i] = s
            vals[i] = mant[i]
    return keep, vals, flags
