"""Which server liftdb talks to, and how it connects.

Invariant: a database URL is only ever shown through ``mask``, so a password
never reaches output; every connection failure becomes one ``ConnectionFailed``
line naming the masked target.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit, urlunsplit

from runner.errors import ConnectionFailed, UsageError

URL_ENV = "DATABASE_URL"
APPLICATION_NAME = "liftdb"


def resolve_url(explicit: str | None = None) -> str:
    """The URL given, else ``$DATABASE_URL``, else the embedded server's (started on demand)."""
    url = explicit or os.environ.get(URL_ENV)
    if url:
        _check_url(url)
        return url
    from runner import embedded

    return embedded.ensure_running()


def _check_url(url: str) -> None:
    parts = _split(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise UsageError(
            f"database URL {mask(url)} must start with postgresql:// (got scheme {parts.scheme!r})"
        )


def _split(url: str) -> SplitResult:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as exc:
        raise UsageError(f"malformed database URL {mask(url)}: {exc}") from None
    return parts


def mask(url: str) -> str:
    """The URL with any password replaced by ``***``, in the netloc and in the query."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        if ":" in userinfo:
            user, _, password = userinfo.partition(":")
            userinfo = f"{user}:***" if password else user
        netloc = f"{userinfo}@{host}"
    query = parts.query
    if query:
        pairs = [(k, "***" if k.lower() == "password" else v) for k, v in parse_qsl(query)]
        query = urlencode(pairs, safe="/")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def with_database(url: str, dbname: str) -> str:
    """The same server and credentials, another database."""
    parts = _split(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))


def database_name(url: str) -> str:
    path = _split(url).path.lstrip("/")
    return path or os.environ.get("PGDATABASE") or "postgres"


def connect(url: str, *, autocommit: bool = True):
    """A psycopg connection, or one ``ConnectionFailed`` line saying why not."""
    import psycopg

    try:
        return psycopg.connect(
            url,
            autocommit=autocommit,
            application_name=APPLICATION_NAME,
            connect_timeout=int(os.environ.get("PGCONNECT_TIMEOUT", "10")),
        )
    except psycopg.ProgrammingError as exc:  # malformed conninfo
        raise UsageError(f"malformed database URL {mask(url)}: {_first_line(exc)}") from None
    except psycopg.OperationalError as exc:
        raise ConnectionFailed(f"cannot connect to {mask(url)}: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    """psycopg's connection errors run to several lines; keep the one that says why."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    for line in lines:
        if "FATAL:" in line or "error:" in line.lower():
            return line.split("FATAL:", 1)[-1].strip()
    return lines[-1] if lines else type(exc).__name__


@contextmanager
def scratch_database(url: str, purpose: str = "scratch") -> Iterator[str]:
    """A new, empty database on the server of ``url``, dropped on exit whatever happens.

    For work that must never touch the user's database: migrating the chain to
    compare against it, dumping the schema it produces. Needs ``CREATEDB``.
    """
    import psycopg

    name = f"liftdb_{purpose}_{uuid.uuid4().hex[:12]}"
    with connect(url) as conn:
        try:
            conn.execute(f'CREATE DATABASE "{name}"')
        except psycopg.Error as exc:
            raise ConnectionFailed(
                f"cannot create a {purpose} database on {mask(url)}: {_first_line(exc)}"
            ) from None
    try:
        yield with_database(url, name)
    finally:
        with connect(url) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
