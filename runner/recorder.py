"""The bookkeeping of which versions are applied.

Invariant: a row in ``_yoyo_migration`` means the version is applied, and its
row in ``liftdb_version`` holds the checksums of the files that were applied;
both are written in the same transaction as the version's own statements, on
the same connection, so they can never disagree with the schema. Nothing else
writes these tables.

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
"""


@dataclass(frozen=True)
class AppliedVersion:
    """What the database recorded about one applied version."""

    number: int
    name: str
    up_sha256: str
    rollback_sha256: str
    applied_at: datetime


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


def record_apply(conn, version: Version, duration_ms: int) -> None:
    """Mark ``version`` applied; call inside the transaction that applied it."""
    key = migration_hash(version)
    conn.execute(
        f"INSERT INTO {YOYO_MIGRATION_TABLE} (migration_hash, migration_id, applied_at_utc)"
        " VALUES (%s, %s, now() AT TIME ZONE 'UTC')",
        (key, version.label),
    )
    conn.execute(
        f"INSERT INTO {VERSION_TABLE} (version, name, up_sha256, rollback_sha256, duration_ms)"
        " VALUES (%s, %s, %s, %s, %s)",
        (version.number, version.name, version.up.checksum, version.rollback.checksum, duration_ms),
    )
    _log(conn, version, "apply")


def record_rollback(conn, version: Version) -> None:
    """Mark ``version`` not applied; call inside the transaction that rolled it back."""
    conn.execute(
        f"DELETE FROM {YOYO_MIGRATION_TABLE} WHERE migration_hash = %s", (migration_hash(version),)
    )
    conn.execute(f"DELETE FROM {VERSION_TABLE} WHERE version = %s", (version.number,))
    _log(conn, version, "rollback")


def _log(conn, version: Version, operation: str) -> None:
    conn.execute(
        f"INSERT INTO {YOYO_LOG_TABLE}"
        " (id, migration_hash, migration_id, operation, username, hostname, created_at_utc)"
        " VALUES (%s, %s, %s, %s, %s, %s, now() AT TIME ZONE 'UTC')",
        (
            str(uuid.uuid1()),
            migration_hash(version),
            version.label,
            operation,
            getpass.getuser(),
            socket.gethostname(),
        ),
    )
