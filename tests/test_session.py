"""What a version does to its session stays in that version, and never reaches the
bookkeeping.

A version may ``SET search_path``, ``SET ROLE``, ``SET SESSION AUTHORIZATION``, create
temporary tables, prepare statements, listen, take advisory locks, or create the schema
``"$user"`` names; the environment may set ``search_path`` (``PGOPTIONS``). None of it
may move, split or hide the bookkeeping, and none of it may reach the next version:
each starts in the session liftdb set up, so the same chain gives the same database
however it is split into runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

import psycopg
import pytest
from conftest import scratch_database, scratch_role, write_chain
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from processes import COMMAND_TIMEOUT, liftdb, liftdb_backend, start_liftdb, wait_for
from psycopg import sql

from runner import api, lock, recorder, yoyo


def relations(url: str) -> dict[str, tuple[str, str]]:
    """Every table outside the system schemas: name -> (schema, owner)."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT c.relname, n.nspname, pg_get_userbyid(c.relowner) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p')"
            " AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')"
            " AND n.nspname NOT LIKE 'pg_temp%%' ORDER BY 1, 2"
        ).fetchall()
    found: dict[str, tuple[str, str]] = {}
    for name, schema, owner in rows:
        assert name not in found, f"{name} in both {found[name][0]} and {schema}"
        found[name] = (schema, owner)
    return found


def connected_user(url: str) -> str:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("SELECT current_user").fetchone()[0]


