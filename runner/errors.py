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
EXIT_INTERRUPTED = 130  # SIGINT (Ctrl-C): 128 + 2, as a shell reports it
EXIT_TERMINATED = 143  # SIGTERM: 128 + 15


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


class BookkeepingError(LiftdbError):
    """There is no bookkeeping yet and no schema to create it in (a search_path naming
    only schemas that do not exist)."""


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


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread while a command that changes a database runs
    (``cli``): a ``KeyboardInterrupt`` as Ctrl-C is, so that psycopg cancels the query
    running on the server and the work unwinds the same way."""


class Interrupted(LiftdbError):
    """A run stopped by SIGINT or SIGTERM; the message says where the version that was
    running stands, as the server says after its query was cancelled."""

    def __init__(self, message: str, interrupt: KeyboardInterrupt) -> None:
        terminated = isinstance(interrupt, Terminated)
        signal_name = "SIGTERM" if terminated else "SIGINT"
        super().__init__(f"interrupted ({signal_name}) {message}")
        self.exit_code = EXIT_TERMINATED if terminated else EXIT_INTERRUPTED
