"""Many databases, one command: the targets, their plan, the scheduler and the report.

Invariant: every target of the plan (targets ordered by name, then the shard taken) ends
with exactly one ``Record``, in the plan's order. Each database is worked on by
``runner.api``'s own per-database functions, on a connection of its own and under its
own migration lock, in threads of this one process; the chain is read, parsed and
checked once, before any target starts. A target starts only while the canary, the
failure budget and the caller's stop allow it; once started it runs to its end, or, on
a stop, to the end of the version it is running. URLs leave this module only masked.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import threading
import time
import tomllib
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from runner import api, database, loader
from runner.errors import (
    EXIT_DRIFT,
    EXIT_ERROR,
    EXIT_LOCK_TIMEOUT,
    EXIT_OK,
    EXIT_PENDING,
    LiftdbError,
    UsageError,
)

DEFAULT_JOBS = 4
TICK_S = 0.2  # how often a waiting scheduler reports progress
TARGET_KEYS = ("name", "url", "url_env", "tags")
# Databases a --databases pattern never names: templates, and those an interrupted DROP
# DATABASE left invalid (datconnlimit -2, PostgreSQL 15.4 and later), which refuse
# connections. pg_database's names sort in "C" order, as Python sorts strings.
LIST_DATABASES = """
SELECT datname FROM pg_catalog.pg_database
WHERE datname LIKE %s AND NOT datistemplate AND datconnlimit <> -2
ORDER BY datname
"""

# How a target ended.
SUCCEEDED = "succeeded"
FAILED = "failed"
SKIPPED = "skipped"  # never started: the canary, the failure budget or a stop held it back
INTERRUPTED = "interrupted"  # stopped between versions, its earlier versions kept
ABANDONED = "abandoned"  # still running at a second interrupt: the server rolls it back

# Why targets were held back, besides the canary and the budget.
HALT_INTERRUPTED = "interrupted"
HALT_ABANDONED = "interrupted twice: the targets still running were abandoned"
ABANDONED_ERROR = (
    "abandoned while running: what it had not committed is rolled back by the server;"
    " `liftdb fleet status` shows where it stands"
)


# --- targets ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One database of the fleet: a name for people and a URL that is never shown whole."""

    name: str
    url: str = field(repr=False)
    tags: tuple[str, ...] = ()
    origin: str = ""  # where it was declared: "fleet.toml:12", or the masked --server URL

    @property
    def database(self) -> str:
        """The URL, password masked."""
        return database.mask(self.url)


