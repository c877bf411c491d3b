"""The planner: which transform runs on a block, and which codec on each stream.

Candidates are the transforms registered for the block's detected format
(``registry.candidates_for``) plus the raw transform, which is always there so
a block never costs more than plain zstd of the same bytes at the same level.
Every candidate is run on the whole block and the smallest result is kept; the
choice is recorded in the block, so the decoder needs none of this. Below
level RAW_SAMPLED_BELOW_LEVEL two shortcuts decide from samples: line blocks
with several candidates run on the whole block only those whose sample is
close to the best one's (SAMPLED_FORMATS), and plain zstd of a large block is
skipped when a slice estimate says the best transform wins clearly
(RAW_SKIP_MARGIN). Only the plan that is stored is round-tripped through its
decoder (every candidate in strict mode, :data:`STRICT_ENV`).

At levels >= ``entropy.PPMD_MIN_LEVEL`` (and 6..18 on MID_PPMD_FORMATS) each
stream is also tried with PPMd (codec 3) and keeps it where it is clearly smaller (:func:`entropy.entropy_code`);
candidates are compared with those sizes, so plain text coded whole with PPMd
can beat the word transform coded with zstd (not on json and xml blocks,
PPMD_EXCLUDED_FORMATS).

On text-like blocks (BROTLI_FORMATS) the winner's zstd streams are then also
coded with brotli (codec 4) at the level's quality (entropy.LEVEL_CODING) and
keep it where it is smaller (:func:`recode_brotli`): once per block, not per
candidate, except on small blocks where a transform beats the raw block by
less than BROTLI_COMPARE_MARGIN: there both are recoded and compared again
(brotli gains more on the raw block's one stream). Large prose and markup
blocks with one candidate (DIRECT_BROTLI_FORMATS) code its large streams with
brotli from the start, without the zstd pass that would only serve the
comparison, and compare that (stored) size with the raw block.

With a shared dictionary (``ctx.dictionary``, :mod:`cobol.dictionary`) every
stream is coded with its zstd dictionary (codec zstd-dict), and each
candidate's streams are also tried packed into one stream (the ``bundle``
transform): on small messages the per-stream framing and the params would
otherwise cost more than the values.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field, replace

from . import entropy
from .errors import CobolError
from .format.frame import DataBlock, StreamEntry
from .layers import bundle as _bundle
from .registry import (
    BrotliCoding, DecodeContext, EncodeContext, Encoded, Transform, candidates_for, get_transform, transform_by_name,
)

log = logging.getLogger("cobol")

#: the plans a user can force by name besides transform names
FIXED_PLANS = ("auto", "store", "zstd")
#: blocks up to this size try the bundle even without a shared dictionary. Off (0):
#: measured on corpus slices (json, jsonl, csv, xml) it saves 0.4% at 1 KiB blocks,
#: 1.3% at 4 KiB, 2.2% at 16 KiB, 1.7% at 64 KiB, but reports would then name
#: "bundle" instead of the format transform on small files.
BUNDLE_WITHOUT_DICTIONARY_MAX = 0
#: environment variable: when set to anything but "" or "0", a candidate that
#: raises or fails its round-trip check raises out of :func:`choose_plan`
#: instead of falling back. For users the fallback is right (a transform bug
#: costs ratio, not data); for the tests it hides the bug, so tests/conftest.py
#: sets it for the whole suite.
STRICT_ENV = "COBOL_STRICT"


def strict_mode() -> bool:
    """Whether candidate failures raise (:data:`STRICT_ENV`); read on each call
    so a test can turn it off for itself."""
    return os.environ.get(STRICT_ENV, "") not in ("", "0")


#: blocks shorter than this skip the format transforms (plan "auto", no shared
#: dictionary, formats not in TINY_BLOCK_KEEPS_TRANSFORMS): the raw transform only.
#: On corpus slices at level 3 (4 slices of up to 6 files per category) the
#: best transform saved 0.0% over plain zstd at 512 B and 1 KiB on json,
#: jsonl, xml, html, csv and log (0.1% on text: 1 slice of 16), and 0-2.8% at
#: 2 KiB (csv 2.8%, jsonl 1.2%), so 2 KiB blocks keep them. Measured again
#: with the log transform and brotli in: the same engine with and without the
#: skip differ by 0.0% at 1 KiB on every text format (-0.2% on text: the skip
#: is smaller) and by 0.0-0.7% (csv) at 1.5 KiB. Skipping them
#: also skips importing and compiling their Numba kernels: a 1 KiB file is
#: compressed without loading Numba at all (docs/SPEED.md, Start-up).
TINY_BLOCK = 2048
#: numeric arrays gain at any size (the numeric transform 1.7x plain zstd on
#: 1 KiB corpus slices, 43% at 512 B with a dtype hint): never skipped. Tiny
#: ones without a dtype hint get the small numeric transform instead
#: (:func:`tiny_candidates`).
TINY_BLOCK_KEEPS_TRANSFORMS = frozenset({"numeric", "binary"})
#: transform of tiny numeric and binary blocks: NumPy only, where the numeric
#: transform's first use compiles ~30 Numba kernels (~10 s CPU once per install,
#: ~0.5 s to load them in every later process) to code 1 KiB 10% smaller
#: (docs/SPEED.md, Start-up)
TINY_NUMERIC_TRANSFORM = "numeric-small"


def skips_transforms(data, ctx: EncodeContext) -> bool:
    """Whether plan "auto" codes this block with plain zstd alone (TINY_BLOCK)."""
    return (len(data) < TINY_BLOCK and ctx.dictionary is None
            and ctx.fmt not in TINY_BLOCK_KEEPS_TRANSFORMS)


def tiny_candidates(data, ctx: EncodeContext) -> list | None:
    """The candidates of plan "auto" for a tiny block (besides raw), or None
    when the block is not tiny and gets its format's candidates. A dtype hint
    keeps the numeric transform: a caller who names the type (the numcodecs
    and zarr codecs) wants the ratio."""
    if skips_transforms(data, ctx):
        return []
    if (len(data) < TINY_BLOCK and ctx.dictionary is None and ctx.fmt in TINY_BLOCK_KEEPS_TRANSFORMS
            and "dtype" not in ctx.hints):
        t = transform_by_name(TINY_NUMERIC_TRANSFORM)
        return [t] if t.needs_layers <= ctx.layers else []
    return None


@dataclass
class CodedStream:
    name: str
    codec: int
    decoded_len: int
    data: bytes
    #: size of the stream's zstd coding at the compare level while the plan is
    #: provisional (BlockPlan.final_level), for entropy.final_code; else None
    compare_size: int | None = None
    #: the brotli quality of a codec-4 stream (0: not known), for recode_hex
    quality: int = 0


@dataclass
class BlockPlan:
    transform: Transform
    params: bytes
    streams: list  # list[CodedStream]
    fmt: str
    #: (transform name, stored size or None when it declined, seconds) per candidate tried
    trials: list = field(default_factory=list)
    #: the streams before entropy coding (None for a stored plan), for recode_brotli
    sources: list | None = None
    #: (transform, Encoded) the plan was coded from, for the round-trip check of
    #: the plan that is stored (:func:`_verify`); None for the raw transform
    encoded: tuple | None = None
    #: the highest brotli quality :func:`recode_brotli` has coded the streams
    #: with (0: none; it runs once per quality, and only upwards)
    brotli_tried: int = 0
    #: while the streams are coded for comparison only (entropy.provisional_code):
    #: the zstd level and further PPMd orders :func:`finish_plan` codes them with; else 0
    final_level: int = 0
    final_orders: tuple = ()
    #: whether finish_plan may keep PPMd from its compare size alone (PPMD_SURE_FORMATS)
    final_sure: bool = False

    @property
    def stored_size(self) -> int:
        return len(self.params) + sum(len(s.data) + 6 for s in self.streams)

    def data_block(self, seq: int, raw_len: int, checksum: bytes) -> DataBlock:
        """The block record of this plan (``checksum``: the raw bytes' digest),
        as the engine writes it and dictionary training measures it."""
        return DataBlock(
            seq=seq, raw_len=raw_len, transform=self.transform.id, params=self.params,
            streams=[StreamEntry(s.codec, len(s.data), s.decoded_len) for s in self.streams],
            checksum=checksum, payloads=[s.data for s in self.streams],
        )


def frame_zstd_dict(ctx: EncodeContext) -> bytes | None:
    """The zstd dictionary bytes streams are coded with: None without a shared
    dictionary, else its zstd part (``b""`` when it has none)."""
    if ctx.dictionary is None:
        return None
    return bytes(getattr(ctx.dictionary, "zstd", b"") or b"")


#: formats whose blocks are never coded with ppmd: there brotli -11 (levels 19+)
#: already reaches 1.15-1.23x bzip3's ratio and decodes at 150-200 MB/s where
#: ppmd's 3-5% more cost a 5-10x slower decode (dev corpus, level 19 with and
#: without ppmd). JSON lines, HTML and prose keep ppmd at 19+: without it level
#: 19 fell to 0.93-0.99x bzip3 on them (prose, HTML; unseen JSON lines), a point
#: bzip3 dominates.
PPMD_EXCLUDED_FORMATS = frozenset({"json", "xml"})


#: transforms not run on these detected formats where PPMd may code the block
#: (ppmd_enabled: levels 19+, and 6..18 on MID_PPMD_FORMATS): l1 on prose, where PPMd of the raw block models
#: the words better than PPMd of l1's word codes. Level 19 on 9 prose files (4
#: dev, 5 unseen; 1 MB cuts): the same frames on 8, l1 kept on one (cmake's
#: buildsystem.7.rst, 9,055 bytes against 9,065 without it); without l1's own
#: PPMd passes level 19 compressed prose at 1.72 instead of 1.18 MB/s.
PPMD_SKIPPED_TRANSFORMS = {"text": frozenset({"l1"})}
#: layer switches turned off on these detected formats where PPMd may code the
#: block: the JSON transform's word coding of its text groups (the ``l1`` switch,
#: l2_json.Layer2Encoder._word_code) on JSON lines, for the same reason (level 9 on
#: 9 JSON lines files, the unseen set and six API-description and metadata files:
#: 0.4% larger with it, geomean).
PPMD_SKIPPED_LAYERS = {"jsonl": frozenset({"l1"})}


def transform_ppmd_orders(enc: Encoded, ctx: EncodeContext) -> tuple | None:
    """The ppmd orders a transform asks for its streams (Encoded.ppmd_orders)
    when the level's coders have none; None when the level's own apply or the
    same rules as ppmd_enabled (switch, format, dictionary) rule ppmd out."""
    if not enc.ppmd_orders or entropy.stream_coding(ctx.level).ppmd:
        return None
    if ctx.fmt in PPMD_EXCLUDED_FORMATS or "ppmd" not in ctx.layers or ctx.dictionary is not None:
        return None
    return tuple(enc.ppmd_orders)


#: detected formats whose blocks are also coded with PPMd below level 19, and the
#: lowest level each is (entropy.PPMD_MID_ORDERS_BY_LEVEL: order 8 below 9; at
#: 10..18 candidates compared with zstd -9 and PPMd as at 19+, below 10 coded at
#: the level straight away): there bzip3 was smaller than zstd 9-18 with brotli
#: 9-10 and compressed faster (docs/FRONTIER.md, branches mid-levels and
#: level-ladder); HTML from level 6, where bzip3 was as fast as levels 6-8 on
#: unseen pages and smaller ("Seventh session: the level ladder"). JSON lines
#: from level 6 too (branch level-ladder7, "Tenth session: the level ladder
#: again"): with zstd 6-8 and brotli 8 (and the 128 KiB quality-10 budget)
#: levels 6-8 coded JSON lines no smaller than level 3 and slower, and bzip3
#: was smaller and faster (/tmp/jl8 + unseen, 8 files: 10.88 at 7.2-7.4 MB/s
#: against 11.96 at 8.4); with order 8 12.72 at 6.9-7.1 (bzip3 11.96 at 8.2;
#: level 9 13.49 at 4.9), decoding at PPMd's speed (180 -> 16 MB/s). Prose from
#: level 6 too (branch ladder8, "Eleventh session: ladder8"): with zstd 6-8 and
#: brotli 8 levels 6-8 coded prose within 1% of level 3 (unseen: its bytes, at its
#: speed), under bzip3's ratio everywhere (dev 3.67 against 4.36, unseen 4.23
#: against 4.25), and bzip3 was faster on fresh2 (dominated); with order 8 dev
#: 4.41 (bzip3 4.36) at 0.36x the CPU speed, unseen 4.60 at the same speed.
#: Not JSON and XML, where those levels already beat bzip3 with brotli; not CSV,
#: numeric or log (log blocks have their own PPMd at 10..18,
#: l2_log.STREAM_PPMD_MIN_LEVEL).
MID_PPMD_MIN_LEVEL = {"html": 6, "text": 6, "jsonl": 6}
MID_PPMD_FORMATS = frozenset(MID_PPMD_MIN_LEVEL)


def mid_ppmd_orders(ctx: EncodeContext) -> tuple:
    """The PPMd orders blocks of ``ctx`` are coded with at levels
    MID_PPMD_MIN_LEVEL..18 (() elsewhere, on other formats, with the ``ppmd`` switch off or with a shared
    dictionary)."""
    if ctx.fmt not in MID_PPMD_FORMATS or "ppmd" not in ctx.layers or ctx.dictionary is not None:
        return ()
    if ctx.level < MID_PPMD_MIN_LEVEL[ctx.fmt]:
        return ()
    return entropy.ppmd_mid_orders(ctx.level)


#: detected formats whose blocks levels PPMD_MIN_LEVEL..TOP_PPMD_ORDERS_MAX_LEVEL
#: (19-20) code with these PPMd orders instead of entropy.ppmd_orders (16 and
#: 32): on prose order 32 was within 0.4% of 16 or larger (dev prose, 1 MB cuts
#: of the raw block: 32/16 = 0.9966, 0.9997, 1.0000, 1.0348; unseen prose 1-10%
#: larger, entropy.PPMD_ORDERS_BY_LEVEL), and its pass was half of level 19's
#: CPU there. HTML and JSON lines keep both (order 32 0.90-0.96x on dev HTML).
#: Levels 21-22 keep every order.
TOP_PPMD_ORDERS = {"text": (16,)}
TOP_PPMD_ORDERS_MAX_LEVEL = 20


def top_ppmd_orders(ctx: EncodeContext) -> tuple:
    """The PPMd orders TOP_PPMD_ORDERS gives ``ctx``'s format at its level (() elsewhere)."""
    if not entropy.PPMD_MIN_LEVEL <= ctx.level <= TOP_PPMD_ORDERS_MAX_LEVEL:
        return ()
    return TOP_PPMD_ORDERS.get(ctx.fmt, ())


def ppmd_enabled(ctx: EncodeContext) -> bool:
    """Whether streams may be coded with ppmd (codec 3): at levels >=
    entropy.PPMD_MIN_LEVEL, and at 6..18 on MID_PPMD_FORMATS, unless the
    ``ppmd`` switch is off (``CobolEngine(layers={"ppmd": False})``), never on
    PPMD_EXCLUDED_FORMATS, never with a shared dictionary (its streams use
    zstd-dict)."""
    if ctx.fmt in PPMD_EXCLUDED_FORMATS:
        return False
    if mid_ppmd_orders(ctx):
        return True
    return entropy.stream_coding(ctx.level).ppmd and "ppmd" in ctx.layers and ctx.dictionary is None


#: detected formats whose streams are also tried with brotli (codec 4) at the
#: levels that name a quality (entropy.LEVEL_CODING): strings, markup and prose,
#: where its context modelling and static dictionary pay. CSV and numeric blocks
#: keep zstd alone (their streams are numbers; brotli's trial would only cost time).
BROTLI_FORMATS = frozenset({"json", "jsonl", "xml", "html", "text", "log"})


#: log and text blocks (SMALL_BROTLI_FORMATS) of at most SMALL_BROTLI_MAX bytes
#: are coded with brotli at least at SMALL_BROTLI_QUALITY from level
#: SMALL_BROTLI_MIN_LEVEL: on files of 7-40 KB nearly every line has a template
#: of its own, the block is best coded whole, and brotli 6 against brotli -11 was
#: the whole distance (7-10%). Quality 10 (brotli's optimal parse) gets 98.5-99.5%
#: of quality 11's bytes at a third of its time: level 3 on 13 unseen logs of
#: 10-40 KB (fail2ban samples, apt, OpenJDK's jaxp list) went from 0.89-0.91x to
#: 0.96-1.0x brotli -11 (7-10% smaller), at ~3 MB/s instead of ~10 for such a
#: block (4-25 ms instead of 1.5-3 ms of CPU). Bounded by the block size, so the
#: throughput on larger inputs does not change; decoding is as fast.
SMALL_BROTLI_FORMATS = frozenset({"log", "text"})
SMALL_BROTLI_MAX = 64 << 10
#: prose (detected "text") keeps the rule up to SMALL_BROTLI_TEXT_MAX bytes:
#: there the l1 plan's word stream gains 6-9% from quality 10 over 6 (quality
#: 7-9 gain under 1%: the gain is the optimal parse, not the hash chains) and
#: l1 + brotli 10 is 0.95-0.99x brotli -11 of the file, where l1 + brotli 6
#: was 1.03-1.10x. Level 3 on the prose files of 64-256 KB (unseen
#: node-process.md, pyenv-CHANGELOG.md, urllib3-CHANGES.rst; bash and
#: coreutils NEWS, man bash, 118-367 KB): unseen text geo 0.968 -> 1.004x
#: brotli -11 (1.089 -> 1.130x zstd -19), at 2.7 instead of 4.8 MB/s on that
#: set (brotli -11: 0.9, bzip3: 1.8, so not dominated); a further 10 files
#: (23-813 KB) 0.954 -> 0.966x. Up to 1 MiB: 0.994x there, but 2.3 MB/s on 5
#: files of 33-367 KB, slower than bzip3 (3.4) at a lower ratio (dominated).
#: 256 KiB is where plan.SAMPLE_MIN_BLOCK and the direct brotli coding of
#: large prose start; blocks past it keep the level's quality, so large inputs
#: (8 MiB blocks) compress as fast as before.
SMALL_BROTLI_TEXT_MAX = 256 << 10


def small_brotli_max(fmt: str) -> int:
    """The largest block of detected format ``fmt`` that the small-block rule
    (SMALL_BROTLI_FORMATS) codes at SMALL_BROTLI_QUALITY; 0 for other formats."""
    if fmt not in SMALL_BROTLI_FORMATS:
        return 0
    return SMALL_BROTLI_TEXT_MAX if fmt == "text" else SMALL_BROTLI_MAX
SMALL_BROTLI_QUALITY = 10
SMALL_BROTLI_MIN_LEVEL = 3


#: streams of JSON, JSON lines, XML and HTML blocks (SMALL_BROTLI_STREAM_FORMATS)
#: of at most SMALL_BROTLI_STREAM_BLOCK_MAX bytes are coded again at
#: SMALL_BROTLI_QUALITY from level SMALL_BROTLI_MIN_LEVEL within a time budget:
#: at most SMALL_BROTLI_STREAM_BUDGET bytes of the kept plan's streams, and at
#: most half the block (SMALL_BROTLI_STREAM_SHARE), those with the most coded
#: bytes first (:func:`small_brotli_budget`). Brotli 10 costs 300-800 ns a byte
#: (20-40x quality 6): the cap bounds the extra CPU to ~20-50 ms a block, the
#: share keeps level 3 at under about half of brotli -10's time on the block
#: (with the cap alone, level 3 on 19 files of 5-175 KB was as slow as brotli
#: -10). The gain follows the coded bytes (5-10% of them on string and markup
#: streams, ~nothing on well-coded structure), the cost the input bytes, hence
#: the order. Level 3 (docs/SPEED.md): 17 unseen files of 22-416 KB 0.973 ->
#: 1.019x brotli -11 (geomean; 1.073 -> 1.124x zstd -19) for 2.4x the CPU time;
#: 19 other files of 5-175 KB 0.963 -> 1.008x (1.096 -> 1.147x zstd -19) for
#: 2.4x. Without the share 1.035x for 2.8x; all streams of blocks <= 128 KiB
#: 0.999x for 2x; streams <= 32 KiB 1.016x for 2.4x. Quality 9 gains ~1% (it
#: lacks quality 10's optimal parse), 11 another 1-3% for 2.7x quality 10's
#: time. Log and text blocks keep their own rule (SMALL_BROTLI_FORMATS: every
#: stream of a block <= small_brotli_max).
SMALL_BROTLI_STREAM_FORMATS = frozenset({"json", "jsonl", "xml", "html"})
SMALL_BROTLI_STREAM_BLOCK_MAX = 512 << 10
SMALL_BROTLI_STREAM_BUDGET = 64 << 10
#: ... and at most this fraction (1/SHARE) of the block's size
SMALL_BROTLI_STREAM_SHARE = 2
#: HTML blocks instead code up to SMALL_BROTLI_HTML_BUDGET bytes of their
#: streams, with no share: in practice every stream of a block of 64-512 KiB
#: (smaller ones are mostly coded raw, RAW_PREDICTED_FORMATS). Their largest
#: stream is the page's text (l1 word codes; 40-75 KB on 100-230 KB pages),
#: which the 64 KiB cap left at quality 6 when it did not fit, and where
#: quality 10 gains 5-8%. Level 3: unseen HTML (4 files, 98-231 KB) geo 0.985
#: -> 1.007x brotli -11 (1.114 -> 1.138x zstd -19; rustdoc-print.html 0.983 ->
#: 1.043x), CPU time 1.3x on that set (3.4 MB/s; bzip3 3.6 MB/s at a lower
#: ratio, brotli -10 2.2); 11 other pages of 30-547 KB 0.989 -> 0.992x at
#: about the same time. A cap of 128 KiB gave the same bytes on these files.
SMALL_BROTLI_HTML_BUDGET = 256 << 10
#: JSON lines blocks at JSONL_BROTLI_LEVELS (3-5 here) code up to
#: SMALL_BROTLI_JSONL_BUDGET bytes of their streams (still at most half the
#: block): the word-coded documentation of API descriptions as JSON lines
#: (the text group of prose, docs/transforms/json.md) is 80-130 KB on blocks of
#: 200-500 KB, which the 64 KiB cap left at quality 8, where quality 10 is
#: 6-8% smaller (botocore EC2 operations, 403 KB: 126 KB of word codes, 50,724
#: -> 46,981 bytes). Level 3, same process (docs/FRONTIER.md, "JSON lines:
#: prose split and budget"): unseen JSON lines 0.997 -> 1.023x brotli -11
#: (geomean) at 20.4 -> 13.6 MB/s (bzip3 10.4); /tmp/jl8 0.987 -> 1.005x at
#: 9.4 -> 7.9 MB/s (bzip3 7.5: the closest margin); 96 KiB gave 0.999x /
#: 1.001x at 16.8 / 8.5 MB/s. Larger blocks (> SMALL_BROTLI_STREAM_BLOCK_MAX)
#: and so large inputs do not change. Levels 6-8 (SMALL_BROTLI_JSONL_LEVELS)
#: take the same budget: without it level 6 coded JSON lines smaller than level 3
#: on no set and was slower (unseen + /tmp/jl8 + jr5 tune, 17 files, bytes-
#: weighted: level 3 11.99, level 6 11.92 -> 12.01 at 12.1 -> 10.5 MB/s CPU;
#: jr5 check, 8 files: level 6 geo 10.44 -> 10.52, level 3 10.36).
SMALL_BROTLI_JSONL_BUDGET = 128 << 10
SMALL_BROTLI_JSONL_LEVELS = frozenset(range(SMALL_BROTLI_MIN_LEVEL, 9))


def small_brotli_budget(ctx: EncodeContext, size: int) -> int:
    """Bytes of the kept plan's streams that a block of ``size`` bytes codes
    again at SMALL_BROTLI_QUALITY (0: none; see SMALL_BROTLI_STREAM_BUDGET)."""
    quality = brotli_quality(ctx)
    if (quality and quality < SMALL_BROTLI_QUALITY and ctx.fmt in SMALL_BROTLI_STREAM_FORMATS
            and ctx.level >= SMALL_BROTLI_MIN_LEVEL and size <= SMALL_BROTLI_STREAM_BLOCK_MAX):
        if ctx.fmt == "html":
            return min(SMALL_BROTLI_HTML_BUDGET, size)
        cap = SMALL_BROTLI_JSONL_BUDGET if ctx.fmt == "jsonl" and ctx.level in SMALL_BROTLI_JSONL_LEVELS \
            else SMALL_BROTLI_STREAM_BUDGET
        return min(cap, size // SMALL_BROTLI_STREAM_SHARE)
    return 0


#: JSON lines blocks are coded with brotli at least at JSONL_BROTLI_QUALITY at
#: the levels JSONL_BROTLI_LEVELS (entropy.LEVEL_CODING gives them 6): there
#: brotli -8 and -9 of the whole file were smaller than the JSON transform's
#: streams at quality 6 and compressed faster (unseen JSON lines, bytes-weighted:
#: levels 1-2 10.18 at 27 MB/s, 4-5 10.19 at 21-23, brotli -8 10.24 at 45, -9
#: 10.40 at 33). Quality 8 on the transform's streams: 10.52 (past brotli -9) for
#: ~10% more CPU time, decode unchanged; dev JSON lines 21.11 -> 21.22. Level 3
#: too (brotli -9 dominated it on unseen JSON lines: 10.22 at 21 MB/s against
#: 10.40 at 28): dev + unseen JSON lines geo 13.82 -> 14.03, ~10% more CPU.
JSONL_BROTLI_QUALITY = 8
JSONL_BROTLI_LEVELS = frozenset({1, 2, 3, 4, 5})
#: JSON, XML and HTML blocks (SMALL_BROTLI_STREAM_FORMATS) of at most
#: LOW_LEVEL_SMALL_MAX bytes are coded with brotli at least at
#: LOW_LEVEL_SMALL_QUALITY at levels 1-2 (below SMALL_BROTLI_MIN_LEVEL, which
#: have no small-block budget). On such a file a raw block (HTML: predicted raw,
#: RAW_PREDICTED_FORMATS) is brotli of the file plus the compact frame's ~20
#: bytes and ~1 ms of planning, so at quality 6 levels 1-2 were brotli -6's bytes,
#: a little larger, at a third of its speed: dominated by it (branch ladder9,
#: docs/FRONTIER.md "Twelfth session: ladder9").
LOW_LEVEL_SMALL_QUALITY = 8
LOW_LEVEL_SMALL_MAX = SMALL_BROTLI_STREAM_BLOCK_MAX
#: XML blocks at XML_MID_LEVELS code their streams with brotli at most at
#: XML_MID_BROTLI_QUALITY (entropy.LEVEL_CODING gives those levels 9): on fresh2's
#: XML (7 files of 0.1-1 MB, 1 MB cuts, same process) level 9 was 5.950 at 5.9 MB/s
#: and level 8 5.929 at 8.1, against bzip3's 6.139 at 7.4: quality 9 bought 0.35%
#: for 1.4x the time, and bzip3 dominated level 9 (branch ladder9, docs/FRONTIER.md
#: "Twelfth session: ladder9"; ladder8 measured the same on dev and unseen XML:
#: 0.2-1.7% for ~1.3x). With 8, level 9 on those sets is 15-20% faster for 0.0-0.3% more
#: bytes; on fresh2 bzip3 still beats it by 4-10% of speed (zstd -9 against -8 on the streams).
XML_MID_LEVELS = range(9, 17)
XML_MID_BROTLI_QUALITY = 8


def brotli_quality(ctx: EncodeContext, size: int | None = None) -> int:
    """The brotli quality streams of this block are also tried with (0: none);
    ``size``, the block's length, raises it for small log and text blocks
    (SMALL_BROTLI_QUALITY) and lowers it for large blocks at the levels that
    name one (entropy.StreamCoding.brotli_large); JSON lines blocks get at least
    JSONL_BROTLI_QUALITY at JSONL_BROTLI_LEVELS."""
    if ctx.dictionary is not None or ctx.fmt not in BROTLI_FORMATS:
        return 0
    coding = entropy.stream_coding(ctx.level)
    quality = coding.brotli
    if ctx.fmt == "xml" and ctx.level in XML_MID_LEVELS:
        quality = min(quality, XML_MID_BROTLI_QUALITY)
    if quality and ctx.fmt == "jsonl" and ctx.level in JSONL_BROTLI_LEVELS:
        quality = max(quality, JSONL_BROTLI_QUALITY)
    if coding.brotli_large and size is not None and size > entropy.BROTLI_LARGE_BLOCK:
        return coding.brotli_large
    if (quality and size is not None and size <= LOW_LEVEL_SMALL_MAX and ctx.level < SMALL_BROTLI_MIN_LEVEL
            and ctx.fmt in SMALL_BROTLI_STREAM_FORMATS):
        return max(quality, LOW_LEVEL_SMALL_QUALITY)
    if (quality and size is not None and size <= small_brotli_max(ctx.fmt)
            and ctx.level >= SMALL_BROTLI_MIN_LEVEL):
        return max(quality, SMALL_BROTLI_QUALITY)
    return quality


#: blocks of these formats over the small-block rules' sizes (small_brotli_max,
#: SMALL_BROTLI_STREAM_BLOCK_MAX, BROTLI_COMPARE_MAX) whose one candidate
#: transform runs whole code that transform's streams of at least
#: DIRECT_BROTLI_MIN_STREAM bytes with brotli at the level's quality straight
#: away, at levels up to DIRECT_BROTLI_MAX_LEVEL: :func:`recode_brotli` coded
#: them with brotli anyway once the plan was kept, so their zstd coding was
#: time spent for the comparison alone (6-8% of level 3's CPU on 1-2 MB of
#: prose and markup). On the dev corpus and the unseen files every such
#: stream of these formats (markup text and values, prose words; 16 KB-1 MB)
#: was 0.69-0.97x smaller with brotli 6 than with zstd -3; JSON is not here
#: (its integer columns keep zstd: vega-flights' distances, 1.00x). The plan
#: is then compared with the raw block (plain zstd) on its brotli sizes, which
#: is what it stores: the "never larger than plain zstd" rule holds as before,
#: and a transform whose brotli coding beats plain zstd of the block is kept
#: where its zstd sizes alone had lost (the raw block then went to brotli too).
#: Log blocks too (those over SAMPLE_MIN_BLOCK that the sample leaves one
#: candidate): brotli 6 was 1-5% under zstd -6 on every such stream measured
#: (skeletons and templates of dpkg, OpenJDK test and irc logs), same frames.
DIRECT_BROTLI_FORMATS = frozenset({"text", "html", "xml", "log"})
#: (XML and HTML blocks from 512 KiB, where the small-block rules end; text from 256 KiB,
#: SMALL_BROTLI_TEXT_MAX, which is also where SAMPLE_MIN_BLOCK drops its log candidate)
DIRECT_BROTLI_MIN_STREAM = 64 << 10
DIRECT_BROTLI_MAX_LEVEL = 5


def direct_brotli_quality(data, ctx: EncodeContext, candidates: list) -> int:
    """The brotli quality the candidate's large streams are coded with from the
    start (0: none; see DIRECT_BROTLI_FORMATS)."""
    size = len(data)
    if (ctx.fmt not in DIRECT_BROTLI_FORMATS or ctx.level > DIRECT_BROTLI_MAX_LEVEL or len(candidates) != 1
            or ctx.dictionary is not None or ppmd_enabled(ctx)):
        return 0
    # the small-block rules (their own brotli passes and comparisons) stay as they are
    if (size <= small_brotli_max(ctx.fmt) or small_brotli_budget(ctx, size)
            or size <= _brotli_compare_limits(ctx, size)[0]):
        return 0
    return brotli_quality(ctx, size)


def _code_streams(enc, level: int, store_only: bool, profiler=None, transform: str = "",
                  zdict: bytes | None = None, ppmd: bool = False, ppmd_orders: tuple | None = None,
                  compare: int = 0, direct_brotli: int = 0) -> list:
    """Each stream of ``enc`` coded (entropy.entropy_code), or with ``compare``
    (a zstd level) coded for comparison only (entropy.provisional_code, PPMd
    at the level's first entropy.PPMD_COMPARE_ORDERS orders when ``ppmd``).
    ``direct_brotli``: streams of at least DIRECT_BROTLI_MIN_STREAM bytes are
    coded with brotli at this quality instead of zstd (see DIRECT_BROTLI_FORMATS)."""
    names = enc.stream_names or [f"s{i}" for i in range(len(enc.streams))]
    # frames the transform made with the compressor entropy_code would use
    made = {} if zdict is not None or ppmd else (getattr(enc, "zstd_frames", None) or {})
    compare_orders = tuple((ppmd_orders or entropy.ppmd_orders(level))[:entropy.PPMD_COMPARE_ORDERS]) if ppmd else ()
    out = []
    for i, (name, s) in enumerate(zip(names, enc.streams)):
        started = profiler.start() if profiler is not None else None
        frame = made.get(i)
        compare_size = None
        if store_only:
            codec, data = entropy.NONE, bytes(s)
        elif compare:
            codec, data, compare_size = entropy.provisional_code(s, compare, level, compare_orders)
        elif frame is not None and frame[0] == level and level > 0 and len(s) >= 16:
            # what entropy_code would return, without compressing again
            codec, data = (entropy.ZSTD, frame[1]) if len(frame[1]) < len(s) else (entropy.NONE, bytes(s))
        elif direct_brotli and len(s) >= DIRECT_BROTLI_MIN_STREAM:
            data = entropy.brotli_encode(s, direct_brotli)
            codec, data = (entropy.BROTLI, data) if len(data) < len(s) else (entropy.NONE, bytes(s))
        else:
            codec, data = entropy.entropy_code(s, level, zdict, ppmd=ppmd, ppmd_orders=ppmd_orders)
        if profiler is not None:
            profiler.record("entropy", stream=name, transform=transform, started=started,
                            bytes_in=len(s), bytes_out=len(data), data_in=s, data_out=data)
        out.append(CodedStream(name, codec, len(s), data, compare_size,
                               direct_brotli if codec == entropy.BROTLI else 0))
    return out


#: detected formats where a PPMd stream under entropy.PPMD_SURE_FRACTION x its
#: zstd size at the compare level is kept without zstd at the block's level
#: (measured on dev and unseen files of these formats, see the constant). Not
#: JSON lines: on dev vega-football a JSON-transform stream kept PPMd that way
#: where zstd -19 and then brotli -11 were smaller (+0.6%, decode 320 -> 150 MB/s).
PPMD_SURE_FORMATS = frozenset({"html", "text"})


def _compare_level(ctx: EncodeContext, level: int, zdict, mid_ppmd: bool = False) -> int:
    """The zstd level candidates are compared with (entropy.StreamCoding.compare,
    or entropy.COMPARE_ZSTD_LEVEL with ``mid_ppmd``, PPMd at levels 10..18; 0:
    coded at ``level`` from the start, as at levels 6-9 with PPMd). Not with a shared dictionary: its
    blocks are small and its streams use zstd-dict."""
    if zdict is not None:
        return 0
    compare = entropy.stream_coding(level).compare
    if not compare and mid_ppmd and level > entropy.COMPARE_ZSTD_LEVEL:
        compare = entropy.COMPARE_ZSTD_LEVEL
    return compare


def finish_plan(p: BlockPlan, profiler=None) -> None:
    """Code the streams of a provisional plan (BlockPlan.final_level) for
    storing: entropy.final_code on each (zstd at the level, PPMd's further
    orders). Runs once per plan; plans coded at their level are left alone."""
    if not p.final_level or p.sources is None:
        return
    level, more, sure = p.final_level, p.final_orders, p.final_sure
    p.final_level, p.final_orders = 0, ()
    for i, (cs, src) in enumerate(zip(p.streams, p.sources)):
        if cs.compare_size is None:
            continue
        started = profiler.start() if profiler is not None else None
        codec, data = entropy.final_code(src, cs.codec, cs.data, cs.compare_size, level, more, sure)
        if profiler is not None:
            profiler.record("entropy", stream=cs.name, transform=p.transform.name, started=started,
                            bytes_in=len(src), bytes_out=len(data), data_in=src, data_out=data)
        p.streams[i] = CodedStream(cs.name, codec, cs.decoded_len, data)


def _run(t: Transform, data, ctx: EncodeContext, store_only: bool = False, verify: bool = False,
         direct_brotli: int = 0) -> BlockPlan | None:
    prof = ctx.profiler
    started = prof.start() if prof is not None else None
    enc = t.encode(data, ctx)
    if prof is not None:
        prof.record("transform", transform=t.name, started=started, bytes_in=len(data),
                    bytes_out=None if enc is None else sum(len(s) for s in enc.streams))
    if enc is None:
        return None
    if len(enc.params) > (1 << 20) or len(enc.streams) > 4096:
        raise CobolError(f"transform {t.name} produced an over-limit plan")
    if len(enc.streams) > t.max_streams or sum(len(s) for s in enc.streams) > t.decoded_limit(enc.params, len(data)):
        # a decoder refuses such a block before decoding it (docs/FORMAT.md "Memory bound")
        log.warning("transform %s: %d streams / %d bytes exceed its decode bound; falling back", t.name,
                    len(enc.streams), sum(len(s) for s in enc.streams))
        return None
    if verify:
        _verify(t, enc, data, ctx)
    zdict = frame_zstd_dict(ctx)
    orders = transform_ppmd_orders(enc, ctx)
    mid = () if orders is not None else mid_ppmd_orders(ctx)
    ppmd = ppmd_enabled(ctx) or orders is not None
    orders = orders or mid or (top_ppmd_orders(ctx) if ppmd else ()) or None
    level = max(ctx.level, enc.min_stream_level or 0)
    compare = 0 if store_only else _compare_level(ctx, level, zdict, bool(mid))
    p = BlockPlan(t, bytes(enc.params),
                  _code_streams(enc, level, store_only, prof, t.name, zdict, ppmd, orders, compare,
                                0 if store_only or compare or zdict is not None or ppmd else direct_brotli), ctx.fmt)
    if compare:
        p.final_level = level
        p.final_orders = tuple((orders or entropy.ppmd_orders(level))[entropy.PPMD_COMPARE_ORDERS:]) if ppmd else ()
        p.final_sure = ctx.fmt in PPMD_SURE_FORMATS
    if not store_only:
        p.sources = list(enc.streams)
    if t.id != 0:
        p.encoded = (t, enc)
    if (zdict is not None or len(data) <= BUNDLE_WITHOUT_DICTIONARY_MAX) and not store_only \
            and (len(enc.streams) > 1 or enc.params):
        packed = Encoded(params=bytes([t.id]), streams=[_bundle.pack(enc)], stream_names=[f"bundle:{t.name}"])
        b = BlockPlan(_bundle_transform(), packed.params,
                      _code_streams(packed, ctx.level, False, prof, t.name, zdict), ctx.fmt)
        if b.stored_size < p.stored_size:
            b.encoded = p.encoded
            return b
    return p


def _verify(t: Transform, enc: Encoded, data, ctx: EncodeContext) -> None:
    """A transform bug must cost ratio, never data: decode what is about to be
    stored and raise CobolError when it does not give the block back."""
    prof = ctx.profiler
    started = prof.start() if prof is not None else None
    back = t.decode([bytes(s) for s in enc.streams], bytes(enc.params), len(data),
                    DecodeContext(dictionary=ctx.dictionary))
    if prof is not None:
        prof.record("verify", transform=t.name, started=started, bytes_in=len(data), bytes_out=len(back))
    if back != data:
        raise CobolError(f"transform {t.name} failed its round-trip check")


#: ppmd-coded streams up to this size are also tried with brotli: on small log
#: files (6-16 KB of syslog and access log lines) brotli -11 of the whole block
#: was 1-5% smaller than ppmd's best order, and a stream this small costs
#: milliseconds
BROTLI_OVER_PPMD_MAX = 64 << 10


def recode_brotli(p: BlockPlan, quality: int, profiler=None, budget: int | None = None) -> None:
    """Try brotli at ``quality`` on each zstd (or stored) stream of the chosen
    plan and keep it where it is entropy.BROTLI_MIN_GAIN smaller. Streams coded
    with ppmd are left as they are unless small (BROTLI_OVER_PPMD_MAX): on the
    dev corpus (html, prose at level 19) brotli -11 never came within
    PPMD_MIN_GAIN of them and doubled the time.

    Run on the winner only (and on the raw plan of a small block where the
    winner is close, :func:`_brotli_compared`): candidates are compared with
    their zstd (and ppmd) sizes, so brotli's time is spent once per block, not
    once per candidate (at level 3 it would otherwise cost about as much as the
    transforms). Runs once per plan and quality, and only upwards: a plan
    compared at the level's quality is coded again at SMALL_BROTLI_QUALITY
    when it is kept (streams already brotli keep the smaller of the two).

    ``budget``: code only streams whose decoded bytes add up to at most this,
    those with the most coded bytes first (SMALL_BROTLI_STREAM_BUDGET); the plan
    then counts as tried at its earlier quality."""
    if not quality or p.sources is None or p.brotli_tried >= quality:
        return
    # streams this function coded with brotli at a lower quality are coded again
    recodable = (entropy.NONE, entropy.ZSTD, entropy.PPMD) + ((entropy.BROTLI,) if p.brotli_tried else ())
    chosen = [i for i, (cs, src) in enumerate(zip(p.streams, p.sources))
              if len(src) >= entropy.BROTLI_MIN_SIZE and cs.codec in recodable
              and not (cs.codec == entropy.PPMD and len(src) > BROTLI_OVER_PPMD_MAX)]
    if budget is None:
        p.brotli_tried = quality
    else:
        within = []
        for i in sorted(chosen, key=lambda i: -len(p.streams[i].data)):
            if len(p.sources[i]) <= budget:
                budget -= len(p.sources[i])
                within.append(i)
        chosen = sorted(within)
    for i in chosen:
        cs, src = p.streams[i], p.sources[i]
        started = profiler.start() if profiler is not None else None
        b = entropy.brotli_encode(src, quality)
        if profiler is not None:
            profiler.record("entropy", stream=cs.name, transform=p.transform.name, started=started,
                            bytes_in=len(src), bytes_out=len(b), data_in=src, data_out=b)
        # a stream already coded with brotli (a lower quality) keeps the smaller; so does a
        # ppmd one (brotli decodes 10-50x faster: BROTLI_MIN_GAIN weighs it against zstd only).
        # Small prose and log blocks at levels 9+ kept ppmd 0.3-1% over brotli 10 that way
        # (fail2ban samples of 11-13 KB detected as text: 2525 against 2518 bytes)
        if len(b) <= len(cs.data) * (1.0 - (0.0 if cs.codec in (entropy.BROTLI, entropy.PPMD)
                                            else entropy.BROTLI_MIN_GAIN)):
            p.streams[i] = CodedStream(cs.name, entropy.BROTLI, cs.decoded_len, b, quality=quality)


#: blocks up to this size in BROTLI_COMPARE_FORMATS where a transform wins on zstd
#: sizes and plain zstd of the block (the raw plan) is within
#: BROTLI_COMPARE_MARGIN of it have both recoded with brotli
#: (:func:`recode_brotli`) before the choice. Brotli gains more on one stream
#: of whole lines than on a transform's several streams, so on zstd sizes the
#: log transform (and l1) won small blocks that the raw block codes smaller
#: once brotli has run (zstd sizes 0.1-7.5% apart). Level 3 on 38 files (27
#: slices of 8-32 KiB of the dev logs, 11 unseen logs of 10-40 KB): 0.90%
#: smaller (geomean; up to 5.3%; unseen alone 0.3%), compression 5% slower
#: (one more brotli pass over the block, ~0.2 ms per 10 KB; A/B in one
#: process); recoding every candidate within the margin (l1 too) gained 0.95%
#: for 10-12%. Above 64 KiB no plan changed on the dev and unseen logs. The
#: text gate's cheaper template count (l2_log.LogScan(templates=False)) more
#: than pays for it on logs detected as text.
BROTLI_COMPARE_MAX = 64 << 10
BROTLI_COMPARE_MARGIN = 0.08
#: only for these detected formats (the log transform's: where the log
#: transform and l1 compete with the raw block; json and markup transforms keep
#: their choice on zstd sizes) and at levels whose own brotli quality is at
#: most BROTLI_COMPARE_MAX_QUALITY (levels 1-16; at 10-16 not for blocks
#: coding_context moves to level 19's coders). The comparison codes at the
#: level's quality, and only the plan kept is coded again at
#: SMALL_BROTLI_QUALITY (choose_plan): comparing at quality 10 chose the same
#: plans on 12 unseen logs of 10-180 KB and cost 30% more CPU.
BROTLI_COMPARE_FORMATS = frozenset({"log", "text"})
BROTLI_COMPARE_MAX_QUALITY = 9
#: prose blocks (detected "text") whose kept plan is coded again at
#: SMALL_BROTLI_QUALITY (levels 3-5, see LOG_PLAN_WEIGHT) keep the raw plan in
#: that comparison unless it is TEXT_COMPARE_RAW_BIAS larger than the
#: transform's at the level's quality: quality 10 gains ~3% more on the raw
#: block's one stream (whole-line matches, brotli's static dictionary on the
#: words that l1 turns into codes) than on l1's word codes. 37 prose files of
#: 4-64 KB (34 from /usr/share/doc and the venv's package docs: node API
#: pages, release notes, licenses; 3 of the unseen set): raw/l1 size at
#: quality 6 was 0.95-1.08, at quality 10 0.028 lower on average, and the raw
#: block was the smaller at quality 10 in 28 of them; with no bias 14 blocks
#: kept the larger plan (0.07-3.8% larger), at 0.03 two (0.07%): geomean vs
#: brotli -11 1.0383 -> 1.0312 (the better of the two plans at quality 10:
#: 1.0312). No extra coding pass: the same comparison, another threshold.
TEXT_COMPARE_RAW_BIAS = 0.03


#: prose blocks (detected "text") whose kept plan is coded again at
#: SMALL_BROTLI_QUALITY (small_brotli_max; the level's own quality is lower,
#: and PPMd is not tried: levels 3-5)
#: weigh the log transform's plan LOG_PLAN_WEIGHT times its size when plans
#: are chosen on zstd sizes:
#: quality 10 shrinks the log transform's several streams less than l1's word
#: stream or the raw block. Zstd -> quality-10 size, 26 templated text files
#: of 17-200 KB from this machine (Node API pages, awscli and cmake rst, NEWS):
#: the log plan 0.86-0.93x, l1 and raw 0.71-0.88x, the log plan's factor
#: 1.06-1.23x (median ~1.12) the better of the other two's. On zstd sizes
#: the log plan won 11 of them by up to 13% and then was 0.4-13% *larger*
#: at quality 10 in 9 of those 11 (Node's deprecations.md: 18,790 bytes where
#: l1 codes 17,475); at a weight of 1.12 it stays where it wins by more than
#: ~11% on zstd (numbers tables, 0.64-0.87x), which it also wins at quality 10.
#: No extra coding pass: the choice is made on the sizes already measured.
#: The brotli comparison with the raw plan (_brotli_compared) is not weighted:
#: a log plan kept is LOG_PLAN_WEIGHT under the raw plan, outside that
#: comparison's margin (at quality 6 the log plan's factor is only ~1.04x the
#: raw block's, 0.98-1.14x: weighted there, cmake-properties.7.rst went to the
#: raw plan and came out 1.3% larger).
LOG_PLAN_WEIGHT = 1.12
LOG_WEIGHTED_FORMATS = frozenset({"text"})


def _prose_recoded_small(ctx: EncodeContext, size: int) -> bool:
    """Whether a prose block of ``size`` bytes is compared on sizes below
    SMALL_BROTLI_QUALITY and its kept plan then coded again at it (levels 3-5
    up to SMALL_BROTLI_TEXT_MAX; not where PPMd codes the streams, from level 6
    on prose, where quality 10 may not)."""
    if ctx.fmt not in LOG_WEIGHTED_FORMATS or ppmd_enabled(ctx):
        return False
    return brotli_quality(ctx) < SMALL_BROTLI_QUALITY <= brotli_quality(ctx, size)


def plan_weight(p: BlockPlan, ctx: EncodeContext, size: int) -> float:
    """The factor :func:`choose_plan` weighs ``p``'s stored size with when it
    compares plans for a block of ``size`` bytes (see LOG_PLAN_WEIGHT)."""
    if p.transform.name != "log" or not _prose_recoded_small(ctx, size):
        return 1.0
    return LOG_PLAN_WEIGHT


#: JSON, JSON lines, XML and HTML blocks (SMALL_BROTLI_STREAM_FORMATS) of at
#: most SMALL_BROTLI_RAW_MAX bytes are compared too, at the levels where the
#: plan kept is then coded again at SMALL_BROTLI_QUALITY (small_brotli_budget):
#: when plain zstd of the block is within BROTLI_COMPARE_STRUCTURED_MARGIN of
#: the transform, both are coded with brotli at the level's quality and the raw
#: plan is kept unless it is BROTLI_COMPARE_RAW_BIAS larger; it is then coded
#: whole at SMALL_BROTLI_QUALITY (as is a small raw plan that won on zstd
#: sizes). The bias is there because quality 10 gains 5-15% on the raw block's
#: one stream (whole-block matches, optimal parse) and 0-7% on the transform's
#: budgeted streams: on the tuning files the raw plan that brotli -10 codes
#: smaller was 0.3-6% *larger* at quality 6 (cyclonedx.json 5.4%), the
#: transforms it must not replace 10-70% larger (smallest: bom.cdx.json 12.6%).
#: Level 3, 17 tuning / 19 check files (docs/SPEED.md): 1.0185 -> 1.0300 /
#: 1.0076 -> 1.0447x brotli -11 (geomean), 1.24x / 1.53x the CPU time; 10
#: files change, all smaller (3-13%), each ending 24-26 bytes over brotli -10 at
#: 1.1-1.4x its time. Blocks up to 128 KiB: +0.1% / +0.3% more for 1.08x /
#: 1.04x more time, and one file 2% larger (raw kept on quality 6 sizes, then
#: larger at quality 10 than the transform).
SMALL_BROTLI_RAW_MAX = 64 << 10
#: HTML blocks are compared so up to HTML_BROTLI_RAW_MAX bytes, and a raw plan
#: kept there is coded whole at SMALL_BROTLI_QUALITY (within their budget,
#: SMALL_BROTLI_HTML_BUDGET, which covers the whole block): rustdoc pages of
#: trait and struct documentation (long lists of implementations, each much
#: like the last) are coded smaller by whole-block matches than by the markup
#: transform's streams once both are coded at quality 10 (5-9%), though the
#: transform wins them on zstd sizes (by 0-3%); and a raw plan kept over 64
#: KiB was coded at the level's quality 6 only (4-5% over quality 10). Over
#: SMALL_BROTLI_RAW_MAX the choice is made on the zstd sizes already measured
#: (no brotli pass): the raw plan is kept unless HTML_ZSTD_RAW_BIAS larger than
#: the transform's. 23 pages of 70-330 KB (20 drawn from this machine's
#: rustdoc, Node, Python and Debian docs, 3 of the unseen set; raw/transform
#: 0.97-1.37 on zstd, 0.94-1.23 at quality 10): geomean vs brotli -11 1.0001
#: (transform kept) -> 0.9905 (the better of the two at quality 10: 0.9886);
#: the same at biases 0.015-0.04, 0.9983 at 0. Comparing every page at quality
#: 6 with a bias of 0.02 reached 0.9890 but cost 13% of level 3's CPU on these
#: pages (two brotli passes, the transform's then redone at quality 10); only
#: the pages whose raw plan is HTML_ZSTD_RAW_BIAS to HTML_COMPARE_BAND over the
#: transform on zstd are compared so (with HTML_COMPARE_RAW_BIAS): 4 of the
#: 23, 0.9890 (rustc-platform-support.html: the raw block 3.5% smaller at
#: quality 10, 5.3% larger on zstd, 0.3% at quality 6).
HTML_BROTLI_RAW_MAX = 256 << 10
HTML_ZSTD_RAW_BIAS = 0.03
HTML_COMPARE_BAND = 0.06
HTML_COMPARE_RAW_BIAS = 0.02
BROTLI_COMPARE_STRUCTURED_MARGIN = 0.15
BROTLI_COMPARE_RAW_BIAS = 0.08


def raw_compare_max(fmt: str) -> int:
    """The largest block of a SMALL_BROTLI_STREAM_FORMATS format whose raw plan
    is compared with brotli and, when kept, coded whole at SMALL_BROTLI_QUALITY."""
    return HTML_BROTLI_RAW_MAX if fmt == "html" else SMALL_BROTLI_RAW_MAX


#: HTML blocks (RAW_PREDICTED_FORMATS) of more than 2 x RAW_PREDICTED_SAMPLE and
#: at most SMALL_BROTLI_RAW_MAX bytes, at the levels whose brotli quality is at
#: most RAW_PREDICTED_MAX_QUALITY (3-8), first run their transforms on
#: RAW_PREDICTED_SAMPLE bytes from the middle of the block (from a '<' to a
#: '>'); when none of them is RAW_PREDICTED_SAMPLE_MARGIN smaller than plain
#: zstd of that slice, the block runs no transform: the raw block is coded
#: whole at SMALL_BROTLI_QUALITY straight away. Why: the markup transform never
#: won such a block there once both were coded with brotli. Level 3 on 177 of
#: them (161 HTML files of 4-64 KiB from /usr/share/doc, 8 slices of 48 KiB of
#: larger generated pages: rustdoc, Sphinx, DocBook; 8 files of the tuning and
#: check sets) and level 6 on 90: raw won every one (zstd sizes up to 1.107x
#: apart in the transform's favour), so the transform, its zstd trials and the
#: comparison's brotli passes were time spent for nothing (~25% of level 3's
#: time on such a block, which then ran at 1.2-1.5x brotli -10's CPU time for
#: 0.2-2% more bytes). The slice guards the blocks where markup repeats so much
#: that the transform does win (generated tables of links: 1.5x on zstd, 1.4x
#: at brotli 10): on their slices the transform was 1.38-1.41x smaller, on the
#: real files at most 1.007x. 8 KiB: on slices of 4 KiB the transform's fixed
#: cost hid its gain (0.92x on the tables), 16 KiB cost twice as much (~1.3
#: ms, half the gain). At level 9 (quality 9) the transform won one real block
#: of 121 (a rustdoc slice, 3.7% under the raw block), hence the bound on the
#: quality. JSON and XML keep their transforms: no cheap quantity seen before
#: the transform runs (string-byte share, text share, the transform on a
#: quarter of the block) told their raw wins from the transform's, and neither
#: did the two plans' zstd sizes: a 48 KiB slice of amx.rs.html (detected as
#: XML) was 1.026x apart on zstd in the transform's favour, and the transform
#: 1.23x smaller after brotli (its text stream gains more from brotli).
#: Levels 1-2 too (they have no small-block budget): on 10 small rustdoc and
#: rust-by-example pages (fresh, 23-40 KB) the transform tied the raw block on
#: zstd, was kept and lost after brotli 6; predicted raw, level 1 went from
#: 5.262 to 5.318 geo at 23.3 instead of 19.3 MB/s (brotli -6: 5.341 at 64).
RAW_PREDICTED_FORMATS = frozenset({"html"})
RAW_PREDICTED_MAX_QUALITY = 8
RAW_PREDICTED_SAMPLE = 8 << 10
RAW_PREDICTED_SAMPLE_MARGIN = 0.10


def raw_predicted(data, ctx: EncodeContext, candidates: list) -> bool:
    """Whether the block is coded raw without running ``candidates`` on it
    (see RAW_PREDICTED_FORMATS); runs them on a slice of it to decide."""
    size = len(data)
    if not (ctx.fmt in RAW_PREDICTED_FORMATS and 2 * RAW_PREDICTED_SAMPLE < size <= SMALL_BROTLI_RAW_MAX
            and brotli_quality(ctx) <= RAW_PREDICTED_MAX_QUALITY
            and (small_brotli_budget(ctx, size) or 0 < ctx.level < SMALL_BROTLI_MIN_LEVEL)):
        return False
    start = data.find(b"<", (size - RAW_PREDICTED_SAMPLE) // 2, size - RAW_PREDICTED_SAMPLE)
    start = max(start, 0)
    end = data.rfind(b">", start, start + RAW_PREDICTED_SAMPLE) + 1 or start + RAW_PREDICTED_SAMPLE
    piece = data[start:end]
    hctx = replace(ctx, profiler=None)
    limit = _run(get_transform(0), piece, hctx).stored_size / (1.0 + RAW_PREDICTED_SAMPLE_MARGIN)
    for t in candidates:
        try:
            p = _run(t, piece, hctx)
        except Exception as e:
            if strict_mode():
                raise
            log.warning("transform %s failed on a slice of a %s block (%s)", t.name, ctx.fmt, e)
            continue
        if p is not None and p.stored_size < limit:
            return False
    return True


def _brotli_compare_limits(ctx: EncodeContext, size: int) -> tuple:
    """(largest block, zstd margin, raw bias) of the raw plan's comparison with
    brotli for a block of ``size`` bytes; largest 0: none."""
    if ctx.fmt in BROTLI_COMPARE_FORMATS:
        bias = TEXT_COMPARE_RAW_BIAS if _prose_recoded_small(ctx, size) else 0.0
        return BROTLI_COMPARE_MAX, BROTLI_COMPARE_MARGIN, bias
    if ctx.fmt in SMALL_BROTLI_STREAM_FORMATS and small_brotli_budget(ctx, size):
        bias = HTML_ZSTD_RAW_BIAS if size > SMALL_BROTLI_RAW_MAX else BROTLI_COMPARE_RAW_BIAS
        return raw_compare_max(ctx.fmt), BROTLI_COMPARE_STRUCTURED_MARGIN, bias
    if ctx.fmt in SMALL_BROTLI_STREAM_FORMATS and 0 < ctx.level < SMALL_BROTLI_MIN_LEVEL:
        # levels 1-2 (LOW_LEVEL_SMALL_QUALITY): both plans end at the same quality, no bias
        return LOW_LEVEL_SMALL_MAX, BROTLI_COMPARE_STRUCTURED_MARGIN, 0.0
    return 0, 0.0, 0.0


def _brotli_compared(plans: list, best: BlockPlan, ctx: EncodeContext, size: int) -> BlockPlan:
    """``best``, or the raw plan when it is smaller once both are recoded with
    brotli (see BROTLI_COMPARE_MAX, SMALL_BROTLI_RAW_MAX)."""
    quality = brotli_quality(ctx)
    largest, margin, bias = _brotli_compare_limits(ctx, size)
    if (not quality or quality > BROTLI_COMPARE_MAX_QUALITY or size > largest or best.transform.id == 0):
        return best
    raw = next((p for p in plans if p.transform.id == 0), None)
    if raw is None or raw.stored_size > best.stored_size * (1.0 + margin):
        return best
    if ctx.fmt == "html" and size > SMALL_BROTLI_RAW_MAX and ctx.level >= SMALL_BROTLI_MIN_LEVEL:
        # on the zstd sizes (HTML_ZSTD_RAW_BIAS) outside HTML_COMPARE_BAND (levels 1-2 compare
        # with brotli up to LOW_LEVEL_SMALL_MAX, without a bias: both plans end at one quality)
        if raw.stored_size < best.stored_size * (1.0 + bias):
            return raw
        if raw.stored_size > best.stored_size * (1.0 + HTML_COMPARE_BAND):
            return best
        bias = HTML_COMPARE_RAW_BIAS
    recode_brotli(best, quality, ctx.profiler)
    recode_brotli(raw, quality, ctx.profiler)
    return raw if raw.stored_size < best.stored_size * (1.0 + bias) else best


def _bundle_transform() -> Transform:
    return get_transform(_bundle.BUNDLE_ID)


#: below this level plain zstd of the whole block is first estimated from a sample
RAW_SAMPLED_BELOW_LEVEL = 10
#: ... and skipped when the best transform is smaller than the estimate by this factor
RAW_SKIP_MARGIN = 1.5
_RAW_SAMPLE_SLICES = 4
_RAW_SAMPLE_SLICE = 256 << 10
#: blocks from this size up to 2 x slices x slice are estimated from slices of
#: a 16th of the block (a quarter of it in all) instead of compressed whole:
#: plain zstd of the raw block cost about an eighth of the compression time of
#: a 1 MB numeric array (issue 15)
_RAW_SAMPLE_MIN_BLOCK = 512 << 10
#: numeric blocks: estimated from 128 KiB up, skipped at a margin of 1.3. On 22
#: numeric arrays of 0.1-3 MB (the dev corpus and 16 arrays from outside it:
#: scipy/numpy test data, file sizes, inodes and times) the slices' estimate
#: was 0.93-1.24x the real zstd size (1.04-1.12x from 128 to 512 KiB), so a
#: skip at 1.3 would never have dropped a smaller raw plan; whole-block zstd
#: cost 12-17% of compressing these arrays (issue 15)
RAW_NUMERIC = ("numeric",)
#: CSV/TSV blocks too (estimated from 128 KiB up, skipped at 1.3): the CSV
#: transform is 2.5-5x under plain zstd on the dev tables, and zstd of a whole
#: 300-400 KB table was a fifth of its level-3 compression time
RAW_TABLES = ("csv", "tsv")
_RAW_SAMPLE_MIN_BLOCK_NUMERIC = 128 << 10
RAW_SKIP_MARGIN_NUMERIC = 1.3
#: numeric blocks up to 2 x slices x slice are estimated from slices of a 32nd
#: of the block (an eighth in all; other formats a 16th): on the 20 arrays of
#: 0.16-3 MB of the numeric sets that reach the estimate it moved by -6% to
#: +8% of the real size (more where the first one was already far above it,
#: 1.2-2.6x on time series that the transform codes 1.2-5.7x smaller than
#: zstd), and the skip decisions stayed; the estimate was ~5% of compressing
#: the numeric corpus (eleventh session, numeric-speed8)
_RAW_SAMPLE_PARTS_NUMERIC = 32
#: prose blocks whose candidate was coded with brotli from the start
#: (DIRECT_BROTLI_FORMATS: its size is what it stores): skipped at a margin of
#: 1.25. On 16 cuts of 0.6-2 MB of prose (dev corpus, vim's version7-9.txt,
#: Node's changelogs, Rust's releases.md) the slices' estimate was 1.08-1.25x
#: plain zstd of the block, and the l1 plan with brotli 1.07-1.33x under it;
#: two license collections (LICENSES.txt of gcloud, 0.7-1.2 MB, whole licenses
#: repeated) were estimated 5.4-5.9x too high and l1 was still 1.2-1.3x under
#: plain zstd (brotli's window covers the whole stream). At 1.5 no dev prose
#: block skipped its whole-block zstd pass (11-13% of level 3's CPU there).
RAW_SKIP_MARGIN_TEXT = 1.25


def _raw_skip_rule(fmt: str, direct: int) -> tuple[int, int, float]:
    """How the raw candidate of a ``fmt`` block is estimated before it is
    skipped: (blocks up to this size are compressed whole, each slice is this
    fraction 1/parts of the block, skip margin). ``direct``: the candidates
    were coded with brotli from the start (direct_brotli_quality)."""
    if fmt in RAW_NUMERIC:
        return _RAW_SAMPLE_MIN_BLOCK_NUMERIC, _RAW_SAMPLE_PARTS_NUMERIC, RAW_SKIP_MARGIN_NUMERIC
    if fmt in RAW_TABLES:
        # (the slices of a 32nd were measured on numeric arrays only)
        return _RAW_SAMPLE_MIN_BLOCK_NUMERIC, 4 * _RAW_SAMPLE_SLICES, RAW_SKIP_MARGIN_NUMERIC
    margin = RAW_SKIP_MARGIN_TEXT if direct and fmt == "text" else RAW_SKIP_MARGIN
    return _RAW_SAMPLE_MIN_BLOCK, 4 * _RAW_SAMPLE_SLICES, margin


def _raw_estimate(data, level: int, min_block: int = _RAW_SAMPLE_MIN_BLOCK, parts: int = 4 * _RAW_SAMPLE_SLICES) -> int | None:
    """zstd size of the whole block extrapolated from slices spread over it
    (each ``1 / parts`` of the block, at most _RAW_SAMPLE_SLICE);
    None when the block (up to ``min_block``) is small enough to compress whole.
    Slices lose the long-range matches, so the estimate errs high;
    RAW_SKIP_MARGIN covers it."""
    n = len(data)
    if n <= min_block:
        return None
    span = _RAW_SAMPLE_SLICE if n > 2 * _RAW_SAMPLE_SLICES * _RAW_SAMPLE_SLICE else n // parts
    step = n // _RAW_SAMPLE_SLICES
    size = sum(len(entropy.entropy_code(data[i * step:i * step + span], level)[1])
               for i in range(_RAW_SAMPLE_SLICES))
    return int(size * n / (_RAW_SAMPLE_SLICES * span))


#: Candidate sampling. Blocks of these formats with more than one candidate
#: transform (JSON lines: json and log; logs: l1 and log) first run
#: their candidates on a sample of whole lines (SAMPLE_SLICES slices spread
#: over the block, each cut at newlines) and then run on the whole block only
#: the candidates whose sample size is within SAMPLE_MARGIN of the smallest;
#: a candidate that declines the sample is dropped when another one took it,
#: and when all but the first decline it, the first runs whole untried.
#: Below RAW_SAMPLED_BELOW_LEVEL only: higher levels try every candidate whole.
#: Text only when its head repeats templates (l2_log.looks_templated, the log
#: transform's own gate): on prose the log transform declines anyway and a
#: sample pass only added time; on OpenJDK test logs and 7 MB of mixed logs
#: detected as text it saved l1's whole-block run (-18% to -40% of level 3's CPU, same bytes).
SAMPLED_FORMATS = frozenset({"jsonl", "log"})
#: blocks smaller than this run every candidate whole
SAMPLE_MIN_BLOCK = 256 << 10
SAMPLE_SLICES = 4
#: slices are at most this long and at most 1/64 of the block each, so a
#: sample is at most a 16th of the block: where two candidates take it and
#: both run whole anyway (within SAMPLE_MARGIN), the sample cost at most ~6%
SAMPLE_SLICE = 16 << 10
#: a candidate whose sample is more than this fraction larger than the best's is not run whole
SAMPLE_MARGIN = 0.10
#: ... except the log transform against l1 (logs and log-like text): it runs
#: whole only when its sample is at most this fraction larger than l1's. On 31
#: slices of 0.3-0.8 MB of logs (IRC, apt/dpkg, OpenJDK build and test output,
#: gdb's check.log; /tmp/sb/distinct.log, /tmp/lr/{mix,mid}.log, big.log and the
#: dev and unseen logs), every one whose log sample was larger than l1's lost
#: whole too (sample 1.009-1.049x l1's, whole 1.002-1.026x), and the log
#: transform won no block whose sample was over 0.96x l1's; the whole run it
#: spared is the costliest of the block (irclog2html's 644 KB: ~40% of level
#: 3's CPU, same frame). 2% leaves room for the slices that came within 1.1%.
LOG_OVER_L1_SAMPLE_MARGIN = 0.02
#: ... and l1 against the log transform: l1 does not run whole when the log
#: sample is at least this fraction smaller than l1's. With log params version
#: 5 at level 3 (messages cut off one-of-a-kind lines) the log sample of IRC and
#: test logs comes within SAMPLE_MARGIN of l1's, and both ran whole (irclog2html's
#: 644 KB: 63 ms a compress against 30). On 28 blocks of 0.3-0.8 MB of logs (the
#: 19 dev and unseen logs, /tmp/sb/distinct.log, /tmp/lr/{mix,mid}.log, big.log
#: slices) every block whose log sample was 0.667-0.975x l1's was won whole by
#: the log transform, by 0.78-0.87x (the five that had run both: samples
#: 0.911-0.975x); samples over 1.0x went to l1.
L1_OVER_LOG_SAMPLE_MARGIN = 0.02


def _line_sample(data) -> bytes:
    """SAMPLE_SLICES runs of whole lines, each up to SAMPLE_SLICE bytes and a
    64th of the block, from evenly spaced points of ``data`` (the first from
    its start), joined; short or empty when lines are longer than a slice."""
    n = len(data)
    step = n // SAMPLE_SLICES
    span = min(SAMPLE_SLICE, n // (16 * SAMPLE_SLICES))
    parts = []
    for i in range(SAMPLE_SLICES):
        start = 0 if i == 0 else data.find(b"\n", i * step) + 1
        if start <= 0 and i:
            continue
        end = data.rfind(b"\n", start, start + span) + 1
        if end > start:
            parts.append(data[start:end])
    return b"".join(parts)


def _sampled_candidates(data, ctx: EncodeContext, candidates: list, trials: list) -> list:
    """The candidates worth running on the whole block, decided on a sample
    (see SAMPLED_FORMATS); all of them when the sample does not decide."""
    if len(candidates) < 2 or len(data) < SAMPLE_MIN_BLOCK or ctx.level >= RAW_SAMPLED_BELOW_LEVEL:
        return candidates
    if ctx.fmt == "text" and any(t.name == "log" for t in candidates):
        if not _log_like(data, ctx):
            # the log transform would decline the block after this same test
            return [t for t in candidates if t.name != "log"]
    elif ctx.fmt not in SAMPLED_FORMATS:
        return candidates
    sample = _line_sample(data)
    if len(sample) < SAMPLE_MIN_BLOCK // 32:
        return candidates
    sctx = replace(ctx, profiler=None, size_only=True)
    # text that repeats templates (the log transform's gate, passed on the block's head):
    # the log candidate runs on the sample as on a log, so that the gate is not asked
    # again of the sample (it turned down OpenJDK's check-jdk log there, and l1 won at +1.8%)
    log_sctx = replace(sctx, fmt="log") if ctx.fmt == "text" else sctx
    sizes = {}
    # last candidate first: when all but one decline the sample (the log
    # transform's gate turns down most JSON lines), that one is not tried on
    # the sample at all, so the sample costs only the declines
    for k in range(len(candidates) - 1, -1, -1):
        t = candidates[k]
        if k == 0 and all(z is None for z in sizes.values()):
            return [t]
        t0 = time.perf_counter()
        try:
            p = _run(t, sample, log_sctx if t.name == "log" else sctx, verify=strict_mode())
        except Exception as e:
            if strict_mode():
                raise
            log.warning("transform %s failed on a %s sample (%s); not trying it", t.name, ctx.fmt, e)
            p = None
        size = None if p is None else p.stored_size
        trials.append((f"{t.name} (sample)", size, time.perf_counter() - t0))
        sizes[t.name] = size
    took = [z for z in sizes.values() if z is not None]
    if not took:
        return candidates
    best = min(took)
    log_limit = sizes["l1"] * (1.0 + LOG_OVER_L1_SAMPLE_MARGIN) \
        if ctx.fmt in ("log", "text") and sizes.get("l1") is not None else None

    log_sure = log_limit is not None and sizes.get("log") is not None \
        and sizes["log"] <= sizes["l1"] * (1.0 - L1_OVER_LOG_SAMPLE_MARGIN)

    def kept(t) -> bool:
        size = sizes[t.name]
        if size is None or size > best * (1.0 + SAMPLE_MARGIN):
            return False
        if t.name == "l1" and log_sure:
            return False
        return not (t.name == "log" and log_limit is not None and size > log_limit)
    return [t for t in candidates if kept(t)]


#: log blocks (detected format "log") of at most this many bytes are coded at
#: levels SMALL_LOG_MIN_LEVEL..18 with level SMALL_LOG_CODING_LEVEL's coders
#: (zstd -19, brotli -11, ppmd): there plain zstd -19 and brotli -11 are what
#: a small log is measured against. Not at the default level: it cost ~10x the
#: compression time (0.3-0.4 s CPU for 200 KB) and PPMd's decode speed (10-25
#: MB/s) for 8-14% of ratio, i.e. level 3 became as slow as brotli -11.
SMALL_LOG_BLOCK = 256 << 10
SMALL_LOG_CODING_LEVEL = 19
SMALL_LOG_MIN_LEVEL = 10


def _log_like(data, ctx: EncodeContext) -> bool:
    if ctx.fmt == "log":
        return True
    if ctx.fmt != "text" or "l2" not in ctx.layers:
        return False
    # text whose lines repeat templates like a log's (the log transform's own test;
    # imported here: it loads Numba, which the text candidates load anyway)
    from .layers.l2_log import looks_templated
    return looks_templated(data)


def coding_context(data, ctx: EncodeContext) -> EncodeContext:
    """The context the block's candidates are coded with: ``ctx`` itself, or for
    a small log block (SMALL_LOG_BLOCK; detected as log, or text that repeats
    line templates: OpenJDK's test lists, 150 KB: 4% smaller) the same with the
    level raised to SMALL_LOG_CODING_LEVEL (the candidates stay those of
    ``ctx.level``)."""
    if (SMALL_LOG_MIN_LEVEL <= ctx.level < SMALL_LOG_CODING_LEVEL and len(data) <= SMALL_LOG_BLOCK and ctx.dictionary is None
            and _log_like(data, ctx)):
        return replace(ctx, level=SMALL_LOG_CODING_LEVEL)
    return ctx


def with_brotli_coding(data, ctx: EncodeContext) -> EncodeContext:
    """``ctx`` with EncodeContext.brotli set to how :func:`choose_plan` will code
    the kept plan's streams with brotli (:func:`brotli_quality`, then
    :func:`small_brotli_budget` at SMALL_BROTLI_QUALITY), so that a transform's
    layout trial can price its candidates with the qualities their streams will
    get (the JSON transform's text layout, docs/transforms/json.md). Unchanged
    where no brotli runs, and where streams may be coded with PPMd (ppmd_enabled:
    recode_brotli leaves its large streams alone; JSON lines at level 9, with the
    prices, coded botocore DynamoDB and Cognito shapes 1.2-1.7% larger)."""
    quality = brotli_quality(ctx, len(data))
    if not quality or ppmd_enabled(ctx):
        return ctx
    budget = small_brotli_budget(ctx, len(data))
    return replace(ctx, brotli=BrotliCoding(quality, SMALL_BROTLI_QUALITY if budget else 0, budget))


def choose_plan(data, ctx: EncodeContext, plan: str = "auto", verify: bool = True) -> BlockPlan:
    """The smallest plan for the block among its candidates and raw (see the
    module docstring); a CSV/TSV block whose table plan gains little
    (:func:`_weak_table`) is also planned as text, the smaller kept.

    ``verify``: round-trip the stored plan through its transform's decoder
    (falling back to the next smallest when it fails; raising in strict mode);
    the transforms then run with ``ctx.verified`` and may leave their
    hash-collision checks to that round trip.
    In strict mode and for a forced plan every candidate is checked as it runs,
    so that the tests catch a bug in a transform that loses too."""
    best = _choose_plan(data, ctx, plan, verify)
    if (plan == "auto" and ctx.fmt in RAW_TABLES and ctx.level >= SMALL_BROTLI_MIN_LEVEL
            and len(data) <= SMALL_BROTLI_TEXT_MAX and _weak_table(best)):
        as_text = _choose_plan(data, replace(ctx, fmt="text"), plan, verify)
        if as_text.stored_size < best.stored_size:
            as_text.trials = best.trials + as_text.trials
            return as_text
    return best


#: a CSV/TSV block of at most SMALL_BROTLI_TEXT_MAX bytes at levels
#: SMALL_BROTLI_MIN_LEVEL+ whose plan is not this many times under plain zstd
#: of it is also planned as text (choose_plan), where such text gets brotli 10:
#: real tables code 2.5-5x under zstd with the table transform (RAW_TABLES),
#: while text with a delimiter in most lines (git log --stat's '|', 92 KB)
#: gained 2% and was 22% over the text plan; numpy's umath validation tables
#: (hex floats, 12-69 KB) come out 10-20% smaller. Cost: 4-10x the compress
#: time of those blocks (~2 MB/s, like small text), and of weak tables the
#: text plan does not help (numpy's random test sets, 24 KB: 2.3 -> 17.5 ms).
#: Over 256 KiB it paid less (1.1 MB of umath tables: 3.7% for 4x the time).
WEAK_TABLE_GAIN = 1.25


def _weak_table(best: BlockPlan) -> bool:
    """Whether a table block's plan is raw, or under WEAK_TABLE_GAIN x smaller
    than the raw block coded whole (when its trial ran)."""
    if best.transform.id == 0:
        return True
    raw_sizes = [size for name, size, _ in best.trials or () if name == "raw" and size is not None]
    return bool(raw_sizes) and best.stored_size * WEAK_TABLE_GAIN > raw_sizes[0]


def _choose_plan(data, ctx: EncodeContext, plan: str, verify: bool) -> BlockPlan:
    """:func:`choose_plan` for the format ``ctx`` says."""
    raw = get_transform(0)
    if verify:
        # every plan stored from here is round-tripped first (_first_verified or
        # verify_each); candidates run on samples only give sizes
        ctx = replace(ctx, verified=True)
    if plan == "store" or ctx.level <= 0:
        return _run(raw, data, ctx, store_only=True)
    if plan == "zstd":
        p = _run(raw, data, ctx)
        finish_plan(p, ctx.profiler)
        return p
    trials = []
    if plan == "auto":
        candidates = tiny_candidates(data, ctx)
        if candidates is None:
            candidates = [t for t in candidates_for(ctx.fmt, ctx.level, ctx.layers)
                          if ctx.dictionary is not None or not t.needs_dictionary]
            t0 = time.perf_counter()
            if raw_predicted(data, ctx, candidates):
                trials.append(("raw (predicted)", None, time.perf_counter() - t0))
                candidates = []
            candidates = _sampled_candidates(data, ctx, candidates, trials)
            if ppmd_enabled(ctx):
                skipped = PPMD_SKIPPED_TRANSFORMS.get(ctx.fmt, frozenset())
                candidates = [t for t in candidates if t.name not in skipped]
                ctx = replace(ctx, layers=ctx.layers - PPMD_SKIPPED_LAYERS.get(ctx.fmt, frozenset()))
    else:
        candidates = [transform_by_name(plan)]
    ctx = coding_context(data, ctx)
    ctx = with_brotli_coding(data, ctx)
    direct = direct_brotli_quality(data, ctx, candidates) if plan == "auto" else 0
    verify_each = verify and (plan != "auto" or strict_mode())
    plans = []
    best = None
    for t in candidates + [raw]:
        t0 = time.perf_counter()
        if t is raw and best is not None and ctx.level < RAW_SAMPLED_BELOW_LEVEL:
            min_block, parts, margin = _raw_skip_rule(ctx.fmt, direct)
            estimate = _raw_estimate(data, ctx.level, min_block, parts)
            if estimate is not None and best.stored_size * margin < estimate:
                # a clear win on the sample: skip zstd of the whole block (low levels only)
                trials.append(("raw (sampled)", estimate, time.perf_counter() - t0))
                continue
        if t is raw:
            p = _run(t, data, ctx)
        elif plan != "auto":
            p = _run(t, data, ctx, verify=verify_each)
        else:
            try:
                p = _run(t, data, ctx, verify=verify_each, direct_brotli=direct)
            except Exception as e:  # a candidate's failure falls back to the next one
                if strict_mode():
                    raise
                log.warning("transform %s failed on a %s block (%s); falling back", t.name, ctx.fmt, e)
                p = None
        trials.append((t.name, None if p is None else p.stored_size, time.perf_counter() - t0))
        if p is not None:
            plans.append(p)
            if best is None or p.stored_size * plan_weight(p, ctx, len(data)) < \
                    best.stored_size * plan_weight(best, ctx, len(data)):
                best = p
    if best is not None:
        best = _brotli_compared(plans, best, ctx, len(data))
        best = _finish_compared(plans, best, ctx, len(data))
    if verify and not verify_each and (best is None or best.encoded is not None):
        # (the raw plan needs no round trip; it may be kept over a smaller
        # transform by BROTLI_COMPARE_RAW_BIAS)
        # (the chosen plan first where a weight may have chosen it over a smaller
        # one; elsewhere the smallest, as it always was)
        weighted = any(plan_weight(p, ctx, len(data)) != 1.0 for p in plans)
        best = _first_verified(plans, data, ctx, best if weighted and best is not None else None)
    best = _finished(best, plans, ctx)
    budget = small_brotli_budget(ctx, len(data))
    raw_whole = budget and best.transform.id == 0 and len(data) <= raw_compare_max(ctx.fmt)
    budget_first = budget and best.transform.id != 0 and best.brotli_tried == 0
    if budget_first:
        # the streams the budget takes (by their zstd sizes) are coded at
        # SMALL_BROTLI_QUALITY first, and the level's quality then codes the
        # others only: it coded them too, and quality 10 replaced it (on 5
        # JSON lines files of 200-900 KB, 10-20 ms of brotli 8 in 340 ms)
        recode_brotli(best, SMALL_BROTLI_QUALITY, ctx.profiler, budget)
    if not raw_whole:
        # (a small raw block is coded at SMALL_BROTLI_QUALITY only: a pass at
        # the level's quality first would be spent for nothing)
        recode_brotli(best, brotli_quality(ctx, len(data)), ctx.profiler)
    if raw_whole:
        # the raw block's one stream, whole: over the budget, but where the
        # comparison above kept raw it was counted on (BROTLI_COMPARE_RAW_BIAS)
        recode_brotli(best, SMALL_BROTLI_QUALITY, ctx.profiler)
        if any(p.stored_size < best.stored_size for p in plans):
            # the bias guessed wrong: a transform at the level's quality is
            # smaller than the raw block at SMALL_BROTLI_QUALITY
            best = _first_verified(plans, data, ctx) if verify and not verify_each \
                else min(plans, key=lambda p: p.stored_size)
            best = _finished(best, plans, ctx)
    if budget and best.transform.id != 0 and not budget_first:
        recode_brotli(best, SMALL_BROTLI_QUALITY, ctx.profiler, budget)
    recode_hex(best, ctx)
    best.trials = trials
    return best


_HEX_DIGITS = b"0123456789abcdefABCDEF"
#: codecs whose streams recode_hex tries (zstd-dict streams need the frame's
#: dictionary, PPMd ones are a top-level choice it would undo)
HEX_RECODABLE = (entropy.NONE, entropy.ZSTD, entropy.BROTLI)
#: arrays of binary numbers: their streams hold no text
HEX_SKIPPED_FORMATS = frozenset({"numeric"})


#: streams longer than HEX_SAMPLE_WINDOWS x HEX_SAMPLE_WINDOW bytes are judged
#: by that many windows spread over them before the whole stream is split
#: (the checks on whole streams were 5.5% of level 3's time on HTML and XML)
HEX_SAMPLE_WINDOWS = 8
HEX_SAMPLE_WINDOW = 8 << 10


def _hex_sample(src: bytes) -> bytes:
    n, w, k = len(src), HEX_SAMPLE_WINDOW, HEX_SAMPLE_WINDOWS
    if n <= w * k:
        return src
    return b"".join(src[j * (n - w) // (k - 1):j * (n - w) // (k - 1) + w] for j in range(k))


def recode_hex(p: BlockPlan, ctx: EncodeContext) -> None:
    """Code each stream of the stored plan with codec 5 (runs of hex digits
    packed, :mod:`cobol.hexcodec`) where that is smaller: the rest with the
    codec (and brotli quality) the stream had. A count of hex characters and
    then of digits in runs (hexcodec.find_runs), on a sample of long streams
    (_hex_sample), rules out most streams before the split. Streams of a
    CycloneDX SBOM's hashes: 106,610 -> ~96,000 bytes at level 3."""
    if p.sources is None or ctx.level <= 0 or ctx.fmt in HEX_SKIPPED_FORMATS:
        return
    for i, (cs, src) in enumerate(zip(p.streams, p.sources)):
        if cs.codec not in HEX_RECODABLE or len(src) < entropy.HEX_MIN_DIGITS:
            continue
        src = bytes(src)
        sample = _hex_sample(src)
        digits = len(sample) - len(sample.translate(None, _HEX_DIGITS))
        if digits < entropy.HEX_MIN_SHARE * len(sample) or (sample is src and digits < entropy.HEX_MIN_DIGITS):
            continue  # (hexcodec, and Numba with it, is imported past this check only)
        if sample is not src:
            # (a whole stream is scanned once, by hex_encode, whose bounds are the stricter)
            from .hexcodec import run_share
            if run_share(sample) < entropy.HEX_MIN_SHARE / 2:
                continue
        rest_codec = entropy.ZSTD if cs.codec == entropy.NONE else cs.codec
        quality = (cs.quality or brotli_quality(ctx, len(src))) if cs.codec == entropy.BROTLI else 0
        h = entropy.hex_encode(src, rest_codec, ctx.level, quality)
        if h is None or len(h) >= len(cs.data):
            continue
        if ctx.verified and entropy.get_codec(entropy.HEX).decode(h, len(src)) != src:
            # our own codec, so checked like a transform (loud in the tests)
            if strict_mode():
                raise CobolError(f"hex codec does not give stream {cs.name} back")
            log.warning("hex codec does not give stream %s back; keeping its %s coding", cs.name, cs.codec)
            continue
        p.streams[i] = CodedStream(cs.name, entropy.HEX, cs.decoded_len, h)


#: provisional plans (entropy.StreamCoding.compare) within this fraction of the
#: smallest are all finished and recoded with brotli before the choice: the
#: compare coding (zstd -9) overstates streams that zstd -19 and brotli -11 then
#: shrink, so on a close call it picked the wrong one (1 MB of dev JSON lines:
#: the raw block's PPMd 0.6% under the JSON transform's compare size, 2.3% over
#: its final size)
FINISH_COMPARE_MARGIN = 0.03


def _finish_compared(plans: list, best: BlockPlan, ctx: EncodeContext, size: int) -> BlockPlan:
    """``best``, or the smallest of the provisional plans within
    FINISH_COMPARE_MARGIN of it once they are all finished (:func:`finish_plan`,
    :func:`recode_brotli`)."""
    if not best.final_level:
        return best
    close = [p for p in plans if p.final_level and p.stored_size <= best.stored_size * (1.0 + FINISH_COMPARE_MARGIN)]
    if len(close) < 2:
        return best
    quality = brotli_quality(ctx, size)
    for p in close:
        finish_plan(p, ctx.profiler)
        recode_brotli(p, quality, ctx.profiler)
    return min(close, key=lambda p: p.stored_size)


def _finished(best: BlockPlan, plans: list, ctx: EncodeContext) -> BlockPlan:
    """``best`` coded for storing (:func:`finish_plan`); or the raw plan, also
    finished, when ``best`` is not clearly under plain zstd of the block: the
    raw plan was compared at a cheaper zstd level, and a block must never cost
    more than plain zstd at its own level (entropy.ZSTD_STRONG_FLOOR)."""
    finish_plan(best, ctx.profiler)
    if best.transform.id == 0:
        return best
    raw = next((p for p in plans if p.transform.id == 0 and p.final_level), None)
    if raw is None:
        return best
    raw_zstd = sum(s.compare_size for s in raw.streams if s.compare_size is not None)
    if best.stored_size <= entropy.ZSTD_STRONG_FLOOR * raw_zstd:
        return best
    finish_plan(raw, ctx.profiler)
    return raw if raw.stored_size < best.stored_size else best


def _first_verified(plans: list, data, ctx: EncodeContext, first: BlockPlan | None = None) -> BlockPlan:
    """``first`` (the plan chosen, which may be larger than another:
    LOG_PLAN_WEIGHT), else the smallest of ``plans`` (the first of equal ones),
    whose transform gives the block back; the raw plan, run now if it was
    skipped, when none does."""
    order = sorted(plans, key=lambda p: p.stored_size)
    if first is not None:
        order = [first] + [p for p in order if p is not first]
    for p in order:
        if p.encoded is None:
            return p
        try:
            _verify(*p.encoded, data, ctx)
            return p
        except Exception as e:
            if strict_mode():
                raise
            log.warning("transform %s failed on a %s block (%s); falling back", p.encoded[0].name, ctx.fmt, e)
    return _run(get_transform(0), data, ctx)  # finished by the caller (_finished)
