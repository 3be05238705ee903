"""Applies a plan, version by version, on the connection that holds the lock.

Invariant: a transactional version's statements and its bookkeeping are sent
as one string, ``BEGIN`` ... ``COMMIT``, on one connection: either the whole
version and its record commit, or nothing of it does. Consecutive transactional
versions go together, each its own ``BEGIN`` ... ``COMMIT`` and reset, in one
string and one round trip (``_Batch``), unless the caller asks to be able to stop
between versions (``stop``); a failure ends the string where it happened. A
non-transactional version (``-- transactional: false``, for ``CREATE INDEX
CONCURRENTLY`` and the like) runs statement by statement in autocommit; a
progress row records each statement done (with its checksum), so an
interrupted one is visible to ``status`` and the next run resumes where it
stopped; statements inside a ``BEGIN`` ... ``COMMIT`` block of its own count as
done when the block commits, noted inside the block just before its ``COMMIT``
(both commit, or neither). It is recorded applied only after its last
statement. Each version starts in the session liftdb set up, whatever the
version before it did (``runner.session``), and its bookkeeping is written as
liftdb. Every failure names the file and line of the statement that failed
(from the error's position in the text sent, when the server refused to parse
it, else from which result failed) and leaves the version unapplied; every
notice the server sends while a statement runs reaches ``on_notice`` with that
statement's file and line. A statement that gives up waiting for a table lock
(55P03) is tried again on ``runner.retry``'s schedule: a transactional version
whole, after its rollback; a non-transactional version's statement alone, when it
is outside a block of the file's own (an INVALID index a ``CREATE INDEX
CONCURRENTLY`` left is dropped first); each wait reaches ``on_lock_wait``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple, NoReturn

from runner import database, progress, recorder, retry, sqltree
from runner import session as session_module
from runner.directives import Timeouts
from runner.errors import Interrupted, MigrationFailed
from runner.loader import Statement
from runner.plan import Plan, Step

LOCK_NOT_AVAILABLE = "55P03"
QUERY_CANCELED = "57014"
ACTIVE_SQL_TRANSACTION = "25001"  # e.g. CREATE INDEX CONCURRENTLY inside a transaction
# Milliseconds since BEGIN, computed by the server when the bookkeeping row is written.
SERVER_DURATION_MS = (
    "(pg_catalog.date_part('epoch', pg_catalog.clock_timestamp() - pg_catalog.now())"
    " * 1000)::integer"
)
# Sent before each statement of a transactional version (and after its last): a result
# with no notice of its own. libpq hands a notice to us as soon as it reads it, even
# while the previous statement's result waits to be collected; a marker's result between
# two statements is what tells whose notice it is. (An empty SELECT: no plan to speak of.)
MARKER = "SELECT"


class Done(NamedTuple):
    """One version applied or rolled back, or, in a dry run, what would run for it."""

    number: int
    name: str
    direction: str  # "up" or "down"
    duration_ms: int | None  # None in a dry run
    script: str = ""  # the SQL sent, in order (dry run)
    path: str = ""  # the file that ran


class Notice(NamedTuple):
    """A message the server sent while a statement of a version ran (``RAISE NOTICE``,
    ``RAISE WARNING``, ``... does not exist, skipping``), with where that statement is."""

    version: str  # the version's label
    path: str
    line: int
    severity: str  # PostgreSQL's own, untranslated: WARNING, NOTICE, INFO, LOG, DEBUG
    message: str  # the primary message, with the detail and hint if any


class LockWait(NamedTuple):
    """A statement of a version gave up waiting for a table lock and will be tried again."""

    version: str  # the version's label
    path: str
    line: int
    tables: tuple[str, ...]  # as the statement names them
    blockers: tuple[retry.Blocker, ...]  # who held a conflicting lock, longest-open first
    retry: int  # the coming attempt's number among the retries, 1-based
    retries: int
    sleep_s: float  # until it starts
    lock_ms: int  # its lock_timeout


class _NoticeRouter:
    """The connection's notice handler during a run: a notice goes to ``on_notice`` with
    the statement running when the server raised it; liftdb's own statements' notices
    (``current`` None) are dropped."""

    def __init__(self, on_notice: Callable[[Notice], None] | None) -> None:
        self.on_notice = on_notice
        self.step: Step | None = None
        self.current: Statement | None = None
        # While a transactional version's string runs: its script, and how many results
        # have been collected (the statement running is the next result's, if it is one
        # or marks one); worked out only when a notice comes, not for every result.
        self.script: _Script | None = None
        self.collected = 0
        # A server going down says why in a WARNING (SQLSTATE 57P01 admin_shutdown, 57P02
        # crash_shutdown, ...) just before it drops the connection: the error's reason.
        self.farewell: str | None = None
        # In a batch: when the last version to end ended, in ms since the string began
        # (``session.VERSION_ENDED``).
        self.ended_ms = 0.0

    def running(self) -> tuple[str, str, Statement | None] | None:
        """(version label, path, statement) of what runs now, if anything: the statement
        of a non-transactional version; a transactional version's only statement, or None
        for one of several (the server sends a string's results only when it ends, so
        which one runs is not known here). Read from the progress watcher's thread."""
        step, script, current = self.step, self.script, self.current
        if step is None:
            return None
        if script is not None:
            statements = step.file.statements
            current = statements[0] if len(statements) == 1 else None
        elif current is None:
            return None
        return step.version.label, str(step.file.path), current

    def __call__(self, diagnostic) -> None:
        if (diagnostic.sqlstate or "").startswith("57P"):
            self.farewell = diagnostic.message_primary
            return
        if self.script is not None:
            self.current = self.script.statement_running_after(self.collected)
        if self.current is None:  # liftdb's own statements'
            message = diagnostic.message_primary or ""
            if message.startswith(session_module.VERSION_ENDED_MESSAGE):
                self.ended_ms = float(message[len(session_module.VERSION_ENDED_MESSAGE) : -3])
            return
        if self.on_notice is None or self.step is None:
            return
        message = " ".join(
            part for part in (diagnostic.message_primary, diagnostic.message_detail,
                              diagnostic.message_hint) if part
        )  # fmt: skip
        self.on_notice(
            Notice(
                version=self.step.version.label,
                path=str(self.step.file.path),
                line=self.current.line,
                severity=diagnostic.severity_nonlocalized or diagnostic.severity or "NOTICE",
                message=" ".join(message.split()),
            )
        )


