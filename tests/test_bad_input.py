"""Broken migration folders are refused before anything runs, in one line naming the file.

Each case is data: the changes it makes to a small valid chain of three versions
(a file's new bytes, a file removed, a directory or a dangling link in a file's
place), the file the message must name and what it must say. ``liftdb migrate``
runs as a separate process against an empty database; it must exit 1 with one
line on stderr and no traceback, and the database must still be empty: the
folder is read and every file parsed before the first statement is sent, so a
typo in the last version cannot leave the first ones applied.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from processes import assert_one_line_error, liftdb, user_relations

from runner.errors import EXIT_ERROR

CHAIN = {
    "00001_create_things.sql": b"CREATE TABLE things (\n    id integer PRIMARY KEY\n);\n",
    "00001_create_things.rollback.sql": b"DROP TABLE things;\n",
    "00002_add_colour.sql": b"ALTER TABLE things\n    ADD COLUMN colour text;\n",
    "00002_add_colour.rollback.sql": b"ALTER TABLE things\n    DROP COLUMN colour;\n",
    "00003_create_widgets.sql": b"CREATE TABLE widgets (\n    id integer PRIMARY KEY\n);\n",
    "00003_create_widgets.rollback.sql": b"DROP TABLE widgets;\n",
}
REMOVED = None
DIRECTORY = "a directory"
DANGLING = "a symbolic link to nothing"


@dataclass(frozen=True)
class Case:
    id: str
    changes: dict[str, bytes | str | None]  # file name -> bytes, REMOVED, DIRECTORY, DANGLING
    names: str  # the file the message names
    says: str  # what the message says about it
    extra: dict[str, bytes] = field(default_factory=dict)


CASES = [
    Case(
        "syntax error in the last version",
        {"00003_create_widgets.sql": b"CREATE TABLE widgets (\n    id integer PRIMARY KEY,\n);\n"},
        "00003_create_widgets.sql",
        ':3:1: syntax error at or near ")"',
    ),
    Case(
        "syntax error in a rollback file",
        {"00003_create_widgets.rollback.sql": b"DROP TABLE widgets widgets;\n"},
        "00003_create_widgets.rollback.sql",
        ':1:20: syntax error at or near "widgets"',
    ),
    Case(
        "syntax error after CRLF line endings",
        {"00002_add_colour.sql": b"ALTER TABLE things\r\n    ADD COLUMN colour text text;\r\n"},
        "00002_add_colour.sql",
        ':2:28: syntax error at or near "text"',
    ),
    Case(
        "syntax error after non-ASCII text",
        {"00002_add_colour.sql": "-- Färbung ändern\nALTER TABLE things ADD colour;\n".encode()},
        "00002_add_colour.sql",
        ':2:30: syntax error at or near ";"',
    ),
    Case(
        "unterminated dollar quote",
        {"00002_add_colour.sql": b"CREATE FUNCTION f() RETURNS int AS $$\n    SELECT 1;\n"},
        "00002_add_colour.sql",
        ":1:36: unterminated dollar-quoted string",
    ),
    Case(
        "unterminated block comment",
        {"00002_add_colour.sql": b"/* colour, later\nALTER TABLE things ADD COLUMN colour text;\n"},
        "00002_add_colour.sql",
        ":1:1: unterminated /* comment",
    ),
    Case(
        "empty up file",
        {"00002_add_colour.sql": b""},
        "00002_add_colour.sql",
        "holds no SQL statement",
    ),
    Case(
        "up file of blank lines",
        {"00002_add_colour.sql": b"\n  \n\t\n"},
        "00002_add_colour.sql",
        "holds no SQL statement",
    ),
    Case(
        "up file of comments only",
        {"00002_add_colour.sql": b"-- transactional: false\n-- ALTER TABLE things;\n/* x */\n"},
        "00002_add_colour.sql",
        "holds no SQL statement",
    ),
    Case(
        "bad lock_timeout directive",
        {
            "00003_create_widgets.sql": b"-- lock_timeout: soon\n"
            + CHAIN["00003_create_widgets.sql"]
        },
        "00003_create_widgets.sql",
        "directive lock_timeout: 'soon' is not a duration",
    ),
    Case(
        "statement_timeout without a unit, in a rollback file",
        {"00003_create_widgets.rollback.sql": b"-- statement_timeout: 30\nDROP TABLE widgets;\n"},
        "00003_create_widgets.rollback.sql",
        "directive statement_timeout: '30' needs a unit",
    ),
    Case(
        "missing rollback",
        {"00002_add_colour.rollback.sql": REMOVED},
        "00002_add_colour.sql",
        "has no rollback file 00002_add_colour.rollback.sql",
    ),
    Case(
        "rollback without its up file",
        {"00004_create_gadgets.rollback.sql": b"DROP TABLE gadgets;\n"},
        "00004_create_gadgets.rollback.sql",
        "rollback file without its up file 00004_create_gadgets.sql",
    ),
    Case(
        "rollback under another name",
        {
            "00002_add_colour.rollback.sql": REMOVED,
            "00002_add_color.rollback.sql": CHAIN["00002_add_colour.rollback.sql"],
        },
        "00002_add_color.rollback.sql",
        "rollback file without its up file 00002_add_color.sql",
    ),
    Case(
        "duplicate version number",
        {"00002_add_size.sql": b"ALTER TABLE things ADD COLUMN size int;\n"},
        "00002_add_size.sql",
        "version 2 appears more than once: 00002_add_colour.sql, 00002_add_size.sql",
        extra={"00002_add_size.rollback.sql": b"ALTER TABLE things DROP COLUMN size;\n"},
    ),
    Case(
        "duplicate version number, padded differently",
        {"0002_add_size.sql": b"ALTER TABLE things ADD COLUMN size int;\n"},
        "0002_add_size.sql",
        "version 2 appears more than once",
        extra={"0002_add_size.rollback.sql": b"ALTER TABLE things DROP COLUMN size;\n"},
    ),
    Case(
        "duplicate rollback file",
        {"0002_add_colour.rollback.sql": b"ALTER TABLE things DROP COLUMN colour;\n"},
        "0002_add_colour.rollback.sql",
        "rollback of version 2 appears more than once",
    ),
    Case(
        "missing version number",
        {"00002_add_colour.sql": REMOVED, "00002_add_colour.rollback.sql": REMOVED},
        "00003_create_widgets.sql",
        "version 00002 is missing before it",
    ),
    Case(
        "version zero",
        {"00000_setup.sql": b"SELECT 1;\n", "00000_setup.rollback.sql": b"SELECT 1;\n"},
        "00000_setup.rollback.sql",
        "version number 00000 is out of range 1..2147483647",
    ),
    Case(
        "version number past a 32-bit integer",
        {"2147483648_far.sql": b"SELECT 1;\n", "2147483648_far.rollback.sql": b"SELECT 1;\n"},
        "2147483648_far.rollback.sql",
        "version number 2147483648 is out of range 1..2147483647",
    ),
    Case(
        "version number of forty digits",
        {"9" * 40 + "_far.sql": b"SELECT 1;\n"},
        "9" * 40 + "_far.sql",
        "is out of range 1..2147483647",
    ),
    Case(
        "Latin-1 byte in an up file",
        {"00002_add_colour.sql": b"ALTER TABLE things\n    ADD COLUMN caf\xe9 text;\n"},
        "00002_add_colour.sql",
        ":2:19: not valid UTF-8 (byte 0xe9)",
    ),
    Case(
        "invalid UTF-8 in a rollback file",
        {"00003_create_widgets.rollback.sql": b"-- \xc3\xa9t\xc3\n DROP TABLE widgets;\n"},
        "00003_create_widgets.rollback.sql",
        ":1:6: not valid UTF-8 (byte 0xc3)",
    ),
    Case(
        "UTF-16, as PowerShell's > writes it",
        {"00002_add_colour.sql": "ALTER TABLE things ADD COLUMN colour text;\n".encode("utf-16")},
        "00002_add_colour.sql",
        "is UTF-16 (it starts with its byte order mark); save it as UTF-8",
    ),
    Case(
        "byte order mark in the middle, where two files were joined",
        {
            "00002_add_colour.sql": b"ALTER TABLE things ADD COLUMN colour text;\n"
            b"\xef\xbb\xbfSELECT 1;\n"
        },
        "00002_add_colour.sql",
        ":2:1: a byte order mark (U+FEFF) inside the file",
    ),
    # What a file written for psql holds (pg_dump's output, a DBA's script): the server
    # cannot run it, so it is refused where it starts before anything runs.
    Case(
        "COPY FROM STDIN with psql's inline data, as pg_dump writes it",
        {"00002_add_colour.sql": b"-- data\nCOPY things (id) FROM stdin;\n1\n2\n\\.\n"},
        "00002_add_colour.sql",
        ":2:1: COPY ... FROM STDIN takes its rows from the client",
    ),
    Case(
        "COPY FROM STDIN in CSV with a header and quotes in the data",
        {
            "00002_add_colour.sql": b"ALTER TABLE things ADD COLUMN colour text;\n"
            b"  COPY things (id, colour) FROM STDIN WITH (FORMAT csv, HEADER);\n"
            b'id,colour\n1,"O\'Brien ""red"""\n\\.\n'
        },
        "00002_add_colour.sql",
        ":2:3: COPY ... FROM STDIN takes its rows from the client",
    ),
    Case(
        "COPY FROM STDIN with no data after it, the last statement",
        {
            "00003_create_widgets.sql": CHAIN["00003_create_widgets.sql"]
            + b"copy widgets from stdin;\n"
        },
        "00003_create_widgets.sql",
        ":4:1: COPY ... FROM STDIN takes its rows from the client",
    ),
    Case(
        "COPY FROM STDIN followed by psql's end-of-data line only",
        {
            "00003_create_widgets.sql": CHAIN["00003_create_widgets.sql"]
            + b"COPY widgets FROM STDIN;\n\\.\n"
        },
        "00003_create_widgets.sql",
        ":4:1: COPY ... FROM STDIN",
    ),
    Case(
        "COPY FROM STDIN in a rollback file",
        {
            "00003_create_widgets.rollback.sql": b"DELETE FROM widgets;\nCOPY widgets FROM STDIN;\n"
            b"7\n\\.\n"
        },
        "00003_create_widgets.rollback.sql",
        ":2:1: COPY ... FROM STDIN",
    ),
    Case(
        "COPY FROM STDIN in a non-transactional file",
        {"00002_add_colour.sql": b"-- transactional: false\nCOPY things FROM STDIN;\n"},
        "00002_add_colour.sql",
        ":2:1: COPY ... FROM STDIN",
    ),
    Case(
        "COPY TO STDOUT",
        {
            "00002_add_colour.sql": b"ALTER TABLE things ADD COLUMN colour text;\n"
            b"COPY things TO STDOUT;\n"
        },
        "00002_add_colour.sql",
        ":2:1: COPY ... TO STDOUT sends rows to the client, and liftdb reads none",
    ),
    Case(
        "COPY (query) TO STDOUT after a comment on the same line",
        {
            "00002_add_colour.sql": b"/* report */ COPY (SELECT id FROM things)"
            b" TO STDOUT WITH csv;\n"
        },
        "00002_add_colour.sql",
        ":1:14: COPY ... TO STDOUT",
    ),
    Case(
        "psql's \\copy",
        {
            "00002_add_colour.sql": b"ALTER TABLE things ADD COLUMN colour text;\n"
            b"\\copy things from 'things.csv' csv\n"
        },
        "00002_add_colour.sql",
        ":2:1: \\copy is a psql meta-command, not SQL: the server cannot run it;"
        " write the rows as INSERT statements",
    ),
    Case(
        "psql's \\i including another file",
        {"00002_add_colour.sql": b"\\i common/colour.sql\n"},
        "00002_add_colour.sql",
        ":1:1: \\i is a psql meta-command, not SQL: the server cannot run it;"
        " put the included file's statements in this file",
    ),
    Case(
        "psql's \\set and the variable it sets",
        {
            "00002_add_colour.sql": b"\\set colour_type text\n"
            b"ALTER TABLE things ADD COLUMN colour :colour_type;\n"
        },
        "00002_add_colour.sql",
        ":1:1: \\set is a psql meta-command",
    ),
    Case(
        "a psql variable without its \\set",
        {"00002_add_colour.sql": b"ALTER TABLE things\n    ADD COLUMN colour :'colour_type';\n"},
        "00002_add_colour.sql",
        ":2:23: :'colour_type' is a psql variable, not SQL: write its value in",
    ),
    Case(
        "psql's \\gexec at the end of a statement's line",
        {
            "00002_add_colour.sql": b"SELECT format('ALTER TABLE %I ADD COLUMN colour text',"
            b" 'things') \\gexec\n"
        },
        "00002_add_colour.sql",
        ":1:66: \\gexec is a psql meta-command",
    ),
    Case(
        "psql's \\connect in a rollback file",
        {"00003_create_widgets.rollback.sql": b"\\connect other\nDROP TABLE widgets;\n"},
        "00003_create_widgets.rollback.sql",
        ":1:1: \\connect is a psql meta-command",
    ),
    Case(
        "NUL byte",
        {"00002_add_colour.sql": b"ALTER TABLE things\x00 ADD COLUMN colour text;\n"},
        "00002_add_colour.sql",
        "contains a NUL byte",
    ),
    Case(
        "up file that is a directory",
        {"00002_add_colour.sql": DIRECTORY},
        "00002_add_colour.sql",
        "is a directory, not a migration file",
    ),
    Case(
        "rollback file that is a directory",
        {"00003_create_widgets.rollback.sql": DIRECTORY},
        "00003_create_widgets.rollback.sql",
        "is a directory, not a migration file",
    ),
    Case(
        "dangling symbolic link",
        {"00002_add_colour.sql": DANGLING},
        "00002_add_colour.sql",
        "dangling symbolic link",
    ),
    Case(
        "name not in snake_case",
        {"00002_add_colour.sql": REMOVED, "00002_AddColour.sql": CHAIN["00002_add_colour.sql"]},
        "00002_AddColour.sql",
        "name 'AddColour' is not snake_case",
    ),
    Case(
        "name with a hyphen",
        {"00002_add_colour.sql": REMOVED, "00002_add-colour.sql": CHAIN["00002_add_colour.sql"]},
        "00002_add-colour.sql",
        "is not snake_case",
    ),
    Case(
        "hyphen for the underscore after the number",
        {"00002-add_size.sql": b"ALTER TABLE things ADD COLUMN size int;\n"},
        "00002-add_size.sql",
        "not a migration file name",
    ),
    Case(
        "goose-style down file",
        {"00002_add_colour.down.sql": CHAIN["00002_add_colour.rollback.sql"]},
        "00002_add_colour.down.sql",
        "not a migration file name",
    ),
    Case(
        "upper-case .SQL extension (silently skipped, the chain one version short)",
        {"00004_add_size.SQL": b"ALTER TABLE things ADD COLUMN size int;\n"},
        "00004_add_size.SQL",
        "not a migration file name",
    ),
]


