"""Block cuts at CSV/TSV table boundaries (engine.table_cut, split_blocks and
the streaming next_cut): a block does not mix tables of different widths."""

from __future__ import annotations

import io
import random

import pytest

import cobol
from cobol.engine import TABLE_MIN_SHARE, CobolEngine, split_blocks, table_cut
from cobol.stream import StreamCompressor, StreamingConfig

BLOCK = 256 << 10  # probes of 1 KiB every 8 KiB


def table(ncols: int, nrows: int, seed: int, delim: bytes = b",", title: bytes = b"") -> bytes:
    rnd = random.Random(seed)
    head = delim.join(b"c%d" % i for i in range(ncols)) + b"\n"
    rows = [delim.join(b"%d" % rnd.randrange(10 ** rnd.randrange(1, 6)) for _ in range(ncols)) + b"\n"
            for _ in range(nrows)]
    return title + head + b"".join(rows)


def test_a_block_ends_where_a_table_of_another_width_starts():
    # the second table starts with a title line of its own width (1 field): it goes with its table
    first, second = table(5, 4000, 1), table(12, 6000, 2, title=b"Second table\n")
    data = first + second
    assert len(first) > BLOCK // TABLE_MIN_SHARE
    spans = split_blocks(data, BLOCK)
    assert (0, len(first)) in spans
    assert all(b - a <= BLOCK for a, b in spans) and spans[-1][1] == len(data)
    assert cobol.decompress(cobol.compress(data, block_size=BLOCK)) == data


def test_tsv_boundary_and_one_short_table_inside_a_window():
    # tables of 3, 7 and 3 tab-separated columns, the middle one shorter than a block
    a, b, c = table(3, 9000, 3, b"\t"), table(7, 2500, 4, b"\t"), table(3, 9000, 5, b"\t")
    data = a + b + c
    spans = split_blocks(data, BLOCK)
    cuts = {end for _, end in spans}
    assert len(a) in cuts and len(a) + len(b) in cuts


def test_one_table_is_cut_as_before():
    data = table(6, 60000, 6)
    spans = split_blocks(data, BLOCK)
    assert len(spans) > 3
    for a, b in spans[:-1]:
        assert BLOCK // 2 < b - a <= BLOCK and data[b - 1:b] == b"\n"
        assert table_cut(memoryview(data)[a:a + BLOCK], BLOCK, "csv") == 0


def test_no_cut_too_close_to_the_block_start_or_in_a_short_input():
    tiny = table(4, 50, 7)  # shorter than block_size // TABLE_MIN_SHARE
    data = tiny + table(9, 20000, 8)
    assert split_blocks(data, BLOCK)[0][1] != len(tiny)
    short = table(4, 300, 9) + table(9, 300, 10)  # a whole input under 2 probe spacings
    assert split_blocks(short, BLOCK) == [(0, len(short))]


@pytest.mark.parametrize("step", [777, 1 << 16])
def test_streaming_and_file_paths_cut_as_compress_does(step):
    data = table(5, 3000, 11) + table(12, 3000, 12, title=b"Second\n") + table(2, 5000, 13)
    engine = CobolEngine(1, block_size=BLOCK, threads=1, plan="zstd", compact=False)
    ref = engine.compress(data)
    assert cobol.frame_info(ref).blocks == 3
    cfg = StreamingConfig(block_size=BLOCK, plan="zstd", level=1, checksum=engine.checksum)
    c = StreamCompressor(cfg)
    blocks = []
    for i in range(0, len(data), step):
        blocks += c.feed(data[i:i + step])
    blocks += c.flush()
    assert c.frame_header() + b"".join(b.record for b in blocks) + c.end_record() == ref
    # compress_stream, and its one-block (compact) shortcut, which must not skip the table cut
    for compact in (False, True):
        e = CobolEngine(1, block_size=BLOCK, threads=1, plan="zstd", compact=compact)
        out = io.BytesIO()
        e.compress_stream(io.BytesIO(data), out)
        assert out.getvalue() == e.compress(data)
        assert cobol.decompress(out.getvalue()) == data
