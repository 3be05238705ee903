"""When a run is cut short, nothing half-done is left unexplained and the next run finishes.

Each fault is real: ``liftdb migrate`` runs as its own process and is killed
with SIGKILL while the server executes its version (seen in
``pg_stat_activity``, not guessed with a sleep), or the server it talks to is
restarted in immediate mode, or an application's open transaction holds the
lock a version needs, or a statement outlives ``statement_timeout``. Afterwards
the migration lock is free, ``status`` tells the truth, and the next run applies
what is left.

The slow version sleeps only when the session says so (``PGOPTIONS`` sets
``liftdb_test.pause``), so the file is the same for the run that is killed and
for the run that finishes the job, and the second run does not sleep.
"""

from __future__ import annotations

import signal
import subprocess
import uuid

import psycopg
import pytest
from conftest import ScratchServer, write_chain
from processes import (
    assert_one_line_error,
    liftdb,
    liftdb_backend,
    liftdb_sleeping,
    migration_lock_holder,
    recorded_versions,
    start_liftdb,
    status_document,
    user_relations,
    wait_for,
)

from runner.errors import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_TERMINATED

PAUSED = {"PGOPTIONS": "-c liftdb_test.pause=60"}
PAUSE = "SELECT pg_sleep(coalesce(current_setting('liftdb_test.pause', true), '0')::float)"

CREATE_THINGS = (
    "create_things",
    "CREATE TABLE things (id int PRIMARY KEY);\nCREATE TABLE widgets (id int PRIMARY KEY);\n",
    "DROP TABLE widgets;\nDROP TABLE things;\n",
)
SLOW_TRANSACTIONAL = (
    "create_slow_marker",
    f"CREATE TABLE slow_marker (id int);\n{PAUSE};\n",
    "DROP TABLE slow_marker;\n",
)
CONCURRENT_INDEXES = (
    "index_things",
    "-- transactional: false\n"
    "CREATE INDEX CONCURRENTLY widgets_id_idx ON widgets (id);\n"
    "CREATE INDEX CONCURRENTLY things_id_idx ON things (id);\n",
    "-- transactional: false\n"
    "DROP INDEX CONCURRENTLY things_id_idx;\n"
    "DROP INDEX CONCURRENTLY widgets_id_idx;\n",
)
ADD_COLOUR = (
    "add_colour",
    "-- lock_timeout: 300ms\nALTER TABLE things\n    ADD COLUMN colour text;\n",
    "ALTER TABLE things DROP COLUMN colour;\n",
)


def kill(process) -> None:
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL


def lock_is_free(url: str) -> bool:
    return migration_lock_holder(url) is None


def states(url: str, sql_dir) -> dict[int, str]:
    return {v["version"]: v["state"] for v in status_document(url, sql_dir)["versions"]}


def test_sigkill_during_a_transactional_version_leaves_nothing_of_it(tmp_path, database_url):
    sql_dir = write_chain(tmp_path / "sql", [CREATE_THINGS, SLOW_TRANSACTIONAL, ADD_COLOUR])
    with start_liftdb(database_url, sql_dir, "migrate", **PAUSED) as runner:
        wait_for(lambda: liftdb_sleeping(database_url), "version 2 to be running")
        kill(runner)

    # The server notices the vanished client within a second (client_connection_check_interval)
    # and rolls the version back, lock and all.
    wait_for(lambda: lock_is_free(database_url), "the migration lock to be released")
    assert recorded_versions(database_url) == [1]
    assert "slow_marker" not in user_relations(database_url)
    assert states(database_url, sql_dir) == {1: "applied", 2: "pending", 3: "pending"}

    finished = liftdb(database_url, sql_dir, "migrate")
    assert finished.returncode == 0, finished.stderr
    assert recorded_versions(database_url) == [1, 2, 3]


