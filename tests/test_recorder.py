"""The bookkeeping stays yoyo-migrations' own: yoyo reads what liftdb applied and rolled back."""

from __future__ import annotations

from yoyo import get_backend, read_migrations

from runner import api


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
