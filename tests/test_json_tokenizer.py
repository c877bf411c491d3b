"""JSON tokenizer: tiling, token kinds, odd input, deep nesting."""

import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st

from cobol.layers import json_tokenizer as jt

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def kinds(data):
    return [jt.KIND_NAMES[k] for k in jt.tokenize(data).kinds]


def spans(data):
    tok = jt.tokenize(data)
    return [tok.span(i) for i in range(tok.count)]


def test_kinds_of_a_small_document():
    assert kinds(b'{"a" : [1, -2.5e3, "x", true, false, null]}') == [
        "{", "key", "ws", ":", "ws", "[", "number", ",", "ws", "number", ",", "ws", "string",
        ",", "ws", "true", ",", "ws", "false", ",", "ws", "null", "]", "}"]


def test_strings_with_escapes_and_unicode():
    data = '["a\\"b", "c\\\\", "\\u00e9\\ud800", "é"]'.encode()
    assert spans(data)[1:] == [b'"a\\"b"', b",", b" ", b'"c\\\\"', b",", b" ",
                               b'"\\u00e9\\ud800"', b",", b" ", '"é"'.encode(), b"]"]


def test_unterminated_string_is_a_lone_quote_residue():
    assert spans(b'"abc\n1') == [b'"', b"abc", b"\n", b"1"]
    assert kinds(b'"abc\n1') == ["residue", "residue", "ws", "number"]
    assert kinds(b'"abc\\') == ["residue", "residue"]
    assert kinds(b'"ab\\\n"') == ["residue", "residue", "ws", "residue"]


def test_residue_words_and_literals():
    assert kinds(b"NaN truex nul -Infinity 1.2.3 +1 \xef\xbb\xbf") == [
        "residue", "ws", "residue", "ws", "residue", "ws", "residue", "ws", "number", "ws",
        "residue", "ws", "residue"]


def test_key_needs_a_following_colon():
    assert kinds(b'{"a"\n :1,"b" 2}') == ["{", "key", "ws", ":", "number", ",", "string", "ws",
                                        "number", "}"]


def test_depths_and_unmatched_closers():
    tok = jt.tokenize(b"}]{[1]}")
    assert tok.depths.tolist() == [0, 0, 0, 1, 2, 1, 0]


def test_million_nested_brackets():
    n = 1_000_000
    data = b"[" * n + b"]" * n
    tok = jt.tokenize(data)
    assert tok.count == 2 * n
    assert int(tok.depths.max()) == n - 1


def test_empty():
    tok = jt.tokenize(b"")
    assert tok.count == 0 and tok.starts.tolist() == [0]


@SETTINGS
@given(st.binary(max_size=3000))
def test_tokens_tile_any_bytes(data):
    tok = jt.tokenize(data)
    s = tok.starts
    assert s[0] == 0 and s[-1] == len(data)
    assert (np.diff(s) > 0).all()
    assert b"".join(tok.span(i) for i in range(tok.count)) == data


def _tokens_by_rules(data: bytes):
    """(kinds, starts, depths) by the module docstring's rules, a byte at a time."""
    ws, struct = b" \t\r\n", b"{}[]:,"
    kinds_, starts, depths = [], [], []
    i, depth, n = 0, 0, len(data)
    while i < n:
        b = data[i]
        starts.append(i)
        if b in ws:
            j = i + 1
            while j < n and data[j] in ws:
                j += 1
            kinds_.append(jt.WS)
            depths.append(depth)
            i = j
        elif b in struct:
            k = jt.STRUCT_KIND[b]
            if k in (jt.OBJ_CLOSE, jt.ARR_CLOSE) and depth > 0:
                depth -= 1
            depths.append(depth)
            if k in (jt.OBJ_OPEN, jt.ARR_OPEN):
                depth += 1
            kinds_.append(k)
            i += 1
        elif b == 34:
            j, end = i + 1, None
            while j < n:
                if data[j] == 34:
                    end = j + 1
                    break
                if data[j] == 10 or (data[j] == 92 and (j + 1 >= n or data[j + 1] == 10)):
                    break
                j += 2 if data[j] == 92 else 1
            depths.append(depth)
            if end is None:
                kinds_.append(jt.RESIDUE)
                i += 1
            else:
                rest = data[end:].lstrip(ws)
                kinds_.append(jt.KEY if rest[:1] == b":" else jt.STRING)
                i = end
        else:
            j = i + 1
            while j < n and data[j] not in ws and data[j] not in struct and data[j] != 34:
                j += 1
            word = data[i:j]
            if word[:1] in (b"-", *[bytes([c]) for c in b"0123456789"]) and all(c in b"0123456789.eE+-" for c in word):
                kinds_.append(jt.NUMBER)
            else:
                kinds_.append({b"true": jt.TRUE, b"false": jt.FALSE, b"null": jt.NULL}.get(word, jt.RESIDUE))
            depths.append(depth)
            i = j
    return kinds_, starts + [n], depths


@SETTINGS
@given(st.lists(st.sampled_from([b'"', b"\\", b"\n", b" ", b":", b"{", b"}", b"[", b",", b"a", b"7", b"-", b".",
                                 b"true", b"abcdefghij", b"0123456789", b"\xc3\xa9", b"\\\"", b"\\\n"]),
                max_size=200))
def test_kinds_match_the_rules_at_every_alignment(parts):
    """Strings, escapes, line feeds and words at every offset of the 8-byte
    string scan (and at the end of the input) tokenize as the rules say."""
    data = b"".join(parts)
    for cut in range(0, min(len(data), 9) + 1):
        piece = data[cut:]
        tok = jt.tokenize(piece)
        want = _tokens_by_rules(piece)
        assert (tok.kinds.tolist(), tok.starts.tolist(), tok.depths.tolist()) == want
        assert tok.max_depth == max(want[2], default=0)