def _settings(timeouts: Timeouts, scope: str) -> list[str]:
    return [
        f"SET {scope}lock_timeout = '{timeouts.lock_ms}ms'",
        f"SET {scope}statement_timeout = '{timeouts.statement_ms}ms'",
    ]


def _record_note(step: Step) -> str:
    what = "applied" if step.direction == "up" else "rolled back"
    return f"-- liftdb: record {step.version.label} as {what}"


RESET_NOTE = "-- liftdb: reset the session to liftdb's own"


def _transaction_start(timeouts: Timeouts, *, durable: bool) -> list[str]:
    """What opens a transactional version. Every commit but the run's last skips waiting
    for its WAL flush (synchronous_commit off): a crash can lose only whole versions,
    bookkeeping included, and the last, synchronous commit flushes all earlier ones."""
    start = ["BEGIN", *_settings(timeouts, "LOCAL ")]
    if not durable:
        start.append("SET LOCAL synchronous_commit = off")
    return start


def script(step: Step, timeouts: Timeouts, *, durable: bool = True) -> str:
    """The SQL a step sends, in order, with the bookkeeping and the session's reset as
    comments: what --dry-run shows."""
    timeouts = timeouts.for_file(step.file).attempt(0)
    statements = [s.sql for s in step.file.statements]
    if step.file.transactional:
        lines = [*_transaction_start(timeouts, durable=durable), *statements]
        return _join(lines) + f"\n{_record_note(step)}\nCOMMIT;\n{RESET_NOTE}"
    lines = [*_settings(timeouts, ""), *statements]
    return _join(lines) + f"\n{_record_note(step)}\n{RESET_NOTE}"


def _join(statements: list[str]) -> str:
    """Statements as one script, each ended by ";": on a line of its own after a statement
    whose last line holds a -- comment, which would swallow it."""
    return "\n".join(map(_ended, statements))


def _ended(sql: str) -> str:
    return sql + ("\n;" if "--" in sql.rsplit("\n", 1)[-1] else ";")


class _Script:
    """The string a transactional version sends, and which statement each of its results
    answers: liftdb's ``head`` (BEGIN, settings), each of the file's statements after a
    marker, a last marker, liftdb's ``tail`` (the bookkeeping, COMMIT, the session's
    reset). Worked out by arithmetic, not a list of parts: a data version may hold
    hundreds of thousands of statements."""

    def __init__(self, head: list[str], statements, tail: list[str], commit_at: int) -> None:
        self.head, self.statements, self.tail = head, statements, tail
        self.commit_at = commit_at  # the COMMIT's index in ``tail``
        self.body_end = len(head) + 2 * len(statements) + 1  # after the last marker
        self.results = self.body_end + len(tail)  # one for each statement sent

    def _pieces(self) -> list[str]:
        pieces = [*self.head]
        for statement in self.statements:
            pieces += (MARKER, statement.sql)
        return [*pieces, MARKER, *self.tail]

    def text(self) -> str:
        return _join(self._pieces())

    def part(self, index: int) -> tuple[str, Statement | None]:
        """What the ``index``th result answers: ("head" | "marker" | "statement" |
        "record" | "commit" | "reset", the file's statement it is or marks, if any)."""
        body = index - len(self.head)
        if body < 0:
            return "head", None
        if index < self.body_end:
            number, is_statement = divmod(body, 2)
            statement = self.statements[number] if number < len(self.statements) else None
            return ("statement" if is_statement else "marker"), statement
        at = index - self.body_end
        if at < self.commit_at:
            return "record", None
        return ("commit" if at == self.commit_at else "reset"), None

    def statement_running_after(self, collected: int) -> Statement | None:
        """The file's statement whose notices come once ``collected`` results are in."""
        return self.part(collected)[1]

    def index_at(self, position: int | None, index: int) -> int:
        """Which result an error belongs to: where its position (1-based, in characters)
        falls in the text, when the server gave one (a statement it could not parse
        fails the whole string before anything runs, as the first result); else its own."""
        if not position:
            return index
        at, found, offset = position - 1, 0, 0
        for number, sql in enumerate(self._pieces()):
            if offset > at:
                break
            found = number
            offset += len(_ended(sql)) + 1
        return found


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
    *,
    books: recorder.Bookkeeping,
    session: session_module.Session,
    resume: dict[tuple[int, str], recorder.Progress] | None = None,
    on_done: Callable[[Done], None] | None = None,
    on_notice: Callable[[Notice], None] | None = None,
    on_lock_wait: Callable[[LockWait], None] | None = None,
    stop: Callable[[], bool] | None = None,
    on_progress: Callable[[progress.Progress], None] | None = None,
    url: str | None = None,
) -> list[Done]:
    """Apply ``plan`` in order; stop at the first failure (raised as ``MigrationFailed``).

    ``books`` is where the bookkeeping is (it must exist), ``session`` what liftdb set up
    on ``conn``. ``resume`` maps (version, direction) of every step with a progress row,
    as the plan read them under the migration lock, to that progress (its statements
    already done checked by the plan to be the file's first ones): a non-transactional
    version resumes from it; a transactional one (0 statements done) deletes it as it
    commits; a step not in it has none to delete, and sends no DELETE for it (no one else
    writes progress). ``stop`` is asked before each version: True returns what was
    done so far, made durable. ``on_lock_wait`` hears of each lock retry as it is decided;
    ``on_progress``, of a statement running longer than a second (``runner.progress``,
    from a second connection to ``url``).
    """
    notices = _NoticeRouter(on_notice)
    conn.add_notice_handler(notices)
    step, done = None, []
    resume = resume or {}

    def finished(result: Done) -> None:
        done.append(result)
        notices.step = None  # the watcher's sign that the version is over
        if on_done is not None:
            on_done(result)

    try:
        with progress.watching(url, conn, notices.running, on_progress if url else None):
            steps, last, index, alone_until = plan.steps, len(plan) - 1, 0, 0

            def version(at: int) -> _Version:
                s = steps[at]
                return _Version(
                    conn, s, timeouts.for_file(s.file), books, session, notices, on_lock_wait
                )

            while index < len(steps):
                if stop is not None and stop():
                    if index and steps[index - 1].file.transactional:
                        _flush(conn)
                    break
                # Without a ``stop`` to ask between versions, the transactional ones from
                # here go as one string (``_Batch``).
                end = index if stop is not None or index < alone_until else _batch_end(steps, index)
                if end - index > 1:
                    batch = _Batch(
                        [version(at) for at in range(index, end)],
                        durable=end - 1 == last,
                        cleared=[_key(s) in resume for s in steps[index:end]],
                    )
                    applied = batch.run(finished)
                    if batch.refused:  # each alone, for the one refused to be named
                        alone_until = end
                    elif batch.unsent:  # VERSION_ENDED cannot run: the rest alone
                        alone_until = len(steps)
                    index += applied
                    continue
                step = steps[index]
                notices.step = step
                started = time.perf_counter()
                interrupted = resume.get(_key(step))
                if step.file.transactional:
                    version(index).run_transactional(
                        durable=index == last, clear_progress=interrupted is not None
                    )
                else:
                    version(index).run_statement_by_statement(interrupted)
                finished(_done(step, started))
                index += 1
            return done
    except KeyboardInterrupt as interrupt:  # Ctrl-C, or SIGTERM (errors.Terminated)
        raise _interrupted(conn, books, notices.step or step, done, interrupt) from None
    finally:
        conn.remove_notice_handler(notices)


