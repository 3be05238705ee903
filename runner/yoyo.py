"""yoyo-migrations' view of the chain and of the database, restated where liftdb needs it.

Invariant: every rule here is yoyo 9's own (``yoyo/migrations.py``, ``yoyo/backends/base.py``),
and ``tests/test_yoyo.py`` proves each against yoyo's library and its ``yoyo`` command on a
real server: the files yoyo reads as migrations, the ids and hashes it keys them by, and its
lock. liftdb restates them rather than importing yoyo because importing yoyo costs more than
``liftdb status`` may spend before it has done anything (the README gives the figures).

The lock: yoyo takes ``yoyo_lock`` by inserting its one row (``locked = 1``) and committing,
and polls while the insert fails; liftdb takes its advisory lock. The two see each other
through ``yoyo_lock`` itself: a trigger refuses yoyo's insert while a session holds liftdb's
advisory lock (so yoyo waits, and nothing is left behind when liftdb dies: the advisory lock
goes with its connection), and liftdb, once it holds its own lock, waits until no yoyo row is
there (``fence``), taking a lock on the table that waits for an insert in flight.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from runner.errors import LiftdbError, LockTimeout

LOCK_TABLE = "yoyo_lock"
# yoyo skips the files its `yoyo new` is still editing.
NEW_MIGRATION_PREFIX = "_tmp_yoyonew"
MIGRATION_SUFFIXES = (".sql", ".py")
POST_APPLY_PREFIX = "post-apply"

# The function and trigger by which yoyo's insert into yoyo_lock sees liftdb's advisory lock.
GUARD_FUNCTION = "liftdb_yoyo_lock_guard"
GUARD_TRIGGER = "liftdb_yoyo_lock_guard"


def reads_as_migration(path: Path) -> bool:
    """Whether yoyo takes this file of the migration folder for a migration (or a rollback
    of one): every regular ``.sql`` and ``.py`` file, whatever its name."""
    return (
        path.suffix in MIGRATION_SUFFIXES
        and not path.name.startswith(NEW_MIGRATION_PREFIX)
        and path.is_file()
    )


def migration_ids(directory: Path | str) -> list[str]:
    """The ids of the migrations yoyo reads from ``directory`` (rollback files are not
    migrations of their own), sorted as yoyo sorts them: by file name."""
    paths = sorted(str(p) for p in Path(directory).iterdir() if reads_as_migration(p))
    return [Path(p).name.rsplit(".", 1)[0] for p in paths if not p.endswith(".rollback.sql")]


def migration_hash(migration_id: str) -> str:
    """yoyo's key for a migration: the SHA-256 of its id (the file name without its suffix)."""
    return hashlib.sha256(migration_id.encode("utf-8")).hexdigest()


# --- the lock ------------------------------------------------------------------------

# yoyo's lock table, as yoyo creates it, and the guard that makes yoyo see liftdb's lock.
# The guard reads pg_locks for the advisory lock liftdb holds on this database; it raises
# a unique violation, the error yoyo expects when the lock row is taken.
GUARD_SQL = """
CREATE TABLE IF NOT EXISTS {table} (
    locked INT DEFAULT 1,
    ctime TIMESTAMP,
    pid INT NOT NULL,
    PRIMARY KEY (locked)
);
CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $guard$
DECLARE
    holder integer;
BEGIN
    SELECT l.pid INTO holder FROM pg_locks l
    WHERE l.locktype = 'advisory' AND l.granted
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND l.classid = {classid}::oid AND l.objid = {objid}::oid AND l.objsubid = 1
      AND l.pid <> pg_backend_pid();
    IF holder IS NOT NULL THEN
        RAISE unique_violation USING
            MESSAGE = format('liftdb (server pid %s) holds the migration lock', holder);
    END IF;
    RETURN NEW;
END
$guard$;
COMMENT ON FUNCTION {function}() IS
    'liftdb: refuses yoyo''s lock while liftdb holds its advisory lock (yoyo then waits)';
DROP TRIGGER IF EXISTS {trigger} ON {table};
CREATE TRIGGER {trigger} BEFORE INSERT ON {table}
    FOR EACH ROW EXECUTE FUNCTION {function}();
"""

HOLDER_QUERY = "SELECT pid, ctime FROM {table} ORDER BY ctime LIMIT 1"

# Whether yoyo's lock table exists, and whether the guard is on it: one round trip.
STATE_QUERY = """
SELECT to_regclass(%(table)s) IS NOT NULL,
       EXISTS (SELECT 1 FROM pg_trigger
               WHERE tgrelid = to_regclass(%(table)s) AND tgname = %(trigger)s)
"""


class YoyoHolder(NamedTuple):
    """yoyo's lock as its row shows it: the process id of the ``yoyo`` command (on the
    machine it runs on, not a server pid) and when it took the lock (UTC, as yoyo writes
    it); both None for a yoyo whose insert has not committed yet."""

    pid: int | None
    since: datetime | None

    def describe(self) -> str:
        if self.pid is None:
            return "yoyo (taking its lock now)"
        since = f" since {self.since:%Y-%m-%d %H:%M:%S} UTC" if self.since else ""
        return (
            f"yoyo (process {self.pid} on its own machine{since}; if that yoyo is gone,"
            " `yoyo break-lock` frees it)"
        )


