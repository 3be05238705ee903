"""The bookkeeping of which versions are applied.

Invariant: a row in ``_yoyo_migration`` means the version is applied, and its
row in ``liftdb_version`` holds the checksums of the files that were applied;
both are written in the same transaction as the version's own statements, on
the same connection, so they can never disagree with the schema. A row in
``liftdb_progress`` means a non-transactional version (which cannot be applied
atomically) was started and has not finished: it says how many of its
statements completed. Nothing else writes these tables.

The ``_yoyo_*`` tables are yoyo-migrations' own, in its layout, so ``yoyo
list`` and ``yoyo apply`` see what liftdb applied; ``liftdb_version`` adds what
yoyo lacks: the version number and SHA-256 checksums of the files' contents.

Where the tables live is decided once per connection, before any version runs
(``locate``: where they already are, else the schema current when liftdb
connected), and every statement here names that schema, quoted: nothing a
version or the environment sets (``search_path``, a role, a ``"$user"`` schema
the chain creates) can split, hide or move the bookkeeping.
"""

from __future__ import annotations

import contextlib
import functools
import getpass
import hashlib
import socket
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from runner import lock, yoyo
from runner.errors import BookkeepingError, UsageError
from runner.loader import NUMBER_WIDTH, Statement, Version

YOYO_MIGRATION_TABLE = "_yoyo_migration"
YOYO_LOG_TABLE = "_yoyo_log"
YOYO_VERSION_TABLE = "_yoyo_version"
VERSION_TABLE = "liftdb_version"
PROGRESS_TABLE = "liftdb_progress"
PROGRESS_STATEMENT_TABLE = "liftdb_progress_statement"
# The transaction-local setting that carries the session a version's statements left
# into the progress row, past the bookkeeping's own SET LOCALs (``session.NOTE_SESSION``).
SESSION_NOTED = "liftdb.session"
YOYO_SCHEMA_VERSION = 2

# What every run that applies or rolls back needs; the progress tables, only a run with a
# non-transactional version (``ensure_tables``): each table and index is a file to create.
CORE_TABLES = (YOYO_MIGRATION_TABLE, YOYO_LOG_TABLE, YOYO_VERSION_TABLE, VERSION_TABLE)
PROGRESS_TABLES = (PROGRESS_TABLE, PROGRESS_STATEMENT_TABLE)
TABLES = CORE_TABLES + PROGRESS_TABLES

# yoyo's internal schema, version 2, as yoyo itself creates it; {t} is a Bookkeeping.
CREATE_TABLES = """
CREATE TABLE IF NOT EXISTS {t._yoyo_migration} (
    migration_hash varchar(64) PRIMARY KEY,
    migration_id varchar(255),
    applied_at_utc timestamp
);
CREATE TABLE IF NOT EXISTS {t._yoyo_log} (
    id varchar(36) PRIMARY KEY,
    migration_hash varchar(64),
    migration_id varchar(255),
    operation varchar(10),
    username varchar(255),
    hostname varchar(255),
    comment varchar(255),
    created_at_utc timestamp
);
CREATE TABLE IF NOT EXISTS {t._yoyo_version} (
    version int NOT NULL PRIMARY KEY,
    installed_at_utc timestamp
);
INSERT INTO {t._yoyo_version} (version, installed_at_utc)
    VALUES ({yoyo_schema_version}, pg_catalog.timezone('UTC', pg_catalog.now()))
    ON CONFLICT (version) DO NOTHING;
CREATE TABLE IF NOT EXISTS {t.liftdb_version} (
    version integer PRIMARY KEY,
    name text NOT NULL,
    up_sha256 char(64) NOT NULL,
    rollback_sha256 char(64) NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    duration_ms integer NOT NULL DEFAULT 0
);
"""
# liftdb's progress of non-transactional versions, created by the first run that has one.
CREATE_PROGRESS_TABLES = """
CREATE TABLE IF NOT EXISTS {t.liftdb_progress} (
    version integer NOT NULL,
    direction text NOT NULL CHECK (direction IN ('up', 'down')),
    name text NOT NULL,
    statements_done integer NOT NULL DEFAULT 0,
    statement_count integer NOT NULL,
    started_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    last_statement_at timestamptz,
    next_line integer,
    session jsonb,
    PRIMARY KEY (version, direction)
);
-- A liftdb_progress made before statements were recorded gains where it stopped, and
-- the session its completed statements left (runner.session.NOTE_SESSION).
ALTER TABLE {t.liftdb_progress} ADD COLUMN IF NOT EXISTS next_line integer;
ALTER TABLE {t.liftdb_progress} ADD COLUMN IF NOT EXISTS session jsonb;
CREATE TABLE IF NOT EXISTS {t.liftdb_progress_statement} (
    version integer NOT NULL,
    direction text NOT NULL,
    ordinal integer NOT NULL,
    sha256 char(64) NOT NULL,
    line integer NOT NULL,
    CONSTRAINT liftdb_progress_statement_pkey PRIMARY KEY (version, direction, ordinal)
);
COMMENT ON TABLE {t.liftdb_progress_statement} IS
    'One row per completed statement of an interrupted non-transactional version: a resume'
    ' goes ahead only if these statements are still the file''s first ones.';
"""


