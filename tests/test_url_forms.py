"""Every URL form libpq accepts names the same database for every liftdb command.

A table of URL forms (query-string ``dbname``, ``host``, ``port``, ``user``,
``password`` and ``service``; ``postgres://``; Unix-socket hosts, as a query
parameter and percent-encoded; several hosts; IPv6; libpq's environment) against
every command, on a server of the test's own started from the server under test's
programs (TCP and a Unix socket, password authentication). The oracle is the
server: what ``current_database()`` and ``inet_server_port()`` answer through the
form is where every command must act, and every other database (``postgres``, the
decoys some forms name and override) must stay untouched; the commands that work in
a scratch database (``dump-schema``, ``baseline``, ``goose adopt``) must derive it
without ever landing in the user's. Every byte of output is searched for the password.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from click.testing import CliRunner
from conftest import (
    WIDGETS,
    ScratchServer,
    free_port,
    server_bin_dir,
    started,
    write_chain,
)
from processes import COMMAND_TIMEOUT, REPO
from test_connection_errors import assert_no_password

from runner import api, cli

TARGET = "url forms ü"  # a space and a non-ASCII letter: percent-encoded in a URL path
DECOY = "decoy"  # named by some forms, then overridden: must stay untouched
PW = ScratchServer.PASSWORD
# libpq's environment, cleared for every form but the ones that set it.
LIBPQ_ENV = ("PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD", "PGSERVICE")


@dataclass(frozen=True)
class Form:
    id: str
    url: str  # a template: {port} {sock} {sock_encoded} {closed} {db} {pw} {decoy}
    env: dict[str, str] = field(default_factory=dict)  # also templates


FORMS = [
    Form("plain", "postgresql://postgres:{pw}@127.0.0.1:{port}/{db}"),
    Form("postgres:// scheme", "postgres://postgres:{pw}@127.0.0.1:{port}/{db}"),
    Form("dbname in the query, no path", "postgresql://postgres:{pw}@127.0.0.1:{port}?dbname={db}"),
    Form("dbname in the query overriding the path",
         "postgresql://postgres:{pw}@127.0.0.1:{port}/{decoy}?dbname={db}"),
    Form("everything in the query",
         "postgresql://?host=127.0.0.1&port={port}&dbname={db}&user=postgres&password={pw}"),
    Form("password in the query under a percent-encoded key",
         "postgresql://postgres@127.0.0.1:{port}/{db}?pass%77ord={pw}"),
    Form("Unix socket as a query host", "postgresql://postgres:{pw}@/{db}?host={sock}&port={port}"),
    Form("socket in the query overriding a host in the URL",
         "postgresql://postgres:{pw}@unused.invalid:1/{db}?host={sock}&port={port}"),
    Form("percent-encoded socket path as the host",
         "postgresql://postgres:{pw}@{sock_encoded}:{port}/{db}"),
    Form("two hosts, the first refusing connections",
         "postgresql://postgres:{pw}@127.0.0.1:{closed},127.0.0.1:{port}/{db}"),
    Form("IPv6 loopback", "postgresql://postgres:{pw}@[::1]:{port}/{db}"),
    Form("service file", "postgresql://?service=liftdb_target", {"PGSERVICEFILE": "{services}"}),
    Form("service naming a decoy, dbname in the query",
         "postgresql://?service=liftdb_decoy&dbname={db}", {"PGSERVICEFILE": "{services}"}),
    Form("libpq's environment, database in the path", "postgresql:///{db}",
         {"PGHOST": "{sock}", "PGPORT": "{port}", "PGUSER": "postgres", "PGPASSWORD": "{pw}"}),
    Form("libpq's environment, database from PGDATABASE", "postgresql://",
         {"PGHOST": "127.0.0.1", "PGPORT": "{port}", "PGDATABASE": "{target}",
          "PGUSER": "postgres", "PGPASSWORD": "{pw}"}),
    Form("the URL's database over PGDATABASE",
         "postgresql://postgres:{pw}@127.0.0.1:{port}/{db}", {"PGDATABASE": "{decoy}"}),
]  # fmt: skip


@pytest.fixture(scope="module")
def own_server(server_url: str) -> Iterator[ScratchServer]:
    with started(ScratchServer(server_bin_dir(server_url), listen="127.0.0.1,::1")) as server:
        yield server


@pytest.fixture(scope="module")
def services(own_server: ScratchServer, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("services") / "pg_service.conf"
    path.write_text(
        f"[liftdb_target]\nhost=127.0.0.1\nport={own_server.port}\ndbname={TARGET}\n"
        f"user=postgres\npassword={PW}\n\n"
        f"[liftdb_decoy]\nhost={own_server.folder}\nport={own_server.port}\ndbname={DECOY}\n"
        f"user=postgres\npassword={PW}\n"
    )
    return path


def admin(server: ScratchServer, database: str = "postgres") -> str:
    """A plain URL, the way the test itself reaches a database (never a form under test)."""
    return server.url(database=quote(database))


@contextmanager
def libpq_environment(env: dict[str, str]) -> Iterator[None]:
    """libpq's variables as the form says, and no others (the test process's own)."""
    saved = {name: os.environ.get(name) for name in (*LIBPQ_ENV, "PGSERVICEFILE")}
    try:
        for name in saved:
            os.environ.pop(name, None)
        os.environ.update(env)
        yield
    finally:
        for name, value in saved.items():
            os.environ.pop(name, None)
            if value is not None:
                os.environ[name] = value


def filled(form: Form, server: ScratchServer, services: Path) -> tuple[str, dict[str, str]]:
    values = {
        "port": server.port,
        "sock": server.folder,
        "sock_encoded": quote(str(server.folder), safe=""),
        "closed": free_port(),
        "db": quote(TARGET),
        "target": TARGET,
        "pw": PW,
        "decoy": DECOY,
        "services": services,
    }
    env = {name: value.format(**values) for name, value in form.env.items()}
    return form.url.format(**values), env


def catalog_of(server: ScratchServer, database: str) -> list[tuple]:
    with psycopg.connect(admin(server, database), autocommit=True) as conn:
        return conn.execute(
            "SELECT c.relname, c.relkind FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')"
            " ORDER BY 1"
        ).fetchall()


def databases(server: ScratchServer) -> list[str]:
    with psycopg.connect(admin(server), autocommit=True) as conn:
        return [n for (n,) in conn.execute("SELECT datname FROM pg_database ORDER BY 1")]


def recorded(server: ScratchServer) -> list[int]:
    with psycopg.connect(admin(server, TARGET), autocommit=True) as conn:
        return [n for (n,) in conn.execute("SELECT version FROM liftdb_version ORDER BY 1")]


def build_by_hand(server: ScratchServer, *sql: str) -> None:
    with psycopg.connect(admin(server, TARGET), autocommit=True) as conn:
        for statement in sql:
            conn.execute(statement)


@pytest.mark.parametrize("form", FORMS, ids=[form.id for form in FORMS])
def test_every_command_acts_on_the_database_the_url_names(own_server, services, tmp_path, form):
    url, env = filled(form, own_server, services)
    with psycopg.connect(admin(own_server), autocommit=True) as conn:
        for name in (TARGET, DECOY):
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    before = {name: catalog_of(own_server, name) for name in ("postgres", DECOY)}
    existing = databases(own_server)
    sql_dir = write_chain(tmp_path / "sql", WIDGETS)
    output = []

    def liftdb(*args: str, exit_code: int = 0) -> str:
        cleared = {name: None for name in (*LIBPQ_ENV, "PGSERVICEFILE", "DATABASE_URL")}
        result = CliRunner().invoke(
            cli.cli,
            ["--database-url", url, "--sql-dir", str(sql_dir), *args],
            env={**cleared, **env},
        )
        output.append(result.output)
        assert result.exit_code == exit_code, (args, result.output)
        return result.stdout

    # The oracle: where libpq itself lands with this form.
    with libpq_environment(env), psycopg.connect(url, autocommit=True) as conn:
        landed = conn.execute("SELECT current_database(), inet_server_port()").fetchone()
    assert landed[0] == TARGET
    assert landed[1] in (own_server.port, None)  # None: reached through the Unix socket

    shown = liftdb("db", "url").strip()
    schema = liftdb("dump-schema", "--output", "-")
    assert "CREATE TABLE public.gadgets" in schema
    assert catalog_of(own_server, TARGET) == []  # the chain went to a scratch database

    build_by_hand(own_server, WIDGETS[0][1])
    liftdb("baseline", "--to", "1")
    assert recorded(own_server) == [1]
    build_by_hand(
        own_server,
        WIDGETS[1][1],
        "CREATE TABLE goose_db_version (id serial PRIMARY KEY, version_id bigint NOT NULL,"
        " is_applied boolean NOT NULL, tstamp timestamp DEFAULT now())",
        "INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, true), (1, true),"
        " (2, true)",
    )
    liftdb("goose", "adopt")
    assert recorded(own_server) == [1, 2]

    assert "CREATE TABLE gadgets" in liftdb("migrate", "--dry-run")
    liftdb("migrate")
    report = json.loads(liftdb("status", "--json"))
    liftdb("verify")
    liftdb("rollback")
    psql = run_db_psql(url, env, sql_dir, tmp_path)

    assert [v["state"] for v in report["versions"]] == ["applied"] * 3
    assert report["database"] == shown
    assert recorded(own_server) == [1, 2]
    assert {name for name, _ in catalog_of(own_server, TARGET)} >= {"widgets", "liftdb_version"}
    assert "gadgets" not in {name for name, _ in catalog_of(own_server, TARGET)}
    assert psql.returncode == 0, psql.stderr
    assert f"{TARGET}|{landed[1] or ''}" in psql.stdout.splitlines()
    # Nothing anywhere else: not in the databases the form names and overrides, not in
    # a scratch database left behind.
    assert {name: catalog_of(own_server, name) for name in ("postgres", DECOY)} == before
    assert databases(own_server) == existing
    assert_no_password("".join(output + [psql.stdout, psql.stderr]).encode(), PW)
    argv, _ = api.psql_command(url)
    assert_no_password(" ".join(argv).encode(), PW)


def run_db_psql(url: str, env: dict[str, str], sql_dir: Path, tmp_path: Path):
    """``liftdb db psql`` as a person runs it (it replaces itself with psql), fed a query;
    a psqlrc asks for unaligned rows without headers."""
    psqlrc = tmp_path / "psqlrc"
    psqlrc.write_text("\\set QUIET on\n\\pset format unaligned\n\\pset tuples_only on\n")
    base = {k: v for k, v in os.environ.items() if k not in (*LIBPQ_ENV, "DATABASE_URL")}
    return subprocess.run(
        [sys.executable, "-m", "runner", "--database-url", url, "--sql-dir", str(sql_dir),
         "db", "psql"],
        input="SELECT current_database(), inet_server_port();\n",
        capture_output=True, text=True, cwd=REPO, timeout=COMMAND_TIMEOUT,
        env={**base, **env, "PSQLRC": str(psqlrc), "PAGER": "", "PSQL_PAGER": ""},
    )  # fmt: skip
