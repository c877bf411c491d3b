"""``cobol compress-dir`` / ``cobol decompress-dir``: the command-line face of
:mod:`cobol.dataset` (many files compressed in parallel, locally or on Dask)."""

from __future__ import annotations

import json
import sys

from .common import EXIT_CORRUPT, EXIT_OK, MB, emit_table, is_tty, items_progress


def configure(p, decompress: bool):
    """Add the arguments of ``cobol compress-dir`` (or ``decompress-dir``) to ``p``;
    returns run(args) -> exit code."""
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="files, folders or globs; any fsspec URL (memory://, s3:// with s3fs)")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="output folder or URL (mirrors the input tree)")
    p.add_argument("-j", "--workers", type=int, default=None, help="local worker processes (default: all cores)")
    p.add_argument("--scheduler", metavar="ADDR", help="run on a Dask cluster, e.g. tcp://HOST:8786")
    if not decompress:
        p.add_argument("-l", "--level", type=int, default=3, metavar="N",
                       help="compression level 0..22, as for 'cobol --level' (default 3; 0 stores). "
                            "Here -l is the level, as in earlier releases; the main command's -l lists")
        p.add_argument("--checksum", choices=("sha256", "xxh3", "crc32"), default="xxh3",
                       help="checksum of every block's raw bytes (default xxh3; sha256 is a cryptographic hash, "
                            "crc32 the cheapest)")
        p.add_argument("--no-resume", action="store_true", help="redo outputs even if they match their source")
    p.add_argument("--json", action="store_true", help="machine-readable report")
    p.add_argument("-q", "--quiet", action="store_true")

    def run(args) -> int:
        from ..dataset import compress_files, decompress_files

        progress = None
        bar = None
        if not args.quiet and not args.json and is_tty(sys.stderr):
            bar = items_progress()
            bar.start()
            task = bar.add_task("files", total=None)
            progress = lambda r: bar.advance(task)  # noqa: E731
        try:
            if decompress:
                rep = decompress_files(args.inputs, args.output, workers=args.workers,
                                       scheduler=args.scheduler, progress=progress)
            else:
                rep = compress_files(args.inputs, args.output, workers=args.workers, scheduler=args.scheduler,
                                     resume=not args.no_resume, progress=progress,
                                     level=args.level, checksum=args.checksum)
        finally:
            if bar is not None:
                bar.stop()
        if args.json:
            json.dump(rep.to_dict(), sys.stdout, indent=1)
            print()
        elif not args.quiet:
            rows = [[r.rel or r.src, r.status, str(r.bytes_in), str(r.bytes_out),
                     f"{r.ratio:.3f}" if r.bytes_out and r.bytes_in else "-",
                     f"{r.bytes_in / MB / r.seconds:.1f}" if r.seconds and r.status == "done" else "-",
                     r.error] for r in rep.results]
            emit_table([("file", "l"), ("status", "l"), ("raw", "r"), ("cobl", "r"), ("ratio", "r"),
                        ("MiB/s", "r"), ("error", "l")], rows)
            cats = rep.by_category()
            emit_table([("category", "l"), ("files", "r"), ("raw", "r"), ("cobl", "r"), ("geomean ratio", "r")],
                       [[c, str(v["files"]), str(v["bytes_in"]), str(v["bytes_out"]), f"{v['geomean_ratio']:.3f}" if v["geomean_ratio"] is not None else "-"]
                        for c, v in sorted(cats.items())], title="per category")
            d = rep.to_dict()
            print(f"{len(rep.results)} files, {len(rep.failed)} failed, {d['seconds']:.2f} s, {d['mib_per_s']:.1f} MiB/s"
                  + ("" if decompress else "; each output starts with a ~100-byte metadata record of its source "
                     "(name, size, mtime, SHA-256: reruns skip what is done; see 'cobol --list -v')"))
        # a failed file, whatever its cause, has always exited 2
        return EXIT_CORRUPT if rep.failed else EXIT_OK

    return run
