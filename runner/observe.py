"""What one statement does on a real server: the locks it takes, what it rewrites, what it reads.

Invariant: every fact here is read from the server around the statement, on the
connection that runs it, and concerns only the tables that existed when the
``Observer`` was made (the ones that hold rows in production): a table
rewritten is one whose ``pg_relation_filenode`` changed with its rows kept; a
table read whole is one whose sequential-scan counters grew by at least the
rows it held (``pg_stat_xact_user_tables`` deltas inside the transaction); a
lock is a row of ``pg_locks`` of that backend. Nothing here judges what it
saw against the lint: ``runner.trace`` does.

A statement PostgreSQL refuses inside a transaction block (``CREATE INDEX
CONCURRENTLY``) is run in autocommit instead: its scans are read from
``pg_stat_user_tables`` after forcing the backend to flush its counters, and its
locks from a second connection that holds a writer's lock on every table, so
that the statement either waits for that writer (showing the locks it holds or
wants) or runs straight through (taking nothing that blocks writes).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

# pg_locks' names for the table lock modes, weakest first, and the SQL names.
LOCK_MODES = {
    "AccessShareLock": "ACCESS SHARE",
    "RowShareLock": "ROW SHARE",
    "RowExclusiveLock": "ROW EXCLUSIVE",
    "ShareUpdateExclusiveLock": "SHARE UPDATE EXCLUSIVE",
    "ShareLock": "SHARE",
    "ShareRowExclusiveLock": "SHARE ROW EXCLUSIVE",
    "ExclusiveLock": "EXCLUSIVE",
    "AccessExclusiveLock": "ACCESS EXCLUSIVE",
}
STRENGTH = {mode: rank for rank, mode in enumerate(LOCK_MODES.values())}

# Which modes each mode conflicts with (PostgreSQL's table 13.2, "Conflicting Lock
# Modes"; tests/test_observe.py checks every pair against a server).
CONFLICTS: dict[str, frozenset[str]] = {
    "ACCESS SHARE": frozenset({"ACCESS EXCLUSIVE"}),
    "ROW SHARE": frozenset({"EXCLUSIVE", "ACCESS EXCLUSIVE"}),
    "ROW EXCLUSIVE": frozenset({"SHARE", "SHARE ROW EXCLUSIVE", "EXCLUSIVE", "ACCESS EXCLUSIVE"}),
    "SHARE UPDATE EXCLUSIVE": frozenset(
        {"SHARE UPDATE EXCLUSIVE", "SHARE", "SHARE ROW EXCLUSIVE", "EXCLUSIVE", "ACCESS EXCLUSIVE"}
    ),
    "SHARE": frozenset(
        {
            "ROW EXCLUSIVE",
            "SHARE UPDATE EXCLUSIVE",
            "SHARE ROW EXCLUSIVE",
            "EXCLUSIVE",
            "ACCESS EXCLUSIVE",
        }
    ),  # fmt: skip
    "SHARE ROW EXCLUSIVE": frozenset(
        {
            "ROW EXCLUSIVE",
            "SHARE UPDATE EXCLUSIVE",
            "SHARE",
            "SHARE ROW EXCLUSIVE",
            "EXCLUSIVE",
            "ACCESS EXCLUSIVE",
        }
    ),  # fmt: skip
    "EXCLUSIVE": frozenset(set(LOCK_MODES.values()) - {"ACCESS SHARE"}),
    "ACCESS EXCLUSIVE": frozenset(LOCK_MODES.values()),
}
READER = "ACCESS SHARE"  # what a SELECT takes
WRITER = "ROW EXCLUSIVE"  # what INSERT, UPDATE, DELETE take


def blocks(mode: str) -> str:
    """What a lock of ``mode`` on a table stops others doing while it is held or awaited."""
    if READER in CONFLICTS[mode]:
        return "reads and writes"
    if WRITER in CONFLICTS[mode]:
        return "writes"
    if "SHARE UPDATE EXCLUSIVE" in CONFLICTS[mode]:
        return "schema changes and VACUUM"
    return "schema changes"


def blocks_writes(mode: str) -> bool:
    return WRITER in CONFLICTS[mode]


@dataclass(frozen=True)
class Lock:
    """A table lock a statement held: on the table itself, or on one of its indexes."""

    table: str
    mode: str  # SQL name: "ACCESS EXCLUSIVE"
    index: str | None = None  # the lock is on this index of ``table``

    @property
    def blocks(self) -> str:
        """An exclusive lock on an index stops every query that plans on its table."""
        if self.index is not None and self.mode == "ACCESS EXCLUSIVE":
            return "reads and writes"
        return blocks(self.mode)

    @property
    def blocks_writes(self) -> bool:
        return self.blocks in ("reads and writes", "writes")

    def __str__(self) -> str:
        where = f"{self.table} (index {self.index})" if self.index else self.table
        return f"{where} {self.mode}"


# What a statement does to tables holding rows, least first: the words of ``Effects.level``
# and of the effect a lint finding claims (``Finding.effect``). FAILS: the server refuses
# the statement on a table with rows. A timestamp <-> timestamptz change is rewritten
# unless the session's TimeZone is UTC: its claim is ``rewrite_unless_utc(otherwise)``.
NONE, BLOCKS, SCAN, REWRITE, FAILS = "none", "blocks", "scan", "rewrite", "fails"
LEVELS = (NONE, BLOCKS, SCAN, REWRITE)
UNLESS_UTC = "rewrite unless TimeZone is UTC, else "


def rewrite_unless_utc(otherwise: str) -> str:
    """The claim "rewrites, unless the session's TimeZone is UTC; then ``otherwise``"."""
    return UNLESS_UTC + otherwise


@dataclass(frozen=True)
class Effects:
    """What one statement did to the tables that existed before it (see the module)."""

    ms: float
    locks: tuple[Lock, ...] = ()  # taken by this statement: the strongest per relation
    held: tuple[Lock, ...] = ()  # held while it ran, earlier statements' included
    rewritten: tuple[str, ...] = ()  # storage replaced, rows kept
    reindexed: tuple[str, ...] = ()  # indexes rebuilt, each reading its table whole
    read_whole: tuple[str, ...] = ()  # read by sequential scans, every row at least once
    rows_read: dict[str, int] = field(default_factory=dict)  # table -> rows its scans read
    emptied: tuple[str, ...] = ()  # left with no rows (TRUNCATE)
    dropped: tuple[str, ...] = ()
    error: str | None = None  # the server's message, when it refused the statement
    sqlstate: str | None = None
    autocommit: bool = False  # run outside a transaction block (it cannot run in one)

    @property
    def failed(self) -> bool:
        return self.error is not None

    @property
    def level(self) -> str:
        """``rewrite``: a table holding rows was rewritten; ``scan``: read whole (or an
        index of it rebuilt) under a lock that blocks writes; ``blocks``: a lock that blocks
        writes, briefly; ``none``: nothing that stops writers."""
        if self.rewritten:
            return REWRITE
        blocking = {lock.table for lock in self.held if lock.blocks_writes}
        if set(self.read_whole) & blocking:  # an index rebuilt reads its table whole too
            return SCAN
        if any(lock.blocks_writes for lock in self.locks):
            return BLOCKS
        return NONE


@dataclass(frozen=True)
class _Relation:
    oid: int
    name: str  # as the model names it: bare in public, schema-qualified elsewhere
    kind: str  # "table" or "index"
    table: int  # the table's oid (itself for a table)
    filenode: int | None
    pages: int


_RELATIONS = """
    SELECT c.oid::int, CASE WHEN n.nspname = 'public' THEN c.relname
                            ELSE n.nspname || '.' || c.relname END,
           CASE WHEN c.relkind IN ('r', 'p', 'm') THEN 'table' ELSE 'index' END,
           coalesce(x.indrelid, c.oid)::int, pg_relation_filenode(c.oid)::bigint,
           CASE WHEN c.relkind IN ('r', 'm') THEN pg_relation_size(c.oid) / 8192 ELSE 0 END
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_index x ON x.indexrelid = c.oid
    WHERE c.relkind IN ('r', 'p', 'm', 'i', 'I')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname !~ '^pg_(toast|temp)'
