"""Large prose and markup blocks at the default level: the one candidate's large
streams are coded with brotli straight away (plan.DIRECT_BROTLI_FORMATS), never
with zstd first, and the frames stay what the zstd-then-brotli path made."""
import random

import pytest

import cobol
from cobol import entropy, plan

WORDS = ("the of and to in is that for it as with was on be by this are from or have an they which one "
         "you were her all she there would their we him been has when who will more no if out so said what "
         "compression stream block level transform dictionary window context model decoder encoder").split()


def _prose(seed: int, size: int) -> bytes:
    rng = random.Random(seed)
    out, n = [], 0
    while n < size:
        words = [rng.choice(WORDS) for _ in range(rng.randrange(6, 20))]
        words[0] = words[0].capitalize()
        line = " ".join(words) + rng.choice([".", ",", ";", "?"]) + ("\n\n" if rng.random() < 0.1 else "\n")
        out.append(line)
        n += len(line)
    return "".join(out).encode()


def _html(seed: int, size: int) -> bytes:
    rng = random.Random(seed)
    parts, n = ["<!DOCTYPE html>\n<html><body>\n"], 0
    while n < size:
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(5, 25)))
        p = (f'<div class="{rng.choice(["section", "note", "warning"])}" id="s{rng.randrange(10 ** 6)}">'
             f'<p>{text}</p><a href="/doc/{rng.choice(WORDS)}.html">{rng.choice(WORDS)}</a></div>\n')
        parts.append(p)
        n += len(p)
    parts.append("</body></html>\n")
    return "".join(parts).encode()


def _zstd_coded_lengths(monkeypatch) -> list:
    """Lengths of the streams entropy.entropy_code codes from here on."""
    seen = []
    real = entropy.entropy_code

    def spy(data, level, *a, **k):
        seen.append(len(data))
        return real(data, level, *a, **k)

    monkeypatch.setattr(entropy, "entropy_code", spy)
    return seen


@pytest.mark.parametrize("make,fmt", [(_prose, "text"), (_html, "html")])
def test_large_block_streams_skip_zstd_and_frames_match(monkeypatch, make, fmt):
    data = make(7, 900_000)
    seen = _zstd_coded_lengths(monkeypatch)
    frame = cobol.compress(data, 3, threads=1, fmt=fmt)
    assert cobol.decompress(frame) == data
    # the candidate's large streams went to brotli alone (the raw block's one
    # stream is the block itself, coded with zstd when it is not skipped)
    assert not [n for n in seen if plan.DIRECT_BROTLI_MIN_STREAM <= n < len(data)]
    seen.clear()
    monkeypatch.setattr(plan, "DIRECT_BROTLI_FORMATS", frozenset())
    before = cobol.compress(data, 3, threads=1, fmt=fmt)
    assert [n for n in seen if plan.DIRECT_BROTLI_MIN_STREAM <= n < len(data)], "the old path codes them with zstd"
    assert len(frame) <= len(before)


def test_never_larger_than_plain_zstd():
    # the raw plan may be skipped on its estimate: the stored block still beats plain zstd
    for seed in range(3):
        data = _prose(seed, 700_000)
        assert len(cobol.compress(data, 3, threads=1, fmt="text")) < len(entropy.entropy_code(data, 3)[1])


def test_small_blocks_keep_their_rules():
    ctx_text = plan.EncodeContext(level=3, fmt="text")
    ctx_html = plan.EncodeContext(level=3, fmt="html")
    one = [object()]
    assert plan.direct_brotli_quality(b"x" * (60 << 10), ctx_text, one) == 0
    assert plan.direct_brotli_quality(b"x" * (400 << 10), ctx_html, one) == 0
    assert plan.direct_brotli_quality(b"x" * (600 << 10), ctx_html, one) == entropy.stream_coding(3).brotli
    assert plan.direct_brotli_quality(b"x" * (600 << 10), ctx_html, one * 2) == 0
    assert plan.direct_brotli_quality(b"x" * (600 << 10), plan.EncodeContext(level=9, fmt="html"), one) == 0
    assert plan.direct_brotli_quality(b"x" * (600 << 10), plan.EncodeContext(level=3, fmt="json"), one) == 0


def test_prose_up_to_its_own_bound_is_coded_at_quality_10():
    """Prose blocks keep the small-block rule (brotli 10) up to
    plan.SMALL_BROTLI_TEXT_MAX, logs up to plan.SMALL_BROTLI_MAX; past the
    bound the level's quality and the direct coding of large streams apply."""
    assert plan.SMALL_BROTLI_MAX < plan.SMALL_BROTLI_TEXT_MAX
    ctx_text = plan.EncodeContext(level=3, fmt="text")
    ctx_log = plan.EncodeContext(level=3, fmt="log")
    six = entropy.stream_coding(3).brotli
    mid = plan.SMALL_BROTLI_TEXT_MAX
    assert plan.brotli_quality(ctx_text, mid) == plan.SMALL_BROTLI_QUALITY
    assert plan.brotli_quality(ctx_text, mid + 1) == six
    assert plan.brotli_quality(ctx_log, plan.SMALL_BROTLI_MAX + 1) == six
    assert plan.brotli_quality(plan.EncodeContext(level=1, fmt="text"), mid) == six
    one = [object()]
    assert plan.direct_brotli_quality(b"x" * mid, ctx_text, one) == 0
    assert plan.direct_brotli_quality(b"x" * (mid + 1), ctx_text, one) == six
    # a 200 KB prose block: its l1 streams are stored at quality 10, and the frame decodes
    data = _prose(3, 200_000)
    chosen = plan.choose_plan(data, ctx_text)
    assert chosen.transform.name == "l1"
    words = max(zip(chosen.streams, chosen.sources), key=lambda p: len(p[1]))
    assert words[0].codec == entropy.BROTLI
    assert words[0].data == entropy.brotli_encode(words[1], plan.SMALL_BROTLI_QUALITY)
    assert cobol.decompress(cobol.compress(data, 3, threads=1, fmt="text")) == data
