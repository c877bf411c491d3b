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
    half the block; HTML SMALL_BROTLI_HTML_BUDGET, up to the whole block) at levels 3-16; larger blocks, levels 1-2, levels whose own quality is already 10, a
    shared dictionary and other formats (log and text keep their whole-block
    rule) get none."""
    limit = plan.SMALL_BROTLI_STREAM_BLOCK_MAX
    assert plan.SMALL_BROTLI_STREAM_BUDGET == 64 << 10 and limit == 512 << 10
    assert plan.SMALL_BROTLI_STREAM_SHARE == 2
    html_budget = plan.SMALL_BROTLI_HTML_BUDGET
    assert html_budget == 256 << 10
    assert plan.SMALL_BROTLI_JSONL_BUDGET == 128 << 10
    for level in (3, 4, 5, 6, 7, 8):
        assert plan.small_brotli_budget(EncodeContext(fmt="jsonl", level=level), 400000) == 128 << 10
    assert plan.small_brotli_budget(EncodeContext(fmt="jsonl", level=9), 400000) == 64 << 10
    for fmt in ("json", "jsonl", "xml", "html"):
        for level in (3, 6, 9, 12, 16):
            ctx = EncodeContext(fmt=fmt, level=level)
            if fmt == "html":
                # HTML: its own cap, and no share (every stream of most blocks)
                assert plan.small_brotli_budget(ctx, limit) == html_budget
                assert plan.small_brotli_budget(ctx, 50001) == 50001
                continue
            # JSON lines at levels 3-8 (SMALL_BROTLI_JSONL_LEVELS): a larger cap
            jsonl_cap = fmt == "jsonl" and level in (3, 6)
            assert plan.small_brotli_budget(ctx, limit) == (plan.SMALL_BROTLI_JSONL_BUDGET if jsonl_cap else 64 << 10)
            # at most half of a smaller block
            assert plan.small_brotli_budget(ctx, 50001) == 25000
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
    monkeypatch.setattr(plan, "SMALL_BROTLI_JSONL_BUDGET", 0)
    assert plan.small_brotli_budget(EncodeContext(fmt="jsonl", level=3), len(small)) == 0
    without = [cobol.compress(d, level=3) for d in (big, small)]
    assert with_budget[0] == without[0]
    assert with_budget[1] != without[1]
    for blob, d in zip(with_budget, (big, small)):
        assert cobol.decompress(blob) == d


# a few hundred common English words: prose that brotli's static dictionary and
# whole-block matches code better than the JSON transform's split streams do
VOCAB = ("the of and to in is that for it as was with be by on not he this are or his from at which but have an they "
         "you were her all she there would their we him been has when who will more no if out so said what up its about "
         "into than them can only other new some could time these two may then do first any my now such like our over "
         "man me even most made after also did many before must through back years where much your way well down should "
         "because each just those people how too little state good very make world still own see men work long get here "
         "between both life being under never day same another know while last might us great old year off come since "
         "against go came right used take three file system package user group directory default value option").split()


def _prose_doc(seed: int, records: int) -> bytes:
    rng = random.Random(seed)

    def prose(n):
        return " ".join(rng.choice(VOCAB) for _ in range(n)).capitalize() + "."
    return json.dumps({f"k{i}": {"title": prose(4), "text": prose(rng.randrange(20, 60))} for i in range(records)},
                      indent=1).encode()


#: the layer switches without ``l1``: the JSON transform's word coding of its
#: strings (l2_json.Layer2Encoder._word_code) makes it 24% smaller than the raw
#: block at brotli 10 on _prose_doc's few-hundred-word prose, so these tests of
#: the raw plan's comparison turn it off
NO_WORDS = frozenset({"l2", "l3", "l4", "ppmd"})


def test_which_structured_blocks_compare_the_raw_plan():
    """JSON, JSON lines, XML and HTML blocks compare the raw plan with brotli up
    to SMALL_BROTLI_RAW_MAX bytes at the levels with a brotli-10 budget (3-16),
    with the bias; levels 1-2 up to LOW_LEVEL_SMALL_MAX without it (both plans end
    at LOW_LEVEL_SMALL_QUALITY); log and text keep their own rule; others, levels
    17+, a shared dictionary and larger blocks get none."""
    limit = plan.SMALL_BROTLI_RAW_MAX
    assert limit == 64 << 10
    structured = (limit, plan.BROTLI_COMPARE_STRUCTURED_MARGIN, plan.BROTLI_COMPARE_RAW_BIAS)
    assert structured[1:] == (0.15, 0.08)
    for fmt in ("json", "jsonl", "xml", "html"):
        for level in (3, 6, 9, 12, 16):
            assert plan._brotli_compare_limits(EncodeContext(fmt=fmt, level=level), limit) == \
                (plan.raw_compare_max(fmt),) + structured[1:]
        for level in (1, 2):
            assert plan._brotli_compare_limits(EncodeContext(fmt=fmt, level=level), 1000) == \
                (plan.LOW_LEVEL_SMALL_MAX, plan.BROTLI_COMPARE_STRUCTURED_MARGIN, 0.0)
        for level in (17, 19):
            assert plan._brotli_compare_limits(EncodeContext(fmt=fmt, level=level), 1000)[0] == 0
        assert plan._brotli_compare_limits(EncodeContext(fmt=fmt, level=3, dictionary=object()), 1000)[0] == 0
    for fmt, bias in (("log", 0.0), ("text", plan.TEXT_COMPARE_RAW_BIAS)):
        assert plan._brotli_compare_limits(EncodeContext(fmt=fmt, level=3), 1000) == \
            (plan.BROTLI_COMPARE_MAX, plan.BROTLI_COMPARE_MARGIN, bias)
    for fmt in ("csv", "numeric", "binary"):
        assert plan._brotli_compare_limits(EncodeContext(fmt=fmt, level=3), 1000)[0] == 0
    # a larger block is not compared: the transform that won on zstd sizes stays
    data = _prose_doc(1, 60)
    ctx = EncodeContext(fmt="json", level=3, layers=NO_WORDS)
    best = plan._run(plan.transform_by_name("json"), data, ctx)
    raw = plan._run(get_transform(0), data, ctx)
    assert plan._brotli_compared([best, raw], best, ctx, limit + 1) is best
    assert not best.brotli_tried and not raw.brotli_tried
    assert plan._brotli_compared([best, raw], best, ctx, len(data)) is raw


def test_small_block_where_raw_wins_keeps_raw(monkeypatch):
    """Prose under JSON keys (14 KB): the JSON transform is smaller on zstd and
    at quality 6, the raw block within BROTLI_COMPARE_RAW_BIAS of it; kept, it is
    coded whole with brotli 10 and ends smaller than the transform's plan."""
    data = _prose_doc(1, 60)
    ctx = EncodeContext(fmt="json", level=3, layers=NO_WORDS)
    chosen = plan.choose_plan(data, ctx)
    assert chosen.transform.id == 0
    assert [cs.codec for cs in chosen.streams] == [entropy.BROTLI]
    assert chosen.streams[0].data == entropy.brotli_encode(data, plan.SMALL_BROTLI_QUALITY)
    for level in (3, 6):
        assert cobol.decompress(cobol.compress(data, level=level)) == data
    monkeypatch.setattr(plan, "SMALL_BROTLI_RAW_MAX", 0)
    before = plan.choose_plan(data, ctx)
    assert before.transform.name == "json" and before.stored_size > chosen.stored_size
    # with the word layer the transform's strings beat the raw block at brotli 10
    words = plan.choose_plan(data, EncodeContext(fmt="json", level=3))
    assert words.transform.name == "json" and words.stored_size < chosen.stored_size


