"""Every command that changes a database holds the migration lock the same way
(``lock.held``): the server told to check for a vanished client every second, the wait
reported once, and the lock given back however the work ends.
"""

from __future__ import annotations

import contextlib

import psycopg
import pytest
from conftest import WIDGETS
from processes import invoke

from runner import lock

CHANGING_COMMANDS = (
    ("migrate",),
    ("rollback", "--yes"),
    ("redo", "--yes"),
    ("repair",),
    ("baseline", "--to", "2"),
    ("goose", "adopt"),
)


def goose_says_applied(url: str, *versions: int) -> None:
    """goose's own table, as goose writes it, recording ``versions`` as applied."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE goose_db_version (id serial PRIMARY KEY, version_id bigint NOT NULL,"
            " is_applied boolean NOT NULL, tstamp timestamp DEFAULT now())"
        )
        for version in (0, *versions):
            conn.execute(
                "INSERT INTO goose_db_version (version_id, is_applied) VALUES (%s, true)",
                (version,),
            )


@pytest.fixture
def two_applied(database_url, make_chain):
    """The widgets chain with versions 1 and 2 applied, and goose's table saying so."""
    sql_dir = make_chain(*WIDGETS)
    assert invoke(["--database-url", database_url, "--sql-dir", str(sql_dir), "migrate",
                   "--to", "2"]).exit_code == 0  # fmt: skip
    goose_says_applied(database_url, 1, 2)
    return database_url, sql_dir


@pytest.mark.parametrize("command", CHANGING_COMMANDS, ids=" ".join)
def test_every_command_that_changes_a_database_holds_the_lock_through_lock_held(
    two_applied, command, monkeypatch
):
    url, sql_dir = two_applied
    seen = []
    real = lock.held

    @contextlib.contextmanager
    def watched(conn, *args, **kwargs):
        with real(conn, *args, **kwargs):
            interval = conn.execute("SHOW client_connection_check_interval").fetchone()[0]
            seen.append((interval, lock.holder(conn).pid == conn.info.backend_pid))
            yield
        seen.append(("released", lock.holder(conn) is None))

    monkeypatch.setattr(lock, "held", watched)
    result = invoke(["--database-url", url, "--sql-dir", str(sql_dir), *command])
    assert result.exit_code == 0, result.output
    assert seen == [("1s", True), ("released", True)]


@pytest.mark.parametrize("command", CHANGING_COMMANDS, ids=" ".join)
def test_every_command_that_changes_a_database_reports_the_wait_and_gives_up_with_exit_5(
    two_applied, command
):
    url, sql_dir = two_applied
    with psycopg.connect(url, autocommit=True, application_name="nightly-job") as holder:
        assert lock.try_acquire(holder)
        pid = holder.info.backend_pid
        args = ["--database-url", url, "--sql-dir", str(sql_dir), "--lock-wait", "200ms"]
        result = invoke([*args, *command])
    assert result.exit_code == 5, result.output
    waiting, error = result.stderr.splitlines()
    assert waiting.startswith(f"waiting for the migration lock, held by pid {pid} (nightly-job, ")
    assert error.startswith("liftdb: error: gave up after 200 ms waiting for the migration lock")


def test_the_lock_is_given_back_when_the_work_fails(database_url):
    with psycopg.connect(database_url, autocommit=True) as conn:
        with pytest.raises(ZeroDivisionError), lock.held(conn, 1000):
            1 / 0  # noqa: B018
        assert lock.holder(conn) is None


def test_the_lock_is_given_back_whole_when_the_work_took_it_again(database_url):
    with psycopg.connect(database_url, autocommit=True) as conn:
        with lock.held(conn, 1000):
            conn.execute("SELECT pg_advisory_lock(%s)", (lock.LOCK_KEY,))  # a version's doing
        assert not lock.holds(conn)
        with psycopg.connect(database_url, autocommit=True) as other:
            assert lock.try_acquire(other)
