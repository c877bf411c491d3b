"""Host side of the device backends (CUDA and OpenCL): the same orchestration
of the shared kernels (``kernels/*.cl``) over a handful of primitives that
each backend implements (allocate, copy, launch).

Launch geometry is fixed by the kernels: element-parallel kernels and the scan
use work-groups of ``WG`` work-items, the L3/L4 chunk kernels one work-group
of ``WG_CHUNK`` per chunk.

The L4 decoder parses and checks the chunk headers on the host (they are a
few bytes per chunk and arrive from the entropy decoder on the host anyway)
with the same checks, in the same order, as ``l4_bitpack._unpack``; the
device then decodes the bit fields and checks what needs them (zero runs,
patch positions). So it accepts and rejects exactly the buffers the CPU does.
"""

from __future__ import annotations

import threading

import numpy as np
from numba import njit

from ..errors import FormatError, LimitError
from ..layers.l4_bitpack import L4_ERRORS, read_header_varint
from ..layers.primitives import bit_length, zigzag_int
from . import kernels as K
from .base import (
    ALL_STRATEGIES, Backend, DictionaryTable, as_bytes_array, as_pattern_set, check_chunk,
    check_offsets, check_tokens, varint_error,
)

#: device counters are u32: inputs are processed in pieces below this
MAX_U32_ITEMS = (1 << 32) - 1
#: histogram tile (bytes per work-group)
HIST_TILE = 1 << 15
#: partials of the grid-stride reductions
REDUCE_GROUPS = 256



@njit(cache=True, nogil=True)
def _parse_l4_headers(headers, total_bits, n, chunk, strat, wid, p1, p2, bitpos, tags):
    """Chunk descriptors from L4 headers; returns (error code, chunk). Mirrors
    the header checks of l4_bitpack._unpack one for one."""
    nchunks = (n + chunk - 1) // chunk
    hend = headers.size
    hp = 0
    pos = 0
    for c in range(nchunks):
        start = c * chunk
        m = min(start + chunk, n) - start
        if hp + 2 > hend:
            return 1, c
        h = headers[hp]
        w = np.int64(headers[hp + 1])
        hp += 2
        s = h & 7
        if h >> 5:
            return 3, c
        tags[c] = (h >> 3) & 3
        if w > 64:
            return 4, c
        strat[c] = s
        wid[c] = w
        bitpos[c] = pos
        if s == 0:
            need = m * w
        elif s == 1 or s == 3:
            base, hp = read_header_varint(headers, hp, hend)
            if hp < 0:
                return 6, c
            p1[c] = base
            need = m * w if s == 1 else (m - 1) * w
        elif s == 2:
            k, hp = read_header_varint(headers, hp, hend)
            if hp < 0:
                return 6, c
            if hp >= hend:
                return 1, c
            rw = np.int64(headers[hp])
            hp += 1
            if k > np.uint64(m):
                return 7, c
            if rw > 64:
                return 11, c
            p1[c] = k
            p2[c] = rw
            need = np.int64(k) * (rw + w)
        elif s == 4:
            if hp >= hend:
                return 1, c
            b = np.int64(headers[hp])
            hp += 1
            e, hp = read_header_varint(headers, hp, hend)
            if hp < 0:
                return 6, c
            if e > np.uint64(m):
                return 7, c
            ee = np.int64(e)
            if b > w or (ee > 0 and b >= w):
                return 10, c
            p1[c] = e
            p2[c] = b
            need = m * b + ee * (bit_length(np.uint64(m - 1)) + w - b)
        else:
            return 2, c
        if pos + need > total_bits:
            return 5, c
        pos += need
    if hp != hend:
        return 12, nchunks
    if (pos + 7) // 8 != total_bits // 8:
        return 13, nchunks
    return 0, 0


