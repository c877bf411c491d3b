"""The JSON layer's Python side: :class:`Layer2Encoder`, :class:`Layer2Decoder`
and the registered :class:`JsonTransform` (transform ``json``, id 30)."""

from __future__ import annotations

from itertools import accumulate, chain, islice, repeat

import brotli
import numpy as np
from numba import njit

from ...errors import CobolError, FormatError, LimitError
from ...format.wire import Reader, put_varint
from ...registry import BrotliCoding, DecodeContext, Encoded, EncodeContext, Transform, register_transform
from .. import json_tokenizer as jt
from .. import pages
from ...entropy import thread_compressor
from ..intcodec import decode_ints, encode_ints
from ..primitives import COPY_SLACK, load_u64, readonly
from ..structural_dictionary import MAX_ENTRIES, StructuralDictionary, decode_varints, read_entries
from .symbols import (
    COVERAGE, DICT_MIN_REPEAT, DICT_MIN_VALUES, DICT_SAMPLE_BYTES, DICT_STREAM_OVERHEAD, DICT_TRIAL_GAIN,
    DICT_TRIAL_MIN_VALUES, GROUP_CONFIRM_BAND, GROUP_CONFIRM_BYTES, GROUP_CONFIRM_QUALITY, GROUP_MAX_CANDIDATES,
    GROUP_MIN_BYTES,
    GROUP_MIN_GAIN, GROUP_MIN_LEVEL, GROUP_PAIR_SAMPLE_BYTES, GROUP_SAMPLE_BYTES, GROUP_TRIAL_LEVEL, MAX_COLUMNS, MAX_SCALE,
    MIN_COLUMN_VALUES, MIN_DICT_COUNT, NUM_INT, NUM_PLAIN, NUM_SCALED, N_MODES, PARAMS_VERSION, PARAMS_VERSION_REFS,
    PARAMS_VERSION_STR_REFS, PARAMS_WORDS, PROSE_MIN_SPACES, STRONG_QUALITY_GAIN,
    RESIDUE_TERM,
    ST_BASE_DEPTH, ST_COLON_WS, ST_COMMA_WS, ST_CRLF, ST_INDENT_CHAR, ST_INDENT_WIDTH, ST_PRETTY,
    ST_PRE_COLON_WS, ST_SIZE, S_ARR_OPEN, S_OBJ_OPEN, TEXT_TERM, WORDS_MAX_RATIO, WORDS_MIN_COUNT, WORDS_MIN_TEXT,
    WORDS_PRECHECK_BYTES, WORDS_PRECHECK_MAX_RATIO, WORDS_PRECHECK_MIN_COUNT,
    WORDS_SAMPLE_BYTES, WORDS_TRIAL_QUALITY, WS_TERM, _ERRORS,
)
from .keys import _first_appearance, _intern_keys, _intern_spans, _key_hashes
from .whitespace import detect_style, gap_table
from .columns import _column_spaces, _drop_terms, _gather_spans, _scatter_text
from .numbers import _number_columns, _number_values, _parse_numbers
from .encode_walk import _walk_encode, skeleton_space
from .decode_walk import _walk_decode, _walk_decode_records, top_level_containers
from .subtrees import (
    MIN_STRING_REF_BYTES, MIN_STRING_REF_FLOOR, MIN_SUBTREE_BYTES, decode_subtree_streams, find_repeated_subtrees,
)


@njit(cache=True, nogil=True)
def _first_unescaped_quote(buf, limit):
    """Position of the first ``"`` not escaped by a backslash, or -1 (also -1 if
    a LF comes first: strings never hold one, so the block is in sync there)."""
    i = 0
    n = min(buf.size, limit)
    while i < n:
        c = buf[i]
        if c == 34:
            return i
        if c == 10:
            return -1
        i += 2 if c == 92 else 1
    return -1


def _residue_bytes(buf) -> int:
    tok = jt.tokenize(buf)
    return int(np.diff(tok.starts)[tok.kinds == jt.RESIDUE].sum())


def string_tail_length(buf, window: int = 4096) -> int:
    """A block cut in the middle of a string (minified JSON has no newline to
    cut at) would tokenize with strings and the text between them swapped.
    If starting after the first unescaped quote reads as much better JSON
    (far fewer residue bytes in the first ``window`` bytes), return that
    prefix's length: the encoder stores it verbatim. Otherwise 0."""
    q = _first_unescaped_quote(buf, window)
    if q < 0:
        return 0
    head = buf[:window]
    as_is = _residue_bytes(head)
    shifted = _residue_bytes(head[q + 1:])
    return q + 1 if shifted * 2 + 16 < as_is else 0


class NestingLevelTracker:
    """Per nesting level statistics of a tokenized block (for the profiler).

    ``tokens[d]``, ``bytes[d]``, ``containers[d]``, ``values[d]`` count what sits
    at depth ``d`` (containers: openers at that depth; values: strings, numbers,
    literals)."""

    def __init__(self, tok: jt.Tokens):
        d = tok.depths
        size = int(d.max()) + 1 if d.size else 1
        lengths = np.diff(tok.starts).astype(np.int64)
        k = tok.kinds
        self.tokens = np.bincount(d, minlength=size)
        self.bytes = np.bincount(d, weights=lengths, minlength=size).astype(np.int64)
        self.containers = np.bincount(d[(k == jt.OBJ_OPEN) | (k == jt.ARR_OPEN)], minlength=size)
        vals = (k == jt.STRING) | (k == jt.NUMBER) | (k == jt.TRUE) | (k == jt.FALSE) | (k == jt.NULL)
        self.values = np.bincount(d[vals], minlength=size)

    @property
    def max_depth(self) -> int:
        return len(self.tokens) - 1

    def as_dict(self) -> dict:
        """In the profiler's ``nesting`` vocabulary (lists add per depth, max_* keep the max)."""
        return {"max_depth": self.max_depth, "depth_histogram": self.tokens.tolist(),
                "bytes_per_depth": self.bytes.tolist(), "containers_per_depth": self.containers.tolist(),
                "values_per_depth": self.values.tolist()}


def _choose_mode(vh: np.ndarray):
    """Most specific path mode whose big columns cover COVERAGE of the values."""
    best = None
    for mode in range(N_MODES):
        ids, counts = _first_appearance(vh[:, mode])  # (no copy of the column)
        big = counts >= MIN_COLUMN_VALUES
        covered = counts[big].sum() / max(1, ids.size)
        if best is None or covered > best[0] + 1e-9:
            best = (covered, mode, ids, counts)
        if covered >= COVERAGE:
            return mode, ids, counts
    return best[1], best[2], best[3]


def _column_names(buf, starts, ktok, vtok, col, ncols) -> list:
    """A readable name per column: the key before its first value (stream names)."""
    names = ["shared"] + [""] * (ncols - 1)
    if vtok.size == 0:
        return names
    first = _first_index(col, ncols)
    for c in range(1, ncols):
        if first[c] < 0:
            continue
        k = np.searchsorted(ktok, vtok[first[c]]) - 1
        if k >= 0:
            t = ktok[k]
            names[c] = buf[starts[t] + 1:starts[t + 1] - 1][:24].tobytes().decode("utf-8", "replace")
    return names


def _together_smaller_with_brotli(buf, sa, sb, sg, cum, margin: float = GROUP_MIN_GAIN) -> bool:
    """Whether the first GROUP_CONFIRM_BYTES of the text sample (spans
    ``sa``/``sb``, group ``sg``, cumulative sizes ``cum``) compress
    GROUP_MIN_GAIN smaller as one stream than as its groups with brotli at
    GROUP_CONFIRM_QUALITY. The text streams of json blocks end up coded with
    brotli at every level (plan.BROTLI_FORMATS), whose context modelling
    favours short homogeneous columns more than zstd does: ISO 639-3's
    3-letter codes, names and scopes (875 KB) were 2.1% smaller together
    with zstd -3 but 11% larger with brotli -6, and level 3 chose one stream
    (65.9 KB instead of 59.5 KB). On 24 JSON and JSON lines files, with the
    confirmation asked anywhere from 12% below the margin, only that file
    changed; brotli -4 missed it, quality 5 on 32 KiB agreed with quality 6
    on 256 KiB."""
    end = int(np.searchsorted(cum, GROUP_CONFIRM_BYTES)) + 1
    qa, qb, qg = sa[:end], sb[:end], sg[:end]
    apart = sum(len(brotli.compress(_gather_spans(buf, qa[qg == g], qb[qg == g], TEXT_TERM).tobytes(),
                                    quality=GROUP_CONFIRM_QUALITY))
                for g in np.unique(qg).tolist())
    together = len(brotli.compress(_gather_spans(buf, qa, qb, TEXT_TERM).tobytes(), quality=GROUP_CONFIRM_QUALITY))
    return together < (1 - margin) * apart


