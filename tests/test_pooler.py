"""liftdb behind a real PgBouncer: every changing command refuses any pooler, before
anything runs, unless told the pool is in session mode (``--pool-mode session``), since
no client can tell session pooling from pooling that shares server sessions between
clients (``pool_mode = transaction`` or ``statement``); told so wrongly, it still
refuses a statement pool always and a transaction pool that no other client is using;
told so rightly, it is correct: one runner at a time, no lock left behind by a failure
or a kill, no prepared-statement errors.

PgBouncer is Debian's ``pgbouncer`` (``.ci/run`` installs it), started here in front of
the server under test on a loopback port and a Unix socket, one instance per pool mode,
and stopped in ``finally``. The first test is the reason for the refusal, asked of
PgBouncer and PostgreSQL themselves: in transaction pooling two clients both get the
session lock liftdb runs under, and it outlives the client that took it.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path

import psycopg
import pytest
from conftest import free_port, server_user, write_chain
from processes import (
    COMMAND_TIMEOUT,
    assert_one_line_error,
    liftdb,
    start_liftdb,
    user_relations,
    wait_for,
)
from test_goose import GOOSE_TABLE_SQL

from runner import database, lock, target
from runner.errors import EXIT_ERROR, EXIT_USAGE, TargetRefused

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
REFUSAL = "no client can tell whether it shares server sessions between clients"
SAY_SESSION = "say so with --pool-mode session (LIFTDB_POOL_MODE=session)"
WRONG_CLAIM = "told the pool is in session mode (--pool-mode session), but the pooler shares"


class PgBouncer:
    """One PgBouncer in front of the server under test, in one pool mode."""

    def __init__(self, server_url: str, mode: str) -> None:
        if not Path(PGBOUNCER).exists():
            raise AssertionError("pgbouncer is not installed: apt-get install pgbouncer")
        target = database.libpq_options(server_url)
        host, port = target.get("host", "127.0.0.1"), target.get("port", "5432")
        # PgBouncer refuses to run as root: run it as whoever can reach the server's
        # socket (the folder's owner), or as a server user for a TCP server.
        self.user = (
            pwd.getpwuid(os.stat(host).st_uid).pw_name if host.startswith("/") else server_user()
        )
        self.mode = mode
        self.folder = Path(tempfile.mkdtemp(prefix=f"liftdb-pgbouncer-{mode}-", dir="/tmp"))
        self.port = free_port()
        (self.folder / "users.txt").write_text('"postgres" ""\n')
        (self.folder / "pgbouncer.ini").write_text(
            f"[databases]\n* = host={host} port={port}\n\n[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\n"
            f"unix_socket_dir = {self.folder}\nauth_type = trust\n"
            f"auth_file = {self.folder}/users.txt\npool_mode = {mode}\n"
            f"logfile = {self.folder}/log\npidfile = {self.folder}/pid\n"
        )
        for path in (self.folder, *self.folder.iterdir()):
            shutil.chown(path, self.user)
        self.folder.chmod(0o755)

    def url(self, database_url: str, *, socket: bool = False) -> str:
        name = database.database_name(database_url)
        if socket:
            return f"postgresql://postgres@/{name}?host={self.folder}&port={self.port}"
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def start(self) -> None:
        as_user = ["runuser", "-u", self.user, "--"] if os.geteuid() == 0 else []
        subprocess.run(
            [*as_user, PGBOUNCER, "-d", str(self.folder / "pgbouncer.ini")],
            check=True, capture_output=True, timeout=COMMAND_TIMEOUT,
        )  # fmt: skip
        wait_for(lambda: (self.folder / f".s.PGSQL.{self.port}").exists(), "pgbouncer to listen")

    def stop(self) -> None:
        with suppress(OSError, ValueError):
            os.kill(int((self.folder / "pid").read_text()), signal.SIGTERM)
        shutil.rmtree(self.folder, ignore_errors=True)


@contextmanager
def running(server_url: str, mode: str) -> Iterator[PgBouncer]:
    bouncer = PgBouncer(server_url, mode)
    try:
        bouncer.start()
        yield bouncer
    finally:
        bouncer.stop()


@pytest.fixture(scope="module")
def transaction_pool(server_url: str) -> Iterator[PgBouncer]:
    with running(server_url, "transaction") as bouncer:
        yield bouncer


@pytest.fixture(scope="module")
def session_pool(server_url: str) -> Iterator[PgBouncer]:
    with running(server_url, "session") as bouncer:
        yield bouncer


def together(
    url: str, sql_dir, *args: str, runs: int = 6, **env: str
) -> list[tuple[int, str, str]]:
    """``runs`` liftdb started at once with ``args``: each one's (exit code, stdout,
    stderr); every run is stopped whatever happens (``start_liftdb``)."""
    with ExitStack() as running:
        started = [
            running.enter_context(start_liftdb(url, sql_dir, *args, **env)) for _ in range(runs)
        ]
        outputs = [run.communicate(timeout=COMMAND_TIMEOUT) for run in started]
        return [(run.returncode, *output) for run, output in zip(started, outputs, strict=True)]


def advisory_locks(url: str) -> list[int]:
    """Every liftdb migration lock held on the database, seen directly (not via a pool)."""
    with psycopg.connect(url, autocommit=True) as conn:
        return [
            pid
            for (pid,) in conn.execute(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                " AND objid::bigint = %s",
                (lock.LOCK_KEY & 0xFFFFFFFF,),
            )
        ]


def test_transaction_pooling_gives_one_session_lock_to_two_clients(database_url, transaction_pool):
    # Why liftdb refuses it: the advisory lock belongs to the server session, which
    # PgBouncer hands from client to client between transactions.
    url = transaction_pool.url(database_url)
    with psycopg.connect(url, autocommit=True) as first:
        taken = first.execute("SELECT pg_try_advisory_lock(%s)", (lock.LOCK_KEY,)).fetchone()
        with psycopg.connect(url, autocommit=True) as second:
            again = second.execute("SELECT pg_try_advisory_lock(%s)", (lock.LOCK_KEY,)).fetchone()
    try:
        assert taken == again == (True,)  # two "runners" hold the one lock
        assert len(advisory_locks(database_url)) == 1  # and it outlives them both
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            for pid in advisory_locks(database_url):
                conn.execute("SELECT pg_terminate_backend(%s)", (pid,))


CHANGING = [("migrate",), ("rollback", "--yes"), ("repair",), ("baseline", "--to", "1")]


@pytest.fixture(scope="module", params=["session", "transaction", "statement"])
def any_pool(request, server_url: str) -> Iterator[PgBouncer]:
    with running(server_url, request.param) as bouncer:
        yield bouncer


@pytest.fixture(scope="module", params=["transaction", "statement"])
def sharing_pool(request, server_url: str) -> Iterator[PgBouncer]:
    with running(server_url, request.param) as bouncer:
        yield bouncer


def test_any_pool_is_refused_before_anything_runs_unless_told_its_mode(
    database_url, make_chain, any_pool
):
    sql_dir = make_chain()
    for socket in (False, True):
        url = any_pool.url(database_url, socket=socket)
        for command in CHANGING:
            result = liftdb(url, sql_dir, *command)
            line = assert_one_line_error(
                result, EXIT_ERROR, REFUSAL, SAY_SESSION, "nothing was changed"
            )
            assert "_pg3_" not in line
    assert user_relations(database_url) == []
    assert advisory_locks(database_url) == []


def test_a_pool_said_to_be_in_session_mode_that_shares_sessions_is_refused(
    database_url, make_chain, sharing_pool
):
    # Statement pooling refuses a transaction block, every time; transaction pooling
    # hands a second connection our server session when no other client is using the pool.
    sql_dir = make_chain()
    url = sharing_pool.url(database_url)
    said = liftdb(url, sql_dir, "--pool-mode", "session", "migrate")
    by_environment = liftdb(url, sql_dir, "rollback", "--yes", LIFTDB_POOL_MODE="session")

    for result in (said, by_environment):
        assert_one_line_error(result, EXIT_ERROR, WRONG_CLAIM, f"(pool_mode = {sharing_pool.mode})")
    assert user_relations(database_url) == []
    assert advisory_locks(database_url) == []


def test_concurrent_runners_through_transaction_pooling_are_each_refused_in_one_line(
    database_url, make_chain, transaction_pool
):
    # Before: some applied versions twice over one lock, others failed with
    # 'prepared statement "_pg3_0" already exists', and the lock stayed on the pool.
    sql_dir = make_chain()
    url = transaction_pool.url(database_url)

    for code, stdout, stderr in together(url, sql_dir, "--lock-wait", "1min", "migrate"):
        assert code == EXIT_ERROR, stdout + stderr
        assert stderr.count("\n") == 1 and REFUSAL in stderr, stderr
    assert user_relations(database_url) == []
    assert advisory_locks(database_url) == []


def test_through_transaction_pooling_the_reading_commands_work(
    database_url, make_chain, transaction_pool
):
    sql_dir = make_chain()
    assert liftdb(database_url, sql_dir, "migrate", "--to", "2").returncode == 0
    url = transaction_pool.url(database_url)

    outputs = together(url, sql_dir, "status", "--json")
    dry_run = liftdb(url, sql_dir, "migrate", "--dry-run")
    verify = liftdb(url, sql_dir, "verify")

    direct = liftdb(database_url, sql_dir, "status", "--json").stdout
    for code, stdout, stderr in outputs:
        assert code == 0, stderr
        assert stdout.replace(url, "URL") == direct.replace(database_url, "URL")
    assert dry_run.returncode == 0, dry_run.stderr
    assert "CREATE TABLE gadgets" in dry_run.stdout
    assert verify.returncode == 0, verify.stderr


def test_session_pooling_runs_one_runner_at_a_time(database_url, tmp_path, session_pool):
    # Each version writes its number into a table without a key: applied twice, it shows.
    versions = [
        ("create_marks", "CREATE TABLE marks (n int);\nINSERT INTO marks VALUES (1);\n",
         "DROP TABLE marks;\n"),
        ("two", "INSERT INTO marks VALUES (2);\nSELECT pg_sleep(0.05);\n",
         "DELETE FROM marks WHERE n = 2;\n"),
        ("index", "-- transactional: false\nCREATE INDEX CONCURRENTLY marks_n_idx ON marks (n);\n"
         "INSERT INTO marks VALUES (3);\n",
         "-- transactional: false\nDROP INDEX CONCURRENTLY marks_n_idx;\n"),
    ]  # fmt: skip
    sql_dir = write_chain(tmp_path / "sql", versions)
    url = session_pool.url(database_url)

    migrate = ("--lock-wait", "1min", "migrate")
    for code, _stdout, stderr in together(url, sql_dir, *migrate, LIFTDB_POOL_MODE="session"):
        assert code == 0, stderr
    with psycopg.connect(database_url, autocommit=True) as conn:
        assert [n for (n,) in conn.execute("SELECT n FROM marks ORDER BY n")] == [1, 2, 3]
    assert advisory_locks(database_url) == []


def test_session_pooling_leaves_no_lock_after_a_failure_or_a_kill(
    database_url, tmp_path, session_pool
):
    sql_dir = write_chain(
        tmp_path / "sql",
        [("create_things", "CREATE TABLE things (id int PRIMARY KEY);\n"
          "INSERT INTO things VALUES (1);\n", "DROP TABLE things;\n"),
         ("add_two", "INSERT INTO things VALUES (1);\n", "DELETE FROM things WHERE id = 2;\n")],
    )  # fmt: skip
    url = session_pool.url(database_url, socket=True)
    add_two = sql_dir / "00002_add_two.sql"

    failed = liftdb(url, sql_dir, "--pool-mode", "session", "migrate")
    assert_one_line_error(failed, EXIT_ERROR, "duplicate key value", "00002_add_two was not")
    wait_for(lambda: advisory_locks(database_url) == [], "the lock to go after the failure", 10)

    add_two.write_text("INSERT INTO things VALUES (2);\nSELECT pg_sleep(60);\n")
    with start_liftdb(url, sql_dir, "--pool-mode", "session", "migrate") as runner:
        wait_for(lambda: _sleeping(database_url), "version 2's pg_sleep")
        held_while_running = advisory_locks(database_url)
        runner.kill()
        runner.communicate(timeout=COMMAND_TIMEOUT)
    wait_for(lambda: advisory_locks(database_url) == [], "the lock to go after the kill", 30)
    add_two.write_text("INSERT INTO things VALUES (2);\n")
    again = liftdb(url, sql_dir, "--lock-wait", "5s", "--pool-mode", "session", "migrate")

    assert held_while_running
    assert again.returncode == 0, again.stderr
    with psycopg.connect(database_url, autocommit=True) as conn:
        assert [n for (n,) in conn.execute("SELECT id FROM things ORDER BY id")] == [1, 2]


def _sleeping(url: str) -> bool:
    with psycopg.connect(url, autocommit=True) as conn:
        return bool(
            conn.execute(
                "SELECT 1 FROM pg_stat_activity WHERE datname = current_database()"
                " AND state = 'active' AND query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()"
            ).fetchone()
        )


def test_a_client_taking_our_server_session_while_the_witness_asks_cannot_let_a_runner_through(
    database_url, transaction_pool, monkeypatch
):
    # What six concurrent runners did to each other now and then (one in five runs of the
    # test above failed), made to happen every time: while a second connection (the
    # witness) asks for its server, another client holds ours in a transaction, so the
    # witness gets another; then it gives ours back and our next statement lands on it
    # again. Nothing a client sees tells the pool's mode then: refused before asking.
    url = transaction_pool.url(database_url)
    reconnect = database.reconnect

    @contextmanager
    def witness_while_another_client_holds_ours(conn):
        with psycopg.connect(url, autocommit=True) as other:
            other.execute("BEGIN")
            other.execute("SELECT pg_backend_pid()")
            with reconnect(conn) as witness:
                yield witness
            other.execute("COMMIT")

    monkeypatch.setattr(database, "reconnect", witness_while_another_client_holds_ours)
    with database.connect(url) as conn, pytest.raises(TargetRefused) as refused:
        target.check(conn)
    assert REFUSAL in refused.value.message


def test_goose_adopt_through_a_session_pool_runs_only_when_told_its_mode(
    database_url, make_chain, session_pool
):
    sql_dir = make_chain()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(GOOSE_TABLE_SQL)
    url = session_pool.url(database_url)

    refused = liftdb(url, sql_dir, "goose", "adopt")
    told = liftdb(url, sql_dir, "--pool-mode", "session", "goose", "adopt")

    assert_one_line_error(refused, EXIT_ERROR, REFUSAL, SAY_SESSION)
    assert told.returncode == 0, told.stderr
    assert "adopted 0 version(s) from goose_db_version" in told.stdout


def test_the_pool_mode_said_changes_nothing_on_a_direct_url_and_only_session_is_taken(
    database_url, make_chain
):
    sql_dir = make_chain()
    direct = liftdb(database_url, sql_dir, "--pool-mode", "session", "migrate")
    transaction = liftdb(database_url, sql_dir, "rollback", "--yes", LIFTDB_POOL_MODE="transaction")

    assert direct.returncode == 0, direct.stderr
    assert "applied 3 version(s)" in direct.stdout
    assert transaction.returncode == EXIT_USAGE
    assert transaction.stderr.splitlines() == [
        "liftdb: usage: Invalid value for '--pool-mode' (env var: 'LIFTDB_POOL_MODE'):"
        " 'transaction' is not 'session'."
    ]
    assert "gadgets" in user_relations(database_url)  # the rollback did not run
