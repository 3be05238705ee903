"""Directives: ``-- key: value`` lines in a migration file's leading comment block.

``-- transactional: false`` (run outside a transaction), ``-- lock_timeout: 5s``,
``-- statement_timeout: 1min``, ``-- lock_retries: 5`` (how many times a version that timed
out waiting for a table lock is tried again; 0 = never), ``-- depends: ...`` (yoyo's, kept
as written), ``-- empty: true`` (a version that runs no statement on purpose, as goose
allows).

Invariant: this module is the one reader of directives. The runner (the loader,
the plan's pre-flight, the executor), the lint and goose's import all read a
file's directives here, so they agree on what a file says, and on what is wrong
with it: a value the runner refuses is a ``problem`` here, with its line, and so
is a comment that resembles a directive but is not one (``-- lock-timeout: 3s``,
``-- Lock_Timeout: 3s``, a directive's line after the first statement), which
would otherwise be silently ignored.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, NamedTuple

from runner import retry  # standard library only: start-up stays light

if TYPE_CHECKING:
    from runner.loader import SqlFile

DIRECTIVE = re.compile(r"^--\s*(?P<key>[a-z_]+)\s*:\s*(?P<value>.*?)\s*$")
# Any ``-- word: value`` comment, for the look-alikes: another case, "-" for "_".
LOOKALIKE = re.compile(r"^--\s*(?P<key>[A-Za-z][A-Za-z_-]*)\s*:\s*(?P<value>.*?)\s*$")
KNOWN = ("transactional", "lock_timeout", "statement_timeout", "lock_retries", "depends", "empty")
DURATIONS = ("lock_timeout", "statement_timeout")
BOOLEANS = ("true", "false")
DEFAULT_LOCK_TIMEOUT_MS = 5000
DEFAULT_STATEMENT_TIMEOUT_MS = 0  # off
DEFAULT_LOCK_WAIT_MS = 5000  # for the migration lock (runner.lock)


class Directive(NamedTuple):
    key: str
    value: str
    line: int  # 1-based
    col: int  # 1-based, where the value starts


class Directives(NamedTuple):
    """The directives of one file, in order; a key given twice is a ``problem`` (for ``get``,
    its last)."""

    found: tuple[Directive, ...] = ()
    # (comment, what it is taken for): look-alikes, and directives after the first statement
    lookalikes: tuple[tuple[Directive, str], ...] = ()

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
        found = list(self.lookalikes)
        first: dict[str, Directive] = {}
        for directive in self.found:
            earlier = first.setdefault(directive.key, directive)
            if earlier is not directive:
                found.append((directive, f"directive {directive.key} given twice (first at"
                              f" line {earlier.line}): keep one"))  # fmt: skip
                continue
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
        return sorted(found, key=lambda pair: pair[0].line)


def read_directives(text: str) -> Directives:
    """The ``-- key: value`` lines of the leading comment block (blank lines allowed), for
    the keys liftdb knows; the block ends at the first line that is not a comment.

    A whole-line comment anywhere in the file that would be a known directive but for its
    case or a ``-`` for ``_``, or that is one but comes after the block, is kept in
    ``lookalikes`` (and so among ``problems``): the runner refuses the file rather than
    ignore what its author meant as a directive."""
    found, lookalikes = [], []
    leading = True
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("--"):
            leading = False
            continue
        match = DIRECTIVE.match(stripped)
        if leading and match and match["key"] in KNOWN:
            col = len(line) - len(line.lstrip()) + match.start("value") + 1
            found.append(Directive(match["key"], match["value"], number, col))
            continue
        loose = LOOKALIKE.match(stripped)
        key = loose["key"].lower().replace("-", "_") if loose else None
        if key not in KNOWN:
            continue
        col = len(line) - len(line.lstrip()) + loose.start("key") + 1
        comment = Directive(loose["key"], loose["value"], number, col)
        if loose["key"] != key:
            why = f"'{loose['key']}' is not a directive; did you mean '{key}'?"
        else:
            why = f"directive {key} after the first statement is not read; move it to the top"
        lookalikes.append((comment, why))
    return Directives(tuple(found), tuple(lookalikes))


class Timeouts(NamedTuple):
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
        return self._replace(
            lock_ms=self.lock_ms if lock_ms is None else lock_ms,
            statement_ms=self.statement_ms if statement_ms is None else statement_ms,
            lock_retries=self.lock_retries if retries is None else retries,
        )

    @property
    def schedule(self) -> retry.Schedule:
        return retry.Schedule(self.lock_retries, self.lock_ms)

    def attempt(self, number: int) -> Timeouts:
        """These timeouts for attempt ``number`` (0 = the first): its own lock_timeout."""
        return self._replace(lock_ms=self.schedule.lock_ms(number))