@pytest.fixture
def app_owner(database_url):
    """A role that may create tables in ``public`` of the test's database, and that the
    connecting role may SET ROLE to."""
    with scratch_role(database_url, member=True) as role:
        ident = sql.Identifier(role)
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(sql.SQL("GRANT USAGE, CREATE ON SCHEMA public TO {}").format(ident))
        try:
            yield role
        finally:
            with psycopg.connect(database_url, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP OWNED BY {}").format(ident))


CREATE_BILLING = ("create_billing", "CREATE SCHEMA billing;\n", "DROP SCHEMA billing;\n")


@pytest.mark.parametrize(
    "header",
    ["", "-- transactional: false\n"],
    ids=["transactional", "non-transactional"],
)
@pytest.mark.parametrize("scope", ["SET", "SET LOCAL"])
def test_a_version_that_sets_search_path_is_applied_and_recorded_where_the_bookkeeping_is(
    database_url, make_chain, header, scope
):
    sql_dir = make_chain(
        CREATE_BILLING,
        (
            "create_invoices",
            f"{header}{scope} search_path TO billing;\nCREATE TABLE invoices (id int);\n",
            f"{header}{scope} search_path TO billing;\nDROP TABLE invoices;\n",
        ),
        ("create_things", "CREATE TABLE things (id int);\n", "DROP TABLE things;\n"),
    )
    done = liftdb(database_url, sql_dir, "migrate")
    assert done.returncode == 0, done.stderr
    assert api.applied_versions(database_url) == [1, 2, 3]
    tables = relations(database_url)
    # SET LOCAL outside a transaction block does nothing: the non-transactional
    # version's table lands where the session's search_path says.
    invoices = "public" if (header and scope == "SET LOCAL") else "billing"
    assert tables["invoices"][0] == invoices
    assert tables["things"][0] == "public"
    bookkeeping = {*recorder.CORE_TABLES, yoyo.LOCK_TABLE}  # yoyo's lock, guarded, beside it
    if header:  # a run with a non-transactional version has its progress tables made
        bookkeeping |= set(recorder.PROGRESS_TABLES)
    assert {tables[table][0] for table in bookkeeping} == {"public"}
    assert liftdb(database_url, sql_dir, "rollback", "--all", "--yes").returncode == 0
    assert set(relations(database_url)) == bookkeeping


SET_AUDIT = (
    "create_audit",
    "CREATE SCHEMA audit;\nSET search_path TO audit, public;\nCREATE TABLE audit_log (id int);\n",
    "DROP TABLE audit.audit_log;\nDROP SCHEMA audit;\n",
)
CREATE_THINGS = ("create_things", "CREATE TABLE things (id int);\n", "DROP TABLE things;\n")


@pytest.mark.parametrize("runs", [["3"], ["1", "3"], ["2", "3"]], ids=" then ".join)
def test_a_search_path_a_version_sets_does_not_reach_the_next_version(
    database_url, make_chain, runs
):
    sql_dir = make_chain(CREATE_BILLING, SET_AUDIT, CREATE_THINGS)
    for to in runs:
        done = liftdb(database_url, sql_dir, "migrate", "--to", to)
        assert done.returncode == 0, done.stderr
    tables = relations(database_url)
    assert (tables["audit_log"][0], tables["things"][0]) == ("audit", "public")
    rolled_back = liftdb(database_url, sql_dir, "rollback", "--all", "--yes")
    assert rolled_back.returncode == 0, rolled_back.stderr
    assert "things" not in relations(database_url)


@pytest.mark.parametrize("runs", [["3"], ["2", "3"]], ids=" then ".join)
@pytest.mark.parametrize("how", ["SET ROLE", "SET SESSION AUTHORIZATION"])
def test_a_role_a_version_takes_owns_that_version_only(
    database_url, make_chain, app_owner, runs, how
):
    sql_dir = make_chain(
        CREATE_THINGS,
        (
            "create_owned",
            f'{how} "{app_owner}";\nCREATE TABLE owned (id int);\n',
            "DROP TABLE owned;\n",
        ),
        ("create_ours", "CREATE TABLE ours (id int);\n", "DROP TABLE ours;\n"),
    )
    for to in runs:
        done = liftdb(database_url, sql_dir, "migrate", "--to", to)
        assert done.returncode == 0, done.stderr
    me = connected_user(database_url)
    tables = relations(database_url)
    assert tables["owned"] == ("public", app_owner)
    assert tables["ours"] == ("public", me)
    assert tables["liftdb_version"] == ("public", me)
    assert api.applied_versions(database_url) == [1, 2, 3]


NOWHERE = {"PGOPTIONS": "-c search_path=nowhere"}


def test_an_environment_search_path_neither_hides_nor_moves_the_bookkeeping(
    database_url, make_chain
):
    sql_dir = make_chain(CREATE_THINGS, ("create_more", "CREATE TABLE more (id int);\n", ""))
    assert liftdb(database_url, sql_dir, "migrate", "--to", "1").returncode == 0

    status = liftdb(database_url, sql_dir, "status", **NOWHERE)
    assert status.returncode == 0, status.stderr
    assert status.stdout.splitlines()[0].startswith("00001 create_things applied 20")
    assert liftdb(database_url, sql_dir, "verify", **NOWHERE).returncode == 0

    # No schema to create the version's table in: its own statement fails, named; the
    # bookkeeping is found, not created again.
    done = liftdb(database_url, sql_dir, "migrate", **NOWHERE)
    assert done.returncode == 1
    assert f"{sql_dir}/00002_create_more.sql:1: CREATE TABLE more" in done.stderr
    assert "no schema has been selected to create in [3F000]" in done.stderr
    assert relations(database_url)["liftdb_version"][0] == "public"
    assert api.applied_versions(database_url) == [1]


def test_on_a_database_without_bookkeeping_a_search_path_naming_no_schema_is_one_line(
    database_url, make_chain
):
    sql_dir = make_chain(CREATE_THINGS)
    status = liftdb(database_url, sql_dir, "status", **NOWHERE)
    assert status.returncode == 0, status.stderr
    assert "00001 create_things pending" in status.stdout
    done = liftdb(database_url, sql_dir, "migrate", **NOWHERE)
    assert done.returncode == 1
    assert done.stderr == (
        "liftdb: error: no schema to keep the bookkeeping in: the search_path"
        " (nowhere) names no schema that exists; nothing was changed\n"
    )
    assert relations(database_url) == {}


def test_the_schema_dollar_user_names_created_by_the_chain_does_not_split_the_bookkeeping(
    database_url, make_chain
):
    user = connected_user(database_url)
    sql_dir = make_chain(
        (
            "create_own_schema",
            f'CREATE SCHEMA "{user}";\n',
            f'DROP SCHEMA "{user}";\n',
        ),
        CREATE_THINGS,
    )
    for to in ("1", "2"):
        done = liftdb(database_url, sql_dir, "migrate", "--to", to)
        assert done.returncode == 0, done.stderr
    tables = relations(database_url)
    assert tables["liftdb_version"][0] == "public"
    assert tables["things"][0] == user  # "$user" comes first in the default search_path
    assert api.applied_versions(database_url) == [1, 2]
    status = liftdb(database_url, sql_dir, "status", "--exit-code")
    assert status.returncode == 0, status.stdout


# A schema name a person may choose: percent signs (psycopg's placeholders), a double
# quote, a dot, braces (str.format's), a space and upper case.
ODD_SCHEMA = 'Odd%s "books".{t} 100%'


def test_bookkeeping_in_a_schema_of_any_name_serves_every_command(database_url, make_chain):
    sql_dir = make_chain(
        CREATE_THINGS,
        ("index_things", "-- transactional: false\nCREATE INDEX things_id ON things (id);\n",
         "DROP INDEX things_id;\n"),
        ("create_more", "CREATE TABLE more (id int);\n", "DROP TABLE more;\n"),
    )  # fmt: skip
    with psycopg.connect(database_url, autocommit=True) as conn:
        schema = sql.Identifier(ODD_SCHEMA)
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(schema))
        conn.execute(
            sql.SQL("ALTER DATABASE {} SET search_path = {}").format(
                sql.Identifier(conn.info.dbname), schema
            )
        )

    def ok(*args: str) -> str:
        done = liftdb(database_url, sql_dir, *args)
        assert done.returncode == 0, f"{args}: {done.stderr}"
        return done.stdout

    assert "0 applied, 3 pending" in ok("status")
    ok("migrate", "--to", "2")
    assert "2 applied, 1 pending" in ok("status")
    ok("migrate", "--dry-run")
    ok("migrate")
    ok("verify")
    up = sql_dir / "00001_create_things.sql"
    up.write_text("-- things, one row each\n" + up.read_text())
    assert "repaired 1 version(s)" in ok("repair")
    ok("verify")
    ok("rollback", "--steps", "2")
    ok("redo")
    # The server says where the bookkeeping is, and what it holds.
    assert relations(database_url)["liftdb_version"][0] == ODD_SCHEMA
    with psycopg.connect(database_url, autocommit=True) as conn:
        recorded = conn.execute(
            sql.SQL("SELECT migration_id FROM {} ORDER BY 1").format(
                sql.Identifier(ODD_SCHEMA, "_yoyo_migration")
            )
        ).fetchall()
    assert [row[0] for row in recorded] == ["00001_create_things"]
    assert "1 applied, 2 pending" in ok("status")


