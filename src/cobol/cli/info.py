"""``cobol info``: the version, the registered transforms and codecs, the formats
and the accelerator backends."""

from __future__ import annotations

import argparse
import json
import sys

from .. import __version__
from .common import EXIT_OK, emit_table, human_size


def configure(p: argparse.ArgumentParser):
    """Add ``cobol info``'s arguments to ``p``; returns run(args) -> exit code."""
    p.add_argument("--json", action="store_true", help="machine-readable output")

    def run(args) -> int:
        import platform

        import numba
        import numpy
        import zstandard

        from .. import accel, detect
        from ..engine import DEFAULT_BLOCK_SIZE, DEFAULT_LEVEL, MAX_LEVEL, MIN_LEVEL, default_threads
        from ..registry import _CODECS, all_transforms  # read-only view of the registry
        transforms = [{"id": t.id, "name": t.name, "formats": list(t.formats), "min_level": t.min_level}
                      for t in all_transforms()]
        codecs = [{"id": c.id, "name": c.name} for c in sorted(_CODECS.values(), key=lambda c: c.id)]
        info = {
            "version": __version__, "python": platform.python_version(),
            "libraries": {"numpy": numpy.__version__, "numba": numba.__version__,
                          "zstandard": zstandard.__version__, "zstd": ".".join(map(str, zstandard.ZSTD_VERSION))},
            "levels": [MIN_LEVEL, MAX_LEVEL], "default_level": DEFAULT_LEVEL,
            "default_block_size": DEFAULT_BLOCK_SIZE, "threads": default_threads(),
            "checksums": ["sha256", "xxh3", "crc32"], "formats": list(detect.FORMATS),
            "transforms": transforms, "codecs": codecs,
            "backends": accel.describe_backends(),
        }
        if args.json:
            json.dump(info, sys.stdout, indent=1)
            print()
            return EXIT_OK
        print(f"cobol {__version__} (python {info['python']}, numpy {numpy.__version__}, numba {numba.__version__}, "
              f"zstd {info['libraries']['zstd']})")
        print(f"levels {MIN_LEVEL}..{MAX_LEVEL} (default {DEFAULT_LEVEL}), block size {human_size(DEFAULT_BLOCK_SIZE)}, "
              f"{info['threads']} threads, checksums {', '.join(info['checksums'])}")
        print(f"formats: {', '.join(detect.FORMATS)}")
        print("backends (* = used; COBOL_BACKEND=cpu|opencl|cuda overrides):")
        print("\n".join(accel.format_backends(info["backends"])))
        print()
        emit_table([("id", "r"), ("transform", "l"), ("formats", "l"), ("min level", "r")],
                   [[str(t["id"]), t["name"], ",".join(t["formats"]) or "-", str(t["min_level"])] for t in transforms],
                   title="Transforms")
        emit_table([("id", "r"), ("codec", "l")], [[str(c["id"]), c["name"]] for c in codecs], title="Entropy codecs")
        return EXIT_OK

    return run