def test_raw_kept_by_the_bias_gives_way_when_larger_at_quality_10():
    """Random words from a short list under JSON keys: the raw plan passes the
    comparison at quality 6 (with the bias) but at quality 10 is still larger
    than the JSON transform at quality 6, so the transform's plan is kept."""
    data = _json_doc(1, 60)
    ctx = EncodeContext(fmt="json", level=3, layers=NO_WORDS)
    best = plan._run(plan.transform_by_name("json"), data, ctx)
    raw = plan._run(get_transform(0), data, ctx)
    assert plan._brotli_compared([best, raw], best, ctx, len(data)) is raw
    chosen = plan.choose_plan(data, ctx)
    assert chosen.transform.name == "json"
    assert chosen.stored_size < len(entropy.brotli_encode(data, plan.SMALL_BROTLI_QUALITY))
    assert cobol.decompress(cobol.compress(data, level=3)) == data


def test_blocks_above_the_raw_limit_are_coded_as_before(monkeypatch):
    """A block over SMALL_BROTLI_RAW_MAX is coded byte-identically with the
    comparison off; raising the limit to its size would change it."""
    data = _prose_doc(2, 300)
    assert len(data) > plan.SMALL_BROTLI_RAW_MAX
    no_words = {"l1": False}  # NO_WORDS: with them the transform beats the raw block either way
    # likewise the prose split (its literal keys apart from the prose): the one text stream of before
    from cobol.layers.l2_json import Layer2Encoder
    monkeypatch.setattr(Layer2Encoder, "_prose_groups", staticmethod(lambda *args: None))
    now = cobol.compress(data, level=3, layers=no_words)
    monkeypatch.setattr(plan, "SMALL_BROTLI_RAW_MAX", 0)
    assert cobol.compress(data, level=3, layers=no_words) == now
    monkeypatch.setattr(plan, "SMALL_BROTLI_RAW_MAX", len(data))
    assert cobol.compress(data, level=3, layers=no_words) != now
    assert cobol.decompress(now) == data


