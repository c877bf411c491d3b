"""Streaming: incremental compression, and a TCP protocol that carries .cobl blocks.

The core is sans-IO (no sockets, files or threads; see docs/STREAMING.md):

* :class:`StreamCompressor` -- ``feed(data)`` returns :class:`CompressedBlock`
  objects as blocks fill, ``flush()`` the rest;
* :class:`StreamDecompressor` -- ``feed_block(block)`` in any order within a
  reorder window, raw bytes out in order, checksums verified;
* :mod:`.protocol` -- the connection state machine and the sender / receiver
  sessions (handshake, HMAC authentication, credit, acknowledgements).

Around it: :mod:`.sender` / :mod:`.receiver` endpoints, durable checkpoints
(:mod:`.checkpoint`) and the asyncio TCP shells (:mod:`.tcp`).
"""

from .block import CompressedBlock
from .compressor import StreamCompressor
from .config import DEFAULT_PORT, StreamingConfig
from .decompressor import StreamDecompressor
from .errors import (
    AuthenticationError, BlockMissingError, ConnectionTimeout, FlowControlError, ProtocolError, ResumeError,
    StreamError, TransferRefused,
)
from .stats import StreamingStatistics
from .tcp import StreamServer, TransferFailed, send_file, send_stream, serve

__all__ = [
    "CompressedBlock", "StreamCompressor", "StreamDecompressor", "StreamingConfig", "StreamingStatistics",
    "DEFAULT_PORT", "StreamError", "ProtocolError", "BlockMissingError", "FlowControlError",
    "AuthenticationError", "ResumeError", "TransferRefused", "ConnectionTimeout", "TransferFailed",
    "StreamServer", "serve", "send_file", "send_stream",
]
