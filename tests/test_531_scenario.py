"""5/3/1's end of cycle, the case that shaped progression_logs' idempotency key.

One AFTER_CYCLE event applies one progression to four lifts: +5 lb to bench
press and overhead press (the progression's own increment, through a
program-wide row) and +10 lb to squat and deadlift (lift-specific
``override_increment`` rows). Each lift is applied the way the application
does it, in one transaction: probe for the event, write the log row, write
the new training max. Four log rows result; replaying the event for any lift
is refused by ``progression_logs_idempotency_key`` and leaves no new max.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from rows import insert, refused, valid

EVENT_AT = datetime(2024, 4, 1, 17, 45, tzinfo=UTC)
CONTEXT = {"cycleIteration": 1, "totalWeeks": 4}
# slug -> (training max before the event, after it)
MAXES = {
    "squat": (Decimal("300.00"), Decimal("310.00")),
    "bench-press": (Decimal("200.00"), Decimal("205.00")),
    "deadlift": (Decimal("400.00"), Decimal("410.00")),
    "overhead-press": (Decimal("120.00"), Decimal("125.00")),
}
LOWER_BODY = ("squat", "deadlift")

PROBE = """
    SELECT EXISTS (
        SELECT FROM progression_logs
        WHERE user_id = %(user)s AND progression_id = %(progression)s AND lift_id = %(lift)s
          AND trigger_type = 'AFTER_CYCLE' AND applied_at = %(at)s
    )"""
# Lift-specific rows override program-wide ones; then priority.
INCREMENT = """
    SELECT coalesce(pp.override_increment, (p.parameters ->> 'increment')::numeric)
    FROM program_progressions pp
    JOIN progressions p ON p.id = pp.progression_id
    WHERE pp.program_id = %(program)s AND pp.progression_id = %(progression)s AND pp.enabled
      AND (pp.lift_id = %(lift)s OR pp.lift_id IS NULL)
    ORDER BY pp.lift_id IS NULL, pp.priority
    LIMIT 1"""
CURRENT_MAX = """
    SELECT value FROM lift_maxes
    WHERE user_id = %(user)s AND lift_id = %(lift)s AND type = 'TRAINING_MAX'
    ORDER BY effective_date DESC
    LIMIT 1"""
INSERT_LOG = """
    INSERT INTO progression_logs (user_id, progression_id, lift_id, previous_value,
        new_value, delta, trigger_type, trigger_context, applied_at)
    VALUES (%(user)s, %(progression)s, %(lift)s, %(previous)s, %(new)s, %(delta)s,
        'AFTER_CYCLE', %(context)s, %(at)s)"""
INSERT_MAX = """
    INSERT INTO lift_maxes (user_id, lift_id, type, value, effective_date)
    VALUES (%(user)s, %(lift)s, 'TRAINING_MAX', %(new)s, %(at)s::date)"""


def set_up_531(conn: psycopg.Connection) -> dict:
    """A lifter on 5/3/1 with four training maxes; the ids the event needs."""
    user = insert(conn, "users", valid("users"))["id"]
    program = insert(conn, "programs", valid("programs") | {"name": "5/3/1"})["id"]
    progression = insert(
        conn,
        "progressions",
        valid("progressions") | {"parameters": {"increment": 5.0, "maxType": "TRAINING_MAX"}},
    )["id"]
    insert(
        conn,
        "program_progressions",
        {"program_id": program, "progression_id": progression, "lift_id": None},
    )
    lifts = {}
    for slug, (before, after) in MAXES.items():
        lifts[slug] = insert(conn, "lifts", valid("lifts") | {"slug": slug, "name": slug})["id"]
        insert(
            conn,
            "lift_maxes",
            valid("lift_maxes") | {"user_id": user, "lift_id": lifts[slug], "value": before},
        )
        if slug in LOWER_BODY:
            insert(
                conn,
                "program_progressions",
                {
                    "program_id": program,
                    "progression_id": progression,
                    "lift_id": lifts[slug],
                    "override_increment": after - before,
                },
            )
    return {"user": user, "program": program, "progression": progression, "lifts": lifts}


def apply(conn: psycopg.Connection, ids: dict, slug: str, *, probe: bool = True) -> bool:
    """Apply the end-of-cycle event to one lift in one transaction; False if already applied.

    ``probe=False`` is a retry whose probe ran before the first attempt committed.
    """
    params = {
        "user": ids["user"],
        "program": ids["program"],
        "progression": ids["progression"],
        "lift": ids["lifts"][slug],
        "at": EVENT_AT,
        "context": Jsonb(CONTEXT),
    }
    with conn.transaction():
        if probe and conn.execute(PROBE, params).fetchone()[0]:
            return False
        increment = conn.execute(INCREMENT, params).fetchone()[0]
        previous = conn.execute(CURRENT_MAX, params).fetchone()[0]
        params |= {"previous": previous, "new": previous + increment, "delta": increment}
        conn.execute(INSERT_LOG, params)
        conn.execute(INSERT_MAX, params)
    return True


@pytest.fixture(scope="module")
def cycle_end(module_conn):
    """The event applied to all four lifts, each in its own committed transaction."""
    ids = set_up_531(module_conn)
    assert [apply(module_conn, ids, slug) for slug in MAXES] == [True] * 4
    return ids


def current_max(conn, ids, slug) -> Decimal:
    return conn.execute(CURRENT_MAX, {"user": ids["user"], "lift": ids["lifts"][slug]}).fetchone()[
        0
    ]


def counts(conn, ids, slug) -> tuple[int, int]:
    """(log rows, max rows) of one lift."""
    lift = ids["lifts"][slug]
    logs = conn.execute("SELECT count(*) FROM progression_logs WHERE lift_id = %s", [lift])
    maxes = conn.execute("SELECT count(*) FROM lift_maxes WHERE lift_id = %s", [lift])
    return logs.fetchone()[0], maxes.fetchone()[0]


def test_one_event_logs_four_rows_with_each_lifts_increment(module_conn, cycle_end):
    with module_conn.cursor(row_factory=dict_row) as cur:
        logs = cur.execute(
            """SELECT l.slug, g.progression_id, g.previous_value, g.new_value, g.delta,
                      g.trigger_type, g.trigger_context, g.applied_at
               FROM progression_logs g JOIN lifts l ON l.id = g.lift_id
               WHERE g.user_id = %s""",
            [cycle_end["user"]],
        ).fetchall()
    assert sorted(
        (log["slug"], log["previous_value"], log["new_value"], log["delta"]) for log in logs
    ) == sorted((slug, before, after, after - before) for slug, (before, after) in MAXES.items())
    assert {(log["progression_id"], log["trigger_type"], log["applied_at"]) for log in logs} == {
        (cycle_end["progression"], "AFTER_CYCLE", EVENT_AT)
    }
    assert [log["trigger_context"] for log in logs] == [CONTEXT] * 4


@pytest.mark.parametrize("slug", MAXES)
def test_the_new_training_max_is_the_current_one(module_conn, cycle_end, slug):
    assert current_max(module_conn, cycle_end, slug) == MAXES[slug][1]
    assert counts(module_conn, cycle_end, slug) == (1, 2)


@pytest.mark.parametrize("slug", MAXES)
def test_the_probe_recognises_the_event_already_applied(module_conn, cycle_end, slug):
    assert apply(module_conn, cycle_end, slug) is False
    assert counts(module_conn, cycle_end, slug) == (1, 2)


@pytest.mark.parametrize("slug", MAXES)
def test_replaying_the_event_is_refused_and_leaves_no_new_max(module_conn, cycle_end, slug):
    with refused(module_conn, "23505", "progression_logs_idempotency_key"):
        apply(module_conn, cycle_end, slug, probe=False)
    assert counts(module_conn, cycle_end, slug) == (1, 2)
    assert current_max(module_conn, cycle_end, slug) == MAXES[slug][1]


def test_a_retry_racing_the_first_attempt_is_refused_by_the_key(migrated_url):
    """Both attempts probe before either commits; the key stops the second."""
    with (
        psycopg.connect(migrated_url, autocommit=True) as first,
        psycopg.connect(migrated_url, autocommit=True) as retry,
    ):
        ids = set_up_531(first)
        probe = {
            "user": ids["user"],
            "progression": ids["progression"],
            "lift": ids["lifts"]["squat"],
            "at": EVENT_AT,
        }
        with retry.transaction():
            assert retry.execute(PROBE, probe).fetchone()[0] is False
            assert apply(first, ids, "squat") is True
            with refused(retry, "23505", "progression_logs_idempotency_key"):
                apply(retry, ids, "squat", probe=False)
        assert counts(first, ids, "squat") == (1, 2)
        assert current_max(first, ids, "squat") == MAXES["squat"][1]
