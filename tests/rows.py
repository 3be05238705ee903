"""Valid rows for every table of the chain, and the check that a statement is refused.

Invariant: ``valid(table)`` is a row that every constraint of the chain accepts
once ``insert_parents`` has run; a test changes only the values it is about,
so a refusal is caused by exactly those values.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

# Parent rows every child row points at (fixed ids: each test's transaction is rolled back).
USER = UUID("00000000-0000-4000-8000-000000000001")
LIFT = UUID("00000000-0000-4000-8000-000000000002")
OTHER_LIFT = UUID("00000000-0000-4000-8000-000000000003")
PROGRAM = UUID("00000000-0000-4000-8000-000000000004")
PROGRESSION = UUID("00000000-0000-4000-8000-000000000005")
# An id that no row has: a foreign key pointing at it is refused.
MISSING = UUID("00000000-0000-4000-8000-00000000dead")

JSON_COLUMNS = frozenset({"parameters", "trigger_context", "entries"})
# As a value in a row: JSON's null, where None means SQL NULL.
JSON_NULL = Jsonb(None)
# As a value in a row: leave the column out of the INSERT, so its default applies.
OMIT = object()

EVENT_TIME = datetime(2024, 3, 4, 18, 30, tzinfo=UTC)

WEEKLY_531 = [
    {"weekNumber": 1, "percentages": [65, 75, 85], "reps": [5, 5, 5]},
    {"weekNumber": 2, "percentages": [70, 80, 90], "reps": [3, 3, 3]},
    {"weekNumber": 3, "percentages": [75, 85, 95], "reps": [5, 3, 1]},
    {"weekNumber": 4, "percentages": [40, 50, 60], "reps": [5, 5, 5], "percentageModifier": 0.9},
]
DAILY_STARR = {
    "heavy": {"percentageModifier": 1.0, "intensityLevel": "HEAVY"},
    "light": {"percentageModifier": 0.7, "intensityLevel": "LIGHT"},
    "medium": {"percentageModifier": 0.8, "intensityLevel": "MEDIUM"},
}
TRIGGER_CONTEXTS = {
    "AFTER_SESSION": {
        "sessionId": "8f14e45f-ceea-4e7a-9f6b-2c1d3b5a7e90",
        "daySlug": "day-a",
        "weekNumber": 2,
    },
    "AFTER_WEEK": {"weekNumber": 2, "cycleIteration": 1},
    "AFTER_CYCLE": {"cycleIteration": 1, "totalWeeks": 4},
}

_serial = itertools.count(1)


def valid(table: str) -> dict[str, Any]:
    """A row of ``table`` that every constraint accepts; unique values differ per call."""
    n = next(_serial)
    rows: dict[str, dict[str, Any]] = {
        "users": {"email": f"lifter{n}@example.com", "name": "Alice", "weight_unit": "kg"},
        "lifts": {"name": "Squat", "slug": f"squat-{n}", "is_competition_lift": True},
        "lift_maxes": {
            "user_id": USER,
            "lift_id": LIFT,
            "type": "TRAINING_MAX",
            "value": Decimal("300.00"),
            "effective_date": date(2024, 1, 1),
        },
        "programs": {"name": "5/3/1", "slug": f"five-three-one-{n}", "description": "Wendler"},
        "progressions": {
            "name": "End of cycle",
            "type": "CYCLE_PROGRESSION",
            "parameters": {"increment": 5.0, "maxType": "TRAINING_MAX"},
        },
        "progression_logs": {
            "user_id": USER,
            "progression_id": PROGRESSION,
            "lift_id": LIFT,
            "previous_value": Decimal("300.00"),
            "new_value": Decimal("310.00"),
            "delta": Decimal("10.00"),
            "trigger_type": "AFTER_CYCLE",
            "trigger_context": TRIGGER_CONTEXTS["AFTER_CYCLE"],
            "applied_at": EVENT_TIME,
        },
        "program_progressions": {
            "program_id": PROGRAM,
            "progression_id": PROGRESSION,
            "lift_id": None,
        },
        "weekly_lookups": {"name": "5/3/1 waves", "entries": WEEKLY_531, "program_id": PROGRAM},
        "daily_lookups": {"name": "Heavy, light, medium", "entries": DAILY_STARR},
    }
    return rows[table]


def insert(conn: psycopg.Connection, table: str, row: dict[str, Any]) -> dict[str, Any]:
    """INSERT ``row`` into ``table``; the stored row, defaults filled in."""
    row = {k: v for k, v in row.items() if v is not OMIT}
    values = [_adapt(column, value) for column, value in row.items()]
    query = sql.SQL("INSERT INTO {} ({}) VALUES ({}) RETURNING *").format(
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, row)),
        sql.SQL(", ").join(sql.Placeholder() * len(row)),
    )
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, values).fetchone()


def _adapt(column: str, value: Any) -> Any:
    """JSON columns take Python values as JSON; None stays SQL NULL (JSON null is ``JSON_NULL``)."""
    if column in JSON_COLUMNS and value is not None and not isinstance(value, Jsonb):
        return Jsonb(value)
    return value


def insert_parents(conn: psycopg.Connection) -> None:
    """The user, two lifts, program and progression that ``valid`` rows point at."""
    insert(conn, "users", valid("users") | {"id": USER})
    insert(conn, "lifts", valid("lifts") | {"id": LIFT})
    insert(conn, "lifts", valid("lifts") | {"id": OTHER_LIFT, "name": "Bench press"})
    insert(conn, "programs", valid("programs") | {"id": PROGRAM})
    insert(conn, "progressions", valid("progressions") | {"id": PROGRESSION})


def rows_of(conn: psycopg.Connection, table: str) -> list[str]:
    """Every row of ``table`` as PostgreSQL's text of the whole row, sorted."""
    query = sql.SQL("SELECT t::text FROM {} AS t ORDER BY 1").format(sql.Identifier(table))
    return [text for (text,) in conn.execute(query)]


@contextmanager
def refused(conn: psycopg.Connection, sqlstate: str, name: str | None) -> Iterator[None]:
    """The block must fail with ``sqlstate``, naming ``name``; the savepoint undoes it.

    ``name`` is the constraint the error reports, or for a not-null violation
    (23502, which names no constraint) the column.
    """
    with pytest.raises(psycopg.Error) as caught, conn.transaction():
        yield
    error = caught.value
    reported = error.diag.column_name if sqlstate == "23502" else error.diag.constraint_name
    assert (error.sqlstate, reported) == (sqlstate, name), error.diag.message_primary
