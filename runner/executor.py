"""Applies a plan, version by version, on the connection that holds the lock.

Invariant: a transactional version's statements and its bookkeeping are sent
as one string, ``BEGIN`` ... ``COMMIT``, in one round trip on one connection:
either the whole version and its record commit, or nothing of it does. A
non-transactional version (``-- transactional: false``, for ``CREATE INDEX
CONCURRENTLY`` and the like) runs statement by statement in autocommit; a
progress row records each statement done, so an interrupted one is visible to
``status`` and the next run resumes where it stopped; it is recorded applied
only after its last statement. Every failure names the file and line of the
statement and leaves the version unapplied.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from runner import recorder, sqltree
from runner.errors import MigrationFailed
from runner.loader import SqlFile, Statement
from runner.plan import Plan, Step

DEFAULT_LOCK_TIMEOUT_MS = 5000
DEFAULT_STATEMENT_TIMEOUT_MS = 0  # off
LOCK_NOT_AVAILABLE = "55P03"
QUERY_CANCELED = "57014"
ACTIVE_SQL_TRANSACTION = "25001"  # e.g. CREATE INDEX CONCURRENTLY inside a transaction
# Milliseconds since BEGIN, computed by the server when the bookkeeping row is written.
SERVER_DURATION_MS = "(extract(epoch FROM clock_timestamp() - now()) * 1000)::integer"


@dataclass(frozen=True)
class Timeouts:
    """What a run uses unless a file's own directive says otherwise (0 = off)."""

    lock_ms: int = DEFAULT_LOCK_TIMEOUT_MS
    statement_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS

    def for_file(self, sql_file: SqlFile) -> Timeouts:
        lock_ms = sql_file.timeout_ms("lock_timeout")
        statement_ms = sql_file.timeout_ms("statement_timeout")
        return Timeouts(
            lock_ms=self.lock_ms if lock_ms is None else lock_ms,
            statement_ms=self.statement_ms if statement_ms is None else statement_ms,
        )


@dataclass(frozen=True)
class Done:
    """One version applied or rolled back, or, in a dry run, what would run for it."""

    number: int
    name: str
    direction: str  # "up" or "down"
    duration_ms: int | None  # None in a dry run
    script: str = ""  # the SQL sent, in order (dry run)
    path: str = ""  # the file that ran


def _settings(timeouts: Timeouts, scope: str) -> list[str]:
    return [
        f"SET {scope}lock_timeout = '{timeouts.lock_ms}ms'",
        f"SET {scope}statement_timeout = '{timeouts.statement_ms}ms'",
    ]


def _record_note(step: Step) -> str:
    what = "applied" if step.direction == "up" else "rolled back"
    return f"-- liftdb: record {step.version.label} as {what}"


def _transaction_start(timeouts: Timeouts, *, durable: bool) -> list[str]:
    """What opens a transactional version. Every commit but the run's last skips waiting
    for its WAL flush (synchronous_commit off): a crash can lose only whole versions,
    bookkeeping included, and the last, synchronous commit flushes all earlier ones."""
    start = ["BEGIN", *_settings(timeouts, "LOCAL ")]
    if not durable:
        start.append("SET LOCAL synchronous_commit = off")
    return start


def script(step: Step, timeouts: Timeouts, *, durable: bool = True) -> str:
    """The SQL a step sends, in order, with the bookkeeping as a comment: what --dry-run shows."""
    timeouts = timeouts.for_file(step.file)
    statements = [s.sql for s in step.file.statements]
    if step.file.transactional:
        lines = [*_transaction_start(timeouts, durable=durable), *statements]
        return _join(lines) + f"\n{_record_note(step)}\nCOMMIT;"
    lines = [*_settings(timeouts, ""), *statements]
    return _join(lines) + f"\n{_record_note(step)}\nRESET lock_timeout;\nRESET statement_timeout;"


def _join(statements: list[str]) -> str:
    """Statements as one script, each ended by ";": on a line of its own after a statement
    whose last line holds a -- comment, which would swallow it."""
    return "\n".join(
        sql + ("\n;" if "--" in sql.rsplit("\n", 1)[-1] else ";") for sql in statements
    )


def dry_run(plan: Plan, timeouts: Timeouts) -> list[Done]:
    return [
        Done(
            s.version.number,
            s.version.name,
            s.direction,
            None,
            script(s, timeouts, durable=index == len(plan) - 1),
            str(s.file.path),
        )
        for index, s in enumerate(plan)
    ]


def run(
    conn,
    plan: Plan,
    timeouts: Timeouts,
    resume: dict[tuple[int, str], int] | None = None,
    on_done: Callable[[Done], None] | None = None,
    stop: Callable[[], bool] | None = None,
) -> list[Done]:
    """Apply ``plan`` in order; stop at the first failure (raised as ``MigrationFailed``).

    ``resume`` maps (version, direction) of interrupted non-transactional versions to
    the number of their statements already done. ``stop`` is asked before each version:
    True returns what was done so far, made durable.
    """
    done = []
    last = len(plan) - 1
    for index, step in enumerate(plan):
        if stop is not None and stop():
            if index and plan.steps[index - 1].file.transactional:
                _flush(conn)
            break
        started = time.perf_counter()
        if step.file.transactional:
            _run_transactional(conn, step, timeouts.for_file(step.file), durable=index == last)
        else:
            already = (resume or {}).get((step.version.number, step.direction))
            _run_statement_by_statement(conn, step, timeouts.for_file(step.file), already)
        duration_ms = round((time.perf_counter() - started) * 1000)
        result = Done(
            step.version.number,
            step.version.name,
            step.direction,
            duration_ms,
            path=str(step.file.path),
        )
        done.append(result)
        if on_done is not None:
            on_done(result)
    return done


