"""The brotli-10 budget of small JSON, JSON lines, XML and HTML blocks
(plan.SMALL_BROTLI_STREAM_BUDGET): which blocks get it, which streams it codes,
and that frames written with it decode."""
import json
import random

import pytest

import cobol
from cobol import entropy, plan
from cobol.registry import EncodeContext, get_transform

WORDS = ("alpha beta gamma delta epsilon policy resource instance volume snapshot region "
         "describe create delete attach detach network interface address").split()


def _sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)) + f" {rng.randrange(10 ** 6)}."


def _json_doc(seed: int, records: int) -> bytes:
    rng = random.Random(seed)
    doc = {"shapes": {f"Shape{i}": {"type": rng.choice(["string", "integer", "structure"]),
                                    "documentation": _sentence(rng, rng.randrange(5, 30)),
                                    "max": rng.randrange(1000)} for i in range(records)}}
    return json.dumps(doc, indent=1).encode()


def _jsonl(seed: int, records: int) -> bytes:
    rng = random.Random(seed)
    return b"".join(json.dumps({"id": i, "name": _sentence(rng, 3), "doc": _sentence(rng, 12)}).encode() + b"\n"
                    for i in range(records))


def _xml(seed: int, records: int) -> bytes:
    rng = random.Random(seed)
    body = "".join(f'<method name="M{i}" kind="{rng.choice(WORDS)}"><doc>{_sentence(rng, 15)}</doc></method>\n'
                   for i in range(records))
    return f'<?xml version="1.0"?>\n<interface name="x">\n{body}</interface>\n'.encode()


def _html(seed: int, records: int) -> bytes:
    rng = random.Random(seed)
    body = "".join(f'<p class="{rng.choice(WORDS)}">{_sentence(rng, 20)} <a href="/{rng.choice(WORDS)}/{i}">'
                   f'{rng.choice(WORDS)}</a></p>\n' for i in range(records))
    return f"<!DOCTYPE html>\n<html><head><title>t</title></head><body>\n{body}</body></html>\n".encode()


def test_small_structured_blocks_get_the_budget_from_level_3():
    """JSON, JSON lines, XML and HTML blocks of at most
    SMALL_BROTLI_STREAM_BLOCK_MAX bytes get SMALL_BROTLI_STREAM_BUDGET (at most
    half the block) at levels 3-16; larger blocks, levels 1-2, levels whose own quality is already 10, a
    shared dictionary and other formats (log and text keep their whole-block
    rule) get none."""
    limit = plan.SMALL_BROTLI_STREAM_BLOCK_MAX
    assert plan.SMALL_BROTLI_STREAM_BUDGET == 64 << 10 and limit == 512 << 10
    assert plan.SMALL_BROTLI_STREAM_SHARE == 2
    for fmt in ("json", "jsonl", "xml", "html"):
        for level in (3, 6, 9, 12, 16):
            assert plan.small_brotli_budget(EncodeContext(fmt=fmt, level=level), limit) == 64 << 10
            # at most half of a smaller block
            assert plan.small_brotli_budget(EncodeContext(fmt=fmt, level=level), 50001) == 25000
        assert plan.small_brotli_budget(EncodeContext(fmt=fmt, level=3), limit + 1) == 0
        for level in (1, 2, 17, 19):
            assert plan.small_brotli_budget(EncodeContext(fmt=fmt, level=level), 1000) == 0
        assert plan.small_brotli_budget(EncodeContext(fmt=fmt, level=3, dictionary=object()), 1000) == 0
    for fmt in ("log", "text", "csv", "numeric", "binary"):
        assert plan.small_brotli_budget(EncodeContext(fmt=fmt, level=3), 1000) == 0


