"""The asyncio shells: a TCP server that receives transfers, a client that sends one.

Thin on purpose: they read bytes, hand them to the endpoints (receiver.py,
sender.py), write what the endpoints want written, and turn timeouts into
``poll()`` calls. CPU work (decoding, compressing) and file I/O run on thread
pools the shells own, so one slow transfer never stalls the event loop or the
others: the endpoint's own calls (framing, writing, checkpoints) on one pool,
one call at a time per connection; block encoding (sender) and decoding
(server, shared by its connections) on a pool of ``config.threads`` workers
that the sans-IO cores submit to. A server connection waits for whichever
comes first: bytes from the socket, a block's decode finishing (the decode
pool's futures wake the event loop), or its timer.

Robustness: each connection runs in its own task inside a catch-all; a
malformed or hostile frame, a wrong token or a crash in one handler closes
that connection with a logged reason and an ERROR frame, and nothing else.
A new connection for a transfer that is still attached to an older one takes
it over (the old one is closed first), so a sender that reconnects after a
half-dead connection does not wait for the old one to time out.
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl as ssl_module
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from ..errors import CobolError
from .checkpoint import TransferStore
from .config import DEFAULT_PORT, READ_SIZE, StreamingConfig
from .decompressor import DecodeBudget
from .errors import AuthenticationError, ResumeError, StreamError, TransferRefused
from .frames import Error, ErrorCode, frame
from .protocol import State
from .receiver import ReceiverEndpoint
from .sources import StallingSource, can_stall
from .sender import OutgoingTransfer, SenderEndpoint
from .stats import StreamingStatistics

log = logging.getLogger("cobol.stream")

_EOF = object()
_DECODED = object()  # a block's decoding finished: collect what is ready
_TICK = object()     # nothing happened for a tick: poll the timers


class ConnectionDecoder:
    """One connection's share of a pool shared by many: ``submit`` like an
    executor's, with at most ``limit`` of this connection's calls in the pool
    at once, and a wake-up of the connection's asyncio loop when one is done.

    The sans-IO cores only submit work and look at the futures; the shell that
    waits on a socket learns this way that a block's decode finished, without a
    thread of its own blocking on the futures. The limit keeps the pool fair:
    a bulk transfer with a window of blocks to decode queues ``limit`` of them,
    not the window, so another connection's block (an interactive writer's
    line) waits behind at most ``limit`` blocks of each other connection. The
    next call of a connection is handed to the pool by the worker that
    finished its previous one, so one connection alone still keeps every
    worker busy with ``limit`` equal to the pool's size.
    """

    def __init__(self, pool, limit: int, loop: asyncio.AbstractEventLoop, event: asyncio.Event):
        self.pool, self.limit, self.loop, self.event = pool, max(1, limit), loop, event
        self._lock = threading.Lock()
        self._waiting: deque = deque()  # (future, fn, args) beyond the limit, in submission order
        self._in_pool = 0

    def submit(self, fn, *args) -> Future:
        fut = Future()
        fut.add_done_callback(self._wake)
        with self._lock:
            start = self._in_pool < self.limit
            if start:
                self._in_pool += 1
            else:
                self._waiting.append((fut, fn, args))
        if start:
            self._hand_over(fut, fn, args)
        return fut

    def _hand_over(self, fut: Future, fn, args) -> None:
        try:
            self.pool.submit(self._run, fut, fn, args)
        except RuntimeError:  # the pool was shut down (the server is closing)
            fut.cancel()
            self._next()

    def _run(self, fut: Future, fn, args) -> None:
        if fut.set_running_or_notify_cancel():  # False: cancelled while it waited (its connection closed)
            try:
                fut.set_result(fn(*args))
            except BaseException as exc:
                fut.set_exception(exc)
        self._next()

    def _next(self) -> None:
        with self._lock:
            if not self._waiting:
                self._in_pool -= 1
                return
            item = self._waiting.popleft()
        self._hand_over(*item)

    def _wake(self, _fut) -> None:
        try:
            self.loop.call_soon_threadsafe(self.event.set)
        except RuntimeError:  # the loop is closed: nobody is waiting any more
            pass


async def run_blocking(executor, fn, *args):
    """Run ``fn`` on ``executor``. If the calling task is cancelled meanwhile,
    wait for ``fn`` to return before passing the cancellation on, so that the
    state ``fn`` touches is never used by two parties at once."""
    fut = asyncio.get_running_loop().run_in_executor(executor, fn, *args)
    try:
        return await asyncio.shield(fut)
    except asyncio.CancelledError:
        while not fut.done():
            try:
                await asyncio.wait({fut})
            except asyncio.CancelledError:
                continue
        raise


def parse_hostport(text: str, default_host: str = "127.0.0.1", default_port: int = DEFAULT_PORT) -> tuple[str, int]:
    """'HOST:PORT', ':PORT', 'HOST' or '[v6]:PORT' to (host, port)."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, port = text.split(":")
    elif text.count(":") > 1:  # a bare IPv6 address
        host, port = text, ""
    elif text.isdigit():
        host, port = "", text
    else:
        host, port = text, ""
    try:
        p = int(port) if port else default_port
    except ValueError:
        raise ValueError(f"bad port in {text!r}") from None
    if not 0 <= p <= 65535:
        raise ValueError(f"port out of range in {text!r}")
    return host or default_host, p


