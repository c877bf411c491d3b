"""The fuzz targets: one decoder each, with the valid inputs it is fuzzed from.

An input is (label, streams, params, raw_len, payload): what the target's
decoder takes.
"""

from __future__ import annotations

import io
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from .common import MiB
from .inputs import _rng_np, _sample_files, _syn_csv, _syn_ints, _syn_json, _syn_markup, _syn_numeric, _syn_text


@dataclass
class Input:
    label: str
    streams: list
    params: bytes
    raw_len: int
    data: bytes = b""
    extra: dict = field(default_factory=dict)


@dataclass
class Target:
    name: str
    decode: object  # (streams, params, raw_len) -> object
    make_inputs: object  # (sample_limit) -> list[Input]
    frame: bool = False  # mutations act on one frame (streams[0]) with frame-aware moves
    note: str = ""
    #: (split, join): a second view of the input that mutations may act on, e.g.
    #: the CSV meta stream opened into its params and logical streams, so that
    #: a mutation is not just a broken length prefix
    view: tuple | None = None


def _transform_target(name: str, fmt_inputs):
    def make(sample_limit):
        from cobol.registry import EncodeContext, transform_by_name
        t = transform_by_name(name)
        out = []
        for label, data, ctx_kw in fmt_inputs(sample_limit):
            for level in ctx_kw.pop("levels", (3,)):
                enc = t.encode(data, EncodeContext(level=level, **ctx_kw))
                if enc is None:
                    continue
                out.append(Input(f"{label}@{level}", [bytes(s) for s in enc.streams], bytes(enc.params), len(data), data))
        return out

    def decode(streams, params, raw_len):
        from cobol.registry import DecodeContext, transform_by_name
        return transform_by_name(name).decode(streams, params, raw_len, DecodeContext())

    return Target(name, decode, make)


def _csv_split(streams, params):
    """The csv meta stream -> (logical streams, column params); None if it does not parse."""
    from cobol.format.wire import Reader
    r = Reader(streams[0])
    plen = r.varint()
    cparams = r.take(plen)
    lens = [r.varint() for _ in range(r.varint())]
    logical, big = [], list(streams[1:])
    for ln in lens:
        logical.append(r.take(ln) if ln < 2048 else big.pop(0))
    return logical, cparams


def _csv_join(logical, cparams):
    from cobol.format.wire import put_varint
    meta = bytearray()
    put_varint(meta, len(cparams))
    meta += cparams
    put_varint(meta, len(logical))
    for s in logical:
        put_varint(meta, len(s))
    big = []
    for s in logical:
        if len(s) < 2048:
            meta += s
        else:
            big.append(bytes(s))
    return [bytes(meta)] + big, bytes([1])


def _numeric_split(streams, params):
    """The numeric values stream unwrapped from its own zstd frame (params flag bit 0)."""
    import zstandard
    if len(params) > 4 and params[4] & 1 and streams:
        values = zstandard.ZstdDecompressor().decompress(streams[0], max_output_size=64 * MiB)
        return [values] + list(streams[1:]), params
    return list(streams), params


def _numeric_join(streams, params):
    import zstandard
    if len(params) > 4 and params[4] & 1 and streams:
        return [zstandard.ZstdCompressor(level=1).compress(streams[0])] + list(streams[1:]), params
    return list(streams), params


def _csv_inputs(limit):
    items = [(l, d, {"fmt": "tsv" if "tsv" in l else "csv", "levels": (3, 19) if l == "syn-plain" else (3,)})
             for l, d in _syn_csv()]
    items += [(l, d, {"fmt": "csv", "levels": (3, 12)}) for l, d in _sample_files("csv", limit=limit)]
    return items


def _json_inputs(limit):
    items = [(l, d, {"fmt": "jsonl" if "lines" in l else "json"}) for l, d in _syn_json()]
    items += [(l, d, {"fmt": "json", "levels": (3, 19)}) for l, d in _sample_files("json", "jsonl", limit=limit)]
    return items


def _markup_inputs(html):
    def f(limit):
        items = [(l, d, {"fmt": "html" if html else "xml", "levels": (3, 19)}) for l, d in _syn_markup(html)]
        items += [(l, d, {"fmt": "html" if html else "xml", "levels": (3, 19)})
                  for l, d in _sample_files("html" if html else "xml", limit=limit)]
        return items
    return f


def _text_inputs(limit):
    items = [(l, d, {"fmt": "text"}) for l, d in _syn_text()]
    items += [(l, d, {"fmt": "text"}) for l, d in _sample_files("text", "log", limit=limit)]
    return items


def _log_inputs(limit):
    """Log lines for the log transform: synthetic (timestamps, numbers with
    leading zeros, raw lines with the placeholder bytes, CRLF, no final
    newline) and samples/log."""
    rng = random.Random(23)
    lines = [f"2026-12-05T19:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}.{rng.randint(0, 999):03d}Z "
             f"{rng.choice(['INFO', 'WARN', 'ERROR'])} worker-{rng.randint(1, 9)} "
             f"req={rng.randint(0, 10**6):07d} took {rng.random() * 100:.3f}ms ip=10.0.{rng.randint(0, 255)}.7"
             for _ in range(200)]
    syn = ("\n".join(lines) + "\n").encode()
    odd = (b"Dec  5 19:36:22 host sshd[4242]: ok\r\n" * 20 + b"\x11\x12 raw\n\x00\xff 12 x\n"
           + b"9" * 40 + b"\nlast line 007")
    items = [("syn-log", syn, {"fmt": "log"}), ("syn-log-odd", odd, {"fmt": "log"}),
             ("syn-log-refs", _dpkg_like_log(rng), {"fmt": "log"}),
             ("syn-log-messages", _chat_like_log(rng), {"fmt": "log"})]
    items += [(l, d, {"fmt": "log"}) for l, d in _sample_files("log", limit=limit)]
    return items


