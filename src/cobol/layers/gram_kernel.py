"""The Numba kernel behind :func:`cobol.searchindex.build_bitmap`: one pass
over a block's bytes marking the slot of every 3-byte gram (the layout and the
hash are documented in :mod:`cobol.searchindex`)."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def gram_slots(a, n_bits: int, mult: int, lf_gram: int):
    """One bool per slot of an ``n_bits`` bitmap: True where a folded gram of ``a`` (uint8) lands."""
    out = np.zeros(n_bits, np.bool_)
    n = a.shape[0]
    if n < 3:
        return out
    nb = np.uint64(n_bits)
    m = np.uint64(mult)
    mask = np.uint64(0xFFFFFFFF)
    s32 = np.uint64(32)
    c0 = np.uint64(a[0] + (32 if 65 <= a[0] <= 90 else 0))
    c1 = np.uint64(a[1] + (32 if 65 <= a[1] <= 90 else 0))
    lf_left = 0  # grams still to come that hold a LF already seen
    if a[0] == 10 or a[1] == 10:
        lf_left = 2 if a[1] == 10 else 1
    for i in range(2, n):
        b = a[i]
        c2 = np.uint64(b + (32 if 65 <= b <= 90 else 0))
        if b == 10:
            lf_left = 3
        if lf_left > 0:
            x = np.uint64(lf_gram)
            lf_left -= 1
        else:
            x = c0 | (c1 << np.uint64(8)) | (c2 << np.uint64(16))
        out[(((x * m) & mask) * nb) >> s32] = True
        c0 = c1
        c1 = c2
    return out
