"""Which server liftdb talks to, and how it connects.

Invariant: a database URL is only ever shown through ``mask`` (or rebuilt from a
connection's options without its password, ``describe``), and libpq's messages
only after ``_without_passwords``, so a password never reaches output. A URL is
read as libpq reads it (``libpq_options``), and one derived from it (another
database on the same server) is checked against that reading.
Every failure to connect becomes one line naming the masked target: a URL that
cannot be read (malformed, wrong scheme, impossible option value) is a
``UsageError`` (exit 2); a server that cannot be reached, refuses us or hangs up
is a ``ConnectionFailed`` (exit 1).
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple
from urllib.parse import SplitResult, unquote, urlsplit

from runner.errors import ConnectionFailed, UsageError

URL_ENV = "DATABASE_URL"
APPLICATION_NAME = "liftdb"
# A password this short is also replaced when libpq's message holds it unquoted; a
# shorter one only inside quotes, or a one-letter password would blank every "a".
MIN_SCRUBBED_LENGTH = 4
PERCENT_ENCODE = (
    "a character of the password must be percent-encoded (@ as %40, # as %23, ? as %3F, / as %2F)"
)


# libpq's variables that choose a server or database; any of them set, and no URL given,
# the connection is libpq's own reading of them, as psql's would be (PGPASSWORD and the
# like are read by libpq too, but choose nothing).
LIBPQ_ENV = {
    "PGSERVICE": "service",
    "PGHOST": "host",
    "PGHOSTADDR": "hostaddr",
    "PGPORT": "port",
    "PGUSER": "user",
    "PGDATABASE": "dbname",
}


class Source(NamedTuple):
    """Which server liftdb uses, and why: ``url`` is None for the embedded server (its
    URL is known once it runs: ``resolve_url`` starts it)."""

    url: str | None
    origin: str  # "--database-url", "$DATABASE_URL", "libpq's environment", "the embedded server"
    why: str  # a sentence for ``liftdb db url``

    @property
    def embedded(self) -> bool:
        return self.url is None


def choose(explicit: str | None = None, origin: str = "--database-url") -> Source:
    """The URL given (``origin`` says where it came from), else ``$DATABASE_URL``, else
    libpq's environment (``LIBPQ_ENV``) as a URL naming what it sets, else the embedded
    server. Starts nothing."""
    if not explicit and os.environ.get(URL_ENV):
        explicit, origin = os.environ[URL_ENV], f"${URL_ENV}"
    if explicit:
        if origin == f"${URL_ENV}":
            return Source(explicit, origin, f"{origin} is set; it comes before libpq's PG*")
        return Source(explicit, origin, f"{origin} is given; it comes before ${URL_ENV}")
    given = [name for name in LIBPQ_ENV if os.environ.get(name)]
    if given:
        from urllib.parse import quote

        pairs = (f"{LIBPQ_ENV[name]}={quote(os.environ[name], safe='')}" for name in given)
        return Source(
            f"postgresql://?{'&'.join(pairs)}",
            "libpq's environment",
            f"${URL_ENV} is unset and libpq's environment names a server ({', '.join(given)})",
        )
    return Source(
        None,
        "the embedded server",
        f"neither ${URL_ENV} nor libpq's environment ({', '.join(LIBPQ_ENV)}) is set",
    )


def resolve_url(explicit: str | None = None, origin: str = "--database-url") -> str:
    """The URL of the server ``choose`` picks, starting the embedded server if it is that."""
    source = choose(explicit, origin)
    if source.url is not None:
        _check_url(source.url)
        return source.url
    from runner import embedded

    return embedded.ensure_running()


def _check_url(url: str) -> None:
    parts = _split(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise UsageError(
            f"database URL {mask(url)} must start with postgresql:// (got scheme {parts.scheme!r})"
        )
    if url.partition("://")[2].partition("?")[0].count("@") > 1:
        # libpq would split "user:p@ss@host" at the first "@" and quote "ss@host" as the
        # host it cannot find: a piece of the password in an error message.
        raise UsageError(f"malformed database URL {mask(url)}: {PERCENT_ENCODE}")


def _split(url: str) -> SplitResult:
    try:
        parts = urlsplit(url)
        if "," not in parts.netloc:  # several hosts (h1:5432,h2:5433): libpq checks each
            parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        # Say what is wrong from the masked URL: urlsplit quotes what it could not read,
        # and in a URL whose password holds "#" or "?" that is a piece of the password.
        raise UsageError(f"malformed database URL {mask(url)}: {_problem(mask(url))}") from None
    return parts


def _problem(masked_url: str) -> str:
    try:
        urlsplit(masked_url).port  # noqa: B018
    except ValueError as exc:
        return str(exc)
    return PERCENT_ENCODE


def mask(url: str) -> str:
    """The URL with any password replaced by ``***``, in the user part and in the query.

    The user part is everything before the URL's last ``@``, wider than libpq's or
    ``urlsplit``'s reading, so that a password holding ``@``, ``#``, ``?`` or ``/``
    (which a person may well type unencoded) is hidden whole: at worst a little
    more than the password is hidden, never a piece of it shown.
    """
    scheme, separator, rest = url.partition("://")
    if not separator:
        return "<unparseable URL>"
    userinfo, at, after = rest.rpartition("@")
    if at and ":" in userinfo:
        rest = f"{userinfo.partition(':')[0]}:***@{after}"
    head, question, query = rest.partition("?")
    if question:
        rest = f"{head}?{'&'.join(_masked_pair(pair) for pair in query.split('&'))}"
    return f"{scheme}://{rest}"


# Query parameters whose value is a secret (libpq's keywords).
SECRET_KEYS = ("password", "sslpassword")


def _masked_pair(pair: str) -> str:
    """One ``key=value`` of a URL's query, its value hidden when the key is a secret's
    as libpq reads it: percent-decoded (``pass%77ord`` is ``password``), any case."""
    key, eq, _value = pair.partition("=")
    if eq and unquote(key).lower() in SECRET_KEYS:
        return f"{key}=***"
    decoded_key = unquote(pair).partition("=")[0]
    if decoded_key.lower() in SECRET_KEYS:  # "password%3Dsecret": the = itself encoded
        return f"{decoded_key}=***"
    return pair


def _passwords(url: str) -> list[str]:
    """Every reading of the URL's passwords, as written and percent-decoded, longest first."""
    rest = url.partition("://")[2]
    libpq_userinfo = rest.split("/", 1)[0].partition("@")  # libpq: first "@" before any "/"
    candidates = [
        libpq_userinfo[0].partition(":")[2] if libpq_userinfo[1] else "",
        rest.rpartition("@")[0].partition(":")[2],
    ]
    for pair in rest.partition("?")[2].split("&"):
        key, _eq, value = pair.partition("=")
        if unquote(key).lower() in SECRET_KEYS:
            candidates.append(value)
        decoded_key, _eq, decoded_value = unquote(pair).partition("=")
        if decoded_key.lower() in SECRET_KEYS:  # "password%3Dsecret"
            candidates.append(decoded_value)
    candidates += [unquote(secret) for secret in candidates]
    return sorted({secret for secret in candidates if secret}, key=len, reverse=True)


