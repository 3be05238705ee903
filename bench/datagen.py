"""Realistic volume for the tickets' queries: users, lifts, maxes, logs, programs, lookups.

Invariant: ``populate(conn, scale, seed)`` fills a freshly migrated, empty
database with rows that every constraint of the chain accepts, and the same
scale and seed give the same rows (the ids rows point at are md5 of a kind and
a number, values come from ``setseed``; only the bulk rows' own ids and
created_at are not seeded). At scale 1: 10,000 users, 40 lifts (3 competition
lifts), 200,000 ``lift_maxes``, 1,000,000 ``progression_logs``, skewed so that
a few users have thousands of log rows and most have tens.

The bulk tables are written server-side with ``INSERT ... SELECT`` over
``generate_series``, driven by a per-user plan computed here and sent with
``COPY``: nothing is inserted row by row from Python.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

USERS = 10_000
LOG_ROWS = 1_000_000
MAX_ROWS = 200_000
COMPETITION_LIFTS = (("Squat", "squat"), ("Bench Press", "bench-press"), ("Deadlift", "deadlift"))
OTHER_LIFTS = 37  # "a few dozen others"
LIFTS = len(COMPETITION_LIFTS) + OTHER_LIFTS
PROGRAMS = 20
PROGRESSIONS = 2 * PROGRAMS  # odd numbers linear, even numbers cycle
LIFTS_PER_EVENT = 4  # an end-of-cycle event raises four maxes at once (5/3/1)
LOG_SKEW, MAX_SKEW = 0.8, 0.5  # Zipf exponents: the n-th busiest user has n**-skew of the work
LOG_SPAN_SECONDS = 3 * 365 * 86_400  # every user's history spans the last three years
HISTORY_END = "2026-01-01 00:00+00"  # the newest log row is just before this instant
MAX_END = "2025-12-31"  # the newest lift_maxes row is on this day

NAMED_OTHER_LIFTS = (
    ("Overhead Press", "overhead-press", None),
    ("Front Squat", "front-squat", 1),
    ("Paused Squat", "paused-squat", 1),
    ("Close-Grip Bench Press", "close-grip-bench-press", 2),
    ("Incline Bench Press", "incline-bench-press", 2),
    ("Romanian Deadlift", "romanian-deadlift", 3),
    ("Deficit Deadlift", "deficit-deadlift", 3),
    ("Barbell Row", "barbell-row", None),
    ("Pull-Up", "pull-up", None),
)


@dataclass(frozen=True)
class UserPlan:
    """How many rows one user gets; user n's id is md5('user' || n)::uuid."""

    user_no: int
    log_rows: int
    max_rows: int
    lift_slots: int  # lifts with maxes: the 3 competition lifts and 1 to 3 others


def lift_slots(user_no: int) -> int:
    return 4 + user_no % 3


def _apportion(total: int, weights: list[float]) -> list[int]:
    """Integers proportional to ``weights`` summing to ``total`` (largest remainder)."""
    whole = sum(weights)
    shares = [total * w / whole for w in weights]
    counts = [int(s) for s in shares]
    by_remainder = sorted(range(len(shares)), key=lambda i: counts[i] - shares[i])
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


def plan(scale: float = 1.0, seed: int = 0) -> list[UserPlan]:
    """Each user's row counts: a Zipf-like skew over users in an order shuffled by ``seed``.

    Every user gets at least one full event of logs and one row per (lift, type)
    of maxes, so every user has a history and a current max for each lift they train.
    """
    users = max(10, round(USERS * scale))
    ranks = list(range(1, users + 1))
    random.Random(seed).shuffle(ranks)  # ranks[i] is the busyness rank of user i + 1
    slots = [lift_slots(n) for n in range(1, users + 1)]
    log_floor = [LIFTS_PER_EVENT] * users
    max_floor = [2 * s for s in slots]
    logs = _apportion(
        max(0, round(LOG_ROWS * scale) - sum(log_floor)), [r**-LOG_SKEW for r in ranks]
    )
    maxes = _apportion(
        max(0, round(MAX_ROWS * scale) - sum(max_floor)), [r**-MAX_SKEW for r in ranks]
    )
    return [
        UserPlan(n, log_floor[i] + logs[i], max_floor[i] + maxes[i], slots[i])
        for i, n in enumerate(range(1, users + 1))
    ]


