"""The Zarr format 3 codec: arrays written and read back, metadata round trip."""

import numpy as np
import pytest

zarr = pytest.importorskip("zarr", minversion="3.0", reason="the test extra installs zarr >= 3")

from cobol.interop.zarr3_codec import CobolCodec, register  # noqa: E402


@pytest.mark.parametrize("dtype", ["int32", "int64", "float64", "uint8"])
def test_zarr3_array_round_trip(tmp_path, dtype):
    register()
    rng = np.random.default_rng(1)
    a = np.cumsum(rng.integers(-5, 50, size=(64, 300))).astype(dtype).reshape(64, 300)
    z = zarr.create_array(store=str(tmp_path), shape=a.shape, chunks=(32, 100), dtype=a.dtype,
                          compressors=[CobolCodec(level=3)])
    z[:] = a
    back = zarr.open_array(str(tmp_path), mode="r")
    assert any(isinstance(c, CobolCodec) for c in back.metadata.codecs)
    np.testing.assert_array_equal(back[:], a)


def test_zarr3_codec_config_round_trip_and_validation():
    c = CobolCodec(level=19, checksum="crc32")
    assert CobolCodec.from_dict(c.to_dict()) == c
    assert c.to_dict() == {"name": "cobol", "configuration": {"level": 19, "checksum": "crc32"}}
    with pytest.raises(ValueError):
        CobolCodec(level=40)
    with pytest.raises(ValueError):
        CobolCodec(checksum="md5")


def test_zarr3_codec_is_found_by_name():
    register()
    from zarr.registry import get_codec_class
    assert get_codec_class("cobol") is CobolCodec
