"""``[tool.liftdb]`` in pyproject.toml (runner/config.py, its one reader): both settings,
their defaults, and the one line a value liftdb cannot use gets, from ``lint`` and from
``lint --trace`` alike."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from case_chains import build
from processes import COMMAND_TIMEOUT
from test_lint_cases import CASES

from runner import config
from runner.errors import UsageError
from runner.lint import lint

# Version 2 creates an index on a table version 1 created: a safety finding.
UNSAFE = CASES / "require-concurrent-index" / "bad" / "create_index.sql"


def project(tmp_path: Path, settings: str | None) -> Path:
    """The unsafe case as a chain in tmp_path/chain, under a pyproject.toml holding
    ``settings`` as its [tool.liftdb] (none: no pyproject.toml)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    chain = build(UNSAFE, tmp_path)
    if settings is not None:
        (tmp_path / "pyproject.toml").write_text(f"[tool.liftdb]\n{settings}\n")
    config._settings.cache_clear()
    return chain


def safety_rules(chain: Path) -> list[str]:
    from runner.lint.rules import RULES

    return sorted({f.rule for f in lint(chain).findings if RULES[f.rule] == "safety"})


def test_defaults_without_a_pyproject(tmp_path):
    chain = project(tmp_path, None)
    assert (config.min_server_version(chain), config.lint_safety_after(chain)) == (15, 0)
    assert "require-concurrent-index" in safety_rules(chain)


def test_both_keys_are_read_from_the_nearest_pyproject(tmp_path):
    chain = project(tmp_path, "min_server_version = 17\nlint_safety_after = 2")
    assert (config.min_server_version(chain), config.lint_safety_after(chain)) == (17, 2)
    assert safety_rules(chain) == []  # version 2 is applied everywhere: not judged
    nearer = project(tmp_path / "nearer", "lint_safety_after = 1")  # inside the first one
    assert "require-concurrent-index" in safety_rules(nearer)


@pytest.mark.parametrize("value", ["-1", "'8'", "true", "2.5"])
def test_a_lint_safety_after_that_is_not_a_version_is_a_usage_error(tmp_path, value):
    chain = project(tmp_path, f"lint_safety_after = {value}")
    with pytest.raises(UsageError, match="lint_safety_after must be a version number"):
        lint(chain)


@pytest.mark.parametrize(
    "settings,said",
    [
        ("lint_safety_after = -1", "[tool.liftdb] lint_safety_after must be a version number"
         " (0 or more), not -1"),
        ("lint_safety_after = [", "cannot read it: "),
    ],
)  # fmt: skip
@pytest.mark.parametrize("trace", [False, True], ids=["lint", "lint --trace"])
def test_the_cli_refuses_a_bad_setting_in_one_line(tmp_path, settings, said, trace):
    chain = project(tmp_path, settings)
    command = [sys.executable, "-m", "runner", "--sql-dir", str(chain), "lint"]
    result = subprocess.run(
        command + (["--trace"] if trace else []),
        capture_output=True, text=True, timeout=COMMAND_TIMEOUT,
        env={**os.environ, "NO_COLOR": "1"},
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith(f"liftdb: error: {tmp_path / 'pyproject.toml'}: ")
    assert said in line
    assert "Traceback" not in result.stdout + result.stderr
