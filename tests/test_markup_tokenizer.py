"""Markup tokenizer: the tiling is exact, every construct gets its kind, and
broken markup stays text."""

import numpy as np
from hypothesis import given, settings, strategies as st

from cobol.layers import markup_tokenizer as mt
from cobol.layers.markup_tokenizer import KIND_NAMES, tokenize


def kinds(data, html=False):
    tok = tokenize(data, html)
    return [(KIND_NAMES[k], tok.span(t)) for t, k in enumerate(tok.kinds)]


def check_tiling(data, html):
    tok = tokenize(data, html)
    assert tok.starts[0] == 0 and tok.starts[-1] == len(data)
    assert np.all(np.diff(tok.starts) > 0)
    assert b"".join(tok.span(t) for t in range(tok.count)) == data
    for t, k in enumerate(tok.kinds):
        span = tok.span(t)
        if k == mt.NUL:
            assert set(span) == {0}
        else:
            assert 0 not in span
        if k == mt.TEXT and t > 0:
            assert tok.kinds[t - 1] != mt.TEXT  # adjacent text merges
    return tok


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.booleans())
def test_random_bytes_tile_exactly(data, html):
    check_tiling(data, html)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([b"<", b">", b"/", b"a", b"=", b'"', b"'", b"!--", b"-->", b"<?", b"?>",
                                 b"<!", b"[", b"]", b"\x00", b" ", b"\n", b"script", b"</", b"CDATA"]),
                max_size=60), st.booleans())
def test_markup_soup_tiles_exactly(parts, html):
    check_tiling(b"".join(parts), html)


def test_tags_and_attributes():
    data = b"<a x=\"1\" y='2' z=3 w>t</a ><b/><c  k = \"v\" />"
    tok = check_tiling(data, False)
    assert kinds(data) == [("start", b"<a x=\"1\" y='2' z=3 w>"), ("text", b"t"), ("end", b"</a >"),
                           ("start", b"<b/>"), ("start", b'<c  k = "v" />')]
    assert tok.attrs(0) == [(b"x", b"1"), (b"y", b"2"), (b"z", b"3"), (b"w", None)]
    assert tok.name(0) == b"a" and tok.name(2) == b"a"
    assert tok.attrs(4) == [(b"k", b"v")]


def test_comment_cdata_pi_doctype_with_internal_subset():
    data = (b'<?xml version="1.0" encoding="ISO-8859-1"?>\n'
            b'<!DOCTYPE r [\n<!ENTITY e "a>b">\n<!-- ] > -->\n<!ELEMENT r (#PCDATA)>\n]>\n'
            b"<r>&e;&#65;<![CDATA[<not a tag>]]><!-- c --></r>")
    got = kinds(data)
    assert [k for k, _ in got] == ["pi", "text", "decl", "text", "start", "text", "cdata", "comment", "end"]
    assert got[2][1].endswith(b"]>") and got[5][1] == b"&e;&#65;"


def test_broken_markup_is_text():
    assert kinds(b"a < b and c<d") == [("text", b"a < b and c<d")]
    for data in (b"1 < 2", b"<a href='x", b"<!-- open", b"<![CDATA[ x", b"</a", b"<", b"<>", b"< a>"):
        tok = check_tiling(data, False)
        assert list(tok.kinds) == [mt.TEXT], data
    # HTML's lenient attribute syntax: y</a is attribute "y<", a stray "/", attribute "a"
    assert [k for k, _ in kinds(b"x<a b='1'y</a>")] == ["text", "start"]


def test_nul_bytes_split_tokens():
    data = b"<a>x\x00\x00y</a><b c='\x00'>"
    got = kinds(data)
    assert ("nul", b"\x00\x00") in got
    assert all(0 not in s for k, s in got if k != "nul")


def test_html_raw_text_elements_case_insensitive():
    for name in (b"script", b"style", b"textarea", b"title", b"xmp", b"iframe", b"noembed", b"noframes"):
        upper = name.upper()
        data = b"<" + upper + b" a=1>if (a<b && c>d) { x = '</p>' }</" + name + b"><p>"
        got = kinds(data, html=True)
        assert got == [("start", b"<" + upper + b" a=1>"), ("text", b"if (a<b && c>d) { x = '</p>' }"),
                       ("end", b"</" + name + b">"), ("start", b"<p>")], name
        # XML has no raw text
        assert [k for k, _ in kinds(data)][:3] == ["start", "text", "start"]
    assert kinds(b"<plaintext>a</plaintext><b>", html=True)[1] == ("text", b"a</plaintext><b>")
    # no end tag: the rest is text
    assert [k for k, _ in kinds(b"<script>a<b>", html=True)] == ["start", "text"]


def test_hostile_unterminated_markup_is_linear():
    # each '<' starts an attempt that would scan to the end; the budget keeps it linear
    for unit in (b'<a "', b"<!--", b"<![CDATA[", b"<?", b"<a b='", b"<!DOCTYPE [", b"</a"):
        data = unit * 100_000
        check_tiling(data, False)
        check_tiling(data, True)


def test_large_attribute_values():
    data = b'<path d="' + b"m 1,2 l 3,4 " * 20000 + b'"/>'
    tok = check_tiling(data, False)
    assert list(tok.kinds) == [mt.START] and len(tok.attrs(0)[0][1]) == 240000
