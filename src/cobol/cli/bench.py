"""``cobol bench``: cobol against zstd, xz, brotli, lz4 and openzl on files or
folders, in one process (the measuring is :mod:`cobol.bench`; this module holds
the arguments and the tables)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap

from .common import (
    EXIT_INTERNAL, EXIT_IO, EXIT_OK, EXIT_USAGE, CliError, emit_table, human_size, is_tty, parse_size, say_error,
    steps_progress,
)


def configure(p: argparse.ArgumentParser):
    """Add ``cobol bench``'s arguments to ``p``; returns run(args) -> exit code."""
    from .. import bench as b
    p.description = textwrap.fill(
        "lzbench-style comparison in one process: ratio, compress and decompress MiB/s "
        "(median of interleaved repetitions; MiB = 2^20 bytes, as everywhere in cobol; the --json "
        "report keeps MB/s, 10^6 bytes, as its 'mb' field says), round trip verified for every codec. "
        "The category of a file is its parent folder's name. Default codecs: cobol at --levels, "
        f"{', '.join(b.ANCHORS)} (openzl: its generic graph, when the package is installed). "
        "cobol runs with one thread (like the others) unless --threads says otherwise.", 78)
    p.add_argument("paths", nargs="+", metavar="PATH", help="files, or folders to walk recursively")
    p.add_argument("--levels", default=",".join(map(str, b.DEFAULT_LEVELS)),
                   help="cobol levels, comma separated (default: %(default)s)")
    p.add_argument("--codecs", help="comma list of codecs, e.g. 'cobol,zstd-19,xz-9,lz4' "
                   "(a bare name: its default levels; known: " + ", ".join(b.FACTORIES) + ")")
    p.add_argument("--reps", type=int, default=3, help="timed repetitions per file and codec (default: 3)")
    p.add_argument("--max-bytes", type=parse_size, metavar="SIZE",
                   help="truncate each input to SIZE bytes (at a line end when possible)")
    p.add_argument("-T", "--threads", type=int, default=1, help="cobol's threads (default: 1)")
    p.add_argument("--no-dtype-hints", action="store_true",
                   help="do not take a numeric dtype from file suffixes (.i32, .f64, ...) as a hint")
    p.add_argument("--json", action="store_true", help="print the results as JSON (schema cobol-bench/1)")
    p.add_argument("-v", "--verbose", action="count", default=0,
                   help="also print one row per file and codec with its speeds")
    p.add_argument("-q", "--quiet", action="count", default=0, help="no progress bar")
    p.add_argument("--profile", action="store_true",
                   help="add cobol's per-layer time breakdown per file and level (one profiled run each)")

    def run(args) -> int:
        try:
            levels = [int(x) for x in args.levels.split(",") if x.strip()]
        except ValueError:
            raise CliError(EXIT_USAGE, f"--levels: bad list {args.levels!r}") from None
        if args.reps < 1:
            raise CliError(EXIT_USAGE, "--reps must be at least 1")
        notes = []
        try:
            codecs = b.parse_codecs(args.codecs, levels, args.threads, notes)
            inputs = b.collect_inputs(args.paths, args.max_bytes, dtype_hints=not args.no_dtype_hints)
        except b.BenchError as e:
            raise CliError(EXIT_USAGE, str(e)) from None
        except OSError as e:
            raise CliError(EXIT_IO, e.strerror or str(e), e.filename) from None
        steps = (args.reps + 1) * len(inputs) * len(codecs)
        show = is_tty(sys.stderr) and not args.quiet
        progress = None
        if show:
            progress = steps_progress(48)
            task = progress.add_task("bench", total=steps)
            progress.start()

        def on_step(name, label):
            if progress is not None:
                progress.update(task, advance=1, description=f"{os.path.basename(name)[:36]} {label}")

        try:
            result = b.run_bench(inputs, codecs, reps=args.reps, on_step=on_step)
        finally:
            if progress is not None:
                progress.stop()
        result.notes = notes
        breakdown = None
        if args.profile:
            from . import profile as profile_cli
            breakdown = profile_cli.bench_breakdown(inputs, levels, args.threads)
        if args.json:
            doc = result.to_json()
            if breakdown is not None:
                doc["layer_breakdown"] = breakdown
            json.dump(doc, sys.stdout, indent=1)
            print()
        else:
            _print_bench(result, inputs, args.verbose)
            if breakdown is not None:
                profile_cli.print_bench_breakdown(breakdown)
        for r in result.rows:
            if not r.verified:
                say_error(r.file, f"{r.label}: {r.error}")
        return EXIT_OK if result.ok else EXIT_INTERNAL

    return run


def _print_bench(result, inputs, verbose: int) -> None:
    from .. import bench as b
    labels = []
    for r in result.rows:
        if r.label not in labels:
            labels.append(r.label)
    by = {(r.file, r.label): r for r in result.rows}
    cols = [("file", "l"), ("category", "l"), ("size", "r")] + [(lab, "r") for lab in labels]
    rows = []
    for inp in inputs:
        row = [os.path.basename(inp.name), inp.category, human_size(len(inp.data))]
        row += [f"{by[inp.name, lab].ratio:.3f}" if by[inp.name, lab].verified else "FAIL" for lab in labels]
        rows.append(row)
    total = sum(len(i.data) for i in inputs)
    emit_table(cols, rows, title=f"Compression ratio per file ({len(inputs)} files, {human_size(total)})")
    if verbose:
        cols, rows = b.file_table(result)
        emit_table(cols, rows, title=f"Per file and codec (median of {result.reps} reps; MiB = 2^20 bytes)")
    cols, rows = b.category_table(result)
    emit_table(cols, rows, title="Geometric mean ratio per category (folder name); last columns: cobol / zstd -19")
    cols, rows = b.speed_table(result)
    emit_table(cols, rows, title=f"Speed over all files (median of {result.reps} reps, one process; MiB = 2^20 bytes)")
    for n in result.notes:
        print(f"note: {n}")

