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
"""

from __future__ import annotations

import functools
import getpass
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime

from runner import yoyo
from runner.loader import NUMBER_WIDTH, Version

YOYO_MIGRATION_TABLE = "_yoyo_migration"
YOYO_LOG_TABLE = "_yoyo_log"
YOYO_VERSION_TABLE = "_yoyo_version"
VERSION_TABLE = "liftdb_version"
PROGRESS_TABLE = "liftdb_progress"
YOYO_SCHEMA_VERSION = 2

# yoyo's internal schema, version 2, as yoyo itself creates it.
CREATE_TABLES = f"""
CREATE TABLE IF NOT EXISTS {YOYO_MIGRATION_TABLE} (
    migration_hash varchar(64) PRIMARY KEY,
    migration_id varchar(255),
    applied_at_utc timestamp
);
CREATE TABLE IF NOT EXISTS {YOYO_LOG_TABLE} (
    id varchar(36) PRIMARY KEY,
    migration_hash varchar(64),
    migration_id varchar(255),
    operation varchar(10),
    username varchar(255),
    hostname varchar(255),
    comment varchar(255),
    created_at_utc timestamp
);
CREATE TABLE IF NOT EXISTS {YOYO_VERSION_TABLE} (
    version int NOT NULL PRIMARY KEY,
    installed_at_utc timestamp
);
INSERT INTO {YOYO_VERSION_TABLE} (version, installed_at_utc)
    VALUES ({YOYO_SCHEMA_VERSION}, now() AT TIME ZONE 'UTC')
    ON CONFLICT (version) DO NOTHING;
CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (
    version integer PRIMARY KEY,
    name text NOT NULL,
    up_sha256 char(64) NOT NULL,
    rollback_sha256 char(64) NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    duration_ms integer NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS {PROGRESS_TABLE} (
    version integer NOT NULL,
    direction text NOT NULL CHECK (direction IN ('up', 'down')),
    name text NOT NULL,
    statements_done integer NOT NULL DEFAULT 0,
    statement_count integer NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    last_statement_at timestamptz,
    PRIMARY KEY (version, direction)
);
"""


@dataclass(frozen=True)
class AppliedVersion:
    """What the database recorded about one applied version."""

    number: int
    name: str
    up_sha256: str
    rollback_sha256: str
    applied_at: datetime


@dataclass(frozen=True)
class Progress:
    """A non-transactional version started and not finished: ``statements_done`` of its
    statements in ``direction`` completed (and stay done: they ran in autocommit)."""

    number: int
    direction: str  # "up" or "down"
    name: str
    statements_done: int
    statement_count: int
    started_at: datetime


def migration_hash(version: Version) -> str:
    """yoyo's key for a migration: the SHA-256 of its id (the file name without .sql)."""
    return yoyo.migration_hash(version.label)


def ensure_tables(conn) -> None:
    """Create the bookkeeping tables if missing (idempotent, one round trip)."""
    conn.execute(CREATE_TABLES)


def tables_exist(conn) -> bool:
    return _exists(conn, VERSION_TABLE)


def _exists(conn, table: str) -> bool:
    return bool(conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()[0])


def _read(conn, table: str, columns: str, order: str) -> list[tuple]:
    """Rows of a bookkeeping table; none when the table was never created (reads create
    nothing: ``status`` works on a database liftdb never touched)."""
    if not _exists(conn, table):
        return []
    return conn.execute(f"SELECT {columns} FROM {table} ORDER BY {order}").fetchall()


def applied(conn) -> list[AppliedVersion]:
    """Every applied version, oldest first; empty when nothing was ever applied.

    yoyo's row is what says a version is applied (``yoyo rollback`` deletes it and leaves
    ours): a ``liftdb_version`` row without its ``_yoyo_migration`` row is a version yoyo
    rolled back, pending again."""
    if not _exists(conn, VERSION_TABLE):
        return []
    rows = conn.execute(
        "SELECT v.version, v.name, v.up_sha256, v.rollback_sha256, v.applied_at"
        f" FROM {VERSION_TABLE} v WHERE EXISTS (SELECT 1 FROM {YOYO_MIGRATION_TABLE} m"
        f" WHERE m.migration_id = lpad(v.version::text, {NUMBER_WIDTH}, '0') || '_' || v.name)"
        " ORDER BY v.version"
    ).fetchall()
    return [AppliedVersion(*row) for row in rows]


def applied_by_yoyo_only(conn) -> list[str]:
    """yoyo migration ids recorded as applied with no liftdb row beside them: what yoyo
    itself applied, with no checksum (``liftdb baseline`` adopts them)."""
    if not _exists(conn, YOYO_MIGRATION_TABLE):
        return []
    ours = (
        f" WHERE NOT EXISTS (SELECT 1 FROM {VERSION_TABLE} v"
        f" WHERE lpad(v.version::text, {NUMBER_WIDTH}, '0') || '_' || v.name = m.migration_id)"
        if _exists(conn, VERSION_TABLE)
        else ""
    )
    query = f"SELECT m.migration_id FROM {YOYO_MIGRATION_TABLE} m{ours} ORDER BY 1"
    return [migration_id for (migration_id,) in conn.execute(query).fetchall()]


def progress(conn) -> list[Progress]:
    """Every interrupted non-transactional version, oldest first."""
    columns = "version, direction, name, statements_done, statement_count, started_at"
    rows = _read(conn, PROGRESS_TABLE, columns, "version, direction")
    return [Progress(*row) for row in rows]


def invalid_indexes(conn) -> list[str]:
    """Indexes of the current schema that PostgreSQL marks invalid: what an interrupted
    ``CREATE INDEX CONCURRENTLY`` leaves behind."""
    rows = conn.execute(
        "SELECT c.relname FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid"
        " WHERE NOT x.indisvalid AND c.relnamespace = current_schema()::regnamespace"
        " ORDER BY 1"
    ).fetchall()
    return [name for (name,) in rows]


def start_progress(conn, version: Version, direction: str, statement_count: int) -> None:
    """Note (autocommit) that a non-transactional version has started, unless a previous
    run already did: then its count of completed statements stays."""
    conn.execute(
        f"INSERT INTO {PROGRESS_TABLE} (version, direction, name, statement_count)"
        " VALUES (%s, %s, %s, %s) ON CONFLICT (version, direction) DO NOTHING",
        (version.number, direction, version.name, statement_count),
    )


def advance_progress(conn, version: Version, direction: str, statements_done: int) -> None:
    """Note (autocommit) that the first ``statements_done`` statements have completed."""
    conn.execute(
        f"UPDATE {PROGRESS_TABLE} SET statements_done = %s, last_statement_at = now()"
        " WHERE version = %s AND direction = %s",
        (statements_done, version.number, direction),
    )


def finish_sql(
    version: Version, direction: str, duration_ms_sql: str, operation: str | None = None
) -> str:
    """The statements that record ``version`` applied (``up``) or rolled back (``down``)
    and clear its progress row, as literal SQL to send with the version's own statements,
    inside its transaction. ``duration_ms_sql`` is an SQL expression for the duration.

    Built by hand rather than with ``psycopg.sql``: this runs once per version, and
    composing with psycopg cost a millisecond each, more than the round trip it saves.
    """
    key = _literal(migration_hash(version))
    label = _literal(version.label)
    number = int(version.number)
    if direction == "up":
        statements = [
            # A row yoyo wrote when it applied the version itself stays (``baseline``).
            f"INSERT INTO {YOYO_MIGRATION_TABLE} (migration_hash, migration_id, applied_at_utc)"
            f" VALUES ({key}, {label}, now() AT TIME ZONE 'UTC')"
            " ON CONFLICT (migration_hash) DO NOTHING",
            f"INSERT INTO {VERSION_TABLE} (version, name, up_sha256, rollback_sha256, duration_ms)"
            f" VALUES ({number}, {_literal(version.name)}, {_literal(version.up.checksum)},"
            f" {_literal(version.rollback.checksum)}, {duration_ms_sql})"
            # The row of a version yoyo rolled back (it removes only its own) is replaced.
            " ON CONFLICT (version) DO UPDATE SET name = excluded.name,"
            " up_sha256 = excluded.up_sha256, rollback_sha256 = excluded.rollback_sha256,"
            " applied_at = excluded.applied_at, duration_ms = excluded.duration_ms",
        ]
    else:
        statements = [
            f"DELETE FROM {YOYO_MIGRATION_TABLE} WHERE migration_hash = {key}",
            f"DELETE FROM {VERSION_TABLE} WHERE version = {number}",
        ]
    user, host = _who()
    operation = _literal(operation or ("apply" if direction == "up" else "rollback"))
    statements += [
        f"INSERT INTO {YOYO_LOG_TABLE}"
        " (id, migration_hash, migration_id, operation, username, hostname, created_at_utc)"
        f" VALUES ({_literal(str(uuid.uuid1()))}, {key}, {label}, {operation}, {user}, {host},"
        " now() AT TIME ZONE 'UTC')",
        f"DELETE FROM {PROGRESS_TABLE}"
        f" WHERE version = {number} AND direction = {_literal(direction)}",
    ]
    return ";\n".join(statements)


def _literal(value: str) -> str:
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
    return _literal(user), _literal(host)


def record_checksums(conn, version: Version, comment: str) -> None:
    """Record ``version``'s files as they are now (``repair``), with a line in yoyo's log
    ("mark": recorded as applied without running, in yoyo's words); call in a transaction."""
    conn.execute(
        f"UPDATE {VERSION_TABLE} SET up_sha256 = %s, rollback_sha256 = %s WHERE version = %s",
        (version.up.checksum, version.rollback.checksum, version.number),
    )
    conn.execute(
        f"INSERT INTO {YOYO_LOG_TABLE} (id, migration_hash, migration_id, operation, username,"
        " hostname, comment, created_at_utc)"
        " VALUES (%s, %s, %s, 'mark', %s, %s, %s, now() AT TIME ZONE 'UTC')",
        (
            str(uuid.uuid1()),
            migration_hash(version),
            version.label,
            *_user_and_host(),
            comment[:255],
        ),
    )


def record_adopted(conn, version: Version) -> None:
    """Mark ``version`` applied without having run it (``baseline``, ``goose adopt``):
    "mark" in yoyo's log, as yoyo itself says of a migration it records without running."""
    conn.execute(finish_sql(version, "up", "0", operation="mark"))