def quote(identifier: str) -> str:
    """An SQL identifier, quoted (so a schema named in mixed case or with a dot is one)."""
    return '"' + identifier.replace('"', '""') + '"'


class Bookkeeping(NamedTuple):
    """Where the bookkeeping tables are, in one database, and which of them exist.

    ``schema`` is None only when none exists and the ``search_path`` names no schema
    to create them in: reads find nothing, and ``ensure_tables`` refuses. Each table's
    qualified, quoted name is an attribute of its own name (``books.liftdb_version``).
    """

    schema: str | None
    existing: frozenset[str] = frozenset()
    search_path: str = ""  # as the session had it when located, for messages

    def __getattr__(self, table: str) -> str:
        if table not in TABLES:
            raise AttributeError(table)
        return f"{quote(self.schema or '')}.{quote(table)}"

    def has(self, table: str) -> bool:
        return table in self.existing

    def require_schema(self) -> str:
        """The schema to create bookkeeping in; ``BookkeepingError`` when there is none."""
        if self.schema is None:
            raise BookkeepingError(
                "no schema to keep the bookkeeping in: the search_path"
                f" ({self.search_path}) names no schema that exists; nothing was changed"
            )
        return self.schema


LOCATE = """
SELECT pg_catalog.current_schema(), pg_catalog.current_setting('search_path'),
       n.nspname, pg_catalog.array_agg(c.relname::text)
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relname = ANY (%s) AND c.relkind IN ('r', 'p') AND n.nspname !~ '^pg_temp_'
GROUP BY n.nspname
UNION ALL SELECT pg_catalog.current_schema(), pg_catalog.current_setting('search_path'), NULL, NULL
"""


def locate(conn) -> Bookkeeping:
    """Where this database keeps liftdb's bookkeeping, read from the catalog, never from
    the ``search_path`` alone: the schema holding ``liftdb_version``; when several do,
    the current schema if it is one of them, else ``UsageError``; when none does, the
    current schema (where yoyo's own tables may be, for a database yoyo migrated), where
    ``ensure_tables`` will create them. Call it before any version runs."""
    rows = conn.execute(LOCATE, (list(TABLES),)).fetchall()
    current, search_path = rows[0][0], rows[0][1]  # every row has them; one always comes
    found = {schema: frozenset(tables) for _c, _p, schema, tables in rows if schema}
    schemas = sorted(schema for schema, tables in found.items() if VERSION_TABLE in tables)
    if current in schemas or len(schemas) == 1:
        schema = current if current in schemas else schemas[0]
        return Bookkeeping(schema, found[schema], search_path)
    if schemas:
        raise UsageError(
            f"bookkeeping found in schemas {', '.join(schemas)}: set the search_path to"
            f" the one to use (e.g. PGOPTIONS='-c search_path={schemas[0]}')"
        )
    return Bookkeeping(current, found.get(current, frozenset()), search_path)


class AppliedVersion(NamedTuple):
    """What the database recorded about one applied version."""

    number: int
    name: str
    up_sha256: str
    rollback_sha256: str
    applied_at: datetime


