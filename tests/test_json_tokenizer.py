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
