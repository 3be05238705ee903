"""A resume is exact, or refused; and the progress of an interrupted version stays true
whatever runs in between.

A non-transactional version that stopped part-way records each statement it completed
(its checksum and line). The next run resumes only if those statements are still the
file's first ones (the statement that failed, and those after it, may have been fixed);
otherwise it refuses before anything runs, naming the first changed statement. Every
other command either keeps the progress true or refuses.
"""

from __future__ import annotations

import hashlib

import psycopg
import pytest
from conftest import WIDGETS
from processes import (
    assert_one_line_error,
    liftdb,
    recorded_versions,
    spaced,
    status_document,
)

from runner import loader
from runner.errors import EXIT_DRIFT, EXIT_USAGE

NON_TRANSACTIONAL = "-- transactional: false\n"
LOG = (
    NON_TRANSACTIONAL
    + "CREATE TABLE log (id int);\n"  # 2: statement 1
    + "INSERT INTO log VALUES (1);\n"  # 3: statement 2
    + "{failing}\n"  # 4: statement 3
)
FAILS = "SELECT 1 / 0;"
FIXED = "INSERT INTO log VALUES (3);"
LOG_ROLLBACK = "DROP TABLE log;\n"


def rows(url: str, query: str) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(query).fetchall()


def progress(url: str) -> list[tuple]:
    return rows(url, "SELECT version, direction, statements_done FROM liftdb_progress")


@pytest.fixture
def stopped(database_url, make_chain):
    """The widgets' first version applied, then a non-transactional version stopped
    after 2 of its 3 statements (its third divides by zero)."""
    sql_dir = make_chain(WIDGETS[0], ("fill_log", LOG.format(failing=FAILS), LOG_ROLLBACK))
    done = liftdb(database_url, sql_dir, "migrate")
    assert done.returncode == 1
    assert "00002_fill_log stopped after 2 of 3 statements" in done.stderr
    return database_url, sql_dir, sql_dir / "00002_fill_log.sql"


def test_the_progress_records_each_completed_statement_s_checksum_and_line(stopped):
    url, _sql_dir, up = stopped
    statements = loader.read_file(up).statements
    assert rows(
        url, "SELECT ordinal, sha256, line FROM liftdb_progress_statement ORDER BY ordinal"
    ) == [
        (1, hashlib.sha256(statements[0].sql.encode()).hexdigest(), 2),
        (2, hashlib.sha256(statements[1].sql.encode()).hexdigest(), 3),
    ]


