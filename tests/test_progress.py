"""Live progress of long statements (runner.progress): what the server's progress
views and pg_stat_activity say about the applying session, on stderr as plain
lines, JSON lines, or a status line rewritten in place on a terminal.

The index build is made slow by its expression (a function that sleeps a
millisecond a row), so it runs for seconds on any machine, and the progress
view is in the phase where it reads the table (waiting, mostly, on its sleep:
a wait the line leaves out beside a progress view's phase; a lock wait it names).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import select
import struct
import termios
import time

import psycopg
from processes import (
    COMMAND_TIMEOUT,
    environment,
    liftdb,
    liftdb_command,
    recorded_versions,
    started,
)

ROWS = 3000  # a millisecond each: about 3 s of index build
SLOW_TABLE = (
    "create_slow_table",
    "CREATE FUNCTION slow(n int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS\n"
    "$$ BEGIN PERFORM pg_sleep(0.001); RETURN n; END $$;\n"
    "CREATE TABLE t (n int) WITH (autovacuum_enabled = off);\n"  # no lock it must retry
    f"INSERT INTO t SELECT generate_series(1, {ROWS});\n",
    "DROP TABLE t;\nDROP FUNCTION slow(int);\n",
)
SLOW_INDEX = (
    "index_slow",
    "CREATE INDEX t_slow_idx ON t ((slow(n)));\n",
    "DROP INDEX t_slow_idx;\n",
)
PLAIN = re.compile(
    r"00002_index_slow: \S+/00002_index_slow\.sql:1:"
    r" CREATE INDEX t_slow_idx ON t \(\(slow\(n\)\)\):"
    r" (\d+\.\d) s; CREATE INDEX on t: building index:"
    r" scanning table, blocks (\d+) of (\d+) \(\d+%\)"
)


def progress_events(stderr: str) -> list[dict]:
    """The progress events among --json's lines on stderr (a lock wait's are others)."""
    events = [json.loads(line) for line in stderr.splitlines()]
    assert {event["event"] for event in events} <= {"progress", "lock_wait"}
    return [event for event in events if event["event"] == "progress"]


def test_off_a_terminal_a_long_index_build_reports_its_phase_and_blocks_every_interval(
    database_url, make_chain
):
    sql_dir = make_chain(SLOW_TABLE, SLOW_INDEX)
    result = liftdb(database_url, sql_dir, "--progress-every", "1s", "migrate")
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines, result.stdout
    matches = [PLAIN.fullmatch(line) for line in lines]
    assert all(matches), lines
    elapsed = [float(m[1]) for m in matches]
    assert elapsed == sorted(elapsed) and elapsed[0] >= 1.0  # one per second run, from 1 s
    assert len(lines) >= 2
    for m in matches:
        assert 0 <= int(m[2]) <= int(m[3]) > 0
    with psycopg.connect(database_url, autocommit=True) as conn:
        (blocks,) = conn.execute(
            "SELECT pg_relation_size('t') / current_setting('block_size')::int"
        ).fetchone()
    assert {int(m[3]) for m in matches} == {blocks}  # the table's own size, as the server has it
    assert recorded_versions(database_url) == [1, 2]


def test_vacuum_full_reports_from_its_own_progress_view(database_url, make_chain):
    vacuum = ("vacuum_full", "-- transactional: false\nVACUUM FULL t;\n", "SELECT 1;\n")
    sql_dir = make_chain(SLOW_TABLE, SLOW_INDEX, vacuum)
    assert liftdb(database_url, sql_dir, "migrate", "--to", "2").returncode == 0
    result = liftdb(database_url, sql_dir, "--json", "--progress-every", "1s", "migrate")
    assert result.returncode == 0, result.stderr
    events = progress_events(result.stderr)
    assert events  # rebuilding the slow index takes seconds
    assert {(e["version"], e["line"], e["command"], e["relation"]) for e in events} == {
        ("00003_vacuum_full", 2, "VACUUM FULL", "t")
    }
    assert {e["phase"] for e in events} <= {
        "seq scanning heap", "index scanning heap", "sorting tuples", "writing new heap",
        "swapping relation files", "rebuilding index", "performing final cleanup",
    }  # fmt: skip


def test_with_json_progress_events_are_json_lines_on_stderr(database_url, make_chain):
    sql_dir = make_chain(SLOW_TABLE, SLOW_INDEX)
    result = liftdb(database_url, sql_dir, "--json", "--progress-every", "1s", "migrate")
    assert result.returncode == 0, result.stderr
    events = progress_events(result.stderr)
    assert events
    for event in events:
        assert event["event"] == "progress" and event["version"] == "00002_index_slow"
        assert (event["line"], event["command"], event["unit"]) == (1, "CREATE INDEX", "blocks")
        assert event["phase"] == "building index: scanning table"
        assert 0 <= event["done"] <= event["total"] and not event["ended"]
    assert json.loads(result.stdout)["command"] == "migrate"  # stdout: the one document


def test_quiet_prints_no_progress(database_url, make_chain):
    sql_dir = make_chain(SLOW_TABLE, SLOW_INDEX)
    result = liftdb(database_url, sql_dir, "--quiet", "--progress-every", "1s", "migrate")
    assert (result.returncode, result.stderr) == (0, "")


def test_a_statement_waiting_for_a_lock_names_who_holds_it(database_url, make_chain):
    sql_dir = make_chain(
        SLOW_TABLE,
        ("add_note", "ALTER TABLE t ADD COLUMN note text;\n", "ALTER TABLE t DROP COLUMN note;\n"),
    )
    assert liftdb(database_url, sql_dir, "migrate", "--to", "1").returncode == 0
    with psycopg.connect(database_url, application_name="shop") as app:
        app.execute("SELECT count(*) FROM t")
        pid = app.info.backend_pid
        result = liftdb(
            database_url, sql_dir, "--lock-retries", "0", "--lock-timeout", "3s",
            "--progress-every", "1s", "migrate",
        )  # fmt: skip
    assert result.returncode == 1
    *progress, error = result.stderr.splitlines()
    assert progress, result.stderr
    for line in progress:
        assert re.fullmatch(
            r"00002_add_note: \S+:1: ALTER TABLE t ADD COLUMN note text: \d+\.\d s; waiting for"
            rf" Lock: relation held by pid {pid} \(shop, open \d+ s: SELECT count\(\*\) FROM t\)",
            line,
        ), line
    assert "lock_timeout 3000 ms" in error


def test_on_a_terminal_the_status_line_is_rewritten_in_place_and_cleared(database_url, make_chain):
    sql_dir = make_chain(SLOW_TABLE, SLOW_INDEX)
    primary, secondary = os.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
    seen = b""
    try:
        with started(
            liftdb_command(database_url, sql_dir, "migrate"),
            stdin=secondary,
            stdout=secondary,
            stderr=secondary,
            env=environment(),
        ) as runner:  # killed on the way out if still running
            os.close(secondary)
            secondary = None
            deadline = time.monotonic() + COMMAND_TIMEOUT
            while time.monotonic() < deadline:
                ready, _, _ = select.select([primary], [], [], 0.5)
                if ready:
                    try:
                        chunk = os.read(primary, 4096)
                    except OSError:  # the terminal's other side closed: the runner is done
                        break
                    if not chunk:
                        break
                    seen += chunk
                elif runner.poll() is not None:
                    break
            assert runner.wait(timeout=COMMAND_TIMEOUT) == 0, seen
    finally:
        if secondary is not None:
            os.close(secondary)
        os.close(primary)
    text = seen.decode()
    clear = "\r\x1b[K"
    updates = re.findall(
        re.escape(clear)
        + r"00002_index_slow:1: CREATE INDEX t_slow_idx ON t \(\(slow\(n\)\)\): (\d+\.\d) s;"
        r" CREATE INDEX on t: building index: scanning table, blocks \d+ of \d+",
        text,
    )
    assert len(updates) >= 2, text  # rewritten in place, not one line each
    assert "\n" not in text[text.index(clear) : text.rindex(clear)]
    # Cleared before the version's own line: nothing of the status line is left on it.
    after = text[text.rindex(clear) + len(clear) :]
    assert after.startswith("00002 index_slow up "), after
    assert re.fullmatch(r"00002 index_slow up \d+ ms", after.splitlines()[0]), after
    assert after.splitlines()[1].startswith("applied 2 version(s) on ")
