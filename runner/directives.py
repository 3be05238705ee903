"""Directives: ``-- key: value`` lines in a migration file's leading comment block.

``-- transactional: false`` (run outside a transaction), ``-- lock_timeout: 5s``,
``-- statement_timeout: 1min``, ``-- lock_retries: 5`` (how many times a version that timed
out waiting for a table lock is tried again; 0 = never), ``-- depends: ...`` (yoyo's, kept
as written), ``-- empty: true`` (a version that runs no statement on purpose, as goose
allows).

Invariant: this module is the one reader of directives. The runner (the loader,
the plan's pre-flight, the executor), the lint and goose's import all read a
file's directives here, so they agree on what a file says, and on what is wrong
with it: a value the runner refuses is a ``problem`` here, with its line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from runner import retry  # standard library only: start-up stays light

if TYPE_CHECKING:
    from runner.loader import SqlFile

DIRECTIVE = re.compile(r"^--\s*(?P<key>[a-z_]+)\s*:\s*(?P<value>.*?)\s*$")
KNOWN = ("transactional", "lock_timeout", "statement_timeout", "lock_retries", "depends", "empty")
DURATIONS = ("lock_timeout", "statement_timeout")
BOOLEANS = ("true", "false")
DEFAULT_LOCK_TIMEOUT_MS = 5000
DEFAULT_STATEMENT_TIMEOUT_MS = 0  # off
DEFAULT_LOCK_WAIT_MS = 5000  # for the migration lock (runner.lock)


@dataclass(frozen=True)
class Directive:
    key: str
    value: str
    line: int  # 1-based
    col: int  # 1-based, where the value starts


@dataclass(frozen=True)
class Directives:
    """The directives of one file, in order; a key given twice counts as its last."""

    found: tuple[Directive, ...] = ()

    def get(self, key: str, default: str | None = None) -> str | None:
        values = [d.value for d in self.found if d.key == key]
        return values[-1] if values else default

    def __contains__(self, key: str) -> bool:
        return any(d.key == key for d in self.found)

    @property
    def transactional(self) -> bool:
        """False only for ``-- transactional: false`` (any case)."""
        return (self.get("transactional") or "true").lower() != "false"

    def timeout_ms(self, key: str) -> int | None:
        """A duration directive in milliseconds; None when absent; ValueError if unreadable."""
        from runner.loader import parse_duration

        value = self.get(key)
        return None if value is None else parse_duration(value)

    @property
    def lock_retries(self) -> int | None:
        """``-- lock_retries: N``; None when absent; ValueError unless a whole number >= 0."""
        value = self.get("lock_retries")
        if value is None:
            return None
        if not value.isdigit():
            raise ValueError(f"{value!r} is not a whole number of retries (0 = none)")
        return int(value)

    @property
    def problems(self) -> list[tuple[Directive, str]]:
        """(directive, what is wrong with it) for each value the runner cannot use."""
        found = []
        for directive in self.found:
            if directive.key in DURATIONS:
                try:
                    self.timeout_ms(directive.key)
                except ValueError as exc:
                    found.append((directive, f"directive {directive.key}: {exc}"))
            elif directive.key == "lock_retries" and not directive.value.isdigit():
                found.append((directive, f"directive lock_retries: {directive.value!r} is not"
                              " a whole number of retries (0 = none)"))  # fmt: skip
            elif directive.key in ("transactional", "empty") and (
                directive.value.lower() not in BOOLEANS
            ):
                problem = f"directive {directive.key}: {directive.value!r} is not true or false"
                found.append((directive, problem))
        return found


def read_directives(text: str) -> Directives:
    """The ``-- key: value`` lines of the leading comment block (blank lines allowed), for
    the keys liftdb knows; the block ends at the first line that is not a comment."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("--"):
            break
        match = DIRECTIVE.match(stripped)
        if match and match["key"] in KNOWN:
            col = len(line) - len(line.lstrip()) + match.start("value") + 1
            found.append(Directive(match["key"], match["value"], number, col))
    return Directives(tuple(found))


@dataclass(frozen=True)
class Timeouts:
    """What a run uses unless a file's own directive says otherwise (0 = off).

    ``lock_ms``: the longest wait for a table lock (with retries on, no attempt's
    lock_timeout exceeds it; ``runner.retry``); ``wait_ms``: for the migration lock,
    which is no table's; ``lock_retries``: further attempts after a lock timeout."""

    lock_ms: int = DEFAULT_LOCK_TIMEOUT_MS
    statement_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS
    wait_ms: int = DEFAULT_LOCK_WAIT_MS
    lock_retries: int = retry.DEFAULT_RETRIES

    def for_file(self, sql_file: SqlFile) -> Timeouts:
        lock_ms = sql_file.timeout_ms("lock_timeout")
        statement_ms = sql_file.timeout_ms("statement_timeout")
        retries = sql_file.lock_retries
        return replace(
            self,
            lock_ms=self.lock_ms if lock_ms is None else lock_ms,
            statement_ms=self.statement_ms if statement_ms is None else statement_ms,
            lock_retries=self.lock_retries if retries is None else retries,
        )

    @property
    def schedule(self) -> retry.Schedule:
        return retry.Schedule(self.lock_retries, self.lock_ms)

    def attempt(self, number: int) -> Timeouts:
        """These timeouts for attempt ``number`` (0 = the first): its own lock_timeout."""
        return replace(self, lock_ms=self.schedule.lock_ms(number))