def _chat_like_log(rng) -> bytes:
    """A regular header (time, nick) and free text after it: the encoder cuts
    these lines into header and message (log params version 5)."""
    words = ["the", "build", "is", "green", "again", "see", "http://x.org/a?b=1", "(sigh)", "[afk]", "42", "\t"]
    lines = [f"[{10 + i // 60:02d}:{i % 60:02d}] <{rng.choice(['ann', 'bob', 'cy'])}> "
             + " ".join(rng.choice(words) for _ in range(rng.randint(1, 8))) for i in range(150)]
    return ("\n".join(lines) + "\n").encode()


def _dpkg_like_log(rng) -> bytes:
    """Package names and versions on several lines in a row, in a shuffled
    order: the encoder codes these skeletons move-to-front (log params version 4)."""
    pkgs = [(f"lib{rng.choice('abcdefgh')}{k}", f"{k}.{rng.randint(0, 9)}-{rng.randint(1, 3)}+deb12u{k}") for k in range(12)]
    out = []
    for i in range(120):
        p, v = pkgs[rng.randrange(len(pkgs))]
        for s in ("unpacked", "half-configured", "installed"):
            out.append(f"2026-12-06 10:{i // 60:02d}:{i % 60:02d} status {s} {p}:amd64 {v}")
        out.append(f"2026-12-06 10:{i // 60:02d}:{i % 60:02d} configure {p}:amd64 {v} <none>")
    return ("\n".join(out) + "\n").encode()


def _numeric_inputs(limit):
    items = []
    for label, data, dt in _syn_numeric():
        items.append((label, data, {"fmt": "numeric", "hints": {"dtype": dt} if dt else {}, "levels": (3, 19)}))
    suffix = {".i32": "int32", ".i64": "int64", ".f64": "float64"}
    for label, data in _sample_files("numeric", limit=limit):
        dt = suffix.get(Path(label).suffix)
        data = data[:len(data) - len(data) % 8]
        items.append((label, data, {"fmt": "numeric", "hints": {"dtype": dt}, "levels": (3, 19)}))
    return items


def _raw_inputs(limit):
    return [("syn-bytes", bytes(range(256)) * 3, {}), ("syn-empty", b"", {})]


def _intcodec_target():
    def make(limit):
        from cobol.layers import intcodec as ic
        out = []
        for label, v, mode in _syn_ints():
            try:
                buf = ic.encode_ints(v, modes=(mode,) if mode is not None else ic.ALL_MODES)
            except ValueError:  # the layout does not apply to these values
                continue
            out.append(Input(label, [buf], b"", v.size, extra={"mode": buf[0]}))
        return out

    def decode(streams, params, raw_len):
        from cobol.layers.intcodec import decode_ints
        if len(streams) != 1 or params:
            return None  # the harness's own shape; nothing to test
        return decode_ints(streams[0], raw_len)

    return Target("intcodec", decode, make, note="decode_ints(buf, max_count=raw_len)")


def _intcodec_numpy_target():
    """intcodec_numpy.decode_ints_numpy (cobol grep's reader) against decode_ints:
    where both decode, the values must be the same."""
    def decode(streams, params, raw_len):
        np = __import__("numpy")
        from cobol.errors import CobolError
        from cobol.layers.intcodec import decode_ints
        from cobol.layers.intcodec_numpy import decode_ints_numpy
        if len(streams) != 1 or params:
            return None
        got = decode_ints_numpy(streams[0], raw_len)
        try:
            want = decode_ints(streams[0], raw_len)
        except CobolError:
            return got
        if got is not None and not np.array_equal(got, want):
            raise AssertionError("decode_ints_numpy and decode_ints disagree")
        return got

    return Target("intcodec-numpy", decode, _intcodec_target().make_inputs,
                  note="decode_ints_numpy(buf, raw_len), equal to decode_ints where both decode")


def _log_numpy_target():
    """log_numpy.NumpyLogBlock (cobol grep's reader): every line, some lines,
    the variables and their lines (all, and some, which must agree); where
    LogBlock also decodes, the same bytes."""
    def decode(streams, params, raw_len):
        np = __import__("numpy")
        from cobol.errors import CobolError
        from cobol.layers import l2_log
        from cobol.layers.log_numpy import read_log_block
        lb = read_log_block(streams, params, raw_len)
        if lb is None:
            return None
        every = lb.var_lines()
        some = np.arange(0, every.size, 7)
        if not np.array_equal(lb.var_lines(some), every[some]):
            raise AssertionError("NumpyLogBlock.var_lines of some variables differs from all of them")
        lb.variables()
        lb.render(np.arange(lb.n_lines) % 3 == 1)
        whole = lb.render(np.ones(lb.n_lines, np.bool_))
        text = None if whole is None else whole[0].tobytes()
        try:
            want = l2_log.decode_block(streams, params, raw_len)
        except CobolError:
            return text
        if text is not None and text != want:
            raise AssertionError("NumpyLogBlock and LogBlock render different bytes")
        return text

    def make(limit):
        # (a version-5 block, messages cut off its lines, is decoded whole:
        # the line readers refuse it, fuzzed by the log-messages target)
        from cobol.layers import log_format
        return [i for i in _transform_target("log", _log_inputs).make_inputs(limit)
                if not log_format.has_messages(i.params)]

    return Target("log-numpy", decode, make,
                  note="log_numpy.read_log_block + render; equal to LogBlock where both decode")


