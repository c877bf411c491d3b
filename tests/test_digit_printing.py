"""Division-free digit printing (primitives.eight_digits) and the JSON decode walk's numbers around its 8-digit bound."""

import random

import numpy as np
from numba import njit

from cobol.layers.primitives import eight_digits, store_u64
from test_json_l2 import roundtrip


@njit(cache=True)
def _print_all(vals, out):
    for i in range(vals.size):
        store_u64(out, 8 * i, eight_digits(np.uint64(vals[i])))


def test_eight_digits_matches_printf():
    rng = np.random.default_rng(7)
    vals = np.concatenate([np.arange(0, 200_000), rng.integers(0, 10 ** 8, 200_000),
                           np.arange(10 ** 8 - 50_000, 10 ** 8),
                           [10 ** k for k in range(8)], [10 ** k - 1 for k in range(1, 9)]]).astype(np.int64)
    out = np.zeros(8 * vals.size, np.uint8)
    _print_all(vals, out)
    assert out.tobytes() == b"".join(b"%08d" % v for v in vals.tolist())


def test_json_numbers_of_every_width_and_scale_round_trip():
    # each key gets >= 32 values, so its numbers go through the column coder and
    # the walk prints them: widths 1-19 digits, scales 0-18, signs, leading zeros
    rnd = random.Random(3)
    lines = []
    for i in range(400):
        ndig = 1 + i % 19
        scale = i % 11
        m = rnd.randrange(10 ** (ndig - 1), 10 ** ndig) if ndig > 1 else rnd.randrange(10)
        sign = "-" if i % 3 == 0 else ""
        s = str(m).rjust(scale + 1, "0")
        dec = s[:len(s) - scale] + ("." + s[len(s) - scale:] if scale else "")
        fixed = f"{rnd.randrange(10 ** 8)}.{rnd.randrange(100):02d}"
        lines.append(f'{{"int":{sign}{m},"dec":{sign}{dec},"fixed":{fixed},"small":{rnd.randrange(-99, 100)}}}')
    roundtrip("\n".join(lines).encode() + b"\n")