def _flush(conn) -> None:
    """Make the run's commits so far durable. Every commit but a run's last skips the WAL
    flush; a run stopped early never sends that last one, so send a transaction that must
    flush: one with a transaction id commits synchronously, and PostgreSQL's flush of its
    commit record writes out everything logged before it."""
    conn.execute("SELECT pg_catalog.pg_current_xact_id()")


def _run_transactional(conn, step: Step, timeouts: Timeouts, *, durable: bool) -> None:
    """One round trip: BEGIN, settings, the file's statements, the bookkeeping, COMMIT."""
    import psycopg
    from psycopg import generators
    from psycopg.errors import error_from_result
    from psycopg.pq import ExecStatus

    statements = step.file.statements
    prefix = _transaction_start(timeouts, durable=durable)
    finish = recorder.finish_sql(step.version, step.direction, SERVER_DURATION_MS)
    text = _join([*prefix, *(s.sql for s in statements), finish, "COMMIT"])
    try:
        with conn.lock:
            conn.pgconn.send_query(text.encode(conn.info.encoding))
            results = conn.wait(generators.execute(conn.pgconn))
    except psycopg.Error as exc:  # the connection failed: the server may have crashed
        raise MigrationFailed(
            f"{step.file.path}: the connection failed while running {step.version.label}"
            f" (it is applied only if `liftdb status` says so): {exc}"
        ) from None
    for position, result in enumerate(results):
        if result.status != ExecStatus.FATAL_ERROR:
            continue
        error = error_from_result(result, encoding=conn.info.encoding)
        _rollback_quietly(conn)
        index = position - len(prefix)
        statement = statements[index] if 0 <= index < len(statements) else None
        raise MigrationFailed(_describe(step, statement, error, timeouts))


def _run_statement_by_statement(conn, step: Step, timeouts: Timeouts, already: int | None) -> None:
    """``already``: statements an interrupted run completed (None: a first run)."""
    import psycopg

    statements = step.file.statements
    resuming = already is not None
    already = already or 0
    recorder.start_progress(conn, step.version, step.direction, len(statements))
    try:
        for setting in _settings(timeouts, ""):
            conn.execute(setting)
        for index in range(already, len(statements)):
            statement = statements[index]
            try:
                if resuming and index == already and _finished_before(conn, statement):
                    pass  # the interrupted run completed it but died before noting so
                else:
                    conn.execute(statement.sql)
            except psycopg.Error as exc:
                outcome = (
                    f"{step.version.label} stopped after {index} of {len(statements)} statements;"
                    f" run {'migrate' if step.direction == 'up' else 'rollback'} again to finish it"
                )
                raise MigrationFailed(_describe(step, statement, exc, timeouts, outcome)) from None
            recorder.advance_progress(conn, step.version, step.direction, index + 1)
        with conn.transaction():
            conn.execute(recorder.finish_sql(step.version, step.direction, "0"))
    finally:
        if not conn.closed and not conn.broken:
            conn.execute("RESET lock_timeout")
            conn.execute("RESET statement_timeout")


def _finished_before(conn, statement: Statement) -> bool:
    """Make an interrupted statement safe to run again; True if it had in fact completed.

    An interrupted ``CREATE INDEX CONCURRENTLY`` leaves an INVALID index of its name:
    drop it, so the statement can build it afresh. A valid one means it had finished.
    """
    from psycopg import sql

    index = sqltree.concurrent_index(statement.sql)
    if index is None:
        return False
    row = conn.execute(
        "SELECT x.indisvalid FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid"
        " WHERE c.relname = %s AND c.relnamespace = coalesce(to_regnamespace(%s),"
        " current_schema()::regnamespace)",
        (index.name, index.schema),
    ).fetchone()
    if row is None:
        return False
    if row[0]:
        return True
    name = sql.Identifier(*([index.schema] if index.schema else []), index.name)
    conn.execute(sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(name))
    return False


def _rollback_quietly(conn) -> None:
    import contextlib

    import psycopg

    # If the connection is gone, the server rolled the transaction back itself.
    with contextlib.suppress(psycopg.Error):
        conn.execute("ROLLBACK")


def _describe(
    step: Step, statement: Statement | None, error, timeouts: Timeouts, outcome: str = ""
) -> str:
    """``file:line: first line of the statement: message [SQLSTATE] constraint name``."""
    diag = error.diag
    message = diag.message_primary or str(error)
    where = f"{step.file.path}:{statement.line}: {statement.first_line}" if statement else None
    if where is None:
        where = f"{step.file.path}: while recording {step.version.label}"
    text = f"{where}: {message}"
    if diag.sqlstate:
        text += f" [{diag.sqlstate}]"
    if diag.constraint_name:
        text += f" constraint {diag.constraint_name}"
    if statement is not None and diag.sqlstate == LOCK_NOT_AVAILABLE:
        tables = sqltree.tables(statement.sql)
        if len(tables) == 1:
            text += (
                f" (waiting for a lock on table {tables[0]}; lock_timeout {timeouts.lock_ms} ms)"
            )
        elif tables:
            text += (
                f" (waiting for a lock on one of tables {', '.join(tables)};"
                f" lock_timeout {timeouts.lock_ms} ms)"
            )
    elif diag.sqlstate == QUERY_CANCELED and timeouts.statement_ms:
        text += f" (statement_timeout {timeouts.statement_ms} ms)"
    elif diag.sqlstate == ACTIVE_SQL_TRANSACTION:
        text += " (put '-- transactional: false' at the top of the file)"
    verb = "applied" if step.direction == "up" else "rolled back"
    return f"{text}; {outcome or f'{step.version.label} was not {verb}'}"
