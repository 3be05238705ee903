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
from dataclasses import dataclass

from runner import recorder
from runner.errors import DriftError, LayoutError, UsageError, and_more
from runner.loader import NUMBER_WIDTH, Chain, SqlFile, Version

# Statements that begin, end or split a transaction (PostgreSQL's TransactionStmt).
TRANSACTION_CONTROL = re.compile(
    r"^\s*(begin|start\s+transaction|commit|end|rollback|abort|savepoint|release|prepare\s+transaction)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Drift:
    """An applied version whose files changed on disk, or that is no longer on disk."""

    number: int
    label: str
    reason: str  # one line, naming the file
    kind: str = "changed"  # "changed" (contents), "renamed" or "missing" (from disk)

    @property
    def message(self) -> str:
        return f"{self.label}: {self.reason}"


@dataclass(frozen=True)
class Interrupted:
    """A non-transactional version a run started and did not finish."""

    version: Version
    direction: str
    statements_done: int
    statement_count: int

    @property
    def file(self) -> SqlFile:
        return self.version.up if self.direction == "up" else self.version.rollback

    @property
    def stopped_at(self) -> str:
        """``file:line`` of the statement that had not completed."""
        statements = self.file.statements
        if self.statements_done < len(statements):
            return f"{self.file.path}:{statements[self.statements_done].line}"
        return f"{self.file.path} (after its last statement)"


@dataclass(frozen=True)
class State:
    """The chain beside the bookkeeping: applied, pending, drifted, out of order."""

    chain: Chain
    applied: dict[int, recorder.AppliedVersion]
    interrupted: tuple[Interrupted, ...] = ()
    invalid_indexes: tuple[str, ...] = ()
    applied_by_yoyo: tuple[str, ...] = ()  # migration ids yoyo applied, without checksums
    server_version: int = 0  # the server's server_version_num (150008); 0: not known

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


@dataclass(frozen=True)
class Step:
    """One version to apply (``up``) or roll back (``down``), with the file that does it."""

    version: Version
    direction: str

    @property
    def file(self) -> SqlFile:
        return self.version.up if self.direction == "up" else self.version.rollback


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]

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
                if server_version:
                    _refuse_newer_syntax(sql_file, server_version)
        return self

    def dropped_tables(self) -> list[str]:
        """Tables the plan's statements drop, in order, each once."""
        from runner import sqltree

        names: list[str] = []
        for step in self.steps:
            for statement in step.file.statements:
                for name in sqltree.dropped_tables(statement.sql):
                    if name not in names:
                        names.append(name)
        return names


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


def read_state(conn, chain: Chain) -> State:
    """What the database recorded, beside the chain. Reads only; creates nothing."""
    applied = {row.number: row for row in recorder.applied(conn)}
    yoyo_only = set(recorder.applied_by_yoyo_only(conn))
    interrupted = []
    for row in recorder.progress(conn):
        version = chain.get(row.number)
        if version is not None:
            interrupted.append(
                Interrupted(version, row.direction, row.statements_done, row.statement_count)
            )
    return State(
        chain=chain,
        applied=applied,
        interrupted=tuple(interrupted),
        invalid_indexes=tuple(recorder.invalid_indexes(conn)),
        # Only the chain's own: a yoyo id no version bears belongs to some other chain.
        applied_by_yoyo=tuple(v.label for v in chain if v.label in yoyo_only),
        server_version=conn.info.server_version,
    )


def resolve(chain: Chain, number: int, *, allow_zero: bool = False) -> int:
    """A version number the command line gave, checked against the chain."""
    low = 0 if allow_zero else 1
    if not low <= number <= chain.head:
        raise UsageError(
            f"unknown version {number}: {chain.directory} has versions 1..{chain.head}"
            if chain.head
            else f"unknown version {number}: {chain.directory} has no versions"
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
    applied = sorted(state.applied, reverse=True)
    if everything:
        chosen = applied
    elif to is not None:
        resolve(state.chain, to, allow_zero=True)
        chosen = [n for n in applied if n > to]
    else:
        count = 1 if steps is None else steps
        if count < 0:
            raise UsageError(f"--steps must be 0 or more, not {count}")
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
    return Plan(tuple(plan)).parse(state.server_version)
