"""Entropy codecs applied to every stream: zstd (python-zstandard), PPMd
(cobol.entropy_ppmd, high levels only), brotli, hex (runs of hex digits packed,
the rest with one of the others: cobol.hexcodec) or none.

Streams are coded without zstd's own content size, checksum and dictionary id
fields: the block's stream table already records the decoded length and the
block checksum covers the result, so those bytes would be paid twice.

Codec 2 (``zstd-dict``) is zstd with the frame's shared dictionary
(:mod:`cobol.dictionary`), in zstd's *magicless* format: the 4-byte zstd magic
number says nothing the codec id does not, and on a 1 KB message every byte
counts. It is only valid in a frame that names a dictionary (docs/FORMAT.md).

Codec 3 (``ppmd``) is PPMd variant H with the 7z range coder (7-Zip's
``Ppmd7``, as in .7z; coded with our memory-safe Numba port,
:mod:`cobol.entropy_ppmd`, byte-identical to 7-Zip's / pyppmd's): a
context-mixing model that codes prose and other
text-like streams 10-25% smaller than zstd -19, but decodes at ~10-20 MB/s
instead of hundreds. So :func:`entropy_code` only tries it at levels >=
:data:`PPMD_MIN_LEVEL`, on streams of at least :data:`PPMD_MIN_SIZE` bytes,
and keeps it only when it beats zstd by :data:`PPMD_MIN_GAIN`; the engine's
``layers={"ppmd": False}`` switch turns it off. Its stored bytes: u8 model
order (2..16), u8 memory code (model memory = 1 MiB << code, code 0..8), then
the range coder's bytes without an end mark (the stream table holds the
length). The model memory must also be at most max(1 MiB, 64 x the decoded
length), so a hostile stream can make the decoder reserve neither more than
256 MiB nor more than its share of the block.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import brotli
import zstandard

from .errors import CobolError, DictionaryError, FormatError, LimitError
from .format.frame import block_where
from .format.zstd_frame import zstd_frame_size
from .registry import EntropyCodec, get_codec, register_codec

NONE = 0
ZSTD = 1
ZSTD_DICT = 2
PPMD = 3
BROTLI = 4
HEX = 5

#: levels from which entropy_code also tries ppmd (decodes ~50x slower than zstd;
#: LEVEL_CODING says the same; plan.PPMD_EXCLUDED_FORMATS never get it)
PPMD_MIN_LEVEL = 19
#: streams shorter than this stay with zstd (the model needs text to learn from)
PPMD_MIN_SIZE = 4096
#: ppmd is kept only when at most (1 - PPMD_MIN_GAIN) x the zstd size: a slow
#: decode is not worth a percent
PPMD_MIN_GAIN = 0.03
#: model memory is 1 MiB << code; the decoder refuses larger codes
PPMD_MAX_MEM_CODE = 8
_PPMD_MIN_ORDER, _PPMD_MAX_ORDER = 2, 64  # PPMd var. H's range
#: the model memory a stream may ask for, per decoded byte (the encoder asks for
#: under 2 x 32 at orders above 8, see ppmd_params)
PPMD_MEM_PER_BYTE = 64

_local = threading.local()
_CACHE_MAX = 32


def _cache(name: str) -> dict:
    cache = getattr(_local, name, None)
    if cache is None or len(cache) > _CACHE_MAX:
        cache = {}
        setattr(_local, name, cache)
    return cache


def _check_zstd_end(data, magicless: bool, what: str) -> None:
    size = zstd_frame_size(data, magicless)
    if size != len(data):
        raise FormatError(f"{what} has {len(data) - size} bytes after its zstd frame")


def _zstd_dict(dictionary: bytes | None):
    # zstd's rule: a full dictionary starts with its magic number, anything else is raw content
    return zstandard.ZstdCompressionDict(dictionary) if dictionary else None


def _compressor(level: int, dictionary: bytes | None, magicless: bool = False):
    # ZstdCompressor objects are not thread-safe; keep one per thread, level and
    # dictionary. The key holds the dictionary bytes themselves (hashed once per
    # bytes object), not their id(), which a later object could reuse.
    cache = _cache("cctx")
    key = (level, dictionary, magicless)
    c = cache.get(key)
    if c is None:
        zd = _zstd_dict(dictionary)
        if magicless:
            params = zstandard.ZstdCompressionParameters(
                compression_level=level, format=zstandard.FORMAT_ZSTD1_MAGICLESS,
                write_content_size=0, write_checksum=0, write_dict_id=0)
            c = zstandard.ZstdCompressor(dict_data=zd, compression_params=params)
        else:
            params = dict(level=level, write_content_size=False, write_checksum=False, write_dict_id=False)
            c = zstandard.ZstdCompressor(dict_data=zd, **params)
        cache[key] = c
    return c


def thread_compressor(level: int):
    """This thread's plain zstd compressor at ``level``, for layers' trial
    compressions (ZstdCompressor objects must not be shared across threads)."""
    return _compressor(level, None)


def _decompressor(dictionary: bytes | None, magicless: bool = False):
    cache = _cache("dctx")
    key = (dictionary, magicless)
    d = cache.get(key)
    if d is None:
        fmt = zstandard.FORMAT_ZSTD1_MAGICLESS if magicless else zstandard.FORMAT_ZSTD1
        d = cache[key] = zstandard.ZstdDecompressor(dict_data=_zstd_dict(dictionary), format=fmt)
    return d


@register_codec
class NoneCodec(EntropyCodec):
    id = NONE
    name = "none"

    def encode(self, data, level, dictionary=None):
        return bytes(data)

    def decode(self, data, decoded_len, dictionary=None):
        if len(data) != decoded_len:
            raise FormatError(f"stored stream is {len(data)} bytes, table says {decoded_len}")
        return bytes(data)


@register_codec
class ZstdCodec(EntropyCodec):
    id = ZSTD
    name = "zstd"

    def encode(self, data, level, dictionary=None):
        return _compressor(level, dictionary).compress(data)

    def decode(self, data, decoded_len, dictionary=None):
        try:
            # python-zstandard sizes its output from a content size in the frame
            # header and ignores max_output_size then: a 20-byte hostile frame
            # could ask for 2**64 bytes. Our frames carry none (-1); accept at
            # most one that agrees with the stream table.
            declared = zstandard.frame_content_size(data)
            if declared not in (-1, decoded_len):
                raise FormatError(f"zstd frame declares {declared} bytes, table says {decoded_len}")
            _check_zstd_end(data, False, "zstd stream")
            out = _decompressor(dictionary).decompress(data, max_output_size=max(decoded_len, 1),
                                                       allow_extra_data=False)
        except zstandard.ZstdError as e:
            raise FormatError(f"zstd stream does not decode: {e}") from None
        if len(out) != decoded_len:
            raise FormatError(f"zstd stream decoded to {len(out)} bytes, table says {decoded_len}")
        return out


@register_codec
class ZstdDictCodec(EntropyCodec):
    """A magicless zstd frame coded with the frame dictionary's zstd dictionary.

    ``dictionary`` is those zstd dictionary bytes (``b""`` when the shared
    dictionary has none); None means the frame names no dictionary, where this
    codec is invalid."""

    id = ZSTD_DICT
    name = "zstd-dict"

    def encode(self, data, level, dictionary=None):
        if dictionary is None:
            raise DictionaryError("codec zstd-dict needs the frame's dictionary")
        return _compressor(level, dictionary, magicless=True).compress(data)

    def decode(self, data, decoded_len, dictionary=None):
        if dictionary is None:
            raise DictionaryError("stream coded with the frame's dictionary (codec zstd-dict), but the frame names none")
        try:
            # as in ZstdCodec.decode: never let a declared content size size the output
            declared = zstandard.get_frame_parameters(data, format=zstandard.FORMAT_ZSTD1_MAGICLESS).content_size
            if declared not in (zstandard.CONTENTSIZE_UNKNOWN, decoded_len):
                raise FormatError(f"zstd frame declares {declared} bytes, table says {decoded_len}")
            _check_zstd_end(data, True, "zstd-dict stream")
            out = _decompressor(dictionary, magicless=True).decompress(data, max_output_size=max(decoded_len, 1),
                                                                       allow_extra_data=False)
        except zstandard.ZstdError as e:
            raise FormatError(f"zstd-dict stream does not decode: {e}") from None
        if len(out) != decoded_len:
            raise FormatError(f"zstd-dict stream decoded to {len(out)} bytes, table says {decoded_len}")
        return out


#: model orders the encoder tries, by level (the smallest coding is kept). Order 16
#: against 6, engine at level 19 vs zstd -19, geomeans: dev corpus json 1.443 vs
#: 1.405, xml 1.358 vs 1.296, html 1.296 vs 1.242, text 1.226 vs 1.208, jsonl even;
#: unseen small files (30-900 KB) json 1.239 vs 1.127, xml 1.249 vs 1.207, html
#: 1.225 vs 1.168, text 1.169 vs 1.151. Structured text keeps long contexts that
#: order 6 forgets. Encode and decode speed are about the same.
#: Trying 32 as well and keeping the smaller per stream (unseen files, level 19):
#: json 1.259 vs 1.239, html 1.238 vs 1.225, xml 1.280 vs 1.249, text even, for
#: ~15% more compress time at level 19 (zstd -19 and the transforms dominate).
#: Candidates are compared with the first PPMD_COMPARE_ORDERS orders; only the
#: winner tries the others (COMPARE_ZSTD_LEVEL). Comparing with order 16 alone
#: picked the wrong candidate: on 1 MB of dev HTML the raw block codes 10%
#: smaller at order 32 than at 16 (the markup transform won at 16 and lost 2%),
#: while on unseen prose and JSON lines 32 was 1-10% larger than 16.
PPMD_ORDERS_BY_LEVEL = ((21, (16, 32, 8)), (PPMD_MIN_LEVEL, (16, 32)))
PPMD_COMPARE_ORDERS = 2
#: PPMd orders at levels 6..18, for the detected formats plan.MID_PPMD_FORMATS
#: names (HTML, prose, JSON lines) from their plan.MID_PPMD_MIN_LEVEL; at 10+
#: compared as at 19+ (COMPARE_ZSTD_LEVEL).
#: There zstd 10-18 and brotli 9-10 stayed under bzip3's ratio and compressed
#: slower than it (bzip3 11-33 MB/s, brotli 9-10 1-3 MB/s on the shared VM), so
#: bzip3 dominated levels 12 and 17. PPMd of the raw block against bzip3 (1 MB
#: cuts, CPU time, same run): order 16 1.02-1.05x on dev prose, 0.99-1.13x on
#: dev HTML, 1.12-1.15x on JSON lines, 1.07-1.17x on unseen prose, at 0.4-0.6x
#: bzip3's speed; order 8 was under bzip3 on dev HTML (0.89-0.97x) and a
#: JSON-lines file (0.99x), order 6 under it on five files. Levels 15-18 add
#: order 32 (on 1 MB of dev HTML 10% smaller than 16, see above).
#: Level 9 codes those formats with order 16 too, and HTML gets order 8 from
#: level 6 (plan.MID_PPMD_MIN_LEVEL; branch level-ladder, docs/FRONTIER.md
#: "Seventh session: the level ladder"): with zstd 6-9 and brotli 8-9 those levels
#: stayed under bzip3's ratio (level 9: dev HTML 0.89x, unseen JSON lines 0.84x,
#: dev prose 0.84x; levels 6-8 on unseen HTML 0.99x) at about its speed (dev
#: HTML 19.5 against 18.4 MB/s, unseen HTML 3.5-3.9 against 3.8, unseen JSON
#: lines 9.2 against 10.8), so bzip3 dominated them or nearly. Order 8 at level 9
#: kept only 1-5% over bzip3 on dev prose, dev HTML and unseen JSON lines (order
#: 16: 2-12%), for 1.0-1.3x order 16's speed; on HTML at 6-8 it is 1.05x (dev)
#: and 1.10x (unseen) bzip3. JSON lines take order 8 at 6-8 too (branch
#: level-ladder7): there zstd 6-8 with brotli 8 made level 3's bytes, slower,
#: and bzip3 dominated them; with order 8 unseen JSON lines 11.62 -> 13.60
#: (bzip3 12.91), dev 21.38 -> 22.98 (bytes-weighted), for 0-30% more CPU time.
#: Prose too (branch ladder8): dev 3.67 -> 4.41 (bzip3 4.36), unseen 4.23 -> 4.60.
PPMD_MID_ORDERS_BY_LEVEL = ((15, (16, 32)), (9, (16,)), (6, (8,)))


def ppmd_mid_orders(level: int) -> tuple:
    """The PPMd orders of PPMD_MID_ORDERS_BY_LEVEL for ``level`` (() outside 6..18)."""
    if level >= PPMD_MIN_LEVEL:
        return ()
    for lo, orders in PPMD_MID_ORDERS_BY_LEVEL:
        if level >= lo:
            return orders
    return ()


def ppmd_orders(level: int) -> tuple:
    for lo, orders in PPMD_ORDERS_BY_LEVEL:
        if level >= lo:
            return orders
    return ()


def ppmd_params(level: int, size: int, order: int | None = None) -> tuple[int, int]:
    """(model order, memory code) the encoder uses for a stream of ``size`` bytes.

    ``order`` defaults to the level's first (ppmd_orders). Memory: the model
    takes up to ~12 bytes per input byte at order 6, ~24 at order 8 and ~32 at
    higher orders before it restarts; that, rounded up to a power of two, 1..256 MiB
    (never over PPMD_MEM_PER_BYTE x size, the decoder's bound)."""
    if order is None:
        order = (ppmd_orders(level) or (6,))[0]
    need = size * (12 if order <= 6 else 24 if order <= 8 else 32)
    code = 0
    while code < PPMD_MAX_MEM_CODE and (1 << (20 + code)) < need:
        code += 1
    return order, code


def _ppmd_encode(data, order: int, code: int) -> bytes:
    # our encoder writes pyppmd's Ppmd7Encoder(order, mem) bytes (tests/test_ppmd7.py)
    # at the same speed, without pyppmd 1.3.1's byte dropped at 32 KiB boundaries
    from . import entropy_ppmd  # on first use: its Numba kernels serve levels >= 19 only
    return bytes((order, code)) + entropy_ppmd.encode(data, order, 1 << (20 + code))


@register_codec
class PpmdCodec(EntropyCodec):
    """PPMd variant H (7z's Ppmd7): u8 order, u8 memory code, range coder bytes."""

    id = PPMD
    name = "ppmd"

    def encode(self, data, level, dictionary=None):
        return _ppmd_encode(data, *ppmd_params(level, len(data)))

    def decode(self, data, decoded_len, dictionary=None):
        if len(data) < 2 + 5:
            # the range coder's flush alone writes 5 bytes
            raise FormatError(f"ppmd stream of {len(data)} bytes is shorter than its 7-byte minimum")
        order, code = data[0], data[1]
        if not _PPMD_MIN_ORDER <= order <= _PPMD_MAX_ORDER:
            raise FormatError(f"ppmd model order {order} outside {_PPMD_MIN_ORDER}..{_PPMD_MAX_ORDER}")
        if code > PPMD_MAX_MEM_CODE:
            raise FormatError(f"ppmd memory code {code} over {PPMD_MAX_MEM_CODE} (1 MiB << code)")
        if decoded_len <= 0 or decoded_len >= 1 << 31:
            raise FormatError(f"ppmd stream decoded length {decoded_len} outside 1..2**31-1")
        if code > 0 and (1 << (20 + code)) > PPMD_MEM_PER_BYTE * decoded_len:
            raise FormatError(f"ppmd model memory {1 << code} MiB is over {PPMD_MEM_PER_BYTE} x the "
                              f"{decoded_len}-byte stream")
        from . import entropy_ppmd
        try:
            return entropy_ppmd.decode(memoryview(data)[2:], order, 1 << (20 + code), decoded_len)
        except MemoryError:
            raise LimitError(f"ppmd model memory of {1 << code} MiB cannot be allocated") from None


def _ppmd_try(data, level: int, beat: int, orders: tuple | None = None) -> bytes | None:
    """The smallest ppmd coding of ``data`` over ``orders`` (default: the
    level's) when it is at most (1 - PPMD_MIN_GAIN) x ``beat`` bytes, else None.

    Not decoded back: the encoder (cobol.entropy_ppmd) writes 7-Zip's bytes
    (tests/test_ppmd7.py holds it to pyppmd) without pyppmd 1.3's byte dropped
    at 32 KiB output boundaries, which is what the decode-back check and its
    retries at lower orders were for (tests/test_properties.py decodes every
    order's coding back)."""
    best = None
    for order in orders or ppmd_orders(level):
        try:
            p = _ppmd_encode(data, *ppmd_params(level, len(data), order))
        except Exception as e:  # pragma: no cover - encoder failure (a bug): keep zstd
            import logging  # (here: decoders, cobol grep among them, never load it)
            logging.getLogger("cobol").warning("ppmd encode failed (%s); keeping zstd", e)
            continue
        if best is None or len(p) < len(best):
            best = p
    if best is None or len(best) > beat * (1.0 - PPMD_MIN_GAIN):
        return None
    return best


#: brotli's largest standard window (RFC 7932: 16 MiB - 16); the encoder sizes the
#: window to the stream, never above this
BROTLI_MAX_LGWIN = 24
#: brotli is kept only when at most (1 - BROTLI_MIN_GAIN) x the zstd size: it
#: decodes at ~300-600 MB/s where zstd does 1-2 GB/s
BROTLI_MIN_GAIN = 0.01
#: streams shorter than this are not tried with brotli (zstd codes them as well)
BROTLI_MIN_SIZE = 256
#: the brotli quality a codec-4 stream is written with when the level gives none
#: (``BrotliCodec.encode``)
BROTLI_DEFAULT_QUALITY = 5


def brotli_lgwin(size: int) -> int:
    """The window (log2) for a stream of ``size`` bytes: just large enough to
    reach back over the whole stream (the decoder's ring buffer follows it)."""
    return max(16, min(BROTLI_MAX_LGWIN, (max(size, 1) - 1).bit_length()))


def brotli_encode(data, quality: int) -> bytes:
    return brotli.compress(bytes(data), quality=quality, lgwin=brotli_lgwin(len(data)))


@register_codec
class BrotliCodec(EntropyCodec):
    """Brotli (RFC 7932) at the level's quality: context modelling and a static
    dictionary of English/markup words that zstd lacks. Stored bytes: one
    brotli stream, nothing else (the stream table holds the decoded length)."""

    id = BROTLI
    name = "brotli"

    def encode(self, data, level, dictionary=None):
        return brotli_encode(data, stream_coding(level).brotli or BROTLI_DEFAULT_QUALITY)

    def decode(self, data, decoded_len, dictionary=None):
        d = brotli.Decompressor()
        try:
            # the output buffer stops growing at the limit (one growth step over
            # at most), so a hostile stream cannot make it allocate more
            # (the payload's view as it is: the binding reads any buffer, a bytes copy bought nothing)
            out = d.process(data, output_buffer_limit=max(decoded_len, 1))
        except brotli.error as e:
            # also raised for bytes after the stream's last meta-block
            raise FormatError(f"brotli stream does not decode: {e}") from None
        if len(out) != decoded_len or not d.is_finished():
            more = len(out) > decoded_len or not d.can_accept_more_data()
            raise FormatError(f"brotli stream decodes to {'more' if more else 'fewer'} bytes than the "
                              f"table's {decoded_len}")
        return out


#: a stream is tried with the hex codec only when its digits in packable runs
#: (cobol.hexcodec) add up to this many bytes and this share of it
HEX_MIN_DIGITS = 512
HEX_MIN_SHARE = 0.05
#: the codecs the rest of a hex stream (codec 5) may have, and its run table
HEX_REST_CODECS = (NONE, ZSTD, BROTLI)
HEX_TABLE_CODECS = (NONE, ZSTD)


def hex_encode(data, rest_codec: int, zstd_level: int, brotli_quality_: int = 0) -> bytes | None:
    """``data`` as a codec-5 stream (:mod:`cobol.hexcodec`): its runs of hex
    digits packed, the rest coded with ``rest_codec`` (zstd at ``zstd_level``,
    brotli at ``brotli_quality_``; none when that is not smaller); None when the
    stream has too few such digits to try."""
    from . import hexcodec  # Numba kernels: only for streams that get here
    from .format.wire import put_varint
    data = bytes(data)
    runs = hexcodec.packable(data, HEX_MIN_DIGITS, HEX_MIN_SHARE)
    if runs is None:
        return None
    rest, table, nib = hexcodec.split(data, runs)
    if rest_codec == BROTLI and len(rest) >= BROTLI_MIN_SIZE:
        rest_stored = brotli_encode(rest, brotli_quality_ or BROTLI_DEFAULT_QUALITY)
    elif rest_codec in (ZSTD, BROTLI) and len(rest) >= 16:
        rest_codec, rest_stored = ZSTD, _compressor(zstd_level, None).compress(rest)
    else:
        rest_codec, rest_stored = NONE, rest
    if len(rest_stored) >= len(rest):
        rest_codec, rest_stored = NONE, rest
    table_codec, table_stored = ZSTD, _compressor(max(zstd_level, 1), None).compress(table)
    if len(table_stored) >= len(table):
        table_codec, table_stored = NONE, table
    out = bytearray((rest_codec,))
    put_varint(out, len(rest))
    put_varint(out, len(rest_stored))
    out.append(table_codec)
    put_varint(out, len(table))
    put_varint(out, len(table_stored))
    out += rest_stored
    out += table_stored
    out += nib
    return bytes(out)


@register_codec
class HexCodec(EntropyCodec):
    """Runs of hex digits packed two to a byte, the rest of the stream coded
    with zstd or brotli (:mod:`cobol.hexcodec` has the layout)."""

    id = HEX
    name = "hex"

    def encode(self, data, level, dictionary=None):
        out = hex_encode(data, ZSTD, level)
        if out is None:
            raise ValueError("the hex codec needs a stream with runs of hex digits (hexcodec.packable)")
        return out

    def decode(self, data, decoded_len, dictionary=None):
        from . import hexcodec
        from .format.wire import Reader
        r = Reader(data, what="hex stream")
        rest_codec = r.u8("rest codec")
        if rest_codec not in HEX_REST_CODECS:
            raise FormatError(f"hex stream: rest codec {rest_codec} is not one of {HEX_REST_CODECS}")
        rest_len = r.varint("rest length", decoded_len)
        rest_stored = r.varint("rest stored length", r.remaining)
        table_codec = r.u8("run table codec")
        if table_codec not in HEX_TABLE_CODECS:
            raise FormatError(f"hex stream: run table codec {table_codec} is not one of {HEX_TABLE_CODECS}")
        table_len = r.varint("run table length", decoded_len)
        table_stored = r.varint("run table stored length", r.remaining)
        rest_payload = r.view(rest_stored, "rest")
        table_payload = r.view(table_stored, "run table")
        nib = r.view(r.remaining, "digits")
        rest = get_codec(rest_codec).decode(rest_payload, rest_len)
        table = get_codec(table_codec).decode(table_payload, table_len)
        try:
            return hexcodec.join(rest, table, nib, decoded_len)
        except ValueError as e:
            raise FormatError(f"hex stream: {e}") from None


@dataclass(frozen=True)
class StreamCoding:
    """How a cobol level codes its streams (see LEVEL_CODING)."""

    #: zstd level every stream is coded with
    zstd: int
    #: brotli quality also tried on text-like blocks' streams (0: not tried)
    brotli: int = 0
    #: whether ppmd is also tried (plan.ppmd_enabled adds the user's switch)
    ppmd: bool = False
    #: zstd level the candidate transforms are compared with (0: ``zstd``
    #: itself); the winner alone is then coded at ``zstd`` (:func:`provisional_code`,
    #: :func:`final_code`)
    compare: int = 0
    #: brotli quality for blocks over BROTLI_LARGE_BLOCK bytes (0: ``brotli``)
    brotli_large: int = 0


#: zstd level the top levels (19+) compare candidate transforms with. Coding
#: every candidate's streams with zstd -19 and every PPMd order, then the winner
#: with brotli -11, made levels 19-22 compress at 0.2-0.8 MB/s (a 480 KB prose
#: file at level 19: 4 PPMd passes 55% of the CPU, 3 zstd -19 passes 43%).
#: Candidates are now compared with zstd -9 (50-100x cheaper than -19) and
#: PPMd's first PPMD_COMPARE_ORDERS orders, and only the winner is coded with
#: zstd -19 (where PPMd does not clearly win) and the further orders
#: (:func:`final_code`).
COMPARE_ZSTD_LEVEL = 9
#: a PPMd coding at most this fraction of zstd's size at the compare level is
#: kept without running zstd at the block's level: on 31 files (dev html, text,
#: jsonl and the unseen set) zstd -19 was 0.77-0.98x zstd -9 and PPMd order 16
#: 0.59-0.91x zstd -19, so where PPMd is 10% under zstd -9 it beat zstd -19 by
#: more than PPMD_MIN_GAIN on every file. Not on other formats: on a CSV of
#: 100,000 short numeric rows zstd -19 was 0.8x PPMd, itself under 0.9x zstd -9.
PPMD_SURE_FRACTION = 0.90
#: zstd at level 19 was never under this fraction of zstd -9 (same 31 files:
#: 0.77): a plan this much under the raw block's compare size needs no plain
#: zstd -19 of the block to know it is smaller (plan.finish_plan)
ZSTD_STRONG_FLOOR = 0.75

#: blocks over this size are coded with StreamCoding.brotli_large where the level
#: names one: levels 19-20 code them with brotli 10 instead of 11, levels 21-22
#: keep 11. On the dev JSON and XML files (cut at 1 MB) level 19 with quality
#: 10 made 1.3% larger frames at 1.85x the compression speed (2.00 instead of
#: 1.08 MB/s on the build VM; zstd -19 makes 2.5-3.0 there): brotli -11 was
#: 80% of level 19's time on JSON. Small blocks (most unseen files) keep 11:
#: their time goes to per-call costs.
BROTLI_LARGE_BLOCK = 256 << 10

#: cobol level -> stream coding, for levels at or above each key (the highest
#: key not above the level applies). zstd keeps the level's own number, so
#: "never larger than plain zstd at the same level" holds stream by stream.
#: Brotli qualities (were 4 at levels 1-2, 5 at 3-11, 8 at 12-16) measured on
#: the dev corpus (2 MB per file) and the unseen set, bytes-weighted ratios
#: (docs/FRONTIER.md, text-planner): quality 6 at level 3 gains 0.2-2.9%
#: (unseen jsonl 9.80 -> 10.08, past brotli -7's 9.94) for 0-12% more CPU time
#: (prose: -12%); 8 at level 6 gains 0.8-8% (unseen jsonl 9.77 -> 10.56, past
#: brotli -9's 10.30); 9 at level 9 0.9-6% for up to 30% more time. At levels
#: 6-11 zstd -6..-11 beat brotli 5 on most streams: that trial was time spent
#: for nothing. Level 1 gets quality 6 too: its time is the transforms' (it was
#: 0-14% faster than level 3 with quality 5, 2-10% with 6), and with 5 it was
#: dominated by brotli -7 on unseen JSON lines (9.87 vs 10.03 at twice the speed).
LEVEL_CODING = {
    1: StreamCoding(1, brotli=6),
    6: StreamCoding(6, brotli=8),
    9: StreamCoding(9, brotli=9),
    17: StreamCoding(17, brotli=10),
    19: StreamCoding(19, brotli=11, ppmd=True, compare=COMPARE_ZSTD_LEVEL, brotli_large=10),
    21: StreamCoding(21, brotli=11, ppmd=True, compare=COMPARE_ZSTD_LEVEL),
}


def stream_coding(level: int) -> StreamCoding:
    key = max((k for k in LEVEL_CODING if k <= level), default=None)
    if key is None:
        return StreamCoding(max(level, 1))
    c = LEVEL_CODING[key]
    return StreamCoding(level, c.brotli, c.ppmd, c.compare if c.compare < level else 0, c.brotli_large)


def entropy_code(data, level: int, dictionary: bytes | None = None, ppmd: bool = False,
                 ppmd_orders: tuple | None = None) -> tuple[int, bytes]:
    """Code one stream: zstd at ``level`` unless that does not make it smaller.

    ``dictionary``: the frame dictionary's zstd dictionary bytes (``b""`` for a
    shared dictionary without one), or None when the frame names no dictionary.
    With one, the stream is coded with codec zstd-dict (and ppmd is not tried).

    ``ppmd``: also try codec ppmd (when the level is at least PPMD_MIN_LEVEL and
    the stream at least PPMD_MIN_SIZE bytes) and keep it when it beats zstd by
    PPMD_MIN_GAIN. ``ppmd_orders``: with ``ppmd``, try these orders, at any level
    (a transform's Encoded.ppmd_orders)."""
    if level <= 0 or len(data) < (1 if dictionary is not None else 16):
        return NONE, bytes(data)
    if dictionary is not None:
        codec, z = ZSTD_DICT, _compressor(level, dictionary, magicless=True).compress(data)
    else:
        codec, z = ZSTD, _compressor(level, None).compress(data)
    if len(z) >= len(data):
        codec, z = NONE, bytes(data)
    if ppmd and dictionary is None and (level >= PPMD_MIN_LEVEL or ppmd_orders) and len(data) >= PPMD_MIN_SIZE:
        data = bytes(data)
        p = _ppmd_try(data, level, len(z), ppmd_orders)
        if p is not None:
            return PPMD, p
    return codec, z


def provisional_code(data, compare_level: int, level: int, ppmd_orders: tuple = ()) -> tuple[int, bytes, int]:
    """A cheaper coding of one stream for comparing candidate transforms at a
    level with a compare level (StreamCoding.compare): zstd at
    ``compare_level``, or PPMd at the best of ``ppmd_orders`` (memory sized for
    ``level``) where it beats that by PPMD_MIN_GAIN. Returns (codec, bytes,
    size of the zstd coding at ``compare_level``), the last for :func:`final_code`."""
    codec, z = entropy_code(data, compare_level)
    if ppmd_orders and len(data) >= PPMD_MIN_SIZE:
        p = _ppmd_try(bytes(data), level, len(z), tuple(ppmd_orders))
        if p is not None:
            return PPMD, p, len(z)
    return codec, z, len(z)


#: PPMd streams of at least this many bytes at levels PPMD_MIN_LEVEL+ estimate
#: zstd's size at the level from a sample (:func:`_zstd_estimate`) before they
#: code the whole stream with it: zstd -19 of a PPMd stream that PPMd then
#: keeps was 51-57% of level 19's CPU on dev and unseen JSON lines (vega-movies,
#: 1.28 MB: 1.02 of 1.78 s). Not a fixed floor (ZSTD_STRONG_FLOOR): on
#: vega-flights a 412 KB JSON-transform stream coded 0.29x smaller at -19 than at -9.
ZSTD_ESTIMATE_MIN = 64 << 10
#: the sample: this many windows of ZSTD_ESTIMATE_WINDOW bytes (at most a
#: sixteenth of the stream each) spread over the stream
ZSTD_ESTIMATE_WINDOWS = 4
ZSTD_ESTIMATE_WINDOW = 32 << 10
#: PPMd is kept without zstd at the level when at most this fraction of the
#: estimate: PPMD_MIN_GAIN and a 5% margin for the estimate's error
ZSTD_ESTIMATE_KEEP = (1.0 - PPMD_MIN_GAIN) * 0.95


def _zstd_estimate(data: bytes, compare_size: int, level: int) -> float:
    """zstd's size at ``level`` for ``data``, estimated as ``compare_size``
    (zstd at COMPARE_ZSTD_LEVEL) times the ratio of the two levels' sizes on a
    sample of the stream (0 for streams under ZSTD_ESTIMATE_MIN: coded whole)."""
    n, k = len(data), ZSTD_ESTIMATE_WINDOWS
    w = min(ZSTD_ESTIMATE_WINDOW, n // (4 * k))
    if n < ZSTD_ESTIMATE_MIN:
        return 0.0
    sample = b"".join(data[j * (n - w) // (k - 1):j * (n - w) // (k - 1) + w] for j in range(k))
    at_compare = len(_compressor(COMPARE_ZSTD_LEVEL, None).compress(sample))
    at_level = len(_compressor(level, None).compress(sample))
    return compare_size * at_level / max(at_compare, 1)


def final_code(data, codec: int, coded: bytes, compare_size: int, level: int,
               more_orders: tuple = (), sure: bool = False) -> tuple[int, bytes]:
    """The stored coding of a stream of the chosen plan from its
    :func:`provisional_code` result: PPMd is kept (also tried at
    ``more_orders``, the smallest kept) when it beats zstd at ``level`` by
    PPMD_MIN_GAIN, or with ``sure`` (formats where PPMD_SURE_FRACTION was
    measured) when it is under PPMD_SURE_FRACTION x ``compare_size``, or at
    levels PPMD_MIN_LEVEL+ when it is under ZSTD_ESTIMATE_KEEP x zstd's size
    estimated from a sample (:func:`_zstd_estimate`); every other
    stream is coded with zstd at ``level`` (:func:`entropy_code`)."""
    if codec != PPMD:
        return entropy_code(data, level)
    data = bytes(data)
    best = coded
    for order in more_orders:
        p = _ppmd_encode(data, *ppmd_params(level, len(data), order))
        if len(p) < len(best):
            best = p
    if sure and len(best) <= PPMD_SURE_FRACTION * compare_size:
        return PPMD, best
    if level >= PPMD_MIN_LEVEL and len(best) <= _zstd_estimate(data, compare_size, level) * ZSTD_ESTIMATE_KEEP:
        return PPMD, best
    zc, z = entropy_code(data, level)
    if len(best) <= len(z) * (1.0 - PPMD_MIN_GAIN):
        return PPMD, best
    return zc, z


def decode_streams(block, zdict: bytes | None = None, where: str | None = None) -> list:
    """A parsed data block's stored streams through their codecs (the stream
    table's memory bound is the caller's to check first:
    ``format.frame.check_stream_table``). ``zdict``: the shared dictionary's
    zstd part for ZSTD_DICT streams; ``where`` names the block in messages
    (default: ``format.frame.block_where``)."""
    out = []
    for i, (e, payload) in enumerate(zip(block.streams, block.payloads)):
        try:
            if e.codec == ZSTD_DICT:
                out.append(get_codec(e.codec).decode(payload, e.decoded_len, zdict))
            else:
                out.append(get_codec(e.codec).decode(payload, e.decoded_len))
        except CobolError as exc:
            raise type(exc)(f"{where or block_where(block)}, stream {i}: {exc}") from None
        except MemoryError:
            raise LimitError(f"{where or block_where(block)}, stream {i}: out of memory decoding {e.decoded_len} "
                             f"bytes") from None
    return out
