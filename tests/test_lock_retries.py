"""Lock retries (runner.retry): a version that gives up waiting for a table lock is
tried again on a schedule, names who blocked it, and gives up naming them; the
migration lock's wait (--lock-wait) is a setting apart from the table locks'.

Blockers here are real sessions on the server; a reader ends from inside liftdb's
own wait callback, so no test depends on timing.
"""

from __future__ import annotations

import json
import random
import re

import psycopg
import pytest
from processes import assert_one_line_error, liftdb, migration_lock_holder, recorded_versions

from runner import api, lock, retry
from runner.directives import Timeouts

BLOCKED = (
    (
        "create_widgets",
        "CREATE TABLE widgets (id int PRIMARY KEY, name text NOT NULL);\n"
        "CREATE TABLE widget_log (note text);\n",
        "DROP TABLE widget_log;\nDROP TABLE widgets;\n",
    ),
    (
        "add_widget_size",
        "INSERT INTO widget_log (note) VALUES ('size added');\n"
        "ALTER TABLE widgets ADD COLUMN size int;\n",
        "ALTER TABLE widgets DROP COLUMN size;\n",
    ),
)


def reader(url: str, table: str = "widgets", isolation=None) -> psycopg.Connection:
    """An application's session with a transaction open on ``table`` (ACCESS SHARE)."""
    conn = psycopg.connect(url, application_name="shop")
    conn.isolation_level = isolation
    conn.execute(f"SELECT count(*) FROM {table}")
    return conn


def blocked_run(url: str, make_chain, *options: str):
    """``migrate`` of BLOCKED's version 2 while a reader holds widgets: (the chain's
    folder, the reader's pid, the finished run)."""
    sql_dir = make_chain(*BLOCKED)
    assert liftdb(url, sql_dir, "migrate", "--to", "1").returncode == 0
    app = reader(url)
    try:
        return sql_dir, app.info.backend_pid, liftdb(url, sql_dir, *options, "migrate")
    finally:
        app.close()


def columns(url: str, table: str) -> list[str]:
    with psycopg.connect(url, autocommit=True) as conn:
        return [
            name
            for (name,) in conn.execute(
                "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0"
                " AND NOT attisdropped ORDER BY attnum",
                (table,),
            )
        ]


def test_the_schedule_keeps_each_wait_short_and_bounded():
    schedule = retry.Schedule(retries=20, cap_ms=5000)
    waits = [schedule.lock_ms(n) for n in range(21)]
    assert waits[0] == retry.FIRST_LOCK_MS
    assert waits == sorted(waits) and max(waits) == retry.MAX_LOCK_MS
    jitter = random.Random(7)
    sleeps = [schedule.sleep_s(n, jitter) for n in range(20)]
    assert all(0 < s <= retry.MAX_SLEEP_S for s in sleeps)
    assert len(set(sleeps)) == len(sleeps)  # jittered: two replicas do not retry in step
    assert schedule.another(19, 1.0) and not schedule.another(20, 1.0)
    assert not schedule.another(0, retry.BUDGET_S)
    # A lower lock_timeout caps every attempt; 0 retries, or a lock_timeout of 0 (wait
    # for ever), is one attempt with the run's own lock_timeout, as before retries.
    assert retry.Schedule(20, 50).lock_ms(10) == 50
    assert retry.Schedule(0, 5000).lock_ms(0) == 5000 and not retry.Schedule(0, 5000).on
    assert retry.Schedule(20, 0).lock_ms(3) == 0 and not retry.Schedule(20, 0).another(0, 0)


def test_a_blocked_version_is_retried_whole_and_applied_once_the_reader_ends(
    database_url, make_chain
):
    sql_dir = make_chain(*BLOCKED)
    assert liftdb(database_url, sql_dir, "migrate", "--to", "1").returncode == 0
    app = reader(database_url)
    pid = app.info.backend_pid
    waits = []

    def on_lock_wait(wait) -> None:
        waits.append(wait)
        if len(waits) == 2:
            app.commit()  # the application's transaction ends during the second sleep

    try:
        done = api.migrate(database_url, sql_dir, options=api.Options(on_lock_wait=on_lock_wait))
    finally:
        app.close()
    assert [d.number for d in done] == [2]
    assert [(w.version, w.line, w.tables, w.retry, w.retries) for w in waits] == [
        ("00002_add_widget_size", 2, ("widgets",), 1, retry.DEFAULT_RETRIES),
        ("00002_add_widget_size", 2, ("widgets",), 2, retry.DEFAULT_RETRIES),
    ]
    [blocker] = waits[0].blockers
    assert (blocker.pid, blocker.application) == (pid, "shop")
    assert blocker.query == "SELECT count(*) FROM widgets"
    assert retry.FIRST_LOCK_MS < waits[0].lock_ms < waits[1].lock_ms <= retry.MAX_LOCK_MS
    # Retried whole: the statement before the blocked one ran in each attempt, and is
    # there once, as if the version had run once.
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT note FROM widget_log").fetchall() == [("size added",)]
    assert columns(database_url, "widgets") == ["id", "name", "size"]
    assert recorded_versions(database_url) == [1, 2]


