"""L2 structural mapping for XML and HTML (transforms ``xml`` id 40, ``html`` id 41).

A block (a document, a fragment, tag soup, anything) is tokenized by
:mod:`cobol.layers.markup_tokenizer` and split into homogeneous streams:

``sym``
    one varint symbol per token: ``END`` (an end tag the nesting stack
    predicted: ``</`` + the open element's name + ``>``, one byte, which zstd
    turns into about a bit in regular documents), ``TEXT``, ``INDENT`` /
    ``INDENT-1`` (a whitespace-only text node equal to newline + the block's
    indent unit repeated depth or depth - 1 times), ``WS`` (other whitespace),
    ``COMMENT``, ``CDATA``, ``PI``, ``DECL``, ``NUL`` (+ run length), or
    ``16 + skeleton id``.
``skeletons``
    the tag *skeletons*: a start tag with its attribute values cut out (each
    value replaced by a NUL byte), or an end tag the stack did not predict,
    verbatim, as a :class:`StructuralDictionary` ordered by use (the 112 most
    used skeletons cost one symbol byte; end tags that were always predicted
    are left out). So the names, the spacing and the quoting of a tag cost
    nothing after its first use. A ``name="value"`` pair seen at least
    ``fold_min`` times in the block (32 for HTML, 128 for XML) stays *in* the
    skeleton instead of becoming a hole: ``<span class="p">`` of highlighted
    code is then one symbol (measured: +7% on the Sphinx HTML, neutral on
    XML at 128). Tag and attribute names are a second StructuralDictionary
    that both sides *derive* from the skeletons (it is not stored);
    parameters refer to names by id.
``misc``
    whitespace that was not predicted, comment, CDATA and PI contents and
    declarations verbatim (NUL-terminated, five groups).
``text`` streams
    character data, NUL-terminated, in document order or grouped by the parent
    element (chosen by trial); coded by the L1 word layer
    (:mod:`cobol.layers.l1_semantic`) when a trial on a sample says it pays.
``v:<name>`` streams
    attribute values, NUL-terminated, one stream per frequent attribute name
    (the rest share one), so all ``href`` values sit together -- or all
    values in one stream when a trial says the split does not pay (small
    blocks, HTML whose hrefs and ids repeat each other).

Trials run zstd at level min(level, 9) on a sample of the block (the text of
the first 128 KiB of text segments; up to 1 MiB of values): text by parent or
in document order, L1 or not, values split or not. Level 9 and 19 made the
same choices on every dev-corpus file.

Nesting: start tags push (not self-closing ones, and not HTML void elements);
an end tag pops when it matches the top; an end tag that does not (HTML's
optional end tags, broken markup) is a skeleton and pops down to the nearest
open element of its name (ASCII case-insensitive in HTML) within 256 levels,
or nothing. Encoder and decoder run the same rule, so anything round-trips.

>>> doc = b'<a x="1"><b>t</b><b>u</b></a>'
>>> enc = MarkupEncoder(html=False).encode(doc)
>>> MarkupDecoder().decode(enc.streams, enc.params, len(doc)) == doc
True
>>> enc.streams[0]  # <a x=..> (id 1), <b> (id 0, used twice), text, END, <b>, text, END, END
b'\\x11\\x10\\x01\\x00\\x10\\x01\\x00\\x00'
"""

from __future__ import annotations

import numpy as np

from ..errors import CobolError, FormatError, LimitError
from ..entropy import thread_compressor
from ..format.wire import Reader, put_bytes, put_varint
from ..registry import DecodeContext, Encoded, EncodeContext, Transform, register_transform
from . import markup_tokenizer as mt
from .primitives import unique_hashes
from .markup_kernels import (  # noqa: F401  (symbol and group numbers re-exported: part of the format)
    COPY_SLACK, E_OK, G_CDATA, G_COMMENT, G_DECL, G_PI, G_WS, N_MISC, S_CDATA, S_COMMENT, S_DECL, S_END, S_INDENT,
    S_INDENT_BACK, S_NUL, S_PI, S_SKEL, S_TEXT, S_WS, _ERRORS, _attribute_hashes, _collect_skeletons,
    VOID_DATA, VOID_OFF, _decode_kernel, _emit, _frequent_pairs, _gather, _group_sizes, _indent_hits, _renumber,
    _skeleton_hashes, _skeleton_table, _skeleton_use_counts, _text_bytes, _value_bytes, _verify_skeletons, _walk,
    end_tag_slots,
    indent_template,
)
from .primitives import readonly
from .structural_dictionary import MAX_ENTRIES, StructuralDictionary, read_entries