def test_the_environment_cannot_move_the_bookkeeping_only_choose_among_several(
    database_url, make_chain
):
    sql_dir = make_chain(CREATE_THINGS, ("create_more", "CREATE TABLE more (id int);\n", ""))
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA tenant_a; CREATE SCHEMA tenant_b")
    for to, tenant in (("1", "tenant_a"), ("2", "tenant_b")):
        options = {"PGOPTIONS": f"-c search_path={tenant}"}
        done = liftdb(database_url, sql_dir, "migrate", "--to", to, **options)
        assert done.returncode == 0, done.stderr
    tables = relations(database_url)
    # The versions' tables go where the search_path says; the bookkeeping stays put.
    assert (tables["things"][0], tables["more"][0]) == ("tenant_a", "tenant_b")
    assert tables["liftdb_version"][0] == "tenant_a"

    # Two bookkeepings (a copy, or a split an older liftdb made): the current schema
    # chooses; when it holds neither, nothing is guessed.
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE tenant_b.liftdb_version AS"
            " SELECT * FROM tenant_a.liftdb_version WHERE version = 1"
        )
        conn.execute(
            "CREATE TABLE tenant_b._yoyo_migration AS SELECT * FROM tenant_a._yoyo_migration"
            " WHERE migration_id = '00001_create_things'"
        )
    ambiguous = liftdb(database_url, sql_dir, "status")
    assert ambiguous.returncode == 2
    assert ambiguous.stderr == (
        "liftdb: error: bookkeeping found in schemas tenant_a, tenant_b: set the"
        " search_path to the one to use (e.g. PGOPTIONS='-c search_path=tenant_a')\n"
    )
    for tenant, applied in (("tenant_a", 2), ("tenant_b", 1)):
        options = {"PGOPTIONS": f"-c search_path={tenant}"}
        status = liftdb(database_url, sql_dir, "--json", "status", **options)
        assert json.loads(status.stdout)["applied"] == applied, status.stderr


