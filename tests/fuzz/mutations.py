"""Mutations: byte-level (flips, truncations, varints) and structural (swapped,
dropped, spliced streams, params, raw length), and frame-aware ones."""

from __future__ import annotations


from .common import MiB
from .targets import Input


INTERESTING_VARINTS = (0, 1, 2, 3, 7, 8, 63, 64, 127, 128, 255, 256, 4095, 4096, 65535, 65536,
                       2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**53, 2**62, 2**63 - 1, 2**63, 2**64 - 1)
INTERESTING_BYTES = (0x00, 0x01, 0x02, 0x03, 0x07, 0x08, 0x10, 0x1F, 0x20, 0x3F, 0x40, 0x41, 0x7E, 0x7F,
                     0x80, 0x81, 0xFE, 0xFF)


def _varint(v: int) -> bytes:
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def _read_varint(buf, pos):
    """(value, end) of a minimal varint at pos, or None."""
    v = shift = 0
    for i in range(10):
        if pos + i >= len(buf):
            return None
        b = buf[pos + i]
        v |= (b & 0x7F) << shift
        if not b & 0x80:
            return v, pos + i + 1
        shift += 7
    return None


class Case:
    """One mutable case: streams and params as bytearrays, the raw length, a log."""

    def __init__(self, inp: Input, pool: list):
        self.streams = [bytearray(s) for s in inp.streams]
        self.params = bytearray(inp.params)
        self.raw_len = inp.raw_len
        self.pool = pool  # other inputs of the same target (for splicing)
        self.log: list = []

    # a buffer is ("p", None) for the params or ("s", i)
    def buffers(self):
        out = [("p", None)] if self.params else []
        out += [("s", i) for i in range(len(self.streams))]
        return out

    def get(self, ref):
        return self.params if ref[0] == "p" else self.streams[ref[1]]

    def name(self, ref):
        return "params" if ref[0] == "p" else f"stream{ref[1]}"


def _pos(rng, buf, head_bias=True):
    # the headers (counts, lengths) sit at the front: favour it
    if head_bias and rng.random() < 0.5:
        return rng.randrange(min(len(buf), 24))
    return rng.randrange(len(buf))


def m_flip(rng, c: Case, ref, buf):
    k = rng.choice((1, 1, 2, 3, 8))
    for _ in range(k):
        p = _pos(rng, buf)
        bit = rng.randrange(8)
        buf[p] ^= 1 << bit
    c.log.append(f"flip {k} bit(s) in {c.name(ref)}")


def m_byte(rng, c: Case, ref, buf):
    p = _pos(rng, buf)
    v = rng.choice(INTERESTING_BYTES) if rng.random() < 0.7 else rng.randrange(256)
    c.log.append(f"{c.name(ref)}[{p}] {buf[p]:#x} -> {v:#x}")
    buf[p] = v