def _without_passwords(text: str, url: str) -> str:
    """libpq quotes the token it could not parse, and that token may be the password."""
    for secret in _passwords(url):
        text = re.sub(r'"[^"]*' + re.escape(secret) + r'[^"]*"', '"***"', text)
        if len(secret) >= MIN_SCRUBBED_LENGTH:
            text = text.replace(secret, "***")
    return text


def libpq_options(url: str) -> dict[str, str]:
    """The connection options ``url`` sets, as libpq itself reads them (host, port, user,
    dbname, service, ...; a query parameter overrides the same option in the URL's
    body). Nothing from the environment or a service file: libpq adds those when it
    connects. Raises ``psycopg.ProgrammingError`` for a URL libpq cannot read."""
    from psycopg.conninfo import conninfo_to_dict

    return {key: str(value) for key, value in conninfo_to_dict(url).items()}


def with_database(url: str, dbname: str) -> str:
    """The same server, credentials and options, another database: checked with libpq's
    own reading, so that the result differs from ``url`` in the database alone.

    The URL keeps its shape (its path becomes ``dbname``, and a ``dbname`` in its query,
    which would override the path, goes); should libpq read that otherwise, every option
    is written into the query instead. Either way a database derived for scratch work is
    never the user's, whatever names it: the path, the query, a service, PGDATABASE.
    """
    from urllib.parse import quote

    wanted = {**libpq_options(url), "dbname": dbname}
    scheme, _, rest = url.partition("://")
    body, _, query = rest.partition("?")
    kept = [pair for pair in query.split("&") if pair and _key(pair) != "dbname"]
    shaped = f"{scheme}://{body.split('/', 1)[0]}/{quote(dbname, safe='')}"
    shaped += f"?{'&'.join(kept)}" if kept else ""
    if libpq_options(shaped) == wanted:
        return shaped
    pairs = (f"{quote(key, safe='')}={quote(value, safe='')}" for key, value in wanted.items())
    return f"postgresql://?{'&'.join(pairs)}"


def _key(pair: str) -> str:
    return unquote(pair.partition("=")[0])