def test_a_resume_after_the_failed_statement_is_fixed_runs_only_what_was_not_done(stopped):
    url, sql_dir, up = stopped
    up.write_text("-- a comment moves every line\n" + LOG.format(failing=FIXED) + "SELECT 4;\n")
    done = liftdb(url, sql_dir, "migrate")
    assert done.returncode == 0, done.stderr
    assert rows(url, "SELECT id FROM log ORDER BY id") == [(1,), (3,)]  # 1 inserted once
    assert recorded_versions(url) == [1, 2]
    assert liftdb(url, sql_dir, "verify").returncode == 0  # the file as it finished
    assert progress(url) == []
    assert rows(url, "SELECT count(*) FROM liftdb_progress_statement") == [(0,)]


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        (  # the case: a statement added at the top
            lambda text: text.replace(
                NON_TRANSACTIONAL, NON_TRANSACTIONAL + "ALTER TABLE widgets ADD COLUMN c text;\n"
            ),
            ":2: statement 1, one of the 2 that ran, has changed since",
        ),
        (
            lambda text: text.replace("VALUES (1)", "VALUES (10)"),
            ":3: statement 2, one of the 2 that ran, has changed since",
        ),
        (
            lambda text: text.replace("INSERT INTO log VALUES (1);\n", ""),
            ":3: statement 2, one of the 2 that ran, has changed since",
        ),
        (
            lambda text: NON_TRANSACTIONAL + "CREATE TABLE log (id int);\n",
            ": holds 1 statement(s); the first 2 had run",
        ),
        (  # run in one transaction, it would run the 2 done statements again
            lambda text: text.removeprefix(NON_TRANSACTIONAL),
            ": is now transactional (its '-- transactional: false' is gone), and a"
            " transaction would run the 2 statement(s) already done again",
        ),
    ],
    ids=["added at the top", "changed", "removed", "cut short", "made transactional"],
)
def test_a_resume_whose_completed_statements_changed_is_refused_before_anything_runs(
    stopped, edit, named
):
    url, sql_dir, up = stopped
    up.write_text(edit(LOG.format(failing=FIXED)))
    before = rows(url, "SELECT * FROM liftdb_progress")
    done = liftdb(url, sql_dir, "migrate")
    line = assert_one_line_error(
        done,
        EXIT_DRIFT,
        "liftdb: error: refused: 00002_fill_log stopped after 2 of 3 statements, and a resume"
        " runs only those not done: ",
        f"{up}{named};",
        "finish it with `liftdb migrate`, then make the change in a new version;"
        " nothing was changed",
    )
    assert "--allow-drift" not in line
    assert liftdb(url, sql_dir, "--allow-drift", "migrate").returncode == EXIT_DRIFT
    assert rows(url, "SELECT * FROM liftdb_progress") == before
    assert rows(url, "SELECT id FROM log") == [(1,)]
    assert rows(
        url,
        "SELECT count(*) FROM pg_attribute WHERE attrelid = 'widgets'::regclass AND attname = 'c'",
    ) == [(0,)]
    assert recorded_versions(url) == [1]

    status = liftdb(url, sql_dir, "status", "--exit-code")
    assert status.returncode == EXIT_DRIFT
    assert f"00002 fill_log interrupted drift: {up}{named}" in spaced(status.stdout)
    verify = liftdb(url, sql_dir, "verify")
    assert verify.returncode == EXIT_DRIFT

    up.write_text(LOG.format(failing=FIXED))  # what ran, restored; the failed one fixed
    assert liftdb(url, sql_dir, "migrate").returncode == 0
    assert recorded_versions(url) == [1, 2]


def test_status_counts_an_interrupted_version_as_interrupted_not_pending(stopped):
    url, sql_dir, _up = stopped
    (sql_dir / "00003_add_size.sql").write_text("ALTER TABLE widgets ADD COLUMN size int;\n")
    (sql_dir / "00003_add_size.rollback.sql").write_text("ALTER TABLE widgets DROP COLUMN size;\n")
    text = liftdb(url, sql_dir, "status")
    assert text.returncode == 0, text.stderr
    assert text.stdout.splitlines()[-1].startswith("1 applied, 1 pending, 1 interrupted on ")
    document = status_document(url, sql_dir)
    assert (document["applied"], document["pending"], document["interrupted"]) == (1, 1, 1)
    assert liftdb(url, sql_dir, "status", "--exit-code").returncode == 3
    (sql_dir / "00003_add_size.sql").unlink()
    (sql_dir / "00003_add_size.rollback.sql").unlink()
    only = liftdb(url, sql_dir, "status", "--exit-code")  # interrupted alone is still behind
    assert only.returncode == 3
    assert only.stdout.splitlines()[-1].startswith("1 applied, 0 pending, 1 interrupted on ")


