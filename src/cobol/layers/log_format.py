"""The log transform's (id 60) identity and params, without its Numba kernels.

:mod:`cobol.layers.l2_log` is the transform; this module holds what a reader
needs before it renders anything: the id, the stream names, the delimiter
bytes (variables never contain one), the params layout and the bound on a
block's stream table. ``cobol grep`` uses it to rule out log blocks that
cannot hold a fixed string from their entropy-decoded streams alone, without
importing Numba (whose import and first call cost more CPU than searching
megabytes of streams).

Params (docs/transforms/log.md)::

    u8 version (1 or 2) | u8 flags (bit 0: the block ends with a newline)
    [version 2: u8 n_extra | n_extra bytes: extra delimiters, increasing, from EXTRA_DELIMITERS]
    varint n_lines | varint n_templates | varint n_common | varint n_vars | varint n_numbers
    | varint n_raw

Version 2 only adds the extra delimiters: the block's variables contain none
of ``DELIMITERS`` nor of them (what ``cobol grep`` relies on); the streams
and the decoding are version 1's.
"""

from __future__ import annotations

from ..errors import FormatError
from ..format.wire import Reader
from ..registry import DECODED_SLACK

TRANSFORM_ID = 60
VERSION = 1
#: params version 2: version 1 plus extra delimiter bytes (the encoder writes
#: version 1 when a block has none, so such frames stay byte-identical)
VERSION_DELIMITERS = 2
STREAM_NAMES = ("templates", "ids", "skeletons", "numbers", "widths", "raw")
TEMPLATES, IDS, SKELETONS, NUMBERS, WIDTHS, RAW = range(6)
#: bytes that separate tokens. ``:``, ``.``, ``/`` and ``-`` are not among
#: them, so times, dates, IP addresses, versions and paths stay one variable
#: whose numbers are delta coded per chunk.
DELIMITERS = b" \t\r[](){}<>,;=\"'|"
#: bytes a version-2 block may add to DELIMITERS for its variables (``/``:
#: path segments become template text or variables of their own)
EXTRA_DELIMITERS = b"./:"


def block_delimiters(extra: bytes) -> bytes:
    """The delimiter bytes of a block with these extra delimiters."""
    return DELIMITERS + extra


def parse_params(params: bytes, raw_len: int) -> dict:
    """The params as a dict (final_newline, n_lines, n_templates, n_common,
    n_vars, n_numbers, n_raw, delimiters: the block's delimiter bytes);
    FormatError when they are not valid."""
    r = Reader(params, what="log params")
    version = r.u8("version")
    if version not in (VERSION, VERSION_DELIMITERS):
        raise FormatError(f"log: unknown version {version}")
    flags = r.u8("flags")
    if flags > 1:
        raise FormatError(f"log: unknown flags {flags:#x}")
    extra = b""
    if version == VERSION_DELIMITERS:
        n_extra = r.u8("extra delimiter count")
        if not 1 <= n_extra <= len(EXTRA_DELIMITERS):
            raise FormatError(f"log: {n_extra} extra delimiters")
        extra = bytes(r.u8("extra delimiter") for _ in range(n_extra))
        if any(b not in EXTRA_DELIMITERS for b in extra) or any(a >= b for a, b in zip(extra, extra[1:])):
            raise FormatError(f"log: bad extra delimiters {extra!r}")
    n_lines = r.varint("line count", raw_len + 1)
    p = dict(final_newline=bool(flags & 1), n_lines=n_lines, delimiters=block_delimiters(extra),
             n_templates=r.varint("template count", n_lines),
             n_common=r.varint("common template count", n_lines),
             n_vars=r.varint("variable count", raw_len),
             n_numbers=r.varint("number count", raw_len),
             n_raw=r.varint("raw line count", n_lines))
    r.expect_end("log params")
    if p["n_common"] > p["n_templates"]:
        raise FormatError("log: more common templates than templates")
    return p


def column_layout(slots: np.ndarray, n_common: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Where each template's variables go: (slot_base, stride, n_cols).

    Slot s of template t (1-based; index 0 unused) is column
    ``slot_base[t] + s * stride[t]``. Templates 1..n_common get a column
    per slot; the rarer ones (stride 0) share the last column, in line order,
    because a column of one or two values keeps none of its neighbours.
    """
    import numpy as np  # (here: the checks ``cobol grep`` makes without NumPy import this module)
    n_t = slots.size - 1
    stride = np.zeros(n_t + 1, np.int64)
    stride[1:n_common + 1] = 1
    own = np.where(stride > 0, slots, 0)
    slot_base = np.zeros(n_t + 1, np.int64)
    slot_base[1:] = np.cumsum(own)[:-1]
    n_own = int(own.sum())
    slot_base[n_common + 1:] = n_own
    n_cols = n_own + (1 if n_common < n_t else 0)
    return slot_base, stride, n_cols


class StreamBound:
    """The log transform's bound on a block's stream table, which a decoder
    checks before it decodes any stream (docs/FORMAT.md "Memory bound"): the
    transform (:class:`cobol.layers.l2_log.LogTransform`) declares these same
    values, so a reader that has not imported it checks the same bound."""

    name = "log"
    max_streams = len(STREAM_NAMES)
    expansion = 16

    def decoded_limit(self, params: bytes, raw_len: int) -> int:
        return self.expansion * raw_len + DECODED_SLACK


STREAM_BOUND = StreamBound()
