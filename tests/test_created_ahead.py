"""A first run on a new database has the server create the bookkeeping (and yoyo's lock
table with liftdb's guard) while the client parses the chain, in a transaction committed
only once the plan stands (``api._created_ahead``). What a user may notice: the same
bookkeeping as the usual path creates, nothing at all left by a run that refused its
input or had nothing to do, and a yoyo starting at the same moment never made to fail."""

from __future__ import annotations

import psycopg
import pytest

from runner import api, recorder, yoyo
from runner.errors import LayoutError

# Everything a run can leave in the public schema, as the server describes it.
CATALOG = """
SELECT 'column', c.relname || '.' || a.attname || ' ' || pg_catalog.format_type(a.atttypid,
       a.atttypmod) || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
       || coalesce(' default ' || pg_catalog.pg_get_expr(d.adbin, d.adrelid), '')
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE n.nspname = 'public' AND a.attnum > 0 AND NOT a.attisdropped AND c.relkind = 'r'
UNION ALL
SELECT 'index', indexdef FROM pg_catalog.pg_indexes WHERE schemaname = 'public'
UNION ALL
SELECT 'constraint', conrelid::regclass::text || ' ' || pg_catalog.pg_get_constraintdef(oid)
FROM pg_catalog.pg_constraint WHERE connamespace = 'public'::regnamespace
UNION ALL
SELECT 'trigger', pg_catalog.pg_get_triggerdef(oid) FROM pg_catalog.pg_trigger
WHERE NOT tgisinternal
UNION ALL
SELECT 'function', pg_catalog.pg_get_functiondef(p.oid) FROM pg_catalog.pg_proc p
WHERE p.pronamespace = 'public'::regnamespace
UNION ALL
SELECT 'comment', pg_catalog.obj_description(c.oid, 'pg_class') FROM pg_catalog.pg_class c
WHERE c.relnamespace = 'public'::regnamespace
  AND pg_catalog.obj_description(c.oid, 'pg_class') IS NOT NULL
UNION ALL
SELECT 'row', version::text FROM public._yoyo_version
ORDER BY 1, 2
"""

ONE = (("create_things", "CREATE TABLE things (id int);", "DROP TABLE things;"),)


def catalog(url: str) -> list[tuple[str, str]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(CATALOG).fetchall()


def public_objects(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(
            "SELECT (SELECT count(*) FROM pg_catalog.pg_class"
            "        WHERE relnamespace = 'public'::regnamespace)"
            "     + (SELECT count(*) FROM pg_catalog.pg_proc"
            "        WHERE pronamespace = 'public'::regnamespace)"
        ).fetchone()[0]


def test_a_first_run_leaves_the_bookkeeping_the_usual_path_creates(server_url, make_chain):
    """Differential: a new database migrated (created ahead, while parsing) against one
    whose bookkeeping the usual functions created first (so nothing is created ahead)."""
    from tests.conftest import scratch_database

    sql_dir = make_chain(*ONE)
    with scratch_database(server_url) as ahead, scratch_database(server_url) as usual:
        api.migrate(ahead, sql_dir)
        with psycopg.connect(usual, autocommit=True) as conn:
            books = recorder.ensure_tables(conn)
            yoyo.fence(conn, 1000, create=True, schema=books.schema)
        api.migrate(usual, sql_dir)
        assert catalog(ahead) == catalog(usual)
        assert ("index", "CREATE UNIQUE INDEX yoyo_lock_pkey ON public.yoyo_lock USING btree"
                " (locked)") in catalog(ahead)  # fmt: skip


def test_a_first_run_that_refuses_its_input_leaves_the_database_as_it_was(database_url, make_chain):
    sql_dir = make_chain(*ONE, ("broken", "CREATE TABLE (;", "SELECT 1;"))
    before = public_objects(database_url)
    with pytest.raises(LayoutError, match="00002_broken.sql:1"):
        api.migrate(database_url, sql_dir)
    assert public_objects(database_url) == before == 0


def test_a_first_run_with_nothing_to_do_creates_nothing(database_url, tmp_path):
    (tmp_path / "sql").mkdir()
    assert api.migrate(database_url, tmp_path / "sql") == []
    assert public_objects(database_url) == 0


def test_a_first_run_where_the_role_cannot_create_says_so_as_before(
    server_url, database_url, make_chain
):
    """What cannot be created ahead (no CREATE on the schema) is rolled back quietly and
    refused by the usual path, naming what it needs; nothing is left."""
    from psycopg import sql

    from runner.errors import LiftdbError
    from tests.conftest import scratch_role

    sql_dir = make_chain(*ONE)
    with scratch_role(server_url, member=True) as role:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
            conn.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(sql.Identifier(role)))
        as_role = database_url + ("&" if "?" in database_url else "?") + f"options=-crole%3D{role}"
        with pytest.raises(LiftdbError) as refused:
            api.migrate(as_role, sql_dir)
        assert "permission denied for schema public" in str(refused.value)
        assert public_objects(database_url) == 0
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("REVOKE ALL ON SCHEMA public FROM {}").format(sql.Identifier(role))
            )


def test_a_creation_another_session_waits_for_is_rolled_back_so_that_it_goes_on(database_url):
    """A yoyo starting at the same moment creates the same tables: its CREATE waits for the
    transaction liftdb left open, and would fail if that committed. liftdb rolls back
    instead; the other session's CREATE goes through and nothing of liftdb's is left
    (the usual path, fence first, creates the rest later)."""
    import threading
    import time

    from runner import database

    others: list[object] = []

    def yoyo_creating() -> None:
        try:
            with psycopg.connect(database_url, autocommit=True) as other:
                other.execute(
                    "CREATE TABLE IF NOT EXISTS public._yoyo_migration"
                    " (migration_hash varchar(64) PRIMARY KEY, migration_id varchar(255),"
                    " applied_at_utc timestamp)"
                )
            others.append("created")
        except psycopg.Error as exc:
            others.append(exc)

    def wait_until(query: str, *params) -> None:
        deadline = time.monotonic() + 30
        with psycopg.connect(database_url, autocommit=True) as watcher:
            while not watcher.execute(query, params).fetchone()[0]:
                assert time.monotonic() < deadline, query
                time.sleep(0.01)

    with database.connect(database_url) as conn:
        books, pid = recorder.locate(conn), conn.info.backend_pid
        with api._created_ahead(conn, books) as keep:
            # liftdb's creation done, not committed; then the other CREATE waits for it
            wait_until(
                "SELECT state = 'idle in transaction' FROM pg_catalog.pg_stat_activity"
                " WHERE pid = %s",
                pid,
            )
            creating = threading.Thread(target=yoyo_creating)
            creating.start()
            wait_until(
                "SELECT EXISTS (SELECT FROM pg_catalog.pg_locks"
                " WHERE locktype = 'transactionid' AND NOT granted)"
            )
            keep.append(True)
    creating.join(timeout=30)
    assert others == ["created"]
    with psycopg.connect(database_url, autocommit=True) as conn:
        left = conn.execute(
            "SELECT to_regclass('public.liftdb_version'), to_regclass('public.yoyo_lock')"
        ).fetchone()
    assert left == (None, None)