"""
_LOCKS = """
    SELECT relation::int, mode, granted FROM pg_locks
    WHERE pid = %s AND locktype = 'relation' AND database = (
        SELECT oid FROM pg_database WHERE datname = current_database())
"""
# Scans and the rows they read, by sequential scan or fetched through an index: a foreign
# key's check may read the table either way, as the planner chooses.
_SCANS = """
    SELECT relid::int, seq_scan + coalesce(idx_scan, 0),
           seq_tup_read + coalesce(idx_tup_fetch, 0)
    FROM {}
"""
_XACT_SCANS = _SCANS.format("pg_stat_xact_user_tables")
_FLUSHED_SCANS = _SCANS.format("pg_stat_user_tables")


class Observer:
    """Observes statements on ``conn`` against the tables that exist now.

    ``rows``: each existing table's row count (name -> rows), read by the caller
    before the first statement (a table missing from it counts as empty).
    """

    def __init__(self, conn, rows: dict[str, int]) -> None:
        self.conn = conn
        relations = self._relations()
        self.tables = existing_tables(conn)
        self.indexes = {
            r.oid: r for r in relations.values() if r.kind == "index" and r.table in self.tables
        }
        self.rows = {oid: rows.get(name, 0) for oid, name in self.tables.items()}
        self._setup: tuple[str, ...] = ()
        self._applied: list[str] = []

    # --- inside a transaction ---------------------------------------------------------

    def begin(self, setup: tuple[str, ...] = ()) -> None:
        """Open the transaction the next statements run in (``BEGIN``, then ``setup``, such
        as ``SET LOCAL statement_timeout``); the caller ends it with COMMIT or ROLLBACK."""
        self._setup = tuple(setup)
        self._applied = []
        for sql in ("BEGIN", *self._setup):
            self.conn.execute(sql)

    def run(self, sql: str) -> Effects:
        """Run ``sql`` on the connection, inside the transaction ``begin`` opened, and
        observe it.

        No savepoint wraps it: a savepoint changes what the server allows (a value added
        to an enum inside a subtransaction is "uncommitted" even when the type was created
        in this transaction, so using it fails with 55P04 where ``migrate`` succeeds). A
        refusal instead rolls the transaction back and runs again, unobserved, what ran
        before it (``setup`` and the statements that succeeded), so the transaction stays
        usable for the statements after it, as if the refused one had never been sent."""
        before = self._named_as_now()
        scans, locks = self._scans(_XACT_SCANS), self._locks()
        from psycopg import Error

        start = time.perf_counter()
        try:
            self.conn.execute(sql)
        except Error as exc:  # the server refused it: that is the observation
            ms = (time.perf_counter() - start) * 1000
            self.conn.execute("ROLLBACK")
            for earlier in ("BEGIN", *self._setup, *self._applied):
                self.conn.execute(earlier)
            return _refused(exc, ms)
        ms = (time.perf_counter() - start) * 1000
        self._applied.append(sql)
        after_locks = self._locks()
        return self._effects(
            ms, before, self._relations(), scans, self._scans(_XACT_SCANS),
            taken=_new_or_stronger(locks, after_locks), held=after_locks,
        )  # fmt: skip

    # --- a statement that cannot run in a transaction block ---------------------------

    def run_autocommit(self, sql: str, writer_url: str) -> Effects:
        """Run ``sql`` in autocommit (the connection must be in autocommit mode) while a
        writer on a connection to ``writer_url`` holds ROW EXCLUSIVE on every table."""
        import psycopg

        before, scans = self._named_as_now(), self._flushed_scans()
        seen: dict[int, str] = {}
        with psycopg.connect(writer_url, autocommit=True) as writer:
            writer.execute("BEGIN")
            for oid in self.tables.keys() & before.keys():
                writer.execute(f"LOCK TABLE {oid_name(writer, oid)} IN ROW EXCLUSIVE MODE")
            result: dict = {}
            pid = self.conn.info.backend_pid

            def statement() -> None:
                start = time.perf_counter()
                try:
                    self.conn.execute(sql)
                except Exception as exc:
                    result["error"] = exc
                result["ms"] = (time.perf_counter() - start) * 1000

            thread = threading.Thread(target=statement, daemon=True)
            thread.start()
            try:
                while thread.is_alive():
                    # Asked first: once it waits for the writer it stays waiting, so the locks
                    # read next are all it holds and wants.
                    waiting = _waits(writer, pid)
                    for relation, mode, _ in writer.execute(_LOCKS, (pid,)).fetchall():
                        seen[relation] = _stronger(seen.get(relation), LOCK_MODES.get(mode))
                    if waiting:
                        break
                    thread.join(0.002)
            finally:
                writer.execute("ROLLBACK")
                thread.join()
        if "error" in result:
            if not isinstance(result["error"], psycopg.Error):
                raise result["error"]  # not the server's refusal: a fault of ours
            return _refused(result["error"], result["ms"], autocommit=True)
        taken = {oid: mode for oid, mode in seen.items() if mode is not None}
        locks = self._lock_values(taken)
        return self._effects(
            result["ms"], before, self._relations(), scans, self._flushed_scans(),
            taken=locks, held=locks, autocommit=True,
        )  # fmt: skip

    # --- reading the server -----------------------------------------------------------

    def _named_as_now(self) -> dict[int, _Relation]:
        """The relations as they are before a statement, and the existing tables named as
        they are now (an earlier statement may have renamed one or moved it to another
        schema): the names the lint's model has for them at that statement."""
        relations = self._relations()
        self.tables = {
            oid: relations[oid].name if oid in relations else name
            for oid, name in self.tables.items()
        }
        return relations

    def _relations(self) -> dict[int, _Relation]:
        return {row[0]: _Relation(*row) for row in self.conn.execute(_RELATIONS).fetchall()}

    def _scans(self, query: str) -> dict[int, tuple[int, int]]:
        return {relid: (scans, rows) for relid, scans, rows in self.conn.execute(query)}

    def _flushed_scans(self) -> dict[int, tuple[int, int]]:
        """This backend's counters as the shared statistics hold them, flushed first."""
        self.conn.execute("SELECT pg_stat_force_next_flush()")
        self.conn.execute("SELECT pg_stat_clear_snapshot()")
        return self._scans(_FLUSHED_SCANS)

    def _locks(self) -> tuple[Lock, ...]:
        pid = self.conn.info.backend_pid
        modes: dict[int, str] = {}
        for relation, mode, granted in self.conn.execute(_LOCKS, (pid,)).fetchall():
            if granted and mode in LOCK_MODES:
                modes[relation] = _stronger(modes.get(relation), LOCK_MODES[mode])
        return self._lock_values(modes)

    def _lock_values(self, modes: dict[int, str]) -> tuple[Lock, ...]:
        locks = []
        for oid, mode in modes.items():
            if oid in self.tables:
                locks.append(Lock(self.tables[oid], mode))
            elif oid in self.indexes:
                index = self.indexes[oid]
                locks.append(Lock(self.tables[index.table], mode, index.name))
        return tuple(sorted(locks, key=lambda lock: (lock.table, lock.index or "", lock.mode)))

    def _effects(
        self, ms, before, after, scans, after_scans, *, taken, held, autocommit=False
    ) -> Effects:
        rewritten, emptied, dropped, reindexed = [], [], [], []
        for oid, name in self.tables.items():
            old, new = before.get(oid), after.get(oid)
            if old is None:
                continue  # dropped by an earlier statement
            if new is None:
                dropped.append(name)
            elif old.filenode != new.filenode and old.filenode is not None:
                (rewritten if new.pages or not self.rows[oid] else emptied).append(name)
        by_name = {(r.table, r.name): r for r in after.values() if r.kind == "index"}
        for oid, index in self.indexes.items():
            old = before.get(oid)
            # ALTER COLUMN TYPE drops and recreates an index: same name, new oid.
            new = after.get(oid) or by_name.get((index.table, index.name))
            if old is not None and new is not None and old.filenode != new.filenode:
                table = self.tables[index.table]
                if table not in rewritten and table not in emptied:
                    reindexed.append(index.name)
        rows_read, whole = {}, []
        for oid, name in self.tables.items():
            scans_before, read_before = scans.get(oid, (0, 0))
            scans_after, read_after = after_scans.get(oid, (0, 0))
            if scans_after > scans_before:
                rows_read[name] = read_after - read_before
                if read_after - read_before >= self.rows[oid]:
                    whole.append(name)
        return Effects(
            ms=ms, locks=taken, held=held, rewritten=tuple(rewritten),
            reindexed=tuple(reindexed), read_whole=tuple(whole), rows_read=rows_read,
            emptied=tuple(emptied), dropped=tuple(dropped), autocommit=autocommit,
        )  # fmt: skip