def user_id_sql(number: str) -> str:
    return f"md5('user' || {number})::uuid"


def lift_id_sql(number: str) -> str:
    return f"md5('lift' || {number})::uuid"


def progression_id_sql(number: str) -> str:
    return f"md5('progression' || {number})::uuid"


def program_id_sql(number: str) -> str:
    return f"md5('program' || {number})::uuid"


# The lift in a user's slot s: the three competition lifts first, then others by user.
SLOT_LIFT = f"""CASE WHEN {{slot}} < 3 THEN {{slot}} + 1
    ELSE 4 + ({{user}} + {{slot}} - 3) % {OTHER_LIFTS} END"""

INSERT_USERS = f"""
    INSERT INTO users (id, email, name, weight_unit)
    SELECT {user_id_sql("n")}, 'lifter' || n || '@example.com', 'Lifter ' || n,
           CASE WHEN mod(n, 3) = 0 THEN 'kg' ELSE 'lb' END
    FROM generate_series(1, %(users)s) AS n"""

INSERT_PROGRESSIONS = f"""
    INSERT INTO progressions (id, name, type, parameters)
    SELECT {progression_id_sql("n")},
           CASE WHEN n % 2 = 1 THEN 'Linear ' ELSE 'Cycle ' END || n,
           CASE WHEN n % 2 = 1 THEN 'LINEAR_PROGRESSION' ELSE 'CYCLE_PROGRESSION' END,
           CASE WHEN n % 2 = 1
               THEN jsonb_build_object('increment', 2.5 * (1 + n % 3), 'maxType',
                                       'TRAINING_MAX', 'triggerType', 'AFTER_SESSION')
               ELSE jsonb_build_object('increment', 5.0, 'maxType', 'TRAINING_MAX')
           END
    FROM generate_series(1, {PROGRESSIONS}) AS n"""

INSERT_PROGRAMS = f"""
    INSERT INTO programs (id, name, slug, description)
    SELECT {program_id_sql("n")}, 'Program ' || n, 'program-' || n,
           'Generated program ' || n || ' for the benchmarks'
    FROM generate_series(1, {PROGRAMS}) AS n"""

# Per program: one program-wide linear progression, the program's cycle progression
# for the four main lifts with per-lift increments (5/3/1: +5 upper, +10 lower),
# and a switched-off program-wide rule.
INSERT_PROGRAM_PROGRESSIONS = f"""
    INSERT INTO program_progressions
        (program_id, progression_id, lift_id, priority, enabled, override_increment)
    SELECT {program_id_sql("p")}, {progression_id_sql("2 * p - 1")}, NULL, 0, true, NULL
    FROM generate_series(1, {PROGRAMS}) AS p
    UNION ALL
    SELECT {program_id_sql("p")}, {progression_id_sql("2 * p")}, {lift_id_sql("l")}, 1, true,
           CASE WHEN l IN (1, 3) THEN 10 ELSE 5 END
    FROM generate_series(1, {PROGRAMS}) AS p, generate_series(1, 4) AS l
    UNION ALL
    SELECT {program_id_sql("p")}, {progression_id_sql("1 + (2 * p) % " + str(PROGRESSIONS))},
           NULL, 2, false, NULL
    FROM generate_series(1, {PROGRAMS}) AS p"""

INSERT_MAXES = f"""
    INSERT INTO lift_maxes (user_id, lift_id, type, value, effective_date)
    SELECT {user_id_sql("p.user_no")}, {lift_id_sql("s.lift_no")},
           CASE WHEN j % 2 = 0 THEN 'TRAINING_MAX' ELSE 'ONE_RM' END,
           round((60 + 20 * s.slot + 2.5 * (p.max_rows / (2 * p.lift_slots) - s.k)
                  + 5 * random())::numeric, 2),
           date '{MAX_END}' - s.k
    FROM bench_plan p,
         LATERAL generate_series(0, p.max_rows - 1) AS j,
         LATERAL (SELECT (j % (2 * p.lift_slots)) / 2 AS slot,
                         j / (2 * p.lift_slots) AS k) AS w,
         LATERAL (SELECT w.slot, w.k,
                         {SLOT_LIFT.format(slot="w.slot", user="p.user_no")} AS lift_no) AS s"""

