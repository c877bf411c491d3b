"""The table of ``cobol`` subcommands (``cobol bench ...``, ``cobol serve ...``).

A subcommand is one function registered in :data:`SUBCOMMANDS` with
:func:`subcommand`: it receives its own ``argparse`` parser, adds its
arguments, and returns the function that runs with the parsed arguments and
returns an exit code. Each lives in its own module of this package, imported
only inside the registered function, so ``cobol FILE`` stays fast to start
(the streaming and profiling packages pull in asyncio, ssl and rich)::

    @subcommand("profile", "explain where time and bytes go")
    def _profile(p):
        from . import profile
        return profile.configure(p)

The order of registration is the order ``cobol --help`` lists them in.
"""

from __future__ import annotations

import argparse


class Subcommand:
    """One ``cobol NAME`` (a plain class, not a dataclass: ``cobol --help``
    would import dataclasses and inspect for it, ~10% of its start-up)."""

    __slots__ = ("name", "help", "configure")

    def __init__(self, name: str, help: str, configure):
        self.name = name
        self.help = help
        #: configure(parser) adds arguments and returns run(args) -> exit code
        self.configure = configure

    def __repr__(self) -> str:
        return f"Subcommand({self.name!r}, {self.help!r}, {self.configure!r})"


SUBCOMMANDS: dict[str, Subcommand] = {}


def subcommand(name: str, help: str):
    """Register ``configure(parser) -> run`` as ``cobol NAME`` (see the module docstring)."""
    def deco(configure):
        SUBCOMMANDS[name] = Subcommand(name, help, configure)
        return configure
    return deco


@subcommand("bench", "compare cobol with zstd, xz, brotli, lz4 and openzl on files or folders")
def _bench_command(p: argparse.ArgumentParser):
    from . import bench
    return bench.configure(p)


@subcommand("info", "print the version, registered transforms, codecs and formats")
def _info_command(p: argparse.ArgumentParser):
    from . import info
    return info.configure(p)


@subcommand("compress-dir", "compress a folder, glob or URL of files in parallel (local processes or Dask)")
def _compress_dir_command(p: argparse.ArgumentParser):
    from . import dataset
    return dataset.configure(p, decompress=False)


@subcommand("decompress-dir", "decompress a folder of .cobl files in parallel")
def _decompress_dir_command(p: argparse.ArgumentParser):
    from . import dataset
    return dataset.configure(p, decompress=True)


@subcommand("profile", "compress and decompress FILE under the profiler: where time and bytes go")
def _profile_command(p: argparse.ArgumentParser):
    from . import profile
    return profile.configure(p)


@subcommand("serve", "receive files from 'cobol send' over TCP (127.0.0.1 unless --listen says otherwise)")
def _serve_command(p: argparse.ArgumentParser):
    from . import stream
    return stream.configure_serve(p)


@subcommand("send", "send files to a 'cobol serve' receiver, resuming after dropped connections")
def _send_command(p: argparse.ArgumentParser):
    from . import stream
    return stream.configure_send(p)


@subcommand("train", "train a shared dictionary for small messages from sample files (like zstd --train)")
def _train_command(p: argparse.ArgumentParser):
    from . import train
    return train.configure(p)


@subcommand("grep", "print the lines of compressed files that match a pattern, like grep on the decompressed text")
def _grep_command(p: argparse.ArgumentParser):
    from . import grep
    return grep.configure(p)