def _search_index_target():
    """cobol.searchindex.parse (the search index record's payload, which cobol
    grep reads before each indexed block) and the checks grep makes with it:
    the block binding and may_contain; a string of the block itself must
    never be ruled out while the payload is intact. ``raw_len``: the block's
    length; ``data``: the block (its checksum is the CRC's last part)."""
    def make(limit):
        from cobol import searchindex
        out = []
        items = [(l, d) for l, d in _sample_files("log", limit=limit or 40000)][:3]
        items += [(l, d) for l, d in _syn_text()][:2]
        for label, data in items:
            if not data:
                continue
            bitmap = searchindex.sized_bitmap(data, max(64, len(data) // 10)) or searchindex.build_bitmap(data, 64)
            payload = searchindex.encode(data, 3, b"\x01\x02\x03\x04", bitmap)
            out.append(Input(label, [payload], b"", len(data), data))
        return out

    def decode(streams, params, raw_len):
        from types import SimpleNamespace

        from cobol import searchindex
        if len(streams) != 1 or params:
            return None
        ix = searchindex.parse(streams[0])
        if ix is None:
            return None
        ix.check_block(SimpleNamespace(seq=3, raw_len=raw_len, checksum=b"\x01\x02\x03\x04"))
        for p in (b"", b"ab", b"the", b"ERROR", b"\xff\x00\x0a", b"x" * 40):
            ix.may_contain(p)
        return None  # nothing to compare with the block's bytes

    return Target("search-index", decode, make,
                  note="searchindex.parse + check_block + may_contain (a mutated payload must fail its CRC or parse)")


def _log_refs_target():
    """Version 4's refs (cobol.layers.log_refs.expand_refs, the decoder's
    kernel, and log_format.expand_skeletons, cobol grep's Python copy) on
    log blocks forced to version 4: both raise FormatError or both give the
    same skeletons; where the block decodes, the whole decoder's bytes."""
    def make(limit):
        from cobol.layers.l2_log import LogModel, LogScan
        out = []
        for label, data, _ in _log_inputs(limit):
            if len(data) < 64 or LogScan(data).n_raw == LogScan(data).n_lines:
                continue
            for columns in (True, False):
                m = LogModel(data, columns=columns).with_refs()
                out.append(Input(f"{label}@refs{int(columns)}", [bytes(s) for s in m.streams()], m.params(), len(data), data))
        return out

    def decode(streams, params, raw_len):
        from cobol.errors import CobolError
        from cobol.layers import l2_log, log_format
        try:
            kernel = l2_log._expanded(streams, params, raw_len)
        except CobolError:
            kernel = None
        try:
            python = log_format.canonical_streams(streams, params, raw_len)
        except CobolError:
            python = None
        if (kernel is None) != (python is None):
            raise AssertionError(f"refs decoders disagree: kernel {'raised' if kernel is None else 'decoded'}, "
                                 f"python {'raised' if python is None else 'decoded'}")
        if kernel is not None and bytes(kernel[2]) != bytes(python[2]):
            raise AssertionError("refs decoders expand different skeletons")
        return l2_log.decode_block(streams, params, raw_len)

    return Target("log-refs", decode, make, note="log params version 4: refs expanded by the kernel and in Python, equal")


def _log_messages_target():
    """Log params version 5 (messages cut off the lines): blocks of the log
    inputs the encoder cuts, with the skeletons as they are and forced
    move-to-front coded (flag bit 1); the decoder raises a CobolError or gives
    the block's length, and the line readers of versions 1-4 refuse the block."""
    def make(limit):
        from cobol.layers import l2_log
        out = []
        for label, data, _ in _log_inputs(limit):
            if len(data) < 64:
                continue
            scan = l2_log.LogScan(data)
            if scan.n_raw == scan.n_lines:
                continue
            cut = l2_log._cut_messages(data, scan)
            if cut is None:
                continue
            headers, messages, n_messages = cut
            for refs in (False, True):
                m = l2_log.LogModel(headers, scan=l2_log.LogScan(headers, extra=scan.extra, tail=True))
                if refs:
                    m.with_refs()
                m.messages, m.n_messages = messages, n_messages
                out.append(Input(f"{label}@messages{int(refs)}", [bytes(s) for s in m.streams()], m.params(),
                                 len(data), data))
        return out

    def decode(streams, params, raw_len):
        from cobol.layers.log_numpy import render_messages_block
        return _log_decoded_as_grep_reads_it(lambda: render_messages_block(streams, params, raw_len),
                                             "NumPy render", 5, streams, params, raw_len)

    return Target("log-messages", decode, make,
                  note="log params version 5: messages stream, refs on and off; the NumPy render equal to "
                       "the decoder; line readers refuse it")


def _log_decoded_as_grep_reads_it(grep_render, what, version, streams, params, raw_len):
    """The log decoder's output of a version-5/6 block, checked against cobol
    grep's reading of it (``grep_render()``: bytes, None when it declines, or
    a CobolError): both refuse the block or give the same bytes, and the line
    readers of versions 1-4 refuse it."""
    from cobol.errors import CobolError
    from cobol.layers import l2_log, log_format
    try:
        fast = grep_render()
    except CobolError:
        fast = CobolError
    try:
        out = l2_log.decode_block(streams, params, raw_len)
    except CobolError:
        if fast is not CobolError and fast is not None:  # (None: declined, left to the kernel)
            raise AssertionError(f"cobol grep's {what} decoded a block the decoder refuses") from None
        raise
    if fast is not None and fast != out:
        raise AssertionError(f"cobol grep's {what} and the decoder disagree")
    for reader in (lambda: log_format.canonical_streams(streams, params, raw_len),
                   lambda: l2_log.LogBlock(streams, params, raw_len)):
        try:
            reader()
        except CobolError:
            continue
        raise AssertionError(f"a version-{version} block read by a line reader of versions 1-4")
    return out


def _log_words_target():
    """Log params version 6 (version 5's messages L1 word coded): the
    log-messages target's blocks with their messages forced word coded
    (whether or not the encoder's trial would keep it); the decoder raises a
    CobolError or gives the block's length; cobol grep's path (the words
    decoded with NumPy, logsearch._as_version5, then the NumPy render of
    version 5) refuses the same blocks or gives the same bytes; the line
    readers of versions 1-4 refuse the block."""
    def make(limit):
        from cobol.layers import l2_log
        from cobol.format.wire import put_varint
        from cobol.layers.l1_semantic import WordCoder
        out = []
        for inp in _log_messages_target().make_inputs(limit):
            streams = list(inp.streams)
            coder, (coded,) = WordCoder.train_encode(streams[l2_log.MESSAGES])
            if not coder.count:
                continue
            params = bytearray([l2_log.VERSION_WORDS]) + inp.params[1:]
            put_varint(params, len(streams[l2_log.MESSAGES]))
            out.append(Input(inp.label.replace("@messages", "@words"),
                             streams[:l2_log.MESSAGES] + [coder.to_bytes(), coded], bytes(params), inp.raw_len,
                             inp.data))
        return out

    def decode(streams, params, raw_len):
        from cobol.format.frame import DataBlock
        from cobol.layers import log_format
        from cobol.layers.log_numpy import render_messages_block
        from cobol.logsearch import _as_version5

        def grep_render():
            rec, v5 = _as_version5(DataBlock(0, raw_len, log_format.TRANSFORM_ID, params, [], b""), streams)
            return render_messages_block(v5, rec.params, raw_len)
        return _log_decoded_as_grep_reads_it(grep_render, "NumPy path", 6, streams, params, raw_len)

    return Target("log-words", decode, make,
                  note="log params version 6: messages L1 word coded; grep's NumPy path equal to the decoder; "
                       "line readers refuse it")


def _log_messages_grep_target(words: bool = False):
    """cobol grep's candidate-line search of a version-5 block
    (blocksearch.search_message_block), for a few fixed strings, on the
    log-messages target's blocks: it raises a CobolError, declines (None) or
    selects lines; where the decoder decodes the block, every selected line
    (index and bytes) is a line of the decoded block that holds the string
    (lines missed are possible only where mutated variables hold delimiters,
    which the encoder never writes and no decoder checks)."""
    def decode(streams, params, raw_len):
        from types import SimpleNamespace

        from cobol.blocksearch import search_message_block
        from cobol.errors import CobolError
        from cobol.layers import l2_log
        from cobol.logsearch import Matcher
        try:
            out = l2_log.decode_block(streams, params, raw_len)
        except CobolError:
            out = None
        lines = None if out is None else out.split(b"\n")
        rec = SimpleNamespace(seq=0, params=params, raw_len=raw_len)
        for pattern, ignore_case in ((b"the", False), (b"> (", False), (b"GREEN a", True), (b"]", False),
                                     (b"42 ", False), (b"\xff\xfe", False)):
            m = Matcher.compile(pattern, fixed=True, ignore_case=ignore_case)
            try:
                got = search_message_block(streams, rec, m, lambda: out if out is not None else b"")
            except CobolError:
                continue
            if got is None or lines is None:
                continue
            for k, line in got.hits:
                if not (0 <= k < len(lines) and lines[k] == line and m.line.search(line)):
                    raise AssertionError(f"search_message_block selected line {k} that the decoder does not give")
        if out is None:
            raise CobolError("the decoder refuses the block")
        return out

    if words:
        # version 6: the messages word coded, only the candidates' decoded (L1Block.render_lines)
        return Target("log-words-grep", decode, _log_words_target().make_inputs,
                      note="log params version 6: cobol grep's candidate-line search with the candidate "
                           "messages decoded from their words; its lines are the decoder's")
    target = _log_messages_target()
    return Target("log-messages-grep", decode, target.make_inputs,
                  note="log params version 5: cobol grep's candidate-line search; its lines are the decoder's")


def _bitpack_inputs():
    np = __import__("numpy")
    g = _rng_np(31)
    codes = {
        "const": g.integers(0, 1000, 3000),
        "for": 10**12 + g.integers(0, 64, 3000),
        "zerorun": np.where(g.random(3000) < 0.1, g.integers(1, 500, 3000), 0),
        "delta": np.cumsum(g.integers(0, 5, 3000)) + 2**40,
        "patched": np.where(g.random(3000) < 0.02, g.integers(0, 2**50, 3000), g.integers(0, 8, 3000)),
        "wide": g.integers(0, 2**63, 700).astype(np.uint64) * 2 + 1,
        "mixed": np.concatenate([g.integers(0, 4, 1024), np.zeros(1024, np.int64), g.integers(0, 2**60, 1024)]),
    }
    return [(k, np.asarray(v).astype(np.uint64)) for k, v in codes.items()]


def _bitpack_target(backend: str | None):
    def make(limit):
        np = __import__("numpy")
        from cobol.layers import l4_bitpack
        out = []
        for label, codes in _bitpack_inputs():
            for chunk in (128, 512):
                tags = np.arange((codes.size + chunk - 1) // chunk, dtype=np.uint8) % 4
                buf = l4_bitpack.pack(codes, chunk, tags=tags)
                out.append(Input(f"{label}-c{chunk}", [buf], b"", codes.size))
        return out

    def decode(streams, params, raw_len):
        if len(streams) != 1 or params:
            return None
        if backend is None:
            from cobol.layers.l4_bitpack import unpack
            return unpack(streams[0], raw_len)
        from cobol.accel.factory import get_backend
        return get_backend(backend).bitunpack(streams[0], raw_len)

    name = "bitpack" if backend is None else f"bitpack@{backend}"
    return Target(name, decode, make, note="l4 unpack(buf, max_count=raw_len)")


def _varint_target(backend: str):
    def make(limit):
        np = __import__("numpy")
        from cobol.accel.factory import get_backend
        g = _rng_np(37)
        b = get_backend(backend)
        out = []
        for label, v in (("small", g.integers(0, 200, 3000)), ("wide", g.integers(0, 2**63, 800))):
            buf = b.varint_encode(np.asarray(v, np.uint64))
            out.append(Input(label, [buf], b"", int(np.size(v))))
        return out

    def decode(streams, params, raw_len):
        if len(streams) != 1 or params:
            return None
        from cobol.accel.factory import get_backend
        return get_backend(backend).varint_decode(streams[0], raw_len)

    return Target(f"varint@{backend}", decode, make)


def _delta_target(backend: str | None):
    """delta_decode takes arrays: the stream is the codes (8 bytes each), params the orders."""
    def make(limit):
        np = __import__("numpy")
        from cobol.layers import l3_delta
        g = _rng_np(41)
        out = []
        for label, v in (("walk", np.cumsum(g.integers(-9, 9, 3000))), ("ts", 10**9 + np.arange(2000) * 60)):
            v = np.asarray(v, np.int64)
            orders = l3_delta.choose_orders(v, 512)
            codes = l3_delta.delta_encode(v, orders, 512, zigzag0=False)
            out.append(Input(label, [codes.tobytes()], orders.tobytes(), v.size))
        return out

    def decode(streams, params, raw_len):
        np = __import__("numpy")
        if len(streams) != 1 or len(streams[0]) % 8:
            return None
        codes = np.frombuffer(streams[0], np.uint64)
        orders = np.frombuffer(params, np.uint8)
        if backend is None:
            from cobol.layers.l3_delta import delta_decode
            return delta_decode(codes, orders, 512, zigzag0=False)
        from cobol.accel.factory import get_backend
        return get_backend(backend).delta_decode(codes, orders, 512, zigzag0=False)

    return Target("delta" if backend is None else f"delta@{backend}", decode, make)


def _frame_target(plan: str, inputs_fn, ctx_of):
    """Whole frames through cobol.decompress, decompress_stream and frame_info.
    The one stream is the frame; params carry the plan name for the structural moves."""
    def make(limit):
        import cobol
        out = []
        for label, data, kw in inputs_fn(limit)[:4]:
            kw = dict(kw)
            kw.pop("levels", None)
            fmt = kw.pop("fmt", None)
            for checksum in ("crc32", "sha256"):
                blob = cobol.compress(data, level=3, plan=plan, threads=1, checksum=checksum,
                                      block_size=max(4096, len(data) // 2 + 1), fmt=fmt, **ctx_of(kw))
                out.append(Input(f"{label}-{checksum}", [blob], b"", len(data), data))
        return out

    def decode(streams, params, raw_len):
        from cobol.engine import CobolEngine
        from cobol.info import frame_info
        blob = streams[0]
        eng = CobolEngine(threads=1)
        frame_info(blob)
        out = eng.decompress(blob, max_output_size=64 * MiB)
        sink = io.BytesIO()
        eng.decompress_stream(io.BytesIO(blob), sink, max_output_size=64 * MiB)
        if sink.getvalue() != out:
            raise AssertionError("decompress and decompress_stream disagree")
        return out

    return Target(f"frame-{plan}", decode, make, frame=True)


def _ppmd_codec_target():
    """Entropy codec 3 (ppmd) called directly: the one stream is the stored bytes
    (u8 order, u8 memory code, range coder bytes), raw_len the table's decoded length."""
    def make(limit):
        from cobol.entropy import PpmdCodec
        items = [(l, d) for l, d in _syn_text()][:2]
        items += [(l, d) for l, d in _sample_files("text", "xml", limit=limit or 20000)][:2]
        out = []
        for label, data in items:
            if not data:
                continue
            for level in (19, 22):
                out.append(Input(f"{label}@{level}", [PpmdCodec().encode(data, level)], b"", len(data), data))
        return out

    def decode(streams, params, raw_len):
        if len(streams) != 1 or params:
            return None
        from cobol.entropy import PpmdCodec
        return PpmdCodec().decode(streams[0], raw_len)

    return Target("codec-ppmd", decode, make, note="PpmdCodec.decode(stored, decoded_len)")


def _brotli_codec_target():
    """Entropy codec 4 (brotli) called directly: the one stream is the stored
    brotli stream, raw_len the table's decoded length (a wrong one must raise)."""
    def make(limit):
        from cobol.entropy import BrotliCodec
        items = [(l, d) for l, d in _syn_text()][:2]
        items += [(l, d) for l, d in _sample_files("text", "xml", "json", limit=limit or 20000)][:3]
        return [Input(f"{label}@{level}", [BrotliCodec().encode(data, level)], b"", len(data), data)
                for label, data in items if data for level in (3, 19)]

    def decode(streams, params, raw_len):
        if len(streams) != 1 or params:
            return None
        from cobol.entropy import BrotliCodec
        return BrotliCodec().decode(streams[0], raw_len)

    return Target("codec-brotli", decode, make, note="BrotliCodec.decode(stored, decoded_len)")


def _hex_codec_target():
    """Entropy codec 5 (hex) called directly: the one stream is the stored hex
    stream (rest codec, run table, packed digits), raw_len the table's decoded
    length (a wrong one must raise)."""
    def make(limit):
        import random as _random
        from cobol.entropy import BROTLI, ZSTD, hex_encode
        rng = _random.Random(5)
        items = []
        for n in (40, 200, 2000):
            lines = [f'<hash alg="SHA-256">{rng.getrandbits(256):064x}</hash> id {i}' for i in range(n)]
            items.append((f"hashes{n}", "\n".join(lines).encode()))
        items.append(("upper", " ".join(f"{rng.getrandbits(160):040X}" for _ in range(300)).encode()))
        items.append(("odd", ",".join(f"{rng.getrandbits(100):025x}" for _ in range(300)).encode()))
        out = []
        for label, data in items:
            for codec, level in ((ZSTD, 3), (BROTLI, 3), (ZSTD, 19)):
                coded = hex_encode(data, codec, level, 6)
                if coded is not None:
                    out.append(Input(f"{label}@{codec}/{level}", [coded], b"", len(data), data))
        return out

    def decode(streams, params, raw_len):
        if len(streams) != 1 or params:
            return None
        from cobol.entropy import HexCodec
        return HexCodec().decode(streams[0], raw_len)

    return Target("codec-hex", decode, make, note="HexCodec.decode(stored, decoded_len)")


def _frame_ppmd_target():
    """Frames at the top level (22) whose streams are coded with ppmd (samples
    of text, jsonl, html, csv and log where ppmd beats zstd; at 8 KiB only a few
    do, so every folder is offered; json and xml never get ppmd)."""
    def make(limit):
        import cobol
        from cobol.info import frame_info
        out = []
        items = [(l, d) for l, d in _sample_files("text", "jsonl", "html", "csv", "log", limit=limit or 20000)]
        for label, data in items:
            if len(out) >= 4:
                break
            blob = cobol.compress(data, level=22, threads=1, checksum="crc32")
            if any(s["codec"] == "ppmd" for b in frame_info(blob).block_list for s in b.streams):
                out.append(Input(label, [blob], b"", len(data), data))
        return out

    def decode(streams, params, raw_len):
        from cobol.engine import CobolEngine
        return CobolEngine(threads=1).decompress(streams[0], max_output_size=64 * MiB)

    return Target("frame-ppmd", decode, make, frame=True)


def _stream_block_target():
    """Serialized CompressedBlocks (the streaming protocol's unit, a .cobl data
    record in an envelope) into a fresh StreamDecompressor."""
    def make(limit):
        from cobol.stream import StreamCompressor, StreamingConfig
        out = []
        for label, data, _ in (_csv_inputs(limit)[:2] + _json_inputs(limit)[:2] + _text_inputs(limit)[:2]):
            cfg = StreamingConfig(block_size=4096, checksum="crc32", threads=1)
            c = StreamCompressor(cfg)
            for b in (c.feed(data) + c.flush())[:3]:
                out.append(Input(f"{label}-b{b.seq}", [b.to_bytes()], b"", b.raw_len))
        return out

    def decode(streams, params, raw_len):
        from cobol.stream import StreamingConfig
        from cobol.stream.decompressor import StreamDecompressor
        cfg = StreamingConfig(block_size=4096, checksum="crc32", threads=1)
        d = StreamDecompressor(cfg)
        for s in streams:
            d.feed_block(s)
        return None

    return Target("stream-block", decode, make)


def _stream_message_target():
    """Protocol frames (magic, length, payload, CRC) through FrameDecoder and
    decode_message; the CRC is recomputed after the mutation so that the
    message parser sees the hostile payload."""
    def make(limit):
        from cobol.stream import StreamCompressor, StreamingConfig
        from cobol.stream import frames as F
        cfg = StreamingConfig(block_size=4096, checksum="crc32", threads=1)
        c = StreamCompressor(cfg)
        blk = (c.feed(b"a,b\n1,2\n" * 200) + c.flush())[0]
        msgs = [F.Hello(nonce=bytes(range(32))), F.Challenge(nonce=bytes(32), auth_required=True, window=16,
                                                             max_block_size=1 << 20),
                F.Open(proof=bytes(32), transfer_id=bytes(16), name="dir/file.csv", size=12345, block_size=4096,
                       checksum_kind=3, level=3, fresh=True),
                F.Accept(proof=bytes(32), resume_seq=3, resume_offset=12288, resume_chain=bytes(32), credit=16),
                F.Block(blk), F.Ack(acked=5, credit=16), F.End(n_blocks=2, total_raw=8000, chain=bytes(32)),
                F.Done(n_blocks=2, total_raw=8000, chain=bytes(32), stored_name="dir/file.csv"),
                F.Error(code=5, message="block 3 failed its checksum"), F.Keepalive()]
        return [Input(type(m).__name__, [F.encode_message(m)], b"", 0) for m in msgs]

    def decode(streams, params, raw_len):
        from cobol.stream import frames as F
        fd = F.FrameDecoder(limit=1 << 16)
        for s in streams:
            fd.feed(F.encode_frame(s) if s else b"")
        out = []
        while True:
            p = fd.next_payload()
            if p is None:
                break
            out.append(F.decode_message(p, 4096))
        return None

    return Target("stream-message", decode, make)


def _differential_target(base: Target, backend: str) -> Target:
    """``base`` (a CPU decoder of the accel API) against ``backend``: both must
    reject the same inputs and return the same arrays. A device kernel reading
    out of bounds shows up as a different result, not as a crash."""
    other = {"bitpack": lambda: _bitpack_target(backend), "varint": lambda: _varint_target(backend),
             "delta": lambda: _delta_target(backend)}[base.name.split("@")[0]]()

    def run(t, streams, params, raw_len):
        from cobol.errors import CobolError
        try:
            return "ok", t.decode(streams, params, raw_len)
        except CobolError as e:
            return "error", type(e).__name__

    def decode(streams, params, raw_len):
        np = __import__("numpy")
        a = run(base, streams, params, raw_len)
        b = run(other, streams, params, raw_len)
        if a[0] != b[0]:
            raise AssertionError(f"cpu {a[0]} ({a[1] if a[0] == 'error' else 'decoded'}), "
                                 f"{backend} {b[0]} ({b[1] if b[0] == 'error' else 'decoded'})")
        if a[0] == "ok":
            va = a[1] if isinstance(a[1], tuple) else (a[1],)
            vb = b[1] if isinstance(b[1], tuple) else (b[1],)
            if any(not np.array_equal(x, y) for x, y in zip(va, vb)):
                raise AssertionError(f"cpu and {backend} decode to different values")
        return None

    return Target(f"{base.name.split('@')[0]}-diff@{backend}", decode, base.make_inputs)


_FORMAT_INPUTS = {"csv": "_csv_inputs", "tsv": "_csv_inputs", "json": "_json_inputs", "jsonl": "_json_inputs",
                  "text": "_text_inputs", "log": "_log_inputs", "numeric": "_numeric_inputs",
                  "binary": "_numeric_inputs"}


def _inputs_for_formats(formats):
    """Input makers for a transform's detected formats (for transforms added
    after this harness: every registered transform gets fuzzed)."""
    makers = []
    for f in formats:
        if f == "xml":
            makers.append(_markup_inputs(False))
        elif f == "html":
            makers.append(_markup_inputs(True))
        elif f in _FORMAT_INPUTS and globals()[_FORMAT_INPUTS[f]] not in makers:
            makers.append(globals()[_FORMAT_INPUTS[f]])
    if not makers or "*" in formats:
        makers = [_csv_inputs, _json_inputs, _text_inputs, _numeric_inputs]

    def inputs(limit):
        out = []
        for m in makers:
            out += m(limit)
        return out
    return inputs


def _bundle_target():
    """The bundle transform (id 1): another transform's params and streams packed into one stream."""
    def make(limit):
        from cobol.layers.bundle import pack
        from cobol.registry import EncodeContext, transform_by_name
        out = []
        for tname, maker in (("json", _json_inputs), ("csv", _csv_inputs), ("l1", _text_inputs),
                             ("numeric", _numeric_inputs), ("xml", _markup_inputs(False)), ("raw", _raw_inputs)):
            t = transform_by_name(tname)
            for label, data, kw in maker(limit)[:2]:
                kw = dict(kw)
                kw.pop("levels", None)
                enc = t.encode(data, EncodeContext(level=3, **kw))
                if enc is not None:
                    out.append(Input(f"{tname}-{label}", [pack(enc)], bytes([t.id]), len(data), data))
        return out

    def decode(streams, params, raw_len):
        from cobol.registry import DecodeContext, transform_by_name
        return transform_by_name("bundle").decode(streams, params, raw_len, DecodeContext())

    def split(streams, params):
        from cobol.layers.bundle import unpack
        inner_params, inner = unpack(streams[0])
        return list(inner), bytes(params) + bytes(inner_params)

    def join(streams, params):
        from cobol.layers.bundle import pack
        from cobol.registry import Encoded
        return [pack(Encoded(params=params[1:], streams=streams))], params[:1]

    return Target("bundle", decode, make, view=(split, join))


_DICT_CACHE = {}


def _small_messages():
    rng = random.Random(43)
    msgs = []
    for i in range(40):
        msgs.append(json.dumps({"id": i, "user": rng.choice(["ann", "bob", "cy"]), "event": rng.choice(["login", "buy"]),
                                "amount": round(rng.random() * 100, 2), "tags": ["a", "b"][: rng.randint(0, 2)]}).encode())
    return msgs


def _shared_dictionary():
    if "d" not in _DICT_CACHE:
        from cobol.dictionary import Dictionary
        content = b"".join(_small_messages()[:20])
        _DICT_CACHE["d"] = Dictionary(zstd=content, level=3)
    return _DICT_CACHE["d"]


def _frame_dict_target():
    """Frames made with a shared dictionary (codec zstd-dict, bundles), decoded with it."""
    def make(limit):
        import cobol
        d = _shared_dictionary()
        out = []
        for i, m in enumerate(_small_messages()[20:26]):
            blob = cobol.compress(m, level=3, threads=1, checksum="crc32", dictionary=d)
            out.append(Input(f"msg{i}", [blob], b"", len(m), m))
        return out

    def decode(streams, params, raw_len):
        from cobol.engine import CobolEngine
        return CobolEngine(threads=1, dictionary=_shared_dictionary()).decompress(streams[0], max_output_size=64 * MiB)

    return Target("frame-dict", decode, make, frame=True)


def _dictionary_file_target():
    """Serialized dictionaries (Dictionary.from_bytes), with the content-hash id
    recomputed after the mutation (a hostile file can carry a valid id); a
    dictionary that loads is then used to decode a frame."""
    def make(limit):
        from cobol.dictionary import Dictionary
        d = _shared_dictionary()
        trained_like = Dictionary(zstd=b"", sections={30: b"\x01\x02section", 50: b"words\nmore"}, level=5)
        return [Input("raw-content", [d.to_bytes()], b"", 0), Input("sections", [trained_like.to_bytes()], b"", 0)]

    def decode(streams, params, raw_len):
        import cobol
        from cobol.dictionary import Dictionary, _dict_id
        if len(streams) != 1:
            return None  # the harness's own shape
        data = bytearray(streams[0])
        if len(data) > 9 and data[:4] == b"CBLD":
            data[5:9] = _dict_id(bytes(data[9:])).to_bytes(4, "little")
        d = Dictionary.from_bytes(bytes(data))
        m = _small_messages()[30]
        blob = cobol.compress(m, level=3, threads=1, checksum="crc32", dictionary=d)
        if cobol.decompress(blob, dictionary=d) != m:
            raise AssertionError("a hostile dictionary broke a round trip")
        return None

    return Target("dictionary-file", decode, make)


def _json_dict_dictionary():
    if "jd" not in _DICT_CACHE:
        from cobol.dictionary import train
        _DICT_CACHE["jd"] = train(_small_messages()[:30], size=4096, level=3)
    return _DICT_CACHE["jd"]


def _json_dict_target():
    """The json-dict transform (31): messages coded against a trained dictionary's section."""
    def make(limit):
        from cobol.registry import EncodeContext, transform_by_name
        t = transform_by_name("json-dict")
        d = _json_dict_dictionary()
        msgs = _small_messages()
        out = []
        for i, m in enumerate([b"\n".join(msgs[30:33]) + b"\n", msgs[35], b"not json\n" + msgs[36], msgs[20] + b"\n"]):
            enc = t.encode(m, EncodeContext(level=3, fmt="jsonl", dictionary=d))
            if enc is not None:
                out.append(Input(f"msg{i}", [bytes(x) for x in enc.streams], bytes(enc.params), len(m), m))
        return out

    def decode(streams, params, raw_len):
        from cobol.registry import DecodeContext, transform_by_name
        return transform_by_name("json-dict").decode(streams, params, raw_len,
                                                      DecodeContext(dictionary=_json_dict_dictionary()))

    return Target("json-dict", decode, make)


def _json_dict_section_target():
    """json-dict dictionary sections (the model, before its zstd wrapping), loaded and then used."""
    def make(limit):
        import zstandard
        sec = _json_dict_dictionary().section(31)
        return [Input("section", [zstandard.ZstdDecompressor().decompress(sec)], b"", 0)]

    def decode(streams, params, raw_len):
        import zstandard
        from cobol.errors import CobolError
        from cobol.layers import json_dict as jd
        if len(streams) != 1:
            return None
        model = jd.load_model(zstandard.ZstdCompressor(level=1).compress(bytes(streams[0])))
        for m in _small_messages()[30:33]:
            coded = jd.encode_with(m, model)
            try:
                back = jd.decode_with(coded, len(m), model)
            except CobolError:
                back = None
            if back != m:
                raise AssertionError("a loadable hostile section broke a round trip")
        return None

    return Target("json-dict-section", decode, make)


def _selftest_targets():
    """Targets that misbehave on purpose: the harness must catch each kind."""
    def make(limit):
        return [Input("x", [b"\x01\x02\x03\x04" * 8], b"\x00", 32)]

    def segv(streams, params, raw_len):
        import ctypes
        ctypes.string_at(0)

    def hang(streams, params, raw_len):
        while True:
            pass

    def alloc(streams, params, raw_len):
        np = __import__("numpy")
        return np.ones(1 << 30, np.uint8)  # 1 GiB: over the case's memory limit (256 MiB for it)

    def index(streams, params, raw_len):
        return streams[0][10**6]

    def netted(streams, params, raw_len):
        from cobol.errors import FormatError
        try:
            return streams[0][10**6]
        except IndexError as e:
            raise FormatError(f"corrupt ({type(e).__name__}: {e})") from None

    def fine(streams, params, raw_len):
        from cobol.errors import FormatError
        raise FormatError("always rejected")

    return {f"_selftest-{k}": Target(f"_selftest-{k}", f, make) for k, f in
            (("segv", segv), ("hang", hang), ("alloc", alloc), ("index", index), ("net", netted), ("fine", fine))}


def _with_view(t: Target, split, join) -> Target:
    t.view = (split, join)
    return t


def all_targets() -> dict:
    t = {
        "raw": _transform_target("raw", _raw_inputs),
        "numeric": _with_view(_transform_target("numeric", _numeric_inputs), _numeric_split, _numeric_join),
        "csv": _with_view(_transform_target("csv", _csv_inputs), _csv_split, _csv_join),
        "json": _transform_target("json", _json_inputs),
        "xml": _transform_target("xml", _markup_inputs(False)),
        "html": _transform_target("html", _markup_inputs(True)),
        "l1": _transform_target("l1", _text_inputs),
        "log": _transform_target("log", _log_inputs),
        "intcodec": _intcodec_target(),
        "intcodec-numpy": _intcodec_numpy_target(),
        "log-numpy": _log_numpy_target(),
        "search-index": _search_index_target(),


        "log-refs": _log_refs_target(),
        "log-messages": _log_messages_target(),
        "log-messages-grep": _log_messages_grep_target(),
        "log-words": _log_words_target(),
        "log-words-grep": _log_messages_grep_target(words=True),
        "bitpack": _bitpack_target(None),
        "delta": _delta_target(None),
        "frame-csv": _frame_target("csv", _csv_inputs, lambda kw: kw),
        "frame-json": _frame_target("json", _json_inputs, lambda kw: kw),
        "frame-xml": _frame_target("xml", _markup_inputs(False), lambda kw: kw),
        "frame-html": _frame_target("html", _markup_inputs(True), lambda kw: kw),
        "frame-l1": _frame_target("l1", _text_inputs, lambda kw: kw),
        "frame-log": _frame_target("log", _log_inputs, lambda kw: kw),
        "frame-numeric": _frame_target("numeric", _numeric_inputs,
                                       lambda kw: {"hints": kw["hints"]} if kw.get("hints") else {}),
        "frame-zstd": _frame_target("zstd", _text_inputs, lambda kw: {}),
        "codec-ppmd": _ppmd_codec_target(),
        "frame-ppmd": _frame_ppmd_target(),
        "codec-brotli": _brotli_codec_target(),
        "codec-hex": _hex_codec_target(),
        "stream-block": _stream_block_target(),
        "stream-message": _stream_message_target(),
        # accelerator backends' decoders, called directly (the layers reach them
        # for batches of 64 Ki values and up, on a device backend)
        "bitpack@cpu": _bitpack_target("cpu"),
        "bitpack@opencl": _bitpack_target("opencl"),
        "varint@cpu": _varint_target("cpu"),
        "varint@opencl": _varint_target("opencl"),
        "delta@cpu": _delta_target("cpu"),
        "delta@opencl": _delta_target("opencl"),
    }
    for b in ("bitpack", "varint", "delta"):
        d = _differential_target(t[f"{b}@cpu"], "opencl")
        t[d.name] = d
    t["bundle"] = _bundle_target()
    t["frame-dict"] = _frame_dict_target()
    t["dictionary-file"] = _dictionary_file_target()
    t["json-dict"] = _json_dict_target()
    t["json-dict-section"] = _json_dict_section_target()
    try:
        from cobol.registry import all_transforms
        import cobol.engine  # noqa: F401  (registers the transforms)
        for tr in all_transforms():
            if tr.name not in t:
                t[tr.name] = _transform_target(tr.name, _inputs_for_formats(tr.formats))
                t[tr.name].note = "added automatically from its formats"
    except ImportError:
        pass
    t.update(_selftest_targets())
    return t


#: what runs when no --targets are given (the selftests and the slow OpenCL ones are asked for by name)
DEFAULT_TARGETS = ("raw", "numeric", "csv", "json", "xml", "html", "l1", "intcodec", "bitpack", "delta",
                   "frame-csv", "frame-json", "frame-xml", "frame-html", "frame-l1", "frame-numeric",
                   "frame-zstd", "frame-dict", "bundle", "dictionary-file", "stream-block", "stream-message",
                   "bitpack@cpu", "varint@cpu", "delta@cpu", "codec-ppmd", "frame-ppmd", "codec-brotli", "codec-hex", "json-dict",
                   "json-dict-section", "log", "frame-log", "intcodec-numpy", "log-numpy", "search-index", "log-refs",
                   "log-words", "log-words-grep")


def default_targets() -> list:
    """DEFAULT_TARGETS plus any transform registered since (fuzzed from its formats)."""
    extra = [n for n, t in all_targets().items() if t.note == "added automatically from its formats"]
    return list(DEFAULT_TARGETS) + [n for n in extra if n not in DEFAULT_TARGETS]