def _key(step: Step) -> tuple[int, str]:
    return step.version.number, step.direction


def _characters(conn, sent: str, position: str | None) -> int | None:
    """An error's position (1-based) in ``sent`` in characters: the server counts in
    characters of its encoding, which in SQL_ASCII are bytes (of the UTF-8 liftdb sends:
    ``session.ENCODING_SQL`` before every string)."""
    if not position:
        return None
    if conn.info.parameter_status("server_encoding") != "SQL_ASCII":
        return int(position)
    before = sent.encode()[: int(position) - 1].decode(errors="ignore")
    return len(before) + 1


def _done(step: Step, started: float = 0.0, duration_ms: float | None = None) -> Done:
    """``step`` applied (rolled back): ``started`` by ``time.perf_counter``, or it took
    ``duration_ms``."""
    if duration_ms is None:
        duration_ms = (time.perf_counter() - started) * 1000
    return Done(
        step.version.number,
        step.version.name,
        step.direction,
        round(duration_ms),
        path=str(step.file.path),
    )


# The most SQL one batch sends (one version over it goes alone): a string is held whole
# on both sides before it runs, and a server logs the whole string beside an error in it
# (log_min_error_statement). A hundred typical versions fit; more gain nothing measurable.
BATCH_MAX_CHARS = 500_000


def _batch_end(steps: tuple[Step, ...], index: int) -> int:
    """Where the batch starting at ``index`` ends (exclusive): the transactional versions
    from it on, as many as BATCH_MAX_CHARS of their files hold (one at least)."""
    end, size = index, 0
    while end < len(steps) and steps[end].file.transactional:
        size += sum(len(s.sql) for s in steps[end].file.statements)
        if end > index and size > BATCH_MAX_CHARS:
            break
        end += 1
    return end


def _interrupted(
    conn, books: recorder.Bookkeeping, step: Step | None, done: list[Done], interrupt
) -> Interrupted:
    """Where the version running when the run was interrupted stands, as the server says
    once what it left open is rolled back (psycopg cancelled its query on the server),
    and what the run did before it."""
    import psycopg
    from psycopg.pq import TransactionStatus

    if step is None:
        return Interrupted("before any version ran", interrupt)
    up = step.direction == "up"
    key = (step.version.number, step.direction)
    before = sum((d.number, d.direction) != key for d in done)
    stays = ""
    if before:
        stay = "stays" if before == 1 else "stay"
        what = "applied" if up else "rolled back"
        stays = f"; {before} version{'s' * (before > 1)} {what} before it {stay} {what}"
    where = f"while {'applying' if up else 'rolling back'} {step.version.label}"
    try:
        if conn.info.transaction_status in (TransactionStatus.INTRANS, TransactionStatus.INERROR):
            conn.execute("ROLLBACK")
        progress_row = next(
            (p for p in recorder.progress(conn, books) if (p.number, p.direction) == key), None
        )
        applied = step.version.number in {a.number for a in recorder.applied(conn, books)}
    except psycopg.Error:
        state = "the connection was lost; `liftdb status` says where it stands"
        return Interrupted(f"{where}: {state}{stays}", interrupt)
    if progress_row is not None:
        state = (
            f"it stopped after {progress_row.statements_done} of"
            f" {progress_row.statement_count} statements; run"
            f" `liftdb {'migrate' if up else 'rollback'}` to finish it"
        )
    elif applied == up:
        state = "it was applied" if up else "it was rolled back"
    elif step.file.transactional:
        state = (
            "it was rolled back and is pending again"
            if up
            else "its rollback was undone and it is still applied"
        )
    else:
        state = (
            "none of its statements had run; it is pending"
            if up
            else "none of its statements had run; it is still applied"
        )
    return Interrupted(f"{where}: {state}{stays}", interrupt)


def _flush(conn) -> None:
    """Make the run's commits so far durable. Every commit but a run's last skips the WAL
    flush; a run stopped early never sends that last one, so send a transaction that must
    flush: one with a transaction id commits synchronously, and PostgreSQL's flush of its
    commit record writes out everything logged before it."""
    conn.execute("SELECT pg_catalog.pg_current_xact_id()")


