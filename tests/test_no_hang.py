"""No test can hang: every command a test runs has a deadline, and every process it
starts is stopped.

The rules are checked on the tests' own source (a call added without a timeout fails
here, not as a hung CI job), and the helpers that enforce them are checked against real
commands stuck the two ways a runner gets stuck: waiting for the migration lock, and
waiting for the server to finish a statement.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from conftest import WIDGETS
from processes import (
    CommandTimedOut,
    invoke,
    liftdb_sleeping,
    migration_lock_holder,
    started,
    wait_for,
)

from runner import lock

TESTS = Path(__file__).resolve().parent
HELPERS = TESTS / "processes.py"
NEEDS_TIMEOUT = {"run", "call", "check_call", "check_output", "communicate", "wait"}


def calls(path: Path):
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            yield node, name


def test_every_subprocess_wait_in_the_tests_has_a_timeout():
    missing = []
    for path in sorted(TESTS.glob("*.py")):
        for node, name in calls(path):
            owner = node.func.value if isinstance(node.func, ast.Attribute) else None
            is_subprocess = isinstance(owner, ast.Name) and owner.id == "subprocess"
            waits = name in ("communicate", "wait") and isinstance(node.func, ast.Attribute)
            if (is_subprocess and name in NEEDS_TIMEOUT) or waits:
                # Positionally, only wait(timeout) and communicate(input, timeout) take it.
                positional = {"wait": 1, "communicate": 2}.get(name) if not is_subprocess else None
                given = {k.arg for k in node.keywords}
                if "timeout" not in given and not (positional and len(node.args) >= positional):
                    missing.append(f"{path.name}:{node.lineno}: {name}() without a timeout")
    assert missing == []


def test_processes_and_click_runners_are_started_only_by_the_helpers():
    elsewhere = []
    for path in sorted(TESTS.glob("*.py")):
        if path == HELPERS:
            continue
        for node, name in calls(path):
            if name in ("Popen", "CliRunner"):
                elsewhere.append(f"{path.name}:{node.lineno}: {name}")
    assert elsewhere == []  # use processes.started / start_liftdb / invoke


SLEEPER = (
    "sleeps",
    "SELECT pg_sleep(60);\n",
    "SELECT 1;\n",
)


def test_invoke_gives_up_on_a_command_waiting_for_the_lock_for_ever(database_url, make_chain):
    sql_dir = make_chain(*WIDGETS)
    with psycopg.connect(database_url, autocommit=True) as holder:
        assert lock.try_acquire(holder)
        args = ["--database-url", database_url, "--sql-dir", str(sql_dir)]
        with pytest.raises(CommandTimedOut, match="still running after 1 s"):
            invoke([*args, "--lock-wait", "0", "migrate"], timeout=1)


def test_invoke_gives_up_on_a_command_waiting_for_the_server(database_url, make_chain):
    sql_dir = make_chain(SLEEPER)
    args = ["--database-url", database_url, "--sql-dir", str(sql_dir), "migrate"]
    with pytest.raises(CommandTimedOut):
        invoke(args, timeout=2)
    # Its connection was closed with it: the server ends the statement and frees the lock.
    wait_for(lambda: migration_lock_holder(database_url) is None, "the lock to be freed")
    wait_for(lambda: liftdb_sleeping(database_url) is None, "the sleep to end")


def test_a_started_process_is_stopped_when_its_block_fails():
    argv = [sys.executable, "-c", "import time; time.sleep(600)"]
    with pytest.raises(RuntimeError), started(argv, stdout=subprocess.PIPE) as process:
        time.sleep(0.1)
        raise RuntimeError("the test failed while the process ran")
    assert process.returncode is not None  # killed and reaped, not left running
