"""Wire frames and messages of the streaming TCP protocol (docs/STREAMING.md).

A frame is::

    magic    4 bytes  "COBL"
    length   u32 LE   payload bytes, 1..limit
    payload  length bytes: message type (u8) + message body
    crc32    u32 LE   zlib.crc32 of magic, length and payload

This module only turns messages into bytes and bytes into messages, checking
every field; which message may come when is protocol.py's business.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from enum import IntEnum

from ..errors import CobolError, LimitError
from ..format import checksum as ck
from ..format.wire import Reader, put_bytes, put_varint
from .block import CompressedBlock
from .config import max_record_size
from .errors import ProtocolError

MAGIC = b"COBL"
PROTOCOL_VERSION = 1
FRAME_OVERHEAD = 12
#: payload limit before a transfer is accepted: handshake messages are small
HANDSHAKE_PAYLOAD_LIMIT = 4096
NONCE_SIZE = 32
PROOF_SIZE = 32
TRANSFER_ID_SIZE = 16
MAX_NAME = 255
MAX_ERROR_MESSAGE = 1024
_HEAD = struct.Struct("<4sI")
_U32 = struct.Struct("<I")


class MsgType(IntEnum):
    HELLO = 1
    CHALLENGE = 2
    OPEN = 3
    ACCEPT = 4
    BLOCK = 5
    ACK = 6
    END = 7
    DONE = 8
    ERROR = 9
    KEEPALIVE = 10


#: OPEN's flags byte: bit 0 the sender starts over (drop partial data), bit 1 a
#: u32 dictionary id follows ``level`` (the blocks use that shared dictionary)
OPEN_FRESH = 0x01
OPEN_DICTIONARY = 0x02


class ErrorCode(IntEnum):
    PROTOCOL = 1     # malformed frame or illegal message
    AUTH = 2         # authentication failed
    LIMIT = 3        # a size or count limit was exceeded
    BUSY = 4         # too many connections; retry later
    DATA = 5         # a block failed its checksum or did not decode
    TIMEOUT = 6      # the peer was silent for too long, or a block went missing
    RESUME = 7       # the partial data does not match the sender's
    REFUSED = 8      # the transfer is refused (bad name, bad parameters)
    INTERNAL = 9     # the peer failed; the transfer can be retried
    SUPERSEDED = 10  # a newer connection took over this transfer


#: what each code means, sent as the message when the failure itself has none
ERROR_DESCRIPTIONS = {
    ErrorCode.PROTOCOL: "malformed frame or illegal message",
    ErrorCode.AUTH: "authentication failed",
    ErrorCode.LIMIT: "a size, count or memory limit was exceeded",
    ErrorCode.BUSY: "too many connections; retry later",
    ErrorCode.DATA: "a block failed its checksum or did not decode",
    ErrorCode.TIMEOUT: "the peer was silent for too long, or a block went missing",
    ErrorCode.RESUME: "the partial data does not match the sender's",
    ErrorCode.REFUSED: "the transfer is refused",
    ErrorCode.INTERNAL: "the receiver failed; the transfer can be retried",
    ErrorCode.SUPERSEDED: "a newer connection took over this transfer",
}


# ---------------------------------------------------------------- messages

@dataclass(frozen=True)
class Hello:
    nonce: bytes
    version: int = PROTOCOL_VERSION
    type = MsgType.HELLO


@dataclass(frozen=True)
class Challenge:
    nonce: bytes
    auth_required: bool
    window: int
    max_block_size: int
    version: int = PROTOCOL_VERSION
    type = MsgType.CHALLENGE


@dataclass(frozen=True)
class Open:
    proof: bytes
    transfer_id: bytes
    name: str
    size: int | None
    block_size: int
    checksum_kind: int
    level: int
    fresh: bool = False
    #: the shared dictionary (cobol.dictionary) the blocks are coded with, by id; None: no dictionary
    dictionary_id: int | None = None
    type = MsgType.OPEN


@dataclass(frozen=True)
class Accept:
    proof: bytes
    resume_seq: int
    resume_offset: int
    resume_chain: bytes
    credit: int
    complete: bool = False
    type = MsgType.ACCEPT


@dataclass(frozen=True)
class Block:
    block: CompressedBlock
    type = MsgType.BLOCK


@dataclass(frozen=True)
class Ack:
    acked: int
    credit: int
    type = MsgType.ACK


@dataclass(frozen=True)
class End:
    n_blocks: int
    total_raw: int
    chain: bytes
    type = MsgType.END


@dataclass(frozen=True)
class Done:
    n_blocks: int
    total_raw: int
    chain: bytes
    stored_name: str
    type = MsgType.DONE


@dataclass(frozen=True)
class Error:
    code: int
    message: str
    type = MsgType.ERROR


@dataclass(frozen=True)
class Keepalive:
    type = MsgType.KEEPALIVE


# ---------------------------------------------------------------- encoding

def _str(out: bytearray, s: str, limit: int) -> None:
    b = s.encode("utf-8", "replace")[:limit]
    put_bytes(out, b)


def encode_message(m) -> bytes:
    """The payload of a frame carrying message ``m`` (type byte + body)."""
    out = bytearray([m.type])
    t = m.type
    if t == MsgType.HELLO:
        put_varint(out, m.version)
        out += _fixed(m.nonce, NONCE_SIZE, "nonce")
    elif t == MsgType.CHALLENGE:
        put_varint(out, m.version)
        out += _fixed(m.nonce, NONCE_SIZE, "nonce")
        out.append(1 if m.auth_required else 0)
        put_varint(out, m.window)
        put_varint(out, m.max_block_size)
    elif t == MsgType.OPEN:
        out.append((OPEN_FRESH if m.fresh else 0) | (OPEN_DICTIONARY if m.dictionary_id is not None else 0))
        put_bytes(out, m.proof)
        out += _fixed(m.transfer_id, TRANSFER_ID_SIZE, "transfer id")
        _str(out, m.name, MAX_NAME)
        put_varint(out, 0 if m.size is None else m.size + 1)
        put_varint(out, m.block_size)
        out.append(m.checksum_kind)
        out.append(m.level)
        if m.dictionary_id is not None:
            out += int(m.dictionary_id).to_bytes(4, "little")
    elif t == MsgType.ACCEPT:
        out.append(1 if m.complete else 0)
        put_bytes(out, m.proof)
        put_varint(out, m.resume_seq)
        put_varint(out, m.resume_offset)
        out += _fixed(m.resume_chain, 32, "chain")
        put_varint(out, m.credit)
    elif t == MsgType.BLOCK:
        out += m.block.to_bytes()
    elif t == MsgType.ACK:
        put_varint(out, m.acked)
        put_varint(out, m.credit)
    elif t == MsgType.END:
        put_varint(out, m.n_blocks)
        put_varint(out, m.total_raw)
        out += _fixed(m.chain, 32, "chain")
    elif t == MsgType.DONE:
        put_varint(out, m.n_blocks)
        put_varint(out, m.total_raw)
        out += _fixed(m.chain, 32, "chain")
        _str(out, m.stored_name, 4 * MAX_NAME)
    elif t == MsgType.ERROR:
        out.append(int(m.code))
        _str(out, m.message, MAX_ERROR_MESSAGE)
    elif t == MsgType.KEEPALIVE:
        pass
    else:  # pragma: no cover - every message class is above
        raise TypeError(f"not a message: {m!r}")
    return bytes(out)


def _fixed(b: bytes, n: int, what: str) -> bytes:
    if len(b) != n:
        raise ValueError(f"{what} must be {n} bytes, got {len(b)}")
    return bytes(b)


def encode_frame(payload: bytes) -> bytes:
    head = _HEAD.pack(MAGIC, len(payload))
    return head + payload + _U32.pack(zlib.crc32(payload, zlib.crc32(head)))


def frame(m) -> bytes:
    return encode_frame(encode_message(m))


# ---------------------------------------------------------------- decoding

def _flag(r: Reader, what: str) -> bool:
    v = r.u8(what)
    if v > 1:
        raise ProtocolError(f"{what} must be 0 or 1, got {v}")
    return bool(v)


def _text(r: Reader, what: str, limit: int) -> str:
    return r.bytes_field(what, limit).decode("utf-8", "replace")


def decode_message(payload, max_block_size: int):
    """Parse a frame payload into a message; ProtocolError names what is wrong."""
    try:
        return _decode(payload, max_block_size)
    except (ProtocolError, LimitError):
        raise  # a hostile size (a stream-table bomb) is answered with LIMIT, not PROTOCOL
    except CobolError as exc:
        raise ProtocolError(f"malformed message: {exc}") from None


def _decode(payload, max_block_size: int):
    r = Reader(payload, what="message")
    t = r.u8("message type")
    if t == MsgType.HELLO:
        m = Hello(version=r.varint("version"), nonce=r.take(NONCE_SIZE, "nonce"))
    elif t == MsgType.CHALLENGE:
        version = r.varint("version")
        nonce = r.take(NONCE_SIZE, "nonce")
        m = Challenge(version=version, nonce=nonce, auth_required=_flag(r, "auth flag"),
                      window=r.varint("window", 1 << 16), max_block_size=r.varint("max block size", 1 << 30))
    elif t == MsgType.OPEN:
        flags = r.u8("open flags")
        if flags & ~(OPEN_FRESH | OPEN_DICTIONARY):
            raise ProtocolError(f"open flags {flags:#04x} name an unknown option (this receiver knows bits 0-1)")
        fresh = bool(flags & OPEN_FRESH)
        proof = r.bytes_field("proof", PROOF_SIZE)
        tid = r.take(TRANSFER_ID_SIZE, "transfer id")
        name = _text(r, "name", MAX_NAME)
        size = r.varint("size")
        m = Open(proof=proof, transfer_id=tid, name=name, size=None if size == 0 else size - 1,
                 block_size=r.varint("block size", 1 << 30), checksum_kind=r.u8("checksum kind"),
                 level=r.u8("level"), fresh=fresh,
                 dictionary_id=int.from_bytes(r.take(4, "dictionary id"), "little") if flags & OPEN_DICTIONARY else None)
        ck.checksum_size(m.checksum_kind)
    elif t == MsgType.ACCEPT:
        complete = _flag(r, "accept flags")
        m = Accept(complete=complete, proof=r.bytes_field("proof", PROOF_SIZE), resume_seq=r.varint("resume seq"),
                   resume_offset=r.varint("resume offset"), resume_chain=r.take(32, "resume chain"),
                   credit=r.varint("credit"))
    elif t == MsgType.BLOCK:
        block = CompressedBlock.from_bytes(r.view(r.remaining, "block"), max_block_size, base=1)
        m = Block(block)
    elif t == MsgType.ACK:
        m = Ack(acked=r.varint("acked"), credit=r.varint("credit"))
    elif t == MsgType.END:
        m = End(n_blocks=r.varint("block count"), total_raw=r.varint("total size"), chain=r.take(32, "chain"))
    elif t == MsgType.DONE:
        m = Done(n_blocks=r.varint("block count"), total_raw=r.varint("total size"), chain=r.take(32, "chain"),
                 stored_name=_text(r, "stored name", 4 * MAX_NAME))
    elif t == MsgType.ERROR:
        m = Error(code=r.u8("error code"), message=_text(r, "error message", MAX_ERROR_MESSAGE))
    elif t == MsgType.KEEPALIVE:
        m = Keepalive()
    else:
        raise ProtocolError(f"unknown message type {t}")
    r.expect_end(f"the {MsgType(t).name} message")
    return m


class FrameDecoder:
    """Receive buffer: bytes in, frame payloads out, every frame checked.

    ``limit`` bounds the payload of the next frame; a larger length field is
    rejected before a byte of it is buffered, so a hostile peer cannot make
    the receiver hold more than ``limit`` + one read.
    """

    def __init__(self, limit: int = HANDSHAKE_PAYLOAD_LIMIT):
        self.limit = limit
        self._buf = bytearray()
        self.frames = 0
        self.offset = 0  # bytes consumed so far (for messages)

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def feed(self, data) -> None:
        self._buf += data

    def next_payload(self) -> bytes | None:
        buf = self._buf
        if len(buf) < 8:
            if buf and not MAGIC.startswith(bytes(buf[:4])):
                raise ProtocolError(f"bad frame magic {bytes(buf[:4])!r} at stream offset {self.offset}")
            return None
        magic, length = _HEAD.unpack_from(buf)
        if magic != MAGIC:
            raise ProtocolError(f"bad frame magic {magic!r} at stream offset {self.offset}")
        if length == 0:
            raise ProtocolError(f"empty frame at stream offset {self.offset}")
        if length > self.limit:
            raise ProtocolError(f"frame of {length} bytes at stream offset {self.offset} exceeds the limit of {self.limit}")
        total = 8 + length + 4
        if len(buf) < total:
            return None
        (crc,) = _U32.unpack_from(buf, 8 + length)
        if zlib.crc32(memoryview(buf)[:8 + length]) != crc:
            raise ProtocolError(f"frame CRC32 mismatch at stream offset {self.offset} ({length} bytes)")
        payload = bytes(buf[8:8 + length])
        del buf[:total]
        self.offset += total
        self.frames += 1
        return payload


def block_payload_limit(block_size: int) -> int:
    """Largest BLOCK payload for a transfer with ``block_size``-byte blocks."""
    return 1 + max_record_size(block_size) + 128


__all__ = [
    "MAGIC", "PROTOCOL_VERSION", "MsgType", "ErrorCode", "Hello", "Challenge", "Open", "Accept", "Block",
    "Ack", "End", "Done", "Error", "Keepalive", "encode_message", "encode_frame", "frame", "decode_message",
    "FrameDecoder", "block_payload_limit",
]