def m_truncate(rng, c: Case, ref, buf):
    n = rng.choice((0, rng.randrange(len(buf) + 1), len(buf) - 1, len(buf) // 2, rng.randrange(min(len(buf), 16) + 1)))
    n = max(0, n)
    c.log.append(f"truncate {c.name(ref)} {len(buf)} -> {n}")
    del buf[n:]


def m_extend(rng, c: Case, ref, buf):
    k = rng.choice((1, 2, 7, 64, 1000))
    how = rng.choice(("zeros", "ff", "random", "repeat"))
    ext = {"zeros": bytes(k), "ff": b"\xff" * k, "random": rng.randbytes(k),
           "repeat": (bytes(buf[-8:]) or b"\x01") * (k // 8 + 1)}[how][:k]
    buf += ext
    c.log.append(f"extend {c.name(ref)} by {k} {how} bytes")


def m_delete(rng, c: Case, ref, buf):
    p = _pos(rng, buf)
    k = rng.choice((1, 1, 2, 4, 16, 256))
    c.log.append(f"delete {c.name(ref)}[{p}:{p + k}]")
    del buf[p:p + k]


def m_insert(rng, c: Case, ref, buf):
    p = _pos(rng, buf)
    k = rng.choice((1, 1, 2, 4, 16, 256))
    if buf and rng.random() < 0.5:
        a = rng.randrange(len(buf))
        ins = bytes(buf[a:a + k])
        how = "copy"
    else:
        ins = rng.randbytes(k)
        how = "random"
    buf[p:p] = ins
    c.log.append(f"insert {len(ins)} {how} bytes at {c.name(ref)}[{p}]")


def m_varint(rng, c: Case, ref, buf):
    p = _pos(rng, buf)
    got = _read_varint(buf, p)
    old, end = got if got is not None else (None, p + 1)
    choices = list(INTERESTING_VARINTS) + [c.raw_len, c.raw_len + 1, max(c.raw_len - 1, 0), 2 * c.raw_len + 7,
                                           len(buf), len(buf) + 1]
    if old is not None:
        choices += [old + 1, max(old - 1, 0), old * 2, old * 256, old + 2**32]
    v = rng.choice(choices) % 2**64
    c.log.append(f"varint at {c.name(ref)}[{p}] {old} -> {v}")
    buf[p:end] = _varint(v)


def m_overlong(rng, c: Case, ref, buf):
    p = _pos(rng, buf)
    got = _read_varint(buf, p)
    end = got[1] if got else p + 1
    bad = rng.choice((b"\xff" * 9 + b"\x01", b"\xff" * 10, b"\x80" * 9 + b"\x00", b"\x80\x00", b"\xff" * 9 + b"\x7f",
                      b"\xff" * 12))
    c.log.append(f"bad varint {bad.hex()} at {c.name(ref)}[{p}]")
    buf[p:end] = bad


def m_fill(rng, c: Case, ref, buf):
    p = _pos(rng, buf)
    k = rng.choice((1, 2, 4, 8, 32, 1024))
    v = rng.choice((0, 0xFF, 0x80, 0x7F))
    end = min(len(buf), p + k)
    buf[p:end] = bytes([v]) * (end - p)
    c.log.append(f"fill {c.name(ref)}[{p}:{end}] with {v:#x}")


def m_random_stream(rng, c: Case, ref, buf):
    n = rng.choice((len(buf), 0, 1, 3, rng.randrange(64)))
    buf[:] = rng.randbytes(n)
    c.log.append(f"{c.name(ref)} := {n} random bytes")


BYTE_MUTATIONS = (
    (m_flip, 6), (m_byte, 6), (m_truncate, 3), (m_extend, 2), (m_delete, 2), (m_insert, 2),
    (m_varint, 6), (m_overlong, 1), (m_fill, 2), (m_random_stream, 1),
)


def s_swap(rng, c: Case):
    if len(c.streams) < 2:
        return False
    i, j = rng.sample(range(len(c.streams)), 2)
    c.streams[i], c.streams[j] = c.streams[j], c.streams[i]
    c.log.append(f"swap streams {i} and {j}")
    return True


def s_drop(rng, c: Case):
    if not c.streams:
        return False
    i = rng.randrange(len(c.streams))
    del c.streams[i]
    c.log.append(f"drop stream {i}")
    return True


def s_dup(rng, c: Case):
    if not c.streams:
        return False
    i = rng.randrange(len(c.streams))
    c.streams.insert(rng.randrange(len(c.streams) + 1), bytearray(c.streams[i]))
    c.log.append(f"duplicate stream {i}")
    return True


def s_add(rng, c: Case):
    n = rng.choice((0, 1, 5, 300))
    c.streams.insert(rng.randrange(len(c.streams) + 1), bytearray(rng.randbytes(n)))
    c.log.append(f"insert a stream of {n} random bytes")
    return True


def s_empty(rng, c: Case):
    if not c.streams:
        return False
    i = rng.randrange(len(c.streams))
    c.streams[i] = bytearray()
    c.log.append(f"empty stream {i}")
    return True


def s_splice(rng, c: Case):
    """A stream or the params of another input of the same target: valid on its
    own, inconsistent with the rest (counts that disagree across streams)."""
    others = [o for o in c.pool if o.streams]
    if not others:
        return False
    o = rng.choice(others)
    if rng.random() < 0.25 and o.params:
        c.params = bytearray(o.params)
        c.log.append(f"params from {o.label}")
        return True
    i = rng.randrange(len(o.streams))
    j = min(i, len(c.streams) - 1) if c.streams and rng.random() < 0.8 else rng.randrange(len(c.streams) + 1)
    if j < len(c.streams) and j >= 0 and c.streams:
        c.streams[j] = bytearray(o.streams[i])
    else:
        c.streams.append(bytearray(o.streams[i]))
    c.log.append(f"stream {j} := stream {i} of {o.label}")
    return True


def s_params(rng, c: Case):
    how = rng.choice(("empty", "random", "append"))
    if how == "empty":
        c.params = bytearray()
    elif how == "random":
        c.params = bytearray(rng.randbytes(rng.choice((1, 4, 16, 64))))
    else:
        c.params += rng.randbytes(rng.choice((1, 3)))
    c.log.append(f"params {how}")
    return True


def s_rawlen(rng, c: Case):
    old = c.raw_len
    c.raw_len = rng.choice((0, 1, old - 1, old + 1, old + 7, old * 2, old // 2, old + 4096, 64 * MiB - 1))
    c.raw_len = max(0, c.raw_len)
    c.log.append(f"raw_len {old} -> {c.raw_len}")
    return True


STRUCT_MUTATIONS = ((s_swap, 2), (s_drop, 1), (s_dup, 1), (s_add, 1), (s_empty, 2), (s_splice, 3),
                    (s_params, 1), (s_rawlen, 2))


def _weighted(rng, table):
    total = sum(w for _, w in table)
    x = rng.random() * total
    for f, w in table:
        x -= w
        if x < 0:
            return f
    return table[-1][0]


def mutate_case(rng, c: Case) -> None:
    k = rng.choice((1, 1, 1, 2, 2, 3))
    for _ in range(k):
        if rng.random() < 0.2:
            if _weighted(rng, STRUCT_MUTATIONS)(rng, c):
                continue
        refs = [r for r in c.buffers() if len(c.get(r))]
        if not refs:
            s_add(rng, c)
            continue
        # the params and the first (meta) stream hold most of the structure; but
        # params of one version byte (csv) would take every mutation there
        weights = []
        first_stream = True
        for r in refs:
            if r[0] == "p":
                weights.append(0.3 if len(c.params) > 2 else 0.03)
            elif first_stream:
                weights.append(0.4)
                first_stream = False
            else:
                weights.append(0.6 / max(1, len(refs) - 1))
        ref = rng.choices(refs, weights)[0]
        buf = c.get(ref)
        _weighted(rng, BYTE_MUTATIONS)(rng, c, ref, buf)


def mutate_view(rng, c: Case, view) -> None:
    split, join = view
    try:
        logical, vparams = split([bytes(s) for s in c.streams], bytes(c.params))
    except Exception:  # noqa: BLE001 - an input the view does not apply to
        mutate_case(rng, c)
        return
    sub = Case(Input("view", logical, vparams, c.raw_len), [])
    for o in c.pool:  # splice logical streams of the other inputs
        try:
            ol, op = split([bytes(s) for s in o.streams], bytes(o.params))
        except Exception:  # noqa: BLE001
            continue
        sub.pool.append(Input(o.label, ol, op, o.raw_len))
    mutate_case(rng, sub)
    streams, params = join([bytes(s) for s in sub.streams], bytes(sub.params))
    c.streams = [bytearray(s) for s in streams]
    c.params = bytearray(params)
    c.raw_len = sub.raw_len
    c.log.append("view: " + "; ".join(sub.log))


# ------------------------------------------------------------ frame mutations


def _frame_structural(rng, c: Case) -> bool:
    """Parse the frame, mutate one data block's transform streams (after
    entropy decoding) / params / raw_len as a transform case, and write the
    block back with valid CRCs, codec none: the decoder then gets past every
    header check and the transform sees the hostile streams."""
    from cobol.format.frame import (DataBlock, StreamEntry, encode_data_block, iter_frame_records)
    from cobol.registry import get_codec
    blob = bytes(c.streams[0])
    try:
        recs = list(iter_frame_records(blob))
    except Exception:
        return False
    blocks = [(h, r) for h, r in recs if isinstance(r, DataBlock)]
    if not blocks:
        return False
    h, b = rng.choice(blocks)
    try:
        streams = [get_codec(e.codec).decode(bytes(p), e.decoded_len) for e, p in zip(b.streams, b.payloads)]
    except Exception:
        return False
    sub = Case(Input("sub", streams, b.params, b.raw_len), [])
    mutate_case(rng, sub)
    raw_len = min(sub.raw_len, h.block_size)
    streams = [bytes(s) for s in sub.streams]
    nb = DataBlock(seq=b.seq, raw_len=raw_len, transform=b.transform, params=bytes(sub.params)[: 1 << 20],
                   streams=[StreamEntry(0, len(s), len(s)) for s in streams], checksum=bytes(b.checksum),
                   payloads=streams)
    c.streams[0][b.offset:b.offset + b.size] = encode_data_block(nb)
    c.log.append(f"block {b.seq} rewritten with valid CRCs: " + "; ".join(sub.log))
    if raw_len != b.raw_len:
        # keep the end marker's totals right, so the block is decoded at all
        from cobol.format.frame import EndRecord, encode_end_record
        for hh, r in recs:
            if isinstance(r, EndRecord) and r.offset > b.offset:
                delta = len(c.streams[0]) - len(blob)
                at = r.offset + delta
                end_len = len(encode_end_record(r.n_blocks, r.total_raw))
                c.streams[0][at:at + end_len] = encode_end_record(r.n_blocks, r.total_raw - b.raw_len + raw_len)
                break
    return True


def mutate_frame(rng, c: Case) -> None:
    if rng.random() < 0.5 and _frame_structural(rng, c):
        return
    k = rng.choice((1, 1, 2, 3))
    buf = c.streams[0]
    for _ in range(k):
        if not buf:
            buf += rng.randbytes(8)
        _weighted(rng, BYTE_MUTATIONS)(rng, c, ("s", 0), buf)
    if rng.random() < 0.1:
        c.streams[0] += bytes(c.streams[0])  # a second frame behind the first
        c.log.append("frame doubled")
