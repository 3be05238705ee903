"""What a run will do: the chain on disk compared with what the database recorded.

Invariant: a ``Plan`` is only built from a ``State`` that passed its checks (no
drift, which includes a version applied but missing from disk, unless allowed;
for a migration, no pending version older than an applied one), and every file
it will execute, up or rollback, has been parsed by PostgreSQL's own parser and
its directives read; so a run that starts never stops on a problem that could
have been seen before it started.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from runner import recorder
from runner.errors import DriftError, LayoutError, UsageError, and_more
from runner.loader import NUMBER_WIDTH, Chain, SqlFile, Value, Version

if TYPE_CHECKING:
    from runner import lock, sqltree

# Statements that begin, end or split a transaction (PostgreSQL's TransactionStmt).
TRANSACTION_CONTROL = re.compile(
    r"^\s*(begin|start\s+transaction|commit|end|rollback|abort|savepoint|release|prepare\s+transaction)\b",
    re.IGNORECASE,
)


class Drift(NamedTuple):
    """An applied version whose files changed on disk, or that is no longer on disk."""

    number: int
    label: str
    reason: str  # one line, naming the file
    kind: str = "changed"  # "changed" (contents), "renamed" or "missing" (from disk)

    @property
    def message(self) -> str:
        return f"{self.label}: {self.reason}"


# Where a person finds an interrupted version's progress (liftdb_progress, in the schema
# the bookkeeping is in).
PROGRESS_NOTE = f"{recorder.PROGRESS_TABLE} (version, direction)"


class Interrupted(NamedTuple):
    """A non-transactional version a run started and did not finish, as its progress
    recorded it (name, statements done and their checksums, where it stopped), beside
    the version of that number on disk (None when there is none)."""

    record: recorder.Progress
    version: Version | None
    directory: Path

    @property
    def number(self) -> int:
        return self.record.number

    @property
    def direction(self) -> str:
        return self.record.direction

    @property
    def statements_done(self) -> int:
        return self.record.statements_done

    @property
    def statement_count(self) -> int:
        return self.record.statement_count

    @property
    def label(self) -> str:
        """The version that ran, from the bookkeeping (disk may have renamed it)."""
        return f"{self.number:0{NUMBER_WIDTH}d}_{self.record.name}"

    @property
    def file(self) -> SqlFile | None:
        """Its file on disk, if the version of that number on disk is the one that ran."""
        if self.version is None or self.version.name != self.record.name:
            return None
        return self.version.up if self.direction == "up" else self.version.rollback

    @property
    def path(self) -> Path:
        suffix = ".rollback.sql" if self.direction == "down" else ".sql"
        return self.file.path if self.file else self.directory / f"{self.label}{suffix}"

    @property
    def stopped_at(self) -> str:
        """``file:line`` of the statement that had not completed, as recorded when it
        stopped (else as the file on disk has it)."""
        line = self.record.next_line
        if line is None and self.file and self.statements_done < len(self.file.statements):
            line = self.file.statements[self.statements_done].line
        if line is None:
            return f"{self.path} (after its last statement)"
        return f"{self.path}:{line}"

    @property
    def note(self) -> str:
        return (
            f"stopped at {self.stopped_at}"
            f" ({self.statements_done} of {self.statement_count} statements done)"
        )

    @property
    def problem(self) -> str | None:
        """Why a resume cannot go ahead, naming the place; None when it can: the version
        on disk is the one that ran, still without a transaction, and its statements already
        done are unchanged."""
        if self.version is None:
            return f"{self.label}: interrupted, and missing from {self.directory}"
        if self.file is None:
            return f"{self.label}: interrupted under that name, but disk has {self.version.label}"
        done, recorded = self.statements_done, self.record.statement_sha256
        if self.unchecked:
            return (
                f"{self.path}: {done} statement(s) ran, recorded by a liftdb that kept no"
                " checksum of them, so a resume cannot be checked"
            )
        if done and self.file.transactional:
            return (
                f"{self.path}: is now transactional (its '-- transactional: false' is gone),"
                f" and a transaction would run the {done} statement(s) already done again"
            )
        statements = self.file.statements
        for index in range(done):
            if index >= len(statements):
                return (
                    f"{self.path}: holds {len(statements)} statement(s); the first {done} had run"
                )
            if recorder.statement_sha256(statements[index]) != recorded[index]:
                return (
                    f"{self.path}:{statements[index].line}: statement {index + 1}, one of the"
                    f" {done} that ran, has changed since"
                )
        return None

    @property
    def unchecked(self) -> bool:
        """Progress a liftdb that kept no statement checksums recorded: never resumable."""
        return len(self.record.statement_sha256) < self.statements_done

    def refusal(self) -> str:
        """The one line that refuses to resume it, and says what to do."""
        command = "migrate" if self.direction == "up" else "rollback"
        if self.unchecked:
            todo = (
                f"run its statements after the first {self.statements_done} by hand, then"
                f" delete its row from {PROGRESS_NOTE}"
            )
        else:
            todo = (
                f"restore what ran (the file and its name as they were), finish it with"
                f" `liftdb {command}`, then make the change in a new version"
            )
        return (
            f"refused: {self.label} stopped after {self.statements_done} of"
            f" {self.statement_count} statements, and a resume runs only those not done:"
            f" {self.problem}; {todo}; nothing was changed"
        )


class State(NamedTuple):
    """The chain beside the bookkeeping: applied, pending, drifted, out of order."""

    chain: Chain
    applied: dict[int, recorder.AppliedVersion]
    books: recorder.Bookkeeping = recorder.Bookkeeping(None)  # where the bookkeeping is
    interrupted: tuple[Interrupted, ...] = ()
    invalid_indexes: tuple[str, ...] = ()
    applied_by_yoyo: tuple[str, ...] = ()  # migration ids yoyo applied, without checksums
    server_version: int = 0  # the server's server_version_num (150008); 0: not known
    lock_holder: lock.Holder | None = None  # read only when asked for (``read_state``)

    @property
    def pending(self) -> list[Version]:
        return [v for v in self.chain if v.number not in self.applied]

    @property
    def head(self) -> int:
        """The newest applied version, 0 when none is."""
        return max(self.applied, default=0)

    @property
    def drift(self) -> list[Drift]:
        found = []
        for number, row in sorted(self.applied.items()):
            version = self.chain.get(number)
            label = f"{number:0{NUMBER_WIDTH}d}_{row.name}"
            if version is None:
                found.append(
                    Drift(
                        number, label, f"applied but missing from {self.chain.directory}", "missing"
                    )
                )
            elif version.name != row.name:
                found.append(
                    Drift(
                        number,
                        label,
                        f"applied under that name, but disk has {version.label}",
                        "renamed",
                    )
                )
            elif version.up.checksum != row.up_sha256.strip():
                found.append(
                    Drift(number, label, f"{version.up.path} changed since it was applied")
                )
            elif version.rollback.checksum != row.rollback_sha256.strip():
                found.append(
                    Drift(number, label, f"{version.rollback.path} changed since it was applied")
                )
        return found

    @property
    def out_of_order(self) -> list[Version]:
        """Pending versions older than an applied one (a merge from a parallel branch)."""
        return [v for v in self.pending if v.number < self.head]

    def interrupted_at(self, number: int, direction: str) -> Interrupted | None:
        return next(
            (i for i in self.interrupted if (i.number, i.direction) == (number, direction)),
            None,
        )

    def refuse_if_interrupted(self, command: str) -> None:
        """``UsageError`` if a version was interrupted: ``command`` (baseline, goose adopt)
        would record it applied, or record versions around it, with its progress untrue."""
        if self.interrupted:
            stop = self.interrupted[0]
            finish = "migrate" if stop.direction == "up" else "rollback"
            what = stop.label if stop.direction == "up" else f"the rollback of {stop.label}"
            raise UsageError(
                f"{what} stopped after {stop.statements_done} of {stop.statement_count}"
                f" statements: finish it with `liftdb {finish}` before {command};"
                " nothing was recorded"
            )

    @property
    def yoyo_head(self) -> int:
        """The newest version yoyo applied without liftdb, 0 when none."""
        return max((v.number for v in self.chain if v.label in self.applied_by_yoyo), default=0)

    def check(self, *, allow_drift: bool = False) -> None:
        """Refuse to run from a state with drift, unless it is allowed, or with versions
        yoyo applied that liftdb has not adopted (it would run them again)."""
        if self.applied_by_yoyo:
            raise UsageError(
                f"{self.applied_by_yoyo[0]}{and_more(self.applied_by_yoyo)} was applied by"
                " yoyo, which records no checksum: adopt it with"
                f" `liftdb baseline --to {self.yoyo_head}` (which checks the schema first);"
                " nothing was changed"
            )
        drift = self.drift
        if drift and not allow_drift:
            accept = ", or `liftdb repair` if the edit was on purpose"
            hint = accept if all(d.kind == "changed" for d in drift) else ""
            raise DriftError(
                f"drift: {drift[0].message}{and_more(drift)}; use --allow-drift to proceed{hint}"
            )


class Step(NamedTuple):
    """One version to apply (``up``) or roll back (``down``), with the file that does it."""

    version: Version
    direction: str

    @property
    def file(self) -> SqlFile:
        return self.version.up if self.direction == "up" else self.version.rollback


class Plan(Value):
    """The steps of a run, in the order they run."""

    _fields = ("steps",)
    steps: tuple[Step, ...]

    def __init__(self, steps: tuple[Step, ...]) -> None:
        object.__setattr__(self, "steps", steps)

    def __iter__(self):
        return iter(self.steps)

    def __len__(self) -> int:
        return len(self.steps)

    def parse(self, server_version: int = 0) -> Plan:
        """Parse every file the plan executes; a syntax error raises ``file:line:col``, and so
        does syntax that ``server_version`` (a server_version_num) lacks (``runner.features``).

        A version applied is parsed with its rollback file too: the rollback's checksum
        is recorded with the version, so a typo found only when rolling back could be
        fixed only as drift. An up file with no statement (saved empty, a ``liftdb new``
        template not filled in) is refused rather than recorded as applied. A
        transactional file may not hold its own transaction control: liftdb wraps it in
        one transaction with its bookkeeping, and a COMMIT inside would split the two.
        """
        for step in self.steps:
            if step.direction == "up":
                empty_problem = empty_version_problem(step.file)
                if empty_problem:
                    raise LayoutError(empty_problem)
            needed = (step.file, step.version.rollback) if step.direction == "up" else (step.file,)
            for sql_file in needed:
                sql_file.check_directives()
                for statement in sql_file.statements:
                    control = TRANSACTION_CONTROL.match(statement.sql)
                    if control and sql_file.transactional:
                        raise LayoutError(
                            f"{sql_file.path}:{statement.line}: {control[1].upper()} in a"
                            " transactional file: liftdb runs each version in its own"
                            " transaction; remove it, or put '-- transactional: false' at the"
                            " top of the file"
                        )
                if not sql_file.transactional:
                    _check_blocks_end(sql_file)
                if server_version:
                    _refuse_newer_syntax(sql_file, server_version)
        return self

    def destroys(self) -> list[tuple[Step, sqltree.Destroys]]:
        """What the plan's statements would destroy of the rows they name, in order, each
        once (``sqltree.destroys``), with the step that would do it."""
        from runner import sqltree

        found: list = []
        for step in self.steps:
            for statement in step.file.statements:
                for loss in sqltree.destroys(statement.sql):
                    if loss not in (seen for _, seen in found):
                        found.append((step, loss))
        return found


def _check_blocks_end(sql_file: SqlFile) -> None:
    """A non-transactional file may hold transactions of its own, ``BEGIN`` ... ``COMMIT``,
    each ended in the file: one left open would take the file's later statements and its
    bookkeeping into it, and roll them back with the connection."""
    from runner import sqltree

    opened = None
    for statement in sql_file.statements:
        if not TRANSACTION_CONTROL.match(statement.sql):
            continue
        block = sqltree.transaction_block(statement.sql)
        if block == "begin":
            opened = opened or statement
        elif block == "end":
            opened = None
    if opened is not None:
        raise LayoutError(
            f"{sql_file.path}:{opened.line}: {opened.first_line}: the transaction it begins is"
            " not ended (COMMIT or ROLLBACK) in the file; end it there"
        )


def empty_version_problem(up: SqlFile) -> str | None:
    """Why migrate refuses an up file as to statements, or None: one without a statement
    unless it says ``-- empty: true`` (a version empty on purpose, as goose allows), and
    one that says so but holds statements. ``liftdb lint`` reports the same (``empty_problem``
    on what it parsed)."""
    return empty_problem(up.path, [s.line for s in up.statements], up.empty)


def empty_problem(path, statement_lines: list[int], says_empty: bool) -> str | None:
    """``empty_version_problem`` for a file whose statements start on ``statement_lines``."""
    if not statement_lines and not says_empty:
        return (
            f"{path}: holds no SQL statement (if the version is empty on purpose,"
            " say '-- empty: true' in its leading comments)"
        )
    if statement_lines and says_empty:
        return (
            f"{path}:{statement_lines[0]}: says '-- empty: true' but holds"
            f" {len(statement_lines)} statement(s)"
        )
    return None


def _refuse_newer_syntax(sql_file: SqlFile, server_version: int) -> None:
    from runner import features
    from runner.loader import line_col

    major = server_version // 10000
    found = features.uses_in_file(sql_file.text, major)
    if found:
        line, col = line_col(sql_file.text, found[0].offset)
        server = f"the server is PostgreSQL {major}.{server_version % 10000}"
        raise LayoutError(f"{sql_file.path}:{line}:{col}: {found[0].message(server)}")


def read_state(conn, chain: Chain, *, lock_holder: bool = False) -> State:
    """What the database recorded, beside the chain, and with ``lock_holder`` who holds
    the migration lock, in two round trips (``recorder.locate``, ``recorder.read``).
    Reads only; creates nothing. Where the bookkeeping is (``recorder.locate``) is
    decided here, before any version runs."""
    books = recorder.locate(conn)
    recorded = recorder.read(conn, books, lock_holder=lock_holder)
    yoyo_only = set(recorded.applied_by_yoyo_only)
    return State(
        chain=chain,
        applied={row.number: row for row in recorded.applied},
        books=books,
        interrupted=tuple(
            Interrupted(row, chain.get(row.number), chain.directory) for row in recorded.progress
        ),
        invalid_indexes=tuple(recorded.invalid_indexes),
        # Only the chain's own: a yoyo id no version bears belongs to some other chain.
        applied_by_yoyo=tuple(v.label for v in chain if v.label in yoyo_only),
        server_version=conn.info.server_version,
        lock_holder=recorded.lock_holder,
    )


def resolve(chain: Chain, given: int | str, *, allow_zero: bool = False) -> int:
    """The number of the version the command line gave, checked against the chain:
    a number, or a label or file name (``loader.version_named``), which must be the
    version's at its number; ``UsageError`` otherwise."""
    from runner import loader

    number, name = given, None
    if isinstance(given, str):
        try:
            number, name = loader.version_named(given)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    low = 0 if allow_zero else 1
    if not low <= number <= chain.head or (name is not None and number == 0):
        raise UsageError(
            f"unknown version {given}: {chain.directory} has versions 1..{chain.head}"
            if chain.head
            else f"unknown version {given}: {chain.directory} has no versions"
        )
    version = chain.get(number)
    if name is not None and version is not None and version.name != name:
        raise UsageError(
            f"{given} is not a version of {chain.directory}: version {number} there is"
            f" {version.label}"
        )
    return number


