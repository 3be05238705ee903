"""One runner at a time per database: a session-level advisory lock.

Invariant: whoever holds the lock holds it on the connection that applies the
versions, and holds it only as long as that connection lives. It is taken with
``pg_try_advisory_lock``, polled, never with the blocking ``pg_advisory_lock``,
so a waiting runner never sits in PostgreSQL's lock queue (where it could block
the holder's ``CREATE INDEX CONCURRENTLY``, which waits for every transaction
older than it). A runner that dies releases the lock with its connection: no
lock row to go stale, nothing to break by hand. Every command that changes a
database takes it through ``held``, which also has the server check every second
for a vanished client, so a runner killed mid-statement loses the lock within
about a second, not when its statement ends.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import NamedTuple

from runner.errors import LockTimeout

# One key for every liftdb, whatever the folder: advisory locks are per database, and
# two chains applied to one database must not interleave either.
LOCK_KEY = int.from_bytes(hashlib.sha256(b"liftdb migration lock").digest()[:8], "big", signed=True)
# pg_locks shows a bigint advisory key as two 32-bit halves, objsubid 1.
# (runner.session's reset and runner.yoyo's guard on yoyo_lock look for them too.)
CLASSID, OBJID = (LOCK_KEY >> 32) & 0xFFFFFFFF, LOCK_KEY & 0xFFFFFFFF

POLL_FIRST_S = 0.05
POLL_MAX_S = 0.5
# How often the server checks that the runner's client is still there, even while a
# statement runs (PostgreSQL 14+): a killed runner's backend stops within this.
CLIENT_CHECK_MS = 1000
CLIENT_CHECK_SQL = f"SET client_connection_check_interval = '{CLIENT_CHECK_MS}ms'"

HOLDER_QUERY = """
SELECT l.pid, a.application_name, pg_catalog.host(a.client_addr), a.backend_start
FROM pg_catalog.pg_locks l
-- The holder's own row only (pg_stat_activity would read every backend's first).
LEFT JOIN LATERAL pg_catalog.pg_stat_get_activity(l.pid) a ON true
WHERE l.locktype = 'advisory' AND l.granted
  AND l.database = (SELECT oid FROM pg_catalog.pg_database
                    WHERE datname = pg_catalog.current_database())
  AND l.classid::bigint = %s AND l.objid::bigint = %s AND l.objsubid = 1
LIMIT 1
"""


class Holder(NamedTuple):
    """The session holding the lock, as ``pg_stat_activity`` shows it (fields may be unknown
    to a role without ``pg_read_all_stats``)."""

    pid: int
    application_name: str | None
    client_addr: str | None
    since: datetime | None

    def describe(self) -> str:
        # The server hides another role's client and start from a role without
        # pg_read_all_stats (both NULL); a visible local-socket client has a start.
        client = self.client_addr or (
            "local socket" if self.since else "client hidden from this role (pg_read_all_stats)"
        )
        since = f", connected since {self.since:%Y-%m-%d %H:%M:%S %Z}" if self.since else ""
        return f"pid {self.pid} ({self.application_name or 'unknown application'}, {client}{since})"


def try_acquire(conn) -> bool:
    return bool(
        conn.execute("SELECT pg_catalog.pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()[0]
    )


def holder(conn) -> Holder | None:
    """Who holds the lock now, or None if nobody does (or we cannot see them)."""
    return holder_from(conn.execute(*HOLDER_READ).fetchall())


# ``holder``'s query and parameters, for a caller that sends it with others in one round
# trip (``recorder.read``); ``holder_from`` reads its rows.
HOLDER_READ = (HOLDER_QUERY, (CLASSID, OBJID))


def holder_from(rows: list[tuple]) -> Holder | None:
    return Holder(*rows[0]) if rows else None


def acquire(
    conn,
    timeout_ms: int,
    on_wait: Callable[[Holder | None], None] | None = None,
    pool_mode: str | None = None,
) -> None:
    """Take the lock on ``conn`` or raise ``LockTimeout`` naming the holder.

    ``timeout_ms`` 0 means wait for ever. ``on_wait`` is called once, when the lock is
    first found taken, with who holds it. First, ``target.check`` refuses a server that
    cannot take a migration (a standby, read-only sessions, a pooler not said to be in
    session mode by ``pool_mode``).
    """
    from runner import target

    target.check(conn, pool_mode)
    deadline = None if timeout_ms == 0 else time.monotonic() + timeout_ms / 1000
    pause = POLL_FIRST_S
    told = False
    while not try_acquire(conn):
        current = holder(conn)
        if not told and on_wait is not None:
            on_wait(current)
            told = True
        if deadline is not None and time.monotonic() >= deadline:
            who = current.describe() if current else "another session"
            raise LockTimeout(
                f"gave up after {timeout_ms} ms waiting for the migration lock, held by {who}"
            )
        remaining = POLL_MAX_S if deadline is None else deadline - time.monotonic()
        time.sleep(max(0.0, min(pause, remaining)))
        pause = min(pause * 2, POLL_MAX_S)


def release(conn) -> None:
    """Give the lock back before the connection closes (closing would do it too): every
    hold of it, should a version have taken the same key again. (Unlocking a lock not
    held would log a WARNING on the server, so the holds are counted first.)"""
    while holds(conn):
        conn.execute("SELECT pg_catalog.pg_advisory_unlock(%s)", (LOCK_KEY,))


def holds(conn) -> bool:
    """True while this session holds the lock."""
    return bool(
        conn.execute(
            "SELECT EXISTS (SELECT FROM pg_catalog.pg_locks WHERE locktype = 'advisory'"
            " AND pid = pg_catalog.pg_backend_pid() AND granted AND classid::bigint = %s"
            " AND objid::bigint = %s AND objsubid = 1)",
            (CLASSID, OBJID),
        ).fetchone()[0]
    )


@contextmanager
def held(
    conn,
    timeout_ms: int,
    on_wait: Callable[[Holder | None], None] | None = None,
    pool_mode: str | None = None,
) -> Iterator[None]:
    """The lock taken on ``conn`` for the block, as every command that changes a database
    takes it: ``acquire``'s checks and wait (``on_wait``, ``pool_mode``, ``LockTimeout``),
    the server told to check for a vanished client every ``CLIENT_CHECK_MS``, and the lock
    given back when the block ends, however it ends (unless the connection is gone, which
    gave it back)."""
    acquire(conn, timeout_ms, on_wait, pool_mode)  # first: target.check before anything else
    conn.execute(CLIENT_CHECK_SQL)
    try:
        yield
    except BaseException:
        with contextlib.suppress(Exception):  # the first error is the one to report
            _give_back(conn)
        raise
    _give_back(conn)


def _give_back(conn) -> None:
    from psycopg.pq import TransactionStatus

    if conn.closed or conn.broken:
        return  # the server gave it back with the connection
    if conn.info.transaction_status != TransactionStatus.IDLE:
        conn.execute("ROLLBACK")  # a transaction the work left open commits nothing
    release(conn)
