"""``liftdb`` run as a user runs it: a separate process, its exit code and its output.

Invariant: every helper here goes through ``python -m runner`` (or, for ``invoke``,
click's ``CliRunner`` on the same command group), never through the library, so what
a test sees is exactly what a person at a terminal would see (stdout, stderr, exit
code), and a killed process is a real killed process. No helper can hang a test:
every command runs under ``COMMAND_TIMEOUT`` (a subprocess's own timeout, or an alarm
for ``invoke``), and every process a helper starts is stopped when its block exits.
``tests/test_no_hang.py`` checks that tests reach commands through these helpers only.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parent.parent
COMMAND_TIMEOUT = 120  # seconds; a hung runner fails the test instead of the whole run


class CommandTimedOut(BaseException):
    """A command outlived its deadline. A ``BaseException``, so that ``CliRunner``, which
    catches every ``Exception`` a command raises, lets it through to fail the test."""


@contextmanager
def deadline(seconds: float, what: str) -> Iterator[None]:
    """Raise ``CommandTimedOut`` in the block if it runs longer than ``seconds``.

    An interval timer and SIGALRM: the handler runs in the main thread (where pytest runs
    tests) even while it waits in ``time.sleep`` or in psycopg's wait for the server.
    """

    def expire(_signum, _frame):
        raise CommandTimedOut(f"{what}: still running after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def invoke(
    args: list[str],
    *,
    input: str | None = None,
    env: dict[str, str | None] | None = None,
    timeout: float = COMMAND_TIMEOUT,
):
    """``liftdb ARGS`` through click's ``CliRunner`` (in this process, so a test may
    monkeypatch it; ``env`` as ``CliRunner`` takes it, None unsetting a variable),
    failing with ``CommandTimedOut`` after ``timeout`` seconds."""
    from click.testing import CliRunner

    from runner import cli

    with deadline(timeout, "liftdb " + " ".join(args)):
        return CliRunner().invoke(cli.cli, args, input=input, env=env)


def invoke_on(url: str, sql_dir, *args: str, input: str | None = None, env=None):
    """``liftdb --database-url URL --sql-dir SQL_DIR ARGS`` through ``invoke``, an exception
    the command raised (other than its exit) raised again here."""
    argv = ["--database-url", url, "--sql-dir", str(sql_dir), *args]
    result = invoke(argv, input=input, env=env)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def run(
    argv: list[str], *, cwd: Path | str = REPO, timeout: float = COMMAND_TIMEOUT, **options
) -> subprocess.CompletedProcess:
    """Any program to completion, its output captured as text, under ``timeout``."""
    return subprocess.run(argv, capture_output=True, text=True, cwd=cwd, timeout=timeout, **options)


@contextmanager
def started(argv: list[str], **options) -> Iterator[subprocess.Popen]:
    """A program started without waiting for it, killed (and reaped) when the block exits
    if it is still running, whatever happened in the block."""
    process = subprocess.Popen(argv, **options)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=COMMAND_TIMEOUT)  # killed: it writes nothing more to its pipes
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def liftdb_command(url: str, sql_dir: Path | str, *args: str) -> list[str]:
    return [sys.executable, "-m", "runner", "--database-url", url, "--sql-dir", str(sql_dir), *args]


def environment(**extra: str) -> dict[str, str]:
    """The test's environment without DATABASE_URL, so only --database-url decides."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(NO_COLOR="1", **extra)
    return env


def liftdb(
    url: str, sql_dir: Path | str, *args: str, stdin: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    """Run one ``liftdb`` command to completion; stdin is a pipe, never a terminal."""
    return run(liftdb_command(url, sql_dir, *args), input=stdin, env=environment(**env))


def start_liftdb(url: str, sql_dir: Path | str, *args: str, **env: str):
    """``liftdb`` started without waiting for it (to race it, or to kill it), as a context
    manager: the process is killed when the block exits, if it is still running."""
    return started(
        liftdb_command(url, sql_dir, *args),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=environment(**env),
    )


def spaced(text: str) -> str:
    """``text`` with status's column padding taken out: one space between words."""
    return "\n".join(re.sub(" {2,}", " ", line) for line in text.splitlines())


def assert_one_line_error(result, exit_code: int, *fragments: str) -> str:
    """The command failed with ``exit_code`` and said why in one line naming ``fragments``."""
    output = f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert result.returncode == exit_code, output
    assert "Traceback" not in result.stderr + result.stdout, output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, output
    [line] = lines
    assert line.startswith("liftdb: error: "), output
    for fragment in fragments:
        assert fragment in line, f"{fragment!r} not in {line!r}"
    return line


def user_relations(url: str) -> list[str]:
    """Every table, index, sequence and view outside the system schemas."""
    with psycopg.connect(url, autocommit=True) as conn:
        return [
            row[0]
            for row in conn.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')"
                " ORDER BY 1"
            )
        ]


# --- watching a run from the server's side ------------------------------------------------


def wait_for(condition, what: str, timeout: float = 60.0, pause: float = 0.05):
    """Poll ``condition()`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(pause)
    raise AssertionError(f"gave up after {timeout:.0f} s waiting for {what}")


def liftdb_backend(url: str, query_contains: str, *, waiting_on_lock: bool = False) -> int | None:
    """The pid of a liftdb session running a statement that contains ``query_contains``."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT pid FROM pg_stat_activity"
            " WHERE application_name = 'liftdb' AND state = 'active'"
            " AND datname = current_database() AND position(%s IN query) > 0"
            " AND (NOT %s OR wait_event_type = 'Lock')",
            (query_contains, waiting_on_lock),
        ).fetchone()
    return row[0] if row else None


def liftdb_sleeping(url: str) -> int | None:
    """The pid of a liftdb session in a ``pg_sleep``, seen by its wait event: consecutive
    versions go as one string, which pg_stat_activity shows cut to its first kilobyte
    (track_activity_query_size), not the statement running."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT pid FROM pg_stat_activity"
            " WHERE application_name = 'liftdb' AND state = 'active'"
            " AND datname = current_database() AND wait_event = 'PgSleep'"
        ).fetchone()
    return row[0] if row else None


def migration_lock_holder(url: str) -> int | None:
    """The pid holding liftdb's migration lock on this database, or None when it is free."""
    from runner import lock

    with psycopg.connect(url, autocommit=True) as conn:
        holder = lock.holder(conn)
    return holder.pid if holder else None


def recorded_versions(url: str) -> list[int]:
    """The versions liftdb_version says are applied ([] before any bookkeeping exists)."""
    with psycopg.connect(url, autocommit=True) as conn:
        if conn.execute("SELECT to_regclass('liftdb_version')").fetchone()[0] is None:
            return []
        return [n for (n,) in conn.execute("SELECT version FROM liftdb_version ORDER BY 1")]


def status_document(url: str, sql_dir: Path | str) -> dict:
    """``liftdb status --json``, parsed (it exits 4 on drift, the document printed)."""
    result = liftdb(url, sql_dir, "status", "--json")
    assert result.returncode in (0, 3, 4), result.stderr
    return json.loads(result.stdout)
