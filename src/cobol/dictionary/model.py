"""The shared dictionary for small messages: the type and its bytes
(``compress(..., dictionary=d)``; trained by :mod:`cobol.dictionary.training`
or ``cobol train``).

A 1 KB JSON record compressed on its own has no history to match against:
its keys, its skeleton and the values it shares with its neighbours all cost
full price. A *shared dictionary*, trained once on sample messages and given
to both sides, supplies that history, like ``zstd --train``.

A :class:`Dictionary` holds

- a zstd dictionary (full zstd format, or raw content), trained on the
  messages *as the engine codes them* (:mod:`cobol.dictionary.training`);
- optional per-transform sections (bytes keyed by transform id) that a
  transform builds at training time (``train_dictionary_section``) and reads
  back with ``ctx.dictionary.section(self.id)``;
- the level it was trained for, and its id: the first four bytes (little
  endian) of the SHA-256 of its body, so equal dictionaries have equal ids and
  a frame names exactly the dictionary it needs (docs/FORMAT.md).

Serialized layout (docs/DICTIONARY.md)::

    magic      4 bytes  "CBLD"
    version    u8       1
    dict_id    u32 LE   first 4 bytes of SHA-256(body), read little endian
    body:
      level      varint   1..22
      zstd       varint length + bytes (may be empty)
      n_sections varint   <= 255
      n_sections x: transform id u8 (strictly increasing), varint length + bytes

>>> d = Dictionary(zstd=b"raw content: {\\"id\\": ", level=3)
>>> Dictionary.from_bytes(d.to_bytes()) == d
True

The engine reads dictionaries, so this module imports nothing above the
format layer (and the training beside it nothing above the planner).
"""

from __future__ import annotations

import hashlib
import os

import zstandard

from ..errors import CobolError, EncodeError, FormatError, LimitError
from ..format.wire import Reader, put_bytes, put_varint

MAGIC = b"CBLD"
FORMAT_VERSION = 1
#: zstd's default dictionary size (``zstd --train --maxdict``)
DEFAULT_SIZE = 112640
DEFAULT_LEVEL = 3
MIN_SIZE = 256
#: the largest dictionary file this module writes or reads
MAX_SIZE = 64 << 20
MAX_SECTIONS = 255
#: zstd's full-dictionary magic number, as it appears in the bytes
ZSTD_DICT_MAGIC = b"\x37\xa4\x30\xec"
_HEAD = len(MAGIC) + 1 + 4