MAX_VALUE_STREAMS = 48
MIN_VALUE_STREAM_BYTES = 512
MAX_TEXT_STREAMS = 32
MIN_TEXT_STREAM_BYTES = 4096
INDENT_UNITS = (b"  ", b"    ", b"\t", b" ", b"   ", b"        ")
_INDENT_BYTE = np.array([u[0] for u in INDENT_UNITS], np.int64)
_INDENT_LEN = np.array([len(u) for u in INDENT_UNITS], np.int64)
TRIAL_SAMPLE = 1 << 17
TRIAL_LEVEL = 9

F_HTML = 1
F_L1 = 2
F_TEXT_BY_PARENT = 4


# ---------------------------------------------------------------- skeleton info

class SkeletonTable:
    """What both sides derive from the skeleton dictionary: per skeleton its
    kind, name id, nesting effect and holes, plus the name dictionary.

    Names are numbered in order of first appearance over each skeleton's tag
    name followed by its holes' attribute names (the ids the params carry);
    one kernel (:func:`_skeleton_table`) derives it all: a block's decode no
    longer spends 50-450 us on small NumPy steps and per-name ``bytes.lower``
    here (5-10% of decoding a 100-300 KB page)."""

    def __init__(self, sk_data: np.ndarray, sk_off: np.ndarray, html: bool):
        """``sk_data``/``sk_off``: the skeletons back to back and their offsets
        (a StructuralDictionary's ``data`` and ``offsets``)."""
        (self.is_end, self.canon, self.push, self.name, self.hole_lo, self.hole_name, self.hole_pos,
         self.names_padded, names_off, name_counts, self.name_fold, bad) = _skeleton_table(
            readonly(sk_data), sk_off, html, VOID_DATA, VOID_OFF)
        if bad >= 0:
            # the decode kernel fills every NUL of a skeleton from a value
            # group, and end tags have none: a NUL here is hostile input
            raise FormatError(f"end-tag skeleton {bad} holds a value slot")
        if names_off.size - 1 > MAX_ENTRIES:
            raise LimitError(f"structural dictionary full ({MAX_ENTRIES} entries)")
        # (distinct: numbered by their bytes); names_padded: the same bytes and
        # the decode kernel's COPY_SLACK
        self.names = StructuralDictionary.of_distinct_arrays(self.names_padded[:names_off[-1]], names_off,
                                                             name_counts)

    @classmethod
    def of(cls, skeletons: StructuralDictionary, html: bool) -> "SkeletonTable":
        return cls(skeletons.data, skeletons.offsets, html)


# ---------------------------------------------------------------- encoder

def _size(frames) -> int:
    return sum(len(f) for f in frames)


_NL = {0: b"", 1: b"\n", 2: b"\r\n"}


def _u8(b: bytes) -> np.ndarray:
    return np.frombuffer(b, np.uint8)


#: the decode kernel's word-code arguments for a block without word-coded
#: text (unused there; typed as a coder's, so the kernel compiles once)
_NO_CODE = readonly(np.zeros(0, np.uint8))
_NO_L1_TABLES = (1, 0, np.zeros(COPY_SLACK, np.uint8), np.zeros(1, np.int64), np.zeros(COPY_SLACK, np.uint8))