def test_sigkill_during_create_index_concurrently_is_reported_and_finished(tmp_path, database_url):
    sql_dir = write_chain(tmp_path / "sql", [CREATE_THINGS, CONCURRENT_INDEXES])
    assert liftdb(database_url, sql_dir, "migrate", "--to", "1").returncode == 0
    # An application's open transaction that has written to `things`: the second CREATE
    # INDEX CONCURRENTLY must wait for it, so that is where the runner is killed.
    with psycopg.connect(database_url) as app:
        app.execute("INSERT INTO things (id) VALUES (1)")
        with start_liftdb(database_url, sql_dir, "migrate") as runner:
            wait_for(
                lambda: liftdb_backend(database_url, "things_id_idx", waiting_on_lock=True),
                "CREATE INDEX CONCURRENTLY things_id_idx to wait for the application",
            )
            kill(runner)

        wait_for(lambda: lock_is_free(database_url), "the migration lock to be released")
        status = status_document(database_url, sql_dir)
        [interrupted] = [v for v in status["versions"] if v["version"] == 2]
        assert interrupted["state"] == "interrupted"
        assert interrupted["note"] == (
            f"stopped at {sql_dir}/00002_index_things.sql:3 (1 of 2 statements done)"
        )
        assert status["invalid_indexes"] == ["things_id_idx"]
        text = liftdb(database_url, sql_dir, "status")
        assert "invalid index things_id_idx" in text.stdout
        app.execute("INSERT INTO things (id) VALUES (2)")
        app.commit()  # the application's transaction was never touched

    finished = liftdb(database_url, sql_dir, "migrate")
    assert finished.returncode == 0, finished.stderr
    assert recorded_versions(database_url) == [1, 2]
    status = status_document(database_url, sql_dir)
    assert status["invalid_indexes"] == []
    assert [v["state"] for v in status["versions"]] == ["applied", "applied"]
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM things").fetchone()[0] == 2


# A non-transactional version whose INSERT waits for the test (an advisory lock it holds)
# before it writes; the test then holds the progress row, so that the runner is killed
# after the INSERT, while it notes the statement done.
GATED_INSERT = (
    "fill_log",
    "-- transactional: false\n"
    "CREATE TABLE log (id int);\n"
    "INSERT INTO log SELECT 1 FROM (SELECT pg_advisory_lock_shared(4242)) AS gate;\n"
    "INSERT INTO log VALUES (2);\n",
    "DROP TABLE log;\n",
)


def killed_while_noting_progress(url: str, sql_dir, what: str) -> None:
    """``migrate`` killed (SIGKILL) while it notes ``what`` done: its gated statement (waiting
    for advisory lock 4242, which the test holds) is let through once the test holds the
    progress row (statement 1 noted), so the runner waits to note it; back once the server
    has ended the runner's session."""
    with (
        psycopg.connect(url, autocommit=True) as gate,
        psycopg.connect(url, autocommit=True) as holder,
    ):
        gate.execute("SELECT pg_advisory_lock(4242)")
        with start_liftdb(url, sql_dir, "--lock-timeout", "0", "migrate") as runner:
            wait_for(
                lambda: liftdb_backend(url, "4242", waiting_on_lock=True),
                f"{what} to wait at the gate",
            )
            holder.execute("BEGIN")
            holder.execute("SELECT FROM liftdb_progress FOR UPDATE")
            gate.execute("SELECT pg_advisory_unlock(4242)")
            wait_for(
                lambda: liftdb_backend(url, "liftdb_progress", waiting_on_lock=True),
                f"the runner to note {what} done",
            )
            kill(runner)
        # The server notices the vanished client within a second; only then is the row free.
        wait_for(lambda: lock_is_free(url), "the migration lock to be released")
        holder.execute("ROLLBACK")


def test_sigkill_between_a_statement_and_its_progress_leaves_the_statement_undone(
    tmp_path, database_url
):
    sql_dir = write_chain(tmp_path / "sql", [GATED_INSERT])
    killed_while_noting_progress(database_url, sql_dir, "the INSERT")
    finished = liftdb(database_url, sql_dir, "migrate")
    assert finished.returncode == 0, finished.stderr
    with psycopg.connect(database_url, autocommit=True) as conn:
        assert conn.execute("SELECT id FROM log ORDER BY id").fetchall() == [(1,), (2,)]
    assert recorded_versions(database_url) == [1]


# The same, for a transaction block of the file's own: its INSERT waits at the gate, and
# the runner is killed while it notes the block done, which must commit with the block.
GATED_BLOCK = (
    "fill_ledger",
    "-- transactional: false\n"
    "CREATE TABLE ledger (entry int NOT NULL);\n"  # 2
    "BEGIN;\n"  # 3
    "INSERT INTO ledger SELECT 1 FROM (SELECT pg_advisory_lock_shared(4242)) AS gate;\n"  # 4
    "INSERT INTO ledger VALUES (2);\n"  # 5
    "COMMIT;\n"  # 6
    "INSERT INTO ledger VALUES (3);\n",  # 7
    "DROP TABLE ledger;\n",
)


