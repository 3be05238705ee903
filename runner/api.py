"""The library behind every command: each CLI command is one call here.

Invariant: these functions never print and never exit; they return what they
did, or raise a ``LiftdbError`` with a message for a person.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from runner import database, loader, recorder
from runner.errors import MigrationFailed, UsageError

DEFAULT_SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


@dataclass(frozen=True)
class Step:
    """One version applied or rolled back by a run."""

    number: int
    name: str
    direction: str  # "up" or "down"
    duration_ms: int


def migrate(
    url: str, sql_dir: Path | str = DEFAULT_SQL_DIR, *, to: int | None = None
) -> list[Step]:
    """Apply every pending version, in order, up to and including ``to``."""
    chain = loader.load(sql_dir)
    target = chain.head if to is None else to
    if not 0 <= target <= chain.head:
        raise UsageError(f"unknown version {to}: the chain has versions 1..{chain.head}")
    steps = []
    with database.connect(url) as conn:
        recorder.ensure_tables(conn)
        done = {row.number for row in recorder.applied(conn)}
        for version in chain:
            if version.number > target or version.number in done:
                continue
            started = time.perf_counter()
            with conn.transaction():
                _run(conn, version.up)
                duration_ms = round((time.perf_counter() - started) * 1000)
                recorder.record_apply(conn, version, duration_ms)
            steps.append(Step(version.number, version.name, "up", duration_ms))
    return steps


def rollback(url: str, sql_dir: Path | str = DEFAULT_SQL_DIR, *, steps: int = 1) -> list[Step]:
    """Roll back the newest ``steps`` applied versions, newest first."""
    chain = loader.load(sql_dir)
    done = []
    with database.connect(url) as conn:
        applied = recorder.applied(conn)
        for row in reversed(applied[len(applied) - steps :] if steps else []):
            version = chain.get(row.number)
            if version is None:
                raise UsageError(f"version {row.number} is applied but not on disk")
            started = time.perf_counter()
            with conn.transaction():
                _run(conn, version.rollback)
                recorder.record_rollback(conn, version)
            duration_ms = round((time.perf_counter() - started) * 1000)
            done.append(Step(version.number, version.name, "down", duration_ms))
    return done


def applied_versions(url: str) -> list[int]:
    with database.connect(url) as conn:
        return [row.number for row in recorder.applied(conn)]


def _run(conn, sql_file: loader.SqlFile) -> None:
    import psycopg

    try:
        conn.execute(sql_file.text)
    except psycopg.Error as exc:
        diag = exc.diag
        detail = f" [{diag.sqlstate}]" if diag.sqlstate else ""
        if diag.constraint_name:
            detail += f" constraint {diag.constraint_name}"
        raise MigrationFailed(f"{sql_file.path}: {diag.message_primary or exc}{detail}") from None