@dataclass(frozen=True)
class Shard:
    """The ``index``-th (from 1) of ``count`` contiguous slices of the ordered targets."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
        if not match:
            raise UsageError(f"--shard {text!r}: give I/N, the I-th of N slices (1/4 .. 4/4)")
        index, count = int(match[1]), int(match[2])
        if not 1 <= index <= count:
            raise UsageError(f"--shard {text}: I must be between 1 and N ({count})")
        return cls(index, count)

    def take(self, targets: Sequence[Target]) -> list[Target]:
        """Slices that differ in size by one at most, together every target exactly once."""
        total = len(targets)
        start = (self.index - 1) * total // self.count
        end = self.index * total // self.count
        return list(targets[start:end])


def plan_targets(
    *,
    file: Path | None = None,
    servers: Sequence[str] = (),
    pattern: str | None = None,
    tags: Sequence[str] = (),
    shard: Shard | str | None = None,
    environ: Mapping[str, str] = os.environ,
) -> list[Target]:
    """The targets a fleet command works on, in order: those of ``file`` and every
    database of ``servers`` whose name is LIKE ``pattern``, having every tag of ``tags``,
    sorted by name, then the ``shard`` taken.

    Raises ``UsageError`` (exit 2) for a file or a selection that cannot be used, naming
    the file and line, before any database is touched; ``ConnectionFailed`` when a server
    cannot be listed.
    """
    if file is None and not servers:
        raise UsageError("no targets: give --targets FILE, or --databases PATTERN (on --server)")
    if servers and pattern is None:
        raise UsageError("--server needs --databases PATTERN: which of its databases to use")
    if isinstance(shard, str):
        shard = Shard.parse(shard)
    found = read_targets_file(file, environ) if file is not None else []
    if servers:
        found += discover(servers, pattern or "")
    _refuse_duplicates(found)
    if not found:
        where = str(file) if file is not None else ", ".join(database.mask(s) for s in servers)
        raise UsageError(f"no targets: {where} names no database" + _matching(pattern))
    chosen = [t for t in found if set(tags) <= set(t.tags)]
    if not chosen:
        raise UsageError(f"no target has every tag of: {', '.join(tags)}")
    chosen.sort(key=lambda t: t.name)
    return shard.take(chosen) if shard is not None else chosen


def _matching(pattern: str | None) -> str:
    return f" matching {pattern!r}" if pattern is not None else ""


def read_targets_file(path: Path, environ: Mapping[str, str] = os.environ) -> list[Target]:
    """The ``[[target]]`` tables of a TOML file: ``name``, ``url`` or ``url_env`` (the
    name of an environment variable holding the URL, so that the file holds no password),
    optional ``tags``. Raises ``UsageError`` naming ``file:line`` for anything else."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not valid UTF-8") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(_toml_error(path, str(exc))) from None
    unknown = sorted(set(document) - {"target"})
    if unknown:
        raise UsageError(
            f"{path}: unknown key {unknown[0]!r}: a fleet file holds [[target]] tables only"
        )
    entries = document.get("target", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise UsageError(f"{path}: 'target' must be [[target]] tables")
    lines = [n for n, line in enumerate(text.splitlines(), 1) if TABLE_HEADER.match(line)]
    if len(lines) != len(entries):  # written as an inline array: no line per target
        lines = []
    targets = []
    for number, entry in enumerate(entries, start=1):
        where = f"{path}:{lines[number - 1]}" if lines else f"{path}: target {number}"
        targets.append(replace(_target(entry, where, environ), origin=where))
    return targets


TABLE_HEADER = re.compile(r"^\s*\[\[\s*target\s*\]\]")
TOML_POSITION = re.compile(r"^(?P<message>.*) \(at line (?P<line>\d+), column (?P<col>\d+)\)$")


def _toml_error(path: Path, message: str) -> str:
    match = TOML_POSITION.match(message)
    if match:
        return f"{path}:{match['line']}:{match['col']}: {match['message']}"
    return f"{path}: {message}"


def _target(entry: dict, where: str, environ: Mapping[str, str]) -> Target:
    name = entry.get("name")
    if not isinstance(name, str) or not name:
        raise UsageError(f"{where}: a target needs a name (a string)")
    if any(c.isspace() or not c.isprintable() for c in name):
        raise UsageError(f"{where}: target name {name!r} holds a space or a control character")
    where = f"{where}: target {name}"
    unknown = sorted(set(entry) - set(TARGET_KEYS))
    if unknown:
        raise UsageError(
            f"{where}: unknown key {unknown[0]!r} (a target has {', '.join(TARGET_KEYS)})"
        )
    tags = entry.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
        raise UsageError(f"{where}: tags must be a list of strings")
    if ("url" in entry) == ("url_env" in entry):
        raise UsageError(f"{where}: give one of url and url_env")
    if "url" in entry:
        url = entry["url"]
        if not isinstance(url, str) or not url:
            raise UsageError(f"{where}: url must be a URL (a string)")
    else:
        variable = entry["url_env"]
        if not isinstance(variable, str) or not variable:
            raise UsageError(f"{where}: url_env must name an environment variable")
        url = environ.get(variable, "")
        if not url:
            raise UsageError(f"{where}: environment variable {variable} is not set")
    try:
        database.resolve_url(url)
    except UsageError as exc:
        raise UsageError(f"{where}: {exc.message}") from None
    return Target(name, url, tuple(tags))


def discover(servers: Sequence[str], pattern: str) -> list[Target]:
    """Every database of each server whose name is LIKE ``pattern`` (templates excluded),
    named by its own name; by ``host:port/name`` when there are several servers."""
    qualify = len(servers) > 1
    targets = []
    for server in servers:
        database.resolve_url(server)
        with database.connect(server) as conn:
            names = [name for (name,) in conn.execute(LIST_DATABASES, (pattern,))]
        label = database.server_label(server) if qualify else ""
        for name in names:
            # A database name may hold a newline; a target's name is shown on one line.
            shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in name)
            shown = f"{label}/{shown}" if qualify else shown
            url = database.with_database(server, name)
            targets.append(Target(shown, url, (), database.mask(server)))
    return targets


