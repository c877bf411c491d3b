"""Log transform speed work (branch log-speed7): kernels against plain references,
and the planner shortcuts giving the same plans as the long way."""

from __future__ import annotations

import numpy as np
import pytest

from cobol.layers import log_kernels as lk


def _reference_decimal(x: int, width: int) -> bytes | None:
    """What _put_decimal must write: x zero-padded to width digits, or None (error)."""
    if width == 0 or x < 0:
        return None
    s = str(x).rjust(width, "0").encode()
    return None if len(s) > width else s


@pytest.mark.parametrize("width", [0, 1, 2, 3, 4, 5, 9, 17, 18, 19, 20, 255])
def test_put_decimal_matches_the_reference(width):
    rng = np.random.default_rng(width)
    values = [0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 12345, 10 ** 17 - 1, 10 ** 17, 10 ** 18 - 1, 10 ** 18,
              2 ** 62, 2 ** 63 - 1, -1, -10, -(2 ** 63)] + [int(v) for v in rng.integers(0, 10 ** rng.integers(1, 19, 200), dtype=np.int64)]
    for x in values:
        for cap_room in (0, 1):
            out = np.full(300, 0xAA, np.uint8)
            op = 7
            cap = op + width - cap_room  # cap_room 1: one byte short of room
            got = lk._put_decimal(out, op, cap, x, width)
            want = _reference_decimal(x, width)
            if want is None or cap_room:
                assert got == -1, (x, width, cap_room)
            else:
                assert got == op + width
                assert out[op:op + width].tobytes() == want
                assert (out[:op] == 0xAA).all() and (out[op + width:] == 0xAA).all()
