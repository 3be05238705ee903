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
