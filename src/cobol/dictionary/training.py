"""Training a shared dictionary (:class:`cobol.dictionary.Dictionary`) from
sample messages, like ``zstd --train`` (``cobol train`` is its command line).

The zstd part is trained on the messages *as the engine codes them*: for each
sample, whichever of the raw bytes or a format-aware transform's output packed
into one stream (the ``bundle`` transform, :mod:`cobol.layers.bundle`) codes
smaller on held-out samples, so the dictionary primes the keys, skeletons and
params the transforms emit, not just the raw text. Transforms that define
``train_dictionary_section(samples, level, budget)`` add their own sections.

The held-out samples are measured as the engine would write them (detect,
plan, block record), with the planner and the block layout directly: this
module sits below :mod:`cobol.engine`, like the type in :mod:`.model`, so the
engine can read dictionaries without a loop back to itself.
"""

from __future__ import annotations

import zstandard

from .. import detect as _detect
from ..errors import EncodeError
from ..format import checksum as ck
from ..format.frame import encode_data_block
from ..layers import bundle
from ..plan import choose_plan
from ..registry import LAYER_NAMES, EncodeContext, all_transforms, candidates_for
from .model import DEFAULT_LEVEL, DEFAULT_SIZE, MAX_SIZE, MIN_SIZE, ZSTD_DICT_MAGIC, Dictionary

#: fraction of the samples held out to choose the training representation
HOLDOUT_FRACTION = 0.2
HOLDOUT_MAX = 256
MIN_HOLDOUT = 4
#: the transforms' sections get at most this many quarters of the size
#: (the zstd part the rest: it codes what the sections' models do not fit)
SECTIONS_SHARE = 3
#: total sample bytes handed to zstd's trainer at most
TRAIN_MAX_BYTES = 256 << 20


def train(samples, size: int = DEFAULT_SIZE, level: int = DEFAULT_LEVEL, *, fmt: str | None = None,
          checksum: str = "crc32") -> Dictionary:
    """Build a shared dictionary of at most ``size`` bytes (serialized) from
    sample messages (a list of bytes-like objects, ideally hundreds or more,
    each shaped like the messages it will compress).

    ``level``: the compression level the dictionary is tuned for (the engine
    may use it at any level). ``fmt``: skip detection, treat samples as this
    format. ``checksum``: only used when held-out samples are compressed to
    choose the representation (it does not change the result's ranking).
    """
    if not isinstance(size, int) or not MIN_SIZE <= size <= MAX_SIZE:
        raise EncodeError(f"dictionary size must be in {MIN_SIZE}..{MAX_SIZE}, got {size!r}")
    if not isinstance(level, int) or not 1 <= level <= 22:
        raise EncodeError(f"dictionary level must be in 1..22, got {level!r}")
    samples = [bytes(s) for s in samples if len(s)]
    if not samples:
        raise EncodeError("no (non-empty) samples to train a dictionary on")
    fmts = [_detect.detect(s, fmt) for s in samples]

    sections = _train_sections(samples, fmts, level, (size - MIN_SIZE - 64) * SECTIONS_SHARE // 4)
    sections_size = len(Dictionary(b"", sections, level))
    zstd_budget = size - sections_size - 8  # the zstd part's length varint
    if zstd_budget < MIN_SIZE:
        raise EncodeError(f"dictionary size {size} leaves no room for a zstd dictionary "
                          f"(sections take {sections_size} bytes)")
    base = Dictionary(b"", sections, level)

    # Each sample as the planner would code it: raw, or a transform's bundle.
    views = {"raw": [[s] for s in samples]}
    for i, (s, f) in enumerate(zip(samples, fmts)):
        ctx = EncodeContext(level=level, fmt=f, dictionary=base)
        for t in candidates_for(f, level, frozenset(LAYER_NAMES)):
            try:
                enc = t.encode(s, ctx)
            except Exception:  # a transform failing here only loses it a vote
                enc = None
            if enc is not None:
                views.setdefault(t.name, [[x] for x in samples])[i] = [_bundle_of(t, enc)]
    if len(views) > 1:
        # the mixture: every distinct representation of every sample
        views["mixed"] = [list(dict.fromkeys(w[i][0] for w in views.values())) for i in range(len(samples))]

    def flat(name, stop=None):
        return [x for per_sample in views[name][:stop] for x in per_sample]

    n_hold = min(HOLDOUT_MAX, int(len(samples) * HOLDOUT_FRACTION))
    if len(views) == 1 or n_hold < MIN_HOLDOUT:
        choice = "mixed" if "mixed" in views else "raw"
    else:
        # train on the first part, pick the view whose dictionary codes the held-out rest smallest
        n_train = len(samples) - n_hold
        held = samples[n_train:]
        scores = {}
        for name in views:
            cand = Dictionary(_train_zstd(flat(name, n_train), zstd_budget, level), sections, level)
            scores[name] = _coded_size(held, cand, level, checksum, fmt)
        choice = min(scores, key=lambda k: (scores[k], k != "raw"))
    view = flat(choice)
    d = Dictionary(_train_zstd(view, zstd_budget, level), sections, level)
    while len(d) > size and zstd_budget > MIN_SIZE:  # the trainer overshot: shrink
        zstd_budget = max(MIN_SIZE, zstd_budget - (len(d) - size) - 64)
        d = Dictionary(_train_zstd(view, zstd_budget, level), sections, level)
    return d


def _bundle_of(t, enc) -> bytes:
    if len(enc.streams) == 1 and not enc.params:
        return bytes(enc.streams[0])
    return bundle.pack(enc)


def _train_sections(samples, fmts, level, budget: int) -> dict:
    """Sections from transforms that define ``train_dictionary_section(samples,
    level, budget)``; all of them together get at most ``budget`` bytes (each
    is asked for what is left, in transform id order)."""
    out = {}
    for t in all_transforms():
        build = getattr(t, "train_dictionary_section", None)
        if build is None:
            continue
        mine = [s for s, f in zip(samples, fmts) if f in t.formats or "*" in t.formats]
        left = budget - sum(len(x) + 8 for x in out.values())
        if mine and left > 0:
            sec = build(mine, level, left)
            if sec and len(sec) <= left:
                out[t.id] = bytes(sec)
    return out


def _train_zstd(view: list, budget: int, level: int) -> bytes:
    """zstd's trainer on ``view``; raw content (the last samples) when it cannot train."""
    total = 0
    picked = []
    for s in view:
        if total + len(s) > TRAIN_MAX_BYTES:
            break
        picked.append(s)
        total += len(s)
    if total > 4 * budget and len(picked) >= 8:
        try:
            return zstandard.train_dictionary(budget, picked, level=level).as_bytes()
        except zstandard.ZstdError:
            pass
    # too little to train on: the samples themselves, most recent last (nearest offsets)
    raw = b"".join(picked)[-budget:]
    while raw.startswith(ZSTD_DICT_MAGIC):  # would read as a full dictionary
        raw = raw[1:]
    return raw


def _coded_size(msgs, d: Dictionary, level: int, checksum: str, fmt) -> int:
    """Bytes of the block records ``CobolEngine(level, checksum=checksum,
    dictionary=d, fmt=fmt, verify=False).encode_block(m, 0)`` writes, summed."""
    checksum_id = ck.checksum_id(checksum)
    total = 0
    for m in msgs:
        ctx = EncodeContext(level=level, fmt=_detect.detect(m, fmt), dictionary=d)
        p = choose_plan(m, ctx, "auto", verify=False)
        total += len(encode_data_block(p.data_block(0, len(m), ck.compute(checksum_id, m))))
    return total


__all__ = ["train"]