def test_status_names_an_interrupted_version_from_the_bookkeeping_after_a_renumbering(stopped):
    url, sql_dir, up = stopped
    # Someone renumbers: a new version 2 goes in before, the interrupted one becomes 3.
    moved = sql_dir / "00003_fill_log.sql"
    up.rename(moved)
    (sql_dir / "00002_fill_log.rollback.sql").rename(sql_dir / "00003_fill_log.rollback.sql")
    (sql_dir / "00002_add_size.sql").write_text("ALTER TABLE widgets ADD COLUMN size int;\n")
    (sql_dir / "00002_add_size.rollback.sql").write_text("ALTER TABLE widgets DROP COLUMN size;\n")

    document = status_document(url, sql_dir)
    assert [(v["version"], v["name"], v["state"]) for v in document["versions"]] == [
        (1, "create_widgets", "applied"),
        (2, "fill_log", "interrupted"),  # what ran under number 2, not the file there now
        (3, "fill_log", "pending"),
    ]
    second = document["versions"][1]
    assert second["note"] == f"stopped at {sql_dir}/00002_fill_log.sql:4 (2 of 3 statements done)"
    assert second["drift"] == (
        "00002_fill_log: interrupted under that name, but disk has 00002_add_size"
    )
    done = liftdb(url, sql_dir, "migrate")
    assert_one_line_error(done, EXIT_DRIFT, "00002_fill_log: interrupted under that name")
    columns = rows(url, "SELECT attname FROM pg_attribute WHERE attrelid = 'widgets'::regclass")
    assert ("size",) not in columns


def test_an_interrupted_version_whose_file_is_gone_is_still_shown(stopped):
    url, sql_dir, up = stopped
    up.unlink()
    (sql_dir / "00002_fill_log.rollback.sql").unlink()
    status = liftdb(url, sql_dir, "status", "--exit-code")
    assert status.returncode == EXIT_DRIFT
    assert (
        f"00002 fill_log interrupted drift: 00002_fill_log: interrupted, and missing from"
        f" {sql_dir} (stopped at {sql_dir}/00002_fill_log.sql:4 (2 of 3 statements done))"
    ) in spaced(status.stdout)


def test_progress_recorded_without_checksums_is_not_resumed(stopped):
    url, sql_dir, up = stopped
    with psycopg.connect(url, autocommit=True) as conn:  # as an older liftdb left it
        conn.execute("DROP TABLE liftdb_progress_statement")
        conn.execute("ALTER TABLE liftdb_progress DROP COLUMN next_line")
    up.write_text(LOG.format(failing=FIXED))
    status = status_document(url, sql_dir)["versions"][1]
    assert status["note"] == f"stopped at {up}:4 (2 of 3 statements done)"
    done = liftdb(url, sql_dir, "migrate")
    assert_one_line_error(
        done,
        EXIT_DRIFT,
        "recorded by a liftdb that kept no checksum of them, so a resume cannot be checked;"
        " run its statements after the first 2 by hand, then delete its row from"
        " liftdb_progress (version, direction); nothing was changed",
    )
    assert rows(url, "SELECT id FROM log") == [(1,)]


# --- every other command keeps the progress true, or refuses -----------------------------


@pytest.mark.parametrize(
    ("command", "refusal"),
    [
        (("rollback",), "finish it with `liftdb migrate` before rolling anything back"),
        (("redo", "--yes"), "finish it with `liftdb migrate` before rolling anything back"),
        (("rollback", "--all", "--yes"), "before rolling anything back"),
        (("baseline", "--to", "2"), "finish it with `liftdb migrate` before baselining"),
        (("goose", "adopt"), "finish it with `liftdb migrate` before adopting goose's"),
    ],
    ids=["rollback", "redo", "rollback --all", "baseline", "goose adopt"],
)
def test_with_a_version_interrupted_these_commands_refuse_and_change_nothing(
    stopped, command, refusal
):
    url, sql_dir, _up = stopped
    if command[0] == "goose":
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "CREATE TABLE goose_db_version (id serial, version_id bigint, is_applied bool);"
                " INSERT INTO goose_db_version (version_id, is_applied)"
                " VALUES (0, true), (1, true), (2, true)"
            )
    before = (rows(url, "SELECT * FROM liftdb_progress"), recorded_versions(url))
    done = liftdb(url, sql_dir, *command)
    assert_one_line_error(
        done, EXIT_USAGE, "00002_fill_log stopped after 2 of 3 statements: ", refusal
    )
    assert (rows(url, "SELECT * FROM liftdb_progress"), recorded_versions(url)) == before