def database_name(url: str) -> str:
    """The database ``url`` names as libpq reads it (a query's ``dbname`` over the
    path); without one, libpq's default: PGDATABASE, else the user's name."""
    import getpass

    options = libpq_options(url)
    return (
        options.get("dbname")
        or os.environ.get("PGDATABASE")
        or options.get("user")
        or os.environ.get("PGUSER")
        or getpass.getuser()
    )


def connect(url: str, *, autocommit: bool = True):
    """A psycopg connection, or one line saying why not.

    A URL libpq cannot read, or whose options have impossible values, is a usage
    error (exit 2); a server that cannot be reached or refuses us is a
    ``ConnectionFailed`` (exit 1).
    """
    import psycopg

    try:
        return psycopg.connect(url, autocommit=autocommit, **_connect_options())
    except psycopg.ProgrammingError as exc:  # malformed conninfo
        raise UsageError(f"malformed database URL {mask(url)}: {_reason(exc, url)}") from None
    except psycopg.OperationalError as exc:
        reason = _reason(exc, url)
        if reason.startswith("invalid "):  # libpq's words for an option it cannot accept
            raise UsageError(f"malformed database URL {mask(url)}: {reason}") from None
        raise ConnectionFailed(f"cannot connect to {mask(url)}: {reason}") from None


def _connect_options() -> dict:
    """What every liftdb connection sets (PGCONNECT_TIMEOUT is read at each call)."""
    return {
        "application_name": APPLICATION_NAME,
        "connect_timeout": int(os.environ.get("PGCONNECT_TIMEOUT", "10")),
        # Never prepare: a pooler in transaction mode hands a prepared statement's session
        # to another client (``prepared statement "_pg3_0" already exists``), and what
        # liftdb repeats (polling for the lock) gains nothing from a plan kept.
        "prepare_threshold": None,
        # The files' encoding (``session.ENCODING_SQL``), from the first query: on a
        # SQL_ASCII database psycopg would otherwise read text as bytes, and send str
        # parameters as bytea.
        "client_encoding": "UTF8",
    }


def reconnect(conn):
    """A second connection made exactly as ``conn`` was (same options, same password)."""
    import psycopg
    from psycopg.conninfo import make_conninfo

    conninfo = make_conninfo(conn.info.dsn, password=conn.info.password or None)
    try:
        return psycopg.connect(conninfo, autocommit=True, **_connect_options())
    except psycopg.Error as exc:
        raise ConnectionFailed(
            f"cannot open a second connection to {describe(conn)}: {_first_line(exc)}"
        ) from None


def last_row(cursor) -> tuple | None:
    """The first row of the last result of a string of several statements that psycopg's
    ``cursor`` ran (one round trip; the earlier statements' results are skipped)."""
    while cursor.nextset():
        pass
    return cursor.fetchone()


def describe(conn) -> str:
    """Where ``conn`` is connected, as a URL without its password."""
    from urllib.parse import quote

    info = conn.info
    user = f"{quote(info.user, safe='')}@" if info.user else ""
    database = quote(info.dbname or "", safe="")
    if info.host.startswith("/"):
        return f"postgresql://{user}/{database}?host={info.host}&port={info.port}"
    host = f"[{info.host}]" if ":" in info.host else info.host
    return f"postgresql://{user}{host}:{info.port}/{database}"


# psycopg's prefixes, which say nothing the rest of our line does not.
_NOISE = re.compile(r"^(connection failed|connection is bad):\s*")


def _reason(exc: BaseException, url: str) -> str:
    """libpq's message, which runs to several lines, as the one line that says why."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    fatal = [line for line in lines if "FATAL:" in line]
    if fatal:
        reason = fatal[-1].split("FATAL:", 1)[1]
    elif lines[0].startswith("Multiple connection attempts failed"):
        reason = "; ".join(line.lstrip("- ") for line in lines[1:])
    else:
        reason = _NOISE.sub("", lines[0])
    return _without_passwords(" ".join(reason.split()), url)


def _first_line(exc: BaseException) -> str:
    """A server's error during admin work (CREATE DATABASE) as one line."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


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


# --- one database among many (runner/fleet.py) ------------------------------------------------


def address(url: str) -> tuple[str, str, str]:
    """``(host, port, database)`` as libpq reads ``url`` (``libpq_options``), its
    environment and defaults filling what the URL leaves out: two URLs with one address
    name one database."""
    import psycopg

    try:
        options = libpq_options(url)
    except psycopg.ProgrammingError as exc:
        raise UsageError(f"malformed database URL {mask(url)}: {_reason(exc, url)}") from None
    host = options.get("host") or os.environ.get("PGHOST") or "local socket"
    port = options.get("port") or os.environ.get("PGPORT") or "5432"
    return host, port, database_name(url)


def server_label(url: str) -> str:
    """``host:port`` of the server ``url`` names, to tell its databases from another's."""
    host, port, _ = address(url)
    return f"{host}:{port}"
