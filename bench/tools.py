"""How each tool is run, in its own layout, against a scratch database, and its version.

Invariant: every measurement is of whole processes started from here, cold,
one after another in this process tree, so each tool pays its own start-up,
imports and connections, as a person running it would. A tool that is not
installed, or a liftdb command that does not exist yet, is reported as
unavailable with a reason; it never fails the benchmark.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bench import chains
from bench.server import Server, scratch

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parent.parent
MISSING_COMMAND = "n/a (command missing)"
NOT_INSTALLED = "not installed"


class ToolFailed(Exception):
    """A tool exited non-zero where it should have succeeded: the figure would be wrong."""


@dataclass(frozen=True)
class Command:
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None


def run(commands: list[Command], *, check: bool = True) -> float:
    """Run the commands one after another; return the wall time in seconds."""
    started = time.perf_counter()
    for command in commands:
        done = subprocess.run(
            command.argv,
            env={**os.environ, **command.env},
            cwd=command.cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
        )
        if check and done.returncode != 0:
            lines = (done.stderr or done.stdout).strip().splitlines() or ["(no output)"]
            raise ToolFailed(f"{Path(command.argv[0]).name} exited {done.returncode}: {lines[-1]}")
    return time.perf_counter() - started


def compile_liftdb_bytecode() -> str:
    """Write runner/'s bytecode, as pip does for every package it installs, and say so.

    liftdb is installed editable, so its modules are compiled on first import and cached
    in __pycache__; where PYTHONDONTWRITEBYTECODE is set (as on this project's machines)
    nothing is cached and every cold start would compile them again, ~20 ms a run that
    an installed tool never pays.
    """
    import compileall

    compileall.compile_dir(REPO / "runner", quiet=1)
    return "runner/ compiled to bytecode before timing (as pip compiles an installed package)"


def _version_line(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return NOT_INSTALLED
    return (done.stdout or done.stderr).strip().splitlines()[0] if done.returncode == 0 else "?"


def _dbname(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


class Tool:
    """One peer: writes its layout once per chain, then builds the commands to time."""

    name = ""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.workdir: Path | None = None
        self.changes: list[chains.Change] = []

    def version(self) -> str:
        raise NotImplementedError

    def unavailable(self, action: str) -> str | None:
        """Why ``action`` (migrate, rollback, status) cannot be measured, or None."""
        return None

    def prepare(self, changes: list[chains.Change], workdir: Path) -> None:
        self.workdir, self.changes = workdir, changes
        self.write(changes, workdir)

    def write(self, changes: list[chains.Change], workdir: Path) -> None:
        raise NotImplementedError

    def migrate(self, url: str) -> list[Command]:
        raise NotImplementedError

    def rollback_all(self, url: str) -> list[Command]:
        raise NotImplementedError

    def status(self, url: str) -> list[Command]:
        raise NotImplementedError


class PsqlFloor(Tool):
    """One psql session running every version, each in its own transaction with a record."""

    name = "psql floor"
    single_transaction = False

    def version(self) -> str:
        return _version_line([self.server.psql, "--version"])

    def write(self, changes, workdir):
        self.per_version, self.single = chains.write_floor(changes, workdir)

    def migrate(self, url):
        script = self.single if self.single_transaction else self.per_version
        argv = [self.server.psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", str(script)]
        if self.single_transaction:
            argv.insert(1, "-1")
        return [Command(argv)]

    def unavailable(self, action):
        return None if action == "migrate" else "n/a (no bookkeeping to read)"


class PsqlSingleTransaction(PsqlFloor):
    name = "psql, one transaction"
    single_transaction = True


class PsycopgFloor(Tool):
    """``bench/psycopg_floor.py``: Python, psycopg, one string per version (the least a
    runner on psycopg can do), to tell liftdb's own cost from the platform's."""

    name = "psycopg floor"

    def version(self) -> str:
        return f"psycopg {metadata.version('psycopg')}"

    def write(self, changes, workdir):
        chains.write_liftdb(changes, workdir)

    def migrate(self, url):
        script = Path(__file__).resolve().parent / "psycopg_floor.py"
        return [Command([sys.executable, str(script), url, str(self.workdir)])]

    def unavailable(self, action):
        return None if action == "migrate" else "n/a (no bookkeeping to read)"


class LiftdbBound(Tool):
    """``bench/liftdb_bound.py``: liftdb's libraries imported, every file parsed, and the
    strings liftdb sends for the chain (captured once, untimed) sent as one: the least a
    liftdb keeping its guarantees could cost, to tell what its targets ask of its own
    client work from what they ask of the work it promises."""

    name = "liftdb lower bound"

    def version(self) -> str:
        return f"liftdb's strings, as {_version_line([str(BIN / 'liftdb'), '--version'])}"

    def write(self, changes, workdir):
        chains.write_liftdb(changes, workdir)
        self.capture = workdir.with_name(f"{workdir.name}.sent.json")
        with scratch(self.server, "bound") as url:
            self.capture.write_text(json.dumps(capture_liftdb(url, workdir)))

    def migrate(self, url):
        script = Path(__file__).resolve().parent / "liftdb_bound.py"
        return [Command([sys.executable, str(script), url, str(self.workdir), str(self.capture)])]

    def unavailable(self, action):
        return None if action == "migrate" else "n/a (a bound, not a runner)"


def capture_liftdb(url: str, directory: Path) -> dict[str, object]:
    """What liftdb sends to migrate ``directory`` into the new database ``url``, as
    ``bench/liftdb_bound.py`` replays it: {"lock": the migration lock's statement,
    "create": the bookkeeping's creation (a first run sends it ahead, ``BEGIN`` and all),
    "versions": each version's string, in order}. Read by running liftdb here with
    ``runner.executor.send`` recording what it sends, one version a string (as when a
    caller may stop it between versions: a batch goes out as one string, unsplit)."""
    from unittest import mock

    from runner import api, executor, lock

    sent: list[str] = []
    send = executor.send

    def recording(conn, text: bytes):
        sent.append(text.decode(conn.info.encoding))
        return send(conn, text)

    with mock.patch.object(executor, "send", recording):
        done = api.migrate(url, directory, options=api.Options(stop=lambda: False))
    create, versions = sent[0], sent[1:]
    if not create.startswith("BEGIN;") or len(versions) != len(done):
        raise RuntimeError(f"liftdb sent {len(sent)} strings for {len(done)} versions")
    lock_sql = f"SELECT pg_catalog.pg_try_advisory_lock({lock.LOCK_KEY})"
    return {"lock": lock_sql, "create": create, "versions": versions}


class Liftdb(Tool):
    name = "liftdb"

    def version(self) -> str:
        return _version_line([str(BIN / "liftdb"), "--version"])

    def unavailable(self, action):
        command = {"migrate": "migrate", "rollback": "rollback", "status": "status"}[action]
        return None if has_liftdb_command(command) else MISSING_COMMAND

    def write(self, changes, workdir):
        chains.write_liftdb(changes, workdir)

    def _cli(self, url: str, *args: str) -> Command:
        argv = [str(BIN / "liftdb"), "--database-url", url, "--sql-dir", str(self.workdir), *args]
        return Command(argv)

    def migrate(self, url):
        return [self._cli(url, "migrate")]

    def rollback_all(self, url):
        return [self._cli(url, "rollback", "--all", "--yes")]

    def status(self, url):
        return [self._cli(url, "status")]


@cache
def has_liftdb_command(command: str) -> bool:
    """Whether this checkout's liftdb has ``command`` (the runner is being rewritten)."""
    done = subprocess.run(
        [str(BIN / "liftdb"), command, "--help"], capture_output=True, text=True, timeout=60
    )
    return done.returncode == 0


class Yoyo(Tool):
    name = "yoyo"

    def version(self) -> str:
        return f"yoyo-migrations {metadata.version('yoyo-migrations')}"

    def write(self, changes, workdir):
        chains.write_liftdb(changes, workdir)

    def _cli(self, url: str, *args: str) -> Command:
        parts = urlsplit(url)
        yoyo_url = urlunsplit(("postgresql+psycopg", *parts[1:]))
        argv = [str(BIN / "yoyo"), *args, "--no-config-file", "--database", yoyo_url]
        return Command([*argv, str(self.workdir)])

    def migrate(self, url):
        return [self._cli(url, "apply", "--batch")]

    def rollback_all(self, url):
        return [self._cli(url, "rollback", "--batch", "--all")]

    def status(self, url):
        return [self._cli(url, "list")]


class Dbmate(Tool):
    name = "dbmate"

    def version(self) -> str:
        return _version_line([str(BIN / "dbmate"), "--version"])

    def unavailable(self, action):
        return None if (BIN / "dbmate").exists() else NOT_INSTALLED

    def write(self, changes, workdir):
        chains.write_dbmate(changes, workdir)

    def _cli(self, url: str, *args: str) -> Command:
        argv = [
            str(BIN / "dbmate"),
            "--url",
            dbmate_url(url),
            "--migrations-dir",
            str(self.workdir),
        ]
        return Command([*argv, "--no-dump-schema", *args])

    def migrate(self, url):
        return [self._cli(url, "migrate")]

    def rollback_all(self, url):
        # dbmate rolls back one version per run: a person would loop.
        return [self._cli(url, "rollback") for _ in self.changes]

    def status(self, url):
        return [self._cli(url, "status")]


def dbmate_url(url: str) -> str:
    """The URL in dbmate's form: dbmate (Go) reaches a Unix socket through ?socket=DIR, not
    libpq's ?host=DIR, and wants sslmode said."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    if "host" in query:
        query["socket"] = query.pop("host")
    query.setdefault("sslmode", "disable")
    return urlunsplit(("postgres", parts.netloc, parts.path, urlencode(query), ""))


class Sqitch(Tool):
    name = "sqitch"

    def version(self) -> str:
        return _version_line(["sqitch", "--version"])

    def unavailable(self, action):
        return None if shutil.which("sqitch") else NOT_INSTALLED

    def write(self, changes, workdir):
        chains.write_sqitch(changes, workdir, self.server.psql)

    def _cli(self, url: str, *args: str) -> Command:
        env = {
            **self.server.libpq_env(),
            "SQITCH_FULLNAME": "liftdb bench",
            "SQITCH_EMAIL": "bench@example.com",
        }
        target = f"db:pg:{_dbname(url)}"
        return Command(["sqitch", "-C", str(self.workdir), *args, target], env=env)

    def migrate(self, url):
        return [self._cli(url, "deploy", "--no-verify")]

    def rollback_all(self, url):
        return [self._cli(url, "revert", "-y")]

    def status(self, url):
        return [self._cli(url, "status")]


MIGRATORS = (
    PsqlFloor,
    PsqlSingleTransaction,
    PsycopgFloor,
    LiftdbBound,
    Liftdb,
    Yoyo,
    Dbmate,
    Sqitch,
)
RUNNERS = (Liftdb, Yoyo, Dbmate, Sqitch)  # the tools with a rollback and a status


def versions(server: Server) -> dict[str, str]:
    """Each tool's own version string, for the results' header."""
    tools = [PsqlFloor(server), Liftdb(server), Yoyo(server), Dbmate(server), Sqitch(server)]
    found = {tool.name: tool.version() for tool in tools}
    found["psql"] = found.pop("psql floor")
    found["squawk"] = _version_line([str(BIN / "squawk"), "--version"])
    found["python"] = sys.version.split()[0]
    return found
