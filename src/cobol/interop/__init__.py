"""Bridges to the libraries people reach their data through: fsspec, numcodecs/Zarr."""