class DeviceBackend(Backend):
    """Shared orchestration; subclasses provide the primitives below."""

    #: a device round trip costs tens of microseconds: smaller batches stay on the CPU
    min_batch = 1 << 16

    def __init__(self):
        # kernel launches are serialised per backend: an OpenCL kernel object
        # holds its arguments, so two threads must not set them at once
        self._lock = threading.RLock()
        self._dummy = None

    # ------------------------------------------------------------ primitives

    def _empty(self, n: int, dtype):
        raise NotImplementedError

    def _zeros(self, n: int, dtype):
        raise NotImplementedError

    def _to_device(self, host: np.ndarray):
        raise NotImplementedError

    def _to_host(self, arr) -> np.ndarray:
        raise NotImplementedError

    def _item(self, arr, i: int) -> int:
        raise NotImplementedError

    def _launch(self, name: str, groups: int, local: int, *args) -> None:
        raise NotImplementedError

    def _device_array(self, x, dtype):
        """A device array as contiguous 1-D dtype (same-size dtypes are views, others converted)."""
        raise NotImplementedError

    def _bytes_view(self, x):
        """The raw bytes of a device array, as a contiguous 1-D uint8 device array."""
        raise NotImplementedError

    # ------------------------------------------------------------ Backend memory API

    def allocate(self, n: int, dtype):
        return self._empty(int(n), np.dtype(dtype))

    def upload(self, host):
        if self.is_device_array(host):
            return host
        x = host if isinstance(host, np.ndarray) else as_bytes_array(host)
        return self._to_device(np.ascontiguousarray(x))

    def download(self, array) -> np.ndarray:
        return self._to_host(array) if self.is_device_array(array) else np.array(array, copy=True)

    # ------------------------------------------------------------ helpers

    def _u8(self, data):
        if self.is_device_array(data):
            return self._bytes_view(data)
        return self._to_device(as_bytes_array(data))

    def _arr(self, x, dtype):
        if self.is_device_array(x):
            return self._device_array(x, dtype)
        return self._to_device(np.ascontiguousarray(x, dtype).ravel())

    def _len(self, x) -> int:
        return int(x.size)

    def _dummy_u8(self):
        if self._dummy is None:
            self._dummy = self._zeros(1, np.uint8)
        return self._dummy

    def _elementwise(self, name: str, n: int, *args) -> None:
        if n:
            self._launch(name, -(-n // K.WG), K.WG, *args)

    def _scan(self, values, n: int, flags=None):
        """Inclusive (segmented when flags is given) prefix sum of n u64 values."""
        out = self._empty(n, np.uint64)
        if n == 0:
            return out
        ntiles = -(-n // K.SCAN_TILE)
        use = np.int32(flags is not None)
        seen = self._empty(n, np.uint8) if flags is not None else self._dummy_u8()
        fl = flags if flags is not None else self._dummy_u8()
        tsum = self._empty(ntiles, np.uint64)
        tflag = self._empty(ntiles, np.uint8)
        self._launch("scan_tiles", ntiles, K.WG, values, fl, out, seen, tsum, tflag, np.uint64(n), use)
        if ntiles > 1:
            tincl = self._scan(tsum, ntiles, tflag if flags is not None else None)
            self._elementwise("scan_fixup", n, out, seen, tincl, np.uint64(n), use)
        return out

    def _first_bad(self):
        return self._to_device(np.array([MAX_U32_ITEMS], np.uint32))

    # ------------------------------------------------------------ varints

    def varint_encode(self, values) -> bytes:
        with self._lock:
            v = self._arr(values, np.uint64)
            n = self._len(v)
            if n == 0:
                return b""
            if n > MAX_U32_ITEMS:
                raise ValueError("batch too large for one device call")
            lens = self._empty(n, np.uint64)
            self._elementwise("varint_lengths", n, v, lens, np.uint64(n))
            ends = self._scan(lens, n)
            total = self._item(ends, n - 1)
            out = self._empty(total, np.uint8)
            self._elementwise("varint_write", n, v, ends, out, np.uint64(n))
            return self._to_host(out).tobytes()

    def varint_decode(self, buf, max_count: int) -> np.ndarray:
        with self._lock:
            b = self._u8(buf)
            nb = self._len(b)
            if nb == 0:
                return np.zeros(0, np.uint64)
            if nb > MAX_U32_ITEMS:
                raise ValueError("buffer too large for one device call")
            flags = self._empty(nb, np.uint64)
            self._elementwise("varint_end_flags", nb, b, flags, np.uint64(nb))
            incl = self._scan(flags, nb)
            count = self._item(incl, nb - 1)
            if self._item(b, nb - 1) >= 0x80:
                start = 0
                if count:
                    ends = self._empty(count, np.uint64)
                    self._elementwise("varint_scatter_ends", nb, b, incl, ends, np.uint64(nb))
                    start = self._item(ends, count - 1) + 1
                raise varint_error(1 if nb - start > 10 else 4, count, start)
            if count > max_count:
                raise LimitError(f"{count} varints, more than the limit {max_count}")
            ends = self._empty(count, np.uint64)
            self._elementwise("varint_scatter_ends", nb, b, incl, ends, np.uint64(nb))
            out = self._empty(count, np.uint64)
            bad = self._first_bad()
            self._elementwise("varint_decode", count, b, ends, out, bad, np.uint64(count))
            j = self._item(bad, 0)
            if j != MAX_U32_ITEMS:
                s = self._item(ends, j - 1) + 1 if j else 0
                e = self._item(ends, j)
                last = self._item(b, e)
                kind = 1 if e - s + 1 > 10 else (2 if last == 0 else 3)
                raise varint_error(kind, j, s)
            return self._to_host(out)

    # ------------------------------------------------------------ L3 delta

    def _orders(self, orders, nchunks: int, err=ValueError):
        o = self._arr(orders, np.uint8)
        if self._len(o) != nchunks:
            raise err(f"delta: {self._len(o)} chunk orders for {nchunks} chunks")
        return o

    def choose_orders(self, values, chunk: int) -> np.ndarray:
        if int(chunk) < 1:
            raise ValueError("chunk must be >= 1")
        with self._lock:
            return self._to_host(self._choose_orders_dev(self._arr(values, np.int64), int(chunk)))

    def _choose_orders_dev(self, v, chunk: int):
        n = self._len(v)
        nchunks = -(-n // chunk)
        orders = self._empty(nchunks, np.uint8)
        if nchunks:
            self._launch("delta_choose_orders", nchunks, K.WG_CHUNK, self._device_array(v, np.uint64),
                         orders, np.uint64(n), np.uint64(chunk))
        return orders

    def delta_encode(self, values, orders, chunk: int, zigzag0: bool = True) -> np.ndarray:
        with self._lock:
            v = self._arr(values, np.int64)
            n = self._len(v)
            o = self._orders(orders, -(-n // int(chunk)))
            return self._to_host(self._delta_encode_dev(v, o, int(chunk), zigzag0))

    def _delta_encode_dev(self, v, orders, chunk: int, zigzag0: bool):
        n = self._len(v)
        out = self._empty(n, np.uint64)
        self._elementwise("delta_encode", n, self._device_array(v, np.uint64), orders, out,
                          np.uint64(n), np.uint64(chunk), np.int32(bool(zigzag0)))
        return out

    def delta_decode(self, codes, orders, chunk: int, zigzag0: bool = True) -> np.ndarray:
        chunk = int(chunk)
        with self._lock:
            z = self._arr(codes, np.uint64)
            n = self._len(z)
            if chunk < 1:
                raise FormatError(f"delta: chunk size {chunk}")
            o = self._orders(orders, -(-n // chunk), FormatError)
            if n == 0:
                return np.zeros(0, np.int64)
            if chunk == 1:
                # a one-value order-0 chunk makes the next chunk's d depend on a
                # value two chunks back: not a prefix sum; the CPU does it
                from ..layers import l3_delta
                return l3_delta.delta_decode(self._to_host(z), self._to_host(o), 1, zigzag0=zigzag0)
            if n > MAX_U32_ITEMS:
                raise ValueError("batch too large for one device call")
            dv = self._empty(n, np.uint64)
            dflag = self._empty(n, np.uint8)
            bad = self._first_bad()
            zz = np.int32(bool(zigzag0))
            self._elementwise("delta_decode_d", n, z, o, dv, dflag, bad, np.uint64(n), np.uint64(chunk), zz)
            c = self._item(bad, 0)
            if c != MAX_U32_ITEMS:
                raise FormatError(f"delta: chunk {c} has unknown order {self._item(o, c)}")
            d = self._scan(dv, n, dflag)
            self._elementwise("delta_decode_x", n, z, o, d, dv, dflag, np.uint64(n), np.uint64(chunk), zz)
            x = self._scan(dv, n, dflag)
            return self._to_host(x).view(np.int64)

    # ------------------------------------------------------------ L4 bit packing

    def _analyze_dev(self, codes, chunk: int, allowed: tuple):
        n = self._len(codes)
        nchunks = -(-n // chunk)
        table = self._empty(nchunks * 13, np.uint64)
        choice = self._empty(nchunks, np.uint8)
        hdr = self._empty(nchunks, np.uint64)
        bits = self._empty(nchunks, np.uint64)
        mask = np.uint32(sum(1 << s for s in set(allowed) if 0 <= s < 5))
        if nchunks:
            self._launch("l4_analyze", nchunks, K.WG_CHUNK, codes, table, choice, hdr, bits,
                         np.uint64(n), np.uint64(chunk), mask)
        return table, choice, hdr, bits

    def bitpack_analyze(self, codes, chunk: int):
        from ..layers import l4_bitpack
        chunk = check_chunk(chunk, l4_bitpack.MAX_CHUNK)
        with self._lock:
            c = self._arr(codes, np.uint64)
            table, *_ = self._analyze_dev(c, chunk, ALL_STRATEGIES)
            raw = self._to_host(table).reshape(-1, 13)
        return l4_bitpack.BitWidthAnalysis(chunk=chunk, min=raw[:, 0], max=raw[:, 1], range=raw[:, 2],
                                           bits=raw[:, 3].astype(np.uint8),
                                           cost_bits=raw[:, 4:9].astype(np.int64), raw=raw)

    def bitpack(self, codes, chunk: int, tags=None, allowed: tuple = ALL_STRATEGIES) -> bytes:
        from ..layers import l4_bitpack
        chunk = check_chunk(chunk, l4_bitpack.MAX_CHUNK)
        with self._lock:
            c = self._arr(codes, np.uint64)
            nchunks = -(-self._len(c) // chunk)
            if tags is None:
                t = self._zeros(max(nchunks, 1), np.uint8)
            else:
                t = self._arr(tags, np.uint8)
                # one byte per chunk: checking on the host costs little
                th = self._to_host(t)
                if th.size != nchunks or (th.size and int(th.max()) > 3):
                    raise ValueError("one tag in 0..3 per chunk expected")
            return self._pack_dev(c, chunk, t, tuple(allowed))

    def _pack_dev(self, codes, chunk: int, tags, allowed: tuple) -> bytes:
        from ..format.wire import put_varint
        n = self._len(codes)
        nchunks = -(-n // chunk)
        prefix = bytearray()
        put_varint(prefix, n)
        put_varint(prefix, chunk)
        if nchunks == 0:
            put_varint(prefix, 0)
            return bytes(prefix)
        table, choice, hdr, bits = self._analyze_dev(codes, chunk, allowed)
        hdr_incl = self._scan(hdr, nchunks)
        bits_incl = self._scan(bits, nchunks)
        hlen = self._item(hdr_incl, nchunks - 1)
        nbits = self._item(bits_incl, nchunks - 1)
        headers = self._empty(hlen, np.uint8)
        words = self._zeros(nbits // 32 + 3, np.uint32)
        self._launch("l4_pack", nchunks, K.WG_CHUNK, codes, table, choice, tags, hdr, hdr_incl,
                     bits, bits_incl, headers, words, np.uint64(n), np.uint64(chunk))
        put_varint(prefix, hlen)
        body = self._to_host(words).view(np.uint8)[: (nbits + 7) // 8]
        return bytes(prefix) + self._to_host(headers).tobytes() + body.tobytes()

    def bitunpack(self, buf, max_count: int, what: str = "bitpack") -> tuple:
        from ..format.wire import Reader
        from ..layers import l4_bitpack
        r = Reader(buf, what=what)
        n = r.varint("count", limit=max_count)
        chunk = r.varint("chunk size", limit=l4_bitpack.MAX_CHUNK)
        if chunk < 1:
            raise FormatError(f"{what}: chunk size 0")
        hlen = r.varint("header length", limit=r.remaining)
        headers = np.frombuffer(r.view(hlen, "chunk headers"), np.uint8)
        body = r.view(r.remaining, "bit stream")
        nbytes = len(body)
        nchunks = (n + chunk - 1) // chunk
        if hlen < 2 * nchunks:
            raise FormatError(f"{what}: {hlen} header bytes cannot describe {nchunks} chunks")
        strat = np.zeros(nchunks, np.uint8)
        wid = np.zeros(nchunks, np.uint8)
        p1 = np.zeros(nchunks, np.uint64)
        p2 = np.zeros(nchunks, np.uint8)
        bitpos = np.zeros(nchunks, np.uint64)
        tags = np.zeros(nchunks, np.uint8)
        err, where = _parse_l4_headers(headers, 8 * nbytes, n, chunk, strat, wid, p1, p2, bitpos, tags)
        if err:
            raise FormatError(f"{what}: chunk {where}: {L4_ERRORS.get(err, 'error')}")
        if n == 0:
            return np.zeros(0, np.uint64), tags
        words = np.zeros(nbytes // 4 + 3, np.uint32)
        words.view(np.uint8)[:nbytes] = np.frombuffer(body, np.uint8)
        with self._lock:
            out = self._empty(n, np.uint64)
            errs = self._empty(nchunks, np.uint8)
            self._launch("l4_unpack", nchunks, K.WG_CHUNK, self._to_device(words), self._to_device(strat),
                         self._to_device(wid), self._to_device(p1), self._to_device(p2),
                         self._to_device(bitpos), out, errs, np.uint64(n), np.uint64(chunk))
            e = self._to_host(errs)
            bad = np.flatnonzero(e)
            if bad.size:
                c = int(bad[0])
                raise FormatError(f"{what}: chunk {c}: {L4_ERRORS.get(int(e[c]), 'error')}")
            return self._to_host(out), tags

    # ------------------------------------------------------------ intcodec PACKED

    def encode_ints_packed(self, values) -> bytes:
        from ..format.wire import put_varint
        from ..layers import intcodec
        with self._lock:
            x = self._arr(values, np.int64)
            n = self._len(x)
            if n == 0:
                return bytes([intcodec.PACKED, 0])
            groups = min(REDUCE_GROUPS, -(-n // K.WG))
            part = self._empty(groups, np.int64)
            self._launch("reduce_min_i64", groups, K.WG, x, part, np.uint64(n))
            base = int(self._to_host(part).min())
            ubase = np.uint64(base & ((1 << 64) - 1))
            u = self._device_array(x, np.uint64)
            gpart = self._empty(groups, np.uint64)
            self._launch("reduce_gcd", groups, K.WG, u, gpart, ubase, np.uint64(n))
            g = 0
            for p in self._to_host(gpart).tolist():
                g = _gcd(g, p)
            g = max(g, 1)
            y = self._empty(n, np.uint64)
            self._elementwise("frame_apply", n, u, y, ubase, np.uint64(g), np.uint64(n))
            chunk = intcodec.CHUNK
            orders = self._choose_orders_dev(y, chunk)
            codes = self._delta_encode_dev(y, orders, chunk, False)
            out = bytearray([intcodec.PACKED])
            put_varint(out, n)
            put_varint(out, zigzag_int(base))
            put_varint(out, g)
            out += self._pack_dev(codes, chunk, orders, ALL_STRATEGIES)
            return bytes(out)

    # ------------------------------------------------------------ dictionary lookup

    def _tokens_dev(self, buf, starts, ends):
        b = self._u8(buf)
        s = self._arr(starts, np.uint64)
        e = self._arr(ends, np.uint64)
        if self._len(s) != self._len(e):
            raise ValueError("starts and ends differ in length")
        if self._len(s) > MAX_U32_ITEMS:
            raise ValueError("batch too large for one device call")
        return b, s, e

    def _check_bad(self, bad, starts, ends, nbuf):
        j = self._item(bad, 0)
        if j != MAX_U32_ITEMS:
            raise ValueError(f"token {j} [{self._item(starts, j)}:{self._item(ends, j)}] "
                             f"outside the buffer of {nbuf} bytes")

    def hash_tokens(self, buf, starts, ends) -> np.ndarray:
        with self._lock:
            b, s, e = self._tokens_dev(buf, starts, ends)
            n = self._len(s)
            out = self._empty(n, np.uint64)
            bad = self._first_bad()
            self._elementwise("hash_tokens", n, b if self._len(b) else self._dummy_u8(), s, e, out, bad,
                              np.uint64(n), np.uint64(self._len(b)))
            self._check_bad(bad, s, e, self._len(b))
            return self._to_host(out)

    def _table_dev(self, table: DictionaryTable):
        key = id(self)
        dev = table.device_cache.get(key)
        if dev is None or dev[0] is not self:
            kd = table.key_data if table.key_data.size else np.zeros(1, np.uint8)
            dev = (self, self._to_device(table.slot_hash), self._to_device(table.slot_id),
                   self._to_device(kd), self._to_device(table.key_off))
            table.device_cache[key] = dev
        return dev[1:]

    def dictionary_lookup(self, table: DictionaryTable, buf, starts, ends) -> np.ndarray:
        if not table.has_keys:
            raise ValueError("a table built from hashes has no keys: use hash_lookup")
        with self._lock:
            b, s, e = self._tokens_dev(buf, starts, ends)
            n = self._len(s)
            if n == 0:
                return np.zeros(0, np.int32)
            sh, sid, kd, ko = self._table_dev(table)
            out = self._empty(n, np.int32)
            bad = self._first_bad()
            self._elementwise("lookup_tokens", n, b if self._len(b) else self._dummy_u8(), s, e, sh, sid,
                              kd, ko, out, bad, np.uint64(n), np.uint64(self._len(b)), np.uint64(table.mask))
            self._check_bad(bad, s, e, self._len(b))
            return self._to_host(out)

    def hash_lookup(self, table: DictionaryTable, hashes) -> np.ndarray:
        with self._lock:
            h = self._arr(hashes, np.uint64)
            n = self._len(h)
            if n == 0:
                return np.zeros(0, np.int32)
            sh, sid, _, _ = self._table_dev(table)
            out = self._empty(n, np.int32)
            self._elementwise("lookup_hashes", n, h, sh, sid, out, np.uint64(n), np.uint64(table.mask))
            return self._to_host(out)

    # ------------------------------------------------------------ histogram

    def byte_histogram(self, data, offsets=None) -> np.ndarray:
        with self._lock:
            d = self._u8(data)
            n = self._len(d)
            if offsets is None:
                off = np.array([0, n], np.int64)
            else:
                off = check_offsets(offsets.get() if hasattr(offsets, "get") else offsets, n)
            k = off.size - 1
            if np.any(np.diff(off) > MAX_U32_ITEMS):
                raise ValueError("a segment of 2**32 bytes or more")
            # tiles of at most HIST_TILE bytes that never cross a segment boundary
            lens = np.diff(off)
            per = -(-lens // HIST_TILE)
            seg = np.repeat(np.arange(k, dtype=np.uint32), per)
            first = np.repeat(np.cumsum(per) - per, per)
            ts = off[:-1][seg] + (np.arange(seg.size) - first) * HIST_TILE
            te = np.minimum(ts + HIST_TILE, off[1:][seg])
            hist = self._zeros(max(k, 1) * 256, np.uint32)
            if seg.size:
                self._launch("byte_histogram", int(seg.size), K.WG, d,
                             self._to_device(ts.astype(np.uint64)), self._to_device(te.astype(np.uint64)),
                             self._to_device(seg), hist)
            h = self._to_host(hist).astype(np.uint64).reshape(-1, 256)[:k]
            return h[0] if offsets is None else h

    # ------------------------------------------------------------ pattern matching

    def _patterns_dev(self, ps):
        key = id(self)
        dev = ps.device_cache.get(key)
        if dev is None or dev[0] is not self:
            dev = (self, self._to_device(ps.blob), self._to_device(ps.offsets), self._to_device(ps.first_lut))
            ps.device_cache[key] = dev
        return dev[1:]

    def _pattern_mask(self, d, n, ps):
        blob, off, lut = self._patterns_dev(ps)
        mask = self._empty(n, np.uint32)
        self._elementwise("pattern_mask", n, d, blob, off, lut, mask, np.uint64(n), np.int32(len(ps)),
                          np.uint32(ps.single_mask))
        return mask

    def find_patterns(self, data, patterns) -> tuple:
        ps = as_pattern_set(patterns)
        with self._lock:
            d = self._u8(data)
            n = self._len(d)
            if n == 0:
                return np.zeros(0, np.int64), np.zeros(0, np.uint8)
            mask = self._pattern_mask(d, n, ps)
            counts = self._empty(n, np.uint64)
            self._elementwise("pattern_counts", n, mask, counts, np.uint64(n))
            incl = self._scan(counts, n)
            total = self._item(incl, n - 1)
            if total == 0:
                return np.zeros(0, np.int64), np.zeros(0, np.uint8)
            pos = self._empty(total, np.uint64)
            ids = self._empty(total, np.uint8)
            self._elementwise("pattern_scatter", n, mask, incl, pos, ids, np.uint64(n))
            return self._to_host(pos).view(np.int64), self._to_host(ids)

    def pattern_bitmap(self, data, patterns) -> np.ndarray:
        ps = as_pattern_set(patterns)
        with self._lock:
            d = self._u8(data)
            n = self._len(d)
            nbytes = (n + 7) // 8
            if n == 0:
                return np.zeros((len(ps), 0), np.uint8)
            mask = self._pattern_mask(d, n, ps)
            out = self._empty(len(ps) * nbytes, np.uint8)
            self._elementwise("pattern_bitmap", nbytes, mask, out, np.uint64(n), np.uint64(nbytes),
                              np.int32(len(ps)))
            return self._to_host(out).reshape(len(ps), nbytes)


def _gcd(a: int, b: int) -> int:
    while b:
        a, b = b, a % b
    return a