# Event e of a user applies one progression to up to four lifts at the same instant;
# 7 in 10 events are sessions, 2 week ends, 1 a cycle end.
INSERT_LOGS = f"""
    INSERT INTO progression_logs (user_id, progression_id, lift_id, previous_value,
        new_value, delta, trigger_type, trigger_context, applied_at)
    SELECT {user_id_sql("x.user_no")},
           CASE WHEN x.trigger = 'AFTER_SESSION'
               THEN {progression_id_sql("1 + 2 * (x.user_no % " + str(PROGRAMS) + ")")}
               ELSE {progression_id_sql("2 + 2 * (x.user_no % " + str(PROGRAMS) + ")")}
           END,
           {lift_id_sql("x.lift_no")},
           x.previous, x.previous + x.delta, x.delta, x.trigger,
           CASE x.trigger
               WHEN 'AFTER_SESSION' THEN jsonb_build_object(
                   'sessionId', md5(x.user_no || '-' || x.e)::uuid::text,
                   'daySlug', 'day-' || (1 + x.e % 4), 'weekNumber', 1 + (x.e / 3) % 4)
               WHEN 'AFTER_WEEK' THEN jsonb_build_object(
                   'weekNumber', 1 + x.e % 4, 'cycleIteration', 1 + x.e / 40)
               ELSE jsonb_build_object('cycleIteration', 1 + x.e / 40, 'totalWeeks', 4)
           END,
           timestamptz '{HISTORY_END}' - make_interval(secs =>
               (x.events - x.e) * ({LOG_SPAN_SECONDS}.0 / x.events))
    FROM (
        SELECT p.user_no, j / {LIFTS_PER_EVENT} AS e,
               ceil(p.log_rows / {LIFTS_PER_EVENT}.0)::int AS events,
               {SLOT_LIFT.format(slot=f"j % {LIFTS_PER_EVENT}", user="p.user_no")} AS lift_no,
               (60 + 20 * (j % {LIFTS_PER_EVENT}) + 2.5 * (j / {LIFTS_PER_EVENT}))::numeric(8, 2)
                   AS previous,
               CASE WHEN j % {LIFTS_PER_EVENT} IN (0, 2) THEN 5.0 ELSE 2.5 END::numeric(8, 2)
                   AS delta,
               CASE WHEN (j / {LIFTS_PER_EVENT}) % 10 < 7 THEN 'AFTER_SESSION'
                    WHEN (j / {LIFTS_PER_EVENT}) % 10 < 9 THEN 'AFTER_WEEK'
                    ELSE 'AFTER_CYCLE' END AS trigger
        FROM bench_plan p, LATERAL generate_series(0, p.log_rows - 1) AS j
    ) AS x
    ORDER BY 9"""  # rows arrive in time order, users interleaved, as an application writes them

SHARED_LOOKUPS = 3  # lookups with no program (program_id NULL)
LOOKUP_PROGRAM = f"CASE WHEN p <= {PROGRAMS} THEN {program_id_sql('p')} END"

# Lookup n: weeks 1 to 3 + n % 4 of rising percentages, the last one a deload week.
INSERT_WEEKLY_LOOKUPS = f"""
    INSERT INTO weekly_lookups (name, entries, program_id)
    SELECT 'Weeks ' || p, jsonb_agg(
               jsonb_build_object('weekNumber', w,
                                  'percentages', jsonb_build_array(60 + 5 * w, 70 + 5 * w),
                                  'reps', jsonb_build_array(5, 3))
               || CASE WHEN w = 3 + p % 4 THEN '{{"percentageModifier": 0.9}}'::jsonb
                       ELSE '{{}}'::jsonb END
               ORDER BY w),
           {LOOKUP_PROGRAM}
    FROM generate_series(1, {PROGRAMS + SHARED_LOOKUPS}) AS p,
         LATERAL generate_series(1, 3 + p % 4) AS w
    GROUP BY p"""