def _refuse_duplicates(targets: Sequence[Target]) -> None:
    """One database, one target: two names for one database would run it twice at once
    (the second waiting on the first's lock), and a name must say which database it is."""
    names: dict[str, Target] = {}
    places: dict[tuple[str, str, str], Target] = {}
    for target in targets:
        if target.name in names:
            first = names[target.name].origin
            raise UsageError(f"{target.origin}: target name {target.name!r} is also at {first}")
        names[target.name] = target
        place = database.address(target.url)
        if place in places:
            raise UsageError(
                f"targets {places[place].name} and {target.name} name the same database"
                f" ({place[2]} on {place[0]}:{place[1]}); list each database once"
            )
        places[place] = target


# --- what happened to each target -------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """How one target ended: the versions before and after (None when never read), what
    ran, and the one-line error with its exit code if it failed."""

    target: Target
    outcome: str  # SUCCEEDED, FAILED, SKIPPED, INTERRUPTED or ABANDONED
    before: int | None = None
    after: int | None = None
    done: tuple = ()  # executor.Done, in order
    planned: int = 0  # versions the target's plan held
    duration_ms: int = 0
    error: str | None = None
    exit_code: int = EXIT_OK
    canary: bool = False
    status: api.Status | None = None  # fleet status and verify

    @property
    def failed(self) -> bool:
        return self.outcome in (FAILED, ABANDONED)

    @property
    def spends_budget(self) -> bool:
        """A failure counted against --max-failures: any but a lock timeout, which says
        another runner is at work there, changed nothing, and is worth a retry."""
        return self.outcome == FAILED and self.exit_code != EXIT_LOCK_TIMEOUT


@dataclass(frozen=True)
class Progress:
    """Where a fleet run is, for a live progress line."""

    total: int
    finished: int
    failed: int
    running: int
    elapsed_s: float

    @property
    def remaining_s(self) -> float | None:
        """An estimate from the rate so far; None before the first target finished."""
        if not self.finished or self.finished >= self.total:
            return None
        return self.elapsed_s / self.finished * (self.total - self.finished)


@dataclass(frozen=True)
class Events:
    """What the caller hears while a fleet runs; called in the caller's thread."""

    on_record: Callable[[Record], None] | None = None  # each target, as it ends
    on_progress: Callable[[Progress], None] | None = None  # at each record, and every tick
    on_halt: Callable[[str, int], None] | None = None  # why no target starts, how many run


NO_EVENTS = Events()


@dataclass(frozen=True)
class Report:
    """A fleet command's outcome: a record per target, in the plan's order."""

    command: str  # "migrate", "rollback", "status" or "verify"
    records: tuple[Record, ...]
    halted: str | None  # why targets were left unstarted, if any were held back
    elapsed_s: float
    dry_run: bool = False

    def count(self, outcome: str) -> int:
        return sum(r.outcome == outcome for r in self.records)

    @property
    def failed(self) -> list[Record]:
        return [r for r in self.records if r.failed]

    def versions(self, when: str) -> Counter:
        """How many targets stood at each version ``before`` or ``after``; None: unknown."""
        return Counter(getattr(r, when) for r in self.records if r.outcome != SKIPPED)

    def exit_code(self, *, gate_pending: bool = False, allow_drift: bool = False) -> int:
        """migrate, rollback: 0 when every target succeeded; 5 when the only failures were
        lock timeouts; else 1 (a failure, a target not started or stopped part-way).
        status: 1 when a target could not be read; else 4 on drift (unless allowed); else,
        with ``gate_pending``, 3 when a target is behind; else 0. verify: 1 when a target
        could not be read, else 4 on drift, else 0."""
        if self.command in ("status", "verify"):
            unread = [r for r in self.records if r.status is None and r.exit_code != EXIT_DRIFT]
            if unread:
                return EXIT_ERROR
            if self.command == "verify":
                return EXIT_DRIFT if any(r.failed for r in self.records) else EXIT_OK
            codes = {
                r.status.exit_code(gate_pending=gate_pending, allow_drift=allow_drift)
                for r in self.records
            }
            for code in (EXIT_DRIFT, EXIT_PENDING):
                if code in codes:
                    return code
            return EXIT_OK
        failed = self.failed
        if failed:
            if all(r.exit_code == EXIT_LOCK_TIMEOUT for r in failed):
                return EXIT_LOCK_TIMEOUT
            return EXIT_ERROR
        if any(r.outcome != SUCCEEDED for r in self.records):
            return EXIT_ERROR
        return EXIT_OK