def test_retries_run_out_naming_the_blocker_and_changing_nothing(database_url, make_chain):
    sql_dir, pid, result = blocked_run(database_url, make_chain, "--lock-retries", "2")
    assert result.returncode == 1, result.stderr
    *waits, error = result.stderr.splitlines()
    line = "00002_add_widget_size: lock on widgets held by pid {pid} (shop, open {n} s: SELECT"
    pattern = re.escape(line).replace(r"\{pid\}", str(pid)).replace(r"\{n\}", r"\d+")
    assert len(waits) == 2, result.stderr
    for number, wait in enumerate(waits, start=1):
        assert re.fullmatch(
            pattern + rf" count\(\*\) FROM widgets\); retry {number} of 2 in \d\.\d s", wait
        ), wait
    assert error.startswith(f"liftdb: error: {sql_dir}/00002_add_widget_size.sql:2: ALTER TABLE")
    assert f"(waiting for a lock on table widgets, held by pid {pid} (shop, open" in error
    assert re.search(r"lock_timeout \d+ ms, the last of 3 attempts over \d+\.\d s\)", error)
    assert error.endswith("00002_add_widget_size was not applied")
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM widget_log").fetchone() == (0,)
    assert columns(database_url, "widgets") == ["id", "name"]
    assert recorded_versions(database_url) == [1]


def test_with_json_each_wait_is_a_json_line(database_url, make_chain):
    sql_dir, pid, result = blocked_run(database_url, make_chain, "--json", "--lock-retries", "1")
    assert result.returncode == 1
    wait, error = result.stderr.splitlines()
    event = json.loads(wait)
    [blocker] = event.pop("blockers")
    assert (blocker["pid"], blocker["application"]) == (pid, "shop")
    assert 0 < event.pop("sleep_s") <= retry.MAX_SLEEP_S
    assert event == {
        "event": "lock_wait", "version": "00002_add_widget_size",
        "path": f"{sql_dir}/00002_add_widget_size.sql", "line": 2, "tables": ["widgets"],
        "retry": 1, "retries": 1, "lock_ms": retry.Schedule(1, 5000).lock_ms(1),
    }  # fmt: skip
    assert error.startswith("liftdb: error: ") and "the last of 2 attempts" in error


def test_the_files_directive_turns_retries_off(database_url, make_chain):
    name, up, down = BLOCKED[1]
    sql_dir = make_chain(BLOCKED[0], (name, "-- lock_retries: 0\n" + up, down))
    assert liftdb(database_url, sql_dir, "migrate", "--to", "1").returncode == 0
    app = reader(database_url)
    try:
        result = liftdb(database_url, sql_dir, "--lock-timeout", "300ms", "migrate")
    finally:
        app.close()
    line = assert_one_line_error(result, 1, "held by pid", "lock_timeout 300 ms)")
    assert "attempts" not in line
    assert recorded_versions(database_url) == [1]


@pytest.mark.parametrize("value", ["many", "-1", "2.5"])
def test_a_lock_retries_directive_that_is_no_count_is_refused_at_its_line(
    database_url, make_chain, value
):
    sql_dir = make_chain(("one", f"-- lock_retries: {value}\nCREATE TABLE t (id int);\n", ""))
    result = liftdb(database_url, sql_dir, "migrate")
    assert_one_line_error(
        result, 1, "00001_one.sql:1:18: directive lock_retries:", "not a whole number"
    )
    assert recorded_versions(database_url) == []


