"""The log transform's plan weight on prose blocks coded at brotli quality 10
(plan.LOG_PLAN_WEIGHT): where it applies, that choose_plan chooses by the
weighted sizes (and stores the plan it chose, round-tripped), and that the
frames decode."""
import random

import pytest

import cobol
from cobol import plan
from cobol.registry import EncodeContext, get_transform


def _templated_text(seed: int, n: int) -> bytes:
    """Lines of a few templates (test-case listings, like CPython's
    math_testcases.txt): text that the log transform takes."""
    r = random.Random(seed)
    ops = ["acos", "asin", "atan", "cosh", "sinh", "tanh", "exp", "log"]
    lines = []
    for i in range(n):
        op = r.choice(ops)
        lines.append(f"{op}{i:04d} {op} {r.uniform(-9, 9):.6f} -> {r.uniform(-9, 9):.12f}"
                     + (" divide-by-zero" if r.random() < 0.1 else "") + "\n")
    return "".join(lines).encode()


def _plans(data: bytes, ctx: EncodeContext) -> dict:
    out = {}
    for name in ("log", "l1"):
        p = plan._run(plan.transform_by_name(name), data, ctx)
        if p is not None:
            out[name] = p
    out["raw"] = plan._run(get_transform(0), data, ctx)
    return out


def test_the_weight_applies_to_the_log_plan_of_prose_coded_at_quality_10():
    """1.12 for the log plan of a text block that is coded again at
    SMALL_BROTLI_QUALITY (levels 3-5 up to SMALL_BROTLI_TEXT_MAX); 1.0 for other
    plans, larger blocks, levels 1-2 (quality 6 throughout), levels 6-18 (PPMd
    is tried on prose), levels whose own quality is 11, detected logs (their
    own rules), other formats and a shared dictionary."""
    assert plan.LOG_PLAN_WEIGHT == 1.12
    data = _templated_text(1, 300)
    ctx = EncodeContext(fmt="text", level=3)
    plans = _plans(data, ctx)
    assert set(plans) == {"log", "l1", "raw"}
    small = plan.SMALL_BROTLI_TEXT_MAX
    for level in (3, 4, 5):
        c = EncodeContext(fmt="text", level=level)
        assert plan.plan_weight(plans["log"], c, small) == plan.LOG_PLAN_WEIGHT
        assert plan.plan_weight(plans["log"], c, small + 1) == 1.0
        assert plan.plan_weight(plans["l1"], c, 1000) == plan.plan_weight(plans["raw"], c, 1000) == 1.0
    for c in (EncodeContext(fmt="text", level=1), EncodeContext(fmt="text", level=2),
              EncodeContext(fmt="text", level=6), EncodeContext(fmt="text", level=8),
              EncodeContext(fmt="text", level=9), EncodeContext(fmt="text", level=12),
              EncodeContext(fmt="text", level=19), EncodeContext(fmt="log", level=3),
              EncodeContext(fmt="jsonl", level=3), EncodeContext(fmt="text", level=3, dictionary=object())):
        assert plan.plan_weight(plans["log"], c, 1000) == 1.0


def test_choose_plan_compares_the_weighted_sizes(monkeypatch):
    """On a templated text block the log plan is the smallest on zstd sizes; with
    a weight just over its lead choose_plan keeps the best other plan, with one
    just under it the log plan (same data, same level). Both frames decode."""
    data = _templated_text(2, 400)
    ctx = EncodeContext(fmt="text", level=3)
    plans = _plans(data, ctx)
    other = min((p for name, p in plans.items() if name != "log"), key=lambda p: p.stored_size)
    lead = other.stored_size / plans["log"].stored_size
    assert lead > 1.0
    # (the raw plan is compared with brotli only within BROTLI_COMPARE_MARGIN:
    # keep it out so that the zstd choice alone decides)
    monkeypatch.setattr(plan, "BROTLI_COMPARE_MAX", 0)
    monkeypatch.setattr(plan, "LOG_PLAN_WEIGHT", lead * 1.01)
    over = plan.choose_plan(data, ctx)
    assert over.transform.name == other.transform.name
    frame = cobol.compress(data, level=3)
    assert cobol.decompress(frame) == data
    monkeypatch.setattr(plan, "LOG_PLAN_WEIGHT", lead * 0.99)
    under = plan.choose_plan(data, ctx)
    assert under.transform.name == "log"
    frame = cobol.compress(data, level=3)
    assert cobol.decompress(frame) == data


