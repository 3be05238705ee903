"""A large data version (tens of thousands of one-line INSERTs) is loaded, planned, dry-run
and applied, and every statement keeps its right line: the work grows with the file, not
with its square.

No test here times anything (``make bench`` measures the 200,000-statement file beside
``psql -1 -f``). Linearity is checked by counting work: how many characters of the file
the loader reads to number its statements. The size is a knob:
``LIFTDB_LARGE_STATEMENTS`` (default 20,000).
"""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest
from conftest import write_chain
from processes import assert_one_line_error, liftdb

from bench.large_file import CREATE
from runner import loader
from runner.errors import EXIT_ERROR, LayoutError

STATEMENTS = int(os.environ.get("LIFTDB_LARGE_STATEMENTS", "20000"))


def data_file(count: int, *, last: str = "") -> tuple[str, list[int]]:
    """``count`` INSERTs, mostly one per line, some over several lines, with comments and
    blank lines between, and ``last`` at the end; with the line each statement starts on,
    counted here as the file is written (the oracle the loader is checked against)."""
    lines: list[str] = ["-- readings, as exported"]
    starts = []
    for i in range(1, count + 1):
        if i % 1000 == 0:
            lines += ["", f"-- batch {i // 1000}"]
        starts.append(len(lines) + 1)
        values = f"({i}, 'sensor-{i % 97:03d}', {i % 1000}.{i % 100:02d})"
        if i % 250 == 0:
            lines += ["INSERT INTO readings (id, sensor, value)", f"    VALUES {values};"]
        else:
            lines.append(f"INSERT INTO readings (id, sensor, value) VALUES {values};")
    if last:
        starts.append(len(lines) + 1)
        lines.append(last)
    return "\n".join(lines) + "\n", starts


def test_a_large_data_version_is_applied_and_a_failure_near_its_end_is_named_by_line(
    tmp_path, database_url
):
    duplicate = "INSERT INTO readings (id, sensor, value) VALUES (7, 'again', 1);"
    text, starts = data_file(STATEMENTS, last=duplicate)
    sql_dir = write_chain(
        tmp_path / "sql",
        [("create_readings", CREATE, "DROP TABLE readings;\n"), ("load_readings", text, "")],
    )
    data = sql_dir / "00002_load_readings.sql"

    failed = liftdb(database_url, sql_dir, "migrate")

    assert_one_line_error(
        failed,
        EXIT_ERROR,
        f"{data}:{starts[-1]}: {duplicate[:-1]}: duplicate key value",
        "00002_load_readings was not applied",
    )
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM readings").fetchone() == (0,)

    text, starts = data_file(STATEMENTS)
    data.write_text(text)
    (sql_dir / "00002_load_readings.rollback.sql").write_text("DELETE FROM readings;\n")
    dry_run = liftdb(database_url, sql_dir, "migrate", "--dry-run")
    applied = liftdb(database_url, sql_dir, "migrate")

    assert dry_run.returncode == 0, dry_run.stderr
    assert dry_run.stdout.count("INSERT INTO readings") == STATEMENTS
    assert applied.returncode == 0, applied.stderr
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*), max(id) FROM readings").fetchone() == (
            STATEMENTS,
            STATEMENTS,
        )
    statements = loader.read_file(data).statements
    assert [s.line for s in statements] == starts


def _counted(name: str):
    """``str.<name>(sub, start, end)`` that first counts the span it searches."""

    def search(self, sub, start=None, end=None):
        self._spanned(start, end)
        return getattr(str, name)(self, sub, start, end)

    return search


class CountingText(str):
    """A file's text that counts the characters its readers go through: each search or
    slice counts the span it covers, anything else the whole text."""

    read = 0

    def _spanned(self, start=None, end=None) -> None:
        begin, stop, _ = slice(start, end).indices(len(self))
        CountingText.read += max(0, stop - begin)

    count, find = _counted("count"), _counted("find")
    rfind, index = _counted("rfind"), _counted("index")

    def __getitem__(self, key):
        if isinstance(key, slice):
            self._spanned(key.start, key.stop)
        return super().__getitem__(key)

    def __getattribute__(self, name):
        whole = ("splitlines", "split", "replace", "encode", "strip", "lower", "partition")
        if name in whole:
            CountingText.read += len(self)
        return super().__getattribute__(name)


def test_numbering_the_statements_of_a_file_reads_it_a_bounded_number_of_times(
    tmp_path, monkeypatch
):
    # Numbering each statement by counting lines from the file's start read the file
    # once per statement: 21 s for 40,000 statements, 200,000 never finished.
    from pglast import parser

    split = parser.split
    monkeypatch.setattr(parser, "split", lambda text, **kw: split(str(text), **kw))  # C wants str
    text, starts = data_file(5000)
    sql_file = loader.SqlFile(path=Path(tmp_path / "00002_load.sql"), text=CountingText(text))
    CountingText.read = 0

    statements = sql_file.statements
    sql_file.directives  # noqa: B018 - read as a run reads them
    sql_file.checksum  # noqa: B018

    assert [s.line for s in statements] == starts
    assert CountingText.read <= 10 * len(text), f"read {CountingText.read / len(text):.0f} times"


def test_explaining_a_syntax_error_parses_only_the_copy_statements_before_it(tmp_path, monkeypatch):
    # A syntax error is checked for a COPY ... FROM STDIN before it (psql's data lines
    # would be the error); statements that merely mention copy are not parsed one by one.
    from runner import sqltree

    parsed = []
    parse = sqltree.parse
    monkeypatch.setattr(sqltree, "parse", lambda sql: parsed.append(sql) or parse(sql))
    lines = [
        f"INSERT INTO readings (id, copy_of) VALUES ({i}, 'copy {i}'); -- copy" for i in range(3000)
    ]
    lines += ["/* the data */ COPY readings FROM STDIN;", "1\t2", "\\.", "SELECT copy FROM x;"]
    sql_file = loader.SqlFile(path=tmp_path / "00002_load.sql", text="\n".join(lines) + "\n")

    with pytest.raises(LayoutError) as refused:
        sql_file.statements  # noqa: B018

    assert str(refused.value).startswith(f"{sql_file.path}:3001:16: COPY ... FROM STDIN")
    assert len(parsed) == 1
