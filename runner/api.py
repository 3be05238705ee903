"""The library behind every command: each CLI command is one call here.

Invariant: these functions never print and never exit; they return what they
did, or raise a ``LiftdbError`` with a message for a person. Every command that
changes the database does so under the migration lock, after the chain, the
bookkeeping and every file it will run have been checked (``runner.plan``);
a dry run reads the same state and plan and changes nothing.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from runner import database, loader
from runner.directives import Timeouts
from runner.errors import (
    ConnectionFailed,
    DataLossRefused,
    DriftError,
    LayoutError,
    MigrationFailed,
    UsageError,
    and_more,
)

if TYPE_CHECKING:  # for annotations only: this module imports plan and the executor where
    # it uses them, so ``status`` loads neither the executor nor the parser's helpers
    from runner.executor import Done, LockWait, Notice
    from runner.plan import Plan, State
    from runner.recorder import Bookkeeping

DEFAULT_SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


class Options(NamedTuple):
    """How a run behaves beyond what it applies; every field has the safe default."""

    timeouts: Timeouts = Timeouts()
    allow_drift: bool = False
    # Called once when the migration lock is found taken, with who holds it (or None).
    on_wait: Callable[[object], None] | None = None
    # Called after each version, as it completes: output streams during a long run.
    on_done: Callable[[Done], None] | None = None
    # Called with each notice the server sends while a version's statement runs (RAISE
    # NOTICE / WARNING, "... does not exist, skipping"), naming that statement's file:line.
    on_notice: Callable[[Notice], None] | None = None
    # Called when a version's statement gave up waiting for a table lock and will be tried
    # again (``runner.retry``): who blocked it, and when the next attempt starts.
    on_lock_wait: Callable[[LockWait], None] | None = None
    # Called from a watcher thread while a statement runs longer than a second, about every
    # half second, and once more when it ends (``runner.progress.Progress``).
    on_progress: Callable[[object], None] | None = None
    # Called once the plan is made (under the lock; in a dry run too; again should a yoyo's
    # run make liftdb read the bookkeeping again) with the ``State`` it was made from and
    # the ``Plan``: where the database stood and what the run will do.
    on_plan: Callable[[State, Plan], None] | None = None
    # Asked before each version starts: True ends the run there, what was done kept and
    # the lock released (``fleet`` on Ctrl-C). The version running when it turns runs on.
    stop: Callable[[], bool] | None = None
    # What the user says of a pooler between liftdb and the server: "session", or None
    # (then a pooler is refused; see runner.target).
    pool_mode: str | None = None
    # Called in a dry run, when a ``confirm`` is given, with what the real run would ask
    # before destroying rows (``data_loss_question``): that it would need a yes.
    on_data_loss: Callable[[str], None] | None = None


DEFAULT_OPTIONS = Options()
# Asked before a rollback of everything or one that drops tables holding rows, with what
# it would do ("roll back all 8 applied versions and drop ..."); True to go ahead.
Confirm = Callable[[str], bool]


def migrate(
    url: str,
    sql_dir: Path | str | loader.Chain = DEFAULT_SQL_DIR,
    *,
    to: int | str | None = None,
    dry_run: bool = False,
    options: Options = DEFAULT_OPTIONS,
) -> list[Done]:
    """Apply every pending version, in order, up to and including ``to`` (a number, or a
    label or file name: ``plan.resolve``; so wherever a version is taken below).

    ``sql_dir`` is the migration folder, or a chain already read from one (``fleet`` reads
    it once for every database); so for every command below that takes it.
    """
    from runner import plan

    return _run(url, sql_dir, lambda state: plan.migrate(state, to), dry_run, options)


def rollback(
    url: str,
    sql_dir: Path | str | loader.Chain = DEFAULT_SQL_DIR,
    *,
    steps: int | None = None,
    to: int | str | None = None,
    everything: bool = False,
    dry_run: bool = False,
    options: Options = DEFAULT_OPTIONS,
    confirm: Confirm | None = None,
) -> list[Done]:
    """Roll back the newest ``steps`` versions (default 1), or down to ``to`` (which stays
    applied), or ``everything``; newest first.

    With ``confirm``, a rollback of everything, or one that would drop tables holding
    rows, asks it first and raises ``DataLossRefused`` (changing nothing) unless it says
    yes; without it (library callers, tests) nothing is asked.
    """
    from runner import plan

    def make(state):
        return plan.rollback(state, steps=steps, to=to, everything=everything)

    return _run(url, sql_dir, make, dry_run, options, confirm, everything=everything)


def redo(
    url: str,
    sql_dir: Path | str = DEFAULT_SQL_DIR,
    *,
    dry_run: bool = False,
    options: Options = DEFAULT_OPTIONS,
    confirm: Confirm | None = None,
) -> list[Done]:
    """Roll back the newest applied version and apply it again."""
    from runner import plan

    def make(state):
        down = plan.rollback(state)  # the newest version
        if not len(down):
            raise UsageError("nothing to redo: no version is applied")
        [step] = down.steps
        return plan.Plan((step, plan.Step(step.version, "up"))).parse(state.server_version)

    return _run(url, sql_dir, make, dry_run, options, confirm)


def _run(
    url, sql_dir, make_plan, dry_run, options, confirm=None, *, everything=False
) -> list[Done]:
    """``_run_locked``, an interrupt (Ctrl-C, SIGTERM) before the executor began said to
    have come before any version ran (``Interrupted``); the executor says where one
    during its run left the version running."""
    from runner.errors import Interrupted

    began: list[bool] = []
    try:
        return _run_locked(
            url, sql_dir, make_plan, dry_run, options, confirm, everything=everything, began=began
        )
    except KeyboardInterrupt as interrupt:
        if began:
            raise
        raise Interrupted("before any version ran", interrupt) from None


def _run_locked(
    url, sql_dir, make_plan, dry_run, options, confirm=None, *, everything=False, began
) -> list[Done]:
    from runner import executor, lock, plan, recorder, session

    chain = _chain(sql_dir)
    with database.connect(url) as conn:
        if dry_run:
            state = plan.read_state(conn, chain)
            state.check(allow_drift=options.allow_drift)
            work = make_plan(state)
            if options.on_plan is not None:
                options.on_plan(state, work)
            if confirm is not None and options.on_data_loss is not None:
                question = data_loss_question(conn, url, work, everything=everything)
                if question is not None:
                    options.on_data_loss(question)
            return executor.dry_run(work, options.timeouts)
        with lock.held(conn, options.timeouts.wait_ms, options.on_wait, options.pool_mode):
            setup = session.start(conn)
            _fence_yoyo(conn, options, recorder.locate(conn), create=False)
            fenced, asked = False, None
            while True:
                state = plan.read_state(conn, chain)  # where the bookkeeping is, decided
                state.check(allow_drift=options.allow_drift)
                ahead = asked is None and confirm is None
                with _created_ahead(conn, state.books if ahead else None) as keep:
                    work = make_plan(state)
                    if work != asked:  # told, and asked, before anything is created
                        if options.on_plan is not None:
                            options.on_plan(state, work)
                        if confirm is not None:
                            _ask_before_losing_data(conn, url, work, confirm, everything=everything)
                        asked = work
                    keep.append(bool(len(work)))
                if fenced or not len(work):
                    break
                # From the fence on, no yoyo can change anything until liftdb's lock is
                # released; one may have run (even run to the end) since the state was
                # read: read it again, and the plan with it.
                _fence_yoyo(conn, options, state.books, create=True)
                fenced = True
            books = (
                recorder.ensure_tables(
                    conn,
                    state.books,
                    progress=any(not step.file.transactional for step in work.steps),
                )
                if len(work)
                else state.books
            )
            resume = {
                (i.number, i.direction): i.record
                for i in state.interrupted
                if i.problem is None  # else the plan refused to resume it
            }
            began.append(True)
            try:
                return executor.run(
                    conn,
                    work,
                    options.timeouts,
                    books=books,
                    session=setup,
                    resume=resume,
                    on_done=options.on_done,
                    on_notice=options.on_notice,
                    on_lock_wait=options.on_lock_wait,
                    stop=options.stop,
                    on_progress=options.on_progress,
                    url=url,
                )
            except MigrationFailed as exc:
                if state.applied or state.applied_by_yoyo:
                    raise
                raise _with_adoption_hint(exc, conn, chain) from None


@contextlib.contextmanager
def _created_ahead(conn, books: Bookkeeping | None) -> Iterator[list[bool]]:
    """While the plan is made (parsing every pending file: the client's work), the server
    creates what a first run on a new database needs (the bookkeeping tables, yoyo's lock
    table and its guard) in a transaction left open. Committed if the block appends True
    to the list it is given (there is work to do); else, or if the block raises (bad
    input: the database stays exactly as it was), rolled back. A failure of the creation
    itself is rolled back quietly: the usual path creates the same (``yoyo.fence``,
    ``recorder.ensure_tables``) and says what failed; so is a creation another session
    waits for (a yoyo creating its own tables, ``_UNLESS_AWAITED``). Does nothing where
    the bookkeeping exists, or with ``books`` None."""
    import psycopg
    from psycopg.pq import ExecStatus

    from runner import executor, recorder, yoyo

    keep: list[bool] = []
    if books is None or books.schema is None or any(books.has(t) for t in recorder.TABLES):
        yield keep
        return
    sql = f"BEGIN;\n{yoyo.guard_sql(conn, books.schema)}\n{recorder.create_sql(books)}"
    collect = executor.send(conn, sql.encode(conn.info.encoding))
    failed = []
    try:
        yield keep
    finally:
        collect(lambda result: failed.append(result.status == ExecStatus.FATAL_ERROR))
        if keep == [True] and not any(failed):
            try:
                conn.execute(f"{_UNLESS_AWAITED};\nCOMMIT")
            except psycopg.Error:
                conn.execute("ROLLBACK")
        else:
            conn.execute("ROLLBACK")


# A yoyo starting now may be creating the same tables: its CREATE waits for this
# transaction, and would fail once it committed (PostgreSQL lets one of two concurrent
# CREATE TABLE win, IF NOT EXISTS or not). Then this transaction is rolled back instead
# (yoyo goes on) and the usual path, fence first, creates what is still missing.
_UNLESS_AWAITED = """DO $liftdb$
BEGIN
    IF EXISTS (SELECT FROM pg_catalog.pg_locks
               WHERE locktype = 'transactionid' AND NOT granted
                 AND transactionid = pg_catalog.pg_current_xact_id()::xid) THEN
        RAISE EXCEPTION 'another session waits for what liftdb is creating';
    END IF;
END
$liftdb$"""


def _with_adoption_hint(failed: MigrationFailed, conn, chain) -> MigrationFailed:
    """``failed``, on a database where nothing was recorded, with a hint when it was built
    another way (``adopt.hint``: goose, a restore): why "already exists"."""
    from runner import adopt, recorder

    try:  # a version this run applied before the failure: the database is liftdb's
        hint = adopt.hint(conn, chain, recorder.applied(conn))
    except Exception:  # the connection the failure left may be gone: no hint, same error
        return failed
    if hint is None:
        return failed
    return MigrationFailed(f"{failed.message}; hint: {hint}")


def _chain(source: Path | str | loader.Chain) -> loader.Chain:
    """The chain to work with: read from its folder, or one already read."""
    return source if isinstance(source, loader.Chain) else loader.load(source)


def _fence_yoyo(conn, options: Options, books, *, create: bool) -> bool:
    """Shut yoyo out for the rest of the run (``runner.yoyo``), its lock table beside the
    bookkeeping (``books``); True if a yoyo held its lock and was waited for."""
    from runner import yoyo

    if create:
        books.require_schema()
    return yoyo.fence(
        conn, options.timeouts.wait_ms, options.on_wait, create=create, schema=books.schema
    )


def data_loss_question(conn, url: str, work, *, everything: bool) -> str | None:
    """What a rollback of everything, or one that would destroy rows the database holds
    now (``runner.loss``), must be asked ("rolling back 00002_x on DB would drop ..."),
    naming the database (masked) and the versions; None when nothing is at risk."""
    from runner import loss

    risks = loss.describe(loss.losses(conn, work))
    labels = [step.version.label for step in work if step.direction == "down"]
    if not risks and not (everything and labels):
        return None
    versions = ", ".join(labels[:3]) + and_more(labels, 3)
    count = f"all {len(labels)} applied" if everything else str(len(labels))
    question = f"rolling back {count} version(s) ({versions}) on {database.mask(url)}"
    return f"{question} would {'; '.join(risks)}" if risks else question


def _ask_before_losing_data(conn, url, work, confirm: Confirm, *, everything: bool) -> None:
    """Ask before rolling back everything, or destroying rows (checked now, under the
    lock, so the answer is about the data as it is)."""
    question = data_loss_question(conn, url, work, everything=everything)
    if question is not None and not confirm(question):
        raise DataLossRefused(f"refused: {question}; nothing was changed (pass --yes to proceed)")


# --- status and verify ----------------------------------------------------------------


class VersionStatus(NamedTuple):
    """One line of ``status``."""

    number: int
    name: str
    state: str  # "applied", "pending", "interrupted" or "missing" (applied, not on disk)
    applied_at: datetime | None = None
    drift: str | None = None  # why it drifted, naming the file
    drift_kind: str | None = None  # "changed" (``repair`` mends it), "renamed", "missing"
    note: str | None = None  # where an interrupted version stopped


class Status(NamedTuple):
    """The chain beside the bookkeeping, as ``status`` and ``verify`` report it."""

    database: str  # masked
    directory: Path
    versions: tuple[VersionStatus, ...]
    invalid_indexes: tuple[str, ...] = ()
    out_of_order: tuple[int, ...] = ()
    applied_by_yoyo: tuple[str, ...] = ()  # migration ids, not adopted (``baseline``)
    hint: str | None = None  # built another way: what adopts it (``adopt.hint``)
    lock_holder: str | None = None  # who holds the migration lock (a run in progress)

    @property
    def pending(self) -> int:
        return sum(v.state == "pending" for v in self.versions)

    @property
    def interrupted(self) -> int:
        """Versions a migrate left part-way (an interrupted rollback's is still applied)."""
        return sum(v.state == "interrupted" for v in self.versions)

    @property
    def applied(self) -> int:
        return sum(v.state == "applied" for v in self.versions)

    @property
    def drifted(self) -> int:
        return sum(v.drift is not None for v in self.versions)

    def exit_code(self, *, gate_pending: bool = False, allow_drift: bool = False) -> int:
        """4 on drift (unless allowed); with ``gate_pending`` (``--exit-code``), 3 when
        anything is pending, interrupted, or left an invalid index; else 0."""
        from runner.errors import EXIT_DRIFT, EXIT_OK, EXIT_PENDING

        if self.drifted and not allow_drift:
            return EXIT_DRIFT
        behind = self.pending or self.interrupted
        if gate_pending and (behind or self.invalid_indexes or self.applied_by_yoyo):
            return EXIT_PENDING
        return EXIT_OK


def status(url: str, sql_dir: Path | str | loader.Chain = DEFAULT_SQL_DIR) -> Status:
    """Every version, applied or pending, with drift; reads only, creates nothing."""
    from runner import adopt, plan

    chain = _chain(sql_dir)
    with database.connect(url) as conn:
        state = plan.read_state(conn, chain, lock_holder=True)
        hint = adopt.hint(conn, chain, state.applied or state.applied_by_yoyo)
    holder = state.lock_holder
    drift = {d.number: d.reason for d in state.drift}
    kinds = {d.number: d.kind for d in state.drift}
    interrupted = {i.number: i for i in state.interrupted}
    lines = []
    # Applied and interrupted versions are named as the bookkeeping recorded them: after
    # a renumbering, the file now on disk at that number is another version.
    for number in sorted({v.number for v in chain} | set(state.applied) | set(interrupted)):
        version, row, stop = chain.get(number), state.applied.get(number), interrupted.get(number)
        if row is not None:
            note = f"rollback {stop.note}" if stop else None
            lines.append(
                VersionStatus(
                    number,
                    row.name,
                    "applied" if version else "missing",
                    row.applied_at,
                    drift.get(number) or (stop.problem if stop else None),
                    note=note,
                    drift_kind=kinds.get(number),
                )
            )
        elif stop is not None:
            lines.append(
                VersionStatus(
                    number, stop.record.name, "interrupted", note=stop.note, drift=stop.problem
                )
            )
        elif version.label in state.applied_by_yoyo:
            note = f"no checksum: `liftdb baseline --to {state.yoyo_head}` adopts it"
            lines.append(VersionStatus(number, version.name, "applied by yoyo", note=note))
        else:
            lines.append(VersionStatus(number, version.name, "pending"))
    return Status(
        database=database.mask(url),
        directory=chain.directory,
        versions=tuple(lines),
        invalid_indexes=state.invalid_indexes,
        out_of_order=tuple(v.number for v in state.out_of_order),
        applied_by_yoyo=state.applied_by_yoyo,
        hint=hint,
        lock_holder=holder.describe() if holder is not None else None,
    )


def verify(url: str, sql_dir: Path | str | loader.Chain = DEFAULT_SQL_DIR) -> Status:
    """Check every applied version's files against the checksums recorded; change nothing.

    Raises ``DriftError`` naming the first file that differs (or is missing).
    """
    report = status(url, sql_dir)
    drifted = [v for v in report.versions if v.drift is not None]
    if drifted:
        first = drifted[0]
        more = and_more(drifted)
        mend = {
            "changed": "; if the edit was on purpose, `liftdb repair` records the files as they"
            " are now, else restore them",
            "renamed": "; restore its name (repair does not mend a rename)",
            "missing": "; restore the file (repair does not mend a missing file)",
        }.get(first.drift_kind, "")
        raise DriftError(
            f"drift: {first.number:0{loader.NUMBER_WIDTH}d}_{first.name}: {first.drift}{more}"
            + mend
        )
    return report


def applied_versions(url: str) -> list[int]:
    from runner import recorder

    with database.connect(url) as conn:
        return [row.number for row in recorder.applied(conn)]


# --- repair ---------------------------------------------------------------------------


def repair(
    url: str,
    sql_dir: Path | str = DEFAULT_SQL_DIR,
    *,
    dry_run: bool = False,
    options: Options = DEFAULT_OPTIONS,
) -> list:
    """Accept the files on disk as what was applied (Flyway's ``repair``): record the
    current checksums of every applied version whose up or rollback file changed since,
    after a deliberate edit such as a corrected comment; returns that drift (``Drift``).

    Under the migration lock, in one transaction, with a line in yoyo's log per version.
    The files must parse, as they would have to before being applied. A version renamed
    or missing from disk is not mended by a checksum: ``DriftError`` names it and nothing
    changes. A dry run reads only and takes no lock.
    """
    from runner import lock, plan, recorder

    chain = loader.load(sql_dir)
    with database.connect(url) as conn:
        held = (
            contextlib.nullcontext()
            if dry_run
            else lock.held(conn, options.timeouts.wait_ms, options.on_wait, options.pool_mode)
        )
        with held:
            if not dry_run:
                _fence_yoyo(conn, options, recorder.locate(conn), create=False)
            state = plan.read_state(conn, chain)
            drift = state.drift
            lost = [d for d in drift if d.kind != "changed"]
            if lost:
                more = and_more(lost)
                raise DriftError(
                    f"drift: {lost[0].message}{more}; repair records the contents of files that"
                    " changed, nothing else: restore the file (or its name) first;"
                    " nothing was changed"
                )
            versions = [chain.get(d.number) for d in drift]
            plan.Plan(tuple(plan.Step(v, "up") for v in versions)).parse()
            if not dry_run:
                with conn.transaction():
                    for found, version in zip(drift, versions, strict=True):
                        recorder.record_checksums(
                            conn, state.books, version, f"liftdb repair: {found.reason}"
                        )
    return drift


# --- baseline -------------------------------------------------------------------------


def baseline(
    url: str,
    sql_dir: Path | str,
    to: int | str,
    *,
    dry_run: bool = False,
    options: Options = DEFAULT_OPTIONS,
):
    """Record versions 1..``to`` as applied without running them (Flyway's ``baseline``),
    once the database's schema is checked to be the chain's at ``to`` (``runner.adopt``):
    for a restored database, or one made from sql/schema/schema.sql. Under the migration lock;
    a dry run checks and records nothing. Returns an ``adopt.Adopted``."""
    from runner import adopt, lock, plan, recorder

    chain = loader.load(sql_dir)
    to = plan.resolve(chain, to)
    with (
        database.connect(url) as conn,
        lock.held(conn, options.timeouts.wait_ms, options.on_wait, options.pool_mode),
    ):
        _fence_yoyo(conn, options, recorder.locate(conn), create=not dry_run)
        state = plan.read_state(conn, chain)
        state.refuse_if_interrupted("baselining")
        ours = set(state.applied)
        past = max(ours, default=0)
        if past > to:
            raise UsageError(
                f"{database.mask(url)} is already at version {past}, past {to}:"
                " baseline records only versions not yet applied"
            )
        to_mark = [n for n in range(1, to + 1) if n not in ours]
        if to_mark:
            adopt.check_schema(conn, url, sql_dir, to)
            if not dry_run:
                adopt.record(conn, chain, to_mark)
    return adopt.Adopted(marked=tuple(to_mark), version=to)


# --- new ------------------------------------------------------------------------------

UP_TEMPLATE = """\
-- {label}: say what this version changes, and why.
--
-- Leading comment directives (this block only), when needed:
--   -- transactional: false     run outside a transaction (CREATE INDEX CONCURRENTLY)
--   -- lock_timeout: 5s         give up waiting for a table lock after this long
--   -- statement_timeout: 1min  cancel any statement running longer
--   -- lock_retries: 0          after a lock timeout, never try again (default: 20 times)
--   -- empty: true              a version that runs no statement, on purpose

"""

ROLLBACK_TEMPLATE = """\
-- {label}: undo exactly what {label}.sql does, in reverse order.

"""


def new(sql_dir: Path | str, name: str) -> tuple[Path, Path]:
    """Create the next numbered up/rollback pair from the templates; returns both paths.

    Raises ``UsageError`` for a name not in snake_case, ``LayoutError`` when the pair
    exists or the filesystem refuses it (a name too long, no permission), having written
    neither file."""
    directory = Path(sql_dir)
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise UsageError(f"name {name!r} must be snake_case: lower-case letters, digits and _")
    try:
        directory.mkdir(parents=True, exist_ok=True)  # the first version of a new chain
    except OSError as exc:
        raise LayoutError(f"{directory}: cannot create the folder: {exc.strerror}") from None
    chain = loader.load(directory)
    label = f"{chain.head + 1:0{loader.NUMBER_WIDTH}d}_{name}"
    up, down = directory / f"{label}.sql", directory / f"{label}.rollback.sql"
    written: list[Path] = []
    try:
        for path in (up, down):
            if path.exists():
                raise LayoutError(f"{path}: already exists")
        for path, template in ((up, UP_TEMPLATE), (down, ROLLBACK_TEMPLATE)):
            with path.open("x") as file:  # "x": never over a file made meanwhile
                written.append(path)
                file.write(template.format(label=label))
    except OSError as exc:
        for path in written:
            path.unlink(missing_ok=True)
        shown = str(exc.filename or label)
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        raise LayoutError(f"{shown}: cannot write it: {exc.strerror}") from None
    return up, down


# --- the embedded server --------------------------------------------------------------


def db_start() -> str:
    """Start the embedded server if needed; its URL."""
    from runner import embedded

    return embedded.ensure_running()


def db_stop() -> bool:
    """Stop the embedded server; False if it was not running."""
    from runner import embedded

    return embedded.stop()


def db_url(source: database.Source) -> str | None:
    """The URL ``source`` names; for the embedded server, its URL if it runs, else None.
    Starts nothing."""
    from runner import embedded

    return embedded.running_url() if source.embedded else source.url


def db_wait(url: str, timeout_ms: int, pause_s: float = 0.2) -> float:
    """Wait until the server at ``url`` accepts connections (for CI and containers), as
    libpq's ``PQping`` (pg_isready) says, then log in once; returns the seconds waited.
    A server that answers but refuses us (a password, a database that does not exist) is
    not waited for: ``ConnectionFailed`` at once, as after ``timeout_ms`` (0: ask once)
    naming the last reason; a URL libpq cannot read is a ``UsageError``."""
    import time

    import psycopg
    from psycopg import pq
    from psycopg.conninfo import make_conninfo

    started = time.monotonic()
    try:
        probe = make_conninfo(url, connect_timeout=2).encode()
    except psycopg.ProgrammingError:
        database.connect(url)  # raises the one-line usage error for a malformed URL
        raise
    while True:
        answer = pq.PGconn.ping(probe)
        if answer in (pq.Ping.OK, pq.Ping.NO_ATTEMPT):
            with database.connect(url):  # the login, or one line saying why not
                return time.monotonic() - started
        if time.monotonic() - started + pause_s > timeout_ms / 1000:
            try:
                database.connect(url).close()
            except ConnectionFailed as exc:
                reason = exc.message.partition(f"{database.mask(url)}: ")[2] or exc.message
            else:
                return time.monotonic() - started  # it came up at the last moment
            raise ConnectionFailed(
                f"cannot connect to {database.mask(url)} after waiting"
                f" {timeout_ms / 1000:g} s: {reason}"
            )
        time.sleep(pause_s)


def db_create(url: str) -> bool:
    """Create the database ``url`` names, on its server (connected to through its
    maintenance database); False if it already exists."""
    return _create_or_drop(url, create=True)


def db_drop(url: str) -> bool:
    """Drop the database ``url`` names (refused by the server while others are connected
    to it); False if it does not exist."""
    return _create_or_drop(url, create=False)


def _create_or_drop(url: str, *, create: bool) -> bool:
    import psycopg
    from psycopg import sql

    name = database.database_name(url)
    with _maintenance_connection(url, name) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if bool(exists) == create:
            return False
        verb = "CREATE" if create else "DROP"
        try:
            conn.execute(sql.SQL(verb + " DATABASE {}").format(sql.Identifier(name)))
        except psycopg.Error as exc:
            what = " ".join(str(exc).split())
            raise MigrationFailed(f"cannot {verb.lower()} database {name}: {what}") from None
    return True


def _maintenance_connection(url: str, name: str):
    """A connection to the server of ``url`` through its ``postgres`` database, else (it
    was dropped, or it is ``name`` itself) ``template1``, as createdb and dropdb connect;
    ``ConnectionFailed`` naming ``postgres`` when neither can be reached."""
    if name != "postgres":
        try:
            return database.connect(database.with_database(url, "postgres"))
        except ConnectionFailed as first:
            try:
                return database.connect(database.with_database(url, "template1"))
            except ConnectionFailed:
                raise first from None
    return database.connect(database.with_database(url, "template1"))


def psql_command(url: str) -> tuple[list[str], dict[str, str]]:
    """The argv and environment to run psql on ``url``; the password goes in the
    environment (PGPASSWORD), never on the command line where ``ps`` shows it, wherever
    the URL held it (its user part or its query). The rest is libpq's own reading of the
    URL, given to psql as a connection string."""
    import os
    import shutil

    from psycopg.conninfo import make_conninfo

    from runner import embedded

    options = database.libpq_options(url)
    env = dict(os.environ)
    password = options.pop("password", None)
    if password is not None:
        env["PGPASSWORD"] = password
    bundled = embedded.bin_dir() / "psql" if embedded.is_running() else None
    psql = str(bundled) if bundled and bundled.exists() else shutil.which("psql")
    if psql is None:
        raise UsageError(
            "psql not found: install the PostgreSQL client, or start the embedded server"
        )
    conninfo = make_conninfo(**options)  # empty when libpq's environment says it all
    return [psql, *([conninfo] if conninfo else [])], env


# --- lint --trace ---------------------------------------------------------------------


def lint_trace(
    url: str,
    paths: Sequence[Path] = (),
    sql_dir: Path | str = DEFAULT_SQL_DIR,
    *,
    rows: int | None = None,
):
    """Trace versions on a scratch database of the server at ``url`` (``runner.trace``):
    the up files among ``paths``, else the versions pending in that database, of the chain
    in the one folder ``paths`` name (default ``sql_dir``). Returns ``(Trace, lint Result)``;
    raises ``UsageError`` for paths in several folders or that are not up files."""
    from runner import trace

    folders = {p if p.is_dir() else p.parent for p in map(Path, paths)}
    if len(folders) > 1:
        raise UsageError(f"--trace runs one chain: {', '.join(sorted(map(str, folders)))}")
    folder = folders.pop() if folders else Path(sql_dir)
    files = [p for p in map(Path, paths) if not p.is_dir()]
    traced, result = trace.trace(url, folder, files, trace.DEFAULT_ROWS if rows is None else rows)
    if files:  # as `lint FILE`: the chain is read whole, the files' findings shown
        from runner.lint.check import display

        shown = {display(path) for path in files}
        result.findings = [f for f in result.findings if f.path in shown]
    return traced, result


# --- lint, the schema file, goose: the library calls behind those commands -------------


def lint(paths: Sequence[Path] = (), sql_dir: Path | str = DEFAULT_SQL_DIR) -> list:
    """Lint the chains ``paths`` name (folders, or files in one: the whole chain is read
    and only those files' findings kept), default ``sql_dir``; no database. Returns the
    findings (``runner.lint.findings.Finding``), in order."""
    from runner.lint import check

    findings: list = []
    for folder, only in check.targets(tuple(paths) or (Path(sql_dir),)):
        findings += check.lint(folder, only=only).findings
    return findings


def dump_schema(
    url: str, sql_dir: Path | str, output: Path | str | None = None, *, check: bool = False
) -> tuple[Path, bool]:
    """Write the chain's schema (applied to a scratch database of ``url``'s server) to
    ``output`` (default sql/schema/schema.sql); returns ``(path, changed)``. With
    ``check``, write nothing and raise ``Mismatch`` when the file is out of date."""
    from runner import dump

    target = Path(output) if output is not None else dump.default_output(sql_dir)
    if check:
        dump.check(url, sql_dir, target)
        return target, False
    return target, dump.write(url, sql_dir, target)


def dump_schema_text(url: str, sql_dir: Path | str) -> str:
    """The schema file's text, for stdout."""
    from runner import dump

    return dump.render(url, sql_dir)


def goose_export(sql_dir: Path | str, goose_dir: Path | str) -> list[Path]:
    """Write the chain as goose files into ``goose_dir``; the paths written."""
    from runner import goose

    return goose.export(sql_dir, goose_dir)


def goose_check(goose_dir: Path | str, sql_dir: Path | str):
    """Compare a goose folder with the chain (``goose.CheckResult``; ``Mismatch`` at the
    first difference)."""
    from runner import goose

    return goose.check(goose_dir, sql_dir)


def goose_import(goose_dir: Path | str, sql_dir: Path | str):
    """Turn a goose folder into up/rollback files in ``sql_dir`` (``goose.Imported``)."""
    from runner import goose

    return goose.import_folder(goose_dir, sql_dir)


def goose_adopt(url: str, sql_dir: Path | str, options: Options = DEFAULT_OPTIONS):
    """Record as applied what goose_db_version says goose applied, once the schema is
    checked (``adopt.Adopted``)."""
    from runner import goose

    return goose.adopt(
        url, sql_dir, options.timeouts.wait_ms, options.pool_mode, on_wait=options.on_wait
    )