# --- each version starts in the session liftdb set up ---------------------------------


def leaked_if(condition: str) -> str:
    """A statement that fails, naming ``condition``, when it holds."""
    return (
        f"DO $$ BEGIN IF {condition} THEN RAISE EXCEPTION 'leaked: %', $c${condition}$c$;"
        " END IF; END $$;\n"
    )


OTHER_ADVISORY = (
    "(SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
    f" AND NOT (objsubid = 1 AND classid::bigint = {lock.CLASSID}"
    f" AND objid::bigint = {lock.OBJID} AND mode = 'ExclusiveLock')) > 0"
)
LIFTDB_LOCK_LOST = (
    "NOT EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
    f" AND objsubid = 1 AND classid::bigint = {lock.CLASSID} AND objid::bigint = {lock.OBJID})"
)

PG_DUMP_HEADER = (
    "SET statement_timeout = 0;\n"
    "SET lock_timeout = 0;\n"
    "SET idle_in_transaction_session_timeout = 0;\n"
    "SET client_encoding = 'UTF8';\n"
    "SET standard_conforming_strings = on;\n"
    "SELECT pg_catalog.set_config('search_path', '', false);\n"
    "SET check_function_bodies = false;\n"
    "SET xmloption = content;\n"
    "SET client_min_messages = warning;\n"
    "SET row_security = off;\n"
)

# (what a version does to its session, what the next version checks it does not see);
# "block" marks what needs a transaction block (its own BEGIN in a non-transactional file).
LEAKS = {
    "temporary table": (
        "CREATE TEMP TABLE scratch (id int);\n",
        "CREATE TEMP TABLE scratch (id int);\n",
    ),
    "prepared statement": ("PREPARE fetch_one AS SELECT 1;\n", "PREPARE fetch_one AS SELECT 1;\n"),
    "cursor with hold": (
        "block:DECLARE held CURSOR WITH HOLD FOR SELECT 1;\n",
        "block:DECLARE held CURSOR WITH HOLD FOR SELECT 1;\n",
    ),
    "listen": ("LISTEN liftdb_test;\n", leaked_if("EXISTS (SELECT FROM pg_listening_channels())")),
    "advisory lock": ("SELECT pg_advisory_lock(42);\n", leaked_if(OTHER_ADVISORY)),
    "advisory lock, shared, taken twice": (
        "SELECT pg_advisory_lock_shared(7, 8);\nSELECT pg_advisory_lock_shared(7, 8);\n",
        leaked_if(OTHER_ADVISORY),
    ),
    "liftdb's own lock given up": (
        "SELECT pg_advisory_unlock_all();\n",
        leaked_if(LIFTDB_LOCK_LOST),
    ),
    "sequence value": (
        "CREATE SEQUENCE counter;\nSELECT nextval('counter');\n",
        "DO $$ BEGIN PERFORM currval('counter'); RAISE EXCEPTION 'leaked: currval';"
        " EXCEPTION WHEN object_not_in_prerequisite_state THEN NULL; END $$;\n",
    ),
    "setting": ("SET work_mem = '77MB';\n", leaked_if("current_setting('work_mem') = '77MB'")),
    "statement_timeout": ("SET statement_timeout = '1ms';\n", "SELECT pg_sleep(0.05);\n"),
    "read-only transactions": (
        "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY;\n",
        "CREATE TABLE written (id int);\n",
    ),
    "liftdb's client check turned off": (
        "RESET ALL;\n",
        leaked_if("current_setting('client_connection_check_interval') <> '1s'"),
    ),
    "role": (None, leaked_if("current_user <> session_user")),  # the role fixture fills it
    # A version made from pg_dump's output starts with its header (seen in peers' trackers:
    # the set_config hid their bookkeeping table from every later statement).
    "pg_dump's header": (
        PG_DUMP_HEADER + "CREATE TABLE public.restored (id int);\n",
        leaked_if(
            "current_setting('search_path') = '' OR current_setting('client_min_messages')"
            " = 'warning' OR current_setting('check_function_bodies') = 'off'"
        )
        + "CREATE TABLE after_restore (id int);\n",
    ),
}


