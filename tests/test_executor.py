"""What the server says while a version runs reaches the person, pinned to its statement.

Every runtime error names the statement that failed (``file:line``, SQLSTATE), never
"while recording", including when the server refuses to parse the string a
transactional version is sent as (a syntax newer than the server, a character the
database's encoding lacks); a ``BEGIN`` ... ``COMMIT`` block of a non-transactional
file that fails names its statement and leaves the progress true; and every notice
(``RAISE NOTICE`` / ``WARNING``, "... skipping") is shown with the version and the
``file:line`` of the statement that raised it.
"""

from __future__ import annotations

import json

import psycopg
import pytest
from conftest import scratch_database
from processes import assert_one_line_error, liftdb, recorded_versions, status_document

from runner import database

NON_TRANSACTIONAL = "-- transactional: false\n"


def notice(n: int) -> str:
    """A statement that raises a NOTICE naming its own line, ``n``."""
    return f"DO $$ BEGIN RAISE NOTICE 'from line %', {n}; END $$;"


def server_version(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.info.server_version // 10000


# --- notices ----------------------------------------------------------------------------


@pytest.mark.parametrize("header", ["", NON_TRANSACTIONAL], ids=["transactional", "not"])
def test_every_notice_is_shown_with_the_version_and_the_line_of_its_statement(
    database_url, make_chain, header
):
    # Statements that raise notices, each naming its own line, between statements that
    # raise none or return rows: libpq hands a notice over as soon as it reads it, so a
    # runner counting finished statements would pin many of these on the one before.
    lines = [header.strip() or "-- notices"]
    for n in range(2, 40):
        kinds = (
            notice(n),
            "SELECT 1;",
            f"SELECT n FROM generate_series(1, 3) n WHERE n > 0 AND {n} > 0;",
            f"DO $$ BEGIN RAISE NOTICE 'from line %', {n}; RAISE INFO 'also line %', {n}; END $$;",
        )
        lines.append(kinds[n % len(kinds)])
    sql_dir = make_chain(("talks", "\n".join(lines) + "\n", "SELECT 1;\n"))

    done = liftdb(database_url, sql_dir, "migrate")

    assert done.returncode == 0, done.stderr
    path = f"{sql_dir}/00001_talks.sql"
    shown = done.stderr.splitlines()
    assert shown, "no notice shown"
    for line in shown:
        prefix, _, message = line.partition(": NOTICE: ")
        if not _:
            prefix, _, message = line.partition(": INFO: ")
        assert prefix.startswith(f"00001_talks: {path}:"), line
        assert message.split()[-1] == prefix.rsplit(":", 1)[1], line  # the line it named
    expected = [n for n in range(2, 40) if n % 4 in (0, 3)]  # the statements that raise
    assert sorted({int(line.split(":")[2]) for line in shown}) == expected


def test_a_warning_is_shown_even_when_quiet_a_notice_is_not(database_url, make_chain):
    sql_dir = make_chain(
        (
            "warns",
            "CREATE TABLE IF NOT EXISTS pg_temp.never (id int);\n"
            "CREATE TABLE IF NOT EXISTS pg_temp.never (id int);\n"
            "DO $$ BEGIN RAISE WARNING 'check the %', 'backfill'; END $$;\n",
            "SELECT 1;\n",
        )
    )
    path = f"{sql_dir}/00001_warns.sql"
    loud = liftdb(database_url, sql_dir, "migrate")
    assert loud.returncode == 0, loud.stderr
    assert loud.stderr.splitlines() == [
        f'00001_warns: {path}:2: NOTICE: relation "never" already exists, skipping',
        f"00001_warns: {path}:3: WARNING: check the backfill",
    ]
    assert liftdb(database_url, sql_dir, "rollback").returncode == 0
    quiet = liftdb(database_url, sql_dir, "--quiet", "migrate")
    assert quiet.returncode == 0
    assert quiet.stdout == ""
    assert quiet.stderr == f"00001_warns: {path}:3: WARNING: check the backfill\n"


def test_with_json_the_notices_are_part_of_the_document(database_url, make_chain):
    sql_dir = make_chain(("warns", f"SELECT 1;\n{notice(2)}\n", f"{notice(1)}\n"))
    done = liftdb(database_url, sql_dir, "--json", "migrate")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    document = json.loads(done.stdout)
    assert document["notices"] == [
        {
            "version": "00001_warns",
            "file": f"{sql_dir}/00001_warns.sql",
            "line": 2,
            "severity": "NOTICE",
            "message": "from line 2",
        }
    ]
    rolled_back = json.loads(liftdb(database_url, sql_dir, "--json", "rollback").stdout)
    assert [n["file"] for n in rolled_back["notices"]] == [f"{sql_dir}/00001_warns.rollback.sql"]


def test_liftdb_s_own_statements_raise_no_notice_to_show(database_url, make_chain):
    sql_dir = make_chain(
        ("first", "CREATE TABLE a (id int);\n", "DROP TABLE a;\n"),
        ("second", NON_TRANSACTIONAL + "CREATE INDEX CONCURRENTLY a_id_idx ON a (id);\n", ""),
    )
    for args in (["migrate", "--to", "1"], ["migrate"], ["rollback", "--all", "--yes"]):
        done = liftdb(database_url, sql_dir, *args)
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""


# --- errors at the statement that failed --------------------------------------------------


def test_a_syntax_the_server_lacks_is_named_at_its_line_and_nothing_runs(database_url, make_chain):
    sql_dir = make_chain(
        (
            "virtual_total",
            "CREATE TABLE items (\n"
            "    price int,\n"
            "    quantity int\n"
            ");\n"
            "ALTER TABLE items\n"
            "    ADD COLUMN total int GENERATED ALWAYS AS (price * quantity) VIRTUAL;\n",
            "DROP TABLE items;\n",
        )
    )
    done = liftdb(database_url, sql_dir, "migrate")
    if server_version(database_url) >= 18:  # PostgreSQL 18 has virtual generated columns
        assert done.returncode == 0, done.stderr
        assert recorded_versions(database_url) == [1]
        return
    # Refused before anything runs: by the plan's check of what the server lacks when it
    # knows the syntax (runner.features), else by the server, at the statement's line.
    line = assert_one_line_error(done, 1, f"{sql_dir}/00001_virtual_total.sql:", "VIRTUAL")
    assert "while recording" not in line
    assert recorded_versions(database_url) == []
    with psycopg.connect(database_url, autocommit=True) as conn:
        assert conn.execute("SELECT to_regclass('items')").fetchone()[0] is None


@pytest.fixture
def legacy_encoding_url(server_url):
    """A fresh database in LATIN1, as old databases often are."""
    with scratch_database(server_url, encoding="LATIN1") as url:
        yield url


@pytest.mark.parametrize(
    "written",
    ["U&'\\20AC'", "'\u20ac'"],
    ids=["unicode escape", "literal character"],
)
def test_a_character_the_database_encoding_lacks_is_named_at_its_line(
    legacy_encoding_url, make_chain, written
):
    sql_dir = make_chain(
        (
            "prices",
            "CREATE TABLE prices (currency text);\n"
            "INSERT INTO prices VALUES ('EUR');\n"
            f"INSERT INTO prices VALUES ({written});\n"
            "INSERT INTO prices VALUES ('USD');\n",
            "DROP TABLE prices;\n",
        )
    )
    done = liftdb(legacy_encoding_url, sql_dir, "migrate")
    line = assert_one_line_error(
        done,
        1,
        f"{sql_dir}/00001_prices.sql:3: INSERT INTO prices VALUES ({written}): character with"
        ' byte sequence 0xe2 0x82 0xac in encoding "UTF8" has no equivalent in encoding'
        ' "LATIN1" [22P05]; 00001_prices was not applied',
    )
    assert "while recording" not in line
    assert recorded_versions(legacy_encoding_url) == []


@pytest.mark.parametrize(
    "sets",
    ["SET client_encoding = 'LATIN1';", "SELECT set_config('client_encoding', 'LATIN1', false);"],
    ids=["SET", "set_config"],
)
def test_a_character_the_client_encoding_a_version_set_lacks_is_named_at_its_line(
    database_url, make_chain, sets
):
    # The session's client_encoding decides how the next statements are sent: one the
    # version's own statement set, and a character it lacks, is one line at its statement.
    sql_dir = make_chain(
        (
            "prices",
            "-- transactional: false\n"
            "CREATE TABLE prices (currency text);\n"
            f"{sets}\n"
            "INSERT INTO prices VALUES ('\u00a3');\n"  # in LATIN1: sent, and stored as it is
            "INSERT INTO prices VALUES ('\u20ac');\n",
            "DROP TABLE prices;\n",
        )
    )
    done = liftdb(database_url, sql_dir, "migrate")
    assert_one_line_error(
        done,
        1,
        f"{sql_dir}/00001_prices.sql:5: INSERT INTO prices VALUES ('\u20ac'): character"
        " '\u20ac' has no equivalent in the session's client_encoding LATIN1 (set by a"
        " statement before it); 00001_prices stopped after 3 of 4 statements",
    )
    assert recorded_versions(database_url) == []
    with psycopg.connect(database_url, autocommit=True) as conn:
        assert conn.execute("SELECT currency FROM prices").fetchall() == [("\u00a3",)]


def test_a_literal_the_database_reads_past_its_statement_is_named_at_its_line(
    database_url, make_chain
):
    name = database.database_name(database_url)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" SET standard_conforming_strings = off')
    # With standard_conforming_strings off the server reads 'C:\' as running on into the
    # statements after it: the whole string is refused before anything of it runs, and
    # the statement that is refused on its own is the one named, on the server (18 or 15).
    sql_dir = make_chain(
        (
            "paths",
            "CREATE TABLE paths (path text);\n"
            "INSERT INTO paths VALUES ('D:\\new');\n"
            "INSERT INTO paths VALUES ('C:\\');\n"
            "INSERT INTO paths VALUES ('E:');\n",
            "DROP TABLE paths;\n",
        )
    )
    done = liftdb(database_url, sql_dir, "migrate")
    line = assert_one_line_error(
        done,
        1,
        f"{sql_dir}/00001_paths.sql:3: INSERT INTO paths VALUES ('C:\\'): unterminated quoted"
        " string at or near",
        "[42601]; 00001_paths was not applied",
    )
    assert "while recording" not in line
    assert recorded_versions(database_url) == []
    with psycopg.connect(database_url, autocommit=True) as conn:
        assert conn.execute("SELECT to_regclass('paths')").fetchone()[0] is None


# --- a transaction of the file's own in a non-transactional version -----------------------

BLOCK = (
    NON_TRANSACTIONAL
    + "CREATE TABLE ledger (id int PRIMARY KEY, amount int NOT NULL);\n"  # 2
    + "BEGIN;\n"  # 3
    + "INSERT INTO ledger VALUES (1, 10);\n"  # 4
    + "INSERT INTO ledger VALUES (2, {amount});\n"  # 5
    + "COMMIT;\n"  # 6
    + "CREATE INDEX CONCURRENTLY ledger_amount_idx ON ledger (amount);\n"  # 7
)


def test_a_failing_statement_in_a_block_of_the_file_s_own_is_named_and_the_block_undone(
    database_url, make_chain
):
    sql_dir = make_chain(("ledger", BLOCK.format(amount="NULL"), "DROP TABLE ledger;\n"))
    path = f"{sql_dir}/00001_ledger.sql"
    done = liftdb(database_url, sql_dir, "migrate")
    assert_one_line_error(
        done,
        1,
        f'{path}:5: INSERT INTO ledger VALUES (2, NULL): null value in column "amount"',
        "violates not-null constraint [23502];",
        f"the transaction begun at {path}:3 was rolled back;",
        "00001_ledger stopped after 1 of 6 statements; run migrate again to finish it",
    )
    assert "current transaction is aborted" not in done.stderr
    [version] = status_document(database_url, sql_dir)["versions"]
    assert (version["state"], version["note"]) == (
        "interrupted",
        f"stopped at {path}:3 (1 of 6 statements done)",
    )
    with psycopg.connect(database_url, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM ledger").fetchone()[0] == 0

    # The failed statement fixed, the resume runs the whole block again, once.
    (sql_dir / "00001_ledger.sql").write_text(BLOCK.format(amount="20"))
    finished = liftdb(database_url, sql_dir, "migrate")
    assert finished.returncode == 0, finished.stderr
    with psycopg.connect(database_url, autocommit=True) as conn:
        assert conn.execute("SELECT sum(amount) FROM ledger").fetchone()[0] == 30
    assert recorded_versions(database_url) == [1]


def test_a_block_that_fails_at_its_commit_names_the_commit(database_url, make_chain):
    deferred = (
        NON_TRANSACTIONAL
        + "CREATE TABLE pairs (id int,\n"  # 2
        + "    CONSTRAINT pairs_id_key UNIQUE (id) DEFERRABLE INITIALLY DEFERRED);\n"
        + "BEGIN;\n"  # 4
        + "INSERT INTO pairs VALUES (1), (1);\n"  # 5
        + "COMMIT;\n"  # 6
    )
    sql_dir = make_chain(("pairs", deferred, "DROP TABLE pairs;\n"))
    path = f"{sql_dir}/00001_pairs.sql"
    done = liftdb(database_url, sql_dir, "migrate")
    assert_one_line_error(
        done,
        1,
        f"{path}:6: COMMIT: duplicate key value violates unique constraint",
        "[23505] constraint pairs_id_key;",
        "00001_pairs stopped after 1 of 4 statements",
    )
    [version] = status_document(database_url, sql_dir)["versions"]
    assert version["note"] == f"stopped at {path}:4 (1 of 4 statements done)"


def test_a_block_the_file_leaves_open_is_refused_before_anything_runs(database_url, make_chain):
    sql_dir = make_chain(
        (
            "open",
            NON_TRANSACTIONAL + "CREATE TABLE a (id int);\nBEGIN;\nINSERT INTO a VALUES (1);\n",
            "",
        )
    )
    done = liftdb(database_url, sql_dir, "migrate")
    assert_one_line_error(
        done,
        1,
        f"{sql_dir}/00001_open.sql:3: BEGIN: the transaction it begins is not ended"
        " (COMMIT or ROLLBACK) in the file; end it there",
    )
    with psycopg.connect(database_url, autocommit=True) as conn:
        assert conn.execute("SELECT to_regclass('a')").fetchone()[0] is None


# A non-transactional version's statement commits with the note that it is done, unless
# it cannot run in a transaction block: these run on their own, as in psql, known before
# sending or (REINDEX SCHEMA) refused by the server in a block and sent again alone.
ALONE = {
    "DO that commits": (
        "DO $$ BEGIN INSERT INTO batches VALUES (1); COMMIT; INSERT INTO batches VALUES (2);"
        " END $$;\n"
    ),
    "CALL of a procedure that commits": (
        "CREATE PROCEDURE fill() LANGUAGE plpgsql AS $$ BEGIN INSERT INTO batches VALUES (1);"
        " COMMIT; INSERT INTO batches VALUES (2); END $$;\nCALL fill();\n"
    ),
    "CREATE INDEX CONCURRENTLY": (
        "CREATE INDEX CONCURRENTLY batches_id_idx ON batches (id);\n"
        "INSERT INTO batches VALUES (1), (2);\n"
    ),
    "REINDEX SCHEMA": "INSERT INTO batches VALUES (1), (2);\nREINDEX SCHEMA public;\n",
    "VACUUM": "INSERT INTO batches VALUES (1), (2);\nVACUUM batches;\n",
}


@pytest.mark.parametrize("alone", ALONE)
def test_a_statement_that_cannot_run_in_a_transaction_block_still_runs(
    database_url, make_chain, alone
):
    sql_dir = make_chain(
        (
            "batches",
            "-- transactional: false\nCREATE TABLE batches (id int);\n" + ALONE[alone],
            "DROP TABLE batches;\n",
        )
    )
    done = liftdb(database_url, sql_dir, "migrate")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert recorded_versions(database_url) == [1]
    with psycopg.connect(database_url, autocommit=True) as conn:
        assert conn.execute("SELECT id FROM batches ORDER BY id").fetchall() == [(1,), (2,)]
