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


def _reference_scan(data: bytes, extra: bytes):
    """Plain-Python tokenizer of the log transform's rules (docs/transforms/log.md,
    "The model"): per line None (raw) or (template bytes, variable spans)."""
    from cobol.layers import l2_log
    from cobol.layers.log_format import block_delimiters

    delims = set(block_delimiters(extra))
    lines = data.split(b"\n")
    if data.endswith(b"\n"):
        lines.pop()

    def tokens(line):
        i = 0
        while i < len(line):
            if line[i] in delims:
                yield i, i + 1, True
                i += 1
                continue
            j = i
            while j < len(line) and line[j] not in delims:
                j += 1
            yield i, j, False
            i = j

    counts = {}
    for line in lines:
        for a, b, is_delim in tokens(line):
            tok = line[a:b]
            if not is_delim and not any(48 <= c <= 57 for c in tok):
                counts[tok] = counts.get(tok, 0) + 1
    min_static = min(l2_log.MAX_MIN_STATIC, max(1, len(lines) // l2_log.LINES_PER_STATIC_USE))
    out, pos = [], 0
    for line in lines:
        start = pos
        pos += len(line) + 1
        if len(line) > l2_log.MAX_LINE or 0x11 in line or 0x12 in line:
            out.append(None)
            continue
        tmpl, spans = bytearray(), []
        for a, b, is_delim in tokens(line):
            tok = line[a:b]
            if is_delim:
                tmpl += tok
            elif any(48 <= c <= 57 for c in tok) or (min_static > 1 and counts[tok] < min_static):
                tmpl.append(0x11)
                spans.append((start + a, start + b))
            else:
                tmpl += tok
        out.append((bytes(tmpl), spans))
    return out


def _random_log(rng, n_lines: int) -> bytes:
    words = [b"INFO", b"WARN", b"job", b"done", b"user", b"/usr/lib/x", b"a.b.C", b"id=7", b"x\x11y", b"\x12",
             b"\r", b"\x00", b"\xff\xfe", b"[main]", b"(1,2)", b"k=v;", b"'q'", b"|", b"\t", b"2026-12-06T10:00:01Z",
             b"0xdeadbeef", b"-12.5e3", b"192.168.0.1", b"00017", b"9" * 25, b"rare%d", b"word%s"]
    lines = []
    for i in range(n_lines):
        parts = []
        for _ in range(int(rng.integers(0, 9))):
            w = words[int(rng.integers(len(words)))]
            if b"%d" in w:
                w = w % int(rng.integers(1000))
            elif b"%s" in w:  # a word without digits, rare or not: counted (MAX_MIN_STATIC)
                w = w % bytes(97 + int(c) for c in rng.integers(0, 3, int(rng.integers(1, 4))))
            parts.append(w)
        lines.append(b" ".join(parts))
    return b"\n".join(lines) + (b"\n" if rng.integers(2) else b"")


@pytest.mark.parametrize("seed", range(12))
def test_line_scan_matches_a_plain_tokenizer(seed):
    from cobol.layers import l2_log

    rng = np.random.default_rng(seed)
    data = _random_log(rng, int(rng.integers(1, 1500)))
    for extra in (b"", b"/", b"./"):
        scan = l2_log.LogScan(data, templates=False, extra=extra)
        tmpl, line_ts, line_te, line_raw, _ = scan._scan
        want = _reference_scan(data, extra)
        assert scan.n_lines == len(want)
        var_spans = list(zip(scan.var_s.tolist(), scan.var_e.tolist()))
        var_lines = scan.var_line.tolist()
        got_spans = {}
        for v, li in enumerate(var_lines):
            got_spans.setdefault(li, []).append(var_spans[v])
        for li, w in enumerate(want):
            if w is None:
                assert line_raw[li], li
                assert li not in got_spans
                continue
            assert not line_raw[li], li
            assert tmpl[line_ts[li]:line_te[li]].tobytes() == w[0], li
            assert got_spans.get(li, []) == w[1], li


@pytest.mark.parametrize("n,distinct", [(0, 1), (1, 1), (7, 3), (1000, 1), (5000, 40), (20000, 20000)])
def test_unique_hashes_matches_np_unique(n, distinct):
    from cobol.layers.primitives import unique_hashes
    rng = np.random.default_rng(n + distinct)
    pool = rng.integers(0, 2 ** 63, distinct, dtype=np.int64).astype(np.uint64)
    pool[0] = 0  # zero is a value like any other
    if distinct > 2:
        pool[1] = np.uint64(2 ** 64 - 1)
    h = pool[rng.integers(0, distinct, n)]
    inverse, first, counts = unique_hashes(h)
    _, u_first, u_inverse, u_counts = np.unique(h, return_index=True, return_inverse=True, return_counts=True)
    by_use = np.argsort(u_first)  # np.unique's numbering (by value) put in first-use order
    assert first.tolist() == u_first[by_use].tolist()
    assert counts.tolist() == u_counts[by_use].tolist()
    renumber = np.empty(by_use.size, np.int64)
    renumber[by_use] = np.arange(by_use.size)
    assert inverse.tolist() == renumber[u_inverse.ravel()].tolist()
    assert (h[first[inverse]] == h).all()


@pytest.mark.parametrize("seed", range(8))
def test_index_templates_matches_a_byte_loop(seed):
    """log_kernels._index_templates (set bits of 64-byte words, then the tail)
    finds the templates and placeholders a plain walk over the bytes finds,
    across word boundaries, and reports too many newlines or placeholders."""
    rng = np.random.default_rng(seed)
    n_t = int(rng.integers(0, 40))
    parts = []
    for _ in range(n_t):
        body = rng.choice(np.frombuffer(b"ab c\x11\x11xyz/", np.uint8), int(rng.integers(0, 90)))
        parts.append(bytes(body) + b"\n")
    tbuf = np.frombuffer(b"".join(parts), np.uint8)
    want_s, want_e, want_ph, want_first = [], [], [], []
    a = 0
    for i, c in enumerate(tbuf.tolist()):
        if c == lk.PLACEHOLDER:
            want_ph.append(i)
        elif c == lk.NEWLINE:
            want_s.append(a)
            want_e.append(i)
            a = i + 1
            want_first.append(len(want_ph))
    ph_bits, n_ph = lk.byte_bits_counted(tbuf, lk.PLACEHOLDER)
    assert n_ph == len(want_ph)
    tmpl_s, tmpl_e, ph_first = (np.zeros(n_t + 1, np.int64) for _ in range(3))
    ph_pos = np.empty(n_ph + 1, np.int64)
    t, ph = lk._index_templates(tbuf, lk.byte_bits(tbuf, lk.NEWLINE), ph_bits, n_t, tmpl_s, tmpl_e, ph_first, ph_pos)
    assert (t, ph) == (n_t + 1, n_ph)
    assert tmpl_s[1:].tolist() == want_s and tmpl_e[1:].tolist() == want_e
    assert ph_pos[:n_ph].tolist() == want_ph
    assert ph_first[2:].tolist() == want_first[:-1]
    if n_t:
        # one template fewer than the newlines, or a placeholder more than counted: found out
        t, _ = lk._index_templates(tbuf, lk.byte_bits(tbuf, lk.NEWLINE), ph_bits, n_t - 1, tmpl_s, tmpl_e,
                                   ph_first, ph_pos)
        assert t > n_t
    if n_ph:
        _, ph = lk._index_templates(tbuf, lk.byte_bits(tbuf, lk.NEWLINE), ph_bits, n_t, tmpl_s, tmpl_e,
                                    ph_first, np.empty(n_ph, np.int64))
        assert ph > n_ph - 1


def test_span_hash_sees_every_byte_and_the_length():
    """log_kernels._span_hash (8-byte words, then the rest): equal spans hash
    equal wherever they sit; changing any one byte, or the length, changes it."""
    from numba import njit

    @njit
    def span_hash(buf, i, j):
        return lk._span_hash(buf, i, j)

    rng = np.random.default_rng(5)
    for n in range(0, 41):
        span = rng.integers(0, 256, n).astype(np.uint8)
        buf = np.concatenate([rng.integers(0, 256, 3).astype(np.uint8), span, span])
        h = span_hash(buf, 3, 3 + n)
        assert h == span_hash(buf, 3 + n, 3 + 2 * n)
        if n:
            assert h != span_hash(buf, 3, 2 + n)
        for k in range(n):
            changed = buf.copy()
            changed[3 + k] ^= 1
            assert span_hash(changed, 3, 3 + n) != h, (n, k)


def _fresh_scan_arrays(data, extra: bytes, tok_keys, tok_counts, min_static, tail: bool):
    """lk.scan_lines of ``data`` from scratch with the given token counts: the arrays a reuse must match."""
    from cobol.layers import l2_log
    buf = np.frombuffer(data, np.uint8)
    n_lines = lk.count_lines(buf)
    cap = buf.size // 2 + 1
    out = (np.empty(buf.size, np.uint8), np.empty(n_lines, np.int64), np.empty(n_lines, np.int64),
           np.empty(n_lines, np.bool_), np.empty(n_lines, np.uint64),
           np.empty(cap, np.int64), np.empty(cap, np.int64), np.empty(cap, np.int64))
    nl, nv, tp = lk.scan_lines(buf, l2_log._byte_classes(extra, tail), l2_log.MAX_LINE, n_lines, *out,
                               tok_keys, tok_counts, min_static, *l2_log._NO_REUSE)
    tmpl, ts, te, raw, h, vs, ve, vl = out
    return tmpl[:tp], ts, te, raw, h, vs[:nv], ve[:nv], vl[:nv]


@pytest.mark.parametrize("n", [150, 1500])  # under and over the line count where token counts start to matter
@pytest.mark.parametrize("final_newline", [True, False])
def test_scan_of_a_cut_block_reuses_the_whole_lines_as_a_fresh_scan_would(n, final_newline):
    """The cut block's scan (l2_log.CUT_REUSES_SCAN) copies the lines left
    whole from the block's scan: the same arrays as tokenizing the cut block
    again with the block's token counts."""
    from test_log_messages import _chat
    from cobol.layers import l2_log

    chat = _chat(3, n).split(b"\n")[:-1]
    # every third line a regular one (left whole), the rest chat (cut)
    lines = [b"[%02d:%02d] *** nick%d has joined #chan (host%d.example.org)" % (i // 60 % 24, i % 60, i % 3, i % 7)
             if i % 3 == 0 else line for i, line in enumerate(chat)]
    data = b"\n".join(lines) + (b"\n" if final_newline else b"")
    whole = l2_log.LogScan(data, keep=True)
    heads, messages, n_messages = l2_log._cut_messages(data, whole)
    assert 0 < n_messages < whole.n_lines
    uncut = l2_log._uncut_lines(heads, whole.n_lines)
    assert 0 < int(uncut.sum()) < whole.n_lines
    reused = l2_log.LogScan(heads, extra=whole.extra, tail=True, templates=False, reuse=(whole, uncut))
    tok_keys, tok_counts, min_static = whole.kept[7], whole.kept[8], whole.kept[9]
    want = _fresh_scan_arrays(heads, whole.extra, tok_keys, tok_counts, min_static, True)
    tmpl, ts, te, raw, h = reused._scan
    n_tmpl = int(te[-1]) if te.size else 0
    got = (tmpl[:n_tmpl], ts, te, raw, h, reused.var_s, reused.var_e, reused.var_line)
    for a, b in zip(got, want):
        assert a.shape == b.shape and (a == b).all()


def test_cut_blocks_round_trip_through_the_reused_scan(monkeypatch):
    from test_log_messages import _chat
    import cobol
    from cobol.layers import l2_log
    from cobol.registry import EncodeContext

    for seed, n in ((1, 400), (2, 2500), (5, 90)):
        data = _chat(seed, n, final_newline=seed != 2)
        enc = l2_log.LogTransform().encode(data, EncodeContext(fmt="log", level=3))
        assert l2_log.decode_block([bytes(s) for s in enc.streams], enc.params, len(data)) == data
        assert cobol.decompress(cobol.compress(data, level=3)) == data
    # a scan that kept nothing (or another line count) tokenizes the cut block afresh
    data = _chat(4, 600)
    whole = l2_log.LogScan(data)
    assert whole.kept is None
    heads, _, _ = l2_log._cut_messages(data, whole)
    fresh = l2_log.LogScan(heads, extra=whole.extra, tail=True, reuse=None)
    assert fresh.n_lines == whole.n_lines


@pytest.mark.parametrize("n", [40, 3000])
def test_unconfirmed_templates_group_the_lines_as_confirmed_ones(n):
    """LogScan(confirm=False) (the planner's verified runs) skips the byte
    comparison of each line with its template's first line: without a hash
    collision the same template ids and streams."""
    from cobol.layers import l2_log

    data = _templated_text(n) + b"raw \x11 line\n" + _templated_text(5)
    a, b = l2_log.LogScan(data), l2_log.LogScan(data, confirm=False)
    assert (a.line_tid == b.line_tid).all()
    assert a.templates_stream.tobytes() == b.templates_stream.tobytes()