class Progress(NamedTuple):
    """A non-transactional version started and not finished: ``statements_done`` of its
    statements in ``direction`` completed (and stay done: they ran in autocommit)."""

    number: int
    direction: str  # "up" or "down"
    name: str
    statements_done: int
    statement_count: int
    started_at: datetime
    next_line: int | None = None  # line of the statement it stopped at (None: unknown)
    # Each completed statement's checksum and line, in order; fewer than statements_done
    # only for a version interrupted by a liftdb that did not record them.
    statement_sha256: tuple[str, ...] = ()
    statement_lines: tuple[int, ...] = ()
    # The session the completed statements left (``session.NOTE_SESSION``'s shape); None
    # when none was done, or an older liftdb recorded the progress.
    session: dict | None = None


def migration_hash(version: Version) -> str:
    """yoyo's key for a migration: the SHA-256 of its id (the file name without .sql)."""
    return yoyo.migration_hash(version.label)


def ensure_tables(conn, books: Bookkeeping | None = None, *, progress: bool = False) -> Bookkeeping:
    """Create the bookkeeping tables that are missing (one round trip, none when all
    exist): yoyo's and ``liftdb_version``, and with ``progress`` (a run with a
    non-transactional version) the progress tables; returns where they are.
    ``BookkeepingError`` when there is no schema to create them in.

    The progress tables wait for a run that needs them: on a new database they are 8 of
    the bookkeeping's 20 relations with storage (tables, indexes, TOAST), each a file
    to create, and each index build on PostgreSQL 15 an fsync. Every reader reads a
    missing one as empty (``Bookkeeping.has``)."""
    books = books or locate(conn)
    core = not all(books.has(table) for table in CORE_TABLES)
    progress = progress and not all(books.has(table) for table in PROGRESS_TABLES)
    if not (core or progress):
        return books
    books.require_schema()
    conn.execute(create_sql(books, core=core, progress=progress))
    created = CORE_TABLES + (PROGRESS_TABLES if progress else ())
    return books._replace(existing=books.existing | frozenset(created))


def create_sql(books: Bookkeeping, *, core: bool = True, progress: bool = False) -> str:
    """The SQL ``ensure_tables`` sends, in ``books.schema``, each table created if missing:
    yoyo's and ``liftdb_version`` (``core``), and the progress tables (``progress``)."""
    script = (CREATE_TABLES if core else "") + (CREATE_PROGRESS_TABLES if progress else "")
    return script.format(t=books, yoyo_schema_version=YOYO_SCHEMA_VERSION)


# An SQL string and its parameters; None where the string names a bookkeeping table (its
# schema's name may hold a "%", which psycopg reads as a placeholder when given parameters).
Query = tuple[str, tuple | None]


def _table_query(
    books: Bookkeeping, table: str, columns: str, order: str, alias: str = ""
) -> Query | None:
    """Rows of a bookkeeping table; None (no query: no rows) when the table was never
    created (reads create nothing: ``status`` works on a database liftdb never touched)."""
    if not books.has(table):
        return None
    name = getattr(books, table)
    return f"SELECT {columns} FROM {name} {alias} ORDER BY {order}", None


def _applied_query(books: Bookkeeping) -> Query | None:
    if not (books.has(VERSION_TABLE) and books.has(YOYO_MIGRATION_TABLE)):
        return None
    return (
        "SELECT v.version, v.name, v.up_sha256, v.rollback_sha256, v.applied_at"
        f" FROM {books.liftdb_version} v WHERE EXISTS (SELECT 1 FROM {books._yoyo_migration} m"
        f" WHERE m.migration_id = pg_catalog.lpad(v.version::text, {NUMBER_WIDTH}, '0')"
        " || '_' || v.name) ORDER BY v.version",
        None,
    )


def _yoyo_only_query(books: Bookkeeping) -> Query | None:
    if not books.has(YOYO_MIGRATION_TABLE):
        return None
    ours = (
        f" WHERE NOT EXISTS (SELECT 1 FROM {books.liftdb_version} v"
        f" WHERE pg_catalog.lpad(v.version::text, {NUMBER_WIDTH}, '0') || '_' || v.name"
        " = m.migration_id)"
        if books.has(VERSION_TABLE)
        else ""
    )
    return f"SELECT m.migration_id FROM {books._yoyo_migration} m{ours} ORDER BY 1", None