class Layer2Encoder:
    """JSON / JSON lines block -> (params, streams). See the module docstring.

    ``group_text``: look for text columns that compress better together (row
    order kept) than apart, by trial compression of a sample (slower; the
    transform enables it from level GROUP_MIN_LEVEL)."""

    def __init__(self, profiler=None, group_text: bool = True, min_subtree: int = MIN_SUBTREE_BYTES,
                 min_string: int = MIN_STRING_REF_BYTES, word_code: bool = True, check_collisions: bool = True,
                 brotli: BrotliCoding | None = None):
        self.profiler = profiler
        #: how the planner will code the streams with brotli (EncodeContext.brotli):
        #: the text-layout trial prices its candidates with it (:meth:`_layout_pricer`)
        self.brotli = brotli
        self.group_text = group_text
        #: code the text groups with the L1 word layer when a trial says it pays
        #: (:meth:`_word_code`; False: never)
        self.word_code = word_code
        #: False: the caller round-trips the output (EncodeContext.verified), so
        #: the word layer may skip comparing words that share a 64-bit hash
        #: (l1_semantic.WordCoder.train_encode's check_keys)
        self.check_collisions = check_collisions
        #: after encode: the word trial's size ratio (word-coded / plain), None when not run that far
        self.last_word_trial: float | None = None
        #: repeated objects/arrays of at least this many bytes become references (0: never)
        self.min_subtree = min_subtree
        #: repeated string values of at least this many bytes, quotes included,
        #: become references (0: never, else >= MIN_STRING_REF_FLOOR; needs ``min_subtree`` > 0)
        if 0 < min_string < MIN_STRING_REF_FLOOR:
            raise ValueError(f"min_string must be 0 or >= {MIN_STRING_REF_FLOOR}")
        self.min_string = min_string
        self.last_tracker: NestingLevelTracker | None = None
        #: after encode: key dictionary size, keys coded by id, keys stored verbatim
        self.last_keys: tuple[int, int, int] = (0, 0, 0)

    def _dictionary_columns(self, buf, starts, vtok, is_num, col, ncols):
        """Low-cardinality string columns (a rating, a team, a category) cost
        less as ids into a dictionary of their distinct values than as text.

        Returns (set of dictionary columns, {column: (dictionary bytes, ids
        bytes)}, mask over values of the strings they take). A column
        qualifies with at least 32 strings and at most 65,536 distinct ones,
        each seen 4+ times on average with ``group_text`` (8+ without), and a
        trial compression must confirm it: with ``group_text`` the column's
        text coded apart against its ids and dictionary (values whose
        neighbours repeat them can do better as text); without it, on blocks
        whose string values fit in DICT_SAMPLE_BYTES, what the column's
        values add to them in document order
        (:meth:`_dictionary_pays_in_context`); larger blocks take the column
        without a trial (there the two streams' framing is small against
        the ids' gain, and the trial on every block cost 7% of level 3's time)."""
        in_dict_col = np.zeros(vtok.size, bool)
        sel = np.flatnonzero(~is_num)
        if sel.size < DICT_MIN_VALUES:
            return set(), {}, in_dict_col
        stok = vtok[sel]
        a = starts[stok].astype(np.int64) + 1
        b = starts[stok + 1].astype(np.int64) - 1
        scol = col[sel]
        sid, count, first, _, sgrp = _intern_spans(buf, a, b, scol)
        nstr = np.bincount(scol, minlength=ncols)
        ndist = np.bincount(sgrp, minlength=ncols)
        need = DICT_MIN_REPEAT if self.group_text else 2 * DICT_MIN_REPEAT
        cands = np.flatnonzero((nstr >= DICT_MIN_VALUES) & (ndist <= MAX_ENTRIES) & (nstr >= need * ndist))
        cctx = thread_compressor(GROUP_TRIAL_LEVEL)
        dcols, parts = set(), {}
        sample_size = None
        in_context = int((b - a + 1).sum()) <= DICT_SAMPLE_BYTES
        for c in cands.tolist():
            mine = scol == c
            ids_c = sid[mine]
            uniq = np.flatnonzero(sgrp == c)  # this column's ids, first-appearance order
            order = uniq[np.argsort(-count[uniq], kind="stable")]  # most frequent first
            remap = np.empty(count.size, np.int64)
            remap[order] = np.arange(order.size)
            new_ids = remap[ids_c]
            ent_a, ent_b = a[first[order]], b[first[order]]
            ddict = StructuralDictionary.from_arrays(_gather_spans(buf, ent_a, ent_b, 0)[_drop_terms(ent_b - ent_a)],
                                                     ent_b - ent_a)
            ids = new_ids.astype(np.uint8 if order.size <= 256 else "<u2").tobytes()
            dbytes = ddict.to_bytes()
            if self.group_text:
                # with text grouping: the column's text coded apart (it may end up apart)
                text = _gather_spans(buf, a[mine], b[mine], TEXT_TERM).tobytes()
                if len(cctx.compress(ids)) + len(cctx.compress(dbytes)) >= DICT_TRIAL_GAIN * len(cctx.compress(text)):
                    continue
            elif in_context:
                if sample_size is None:
                    background = ~np.isin(scol, cands)
                    sample_size = len(cctx.compress(_gather_spans(buf, a[background], b[background], TEXT_TERM).tobytes()))
                frames = self._dictionary_pays_in_context(a, b, buf, mine, background, ids, dbytes, sample_size,
                                                          cctx)
                if frames is None:
                    continue
                if frames:
                    self._trial_frames[("dict", c)] = frames
            dcols.add(c)
            parts[c] = (dbytes, ids)
            in_dict_col[sel[mine]] = True
        return dcols, parts, in_dict_col

    @staticmethod
    def _dictionary_pays_in_context(a, b, buf, in_col, background, ids, dbytes, strings_size, cctx):
        """Whether a dictionary column (its ``ids`` and dictionary ``dbytes``,
        plus DICT_STREAM_OVERHEAD) costs less than DICT_TRIAL_GAIN x what its
        values add to the block's other string values (spans ``a``/``b`` in
        document order; ``in_col``: this column's; ``background``: those of
        no candidate column, zstd size ``strings_size``). Below level 6 the
        text of a column that is not a dictionary stays in document order
        with the others' (one text stream, as the one-stream trial decides on
        most files) or in its own stream, where the old test (the column's
        text coded apart) favoured the dictionary on small blocks: its two
        streams cost their framing, and the text would have cost little among
        the rest. Measured on 24 JSON and JSON lines files (level 3 plan
        sizes, brotli included): 0.4-2.6% smaller on 9 of the 13 files small
        enough for the trial (SBOMs, botocore, CMake, ISO codes), none larger
        (the old test, on every block, cut 10% off one file but added 3-4% to
        three; this one on every block, with a 128 KiB sample, also cut 1.4%
        off a 2 MB GeoJSON but cost 7% of level 3's time in all). Against the
        background rather than all other strings: the same sizes on all 24,
        at less cost where most strings sit in candidate columns (an SBOM
        with 13: level 3 took 7.3 ms with the old rule, 9.4 against all
        other strings, 8.5 against the background; one noisy run each). A column with fewer than
        DICT_TRIAL_MIN_VALUES values is a dictionary without a trial.

        Returns None when the column stays text, else (bytes, zstd frame) of
        its dictionary and of its ids (the entropy stage's compressor at
        GROUP_TRIAL_LEVEL, for Encoded.zstd_frames), or () when it is a
        dictionary untried."""
        if int(in_col.sum()) < DICT_TRIAL_MIN_VALUES:
            return ()
        both = in_col | background
        added = len(cctx.compress(_gather_spans(buf, a[both], b[both], TEXT_TERM).tobytes())) - strings_size
        zd, zi = cctx.compress(dbytes), cctx.compress(ids)
        return ((dbytes, zd), (ids, zi)) if len(zd) + len(zi) + DICT_STREAM_OVERHEAD < DICT_TRIAL_GAIN * added else None

    def _text_groups(self, buf, a, b, tcol, ntext) -> np.ndarray:
        """Text stream (group) of each text column.

        Columns whose values repeat each other within a record (an id inside a
        url and a title, a key that is also in a path) lose those matches when
        split apart; merging such columns into one stream (values interleaved
        in document order) gives them back. Greedy agglomeration: merge the
        pair of groups whose merged sample compresses best below the two
        apart, while that saves at least 2%."""
        sizes = np.bincount(tcol, weights=b - a + 1, minlength=ntext)
        present = np.flatnonzero(sizes > 0)
        group = np.zeros(ntext, np.int64)
        group[present] = np.arange(present.size)
        if present.size < 2:
            return group
        cctx = thread_compressor(GROUP_TRIAL_LEVEL)
        if not self.group_text:
            # (the one-stream trial costs two compressions of a sample, the
            # prose split two more: every level affords them)
            return self._one_text_stream_if_smaller(buf, a, b, tcol, group, cctx, prose_split=True)
        cand = present[sizes[present] >= GROUP_MIN_BYTES]
        cand = cand[np.argsort(-sizes[cand], kind="stable")][:GROUP_MAX_CANDIDATES]
        if cand.size < 2:
            return self._one_text_stream_if_smaller(buf, a, b, tcol, group, cctx, prose_split=True)
        is_cand = np.zeros(ntext, bool)
        is_cand[cand] = True
        cum = np.cumsum(np.where(is_cand[tcol], b - a + 1, 0))
        end = int(np.searchsorted(cum, GROUP_PAIR_SAMPLE_BYTES)) + 1
        sa, sb, sc = a[:end], b[:end], tcol[:end]

        def cost(members):
            member = np.zeros(ntext, bool)
            member[members] = True
            m = member[sc]
            return len(cctx.compress(_gather_spans(buf, sa[m], sb[m], TEXT_TERM).tobytes()))

        groups = [[int(c)] for c in cand]
        costs = [cost(g) for g in groups]
        merged = {}
        for i in range(len(groups)):
            for j in range(i + 1, len(groups)):
                merged[i, j] = cost(groups[i] + groups[j])
        alive = set(range(len(groups)))
        while True:
            best = None
            for (i, j), mc in merged.items():
                gain = costs[i] + costs[j] - mc
                if gain >= max(64, GROUP_MIN_GAIN * (costs[i] + costs[j])) and (best is None or gain > best[0]):
                    best = (gain, i, j)
            if best is None:
                break
            _, i, j = best
            groups[i] += groups[j]
            costs[i] = merged[i, j]
            alive.discard(j)
            merged = {k: v for k, v in merged.items() if j not in k and i not in k}
            for k in alive:
                if k != i:
                    lo, hi = min(i, k), max(i, k)
                    merged[lo, hi] = cost(groups[lo] + groups[hi])
        gid = 0
        group[:] = 0
        done = set()
        for c in present:
            if c in done:
                continue
            members = next((groups[i] for i in alive if c in groups[i]), [c])
            for m in members:
                group[m] = gid
                done.add(m)
            gid += 1
        return self._one_text_stream_if_smaller(buf, a, b, tcol, group, cctx, prose_split=True)

    def _one_text_stream_if_smaller(self, buf, a, b, tcol, group, cctx, prose_split: bool = False):
        """All text as one stream (document order) when a sample says that beats
        the groups: where values repeat across many small columns (an API's
        example inputs echoed in its outputs, under keys that are data) no pair
        merge pays on its own, but all of them together do (measured, zstd -19:
        botocore examples as JSON lines 1.041 -> 0.998 of the raw block, a
        Google discovery document 0.961 -> 0.925; the trial keeps the groups on
        files where they are better). Run at every level (at level 3, zstd -3 on
        the streams over the raw block: botocore examples 0.974 -> 0.931, the
        discovery document 0.924 -> 0.845, an SPDX license list 0.963 -> 0.827,
        GeoJSON 0.750 -> 0.696; no file of the unseen set or the dev corpus
        got worse). A narrow zstd win (within GROUP_CONFIRM_BAND of the
        margin) must be confirmed by brotli (:func:`_together_smaller_with_brotli`),
        over the prose split too (with no margin): zstd -3 favours one stream
        against brotli 8 (prose streams code 0.87-0.89x zstd -3 with brotli 8,
        name streams 0.78-0.92x): botocore S3 shapes (781 KB) kept one stream
        where the split is 0.9% smaller at levels 3 and 6; 34 other JSON and
        JSON lines files unchanged.

        When the sample is all the text (up to GROUP_SAMPLE_BYTES), the
        frames of the chosen layout are the final text streams' at
        GROUP_TRIAL_LEVEL, and encode hands them to the planner
        (Encoded.zstd_frames) instead of having them compressed again (the
        dictionary trial's frames of ids and dictionaries likewise): level 3
        on 14 small JSON / JSON lines files spent a quarter of its time in these
        two trials (13% and 12%, one run); the same frames, the same sizes.

        ``prose_split`` (below GROUP_MIN_LEVEL, where no pair of columns is
        merged by trial): the layout apart is also tried as two groups, the
        prose columns (PROSE_MIN_SPACES of their sample bytes are spaces:
        descriptions, titles) and all the others (names, ids, codes, enums),
        and the smaller of the two on the sample stands for "apart" (see
        :meth:`_prose_groups`)."""
        if int(group.max()) == 0:
            return group
        cum = np.cumsum(b - a + 1)
        end = int(np.searchsorted(cum, GROUP_SAMPLE_BYTES)) + 1
        sa, sb = a[:end], b[:end]
        price = self._layout_pricer(buf, a, b, tcol, end, group.size)

        def frames_apart(g_of_col):
            sg = g_of_col[tcol[:end]]
            gids = np.unique(sg).tolist()
            frames = [(t, cctx.compress(t)) for t in
                      (_gather_spans(buf, sa[sg == g], sb[sg == g], TEXT_TERM).tobytes() for g in gids)]
            return sg, frames, price(g_of_col, gids, [len(f) for _, f in frames])

        sg, apart_frames, apart = frames_apart(group)
        split = self._prose_groups(buf, sa, sb, tcol[:end], group.size) if prose_split else None
        is_split = False
        if split is not None:
            split_sg, split_frames, split_price = frames_apart(split)
            if split_price < apart:
                group, sg, apart_frames, apart, is_split = split, split_sg, split_frames, split_price, True
        together_text = _gather_spans(buf, sa, sb, TEXT_TERM).tobytes()
        together_frame = (together_text, cctx.compress(together_text))
        together = price(np.zeros_like(group), [0], [len(together_frame[1])])
        whole = end >= a.size  # the sample is all the text: its frames are the streams' (Encoded.zstd_frames)
        # (the split has no margin: one stream wins wherever it is smaller)
        if together < (1 - (0.0 if is_split else GROUP_MIN_GAIN)) * apart:
            margin = 0.0 if is_split else GROUP_MIN_GAIN
            if together >= (1 - margin - GROUP_CONFIRM_BAND) * apart and \
                    not _together_smaller_with_brotli(buf, sa, sb, sg, cum, margin):
                if whole and len(apart_frames) == int(group.max()) + 1:
                    self._trial_frames["text"] = apart_frames
                return group
            if whole:
                self._trial_frames["text"] = [together_frame]
            return np.zeros_like(group)
        if whole and len(apart_frames) == int(group.max()) + 1:
            self._trial_frames["text"] = apart_frames
        return group

    def _layout_pricer(self, buf, a, b, tcol, end, ntext):
        """``price(g_of_col, gids, sizes)``: what a text layout (text group of
        each column ``g_of_col``, zstd sizes ``sizes`` of its groups ``gids``
        on the trial's sample, the first ``end`` items) will cost once the
        planner has coded it (EncodeContext.brotli): the sizes' sum, with the
        groups it will code again at the strong quality STRONG_QUALITY_GAIN
        smaller. Those are the planner's (plan.recode_brotli): the groups with
        the most coded bytes first, while their streams' bytes fit the budget.
        A group's stream bytes: its columns' text in the whole block, times
        what the word layer makes of each column's sample text (when it may
        run: :meth:`_word_ratios`).

        Why: JSON lines blocks up to 512 KiB code up to 128 KiB of their
        streams at brotli 10 (plan.SMALL_BROTLI_JSONL_BUDGET), the rest at 8;
        priced with zstd -3 alone, the trial kept botocore DynamoDB shapes'
        text as one stream of 162 KB (word-coded), over the budget, where the
        prose split's 122 KB of documentation fits it: 39,036 -> 36,743 bytes
        at level 3 (see docs/FRONTIER.md, "JSON lines: layouts priced with
        their streams' brotli quality").

        Without a budget, or when all the block's text fits it (every
        layout's streams are then coded alike), the price is the sum."""
        def plain(g_of_col, gids, sizes):
            return float(sum(sizes))
        coding = self.brotli
        if coding is None or not coding.budget or coding.strong_quality <= coding.quality:
            return plain
        text_bytes = np.bincount(tcol, weights=b - a + 1, minlength=ntext)
        total = float(text_bytes.sum())
        if total <= coding.budget:
            return plain
        stream_bytes = text_bytes
        if self.word_code and total >= WORDS_MIN_TEXT:
            stream_bytes = text_bytes * self._word_ratios(buf, a[:end], b[:end], tcol[:end], ntext, total)

        def price(g_of_col, gids, sizes):
            est = np.bincount(g_of_col, weights=stream_bytes, minlength=int(g_of_col.max()) + 1)
            left, cost = float(coding.budget), 0.0
            for g, z in sorted(zip(gids, sizes), key=lambda gz: -gz[1]):
                if est[g] <= left:
                    left -= est[g]
                    cost += z * (1.0 - STRONG_QUALITY_GAIN)
                else:
                    cost += z
            return cost
        return price

    def _word_ratios(self, buf, sa, sb, sc, ntext, total) -> np.ndarray:
        """Per text column, the size of its sample text (spans ``sa``/``sb`` of
        columns ``sc``) coded by the word layer over its plain size (1 where
        the sample has none): one word scan of the sample in column order
        (l1_semantic.WordCoder.train_encode with a cut per column; each
        text item is coded on its own, so a group's code is its columns'
        codes), with the dictionary floor WORDS_MIN_COUNT scaled to the
        sample's share of the block's ``total`` text bytes. ~2.5 ms on 256
        KiB; an estimate: whether the word layer runs is decided later."""
        from .. import l1_semantic
        order = np.argsort(sc, kind="stable")
        text = _gather_spans(buf, sa[order], sb[order], TEXT_TERM)
        plain = np.bincount(sc, weights=sb - sa + 1, minlength=ntext)
        present = np.flatnonzero(plain > 0)
        cuts = np.cumsum(plain[present]).astype(np.int64)[:-1]
        min_count = max(2, round(WORDS_MIN_COUNT * text.size / total))
        _, parts = l1_semantic.WordCoder.train_encode(text, cuts.tolist(), min_count=min_count, check_keys=False)
        ratios = np.ones(ntext)
        ratios[present] = np.array([len(p) for p in parts]) / plain[present]
        return ratios

    @staticmethod
    def _prose_groups(buf, sa, sb, sc, ntext):
        """Text group of each column for the prose split (1: prose, 0: the
        rest), or None when the sample (spans ``sa``/``sb`` of columns ``sc``)
        has only one kind.

        Why: API descriptions as JSON lines mix documentation strings with the
        names they document (shape and operation names, enum values, location
        names). Below GROUP_MIN_LEVEL every text column was a stream of its own
        or all text one stream: split per column the names lose the matches
        between columns (a member's shape is an operation's input), all
        together the names break up the prose's matches and its word codes
        (L1: documentation strings at brotli 8 after it). Two groups keep
        both: on 9 tuning JSON lines files (botocore EC2/S3/RDS, moto, BigQuery,
        cyclonedx) the streams at brotli 8 came out 0.3-1.5% smaller (BigQuery
        0.03% larger; Node.js API methods stays one stream by the trial, 1.8%
        larger split). The spaces tell the kinds apart without a trial: names
        and ids have none, prose one in 5-7 bytes; 5% split the tuning files as
        2% and 10% did, save a nearer call on Node.js and BigQuery."""
        lengths = sb - sa + 1
        sizes = np.bincount(sc, weights=lengths, minlength=ntext)
        spaces = _column_spaces(buf, sa, sb, sc, ntext)
        present = sizes > 0
        prose = present & (spaces >= PROSE_MIN_SPACES * sizes)
        if not prose.any() or not (present & ~prose).any():
            return None
        return prose.astype(np.int64)

    def _word_code(self, texts, toff, ngroups):
        """(WordCoder, [coded text group]) when the L1 word layer
        (:mod:`cobol.layers.l1_semantic`) pays on the text groups, else None.

        Documentation strings (API descriptions, package metadata, help texts)
        are prose: the word layer replaces each frequent word by a one- or
        two-byte code, which the LZ coders after it match and code better than
        the letters (on the string streams of 6 API-description JSON lines
        files, brotli 8 after the word layer, dictionary included, was 0.93-0.94x
        brotli 8 alone on the four doc-heavy ones). Names, codes and ids get
        worse (ISO 3166-2 +11%, SBOM purls +13-15%): a trial with brotli at
        WORDS_TRIAL_QUALITY on the first WORDS_SAMPLE_BYTES of the text decides
        (it predicted the full streams' direction on 31 JSON and JSON lines
        files but for two within 2% of even). All groups share one dictionary
        and are each coded on their own (every group ends in a '"', after which
        the word layer implies no space, so one word scan serves all)."""
        total = int(toff[ngroups]) if ngroups else 0
        if not self.word_code or total < WORDS_MIN_TEXT:
            return None
        from .. import l1_semantic
        text = texts[:total]
        group_cuts = [int(x) for x in toff[1:ngroups]]
        groups = list(zip([0] + group_cuts, group_cuts + [total]))
        if total > 2 * WORDS_PRECHECK_BYTES:
            # names, codes and ids fail this quick trial by 5-30% (the words
            # that pass were at most 1% over): they skip the word scan of all the
            # text and the full trial (~1-2 ms here instead of ~5-25). Grouped
            # text (levels >= GROUP_MIN_LEVEL) puts names and ids in groups of
            # their own, so the first group alone may judge the prose groups by
            # them: there every group's head in proportion is tried too, and
            # either passing leads to the full trial (level 6 on 35 JSON and
            # JSON lines files: 6 botocore/SBOM files 6-13% smaller, one 0.6%
            # larger; mdn, whose first group passes and the proportional heads
            # do not, unchanged; level 3 groups nothing: unchanged)
            def passes(head):
                pre_coder, (pre_coded,) = l1_semantic.WordCoder.train_encode(
                    head, min_count=WORDS_PRECHECK_MIN_COUNT, check_keys=self.check_collisions)
                pre = len(brotli.compress(pre_coded, quality=WORDS_TRIAL_QUALITY)) + \
                    len(brotli.compress(pre_coder.to_bytes(), quality=WORDS_TRIAL_QUALITY))
                return pre <= WORDS_PRECHECK_MAX_RATIO * len(brotli.compress(head.tobytes(),
                                                                              quality=WORDS_TRIAL_QUALITY))
            if not passes(text[:WORDS_PRECHECK_BYTES]) and (len(groups) == 1 or not passes(np.concatenate(
                    [text[a:a + -(-WORDS_PRECHECK_BYTES * (b - a) // total)] for a, b in groups]))):
                return None
        # the trial's sample: the head of every group in proportion to its size,
        # each ending after an item's '"' (there the word layer is in its start
        # state: the head's code is the start of its group's code)
        heads = []
        for a, b in groups:
            want = a + -(-WORDS_SAMPLE_BYTES * (b - a) // total)
            end = b
            if want < b:
                after = np.flatnonzero(text[want:b] == TEXT_TERM)
                end = want + int(after[0]) + 1 if after.size else b
            heads.append((a, end))
        cuts = sorted(set(group_cuts + [e for (a, e), (_, b) in zip(heads, groups) if e < b]))
        # trained on all the text (a sample's dictionary misses the words that
        # repeat across the block), one word scan for the trial and the code
        coder, parts = l1_semantic.WordCoder.train_encode(text, cuts, min_count=WORDS_MIN_COUNT,
                                                          check_keys=self.check_collisions)
        bounds = [0] + cuts + [total]
        in_sample = [k for k in range(len(parts)) if (bounds[k], bounds[k + 1]) in heads]
        sampled = sum(e - a for a, e in heads)
        plain = len(brotli.compress(b"".join(text[a:e].tobytes() for a, e in heads), quality=WORDS_TRIAL_QUALITY))
        dict_size = len(brotli.compress(coder.to_bytes(), quality=WORDS_TRIAL_QUALITY))
        words = len(brotli.compress(b"".join(parts[k] for k in in_sample), quality=WORDS_TRIAL_QUALITY)) + \
            dict_size * sampled / total
        self.last_word_trial = words / plain
        if words > WORDS_MAX_RATIO * plain:
            return None
        # a group cut in two by the sample's end: its code is the two parts' codes back to back
        coded_groups = []
        for a, b in groups:
            coded_groups.append(b"".join(parts[k] for k in range(len(parts)) if a <= bounds[k] < b))
        return coder, coded_groups

    def encode(self, data) -> Encoded:
        #: zstd frames of final streams that the trials compressed anyway
        self._trial_frames = {}
        whole = jt.as_u8(data)
        prefix_len = string_tail_length(whole)
        buf = whole[prefix_len:]
        tok = jt.tokenize(buf)
        if self.profiler is not None:
            self.last_tracker = NestingLevelTracker(tok)
        kinds, starts = tok.kinds, tok.starts
        style = detect_style(tok)
        # repeated subtrees collapse into one token each before anything is split
        refs = find_repeated_subtrees(buf, kinds, starts, self.min_subtree, self.min_string) \
            if self.min_subtree > 0 else None
        if refs is not None:
            kinds, starts, ref_close = refs.kinds, refs.starts, refs.ref_close
        else:
            ref_close = np.zeros(kinds.size, np.uint8)

        # keys: seen twice or more -> dictionary (most frequent first), else literal
        ktok, kid, kcount, kfirst, khash = _intern_keys(buf, kinds, starts)
        in_dict = kcount >= MIN_DICT_COUNT
        dict_ids = np.flatnonzero(in_dict)
        if dict_ids.size > MAX_ENTRIES:
            dict_ids = dict_ids[np.argsort(-kcount[dict_ids], kind="stable")[:MAX_ENTRIES]]
            in_dict[:] = False
            in_dict[dict_ids] = True
        order = dict_ids[np.argsort(-kcount[dict_ids], kind="stable")]
        new_id = np.full(kcount.size, -1, np.int64)
        new_id[order] = np.arange(order.size)
        key_code, key_comp, lit = _key_codes(kid, new_id, khash, ktok)
        first_tok = ktok[kfirst[order]]
        kd_a = starts[first_tok].astype(np.int64) + 1
        kd_b = starts[first_tok + 1].astype(np.int64) - 1
        kd_lengths = kd_b - kd_a
        kdata = _gather_spans(buf, kd_a, kd_b, 0)
        keep = np.ones(kdata.size, bool)
        keep[np.cumsum(kd_lengths + 1) - 1] = False
        keydict = StructuralDictionary.from_arrays(kdata[keep], kd_lengths, kcount[order])
        self.last_keys = (len(keydict), int(ktok.size - lit.size), int(lit.size))

        vtok = pages.empty(_count_value_tokens(kinds, ref_close), np.int64)
        _value_tokens(kinds, ref_close, vtok)
        max_depth = tok.max_depth + 1
        skel, vh = skeleton_space(kinds.size, vtok.size)
        skel, dev_a, dev_b, vh = _walk_encode(buf, kinds, starts, ref_close, key_code, key_comp, readonly(style),
                                              gap_table(style), skel, vh, max_depth)
        ws = _gather_spans(buf, dev_a, dev_b, WS_TERM)
        rtok = _kind_tokens(kinds, jt.RESIDUE)
        residue = _gather_spans(buf, starts[rtok].astype(np.int64), starts[rtok + 1].astype(np.int64),
                                RESIDUE_TERM)

        # columns
        mode, ids, counts = _choose_mode(vh)
        big = np.flatnonzero(counts >= MIN_COLUMN_VALUES)
        if big.size > MAX_COLUMNS:
            big = big[np.argsort(-counts[big], kind="stable")[:MAX_COLUMNS]]
            big.sort()
        colmap = np.zeros(counts.size, np.int64)
        colmap[big] = np.arange(1, big.size + 1)
        ncols = big.size + 1
        col, is_num = pages.empty(vtok.size, np.int64), np.empty(vtok.size, np.bool_)
        nnum = _value_columns(kinds, vtok, colmap, ids, col, is_num)
        ntok_idx, ncol = pages.empty(nnum, np.int64), pages.empty(nnum, np.int64)
        has_num = _number_columns_of(vtok, col, is_num, ntok_idx, ncol, ncols)
        mant, scale, ndig = _parse_numbers(buf, starts, ntok_idx, pages.empty(nnum, np.int64))
        smax, anyraw, fits = _number_columns(ncol, scale, ndig, ncols)
        cmode = np.where(fits, np.where((smax == 0) & ~anyraw, NUM_INT, NUM_SCALED), NUM_PLAIN)
        keepv, nvals, nflags = _number_values(ncol, mant, scale, cmode, smax, pages.empty(nnum, np.int64))

        # text items in token order: strings (content), raw numbers (whole
        # spelling) and literal keys (content; text column ``ncols``)
        # low-cardinality string columns: ids into a per-column dictionary
        dcols, dict_parts, in_dict_col = self._dictionary_columns(buf, starts, vtok, is_num, col, ncols)
        text_sel = _text_values(is_num, keepv, in_dict_col)
        s_is = ~is_num[text_sel]
        item_tok = np.concatenate((vtok[text_sel], lit))
        item_a = starts[item_tok].astype(np.int64)
        item_b = starts[item_tok + 1].astype(np.int64)
        quoted = np.concatenate((s_is, np.ones(lit.size, bool)))
        item_a += quoted
        item_b -= quoted
        item_col = np.concatenate((col[text_sel], np.full(lit.size, ncols, np.int64)))
        order = np.argsort(item_tok, kind="stable")  # two sorted runs: a linear merge
        item_a, item_b, item_col = item_a[order], item_b[order], item_col[order]
        tgroup = self._text_groups(buf, item_a, item_b, item_col, ncols + 1)
        ngroups = int(tgroup.max()) + 1 if tgroup.size else 0
        texts, toff = _scatter_text(buf, item_a, item_b, tgroup[item_col], max(ngroups, 1))
        has_text = np.bincount(item_col, minlength=ncols + 1) > 0

        flag_cols = has_num & (cmode != NUM_INT)
        fcounts, icounts, ints_sorted, numflags = _column_values(ncol, ncols, keepv, nvals, nflags, flag_cols,
                                                                 pages.empty(nnum, np.int64))

        version = PARAMS_VERSION if refs is None else \
            PARAMS_VERSION_STR_REFS if refs.string_refs else PARAMS_VERSION_REFS
        word_coded = self._word_code(texts, toff, ngroups)
        params = bytearray([version | (PARAMS_WORDS if word_coded is not None else 0)])
        for v in (style[ST_PRETTY], style[ST_CRLF], style[ST_INDENT_CHAR], style[ST_COLON_WS],
                  style[ST_PRE_COLON_WS], style[ST_COMMA_WS], mode):
            params.append(int(v))
        put_varint(params, int(style[ST_INDENT_WIDTH]))
        put_varint(params, int(style[ST_BASE_DEPTH]))
        put_varint(params, prefix_len)
        params += whole[:prefix_len].tobytes()
        put_varint(params, int(counts.size))
        put_varint(params, ncols)
        put_varint(params, ngroups)
        colnames = _column_names(buf, starts, ktok, vtok, col, ncols)
        streams = [skel, ws, residue, keydict.to_bytes(), numflags]
        names = ["skeleton", "ws", "residue", "keys", "numflags"]
        if refs is not None:
            streams += refs.streams()
            names += ["subtrees", "refs"] + (["strrefs"] if refs.string_refs else [])
        # frames the trials made of final streams (the bytes compared, so a
        # frame never stands for other bytes); the planner codes the rest
        frames = {}

        def reuse(i, made):
            if made[0] == bytes(streams[i]):
                frames[i] = (GROUP_TRIAL_LEVEL, made[1])

        text_frames = self._trial_frames.get("text")
        if word_coded is not None:
            streams.append(word_coded[0].to_bytes())
            names.append("words")
        text_first = len(streams)
        for g in range(ngroups):
            members = [colnames[c] if c < ncols else "keylit" for c in np.flatnonzero(tgroup == g) if has_text[c]]
            streams.append(texts[toff[g]:toff[g + 1]] if word_coded is None else word_coded[1][g])
            names.append("text:" + "+".join(members)[:60])
        if text_frames is not None and len(text_frames) == ngroups and word_coded is None:
            for g, made in enumerate(text_frames):
                reuse(text_first + g, made)
        for c in range(ncols + 1):
            if c == ncols:
                put_varint(params, int(tgroup[c]) if has_text[c] else ngroups)
                if version == PARAMS_VERSION_STR_REFS:
                    put_varint(params, self.min_string)
                if word_coded is not None:
                    for g in range(ngroups):
                        put_varint(params, int(toff[g + 1] - toff[g]))
                break
            has_ints = icounts[c + 1] > icounts[c]
            cm = int(cmode[c]) if has_num[c] else 3
            is_dict = c in dcols
            params.append(int(has_text[c]) | int(has_ints) << 1 | cm << 2 | int(is_dict) << 4)
            if has_num[c] and cm != NUM_INT:
                params.append(int(smax[c]))
                put_varint(params, int(fcounts[c + 1] - fcounts[c]))
            if has_text[c]:
                put_varint(params, int(tgroup[c]))
            if has_ints:
                streams.append(encode_ints(ints_sorted[icounts[c]:icounts[c + 1]]))
                names.append(f"col{c}:{colnames[c]}.ints")
            if is_dict:
                entries, ids = dict_parts[c]
                streams += [entries, ids]
                if ("dict", c) in self._trial_frames:
                    made_dict, made_ids = self._trial_frames["dict", c]
                    reuse(len(streams) - 2, made_dict)
                    reuse(len(streams) - 1, made_ids)
                names += [f"col{c}:{colnames[c]}.dict", f"col{c}:{colnames[c]}.ids"]
        cm_bytes = bytearray()
        for v in colmap.tolist():
            put_varint(cm_bytes, v)
        streams.append(bytes(cm_bytes))
        names.append("colmap")
        return Encoded(params=bytes(params), streams=streams, stream_names=names, zstd_frames=frames or None)


@njit(cache=True, nogil=True)
def _key_codes(kid, new_id, khash, ktok):
    """Per key token: its dictionary code (``new_id`` of its interned id, -1:
    literal) and hash; and the literal keys' tokens. One pass where three
    NumPy gathers and a mask each went over the keys (JSON lines: ~600k of them
    in vega-flights)."""
    n = kid.size
    code = np.empty(n, np.int64)
    comp = np.empty(n, np.int64)
    nlit = 0
    for i in range(n):
        c = new_id[kid[i]]
        code[i] = c
        comp[i] = khash[kid[i]]
        nlit += c < 0
    lit = np.empty(nlit, np.int64)
    j = 0
    for i in range(n):
        if code[i] < 0:
            lit[j] = ktok[i]
            j += 1
    return code, comp, lit


@njit(cache=True, nogil=True)
def _kind_tokens(kinds, kind):
    """The tokens of one kind, in order (np.flatnonzero(kinds == kind) without
    the token-sized mask)."""
    n = 0
    for t in range(kinds.size):
        n += kinds[t] == kind
    out = np.empty(n, np.int64)
    j = 0
    for t in range(kinds.size):
        if kinds[t] == kind:
            out[j] = t
            j += 1
    return out


@njit(cache=True, nogil=True)
def _value_columns(kinds, vtok, colmap, ids, col, is_num):
    """Per value token (``vtok``): its column (``colmap`` of its path id, into
    ``col``) and whether it is a number (into ``is_num``); returns how many
    are. With :func:`_number_columns_of`, two passes for what took six NumPy
    passes (the outputs come from the caller: see :mod:`..pages`)."""
    nnum = 0
    for i in range(vtok.size):
        col[i] = colmap[ids[i]]
        num = kinds[vtok[i]] == jt.NUMBER
        is_num[i] = num
        nnum += num
    return nnum


@njit(cache=True, nogil=True)
def _number_columns_of(vtok, col, is_num, ntok, ncol, ncols):
    """The number tokens and their columns (into ``ntok``, ``ncol``) and per
    column whether it holds a number."""
    has_num = np.zeros(ncols, np.bool_)
    j = 0
    for i in range(vtok.size):
        if is_num[i]:
            ntok[j] = vtok[i]
            ncol[j] = col[i]
            has_num[col[i]] = True
            j += 1
    return has_num


@njit(cache=True, nogil=True)
def _text_values(is_num, keepv, in_dict_col):
    """Which values go to the text streams: strings not in a dictionary
    column, and numbers not kept as column ints (``keepv``, over the numbers)."""
    n = is_num.size
    out = np.empty(n, np.bool_)
    j = 0
    for i in range(n):
        if is_num[i]:
            out[i] = not keepv[j]
            j += 1
        else:
            out[i] = not in_dict_col[i]
    return out


@njit(cache=True, nogil=True)
def _column_values(ncol, ncols, keepv, nvals, nflags, flag_cols, space):
    """The numbers grouped by column, stable (a counting sort): per column
    offsets of all numbers (``fcounts``) and of the kept ints (``icounts``),
    the kept values in that order (a view of ``space``, one int64 per
    number), and the flags of the numbers of ``flag_cols`` columns in that order."""
    fcounts = np.zeros(ncols + 1, np.int64)
    icounts = np.zeros(ncols + 1, np.int64)
    nflag = 0
    for i in range(ncol.size):
        c = ncol[i]
        fcounts[c + 1] += 1
        icounts[c + 1] += keepv[i]
        nflag += flag_cols[c]
    for c in range(ncols):
        fcounts[c + 1] += fcounts[c]
        icounts[c + 1] += icounts[c]
    icur = icounts[:-1].copy()
    ints = space[:icounts[ncols]]
    # flags: the flagged columns' numbers back to back, in column order
    fstart = np.zeros(ncols + 1, np.int64)
    for c in range(ncols):
        fstart[c + 1] = fstart[c] + ((fcounts[c + 1] - fcounts[c]) if flag_cols[c] else 0)
    fcur = fstart[:-1].copy()
    flags = np.empty(nflag, np.uint8)
    for i in range(ncol.size):
        c = ncol[i]
        if keepv[i]:
            ints[icur[c]] = nvals[i]
            icur[c] += 1
        if flag_cols[c]:
            flags[fcur[c]] = nflags[i]
            fcur[c] += 1
    return fcounts, icounts, ints, flags


@njit(cache=True, nogil=True)
def _first_index(col, ncols):
    """Per column, the index of its first value (-1: none)."""
    first = np.full(ncols, -1, np.int64)
    left = ncols
    for i in range(col.size):
        c = col[i]
        if first[c] < 0:
            first[c] = i
            left -= 1
            if left == 0:
                break
    return first


@njit(cache=True, nogil=True)
def _count_value_tokens(kinds, ref_close):
    """How many tokens :func:`_value_tokens` writes."""
    n = 0
    for t in range(kinds.size):
        k = kinds[t]
        n += k == jt.NUMBER or (k == jt.STRING and ref_close[t] == 0)
    return n


@njit(cache=True, nogil=True)
def _value_tokens(kinds, ref_close, out):
    """The tokens whose values go to the columns, in order, into ``out``
    (:func:`_count_value_tokens` long): numbers, and strings that are not
    references (``ref_close`` 0); one pass, where the NumPy expression made
    four temporaries of the token count."""
    j = 0
    for t in range(kinds.size):
        k = kinds[t]
        if k == jt.NUMBER or (k == jt.STRING and ref_close[t] == 0):
            out[j] = t
            j += 1
    return out


_LOW7 = np.uint64(0x7F7F7F7F7F7F7F7F)
_OPENER_BITS = np.uint64(0x0101010101010101 * (S_OBJ_OPEN ^ S_ARR_OPEN))
_OPENERS = np.uint64(0x0101010101010101 * (S_OBJ_OPEN | S_ARR_OPEN))
_BYTE_ONES = np.uint64(0x0101010101010101)


@njit(cache=True, nogil=True)
def _count_openers(skel) -> int:
    """How many bytes of the skeleton are S_OBJ_OPEN or S_ARR_OPEN (an upper
    bound on the nesting depth: key ids' second bytes may count too), eight
    bytes a step: the two symbols differ in one bit, so a byte is one of them
    when it equals their OR with that bit set; the zero-byte test is the exact
    one (no false alarms above a zero byte). A byte loop took ~5% of a JSON
    lines decode (vega-flights: 1.9 MB of skeleton)."""
    n = np.int64(0)
    size = skel.size
    k = 0
    while k + 8 <= size:
        x = (load_u64(skel, k) | _OPENER_BITS) ^ _OPENERS
        z = ~(((x & _LOW7) + _LOW7) | x | _LOW7)  # high bit of each zero byte, only those
        n += np.int64((((z >> np.uint64(7)) * _BYTE_ONES) >> np.uint64(56)))
        k += 8
    while k < size:
        s = skel[k]
        n += s == S_OBJ_OPEN or s == S_ARR_OPEN
        k += 1
    return n


#: a block whose first RECORDS_PROBE_BYTES skeleton bytes open RECORDS_MIN or
#: more top-level containers is decoded by the walk with record templates
RECORDS_PROBE_BYTES = 4096
RECORDS_MIN = 4


#: shared read-only stand-ins for the arrays of what a block does not use
_EMPTY_I64 = readonly(np.zeros(0, np.int64))
_NO_DICT_DATA = readonly(np.zeros(COPY_SLACK, np.uint8))
_NO_DICT_ENTRIES = readonly(np.zeros(1, np.int64))


def _frozen_i64(values) -> np.ndarray:
    """A read-only int64 array of the Python ints ``values`` (read-only, as the
    walk's inputs all are: one array type, one compilation)."""
    a = np.array(values, np.int64)
    a.flags.writeable = False
    return a


def _frozen_tables(*tables) -> list:
    """Read-only int64 arrays of the lists of Python ints ``tables``: views of
    one array (each as :func:`_frozen_i64`'s, the same array type)."""
    flat = _frozen_i64(list(chain.from_iterable(tables)))
    out = []
    pos = 0
    for t in tables:
        end = pos + len(t)
        out.append(flat[pos:end])
        pos = end
    return out


def _offsets(sizes, n: int) -> list:
    """[0, sizes[0], sizes[0] + sizes[1], ...]: n + 1 running totals (sizes,
    Python ints, padded with zeros to n)."""
    return list(accumulate(islice(chain(sizes, repeat(0)), n), initial=0))


def _with_slack(parts) -> np.ndarray:
    """The byte arrays ``parts`` back to back, then COPY_SLACK spare bytes (the
    decode walk copies in 16-byte chunks)."""
    total = sum(int(p.size) for p in parts)
    out = np.empty(total + COPY_SLACK, np.uint8)
    pos = 0
    for p in parts:
        out[pos:pos + p.size] = p
        pos += p.size
    out[total:] = 0
    return out


def _word_decoded(words, coded, sizes, raw_len: int, toff) -> np.ndarray:
    """The text groups of a word-coded block (params flag PARAMS_WORDS): each
    of ``coded`` decoded with the L1 word dictionary ``words`` to exactly its
    size in ``sizes``, back to back with COPY_SLACK spare bytes (as
    :func:`_with_slack`); ``toff`` (ngroups + 1 zeros or more) gets their offsets."""
    total = sum(sizes)
    if total > 2 * raw_len:
        # checked before holding them: a few bytes of word codes can claim a block's length in every group
        raise LimitError(f"json: word-coded text groups claim {total} bytes for a {raw_len}-byte block")
    from .. import l1_semantic
    coder = l1_semantic.WordCoder.from_bytes(words)
    out = np.empty(total + COPY_SLACK, np.uint8)
    pos = 0
    for g, (part, size) in enumerate(zip(coded, sizes)):
        # a group's copy slack runs into the next group, written after it
        coder.decode_into(part, out, pos, pos + size)
        pos += size
        toff[g + 1] = pos
    out[total:] = 0
    return out


class Layer2Decoder:
    """(streams, params) -> the block. Hostile input raises a CobolError."""

    def decode(self, streams, params, raw_len: int, dictionary=None) -> bytes:
        out = np.empty(raw_len + COPY_SLACK, np.uint8)
        self.decode_into(streams, params, raw_len, out)
        return out[:raw_len].tobytes()

    def decode_into(self, streams, params, raw_len: int, out: np.ndarray) -> None:
        """Decode into out[:raw_len] (``out`` has COPY_SLACK spare bytes after it)."""
        r = Reader(params, what="json params")
        vbyte = r.u8("version")
        version, word_coded = vbyte & ~PARAMS_WORDS, bool(vbyte & PARAMS_WORDS)
        if version not in (PARAMS_VERSION, PARAMS_VERSION_REFS, PARAMS_VERSION_STR_REFS):
            raise FormatError(f"json params: unknown version {vbyte}")
        # the per-block tables are a few entries each: built as Python lists and
        # turned into arrays once (numpy item assignment costs about as much as
        # a small array; on 1-64 KB blocks this glue was a third of the decode)
        st = [0] * ST_SIZE
        st[ST_PRETTY] = r.u8("pretty")
        st[ST_CRLF] = r.u8("crlf")
        st[ST_INDENT_CHAR] = r.u8("indent char")
        st[ST_COLON_WS] = r.u8("colon ws")
        st[ST_PRE_COLON_WS] = r.u8("pre colon ws")
        st[ST_COMMA_WS] = r.u8("comma ws")
        mode = r.u8("path mode")
        if st[ST_PRETTY] > 1 or st[ST_CRLF] > 1 or st[ST_COLON_WS] > 1 or \
                st[ST_PRE_COLON_WS] > 1 or st[ST_COMMA_WS] > 1 or mode >= N_MODES:
            raise FormatError("json params: bad style or path mode")
        st[ST_INDENT_WIDTH] = r.varint("indent width", limit=max(raw_len, 1))
        st[ST_BASE_DEPTH] = r.varint("base depth", limit=max(raw_len, 1))
        prefix = r.take(r.varint("string tail length", limit=raw_len), "string tail")
        ndistinct = r.varint("distinct paths", limit=raw_len)
        ncols = r.varint("columns", limit=MAX_COLUMNS + 1)
        ngroups = r.varint("text groups", limit=MAX_COLUMNS + 2)
        if ncols < 1:
            raise FormatError("json params: no columns")
        nfixed = {PARAMS_VERSION: 5, PARAMS_VERSION_REFS: 7}.get(version, 8) + word_coded
        if len(streams) < nfixed + ngroups + 1:
            raise FormatError(f"json: {len(streams)} streams, need at least {nfixed + ngroups + 1}")
        sv = [np.frombuffer(s, np.uint8) if not isinstance(s, np.ndarray) else s.view(np.uint8)
              for s in streams]
        skel, ws, residue, kraw, flags = sv[:5]
        if version != PARAMS_VERSION:
            def_start, def_len, ref_ids = decode_subtree_streams(streams[5], streams[6], raw_len)
            # every string reference writes 2+ bytes
            str_dists = decode_ints(streams[7], raw_len) if version == PARAMS_VERSION_STR_REFS \
                else _EMPTY_I64
        else:
            def_start = def_len = ref_ids = str_dists = _EMPTY_I64
        cmode = [-1] * ncols
        cscale = [0] * ncols
        nflags = [0] * ncols
        tgrp = [-1] * (ncols + 1)
        int_parts, dict_parts = [], []
        si = nfixed + ngroups
        int_budget = raw_len
        for c in range(ncols):
            b = r.u8("column flags")
            has_text, has_ints, cm, is_dict = b & 1, (b >> 1) & 1, (b >> 2) & 3, (b >> 4) & 1
            if b >> 5:
                raise FormatError(f"json params: column {c} has unknown flags {b:#x}")
            cmode[c] = -1 if cm == 3 else cm
            if cm in (NUM_SCALED, NUM_PLAIN):
                cscale[c] = r.u8("column scale")
                if cscale[c] > MAX_SCALE:
                    raise FormatError(f"json params: column {c} scale {cscale[c]} > {MAX_SCALE}")
                nflags[c] = r.varint("flag count", limit=raw_len)
            if has_text:
                tgrp[c] = r.varint("text group", limit=max(ngroups - 1, 0))
                if ngroups == 0:
                    raise FormatError(f"json params: column {c} has text but there are no text streams")
            if has_ints:
                if si >= len(sv) - 1:
                    raise FormatError("json: missing column int stream")
                # every number prints at least one byte: all columns together hold at most
                # raw_len values, so the budget shrinks as columns decode (bounds memory)
                vals = decode_ints(streams[si], int_budget)
                int_budget -= len(vals)
                int_parts.append((c, vals))
                si += 1
            if is_dict:
                if si + 2 > len(sv) - 1:
                    raise FormatError("json: missing column dictionary streams")
                d = StructuralDictionary.from_bytes(sv[si])
                if len(d) == 0:
                    raise FormatError(f"json: column {c} has an empty dictionary")
                raw_ids = sv[si + 1]
                if len(d) <= 256:
                    ids = raw_ids.astype(np.int64)
                else:
                    if raw_ids.size % 2:
                        raise FormatError(f"json: column {c} ids stream has an odd length")
                    ids = raw_ids.view("<u2").astype(np.int64)
                dict_parts.append((c, d, ids))
                si += 2
        lit_group = r.varint("literal key group", limit=ngroups)
        tgrp[ncols] = lit_group if lit_group < ngroups else -1
        min_string = 0
        if version == PARAMS_VERSION_STR_REFS:
            min_string = r.varint("string reference floor", limit=max(raw_len, MIN_STRING_REF_FLOOR))
            if min_string < MIN_STRING_REF_FLOOR:
                raise FormatError(f"json params: string reference floor {min_string} < {MIN_STRING_REF_FLOOR}")
        # word-coded text groups: their decoded sizes (each item writes at least
        # one output byte and holds at most one more, its terminator)
        text_sizes = [r.varint("text group size", limit=2 * raw_len) for _ in range(ngroups)] if word_coded else None
        r.expect_end("json params")
        if si != len(sv) - 1:
            raise FormatError(f"json: {len(sv)} streams, expected {si + 1}")
        cm_raw = sv[si]
        colmap, end = decode_varints(cm_raw, 0, ndistinct, "json colmap")
        if end != cm_raw.size:
            raise FormatError("json colmap: trailing bytes")
        # the key table in one kernel call (StructuralDictionary.from_bytes' checks), with the copy slack
        kdata, koff = read_entries(kraw, COPY_SLACK)
        kcomp = _key_hashes(kdata, koff)
        if word_coded:
            toff = np.zeros(max(ngroups, 1) + 1, np.int64)
            texts = _word_decoded(streams[nfixed - 1], sv[nfixed:nfixed + ngroups], text_sizes, raw_len, toff)
            toff_l = []
        else:
            text_parts = sv[nfixed:nfixed + ngroups]
            toff_l = _offsets([p.size for p in text_parts], max(ngroups, 1))
            texts = _with_slack(text_parts)
        sizes = [0] * ncols
        for c, part in int_parts:
            sizes[c] = part.size
        ioff_l = _offsets(sizes, ncols)
        if len(int_parts) == 1:
            ints = int_parts[0][1]
        else:
            ints = np.concatenate([p for _, p in int_parts]) if int_parts else _EMPTY_I64
        # dictionary columns: all entries in one array; per column its first
        # entry (dbase), entry count (dcount) and ids (doff into dids)
        if dict_parts:
            dcount_l = [0] * ncols
            sizes = [0] * ncols
            for c, d, ids in dict_parts:
                dcount_l[c] = len(d)
                sizes[c] = ids.size
            doff_l = _offsets(sizes, ncols)
            dbase_l = _offsets(dcount_l, ncols)[:ncols]
            ddata = _with_slack([d.data for _, d, _ in dict_parts])
            lens = np.concatenate([np.diff(d.offsets) for _, d, _ in dict_parts])
            dids = np.concatenate([ids for _, _, ids in dict_parts])
            dents = np.zeros(lens.size + 1, np.int64)
            np.cumsum(lens, out=dents[1:])
        else:
            dcount_l = dbase_l = [0] * ncols
            doff_l = [0] * (ncols + 1)
            ddata, dents, dids = _NO_DICT_DATA, _NO_DICT_ENTRIES, _EMPTY_I64
        foff_l = _offsets(nflags, ncols)
        if foff_l[-1] != flags.size:
            raise FormatError(f"json: number flags stream has {flags.size} bytes, params say {foff_l[-1]}")
        # the small per-column tables: one read-only array cut into views (an
        # array each was ~1 us apiece of a 4-64 KB block's decode)
        (style, ioff, foff, cmode, cscale, tgrp, dbase, dcount, doff, *rest) = _frozen_tables(
            st, ioff_l, foff_l, cmode, cscale, tgrp, dbase_l, dcount_l, doff_l, *([toff_l] if toff_l else []))
        if rest:
            toff = rest[0]
        # the stack never grows inside the kernel: size it for the deepest nesting
        # the skeleton could express (each opener writes an output byte)
        max_depth = min(_count_openers(skel), raw_len) + 1
        if out.size != raw_len + COPY_SLACK:
            raise ValueError("json: the output needs exactly COPY_SLACK spare bytes after the block")
        out[:len(prefix)] = np.frombuffer(prefix, np.uint8)
        # every input array as a read-only view: streams come as read-only or
        # writable arrays depending on how they were stored, and each mix would
        # compile the (large) walk once more
        ins = [readonly(a) for a in (
            skel, ws, residue, kdata, koff, kcomp, texts, toff, tgrp, np.asarray(ints, np.int64), ioff, flags, foff,
            cmode, cscale, ddata, dents, dbase, dcount, dids, doff, colmap, style, gap_table(style))]
        # JSON lines (many top-level containers at the block's start) take the walk
        # with record templates; documents the one without
        records = top_level_containers(ins[0], RECORDS_PROBE_BYTES) >= RECORDS_MIN
        walk = _walk_decode_records if records else _walk_decode
        n = walk(*ins, mode, max_depth, readonly(def_start), readonly(def_len), readonly(ref_ids),
                 min_string, readonly(np.asarray(str_dists, np.int64)), out[len(prefix):])
        if n < 0:
            raise FormatError(f"json: {_ERRORS.get(n, 'corrupt streams')}")
        n += len(prefix)
        if n != raw_len:
            raise FormatError(f"json: decoded {n} bytes, block says {raw_len}")


@register_transform
class JsonTransform(Transform):
    """L2 structural mapping of JSON documents and JSON lines."""

    id = 30
    name = "json"
    #: skeleton, whitespace, residue, keys, flags; subtrees, refs, strrefs
    #: (versions 2-3); the word dictionary (flag PARAMS_WORDS); text groups; per
    #: column an int stream and a dictionary (2 streams); the column map
    max_streams = 5 + 3 + 1 + (MAX_COLUMNS + 2) + 3 * (MAX_COLUMNS + 1) + 1
    expansion = 4
    formats = ("json", "jsonl")
    min_level = 1
    needs_layers = frozenset({"l2"})
    priority = 10

    def encode(self, data, ctx: EncodeContext) -> Encoded | None:
        if len(data) == 0:
            return None
        prof = ctx.profiler
        started = prof.start() if prof is not None else None
        enc = Layer2Encoder(profiler=prof, group_text=ctx.level >= GROUP_MIN_LEVEL, word_code="l1" in ctx.layers,
                            check_collisions=not ctx.verified, brotli=ctx.brotli)
        out = enc.encode(data)
        if prof is not None:
            size, hits, misses = enc.last_keys
            prof.record("l2", transform=self.name, started=started, bytes_in=len(data),
                        bytes_out=sum(len(s) for s in out.streams), dict_size=size, dict_hits=hits,
                        dict_misses=misses, nesting=enc.last_tracker.as_dict())
        return out

    def decode_into(self, streams, params, raw_len, ctx: DecodeContext, out) -> None:
        try:
            Layer2Decoder().decode_into(streams, params, raw_len, out)
        except CobolError:
            raise
        except (ValueError, IndexError, OverflowError, MemoryError) as e:  # defensive: never a crash
            raise FormatError(f"json: corrupt block ({type(e).__name__}: {e})") from None

    def describe(self, params: bytes) -> str:
        return "json"
