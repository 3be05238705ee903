"""Runners started together take turns: every version runs exactly once, never interleaved.

Every version of the chain also writes its own number into ``applied_log``, a
table without a key, so a version applied twice would show there twice even if
the bookkeeping hid it. Eight ``liftdb migrate`` processes start at once on an
empty database, twenty rounds; then ``migrate`` and ``rollback`` race, and the
database must end in the state one order or the other gives, never a mix.
"""

from __future__ import annotations

from contextlib import ExitStack

import psycopg
from conftest import scratch_database, write_chain
from processes import liftdb, recorded_versions, start_liftdb

RUNNERS = 8
ROUNDS = 20
DUEL_ROUNDS = 6
WAIT = ("--lock-wait", "2min")  # on two busy cores, waiting is not failing

CHAIN = [
    (
        "create_things",
        "CREATE TABLE applied_log (version int NOT NULL);\n"
        "CREATE TABLE things (id int PRIMARY KEY);\n"
        "INSERT INTO applied_log VALUES (1);\n",
        "DROP TABLE things;\nDROP TABLE applied_log;\n",
    ),
    (
        "add_colour",
        "ALTER TABLE things ADD COLUMN colour text;\nINSERT INTO applied_log VALUES (2);\n",
        "DELETE FROM applied_log WHERE version = 2;\nALTER TABLE things DROP COLUMN colour;\n",
    ),
    (
        "index_colour",
        "-- transactional: false\n"
        "CREATE INDEX CONCURRENTLY things_colour_idx ON things (colour);\n"
        "INSERT INTO applied_log VALUES (3);\n",
        "-- transactional: false\n"
        "DELETE FROM applied_log WHERE version = 3;\n"
        "DROP INDEX CONCURRENTLY things_colour_idx;\n",
    ),
    (
        "create_widgets",
        "CREATE TABLE widgets (id int PRIMARY KEY);\nINSERT INTO applied_log VALUES (4);\n",
        "DELETE FROM applied_log WHERE version = 4;\nDROP TABLE widgets;\n",
    ),
]


def run_together(*commands: tuple[str, ...], url: str, sql_dir) -> list[tuple[int, str]]:
    """Start every command at once; each one's exit code and stderr."""
    with ExitStack() as running:
        processes = [
            running.enter_context(start_liftdb(url, sql_dir, *WAIT, *command))
            for command in commands
        ]
        results = []
        for process in processes:
            _stdout, stderr = process.communicate(timeout=300)
            results.append((process.returncode, stderr))
    return results


def schema_version(url: str) -> int:
    """Which version the catalog and the data say the database is at; fails on a mix."""
    with psycopg.connect(url, autocommit=True) as conn:

        def exists(regclass: str) -> bool:
            return conn.execute("SELECT to_regclass(%s)", (regclass,)).fetchone()[0] is not None

        def has_colour() -> bool:
            return bool(
                conn.execute(
                    "SELECT 1 FROM pg_attribute WHERE attrelid = 'things'::regclass"
                    " AND attname = 'colour' AND NOT attisdropped"
                ).fetchone()
            )

        features = [
            exists("things"),
            exists("things") and has_colour(),
            exists("things_colour_idx"),
            exists("widgets"),
        ]
        version = sum(features)
        assert features == [True] * version + [False] * (4 - version), features
        logged = (
            [n for (n,) in conn.execute("SELECT version FROM applied_log ORDER BY 1")]
            if exists("applied_log")
            else []
        )
        progress = (
            conn.execute("SELECT count(*) FROM liftdb_progress").fetchone()[0]
            if exists("liftdb_progress")
            else 0
        )
    assert logged == list(range(1, version + 1)), logged
    assert recorded_versions(url) == list(range(1, version + 1))
    assert progress == 0
    return version


def test_eight_runners_at_once_apply_every_version_exactly_once(tmp_path, server_url):
    sql_dir = write_chain(tmp_path / "sql", CHAIN)
    for round_number in range(ROUNDS):
        with scratch_database(server_url) as url:
            results = run_together(*[("migrate",)] * RUNNERS, url=url, sql_dir=sql_dir)

            failed = [(code, err) for code, err in results if code != 0]
            assert failed == [], f"round {round_number}: {failed}"
            assert schema_version(url) == len(CHAIN)


def test_migrate_and_rollback_racing_end_in_one_order_or_the_other(tmp_path, server_url):
    sql_dir = write_chain(tmp_path / "sql", CHAIN)
    outcomes = []
    for round_number in range(DUEL_ROUNDS):
        with scratch_database(server_url) as url:
            assert liftdb(url, sql_dir, "migrate", "--to", "2").returncode == 0
            # Either migrate (to 4) then rollback (to 2), or rollback (to 0) then migrate (to 4).
            duel = [("migrate",), ("rollback", "--steps", "2", "--yes")]
            if round_number % 2:
                duel.reverse()  # and start them in the other order

            results = run_together(*duel, url=url, sql_dir=sql_dir)

            assert [code for code, _ in results] == [0, 0], results
            outcomes.append(schema_version(url))
            assert outcomes[-1] in (2, 4), outcomes
