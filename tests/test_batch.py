"""Consecutive transactional versions go to the server as one string (``executor._Batch``):
what a user sees must be what one version at a time gave them, the server says so.

Each test runs a chain whose versions, alone, would each be a round trip of their own,
and checks against the database what a batch must keep: every version its own
transaction, reported as it ends, a failure named at its file and line with the versions
before it applied and none after, a lock timeout tried again, and the session every
version starts in, and an interrupt at any version of a batch (also tests/test_faults.py).
"""

from __future__ import annotations

import signal
import subprocess
import time

import psycopg
import pytest
from conftest import scratch_database, write_chain
from processes import (
    assert_one_line_error,
    liftdb_sleeping,
    migration_lock_holder,
    start_liftdb,
    wait_for,
)
from test_faults import PAUSE, PAUSED

from runner import api
from runner.errors import EXIT_INTERRUPTED, MigrationFailed

CREATE = ("t{n}", "CREATE TABLE t{n} (id int);\n", "DROP TABLE t{n};\n")


def tables(n: int, start: int = 1) -> list[tuple[str, str, str]]:
    """``n`` versions, each creating a table of its own (t1, t2, ...)."""
    return [tuple(part.format(n=i) for part in CREATE) for i in range(start, start + n)]


def applied(url: str) -> list[int]:
    return api.applied_versions(url)


def test_each_version_is_its_own_transaction_reported_as_it_ends(database_url, make_chain):
    """The second version sleeps 1.2 s: the first is reported before that sleep ends (its
    results are not held back until the string ends), each version's time is the
    server's for it, and each committed on its own (one transaction id a version)."""
    sql_dir = make_chain(
        *tables(1),
        ("slow", "SELECT pg_sleep(1.2);\n", "SELECT 1;\n"),
        *tables(1, start=3),
    )
    heard = []
    options = api.Options(on_done=lambda done: heard.append((done, time.monotonic())))
    api.migrate(database_url, sql_dir, options=options)
    assert [done.number for done, _ in heard] == [1, 2, 3]
    (first, at_first), (slow, at_slow), (_, _) = heard
    assert at_slow - at_first >= 1.0  # the first was reported as it ended
    assert slow.duration_ms >= 1150 and first.duration_ms < 1000
    with psycopg.connect(database_url, autocommit=True) as conn:
        transactions = conn.execute(
            "SELECT count(DISTINCT xmin::text) FROM public.liftdb_version"
        ).fetchone()[0]
    assert transactions == 3


def test_a_failure_in_the_middle_is_named_with_the_versions_before_it_applied(
    database_url, make_chain
):
    """The third of five versions fails on its second statement, an error the server
    places by its position in the whole string: the message names that statement's
    line in the third file; versions 1 and 2 are applied, 3 to 5 are not."""
    sql_dir = make_chain(
        *tables(2),
        ("bad", "CREATE TABLE bad (id int);\n\nSELECT missing FROM bad;\n", "DROP TABLE bad;\n"),
        *tables(2, start=4),
    )
    try:
        api.migrate(database_url, sql_dir)
    except MigrationFailed as failed:
        message = failed.message
    else:
        raise AssertionError("the third version ran")
    assert message.startswith(f"{sql_dir}/00003_bad.sql:3: SELECT missing FROM bad:"), message
    assert 'column "missing" does not exist [42703]' in message
    assert applied(database_url) == [1, 2]
    with psycopg.connect(database_url, autocommit=True) as conn:
        made = conn.execute(
            "SELECT array_agg(relname::text ORDER BY relname) FROM pg_class"
            " WHERE relname ~ '^(t[0-9]|bad)$'"
        ).fetchone()[0]
    assert made == ["t1", "t2"]


def test_a_version_that_leaves_an_advisory_lock_stops_the_string_and_it_is_released(
    database_url, make_chain
):
    """The second of four versions takes a session advisory lock: the third and fourth
    start without it (they see no advisory lock but the migration lock), all four are
    applied, and no lock of it is left after the run."""
    seen = (
        "CREATE TABLE seen{n} AS SELECT count(*) AS locks FROM pg_locks"
        " WHERE locktype = 'advisory' AND pid = pg_backend_pid();\n"
    )
    sql_dir = make_chain(
        *tables(1),
        ("locks", "SELECT pg_advisory_lock(4242);\n", "SELECT 1;\n"),
        ("seen3", seen.format(n=3), "DROP TABLE seen3;\n"),
        ("seen4", seen.format(n=4), "DROP TABLE seen4;\n"),
    )
    api.migrate(database_url, sql_dir)
    assert applied(database_url) == [1, 2, 3, 4]
    with psycopg.connect(database_url, autocommit=True) as conn:
        locks = conn.execute("SELECT (SELECT locks FROM seen3), (SELECT locks FROM seen4)")
        assert locks.fetchone() == (1, 1)  # the migration lock alone
        assert conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242"
        ).fetchone() == (0,)


def test_a_lock_timeout_in_the_middle_is_tried_again_and_the_rest_applied(database_url, make_chain):
    """The third of four versions waits for a table another session holds, gives up at
    its lock_timeout, and is tried again alone once the holder lets go: all four are
    applied, in order."""
    with psycopg.connect(database_url, autocommit=True) as setup:
        setup.execute("CREATE TABLE held (id int)")
    sql_dir = make_chain(
        *tables(2),
        ("alter_held", "ALTER TABLE held ADD COLUMN note text;\n", "SELECT 1;\n"),
        *tables(1, start=4),
    )
    holder = psycopg.connect(database_url)
    try:
        holder.execute("LOCK TABLE held IN ACCESS EXCLUSIVE MODE")
        waits = []

        def let_go(wait) -> None:
            waits.append(wait)
            holder.rollback()

        options = api.Options(on_lock_wait=let_go)
        done = api.migrate(database_url, sql_dir, options=options)
    finally:
        holder.close()
    assert [d.number for d in done] == [1, 2, 3, 4]
    assert [(w.version, w.retry) for w in waits] == [("00003_alter_held", 1)]
    assert applied(database_url) == [1, 2, 3, 4]