def write_folder(directory: Path, changes: dict[str, bytes | str | None]) -> Path:
    """The valid chain with ``changes`` made to it."""
    directory.mkdir()
    files: dict[str, bytes | str | None] = {**CHAIN, **changes}
    for name, content in files.items():
        path = directory / name
        if content is REMOVED:
            continue
        if content == DIRECTORY:
            path.mkdir()
        elif content == DANGLING:
            path.symlink_to(directory / "nowhere.sql")
        else:
            path.write_bytes(content)
    return directory


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_broken_folder_is_refused_in_one_line_naming_the_file_before_anything_runs(
    tmp_path, database_url, case
):
    sql_dir = write_folder(tmp_path / "sql", {**case.changes, **case.extra})

    result = liftdb(database_url, sql_dir, "migrate")

    assert_one_line_error(result, EXIT_ERROR, str(sql_dir / case.names), case.says)
    assert result.stdout == ""
    assert user_relations(database_url) == []


def test_missing_folder_is_refused_in_one_line(tmp_path, database_url):
    result = liftdb(database_url, tmp_path / "nowhere", "migrate")

    assert_one_line_error(
        result, EXIT_ERROR, str(tmp_path / "nowhere"), "migration folder not found"
    )
    assert user_relations(database_url) == []


def test_crlf_line_endings_are_accepted_and_applied(tmp_path, database_url):
    crlf = {name: text.replace(b"\n", b"\r\n") for name, text in CHAIN.items()}
    sql_dir = write_folder(tmp_path / "sql", crlf)

    result = liftdb(database_url, sql_dir, "migrate")

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert {"things", "widgets"} <= set(user_relations(database_url))
    assert liftdb(database_url, sql_dir, "migrate").returncode == 0  # nothing left to do


