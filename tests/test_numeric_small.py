"""The small numeric transform (id 11, layers/numeric_small.py): tiny numeric
blocks coded with NumPy alone, so that compressing a 1 KB array compiles no
Numba kernel (issue 15, start-up). Round trips on generated data are in
test_properties.py; here: the frames it wrote stay readable, the planner picks
it only where it should, and hostile params are refused."""

from __future__ import annotations

import numpy as np
import pytest

import cobol
from cobol.errors import FormatError
from cobol.layers.numeric_small import SmallNumericTransform
from cobol.plan import TINY_BLOCK, choose_plan
from cobol.registry import DecodeContext, EncodeContext

from test_startup import _python

MINUTES = (1_700_000_000 + 60 * np.cumsum(np.arange(64) % 5)).astype("<i8").tobytes()
PRICES = np.round(100 + np.cumsum(np.tile([0.25, -0.1, 0.05], 30)), 2).astype("<f8").tobytes()[:-3]
COUNTS = (np.arange(120, dtype="<i4") ** 2).tobytes()

#: frames written by the first version (cobol.compress(data, fmt="numeric")):
#: (data, frame hex, the block's description)
FIXTURES = [
    (MINUTES, "434f424c010280808004b2b321fe01430080040b07010208000104140201238002000000ac5a6eac2efeff840246321828b52ffd"
              "0000d500006080060c121800fe0021000a00040003121e90f070123ece52040001800479e9681c",
     "numeric-small 8-byte int / 20, order 1"),
    (PRICES, "434f424c010280808004b2b321fe013c00cd050b06010108020102020118b20100050589ceac97eefa54684c2bd5e028b52ffd"
             "00007d00003052130a324e000200849bb038392200000000000001cd05a7e8b82e",
     "numeric-small float64 scaled x10^2, order 1"),
    (COUNTS, "434f424c010280808004b2b321fe013000e0030b06010004000201020112780000008b2498fe66a2d655ab6ae04e28b52ffd"
             "00004d00001800020401003205430001e0037d17f1e7",
     "numeric-small 4-byte int, order 2"),
]


@pytest.mark.parametrize("data, frame, detail", FIXTURES)
def test_frames_of_the_first_version_decode(data, frame, detail):
    blob = bytes.fromhex(frame)
    assert cobol.decompress(blob) == data
    assert cobol.frame_info(blob).block_list[0].detail == detail
    # today's encoder still chooses the same way (its zstd bytes may differ between zstd versions)
    assert cobol.frame_info(cobol.compress(data, fmt="numeric")).block_list[0].detail == detail


def _plan(data: bytes, fmt: str = "numeric", **kw):
    return choose_plan(data, EncodeContext(level=3, fmt=fmt, **kw))


def test_planner_uses_it_for_tiny_numeric_and_binary_blocks_only():
    assert [t[0] for t in _plan(COUNTS).trials] == ["numeric-small", "raw"]
    assert [t[0] for t in _plan(COUNTS, "binary").trials] == ["numeric-small", "raw"]
    big = (np.arange(TINY_BLOCK // 4, dtype="<i4") ** 2).tobytes()
    assert "numeric-small" not in [t[0] for t in _plan(big).trials]
    assert "numeric" in [t[0] for t in _plan(big).trials]
    # a dtype hint keeps the numeric transform at any size
    assert "numeric" in [t[0] for t in _plan(COUNTS, hints={"dtype": "int32"}).trials]
    # its layers switched off: plain zstd
    assert [t[0] for t in _plan(COUNTS, layers=frozenset({"l1", "l2"})).trials] == ["raw"]


def test_it_beats_zstd_on_tiny_arrays():
    for data in (MINUTES, PRICES, COUNTS):
        assert len(cobol.compress(data)) < 0.8 * len(cobol.compress(data, plan="zstd"))


def test_tiny_numeric_round_trip_loads_no_numba():
    code = ("import cobol, sys, numpy as np; d = (np.arange(250, dtype='<i4') * 7).tobytes(); b = cobol.compress(d); "
            "print(cobol.decompress(b) == d, cobol.frame_info(b).block_list[0].plan, 'numba' in sys.modules)")
    assert _python(code) == "True numeric-small False"


@pytest.mark.parametrize("params", [
    b"", b"\x01\x00\x04\x00\x00", b"\x02\x00\x04\x00\x00\x02", b"\x01\x03\x04\x00\x00\x02",
    b"\x01\x00\x03\x00\x00\x02", b"\x01\x00\x04\x01\x00\x02", b"\x01\x01\x02\x02\x00\x02",
    b"\x01\x01\x08\x13\x00\x02", b"\x01\x00\x04\x00\x03\x02", b"\x01\x02\x04\x00\x01\x02",
    b"\x01\x02\x04\x00\x01\x02\x01", b"\x01\x00\x04\x00\x01\x02\x05",
    b"\x01\x02\x08\x00\x01\x02\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01",
])
def test_bad_params_are_format_errors(params):
    with pytest.raises(FormatError):
        SmallNumericTransform().decode([b"\x00" * 4, b""], params, 8, DecodeContext())


@pytest.mark.parametrize("params, streams, raw_len", [
    (b"\x01\x00\x04\x00\x01\x02", [b"\x00" * 3, b""], 8),       # fewer bytes than 2 planes of 2 numbers
    (b"\x01\x00\x04\x00\x01\x02", [b"\x00" * 5, b""], 8),       # a byte after them
    (b"\x01\x00\x04\x00\x01\x02", [b"\x00" * 8, b""], 8),       # a whole plane after them
    (b"\x01\x00\x04\x00\x01\x05", [b"\x00" * 10, b""], 8),      # more planes than 4-byte codes have
    (b"\x01\x01\x04\x02\x01\x09", [b"\x00" * 18, b""], 8),      # more than 8 for scaled floats
    (b"\x01\x00\x04\x00\x01\x02", [b"\x00" * 4, b"\x00"], 8),  # a tail for a block of whole numbers
    (b"\x01\x00\x04\x00\x01\x02", [b"\x00" * 4, b""], 9),       # no tail for a ragged block
    (b"\x01\x00\x04\x00\x01\x01", [b"\x00", b"\x00\x00"], 2),  # plane bytes for no numbers
    (b"\x01\x00\x04\x00\x01\x02", [b"\x00" * 4], 8),            # one stream
])
def test_bad_streams_are_format_errors(params, streams, raw_len):
    with pytest.raises(FormatError):
        SmallNumericTransform().decode(streams, params, raw_len, DecodeContext())
