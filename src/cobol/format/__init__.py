"""The .cobl frame: header, blocks, stream tables, end marker (see docs/FORMAT.md)."""

from .frame import (  # noqa: F401
    MAGIC, FORMAT_VERSION, BlockKind, FrameHeader, DataBlock, StreamEntry, EndRecord,
    MetadataBlock, encode_frame_header, encode_data_block, encode_end_record,
    encode_metadata_block, read_frame_header, read_block, iter_frame_records, Limits,
)