class Dictionary:
    """A shared dictionary: zstd dictionary + per-transform sections, named by ``dict_id``.

    Immutable once built; ``to_bytes`` / ``from_bytes`` (or ``save`` / ``load``)
    move it between processes. Give it to ``CobolEngine(dictionary=d)`` (or
    ``cobol.compress(data, dictionary=d)`` / ``cobol.decompress(blob, dictionary=d)``).
    """

    __slots__ = ("zstd", "sections", "level", "dict_id", "_bytes")

    def __init__(self, zstd: bytes = b"", sections: dict | None = None, level: int = DEFAULT_LEVEL):
        if not isinstance(level, int) or not 1 <= level <= 22:
            raise EncodeError(f"dictionary level must be in 1..22, got {level!r}")
        sections = {int(k): bytes(v) for k, v in (sections or {}).items()}
        if len(sections) > MAX_SECTIONS or any(not 0 <= k <= 255 for k in sections):
            raise EncodeError("dictionary sections are keyed by transform ids 0..255")
        self.zstd = bytes(zstd)
        self.sections = dict(sorted(sections.items()))
        self.level = level
        if self.zstd:
            _check_zstd(self.zstd)
        body = bytearray()
        put_varint(body, level)
        put_bytes(body, self.zstd)
        put_varint(body, len(self.sections))
        for tid, data in self.sections.items():
            body.append(tid)
            put_bytes(body, data)
        self.dict_id = _dict_id(body)
        self._bytes = MAGIC + bytes([FORMAT_VERSION]) + self.dict_id.to_bytes(4, "little") + bytes(body)
        if len(self._bytes) > MAX_SIZE:
            raise EncodeError(f"dictionary of {len(self._bytes)} bytes exceeds {MAX_SIZE}")

    # ------------------------------------------------------------ access
    def section(self, transform_id: int) -> bytes | None:
        """The section transform ``transform_id`` stored at training time, or None."""
        return self.sections.get(transform_id)

    def __len__(self) -> int:
        return len(self._bytes)

    def __eq__(self, other) -> bool:
        return isinstance(other, Dictionary) and self._bytes == other._bytes

    def __hash__(self) -> int:
        return hash(self._bytes)

    def __repr__(self) -> str:
        secs = ", ".join(str(k) for k in self.sections) or "none"
        return (f"Dictionary(id={self.dict_id:#010x}, {len(self)} bytes, zstd {len(self.zstd)} bytes, "
                f"sections: {secs}, level {self.level})")

    # ------------------------------------------------------------ serialization
    def to_bytes(self) -> bytes:
        return self._bytes

    @classmethod
    def from_bytes(cls, data) -> "Dictionary":
        """Parse a serialized dictionary; anything malformed raises a CobolError subclass."""
        data = bytes(data)
        if len(data) > MAX_SIZE:
            raise LimitError(f"dictionary of {len(data)} bytes exceeds {MAX_SIZE}")
        r = Reader(data, what="dictionary")
        if r.take(min(4, len(data)), "magic") != MAGIC:
            raise FormatError("not a cobol dictionary (bad magic; expected 'CBLD')")
        version = r.u8("version")
        if version != FORMAT_VERSION:
            raise FormatError(f"dictionary format version {version} is not supported (this build reads {FORMAT_VERSION})")
        dict_id = r.u32("dictionary id")
        if _dict_id(data[_HEAD:]) != dict_id:
            raise FormatError(f"dictionary {dict_id:#010x} is corrupt: its id does not match its contents")
        level = r.varint("level", 22)
        if level < 1:
            raise FormatError("dictionary: level 0 is invalid")
        zstd = r.bytes_field("zstd dictionary", MAX_SIZE)
        n = r.varint("section count", MAX_SECTIONS)
        sections = {}
        last = -1
        for _ in range(n):
            tid = r.u8("section transform id")
            if tid <= last:
                raise FormatError("dictionary: section ids are not strictly increasing")
            last = tid
            sections[tid] = r.bytes_field("section", MAX_SIZE)
        r.expect_end("the last section")
        try:
            d = cls(zstd, sections, level)
        except EncodeError as e:  # cannot happen after the checks above; keep the error kind right
            raise FormatError(f"dictionary: {e}") from None
        if d._bytes != data:  # one spelling per dictionary
            raise FormatError("dictionary: non-canonical encoding")
        return d

    def save(self, path) -> None:
        """Write the dictionary to ``path`` (via a temporary file renamed into place)."""
        tmp = f"{os.fspath(path)}.tmp{os.getpid()}"
        try:
            with open(tmp, "wb") as f:
                f.write(self._bytes)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    @classmethod
    def load(cls, path) -> "Dictionary":
        with open(path, "rb") as f:
            data = f.read(MAX_SIZE + 1)
        try:
            return cls.from_bytes(data)
        except CobolError as e:
            raise type(e)(f"{os.fspath(path)}: {e}") from None


def load(path) -> Dictionary:
    """Read a dictionary file written by ``cobol train`` or :meth:`Dictionary.save`."""
    return Dictionary.load(path)


def _dict_id(body) -> int:
    return int.from_bytes(hashlib.sha256(body).digest()[:4], "little")


def _check_zstd(zd: bytes) -> None:
    """Load the zstd dictionary now, so a corrupt one fails here and not mid-decode."""
    try:
        d = zstandard.ZstdCompressionDict(zd)
        if zd.startswith(ZSTD_DICT_MAGIC):
            d.precompute_compress(level=3)  # parses the entropy tables
    except zstandard.ZstdError as e:
        raise FormatError(f"dictionary: its zstd dictionary is corrupt ({e})") from None


__all__ = ["Dictionary", "load", "DEFAULT_SIZE", "DEFAULT_LEVEL", "MAGIC", "FORMAT_VERSION"]