def existing_tables(conn) -> dict[int, str]:
    """Every table of the database's own schemas, the runner's bookkeeping aside: oid ->
    name as the model names it."""
    import re

    from runner.catalog import BOOKKEEPING_PATTERN

    bookkeeping = re.compile(BOOKKEEPING_PATTERN)
    return {
        oid: name
        for oid, name, kind, *_ in conn.execute(_RELATIONS).fetchall()
        if kind == "table" and not bookkeeping.match(name.rpartition(".")[2])
    }


def count_rows(conn) -> dict[str, int]:
    """Every table's exact row count (name -> rows): a scan of each, to be read before
    observing, never between two snapshots."""
    return {
        name: conn.execute(f"SELECT count(*) FROM {oid_name(conn, oid)}").fetchone()[0]
        for oid, name in existing_tables(conn).items()
    }


def oid_name(conn, oid: int) -> str:
    """A relation's name as SQL can use it (quoted, schema-qualified as needed)."""
    return conn.execute("SELECT %s::regclass::text", (oid,)).fetchone()[0]


def _waits(writer, pid: int) -> bool:
    """True when the backend ``pid`` is blocked by another (the writer)."""
    return bool(writer.execute("SELECT pg_blocking_pids(%s) <> '{}'", (pid,)).fetchone()[0])


def _stronger(a: str | None, b: str | None) -> str | None:
    if a is None or (b is not None and STRENGTH[b] > STRENGTH[a]):
        return b
    return a


def _new_or_stronger(before: tuple[Lock, ...], after: tuple[Lock, ...]) -> tuple[Lock, ...]:
    """Locks of ``after`` not already held at that strength or more in ``before``."""
    held = {(lock.table, lock.index): lock.mode for lock in before}
    return tuple(
        lock
        for lock in after
        if (lock.table, lock.index) not in held
        or STRENGTH[lock.mode] > STRENGTH[held[(lock.table, lock.index)]]
    )


def _refused(exc: Exception, ms: float, *, autocommit: bool = False) -> Effects:
    diag = getattr(exc, "diag", None)
    message = getattr(diag, "message_primary", None) or str(exc).splitlines()[0]
    return Effects(
        ms=ms, error=message, sqlstate=getattr(exc, "sqlstate", None), autocommit=autocommit
    )
