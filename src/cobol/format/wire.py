"""Bounds-checked primitives for reading and writing the small header fields.

Only headers go through here (a few dozen bytes per block), never payload data,
so plain Python is fine. Every read checks its bounds and raises
:class:`~cobol.errors.TruncatedError` / :class:`~cobol.errors.FormatError` with
the absolute offset, never IndexError or struct.error.

Varints are unsigned LEB128 (7 bits per byte, least significant group first,
high bit set on every byte but the last), at most 10 bytes (64 bits), and must
be minimal: a redundant trailing 0x80/0x00 group is a FormatError, so every
value has exactly one spelling and a flipped bit cannot go unnoticed.
"""

from __future__ import annotations

import struct

from ..errors import FormatError, LimitError, TruncatedError

_U32 = struct.Struct("<I")
MAX_VARINT_BYTES = 10


def put_varint(out: bytearray, value: int) -> None:
    if 0 <= value < 0x80:
        out.append(value)
        return
    if value < 0 or value >= 1 << 64:
        raise ValueError(f"varint out of range: {value}")
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def varint_bytes(value: int) -> bytes:
    out = bytearray()
    put_varint(out, value)
    return bytes(out)


def put_u32(out: bytearray, value: int) -> None:
    out += _U32.pack(value)


def put_bytes(out: bytearray, data: bytes) -> None:
    """A length-prefixed byte string."""
    put_varint(out, len(data))
    out += data


class Reader:
    """A cursor over a bytes-like object; ``base`` is added to offsets in messages."""

    __slots__ = ("buf", "pos", "end", "base", "what")

    def __init__(self, buf, pos: int = 0, end: int | None = None, base: int = 0, what: str = "frame"):
        self.buf = memoryview(buf).cast("B") if not isinstance(buf, (bytes, bytearray)) else buf
        self.pos = pos
        self.end = len(buf) if end is None else end
        self.base = base
        self.what = what

    @property
    def remaining(self) -> int:
        return self.end - self.pos

    def offset(self) -> int:
        return self.base + self.pos

    def _need(self, n: int, field: str) -> None:
        if n < 0 or self.pos + n > self.end:
            raise TruncatedError(
                f"{self.what}: truncated {field} at offset {self.offset()}: "
                f"need {n} bytes, {self.remaining} left"
            )

    def u8(self, field: str = "byte") -> int:
        pos = self.pos
        if pos >= self.end:
            self._need(1, field)  # raises
        self.pos = pos + 1
        return self.buf[pos]

    def u32(self, field: str = "u32") -> int:
        self._need(4, field)
        (v,) = _U32.unpack_from(self.buf, self.pos)
        self.pos += 4
        return v

    def take(self, n: int, field: str = "bytes") -> bytes:
        self._need(n, field)
        v = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n
        return v

    def view(self, n: int, field: str = "bytes") -> memoryview:
        self._need(n, field)
        v = memoryview(self.buf)[self.pos:self.pos + n]
        self.pos += n
        return v

    def varint(self, field: str = "varint", limit: int = (1 << 64) - 1) -> int:
        # one byte (values below 128) is most varints of a plan: read it without
        # the loop (the same checks: a one-byte varint is minimal and 64-bit)
        pos = self.pos
        if pos < self.end:
            b = self.buf[pos]
            if b < 0x80 and b <= limit:
                self.pos = pos + 1
                return b
        start = self.offset()
        value = 0
        shift = 0
        for i in range(MAX_VARINT_BYTES):
            if self.pos >= self.end:
                raise TruncatedError(f"{self.what}: truncated {field} at offset {start}")
            b = self.buf[self.pos]
            self.pos += 1
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                if i and b == 0:
                    raise FormatError(f"{self.what}: non-minimal varint for {field} at offset {start}")
                if value >= 1 << 64:
                    raise FormatError(f"{self.what}: varint {field} at offset {start} exceeds 64 bits")
                if value > limit:
                    raise LimitError(
                        f"{self.what}: {field} = {value} at offset {start} exceeds the limit {limit}"
                    )
                return value
            shift += 7
        raise FormatError(f"{self.what}: varint {field} at offset {start} is longer than 10 bytes")

    def bytes_field(self, field: str, limit: int) -> bytes:
        n = self.varint(field + " length", limit)
        return self.take(n, field)

    def expect_end(self, field: str) -> None:
        if self.pos != self.end:
            raise FormatError(
                f"{self.what}: {self.end - self.pos} unexpected bytes after {field} at offset {self.offset()}"
            )