def _plan_of(sources: list) -> plan.BlockPlan:
    """A plan whose streams are ``sources`` coded as level 3 codes them (zstd)."""
    streams = []
    for i, s in enumerate(sources):
        codec, coded = entropy.entropy_code(s, 3)
        streams.append(plan.CodedStream(f"s{i}", codec, len(s), coded))
    p = plan.BlockPlan(get_transform(0), b"", streams, "json")
    p.sources = list(sources)
    return p


def test_the_budget_codes_the_streams_with_the_most_coded_bytes_first():
    """With a budget, recode_brotli codes the streams with the most coded bytes
    first, skips one that no longer fits and goes on with smaller ones; the
    others keep their coding, and the plan still counts as tried at its earlier
    quality."""
    rng = random.Random(7)
    prose = [_sentence(rng, n).encode() for n in (4000, 1500, 600)]  # poorly compressible text
    repetitive = b"{}" * 20000  # 40000 bytes that zstd codes in a few bytes
    sources = [repetitive, prose[0], prose[1], prose[2]]
    p = _plan_of(sources)
    by_coded = sorted(range(4), key=lambda i: -len(p.streams[i].data))
    assert by_coded[:3] == [1, 2, 3]
    before = list(p.streams)
    # prose[0] + prose[2] fit, prose[1] does not once prose[0] is in
    budget = len(prose[0]) + len(prose[2]) + 10
    assert len(prose[0]) + len(prose[1]) > budget
    plan.recode_brotli(p, 10, budget=budget)
    assert p.brotli_tried == 0
    assert p.streams[0] is before[0] and p.streams[2] is before[2]
    for i in (1, 3):
        assert p.streams[i].codec == entropy.BROTLI
        assert p.streams[i].data == entropy.brotli_encode(sources[i], 10)
    # without a budget every stream is tried
    q = _plan_of(sources)
    plan.recode_brotli(q, 10)
    assert q.brotli_tried == 10 and q.streams[2].codec == entropy.BROTLI


@pytest.mark.parametrize("make, fmt", [(_json_doc, "json"), (_jsonl, "jsonl"), (_xml, "xml"), (_html, "html")])
def test_small_structured_block_is_coded_with_brotli_10_and_decodes(make, fmt):
    """A block of some tens of KB: the kept plan has a stream that is brotli
    10's output, smaller than at the level's quality 6, and the frame decodes."""
    data = make(1, 300)
    assert 16 << 10 < len(data) <= plan.SMALL_BROTLI_STREAM_BLOCK_MAX
    chosen = plan.choose_plan(data, EncodeContext(fmt=fmt, level=3))
    tens = [(cs, src) for cs, src in zip(chosen.streams, chosen.sources)
            if cs.codec == entropy.BROTLI and cs.data == entropy.brotli_encode(src, 10)]
    assert tens
    cs, src = max(tens, key=lambda t: len(t[1]))
    assert len(cs.data) < len(entropy.brotli_encode(src, 6))
    blob = cobol.compress(data, level=3)
    assert cobol.decompress(blob) == data
    assert cobol.decompress(cobol.compress(data, level=6)) == data


def test_blocks_above_the_limit_are_coded_as_without_the_budget(monkeypatch):
    """Output for a block over SMALL_BROTLI_STREAM_BLOCK_MAX is byte-identical to
    the output with the budget switched off; a small block's output differs."""
    big = _jsonl(2, 6000)
    assert len(big) > plan.SMALL_BROTLI_STREAM_BLOCK_MAX
    small = _jsonl(3, 300)
    with_budget = [cobol.compress(d, level=3) for d in (big, small)]
    monkeypatch.setattr(plan, "SMALL_BROTLI_STREAM_BUDGET", 0)
    assert plan.small_brotli_budget(EncodeContext(fmt="jsonl", level=3), len(small)) == 0
    without = [cobol.compress(d, level=3) for d in (big, small)]
    assert with_budget[0] == without[0]
    assert with_budget[1] != without[1]
    for blob, d in zip(with_budget, (big, small)):
        assert cobol.decompress(blob) == d
