"""``cobol train SAMPLES... -o DICT``: train a shared dictionary for small
messages (like ``zstd --train``); the training itself is
:func:`cobol.dictionary.train`."""

from __future__ import annotations

import argparse
import os
import sys
import textwrap

from ..dictionary import DEFAULT_LEVEL, DEFAULT_SIZE
from ..errors import EncodeError
from .common import EXIT_OK, EXIT_REFUSED, EXIT_USAGE, CliError, parse_size, refuse_non_regular

#: fewer samples than this draw a "too few samples" warning (zstd's trainer wants hundreds at least)
MIN_SAMPLES = 100


def configure(p: argparse.ArgumentParser):
    """Add ``cobol train``'s arguments to ``p``; returns run(args) -> exit code."""
    p.description = textwrap.fill(
        "Train a shared dictionary for small messages (like zstd --train). Each SAMPLE file is one "
        "sample (folders are walked); --split cuts files into samples of about SIZE bytes at line ends "
        "(JSON lines, logs). Compress and decompress with 'cobol -D DICT'; frames name the dictionary "
        "they need. See docs/DICTIONARY.md.", 78)
    p.add_argument("samples", nargs="+", metavar="SAMPLE", help="sample files or folders")
    p.add_argument("-o", "--output", required=True, metavar="DICT", help="dictionary file to write")
    p.add_argument("--size", type=parse_size, default=DEFAULT_SIZE, metavar="SIZE",
                   help=f"dictionary size at most, e.g. 16K (default {DEFAULT_SIZE}, zstd's)")
    p.add_argument("-l", "--level", type=int, default=DEFAULT_LEVEL, metavar="N",
                   help=f"compression level the dictionary is tuned for (default {DEFAULT_LEVEL})")
    p.add_argument("--split", type=parse_size, metavar="SIZE",
                   help="cut each file into samples of about SIZE bytes, at a newline when there is one")
    p.add_argument("-f", "--force", action="store_true", help="overwrite DICT if it exists")
    p.add_argument("-q", "--quiet", action="store_true", help="no summary line")
    return run


def run(args: argparse.Namespace) -> int:
    from ..dictionary import train
    from ..engine import split_blocks
    if os.path.exists(args.output) and not args.force:
        raise CliError(EXIT_REFUSED, f"{args.output} exists; use -f to overwrite")
    if args.split is not None and args.split < 1:
        raise CliError(EXIT_USAGE, "--split must be at least 1 byte")
    samples = []
    for path in _walk(args.samples):
        refuse_non_regular(path)
        with open(path, "rb") as f:
            data = f.read()
        if args.split:
            samples += [data[a:b] for a, b in split_blocks(data, args.split)]
        elif data:
            samples.append(data)
    if len(samples) < MIN_SAMPLES and not args.quiet:
        print(f"cobol: warning: only {len(samples)} samples; a dictionary needs many more to help "
              f"(at least {MIN_SAMPLES}, ideally thousands: zstd asks for ~100x the dictionary size in samples). "
              "--split SIZE cuts big files into samples", file=sys.stderr)
    try:
        d = train(samples, size=args.size, level=args.level)
    except EncodeError as e:
        raise CliError(EXIT_USAGE, str(e)) from None
    d.save(args.output)
    if not args.quiet:
        print(f"cobol: {args.output}: dictionary {d.dict_id:#010x}, {len(d)} bytes "
              f"(zstd {len(d.zstd)}), from {len(samples)} samples ({sum(map(len, samples))} bytes)",
              file=sys.stderr)
    return EXIT_OK


def _walk(paths):
    """Files of ``paths``: a file as it is, a folder walked in sorted order."""
    for p in paths:
        if os.path.isdir(p):
            for root, dirs, names in os.walk(p):
                dirs.sort()
                for n in sorted(names):
                    yield os.path.join(root, n)
        else:
            yield p
