"""Whole datasets: many files compressed in parallel, locally or on Dask.

``compress_files`` maps one task per file over a local process pool (default)
or a Dask distributed cluster (``scheduler="tcp://HOST:8786"``). Each task reads
its input through fsspec (any URL: local, memory, s3 with s3fs), writes
``OUT/<relative path>.cobl`` atomically, and records the input's size and
SHA-256 in a skippable metadata block of the output, so a rerun skips outputs
whose recorded source digest still matches (resume). A failed file is reported
in its row and never stops the others. The output bytes of a file depend only
on the file and the settings, never on where it ran.

Dask workers: distributed's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536,
which made each file about 2x slower here (block-sized buffers are returned
to the kernel and faulted in again). Start workers without it, e.g. with
``dask.config.set({"distributed.nanny.pre-spawn-environ": {}})`` before the
cluster starts (bench/bench_dataset.py does).
"""

from .run import (  # noqa: F401
    DatasetReport, FileResult, collect_inputs, compress_files, decompress_files,
)