def _progress_query(books: Bookkeeping) -> Query | None:
    columns = (
        "version, direction, name, statements_done, statement_count, started_at,"
        " (pg_catalog.to_jsonb(p) ->> 'next_line')::integer, pg_catalog.to_jsonb(p) -> 'session'"
    )
    if books.has(PROGRESS_STATEMENT_TABLE):
        statements = (
            f" FROM {books.liftdb_progress_statement} s WHERE s.version = p.version"
            " AND s.direction = p.direction ORDER BY s.ordinal"
        )
        columns += f", ARRAY(SELECT s.sha256::text{statements}), ARRAY(SELECT s.line{statements})"
    return _table_query(books, PROGRESS_TABLE, columns, "version, direction", alias="p")


def _invalid_indexes_query(books: Bookkeeping) -> Query:
    return (
        "SELECT CASE WHEN n.nspname = %s THEN c.relname::text"
        " ELSE n.nspname || '.' || c.relname END"
        " FROM pg_catalog.pg_index x JOIN pg_catalog.pg_class c ON c.oid = x.indexrelid"
        " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
        " WHERE NOT x.indisvalid"
        " AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')"
        " AND n.nspname !~ '^pg_temp_' ORDER BY 1",
        (books.schema,),
    )


def _rows(conn, query: Query | None) -> list[tuple]:
    return [] if query is None else conn.execute(*query).fetchall()


def _progress_rows(rows: list[tuple]) -> list[Progress]:
    return [
        Progress(*row[:7], *(tuple(column) for column in row[8:]), session=row[7]) for row in rows
    ]


def applied(conn, books: Bookkeeping | None = None) -> list[AppliedVersion]:
    """Every applied version, oldest first; empty when nothing was ever applied.

    yoyo's row is what says a version is applied (``yoyo rollback`` deletes it and leaves
    ours): a ``liftdb_version`` row without its ``_yoyo_migration`` row is a version yoyo
    rolled back, pending again."""
    return [AppliedVersion(*row) for row in _rows(conn, _applied_query(books or locate(conn)))]


def applied_by_yoyo_only(conn, books: Bookkeeping | None = None) -> list[str]:
    """yoyo migration ids recorded as applied with no liftdb row beside them: what yoyo
    itself applied, with no checksum (``liftdb baseline`` adopts them)."""
    return [row[0] for row in _rows(conn, _yoyo_only_query(books or locate(conn)))]


def progress(conn, books: Bookkeeping | None = None) -> list[Progress]:
    """Every interrupted non-transactional version, oldest first, with its completed
    statements (a table made by an older liftdb lacks ``next_line`` and the statements:
    read as unknown)."""
    return _progress_rows(_rows(conn, _progress_query(books or locate(conn))))


def invalid_indexes(conn, books: Bookkeeping | None = None) -> list[str]:
    """Indexes PostgreSQL marks invalid, in any schema but the system's: what an
    interrupted ``CREATE INDEX CONCURRENTLY`` leaves behind. Named alone in the
    bookkeeping's schema, ``schema.name`` elsewhere (whatever the search_path says)."""
    return [row[0] for row in _rows(conn, _invalid_indexes_query(books or locate(conn)))]


class Recorded(NamedTuple):
    """Everything ``read`` reads: what each function of that name returns."""

    applied: list[AppliedVersion]
    applied_by_yoyo_only: list[str]
    progress: list[Progress]
    invalid_indexes: list[str]
    lock_holder: lock.Holder | None = None  # read only when asked for


def read(conn, books: Bookkeeping, *, lock_holder: bool = False) -> Recorded:
    """``applied``, ``applied_by_yoyo_only``, ``progress`` and ``invalid_indexes`` of
    ``books`` at once, and with ``lock_holder`` who holds the migration lock
    (``lock.holder``): their queries sent together in a pipeline (psycopg's
    ``Connection.pipeline``), one round trip where they took four or five; every plan
    and every ``status`` starts with it."""
    queries = (
        _applied_query(books),
        _yoyo_only_query(books),
        _progress_query(books),
        _invalid_indexes_query(books),
        lock.HOLDER_READ if lock_holder else None,
    )
    from psycopg import Pipeline

    # A libpq older than 14 has no pipeline mode (psycopg's Python implementation on an old
    # system libpq; the binary package brings its own): the same queries, one by one.
    with conn.pipeline() if Pipeline.is_supported() else contextlib.nullcontext():
        cursors = [None if query is None else conn.execute(*query) for query in queries]
    applied_rows, yoyo_rows, progress_rows, index_rows, holder_rows = (
        [] if cursor is None else cursor.fetchall() for cursor in cursors
    )
    return Recorded(
        [AppliedVersion(*row) for row in applied_rows],
        [row[0] for row in yoyo_rows],
        _progress_rows(progress_rows),
        [row[0] for row in index_rows],
        lock.holder_from(holder_rows),
    )


