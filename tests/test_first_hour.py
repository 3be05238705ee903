"""A DBA's first hour (issue 17): where liftdb looks, which server it uses, the options
and directives it accepts, and what it says, each through the command line on a real
server where it touches one."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import click
import psycopg
import pytest
from conftest import REPO, WIDGETS, ScratchServer, free_port, server_bin_dir
from processes import (
    COMMAND_TIMEOUT,
    environment,
    invoke,
    migration_lock_holder,
    run,
    start_liftdb,
    started,
    wait_for,
)
from processes import (
    invoke_on as liftdb,
)

from runner import api, cli, database


def one_line(result) -> str:
    """The one line of stderr an error leaves, with no traceback or Python repr."""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    for python_repr in ("('", "['", "Path(", "None", "<runner."):
        assert python_repr not in lines[0], lines[0]
    return lines[0]


# --- directives: a look-alike is refused before anything runs ---------------------------

LOOKALIKES = [
    ("-- lock-timeout: 3s\n", 1, "'lock-timeout'", "lock_timeout"),
    ("-- Lock_Timeout: 3s\n", 1, "'Lock_Timeout'", "lock_timeout"),
    ("-- transactional: no\n", 1, "transactional", "'no' is not true or false"),
    ("-- why\nCREATE TABLE t (id int);\n-- lock_timeout: 3s\n", 3, "lock_timeout", "after the"),
    ("-- Transactional: false\n", 1, "'Transactional'", "transactional"),
    # a directive given twice: which one holds would be a silent guess
    ("-- transactional: false\n-- transactional: true\n", 2, "transactional", "given twice"),
    ("-- lock_timeout: 3s\n-- why\n-- lock_timeout: 3s\n", 3, "lock_timeout", "line 1"),
]


@pytest.mark.parametrize(("head", "line", "named", "says"), LOOKALIKES)
def test_a_directive_look_alike_is_an_error_naming_file_line_and_directive_before_anything_runs(
    database_url, make_chain, head, line, named, says
):
    body = "" if "CREATE" in head else "CREATE TABLE t (id int);\n"
    chain = make_chain(WIDGETS[0], ("odd", head + body, "DROP TABLE t;\n"))
    result = liftdb(database_url, chain, "migrate")
    assert result.exit_code == 1, result.output
    error = one_line(result)
    assert f"00002_odd.sql:{line}:" in error
    assert named in error and says in error
    assert api.applied_versions(database_url) == []  # not even version 1 ran


# --- where liftdb looks: the project found from the current directory ------------------

NO_SERVER_ENV = ("DATABASE_URL", *database.LIBPQ_ENV)


def project_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """An environment naming no server (the embedded one's data kept out of the project)."""
    env = {k: v for k, v in os.environ.items() if k not in NO_SERVER_ENV}
    env.pop("LIFTDB_SQL_DIR", None)
    env.pop("LIFTDB_PGDATA", None)
    env.update(NO_COLOR="1", **extra)
    return env


def test_new_writes_into_the_sql_folder_found_above_the_current_directory(tmp_path):
    (tmp_path / "project" / "sql").mkdir(parents=True)
    inside = tmp_path / "project" / "app" / "deep"
    inside.mkdir(parents=True)
    result = run(
        [sys.executable, "-m", "runner", "-v", "new", "first_table"],
        cwd=inside, env=project_env(tmp_path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    made = sorted(p.name for p in (tmp_path / "project" / "sql").iterdir())
    assert made == ["00001_first_table.rollback.sql", "00001_first_table.sql"]
    assert "migrations in" in result.stderr and "project/sql" in result.stderr
    assert "above the current directory" in result.stderr
    assert not list((REPO / "sql").glob("*first_table*"))  # not liftdb's own checkout


@pytest.mark.parametrize("length", [300, 240], ids=["both too long", "rollback too long"])
def test_new_with_a_name_the_filesystem_refuses_is_one_line_and_writes_nothing(tmp_path, length):
    # 240: the up file's name fits in 255 bytes, the rollback file's does not.
    sql_dir = tmp_path / "sql"
    sql_dir.mkdir()
    result = invoke(["--sql-dir", str(sql_dir), "new", "a" * length])
    assert result.exit_code == 1, result.output
    assert "File name too long" in one_line(result)
    assert list(sql_dir.iterdir()) == []  # never half a pair


def test_liftdb_sql_dir_names_the_migration_folder(tmp_path):
    elsewhere = tmp_path / "migrations"
    result = run(
        [sys.executable, "-m", "runner", "new", "first_table"],
        cwd=tmp_path, env=project_env(tmp_path, LIFTDB_SQL_DIR=str(elsewhere)),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (elsewhere / "00001_first_table.sql").exists()
    assert result.stdout.splitlines() == [
        "migrations/00001_first_table.sql",  # relative to the current directory
        "migrations/00001_first_table.rollback.sql",
    ]


def test_db_url_names_the_embedded_servers_data_in_the_project_found_and_starts_nothing(
    tmp_path,
):
    (tmp_path / "sql").mkdir()
    (tmp_path / "sub").mkdir()
    result = run(
        [sys.executable, "-m", "runner", "db", "url"],
        cwd=tmp_path / "sub",
        env=project_env(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert f"not running (data in {tmp_path / '.pgdata'})" in result.stdout
    assert "from the embedded server: neither $DATABASE_URL nor libpq's environment" in (
        result.stderr
    )
    assert not (tmp_path / ".pgdata").exists()  # nothing was started


# --- which server: libpq's environment selects it, as it does for psql -------------------


def libpq_environment(url: str) -> dict[str, str]:
    """The PG* variables naming what ``url`` names."""
    options = database.libpq_options(url)
    names = {"host": "PGHOST", "port": "PGPORT", "user": "PGUSER", "dbname": "PGDATABASE"}
    return {names[k]: v for k, v in options.items() if k in names}


def test_libpq_environment_selects_the_server_when_no_url_is_given(
    database_url, make_chain, tmp_path
):
    chain = make_chain()
    env = {
        "DATABASE_URL": None,
        "PGSERVICE": None,
        "PGHOSTADDR": None,
        "LIFTDB_PGDATA": str(tmp_path / "pgdata"),
        **libpq_environment(database_url),
    }
    result = invoke(["--sql-dir", str(chain), "migrate"], env=env)
    assert result.exit_code == 0, result.output
    assert api.applied_versions(database_url) == [1, 2, 3]

    said = invoke(["db", "url"], env=env)
    assert said.exit_code == 0, said.output
    assert f"dbname={database.database_name(database_url)}" in said.stdout
    assert said.stderr.startswith("from libpq's environment: $DATABASE_URL is unset")
    assert "PGHOST" in said.stderr and "PGDATABASE" in said.stderr
    assert not (tmp_path / "pgdata").exists()  # the embedded server was never started


def test_with_database_url_set_db_stop_says_the_embedded_server_is_not_in_use(
    database_url, tmp_path
):
    env = {"DATABASE_URL": database_url, "LIFTDB_PGDATA": str(tmp_path / "pgdata")}
    result = invoke(["db", "stop"], env=env)
    assert result.exit_code == 0, result.output
    assert result.stdout == "not running\n"
    assert result.stderr.startswith(
        "note: the embedded server is not the one in use: $DATABASE_URL selects postgresql://"
    )
    said = invoke(["db", "url"], env=env)
    assert said.stdout.strip() == database.mask(database_url)
    assert said.stderr.strip() == (
        "from $DATABASE_URL: $DATABASE_URL is set; it comes before libpq's PG*"
    )


# --- db wait, db create, db drop ---------------------------------------------------------


def test_db_wait_returns_once_a_starting_server_accepts_connections(server_url):
    server = ScratchServer(server_bin_dir(server_url))
    try:
        server.initdb()
        command = [sys.executable, "-m", "runner", "--database-url", server.url(), "db", "wait"]
        with started(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment()
        ) as waiting:
            time.sleep(0.5)  # it is waiting: nothing listens yet
            assert waiting.poll() is None
            server.start()
            out, err = waiting.communicate(timeout=COMMAND_TIMEOUT)
        assert waiting.returncode == 0, err
        assert "accepts connections" in out and ScratchServer.PASSWORD not in out + err
    finally:
        server.stop()


def test_db_wait_gives_up_after_its_timeout_in_one_line():
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    result = invoke(["--database-url", url, "db", "wait", "--timeout", "1s"])
    assert result.exit_code == 1
    assert "after waiting 1 s" in one_line(result)


def test_db_create_and_drop_the_database_the_url_names(server_url):
    name = f"liftdb_test_{uuid.uuid4().hex[:12]}"
    url = database.with_database(server_url, name)

    def exists() -> bool:
        with psycopg.connect(server_url, autocommit=True) as conn:
            query = "SELECT 1 FROM pg_database WHERE datname = %s"
            return conn.execute(query, (name,)).fetchone() is not None

    try:
        created = invoke(["--database-url", url, "db", "create"])
        assert created.exit_code == 0, created.output
        assert created.stdout.startswith(f"created database {name} on ")
        assert exists()
        again = invoke(["--database-url", url, "db", "create"])
        assert again.exit_code == 0 and "already exists" in again.stdout

        refused = invoke(["--database-url", url, "db", "drop"])
        assert refused.exit_code == 2
        assert "pass --yes" in one_line(refused) and name in refused.stderr
        assert exists()

        dropped = invoke(["--database-url", url, "db", "drop", "--yes"])
        assert dropped.exit_code == 0, dropped.output
        assert not exists()
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


# --- options: global ones after the command too, -h everywhere ----------------------------


def test_global_options_are_accepted_after_the_command(database_url, make_chain):
    chain = make_chain()
    result = invoke(["migrate", "--database-url", database_url, "--sql-dir", str(chain), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["command"] == "migrate"
    assert api.applied_versions(database_url) == [1, 2, 3]

    quiet = invoke(
        ["rollback", "--yes", "-q", f"--database-url={database_url}", "--sql-dir", str(chain)]
    )
    assert quiet.exit_code == 0, quiet.output
    assert quiet.output == ""
    assert api.applied_versions(database_url) == [1, 2]

    # status has a --json of its own: it stays status's (the same document either way)
    own = invoke(["--database-url", database_url, "--sql-dir", str(chain), "status", "--json"])
    assert json.loads(own.stdout)["applied"] == 2
    # an option's value that looks like a command is left where it is
    named = invoke(["--database-url", database_url, "--sql-dir", str(chain), "new", "status"])
    assert named.exit_code == 0, named.output
    assert (chain / "00004_status.sql").exists()


def every_command(group: click.Group, path: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        yield (*path, name)
        if isinstance(command, click.Group):
            yield from every_command(command, (*path, name))


@pytest.mark.parametrize("path", list(every_command(cli.cli)), ids=" ".join)
def test_dash_h_prints_help_for_every_command(path):
    result = invoke([*path, "-h"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Usage: ")
    assert result.stdout.splitlines()[0].split()[2 : 2 + len(path)] == list(path)


GROUPS = [()] + [
    path
    for path in every_command(cli.cli)
    if isinstance(cli.cli.commands[path[0]], click.Group) and len(path) == 1
]


@pytest.mark.parametrize("path", GROUPS, ids=lambda p: " ".join(("liftdb", *p)))
def test_a_group_given_no_command_shows_its_help_as_help_not_flattened_into_one_line(path):
    # `liftdb` alone is a new user's first command: its help must read as help.
    result = invoke(list(path))
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert lines[0].startswith("Usage: "), lines[0]
    assert "Commands:" in lines and len(lines) > 5, result.stderr
    assert "liftdb: usage: Usage:" not in result.stderr


# --- the data-loss guard: every statement that destroys rows ------------------------------

SETUP = (
    "create_items",
    "CREATE SCHEMA app;\n"
    "CREATE TABLE app.items (id int PRIMARY KEY, size int);\n"
    "CREATE TABLE plain (id int PRIMARY KEY);\n",
    "DROP TABLE plain;\nDROP TABLE app.items;\nDROP SCHEMA app;\n",
)
FILL = "INSERT INTO app.items VALUES (1, 10), (2, NULL); INSERT INTO plain VALUES (1), (2)"
# (rollback of version 2, what the guard says, a query whose answer the rollback changes)
DESTROYING = [
    ("ALTER TABLE app.items DROP COLUMN size;", "drop column(s) holding data: app.items.size",
     "SELECT count(*) FROM pg_attribute WHERE attrelid = 'app.items'::regclass"
     " AND attname = 'size' AND NOT attisdropped"),
    ("DROP SCHEMA app CASCADE;", "drop schema(s) with tables holding rows: app (app.items)",
     "SELECT count(*) FROM pg_namespace WHERE nspname = 'app'"),
    ("TRUNCATE plain;", "truncate table(s) holding rows: plain", "SELECT count(*) FROM plain"),
    ("DELETE FROM plain;", "delete every row of: plain", "SELECT count(*) FROM plain"),
    ("DROP TABLE plain;", "drop table(s) holding rows: plain",
     "SELECT count(*) FROM pg_class WHERE relname = 'plain'"),
]  # fmt: skip


def answer(url: str, query: str):
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(query).fetchone()[0]


@pytest.mark.parametrize(("rollback", "said", "observed"), DESTROYING, ids=lambda v: v[:24])
def test_a_rollback_destroying_rows_is_refused_naming_database_versions_and_loss(
    database_url, make_chain, rollback, said, observed
):
    chain = make_chain(SETUP, ("later", "SELECT 1;\n", rollback + "\n"))
    assert liftdb(database_url, chain, "migrate").exit_code == 0
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(FILL)
    before = answer(database_url, observed)

    refused = liftdb(database_url, chain, "rollback")
    assert refused.exit_code == 2, refused.output
    error = one_line(refused)
    masked = database.mask(database_url)
    assert f"refused: rolling back 1 version(s) (00002_later) on {masked} would {said};" in error
    assert error.endswith("nothing was changed (pass --yes to proceed)")
    assert answer(database_url, observed) == before
    assert api.applied_versions(database_url) == [1, 2]

    dry = liftdb(database_url, chain, "rollback", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert (
        f"dry run: --yes would be needed: rolling back 1 version(s) (00002_later) on {masked}"
        in dry.stderr
    )
    assert said in dry.stderr
    assert api.applied_versions(database_url) == [1, 2]

    done = liftdb(database_url, chain, "rollback", "--yes")  # the verdict, observed
    assert done.exit_code == 0, done.output
    assert answer(database_url, observed) != before
    assert api.applied_versions(database_url) == [1]


@pytest.mark.parametrize("how", [["--all"], ["--to", "0"]], ids=" ".join)
def test_rollback_to_0_asks_as_all_does(database_url, make_chain, how):
    # `--to 0` is everything (README): the same question as --all, though no table holds
    # a row.
    chain = make_chain()
    assert liftdb(database_url, chain, "migrate").exit_code == 0

    refused = liftdb(database_url, chain, "rollback", *how)
    assert refused.exit_code == 2, refused.output
    error = one_line(refused)
    assert "refused: rolling back all 3 applied version(s)" in error, error
    assert api.applied_versions(database_url) == [1, 2, 3]

    dry = liftdb(database_url, chain, "rollback", *how, "--dry-run")
    assert "dry run: --yes would be needed: rolling back all 3 applied" in dry.stderr
    assert liftdb(database_url, chain, "rollback", *how, "--yes").exit_code == 0
    assert api.applied_versions(database_url) == []


@pytest.mark.parametrize(
    "rollback",
    [
        "ALTER TABLE app.items DROP COLUMN size;",  # every value NULL after the UPDATE below
        "DELETE FROM plain WHERE id > 100;",
        "TRUNCATE app.items;",  # emptied below
        "DROP SCHEMA IF EXISTS nowhere CASCADE;",
    ],
)
def test_a_rollback_that_loses_nothing_asks_nothing(database_url, make_chain, rollback):
    chain = make_chain(SETUP, ("later", "SELECT 1;\n", rollback + "\n"))
    assert liftdb(database_url, chain, "migrate").exit_code == 0
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(FILL)
        conn.execute("UPDATE app.items SET size = NULL")
        if "TRUNCATE" in rollback:
            conn.execute("DELETE FROM app.items")
    result = liftdb(database_url, chain, "rollback")
    assert result.exit_code == 0, result.output
    assert api.applied_versions(database_url) == [1]


def test_rollback_steps_beyond_what_is_applied_is_an_error(database_url, make_chain):
    chain = make_chain()
    assert liftdb(database_url, chain, "migrate").exit_code == 0
    result = liftdb(database_url, chain, "rollback", "--steps", "4", "--yes")
    assert result.exit_code == 2
    assert "--steps 4: only 3 version(s) are applied" in one_line(result)
    assert api.applied_versions(database_url) == [1, 2, 3]
    assert liftdb(database_url, chain, "rollback", "--steps", "3", "--yes").exit_code == 0
    assert api.applied_versions(database_url) == []


# --- what it says: hints for a database built another way -----------------------------

GOOSE_TABLE = (
    "CREATE TABLE goose_db_version (id serial PRIMARY KEY, version_id bigint NOT NULL,"
    " is_applied boolean NOT NULL, tstamp timestamp DEFAULT now());"
    " INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, true), (1, true)"
)


@pytest.mark.parametrize(
    ("built", "hint"),
    [
        (GOOSE_TABLE, "has goose's goose_db_version and no liftdb bookkeeping:"
         " `liftdb goose adopt`"),
        ("SELECT 1", "tables the chain creates already exist (widgets) but no version is"
         " recorded: `liftdb baseline --to VERSION`"),
    ],
    ids=["goose", "restored"],
)  # fmt: skip
def test_a_database_built_another_way_gets_a_hint_in_status_and_when_migrate_fails(
    database_url, make_chain, built, hint
):
    chain = make_chain()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(WIDGETS[0][1])  # what version 1 made, built another way
        conn.execute(built)
    status = liftdb(database_url, chain, "status")
    assert status.exit_code == 0, status.output
    assert hint in status.stdout.splitlines()[3] and status.stdout.splitlines()[3].startswith(
        "hint: "
    )
    assert status.stdout.splitlines()[-1].startswith("0 applied, 3 pending on ")

    failed = liftdb(database_url, chain, "migrate")
    assert failed.exit_code == 1
    error = one_line(failed)
    assert 'relation "widgets" already exists' in error and "; hint: " in error and hint in error
    assert api.applied_versions(database_url) == []


def test_a_fresh_database_gets_no_hint(database_url, make_chain):
    status = liftdb(database_url, make_chain(), "status")
    assert "hint" not in status.stdout


# --- what it says: grammar, drift, the lock, aligned columns -------------------------------


def test_redo_dry_run_says_would_have_redone(database_url, make_chain):
    chain = make_chain()
    liftdb(database_url, chain, "migrate")
    result = liftdb(database_url, chain, "redo", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "dry run: would have redone 1 version(s) on " in result.stdout
    assert "redid" not in result.output


def test_verify_points_to_repair_for_an_edited_file_and_migrate_allow_drift_warns(
    database_url, make_chain
):
    chain = make_chain()
    liftdb(database_url, chain, "migrate", "--to", "2")
    edited = chain / "00001_create_widgets.sql"
    edited.write_text(edited.read_text() + "-- a comment added later\n")

    verify = liftdb(database_url, chain, "verify")
    assert verify.exit_code == 4
    error = one_line(verify)
    assert error.startswith("liftdb: error: drift: 00001_create_widgets: ")
    assert "`liftdb repair` records the files as they are now" in error

    allowed = liftdb(database_url, chain, "migrate", "--allow-drift")
    assert allowed.exit_code == 0, allowed.output
    assert allowed.stderr.splitlines() == [
        "liftdb: warning: --allow-drift: going past drift: 00001_create_widgets: "
        + verify.stderr.split("00001_create_widgets: ", 1)[1].split(";")[0]
    ]
    assert api.applied_versions(database_url) == [1, 2, 3]

    liftdb(database_url, chain, "repair")
    (chain / "00003_create_gadgets.sql").unlink()
    (chain / "00003_create_gadgets.rollback.sql").unlink()
    missing = liftdb(database_url, chain, "verify")
    assert missing.exit_code == 4
    error = one_line(missing)
    assert "00003_create_gadgets" in error and "restore the file" in error
    assert "`liftdb repair` records" not in error


def test_status_columns_are_aligned(database_url, make_chain):
    chain = make_chain(WIDGETS[0], ("x", "SELECT 1;\n", "SELECT 1;\n"), WIDGETS[2])
    liftdb(database_url, chain, "migrate", "--to", "1")
    lines = liftdb(database_url, chain, "status").stdout.splitlines()[:3]
    states = ["applied", "pending", "pending"]
    starts = {line.index(state) for line, state in zip(lines, states, strict=True)}
    assert len(starts) == 1, lines


def test_status_during_a_running_migrate_says_who_holds_the_lock(database_url, make_chain):
    chain = make_chain(("slow", "SELECT pg_sleep(60);\n", "SELECT 1;\n"))
    with start_liftdb(database_url, chain, "migrate") as running:
        pid = wait_for(lambda: migration_lock_holder(database_url), "the migrate's lock")
        status = liftdb(database_url, chain, "status")
        document = json.loads(liftdb(database_url, chain, "status", "--json").stdout)
        running.kill()
    assert status.exit_code == 0, status.output
    said = [line for line in status.stdout.splitlines() if "migration lock" in line]
    assert len(said) == 1, status.stdout
    assert said[0].startswith(f"a run is in progress: the migration lock is held by pid {pid} (")
    assert document["lock_holder"].startswith(f"pid {pid} (liftdb, ")


# --- the CLI stays thin and light -------------------------------------------------------


def test_the_cli_calls_the_library_for_goose_dump_schema_and_lint():
    """cli.py reaches goose, dump and the lint's checks only through runner.api."""
    import ast as python_ast

    tree = python_ast.parse((REPO / "runner" / "cli.py").read_text())
    imported = set()
    for node in python_ast.walk(tree):
        if isinstance(node, python_ast.ImportFrom) and node.module:
            imported |= {f"{node.module}.{alias.name}" for alias in node.names}
    reached = {name for name in imported if name.startswith("runner.")}
    modules = ("runner.goose", "runner.dump", "runner.lint.check", "runner.executor")
    calls = {name for name in reached if name.startswith(modules)}
    assert calls <= {"runner.goose.GOOSE_TABLE"}, calls  # a name for a message, no call


def test_help_version_new_and_db_url_import_neither_psycopg_nor_pglast(tmp_path):
    program = (
        "import sys\n"
        "from runner import cli\n"
        "for args in (['--help'], ['--version'], ['new', 'first'], ['migrate', '-h'],"
        " ['db', 'url']):\n"
        "    try:\n"
        "        cli.cli.main(args, prog_name='liftdb', standalone_mode=False)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('psycopg', 'pglast')))\n"
    )
    env = project_env(tmp_path, LIFTDB_SQL_DIR=str(tmp_path / "sql"))
    result = run([sys.executable, "-c", program], cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "[]"
    assert (tmp_path / "sql" / "00001_first.sql").exists()


def test_shell_completion_as_the_readme_says(tmp_path):
    liftdb_program = str(Path(sys.executable).parent / "liftdb")
    script = run([liftdb_program], env=project_env(tmp_path, _LIFTDB_COMPLETE="bash_source"))
    assert script.returncode == 0 and "_liftdb_completion()" in script.stdout
    env = project_env(
        tmp_path, _LIFTDB_COMPLETE="bash_complete", COMP_WORDS="liftdb db w", COMP_CWORD="2"
    )
    assert run([liftdb_program], env=env).stdout.split() == ["plain,wait"]


def test_the_readme_commands_block_names_every_command():
    readme = (REPO / "README.md").read_text()
    block = readme.split("## Commands", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    for path in every_command(cli.cli):
        assert path[-1] in block, f"liftdb {' '.join(path)} is not in README's Commands block"


def test_the_readme_names_every_environment_variable_liftdb_reads():
    readme = (REPO / "README.md").read_text()
    table = readme.split("### Environment variables", 1)[1].split("\n\n", 2)[1]
    found = set()
    for source in (REPO / "runner").rglob("*.py"):
        text = source.read_text()
        found |= set(re.findall(r"environ(?:\.get)?\(\s*\"([A-Z_]+)\"", text))
        found |= set(re.findall(r"environ\[\"([A-Z_]+)\"\]", text))
    found |= {"DATABASE_URL", "LIFTDB_POOL_MODE", "LIFTDB_SQL_DIR", "LIFTDB_PGDATA"}
    found |= set(database.LIBPQ_ENV)
    missing = sorted(name for name in found if f"`{name}`" not in table)
    assert not missing, missing


def test_paths_under_the_current_directory_are_shown_relative_also_in_yoyos_log(
    database_url, make_chain, tmp_path
):
    chain = make_chain()
    assert chain.parent == tmp_path

    def liftdb_here(*args: str):
        argv = [sys.executable, "-m", "runner", "--database-url", database_url, *args]
        return run(argv, cwd=tmp_path, env=environment())

    assert liftdb_here("migrate", "--to", "2").returncode == 0
    edited = chain / "00001_create_widgets.sql"
    edited.write_text(edited.read_text() + "-- edited\n")
    verify = liftdb_here("verify")
    assert "drift: 00001_create_widgets: sql/00001_create_widgets.sql changed" in verify.stderr
    assert liftdb_here("repair").returncode == 0
    with psycopg.connect(database_url, autocommit=True) as conn:
        comments = conn.execute("SELECT comment FROM _yoyo_log WHERE comment IS NOT NULL")
        assert [c for (c,) in comments] == [
            "liftdb repair: sql/00001_create_widgets.sql changed since it was applied"
        ]
    (chain / "00003_create_gadgets.sql").write_text("CREATE TABLE widgets (id int);\n")
    failed = liftdb_here("migrate")
    assert failed.stderr.startswith("liftdb: error: sql/00003_create_gadgets.sql:1: ")
    status = liftdb_here("status")
    assert status.stdout.splitlines()[-1].endswith(" (sql)")


def test_db_wait_does_not_wait_for_a_server_that_refuses_the_login(scratch_server):
    url = scratch_server.url(password="not-the-password")
    result = invoke(["--database-url", url, "db", "wait", "--timeout", "30s"])
    assert result.exit_code == 1
    error = one_line(result)
    assert "password authentication failed" in error and "after waiting" not in error
    assert "not-the-password" not in result.output


@pytest.mark.parametrize("name", ["00001_typo.sql", "no_such_folder"])
def test_lint_of_a_path_that_does_not_exist_is_a_usage_error_naming_it(tmp_path, name):
    # A mistyped file is not "migration folder not found", nor a lint finding (exit 1).
    missing = tmp_path / name
    result = invoke(["lint", str(missing)])
    assert result.exit_code == 2, result.output
    line = one_line(result)
    assert f"'{missing}' does not exist" in line, line


@pytest.mark.parametrize(
    "args",
    [["--sql-dir", "{long}", "status"], ["goose", "export", "{long}"], ["new", "x"]],
    ids=["sql-dir", "goose export", "new in it"],
)
def test_a_path_the_filesystem_refuses_is_one_line_not_a_traceback(tmp_path, args):
    # A path component longer than the filesystem takes (ENAMETOOLONG), wherever it is met.
    long = str(tmp_path / ("d" * 300))
    args = [a.replace("{long}", long) for a in args]
    if args[0] == "new":
        args = ["--sql-dir", long, *args]
    result = invoke(args)
    assert result.exit_code == 1, result.output
    assert "File name too long" in one_line(result)


def test_db_create_and_drop_work_on_a_server_whose_postgres_database_was_dropped(
    scratch_server,
):
    # PostgreSQL lets a DBA drop `postgres`; createdb and dropdb then connect to template1.
    postgres, other = scratch_server.url(), scratch_server.url(database="liftdb_other")
    template1 = scratch_server.url(database="template1")
    try:
        assert invoke(["--database-url", postgres, "db", "drop", "--yes"]).exit_code == 0
        assert answer(template1, "SELECT count(*) FROM pg_database WHERE datname = 'postgres'") == 0
        created = invoke(["--database-url", other, "db", "create"])
        assert created.exit_code == 0, created.output
        assert answer(other, "SELECT current_database()") == "liftdb_other"
        dropped = invoke(["--database-url", other, "db", "drop", "--yes"])
        assert dropped.exit_code == 0, dropped.output
        assert (
            answer(template1, "SELECT count(*) FROM pg_database WHERE datname LIKE 'liftdb_o%'")
            == 0
        )
    finally:
        with psycopg.connect(template1, autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = 'postgres'").fetchone():
                conn.execute("CREATE DATABASE postgres")
            conn.execute("DROP DATABASE IF EXISTS liftdb_other")