@dataclass
class _Version:
    conn: object
    step: Step
    timeouts: Timeouts
    books: recorder.Bookkeeping
    session: session_module.Session
    notices: _NoticeRouter
    on_lock_wait: Callable[[LockWait], None] | None = None

    def __post_init__(self) -> None:
        self.base, self.schedule = self.timeouts, self.timeouts.schedule
        self.timeouts = self.base.attempt(0)  # the attempt running's

    @property
    def label(self) -> str:
        return self.step.version.label

    # --- lock retries -------------------------------------------------------------------

    def _attempts(self, attempt: Callable[[], object], in_autocommit: bool = False):
        """Run ``attempt`` until it does not raise ``_LockTimedOut`` (return what it
        returned) or the schedule ends (then ``MigrationFailed`` naming who blocked it).
        ``in_autocommit``: the session's lock_timeout is set before each further attempt
        (a transaction sets its own)."""
        started, number = time.monotonic(), 0
        while True:
            try:
                answer = attempt()
                if number and in_autocommit:  # the next statement starts from the first
                    self.timeouts = self.base.attempt(0)
                    self.conn.execute(f"SET lock_timeout = '{self.timeouts.lock_ms}ms'")
                return answer
            except _LockTimedOut as timed_out:
                statement, error = timed_out.statement, timed_out.error
                tables = sqltree.tables(statement.sql)
                blockers = self._blockers(statement, tables)
                if not self.schedule.another(number, time.monotonic() - started):
                    raise MigrationFailed(
                        self._describe(
                            statement, error, timed_out.outcome, blockers=blockers,
                            attempts=(number + 1, time.monotonic() - started),
                        )
                    ) from None  # fmt: skip
                if not in_autocommit:  # the session liftdb set up, nothing of the attempt's
                    self._reset_session(done=False)
                sleep_s = self.schedule.sleep_s(number)
                number += 1
                self.timeouts = self.base.attempt(number)
                if self.on_lock_wait is not None:
                    self.on_lock_wait(
                        LockWait(
                            self.label, str(self.step.file.path), statement.line, tuple(tables),
                            tuple(blockers), number, self.schedule.retries, sleep_s,
                            self.timeouts.lock_ms,
                        )
                    )  # fmt: skip
                time.sleep(sleep_s)
                if in_autocommit:
                    self.conn.execute(f"SET lock_timeout = '{self.timeouts.lock_ms}ms'")

    def _blockers(self, statement: Statement, tables: list[str]) -> list[retry.Blocker]:
        """Who holds a lock ``statement`` waited for (read as liftdb: the version's own
        role may not see other sessions); none if that cannot be read."""
        import psycopg

        try:
            return retry.blockers(self.conn, tables, retry.requested_mode(statement.sql))
        except psycopg.Error:
            self._rollback_quietly()
            return []

    # --- one transaction, one round trip ----------------------------------------------

    def run_transactional(
        self, *, durable: bool, clear_progress: bool = False, timed_out: _LockTimedOut | None = None
    ) -> None:
        """The version in one transaction, tried again whole after a lock timeout;
        ``clear_progress``: it has a progress row (``resume``), deleted as it commits;
        ``timed_out``: its first attempt was made (in a batch) and gave up waiting."""
        first = [timed_out] if timed_out is not None else []

        def attempt() -> None:
            if first:
                raise first.pop()
            self._transaction(durable=durable, clear_progress=clear_progress)

        self._attempts(attempt)

    def script(self, *, durable: bool, clear_progress: bool, batched: bool = False) -> _Script:
        """BEGIN, settings, the file's statements (each after a marker), the bookkeeping
        as liftdb, COMMIT, and the session's reset (``batched``: sent with other versions,
        ``Session.reset_statements``)."""
        record = [
            *self.session.as_liftdb_statements(),
            *_settings(self.timeouts, "LOCAL "),  # not the version's own SET LOCAL timeouts
            *recorder.finish_statements(
                self.books,
                self.step.version,
                self.step.direction,
                SERVER_DURATION_MS,
                clear_progress=clear_progress,
            ),
        ]
        return _Script(
            _transaction_start(self.timeouts, durable=durable),
            self.step.file.statements,
            [*record, "COMMIT", *self.session.reset_statements(batched=batched)],
            commit_at=len(record),
        )

    def _transaction(self, *, durable: bool, clear_progress: bool) -> None:
        """The version's ``script`` as one string, in one round trip."""
        script = self.script(durable=durable, clear_progress=clear_progress)
        self.notices.script, self.notices.collected = script, 0
        try:
            text = script.text()
            failed, last = self._send(text)
        finally:
            self.notices.script, self.notices.current = None, None
        if failed is None:
            answer = last.get_value(0, 0)
            self._release_advisory_locks(None if answer is None else answer == b"t")
            return
        self.failed(script, *failed, sent=text)

    def failed(
        self, script: _Script, index: int, result, offset: int = 0, *, sent: str
    ) -> NoReturn:
        """Raise what the ``index``th result of ``script`` failing means: ``_LockTimedOut``
        (a statement gave up waiting for a lock; nothing of it left), else
        ``MigrationFailed`` naming the statement. ``sent``: the string sent (a batch's,
        or the script's text); ``offset``: where the script's text starts in it, in
        characters."""
        from psycopg.errors import error_from_result

        error = error_from_result(result, encoding=self.conn.info.encoding)
        position = _characters(self.conn, sent, error.diag.statement_position)
        position = position - offset if position else None
        if index == 0:  # the server refused the whole string: nothing of it ran
            self._rollback_quietly()
            statement, error = self._refused_statement(error)
            if statement is None:
                role, statement = script.part(script.index_at(position, 0))
                statement = statement if role == "statement" else None
            where = "" if statement else "in the SQL liftdb sent for"
            raise MigrationFailed(self._describe(statement, error, where=where))
        role, statement = script.part(script.index_at(position, index))
        if role == "reset":
            raise self._reset_failed(error)
        self._rollback_quietly()
        if role == "commit":
            raise MigrationFailed(self._describe(None, error, where="at its COMMIT"))
        if role == "statement" and error.diag.sqlstate == LOCK_NOT_AVAILABLE:
            raise _LockTimedOut(statement, error)
        raise MigrationFailed(self._describe(statement if role == "statement" else None, error))

    def _refused_statement(self, error):
        """The statement the server could not parse when it refused a version's whole
        string (a syntax newer than the server, a character the database's encoding
        lacks), and its own error: the first statement that, parsed alone (a Parse
        message: nothing runs), fails the same way. (None, ``error``) if none does."""
        from psycopg.errors import error_from_result
        from psycopg.pq import ExecStatus

        encoding = self.conn.info.encoding
        with self.conn.lock:
            for statement in self.step.file.statements:
                result = self.conn.pgconn.prepare(b"", statement.sql.encode(encoding))
                if result.status == ExecStatus.FATAL_ERROR:
                    alone = error_from_result(result, encoding=encoding)
                    if alone.diag.sqlstate == error.diag.sqlstate:
                        return statement, alone
        return None, error

    def _send(self, text: str):
        """Send ``text`` and collect its results one at a time as libpq completes them,
        counting them for the notice router; the first failed one, with its index, and
        the last one."""
        import psycopg
        from psycopg.pq import ExecStatus

        notices = self.notices
        failed = last = None

        def on_result(result) -> None:
            nonlocal failed, last
            if failed is None and result.status == ExecStatus.FATAL_ERROR:
                failed = (notices.collected, result)
            notices.collected += 1
            last = result

        try:
            send_collecting(self.conn, text.encode(self.conn.info.encoding), on_result)
        except psycopg.Error as exc:  # the connection failed: the server may have crashed
            raise MigrationFailed(
                f"{self.step.file.path}: the connection failed while running {self.label}"
                f" (it is {self._verb()} only if `liftdb status` says so):"
                f" {self.notices.farewell or exc}"
            ) from None
        return failed, last

    # --- statement by statement -------------------------------------------------------

    def run_statement_by_statement(self, interrupted: recorder.Progress | None) -> None:
        """``interrupted``: what an interrupted run recorded (None: a first run)."""
        import psycopg
        from psycopg.pq import TransactionStatus

        statements = self.step.file.statements
        resuming = interrupted is not None
        already = interrupted.statements_done if interrupted else None
        done = already or 0  # what the progress row says
        block = None  # the statement that opened a transaction block still open
        self._bookkeeping(
            recorder.start_progress_sql(
                self.books,
                self.step.version,
                self.step.direction,
                len(statements),
                statements[done].line if done < len(statements) else None,
            )
        )
        for setting in _settings(self.timeouts, ""):
            self.conn.execute(setting)
        for statement in statements[:done]:  # the session the completed statements set
            if sqltree.sets_session(statement.sql):
                try:
                    self.conn.execute(statement.sql)
                except (psycopg.Error, UnicodeEncodeError) as exc:
                    outcome = f"setting the session again to resume; {self._outcome(done)}"
                    raise MigrationFailed(self._describe(statement, exc, outcome)) from None
        if interrupted is not None and interrupted.session is not None:
            # ... and the rest of what they left, however they set it (a DO block, a
            # function, a set_config of an expression), as noted with their progress.
            try:
                self.conn.execute(
                    ";\n".join(session_module.restore_statements(interrupted.session))
                )
            except psycopg.Error as exc:
                raise MigrationFailed(
                    f"{self.step.file.path}: setting the session the completed statements left"
                    f" ({exc.diag.message_primary or exc}); {self._outcome(done)}"
                ) from None
        for index in range(done, len(statements)):
            statement = statements[index]
            self.notices.current = statement
            # Outside a block of the file's own, a statement that may run in a transaction
            # commits with the note that it is done: a run cut short between the two
            # cannot leave it done but not noted, for a resume to run it again.
            with_progress = block is None and not sqltree.runs_outside_transaction_block(
                statement.sql
            )
            # A block of the file's own is noted done inside it, just before its COMMIT: a
            # run cut short between the two cannot leave it committed but not noted either.
            committing = block is not None and sqltree.commits_block(statement.sql)
            try:
                if resuming and index == already and self._finished_before(statement):
                    with_progress = False  # the interrupted run completed it, not noting so
                elif block is None:  # with its progress, or alone: retried on a lock timeout
                    run = self._run_with_progress if with_progress else self._execute
                    alone = lambda s=statement, d=done, r=run: self._alone(s, d, r)  # noqa: E731
                    with_progress = self._attempts(alone, in_autocommit=True)
                elif committing:
                    self._commit_block(statement, self._advance(done, index))
                else:
                    self.conn.execute(statement.sql)
            except (psycopg.Error, UnicodeEncodeError) as exc:
                self.notices.current = None
                if with_progress:
                    self._rollback_quietly()
                raise MigrationFailed(self._stopped(statement, exc, done, block)) from None
            self.notices.current = None
            if not with_progress and self.conn.info.transaction_status != TransactionStatus.IDLE:
                block = block or statement  # its statements are done when it commits
                continue
            block = None
            if not committing:
                self._bookkeeping(self._advance(done, index), begun=with_progress)
            elif index + 1 < len(statements):  # the session without the block's SET LOCALs
                self._bookkeeping(
                    recorder.note_session_sql(self.books, self.step.version, self.step.direction)
                )
            done = index + 1
        if block is not None:  # Plan.parse refuses such a file; a server may still differ
            self._rollback_quietly()
            raise MigrationFailed(
                f"{self.step.file.path}:{block.line}: {block.first_line}: the transaction it"
                f" began is still open at the end of the file, and was rolled back;"
                f" {self._outcome(done)}"
            )
        self._bookkeeping(
            recorder.finish_statements(self.books, self.step.version, self.step.direction, "0")
        )
        self._reset_session()

    def _reset_session(self, *, done: bool = True) -> None:
        """Bring the session back to the one liftdb set up (``session``), in autocommit:
        after a non-transactional version (``done``), and after a transactional version's
        attempt that a lock timeout rolled back (a rollback leaves its session advisory
        locks and prepared statements), before the next."""
        import psycopg

        try:
            cursor = self.conn.execute(";\n".join(self.session.reset_statements()))
            (answer,) = database.last_row(cursor)
        except psycopg.Error as exc:
            raise self._reset_failed(exc, done) from None
        self._release_advisory_locks(answer, done)

    def _advance(self, done: int, index: int) -> list[str]:
        """The note that the statements after the first ``done`` up to ``index`` (0-based,
        included) have completed."""
        statements = self.step.file.statements
        following = statements[index + 1].line if index + 1 < len(statements) else None
        return recorder.advance_progress_sql(
            self.books,
            self.step.version,
            self.step.direction,
            [(ordinal + 1, statements[ordinal]) for ordinal in range(done, index + 1)],
            following,
        )

    def _commit_block(self, statement: Statement, note: list[str]) -> None:
        """The file's ``COMMIT`` of its own block, with ``note`` written inside the block
        just before it, as liftdb: both commit, or neither. The block's deferred
        constraints and triggers are checked first, in the session the block left (they
        would run at the COMMIT, after liftdb's ``SET LOCAL``s); a failure there is the
        COMMIT's, raised as psycopg's error."""
        self.conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
        self._bookkeeping(note, begun=True, commit=False)
        self.conn.execute(statement.sql)

    def _alone(self, statement: Statement, done: int, run: Callable[[Statement], bool]) -> bool:
        """One statement outside a block of the file's own, as ``run`` runs it (with its
        progress, or on its own); what ``run`` returns. ``_LockTimedOut`` if it gave up
        waiting for a lock: then nothing of it is left (the transaction ``run`` began,
        rolled back; an INVALID index it made, dropped)."""
        import psycopg

        try:
            return run(statement)
        except psycopg.errors.LockNotAvailable as exc:
            self._rollback_quietly()
            self._finished_before(statement)
            raise _LockTimedOut(statement, exc, self._outcome(done)) from None

    def _execute(self, statement: Statement) -> bool:
        """``statement`` on its own, in autocommit; False: no transaction left open."""
        self.conn.execute(statement.sql)
        return False

    def _release_advisory_locks(self, answer: bool | None, done: bool = True) -> None:
        """The rest of the reset, when its last statement says so (``session``)."""
        import psycopg

        if session_module.needs_release(answer):
            try:
                self.conn.execute(session_module.RELEASE_ADVISORY_LOCKS)
            except psycopg.Error as exc:
                raise self._reset_failed(exc, done) from None

    def _reset_failed(self, error, done: bool = True) -> MigrationFailed:
        """``done``: the version was applied (rolled back); else an attempt was undone."""
        if not done:
            return MigrationFailed(
                f"{self.step.file.path}: after a lock timeout, resetting the session for the"
                f" next attempt failed: {error.diag.message_primary or error};"
                f" {self.label} was not {self._verb()}"
            )
        return MigrationFailed(
            f"{self.step.file.path}: {self.label} was {self._verb()}, then resetting the"
            f" session failed: {error.diag.message_primary or error}; stopped there"
        )

    def _run_with_progress(self, statement: Statement) -> bool:
        """Run ``statement`` in a transaction left open for its progress (``_bookkeeping``
        with ``begun``), in one round trip; False when the server refused it in a
        transaction block (SQLSTATE 25001, before doing anything) and it ran on its own."""
        import psycopg

        try:
            self.conn.execute(f"BEGIN READ WRITE;\n{statement.sql}")
        except psycopg.Error as exc:
            if exc.diag.sqlstate != ACTIVE_SQL_TRANSACTION:
                raise
            self._rollback_quietly()
            self.conn.execute(statement.sql)
            return False
        return True

    def _bookkeeping(self, statements: list[str], *, begun: bool = False, commit=True) -> None:
        """Write to the bookkeeping as liftdb (its role, search_path and timeouts; read
        write whatever the version set), in one round trip, leaving the session as the
        version's statements made it: in a transaction of its own, or in the one
        ``_run_with_progress`` began (``begun``), committing the statement with it, or
        in a block of the file's own, left open for its COMMIT (not ``commit``)."""
        import psycopg

        sql = [
            *([] if begun else ["BEGIN READ WRITE"]),
            *_settings(self.timeouts, "LOCAL "),  # first: a version's 1 ms is not liftdb's
            session_module.NOTE_SESSION,  # then the version's session (timeouts not noted)
            *self.session.as_liftdb_statements(),
            *statements,
            *(["COMMIT"] if commit else []),
        ]
        try:
            self.conn.execute(";\n".join(sql))
        except psycopg.Error as exc:
            self._rollback_quietly()
            raise MigrationFailed(
                f"{self.step.file.path}: while recording the progress of {self.label}:"
                f" {exc.diag.message_primary or self.notices.farewell or exc}"
                f"{f' [{exc.diag.sqlstate}]' if exc.diag.sqlstate else ''}"
            ) from None

    def _stopped(self, statement: Statement, error, done: int, block: Statement | None) -> str:
        """The failure of a non-transactional version's statement, and where it stands."""
        if block is not None:
            self._rollback_quietly()  # the statement's failure aborted the file's block
            where = f"the transaction begun at {self.step.file.path}:{block.line} was rolled back"
            return self._describe(statement, error, f"{where}; {self._outcome(done)}")
        return self._describe(statement, error, self._outcome(done))

    def _outcome(self, done: int) -> str:
        command = "migrate" if self.step.direction == "up" else "rollback"
        return (
            f"{self.label} stopped after {done} of {len(self.step.file.statements)} statements;"
            f" run {command} again to finish it"
        )

    def _finished_before(self, statement: Statement) -> bool:
        """Make an interrupted statement safe to run again; True if it had in fact completed.

        An interrupted ``CREATE INDEX CONCURRENTLY`` leaves an INVALID index of its name:
        drop it, so the statement can build it afresh. A valid one means it had finished.
        """
        from psycopg import sql

        index = sqltree.concurrent_index(statement.sql)
        if index is None:
            return False
        row = self.conn.execute(
            "SELECT x.indisvalid FROM pg_catalog.pg_index x"
            " JOIN pg_catalog.pg_class c ON c.oid = x.indexrelid"
            " WHERE c.relname = %s AND c.relnamespace = coalesce(pg_catalog.to_regnamespace(%s),"
            " pg_catalog.current_schema()::regnamespace)",
            (index.name, index.schema),
        ).fetchone()
        if row is None:
            return False
        if row[0]:
            return True
        name = sql.Identifier(*([index.schema] if index.schema else []), index.name)
        self.conn.execute(sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(name))
        return False

    def _rollback_quietly(self) -> None:
        """End a failed transaction, if one is open (a ROLLBACK outside one would leave
        a WARNING in the server's log); if the connection is gone, the server did."""
        import psycopg
        from psycopg.pq import TransactionStatus

        with contextlib.suppress(psycopg.Error):
            if self.conn.info.transaction_status in (
                TransactionStatus.INTRANS,
                TransactionStatus.INERROR,
            ):
                self.conn.execute("ROLLBACK")

    def _verb(self) -> str:
        return "applied" if self.step.direction == "up" else "rolled back"

    def _describe(
        self,
        statement: Statement | None,
        error,
        outcome: str = "",
        where: str = "",
        blockers: list[retry.Blocker] | None = None,
        attempts: tuple[int, float] | None = None,
    ) -> str:
        """``file:line: first line of the statement: message [SQLSTATE] constraint name``.

        ``error`` is psycopg's, or the ``UnicodeEncodeError`` of a statement psycopg could
        not send: it encodes in the session's client_encoding, which a statement of the
        version may have changed (each version starts in UTF-8, ``session``)."""
        outcome = outcome or f"{self.label} was not {self._verb()}"
        if isinstance(error, UnicodeEncodeError) and statement is not None:
            encoding = self.conn.info.parameter_status("client_encoding") or "?"
            return (
                f"{self.step.file.path}:{statement.line}: {statement.first_line}: character"
                f" {error.object[error.start : error.end]!r} has no equivalent in the session's"
                f" client_encoding {encoding} (set by a statement before it); {outcome}"
            )
        diag = error.diag
        message = diag.message_primary or self.notices.farewell or str(error)
        path = self.step.file.path
        if statement is not None:
            place = f"{path}:{statement.line}: {statement.first_line}"
        else:
            place = f"{path}: {where or 'while recording'} {self.label}".rstrip()
        text = f"{place}: {message}"
        if diag.sqlstate:
            text += f" [{diag.sqlstate}]"
        if diag.constraint_name:
            text += f" constraint {diag.constraint_name}"
        timeouts = self.timeouts
        if statement is not None and diag.sqlstate == LOCK_NOT_AVAILABLE:
            tables = sqltree.tables(statement.sql)
            held = f", held by {blockers[0].describe()}" if blockers else ""
            tried = ""
            if attempts is not None and attempts[0] > 1:
                tried = f", the last of {attempts[0]} attempts over {attempts[1]:.1f} s"
            if len(tables) == 1:
                text += (
                    f" (waiting for a lock on table {tables[0]}{held};"
                    f" lock_timeout {timeouts.lock_ms} ms{tried})"
                )
            elif tables:
                text += (
                    f" (waiting for a lock on one of tables {', '.join(tables)}{held};"
                    f" lock_timeout {timeouts.lock_ms} ms{tried})"
                )
        elif diag.sqlstate == QUERY_CANCELED and timeouts.statement_ms:
            text += f" (statement_timeout {timeouts.statement_ms} ms)"
        elif diag.sqlstate == ACTIVE_SQL_TRANSACTION:
            text += " (put '-- transactional: false' at the top of the file)"
        return f"{text}; {outcome}"


