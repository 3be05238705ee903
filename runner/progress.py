"""Live progress of a long statement, watched from a second connection.

Invariant: the watcher only reads (``pg_stat_activity``, ``pg_blocking_pids``
and the ``pg_stat_progress_*`` views, for the applying session's pid); it
never touches the applying connection, whose statement it learns from the
executor's notice router, and it connects only once a statement has run for
``AFTER_S``, so a run of quick statements opens no second connection. Every
statement reported gets one last event, ``ended``, when it is over.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NamedTuple

from runner.retry import Blocker

AFTER_S = 1.0  # a statement running longer than this is reported
POLL_S = 0.5
APPLICATION_NAME = "liftdb progress"

STATE_SQL = """
SELECT a.wait_event_type, a.wait_event,
       ci.phase, ci.blocks_done, ci.blocks_total, ci.tuples_done, ci.tuples_total,
       cl.phase, cl.heap_blks_scanned, cl.heap_blks_total,
       an.phase, an.sample_blks_scanned, an.sample_blks_total,
       v.phase, v.heap_blks_scanned, v.heap_blks_total,
       coalesce(cl.relid, ci.relid, an.relid, v.relid)::pg_catalog.regclass::text,
       cl.command, a.state
FROM pg_catalog.pg_stat_activity a
LEFT JOIN pg_catalog.pg_stat_progress_create_index ci ON ci.pid = a.pid
LEFT JOIN pg_catalog.pg_stat_progress_cluster cl ON cl.pid = a.pid
LEFT JOIN pg_catalog.pg_stat_progress_analyze an ON an.pid = a.pid
LEFT JOIN pg_catalog.pg_stat_progress_vacuum v ON v.pid = a.pid
WHERE a.pid = %s
"""
BLOCKER_SQL = """
SELECT b.pid, b.application_name,
       pg_catalog.date_part('epoch', pg_catalog.clock_timestamp() - b.xact_start), b.query
FROM pg_catalog.pg_stat_activity b
WHERE b.pid = ANY (pg_catalog.pg_blocking_pids(%s))
ORDER BY b.xact_start
LIMIT 1
"""
# The views in the order they are asked: CLUSTER and VACUUM FULL (the view says which)
# first, since their index rebuild may show in the CREATE INDEX view as well.
VIEWS = ("CLUSTER", "CREATE INDEX", "ANALYZE", "VACUUM")


class Progress(NamedTuple):
    """Where a long statement is, as the server says, ``elapsed_s`` after it began."""

    version: str  # the version's label
    path: str
    line: int | None  # the statement's, when known (see ``executor._NoticeRouter.running``)
    statement: str | None  # its first line
    elapsed_s: float  # since the statement (or, when unknown, its version) began
    waiting: str | None = None  # "Lock: relation", "IO: DataFileRead", ...
    blocker: Blocker | None = None  # who it waits for, when a lock
    command: str | None = None  # "CREATE INDEX", "CLUSTER", "VACUUM FULL", "ANALYZE", "VACUUM"
    relation: str | None = None  # the table it works on
    phase: str | None = None  # the progress view's phase
    done: int | None = None
    total: int | None = None
    unit: str = ""  # "blocks" or "tuples"
    ended: bool = False  # the statement is over: the last event about it


class Watcher:
    """Reports, through ``on_progress``, the statement ``current()`` names while it runs
    longer than ``AFTER_S``; ``current()`` returns (version label, path, Statement or
    None when unknown) or None when nothing runs, and is read from this watcher's own
    thread."""

    def __init__(self, url: str, pid: int, current: Callable, on_progress: Callable) -> None:
        self.url, self.pid, self.current, self.on_progress = url, pid, current, on_progress
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._watch, name="liftdb-progress", daemon=True)
        self.conn = None

    def _watch(self) -> None:
        key, since, reported = None, time.monotonic(), None
        try:
            while not self.stopped.wait(POLL_S if reported else 0.1):
                now = self.current()
                if now != key:
                    if reported is not None:
                        self.on_progress(_ended(reported, time.monotonic() - since))
                    key, since, reported = now, time.monotonic(), None
                if key is None or time.monotonic() - since < AFTER_S:
                    continue
                reported = self._read(key, time.monotonic() - since) or reported
                if reported is not None and self.current() == key:
                    self.on_progress(reported)
            if reported is not None:
                self.on_progress(_ended(reported, time.monotonic() - since))
        finally:
            if self.conn is not None:
                with contextlib.suppress(Exception):
                    self.conn.close()

    def _read(self, key, elapsed_s: float) -> Progress | None:
        """What the server says of the applying session now; None if it cannot be read."""
        import psycopg

        from runner import database
        from runner.errors import LiftdbError

        label, path, statement = key
        try:
            if self.conn is None:
                self.conn = database.connect(self.url)
                self.conn.execute(f"SET application_name = '{APPLICATION_NAME}'")
            row = self.conn.execute(STATE_SQL, (self.pid,)).fetchone()
            if row is None or row[18] != "active":
                return None  # the statement is over on the server; the client is catching up
            blocker = None
            if row[0] == "Lock":
                found = self.conn.execute(BLOCKER_SQL, (self.pid,)).fetchone()
                blocker = Blocker(*found) if found else None
        except (psycopg.Error, LiftdbError):
            return None
        progress = Progress(
            label, path, statement and statement.line, statement and statement.first_line,
            elapsed_s,
            waiting=f"{row[0]}: {row[1]}" if row[0] else None, blocker=blocker,
        )  # fmt: skip
        views = [row[7:10], row[2:7], row[10:13], row[13:16]]
        for command, view in zip(VIEWS, views, strict=True):
            if view[0] is None:
                continue
            phase, done, total = view[0], view[1], view[2]
            unit = "blocks"
            if command == "CREATE INDEX" and not total and view[4]:
                done, total, unit = view[3], view[4], "tuples"
            if command == "CLUSTER":
                command = row[17]  # CLUSTER or VACUUM FULL
            return progress._replace(
                command=command, relation=row[16], phase=phase, done=done,
                total=total, unit=unit,
            )  # fmt: skip
        return progress


def _ended(progress: Progress, elapsed_s: float) -> Progress:
    return progress._replace(elapsed_s=elapsed_s, ended=True)


@contextmanager
def watching(url: str, conn, current: Callable, on_progress: Callable | None) -> Iterator[None]:
    """A ``Watcher`` of ``conn``'s session for the block (none without ``on_progress``)."""
    if on_progress is None:
        yield
        return
    watcher = Watcher(url, conn.info.backend_pid, current, on_progress)
    watcher.thread.start()
    try:
        yield
    finally:
        watcher.stopped.set()
        watcher.thread.join(timeout=10)
