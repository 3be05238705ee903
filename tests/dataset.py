"""A modest, deterministic dataset in every table of the chain, and a checksum per table.

Invariant: ``populate`` writes the same rows (ids included) every time, each
row accepted by every constraint, children pointing at parents; ``checksum`` of
a table changes if any row of it changes, appears or disappears.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import psycopg
from psycopg import sql
from rows import EVENT_TIME, insert, valid

ROWS_PER_TABLE = 200
_NAMESPACE = uuid.UUID("6f1c1d8e-5a52-4c2e-9a57-6a0d2f3c4b10")


def row_id(table: str, index: int) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"{table}/{index}")


def populate(conn: psycopg.Connection, per_table: int = ROWS_PER_TABLE) -> None:
    """``per_table`` rows in each of the chain's nine tables (the whole chain applied)."""
    with conn.transaction():
        for i in range(per_table):
            _insert(conn, "users", i, email=f"lifter{i}@example.com", name=f"Lifter {i}")
            parent = row_id("lifts", 0) if i else None
            _insert(conn, "lifts", i, name=f"Lift {i}", slug=f"lift-{i}", parent_lift_id=parent)
            _insert(conn, "programs", i, name=f"Program {i}", slug=f"program-{i}")
            _insert(conn, "progressions", i, name=f"Progression {i}")
        for i in range(per_table):
            user, lift = row_id("users", i % 10), row_id("lifts", i % 7)
            _insert(
                conn, "lift_maxes", i, user_id=user, lift_id=lift,
                effective_date=date(2024, 1, 1) + timedelta(days=i),
            )  # fmt: skip
            _insert(
                conn, "progression_logs", i, user_id=user, lift_id=lift,
                progression_id=row_id("progressions", i % 5),
                applied_at=EVENT_TIME + timedelta(minutes=i),
            )  # fmt: skip
            program = row_id("programs", i)
            _insert(
                conn, "program_progressions", i, program_id=program,
                progression_id=row_id("progressions", i), lift_id=None,
            )  # fmt: skip
            _insert(conn, "weekly_lookups", i, program_id=program, name=f"Waves {i}")
            _insert(conn, "daily_lookups", i, program_id=program, name=f"Days {i}")


def _insert(conn: psycopg.Connection, table: str, index: int, **values) -> None:
    insert(conn, table, valid(table) | {"id": row_id(table, index)} | values)


def checksum(conn: psycopg.Connection, table: str) -> tuple[int, str]:
    """How many rows, and the md5 of every row's text in order."""
    query = sql.SQL(
        "SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), ''))"
        " FROM {} AS t"
    ).format(sql.Identifier(table))
    count, digest = conn.execute(query).fetchone()
    return count, digest
