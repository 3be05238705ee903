"""The bookkeeping stays yoyo-migrations' own: yoyo reads what liftdb applied and rolled back."""

from __future__ import annotations

import psycopg
import pytest
from conftest import WIDGETS
from processes import assert_one_line_error, liftdb, recorded_versions
from yoyo import get_backend, read_migrations

from runner import api
from runner.errors import EXIT_ERROR


def yoyo_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def test_yoyo_sees_the_versions_liftdb_applied_and_rolled_back(database_url, make_chain):
    sql_dir = make_chain()
    api.migrate(database_url, sql_dir, to=2)
    migrations = read_migrations(str(sql_dir))
    backend = get_backend(yoyo_url(database_url))
    try:
        assert [m.id for m in backend.to_apply(migrations)] == ["00003_create_gadgets"]
        assert [m.id for m in backend.to_rollback(migrations)] == [
            "00002_add_widget_size",
            "00001_create_widgets",
        ]
        api.rollback(database_url, sql_dir, steps=1)
        assert [m.id for m in backend.to_rollback(migrations)] == ["00001_create_widgets"]
    finally:
        backend.connection.close()


def test_bookkeeping_literals_read_back_as_written_whatever_the_string_settings(database_url):
    import psycopg

    from runner.recorder import literal

    tricky = ["plain", "o'brien", "back\\slash", "both\\' and ''", "ünïcode", ""]
    with psycopg.connect(database_url, autocommit=True) as conn:
        for setting in ("on", "off"):
            conn.execute(f"SET standard_conforming_strings = {setting}")
            read = [conn.execute(f"SELECT {literal(text)}").fetchone()[0] for text in tricky]
            assert read == tricky, setting


def test_the_reads_are_the_same_with_or_without_a_pipeline(database_url, make_chain, monkeypatch):
    """``recorder.read`` sends its reads (the lock holder's too) in one pipeline where libpq
    has pipeline mode (14 and later) and one by one where it has not: the same answers
    either way."""
    import psycopg
    import pytest

    from runner import lock, recorder

    sql_dir = make_chain(
        ("t", "CREATE TABLE t (id int);", "DROP TABLE t;"),
        ("u", "CREATE TABLE u (id int);", "DROP TABLE u;"),
    )
    api.migrate(database_url, sql_dir, to=1)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("INSERT INTO t SELECT 1 FROM generate_series(1, 2)")
        with pytest.raises(psycopg.errors.UniqueViolation):  # leaves the index invalid
            conn.execute("CREATE UNIQUE INDEX CONCURRENTLY t_id_key ON t (id)")
        books = recorder.locate(conn)
        with psycopg.connect(database_url, autocommit=True) as runner:
            assert lock.try_acquire(runner)  # a run in progress, for the lock holder's read
            pipelined = recorder.read(conn, books, lock_holder=True)
            monkeypatch.setattr(psycopg.Pipeline, "is_supported", classmethod(lambda cls: False))
            one_by_one = recorder.read(conn, books, lock_holder=True)
            holder_pid = runner.info.backend_pid
    assert pipelined == one_by_one
    assert [row.number for row in pipelined.applied] == [1]
    assert pipelined.invalid_indexes == ["t_id_key"]
    assert pipelined.lock_holder.pid == holder_pid


# --- the rows a run writes, against yoyo's own and the files' --------------------------

CONCURRENT_INDEX = (
    "index_widget_names",
    "-- transactional: false\nCREATE INDEX CONCURRENTLY widgets_name_idx ON widgets (name);\n",
    "-- transactional: false\nDROP INDEX CONCURRENTLY widgets_name_idx;\n",
)
WIDGETS_AND_INDEX = (*WIDGETS, CONCURRENT_INDEX)


def _rows(url: str, query: str) -> list[tuple]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(query).fetchall()


def yoyo_bookkeeping(url: str) -> dict[str, list[tuple]]:
    """yoyo's tables as yoyo reads them, less what differs from run to run (log ids,
    times) and the host name (yoyo asks for the FQDN, liftdb for the host's name)."""
    return {
        "applied": _rows(
            url, "SELECT migration_hash, migration_id FROM _yoyo_migration ORDER BY 2"
        ),
        "log": _rows(
            url,
            "SELECT migration_hash, migration_id, operation, username, comment FROM _yoyo_log"
            " ORDER BY created_at_utc, migration_id",
        ),
    }


