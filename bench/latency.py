"""A server one network hop away: a TCP proxy that delays what it forwards.

Invariant: every byte a client sends reaches the server, and every byte the server
sends reaches the client, in order and unchanged, each ``delay_s`` after the proxy read
it; so a request and its answer take at least two delays more than they would directly,
and a tool's wall time grows by two delays for each round trip it waits for. Nothing
else differs from the server measured directly: the same server, the same databases.

The event loop sleeps in whole milliseconds, so a delay is at least about one: the
round trip the proxy adds is measured (``round_trip_ms``) and reported, not assumed.

Why a proxy: the migrations a DBA runs go to a server across a network, where each
round trip costs far more than on a local socket; this machine's kernel has no
``netem`` to add that delay (``CONFIG_NET_SCH_NETEM`` is not set), so it is added here,
in user space, for every tool alike.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import replace
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bench.server import Server

CHUNK = 65536


@contextmanager
def delayed(server: Server, delay_s: float) -> Iterator[Server]:
    """``server`` as reached through a proxy on 127.0.0.1 adding ``delay_s`` each way;
    the proxy stops on exit. The proxy connects to the server as ``server.url`` says (a
    Unix socket directory or a host and port), so authentication is unchanged."""
    target = _target(server.url)
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    listening: dict[str, object] = {}

    async def serve() -> None:
        async def client(reader, writer) -> None:
            try:
                if target[0] == "unix":
                    up_reader, up_writer = await asyncio.open_unix_connection(target[1])
                else:
                    up_reader, up_writer = await asyncio.open_connection(*target[1:])
            except OSError:
                writer.close()
                return
            try:
                await asyncio.gather(
                    _pump(reader, up_writer, delay_s), _pump(up_reader, writer, delay_s)
                )
            except asyncio.CancelledError:  # the proxy is stopping: its connections end
                writer.close()
                up_writer.close()

        listener = await asyncio.start_server(client, "127.0.0.1", 0)
        listening["port"] = listener.sockets[0].getsockname()[1]
        listening["server"] = listener
        ready.set()

    async def shutdown() -> None:
        listening["server"].close()
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    thread = threading.Thread(target=loop.run_forever, name="latency-proxy", daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(serve(), loop)
    if not ready.wait(10):
        raise RuntimeError("the latency proxy did not start")
    try:
        far = replace(server, url=_through(server.url, int(listening["port"])))
        yield replace(far, label=f"{server.label}, {round_trip_ms(server, far):.1f} ms round trip")
    finally:
        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(10)
        # The thread that resolved a server's host name ends now, not some time after.
        asyncio.run_coroutine_threadsafe(loop.shutdown_default_executor(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def round_trip_ms(near: Server, far: Server, queries: int = 50) -> float:
    """What the proxy adds to a round trip, as measured: the median of ``queries`` trivial
    queries through it less the median straight to the server. (The event loop sleeps in
    whole milliseconds, so the figure is what counts, not ``delay_s``.)"""
    import statistics
    import time

    import psycopg

    def median_ms(url: str) -> float:
        with psycopg.connect(url, autocommit=True) as conn:
            times = []
            for _ in range(queries):
                started = time.perf_counter()
                conn.execute("SELECT 1").fetchone()
                times.append(time.perf_counter() - started)
        return statistics.median(times) * 1000

    return median_ms(far.url) - median_ms(near.url)


async def _pump(reader, writer, delay_s: float) -> None:
    """Forward ``reader`` to ``writer``, each chunk ``delay_s`` after it was read, in order."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()

    async def send() -> None:
        while (item := await queue.get()) is not None:
            due, data = item
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()
        writer.close()

    sender = asyncio.ensure_future(send())
    with suppress(OSError):
        while data := await reader.read(CHUNK):
            queue.put_nowait((loop.time() + delay_s, data))
    queue.put_nowait(None)
    with suppress(OSError):
        await sender


def _target(url: str) -> tuple:
    """Where the server listens: ("unix", socket path) or ("tcp", host, port)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    host = query.get("host") or parts.hostname or "localhost"
    port = int(query.get("port") or parts.port or 5432)
    if host.startswith("/"):
        return ("unix", f"{host}/.s.PGSQL.{port}")
    return ("tcp", host, port)


def _through(url: str, port: int) -> str:
    """``url`` with its server replaced by the proxy's address."""
    parts = urlsplit(url)
    query = {k: v for k, v in parse_qsl(parts.query) if k not in ("host", "port")}
    user = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    return urlunsplit((parts.scheme, f"{user}127.0.0.1:{port}", parts.path, urlencode(query), ""))