class _Batch:
    """Consecutive transactional versions sent as one string: each still its own
    ``BEGIN`` ... ``COMMIT`` with its bookkeeping and the session's reset, as it would be
    sent alone (``_Version.script``), but with no round trip between them, and so none of
    the client's work between them (measured: half a millisecond a version on a local
    socket, more than the server's own extra work). The reset that ends each version
    stops the string if the version left advisory locks (``ADVISORY_LOCKS_STOP``: they
    are released before the next starts) and sends the version's results on at once
    (``VERSION_ENDED``): each version is reported as it ends. A failure ends the string
    where it happened (the server skips the rest): the versions before it are applied,
    the one that failed is what it would be alone (a lock timeout tried again on the
    schedule, alone), and the caller goes on from there. ``VERSION_ENDED`` failing (a
    version dropped plpgsql) comes after the reset's ``COMMIT``: the version is applied,
    timed by the client's clock, and the caller sends the rest one version at a time.
    """

    def __init__(self, versions: list[_Version], *, durable: bool, cleared: list[bool]) -> None:
        self.versions, self.refused = versions, False
        # Whether a version's VERSION_ENDED failed (a version dropped plpgsql, say): it
        # would fail for every version after it, one error in the server's log each.
        self.unsent = False
        # Only the run's last version waits for its commit to be flushed (``durable``);
        # ``cleared``: which versions have a progress row to delete as they commit.
        self.durable = [durable and number == len(versions) - 1 for number in range(len(versions))]
        self.cleared = cleared
        self.scripts = [
            version.script(
                durable=self.durable[number],
                clear_progress=cleared[number],
                batched=True,
            )
            for number, version in enumerate(versions)
        ]
        texts = [script.text() for script in self.scripts]
        self.offsets = [sum(len(t) + 1 for t in texts[:number]) for number in range(len(texts))]
        self.text = "\n".join(texts)

    def run(self, finished: Callable[[Done], None]) -> int:
        """Send the batch and report each version to ``finished`` as its results come; how
        many versions were applied (or rolled back). Fewer than all: the caller goes on
        from the next; none and ``refused``: the server could not parse the string, and
        each is to be sent alone (which names the one it refuses)."""
        import psycopg

        first = self.versions[0]
        conn, notices = first.conn, first.notices
        pgconn = conn.pgconn
        with conn.lock:
            pgconn.send_query(self.text.encode(conn.info.encoding))
        failed, number, count = None, 0, len(self.versions)
        notices.ended_ms = ended_ms = 0.0
        self.since = time.perf_counter()  # when the version running began, to the client
        try:
            while number < count:
                version, script = self.versions[number], self.scripts[number]
                notices.step, notices.script, notices.collected = version.step, script, 0
                # The results but the last: VERSION_ENDED's own completion comes after
                # the message that sent the rest, so it is read with the next version's.
                last = number == count - 1
                failed = _take(
                    conn, None if last else script.results - 1, notices, number == 0, number > 0
                )
                if failed is not None:
                    break
                if notices.ended_ms != ended_ms:  # by the server's clock
                    finished(_done(version.step, duration_ms=notices.ended_ms - ended_ms))
                else:  # VERSION_ENDED's INFO not heard: it failed (or is still on its way)
                    finished(_done(version.step, self.since))
                ended_ms, self.since = notices.ended_ms, time.perf_counter()
                number += 1
        except psycopg.Error as exc:  # the connection failed: the server may have crashed
            version = self.versions[number]
            raise MigrationFailed(
                f"{version.step.file.path}: the connection failed while running"
                f" {version.label} (it is {version._verb()} only if `liftdb status` says so):"
                f" {notices.farewell or exc}"
            ) from None
        except KeyboardInterrupt:  # psycopg cancels what runs if it was waiting; else here
            from psycopg.pq import TransactionStatus

            if conn.pgconn.transaction_status == TransactionStatus.ACTIVE:
                with contextlib.suppress(psycopg.Error):
                    conn.cancel_safe()
            _drain(conn)  # the rest of the string's results
            raise
        finally:
            notices.script, notices.current = None, None
        if failed is None:
            return count
        return self._failed(number, *failed, finished)

    def _failed(self, number: int, index: int, result, finished) -> int:
        """Version ``number``'s ``index``th result failed, which ended the string."""
        from psycopg.errors import error_from_result

        version, script = self.versions[number], self.scripts[number]
        if index < 0 or index == script.results - 1:
            # VERSION_ENDED failed (of the version before, reported, or of this one, the
            # batch's last): after the reset's COMMIT, so the version is applied and the
            # session reset; what is lost is the server's time for it, and the string's
            # rest, which the caller sends again, one version at a time.
            self.unsent = True
            if index < 0:
                return number
            finished(_done(version.step, self.since))
            return number + 1
        if number == 0 and index == 0:  # the whole string refused: nothing of it ran
            version._rollback_quietly()
            self.refused = True
            return 0
        error = error_from_result(result, encoding=version.conn.info.encoding)
        stopped = script.body_end + script.tail.index(session_module.ADVISORY_LOCKS_STOP)
        if index == stopped and error.diag.sqlstate == session_module.ADVISORY_LOCKS_STOPPED:
            # Applied; its reset, undone with the check's failure, done again alone, and
            # the advisory locks it left released.
            version._rollback_quietly()
            version._reset_session()
            finished(_done(version.step, self.since))
            return number + 1
        try:
            version.failed(script, index, result, self.offsets[number], sent=self.text)
        except _LockTimedOut as timed_out:  # tried again alone, on the schedule
            version.notices.step = version.step
            version.run_transactional(
                durable=self.durable[number],
                clear_progress=self.cleared[number],
                timed_out=timed_out,
            )
            finished(_done(version.step, self.since))
            return number + 1
        raise AssertionError("unreachable: _Version.failed raises")  # pragma: no cover


