"""liftdb as separate processes against a real server: runners racing for the lock, a
runner killed mid-version, and what a person sees from the real command.

The slow version sleeps for as long as the setting ``liftdb_test.sleep`` says (0 when
unset), passed through ``PGOPTIONS``; so a later run of the same, unchanged file (no
drift) is fast.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from datetime import datetime

import psycopg
from conftest import REPO, WIDGETS
from processes import COMMAND_TIMEOUT, run, started

from runner import api, catalog, lock

SLOW = (
    "slow",
    "CREATE TABLE slow_marker (id int);\n"
    "SELECT pg_sleep(current_setting('liftdb_test.sleep', true)::float);\n",
    "DROP TABLE slow_marker;\n",
)
WAIT_S = 30  # upper bound for things that happen in well under a second


def command(url: str, sql_dir, *args: str) -> list[str]:
    return [sys.executable, "-m", "runner", "--database-url", url, "--sql-dir", str(sql_dir), *args]


def environment(sleep_s: float = 0) -> dict[str, str]:
    return {**os.environ, "PGOPTIONS": f"-c liftdb_test.sleep={sleep_s}", "NO_COLOR": "1"}


def liftdb(url: str, sql_dir, *args: str) -> subprocess.CompletedProcess:
    return run(command(url, sql_dir, *args), env=environment())


def wait_for(condition, what: str):
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"gave up after {WAIT_S} s waiting for {what}")


def sleeping_backend(url: str):
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND application_name = 'liftdb' AND query LIKE '%pg_sleep%' AND state = 'active'"
        ).fetchone()
    return row[0] if row else None


def lock_is_free(url: str) -> bool:
    with psycopg.connect(url, autocommit=True) as conn:
        if lock.try_acquire(conn):
            lock.release(conn)
            return True
    return False


def test_two_runners_started_together_one_applies_the_other_waits_then_has_nothing_to_do(
    database_url, make_chain
):
    sql_dir = make_chain(SLOW, *WIDGETS[:2])
    with ExitStack() as running:
        runners = [
            running.enter_context(
                started(
                    command(database_url, sql_dir, "--lock-wait", "60s", "migrate"),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    env=environment(sleep_s=2),
                    cwd=REPO,
                )
            )
            for _ in range(2)
        ]
        outputs = [runner.communicate(timeout=COMMAND_TIMEOUT) for runner in runners]
    assert [runner.returncode for runner in runners] == [0, 0], outputs
    applier, waiter = sorted(stdout.splitlines()[-1] for stdout, _ in outputs)
    assert applier.startswith("applied 3 version(s) on ")
    assert waiter.startswith("nothing to do: ") and waiter.endswith(" is up to date")
    [waiter_stderr] = [stderr for stdout, stderr in outputs if "nothing to do" in stdout]
    assert waiter_stderr.startswith("waiting for the migration lock, held by pid ")
    assert "(liftdb, " in waiter_stderr
    assert api.applied_versions(database_url) == [1, 2, 3]


def test_a_runner_killed_mid_version_records_nothing_frees_the_lock_and_a_rerun_succeeds(
    database_url, make_chain
):
    sql_dir = make_chain(SLOW)
    with started(
        command(database_url, sql_dir, "migrate"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=environment(sleep_s=60),
        cwd=REPO,
    ) as runner:
        wait_for(lambda: sleeping_backend(database_url), "the slow version to start")
        runner.send_signal(signal.SIGKILL)
        runner.wait(timeout=COMMAND_TIMEOUT)
    # The server notices the vanished client within client_connection_check_interval
    # (1 s), not when the 60 s sleep ends.
    wait_for(lambda: lock_is_free(database_url), "the lock to be released")
    wait_for(lambda: sleeping_backend(database_url) is None, "the slow statement to stop")
    assert api.applied_versions(database_url) == []
    with psycopg.connect(database_url, autocommit=True) as conn:
        assert conn.execute("SELECT to_regclass('slow_marker')").fetchone()[0] is None

    rerun = liftdb(database_url, sql_dir, "migrate")
    assert rerun.returncode == 0, rerun.stderr
    assert api.applied_versions(database_url) == [1]


def test_a_runner_waiting_for_the_lock_names_the_holder_and_gives_up_with_exit_5(
    database_url, make_chain
):
    sql_dir = make_chain()
    with psycopg.connect(database_url, autocommit=True, application_name="nightly-job") as holder:
        assert lock.try_acquire(holder)
        pid = holder.info.backend_pid
        done = liftdb(database_url, sql_dir, "--lock-wait", "300ms", "migrate")
    assert done.returncode == 5
    waiting, error = done.stderr.splitlines()
    assert waiting.startswith(f"waiting for the migration lock, held by pid {pid} (nightly-job, ")
    assert error.startswith(
        "liftdb: error: gave up after 300 ms waiting for the migration lock, held by pid"
        f" {pid} (nightly-job, "
    )
    assert ", connected since 20" in error
    assert api.applied_versions(database_url) == []


def test_with_json_the_wait_for_the_migration_lock_is_a_json_line(database_url, make_chain):
    sql_dir = make_chain()
    with psycopg.connect(database_url, autocommit=True, application_name="nightly-job") as holder:
        assert lock.try_acquire(holder)
        pid = holder.info.backend_pid
        (client,) = holder.execute(
            "SELECT host(client_addr) FROM pg_stat_activity WHERE pid = pg_backend_pid()"
        ).fetchone()
        done = liftdb(database_url, sql_dir, "--json", "--lock-wait", "300ms", "migrate")
    assert done.returncode == 5
    assert done.stdout == ""
    waiting, error = done.stderr.splitlines()
    event = json.loads(waiting)
    since = event["holder"].pop("since")
    assert datetime.fromisoformat(since).tzinfo is not None
    assert event == {
        "event": "migration_lock_wait",
        "holder": {"pid": pid, "application_name": "nightly-job", "client_addr": client},
        "wait_ms": 300,
    }
    assert error.startswith("liftdb: error: gave up after 300 ms waiting for the migration lock")


def test_drift_after_editing_an_applied_file_exits_4_naming_it(database_url, make_chain):
    sql_dir = make_chain()
    assert liftdb(database_url, sql_dir, "migrate").returncode == 0
    edited = sql_dir / "00002_add_widget_size.sql"
    edited.write_text("ALTER TABLE widgets ADD COLUMN size bigint;\n")
    done = liftdb(database_url, sql_dir, "status", "--exit-code")
    assert done.returncode == 4
    done = liftdb(database_url, sql_dir, "migrate")
    assert done.returncode == 4
    assert done.stderr == (
        f"liftdb: error: drift: 00002_add_widget_size: {edited} changed since it was applied;"
        " use --allow-drift to proceed, or `liftdb repair` if the edit was on purpose\n"
    )
    assert liftdb(database_url, sql_dir, "--allow-drift", "rollback").returncode == 0


def test_a_failing_statement_is_reported_with_its_file_and_line(database_url, make_chain):
    sql_dir = make_chain(
        WIDGETS[0],
        (
            "fill_widgets",
            "INSERT INTO widgets (id, name) VALUES (1, 'one');\n"
            "-- a name is required\n"
            "INSERT INTO widgets (id) VALUES (2);\n",
            "DELETE FROM widgets;\n",
        ),
    )
    done = liftdb(database_url, sql_dir, "migrate")
    assert done.returncode == 1
    assert done.stderr == (
        f"liftdb: error: {sql_dir}/00002_fill_widgets.sql:3: INSERT INTO widgets (id) VALUES (2):"
        ' null value in column "name" of relation "widgets" violates not-null constraint'
        " [23502]; 00002_fill_widgets was not applied\n"
    )
    assert api.applied_versions(database_url) == [1]


def test_dry_run_leaves_the_catalog_and_the_bookkeeping_as_they_were(database_url, make_chain):
    sql_dir = make_chain()
    assert liftdb(database_url, sql_dir, "migrate", "--to", "2").returncode == 0
    with psycopg.connect(database_url, autocommit=True) as conn:
        before = catalog.snapshot(conn)
        for args in (
            ["migrate", "--dry-run"],
            ["rollback", "--all", "--dry-run"],
            ["redo", "--dry-run"],
        ):
            done = liftdb(database_url, sql_dir, *args)
            assert done.returncode == 0, done.stderr
            assert "dry run: would have" in done.stdout
        assert catalog.differences(before, catalog.snapshot(conn)) == []
    assert api.applied_versions(database_url) == [1, 2]