def migrate(state: State, to: int | None = None) -> Plan:
    """Apply every pending version up to and including ``to`` (default: all)."""
    late = state.out_of_order
    if late:
        raise LayoutError(
            f"{late[0].up.path}: pending version {late[0].number} is older than applied"
            f" version {state.head}; renumber it after {state.head} to apply it"
        )
    target = state.chain.head if to is None else resolve(state.chain, to, allow_zero=True)
    for stop in state.interrupted:
        if stop.direction == "down":
            raise UsageError(
                f"the rollback of {stop.label} stopped after {stop.statements_done} of"
                f" {stop.statement_count} statements: finish it with `liftdb rollback` before"
                " applying anything; nothing was changed"
            )
        if stop.number <= target and stop.problem:  # it would be resumed
            raise DriftError(stop.refusal())
    steps = [Step(v, "up") for v in state.pending if v.number <= target]
    return Plan(tuple(steps)).parse(state.server_version)


def rollback(
    state: State, *, steps: int | None = None, to: int | None = None, everything: bool = False
) -> Plan:
    """Roll back, newest first: ``steps`` versions (default 1), or down to ``to`` (which stays
    applied), or everything."""
    given = sum(x is not None for x in (steps, to)) + bool(everything)
    if given > 1:
        raise UsageError("give one of --steps, --to and --all")
    for stop in state.interrupted:
        if stop.direction == "up":
            # Rolling back what it was applied on would leave its done statements, and
            # its progress, saying what is no longer so.
            raise UsageError(
                f"{stop.label} stopped after {stop.statements_done} of"
                f" {stop.statement_count} statements: finish it with `liftdb migrate` before"
                " rolling anything back; nothing was changed"
            )
    applied = sorted(state.applied, reverse=True)
    if everything:
        chosen = applied
    elif to is not None:
        to = resolve(state.chain, to, allow_zero=True)
        chosen = [n for n in applied if n > to]
    else:
        count = 1 if steps is None else steps
        if count < 0:
            raise UsageError(f"--steps must be 0 or more, not {count}")
        if steps is not None and count > len(applied):
            raise UsageError(
                f"--steps {count}: only {len(applied)} version(s) are applied (--all rolls"
                " them all back); nothing was changed"
            )
        chosen = applied[:count]
    plan = []
    for number in chosen:
        version = state.chain.get(number)
        if version is None:
            raise DriftError(
                f"version {number} is applied but missing from {state.chain.directory}:"
                " cannot roll it back"
            )
        plan.append(Step(version, "down"))
        stop = state.interrupted_at(number, "down")
        if stop is not None and stop.problem:
            raise DriftError(stop.refusal())
    return Plan(tuple(plan)).parse(state.server_version)