def _as_file(text: str, transactional: bool) -> str:
    if text.startswith("block:"):
        text = text.removeprefix("block:")
        return text if transactional else f"BEGIN;\n{text}COMMIT;\n"
    return text


@pytest.mark.parametrize("transactional", [True, False], ids=["transactional", "non-transactional"])
@pytest.mark.parametrize("leak", LEAKS)
def test_nothing_a_version_does_to_its_session_reaches_the_next_version(
    database_url, make_chain, app_owner, leak, transactional
):
    does, checks = LEAKS[leak]
    does = does or f'SET ROLE "{app_owner}";\n'
    header = "" if transactional else "-- transactional: false\n"
    sql_dir = make_chain(
        ("does", header + _as_file(does, transactional) + "SELECT 1;\n", "SELECT 1;\n"),
        ("checks", header + _as_file(checks, transactional), "SELECT 1;\n"),
    )
    done = liftdb(database_url, sql_dir, "migrate")
    assert done.returncode == 0, done.stderr
    assert api.applied_versions(database_url) == [1, 2]
    with psycopg.connect(database_url, autocommit=True) as conn:  # and the lock is free
        assert lock.try_acquire(conn)


def test_the_settings_the_connection_asked_for_are_what_each_version_starts_with(
    database_url, make_chain
):
    sql_dir = make_chain(
        ("does", "SET work_mem = '77MB';\n", "SELECT 1;\n"),
        ("checks", leaked_if("current_setting('work_mem') <> '5MB'"), "SELECT 1;\n"),
    )
    done = liftdb(database_url, sql_dir, "migrate", PGOPTIONS="-c work_mem=5MB")
    assert done.returncode == 0, done.stderr


# --- the same chain, however it is split into runs (a property) -------------------------

