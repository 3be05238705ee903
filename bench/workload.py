"""The application's statements against the schema, as ``../shared/tickets/README.md`` lists them.

Invariant: these are the only SQL texts the query and concurrency benchmarks
run as "the application", so both measure the same statements, and the apply
transaction is the idempotent one: replaying an event changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from psycopg.types.json import Jsonb

# Inside the apply transaction: has this event already been applied to this lift?
PROBE = """
    SELECT EXISTS (
        SELECT 1 FROM progression_logs
        WHERE user_id = %(user)s AND progression_id = %(progression)s AND lift_id = %(lift)s
          AND trigger_type = %(trigger)s AND applied_at = %(at)s)"""

CURRENT_MAX = """
    SELECT value FROM lift_maxes
    WHERE user_id = %(user)s AND lift_id = %(lift)s AND type = %(type)s
    ORDER BY effective_date DESC
    LIMIT 1"""

# The unique key is the last word: a concurrent replay of the same event inserts nothing.
INSERT_LOG = """
    INSERT INTO progression_logs (user_id, progression_id, lift_id, previous_value, new_value,
        delta, trigger_type, trigger_context, applied_at)
    VALUES (%(user)s, %(progression)s, %(lift)s, %(previous)s, %(previous)s + %(delta)s,
        %(delta)s, %(trigger)s, %(context)s, %(at)s)
    ON CONFLICT ON CONSTRAINT progression_logs_idempotency_key DO NOTHING
    RETURNING id"""

INSERT_MAX = """
    INSERT INTO lift_maxes (user_id, lift_id, type, value, effective_date)
    VALUES (%(user)s, %(lift)s, %(type)s, %(previous)s + %(delta)s, %(at)s::date)"""

# A user's applies are serialised on the user's row, so previous_value is read
# after the last apply committed; FOR NO KEY UPDATE does not block the foreign
# keys' KEY SHARE locks from other users' rows.
LOCK_USER = "SELECT 1 FROM users WHERE id = %(user)s FOR NO KEY UPDATE"

HISTORY = """
    SELECT g.id, g.previous_value, g.new_value, g.delta, g.trigger_type, g.applied_at,
           p.name AS progression, l.name AS lift
    FROM progression_logs g
    JOIN progressions p ON p.id = g.progression_id
    JOIN lifts l ON l.id = g.lift_id
    WHERE g.user_id = %(user)s {filters}
    ORDER BY g.applied_at DESC
    LIMIT 20"""
HISTORY_COUNT = "SELECT count(*) FROM progression_logs g WHERE g.user_id = %(user)s {filters}"
HISTORY_FILTERS = {
    "all lifts": "",
    "one lift": "AND g.lift_id = %(lift)s",
    "all lifts, date range": "AND g.applied_at BETWEEN %(from)s AND %(to)s",
    "one lift, date range": "AND g.lift_id = %(lift)s AND g.applied_at BETWEEN %(from)s AND %(to)s",
}

PROGRAM_PROGRESSIONS = """
    SELECT id, progression_id, lift_id, priority, override_increment
    FROM program_progressions
    WHERE program_id = %(program)s AND enabled
    ORDER BY priority"""

# For one lift: its own rows override the program-wide row of the same progression.
PROGRAM_PROGRESSIONS_FOR_LIFT = """
    SELECT * FROM (
        SELECT DISTINCT ON (progression_id) id, progression_id, lift_id, priority,
               override_increment
        FROM program_progressions
        WHERE program_id = %(program)s AND enabled
          AND (lift_id = %(lift)s OR lift_id IS NULL)
        ORDER BY progression_id, lift_id NULLS LAST
    ) AS chosen
    ORDER BY priority"""

WEEKLY_LOOKUP_BY_ID = "SELECT id, name, entries FROM weekly_lookups WHERE id = %(lookup)s"
WEEKLY_LOOKUPS_BY_PROGRAM = """
    SELECT id, name, entries FROM weekly_lookups WHERE program_id = %(program)s ORDER BY name"""
DAILY_LOOKUPS_BY_NAME = "SELECT id, name FROM daily_lookups ORDER BY name LIMIT 50"


@dataclass(frozen=True)
class Event:
    """A trigger event: one progression applied to up to four of a user's lifts at one instant."""

    user: UUID
    progression: UUID
    trigger: str
    context: dict
    at: datetime
    lifts: tuple[tuple[UUID, Decimal], ...]  # (lift, increment), in a fixed order


def apply(conn, event: Event) -> int:
    """The idempotent apply transaction; returns how many lifts it changed (0 on a replay)."""
    changed = 0
    with conn.transaction():
        conn.execute(LOCK_USER, {"user": event.user})
        for lift, delta in event.lifts:
            params = {
                "user": event.user,
                "progression": event.progression,
                "lift": lift,
                "trigger": event.trigger,
                "at": event.at,
                "type": "TRAINING_MAX",
                "delta": delta,
            }
            if conn.execute(PROBE, params).fetchone()[0]:
                continue
            current = conn.execute(CURRENT_MAX, params).fetchone()
            params["previous"] = current[0] if current else Decimal(0)
            params["context"] = Jsonb(event.context)
            if conn.execute(INSERT_LOG, params).fetchone() is None:
                continue
            conn.execute(INSERT_MAX, params)
            changed += 1
    return changed
