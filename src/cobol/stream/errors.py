"""Errors of the streaming layer, under the package's one hierarchy (cobol.errors).

Each names one failure kind, so a caller (and the TCP shells) can tell a
retryable network problem from a permanent one: a dropped connection or a
corrupt frame is worth a reconnect; a wrong token or a refused transfer is not.
"""

from __future__ import annotations

from ..errors import CobolError


class StreamError(CobolError):
    """Base class of streaming failures."""

    #: whether a sender should reconnect and resume after this error
    retryable = True


class ProtocolError(StreamError):
    """The peer sent a frame that is malformed or illegal in the current state."""


class BlockMissingError(StreamError):
    """A block never arrived: it fell out of the reorder window or its timeout passed."""


class FlowControlError(ProtocolError):
    """The peer sent beyond the credit it was granted."""


class AuthenticationError(StreamError):
    """The shared-secret challenge-response failed (wrong or missing token)."""

    retryable = False


class ResumeError(StreamError):
    """The receiver's partial data does not match what this sender would send."""


class TransferRefused(StreamError):
    """The peer refused the transfer or reported a permanent error."""

    retryable = False


class ConnectionTimeout(StreamError):
    """The peer said nothing for longer than the configured timeout."""