def test_a_migrate_that_stops_before_the_interrupted_version_leaves_it_as_it_was(stopped):
    url, sql_dir, _up = stopped
    before = status_document(url, sql_dir)["versions"]
    done = liftdb(url, sql_dir, "migrate", "--to", "1")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("nothing to do up to version 1")
    assert status_document(url, sql_dir)["versions"] == before


def test_repair_leaves_an_interrupted_migrate_as_it_was_and_its_resume_refused(stopped):
    url, sql_dir, up = stopped
    up.write_text(LOG.format(failing=FIXED).replace("VALUES (1)", "VALUES (10)"))
    recorded = (
        "SELECT p.*, s.ordinal, s.sha256 FROM liftdb_progress p"
        " JOIN liftdb_progress_statement s USING (version, direction) ORDER BY s.ordinal"
    )
    before = rows(url, recorded)
    repaired = liftdb(url, sql_dir, "repair")
    assert repaired.returncode == 0, repaired.stderr
    assert rows(url, recorded) == before
    assert recorded_versions(url) == [1]
    done = liftdb(url, sql_dir, "migrate")
    assert_one_line_error(done, EXIT_DRIFT, f"{up}:3: statement 2, one of the 2 that ran")
    assert rows(url, "SELECT id FROM log") == [(1,)]


ROLLBACK_IN_STEPS = (
    NON_TRANSACTIONAL
    + "DELETE FROM log WHERE id = 1;\n"  # 2: statement 1
    + "{failing}\n"  # 3: statement 2
    + "DROP TABLE log;\n"  # 4: statement 3
)


@pytest.fixture
def rollback_stopped(database_url, make_chain):
    """Both versions applied, then the second one's non-transactional rollback stopped
    after 1 of its 3 statements."""
    sql_dir = make_chain(
        WIDGETS[0],
        ("fill_log", LOG.format(failing="SELECT 3;"), ROLLBACK_IN_STEPS.format(failing=FAILS)),
    )
    assert liftdb(database_url, sql_dir, "migrate").returncode == 0
    done = liftdb(database_url, sql_dir, "rollback", "--yes")
    assert done.returncode == 1
    assert "00002_fill_log stopped after 1 of 3 statements; run rollback again" in done.stderr
    return database_url, sql_dir, sql_dir / "00002_fill_log.rollback.sql"


def test_migrate_refuses_while_a_rollback_is_interrupted(rollback_stopped):
    url, sql_dir, _rollback = rollback_stopped
    document = status_document(url, sql_dir)["versions"][1]
    assert (document["state"], document["note"]) == (
        "applied",
        f"rollback stopped at {sql_dir}/00002_fill_log.rollback.sql:3 (1 of 3 statements done)",
    )
    done = liftdb(url, sql_dir, "migrate")
    assert_one_line_error(
        done,
        EXIT_USAGE,
        "the rollback of 00002_fill_log stopped after 1 of 3 statements: finish it with"
        " `liftdb rollback` before applying anything; nothing was changed",
    )


def test_repair_keeps_an_interrupted_rollback_true_and_its_resume_exact(rollback_stopped):
    url, sql_dir, rollback = rollback_stopped
    # The failed statement fixed: the rollback file has drifted from what was recorded.
    rollback.write_text(ROLLBACK_IN_STEPS.format(failing="SELECT 2;"))
    assert liftdb(url, sql_dir, "rollback", "--yes").returncode == EXIT_DRIFT
    repaired = liftdb(url, sql_dir, "repair")
    assert repaired.returncode == 0, repaired.stderr
    assert progress(url) == [(2, "down", 1)]  # repair records checksums, not progress
    finished = liftdb(url, sql_dir, "rollback", "--yes")
    assert finished.returncode == 0, finished.stderr
    assert recorded_versions(url) == [1]
    assert rows(url, "SELECT to_regclass('log')") == [(None,)]


