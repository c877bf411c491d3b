"""``cobol serve`` and ``cobol send``: the command-line face of the TCP protocol.

Registered in cobol/cli/subcommands.py's table; this module holds their
arguments and their run functions, and is imported only when one of them runs.

    cobol serve [--listen HOST:PORT] [--out DIR] [--store raw|cobl]
                [--tls-cert F --tls-key F] [--token-file F]
    cobol send FILE... HOST:PORT [--token-file F] [--tls | --tls-ca F] [--retries N]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import signal
import sys

from ..errors import CobolError
from ..stream.config import DEFAULT_PORT, StreamingConfig
from .common import EXIT_INTERNAL, EXIT_IO, EXIT_OK, EXIT_REFUSED, EXIT_USAGE, MB, is_tty, parse_size, transfer_progress

SEND_EXIT_HELP = """\
send exit codes: 0 every file arrived and was confirmed; 1 usage error;
3 a file could not be read or the receiver could not be reached (after
--retries attempts without progress); 4 refused (wrong token, TLS failure,
transfer refused); 5 internal error. With several files, the highest code."""


def _positive_float(text: str) -> float:
    v = float(text)
    if not v > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return v


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("cobol %(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    logger = logging.getLogger("cobol.stream")
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False


# ---------------------------------------------------------------- serve

SERVE_EXIT_HELP = """\
serve exit codes: 0 stopped by SIGINT/SIGTERM; 1 usage error (bad address,
bad TLS certificate or key, bad token file); 3 cannot listen (address in use,
permission) or read a file."""


def configure_serve(p: argparse.ArgumentParser):
    p.epilog = SERVE_EXIT_HELP
    p.add_argument("--listen", default=f"127.0.0.1:{DEFAULT_PORT}", metavar="HOST:PORT",
                   help=f"address to listen on (default 127.0.0.1:{DEFAULT_PORT}; port 0 picks a free one; "
                        "listening beyond this machine needs an explicit host such as 0.0.0.0)")
    p.add_argument("--out", default=".", metavar="DIR", help="folder for received files (default: current folder)")
    p.add_argument("--store", choices=("raw", "cobl"), default="raw",
                   help="raw: write the original bytes (default); cobl: keep the received blocks as NAME.cobl")
    p.add_argument("--tls-cert", metavar="FILE", help="TLS certificate (PEM); enables TLS")
    p.add_argument("--tls-key", metavar="FILE", help="TLS private key (PEM), if not in --tls-cert")
    p.add_argument("--token-file", metavar="FILE", help="shared secret; senders must prove they know it (HMAC)")
    p.add_argument("--max-connections", type=int, default=64, metavar="N", help="concurrent connections (default 64)")
    p.add_argument("--max-block-size", type=parse_size, default=StreamingConfig.max_block_size, metavar="SIZE",
                   help="largest block size a sender may use; senders with larger blocks lower them to it "
                        "(default 8M, the file path's block size)")
    p.add_argument("--window", type=int, default=StreamingConfig.window, metavar="N",
                   help="reorder window / credit in blocks, at most (default 16)")
    p.add_argument("--window-bytes", type=parse_size, default=StreamingConfig.window_bytes, metavar="SIZE",
                   help="reorder window / credit in raw bytes: blocks of B bytes get SIZE/B of them, at least 4 "
                        "and at most --window (default 32M: 4 blocks of 8M, 16 of 2M)")
    p.add_argument("--idle-timeout", type=_positive_float, default=30.0, metavar="S",
                   help="close a connection silent for S seconds (default 30)")
    p.add_argument("--block-timeout", type=_positive_float, default=60.0, metavar="S",
                   help="fail a transfer whose missing block is waited for S seconds (default 60)")
    p.add_argument("-D", "--dictionary", action="append", default=[], metavar="DICT",
                   help="a shared dictionary (cobol train) senders may use; repeat for several")
    p.add_argument("-T", "--threads", type=int, default=0, metavar="N",
                   help="threads decoding blocks, shared by all connections (default 0: one per core)")
    p.add_argument("--no-warmup", action="store_true",
                   help="listen at once, without loading the decoders first (by default the server decodes a few "
                        "bundled frames before it listens, so its first transfer does not pay for that)")
    p.add_argument("--no-fsync", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("-v", "--verbose", action="count", default=0, help="log more")
    p.add_argument("-q", "--quiet", action="store_true", help="log warnings only")
    return run_serve


def run_serve(args) -> int:
    from ..stream.tcp import StreamServer, parse_hostport, read_token, server_ssl_context
    _setup_logging(args.verbose, args.quiet)
    try:
        host, port = parse_hostport(args.listen)
    except ValueError as exc:
        print(f"cobol serve: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.tls_key and not args.tls_cert:
        print("cobol serve: --tls-key needs --tls-cert", file=sys.stderr)
        return EXIT_USAGE
    if args.threads < 0:
        print("cobol serve: --threads must be >= 0", file=sys.stderr)
        return EXIT_USAGE
    if args.threads == 0:
        from ..engine import default_threads
        args.threads = default_threads()
    try:
        cfg = StreamingConfig(window=args.window, window_bytes=args.window_bytes,
                              max_block_size=args.max_block_size, threads=args.threads,
                              block_size=min(StreamingConfig.block_size, args.max_block_size),
                              max_connections=args.max_connections, idle_timeout=args.idle_timeout,
                              block_timeout=args.block_timeout, fsync=not args.no_fsync)
        token = read_token(args.token_file) if args.token_file else None
        ssl_ctx = server_ssl_context(args.tls_cert, args.tls_key) if args.tls_cert else None
        from ..dictionary import load as load_dictionary
        dictionaries = [load_dictionary(p) for p in args.dictionary]
    except CobolError as exc:
        print(f"cobol serve: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"cobol serve: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_IO
    except Exception as exc:  # ssl.SSLError and friends: a bad certificate or key
        print(f"cobol serve: TLS setup failed: {exc}", file=sys.stderr)
        return EXIT_USAGE
    os.makedirs(args.out, exist_ok=True)
    if not args.no_warmup:
        from ..warmup import warm_decoders
        took = warm_decoders()
        gc.freeze()  # the loaded kernels live as long as the server: keep full collections off them
        if args.verbose:
            print(f"cobol serve: decoders loaded in {took:.2f} s of CPU", file=sys.stderr, flush=True)

    async def main() -> None:
        server = StreamServer(args.out, cfg, host=host, port=port, token=token, ssl=ssl_ctx, mode=args.store,
                              dictionaries=dictionaries)
        await server.start()
        print(f"cobol serve: listening on {host}:{server.port}{' (TLS)' if ssl_ctx else ''}, "
              f"writing to {os.path.abspath(args.out)}", file=sys.stderr, flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError):
                pass
        serving = asyncio.create_task(server.serve_forever())
        await stop.wait()
        serving.cancel()
        await server.close()

    try:
        asyncio.run(main())
    except OSError as exc:
        print(f"cobol serve: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_IO
    except KeyboardInterrupt:
        pass
    return EXIT_OK


# ---------------------------------------------------------------- send

def configure_send(p: argparse.ArgumentParser):
    p.epilog = SEND_EXIT_HELP
    p.add_argument("paths", nargs="+", metavar="FILE... HOST:PORT",
                   help="files to send ('-' for stdin), then the receiver's address")
    p.add_argument("--token-file", metavar="FILE", help="shared secret the receiver expects")
    p.add_argument("--tls", action="store_true", help="use TLS, verifying the receiver against the system CAs")
    p.add_argument("--tls-ca", metavar="FILE", help="use TLS, verifying the receiver against this CA / certificate")
    p.add_argument("--server-name", metavar="NAME", help="name to verify in the receiver's certificate (default: HOST)")
    p.add_argument("--retries", type=int, default=5, metavar="N",
                   help="reconnect attempts without progress before giving up (default 5)")
    p.add_argument("--no-resume", action="store_true", help="start over even if the receiver holds part of a file")
    p.add_argument("-l", "--level", type=int, default=3, help="compression level 0..22 (default 3)")
    p.add_argument("--block-size", type=parse_size, default=StreamingConfig.block_size, metavar="SIZE",
                   help="block size (default 8M, as cobol -c; lowered to the receiver's limit if that is "
                        "smaller; a pipe's partial block is sent after --max-delay)")
    p.add_argument("--max-delay", type=_positive_float, default=StreamingConfig.max_delay, metavar="S",
                   help="longest a byte from a pipe or terminal waits before its block is sent (default 0.02)")
    p.add_argument("--checksum", default="xxh3", choices=("sha256", "xxh3", "crc32"),
                   help="per-block checksum (default xxh3)")
    p.add_argument("--plan", default="auto", help="force a plan: auto (default), store, zstd or a transform name")
    p.add_argument("-D", "--dictionary", metavar="DICT",
                   help="code the blocks with this shared dictionary (cobol train); the receiver needs it too")
    p.add_argument("-T", "--threads", type=int, default=0, metavar="N",
                   help="compression threads per file (default 0: one per core, as cobol -c)")
    p.add_argument("-j", "--jobs", type=int, default=1, metavar="N", help="files sent at once (default 1)")
    p.add_argument("--ack-timeout", type=_positive_float, default=30.0, metavar="S",
                   help="reconnect when no acknowledgement comes for S seconds (default 30)")
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    p.add_argument("-v", "--verbose", action="count", default=0, help="log connection events")
    p.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    return run_send


def _exit_code(exc: BaseException) -> int:
    from ..stream.errors import AuthenticationError, TransferRefused
    import ssl
    if isinstance(exc, (AuthenticationError, TransferRefused, ssl.SSLError)):
        return EXIT_REFUSED
    if isinstance(exc, (OSError, CobolError)):
        return EXIT_IO
    return EXIT_INTERNAL


def run_send(args) -> int:
    from ..stream.tcp import client_ssl_context, parse_hostport, read_token
    _setup_logging(args.verbose, True if not args.verbose else args.quiet)
    if len(args.paths) < 2:
        print("cobol send: give one or more files and then HOST:PORT", file=sys.stderr)
        return EXIT_USAGE
    *files, dest = args.paths
    try:
        host, port = parse_hostport(dest)
        if args.retries < 0 or args.jobs < 1 or args.threads < 0:
            raise ValueError("--retries must be >= 0, --jobs >= 1 and --threads >= 0")
        if args.threads == 0:
            from ..engine import default_threads
            args.threads = default_threads()
        if files.count("-") > 1:
            raise ValueError("stdin ('-') can be sent once")
        cfg = StreamingConfig(block_size=args.block_size, level=args.level, checksum=args.checksum, plan=args.plan,
                              threads=args.threads, ack_timeout=args.ack_timeout, max_delay=args.max_delay,
                              max_block_size=max(StreamingConfig.max_block_size, args.block_size))
        if args.plan not in ("auto", "store", "zstd"):
            from ..registry import transform_by_name
            transform_by_name(args.plan)
    except (ValueError, CobolError) as exc:
        print(f"cobol send: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        token = read_token(args.token_file) if args.token_file else None
        if args.dictionary:
            from ..dictionary import load as load_dictionary
            args.dictionary = load_dictionary(args.dictionary)
    except (OSError, CobolError) as exc:
        print(f"cobol send: {exc}", file=sys.stderr)
        return EXIT_USAGE
    ssl_ctx = client_ssl_context(args.tls_ca) if (args.tls or args.tls_ca) else None
    show_progress = not args.quiet and is_tty(sys.stderr)
    results = asyncio.run(_send_all(files, host, port, cfg, token, ssl_ctx, args, show_progress))
    code = EXIT_OK
    for path, res, exc in results:
        if exc is not None:
            code = max(code, _exit_code(exc))
            print(f"cobol send: {path}: {exc}", file=sys.stderr)
        elif not args.quiet and not args.json and res.already_received:
            print(f"cobol send: {path}: {host}:{port} had received it already, as {res.stored_name}", file=sys.stderr)
        elif not args.quiet and not args.json:
            st = res.stats
            print(f"cobol send: {path} -> {host}:{port} as {res.stored_name}: {res.raw_bytes} bytes, "
                  f"ratio {st.ratio:.2f}, {st.throughput / MB:.1f} MiB/s, {st.connections} connection(s), "
                  f"{st.retransmitted} block(s) resent", file=sys.stderr)
    if args.json:
        out = [{"file": path, "ok": exc is None, "error": None if exc is None else str(exc),
                **({"stored_name": res.stored_name, "raw_bytes": res.raw_bytes, "blocks": res.blocks,
                    "stats": res.stats.to_dict()} if res is not None else {})}
               for path, res, exc in results]
        print(json.dumps(out, indent=2))
    return code


async def _send_all(files, host, port, cfg, token, ssl_ctx, args, show_progress):
    from ..stream.tcp import send_file, send_stream
    sem = asyncio.Semaphore(args.jobs)
    progress = None
    if show_progress:
        progress = transfer_progress(transient=False)
        progress.start()

    async def one(path):
        async with sem:
            task = None
            if progress is not None:
                total = os.path.getsize(path) if path != "-" and os.path.isfile(path) else None
                task = progress.add_task(os.path.basename(path) if path != "-" else "stdin", total=total)

            def report(n):
                if task is not None:
                    progress.update(task, completed=n)

            kw = dict(token=token, ssl=ssl_ctx, server_hostname=args.server_name or host,
                      retries=args.retries, progress=report, dictionary=args.dictionary or None)
            try:
                if path == "-":
                    res = await send_stream(sys.stdin.buffer, host, port, cfg, name="stdin", **kw)
                else:
                    if os.path.isdir(path):
                        raise IsADirectoryError(21, "is a directory", path)
                    if args.no_resume:
                        import secrets
                        kw["transfer_id"] = secrets.token_bytes(16)
                    res = await send_file(path, host, port, cfg, **kw)
                return path, res, None
            except Exception as exc:  # reported per file; the others go on
                if isinstance(exc, OSError) and exc.strerror and exc.filename:
                    exc = OSError(exc.errno, f"{exc.strerror}")
                return path, None, exc

    try:
        return await asyncio.gather(*(one(p) for p in files))
    finally:
        if progress is not None:
            progress.stop()