# What a version may do to its session, then a table of its own it creates. {n} is the
# version's number, {owner} a role the connecting one may become.
SESSION_CHANGES = {
    "nothing": "",
    "search_path": "SET search_path TO audit, public;\n",
    "search_path, local": "SET LOCAL search_path TO audit;\n",
    "role": 'SET ROLE "{owner}";\n',
    "session authorization": 'SET SESSION AUTHORIZATION "{owner}";\n',
    "setting": "SET work_mem = '64MB';\n",
    "temporary table": "CREATE TEMP TABLE scratch_{n} (id int);\n",
    "prepared statement": "PREPARE probe_{n} AS SELECT 1;\n",
    "listen": "LISTEN channel_{n};\n",
    "advisory lock": "SELECT pg_advisory_lock({n});\n",
    "$user schema": (
        "DO $$ BEGIN EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I', current_user); END $$;\n"
    ),
    "time zone": "SET TIME ZONE 'Asia/Tokyo';\n",
    "client_encoding": "SET client_encoding = 'LATIN1';\n",
    "standard_conforming_strings": "SET standard_conforming_strings = off;\n",
    "set_config in a block": (
        "DO $$ BEGIN PERFORM set_config('TimeZone', 'UTC+5', false); END $$;\n"
    ),
    "sequence value": "CREATE SEQUENCE counter_{n};\nSELECT nextval('counter_{n}');\n",
    "advisory locks given up": "SELECT pg_advisory_unlock_all();\n",
}
# What the session looked like when the version began: a row of data, compared too.
OBSERVED = (
    "CREATE TABLE seen_{n} AS SELECT current_user::text AS who,"
    " current_setting('search_path') AS path, current_setting('work_mem') AS work_mem,"
    " (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
    "  AND pid = pg_backend_pid()) AS advisory_locks,"
    " (SELECT count(*) FROM pg_prepared_statements) AS prepared,"
    " (SELECT count(*) FROM pg_listening_channels()) AS listening,"
    " (SELECT count(*) FROM pg_class WHERE relnamespace = pg_my_temp_schema()) AS temporary,"
    " session_user::text AS session_user, current_setting('TimeZone') AS time_zone,"
    " current_setting('client_encoding') AS client_encoding,"
    " current_setting('standard_conforming_strings') AS standard_conforming_strings;\n"
)
EXAMPLES = int(os.environ.get("LIFTDB_SPLIT_EXAMPLES", "12"))


def session_chain(versions, owner: str):
    """``(change, transactional)`` pairs as ``(name, up, rollback)`` versions."""
    chain = []
    for n, (change, transactional) in enumerate(versions, start=1):
        header = "" if transactional else "-- transactional: false\n"
        up = (
            header
            + OBSERVED.format(n=n)
            + SESSION_CHANGES[change].format(n=n, owner=owner)
            + f"CREATE TABLE made_{n} (id int);\n"
        )
        chain.append((f"change_{n}", up, "SELECT 1;\n"))
    return chain


def database_state(url: str) -> dict:
    """Every schema and table with its owner, every ``seen_N`` row, and the bookkeeping."""
    with psycopg.connect(url, autocommit=True) as conn:

        def rows(query: str) -> list[tuple]:
            return conn.execute(query).fetchall()

        state = {
            "schemas": rows(
                "SELECT nspname, pg_get_userbyid(nspowner) FROM pg_namespace"
                " WHERE nspname !~ '^pg_' AND nspname <> 'information_schema' ORDER BY 1"
            ),
            "tables": rows(
                "SELECT n.nspname, c.relname, pg_get_userbyid(c.relowner) FROM pg_class c"
                " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r'"
                " AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema' ORDER BY 1, 2"
            ),
        }
        # Wherever the bookkeeping is (the tables above say where): what it recorded.
        for schema, table, _owner in state["tables"]:
            if table in ("liftdb_version", "_yoyo_migration", "liftdb_progress"):
                name = sql.Identifier(schema, table).as_string(conn)
                state[f"{schema}.{table}"] = rows(
                    f"SELECT * FROM {name}"
                    if table == "liftdb_progress"
                    else f"SELECT version, name, up_sha256, rollback_sha256 FROM {name} ORDER BY 1"
                    if table == "liftdb_version"
                    else f"SELECT migration_id FROM {name} ORDER BY 1"
                )
        for schema, table, _owner in state["tables"]:
            if table.startswith("seen_"):
                name = sql.Identifier(schema, table)
                state[table] = rows(sql.SQL("SELECT * FROM {}").format(name).as_string(conn))
    return state


@pytest.fixture(scope="module")
def split_owner(server_url):
    """A role the tests' connection may become, for every database of the property."""
    with scratch_role(server_url, member=True) as role:
        yield role