# --- the scheduler ----------------------------------------------------------------------


def schedule(
    targets: Sequence[Target],
    work: Callable[[Target, bool], Record],
    *,
    jobs: int = DEFAULT_JOBS,
    canary: int = 0,
    max_failures: int | None = 0,
    stop: Callable[[], bool] | None = None,
    events: Events = NO_EVENTS,
    tick_s: float = TICK_S,
    abandon: Callable[[Target, bool], Record] | None = None,
) -> tuple[tuple[Record, ...], str | None, float]:
    """Run ``work(target, is_canary)`` for each target, ``jobs`` at a time, each in a
    thread of its own; returns the records (in the targets' order), why targets were held
    back (or None), and the seconds it took.

    The first ``canary`` targets run alone, one after another, before any other starts;
    if one fails, nothing else starts. Once more than ``max_failures`` targets failed
    (lock timeouts aside), no new target starts; those running finish. When ``stop()``
    turns true, no new target starts either. A ``KeyboardInterrupt`` here (a second
    interrupt) abandons the targets still running: their threads are left to the
    process's exit, and the server rolls back what they had not committed;
    ``abandon(target, is_canary)`` says what is known of each (its record, ABANDONED).
    """
    if jobs < 1:
        raise UsageError(f"--jobs must be 1 or more, not {jobs}")
    began = time.monotonic()
    finished: queue.Queue = queue.Queue()
    records: list[Record | None] = [None] * len(targets)
    running: set[int] = set()
    started = 0
    spent = 0
    halted: str | None = None

    def launch(index: int) -> None:
        target, is_canary = targets[index], index < canary

        def body() -> None:
            try:
                record = work(target, is_canary)
            except BaseException as exc:  # a bug: this target's failure, never a hung run
                record = Record(
                    target,
                    FAILED,
                    error=f"internal error: {type(exc).__name__}: {exc}",
                    exit_code=EXIT_ERROR,
                    canary=is_canary,
                )
            finished.put((index, record))

        running.add(index)
        threading.Thread(target=body, name=f"liftdb-fleet-{index}", daemon=True).start()

    def may_start(index: int) -> bool:
        if index < canary or any(i < canary for i in running):
            return not running  # a canary runs alone, and alone is how it ends
        return len(running) < jobs

    def progress() -> None:
        if events.on_progress is not None:
            done = sum(r is not None for r in records)
            failed = sum(r is not None and r.failed for r in records)
            elapsed = time.monotonic() - began
            events.on_progress(Progress(len(targets), done, failed, len(running), elapsed))

    def halt(reason: str) -> None:
        nonlocal halted
        halted = reason
        if events.on_halt is not None and started < len(targets):
            events.on_halt(reason, len(running))

    try:
        while True:
            if halted is None and stop is not None and stop():
                halt(HALT_INTERRUPTED)
            while halted is None and started < len(targets) and may_start(started):
                launch(started)
                started += 1
            if not running:
                break
            try:
                index, record = finished.get(timeout=tick_s)
            except queue.Empty:
                progress()
                continue
            running.discard(index)
            records[index] = record
            if events.on_record is not None:
                events.on_record(record)
            if halted is None and record.failed and record.canary:
                halt(f"the canary {record.target.name} failed")
            elif halted is None and record.spends_budget and max_failures is not None:
                spent += 1
                if spent > max_failures:
                    halt(
                        f"more than {max_failures} target(s) failed (--max-failures {max_failures})"
                    )
            progress()
    except KeyboardInterrupt:
        halted = HALT_ABANDONED
    final = []
    for index, target in enumerate(targets):
        record = records[index]
        if record is None and index < started:
            if abandon is not None:
                record = abandon(target, index < canary)
            else:
                record = Record(
                    target, ABANDONED, error=ABANDONED_ERROR, exit_code=EXIT_ERROR,
                    canary=index < canary,
                )  # fmt: skip
            if events.on_record is not None:
                events.on_record(record)
        elif record is None:
            record = Record(target, SKIPPED, canary=index < canary)
        final.append(record)
    return tuple(final), halted, time.monotonic() - began


