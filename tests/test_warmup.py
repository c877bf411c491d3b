"""The frames cobol serve decodes before it listens (cobol.warmup)."""

import cobol
from cobol.format.frame import DataBlock, iter_frame_records
from cobol.registry import get_transform
from cobol.warmup import warm_decoders, warmup_frames


def test_warmup_frames_decode_and_cover_every_transform_with_kernels():
    blob = warmup_frames()
    names = {get_transform(rec.transform).name for _, rec in iter_frame_records(blob) if isinstance(rec, DataBlock)}
    assert {"json", "csv", "xml", "html", "l1", "log", "numeric"} <= names
    assert len(cobol.decompress(blob)) > 100_000
    assert warm_decoders() >= 0.0