def test_a_run_writes_the_rows_yoyo_writes_for_the_same_applies_and_rollbacks(
    server_url, make_chain
):
    """Differential: the same chain, with a transactional and a non-transactional version,
    applied whole and two of it rolled back, once by yoyo itself and once by liftdb: yoyo's
    tables hold the same rows (its log, entry for entry, in order), and liftdb_version holds
    each applied version's name and its files' checksums, as the loader reads them."""
    from conftest import scratch_database

    from runner import loader

    sql_dir = make_chain(*WIDGETS_AND_INDEX)
    with scratch_database(server_url) as by_yoyo, scratch_database(server_url) as by_liftdb:
        backend = get_backend(yoyo_url(by_yoyo))
        try:
            migrations = read_migrations(str(sql_dir))
            with backend.lock():
                backend.apply_migrations(backend.to_apply(migrations))
                backend.rollback_migrations(backend.to_rollback(migrations)[:2])
        finally:
            backend.connection.close()
        api.migrate(by_liftdb, sql_dir)
        api.rollback(by_liftdb, sql_dir, steps=2)
        assert yoyo_bookkeeping(by_liftdb) == yoyo_bookkeeping(by_yoyo)
        assert [operation for *_, operation, _user, _comment in
                yoyo_bookkeeping(by_liftdb)["log"]] == ["apply"] * 4 + ["rollback"] * 2  # fmt: skip
        chain = loader.load(sql_dir)
        assert _rows(
            by_liftdb,
            "SELECT version, name, up_sha256, rollback_sha256, duration_ms >= 0,"
            " applied_at <= now() FROM liftdb_version ORDER BY 1",
        ) == [
            (v.number, v.name, v.up.checksum, v.rollback.checksum, True, True)
            for v in chain
            if v.number <= 2
        ]
        assert _rows(by_liftdb, "SELECT count(*) FROM liftdb_progress") == [(0,)]
        assert _rows(by_liftdb, "SELECT count(*) FROM liftdb_progress_statement") == [(0,)]


@pytest.mark.parametrize(
    ("command", "table", "event"),
    [
        ("migrate", "_yoyo_migration", "INSERT"),
        ("migrate", "liftdb_version", "INSERT"),
        ("migrate", "_yoyo_log", "INSERT"),
        ("rollback", "_yoyo_migration", "DELETE"),
        ("rollback", "liftdb_version", "DELETE"),
        ("rollback", "_yoyo_log", "INSERT"),
    ],
)
def test_a_failing_bookkeeping_write_is_named_and_leaves_the_version_as_it_was(
    database_url, make_chain, command, table, event
):
    """Whichever of a version's bookkeeping writes the server refuses (here a trigger a DBA
    put on the table), the one line says it was while recording that version, with the
    server's message, and the version's own statements are undone with it."""
    sql_dir = make_chain(*WIDGETS)
    assert liftdb(database_url, sql_dir, "migrate", "--to", "2").returncode == 0
    before = yoyo_bookkeeping(database_url), recorded_versions(database_url)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS"
            f" $$BEGIN RAISE EXCEPTION '{table} is closed'; END$$"
        )
        conn.execute(f"CREATE TRIGGER refuse BEFORE {event} ON {table} EXECUTE FUNCTION refuse()")
    label = "00003_create_gadgets" if command == "migrate" else "00002_add_widget_size"
    file = f"{label}.sql" if command == "migrate" else f"{label}.rollback.sql"
    verb = "applied" if command == "migrate" else "rolled back"
    assert_one_line_error(
        liftdb(database_url, sql_dir, command),
        EXIT_ERROR,
        f"{file}: while recording {label}: {table} is closed [P0001]; {label} was not {verb}",
    )
    assert (yoyo_bookkeeping(database_url), recorded_versions(database_url)) == before
    assert _rows(
        database_url,
        "SELECT to_regclass('gadgets') IS NULL,"
        " EXISTS (SELECT FROM pg_attribute WHERE attrelid = 'widgets'::regclass"
        " AND attname = 'size')",
    ) == [(True, True)]


def test_progress_tables_are_made_by_the_first_run_that_needs_them(database_url, make_chain):
    """A chain of transactional versions gets no progress tables, and every command reads
    the database as before without them; the first run with a non-transactional version
    makes them, and leaves them empty once it finishes."""
    from conftest import write_chain

    def progress_tables() -> list[tuple]:
        return _rows(
            database_url,
            "SELECT to_regclass('liftdb_progress') IS NOT NULL,"
            " to_regclass('liftdb_progress_statement') IS NOT NULL",
        )

    sql_dir = make_chain(*WIDGETS)
    for command in ("migrate", "status", "verify", "rollback", "status --exit-code", "migrate"):
        done = liftdb(database_url, sql_dir, *command.split())
        assert done.returncode == (3 if command == "status --exit-code" else 0), done.stderr
    assert progress_tables() == [(False, False)]
    assert recorded_versions(database_url) == [1, 2, 3]
    write_chain(sql_dir, WIDGETS_AND_INDEX)
    done = liftdb(database_url, sql_dir, "migrate")
    assert done.returncode == 0, done.stderr
    assert progress_tables() == [(True, True)]
    assert _rows(database_url, "SELECT count(*) FROM liftdb_progress") == [(0,)]
    assert recorded_versions(database_url) == [1, 2, 3, 4]
    assert liftdb(database_url, sql_dir, "status", "--exit-code").returncode == 0