def statement_sha256(statement: Statement) -> str:
    """What a completed statement of an interrupted version is recorded as: the SHA-256
    of its text, line endings normalised (a CRLF checkout changes nothing)."""
    return hashlib.sha256(statement.sql.replace("\r\n", "\n").encode("utf-8")).hexdigest()


def start_progress_sql(
    books: Bookkeeping,
    version: Version,
    direction: str,
    statement_count: int,
    next_line: int | None,
) -> list[str]:
    """Note that a non-transactional version has started, unless a run already did:
    then its completed statements stay, and the count and line are the file's now."""
    return [
        f"INSERT INTO {books.liftdb_progress}"
        " (version, direction, name, statement_count, next_line)"
        f" VALUES ({int(version.number)}, {literal(direction)}, {literal(version.name)},"
        f" {int(statement_count)}, {_line(next_line)}) ON CONFLICT (version, direction) DO UPDATE"
        " SET statement_count = EXCLUDED.statement_count, next_line = EXCLUDED.next_line"
    ]


def advance_progress_sql(
    books: Bookkeeping,
    version: Version,
    direction: str,
    done: Sequence[tuple[int, Statement]],
    next_line: int | None,
) -> list[str]:
    """Note that the statements ``done`` (1-based ordinal, statement) have completed, each
    with its checksum and line, where the next one starts (None: after the last), and
    the session they left, noted earlier in the transaction (``session.NOTE_SESSION``)."""
    number, direction_sql = int(version.number), literal(direction)
    rows = ", ".join(
        f"({number}, {direction_sql}, {int(ordinal)}, {literal(statement_sha256(statement))},"
        f" {int(statement.line)})"
        for ordinal, statement in done
    )
    return [
        f"UPDATE {books.liftdb_progress} SET statements_done = {int(done[-1][0])},"
        f" next_line = {_line(next_line)}, last_statement_at = pg_catalog.now(),"
        f" session = pg_catalog.current_setting('{SESSION_NOTED}')::jsonb"
        f" WHERE version = {number} AND direction = {direction_sql}",
        f"INSERT INTO {books.liftdb_progress_statement}"
        f" (version, direction, ordinal, sha256, line) VALUES {rows}",
    ]


def note_session_sql(books: Bookkeeping, version: Version, direction: str) -> list[str]:
    """Note again the session a non-transactional version's completed statements left,
    noted earlier in the transaction (``session.NOTE_SESSION``), their count unchanged:
    after a block of the file's own commits, with the settings it made ``LOCAL`` gone."""
    return [
        f"UPDATE {books.liftdb_progress}"
        f" SET session = pg_catalog.current_setting('{SESSION_NOTED}')::jsonb"
        f" WHERE version = {int(version.number)} AND direction = {literal(direction)}"
    ]


