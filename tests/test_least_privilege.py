"""The whole chain applies and rolls back as a role that owns its schema and nothing else.

Production runs migrations as an application role, not a superuser. Here a
fresh database gets a role that is not a superuser, cannot create databases or
roles, and owns one schema (its ``search_path``); ``public`` gives it nothing
(PostgreSQL 15 revoked CREATE there already; the test revokes the rest). Then
``liftdb migrate`` runs as that role: every table and the bookkeeping land in
its schema, none in ``public``, and the chain rolls back to nothing and applies
again.
"""

from __future__ import annotations

import secrets
import uuid

import psycopg
import pytest
from conftest import SQL_DIR, WIDGETS, write_chain
from processes import liftdb
from psycopg import sql

from runner import api, database, loader, lock

HEAD = loader.load(SQL_DIR).head
SCHEMA = "app"


def as_role(url: str, role: str, password: str) -> str:
    """The same server and database, logged in as ``role``."""
    scheme, _, rest = url.partition("://")
    host_and_rest = rest.rpartition("@")[2]
    return f"{scheme}://{role}:{password}@{host_and_rest}"


@pytest.fixture
def owner_of_one_schema(database_url: str):
    """The URL of a role that owns the schema ``app`` of a fresh database, and nothing else."""
    role = f"liftdb_app_{uuid.uuid4().hex[:8]}"
    password = secrets.token_hex(8)
    name = database.database_name(database_url)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL(
                "CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT"
                " PASSWORD {password}"
            ).format(role=sql.Identifier(role), password=sql.Literal(password))
        )
        conn.execute(sql.SQL("REVOKE ALL ON SCHEMA public FROM PUBLIC"))
        conn.execute(
            sql.SQL("CREATE SCHEMA {schema} AUTHORIZATION {role}").format(
                schema=sql.Identifier(SCHEMA), role=sql.Identifier(role)
            )
        )
        conn.execute(
            sql.SQL("ALTER ROLE {role} IN DATABASE {db} SET search_path = {schema}").format(
                role=sql.Identifier(role), db=sql.Identifier(name), schema=sql.Identifier(SCHEMA)
            )
        )
    try:
        yield as_role(database_url, role, password)
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(SCHEMA)))
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        admin_url = database.with_database(database_url, "postgres")
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def relations_by_schema(url: str) -> dict[str, set[str]]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT n.nspname, c.relname FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relkind IN ('r', 'p') AND n.nspname IN ('public', %s)",
            (SCHEMA,),
        ).fetchall()
    found: dict[str, set[str]] = {"public": set(), SCHEMA: set()}
    for schema, table in rows:
        found[schema].add(table)
    return found


def test_role_without_privileges_applies_and_rolls_back_the_whole_chain(owner_of_one_schema):
    url = owner_of_one_schema
    with psycopg.connect(url) as conn:
        superuser, createdb = conn.execute(
            "SELECT rolsuper, rolcreatedb FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
    assert (superuser, createdb) == (False, False)

    applied = liftdb(url, SQL_DIR, "migrate")

    assert applied.returncode == 0, applied.stderr
    assert len(applied.stdout.splitlines()) == HEAD + 1
    tables = relations_by_schema(url)
    assert tables["public"] == set()
    assert {"users", "progression_logs", "daily_lookups", "liftdb_version"} <= tables[SCHEMA]
    assert api.applied_versions(url) == list(range(1, HEAD + 1))

    rolled_back = liftdb(url, SQL_DIR, "rollback", "--all", "--yes")
    assert rolled_back.returncode == 0, rolled_back.stderr
    assert api.applied_versions(url) == []
    assert "users" not in relations_by_schema(url)[SCHEMA]

    again = liftdb(url, SQL_DIR, "migrate")
    assert again.returncode == 0, again.stderr
    assert api.applied_versions(url) == list(range(1, HEAD + 1))


def test_a_role_that_cannot_see_the_lock_holder_s_client_does_not_guess_it(
    database_url, owner_of_one_schema, tmp_path
):
    """Without pg_read_all_stats, the server hides another role's client address and
    start (pg_stat_activity shows NULL, as for a local socket): status says so, rather
    than calling the holder's client a local socket."""
    sql_dir = write_chain(tmp_path / "sql", WIDGETS)
    with psycopg.connect(database_url, autocommit=True) as holder:
        assert lock.try_acquire(holder)
        with psycopg.connect(owner_of_one_schema, autocommit=True) as viewer:
            seen = viewer.execute(
                "SELECT client_addr, backend_start FROM pg_stat_activity WHERE pid = %s",
                (holder.info.backend_pid,),
            ).fetchone()
        assert seen == (None, None)  # what the server lets this role see
        done = liftdb(owner_of_one_schema, sql_dir, "status")
        assert done.returncode == 0, done.stderr
        line = next(x for x in done.stdout.splitlines() if "migration lock is held" in x)
        assert f"pid {holder.info.backend_pid} (" in line
        assert "local socket" not in line
        assert "client hidden from this role" in line