def server_ssl_context(certfile: str, keyfile: str | None = None) -> ssl_module.SSLContext:
    ctx = ssl_module.create_default_context(ssl_module.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl_module.TLSVersion.TLSv1_2
    ctx.load_cert_chain(certfile, keyfile)
    return ctx


def client_ssl_context(cafile: str | None = None, verify: bool = True) -> ssl_module.SSLContext:
    ctx = ssl_module.create_default_context(cafile=cafile)
    ctx.minimum_version = ssl_module.TLSVersion.TLSv1_2
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl_module.CERT_NONE
    return ctx


def read_token(path: str) -> bytes:
    """The shared secret from a token file (surrounding whitespace stripped)."""
    with open(path, "rb") as f:
        token = f.read(1 << 16).strip()
    if len(token) < 8:
        raise CobolError(f"token in {path} is too short ({len(token)} bytes; use at least 16 random bytes)")
    return token


# ---------------------------------------------------------------- server

@dataclass
class ReceivedTransfer:
    name: str
    stored_name: str
    peer: str
    stats: StreamingStatistics


class StreamServer:
    """Receives transfers into ``out_dir`` (see TransferStore for the layout).

    >>> # server = StreamServer("out", StreamingConfig()); await server.start(); await server.serve_forever()
    """

    def __init__(self, out_dir, config: StreamingConfig = StreamingConfig(), *, host: str = "127.0.0.1",
                 port: int = DEFAULT_PORT, token: bytes | None = None, ssl: ssl_module.SSLContext | None = None,
                 mode: str = "raw", store=None, on_complete=None, profile=None, dictionaries=()):
        self.config = config
        #: shared dictionaries senders may name in OPEN (cobol serve -D FILE)
        self.dictionaries = tuple(dictionaries)
        self.profile = profile  # a StreamingProfile for every connection (meaningful with one transfer at a time)
        self.host, self.port = host, port
        self.token = token
        self.ssl = ssl
        self.store = store if store is not None else TransferStore(out_dir, mode, fsync=config.fsync)
        self.on_complete = on_complete
        self.executor = ThreadPoolExecutor(min(32, config.max_connections + 1), thread_name_prefix="cobol-recv")
        #: blocks of every connection are decoded here (the pipeline: a connection goes on reading
        #: and writing while its next blocks decode)
        self.decoders = ThreadPoolExecutor(config.threads, thread_name_prefix="cobol-decode")
        #: bytes every connection's blocks being decoded may hold together
        self.decode_budget = DecodeBudget(config.max_decode_memory, wait=config.block_timeout)
        self.connections: set = set()
        self.active: dict = {}  # transfer id -> _ServerConnection
        self.completed: list = []
        self.rejected = 0
        #: counters summed and maxima kept over every connection so far
        self.totals = StreamingStatistics("receive")
        self._server = None

    def _fold_stats(self, st: StreamingStatistics) -> None:
        t = self.totals
        for f in ("blocks", "raw_bytes", "compressed_bytes", "wire_bytes_in", "wire_bytes_out", "frames_in",
                  "frames_out", "duplicates", "stale", "out_of_order", "checksum_failures", "checkpoints",
                  "connections", "resumes", "errors"):
            setattr(t, f, getattr(t, f) + getattr(st, f))
        for f in ("max_pending_blocks", "max_pending_bytes", "max_buffered_bytes", "max_undelivered_blocks",
                  "max_undelivered_bytes"):
            setattr(t, f, max(getattr(t, f), getattr(st, f)))

    async def start(self) -> tuple[str, int]:
        self._server = await asyncio.start_server(self._accept, self.host, self.port, ssl=self.ssl,
                                                  limit=READ_SIZE, reuse_address=True)
        sock = self._server.sockets[0].getsockname()
        self.port = sock[1]
        log.info("listening on %s:%d%s", self.host, self.port, " (TLS)" if self.ssl else "")
        return self.host, self.port

    async def serve_forever(self) -> None:
        if self._server is None:
            await self.start()
        async with self._server:
            await self._server.serve_forever()

    async def close(self, abort: bool = False) -> None:
        """Stop listening and close every connection (partial transfers stay
        on disk and resume later). ``abort`` skips the goodbyes, like a crash."""
        if self._server is not None:
            self._server.close()
        for c in list(self.connections):
            c.abort = abort
            c.task.cancel()
        for c in list(self.connections):
            await c.finished.wait()
        if self._server is not None:
            try:
                await asyncio.wait_for(self._server.wait_closed(), 2)
            except asyncio.TimeoutError:
                pass
        self.executor.shutdown(wait=True)
        self.decoders.shutdown(wait=True)

    async def _accept(self, reader, writer) -> None:
        peer = _peer(writer)
        if len(self.connections) >= self.config.max_connections:
            self.rejected += 1
            log.warning("refusing connection from %s: %d connections open (limit %d)", peer,
                        len(self.connections), self.config.max_connections)
            try:
                writer.write(frame(Error(ErrorCode.BUSY, "too many connections; retry later")))
                await asyncio.wait_for(writer.drain(), 1)
            except Exception:
                pass
            writer.close()
            return
        conn = _ServerConnection(self, reader, writer, peer)
        self.connections.add(conn)
        try:
            await conn.run()
        except asyncio.CancelledError:
            pass
        except BaseException as exc:  # the server must outlive any one connection
            log.exception("connection from %s failed: %s", peer, exc)
        finally:
            self.connections.discard(conn)
            if self.active.get(conn.transfer_id) is conn:
                del self.active[conn.transfer_id]
            conn.finished.set()

    async def _claim(self, conn: "_ServerConnection", tid: bytes) -> None:
        old = self.active.get(tid)
        if old is not None and old is not conn:
            log.info("transfer %s: a new connection from %s takes over from %s", tid.hex(), conn.peer, old.peer)
            old.superseded = True
            old.task.cancel()
            await old.finished.wait()
        self.active[tid] = conn
        conn.transfer_id = tid


def _peer(writer) -> str:
    p = writer.get_extra_info("peername")
    if isinstance(p, tuple) and len(p) >= 2:
        return f"{p[0]}:{p[1]}"
    return str(p)


class _ServerConnection:
    def __init__(self, server: StreamServer, reader, writer, peer: str):
        self.server = server
        self.reader, self.writer = reader, writer
        self.peer = peer
        self.task = asyncio.current_task()
        self.finished = asyncio.Event()
        self.transfer_id: bytes | None = None
        self.abort = False
        self.superseded = False
        stats = StreamingStatistics("receive")
        stats.connections = 1
        self.decoded = asyncio.Event()
        decoders = ConnectionDecoder(server.decoders, server.config.threads, asyncio.get_running_loop(), self.decoded)
        self.endpoint = ReceiverEndpoint(server.store, server.config, server.token, stats=stats,
                                         profile=server.profile, dictionaries=server.dictionaries,
                                         decode_budget=server.decode_budget, executor=decoders)
        self._read_task = None

    async def _next(self, tick: float):
        """The next thing to handle: bytes read (b"" at EOF), _DECODED or _TICK.
        A read in progress stays pending across calls (a decode finishing does
        not interrupt it), so it costs one task per read, not per wakeup."""
        if self.decoded.is_set():
            self.decoded.clear()
            return _DECODED
        if self._read_task is None:
            self._read_task = asyncio.ensure_future(self.reader.read(READ_SIZE))
        waiter = asyncio.ensure_future(self.decoded.wait())
        try:
            done, _ = await asyncio.wait({self._read_task, waiter}, timeout=tick,
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
        if self._read_task in done:
            task, self._read_task = self._read_task, None
            return task.result()
        if self.decoded.is_set():
            self.decoded.clear()
            return _DECODED
        return _TICK

    async def _flush(self) -> None:
        out = self.endpoint.data_to_send()
        if out:
            self.writer.write(out)
            await asyncio.wait_for(self.writer.drain(), self.server.config.idle_timeout)

    async def run(self) -> None:
        ep, cfg, ex = self.endpoint, self.server.config, self.server.executor
        tick = min(cfg.checkpoint_interval, cfg.idle_timeout, cfg.handshake_timeout, cfg.block_timeout)
        try:
            try:
                while True:
                    data = await self._next(tick)
                    if data is _TICK:
                        await run_blocking(ex, ep.poll)
                        await self._flush()
                        continue
                    if data is _DECODED:
                        await run_blocking(ex, ep.collect)
                        await self._flush()
                        self._check_done()
                        if ep.session.closed:
                            return
                        continue
                    if not data:
                        if ep.session.state is not State.DONE:
                            log.info("connection from %s closed by the sender in state '%s'", self.peer, ep.session.state.value)
                        return
                    info = await run_blocking(ex, ep.receive_data, data)
                    if info is not None:
                        await self.server._claim(self, info.transfer_id)
                        await run_blocking(ex, ep.open_transfer)
                        log.info("transfer %s (%s) from %s starts at block %d", info.transfer_id.hex()[:12], info.name,
                                 self.peer, ep.session.acked)
                    await self._flush()
                    self._check_done()
                    if ep.session.closed:
                        return
            except (StreamError, CobolError) as exc:
                level = logging.WARNING if not isinstance(exc, AuthenticationError) else logging.ERROR
                log.log(level, "closing connection from %s: %s", self.peer, exc)
                ep.fail(exc)
                try:
                    await self._flush()
                except Exception:
                    pass
            except (ConnectionError, asyncio.TimeoutError) as exc:
                log.info("connection from %s lost: %s", self.peer, exc or type(exc).__name__)
            except Exception as exc:  # disk full, permissions, a bug: this transfer fails, the server goes on
                log.error("closing connection from %s: internal error: %s: %s", self.peer, type(exc).__name__, exc,
                          exc_info=not isinstance(exc, OSError))
                ep.fail(exc)
                try:
                    await self._flush()
                except Exception:
                    pass
        finally:
            if self._read_task is not None:
                self._read_task.cancel()
                if self._read_task.done() and not self._read_task.cancelled():
                    self._read_task.exception()  # retrieved: the connection is closing anyway
            try:
                await run_blocking(ex, ep.close, not self.abort)
            except Exception as exc:
                log.warning("transfer from %s: closing its output failed: %s", self.peer, exc)
            finally:
                self.server._fold_stats(ep.stats)
                if self.superseded and not ep.session.closed:
                    self.writer.write(frame(Error(ErrorCode.SUPERSEDED, "a newer connection took over this transfer")))
                if self.abort:
                    self.writer.transport.abort()
                else:
                    self.writer.close()

    def _check_done(self) -> None:
        ep = self.endpoint
        if ep.stored_name is not None and ep.session.state is State.DONE and not getattr(self, "_reported", False):
            self._reported = True
            self._report()

    def _report(self) -> None:
        ep = self.endpoint
        st = ep.stats
        st.finish()
        rec = ReceivedTransfer(ep.info.name, ep.stored_name, self.peer, st)
        self.server.completed.append(rec)
        p50, p99 = st.latency_percentile(0.5), st.latency_percentile(0.99)
        log.info("received %s -> %s from %s: %d bytes in %.2f s, %d blocks, block latency p50 %s p99 %s, "
                 "held at most %d blocks (%.1f MiB) undelivered",
                 ep.info.name, ep.stored_name, self.peer, ep.session.raw_offset, st.elapsed, st.blocks,
                 "-" if p50 is None else f"{p50 * 1e3:.1f} ms", "-" if p99 is None else f"{p99 * 1e3:.1f} ms",
                 st.max_undelivered_blocks, st.max_undelivered_bytes / 2**20)
        if self.server.on_complete is not None:
            self.server.on_complete(rec)


async def serve(out_dir, config: StreamingConfig = StreamingConfig(), **kwargs) -> None:
    """Run a StreamServer until cancelled."""
    server = StreamServer(out_dir, config, **kwargs)
    await server.start()
    try:
        await server.serve_forever()
    finally:
        await server.close()


# ---------------------------------------------------------------- client

class TransferFailed(StreamError):
    """A send gave up: retries exhausted, or a permanent error."""

    retryable = False


@dataclass
class SendResult:
    name: str
    stored_name: str
    raw_bytes: int
    blocks: int
    stats: StreamingStatistics
    #: the receiver had completed this transfer earlier (its DONE was lost): nothing was sent again
    already_received: bool = False


async def _connection(ep: SenderEndpoint, host: str, port: int, ssl, server_hostname, executor, batch: int) -> None:
    cfg = ep.transfer.config
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(host, port, ssl=ssl, server_hostname=server_hostname if ssl else None, limit=READ_SIZE),
        cfg.handshake_timeout)
    inbox: asyncio.Queue = asyncio.Queue(maxsize=8)  # bounded: at most 8 reads queued

    async def read_loop():
        try:
            while True:
                data = await reader.read(READ_SIZE)
                await inbox.put(data if data else _EOF)
                if not data:
                    return
        except Exception as exc:  # handed to the main loop
            await inbox.put(exc)

    async def flush():
        out = ep.data_to_send()
        if out:
            writer.write(out)
            await asyncio.wait_for(writer.drain(), cfg.ack_timeout)

    async def take(item):
        if item is _EOF:
            raise ConnectionResetError("the receiver closed the connection")
        if isinstance(item, BaseException):
            raise item
        await run_blocking(executor, ep.receive_data, item)
        await flush()

    reader_task = asyncio.create_task(read_loop())
    tick = min(0.5, cfg.ack_timeout, cfg.handshake_timeout, cfg.idle_timeout / 3)
    try:
        ep.connection_made()
        await flush()
        while not ep.done:
            while not inbox.empty():
                await take(inbox.get_nowait())
                if ep.done:
                    return
            if ep.wants_pump:
                if not await run_blocking(executor, ep.pump, batch):
                    ep.poll()  # an idle source: keepalives and ack timeouts still run
                await flush()
                continue
            try:
                item = await asyncio.wait_for(inbox.get(), tick)
            except asyncio.TimeoutError:
                ep.poll()
                await flush()
                continue
            await take(item)
    except BaseException as exc:
        if isinstance(exc, (StreamError, CobolError)) and not isinstance(exc, (AuthenticationError, TransferRefused)):
            ep.fail(exc)  # tell the receiver why, best effort
            try:
                writer.write(ep.data_to_send())
            except Exception:
                pass
        raise
    finally:
        reader_task.cancel()
        writer.close()
        try:
            await asyncio.wait_for(writer.wait_closed(), 1)
        except BaseException:
            pass


async def send_stream(source, host: str, port: int, config: StreamingConfig = StreamingConfig(), *,
                      name: str = "stream", size: int | None = None, transfer_id: bytes | None = None,
                      token: bytes | None = None, ssl: ssl_module.SSLContext | None = None,
                      server_hostname: str | None = None, retries: int = 5, backoff: float = 0.25,
                      max_backoff: float = 5.0, progress=None, profile=None, dictionary=None) -> SendResult:
    """Send one stream (a binary file object) to a StreamServer.

    A dropped connection, a timeout or a recoverable error from the receiver
    leads to a reconnect that resumes at the receiver's durable point;
    ``retries`` bounds the consecutive attempts that make no progress.
    ``progress(acked_bytes)`` is called as the receiver acknowledges data;
    ``profile`` (a cobol.profile.StreamingProfile) records per-block send and
    acknowledgement times. ``dictionary``: a shared cobol.dictionary.Dictionary
    the blocks are coded with; it is named in OPEN and the receiver must hold it.
    Raises TransferFailed (with the last error as its cause), or
    AuthenticationError / TransferRefused, which are not retried.
    """
    # the shell owns the threads: one for the endpoint's pump, a pool that
    # encodes blocks ahead of the wire, and one reading a source that can stall
    encoders = ThreadPoolExecutor(config.threads, thread_name_prefix="cobol-encode") if config.threads > 1 else None
    if can_stall(source):
        source = StallingSource(source)
    transfer = OutgoingTransfer(source, config, name=name, size=size, transfer_id=transfer_id, executor=encoders,
                                dictionary=dictionary)
    ep = SenderEndpoint(transfer, token, profile=profile)
    executor = ThreadPoolExecutor(1, thread_name_prefix="cobol-send")
    batch = max(4, 2 * config.threads)
    failures = 0
    delay = backoff
    try:
        while True:
            acked_before = transfer.acked_raw
            try:
                if progress is not None:
                    _watch = asyncio.create_task(_report_progress(transfer, progress))
                try:
                    await _connection(ep, host, port, ssl, server_hostname, executor, batch)
                finally:
                    if progress is not None:
                        _watch.cancel()
                        progress(transfer.acked_raw)
                res = ep.result
                transfer.stats.finish()
                return SendResult(name, res.stored_name, res.total_raw, res.n_blocks, transfer.stats,
                                  ep.receiver_had_all)
            except (AuthenticationError, TransferRefused):
                raise
            except ResumeError as exc:
                if transfer.fresh:
                    raise TransferFailed(f"cannot send {name}: {exc}") from exc
                log.warning("%s: %s; starting the transfer over", name, exc)
                transfer.fresh = True
                last = exc
            except (StreamError, CobolError, OSError, asyncio.TimeoutError, EOFError) as exc:
                last = exc
                log.info("%s: connection failed: %s", name, exc or type(exc).__name__)
            transfer.stats.errors += 1
            if transfer.acked_raw > acked_before:
                failures = 0
                delay = backoff
            failures += 1
            if failures > retries:
                raise TransferFailed(f"giving up on {name} after {failures} failed attempts: {last}") from last
            await asyncio.sleep(delay)
            delay = min(max_backoff, delay * 2)
    finally:
        executor.shutdown(wait=False)
        if encoders is not None:
            transfer.compressor.close()
            encoders.shutdown(wait=False)


async def _report_progress(transfer: OutgoingTransfer, progress) -> None:
    last = -1
    while True:
        if transfer.acked_raw != last:
            last = transfer.acked_raw
            progress(last)
        await asyncio.sleep(0.1)


async def send_file(path: str, host: str, port: int, config: StreamingConfig = StreamingConfig(), **kwargs) -> SendResult:
    """Send a file; its transfer id is derived from its path, size and mtime,
    so a sender restarted later resumes where the receiver stopped."""
    from .sender import transfer_id_for_file
    with open(path, "rb") as f:
        d = kwargs.get("dictionary")
        kwargs.setdefault("transfer_id", transfer_id_for_file(path, config, None if d is None else d.dict_id))
        kwargs.setdefault("name", os.path.basename(path))
        kwargs.setdefault("size", os.fstat(f.fileno()).st_size)
        return await send_stream(f, host, port, config, **kwargs)


__all__ = ["StreamServer", "serve", "send_stream", "send_file", "SendResult", "ReceivedTransfer", "TransferFailed",
           "parse_hostport", "server_ssl_context", "client_ssl_context", "read_token", "run_blocking"]