BOM = b"\xef\xbb\xbf"


def test_a_byte_order_mark_is_accepted_and_is_not_content(tmp_path, database_url):
    with_bom = {name: BOM + text for name, text in CHAIN.items()}
    sql_dir = write_folder(tmp_path / "sql", with_bom)

    result = liftdb(database_url, sql_dir, "migrate")

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert {"things", "widgets"} <= set(user_relations(database_url))
    # Recorded as the same files without the mark: removing it later is not drift.
    for name, text in CHAIN.items():
        (sql_dir / name).write_bytes(text)
    assert liftdb(database_url, sql_dir, "verify").returncode == 0
    assert liftdb(database_url, sql_dir, "status", "--exit-code").returncode == 0


def test_adding_a_byte_order_mark_to_applied_files_is_not_drift(tmp_path, database_url):
    sql_dir = write_folder(tmp_path / "sql", CHAIN)
    assert liftdb(database_url, sql_dir, "migrate").returncode == 0
    for name, text in CHAIN.items():
        (sql_dir / name).write_bytes(BOM + text.replace(b"\n", b"\r\n"))

    status = liftdb(database_url, sql_dir, "status", "--exit-code")
    rollback = liftdb(database_url, sql_dir, "rollback", "--yes")

    assert status.returncode == 0, status.stdout + status.stderr
    assert "drift" not in status.stdout
    assert rollback.returncode == 0, rollback.stderr
    assert "widgets" not in user_relations(database_url)


def test_copy_to_and_from_the_server_and_a_body_that_mentions_stdin_are_accepted(
    tmp_path, database_url
):
    # COPY with a file or a program runs on the server (here as the superuser the tests
    # connect as); a function body is one string, whatever COPY it holds.
    changes = {
        "00002_add_colour.sql": b"ALTER TABLE things ADD COLUMN colour text;\n"
        b"COPY things (id, colour) FROM PROGRAM 'printf \"1,red\\n2,blue\\n\"' WITH (FORMAT csv);\n"
        b"CREATE FUNCTION things_loader() RETURNS text LANGUAGE sql\n"
        b"    AS $$ SELECT 'COPY things FROM STDIN; \\\\.' $$;\n",
        "00002_add_colour.rollback.sql": b"DROP FUNCTION things_loader();\n"
        b"DELETE FROM things;\nALTER TABLE things DROP COLUMN colour;\n",
    }
    sql_dir = write_folder(tmp_path / "sql", changes)

    result = liftdb(database_url, sql_dir, "migrate")

    assert result.returncode == 0, result.stderr
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT id, colour FROM things ORDER BY id").fetchall() == [
            (1, "red"),
            (2, "blue"),
        ]
