"""Compress an integer array that lives on the device into a .cobl frame.

:func:`compress_device_ints` writes a normal frame that ``cobol.decompress``
reads anywhere: one block per ``block_values`` values, each a ``numeric``
block (transform 10, method int, no residue) whose values stream is the
intcodec PACKED int stream. The numeric stages -- min and gcd, frame of
reference, L3 order choice and deltas, L4 analysis and packing -- run on the
device (:meth:`~cobol.accel.base.Backend.encode_ints_packed`); only the packed
bytes come back, to be zstd-coded on the host. The block checksum needs the
raw bytes, so each block is also copied to the host once, one way (no data
goes back to the device). On the CPU backend the same function takes NumPy
arrays.

It sits beside the engine, not in :mod:`cobol.accel`: it writes whole frames
(entropy coding, checksums, block records), which is engine work; the
accelerator package only offers the kernels.

The frame is valid and decodes to ``arr.astype("<i8").tobytes()`` (or the
array's own little-endian integer bytes), but it is not byte-identical to
``cobol.compress`` of those bytes: the CPU engine picks among more int-stream
layouts by trial (planes, dictionary), where this function always packs.

>>> import numpy as np, cobol
>>> from cobol.device_frame import compress_device_ints
>>> x = np.arange(0, 30_000, 3, dtype=np.int64)
>>> blob = compress_device_ints(x, backend="cpu")
>>> cobol.decompress(blob) == x.tobytes()
True
"""

from __future__ import annotations

import numpy as np

from . import entropy
from .accel.factory import get_backend
from .format import checksum as ck
from .format.frame import DataBlock, FrameHeader, StreamEntry, encode_data_block, encode_end_record, \
    encode_frame_header
from .format.wire import put_varint
from .layers import numeric

_DTYPES = {np.dtype(d) for d in ("<i1", "<i2", "<i4", "<i8", "<u1", "<u2", "<u4", "<u8")}


def compress_device_ints(arr, level: int = 3, *, backend=None, checksum: str = "xxh3",
                         block_values: int = 1 << 20) -> bytes:
    """A .cobl frame of the integer array ``arr`` (any int dtype, device or host)."""
    b = get_backend(backend)
    dt = np.dtype(arr.dtype).newbyteorder("<") if np.dtype(arr.dtype).byteorder == ">" else np.dtype(arr.dtype)
    if dt not in _DTYPES:
        raise ValueError(f"an integer array expected, got dtype {arr.dtype}")
    if not 1 <= block_values:
        raise ValueError("block_values must be >= 1")
    flat = arr.reshape(-1)
    n = int(flat.size)
    size = dt.itemsize
    block_values = min(block_values, (8 << 20) // size)
    cid = ck.checksum_id(checksum)
    parts = [encode_frame_header(FrameHeader(cid, block_values * size, None))]
    nblocks = 0
    for seq, a in enumerate(range(0, n, block_values)):
        part = flat[a:a + block_values]
        count = int(part.size)
        values = b.encode_ints_packed(part)  # widened to int64 on the device, like numeric's int method
        raw = np.ascontiguousarray(b.download(part) if b.is_device_array(part) else part).astype(dt, copy=False)
        raw_bytes = raw.tobytes()
        params = bytearray([numeric.VERSION, numeric.DTYPE_CODES[dt], numeric.M_INT, 0, 0])
        put_varint(params, count)
        streams = [values, b"", b"", b""]
        coded = [entropy.entropy_code(s, level) for s in streams]
        parts.append(encode_data_block(DataBlock(
            seq=seq, raw_len=len(raw_bytes), transform=numeric.NumericArrayTransform.id, params=bytes(params),
            streams=[StreamEntry(c, len(d), len(s)) for (c, d), s in zip(coded, streams)],
            checksum=ck.compute(cid, raw_bytes), payloads=[d for _, d in coded])))
        nblocks += 1
    parts.append(encode_end_record(nblocks, n * size))
    return b"".join(parts)