def test_repair_does_not_make_a_changed_completed_statement_resumable(rollback_stopped):
    url, sql_dir, rollback = rollback_stopped
    rollback.write_text(ROLLBACK_IN_STEPS.format(failing="SELECT 2;").replace("id = 1", "id = 2"))
    assert liftdb(url, sql_dir, "repair").returncode == 0
    done = liftdb(url, sql_dir, "rollback", "--yes")
    assert_one_line_error(
        done,
        EXIT_DRIFT,
        f"{rollback}:2: statement 1, one of the 1 that ran, has changed since",
        "finish it with `liftdb rollback`",
    )
    assert progress(url) == [(2, "down", 1)]


def stopped_then_resumed(url: str, make_chain, name: str, up: str, rollback: str, fixed: str):
    """A one-version chain whose up file (``up``, with a ``{failing}`` slot) stops at
    ``FAILS``; then the file with ``fixed`` in the slot, and ``migrate`` again: its result."""
    sql_dir = make_chain((name, up.format(failing=FAILS), rollback))
    assert liftdb(url, sql_dir, "migrate").returncode == 1
    (sql_dir / f"00001_{name}.sql").write_text(up.format(failing=fixed))
    return liftdb(url, sql_dir, "migrate")


def test_a_resume_first_sets_the_session_the_completed_statements_had_set(database_url, make_chain):
    on_billing = (
        NON_TRANSACTIONAL
        + "CREATE SCHEMA billing;\n"
        + "SET search_path TO billing;\n"
        + "CREATE TABLE invoices (id int);\n"
        + "{failing}\n"
    )
    done = stopped_then_resumed(
        database_url, make_chain, "billing", on_billing, "DROP SCHEMA billing CASCADE;\n",
        "CREATE INDEX CONCURRENTLY invoices_id_idx ON invoices (id);",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    indexes = "SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = %s::regclass"
    with psycopg.connect(database_url, autocommit=True) as conn:
        found = conn.execute(indexes, ("billing.invoices",)).fetchall()
    assert found == [("billing.invoices_id_idx",)]
    assert recorded_versions(database_url) == [1]


def test_a_resumed_statement_sees_the_search_path_pg_dump_s_set_config_left(
    database_url, make_chain
):
    restored = (
        NON_TRANSACTIONAL
        + "SELECT pg_catalog.set_config('search_path', '', false);\n"
        + "CREATE TABLE public.restored (id int);\n"
        + "{failing}\n"
    )
    # As in a run that had not stopped: the search_path is still empty, so an unqualified
    # name has no schema to go to.
    done = stopped_then_resumed(
        database_url, make_chain, "restored", restored, "DROP TABLE restored;\n",
        "CREATE TABLE unqualified (id int);",
    )  # fmt: skip
    assert_one_line_error(done, 1, ":4: CREATE TABLE unqualified", "[3F000]")


# What a completed statement made of the session, however it made it: a resume starts
# from there, as the run that stopped would have gone on.
SESSION_MADE_BY = {
    "DO block": "DO $$ BEGIN PERFORM set_config('search_path', 'billing', false); END $$;\n",
    "set_config of an expression": (
        "SELECT set_config('search_path', 'bill' || 'ing', false) AS path;\n"
    ),
    "function": (
        "CREATE FUNCTION billing.enter() RETURNS void LANGUAGE sql"
        " AS $$ SELECT set_config('search_path', 'billing', false) $$;\n"
        "SELECT billing.enter();\n"
    ),
}


@pytest.mark.parametrize("made_by", SESSION_MADE_BY)
def test_a_resume_starts_from_the_session_the_completed_statements_left(
    database_url, make_chain, made_by
):
    up = (
        NON_TRANSACTIONAL
        + "CREATE SCHEMA billing;\n"
        + SESSION_MADE_BY[made_by]
        + "SET work_mem = '3MB';\n"
        + "{failing}\n"
        + "CREATE TABLE payments (work_mem text DEFAULT current_setting('work_mem'));\n"
        + "INSERT INTO payments DEFAULT VALUES;\n"
    )
    done = stopped_then_resumed(
        database_url, make_chain, "billing", up, "DROP SCHEMA billing CASCADE;\n", "SELECT 1;"
    )
    assert done.returncode == 0, done.stderr
    assert rows(database_url, "SELECT * FROM billing.payments") == [("3MB",)]
    assert recorded_versions(database_url) == [1]


def test_a_resume_right_after_a_block_starts_from_the_session_its_commit_left(
    database_url, make_chain
):
    # The block is noted done inside it, before its COMMIT, when its SET LOCAL still
    # holds: the session noted must be the one after the COMMIT, SET kept, SET LOCAL gone.
    up = (
        NON_TRANSACTIONAL
        + "CREATE SCHEMA billing;\n"
        + "BEGIN;\n"
        + "SET search_path = billing;\n"
        + "SET LOCAL search_path = public;\n"
        + "COMMIT;\n"
        + "{failing}\n"
        + "CREATE TABLE payments (id int);\n"
    )
    done = stopped_then_resumed(
        database_url, make_chain, "billing", up, "DROP SCHEMA billing CASCADE;\n", "SELECT 1;"
    )
    assert done.returncode == 0, done.stderr
    assert rows(database_url, "SELECT to_regclass('billing.payments') IS NOT NULL") == [(True,)]


def test_a_version_stopped_before_its_first_statement_then_made_transactional_clears_its_progress(
    database_url, make_chain
):
    """Its progress row (0 statements done) lets it run in a transaction; the transaction
    that applies it also clears that row, so status shows nothing interrupted."""
    failing = NON_TRANSACTIONAL + "CREATE INDEX CONCURRENTLY log_id_idx ON log (id);\n"
    sql_dir = make_chain(WIDGETS[0], ("fill_log", failing, LOG_ROLLBACK))
    stopped = liftdb(database_url, sql_dir, "migrate")
    assert stopped.returncode == 1 and "stopped after 0 of 1 statements" in stopped.stderr
    assert progress(database_url) == [(2, "up", 0)]
    (sql_dir / "00002_fill_log.sql").write_text("CREATE TABLE log (id int);\n")
    done = liftdb(database_url, sql_dir, "migrate")
    assert done.returncode == 0, done.stderr
    assert recorded_versions(database_url) == [1, 2]
    assert progress(database_url) == []
    document = status_document(database_url, sql_dir)
    assert (document["applied"], document["pending"], document["interrupted"]) == (2, 0, 0)


def test_runs_that_finish_leave_no_progress_behind(database_url, make_chain):
    """Transactional and non-transactional versions applied, rolled back and applied again
    (resumed or not): no progress row stays, and status shows nothing interrupted."""
    sql_dir = make_chain(
        WIDGETS[0], ("fill_log", LOG.format(failing=FAILS), LOG_ROLLBACK), WIDGETS[1]
    )
    assert liftdb(database_url, sql_dir, "migrate").returncode == 1  # stops in version 2
    (sql_dir / "00002_fill_log.sql").write_text(LOG.format(failing=FIXED))
    for command in ("migrate", "rollback --all --yes", "migrate"):
        done = liftdb(database_url, sql_dir, *command.split())
        assert done.returncode == 0, done.stderr
        assert progress(database_url) == []
        assert rows(database_url, "SELECT count(*) FROM liftdb_progress_statement") == [(0,)]
        document = status_document(database_url, sql_dir)
        assert document["interrupted"] == 0, command
    assert recorded_versions(database_url) == [1, 2, 3]
