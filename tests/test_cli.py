"""Every liftdb command and every error, through the command line (click's CliRunner),
against a real server: what is printed, the exit code, and what the database holds after.

Each test applies a small chain of its own (``make_chain``) to a fresh database. The
URL carries a password the server does not need (trust authentication): no output may
show it.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from conftest import SQL_DIR, WIDGETS
from processes import invoke, invoke_on, spaced

from runner import api, catalog, cli, loader

SECRET = "s3cret-Pa55"


def with_password(url: str) -> str:
    parts = urlsplit(url)
    user, _, host = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=f"{user or 'postgres'}:{SECRET}@{host}"))


@pytest.fixture
def url(database_url):
    return with_password(database_url)


def liftdb(url: str, sql_dir, *args: str, input: str | None = None):
    result = invoke_on(url, sql_dir, *args, input=input)
    assert SECRET not in result.output
    return result


def error_of(result) -> str:
    """The one line of stderr an error leaves."""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def recorded(url: str) -> list[int]:
    return api.applied_versions(url)


def rows(url: str, query: str) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(query).fetchall()


# --- migrate ----------------------------------------------------------------------------


def test_migrate_prints_a_line_per_version_and_a_summary_with_the_password_masked(url, make_chain):
    result = liftdb(url, make_chain(), "migrate")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.rsplit(" ", 2)[0] for line in lines[:3]] == [
        "00001 create_widgets up",
        "00002 add_widget_size up",
        "00003 create_gadgets up",
    ]
    assert all(line.endswith(" ms") for line in lines[:3])
    assert lines[3].startswith("applied 3 version(s) on postgresql://postgres:***@")
    assert len(lines) == 4
    assert recorded(url) == [1, 2, 3]

    again = liftdb(url, make_chain(), "migrate")
    assert again.exit_code == 0
    assert again.stdout.startswith("nothing to do: postgresql://postgres:***@")


def test_migrate_to_stops_at_that_version_and_an_unknown_one_is_a_usage_error(url, make_chain):
    assert liftdb(url, make_chain(), "migrate", "--to", "2").exit_code == 0
    assert recorded(url) == [1, 2]
    result = liftdb(url, make_chain(), "migrate", "--to", "9")
    assert result.exit_code == 2
    assert "unknown version 9" in error_of(result)
    assert recorded(url) == [1, 2]


# A version named as the files name it, wherever a version number is taken: its label,
# its up or rollback file's name, or that file's path (as a shell completes it).
AS_NAMED = ["00002_add_widget_size", "00002_add_widget_size.sql",
            "00002_add_widget_size.rollback.sql", "sql/00002_add_widget_size.sql"]  # fmt: skip


@pytest.mark.parametrize("named", AS_NAMED)
def test_a_version_is_taken_by_its_label_or_file_name_wherever_a_number_is(url, make_chain, named):
    sql_dir = make_chain()
    assert liftdb(url, sql_dir, "migrate", "--to", named).exit_code == 0
    assert recorded(url) == [1, 2]
    based = liftdb(url, sql_dir, "baseline", "--to", named, "--dry-run")
    assert based.exit_code == 0, based.output
    assert based.stdout.startswith("nothing to do: every version up to 2 is recorded")
    assert liftdb(url, sql_dir, "migrate").exit_code == 0
    rolled = liftdb(url, sql_dir, "rollback", "--to", named)
    assert rolled.exit_code == 0, rolled.output
    assert recorded(url) == [1, 2]


@pytest.mark.parametrize(
    ("named", "says"),
    [
        ("00002_add_gadgets", "00002_add_gadgets is not a version of"),
        ("00002_add_widget_size.txt", "'00002_add_widget_size.txt' is not a version number,"),
        ("add_widget_size", "'add_widget_size' is not a version number,"),
        ("00009_add_widget_size", "unknown version 00009_add_widget_size:"),
    ],
)
@pytest.mark.parametrize("command", ["migrate", "rollback", "baseline"])
def test_a_label_that_is_not_the_version_at_its_number_is_refused(
    url, make_chain, command, named, says
):
    sql_dir = make_chain()
    assert liftdb(url, sql_dir, "migrate", "--to", "1").exit_code == 0
    result = liftdb(url, sql_dir, command, "--to", named)
    assert result.exit_code == 2
    line = error_of(result)
    assert says in line
    if "is not a version of" in says:
        assert line.endswith(f"{sql_dir}: version 2 there is 00002_add_widget_size")
    assert recorded(url) == [1]


def test_migrate_to_an_applied_version_does_not_claim_the_database_is_up_to_date(url, make_chain):
    sql_dir = make_chain()
    assert liftdb(url, sql_dir, "migrate", "--to", "2").exit_code == 0
    result = liftdb(url, sql_dir, "migrate", "--to", "1")
    assert result.exit_code == 0
    assert "up to date" not in result.stdout  # version 3 is still pending
    assert result.stdout.startswith(
        "nothing to do up to version 1: it and every version before it are applied on"
    )
    assert recorded(url) == [1, 2]
    nothing = liftdb(url, sql_dir, "migrate", "--to", "0")
    assert nothing.exit_code == 0
    assert nothing.stdout.startswith("nothing to do: --to 0 applies no version to ")
    assert recorded(url) == [1, 2]


def test_migrate_json_is_one_document(url, make_chain):
    result = liftdb(url, make_chain(), "--json", "migrate")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["command"] == "migrate"
    assert SECRET not in document["database"] and "***" in document["database"]
    assert [(v["version"], v["direction"]) for v in document["versions"]] == [
        (1, "up"),
        (2, "up"),
        (3, "up"),
    ]
    assert all(isinstance(v["duration_ms"], int) for v in document["versions"])


def test_verbose_names_the_file_each_version_ran(url, make_chain):
    sql_dir = make_chain()
    result = liftdb(url, sql_dir, "--verbose", "migrate", "--to", "1")
    assert result.stdout.splitlines()[0].endswith(f" ms ({sql_dir}/00001_create_widgets.sql)")


def test_quiet_prints_nothing_on_success(url, make_chain):
    result = liftdb(url, make_chain(), "--quiet", "migrate")
    assert result.exit_code == 0
    assert result.output == ""
    assert recorded(url) == [1, 2, 3]


def test_dry_run_prints_the_statements_in_order_and_changes_nothing(url, make_chain):
    sql_dir = make_chain()
    liftdb(url, sql_dir, "migrate", "--to", "1")
    with psycopg.connect(url, autocommit=True) as conn:
        before = catalog.snapshot(conn)
        result = liftdb(url, sql_dir, "migrate", "--dry-run")
        assert catalog.differences(before, catalog.snapshot(conn)) == []
    assert result.exit_code == 0
    text = result.stdout
    expected_order = [
        "BEGIN;",
        "SET LOCAL lock_timeout = '100ms';",  # the first attempt's (runner.retry)
        "ALTER TABLE widgets ADD COLUMN size int;",
        "-- liftdb: record 00002_add_widget_size as applied",
        "COMMIT;",
        "CREATE TABLE gadgets (",
        "-- liftdb: record 00003_create_gadgets as applied",
    ]
    positions = [text.index(line) for line in expected_order]
    assert positions == sorted(positions)
    assert "CREATE TABLE widgets" not in text  # already applied
    assert text.splitlines()[-1].startswith("dry run: would have applied 2 version(s)")
    assert recorded(url) == [1]


def test_dry_run_on_an_empty_database_creates_not_even_the_bookkeeping(url, make_chain):
    result = liftdb(url, make_chain(), "rollback", "--dry-run")
    assert result.exit_code == 0
    assert rows(url, "SELECT to_regclass('liftdb_version'), to_regclass('_yoyo_migration')") == [
        (None, None)
    ]


# --- errors from statements -------------------------------------------------------------


def test_a_failing_statement_is_named_by_file_line_and_constraint_and_nothing_of_it_stays(
    url, make_chain
):
    sql_dir = make_chain(
        WIDGETS[0],
        (
            "add_widgets",
            "-- two widgets with one id\n"
            "INSERT INTO widgets (id, name) VALUES (1, 'first');\n"
            "\n"
            "INSERT INTO widgets (id, name)\n"
            "    VALUES (1, 'second');\n",
            "DELETE FROM widgets;\n",
        ),
    )
    result = liftdb(url, sql_dir, "migrate")
    assert result.exit_code == 1
    assert error_of(result) == (
        f"liftdb: error: {sql_dir}/00002_add_widgets.sql:4: INSERT INTO widgets (id, name):"
        ' duplicate key value violates unique constraint "widgets_pkey" [23505]'
        " constraint widgets_pkey; 00002_add_widgets was not applied"
    )
    assert result.stdout.startswith("00001 create_widgets up")
    assert recorded(url) == [1]
    assert rows(url, "SELECT count(*) FROM widgets") == [(0,)]


def test_a_message_over_several_lines_is_printed_on_one(url, make_chain):
    sql_dir = make_chain(
        ("fails", "DO $$ BEGIN RAISE EXCEPTION E'first line\\nsecond line'; END $$;\n", "")
    )
    result = liftdb(url, sql_dir, "migrate")
    assert result.exit_code == 1
    assert "first line second line [P0001]" in error_of(result)


def test_a_syntax_error_in_any_file_the_run_needs_refuses_before_anything_runs(url, make_chain):
    sql_dir = make_chain(
        WIDGETS[0], ("broken", "ALTER TABLE widgets\n  ADD COLUMN size int,,;\n", "SELECT 1;\n")
    )
    with psycopg.connect(url, autocommit=True) as conn:
        before = catalog.snapshot(conn)
        result = liftdb(url, sql_dir, "migrate")
        assert catalog.differences(before, catalog.snapshot(conn)) == []
    assert result.exit_code == 1
    assert error_of(result) == (
        f'liftdb: error: {sql_dir}/00002_broken.sql:2:23: syntax error at or near ","'
    )
    assert recorded(url) == []


def test_a_syntax_error_in_a_rollback_file_refuses_the_rollback(url, make_chain):
    sql_dir = make_chain(*WIDGETS)
    liftdb(url, sql_dir, "migrate")
    (sql_dir / "00003_create_gadgets.rollback.sql").write_text("DROP TABLE gadgets\n;;\nDROP (\n")
    result = liftdb(url, sql_dir, "--allow-drift", "rollback")
    assert result.exit_code == 1
    assert "00003_create_gadgets.rollback.sql:3:" in error_of(result)
    assert recorded(url) == [1, 2, 3]


# --- drift, order -----------------------------------------------------------------------


def test_an_edited_applied_file_is_drift_exit_4_naming_it_unless_allowed(url, make_chain):
    sql_dir = make_chain(*WIDGETS[:2])
    liftdb(url, sql_dir, "migrate")
    edited = sql_dir / "00001_create_widgets.sql"
    edited.write_text(edited.read_text() + "-- an afterthought\n")
    write_third = sql_dir / "00003_create_gadgets.sql"
    write_third.write_text(WIDGETS[2][1])
    (sql_dir / "00003_create_gadgets.rollback.sql").write_text(WIDGETS[2][2])

    for command in (["migrate"], ["rollback"], ["verify"]):
        result = liftdb(url, sql_dir, *command)
        assert result.exit_code == 4, command
        assert f"{edited} changed since it was applied" in error_of(result)
    assert recorded(url) == [1, 2]

    status = liftdb(url, sql_dir, "status")
    assert status.exit_code == 4
    assert liftdb(url, sql_dir, "status", "--exit-code").exit_code == 4
    assert liftdb(url, sql_dir, "--allow-drift", "status").exit_code == 0
    assert "00001 create_widgets applied" in spaced(status.stdout)
    assert f"drift: {edited} changed since it was applied" in status.stdout

    result = liftdb(url, sql_dir, "--allow-drift", "migrate")
    assert result.exit_code == 0
    assert recorded(url) == [1, 2, 3]


def test_an_edited_rollback_file_is_drift_too(url, make_chain):
    sql_dir = make_chain()
    liftdb(url, sql_dir, "migrate")
    edited = sql_dir / "00002_add_widget_size.rollback.sql"
    edited.write_text("ALTER TABLE widgets DROP COLUMN size CASCADE;\n")
    result = liftdb(url, sql_dir, "verify")
    assert result.exit_code == 4
    assert f"{edited} changed since it was applied" in error_of(result)


def test_a_version_applied_but_missing_from_disk_is_drift(url, make_chain):
    sql_dir = make_chain()
    liftdb(url, sql_dir, "migrate")
    (sql_dir / "00003_create_gadgets.sql").unlink()
    (sql_dir / "00003_create_gadgets.rollback.sql").unlink()
    result = liftdb(url, sql_dir, "migrate")
    assert result.exit_code == 4
    assert "00003_create_gadgets: applied but missing from" in error_of(result)
    status = liftdb(url, sql_dir, "status")
    assert "00003 create_gadgets missing" in spaced(status.stdout)
    # Allowed drift lets the rest proceed, but what is not on disk cannot be rolled back.
    result = liftdb(url, sql_dir, "--allow-drift", "rollback")
    assert result.exit_code == 4
    assert "version 3 is applied but missing" in error_of(result)


# --- repair -----------------------------------------------------------------------------


def checksums(url: str) -> list[tuple]:
    return rows(url, "SELECT version, up_sha256, rollback_sha256 FROM liftdb_version ORDER BY 1")


@pytest.fixture
def applied_then_edited(url, make_chain):
    """The widgets chain applied, then its first up file given a new comment."""
    sql_dir = make_chain()
    liftdb(url, sql_dir, "migrate")
    up = sql_dir / "00001_create_widgets.sql"
    up.write_text(up.read_text() + "-- edited\n")
    return sql_dir


def test_repair_records_files_edited_on_purpose_and_runs_none_of_them(url, make_chain):
    sql_dir = make_chain()
    liftdb(url, sql_dir, "migrate")
    up = sql_dir / "00001_create_widgets.sql"
    up.write_text(up.read_text() + "-- a corrected comment\nCREATE TABLE never_run (id int);\n")
    rollback = sql_dir / "00002_add_widget_size.rollback.sql"
    rollback.write_text("ALTER TABLE widgets DROP COLUMN IF EXISTS size;\n")
    before = checksums(url)
    assert liftdb(url, sql_dir, "migrate").exit_code == 4

    dry = liftdb(url, sql_dir, "repair", "--dry-run")
    assert dry.exit_code == 0
    assert dry.stdout.splitlines() == [
        f"00001_create_widgets: would record its files as they are now ({up} changed since it"
        " was applied)",
        f"00002_add_widget_size: would record its files as they are now ({rollback} changed"
        " since it was applied)",
        dry.stdout.splitlines()[-1],
    ]
    assert dry.stdout.splitlines()[-1].startswith("dry run: would have repaired 2 version(s)")
    assert checksums(url) == before

    result = liftdb(url, sql_dir, "repair")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1].startswith("repaired 2 version(s) on ")
    assert checksums(url) != before
    assert liftdb(url, sql_dir, "verify").exit_code == 0
    assert liftdb(url, sql_dir, "migrate").exit_code == 0
    assert rows(url, "SELECT to_regclass('never_run')") == [(None,)]  # recorded, not run
    assert rows(
        url, "SELECT migration_id, comment FROM _yoyo_log WHERE operation = 'mark' ORDER BY 1"
    ) == [
        ("00001_create_widgets", f"liftdb repair: {up} changed since it was applied"),
        ("00002_add_widget_size", f"liftdb repair: {rollback} changed since it was applied"),
    ]
    again = liftdb(url, sql_dir, "repair")
    assert again.stdout.startswith("nothing to repair: every applied version matches its files")
    # The repaired rollback is the one that runs.
    assert liftdb(url, sql_dir, "rollback", "--to", "1", "--yes").exit_code == 0
    assert recorded(url) == [1]


def test_repair_refuses_a_version_missing_from_disk_and_changes_nothing(url, applied_then_edited):
    sql_dir = applied_then_edited
    (sql_dir / "00003_create_gadgets.sql").unlink()
    (sql_dir / "00003_create_gadgets.rollback.sql").unlink()
    before = checksums(url)
    result = liftdb(url, sql_dir, "repair")
    assert result.exit_code == 4
    assert error_of(result).startswith(
        "liftdb: error: drift: 00003_create_gadgets: applied but missing from "
    )
    assert "nothing was changed" in error_of(result)
    assert checksums(url) == before


def test_repair_refuses_a_file_that_does_not_parse(url, make_chain):
    sql_dir = make_chain()
    liftdb(url, sql_dir, "migrate")
    rollback = sql_dir / "00002_add_widget_size.rollback.sql"
    rollback.write_text("ALTER TABLE widgets DROP COLUMN;\n")
    before = checksums(url)
    result = liftdb(url, sql_dir, "repair")
    assert result.exit_code == 1
    assert error_of(result).startswith(f"liftdb: error: {rollback}:1:")
    assert checksums(url) == before


def test_repair_waits_for_the_migration_lock_and_gives_up_with_exit_5(url, applied_then_edited):
    from runner import lock

    before = checksums(url)
    with psycopg.connect(url, autocommit=True) as holder:
        assert lock.try_acquire(holder)
        result = liftdb(url, applied_then_edited, "--lock-wait", "200ms", "repair")
    assert result.exit_code == 5
    assert "waiting for the migration lock" in result.stderr
    assert checksums(url) == before


def test_repair_json_is_one_document(url, applied_then_edited):
    document = json.loads(liftdb(url, applied_then_edited, "--json", "repair").stdout)
    assert document["command"] == "repair"
    assert document["dry_run"] is False
    assert [v["version"] for v in document["versions"]] == [1]
    assert document["summary"].startswith("repaired 1 version(s) on ")
    assert SECRET not in document["database"]


# --- baseline ---------------------------------------------------------------------------


def run_files_by_hand(url: str, *files) -> None:
    """What a person does without liftdb: run the SQL, record nothing."""
    with psycopg.connect(url, autocommit=True) as conn:
        for path in files:
            conn.execute(path.read_text())


def test_baseline_adopts_a_database_made_from_schema_sql(url):
    run_files_by_hand(url, SQL_DIR / "schema" / "schema.sql")
    head = loader.load(SQL_DIR).head
    result = liftdb(url, SQL_DIR, "baseline", "--to", str(head))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1].startswith(f"baselined {head} version(s); ")
    assert recorded(url) == list(range(1, head + 1))
    assert liftdb(url, SQL_DIR, "verify").exit_code == 0
    assert liftdb(url, SQL_DIR, "migrate").stdout.startswith("nothing to do: ")
    # Recorded as if liftdb had applied them: the newest rolls back.
    assert liftdb(url, SQL_DIR, "rollback", "--yes").exit_code == 0
    assert recorded(url) == list(range(1, head))


def test_baseline_refuses_a_schema_that_is_not_the_chains_at_that_version(url, make_chain):
    sql_dir = make_chain()
    run_files_by_hand(
        url, sql_dir / "00001_create_widgets.sql", sql_dir / "00002_add_widget_size.sql"
    )
    dry = liftdb(url, sql_dir, "baseline", "--to", "3", "--dry-run")
    assert dry.exit_code == 1
    assert "is not the chain's at version 3, so nothing was recorded: " in error_of(dry)
    assert "gadgets" in error_of(dry)
    result = liftdb(url, sql_dir, "baseline", "--to", "3")
    assert result.exit_code == 1
    assert recorded(url) == []

    dry = liftdb(url, sql_dir, "baseline", "--to", "2", "--dry-run")
    assert dry.exit_code == 0
    assert "would have recorded 2 version(s); nothing was changed" in dry.stdout
    assert recorded(url) == []
    assert liftdb(url, sql_dir, "baseline", "--to", "2").exit_code == 0
    assert recorded(url) == [1, 2]
    assert liftdb(url, sql_dir, "migrate").exit_code == 0  # 3 is applied for real
    assert recorded(url) == [1, 2, 3]
    assert rows(url, "SELECT to_regclass('gadgets') IS NOT NULL") == [(True,)]


def test_baseline_refuses_an_unknown_version_or_one_below_what_is_applied(url, make_chain):
    sql_dir = make_chain()
    unknown = liftdb(url, sql_dir, "baseline", "--to", "9")
    assert unknown.exit_code == 2
    assert "unknown version 9" in error_of(unknown)
    liftdb(url, sql_dir, "migrate")
    below = liftdb(url, sql_dir, "baseline", "--to", "2")
    assert below.exit_code == 2
    assert "is already at version 3, past 2" in error_of(below)
    same = liftdb(url, sql_dir, "--json", "baseline", "--to", "3")
    assert same.exit_code == 0
    document = json.loads(same.stdout)
    assert (document["command"], document["recorded"], document["version"]) == ("baseline", [], 3)
    assert document["summary"].startswith("nothing to do: every version up to 3 is recorded")


def test_a_database_yoyo_migrated_is_refused_until_baseline_adopts_it(url, make_chain):
    from yoyo import get_backend, read_migrations

    sql_dir = make_chain()
    backend = get_backend(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        migrations = read_migrations(str(sql_dir))
        with backend.lock():
            backend.apply_migrations(backend.to_apply(migrations)[:2])
    finally:
        backend.connection.close()

    status = liftdb(url, sql_dir, "status")
    assert spaced(status.stdout).splitlines()[:3] == [
        "00001 create_widgets applied by yoyo (no checksum: `liftdb baseline --to 2` adopts it)",
        "00002 add_widget_size applied by yoyo (no checksum: `liftdb baseline --to 2` adopts it)",
        "00003 create_gadgets pending",
    ]
    assert liftdb(url, sql_dir, "status", "--exit-code").exit_code == 3
    for command in (["migrate"], ["rollback"], ["--allow-drift", "migrate"]):
        result = liftdb(url, sql_dir, *command)
        assert result.exit_code == 2, command
        assert error_of(result) == (
            "liftdb: error: 00001_create_widgets (and 1 more) was applied by yoyo, which records"
            " no checksum: adopt it with `liftdb baseline --to 2` (which checks the schema"
            " first); nothing was changed"
        )
    assert recorded(url) == []

    # A yoyo migration of some other chain in the same database is not liftdb's concern.
    rows(
        url,
        "INSERT INTO _yoyo_migration VALUES (md5('x'), 'other_app_0001', now()) RETURNING 1",
    )
    assert liftdb(url, sql_dir, "baseline", "--to", "2").exit_code == 0
    assert liftdb(url, sql_dir, "migrate").exit_code == 0
    assert recorded(url) == [1, 2, 3]
    assert liftdb(url, sql_dir, "verify").exit_code == 0
    assert rows(url, "SELECT count(*) FROM _yoyo_migration") == [(4,)]
    assert rows(url, "SELECT operation, count(*) FROM _yoyo_log GROUP BY 1 ORDER BY 1") == [
        ("apply", 3),  # yoyo's two, liftdb's one
        ("mark", 2),  # baseline's: recorded, not run
    ]


def test_a_pending_version_older_than_an_applied_one_is_refused(url, make_chain):
    sql_dir = make_chain()
    liftdb(url, sql_dir, "migrate")
    # The bookkeeping of a database where version 3 came from a branch that did not have
    # version 2 yet: 1 and 3 recorded, 2 not.
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DELETE FROM liftdb_version WHERE version = 2")
        conn.execute("DELETE FROM _yoyo_migration WHERE migration_id = '00002_add_widget_size'")
    result = liftdb(url, sql_dir, "migrate")
    assert result.exit_code == 1
    assert error_of(result) == (
        f"liftdb: error: {sql_dir}/00002_add_widget_size.sql: pending version 2 is older than"
        " applied version 3; renumber it after 3 to apply it"
    )
    assert "out of order" in liftdb(url, sql_dir, "status").stdout
    # Rolling back the newer version is the way out, and is allowed.
    assert liftdb(url, sql_dir, "rollback").exit_code == 0
    with psycopg.connect(url, autocommit=True) as conn:  # 2's column is still there
        conn.execute("ALTER TABLE widgets DROP COLUMN size")
    assert liftdb(url, sql_dir, "migrate").exit_code == 0
    assert recorded(url) == [1, 2, 3]


# --- rollback, redo ---------------------------------------------------------------------


def test_rollback_steps_to_and_all(url, make_chain):
    sql_dir = make_chain()
    liftdb(url, sql_dir, "migrate")
    result = liftdb(url, sql_dir, "rollback")
    assert [line.rsplit(" ", 2)[0] for line in result.stdout.splitlines()[:1]] == [
        "00003 create_gadgets down"
    ]
    assert recorded(url) == [1, 2]
    liftdb(url, sql_dir, "migrate")
    assert liftdb(url, sql_dir, "rollback", "--steps", "2").exit_code == 0
    assert recorded(url) == [1]
    liftdb(url, sql_dir, "migrate")
    assert liftdb(url, sql_dir, "rollback", "--to", "1").exit_code == 0
    assert recorded(url) == [1]
    assert liftdb(url, sql_dir, "rollback", "--all", "--yes").exit_code == 0
    assert recorded(url) == []
    with psycopg.connect(url, autocommit=True) as conn:
        assert catalog.is_empty(catalog.snapshot(conn))


def test_rollback_options_that_contradict_are_a_usage_error(url, make_chain):
    sql_dir = make_chain()
    liftdb(url, sql_dir, "migrate")
    result = liftdb(url, sql_dir, "rollback", "--steps", "1", "--to", "1")
    assert result.exit_code == 2
    assert error_of(result) == "liftdb: error: give one of --steps, --to and --all"
    assert recorded(url) == [1, 2, 3]


def test_rollback_all_is_refused_off_a_terminal_without_yes(url, make_chain):
    sql_dir = make_chain()
    liftdb(url, sql_dir, "migrate")
    result = liftdb(url, sql_dir, "rollback", "--all")
    assert result.exit_code == 2
    assert error_of(result) == (
        "liftdb: error: refused: rolling back all 3 applied version(s) (00003_create_gadgets,"
        " 00002_add_widget_size, 00001_create_widgets) on postgresql://postgres:***@"
        + url.split("@", 1)[1]
        + "; nothing was changed (pass --yes to proceed)"
    )
    assert recorded(url) == [1, 2, 3]


def test_rollback_dropping_a_table_with_rows_names_it_and_needs_yes(url, make_chain):
    sql_dir = make_chain()
    liftdb(url, sql_dir, "migrate")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO widgets (id, name) VALUES (1, 'kept')")
    assert liftdb(url, sql_dir, "rollback").exit_code == 0  # gadgets is empty: no question
    result = liftdb(url, sql_dir, "rollback", "--to", "0")
    assert result.exit_code == 2
    assert "drop table(s) holding rows: widgets;" in error_of(result)
    assert recorded(url) == [1, 2]
    assert rows(url, "SELECT name FROM widgets") == [("kept",)]
    assert liftdb(url, sql_dir, "rollback", "--to", "0", "--yes").exit_code == 0
    assert recorded(url) == []


def test_on_a_terminal_the_rollback_asks_and_a_no_changes_nothing(url, make_chain, monkeypatch):
    sql_dir = make_chain()
    liftdb(url, sql_dir, "migrate")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO widgets (id, name) VALUES (1, 'kept')")
    monkeypatch.setattr(cli, "stdin_is_terminal", lambda: True)
    result = liftdb(url, sql_dir, "rollback", "--all", input="n\n")
    assert "drop table(s) holding rows: widgets. Proceed? [y/N]" in result.stderr
    assert result.exit_code == 2
    assert recorded(url) == [1, 2, 3]
    result = liftdb(url, sql_dir, "rollback", "--all", input="y\n")
    assert result.exit_code == 0
    assert recorded(url) == []


def test_redo_rolls_back_the_newest_version_and_applies_it_again(url, make_chain):
    sql_dir = make_chain()
    liftdb(url, sql_dir, "migrate")
    result = liftdb(url, sql_dir, "redo")
    assert result.exit_code == 0
    assert [line.rsplit(" ", 2)[0] for line in result.stdout.splitlines()[:2]] == [
        "00003 create_gadgets down",
        "00003 create_gadgets up",
    ]
    assert "redid 1 version(s)" in result.stdout
    assert recorded(url) == [1, 2, 3]


def test_redo_with_nothing_applied_is_a_usage_error(url, make_chain):
    result = liftdb(url, make_chain(), "redo")
    assert result.exit_code == 2
    assert error_of(result) == "liftdb: error: nothing to redo: no version is applied"


# --- status, verify, new ----------------------------------------------------------------


def test_status_lists_applied_and_pending_and_exit_code_gates_on_pending(url, make_chain):
    sql_dir = make_chain()
    liftdb(url, sql_dir, "migrate", "--to", "1")
    result = liftdb(url, sql_dir, "status")
    assert result.exit_code == 0
    lines = spaced(result.stdout).splitlines()
    assert lines[0].startswith("00001 create_widgets applied 20")
    assert lines[1:3] == ["00002 add_widget_size pending", "00003 create_gadgets pending"]
    assert lines[3].startswith("1 applied, 2 pending on postgresql://postgres:***@")
    assert liftdb(url, sql_dir, "status", "--exit-code").exit_code == 3
    liftdb(url, sql_dir, "migrate")
    assert liftdb(url, sql_dir, "status", "--exit-code").exit_code == 0


def test_status_json_shape(url, make_chain):
    sql_dir = make_chain()
    liftdb(url, sql_dir, "migrate", "--to", "2")
    document = json.loads(liftdb(url, sql_dir, "status", "--json").stdout)
    assert set(document) == {
        "database",
        "directory",
        "versions",
        "invalid_indexes",
        "out_of_order",
        "applied_by_yoyo",
        "hint",
        "lock_holder",
        "applied",
        "pending",
        "interrupted",
        "drifted",
    }
    assert document["hint"] is None and document["lock_holder"] is None
    assert [(v["version"], v["name"], v["state"]) for v in document["versions"]] == [
        (1, "create_widgets", "applied"),
        (2, "add_widget_size", "applied"),
        (3, "create_gadgets", "pending"),
    ]
    assert document["versions"][0]["applied_at"].startswith("20")
    assert document["versions"][2]["applied_at"] is None
    assert (document["applied"], document["pending"], document["drifted"]) == (2, 1, 0)
    assert "***" in document["database"]


def test_status_reads_and_creates_nothing(url, make_chain):
    result = liftdb(url, make_chain(), "status")
    assert result.exit_code == 0
    assert rows(url, "SELECT to_regclass('liftdb_version')") == [(None,)]


def test_verify_says_what_it_checked(url, make_chain):
    sql_dir = make_chain()
    liftdb(url, sql_dir, "migrate", "--to", "2")
    result = liftdb(url, sql_dir, "verify")
    assert result.exit_code == 0
    assert result.stdout.startswith("2 applied version(s) match their files on ")


def test_new_writes_the_next_numbered_pair_that_loads(url, make_chain):
    sql_dir = make_chain()
    result = liftdb(url, sql_dir, "new", "add_widget_colour")
    assert result.exit_code == 0
    up, down = (
        sql_dir / "00004_add_widget_colour.sql",
        sql_dir / "00004_add_widget_colour.rollback.sql",
    )
    assert result.stdout.splitlines() == [str(up), str(down)]
    assert up.read_text().startswith("-- 00004_add_widget_colour: ")
    assert down.exists()
    from runner import loader

    assert loader.load(sql_dir).head == 4
    bad = liftdb(url, sql_dir, "new", "Add-Colour")
    assert bad.exit_code == 2
    assert "must be snake_case" in error_of(bad)


# --- timeouts ---------------------------------------------------------------------------


def test_a_version_blocked_by_a_table_lock_gives_up_naming_the_table(url, make_chain):
    sql_dir = make_chain()
    liftdb(url, sql_dir, "migrate", "--to", "1")
    with psycopg.connect(url, application_name="shop") as app:  # an application's transaction
        app.execute("INSERT INTO widgets (id, name) VALUES (7, 'in flight')")
        result = liftdb(url, sql_dir, "--lock-timeout", "200ms", "--lock-retries", "0", "migrate")
        assert result.exit_code == 1
        assert re.fullmatch(
            re.escape(
                f"liftdb: error: {sql_dir}/00002_add_widget_size.sql:1: ALTER TABLE widgets ADD"
                " COLUMN size int: canceling statement due to lock timeout [55P03] (waiting for a"
                f" lock on table widgets, held by pid {app.info.backend_pid} (shop, open "
            )
            + r"\d+"
            + re.escape(
                " s: INSERT INTO widgets (id, name) VALUES (7, 'in flight')); lock_timeout"
                " 200 ms); 00002_add_widget_size was not applied"
            ),
            error_of(result),
        ), error_of(result)
        app.commit()  # the application's transaction was untouched
    assert rows(url, "SELECT name FROM widgets") == [("in flight",)]
    assert recorded(url) == [1]
    assert liftdb(url, sql_dir, "migrate").exit_code == 0


def test_statement_timeout_from_option_or_directive_rolls_the_version_back(url, make_chain):
    slow = "CREATE TABLE slow_marker (id int);\nSELECT pg_sleep(3);\n"
    sql_dir = make_chain(("slow", slow, "DROP TABLE slow_marker;\n"))
    result = liftdb(url, sql_dir, "--statement-timeout", "100ms", "migrate")
    assert result.exit_code == 1
    assert error_of(result).endswith(
        "00001_slow.sql:2: SELECT pg_sleep(3): canceling statement due to statement timeout"
        " [57014] (statement_timeout 100 ms); 00001_slow was not applied"
    )
    assert recorded(url) == []
    assert rows(url, "SELECT to_regclass('slow_marker')") == [(None,)]

    (sql_dir / "00001_slow.sql").write_text("-- statement_timeout: 100ms\n" + slow)
    result = liftdb(url, sql_dir, "migrate")
    assert result.exit_code == 1
    assert "[57014] (statement_timeout 100 ms)" in error_of(result)


def test_bad_durations_are_usage_errors(url, make_chain):
    for option, value in (("--lock-timeout", "5"), ("--statement-timeout", "soon")):
        result = liftdb(url, make_chain(), option, value, "status")
        assert result.exit_code == 2
        assert error_of(result).startswith(f"liftdb: usage: Invalid value for '{option}'")


@pytest.mark.parametrize(
    "flags", [["-q", "-v"], ["--quiet", "--verbose"], ["-qv"], ["migrate", "--verbose", "-q"]]
)
def test_quiet_and_verbose_together_are_a_usage_error_naming_both(url, make_chain, flags):
    sql_dir = make_chain()
    result = liftdb(url, sql_dir, *flags, *([] if "migrate" in flags else ["migrate"]))
    assert result.exit_code == 2
    line = error_of(result)
    assert line.startswith("liftdb: usage: ") and "--quiet" in line and "--verbose" in line
    assert recorded(url) == []


@pytest.mark.parametrize("given", [["--database-url", ""], ["--database-url=  "]])
def test_an_empty_database_url_is_a_usage_error_not_the_embedded_server(tmp_path, given):
    # The embedded server's data would go here, were it started: it must not be.
    env = {"DATABASE_URL": None, "LIFTDB_PGDATA": str(tmp_path / "pgdata")}
    try:
        result = invoke([*given, "--sql-dir", str(SQL_DIR), "status"], env=env)
        assert result.exit_code == 2, result.output
        line = error_of(result)
        assert line.startswith("liftdb: usage: ") and "--database-url is empty" in line
        assert not (tmp_path / "pgdata").exists()
    finally:
        if (tmp_path / "pgdata").exists():  # it was started after all: stop it
            invoke(["db", "stop"], env=env)


def test_a_bad_directive_names_the_file(url, make_chain):
    sql_dir = make_chain(("bad", "-- lock_timeout: a while\nSELECT 1;\n", "SELECT 1;\n"))
    result = liftdb(url, sql_dir, "migrate")
    assert result.exit_code == 1
    assert error_of(result).startswith(f"liftdb: error: {sql_dir}/00001_bad.sql:1:18: directive")


# --- non-transactional versions ---------------------------------------------------------

CONCURRENT = (
    "-- transactional: false\n"
    "CREATE UNIQUE INDEX CONCURRENTLY widgets_name_key ON widgets (name);\n"
    "CREATE INDEX CONCURRENTLY widgets_size_idx ON widgets (size);\n"
)


def test_an_interrupted_concurrent_index_is_reported_and_the_next_migrate_finishes_it(
    url, make_chain
):
    sql_dir = make_chain(
        *WIDGETS[:2],
        (
            "index_widgets",
            CONCURRENT,
            "-- transactional: false\nDROP INDEX CONCURRENTLY widgets_size_idx;\n"
            "DROP INDEX CONCURRENTLY widgets_name_key;\n",
        ),
    )
    liftdb(url, sql_dir, "migrate", "--to", "2")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO widgets (id, name) VALUES (1, 'twin'), (2, 'twin')")
    result = liftdb(url, sql_dir, "migrate")
    assert result.exit_code == 1
    assert error_of(result).startswith(
        f"liftdb: error: {sql_dir}/00003_index_widgets.sql:2: CREATE UNIQUE INDEX CONCURRENTLY"
    )
    assert error_of(result).endswith(
        "00003_index_widgets stopped after 0 of 2 statements; run migrate again to finish it"
    )

    status = liftdb(url, sql_dir, "status", "--exit-code")
    assert status.exit_code == 3
    assert (
        f"00003 index_widgets interrupted (stopped at {sql_dir}/00003_index_widgets.sql:2"
        " (0 of 2 statements done))"
    ) in spaced(status.stdout)
    assert "invalid index widgets_name_key" in status.stdout

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DELETE FROM widgets WHERE id = 2")
    result = liftdb(url, sql_dir, "migrate")
    assert result.exit_code == 0, result.output
    assert recorded(url) == [1, 2, 3]
    assert rows(
        url,
        "SELECT c.relname, x.indisvalid FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid"
        " WHERE c.relname LIKE 'widgets_%' ORDER BY 1",
    ) == [("widgets_name_key", True), ("widgets_pkey", True), ("widgets_size_idx", True)]
    status = liftdb(url, sql_dir, "status", "--exit-code")
    assert status.exit_code == 0, status.stdout
    assert liftdb(url, sql_dir, "rollback").exit_code == 0
    assert recorded(url) == [1, 2]


def test_a_non_transactional_version_resumes_after_the_statements_it_completed(url, make_chain):
    failing = CONCURRENT + "SELECT 1 / 0;\n"
    sql_dir = make_chain(*WIDGETS[:2], ("index_widgets", failing, "SELECT 1;\n"))
    liftdb(url, sql_dir, "migrate", "--to", "2")
    result = liftdb(url, sql_dir, "migrate")
    assert result.exit_code == 1
    assert "00003_index_widgets.sql:4: SELECT 1 / 0: division by zero [22012]" in error_of(result)
    assert "stopped after 2 of 3 statements" in error_of(result)

    (sql_dir / "00003_index_widgets.sql").write_text(CONCURRENT + "SELECT 1;\n")
    # Running the indexes' statements again would fail: they exist. Resuming skips them.
    assert liftdb(url, sql_dir, "migrate").exit_code == 0
    assert recorded(url) == [1, 2, 3]
    assert rows(url, "SELECT count(*) FROM liftdb_progress") == [(0,)]


# --- connections, help ------------------------------------------------------------------


def test_an_unreachable_server_is_one_line_exit_1_without_the_password(make_chain):
    url = f"postgresql://app:{SECRET}@127.0.0.1:1/app"
    result = liftdb(url, make_chain(), "status")
    assert result.exit_code == 1
    assert error_of(result).startswith("liftdb: error: cannot connect to postgresql://app:***@")


def test_help_lists_the_exit_codes(make_chain):
    result = invoke(["--help"])
    assert result.exit_code == 0
    for code in ("0  success", "3  status --exit-code", "4  drift", "5  lock timeout"):
        assert code in result.stdout


def test_transaction_control_in_a_transactional_file_is_refused_before_anything_runs(
    url, make_chain
):
    sql_dir = make_chain(
        WIDGETS[0],
        ("own_txn", "BEGIN;\nALTER TABLE widgets ADD COLUMN size int;\ncommit;\n", "SELECT 1;\n"),
    )
    result = liftdb(url, sql_dir, "migrate")
    assert result.exit_code == 1
    assert error_of(result).startswith(
        f"liftdb: error: {sql_dir}/00002_own_txn.sql:1: BEGIN in a transactional file:"
    )
    assert recorded(url) == []


def test_new_starts_a_chain_in_a_folder_that_does_not_exist_yet(tmp_path, url):
    sql_dir = tmp_path / "migrations"
    result = liftdb(url, sql_dir, "new", "create_things")
    assert result.exit_code == 0
    assert sorted(p.name for p in sql_dir.iterdir()) == [
        "00001_create_things.rollback.sql",
        "00001_create_things.sql",
    ]


def test_db_url_masks_the_password(url):
    result = invoke(["--database-url", url, "db", "url"])
    assert result.exit_code == 0
    assert result.stdout.strip() == url.replace(SECRET, "***")


def test_psql_gets_the_password_from_the_environment_not_the_command_line(url):
    argv, env = api.psql_command(url)
    assert SECRET not in " ".join(argv)
    assert env["PGPASSWORD"] == SECRET
    assert argv[0].endswith("psql")


def test_a_concurrent_index_in_a_transactional_file_says_how_to_mark_it(url, make_chain):
    sql_dir = make_chain(
        WIDGETS[0], ("index", "CREATE INDEX CONCURRENTLY widgets_name_idx ON widgets (name);\n", "")
    )
    result = liftdb(url, sql_dir, "migrate")
    assert result.exit_code == 1
    assert error_of(result).endswith(
        "cannot run inside a transaction block [25001] (put '-- transactional: false' at the top"
        " of the file); 00002_index was not applied"
    )


def test_a_statement_ending_in_a_comment_still_runs_and_dry_runs_as_valid_sql(url, make_chain):
    sql_dir = make_chain(
        ("commented", "CREATE TABLE notes (id int) -- no semicolon here\n", "DROP TABLE notes\n")
    )
    dry = liftdb(url, sql_dir, "migrate", "--dry-run")
    assert "CREATE TABLE notes (id int) -- no semicolon here\n;\n" in dry.stdout
    assert liftdb(url, sql_dir, "migrate").exit_code == 0
    assert rows(url, "SELECT to_regclass('notes')::text") == [("notes",)]


def test_the_readme_and_help_document_the_same_exit_codes():
    import re

    from conftest import REPO

    from runner import errors

    readme = (REPO / "README.md").read_text()
    table = readme.split("### Exit codes", 1)[1].split("\n\n", 2)[1]
    documented = [int(code) for code in re.findall(r"^\| (\d+) \|", table, re.MULTILINE)]
    in_help = [int(code) for code in re.findall(r"^  (\d+)  ", cli.EPILOG, re.MULTILINE)]
    defined = sorted(value for name, value in vars(errors).items() if name.startswith("EXIT_"))
    assert documented == in_help == defined == [0, 1, 2, 3, 4, 5, 130, 143]
