"""Every failure liftdb reports to a person is a ``LiftdbError``.

Invariant: an error carries a one-line message meant for a person and the exit
code the CLI returns for it; the CLI catches this hierarchy once and prints the
message, so nothing below the CLI prints or exits on its own.
"""

from __future__ import annotations

# Exit codes, documented in the README and in `liftdb --help`.
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_PENDING = 3
EXIT_DRIFT = 4
EXIT_LOCK_TIMEOUT = 5


def and_more(items, shown: int = 1) -> str:
    """`` (and N more)`` for the items a one-line message leaves out after its first
    ``shown``; empty when it shows them all."""
    hidden = len(items) - shown
    return f" (and {hidden} more)" if hidden > 0 else ""


class LiftdbError(Exception):
    """A failure with a message for a person and an exit code."""

    exit_code = EXIT_ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(LiftdbError):
    """The command line asked for something that cannot be (bad revision, bad option)."""

    exit_code = EXIT_USAGE


class ConnectionFailed(LiftdbError):
    """The server could not be reached, or refused us."""


class TargetRefused(LiftdbError):
    """The server can be reached but cannot take a migration: a hot standby, read-only
    sessions, a pooler not said to be in session mode (or said so wrongly)."""


class EmbeddedServerError(LiftdbError):
    """The embedded PostgreSQL server could not be started or stopped."""


class LayoutError(LiftdbError):
    """The migration folder is malformed: gap, duplicate, missing rollback, unreadable file."""


class MigrationFailed(LiftdbError):
    """A statement of a migration failed; the version was left unapplied."""


class DriftError(LiftdbError):
    """An applied file changed on disk, or disappeared, since it was applied."""

    exit_code = EXIT_DRIFT


class DataLossRefused(LiftdbError):
    """A rollback would drop tables holding rows, and nobody confirmed it (``--yes``)."""

    exit_code = EXIT_USAGE


class LockTimeout(LiftdbError):
    """Another runner held the migration lock for longer than we were willing to wait."""

    exit_code = EXIT_LOCK_TIMEOUT


class Mismatch(LiftdbError):
    """Two things that must agree do not: a goose folder and sql/, a database and the chain,
    sql/schema/schema.sql and the schema the chain produces."""


class FleetFailed(LiftdbError):
    """A fleet command left targets failed or not started (each has its own record and
    exit code); the code is the fleet's, as ``fleet.Report.exit_code`` decides it."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code