def test_sigkill_between_a_block_s_commit_and_its_progress_cannot_run_the_block_twice(
    tmp_path, database_url
):
    sql_dir = write_chain(tmp_path / "sql", [GATED_BLOCK])
    path = f"{sql_dir}/00001_fill_ledger.sql"
    killed_while_noting_progress(database_url, sql_dir, "the block")

    # What status says is what the database holds: the block undone, with its note.
    [version] = status_document(database_url, sql_dir)["versions"]
    assert (version["state"], version["note"]) == (
        "interrupted",
        f"stopped at {path}:3 (1 of 6 statements done)",
    )
    with psycopg.connect(database_url, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM ledger").fetchone()[0] == 0
    finished = liftdb(database_url, sql_dir, "migrate")
    assert finished.returncode == 0, finished.stderr
    with psycopg.connect(database_url, autocommit=True) as conn:
        entries = conn.execute("SELECT entry FROM ledger ORDER BY entry").fetchall()
    assert entries == [(1,), (2,), (3,)]  # the block's effects once, not twice
    assert recorded_versions(database_url) == [1]


# Ctrl-C (SIGINT) and SIGTERM: the shell's codes, and one line saying where the version
# that was running stands, which status, asked afterwards, must agree with.
SLOW_STATEMENTS = (
    "fill_slowly",
    f"-- transactional: false\nCREATE TABLE slow_rows (id int);\n{PAUSE};\n",
    "DROP TABLE slow_rows;\n",
)


SIGNALS = [(signal.SIGINT, EXIT_INTERRUPTED), (signal.SIGTERM, EXIT_TERMINATED)]


def signalled(url: str, sql_dir, command: str, signum) -> subprocess.CompletedProcess:
    """``liftdb COMMAND`` sent ``signum`` while its version sleeps (``PAUSED``), run out."""
    with start_liftdb(url, sql_dir, command, **PAUSED) as runner:
        wait_for(lambda: liftdb_sleeping(url), f"{command} to be running")
        runner.send_signal(signum)
        out, err = runner.communicate(timeout=60)
    return subprocess.CompletedProcess(runner.args, runner.returncode, out, err)


@pytest.mark.parametrize(("signum", "code"), SIGNALS, ids=["SIGINT", "SIGTERM"])
def test_a_signal_during_a_transactional_version_says_it_was_rolled_back(
    tmp_path, database_url, signum, code
):
    sql_dir = write_chain(tmp_path / "sql", [CREATE_THINGS, SLOW_TRANSACTIONAL, ADD_COLOUR])
    result = signalled(database_url, sql_dir, "migrate", signum)
    assert_one_line_error(
        result,
        code,
        f"interrupted ({signal.Signals(signum).name}) while applying 00002_create_slow_marker:",
        "it was rolled back and is pending again; 1 version applied before it stays applied",
    )
    assert lock_is_free(database_url)
    assert recorded_versions(database_url) == [1]
    assert "slow_marker" not in user_relations(database_url)
    assert states(database_url, sql_dir) == {1: "applied", 2: "pending", 3: "pending"}


@pytest.mark.parametrize(("signum", "code"), SIGNALS, ids=["SIGINT", "SIGTERM"])
def test_a_signal_during_a_non_transactional_version_says_where_it_stopped(
    tmp_path, database_url, signum, code
):
    sql_dir = write_chain(tmp_path / "sql", [SLOW_STATEMENTS])
    path = f"{sql_dir}/00001_fill_slowly.sql"
    result = signalled(database_url, sql_dir, "migrate", signum)
    assert_one_line_error(
        result,
        code,
        f"interrupted ({signal.Signals(signum).name}) while applying 00001_fill_slowly:",
        "it stopped after 1 of 2 statements; run `liftdb migrate` to finish it",
    )
    assert lock_is_free(database_url)
    [version] = status_document(database_url, sql_dir)["versions"]
    assert (version["state"], version["note"]) == (
        "interrupted",
        f"stopped at {path}:3 (1 of 2 statements done)",
    )
    finished = liftdb(database_url, sql_dir, "migrate")
    assert finished.returncode == 0, finished.stderr
    assert recorded_versions(database_url) == [1]


def test_sigint_during_a_rollback_says_the_version_is_still_applied(tmp_path, database_url):
    slow_down = (
        "create_slow_marker",
        "CREATE TABLE slow_marker (id int);\n",
        f"DROP TABLE slow_marker;\n{PAUSE};\n",
    )
    sql_dir = write_chain(tmp_path / "sql", [CREATE_THINGS, slow_down])
    assert liftdb(database_url, sql_dir, "migrate").returncode == 0
    result = signalled(database_url, sql_dir, "rollback", signal.SIGINT)
    assert_one_line_error(
        result,
        EXIT_INTERRUPTED,
        "interrupted (SIGINT) while rolling back 00002_create_slow_marker:",
        "its rollback was undone and it is still applied",
    )
    assert recorded_versions(database_url) == [1, 2]
    assert "slow_marker" in user_relations(database_url)
    assert states(database_url, sql_dir) == {1: "applied", 2: "applied"}


def test_sigterm_while_waiting_for_the_migration_lock_says_no_version_ran(tmp_path, database_url):
    sql_dir = write_chain(tmp_path / "sql", [CREATE_THINGS])
    with psycopg.connect(database_url, autocommit=True) as other:
        from runner import lock

        lock.try_acquire(other)
        with start_liftdb(database_url, sql_dir, "--lock-wait", "0", "migrate") as runner:
            wait_for(lambda: "waiting" in runner.stderr.readline(), "the wait to be reported")
            runner.send_signal(signal.SIGTERM)
            out, err = runner.communicate(timeout=60)
    assert runner.returncode == EXIT_TERMINATED, err
    assert err.splitlines() == ["liftdb: error: interrupted (SIGTERM) before any version ran"]
    assert recorded_versions(database_url) == []


@pytest.fixture
def scratch_database_url(scratch_server: ScratchServer):
    """A fresh database on the test session's own server (which a test may restart)."""
    name = f"liftdb_faults_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(scratch_server.url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield scratch_server.url(database=name)
    with psycopg.connect(scratch_server.url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_server_restarted_mid_run_is_one_line_and_a_rerun_succeeds(
    tmp_path, scratch_server, scratch_database_url
):
    url = scratch_database_url
    sql_dir = write_chain(tmp_path / "sql", [CREATE_THINGS, SLOW_TRANSACTIONAL, ADD_COLOUR])
    with start_liftdb(url, sql_dir, "migrate", **PAUSED) as runner:
        wait_for(lambda: liftdb_sleeping(url), "version 2 to be running")
        scratch_server.restart_immediately()
        stdout, stderr = runner.communicate(timeout=60)

    result = subprocess.CompletedProcess(runner.args, runner.returncode, stdout, stderr)
    assert_one_line_error(result, EXIT_ERROR, "00002_create_slow_marker")
    assert ScratchServer.PASSWORD not in stdout + stderr
    # Crash recovery keeps whole versions only: version 1 with its bookkeeping, or neither.
    assert "slow_marker" not in user_relations(url)
    assert recorded_versions(url) in ([], [1])
    assert ("things" in user_relations(url)) == (recorded_versions(url) == [1])

    rerun = liftdb(url, sql_dir, "migrate")
    assert rerun.returncode == 0, rerun.stderr
    assert recorded_versions(url) == [1, 2, 3]


def test_a_version_blocked_by_an_application_gives_up_and_leaves_the_application_alone(
    tmp_path, database_url
):
    sql_dir = write_chain(tmp_path / "sql", [CREATE_THINGS, ADD_COLOUR])
    assert liftdb(database_url, sql_dir, "migrate", "--to", "1").returncode == 0
    with psycopg.connect(database_url) as app:
        app.execute("INSERT INTO things (id) VALUES (1)")

        # The run's own lock_timeout is ten minutes: only the file's 300ms directive can
        # make it give up before the command's timeout fails the test.
        blocked = liftdb(
            database_url, sql_dir, "--lock-timeout", "10min", "--lock-retries", "0", "migrate"
        )

        assert_one_line_error(
            blocked,
            EXIT_ERROR,
            f"{sql_dir}/00002_add_colour.sql:2: ALTER TABLE things",
            "lock timeout [55P03] (waiting for a lock on table things",
            "00002_add_colour was not applied",
        )
        app.execute("INSERT INTO things (id) VALUES (2)")  # still in its transaction, alive
        app.commit()
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT array_agg(id ORDER BY id) FROM things").fetchone()[0] == [1, 2]
    assert recorded_versions(database_url) == [1]

    rerun = liftdb(database_url, sql_dir, "migrate")
    assert rerun.returncode == 0, rerun.stderr
    assert recorded_versions(database_url) == [1, 2]


def test_statement_timeout_rolls_the_version_back_and_records_nothing(tmp_path, database_url):
    timed = ("create_slow_marker", "-- statement_timeout: 200ms\n" + SLOW_TRANSACTIONAL[1],
             SLOW_TRANSACTIONAL[2])  # fmt: skip
    sql_dir = write_chain(tmp_path / "sql", [CREATE_THINGS, timed])

    result = liftdb(database_url, sql_dir, "migrate", **PAUSED)

    assert_one_line_error(
        result,
        EXIT_ERROR,
        f"{sql_dir}/00002_create_slow_marker.sql:3: SELECT pg_sleep(",
        "statement timeout [57014] (statement_timeout 200 ms)",
        "00002_create_slow_marker was not applied",
    )
    assert recorded_versions(database_url) == [1]
    assert "slow_marker" not in user_relations(database_url)
    assert states(database_url, sql_dir) == {1: "applied", 2: "pending"}
    assert lock_is_free(database_url)
