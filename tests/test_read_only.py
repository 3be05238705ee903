"""A server that takes no changes is refused before anything is created, in one line
naming why; reading commands still work there.

Read-only sessions are made the ways a DBA makes them (``ALTER DATABASE``, ``ALTER ROLE
... IN DATABASE``, ``PGOPTIONS``), on the server under test; the hot standby is a real
one, streaming from a primary of the test's own (``pg_basebackup -R`` with the server
under test's programs), so ``pg_is_in_recovery()`` and ``transaction_read_only`` are the
server's, not a mock's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from conftest import WIDGETS, ScratchServer, free_port, server_bin_dir, write_chain
from processes import assert_one_line_error, liftdb, user_relations, wait_for

from runner import api
from runner.errors import EXIT_ERROR

# Every command that changes a database, and what it needs to get that far.
CHANGING = [
    ("migrate",),
    ("rollback", "--yes"),
    ("redo", "--yes"),
    ("repair",),
    ("baseline", "--to", "1"),
    ("goose", "adopt"),
]
GOOSE_TABLE = (
    "CREATE TABLE goose_db_version (id serial PRIMARY KEY, version_id bigint NOT NULL,"
    " is_applied boolean NOT NULL, tstamp timestamp DEFAULT now())"
)
READING = [("status",), ("verify",), ("migrate", "--dry-run")]


def no_bookkeeping(url: str) -> bool:
    return not any(name.startswith(("liftdb_", "_yoyo")) for name in user_relations(url))


def refused_everywhere(url: str, sql_dir, says: str, **env: str) -> None:
    for command in CHANGING:
        result = liftdb(url, sql_dir, *command, **env)
        assert_one_line_error(result, EXIT_ERROR, says, "nothing was changed")


@pytest.mark.parametrize(
    "how,says",
    [
        ("ALTER DATABASE {db} SET default_transaction_read_only = on", "by ALTER DATABASE"),
        (
            "ALTER ROLE postgres IN DATABASE {db} SET default_transaction_read_only = on",
            "by ALTER ROLE ... IN DATABASE ... SET",
        ),
        ("PGOPTIONS", "by the client (PGOPTIONS, or options in the URL)"),
    ],
    ids=["database", "role in database", "PGOPTIONS"],
)
def test_read_only_sessions_are_refused_before_anything_is_created(
    database_url, make_chain, how, says
):
    sql_dir = make_chain()
    env = {}
    with psycopg.connect(database_url, autocommit=True) as conn:
        name = conn.execute("SELECT current_database()").fetchone()[0]
        conn.execute(GOOSE_TABLE)  # for goose adopt
        if how == "PGOPTIONS":
            env["PGOPTIONS"] = "-c default_transaction_read_only=on"
        else:
            conn.execute(how.format(db=f'"{name}"'))

    refused_everywhere(
        database_url,
        sql_dir,
        f"sessions here are read-only: default_transaction_read_only = on, set {says}",
        **env,
    )
    for command in READING:
        assert liftdb(database_url, sql_dir, *command, **env).returncode == 0

    assert no_bookkeeping(database_url)
    assert [n for n in user_relations(database_url) if not n.startswith("goose_")] == []
    with psycopg.connect(database_url, autocommit=True) as conn:  # and then it applies
        conn.execute("SET default_transaction_read_only = off")
        conn.execute(f'ALTER DATABASE "{name}" RESET ALL')
        conn.execute(f'ALTER ROLE postgres IN DATABASE "{name}" RESET ALL')
    assert liftdb(database_url, sql_dir, "migrate").returncode == 0


# --- a real hot standby -------------------------------------------------------------


@dataclass
class Pair:
    primary: ScratchServer
    standby_port: int

    def primary_url(self) -> str:
        return self.primary.url(database="app")

    def standby_url(self) -> str:
        return f"postgresql://postgres:{ScratchServer.PASSWORD}@127.0.0.1:{self.standby_port}/app"


@pytest.fixture(scope="module")
def pair(server_url: str) -> Iterator[Pair]:
    """A primary and a hot standby streaming from it (``pg_basebackup -R``)."""
    primary = ScratchServer(server_bin_dir(server_url))
    standby_data = primary.folder / "standby"
    port = free_port()
    started = False
    try:
        primary.initdb()
        primary.start()
        with psycopg.connect(primary.url(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE app")
        primary._run(
            "pg_basebackup", "-D", str(standby_data), "-R", "-X", "stream", "--no-sync",
            "--checkpoint=fast",  # else it waits for a spread checkpoint: a minute or more
            "-d", f"postgresql://postgres:{ScratchServer.PASSWORD}@127.0.0.1:{primary.port}/",
        )  # fmt: skip
        options = f"-p {port} -k {primary.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        primary._run("pg_ctl", "-D", str(standby_data), "-w", "-l",
                     str(primary.folder / "standby.log"), "-o", options, "start")  # fmt: skip
        started = True
        yield Pair(primary, port)
    finally:
        if started:
            primary._run("pg_ctl", "-D", str(standby_data), "-m", "immediate", "-w", "stop",
                         check=False)  # fmt: skip
        primary.stop()


def caught_up(pair: Pair) -> bool:
    with psycopg.connect(pair.primary_url(), autocommit=True) as conn:
        sent = conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
    with psycopg.connect(pair.standby_url(), autocommit=True) as conn:
        return conn.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (sent,)).fetchone()[0]


def test_a_hot_standby_is_refused_and_a_url_listing_it_first_finds_the_primary(pair, tmp_path):
    sql_dir = write_chain(tmp_path / "sql", WIDGETS)
    api.migrate(pair.primary_url(), sql_dir, to=2)
    with psycopg.connect(pair.primary_url(), autocommit=True) as conn:
        conn.execute(GOOSE_TABLE)  # for goose adopt
    wait_for(lambda: caught_up(pair), "the standby to replay the primary's WAL")
    with psycopg.connect(pair.standby_url(), autocommit=True) as conn:
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
        assert conn.execute("SHOW transaction_read_only").fetchone() == ("on",)

    refused_everywhere(pair.standby_url(), sql_dir, "the server is a hot standby (in recovery)")
    status = liftdb(pair.standby_url(), sql_dir, "status", "--json")
    both = (
        f"postgresql://postgres:{ScratchServer.PASSWORD}@127.0.0.1:{pair.standby_port},"
        f"127.0.0.1:{pair.primary.port}/app"
    )
    first_found = liftdb(both, sql_dir, "migrate")
    primary_found = liftdb(both + "?target_session_attrs=read-write", sql_dir, "migrate")

    assert status.returncode == 0, status.stderr
    assert '"applied": 2' in status.stdout  # it reads what the primary applied
    assert_one_line_error(first_found, EXIT_ERROR, "target_session_attrs=read-write")
    assert primary_found.returncode == 0, primary_found.stderr
    assert api.applied_versions(pair.primary_url()) == [1, 2, 3]