def fence(
    conn,
    timeout_ms: int,
    on_wait: Callable[[YoyoHolder], None] | None = None,
    *,
    create: bool,
    schema: str | None = None,
) -> bool:
    """Shut yoyo out while liftdb holds its advisory lock on ``conn`` (autocommit).

    Where yoyo has been used (its table exists), or with ``create``, install the guard
    (creating yoyo's table as yoyo would), then wait until no yoyo holds its lock: after
    that, none can take it until liftdb's lock is released. Returns True if a yoyo held
    it and was waited for (what the caller read before may have changed);
    ``LockTimeout`` after ``timeout_ms`` (0: wait for ever). Its table, function and
    trigger are in ``schema``, the bookkeeping's (``recorder.locate``), named there
    whatever the search_path says; None only where there is no schema to name.
    """
    from psycopg import errors

    table = _named(conn, schema, LOCK_TABLE)
    params = {"table": table, "trigger": GUARD_TRIGGER}
    table_exists, guarded = conn.execute(STATE_QUERY, params).fetchone()
    if not (table_exists or create):
        return False  # yoyo never ran here, and liftdb will change nothing
    try:
        if not guarded:
            _install_guard(conn, guard_sql(conn, schema))
        return _wait_for_yoyo(conn, table, timeout_ms, on_wait)
    except errors.InsufficientPrivilege as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise LiftdbError(
            f"cannot guard yoyo's lock table {LOCK_TABLE} ({reason}): liftdb must own it to"
            " keep yoyo out while it runs; run liftdb as the role that owns it (the one yoyo"
            " runs as); nothing was changed"
        ) from None


def _named(conn, schema: str | None, name: str) -> str:
    from psycopg import sql

    return sql.Identifier(*([schema] if schema else []), name).as_string(conn)


def guard_sql(conn, schema: str | None) -> str:
    """The SQL that creates yoyo's lock table (as yoyo would) and liftdb's guard on it, in
    ``schema`` (``fence``'s); safe to run again."""
    from runner import lock

    return GUARD_SQL.format(
        table=_named(conn, schema, LOCK_TABLE),
        function=_named(conn, schema, GUARD_FUNCTION),
        trigger=GUARD_TRIGGER,
        classid=lock.CLASSID,
        objid=lock.OBJID,
    )


def _install_guard(conn, sql: str, attempts: int = 3) -> None:
    """A yoyo starting now creates the same table at the same moment, and PostgreSQL lets
    only one of two concurrent ``CREATE TABLE`` win (``IF NOT EXISTS`` or not): the loser
    gets a unique violation on ``pg_type``, and tries again, finding the table there."""
    from psycopg import errors

    for attempt in range(attempts):
        try:
            # One string: one implicit transaction on an autocommit connection (all of it
            # or none), in one round trip where BEGIN, the string and COMMIT took three.
            conn.execute(sql)
            return
        except (errors.UniqueViolation, errors.DuplicateTable, errors.DuplicateObject):
            if attempt == attempts - 1:
                raise


def holder(conn, table: str = LOCK_TABLE, wait_ms: int = 1000) -> YoyoHolder | None:
    """The yoyo holding its lock now, or None. The read takes a SHARE lock on yoyo_lock
    (waiting at most ``wait_ms``), so an insert in flight, whose row it could not see yet,
    has committed or rolled back first."""
    from psycopg import errors

    from runner import database

    # One string: one implicit transaction on an autocommit connection, which the SET LOCAL
    # and the SHARE lock last for; one round trip where each statement, BEGIN and COMMIT
    # took one. A failure rolls it all back and names its statement as the server does.
    try:
        cursor = conn.execute(
            f"SET LOCAL lock_timeout = '{max(wait_ms, 1)}ms';"
            f" LOCK TABLE {table} IN SHARE MODE;"
            f" {HOLDER_QUERY.format(table=table)}"
        )
    except errors.LockNotAvailable:
        return YoyoHolder(pid=None, since=None)
    row = database.last_row(cursor)
    return YoyoHolder(*row) if row else None


def _wait_for_yoyo(conn, table: str, timeout_ms: int, on_wait, pause_s: float = 0.1) -> bool:
    deadline = None if timeout_ms == 0 else time.monotonic() + timeout_ms / 1000
    waited = False
    while True:
        remaining = 1000 if deadline is None else (deadline - time.monotonic()) * 1000
        current = holder(conn, table, int(min(max(remaining, 1), 1000)))
        if current is None:
            return waited
        if not waited and on_wait is not None:
            on_wait(current)
        waited = True
        if deadline is not None and time.monotonic() >= deadline:
            raise LockTimeout(
                f"gave up after {timeout_ms} ms waiting for the migration lock, held by"
                f" {current.describe()}"
            )
        time.sleep(pause_s)