def test_a_concurrent_index_left_invalid_by_a_lock_timeout_is_dropped_and_built_again(
    database_url, make_chain
):
    sql_dir = make_chain(
        BLOCKED[0],
        (
            "index_widget_names",
            "-- transactional: false\nCREATE INDEX CONCURRENTLY widgets_name_idx"
            " ON widgets (name);\n",
            "DROP INDEX widgets_name_idx;\n",
        ),
    )
    assert liftdb(database_url, sql_dir, "migrate", "--to", "1").returncode == 0
    # A snapshot older than the build makes it wait (after its catalog entry is made, as
    # an INVALID index) until that transaction ends: under lock_timeout.
    app = reader(database_url, "widget_log", psycopg.IsolationLevel.REPEATABLE_READ)
    seen_invalid = []

    def on_lock_wait(wait) -> None:
        with psycopg.connect(database_url, autocommit=True) as conn:
            seen_invalid.append(
                conn.execute(
                    "SELECT count(*) FROM pg_index WHERE indexrelid ="
                    " to_regclass('widgets_name_idx')"
                ).fetchone()[0]
            )
        if len(seen_invalid) == 2:
            app.commit()

    try:
        api.migrate(database_url, sql_dir, options=api.Options(on_lock_wait=on_lock_wait))
    finally:
        app.close()
    assert seen_invalid == [0, 0]  # dropped before each sleep
    with psycopg.connect(database_url, autocommit=True) as conn:
        assert conn.execute(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 'widgets_name_idx'::regclass"
        ).fetchall() == [(True,)]
    assert recorded_versions(database_url) == [1, 2]


# What a failed attempt left in the session that its rollback does not undo: a session
# advisory lock (held across the sleep, while the migration should hold nothing, and taken
# again on top by the next attempt) and a prepared statement (the next attempt's PREPARE
# of the same name fails). Each attempt starts in the session liftdb set up.
LEFT_BY_AN_ATTEMPT = {
    "advisory lock": "SELECT pg_advisory_lock(777), pg_advisory_lock_shared(1, 2);\n",
    "prepared statement": "PREPARE widget_count AS SELECT count(*) FROM widgets;\n",
}


@pytest.mark.parametrize("left", LEFT_BY_AN_ATTEMPT)
def test_a_retry_starts_without_what_the_failed_attempt_left_in_the_session(
    database_url, make_chain, left
):
    name, up, down = BLOCKED[1]
    sql_dir = make_chain(BLOCKED[0], (name, LEFT_BY_AN_ATTEMPT[left] + up, down))
    assert liftdb(database_url, sql_dir, "migrate", "--to", "1").returncode == 0
    app = reader(database_url)
    held = []

    def on_lock_wait(wait) -> None:  # during the sleep before the next attempt
        with psycopg.connect(database_url, autocommit=True) as conn:
            held.append(
                conn.execute(
                    "SELECT l.classid::bigint, l.objid::bigint, l.objsubid, l.mode"
                    " FROM pg_locks l WHERE l.locktype = 'advisory' AND l.pid = %s"
                    " ORDER BY 1, 2, 3, 4",
                    (migration_lock_holder(database_url),),
                ).fetchall()
            )
        if len(held) == 2:
            app.commit()

    try:
        done = api.migrate(database_url, sql_dir, options=api.Options(on_lock_wait=on_lock_wait))
    finally:
        app.close()
    assert [d.number for d in done] == [2]
    ours = [(lock.CLASSID, lock.OBJID, 1, "ExclusiveLock")]  # the migration lock, only
    assert held == [ours, ours]
    assert recorded_versions(database_url) == [1, 2]


def test_the_migration_locks_wait_is_its_own_setting(database_url, make_chain):
    sql_dir = make_chain()
    with psycopg.connect(database_url, autocommit=True, application_name="other") as other:
        other.execute("SELECT pg_advisory_lock(%s)", (lock.LOCK_KEY,))
        # A table lock may wait a minute; the migration lock only 300 ms.
        result = liftdb(
            database_url, sql_dir, "--lock-timeout", "1min", "--lock-wait", "300ms", "migrate"
        )
    assert result.returncode == 5, result.stderr
    assert "gave up after 300 ms waiting for the migration lock, held by pid" in result.stderr
    assert recorded_versions(database_url) == []


def test_api_timeouts_default_to_retries_on():
    assert Timeouts().lock_retries == retry.DEFAULT_RETRIES > 0
    assert Timeouts().attempt(0).lock_ms == retry.FIRST_LOCK_MS
