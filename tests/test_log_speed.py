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


def _templated_text(n_lines: int) -> bytes:
    return b"".join(b"PASSED: java/lang/Thread%d/Test%d.java in %d ms\n" % (i % 7, i, i * 13 % 1000)
                    for i in range(n_lines))


def test_text_gate_memo_answers_as_a_fresh_scan(monkeypatch):
    from cobol.layers import l2_log
    from cobol.registry import EncodeContext

    block = _templated_text(12000)  # over the 64 KiB gate sample
    assert len(block) > l2_log.TEXT_SAMPLE
    sample = l2_log._text_sample(block)
    extra = l2_log.extra_delimiters(block)
    fresh = l2_log._templated(l2_log.LogScan(sample, templates=False, extra=extra))
    assert fresh
    ctx = EncodeContext(fmt="text", level=3)
    monkeypatch.setattr(l2_log, "_LAST_GATE", None)
    unprimed = l2_log.LogTransform().encode(block, ctx)
    assert unprimed is not None
    # primed by the planner's question: the same bytes out
    l2_log.looks_templated(block)
    primed = l2_log.LogTransform().encode(block, ctx)
    assert (primed.params, primed.streams) == (unprimed.params, unprimed.streams)
    # a remembered answer for other delimiters or another sample is not used
    monkeypatch.setattr(l2_log, "_LAST_GATE", (sample, extra + b":", not fresh))
    assert l2_log._gate(sample, extra) is fresh
    monkeypatch.setattr(l2_log, "_LAST_GATE", (sample[:-1], extra, not fresh))
    assert l2_log._gate(sample, extra) is fresh
    # and a wrong one for the same key would be (the key is the whole sample)
    monkeypatch.setattr(l2_log, "_LAST_GATE", (sample, extra, not fresh))
    assert l2_log._gate(sample, extra) is (not fresh)
