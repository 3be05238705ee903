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

import getpass
import hashlib
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime

from runner.loader import Version

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
    updated_at timestamptz NOT NULL DEFAULT now(),
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
    return hashlib.sha256(version.label.encode("utf-8")).hexdigest()


def ensure_tables(conn) -> None:
    """Create the bookkeeping tables if missing (idempotent, one round trip)."""
    conn.execute(CREATE_TABLES)


def tables_exist(conn) -> bool:
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (VERSION_TABLE,)).fetchone()
    return bool(row[0])


def applied(conn) -> list[AppliedVersion]:
    """Every applied version, oldest first; empty when nothing was ever applied."""
    if not tables_exist(conn):
        return []
    rows = conn.execute(
        f"SELECT version, name, up_sha256, rollback_sha256, applied_at"
        f" FROM {VERSION_TABLE} ORDER BY version"
    ).fetchall()
    return [AppliedVersion(*row) for row in rows]


def progress(conn) -> list[Progress]:
    """Every interrupted non-transactional version, oldest first."""
    if not conn.execute("SELECT to_regclass(%s) IS NOT NULL", (PROGRESS_TABLE,)).fetchone()[0]:
        return []
    rows = conn.execute(
        f"SELECT version, direction, name, statements_done, statement_count, started_at"
        f" FROM {PROGRESS_TABLE} ORDER BY version, direction"
    ).fetchall()
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
        f"UPDATE {PROGRESS_TABLE} SET statements_done = %s, updated_at = now()"
        " WHERE version = %s AND direction = %s",
        (statements_done, version.number, direction),
    )


def finish_sql(conn, version: Version, direction: str, duration_ms_sql: str) -> str:
    """The statements that record ``version`` applied (``up``) or rolled back (``down``)
    and clear its progress row, as literal SQL to send with the version's own statements,
    inside its transaction. ``duration_ms_sql`` is an SQL expression for the duration."""
    from psycopg import sql

    key = sql.Literal(migration_hash(version))
    label = sql.Literal(version.label)
    number = sql.Literal(version.number)
    if direction == "up":
        statements = [
            sql.SQL(
                "INSERT INTO {} (migration_hash, migration_id, applied_at_utc)"
                " VALUES ({}, {}, now() AT TIME ZONE 'UTC')"
            ).format(sql.Identifier(YOYO_MIGRATION_TABLE), key, label),
            sql.SQL(
                "INSERT INTO {} (version, name, up_sha256, rollback_sha256, duration_ms)"
                " VALUES ({}, {}, {}, {}, {})"
            ).format(
                sql.Identifier(VERSION_TABLE),
                number,
                sql.Literal(version.name),
                sql.Literal(version.up.checksum),
                sql.Literal(version.rollback.checksum),
                sql.SQL(duration_ms_sql),
            ),
        ]
    else:
        statements = [
            sql.SQL("DELETE FROM {} WHERE migration_hash = {}").format(
                sql.Identifier(YOYO_MIGRATION_TABLE), key
            ),
            sql.SQL("DELETE FROM {} WHERE version = {}").format(
                sql.Identifier(VERSION_TABLE), number
            ),
        ]
    statements.append(
        sql.SQL(
            "INSERT INTO {}"
            " (id, migration_hash, migration_id, operation, username, hostname, created_at_utc)"
            " VALUES ({}, {}, {}, {}, {}, {}, now() AT TIME ZONE 'UTC')"
        ).format(
            sql.Identifier(YOYO_LOG_TABLE),
            sql.Literal(str(uuid.uuid1())),
            key,
            label,
            sql.Literal("apply" if direction == "up" else "rollback"),
            sql.Literal(getpass.getuser()),
            sql.Literal(socket.gethostname()),
        )
    )
    statements.append(
        sql.SQL("DELETE FROM {} WHERE version = {} AND direction = {}").format(
            sql.Identifier(PROGRESS_TABLE), number, sql.Literal(direction)
        )
    )
    return ";\n".join(statement.as_string(conn) for statement in statements)


def record_apply(conn, version: Version, duration_ms: int) -> None:
    """Mark ``version`` applied; call inside the transaction that applied it."""
    conn.execute(finish_sql(conn, version, "up", str(int(duration_ms))))


def record_rollback(conn, version: Version) -> None:
    """Mark ``version`` not applied; call inside the transaction that rolled it back."""
    conn.execute(finish_sql(conn, version, "down", "0"))