def _prose_html(seed: int, paragraphs: int) -> bytes:
    """A page of prose (few tags; sentences that recur, of words from a large
    made-up vocabulary): the raw block codes it smaller than the markup
    transform once both are coded with brotli."""
    rng = random.Random(seed)
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randrange(2, 9))) for _ in range(3000)]
    sentences = [" ".join(rng.choice(words) for _ in range(rng.randrange(8, 20))) for _ in range(150)]

    def prose(n):
        return ". ".join(rng.choice(sentences) for _ in range(n // 10 + 1)) + "."
    body = "".join(f"<h2>{prose(4)}</h2>\n<p>{prose(rng.randrange(60, 120))} <em>{prose(3)}</em> {prose(40)}</p>\n"
                   for _ in range(paragraphs))
    return f"<!DOCTYPE html>\n<html><head><title>t</title></head><body>\n{body}</body></html>\n".encode()


def test_which_blocks_are_predicted_raw():
    """Only HTML blocks of more than 2 x RAW_PREDICTED_SAMPLE and at most
    SMALL_BROTLI_RAW_MAX bytes at levels 1-8 whose middle slice the transform
    does not code RAW_PREDICTED_SAMPLE_MARGIN smaller are predicted raw."""
    assert plan.RAW_PREDICTED_FORMATS == frozenset({"html"}) and plan.RAW_PREDICTED_MAX_QUALITY == 8
    data = _prose_html(1, 30)
    assert 2 * plan.RAW_PREDICTED_SAMPLE < len(data) <= plan.SMALL_BROTLI_RAW_MAX
    html = [plan.transform_by_name("html")]
    for level in (1, 2, 3, 6, 8):
        assert plan.raw_predicted(data, EncodeContext(fmt="html", level=level), html)
    for level in (0, 9, 12, 16, 19):
        assert not plan.raw_predicted(data, EncodeContext(fmt="html", level=level), html)
    assert not plan.raw_predicted(data, EncodeContext(fmt="html", level=3, dictionary=object()), html)
    for fmt in ("json", "jsonl", "xml", "text"):
        assert not plan.raw_predicted(data, EncodeContext(fmt=fmt, level=3), html)
    small = _prose_html(1, 10)
    assert len(small) <= 2 * plan.RAW_PREDICTED_SAMPLE
    assert not plan.raw_predicted(small, EncodeContext(fmt="html", level=3), html)
    large = _prose_html(1, 60)
    assert len(large) > plan.SMALL_BROTLI_RAW_MAX
    assert not plan.raw_predicted(large, EncodeContext(fmt="html", level=3), html)
    # markup that repeats (a generated table of links): the transform is far smaller on the slice
    table = _html(1, 200)
    assert 2 * plan.RAW_PREDICTED_SAMPLE < len(table) <= plan.SMALL_BROTLI_RAW_MAX
    assert not plan.raw_predicted(table, EncodeContext(fmt="html", level=3), html)


def test_block_predicted_raw_is_coded_whole_at_quality_10(monkeypatch):
    """A prose page predicted raw runs no transform and is coded whole with
    brotli 10: the same frame as when the transform runs and loses."""
    data = _prose_html(2, 30)
    ctx = EncodeContext(fmt="html", level=3)
    chosen = plan.choose_plan(data, ctx)
    assert [t[0] for t in chosen.trials] == ["raw (predicted)", "raw"]
    assert chosen.transform.id == 0
    assert [cs.codec for cs in chosen.streams] == [entropy.BROTLI]
    assert chosen.streams[0].data == entropy.brotli_encode(data, plan.SMALL_BROTLI_QUALITY)
    now = cobol.compress(data, level=3)
    assert cobol.decompress(now) == data
    monkeypatch.setattr(plan, "RAW_PREDICTED_FORMATS", frozenset())
    unpredicted = plan.choose_plan(data, ctx)
    assert [t[0] for t in unpredicted.trials] == ["html", "raw"] and unpredicted.transform.id == 0
    assert cobol.compress(data, level=3) == now


def test_block_where_the_html_transform_wins_is_unchanged(monkeypatch):
    """A generated table of links (42 KB): not predicted raw, the transform
    runs and wins, and the frame is the one written without the prediction."""
    data = _html(1, 200)
    chosen = plan.choose_plan(data, EncodeContext(fmt="html", level=3))
    assert chosen.transform.name == "html"
    assert chosen.stored_size < len(entropy.brotli_encode(data, plan.SMALL_BROTLI_QUALITY))
    now = cobol.compress(data, level=3)
    monkeypatch.setattr(plan, "RAW_PREDICTED_FORMATS", frozenset())
    assert cobol.compress(data, level=3) == now
    assert cobol.decompress(now) == data


def test_streams_the_budget_takes_are_not_coded_at_the_level_quality_first(monkeypatch):
    """choose_plan codes the streams within the budget at quality 10 and only
    the others at the level's quality (8 for JSON lines at level 3): no
    stream goes through both, and the kept coding is brotli 10's."""
    data = _jsonl(5, 3000)
    assert plan.SMALL_BROTLI_STREAM_BLOCK_MAX >= len(data) > 2 * plan.SMALL_BROTLI_JSONL_BUDGET
    calls = []
    original = entropy.brotli_encode

    def spy(src, quality):
        calls.append((bytes(src), quality))
        return original(src, quality)
    monkeypatch.setattr(entropy, "brotli_encode", spy)
    chosen = plan.choose_plan(data, EncodeContext(fmt="jsonl", level=3))
    assert chosen.transform.name == "json"
    tens = {src for src, q in calls if q == 10}
    eights = {src for src, q in calls if q == 8}
    assert tens and eights and not tens & eights
    assert sum(len(s) for s in tens) <= plan.SMALL_BROTLI_JSONL_BUDGET
    for cs, src in zip(chosen.streams, chosen.sources):
        if bytes(src) in tens and cs.codec == entropy.BROTLI:
            assert cs.data == original(src, 10)
    assert cobol.decompress(cobol.compress(data, level=3)) == data


def test_levels_1_2_code_small_structured_blocks_at_quality_8():
    """Levels 1-2 raise the brotli quality of JSON, JSON lines, XML and HTML
    blocks up to LOW_LEVEL_SMALL_MAX bytes to LOW_LEVEL_SMALL_QUALITY (a raw block
    there was brotli -6 of the file plus the frame: dominated by brotli -6);
    larger blocks, level 3 and other formats keep their quality."""
    limit = plan.LOW_LEVEL_SMALL_MAX
    assert (plan.LOW_LEVEL_SMALL_QUALITY, limit) == (8, 512 << 10)
    for fmt in ("json", "jsonl", "xml", "html"):
        for level in (1, 2):
            ctx = EncodeContext(fmt=fmt, level=level)
            assert plan.brotli_quality(ctx, limit) == 8
            assert plan.brotli_quality(ctx, 1000) == 8
            assert plan.brotli_quality(ctx, limit + 1) == (8 if fmt == "jsonl" else 6)
            assert plan.brotli_quality(ctx) == (8 if fmt == "jsonl" else 6)
        assert plan.brotli_quality(EncodeContext(fmt=fmt, level=3), limit + 1) == (8 if fmt == "jsonl" else 6)
    for fmt in ("text", "log"):
        assert plan.brotli_quality(EncodeContext(fmt=fmt, level=1), 1000) == 6
    assert plan.brotli_quality(EncodeContext(fmt="csv", level=1), 1000) == 0



def test_xml_levels_9_16_code_with_brotli_8():
    """XML blocks at levels 9-16 take brotli 8 (XML_MID_BROTLI_QUALITY: quality 9
    bought 0.35% for 1.4x the time on fresh2's XML, where bzip3 then dominated
    level 9); other formats keep the level's 9, 17+ their 10-11, and small XML
    blocks still get the quality-10 budget."""
    for level in plan.XML_MID_LEVELS:
        assert plan.brotli_quality(EncodeContext(fmt="xml", level=level), 1 << 20) == 8
        assert plan.brotli_quality(EncodeContext(fmt="json", level=level), 1 << 20) == 9
        assert plan.small_brotli_budget(EncodeContext(fmt="xml", level=level), 100_000) > 0
    assert list(plan.XML_MID_LEVELS) == list(range(9, 17))
    assert plan.brotli_quality(EncodeContext(fmt="xml", level=8), 1 << 20) == 8
    assert plan.brotli_quality(EncodeContext(fmt="xml", level=17), 1 << 20) == 10
    assert plan.brotli_quality(EncodeContext(fmt="xml", level=19), 1000) == 11


def test_html_blocks_over_64_kib_compare_the_raw_plan_with_their_own_bias(monkeypatch):
    """HTML blocks of SMALL_BROTLI_RAW_MAX to HTML_BROTLI_RAW_MAX bytes compare
    the raw plan on zstd sizes with HTML_ZSTD_RAW_BIAS (other formats: not at
    all), with no brotli pass outside HTML_COMPARE_BAND and at the level's
    quality within it; a raw plan kept there is coded whole at
    SMALL_BROTLI_QUALITY, and the frame decodes."""
    assert plan.HTML_BROTLI_RAW_MAX == 256 << 10 and plan.HTML_ZSTD_RAW_BIAS == 0.03
    size = plan.SMALL_BROTLI_RAW_MAX + 1
    assert plan._brotli_compare_limits(EncodeContext(fmt="html", level=3), size) == \
        (plan.HTML_BROTLI_RAW_MAX, plan.BROTLI_COMPARE_STRUCTURED_MARGIN, plan.HTML_ZSTD_RAW_BIAS)
    assert plan._brotli_compare_limits(EncodeContext(fmt="html", level=3), 1000)[2] == plan.BROTLI_COMPARE_RAW_BIAS
    for fmt in ("json", "jsonl", "xml"):
        assert plan.raw_compare_max(fmt) == plan.SMALL_BROTLI_RAW_MAX
    data = _prose_html(2, 100)
    assert plan.SMALL_BROTLI_RAW_MAX < len(data) <= plan.HTML_BROTLI_RAW_MAX
    ctx = EncodeContext(fmt="html", level=3)
    best = plan._run(plan.transform_by_name("html"), data, ctx)
    raw = plan._run(get_transform(0), data, ctx)
    lead = raw.stored_size / best.stored_size
    assert lead > 1.0
    monkeypatch.setattr(plan, "HTML_ZSTD_RAW_BIAS", lead - 1.0 - 0.001)
    monkeypatch.setattr(plan, "HTML_COMPARE_BAND", lead - 1.0 - 0.0005)
    assert plan._brotli_compared([best, raw], best, ctx, len(data)) is best
    assert plan.choose_plan(data, ctx).transform.name == "html"
    assert not best.brotli_tried and not raw.brotli_tried
    # within the band: compared at the level's quality, with HTML_COMPARE_RAW_BIAS
    monkeypatch.setattr(plan, "HTML_COMPARE_BAND", lead - 1.0 + 0.0005)
    for raw_bias in (-0.5, 0.5):
        monkeypatch.setattr(plan, "HTML_COMPARE_RAW_BIAS", raw_bias)
        b, r = (plan._run(t, data, ctx) for t in (plan.transform_by_name("html"), get_transform(0)))
        assert plan._brotli_compared([b, r], b, ctx, len(data)) is (b if raw_bias < 0 else r)
        assert b.brotli_tried and r.brotli_tried
    monkeypatch.setattr(plan, "BROTLI_COMPARE_STRUCTURED_MARGIN", 10.0)
    monkeypatch.setattr(plan, "HTML_ZSTD_RAW_BIAS", lead - 1.0 + 0.001)
    assert plan._brotli_compared([best, raw], best, ctx, len(data)) is raw
    assert not best.brotli_tried and not raw.brotli_tried
    chosen = plan.choose_plan(data, ctx)
    assert chosen.transform.id == 0
    assert [cs.codec for cs in chosen.streams] == [entropy.BROTLI]
    assert chosen.streams[0].data == entropy.brotli_encode(data, plan.SMALL_BROTLI_QUALITY)
    assert cobol.decompress(cobol.compress(data, level=3)) == data
