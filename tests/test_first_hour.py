"""A DBA's first hour (issue 17): where liftdb looks, which server it uses, the options
and directives it accepts, and what it says, each through the command line on a real
server where it touches one."""

from __future__ import annotations

import pytest
from conftest import WIDGETS
from processes import invoke

from runner import api


def liftdb(url: str, sql_dir, *args: str, input: str | None = None, env=None):
    result = invoke(
        ["--database-url", url, "--sql-dir", str(sql_dir), *args], input=input, env=env
    )
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def one_line(result) -> str:
    """The one line of stderr an error leaves, with no traceback or Python repr."""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    return lines[0]


# --- directives: a look-alike is refused before anything runs ---------------------------

LOOKALIKES = [
    ("-- lock-timeout: 3s\n", 1, "'lock-timeout'", "lock_timeout"),
    ("-- Lock_Timeout: 3s\n", 1, "'Lock_Timeout'", "lock_timeout"),
    ("-- transactional: no\n", 1, "transactional", "'no' is not true or false"),
    ("-- why\nCREATE TABLE t (id int);\n-- lock_timeout: 3s\n", 3, "lock_timeout", "after the"),
    ("-- Transactional: false\n", 1, "'Transactional'", "transactional"),
]


@pytest.mark.parametrize(("head", "line", "named", "says"), LOOKALIKES)
def test_a_directive_look_alike_is_an_error_naming_file_line_and_directive_before_anything_runs(
    database_url, make_chain, head, line, named, says
):
    body = "" if "CREATE" in head else "CREATE TABLE t (id int);\n"
    chain = make_chain(WIDGETS[0], ("odd", head + body, "DROP TABLE t;\n"))
    result = liftdb(database_url, chain, "migrate")
    assert result.exit_code == 1, result.output
    error = one_line(result)
    assert f"00002_odd.sql:{line}:" in error
    assert named in error and says in error
    assert api.applied_versions(database_url) == []  # not even version 1 ran