def _take(conn, count: int | None, notices: _NoticeRouter, sending: bool, leftover: bool):
    """Collect ``count`` results of the string being sent on ``conn`` (None: all that
    remain), counting them for the notice router, in one wait; the first failed one, as
    (its index, it), ending the collection with the string's end (the server skips the
    rest); else None. ``sending``: first push out what ``send_query`` could not write;
    ``leftover``: first read the last result of the version before (index -1)."""
    from psycopg import generators
    from psycopg.pq import ExecStatus

    pgconn = conn.pgconn

    def results():
        if sending:
            yield from generators.send(pgconn)
        if leftover:
            result = yield from generators.fetch(pgconn)
            if result is not None and result.status == ExecStatus.FATAL_ERROR:
                yield from _rest(pgconn)
                return -1, result
        failed = None
        while count is None or notices.collected < count or failed is not None:
            result = yield from generators.fetch(pgconn)
            if result is None:
                return failed
            if failed is None and result.status == ExecStatus.FATAL_ERROR:
                failed = (notices.collected, result)
            notices.collected += 1
        return failed

    with conn.lock:
        return conn.wait(results())


def _rest(pgconn):
    """A generator reading (and dropping) the rest of a string's results on ``pgconn``."""
    from psycopg import generators

    while (yield from generators.fetch(pgconn)) is not None:
        pass


