"""The log transform (id 60): lines to templates and typed variables, CLP-style.

Each line is cut into tokens at delimiter bytes (:data:`DELIMITERS`, plus the
block's extra delimiters: ``/``, and ``.`` where dots join names). A
token holding a digit is a *variable*; the line with every variable replaced
by the placeholder byte 0x11 is its *template* (static text). Templates go to
a per-block dictionary (the most used first, then in order of first use),
and each line to a template id.
Each variable becomes a *skeleton* (its bytes with every digit chunk of at
most 18 digits replaced by 0x12), the chunks' integer values and their
widths (digit counts: leading zeros come back). Variables are stored *by column*
(all variables of slot k of template t together, in line order), so a column
of package names or IP addresses sits together; numbers are grouped by
(column, chunk index) and each group is delta coded, so the seconds of a
timestamp column become mostly 0s and 1s.

A line longer than :data:`MAX_LINE` or holding byte 0x11 or 0x12 stays raw
(template id 0, its bytes in the raw stream). Lines are cut at ``\\n`` only:
``\\r``, NUL, invalid UTF-8 and any other bytes are ordinary text.

The tokenizer rules (delimiters, what makes a variable) are the encoder's
alone: the decoder needs only the streams, so they may change without a
format change.

Params::

    u8 version (1, 2, 4, 5 or 6) | u8 flags (bit 0: the block ends with a newline;
    versions 5 and 6: bit 1: refs)
    [versions 2, 4-6: u8 n_extra | extra delimiter bytes]
    varint n_lines | varint n_templates | varint n_common | varint n_vars | varint n_numbers
    | varint n_raw [versions 5 and 6: | varint n_messages] [version 6: | varint message_bytes]

Streams (before entropy coding)::

    templates  n_templates templates, each ended by 0x0A, id 1 first
    ids        intcodec: the template id of each line (0 = raw line)
    skeletons  n_vars skeletons, each ended by 0x0A, in column order (templates
               1..n_common: a column per slot; the rarer templates share the last
               column, in line order)
    numbers    intcodec: the residuals of the digit chunks in group order
    widths     one byte per digit chunk (its digit count, 1..18), in group order
    raw        n_raw raw lines, each ended by 0x0A
    refs       version 4 only: one byte per variable, in column order; the
               skeletons stream then holds only the new skeletons (the
               others are move-to-front ranks, :mod:`.log_refs`); version 5:
               empty unless flag bit 1 is set
    messages   version 5 only: the messages cut off the lines, each ended by
               0x0A, in line order; a template whose last byte is TAIL (0x13)
               ends in the next one (:func:`_cut_messages`); version 6:
               two streams in its place, ``messages_dict`` and
               ``messages_words``, the L1 word transform's streams of the
               messages (message_bytes bytes; :data:`MESSAGES_WORDS`)

docs/transforms/log.md has the full layout and the decoding order.

>>> t = LogTransform()
>>> line = b"2026-12-05 19:36:22 job 17 done\\n" * 3
>>> enc = t.encode(line, EncodeContext(fmt="log"))
>>> t.decode(enc.streams, enc.params, len(line), DecodeContext()) == line
True
"""

from __future__ import annotations

import re

import numpy as np

from ..entropy import brotli_encode, thread_compressor
from ..errors import FormatError
from ..format.wire import put_varint
from ..registry import DecodeContext, EncodeContext, Encoded, Transform, register_transform
from . import log_kernels as lk
from . import log_refs
from .csv_kernels import gather_joined
from .intcodec import decode_ints, encode_ints
from .primitives import COPY_SLACK, readonly, unique_hashes
from .log_format import (DELIMITERS, MAX_REF, MESSAGES, REFS, STREAM_BOUND, STREAM_NAMES,  # noqa: F401
                         STREAM_NAMES_MESSAGES, STREAM_NAMES_REFS, STREAM_NAMES_WORDS, TAIL, TRANSFORM_ID, VERSION,
                         VERSION_DELIMITERS, VERSION_MESSAGES, VERSION_REFS, VERSION_WORDS, as_version5,
                         block_delimiters, canonical_streams, column_layout, has_messages, parse_params,
                         stream_count)

