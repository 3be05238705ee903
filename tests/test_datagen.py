"""bench/datagen.py fills a migrated database with rows the chain accepts, in the promised shape.

At a tiny scale (20 users, 2,000 log rows) against a real server: the counts
are the plan's, no row points at a missing parent (the bulk load may skip the
foreign key triggers, so this is checked by hand), every user has a history and
a current max for each competition lift, and the load is skewed. The full-scale
proportions are checked on the plan alone, without loading a million rows.
"""

from __future__ import annotations

import statistics
from pathlib import Path

import psycopg
import pytest

from bench import datagen
from runner import api, database

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
SCALE = 0.002

# (child table, column, parent table): every foreign key of the chain.
FOREIGN_KEYS = [
    ("lifts", "parent_lift_id", "lifts"),
    ("lift_maxes", "user_id", "users"),
    ("lift_maxes", "lift_id", "lifts"),
    ("progression_logs", "user_id", "users"),
    ("progression_logs", "progression_id", "progressions"),
    ("progression_logs", "lift_id", "lifts"),
    ("program_progressions", "program_id", "programs"),
    ("program_progressions", "progression_id", "progressions"),
    ("program_progressions", "lift_id", "lifts"),
    ("weekly_lookups", "program_id", "programs"),
    ("daily_lookups", "program_id", "programs"),
]


@pytest.fixture(scope="module")
def populated(module_migrated_url: str):
    with psycopg.connect(module_migrated_url, autocommit=True) as conn:
        dataset = datagen.populate(conn, SCALE, seed=7)
        yield conn, dataset


def test_counts_follow_the_scale(populated):
    _, dataset = populated
    assert dataset.counts["users"] == 20
    assert dataset.counts["progression_logs"] == 2_000
    assert dataset.counts["lift_maxes"] == 400
    assert dataset.counts["lifts"] == datagen.LIFTS
    lookups = datagen.PROGRAMS + datagen.SHARED_LOOKUPS
    assert dataset.counts["weekly_lookups"] == dataset.counts["daily_lookups"] == lookups
    assert sum(user.log_rows for user in dataset.plan) == dataset.counts["progression_logs"]


def test_three_competition_lifts_among_a_few_dozen(populated):
    conn, _ = populated
    competition = conn.execute(
        "SELECT slug FROM lifts WHERE is_competition_lift ORDER BY slug"
    ).fetchall()
    assert [row[0] for row in competition] == ["bench-press", "deadlift", "squat"]
    assert conn.execute("SELECT count(*) FROM lifts").fetchone()[0] >= 30


@pytest.mark.parametrize(("child", "column", "parent"), FOREIGN_KEYS)
def test_no_row_points_at_a_missing_parent(populated, child, column, parent):
    conn, _ = populated
    orphans = conn.execute(
        f"SELECT count(*) FROM {child} c WHERE c.{column} IS NOT NULL"
        f" AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.id = c.{column})"
    ).fetchone()[0]
    assert orphans == 0


def test_every_user_has_a_history_and_a_current_max_per_competition_lift(populated):
    conn, _ = populated
    without_history = conn.execute(
        "SELECT count(*) FROM users u"
        " WHERE NOT EXISTS (SELECT 1 FROM progression_logs g WHERE g.user_id = u.id)"
    ).fetchone()[0]
    assert without_history == 0
    current_maxes = conn.execute(
        "SELECT count(DISTINCT (m.user_id, m.lift_id)) FROM lift_maxes m"
        " JOIN lifts l ON l.id = m.lift_id"
        " WHERE l.is_competition_lift AND m.type = 'TRAINING_MAX'"
    ).fetchone()[0]
    assert current_maxes == 20 * 3


def test_log_rows_are_skewed_towards_a_few_users(populated):
    conn, _ = populated
    per_user = [
        row[0]
        for row in conn.execute(
            "SELECT count(*) FROM progression_logs GROUP BY user_id ORDER BY 1 DESC"
        )
    ]
    assert len(per_user) == 20
    assert per_user[0] >= 5 * statistics.median(per_user)


def test_one_event_applies_to_several_lifts_at_one_instant(populated):
    conn, _ = populated
    widest = conn.execute(
        "SELECT max(lifts) FROM (SELECT count(*) AS lifts FROM progression_logs"
        " GROUP BY user_id, progression_id, trigger_type, applied_at) AS events"
    ).fetchone()[0]
    assert widest == datagen.LIFTS_PER_EVENT


def test_every_program_has_program_wide_and_per_lift_progressions(populated):
    conn, _ = populated
    shapes = conn.execute(
        "SELECT program_id, count(*) FILTER (WHERE lift_id IS NULL AND enabled),"
        " count(*) FILTER (WHERE lift_id IS NOT NULL), count(*) FILTER (WHERE NOT enabled)"
        " FROM program_progressions GROUP BY program_id"
    ).fetchall()
    assert len(shapes) == datagen.PROGRAMS
    assert {shape[1:] for shape in shapes} == {(1, 4, 1)}


def test_the_same_seed_gives_the_same_rows(populated, server_url):
    conn, _ = populated
    with database.scratch_database(server_url, "test") as url:
        api.migrate(url, SQL_DIR)
        with psycopg.connect(url, autocommit=True) as again:
            datagen.populate(again, SCALE, seed=7)
            assert _fingerprint(again) == _fingerprint(conn)


def _fingerprint(conn) -> tuple[str, str]:
    """A digest of every generated value (ids and created_at left out: they are not seeded)."""
    maxes = conn.execute(
        "SELECT md5(string_agg(concat_ws(' ', user_id, lift_id, type, value, effective_date),"
        " ',' ORDER BY user_id, lift_id, type, effective_date)) FROM lift_maxes"
    ).fetchone()[0]
    logs = conn.execute(
        "SELECT md5(string_agg(concat_ws(' ', user_id, progression_id, lift_id, previous_value,"
        " new_value, trigger_type, trigger_context, applied_at), ','"
        " ORDER BY user_id, lift_id, applied_at)) FROM progression_logs"
    ).fetchone()[0]
    return maxes, logs


def test_at_full_scale_a_few_users_have_thousands_of_log_rows():
    users = datagen.plan(1.0, seed=0)
    assert len(users) == 10_000
    assert sum(user.log_rows for user in users) == 1_000_000
    assert sum(user.max_rows for user in users) == 200_000
    heavy = [user for user in users if user.log_rows >= 1_000]
    assert 10 <= len(heavy) <= 200
    assert statistics.median(user.log_rows for user in users) < 100