def _drain(conn) -> None:
    """Read what is left of the results of the string sent on ``conn``, if it can be."""
    with contextlib.suppress(Exception), conn.lock:
        conn.wait(_rest(conn.pgconn))


def send_collecting(conn, text: bytes, on_result: Callable[[object], None]) -> None:
    """Send ``text`` as one simple-query message on ``conn`` (a psycopg ``Connection``) and
    hand each of its results (a ``psycopg.pq.PGresult``) to ``on_result`` as libpq
    completes it, failed ones included; raises ``psycopg.OperationalError`` if the
    connection fails.

    The one use of psycopg's undocumented ``generators.send``/``fetch`` and
    ``Connection.wait`` (README, "Dependencies"): the documented ``execute`` stops at a
    multi-statement string's first error without saying which statement it was, and
    pipeline mode sends each statement as a message of its own, which the server parses
    apart (a version's ``BEGIN`` ... ``COMMIT`` and its bookkeeping stay one string,
    one round trip, here). One generator collects every result: a wait per result
    would cost more than the results. ``wait`` also cancels the query on the server
    on Ctrl-C. tests/test_dependencies.py fails if any of this changes.
    """
    send(conn, text)(on_result)


def send(conn, text: bytes) -> Callable[[Callable[[object], None]], None]:
    """``send_collecting`` in two halves: send ``text`` now, and return the function that
    waits for its results (handing each to the ``on_result`` it is given). The server
    works on ``text`` while the caller does something else; nothing else may use
    ``conn`` until that function has returned."""
    from psycopg import generators

    pgconn = conn.pgconn
    with conn.lock:
        pgconn.send_query(text)

    def collect(on_result: Callable[[object], None]) -> None:
        def each_result():
            yield from generators.send(pgconn)  # what send_query could not write at once
            while (result := (yield from generators.fetch(pgconn))) is not None:
                on_result(result)

        with conn.lock:
            conn.wait(each_result())

    return collect


class _LockTimedOut(Exception):
    """An attempt's statement gave up waiting for a table lock (55P03), nothing of it left
    behind: the schedule decides whether it runs again."""

    def __init__(self, statement: Statement, error, outcome: str = "") -> None:
        super().__init__(error)
        self.statement, self.error, self.outcome = statement, error, outcome