def finish_statements(
    books: Bookkeeping,
    version: Version,
    direction: str,
    duration_ms_sql: str,
    operation: str | None = None,
    *,
    clear_progress: bool = True,
) -> list[str]:
    """The statements that record ``version`` applied (``up``) or rolled back (``down``),
    as literal SQL to send with the version's own statements, inside its transaction;
    ``duration_ms_sql`` is an SQL expression for the duration. ``clear_progress``: they
    also delete the version's progress rows (a caller whose version has none, as the plan
    read them under the migration lock, leaves that out: nothing else writes them).

    Three statements, not one with data-modifying CTEs: replayed on PostgreSQL 15, the
    one statement cost ~2% more per version, not less. Built by hand rather than with
    ``psycopg.sql``: this runs once per version, and composing with psycopg cost a
    millisecond each, more than the round trip it saves.
    """
    key = literal(migration_hash(version))
    label = literal(version.label)
    number = int(version.number)
    utc_now = "pg_catalog.timezone('UTC', pg_catalog.now())"
    if direction == "up":
        statements = [
            # A row yoyo wrote when it applied the version itself stays (``baseline``).
            f"INSERT INTO {books._yoyo_migration} (migration_hash, migration_id, applied_at_utc)"
            f" VALUES ({key}, {label}, {utc_now}) ON CONFLICT (migration_hash) DO NOTHING",
            f"INSERT INTO {books.liftdb_version}"
            " (version, name, up_sha256, rollback_sha256, duration_ms)"
            f" VALUES ({number}, {literal(version.name)}, {literal(version.up.checksum)},"
            f" {literal(version.rollback.checksum)}, {duration_ms_sql})"
            # The row of a version yoyo rolled back (it removes only its own) is replaced.
            " ON CONFLICT (version) DO UPDATE SET name = excluded.name,"
            " up_sha256 = excluded.up_sha256, rollback_sha256 = excluded.rollback_sha256,"
            " applied_at = excluded.applied_at, duration_ms = excluded.duration_ms",
        ]
    else:
        statements = [
            f"DELETE FROM {books._yoyo_migration} WHERE migration_hash = {key}",
            f"DELETE FROM {books.liftdb_version} WHERE version = {number}",
        ]
    user, host = _who()
    operation = literal(operation or ("apply" if direction == "up" else "rollback"))
    statements.append(
        f"INSERT INTO {books._yoyo_log}"
        " (id, migration_hash, migration_id, operation, username, hostname, created_at_utc)"
        f" VALUES ({literal(str(uuid.uuid1()))}, {key}, {label}, {operation}, {user}, {host},"
        f" {utc_now})"
    )
    if clear_progress:
        this_one = f" WHERE version = {number} AND direction = {literal(direction)}"
        statements += [
            f"DELETE FROM {books.liftdb_progress}{this_one}",
            f"DELETE FROM {books.liftdb_progress_statement}{this_one}",
        ]
    return statements


def _line(line: int | None) -> str:
    return "NULL" if line is None else str(int(line))


def literal(value: str) -> str:
    """An SQL string literal, right whatever ``standard_conforming_strings`` says."""
    quoted = value.replace("'", "''")
    if "\\" in value:
        return "E'" + quoted.replace("\\", "\\\\") + "'"
    return f"'{quoted}'"


@functools.cache
def _user_and_host() -> tuple[str, str]:
    """yoyo's log records who ran a migration, and where."""
    return getpass.getuser(), socket.gethostname()


def _who() -> tuple[str, str]:
    user, host = _user_and_host()
    return literal(user), literal(host)


def record_checksums(conn, books: Bookkeeping, version: Version, comment: str) -> None:
    """Record ``version``'s files as they are now (``repair``), with a line in yoyo's log
    ("mark": recorded as applied without running, in yoyo's words); call in a transaction.
    Literals, not parameters: the tables' schema name may hold a "%"."""
    user, host = _who()
    conn.execute(
        f"UPDATE {books.liftdb_version} SET up_sha256 = {literal(version.up.checksum)},"
        f" rollback_sha256 = {literal(version.rollback.checksum)}"
        f" WHERE version = {int(version.number)}"
    )
    conn.execute(
        f"INSERT INTO {books._yoyo_log} (id, migration_hash, migration_id, operation, username,"
        " hostname, comment, created_at_utc)"
        f" VALUES ({literal(str(uuid.uuid1()))}, {literal(migration_hash(version))},"
        f" {literal(version.label)}, 'mark', {user}, {host}, {literal(comment[:255])},"
        " pg_catalog.timezone('UTC', pg_catalog.now()))"
    )


def record_adopted(conn, books: Bookkeeping, version: Version) -> None:
    """Mark ``version`` applied without having run it (``baseline``, ``goose adopt``):
    "mark" in yoyo's log, as yoyo itself says of a migration it records without running."""
    statements = finish_statements(
        books, version, "up", "0", operation="mark", clear_progress=books.has(PROGRESS_TABLE)
    )
    conn.execute(";\n".join(statements))
