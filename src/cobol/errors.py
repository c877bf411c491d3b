"""The one error hierarchy of the package.

Every failure that a caller can trigger with bad input is a :class:`CobolError`.
Decoders never let IndexError, struct.error or MemoryError escape: a corrupt,
truncated or hostile ``.cobl`` frame raises one of the subclasses below with a
message that says what is wrong and where (frame, block, offset).
"""

from __future__ import annotations


class CobolError(Exception):
    """Base class of every error this package raises on purpose."""


class FormatError(CobolError, ValueError):
    """The bytes are not a valid ``.cobl`` frame (bad magic, bad field, bad layout)."""


class TruncatedError(FormatError):
    """The input ends before the frame, block or field it started is complete."""


class ChecksumError(CobolError):
    """A block or header decoded, but its checksum does not match its contents."""


class LimitError(CobolError):
    """A size field or output exceeds an explicit limit (decompression bombs, hostile lengths)."""


class DictionaryError(CobolError):
    """A frame needs a shared dictionary that was not supplied, or the wrong one was."""


class UnsupportedError(CobolError):
    """A valid frame uses a feature (version, transform, codec) this build does not know."""


class EncodeError(CobolError, ValueError):
    """The caller asked the encoder for something impossible (bad level, bad option)."""