# Lookup n: 2 + n % 3 days cycling through heavy, light and medium.
INSERT_DAILY_LOOKUPS = f"""
    INSERT INTO daily_lookups (name, entries, program_id)
    SELECT 'Days ' || p, jsonb_object_agg('day-' || d, jsonb_build_object(
               'percentageModifier', (ARRAY[1.0, 0.7, 0.85])[1 + d % 3],
               'intensityLevel', (ARRAY['HEAVY', 'LIGHT', 'MEDIUM'])[1 + d % 3])),
           {LOOKUP_PROGRAM}
    FROM generate_series(1, {PROGRAMS + SHARED_LOOKUPS}) AS p,
         LATERAL generate_series(1, 2 + p % 3) AS d
    GROUP BY p"""


@dataclass(frozen=True)
class Dataset:
    """What ``populate`` wrote: the per-user plan and the row counts."""

    plan: list[UserPlan]
    counts: dict[str, int]

    def busiest(self) -> UserPlan:
        return max(self.plan, key=lambda user: user.log_rows)


def populate(conn, scale: float = 1.0, seed: int = 0) -> Dataset:
    """Fill a freshly migrated, empty database; return the plan and the row counts.

    ``conn`` is a psycopg connection; the rows are written in one transaction,
    then the bulk tables are analysed (and vacuumed when ``conn`` is in
    autocommit, as autovacuum would have done on a live system).
    """
    users = plan(scale, seed)
    with conn.transaction():
        conn.execute("SELECT setseed(%s)", ((seed % 2000) / 1000 - 1,))
        _skip_foreign_key_triggers(conn)
        conn.execute(INSERT_USERS, {"users": len(users)})
        _insert_lifts(conn)
        conn.execute(INSERT_PROGRESSIONS)
        conn.execute(INSERT_PROGRAMS)
        conn.execute(INSERT_PROGRAM_PROGRESSIONS)
        _insert_lookups(conn)
        conn.execute(
            "CREATE TEMPORARY TABLE bench_plan (user_no integer PRIMARY KEY,"
            " log_rows integer, max_rows integer, lift_slots integer) ON COMMIT DROP"
        )
        with conn.cursor().copy(
            "COPY bench_plan (user_no, log_rows, max_rows, lift_slots) FROM STDIN"
        ) as copy:
            for user in users:
                copy.write_row((user.user_no, user.log_rows, user.max_rows, user.lift_slots))
        conn.execute(INSERT_MAXES)
        conn.execute(INSERT_LOGS)
    tables = ("users", "lifts", "lift_maxes", "progression_logs", "programs", "progressions",
              "program_progressions", "weekly_lookups", "daily_lookups")  # fmt: skip
    if conn.autocommit:
        conn.execute("VACUUM (ANALYZE) lift_maxes, progression_logs")
    conn.execute("ANALYZE")
    counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
    return Dataset(users, counts)


def _skip_foreign_key_triggers(conn) -> None:
    """Skip the per-row foreign key checks for this transaction, as pg_restore does.

    They would double the load time at scale 1; every id is built from the same
    md5 scheme as its parent's, and tests/test_datagen.py checks there is no
    orphan. Only a superuser may; anyone else loads with the checks on.
    """
    import psycopg

    try:
        with conn.transaction():
            conn.execute("SET LOCAL session_replication_role = replica")
    except psycopg.errors.InsufficientPrivilege:
        pass


def _insert_lifts(conn) -> None:
    rows = [(1 + i, name, slug, True, None) for i, (name, slug) in enumerate(COMPETITION_LIFTS)]
    for i in range(OTHER_LIFTS):
        number = len(COMPETITION_LIFTS) + 1 + i
        if i < len(NAMED_OTHER_LIFTS):
            name, slug, parent = NAMED_OTHER_LIFTS[i]
        else:
            name, slug, parent = f"Accessory {i}", f"accessory-{i}", 1 + i % 3
        rows.append((number, name, slug, False, parent))
    with conn.cursor() as cur:
        cur.executemany(
            f"INSERT INTO lifts (id, name, slug, is_competition_lift, parent_lift_id)"
            f" VALUES ({lift_id_sql('%s::text')}, %s, %s, %s,"
            f" CASE WHEN %s::int IS NULL THEN NULL ELSE {lift_id_sql('%s::text')} END)",
            [(n, name, slug, comp, parent, parent) for n, name, slug, comp, parent in rows],
        )


def _insert_lookups(conn) -> None:
    conn.execute(INSERT_WEEKLY_LOOKUPS)
    conn.execute(INSERT_DAILY_LOOKUPS)