#: lines longer than this stay raw: a template that long is one of a kind anyway
MAX_LINE = 1 << 16
#: templates used by fewer lines than this share one column for their variables
#: (on the dev logs: 1.54x -> 1.63x zstd -19 on dpkg.log, small files +1-3%)
MIN_COLUMN_LINES = 4
#: templates used by fewer lines than this are dropped (their lines stay raw).
#: 1: none is dropped. Measured at 2 and 3: chat logs +8%, small syslog-style
#: files (15-35 KB) -4 to -8%, dpkg.log -2%.
MIN_TEMPLATE_LINES = 1
#: template order (ids): templates used by at least this share of the lines
#: (and MIN_COLUMN_LINES) first, most used first; then the other templates
#: of MIN_COLUMN_LINES lines or more, then the rarer ones, each group in the
#: order the lines first use them. See LogScan.finish_templates.
BIG_TEMPLATE_SHARE = 0.1
#: a token without digits is a variable too when it occurs in fewer than one
#: line in LINES_PER_STATIC_USE (at most MAX_MIN_STATIC times): rare words and
#: paths then stop splitting templates. On the dev logs: dpkg.log 1.63x ->
#: 1.95x zstd -19 at 10 uses; on small files (400 lines) it cost 5-10%,
#: hence the scaling with the line count. Was 400 (one use per 400 lines)
#: until paths and names were cut at ``/`` and ``.`` (branch log-ratio6):
#: with those shorter tokens 100 made check-jaxp (475 lines) 5% and
#: check-hotspot 1.7% smaller at level 3, and let gdb's check.log (4 MB)
#: pass the text gate (its 64 KiB sample needs fewer templates): 7% smaller
#: than the l1 plan it had, for 50% more compression time on that file; the
#: 10-40 KB syslog-style files keep their raw plan, byte-identical.
LINES_PER_STATIC_USE = 100
MAX_MIN_STATIC = 10
#: the extra delimiters (params version 2) the encoder uses: ``/`` cuts paths
#: into segments, so that directories repeated over many lines become
#: template text (one template per directory, a cheap id) and file names
#: variables of their own. On the 19 dev and unseen logs the log streams
#: (brotli 6) came out 0-3.6% smaller (OpenJDK test logs, apt term.log,
#: gdb's check.log), none larger than 0.1%.
EXTRA_DELIMITERS = b"/"
#: ``.`` is a delimiter too in blocks whose sample has at least
#: DOT_NAME_RATIO times more dots between letters (``Foo.java``,
#: ``org.example.Main``) than between digits (versions, addresses, decimals):
#: there names split into parts that repeat (4-5% smaller log streams on
#: OpenJDK test logs), where a dot between digits would cut every version
#: and address into variables of their own (dpkg.log 11%, apt's history.log
#: 5% larger). Measured ratios: 1000+ on test-runner logs, 0-0.4 on syslog
#: and dpkg/apt logs, 2.5 on an IRC log (dots: -1.2%), 8 on gdb's test log
#: (-0.2%), 16 on alternatives.log (+0.8%).
EXTRA_DOT = b"./"
DOT_NAME_RATIO = 10
_DELIM_TABLES = {}
_LETTER = np.zeros(256, np.bool_)
_LETTER[np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_", np.uint8)] = True
_DIGIT = np.zeros(256, np.bool_)
_DIGIT[np.frombuffer(b"0123456789", np.uint8)] = True
_DOT = 0x2E


def extra_delimiters(data) -> bytes:
    """The extra delimiters for a block: EXTRA_DELIMITERS, or EXTRA_DOT where
    dots join names rather than numbers in its first TEXT_SAMPLE bytes; only
    those the block holds (none: params version 1, two bytes shorter)."""
    whole = np.frombuffer(data, np.uint8)
    buf = whole[:TEXT_SAMPLE]
    dots = np.flatnonzero(buf[1:-1] == _DOT) + 1
    extra = EXTRA_DELIMITERS
    if dots.size:
        before, after = buf[dots - 1], buf[dots + 1]
        names = int(np.count_nonzero(_LETTER[before] & _LETTER[after]))
        numbers = int(np.count_nonzero(_DIGIT[before] & _DIGIT[after]))
        if names >= DOT_NAME_RATIO * max(numbers, 1):
            extra = EXTRA_DOT
    raw = data if isinstance(data, (bytes, bytearray)) else None
    return bytes(b for b in extra if (bytes([b]) in raw if raw is not None else bool((whole == b).any())))


_VAR_CLASS = lk.delimiter_table(b"0123456789")


def _byte_classes(extra: bytes, tail: bool = False) -> np.ndarray:
    """The tokenizer's class table (lk.byte_classes) for a block's extra
    delimiters; ``tail``: TAIL is a delimiter too (a block whose lines end
    in TAIL where their message was cut off: always template text)."""
    table = _DELIM_TABLES.get((extra, tail))
    if table is None:
        delim = block_delimiters(extra) + (bytes([TAIL]) if tail else b"")
        table = _DELIM_TABLES[(extra, tail)] = lk.byte_classes(lk.delimiter_table(delim), _VAR_CLASS)
    return table


def _line_bounds(buf: np.ndarray, n_lines: int) -> tuple[np.ndarray, np.ndarray]:
    ends = np.flatnonzero(buf == lk.NEWLINE)
    if ends.size < n_lines:
        ends = np.append(ends, buf.size)
    starts = np.empty(n_lines, np.int64)
    if n_lines:
        starts[0] = 0
        starts[1:] = ends[:-1] + 1
    return starts, ends.astype(np.int64)


_NO_REUSE = (np.zeros(0, np.bool_), np.zeros(0, np.uint8)) + tuple(np.zeros(0, np.int64) for _ in range(2)) \
    + (np.zeros(0, np.bool_), np.zeros(0, np.uint64)) + tuple(np.zeros(0, np.int64) for _ in range(5))


class LogScan:
    """One block cut into lines, templates and variables (encode side): the
    part of :class:`LogModel` that does not depend on the variable layout, so
    that both layouts can be built from one scan."""

    def __init__(self, data, templates: bool = True, extra: bytes | None = None, tail: bool = False,
                 confirm: bool = True, keep: bool = False, reuse: tuple | None = None):
        """``templates=False``: stop after the line scan, with only ``n_lines``
        and ``n_templates`` set (what the text gate, :func:`looks_templated`,
        needs); :meth:`finish_templates` does the rest later. ``extra``:
        delimiters added to DELIMITERS (params version 2; b"": version 1;
        None: :func:`extra_delimiters` of the block). ``tail``: ``data`` is a
        block with its messages cut off (:func:`_cut_messages`), TAIL a delimiter.
        ``confirm=False``: lines are grouped by their templates' 64-bit
        hashes alone, without lk.confirm_templates comparing each line's
        template bytes with its template's first line (where the plan stored
        is round-tripped, EncodeContext.verified: a collision then costs the
        block its log plan, never data; 2-3% of level 3's CPU on large logs).
        ``keep``: the line scan's outputs and token counts are kept
        (``kept``) for a scan of the block with its messages cut off;
        ``reuse``: (that earlier :class:`LogScan`, a bool per line: the lines
        left whole), whose lines are copied from it, not tokenized again,
        and whose token counts this scan uses (see CUT_REUSES_SCAN)."""
        buf = np.frombuffer(data, np.uint8)
        self.buf = buf
        if extra is None:
            extra = extra_delimiters(data)
        self.extra = extra
        self.confirm = confirm
        cls = _byte_classes(extra, tail)
        n_lines = lk.count_lines(buf)
        self.final_newline = bool(buf.size and buf[-1] == lk.NEWLINE)
        cap_vars = buf.size // 2 + 1
        tmpl = np.empty(buf.size, np.uint8)
        line_ts = np.empty(n_lines, np.int64)
        line_te = np.empty(n_lines, np.int64)
        line_raw = np.empty(n_lines, np.bool_)
        line_hash = np.empty(n_lines, np.uint64)
        var_s = np.empty(cap_vars, np.int64)
        var_e = np.empty(cap_vars, np.int64)
        var_line = np.empty(cap_vars, np.int64)
        min_static = min(MAX_MIN_STATIC, max(1, n_lines // LINES_PER_STATIC_USE))
        if reuse is not None and reuse[0].kept[-1] == min_static and reuse[0].n_lines == n_lines:
            old, whole = reuse
            o_tmpl, o_ts, o_te, o_raw, o_hash, o_start, o_end, tok_keys, tok_counts, _ = old.kept
            o_vfirst = np.searchsorted(old.var_line, np.arange(n_lines + 1, dtype=np.int64))
            reused = (whole, o_tmpl, o_ts, o_te, o_raw, o_hash, old.var_s, old.var_e, o_vfirst, o_start, o_end)
        else:
            if min_static > 1:
                tok_keys, tok_counts = lk.token_counts(buf, cls)
            else:
                tok_keys, tok_counts = np.zeros(1, np.uint64), np.zeros(1, np.int32)
            reused = _NO_REUSE
        nl, nv, _ = lk.scan_lines(buf, cls, MAX_LINE, n_lines, tmpl, line_ts, line_te,
                                  line_raw, line_hash, var_s, var_e, var_line, tok_keys, tok_counts, min_static,
                                  *reused)
        assert nl == n_lines
        self.var_s, self.var_e, self.var_line = var_s[:nv], var_e[:nv], var_line[:nv]
        self.n_lines = n_lines
        self._scan = (tmpl, line_ts, line_te, line_raw, line_hash)
        self.kept = None
        if keep:
            starts, ends = _line_bounds(buf, n_lines)
            self.kept = (tmpl, line_ts, line_te, line_raw, line_hash, starts, ends, tok_keys, tok_counts, min_static)
        if templates:
            self.finish_templates()
        else:
            # the count finish_templates arrives at (distinct template hashes used
            # by at least MIN_TEMPLATE_LINES lines), without ordering or gathering them
            counts = unique_hashes(line_hash[~line_raw])[2]
            self.n_templates = int(np.count_nonzero(counts >= MIN_TEMPLATE_LINES))

    def finish_templates(self) -> None:
        """The template dictionary, each line's template id and the templates stream."""
        tmpl, line_ts, line_te, line_raw, line_hash = self._scan
        n_lines = self.n_lines
        # templates: distinct hashes; those used by MIN_COLUMN_LINES lines or
        # more first (they get a column per slot: ids 1..n_common). Among them
        # the few used by BIG_TEMPLATE_SHARE of the lines come first, most used
        # first; the others, and then the rarer templates, follow in the order
        # the lines first use them. Against most used first for all (main
        # before branch log-ratio6): the ids stream 10-35% smaller on logs
        # that move through many templates (test runners, one template per
        # directory; apt, IRC), and the templates and skeletons in the lines'
        # order: OpenJDK test logs 1.4-4.4% smaller at level 3. All in first
        # use order cost dpkg.log 5.6% (its skeleton columns, in template
        # order, match each other less); the big templates first keep it.
        ok = np.flatnonzero(~line_raw)
        # (numbered by first use, not by hash value as np.unique would: the
        # order below ends on ``first``, so the ids come out the same)
        inv, first, counts = unique_hashes(line_hash[ok])
        big = counts >= max(MIN_COLUMN_LINES, n_lines * BIG_TEMPLATE_SHARE)
        order = np.lexsort((first, np.where(big, -counts, 0), counts < MIN_COLUMN_LINES, counts < MIN_TEMPLATE_LINES))
        rank = np.empty(order.size, np.int64)
        rank[order] = np.arange(order.size)
        line_tid = np.zeros(n_lines, np.int64)
        line_tid[ok] = rank[inv] + 1
        rep_line = np.zeros(order.size + 1, np.int64)
        rep_line[1:] = ok[first[order]]
        if self.confirm:
            lk.confirm_templates(tmpl, line_ts, line_te, line_tid, rep_line)
        n_kept = int(np.count_nonzero(counts >= MIN_TEMPLATE_LINES))
        line_tid[line_tid > n_kept] = 0
        rep_line = rep_line[1:n_kept + 1]
        self.counts = counts[order[:n_kept]]
        self.n_templates = n_kept
        self.line_tid = line_tid
        # the templates stream (each template ended by a newline) and each one's slot count
        self.templates_stream = gather_joined(tmpl, line_ts[rep_line], line_te[rep_line], lk.NEWLINE)
        _, placeholders = lk.index_items(self.templates_stream, lk.PLACEHOLDER)
        self.slots = np.zeros(rep_line.size + 1, np.int64)
        self.slots[1:] = placeholders
        self.n_raw = int(np.count_nonzero(line_tid == 0))
        self._scan = None


class _LineSample:
    """Some of a :class:`LogScan`'s lines, with the block's template dictionary
    (ids, slot counts, line counts per template): what :class:`LogModel` reads
    of a scan, so that the variable layouts can be tried on part of the block
    without scanning it again (:func:`_better_layout`)."""

    def __init__(self, scan: LogScan, keep: np.ndarray):
        """``keep``: a boolean per line of ``scan``."""
        self.buf = scan.buf
        self.extra = scan.extra
        self.final_newline = scan.final_newline
        self.line_tid = scan.line_tid[keep]
        self.n_lines = self.line_tid.size
        self.templates_stream, self.slots, self.counts = scan.templates_stream, scan.slots, scan.counts
        self.n_raw = int(np.count_nonzero(self.line_tid == 0))
        renumber = np.cumsum(keep) - 1
        vk = keep[scan.var_line]
        self.var_s, self.var_e = scan.var_s[vk], scan.var_e[vk]
        self.var_line = renumber[scan.var_line[vk]]


class LogModel:
    """One block's templates, template ids, variables and numbers (encode side)."""

    def __init__(self, data, columns: bool = True, scan: LogScan | None = None):
        """``columns=False``: every template's variables share one column in line
        order (n_common = 0) instead of a column per slot of the common templates.
        ``scan``: the block's :class:`LogScan`, when already made."""
        sc = LogScan(data) if scan is None else scan
        self.scan = sc
        buf = sc.buf
        self.buf = buf
        self.extra = sc.extra
        self.final_newline = sc.final_newline
        self.n_lines = n_lines = sc.n_lines
        self.line_tid = line_tid = sc.line_tid
        self.templates_stream = sc.templates_stream
        self.n_templates = sc.slots.size - 1
        var_s, var_e, var_line = sc.var_s, sc.var_e, sc.var_line
        self.n_common = int(np.count_nonzero(sc.counts >= MIN_COLUMN_LINES)) if columns else 0
        slot_base, stride, self.n_cols = column_layout(sc.slots, self.n_common)

        # variables in column order (stable: line order within a column)
        col = lk.var_columns(var_line, line_tid, slot_base, stride)
        var_order = lk.column_order(col, max(self.n_cols, 1))
        skel = np.empty(int((var_e - var_s)[var_order].sum()) + var_order.size, np.uint8)
        values = np.empty(skel.size, np.int64)
        runs = np.empty(var_order.size, np.int64)
        sorted_cols = col[var_order]
        split_col = lk.choose_split(buf, var_s, var_e, var_order, sorted_cols, max(self.n_cols, 1))
        self.n_split_cols = int(split_col[:self.n_cols].sum())
        self.n_split_vars = int(split_col[sorted_cols].sum())
        widths = np.empty(skel.size, np.uint8)
        sp, nn = lk.split_vars(buf, var_s, var_e, var_order, split_col[sorted_cols], skel, values, widths, runs)
        self.skeletons = skel[:sp].tobytes()
        self.n_vars = var_order.size
        values = values[:nn]
        cols, ks = lk.number_keys(sorted_cols, runs, nn)
        perm, gid = lk.group_order(cols, ks, max(self.n_cols, 1))
        self.residuals = lk.delta_by_group(values, perm, gid)
        self.widths = widths[:nn][perm].tobytes()
        self.n_raw = sc.n_raw
        self._numbers = None
        #: version 4: the refs (one byte per variable) and the new skeletons only
        self.refs = None
        self.stored_skeletons = None
        #: version 5: the messages stream and its item count (None: no messages)
        self.messages = None
        self.n_messages = 0
        #: version 6: the messages' L1 streams (dict, words), None: version 5
        self.message_words = None

    def with_refs(self) -> "LogModel":
        """This model with its skeletons move-to-front coded (params version 4,
        :mod:`.log_refs`); returns self."""
        if self.refs is None:
            skel = np.frombuffer(self.skeletons, np.uint8)
            ends = np.flatnonzero(skel == lk.NEWLINE)
            starts = np.empty_like(ends)
            if ends.size:
                starts[0] = 0
                starts[1:] = ends[:-1] + 1
            self.refs = log_refs.refs_of(skel, starts, ends, MAX_REF)
            new = self.refs == 0
            self.stored_skeletons = gather_joined(skel, starts[new], ends[new], lk.NEWLINE).tobytes()
        return self

    def variable_streams(self) -> list:
        """The streams the variable layout (columns or line order, refs or not) changes."""
        if self.refs is not None:
            return [self.stored_skeletons, self.refs.tobytes(), self.numbers_stream(), self.widths]
        return [self.skeletons, self.numbers_stream(), self.widths]

    @property
    def templates(self) -> list:
        """The templates' bytes, id 1 first."""
        return self.templates_stream.tobytes().split(b"\n")[:-1]

    def raw_stream(self) -> bytes:
        """The raw lines, each ended by a newline."""
        if not self.n_raw:
            return b""
        raw_lines = np.flatnonzero(self.line_tid == 0)
        starts, ends = _line_bounds(self.buf, self.n_lines)
        return gather_joined(self.buf, starts[raw_lines], ends[raw_lines], lk.NEWLINE).tobytes()

    def numbers_stream(self) -> bytes:
        """The residuals' int stream (coded once: the layout trial and the plan share it)."""
        if self._numbers is None:
            self._numbers = encode_ints(self.residuals)
        return self._numbers

    def params(self) -> bytes:
        flags = 1 if self.final_newline else 0
        if self.messages is not None:
            flags |= 2 if self.refs is not None else 0
            version = VERSION_MESSAGES if self.message_words is None else VERSION_WORDS
            out = bytearray([version, flags, len(self.extra)]) + self.extra
        elif self.refs is not None:
            out = bytearray([VERSION_REFS, flags, len(self.extra)]) + self.extra
        elif self.extra:
            out = bytearray([VERSION_DELIMITERS, flags, len(self.extra)]) + self.extra
        else:
            out = bytearray([VERSION, flags])
        for v in (self.n_lines, self.n_templates, self.n_common, self.n_vars, self.residuals.size, self.n_raw):
            put_varint(out, int(v))
        if self.messages is not None:
            put_varint(out, self.n_messages)
            if self.message_words is not None:
                put_varint(out, len(self.messages))
        return bytes(out)

    def streams(self) -> list:
        out = [
            self.templates_stream.tobytes(),
            encode_ints(self.line_tid),
            self.skeletons if self.refs is None else self.stored_skeletons,
            self.numbers_stream(),
            self.widths,
            self.raw_stream(),
        ]
        if self.messages is not None:
            out += [b"" if self.refs is None else self.refs.tobytes()]
            out += [self.messages] if self.message_words is None else list(self.message_words)
        elif self.refs is not None:
            out.append(self.refs.tobytes())
        return out

    @property
    def stream_names(self) -> list:
        if self.messages is not None:
            return list(STREAM_NAMES_MESSAGES if self.message_words is None else STREAM_NAMES_WORDS)
        return list(STREAM_NAMES if self.refs is None else STREAM_NAMES_REFS)


def _items(stream, count: int, what: str, marker: int = lk.NEWLINE, slack: bool = False):
    """(bytes, starts, ends, marker counts) of a stream of ``count`` newline-ended
    items; ``slack``: the bytes are a copy with COPY_SLACK spare bytes after
    them (for the 16-byte moves of lk.render)."""
    buf = np.frombuffer(stream, np.uint8)
    if slack:
        padded = np.zeros(buf.size + COPY_SLACK, np.uint8)
        padded[:buf.size] = buf
        buf = padded[:buf.size]
    e, marks = lk.index_items(buf, marker)
    if e.size != count or (buf.size and buf[-1] != lk.NEWLINE):
        raise FormatError(f"log: {what} stream does not hold {count} newline-ended items")
    s = np.empty(count, np.int64)
    if count:
        s[0] = 0
        s[1:] = e[:-1] + 1
    return buf, s, e, marks


class LogBlock:
    """A log block's streams parsed and validated (decode side): renders the
    whole block, or only chosen lines, and the variables' texts (for
    :mod:`cobol.logsearch`)."""

    def __init__(self, streams: list, params: bytes, raw_len: int):
        if has_messages(params):
            # (cobol grep decodes such a block whole: log_format.has_messages)
            raise FormatError("log: a version-5 or 6 block (with messages) is decoded whole, not read by lines")
        if len(streams) == len(STREAM_NAMES_REFS):
            streams = _expanded(streams, params, raw_len)
        if len(streams) != len(STREAM_NAMES):
            raise FormatError(f"log: expects {len(STREAM_NAMES)} streams, got {len(streams)}")
        p = parse_params(params, raw_len)
        self.raw_len = raw_len
        self.final_newline = p["final_newline"]
        n_lines, n_t = p["n_lines"], p["n_templates"]
        self.n_lines = n_lines
        self.tbuf, ts, te, slots = _items(streams[0], n_t, "templates", lk.PLACEHOLDER, slack=True)
        self.tstop = lk.next_stops(self.tbuf)
        self.tmpl_s = np.concatenate(([0], ts)).astype(np.int64)
        self.tmpl_e = np.concatenate(([0], te)).astype(np.int64)
        ids = decode_ints(streams[1], n_lines)
        if ids.size != n_lines:
            raise FormatError(f"log: {ids.size} template ids for {n_lines} lines")
        if ids.size and (ids.min() < 0 or ids.max() > n_t):
            raise FormatError(f"log: template id outside 0..{n_t}")
        self.ids = ids
        self.slots = np.zeros(n_t + 1, np.int64)
        self.slots[1:] = slots
        self.slot_base, self.stride, n_cols = column_layout(self.slots, p["n_common"])
        per_col = lk.column_counts(ids, self.slots, self.slot_base, self.stride, n_cols)
        self.col_start = np.zeros(n_cols + 1, np.int64)
        np.cumsum(per_col, out=self.col_start[1:])
        if self.col_start[-1] != p["n_vars"]:
            raise FormatError(f"log: templates call for {int(self.col_start[-1])} variables, params say {p['n_vars']}")
        self.sbuf, self.ss, self.se, runs = _items(streams[2], p["n_vars"], "skeletons", lk.NUMBER, slack=True)
        self.num_start = np.zeros(runs.size + 1, np.int64)
        np.cumsum(runs, out=self.num_start[1:])
        n_num = p["n_numbers"]
        if self.num_start[-1] != n_num:
            raise FormatError(f"log: skeletons hold {int(self.num_start[-1])} numbers, params say {n_num}")
        if len(streams[4]) != n_num:
            raise FormatError(f"log: {len(streams[4])} chunk widths for {n_num} numbers")
        self._numbers_stream, self._widths_stream = streams[3], streams[4]
        self._runs, self._per_col = runs, per_col
        self._values = self._widths = None
        self.rbuf, self.rs, self.re, _ = _items(streams[5], p["n_raw"], "raw", slack=True)

    def numbers(self) -> tuple[np.ndarray, np.ndarray]:
        """(values, widths) of the digit chunks in variable order, decoded on first use
        (a search that only looks at templates and skeletons never needs them)."""
        if self._values is None:
            n_num = int(self.num_start[-1])
            res = decode_ints(self._numbers_stream, n_num)
            if res.size != n_num:
                raise FormatError(f"log: {res.size} numbers, params say {n_num}")
            n_cols = self.col_start.size - 1
            var_col = np.repeat(np.arange(n_cols, dtype=np.int64), self._per_col)
            cols, ks = lk.number_keys(var_col, self._runs, n_num)
            perm, gid = lk.group_order(cols, ks, max(n_cols, 1))
            widths = np.empty(n_num, np.uint8)
            widths[perm] = np.frombuffer(self._widths_stream, np.uint8)
            self._values, self._widths = lk.undelta_by_group(res, perm, gid), widths
        return self._values, self._widths

    def var_lines(self) -> np.ndarray:
        """The line of each variable (column order)."""
        lines = lk.var_lines(self.ids, self.slots, self.slot_base, self.stride, self.col_start)
        if lines.size != self.ss.size:
            raise FormatError("log: inconsistent variables")
        return lines

    def render(self, select: np.ndarray | None = None, out: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(bytes, start of each line or -1) of the selected lines (all by default);
        ``out``: the array to write them into (at least raw_len + COPY_SLACK
        bytes: the slack after raw_len may be overwritten)."""
        every = select is None
        if every:
            select = np.ones(self.n_lines, np.bool_)
        if out is None:
            out = np.empty(self.raw_len + COPY_SLACK, np.uint8)
        elif out.size < self.raw_len + COPY_SLACK:
            raise ValueError("log: output array shorter than the block and its copy slack")
        starts = np.empty(self.n_lines, np.int64)
        # (the padded buffers' bytes run on past tbuf, sbuf and rbuf: their base arrays)
        n = lk.render(out, self.raw_len, self.ids, self.slots, self.tbuf.base, self.tstop, self.tmpl_s, self.tmpl_e,
                      self.slot_base, self.stride, self.col_start, self.sbuf.base, self.ss, self.se, self.num_start,
                      *self.numbers(), self.rbuf.base, self.rs, self.re, self.final_newline, select, starts)
        if n < 0 or (every and n != self.raw_len):
            raise FormatError(f"log: streams decode to {n if n >= 0 else 'an inconsistent'} block, "
                              f"expected {self.raw_len} bytes")
        return out[:n], starts

    def templates(self) -> list:
        """Template bytes by id (index 0, raw lines: None)."""
        return [None] + [self.tbuf[a:b].tobytes() for a, b in zip(self.tmpl_s[1:], self.tmpl_e[1:])]

    def variables(self) -> tuple[np.ndarray, np.ndarray]:
        """(texts each ended by a newline, start offsets (one extra at the end)), column order."""
        text, starts = lk.render_vars(self.sbuf, self.ss, self.se, self.num_start, *self.numbers())
        if starts.size != self.ss.size + 1:
            raise FormatError("log: inconsistent variables")
        return text, starts


_DECODE_ERRORS = {-1: "templates stream", -2: "template ids", -3: "variable count", -4: "skeletons stream",
                  -5: "numbers", -6: "raw lines", -7: "output size", -8: "messages"}


def _expanded(streams: list, params: bytes, raw_len: int, p: dict | None = None) -> list:
    """A block's streams with version 4's skeletons expanded by the kernel
    (:func:`log_refs.expand_refs`); those of versions 1-2 as they are. The
    stream count must match the params (``p``: already parsed). Version 5:
    the first six streams, the skeletons expanded when flag bit 1 is set
    (the messages stream is the caller's to read)."""
    if p is None:
        p = parse_params(params, raw_len)
    if len(streams) != stream_count(p):
        raise FormatError(f"log: expects {stream_count(p)} streams, got {len(streams)}")
    if p["messages"] and not p["refs"] and len(streams[REFS]):
        raise FormatError("log: a refs stream without flag bit 1")
    if not p["refs"]:
        return streams[:len(STREAM_NAMES)] if p["messages"] else streams
    refs = np.frombuffer(streams[REFS], np.uint8)
    if refs.size != p["n_vars"]:
        raise FormatError(f"log: {refs.size} refs for {p['n_vars']} variables")
    stored = np.frombuffer(streams[2], np.uint8)
    if stored.size and stored[-1] != lk.NEWLINE:
        raise FormatError("log: stored skeletons not ended by a newline")
    padded = np.zeros(stored.size + COPY_SLACK, np.uint8)
    padded[:stored.size] = stored
    cap = raw_len + p["n_vars"]
    skel = np.empty(cap + COPY_SLACK, np.uint8)
    n_new = int(np.count_nonzero(refs == 0))
    ends, n_ends = log_refs.item_ends(stored, lk.byte_bits(stored, lk.NEWLINE), n_new)
    if n_ends != n_new:
        raise FormatError(f"log: {n_ends} stored skeletons, the refs call for {n_new}")
    n = log_refs.expand_refs(padded, ends, refs, cap, skel)
    if n < 0:
        raise FormatError("log: inconsistent refs or stored skeletons")
    return list(streams[:2]) + [skel[:n]] + list(streams[3:6])


_NO_MESSAGES = readonly(np.zeros(0, np.uint8))
_NO_ENDS = readonly(np.zeros(0, np.int64))


def decode_whole(streams: list, params: bytes, raw_len: int, out: np.ndarray) -> None:
    """Every line of the block into out[:raw_len] (``out`` keeps COPY_SLACK
    bytes after that), in one kernel (:func:`log_kernels.decode_whole`): the
    decoder's path; :class:`LogBlock` serves searches (chosen lines, variables).
    Version 4's skeletons are expanded first (:func:`_expanded`); version
    6's messages are decoded first (:func:`decode_message_words`)."""
    streams, params = as_version5(streams, params, raw_len, decode_message_words)
    p = parse_params(params, raw_len)
    messages = streams[MESSAGES] if p["messages"] and len(streams) > MESSAGES else b""
    streams = _expanded(streams, params, raw_len, p)
    if out.size < raw_len + COPY_SLACK:
        raise ValueError("log: output array shorter than the block and its copy slack")
    ids = decode_ints(streams[1], p["n_lines"])
    if ids.size != p["n_lines"]:
        raise FormatError(f"log: {ids.size} template ids for {p['n_lines']} lines")
    res = decode_ints(streams[3], p["n_numbers"])
    if res.size != p["n_numbers"]:
        raise FormatError(f"log: {res.size} numbers, params say {p['n_numbers']}")
    sbuf = readonly(np.frombuffer(streams[2], np.uint8))
    mbuf, mends = _NO_MESSAGES, _NO_ENDS
    if p["messages"]:
        mbuf = readonly(np.frombuffer(messages, np.uint8))
        mends = np.flatnonzero(mbuf == lk.NEWLINE)
        if mends.size != p["n_messages"] or (mbuf.size and mbuf[-1] != lk.NEWLINE):
            raise FormatError(f"log: messages stream does not hold {p['n_messages']} newline-ended items")
    tbuf = readonly(np.frombuffer(streams[0], np.uint8))
    t_ph_bits, n_ph = lk.byte_bits_counted(tbuf, lk.PLACEHOLDER)
    n = lk.decode_whole(out, raw_len, tbuf, p["n_templates"], p["n_common"],
                        ids, sbuf, lk.byte_bits(sbuf, lk.NEWLINE), lk.byte_bits(sbuf, lk.NUMBER), p["n_vars"], res,
                        readonly(np.frombuffer(streams[4], np.uint8)), readonly(np.frombuffer(streams[5], np.uint8)),
                        p["n_raw"], p["final_newline"], mbuf, mends, p["messages"],
                        lk.byte_bits(tbuf, lk.NEWLINE), t_ph_bits, n_ph)
    if n < 0:
        raise FormatError(f"log: inconsistent {_DECODE_ERRORS.get(n, 'streams')}")
    if n != raw_len:
        raise FormatError(f"log: streams decode to {n} bytes, expected {raw_len}")


def decode_message_words(dict_stream, words_stream, message_bytes: int) -> bytes:
    """Version 6's messages: the L1 word transform's streams decoded (its
    Numba decoder, which raises FormatError unless they give exactly
    ``message_bytes`` bytes)."""
    from .l1_semantic import WordCoder  # (here: a run that meets no version-6 block loads no l1 kernels)
    return WordCoder.from_bytes(dict_stream).decode(words_stream, message_bytes)


#: version 6 (the messages L1 word coded) is kept only where its two streams
#: code smaller than the messages stream of version 5 under brotli at this
#: quality (the one the planner codes log streams with at level 3): on gdb's
#: check.log the word code makes the messages 13% smaller, on the IRC log 5%,
#: on small syslog-style blocks about nothing either way
MESSAGE_WORDS_TRIAL_QUALITY = 6
#: version 6 is tried from this level up (messages are cut from
#: MESSAGES_MIN_LEVEL); the tests of version 5 set it higher. Not at level 3:
#: there it made check.log 8.8% and the IRC log 4.2% smaller (19 logs geo
#: +0.7%) but cost 16-19% of their compress CPU, 20% of check.log's decode, and
#: cobol grep of a rare string fell from 4.2-4.4x to 3.4x faster than
#: `-dc | grep` (every message of a candidate block is decoded), against the
#: 5x issue 14 asks: the default level keeps version 5 until grep decodes
#: only the candidate messages
MESSAGE_WORDS_MIN_LEVEL = 6


def _word_coded_messages(model: LogModel, ctx: EncodeContext) -> None:
    """Version 6 for a model with messages where the word code makes them
    smaller (MESSAGE_WORDS_TRIAL_QUALITY): model.message_words set."""
    from .l1_semantic import WordCoder
    coder, (coded,) = WordCoder.train_encode(model.messages, check_keys=not ctx.verified)
    if not coder.count:
        return
    words = (coder.to_bytes(), coded)
    q = MESSAGE_WORDS_TRIAL_QUALITY
    if sum(len(brotli_encode(s, q)) for s in words) < len(brotli_encode(model.messages, q)):
        model.message_words = words


def decode_block(streams: list, params: bytes, raw_len: int) -> bytes:
    """Inverse of :class:`LogModel` (streams after entropy decoding)."""
    out = np.empty(raw_len + COPY_SLACK, np.uint8)
    decode_whole(streams, params, raw_len, out)
    return out[:raw_len].tobytes()


#: at levels 3..5 the streams are coded at zstd -6: they are a fraction of the
#: block, so it costs little time (zstd -6 runs at 100-180 MB/s of block
#: bytes on them against ~35 MB/s for the transform) and gains 11-16% (dev and
#: OpenJDK test logs, against zstd -3 on the same streams)
MIN_STREAM_LEVEL = 6

#: at levels STREAM_PPMD_MIN_LEVEL..18 the streams are also tried with PPMd at
#: these orders (levels 19+ try their own, entropy.PPMD_ORDERS_BY_LEVEL) and keep it where it is
#: entropy.PPMD_MIN_GAIN smaller: the skeletons (variable texts: paths, names,
#: hosts) came out 15-27% smaller than zstd -6 at order 6 on unseen OpenJDK and
#: apt logs (order 8: 1-2% smaller again, 35% slower; 4: 10-20% larger), while
#: numbers-only columns stay with zstd (dpkg.log's skeletons: zstd smaller).
#: The cost: PPMd codes and decodes such a stream at ~10-13 MB/s, against
#: zstd's hundreds, and cobol grep must decode it (with Numba) before it can
#: rule a block out; so only blocks up to STREAM_PPMD_MAX_BLOCK get it, where
#: that costs at most ~0.1 s per block: big logs keep decoding at 80-300 MB/s
#: and cobol grep keeps its Numba-free path over them. Not at the default
#: level: there it made dev logs decode at 21 MB/s instead of 112 and compress
#: ~10x slower for 8-14% of ratio, which puts level 3 where brotli -11 is
#: (slow both ways) instead of on the fast side of the plane.
STREAM_PPMD_ORDERS = (6,)
STREAM_PPMD_MIN_LEVEL = 10
STREAM_PPMD_MAX_BLOCK = 1 << 20


def _variable_bytes(model: LogModel, numbers: int | None = None) -> int:
    """zstd -3 size of the streams the variable layout changes; ``numbers``:
    that size of its numbers and widths streams when already known (a model
    and its move-to-front coded copy share them, :func:`_smallest`)."""
    z = thread_compressor(3)
    streams = model.variable_streams()
    if numbers is None:
        return sum(len(z.compress(st)) for st in streams)
    return sum(len(z.compress(st)) for st in streams[:-2]) + numbers


def _numbers_bytes(model: LogModel) -> int:
    """zstd -3 size of the model's numbers and widths streams (the last two of
    LogModel.variable_streams, the same with refs or without)."""
    z = thread_compressor(3)
    return sum(len(z.compress(st)) for st in model.variable_streams()[-2:])


#: the skeletons are move-to-front coded (params version 4) only when that
#: makes the variable streams at least this share smaller in the trial
#: (zstd -3). Two reasons: the refs cost the decoder a pass over the
#: skeletons (~0.3 ms for 20,000 variables, 280 KB), which made the OpenJDK
#: test logs decode 12-16% slower for 0.8-1.4% fewer bytes (check-langtools
#: 304 -> 262 MB/s), while dpkg.log (-17% bytes) decodes 14% faster and gdb's
#: check.log (-1.3%, before REFS_MAX_BLOCK) as fast; and zstd -3 overrates them against brotli,
#: which codes these streams at level 3 (its repeats are cheaper): apt's
#: term.log and check-jaxp gained 1.7-2.1% in the trial and lost 0.9-2.1%
#: with brotli. Brotli quality 4 as the trial's coder ranked the candidates
#: as the final coder does, but cost 10-24% of the compression time of
#: jtreg_output and check-jdk.
MIN_REFS_GAIN = 0.03
#: blocks above this size are not tried with refs: ``cobol grep`` expands a
#: version-4 block's skeletons in Python (it loads no Numba) whenever a
#: string may be in it, ~0.2 us a variable: 70-80 ms for an 8 MiB block of
#: big.log's IRC lines (345,000 variables), which made a rare string's
#: search of its first 24 MiB 0.13 -> 0.37 s; up to 1 MiB it is at most
#: ~10 ms. (gdb's check.log, one 4 MiB block, gave up 1.3% for it.)
REFS_MAX_BLOCK = 1 << 20


def _smallest(models: list, refs: bool = True) -> LogModel:
    """The model whose variable streams code smallest, each model tried with
    its skeletons as they are and, when ``refs``, move-to-front coded
    (params version 4; kept only when MIN_REFS_GAIN smaller than the best
    without)."""
    if not refs:
        return min(((_variable_bytes(m), i, m) for i, m in enumerate(models)), key=lambda t: t[:2])[2]
    # (the numbers and widths streams are coded once per model: its copy with refs shares them)
    numbers = [_numbers_bytes(m) for m in models]
    plain = [(_variable_bytes(m, numbers[i]), i, m) for i, m in enumerate(models)]
    coded = []
    for i, model in enumerate(models):
        c = LogModel.__new__(LogModel)
        c.__dict__.update(model.__dict__)
        c.refs = None
        c.with_refs()
        coded.append((_variable_bytes(c, numbers[i]), i, c))
    best_plain, best_coded = min(plain, key=lambda t: t[:2]), min(coded, key=lambda t: t[:2])
    return best_coded[2] if best_coded[0] < best_plain[0] * (1 - MIN_REFS_GAIN) else best_plain[2]


#: blocks up to this size try both variable layouts whole (the winner's model is
#: kept); larger ones try them on LAYOUT_SAMPLE_SLICES runs of lines spread over
#: the block, LAYOUT_SAMPLE bytes in all (about: the runs are cut by line counts),
#: taken from the block's own scan, and model the block once, in the layout chosen
LAYOUT_TRIAL_MAX = 256 << 10
LAYOUT_SAMPLE = 128 << 10
LAYOUT_SAMPLE_SLICES = 4


def _sample_lines(n_lines: int, fraction: float) -> np.ndarray:
    """A boolean per line: LAYOUT_SAMPLE_SLICES runs of consecutive lines,
    ``fraction`` of the lines in all, evenly spaced (the first at line 0)."""
    keep = np.zeros(n_lines, np.bool_)
    run = max(1, int(n_lines * fraction / LAYOUT_SAMPLE_SLICES))
    for i in range(LAYOUT_SAMPLE_SLICES):
        start = i * (n_lines - run) // max(1, LAYOUT_SAMPLE_SLICES - 1)
        keep[start:start + run] = True
    return keep


def _sample_layout(data, scan: LogScan) -> tuple[bool, bool]:
    """(columns, refs): the variable layout that codes smallest on a sample of
    the block's lines (LAYOUT_SAMPLE): columns per template slot or all
    variables in line order (the same when no template is common enough for
    columns of its own, and then columns stay), each with the skeletons as
    they are or move-to-front coded."""
    sample = _LineSample(scan, _sample_lines(scan.n_lines, LAYOUT_SAMPLE / max(1, len(data))))
    cols = LogModel(data, scan=sample)
    models = [cols] if not cols.n_common else [cols, LogModel(data, columns=False, scan=sample)]
    best = _smallest(models, refs=len(data) <= REFS_MAX_BLOCK)
    return best.n_common > 0 or not cols.n_common, best.refs is not None


def _better_layout(data, scan: LogScan) -> LogModel:
    """Columns per template slot, or all variables in line order, whichever
    codes smaller (a trial on the block, or on a sample of its lines above
    LAYOUT_TRIAL_MAX). Columns win on long regular logs (dpkg.log: 2.0x against 1.64x
    zstd -3), line order on small or irregular ones (15-40 KB syslog-style
    files and apt's term.log: 2-9% smaller). Each layout is also tried with
    its skeletons move-to-front coded (:func:`_smallest`, MIN_REFS_GAIN).
    The sample keeps the trial's cost at a fraction of the block's encode;
    it runs before the block's model is built, so that the block is
    modelled once, in the chosen layout."""
    if len(data) <= LAYOUT_TRIAL_MAX:
        model = LogModel(data, scan=scan)
        if not model.n_common:
            return _smallest([model])
        return _smallest([model, LogModel(data, columns=False, scan=scan)])
    columns, refs = _sample_layout(data, scan)
    model = LogModel(data, columns=columns, scan=scan)
    return model.with_refs() if refs else model


#: params version 5, messages: a line whose template is used by fewer than
#: MIN_COLUMN_LINES lines (one of a kind: chat lines, test names with free
#: text) is cut after its first k space-separated fields into a *header*,
#: templated like any line and ended by TAIL, and a *message*, kept whole in
#: the messages stream, when at least SPLIT_MIN_RARE_SHARE of the block's
#: lines are such lines. k is the last of SPLIT_FIELDS (tried in order, up to
#: the first that fails) whose headers need at most SPLIT_MAX_TEMPLATE_SHARE
#: as many templates as there are cut lines, on the first SPLIT_SAMPLE bytes
#: of them (the headers must be regular: past the timestamp, nick or test
#: name the templates multiply).
#: Prose in a message stays one text for the coder instead of rare words
#: scattered over templates and the shared column: irclog2html (chat)
#: 117,981 -> ~108,000 bytes, gdb's check.log 134,207 -> ~126,600.
SPLIT_MIN_RARE_SHARE = 0.2
#: ... from this level up only (levels 1-2 stay as fast as they were). On
#: the 19 dev and unseen logs the cut makes two files 5.6-8.6% smaller (+0.8%
#: geo: gdb's check.log, irclog, where the log plan then beats l1) for ~7-10%
#: more level-3 compress CPU over the 19 files (irclog 21 -> 10 MB/s: the log
#: transform runs whole) and 5% faster decompression; `cobol grep` renders
#: only a cut block's candidate lines (blocksearch.search_message_block), so a
#: present rare string in check.log is found 4.3-4.5x faster than
#: decompress | grep, as before the cut (2.9x when the block was rendered
#: whole). Level 6 until branch log-ratio9.
MESSAGES_MIN_LEVEL = 3
SPLIT_FIELDS = (2, 3, 4, 5, 6)
SPLIT_MAX_TEMPLATE_SHARE = 0.05
SPLIT_SAMPLE = 64 << 10
#: fewer cut lines than this: no split (their messages would not pay for a stream)
SPLIT_MIN_LINES = 32


#: the scan of a block with its messages cut off (:func:`_cut_messages`) takes
#: the lines left whole from the block's own scan (template bytes, variables,
#: hashes; lk.scan_lines ``keep``) and tokenizes the cut lines' heads only,
#: with the block's token counts (the messages' tokens counted in): a token
#: is template text or a variable by its count in the whole block, as on the
#: lines left whole. A new count over the cut block (main before branch
#: log-speed11) made 3-5% of the words used in the heads variables (gdb's
#: check.log: 90 of 3,337, counted 10+ times in the block and fewer in the
#: heads) and cost a second pass over the block (token count and line scan:
#: 9.4 ms CPU on check.log's first 2 MB, ~61 ms in all; now ~3 ms, the cut
#: lines' heads). Sizes there -0.32%, irclog2html +0.015%.
CUT_REUSES_SCAN = True


def _uncut_lines(heads: np.ndarray, n_lines: int) -> np.ndarray:
    """A bool per line of a cut block (:func:`_cut_messages`): True for the
    lines left whole (those without TAIL, which ends a cut line's head; the
    block before the cut held none)."""
    whole = np.ones(n_lines, np.bool_)
    ends = np.flatnonzero(heads == lk.NEWLINE)
    whole[np.searchsorted(ends, np.flatnonzero(heads == TAIL))] = False
    return whole


def _cut_messages(data, scan: LogScan):
    """(the block with each cut line's message replaced by TAIL, as a
    uint8 array, the messages each ended by a newline, their count), or None when the block
    is not cut (see SPLIT_FIELDS). A block holding TAIL is never cut (the
    decoder reads a template's final TAIL as the message's place)."""
    buf = scan.buf
    n_lines = scan.n_lines
    if n_lines < SPLIT_MIN_LINES or not hasattr(scan, "counts"):
        return None
    per_template = np.zeros(scan.counts.size + 1, np.int64)
    per_template[1:] = scan.counts
    rare = (scan.line_tid > 0) & (per_template[scan.line_tid] < MIN_COLUMN_LINES)
    n_rare = int(np.count_nonzero(rare))
    if n_rare < max(SPLIT_MIN_LINES, SPLIT_MIN_RARE_SHARE * n_lines):
        return None
    if (bytes([TAIL]) in data) if isinstance(data, (bytes, bytearray)) else bool((buf == TAIL).any()):
        return None
    # k: on the heads of the first cut lines (SPLIT_SAMPLE bytes of them),
    # the fewest fields first: the heads' templates only multiply with k
    sample = np.empty(SPLIT_SAMPLE + (MAX_LINE + 1) + COPY_SLACK, np.uint8)
    no_messages = np.empty(0, np.uint8)
    k = 0
    for fields in SPLIT_FIELDS:
        size, _, n_cut = lk.cut_messages(buf, rare, fields, sample, no_messages, True, SPLIT_SAMPLE)
        if n_cut < SPLIT_MIN_LINES:
            break
        sample_scan = LogScan(sample[:size], templates=False, extra=scan.extra)
        if sample_scan.n_templates > SPLIT_MAX_TEMPLATE_SHARE * sample_scan.n_lines:
            break
        k = fields
    if not k:
        return None
    heads = np.empty(buf.size + n_rare + COPY_SLACK, np.uint8)
    messages = np.empty(buf.size + n_rare + COPY_SLACK, np.uint8)
    hp, mp, n_cut = lk.cut_messages(buf, rare, k, heads, messages, False, 0)
    return heads[:hp], messages[:mp].tobytes(), int(n_cut)


#: a "text" block is modelled only when its first TEXT_SAMPLE bytes need fewer
#: templates than this share of their lines: apt's term.log (no timestamps on
#: most lines, so detect says "text") needs 0.11, prose 0.56-0.73
TEXT_MAX_TEMPLATE_SHARE = 0.3
TEXT_SAMPLE = 64 << 10


def _text_sample(data) -> bytes:
    sample = bytes(data[:TEXT_SAMPLE])
    cut = sample.rfind(b"\n")
    return sample[:cut + 1] if cut > 0 else sample


def _templated(scan: LogScan) -> bool:
    return scan.n_templates <= TEXT_MAX_TEMPLATE_SHARE * scan.n_lines


#: the last text gate's answer: (sample, extra delimiters, templated). The
#: planner asks the gate of a text block over plan.SAMPLE_MIN_BLOCK
#: (:func:`looks_templated`) and the transform then asks it again of the same
#: sample when it runs on the whole block (LogTransform.encode): the second
#: scan of the 64 KiB sample (token counts and line scan, ~0.5-0.9 ms) is
#: skipped when the sample and its delimiters are the same bytes. Content,
#: not identity, is the key, so the answer is the one a scan would give.
_LAST_GATE = None


def _gate(sample: bytes, extra: bytes) -> bool:
    """:func:`_templated` of the sample scanned with ``extra`` (remembered: _LAST_GATE)."""
    global _LAST_GATE
    last = _LAST_GATE
    if last is not None and last[1] == extra and last[0] == sample:
        return last[2]
    templated = _templated(LogScan(sample, templates=False, extra=extra))
    _LAST_GATE = (sample, extra, templated)
    return templated


def looks_templated(data) -> bool:
    """Whether a text block repeats line templates like a log does (a sample is
    scanned, its templates counted but not gathered)."""
    sample = _text_sample(data)
    return _gate(sample, extra_delimiters(sample))


#: a JSON-lines block is modelled only when most sampled lines carry a log
#: field (a timestamp, level or message key): on JSON records that are data
#: (dev corpus jsonl) the json transform always won and the trial halved the
#: compression speed
_JSON_LOG_KEY = re.compile(rb'"(?:@?timestamp|time|ts|datetime|level|severity|lvl|msg|message)"\s*:', re.I)


def looks_like_json_log(data) -> bool:
    lines = bytes(data[:TEXT_SAMPLE]).split(b"\n")[:200]
    lines = [ln for ln in lines if ln.strip()]
    return bool(lines) and sum(1 for ln in lines if _JSON_LOG_KEY.search(ln)) >= 0.5 * len(lines)


@register_transform
class LogTransform(Transform):
    """Log lines: templates, template ids, variable skeletons, numbers, raw lines."""

    id = TRANSFORM_ID
    name = "log"
    #: JSON-lines logs too (the planner keeps whichever of json, log and raw is
    #: smallest), and text that turns out to be log-like (see encode)
    formats = ("log", "jsonl", "text")
    needs_layers = frozenset({"l2"})
    min_level = 1
    priority = 1
    #: the stream-table bound, shared with readers that do not import this module (cobol grep)
    max_streams = STREAM_BOUND.max_streams
    expansion = STREAM_BOUND.expansion

    def encode(self, data, ctx: EncodeContext) -> Encoded | None:
        if len(data) < 64:
            return None
        scan = None
        extra = extra_delimiters(data)
        if ctx.fmt == "text":
            sample = _text_sample(data)
            # the gate needs the template count only: most text blocks stop here
            if len(sample) < len(data):
                if not _gate(sample, extra):
                    return None
            else:
                sample_scan = LogScan(sample, templates=False, extra=extra, confirm=not ctx.verified)
                if not _templated(sample_scan):
                    return None
                sample_scan.finish_templates()
                scan = sample_scan  # the sample is the block
        if ctx.fmt == "jsonl" and not looks_like_json_log(data):
            return None
        prof = ctx.profiler
        started = prof.start() if prof is not None else None
        cuts = ctx.level >= MESSAGES_MIN_LEVEL
        scan = LogScan(data, extra=extra, confirm=not ctx.verified, keep=cuts and CUT_REUSES_SCAN) \
            if scan is None else scan
        if scan.n_raw == scan.n_lines:
            return None
        # a sample the planner only sizes up: columns (the layout of the larger
        # logs that reach the sample trial) without the layout trial; the
        # messages are cut off its lines as they would be off the block's
        lines = data
        cut = _cut_messages(data, scan) if cuts else None
        if cut is not None:
            lines, messages, n_messages = cut
            reuse = (scan, _uncut_lines(lines, scan.n_lines)) if scan.kept is not None else None
            scan = LogScan(lines, extra=scan.extra, tail=True, confirm=not ctx.verified, reuse=reuse)
        else:
            scan.kept = None  # (the model keeps its scan: not the line scan's arrays with it)
        model = LogModel(lines, scan=scan) if ctx.size_only else _better_layout(lines, scan)
        if cut is not None:
            model.messages, model.n_messages = messages, n_messages
            if ctx.level >= MESSAGE_WORDS_MIN_LEVEL:
                _word_coded_messages(model, ctx)
        if prof is not None:
            prof.record("l2", transform=self.name, started=started, bytes_in=len(data),
                        dict_size=model.n_templates, log_lines=model.n_lines, log_templates=model.n_templates,
                        log_variables=model.n_vars, log_text_variables=model.n_vars - model.n_split_vars,
                        log_numbers=int(model.residuals.size), log_raw_lines=model.n_raw,
                        log_columns=model.n_cols, log_split_columns=model.n_split_cols)
        return Encoded(params=model.params(), streams=model.streams(), stream_names=model.stream_names,
                       min_stream_level=MIN_STREAM_LEVEL if ctx.level >= 3 else None,
                       ppmd_orders=STREAM_PPMD_ORDERS if ctx.level >= STREAM_PPMD_MIN_LEVEL and len(data) <= STREAM_PPMD_MAX_BLOCK
                       else None)

    def decode_into(self, streams, params, raw_len, ctx: DecodeContext, out) -> None:
        decode_whole(streams, params, raw_len, out)

    def describe(self, params: bytes) -> str:
        try:
            p = parse_params(params, 1 << 62)
        except Exception:
            return self.name
        extra = p["delimiters"][len(DELIMITERS):].decode("ascii")
        return (f"log({p['n_lines']} lines, {p['n_templates']} templates, {p['n_vars']} variables, "
                f"{p['n_numbers']} numbers, {p['n_raw']} raw lines" + (f", tokens also cut at {extra}" if extra else "")
                + (", variables move-to-front coded" if p["refs"] else "")
                + (f", {p['n_messages']} messages cut off their lines" if p["messages"] else "")
                + (" and word coded" if p["words"] else "") + ")")
