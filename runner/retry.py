"""Lock retries: when a version gives up waiting for a table lock, when it tries again.

Invariant: no attempt waits for a table lock longer than its own short
``lock_timeout`` (``Schedule.lock_ms``), so the application's queries queued
behind the migration's lock request wait at most that long per attempt; between
attempts the migration holds nothing and sleeps (``Schedule.sleep_s``, growing,
with jitter so that replicas do not retry in step). A version is tried at most
``retries + 1`` times and no attempt starts once ``BUDGET_S`` has passed since
its first. Who blocked an attempt is read from the server, never guessed: the
sessions holding a granted lock that conflicts with the one the statement asks
for (``pg_locks``, and ``runner.observe``'s conflict table, checked against a
server), with
``pg_stat_activity``'s application, transaction start and query.
"""

from __future__ import annotations

import random
from typing import NamedTuple

DEFAULT_RETRIES = 20
FIRST_LOCK_MS = 100  # the first attempt's lock_timeout
LOCK_GROWTH = 1.25
MAX_LOCK_MS = 200  # no attempt waits longer: the application's worst wait per attempt
FIRST_SLEEP_S = 0.1
MAX_SLEEP_S = 2.0  # the migration starts within this (plus one lock_timeout) of the lock's release
BUDGET_S = 60.0  # no attempt starts later than this after the first began


class Schedule(NamedTuple):
    """``retries`` further attempts after the first (0 = retries off); ``cap_ms`` the
    run's (or the file's) lock_timeout, which no attempt exceeds (0 = wait for ever)."""

    retries: int = DEFAULT_RETRIES
    cap_ms: int = 0

    @property
    def on(self) -> bool:
        """Retries apply unless turned off, or the lock_timeout is 0: waiting for ever was
        asked for, and one attempt does it."""
        return self.retries > 0 and self.cap_ms > 0

    def lock_ms(self, attempt: int) -> int:
        """The lock_timeout of attempt ``attempt`` (0 = the first), in milliseconds. With
        retries off, the run's own lock_timeout, as before retries existed."""
        if not self.on:
            return self.cap_ms
        return min(round(FIRST_LOCK_MS * LOCK_GROWTH**attempt), MAX_LOCK_MS, self.cap_ms)

    def sleep_s(self, attempt: int, jitter: random.Random | None = None) -> float:
        """The sleep before attempt ``attempt`` + 1: doubling from ``FIRST_SLEEP_S`` up to
        ``MAX_SLEEP_S``, then a random half to all of it."""
        ceiling = min(FIRST_SLEEP_S * 2**attempt, MAX_SLEEP_S)
        return ceiling * (jitter or random).uniform(0.5, 1.0)

    def another(self, attempt: int, elapsed_s: float) -> bool:
        """Whether attempt ``attempt`` (just failed on a lock) gets another."""
        return self.on and attempt < self.retries and elapsed_s < BUDGET_S


class Blocker(NamedTuple):
    """A session holding a lock the migration waited for."""

    pid: int
    application: str | None
    open_s: float | None  # how long its transaction has been open
    query: str | None  # its current (or last) statement

    def describe(self) -> str:
        first = (self.query or "").strip().splitlines()[0:1]
        query = f": {first[0][:80]}" if first else ""
        open_s = f", open {self.open_s:.0f} s" if self.open_s is not None else ""
        return f"pid {self.pid} ({self.application or 'unknown application'}{open_s}{query})"


BLOCKERS_SQL = """
SELECT DISTINCT ON (a.pid) a.pid, a.application_name,
       pg_catalog.date_part('epoch', pg_catalog.clock_timestamp() - a.xact_start),
       a.query, a.xact_start
FROM pg_catalog.pg_locks l
JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'relation' AND l.granted AND l.pid <> pg_catalog.pg_backend_pid()
  AND l.relation = ANY (%s::pg_catalog.oid[]) AND l.mode = ANY (%s)
ORDER BY a.pid, a.xact_start
"""


def requested_mode(sql: str) -> str:
    """The table lock a statement waits for: CREATE INDEX's SHARE, CONCURRENTLY's SHARE
    UPDATE EXCLUSIVE; anything else counted as ACCESS EXCLUSIVE (every holder blocks it),
    so that no real blocker is left out."""
    from runner import sqltree

    if sqltree.concurrent_index(sql) is not None:
        return "SHARE UPDATE EXCLUSIVE"
    words = sql.split(None, 3)[:3]
    if [w.lower() for w in words[:2]] == ["create", "index"] or [w.lower() for w in words] == [
        "create",
        "unique",
        "index",
    ]:
        return "SHARE"
    return "ACCESS EXCLUSIVE"


def blockers(conn, tables: list[str], mode: str = "ACCESS EXCLUSIVE") -> list[Blocker]:
    """The sessions holding a lock on ``tables`` (names as a statement spells them,
    resolved in ``conn``'s search_path; unknown ones skipped) that conflicts with
    ``mode``, longest-open transaction first."""
    oids = [
        oid
        for (oid,) in conn.execute(
            "SELECT pg_catalog.to_regclass(t)::pg_catalog.oid FROM unnest(%s::text[]) t",
            (tables,),
        ).fetchall()
        if oid is not None
    ]
    if not oids:
        return []
    from runner.observe import CONFLICTS, LOCK_MODES

    held = [name for name, sql_name in LOCK_MODES.items() if sql_name in CONFLICTS[mode]]
    rows = conn.execute(BLOCKERS_SQL, (oids, held)).fetchall()
    found = [Blocker(pid, app, open_s, query) for pid, app, open_s, query, _ in rows]
    return sorted(found, key=lambda b: -(b.open_s or 0))