@contextlib.contextmanager
def prepared_database(server_url: str, owner: str):
    with scratch_database(server_url) as url:
        with psycopg.connect(url, autocommit=True) as conn:
            role = sql.Identifier(owner)
            conn.execute("CREATE SCHEMA audit")
            conn.execute(sql.SQL("GRANT USAGE, CREATE ON SCHEMA public, audit TO {}").format(role))
            conn.execute(
                sql.SQL("GRANT CREATE ON DATABASE {} TO {}").format(
                    sql.Identifier(conn.info.dbname), role
                )
            )
        try:
            yield url
        finally:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(owner)))


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    versions=st.lists(
        st.tuples(st.sampled_from(sorted(SESSION_CHANGES)), st.booleans()),
        min_size=2,
        max_size=6,
    ),
    data=st.data(),
)
def test_the_same_chain_gives_the_same_database_however_it_is_split_into_runs(
    server_url, split_owner, versions, data
):
    """... into runs, or sent one version at a time rather than in batches (``stop``
    given: the path ``fleet`` takes, the string of each version alone)."""
    cuts = data.draw(
        st.lists(st.integers(1, len(versions) - 1), unique=True).map(sorted), label="runs end at"
    )
    with tempfile.TemporaryDirectory() as folder:
        sql_dir = write_chain(Path(folder), session_chain(versions, split_owner))
        states = []
        one_at_a_time = api.Options(stop=lambda: False)
        for runs, options in (
            ([len(versions)], api.DEFAULT_OPTIONS),
            ([*cuts, len(versions)], api.DEFAULT_OPTIONS),
            ([len(versions)], one_at_a_time),
        ):
            with prepared_database(server_url, split_owner) as url:
                for to in runs:
                    api.migrate(url, sql_dir, to=to, options=options)
                states.append(database_state(url))
    one_run, split, unbatched = states
    assert split == one_run
    assert unbatched == one_run


def test_a_version_that_gives_the_lock_away_to_another_session_stops_the_run(
    database_url, make_chain
):
    sql_dir = make_chain(
        (
            "unlocks",
            "-- transactional: false\nSELECT pg_advisory_unlock_all();\n"
            "SELECT pg_advisory_lock(777);\n",  # waits for the test to let it go on
            "SELECT 1;\n",
        ),
        CREATE_THINGS,
    )
    with psycopg.connect(database_url, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(777)")
        with start_liftdb(
            database_url, sql_dir, "--lock-timeout", "10min", "--lock-retries", "0", "migrate"
        ) as runner:
            wait_for(
                lambda: liftdb_backend(database_url, "777", waiting_on_lock=True),
                "the version to wait for the test",
            )
            assert lock.try_acquire(other)  # the version gave it away
            other.execute("SELECT pg_advisory_unlock(777)")
            _stdout, stderr = runner.communicate(timeout=COMMAND_TIMEOUT)
    assert runner.returncode == 1, stderr
    assert stderr == (
        f"liftdb: error: {sql_dir}/00001_unlocks.sql: 00001_unlocks was applied, then resetting"
        " the session failed: a statement gave up the migration lock, and another session"
        " took it; stopped there\n"
    )
    assert api.applied_versions(database_url) == [1]  # and not version 2


def test_another_application_s_yoyo_tables_in_another_schema_are_left_alone(
    database_url, make_chain
):
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "CREATE SCHEMA otherapp;"
            " CREATE TABLE otherapp._yoyo_migration (migration_hash varchar(64) PRIMARY KEY,"
            " migration_id varchar(255), applied_at_utc timestamp);"
            " INSERT INTO otherapp._yoyo_migration VALUES ('x', 'other_0001', now())"
        )
    sql_dir = make_chain(CREATE_THINGS)
    done = liftdb(database_url, sql_dir, "migrate")
    assert done.returncode == 0, done.stderr
    with psycopg.connect(database_url, autocommit=True) as conn:
        places = conn.execute(
            "SELECT relname::text, relnamespace::regnamespace::text FROM pg_class"
            " WHERE relname IN ('liftdb_version', '_yoyo_migration') ORDER BY 1, 2"
        ).fetchall()
        other = conn.execute("SELECT migration_id FROM otherapp._yoyo_migration").fetchall()
    assert places == [
        ("_yoyo_migration", "otherapp"),
        ("_yoyo_migration", "public"),  # ours, beside the other application's
        ("liftdb_version", "public"),
    ]
    assert other == [("other_0001",)]
