"""A database URL that cannot work gets one line and an exit code, and no password leaks.

Each case is a URL template and what ``liftdb migrate`` must answer: exit 2 for
a URL that cannot be read (malformed, wrong scheme, an option libpq refuses),
exit 1 for a server that cannot be reached, refuses us or hangs up. The servers
are real: a scratch PostgreSQL with password authentication, a port nothing
listens on, a socket that accepts and closes at once, one that never answers.
Every byte of stdout and stderr is searched for the password typed in the URL,
as typed, percent-decoded and percent-encoded.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass
from urllib.parse import quote, unquote

import psycopg
import pytest
from conftest import ScratchServer, free_port
from processes import assert_one_line_error, liftdb

from runner.errors import EXIT_ERROR, EXIT_USAGE

# What the person typed as a password: never to be seen again.
TYPED = "Typed-Pw-Zk42q"


@dataclass(frozen=True)
class Case:
    id: str
    url: str  # a template: {typed}, {right}, and the ports {scratch} {closed} {hangup} {silent}
    exit_code: int
    says: str


CASES = [
    Case("port not a number", "postgresql://postgres:{typed}@127.0.0.1:port/db", EXIT_USAGE,
         "malformed database URL postgresql://postgres:***@127.0.0.1:port/db: Port could not"),
    Case("port out of range", "postgresql://postgres:{typed}@127.0.0.1:99999/db", EXIT_USAGE,
         "Port out of range 0-65535"),
    Case("unclosed IPv6 bracket", "postgresql://postgres:{typed}@[::1/db", EXIT_USAGE,
         "Invalid IPv6 URL"),
    Case("wrong scheme", "mysql://postgres:{typed}@127.0.0.1:{scratch}/db", EXIT_USAGE,
         "must start with postgresql:// (got scheme 'mysql')"),
    Case("keyword conninfo instead of a URL", "host=127.0.0.1 password={typed}", EXIT_USAGE,
         "database URL <unparseable URL> must start with postgresql://"),
    Case("unknown URL option", "postgresql://postgres:{typed}@127.0.0.1:{scratch}/db?colour=1",
         EXIT_USAGE, 'invalid URI query parameter: "colour"'),
    Case("impossible option value",
         "postgresql://postgres:{typed}@127.0.0.1:{scratch}/db?sslmode=sometimes", EXIT_USAGE,
         'invalid sslmode value: "sometimes"'),
    Case("bad percent-encoding in the password",
         "postgresql://postgres:{typed}%zz@127.0.0.1:{scratch}/db", EXIT_USAGE,
         'invalid percent-encoded token: "***"'),
    Case("space in the password", "postgresql://postgres:{typed} x@127.0.0.1:{scratch}/db",
         EXIT_USAGE, 'unexpected spaces found in "***"'),
    Case("unencoded @ in the password",
         "postgresql://postgres:{typed}@x@127.0.0.1:{scratch}/db", EXIT_USAGE,
         "must be percent-encoded (@ as %40"),
    Case("unencoded # in the password",
         "postgresql://postgres:{typed}#x@127.0.0.1:{scratch}/db", EXIT_USAGE,
         "must be percent-encoded"),
    Case("password key with its = percent-encoded",
         "postgresql://postgres@127.0.0.1:{scratch}/db?password%3D{typed}", EXIT_USAGE,
         "db?password=***: missing key/value separator"),
    Case("unknown host", "postgresql://postgres:{typed}@no-such-host.invalid/db", EXIT_ERROR,
         "failed to resolve host 'no-such-host.invalid'"),
    Case("nothing listening on the port", "postgresql://postgres:{typed}@127.0.0.1:{closed}/db",
         EXIT_ERROR, "Connection refused"),
    Case("wrong password", "postgresql://postgres:{typed}@127.0.0.1:{scratch}/postgres",
         EXIT_ERROR, 'password authentication failed for user "postgres"'),
    Case("wrong password in the query string",
         "postgresql://postgres@127.0.0.1:{scratch}/postgres?password={typed}", EXIT_ERROR,
         "?password=***: password authentication failed"),
    Case("wrong password in the query under a percent-encoded key",
         "postgresql://postgres@127.0.0.1:{scratch}/postgres?pass%77ord={typed}", EXIT_ERROR,
         "?pass%77ord=***: password authentication failed"),
    Case("wrong password beside an sslpassword in the query",
         "postgresql://postgres@127.0.0.1:{scratch}/postgres?sslpassword={typed}&password=x",
         EXIT_ERROR, "?sslpassword=***&password=***: password authentication failed"),
    Case("wrong percent-encoded password",
         "postgresql://postgres:{typed}%40%2F@127.0.0.1:{scratch}/postgres", EXIT_ERROR,
         "postgres:***@127.0.0.1"),
    Case("no password for a server that wants one",
         "postgresql://postgres@127.0.0.1:{scratch}/postgres", EXIT_ERROR,
         "no password supplied"),
    Case("missing database", "postgresql://postgres:{right}@127.0.0.1:{scratch}/no_such_db",
         EXIT_ERROR, 'database "no_such_db" does not exist'),
    Case("server that accepts and hangs up",
         "postgresql://postgres:{typed}@127.0.0.1:{hangup}/db", EXIT_ERROR,
         "server closed the connection unexpectedly"),
    Case("server that never answers (PGCONNECT_TIMEOUT=1)",
         "postgresql://postgres:{typed}@127.0.0.1:{silent}/db", EXIT_ERROR,
         "timeout expired"),
]  # fmt: skip


class FakeServer:
    """A TCP port whose every connection is closed at once, or held open and never answered."""

    def __init__(self, *, hang_up: bool) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.hang_up = hang_up
        self.held: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return  # closed at the end of the module
            if self.hang_up:
                connection.close()
            else:
                self.held.append(connection)

    def close(self) -> None:
        self.listener.close()
        for connection in self.held:
            connection.close()


@pytest.fixture(scope="module")
def ports(scratch_server: ScratchServer):
    hang_up, silent = FakeServer(hang_up=True), FakeServer(hang_up=False)
    yield {
        "scratch": scratch_server.port,
        "closed": free_port(),
        "hangup": hang_up.port,
        "silent": silent.port,
    }
    hang_up.close()
    silent.close()


@pytest.fixture(scope="module")
def sql_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("sql")
    (directory / "00001_create_things.sql").write_text("CREATE TABLE things (id int);\n")
    (directory / "00001_create_things.rollback.sql").write_text("DROP TABLE things;\n")
    return directory


def assert_no_password(output: bytes, *passwords: str) -> None:
    for password in passwords:
        for form in {password, unquote(password), quote(password, safe="")}:
            assert form.encode() not in output, f"{form!r} leaked: {output!r}"


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_unusable_database_url_is_one_line_and_never_shows_the_password(ports, sql_dir, case):
    url = case.url.format(typed=TYPED, right=ScratchServer.PASSWORD, **ports)

    result = liftdb(url, sql_dir, "migrate", PGCONNECT_TIMEOUT="1")

    assert_one_line_error(result, case.exit_code, case.says)
    assert_no_password((result.stdout + result.stderr).encode(), TYPED, ScratchServer.PASSWORD)


def test_the_right_password_connects_and_output_still_masks_it(scratch_server, sql_dir):
    with psycopg.connect(scratch_server.url(), autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS right_password")
        conn.execute("CREATE DATABASE right_password")
    url = scratch_server.url(database="right_password")

    result = liftdb(url, sql_dir, "migrate")

    assert result.returncode == 0, result.stderr
    masked = f"postgresql://postgres:***@127.0.0.1:{scratch_server.port}/right_password"
    assert masked in result.stdout.splitlines()[-1]
    assert_no_password((result.stdout + result.stderr).encode(), ScratchServer.PASSWORD)