class MarkupEncoder:
    """Bytes -> :class:`Encoded` (params + streams); see the module docstring."""

    def __init__(self, html: bool, level: int = 19, use_l1: bool | None = None, text_by_parent: bool | None = None,
                 split_values: bool | None = None, fold_min: int = 128, check_collisions: bool = True):
        self.html = html
        # False: the caller round-trips the output (EncodeContext.verified), which
        # catches a skeleton or word hash collision; the byte-by-byte checks of
        # every tag and word against its hash's first one are then skipped
        self.check_collisions = check_collisions
        self.fold_min = fold_min
        self.level = level
        # None: decide by a trial on a sample of the block
        self.use_l1 = use_l1
        self.text_by_parent = text_by_parent
        self.split_values = split_values

    def encode(self, data) -> Encoded:
        buf = mt.as_u8(data)
        tok = mt.tokenize(buf, self.html)
        kinds, starts = tok.kinds, tok.starts
        val_s, val_e = self._fold_values(buf, tok)
        # skeletons: hash, unique, verify, frequency order
        hashes = np.empty(kinds.size, np.uint64)
        _skeleton_hashes(buf, kinds, starts, tok.attr_lo, val_s, val_e, hashes)
        tags = np.flatnonzero((kinds == mt.START) | (kinds == mt.END))
        inv, first, counts = unique_hashes(hashes[tags])
        if first.size > MAX_ENTRIES:
            raise LimitError(f"markup: {first.size} distinct tag skeletons exceed {MAX_ENTRIES}")
        order = np.lexsort((first, -counts))  # most frequent first, ties by first use
        rank = np.empty(first.size, np.int64)
        rank[order] = np.arange(first.size)
        tag_sk = rank[inv].astype(np.int32)
        reps = tags[first[order]]
        # a skeleton is at most its token plus one hole byte per attribute (empty
        # values); summed over the representatives only (a pass over every
        # token's length was 2.6% of the encoder on Sphinx HTML)
        sk_off = np.zeros(reps.size + 1, np.int64)
        sk_buf = np.empty(int((starts[reps + 1] - starts[reps]).sum() + (tok.attr_lo[reps + 1] - tok.attr_lo[reps]).sum()),
                          np.uint8)
        _collect_skeletons(buf, starts, tok.attr_lo, val_s, val_e, reps, sk_off, sk_buf)
        sk_data = sk_buf[:sk_off[-1]]
        if self.check_collisions:
            tok_len = (starts[1:] - starts[:-1]).astype(np.int64) + np.diff(tok.attr_lo)
            scratch = np.empty(int(tok_len.max(initial=0)) + 1, np.uint8)
            if not _verify_skeletons(buf, starts, tok.attr_lo, val_s, val_e, tags, tag_sk, sk_data, sk_off, scratch):
                raise CobolError("markup: skeleton hash collision")
        skeletons = StructuralDictionary.from_arrays(sk_data, np.diff(sk_off), counts[order])
        table = SkeletonTable.of(skeletons, self.html)

        tok_sk = np.zeros(kinds.size, np.int32)
        tok_sk[tags] = tag_sk
        tok_code = np.zeros(kinds.size, np.int64)
        tok_depth = np.zeros(kinds.size, np.int32)
        tok_parent = np.zeros(kinds.size, np.int32)
        _walk(kinds, tok_sk, table.is_end, table.push, table.canon, table.name, table.name_fold,
              tok_code, tok_depth, tok_parent, np.empty(kinds.size + 1, np.int32))
        skeletons, table = self._keep_used(skeletons, table, tok_code, tok_parent, tags)
        nnames = len(table.names)

        # indentation: the newline and unit that predict most whitespace nodes
        nl_kind, unit = self._indent_style(buf, kinds, starts, tok_depth)

        # value streams: one per attribute name with enough bytes
        vbytes = _value_bytes(kinds, tok.attr_lo, val_s, val_e, tok_code,
                              table.hole_lo, table.hole_name, nnames)
        vorder = np.argsort(-vbytes, kind="stable")
        vnames = [int(x) for x in vorder[:MAX_VALUE_STREAMS] if vbytes[x] >= MIN_VALUE_STREAM_BYTES]
        value_slot = np.full(nnames, len(vnames), np.int64)  # shared stream last
        for i, x in enumerate(vnames):
            value_slot[x] = i

        # text groups by parent element (used if the trial says so)
        tbytes = _text_bytes(kinds, starts, tok_code, tok_parent, nnames)
        torder = np.argsort(-tbytes[1:], kind="stable")
        tnames = [int(x) for x in torder[:MAX_TEXT_STREAMS - 1] if tbytes[x + 1] >= MIN_TEXT_STREAM_BYTES]

        # emit once with text grouped by parent; document order is a remap
        ntext_p = len(tnames) + 1
        text_group_of = np.zeros(nnames + 1, np.int64)
        for i, x in enumerate(tnames):
            text_group_of[x + 1] = i + 1
        nseg = kinds.size + val_s.size + 1
        sym = np.empty(kinds.size * 11 + 16, np.uint8)
        seg_s = np.empty(nseg, np.int64)
        seg_e = np.empty(nseg, np.int64)
        seg_g = np.empty(nseg, np.int64)
        vbase_p = N_MISC + ntext_p
        hole_group = (vbase_p + value_slot[table.hole_name]) if table.hole_name.size else np.zeros(0, np.int64)
        nsym, ns = _emit(buf, kinds, starts, tok.attr_lo, val_s, val_e, tok_code, tok_depth,
                         tok_parent, _u8(_NL[nl_kind]), _u8(unit), text_group_of, table.hole_lo,
                         hole_group, N_MISC, sym, seg_s, seg_e, seg_g)
        sym = sym[:nsym]
        seg_s, seg_e, seg_g = seg_s[:ns], seg_e[:ns], seg_g[:ns]
        is_text = (seg_g >= N_MISC) & (seg_g < vbase_p)

        def doc_order(g):
            """Group ids with all text in one group (document order): one
            gather through a table of the few group ids."""
            remap = np.arange(vbase_p + len(vnames) + 1, dtype=g.dtype)
            remap[N_MISC:vbase_p] = N_MISC
            remap[vbase_p:] -= ntext_p - 1
            return remap[g]

        def gather(s_, e_, g_, ngroups):
            sizes = _group_sizes(s_, e_, g_, ngroups)
            offsets = np.zeros(ngroups + 1, np.int64)
            np.cumsum(sizes, out=offsets[1:])
            out = np.empty(int(offsets[-1]), np.uint8)
            _gather(buf, s_, e_, g_, offsets[:-1].copy(), out)
            return [out[offsets[k]:offsets[k + 1]] for k in range(ngroups)]

        # trials on the text of a prefix of the block
        text_idx = np.flatnonzero(is_text)
        # (each segment adds at least a byte: the sample ends within the first TRIAL_SAMPLE + 1)
        head = text_idx[:TRIAL_SAMPLE + 1]
        cum = np.cumsum(seg_e[head] - seg_s[head] + 1)
        k = int(np.searchsorted(cum, TRIAL_SAMPLE)) + 1
        sample_idx = text_idx[:k]
        # a sample that is all of the block's text (small blocks) gives the final
        # text streams themselves: their trial frames are kept for the planner
        # (Encoded.zstd_frames) instead of being compressed again
        whole_text = sample_idx.size == text_idx.size
        text_frames = None  # the final text streams' frames, when a trial made them
        by_parent = self.text_by_parent
        if by_parent is None:
            by_parent = False
            if tnames and sample_idx.size:
                ss, se = seg_s[sample_idx], seg_e[sample_idx]
                flat = gather(ss, se, np.zeros(ss.size, np.int64), 1)
                grouped = gather(ss, se, seg_g[sample_idx] - N_MISC, ntext_p)
                flat_frames, grouped_frames = self._zframes(flat), self._zframes(grouped)
                by_parent = _size(grouped_frames) < _size(flat_frames)
                if whole_text:
                    text_frames = grouped_frames if by_parent else flat_frames
        ntext = ntext_p if by_parent else 1
        if not by_parent:
            seg_g = doc_order(seg_g)
        # one stream per frequent attribute, or all values in one (small blocks)?
        vbase = N_MISC + ntext
        value_frames = None  # the final value streams' frames, when the trial made them
        if vnames and self.split_values is None:
            val_idx = np.flatnonzero(seg_g >= vbase)
            vcum = np.cumsum(seg_e[val_idx] - seg_s[val_idx] + 1)
            # the benefit of separate streams grows with their size: sample a quarter
            want = min(max(TRIAL_SAMPLE, int(vcum[-1]) // 4 if vcum.size else 0), 8 * TRIAL_SAMPLE)
            vs = val_idx[:int(np.searchsorted(vcum, want)) + 1]
            split = self._zframes(gather(seg_s[vs], seg_e[vs], seg_g[vs] - vbase, len(vnames) + 1))
            merged = self._zframes(gather(seg_s[vs], seg_e[vs], np.zeros(vs.size, np.int64), 1))
            value_frames = merged if _size(merged) <= _size(split) else split
            if value_frames is merged:
                vnames = []
            if vs.size != val_idx.size:
                value_frames = None
        elif self.split_values is False:
            vnames = []
        if not vnames:
            seg_g[seg_g >= vbase] = vbase
        groups = gather(seg_s, seg_e, seg_g, N_MISC + ntext + len(vnames) + 1)
        text_groups = groups[N_MISC:N_MISC + ntext]
        value_groups = groups[N_MISC + ntext:]

        use_l1 = self.use_l1
        l1_params = b""
        text_streams = None  # bytes of the text groups, or their L1 codes
        text_names = ["text"] + [f"text:{table.names[x].decode('latin-1')}" for x in (tnames if by_parent else [])]
        l1_trial = None
        if use_l1 is None:
            use_l1 = False
            if sample_idx.size and cum[-1] >= 4096:
                use_l1, l1_trial = self._trial_l1(gather(seg_s[sample_idx], seg_e[sample_idx],
                                                         np.zeros(sample_idx.size, np.int64), 1)[0])
                if whole_text and not by_parent and text_frames is None:
                    text_frames = l1_trial[3]  # the sample coded plain: the one text stream
        l1_frames = None
        if use_l1:
            if whole_text and not by_parent and l1_trial is not None:
                # the trial coded exactly the final text stream: its coder, code and frames
                coder, coded, l1_frames, _ = l1_trial
                text_streams = [coded]
            else:
                from . import l1_semantic
                # trained on all the text, each group coded on its own (train_encode: one word scan)
                cuts = np.cumsum([g.size for g in text_groups[:-1]])
                # gather lays its groups back to back in one array: the text groups'
                # span of it is their concatenation, without a copy
                start = sum(g.size for g in groups[:N_MISC])
                all_text = text_groups[0].base[start:start + sum(g.size for g in text_groups)]
                coder, text_streams = l1_semantic.WordCoder.train_encode(all_text, cuts,
                                                                        check_keys=self.check_collisions)
            l1_params = coder.to_bytes()
        else:
            text_streams = [g.tobytes() for g in text_groups]

        params = bytearray()
        flags = (F_HTML if self.html else 0) | (F_L1 if use_l1 else 0) | (F_TEXT_BY_PARENT if by_parent else 0)
        params.append(flags)
        put_varint(params, nl_kind)
        put_bytes(params, unit)
        for g in range(N_MISC):
            put_varint(params, len(groups[g]))
        put_varint(params, len(tnames) if by_parent else 0)
        for x in (tnames if by_parent else []):
            put_varint(params, x)
        put_varint(params, len(vnames))
        for x in vnames:
            put_varint(params, x)
        if use_l1:
            for g in text_groups:
                put_varint(params, len(g))
        misc = np.concatenate(groups[:N_MISC]).tobytes()
        streams = [sym.tobytes(), skeletons.to_bytes(), misc]
        names = ["sym", "skeletons", "misc"]
        if use_l1:
            streams.append(l1_params)
            names.append("text:l1dict")
        streams += text_streams
        names += text_names
        streams += [g.tobytes() for g in value_groups]
        names += [f"v:{table.names[x].decode('latin-1')}" for x in vnames] + ["v:*"]
        # trial frames that are final streams' frames, by stream index
        made = {}
        first_text = 3 + (1 if use_l1 else 0)
        if use_l1:
            # the L1 dictionary and code, when the trial coded the final text
            dict_frames, text_frames = (l1_frames[:1], l1_frames[1:]) if l1_frames else (None, None)
        else:
            dict_frames = None
        for first, frames in ((3, dict_frames), (first_text, text_frames), (first_text + ntext, value_frames)):
            for i, f in enumerate(frames or ()):
                made[first + i] = (self._trial_level, f)
        return Encoded(params=bytes(params), streams=streams, stream_names=names, zstd_frames=made or None)

    def _fold_values(self, buf, tok):
        """Value spans to cut out of the tags. A name=value pair seen at least
        FOLD_MIN times stays in its tag's skeleton (class="p" in highlighted
        code becomes part of the tag's id), the rest become holes."""
        val_s, val_e = tok.a_val_s, tok.a_val_e
        if self.fold_min <= 0 or val_s.size == 0:
            return val_s, val_e
        h = np.empty(val_s.size, np.uint64)
        _attribute_hashes(buf, tok.a_name_s, tok.a_name_e, val_s, val_e, h)
        fold = np.flatnonzero(_frequent_pairs(h, self.fold_min))
        if fold.size == 0:
            return val_s, val_e
        val_s = val_s.copy()
        val_e = val_e.copy()
        val_s[fold] = -1
        val_e[fold] = -1
        return val_s, val_e

    def _keep_used(self, skeletons, table, tok_code, tok_parent, tags):
        """Drop the skeletons of end tags that were always predicted and renumber
        the rest by how often they are *emitted*; remap codes and parent names."""
        cnt = _skeleton_use_counts(tags, tok_code, len(skeletons))
        keep = np.argsort(-cnt, kind="stable")[:int((cnt > 0).sum())]
        new_id = np.full(len(skeletons), -1, np.int64)
        new_id[keep] = np.arange(keep.size)
        reduced = StructuralDictionary([skeletons[i] for i in keep.tolist()], cnt[keep])
        new_table = SkeletonTable.of(reduced, self.html)
        name_map = np.asarray([-1] + [new_table.names.id_of(nm) if nm in new_table.names else -1
                                      for nm in table.names], np.int32)
        _renumber(tags, tok_code, new_id, tok_parent, name_map)
        return reduced, new_table

    @staticmethod
    def _indent_style(buf, kinds, starts, tok_depth):
        """The newline and indent unit that predict the most whitespace nodes
        (at least 8; the first of equal counts in INDENT_UNITS order, LF first)."""
        hits = np.zeros((2, len(INDENT_UNITS)), np.int64)
        _indent_hits(buf, kinds, starts, tok_depth, _INDENT_BYTE, _INDENT_LEN, hits)
        best, style = 7, (0, b"")
        for kind in (1, 2):
            for k, u in enumerate(INDENT_UNITS):
                if hits[kind - 1, k] > best:
                    best, style = int(hits[kind - 1, k]), (kind, u)
        return style

    # -- trials ---------------------------------------------------------------
    @property
    def _trial_level(self) -> int:
        return min(self.level, TRIAL_LEVEL)

    def _zframes(self, chunks) -> list:
        """The chunks coded as the planner codes a stream at the trial level
        (``entropy.thread_compressor``), so that a trial's frame can stand for
        the final stream's (Encoded.zstd_frames)."""
        c = thread_compressor(self._trial_level)
        # (straight from the arrays: zstandard reads any buffer, a bytes copy first cost as much as a fast pass)
        return [c.compress(x) for x in chunks]

    def _trial_l1(self, sample) -> tuple:
        """(whether the L1 word code pays on ``sample``, (coder, code, frames of
        [dictionary, code], frames of [sample]))."""
        from . import l1_semantic
        coder, (coded,) = l1_semantic.WordCoder.train_encode(sample, check_keys=self.check_collisions)
        with_l1 = self._zframes([coder.to_bytes(), coded])
        plain = self._zframes([sample])
        return _size(with_l1) < _size(plain), (coder, coded, with_l1, plain)


# ---------------------------------------------------------------- decoder

class MarkupDecoder:
    def decode(self, streams, params, raw_len: int) -> bytes:
        out = np.empty(raw_len + COPY_SLACK, np.uint8)
        self.decode_into(streams, params, raw_len, out)
        return out[:raw_len].tobytes()

    def decode_into(self, streams, params, raw_len: int, out: np.ndarray) -> None:
        """Decode into out[:raw_len] (``out`` has COPY_SLACK spare bytes after it)."""
        if out.size != raw_len + COPY_SLACK:
            raise ValueError("markup: the output needs exactly COPY_SLACK spare bytes after the block")
        r = Reader(params, what="markup params")
        flags = r.u8("flags")
        if flags & ~(F_HTML | F_L1 | F_TEXT_BY_PARENT):
            raise FormatError(f"markup: unknown flags {flags:#x}")
        html = bool(flags & F_HTML)
        nl_kind = r.varint("newline kind", 2)
        unit = r.bytes_field("indent unit", 16)
        misc_sizes = [r.varint("misc group size", raw_len + (1 << 20)) for _ in range(N_MISC)]
        nt = r.varint("text group count", MAX_TEXT_STREAMS)
        tnames = [r.varint("text group name", MAX_ENTRIES) for _ in range(nt)]
        nv = r.varint("value stream count", MAX_VALUE_STREAMS)
        vnames = [r.varint("value stream name", MAX_ENTRIES) for _ in range(nv)]
        ntext = nt + 1
        use_l1 = bool(flags & F_L1)
        text_sizes = [r.varint("text group size", raw_len + (1 << 20)) for _ in range(ntext)] if use_l1 else None
        r.expect_end("markup params")
        want = 3 + (1 if use_l1 else 0) + ntext + nv + 1
        if len(streams) != want:
            raise FormatError(f"markup: {len(streams)} streams, params need {want}")
        sym = np.frombuffer(streams[0], np.uint8)
        # the skeletons back to back with the kernel's copy slack, checked as
        # StructuralDictionary.from_bytes checks them (no dictionary object)
        sk_data, sk_off = read_entries(streams[1], COPY_SLACK)
        table = SkeletonTable(sk_data[:sk_off[-1]], sk_off, html)
        nnames = len(table.names)
        for x in tnames + vnames:
            if x >= nnames:
                raise FormatError(f"markup: name id {x} out of range ({nnames} names)")
        misc = streams[2]
        if sum(misc_sizes) != len(misc):
            raise FormatError(f"markup: misc groups need {sum(misc_sizes)} bytes, stream has {len(misc)}")
        k = 3
        if use_l1 and sum(misc_sizes) + sum(text_sizes) > raw_len + len(sym) + (1 << 20):
            # the texts decode to exactly these sizes: refuse before holding them (a few
            # bytes of word codes can claim a block's length in each of 33 groups)
            raise LimitError(f"markup: text groups claim {sum(text_sizes)} bytes for a {raw_len}-byte block")
        if use_l1:
            # the texts stay word-coded: the kernel decodes each text item
            # straight into the output (l1_semantic.decode_item), so they
            # take no room among the groups
            from . import l1_semantic
            coder = l1_semantic.WordCoder.from_bytes(streams[3])
            k = 4
            coded = [streams[k + i] for i in range(ntext)]
            t_end = np.cumsum(np.asarray([len(c) for c in coded], np.int64))
            t_pos = t_end - np.asarray([len(c) for c in coded], np.int64)
            tcoded = readonly(_u8(coded[0]) if ntext == 1 else _u8(b"".join(coded)))
            t_left = np.asarray(text_sizes, np.int64)
            l1_tables = (coder.n1, coder.count, coder.data, coder.offsets, coder.slots)
            group_text = [0] * ntext
        else:
            text_sizes = [len(streams[k + i]) for i in range(ntext)]
            group_text = text_sizes
            t_pos = t_end = t_left = np.zeros(0, np.int64)
            tcoded = _NO_CODE
            l1_tables = _NO_L1_TABLES
        values = streams[k + ntext:]
        lens = misc_sizes + group_text + [len(v) for v in values]
        total = sum(lens)
        if total > raw_len + len(sym) + (1 << 20):
            raise LimitError(f"markup: streams hold {total} bytes for a {raw_len}-byte block")
        g_end = np.cumsum(np.asarray(lens, np.int64))
        g_pos = g_end - np.asarray(lens, np.int64)
        # every group in one array, written in place, with the kernels' copy
        # slack at the end
        groups = np.empty(total + COPY_SLACK, np.uint8)
        groups[:len(misc)] = _u8(misc)
        if not use_l1:
            for i in range(ntext):
                groups[g_pos[N_MISC + i]:g_end[N_MISC + i]] = _u8(streams[k + i])
        for i, v in enumerate(values):
            groups[g_pos[N_MISC + ntext + i]:g_end[N_MISC + ntext + i]] = _u8(v)
        groups[total:] = 0xFF

        text_group_of = np.zeros(nnames + 1, np.int64)
        for i, x in enumerate(tnames):
            text_group_of[x + 1] = i + 1
        value_slot = np.full(nnames, nv, np.int64)
        for i, x in enumerate(vnames):
            value_slot[x] = i
        vbase = N_MISC + ntext
        hole_group = (vbase + value_slot[table.hole_name]) if table.hole_name.size else np.zeros(0, np.int64)
        nl = _NL[nl_kind]
        err, pos = _decode_kernel(sym, sk_data, sk_off, table.is_end, table.push, table.name,
                                  table.hole_lo, table.hole_pos, hole_group, table.names_padded,
                                  table.names.offsets, table.name_fold, groups, g_pos, g_end, _u8(nl),
                                  np.frombuffer(unit, np.uint8), indent_template(nl, unit), text_group_of, N_MISC,
                                  out, np.empty(sym.size + 1, np.int32), use_l1, tcoded, t_pos, t_end, t_left,
                                  *l1_tables, end_tag_slots(table.names_padded, table.names.offsets))
        if err != E_OK:
            raise FormatError(f"markup: {_ERRORS.get(err, 'error')} (symbol byte {pos})")


class _MarkupTransform(Transform):
    #: symbols, skeletons, misc, l1 words; text groups + the shared one; values; residue
    max_streams = 3 + 1 + (MAX_TEXT_STREAMS + 1) + MAX_VALUE_STREAMS + 1
    expansion = 4
    html: bool = False
    #: name=value pairs seen this often stay in the tag skeleton (measured on the dev corpus)
    fold_min: int = 128
    needs_layers = frozenset({"l2"})
    min_level = 1

    def encode(self, data, ctx: EncodeContext) -> Encoded | None:
        if len(data) < 64:
            return None
        use_l1 = None if "l1" in ctx.layers else False
        for fold_min in (self.fold_min, 0):
            try:
                return MarkupEncoder(self.html, ctx.level, use_l1=use_l1, fold_min=fold_min,
                                     check_collisions=not ctx.verified).encode(data)
            except LimitError:  # over 65,536 distinct tags: folding made it worse, or it is not markup
                continue
        return None

    def decode_into(self, streams, params, raw_len, ctx: DecodeContext, out) -> None:
        if params and bool(params[0] & F_HTML) != self.html:
            raise FormatError(f"{self.name}: params are for the other markup flavour")
        MarkupDecoder().decode_into(streams, params, raw_len, out)

    def describe(self, params: bytes) -> str:
        if not params:
            return self.name
        f = params[0]
        extra = [w for bit, w in ((F_L1, "l1"), (F_TEXT_BY_PARENT, "text-by-parent")) if f & bit]
        return self.name + (f" ({', '.join(extra)})" if extra else "")


@register_transform
class XmlTransform(_MarkupTransform):
    id = 40
    name = "xml"
    formats = ("xml",)
    html = False
    priority = 0


@register_transform
class HtmlTransform(_MarkupTransform):
    id = 41
    name = "html"
    formats = ("html",)
    html = True
    fold_min = 32
    priority = 1