def test_a_weighted_log_plan_is_never_within_the_brotli_comparison():
    """The comparison with the raw block at the level's quality
    (_brotli_compared) is not weighted: a log plan chosen over the raw plan is
    LOG_PLAN_WEIGHT smaller on zstd sizes, outside BROTLI_COMPARE_MARGIN, so it
    keeps its choice there (no brotli pass is spent on it)."""
    assert plan.LOG_PLAN_WEIGHT > 1.0 + plan.BROTLI_COMPARE_MARGIN
    data = _templated_text(3, 300)
    ctx = EncodeContext(fmt="text", level=3)
    plans = _plans(data, ctx)
    log_plan, raw = plans["log"], plans["raw"]
    assert log_plan.stored_size * plan.LOG_PLAN_WEIGHT < raw.stored_size
    assert plan._brotli_compared([log_plan, raw], log_plan, ctx, len(data)) is log_plan
    assert not log_plan.brotli_tried and not raw.brotli_tried


def test_first_verified_tries_the_chosen_plan_first():
    """_first_verified returns the plan the weights chose when it round-trips,
    even when another plan is smaller; without one, the smallest."""
    data = _templated_text(4, 300)
    ctx = EncodeContext(fmt="text", level=3, verified=True)
    plans = list(_plans(data, ctx).values())
    by_size = sorted(plans, key=lambda p: p.stored_size)
    assert plan._first_verified(plans, data, ctx) is by_size[0]
    assert plan._first_verified(plans, data, ctx, by_size[-1]) is by_size[-1]


def _prose(seed: int, n: int) -> bytes:
    """Sentences of random words from a few hundred (a vocabulary that l1 codes
    smaller than the raw block on zstd and at quality 6)."""
    r = random.Random(seed)
    vocab = [("".join(r.choice("etaoinshrdlucmfwyp") for _ in range(r.randrange(2, 10)))) for _ in range(300)]
    lines = []
    for _ in range(n):
        lines.append(" ".join(r.choice(vocab) for _ in range(r.randrange(6, 14))).capitalize() + ".\n")
    return "".join(lines).encode()


def test_the_raw_bias_applies_to_prose_coded_again_at_quality_10():
    """TEXT_COMPARE_RAW_BIAS: prose blocks at levels 3-5 (kept plan coded again at
    SMALL_BROTLI_QUALITY) compare the raw plan with the bias; levels 1-2 and 6+
    (PPMd), detected logs and a shared dictionary without it."""
    assert plan.TEXT_COMPARE_RAW_BIAS == 0.03
    limits = (plan.BROTLI_COMPARE_MAX, plan.BROTLI_COMPARE_MARGIN)
    for level in (3, 4, 5):
        assert plan._brotli_compare_limits(EncodeContext(fmt="text", level=level), 1000) == \
            limits + (plan.TEXT_COMPARE_RAW_BIAS,)
    for c in (EncodeContext(fmt="text", level=1), EncodeContext(fmt="text", level=2),
              EncodeContext(fmt="text", level=6), EncodeContext(fmt="text", level=9),
              EncodeContext(fmt="log", level=3)):
        assert plan._brotli_compare_limits(c, 1000) == limits + (0.0,)
    assert plan._brotli_compare_limits(EncodeContext(fmt="text", level=3, dictionary=object()), 1000)[2] == 0.0


def test_the_raw_bias_keeps_the_raw_plan_within_it(monkeypatch):
    """An l1 plan smaller than the raw block at the level's quality by a factor f:
    with a bias just over f - 1 the comparison keeps the raw plan, just under it
    l1; choose_plan stores what the comparison kept, and the frame decodes."""
    data = _prose(5, 400)
    ctx = EncodeContext(fmt="text", level=3)
    monkeypatch.setattr(plan, "BROTLI_COMPARE_MARGIN", 10.0)
    l1 = plan._run(plan.transform_by_name("l1"), data, ctx)
    raw = plan._run(get_transform(0), data, ctx)
    monkeypatch.setattr(plan, "TEXT_COMPARE_RAW_BIAS", 0.0)
    assert plan._brotli_compared([l1, raw], l1, ctx, len(data)) is l1
    factor = raw.stored_size / l1.stored_size
    assert factor > 1.0 and l1.brotli_tried and raw.brotli_tried
    for bias, kept in ((factor - 1.0 + 0.001, "raw"), (max(factor - 1.0 - 0.001, 0.0), "l1")):
        monkeypatch.setattr(plan, "TEXT_COMPARE_RAW_BIAS", bias)
        assert plan.choose_plan(data, ctx).transform.name == kept
        assert cobol.decompress(cobol.compress(data, level=3)) == data
