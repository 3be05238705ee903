"""yoyo and liftdb on one database, proved with yoyo's own library and its ``yoyo`` command.

yoyo-migrations is installed beside liftdb (the ``yoyo`` command in the same venv). Each
test drives it as a person would, on a real server, with ``sql/`` as committed or a chain
of the test's own, and checks what liftdb then says and does, and the other way round.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import psycopg
import pytest
from conftest import REPO, SQL_DIR, write_chain
from processes import (
    COMMAND_TIMEOUT,
    assert_one_line_error,
    environment,
    liftdb,
    liftdb_sleeping,
    spaced,
    start_liftdb,
    started,
    wait_for,
)

from runner import catalog, loader
from runner import yoyo as yoyo_rules
from runner.errors import UsageError

YOYO = Path(sys.executable).parent / "yoyo"
# Rounds of yoyo and liftdb started together; a longer soak: LIFTDB_YOYO_RACE_ROUNDS=50.
RACE_ROUNDS = int(os.environ.get("LIFTDB_YOYO_RACE_ROUNDS", "4"))


def yoyo_url(url: str) -> str:
    """yoyo names psycopg 3 with its own scheme; the rest of the URL is the same."""
    return "postgresql+psycopg://" + url.split("://", 1)[1]


def yoyo_command(url: str, command: str, sql_dir: Path, *args: str) -> list[str]:
    return [str(YOYO), command, "--no-config-file", "--database", yoyo_url(url), *args,
            str(sql_dir)]  # fmt: skip


def yoyo(url: str, command: str, sql_dir: Path = SQL_DIR, *args: str):
    return subprocess.run(
        yoyo_command(url, command, sql_dir, *args),
        capture_output=True,
        text=True,
        cwd=REPO,
        env=environment(),
        timeout=COMMAND_TIMEOUT,
    )


def yoyo_statuses(url: str, sql_dir: Path = SQL_DIR) -> dict[str, str]:
    """``yoyo list``: migration id -> A (applied) or U (unapplied)."""
    done = yoyo(url, "list", sql_dir)
    assert done.returncode == 0, done.stderr
    rows = [line.split() for line in done.stdout.splitlines()[2:] if line.strip()]
    return {row[1]: row[0] for row in rows}


def schema(url: str) -> dict:
    with psycopg.connect(url, autocommit=True) as conn:
        return catalog.snapshot(conn)


@pytest.fixture(scope="module")
def chain_schema(server_url) -> dict:
    """The schema liftdb's migrate of the whole chain gives, to compare yoyo's with."""
    from conftest import scratch_database

    from runner import api

    with scratch_database(server_url) as url:
        api.migrate(url, SQL_DIR)
        return schema(url)


# --- what yoyo reads, and how it keys it ----------------------------------------------


def test_yoyo_reads_sql_as_committed_as_the_chain_liftdb_reads():
    from yoyo import migrations

    chain = loader.load(SQL_DIR)
    read = migrations.read_migrations(str(SQL_DIR))
    assert [m.id for m in read] == [v.label for v in chain] == yoyo_rules.migration_ids(SQL_DIR)
    assert list(read.post_apply) == []
    assert [m.hash for m in read] == [yoyo_rules.migration_hash(v.label) for v in chain]


def test_what_yoyo_reads_as_a_migration_is_restated_exactly(tmp_path):
    from yoyo import migrations

    folder = write_chain(tmp_path / "sql", [("create_a", "SELECT 1;\n", "SELECT 2;\n")])
    (folder / "notes.sql").write_text("SELECT 3;\n")
    (folder / "seed.py").write_text("steps = []\n")
    (folder / "post-apply.sql").write_text("SELECT 4;\n")
    (folder / "_tmp_yoyonew_draft.sql").write_text("SELECT 5;\n")
    (folder / "contract.toml").write_text("")
    (folder / "README.md").write_text("")
    (folder / "folder.sql").mkdir()
    (folder / "schema").mkdir()
    (folder / "schema" / "schema.sql").write_text("SELECT 6;\n")

    read = migrations.read_migrations(str(folder))
    ids = sorted([m.id for m in read] + [m.id for m in read.post_apply])
    assert sorted(yoyo_rules.migration_ids(folder)) == ids
    assert ids == ["00001_create_a", "notes", "post-apply", "seed"]
    for path in folder.iterdir():
        taken = any(Path(m.path) == path for m in [*read, *read.post_apply])
        rollback = path.name.endswith(".rollback.sql")
        assert yoyo_rules.reads_as_migration(path) == (taken or rollback), path.name


# --- yoyo's command on sql/ as committed ----------------------------------------------


def test_yoyo_applies_lists_rolls_back_and_applies_again_sql_as_committed(
    database_url, chain_schema
):
    labels = [v.label for v in loader.load(SQL_DIR)]
    done = yoyo(database_url, "apply", SQL_DIR, "--batch")
    assert done.returncode == 0, done.stderr
    assert yoyo_statuses(database_url) == dict.fromkeys(labels, "A")
    assert catalog.differences(chain_schema, schema(database_url)) == []

    done = yoyo(database_url, "rollback", SQL_DIR, "--all", "--batch")
    assert done.returncode == 0, done.stderr
    assert yoyo_statuses(database_url) == dict.fromkeys(labels, "U")
    assert catalog.is_empty(schema(database_url))

    done = yoyo(database_url, "apply", SQL_DIR, "--batch")
    assert done.returncode == 0, done.stderr
    assert catalog.differences(chain_schema, schema(database_url)) == []


def test_liftdb_then_yoyo_rolls_back_one_then_liftdb_applies_it_again(database_url, chain_schema):
    chain = loader.load(SQL_DIR)
    assert liftdb(database_url, SQL_DIR, "migrate").returncode == 0
    assert yoyo_statuses(database_url) == {v.label: "A" for v in chain}

    done = yoyo(database_url, "rollback", SQL_DIR, "--batch")  # the newest one only
    assert done.returncode == 0, done.stderr
    newest = chain.get(chain.head)
    assert yoyo_statuses(database_url)[newest.label] == "U"
    status = liftdb(database_url, SQL_DIR, "status")
    assert f"{newest.label.replace('_', ' ', 1)} pending" in spaced(status.stdout)

    done = liftdb(database_url, SQL_DIR, "migrate")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{newest.label.replace('_', ' ', 1)} up ")
    assert liftdb(database_url, SQL_DIR, "verify").returncode == 0
    assert yoyo_statuses(database_url) == {v.label: "A" for v in chain}
    assert catalog.differences(chain_schema, schema(database_url)) == []


def test_yoyo_then_liftdb_rolls_back_one_then_yoyo_applies_it_again(database_url, chain_schema):
    chain = loader.load(SQL_DIR)
    newest = chain.get(chain.head)
    assert yoyo(database_url, "apply", SQL_DIR, "--batch").returncode == 0
    # yoyo keeps no checksum: liftdb adopts its versions once, checking the schema.
    refused = liftdb(database_url, SQL_DIR, "rollback", "--yes")
    assert_one_line_error(refused, 2, "was applied by yoyo", f"baseline --to {chain.head}")
    assert liftdb(database_url, SQL_DIR, "baseline", "--to", str(chain.head)).returncode == 0

    done = liftdb(database_url, SQL_DIR, "rollback", "--yes")
    assert done.returncode == 0, done.stderr
    assert yoyo_statuses(database_url)[newest.label] == "U"

    done = yoyo(database_url, "apply", SQL_DIR, "--batch")
    assert done.returncode == 0, done.stderr
    assert yoyo_statuses(database_url) == {v.label: "A" for v in chain}
    assert catalog.differences(chain_schema, schema(database_url)) == []
    status = liftdb(database_url, SQL_DIR, "status")
    assert f"{newest.label.replace('_', ' ', 1)} applied by yoyo" in spaced(status.stdout)


# --- the two locks see each other -------------------------------------------------------

# Each version notes that it ran, in a table without a key: a version applied twice shows.
COUNTED = [
    (
        "create_ran",
        "CREATE TABLE ran (version int NOT NULL);\nINSERT INTO ran VALUES (1);\n",
        "DROP TABLE ran;\n",
    ),
    ("second", "INSERT INTO ran VALUES (2);\n", "DELETE FROM ran WHERE version = 2;\n"),
    ("third", "INSERT INTO ran VALUES (3);\n", "DELETE FROM ran WHERE version = 3;\n"),
]


def ran(url: str) -> list[int]:
    with psycopg.connect(url, autocommit=True) as conn:
        return [n for (n,) in conn.execute("SELECT version FROM ran ORDER BY version")]


def liftdb_rows(url: str) -> list[int]:
    with psycopg.connect(url, autocommit=True) as conn:
        if conn.execute("SELECT to_regclass('liftdb_version')").fetchone()[0] is None:
            return []
        return [n for (n,) in conn.execute("SELECT version FROM liftdb_version ORDER BY 1")]


def yoyo_lock_rows(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        if conn.execute("SELECT to_regclass('yoyo_lock')").fetchone()[0] is None:
            return 0
        return conn.execute("SELECT count(*) FROM yoyo_lock").fetchone()[0]


@pytest.mark.parametrize("round_", range(RACE_ROUNDS))
def test_yoyo_and_liftdb_started_together_never_both_apply(tmp_path, server_url, round_):
    from conftest import scratch_database

    sql_dir = write_chain(tmp_path / "sql", COUNTED)
    with scratch_database(server_url) as url, ExitStack() as running:
        starts = [
            lambda: started(
                yoyo_command(url, "apply", sql_dir, "--batch"),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=environment(),
            ),
            lambda: start_liftdb(url, sql_dir, "--lock-wait", "60s", "migrate"),
        ]
        if round_ % 2:
            starts.reverse()  # the other one first
        runners = [running.enter_context(start()) for start in starts]  # killed on exit
        outcomes = [runner.communicate(timeout=COMMAND_TIMEOUT) for runner in runners]
        codes = {"yoyo" if r.args[0] == str(YOYO) else "liftdb": r.returncode for r in runners}
        detail = f"{codes} {outcomes}"
        assert ran(url) == [1, 2, 3], detail  # every version ran exactly once
        assert codes["yoyo"] == 0, detail
        if codes["liftdb"] == 0:
            assert liftdb_rows(url) == [1, 2, 3], detail  # liftdb applied them all
        else:
            assert codes["liftdb"] == 2, detail  # yoyo applied them all: liftdb adopts later
            assert liftdb_rows(url) == [], detail
        assert yoyo_statuses(url, sql_dir) == {
            "00001_create_ran": "A", "00002_second": "A", "00003_third": "A"
        }  # fmt: skip
        assert yoyo_lock_rows(url) == 0


def test_a_yoyo_that_runs_between_liftdb_reading_and_fencing_is_seen(
    tmp_path, database_url, monkeypatch
):
    """The window of the race above, made certain: a whole ``yoyo apply`` runs after
    liftdb read what was applied and before it shut yoyo out. liftdb reads again once yoyo
    is shut out: it sees yoyo's versions and refuses (exit 2, adopt them), rather than run
    them a second time on the state it read before."""
    from runner import api, plan

    sql_dir = write_chain(tmp_path / "sql", COUNTED)
    read_state, reads = plan.read_state, []

    def read_then_yoyo_runs(conn, chain):
        state = read_state(conn, chain)
        if not reads:
            done = yoyo(database_url, "apply", sql_dir, "--batch")
            assert done.returncode == 0, done.stderr
        reads.append(len(state.applied_by_yoyo))
        return state

    monkeypatch.setattr(plan, "read_state", read_then_yoyo_runs)
    with pytest.raises(UsageError, match="was applied by yoyo") as refused:
        api.migrate(database_url, sql_dir)
    assert refused.value.exit_code == 2
    assert reads == [0, 3]  # read before yoyo ran, then again once it was shut out
    assert ran(database_url) == [1, 2, 3]  # each version ran once: by yoyo
    assert liftdb_rows(database_url) == []


SLOW = [
    COUNTED[0],
    (
        "slow_for_liftdb",  # long only when liftdb runs it
        "SELECT pg_sleep(CASE current_setting('application_name') WHEN 'liftdb' THEN 60"
        " ELSE 0 END);\nINSERT INTO ran VALUES (2);\n",
        "DELETE FROM ran WHERE version = 2;\n",
    ),
]


def test_yoyo_waits_for_liftdb_and_a_killed_liftdb_leaves_it_nothing_to_break(
    tmp_path, database_url
):
    sql_dir = write_chain(tmp_path / "sql", SLOW)
    with start_liftdb(database_url, sql_dir, "migrate") as runner:  # killed on exit
        wait_for(lambda: liftdb_sleeping(database_url), "liftdb to run version 2")
        with started(
            yoyo_command(database_url, "apply", sql_dir, "--batch"),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment(),
        ) as waiting:  # fmt: skip
            time.sleep(1.5)  # yoyo polls its lock every 0.5 s: it has tried and been refused
            assert waiting.poll() is None, waiting.communicate(timeout=COMMAND_TIMEOUT)
            assert yoyo_lock_rows(database_url) == 0  # liftdb holds no row yoyo sees as stale
            assert ran(database_url) == [1]

            runner.send_signal(signal.SIGKILL)
            runner.wait(timeout=COMMAND_TIMEOUT)
            out, err = waiting.communicate(timeout=COMMAND_TIMEOUT)
            assert waiting.returncode == 0, err
    assert ran(database_url) == [1, 2]  # version 2 ran once: by yoyo, after the kill
    assert yoyo_lock_rows(database_url) == 0
    assert yoyo_statuses(database_url, sql_dir) == {
        "00001_create_ran": "A", "00002_slow_for_liftdb": "A"
    }  # fmt: skip


def test_a_yoyo_lock_left_behind_makes_liftdb_wait_then_exit_5_naming_it(tmp_path, database_url):
    sql_dir = write_chain(tmp_path / "sql", COUNTED)
    assert yoyo(database_url, "list", sql_dir).returncode == 0  # yoyo creates its lock table
    with psycopg.connect(database_url, autocommit=True) as conn:
        # What a yoyo killed while applying leaves behind.
        conn.execute("INSERT INTO yoyo_lock (locked, ctime, pid) VALUES (1, now(), 4242)")

    refused = liftdb(database_url, sql_dir, "--quiet", "--lock-wait", "1s", "migrate")
    line = assert_one_line_error(refused, 5, "yoyo (process 4242", "yoyo break-lock")
    assert line.startswith("liftdb: error: gave up after 1000 ms waiting for the migration lock")
    assert liftdb_rows(database_url) == []

    assert yoyo(database_url, "break-lock", sql_dir).returncode == 0
    done = liftdb(database_url, sql_dir, "migrate")
    assert done.returncode == 0, done.stderr
    assert ran(database_url) == [1, 2, 3]


# --- the README's example, as written ----------------------------------------------------


def readme_block(heading: str) -> list[str]:
    """The command lines of the first ``sh`` block under a README heading."""
    readme = (REPO / "README.md").read_text()
    section = readme.split(f"\n## {heading}\n", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


def test_readme_shows_yoyo_and_liftdb_taking_turns_on_one_database(database_url):
    lines = readme_block("yoyo")
    env = environment(DATABASE_URL=database_url, YOYO_URL=yoyo_url(database_url))
    env["PATH"] = f"{YOYO.parent}:{env['PATH']}"
    for line in lines:
        if line.startswith("export "):
            continue  # the example's own URLs; the test's database stands in for them
        command = line.split("  #", 1)[0].strip().replace(" sql/", f" {SQL_DIR}")
        done = subprocess.run(
            ["bash", "-c", command],
            capture_output=True, text=True, cwd=REPO, env=env, timeout=COMMAND_TIMEOUT,
        )  # fmt: skip
        assert done.returncode == 0, f"{command}: {done.stderr}"
        if command.startswith("liftdb status"):
            assert "00006 create_progression_logs pending" in spaced(done.stdout)
        if command.startswith("yoyo list"):
            assert yoyo_statuses(database_url)["00006_create_progression_logs"] == "A"
            assert yoyo_statuses(database_url)["00007_create_program_progressions"] == "U"
    assert liftdb(database_url, SQL_DIR, "verify").returncode == 0
    assert set(yoyo_statuses(database_url).values()) == {"A"}
    assert not (REPO / "yoyo.ini").exists()


def test_a_database_goose_migrated_joins_in_through_goose_adopt(tmp_path, database_url):
    """goose, liftdb and yoyo on one database: what goose applied, once adopted, is
    applied to yoyo too; liftdb applies the rest; yoyo then has nothing to do."""
    from test_goose import goose_up

    from runner import goose

    chain = loader.load(SQL_DIR)
    goose.export(SQL_DIR, tmp_path / "goose")
    goose_up(database_url, tmp_path / "goose", to=5)
    assert set(yoyo_statuses(database_url).values()) == {"U"}  # goose keeps its own table

    assert goose.adopt(database_url, SQL_DIR).marked == (1, 2, 3, 4, 5)
    assert yoyo_statuses(database_url) == {v.label: "A" if v.number <= 5 else "U" for v in chain}
    assert liftdb(database_url, SQL_DIR, "migrate").returncode == 0
    done = yoyo(database_url, "apply", SQL_DIR, "--batch")
    assert done.returncode == 0, done.stderr
    assert set(yoyo_statuses(database_url).values()) == {"A"}
    assert liftdb(database_url, SQL_DIR, "verify").returncode == 0


def test_a_yoyo_lock_table_liftdb_cannot_guard_is_refused_in_one_line(tmp_path, database_url):
    import secrets
    import uuid

    from psycopg import sql

    sql_dir = write_chain(tmp_path / "sql", COUNTED)
    assert yoyo(database_url, "list", sql_dir).returncode == 0  # yoyo_lock, the admin's
    role, password = f"liftdb_other_{uuid.uuid4().hex[:8]}", secrets.token_hex(8)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(role), sql.Literal(password)
            )
        )
        conn.execute(sql.SQL("GRANT CREATE ON SCHEMA public TO {}").format(sql.Identifier(role)))
    scheme, _, rest = database_url.partition("://")
    as_other = f"{scheme}://{role}:{password}@{rest.rpartition('@')[2]}"
    try:
        refused = liftdb(as_other, sql_dir, "migrate")
        assert_one_line_error(refused, 1, "cannot guard yoyo's lock table yoyo_lock")
        assert liftdb_rows(database_url) == []
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