@contextmanager
def stop_on_sigint() -> Iterator[threading.Event]:
    """An event the first SIGINT (Ctrl-C) sets, so a fleet starts nothing new and lets
    each running version end; a second SIGINT raises ``KeyboardInterrupt`` as usual.
    Only the main thread can take signals: elsewhere the event is only set by hand."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum, frame) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


# --- the commands -----------------------------------------------------------------------


class _Watch:
    """What ``api`` tells of one target's run as it goes (from that target's thread)."""

    def __init__(self) -> None:
        self.state = None
        self.plan = None
        self.done: list = []

    def on_plan(self, state, plan) -> None:
        self.state, self.plan = state, plan

    def on_done(self, done) -> None:
        self.done.append(done)

    def record(
        self, target: Target, canary: bool, began: float, done=None, error=None, outcome=None
    ) -> Record:
        """The target's record: from what ``api`` returned (``done``), or raised
        (``error``), or, for a target abandoned while running, from what it told so far."""
        done = tuple(self.done if done is None else done)
        before = after = None
        if self.state is not None:
            applied = set(self.state.applied)
            before = max(applied, default=0)
            for step in done:
                (applied.add if step.direction == "up" else applied.discard)(step.number)
            after = max(applied, default=0)
        planned = len(self.plan) if self.plan is not None else 0
        if error is not None:
            outcome, message, code = outcome or FAILED, error.message, error.exit_code
        else:
            outcome = INTERRUPTED if len(done) < planned else SUCCEEDED
            message, code = None, EXIT_OK
        took = round((time.perf_counter() - began) * 1000)
        return Record(target, outcome, before, after, done, planned, took, message, code, canary)


def _failure(exc: Exception) -> LiftdbError:
    """A target's failure as the CLI reports one: a ``LiftdbError`` as it is, a psycopg
    error as one line; anything else is a bug, and is raised."""
    if isinstance(exc, LiftdbError):
        return exc
    if type(exc).__module__.startswith("psycopg"):
        return LiftdbError(f"database error: {' '.join(str(exc).split())}")
    raise exc


def migrate(
    targets: Sequence[Target],
    sql_dir: Path | str = api.DEFAULT_SQL_DIR,
    *,
    to: int | None = None,
    dry_run: bool = False,
    jobs: int = DEFAULT_JOBS,
    canary: int = 0,
    max_failures: int = 0,
    options: api.Options = api.DEFAULT_OPTIONS,
    stop: threading.Event | None = None,
    events: Events = NO_EVENTS,
) -> Report:
    """``api.migrate`` on every target, up to ``to``: the chain is read and every file up
    to ``to`` parsed once, first (``LayoutError`` before any target starts)."""
    from runner import plan

    chain = loader.load(sql_dir)
    top = chain.head if to is None else plan.resolve(chain, to, allow_zero=True)
    plan.Plan(tuple(plan.Step(v, "up") for v in chain if v.number <= top)).parse()

    def call(target: Target, watched: api.Options) -> list:
        return api.migrate(target.url, chain, to=to, dry_run=dry_run, options=watched)

    return _run(
        "migrate", targets, call, dry_run, jobs, canary, max_failures, options, stop, events
    )


def rollback(
    targets: Sequence[Target],
    sql_dir: Path | str = api.DEFAULT_SQL_DIR,
    *,
    to: int,
    yes: bool = False,
    dry_run: bool = False,
    jobs: int = DEFAULT_JOBS,
    canary: int = 0,
    max_failures: int = 0,
    options: api.Options = api.DEFAULT_OPTIONS,
    stop: threading.Event | None = None,
    events: Events = NO_EVENTS,
) -> Report:
    """``api.rollback --to`` on every target. Nothing is asked: without ``yes``, a target
    whose rollback would drop tables holding rows is refused (changing nothing there)."""
    from runner import plan

    chain = loader.load(sql_dir)
    to = plan.resolve(chain, to, allow_zero=True)
    plan.Plan(tuple(plan.Step(v, "down") for v in chain if v.number > to)).parse()
    confirm = None if yes else (lambda question: False)

    def call(target: Target, watched: api.Options) -> list:
        return api.rollback(
            target.url, chain, to=to, dry_run=dry_run, options=watched, confirm=confirm
        )

    return _run(
        "rollback", targets, call, dry_run, jobs, canary, max_failures, options, stop, events
    )


def _run(command, targets, call, dry_run, jobs, canary, max_failures, options, stop, events):
    """Schedule ``call(target, options)`` (api.migrate or api.rollback) on every target,
    with options that watch each run and end it between versions once ``stop`` is set."""
    stopped = stop.is_set if stop is not None else None
    watches: dict[str, tuple[_Watch, float]] = {}

    def work(target: Target, is_canary: bool) -> Record:
        watch = _Watch()
        watched = options._replace(
            on_wait=None, on_done=watch.on_done, on_plan=watch.on_plan, stop=stopped,
            on_progress=None,  # one status line cannot follow many targets: fleet has its own
        )  # fmt: skip
        began = time.perf_counter()
        watches[target.name] = (watch, began)
        try:
            done = call(target, watched)
        except Exception as exc:
            return watch.record(target, is_canary, began, error=_failure(exc))
        return watch.record(target, is_canary, began, done=done)

    def abandon(target: Target, is_canary: bool) -> Record:
        watch, began = watches.get(target.name, (_Watch(), time.perf_counter()))
        error = LiftdbError(ABANDONED_ERROR)
        return watch.record(target, is_canary, began, error=error, outcome=ABANDONED)

    records, halted, elapsed = schedule(
        targets,
        work,
        jobs=jobs,
        canary=canary,
        max_failures=max_failures,
        stop=stopped,
        events=events,
        abandon=abandon,
    )
    return Report(command, records, halted, elapsed, dry_run)


def status(
    targets: Sequence[Target],
    sql_dir: Path | str = api.DEFAULT_SQL_DIR,
    *,
    jobs: int = DEFAULT_JOBS,
    stop: threading.Event | None = None,
    events: Events = NO_EVENTS,
) -> Report:
    """``api.status`` of every target: reads only."""
    return _read("status", targets, sql_dir, jobs, stop, events)


def verify(
    targets: Sequence[Target],
    sql_dir: Path | str = api.DEFAULT_SQL_DIR,
    *,
    jobs: int = DEFAULT_JOBS,
    stop: threading.Event | None = None,
    events: Events = NO_EVENTS,
) -> Report:
    """``api.verify`` of every target: a drifted one fails with exit code 4."""
    return _read("verify", targets, sql_dir, jobs, stop, events)


def _read(command, targets, sql_dir, jobs, stop, events) -> Report:
    chain = loader.load(sql_dir)
    read = api.status if command == "status" else api.verify

    def work(target: Target, is_canary: bool) -> Record:
        began = time.perf_counter()
        try:
            report = read(target.url, chain)
        except Exception as exc:
            error = _failure(exc)
            took = round((time.perf_counter() - began) * 1000)
            return Record(
                target, FAILED, duration_ms=took, error=error.message, exit_code=error.exit_code
            )
        head = max((v.number for v in report.versions if v.state == "applied"), default=0)
        took = round((time.perf_counter() - began) * 1000)
        return Record(target, SUCCEEDED, head, head, duration_ms=took, status=report)

    stopped = stop.is_set if stop is not None else None
    records, halted, elapsed = schedule(
        targets, work, jobs=jobs, max_failures=None, stop=stopped, events=events
    )
    return Report(command, records, halted, elapsed)