@pytest.mark.parametrize("at", [3, 5], ids=["in the middle", "last"])
def test_a_version_that_drops_plpgsql_is_applied_and_so_are_those_after_it(
    database_url, make_chain, at
):
    """A batch's versions send their results on with a plpgsql ``DO`` block (the reset's
    last statement, after its COMMIT): a version that drops plpgsql, applied, makes that
    block fail. The run goes on as it does one version at a time: every version applied
    and reported, in order (once each), each with a time of its own."""
    drop = ("drop_plpgsql", "DROP EXTENSION plpgsql CASCADE;\n", "CREATE EXTENSION plpgsql;\n")
    versions = [*tables(4)]
    versions.insert(at - 1, drop)
    sql_dir = make_chain(*versions)
    heard = []
    done = api.migrate(database_url, sql_dir, options=api.Options(on_done=heard.append))
    assert [d.number for d in heard] == [1, 2, 3, 4, 5] == [d.number for d in done]
    assert all(d.duration_ms is not None and d.duration_ms >= 0 for d in done)
    assert applied(database_url) == [1, 2, 3, 4, 5]
    with psycopg.connect(database_url, autocommit=True) as conn:
        made = conn.execute(
            "SELECT count(*) FROM pg_class WHERE relname ~ '^t[0-9]$' AND relkind = 'r'"
        ).fetchone()[0]
    assert made == 4


@pytest.mark.parametrize("where", ["an earlier version", "the same version"])
def test_on_a_sql_ascii_database_an_error_after_non_ascii_text_is_named_at_its_line(
    server_url, make_chain, where
):
    """A SQL_ASCII database counts an error's position in bytes, not characters: text
    with multibyte characters before the failing statement (in the batch's string, or
    in the version's own) must not move where the error is placed."""
    accents = "CREATE TABLE accents (id int);\nCOMMENT ON TABLE accents IS '" + "é€" * 300 + "';\n"
    failing = "CREATE TABLE bad (id int);\n\nSELECT\n    missing FROM bad;\nSELECT 2;\n"
    bad = ("bad", failing, "SELECT 1;\n")
    if where == "an earlier version":
        versions = [*tables(1), ("accents", accents, "DROP TABLE accents;\n"), bad]
    else:
        versions = [*tables(2), ("bad", accents + failing, "SELECT 1;\n")]
    sql_dir = make_chain(*versions)
    with scratch_database(server_url, encoding="SQL_ASCII") as url:
        with pytest.raises(MigrationFailed) as failed:
            api.migrate(url, sql_dir)
        assert applied(url) == [1, 2]
    line = 3 + (2 if where == "the same version" else 0)
    assert failed.value.message.startswith(f"{sql_dir}/00003_bad.sql:{line}: SELECT:"), failed.value


def test_on_a_sql_ascii_database_status_and_applied_versions_read_the_bookkeeping(
    server_url, make_chain
):
    """A connection to a SQL_ASCII database gets text as bytes unless it asks for UTF-8:
    every liftdb connection does, so what reads the bookkeeping outside a run (status,
    applied versions) sees what the run recorded."""
    sql_dir = make_chain(*tables(2))
    with scratch_database(server_url, encoding="SQL_ASCII") as url:
        api.migrate(url, sql_dir)
        assert applied(url) == [1, 2]
        assert [v.state for v in api.status(url, sql_dir).versions] == ["applied", "applied"]
        assert api.migrate(url, sql_dir) == []


@pytest.mark.parametrize("at", [1, 3, 5], ids=["first", "middle", "last"])
def test_ctrl_c_in_a_batch_rolls_back_the_version_running_and_keeps_those_before(
    tmp_path, database_url, at
):
    """Ctrl-C while the ``at``th of five batched versions sleeps: that version is rolled
    back and named, those before it were reported and stay applied, none after it ran."""
    versions = tables(5)
    versions[at - 1] = (
        "slow",
        f"CREATE TABLE slow (id int);\n{PAUSE};\nCREATE TABLE slow2 (id int);\n",
        "DROP TABLE slow2, slow;\n",
    )
    sql_dir = write_chain(tmp_path / "sql", versions)
    with start_liftdb(database_url, sql_dir, "migrate", **PAUSED) as runner:
        wait_for(lambda: liftdb_sleeping(database_url), "the slow version to sleep")
        runner.send_signal(signal.SIGINT)
        out, err = runner.communicate(timeout=60)
    result = subprocess.CompletedProcess(runner.args, runner.returncode, out, err)
    before = at - 1
    state = "it was rolled back and is pending again"
    if before:
        stays = "stays" if before == 1 else "stay"
        state += f"; {before} version{'s' * (before > 1)} applied before it {stays} applied"
    assert_one_line_error(result, EXIT_INTERRUPTED, f"while applying 0000{at}_slow:", state)
    assert [line.split()[0] for line in out.splitlines() if " up " in line] == [
        f"0000{n}" for n in range(1, at)
    ]
    assert migration_lock_holder(database_url) is None
    assert applied(database_url) == list(range(1, at))
