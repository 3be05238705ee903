"""runner.observe reads what a statement did from the server itself.

The lock conflict table is checked pair by pair against a server (one session holds a
mode, another asks for one with NOWAIT); each kind of effect is observed on a table
holding rows, in a transaction rolled back.
"""

from __future__ import annotations

import itertools

import psycopg
import pytest

from runner import observe
from runner.observe import BLOCKS, NONE, REWRITE, SCAN

ROWS = 2_000
LOCK_NOT_AVAILABLE = "55P03"


@pytest.fixture(scope="module")
def table_url(module_migrated_url):
    """The migrated database plus a table ``probe`` of ROWS rows with an index."""
    with psycopg.connect(module_migrated_url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE probe (id int PRIMARY KEY, code varchar(50), n int);"
            "CREATE INDEX probe_code_idx ON probe (code);"
            f"INSERT INTO probe SELECT i, 'c' || i, i FROM generate_series(1, {ROWS}) i"
        )
    return module_migrated_url


def test_lock_conflicts_are_postgresqls(table_url):
    modes = list(observe.LOCK_MODES.values())
    found = {mode: set() for mode in modes}
    with (
        psycopg.connect(table_url, autocommit=True) as holder,
        psycopg.connect(table_url, autocommit=True) as asker,
    ):
        for held, wanted in itertools.product(modes, modes):
            holder.execute("BEGIN")
            holder.execute(f"LOCK TABLE probe IN {held} MODE")
            asker.execute("BEGIN")
            try:
                asker.execute(f"LOCK TABLE probe IN {wanted} MODE NOWAIT")
            except psycopg.errors.LockNotAvailable:
                found[held].add(wanted)
            finally:
                asker.execute("ROLLBACK")
                holder.execute("ROLLBACK")
    assert found == {mode: set(observe.CONFLICTS[mode]) for mode in modes}


def test_what_each_mode_blocks():
    assert observe.blocks("ACCESS EXCLUSIVE") == "reads and writes"
    assert {m for m in observe.LOCK_MODES.values() if observe.blocks(m) == "writes"} == {
        "SHARE", "SHARE ROW EXCLUSIVE", "EXCLUSIVE",
    }  # fmt: skip
    assert observe.blocks("SHARE UPDATE EXCLUSIVE") == "schema changes and VACUUM"
    assert observe.blocks("ACCESS SHARE") == "schema changes"


def observe_one(url: str, sql: str) -> observe.Effects:
    with psycopg.connect(url, autocommit=True) as conn:
        observer = observe.Observer(conn, observe.count_rows(conn))
        observer.begin()
        try:
            return observer.run(sql)
        finally:
            conn.execute("ROLLBACK")


def test_a_rewrite_is_a_new_filenode_with_the_rows_kept(table_url):
    effects = observe_one(table_url, "ALTER TABLE probe ALTER COLUMN code TYPE varchar(20)")
    assert effects.rewritten == ("probe",) and effects.level == REWRITE
    assert [str(lock) for lock in effects.locks if lock.index is None] == ["probe ACCESS EXCLUSIVE"]


def test_a_full_scan_under_a_lock_that_blocks_writes(table_url):
    effects = observe_one(table_url, "CREATE INDEX probe_n_idx ON probe (n)")
    assert effects.read_whole == ("probe",) and effects.rows_read == {"probe": ROWS}
    assert [str(lock) for lock in effects.locks] == ["probe SHARE"]
    assert effects.level == SCAN and not effects.rewritten


def test_a_brief_lock_and_nothing_else(table_url):
    effects = observe_one(table_url, "ALTER TABLE probe ADD COLUMN note text")
    assert (effects.level, effects.read_whole, effects.rewritten) == (BLOCKS, (), ())


def test_an_index_rebuilt_without_the_table(table_url):
    effects = observe_one(
        table_url, 'ALTER TABLE probe ALTER COLUMN code TYPE varchar(50) COLLATE "C"'
    )
    assert effects.reindexed == ("probe_code_idx",) and effects.rewritten == ()
    assert effects.level == SCAN


def test_truncate_empties_rather_than_rewrites(table_url):
    effects = observe_one(table_url, "TRUNCATE probe")
    assert effects.emptied == ("probe",) and effects.rewritten == ()


def test_a_refused_statement_leaves_the_transaction_usable(table_url):
    with psycopg.connect(table_url, autocommit=True) as conn:
        observer = observe.Observer(conn, observe.count_rows(conn))
        observer.begin()
        earlier = observer.run("CREATE TABLE probe_note (id int)")
        refused = observer.run("ALTER TABLE probe ADD COLUMN required int NOT NULL")
        after = observer.run("ALTER TABLE probe ADD COLUMN optional int")
        uses_earlier = observer.run("INSERT INTO probe_note VALUES (1)")
        conn.execute("ROLLBACK")
    assert (refused.sqlstate, refused.failed) == ("23502", True)
    assert "contains null values" in refused.error
    assert not earlier.failed and not after.failed and after.level == BLOCKS
    assert not uses_earlier.failed  # what ran before the refusal is still there


def test_statements_run_as_migrate_runs_them(table_url):
    """No savepoint around a statement: what the observer sees succeed or fail is what a
    plain transaction (how ``migrate`` runs a version) does. The case: a value added to an
    enum type created in the same transaction, which PostgreSQL 17 and later let the
    transaction use, and which inside a savepoint every version refuses (55P04)."""
    statements = (
        "CREATE TYPE probe_state AS ENUM ('open')",
        "ALTER TYPE probe_state ADD VALUE 'shut'",
        "ALTER TABLE probe ADD COLUMN state probe_state NOT NULL DEFAULT 'shut'",
    )
    with psycopg.connect(table_url, autocommit=True) as conn:
        plain = []
        conn.execute("BEGIN")
        for sql in statements:
            try:
                conn.execute(sql)
                plain.append(None)
            except psycopg.Error as exc:
                plain.append(exc.sqlstate)
                break
        conn.execute("ROLLBACK")
        observer = observe.Observer(conn, observe.count_rows(conn))
        observer.begin()
        seen = [observer.run(sql).sqlstate for sql in statements]
        conn.execute("ROLLBACK")
        major = conn.info.server_version // 10000
    assert seen == plain
    assert seen[-1] == (None if major >= 17 else "55P04")


def test_a_statement_that_cannot_run_in_a_transaction(table_url):
    """CREATE INDEX CONCURRENTLY runs in autocommit; a writer held on every table shows its
    lock (it waits for the writer holding that lock) and that it does not block writes."""
    with psycopg.connect(table_url, autocommit=True) as conn:
        observer = observe.Observer(conn, observe.count_rows(conn))
        try:
            effects = observer.run_autocommit(
                "CREATE INDEX CONCURRENTLY probe_n_idx ON probe (n)", table_url
            )
        finally:
            conn.execute("DROP INDEX IF EXISTS probe_n_idx")
    assert [str(lock) for lock in effects.locks] == ["probe SHARE UPDATE EXCLUSIVE"]
    assert effects.read_whole == ("probe",) and effects.autocommit
    assert effects.level == NONE
