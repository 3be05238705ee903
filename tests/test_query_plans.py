"""The application's queries on progression_logs and lift_maxes are served by indexes.

A few thousand generated rows, ANALYZE, then the planner's own choice (no
``enable_seqscan`` games): every query the tickets' README lists under "What
the application runs" reads these two tables through an index, never a
sequential scan. The history queries are bench/workload.py's, the ones the
benchmarks time at a million rows.
"""

from __future__ import annotations

import hashlib
from uuid import UUID

import pytest

from bench.workload import HISTORY
from bench.workload import HISTORY_COUNT as COUNT
from bench.workload import HISTORY_FILTERS as FILTERS

USERS, LIFTS, WEEKS = 100, 4, 12  # progression_logs: 4 800 rows; lift_maxes: 4 800 rows
INDEXED_TABLES = ("progression_logs", "lift_maxes")

GENERATE = f"""
    INSERT INTO users (id, email, name)
    SELECT md5('user' || n)::uuid, 'lifter' || n || '@example.com', 'Lifter ' || n
    FROM generate_series(1, {USERS}) AS n;

    INSERT INTO lifts (id, name, slug)
    SELECT md5('lift' || n)::uuid, 'Lift ' || n, 'lift-' || n
    FROM generate_series(1, {LIFTS}) AS n;

    INSERT INTO progressions (id, name, type)
    SELECT md5('progression' || n)::uuid, 'Rule ' || n, 'CYCLE_PROGRESSION'
    FROM generate_series(1, 2) AS n;

    INSERT INTO lift_maxes (user_id, lift_id, type, value, effective_date)
    SELECT u.id, l.id, t.type, 100 + 5 * w, date '2024-01-01' + 28 * w
    FROM users u, lifts l, (VALUES ('ONE_RM'), ('TRAINING_MAX')) AS t (type),
         generate_series(0, 5) AS w;

    INSERT INTO progression_logs (user_id, progression_id, lift_id, previous_value,
        new_value, delta, trigger_type, trigger_context, applied_at)
    SELECT u.id, md5('progression' || (1 + w % 2))::uuid, l.id, 100 + 5 * w, 105 + 5 * w, 5,
        'AFTER_WEEK', jsonb_build_object('weekNumber', 1 + w % 4, 'cycleIteration', 1 + w / 4),
        timestamptz '2024-01-01 18:00+00' + w * interval '1 week'
    FROM users u, lifts l, generate_series(0, {WEEKS - 1}) AS w;

    ANALYZE;
"""


def generated_id(kind: str, n: int) -> UUID:
    """The id GENERATE gives the n-th row of a kind: md5(kind || n)::uuid."""
    return UUID(hashlib.md5(f"{kind}{n}".encode()).hexdigest())


PARAMS = {
    "user": generated_id("user", 7),
    "lift": generated_id("lift", 2),
    "progression": generated_id("progression", 1),
    "at": "2024-01-01 18:00+00",
    "from": "2024-02-01",
    "to": "2024-03-01",
}

BY_USER_LIFT = "progression_logs_user_id_lift_id_applied_at_idx"
BY_USER = "progression_logs_user_id_applied_at_idx"
# query -> the indexes that may serve it (the planner's choice among them)
QUERIES = [
    pytest.param(
        """SELECT EXISTS (
               SELECT FROM progression_logs
               WHERE user_id = %(user)s AND progression_id = %(progression)s
                 AND lift_id = %(lift)s AND trigger_type = 'AFTER_WEEK' AND applied_at = %(at)s
           )""",
        {"progression_logs_idempotency_key", BY_USER_LIFT},
        id="idempotency probe",
    ),
    pytest.param(
        """SELECT value FROM lift_maxes
           WHERE user_id = %(user)s AND lift_id = %(lift)s AND type = 'TRAINING_MAX'
           ORDER BY effective_date DESC
           LIMIT 1""",
        {"lift_maxes_user_id_lift_id_type_effective_date_key"},
        id="current max",
    ),
    *(
        pytest.param(
            query.format(filters=filters),
            {BY_USER_LIFT if "lift_id" in filters else BY_USER},
            id=f"{kind}, {name}",
        )
        for kind, query in (("history", HISTORY), ("count", COUNT))
        for name, filters in FILTERS.items()
    ),
]


@pytest.fixture(scope="module")
def populated(module_conn):
    module_conn.execute(GENERATE)
    return module_conn


def scans(plan: dict) -> list[tuple[str, str | None, str | None]]:
    """(node type, relation, index) of every node of a JSON plan that reads a table or index."""
    found = []
    if "Relation Name" in plan or "Index Name" in plan:
        found.append((plan["Node Type"], plan.get("Relation Name"), plan.get("Index Name")))
    for child in plan.get("Plans", []):
        found += scans(child)
    return found


@pytest.mark.parametrize(("query", "indexes"), QUERIES)
def test_the_query_reads_its_table_through_an_index(populated, query, indexes):
    [[explained]] = populated.execute("EXPLAIN (FORMAT JSON) " + query, PARAMS).fetchall()
    nodes = scans(explained[0]["Plan"])
    assert not [n for n in nodes if n[0] == "Seq Scan" and n[1] in INDEXED_TABLES], nodes
    used = {index for _type, _relation, index in nodes if index is not None}
    assert used and used <= indexes, nodes
