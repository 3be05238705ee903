"""Adopt: a database goose migrated, recorded in liftdb's bookkeeping.

Invariant: only versions ``goose_db_version`` shows applied (each version's latest row
says so, so goose's rollbacks count) are recorded, in order without a gap, and only once
the live schema is checked to be the chain's at that version (``runner.adopt``), under
the migration lock. goose's table is left as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from runner import adopt as adoption
from runner import loader
from runner.directives import DEFAULT_LOCK_TIMEOUT_MS
from runner.errors import Mismatch, UsageError
from runner.goose.parser import GOOSE_TABLE


def goose_applied(conn) -> list[int]:
    """The versions ``goose_db_version`` records as applied: each one's latest row says so."""
    exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (GOOSE_TABLE,)).fetchone()[0]
    if not exists:
        return []
    rows = conn.execute(
        f"SELECT DISTINCT ON (version_id) version_id, is_applied FROM {GOOSE_TABLE}"
        " ORDER BY version_id, id DESC"
    ).fetchall()
    return [version for version, is_applied in rows if is_applied and version > 0]


def adopt(
    url: str,
    sql_dir: Path | str,
    lock_ms: int = DEFAULT_LOCK_TIMEOUT_MS,
    pool_mode: str | None = None,
    on_wait: Callable[[object], None] | None = None,
) -> adoption.Adopted:
    """Record as applied every version goose applied, once the live schema is checked
    (``runner.adopt``), under the migration lock (``pool_mode`` and ``on_wait`` as
    ``lock.held`` takes them)."""
    from runner import database, lock, plan, recorder, yoyo

    chain = loader.load(sql_dir)
    with database.connect(url) as conn:
        exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (GOOSE_TABLE,)).fetchone()[0]
        if not exists:
            raise UsageError(f"{database.mask(url)} has no {GOOSE_TABLE} table: nothing to adopt")
        with lock.held(conn, lock_ms, on_wait, pool_mode):
            books = recorder.locate(conn)
            yoyo.fence(conn, lock_ms, on_wait, create=True, schema=books.require_schema())
            by_goose = set(goose_applied(conn))
            state = plan.read_state(conn, chain)
            state.refuse_if_interrupted("adopting goose's versions")
            ours = set(state.applied)
            unknown = sorted(by_goose - {v.number for v in chain})
            if unknown:
                raise Mismatch(
                    f"{GOOSE_TABLE} records version {unknown[0]}, which {chain.directory} lacks"
                )
            version = max(by_goose | ours, default=0)
            missing = sorted(set(range(1, version + 1)) - by_goose - ours)
            if missing:
                raise Mismatch(
                    f"version {version} is applied but version {missing[0]} is not; liftdb applies"
                    " versions in order and cannot adopt a gap"
                )
            to_mark = sorted(by_goose - ours)
            if to_mark:
                adoption.check_schema(conn, url, sql_dir, version)
                adoption.record(conn, chain, to_mark)
        return adoption.Adopted(marked=tuple(to_mark), version=version)
