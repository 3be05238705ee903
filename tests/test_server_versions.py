"""What PostgreSQL 16, 17 and 18 added, proved on a real server: the lint names it, an older
server refuses it, a new enough one accepts it, and migrate refuses it before running.

Each case of ``tests/version_cases/<version>/`` is one migration (see the README
there). The lint finds the feature on one statement, naming that version, when the
chain must run on 15, and finds nothing when it must run on that version. Then the
case is migrated on the server under test: a server of that version or newer
applies it (so accepts the syntax); an older one is refused by the pre-flight at the
feature's ``file:line:col`` with the database left untouched, and then, asked
statement by statement, runs every other statement and refuses that one: the
server is the oracle for the catalogue in ``runner/features.py``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from processes import COMMAND_TIMEOUT

from runner import api, config, features, sqltree
from runner.errors import LayoutError, UsageError
from runner.lint import lint

CASES = Path(__file__).resolve().parent / "version_cases"


def cases() -> list:
    return [
        pytest.param(path, id=f"{path.parent.name}/{path.stem}")
        for path in sorted(CASES.glob("*/*.sql"))
    ]


@pytest.fixture(scope="module")
def server_major(server_url: str) -> int:
    with psycopg.connect(server_url) as conn:
        return conn.info.server_version // 10000


def chain_of(case: Path, tmp_path: Path) -> Path:
    chain = tmp_path / "sql"
    chain.mkdir()
    (chain / "00001_case.sql").write_text(case.read_text())
    (chain / "00001_case.rollback.sql").write_text("")
    return chain


def statements(text: str) -> list[tuple[int, int, str]]:
    """(start, end, SQL) of each statement of a file."""
    found = []
    for raw in sqltree.parse(text):
        start = raw.stmt_location or 0
        end = start + raw.stmt_len if raw.stmt_len else len(text)
        found.append((start, end, text[start:end]))
    return found


def server_version_findings(chain: Path, oldest: int) -> list:
    return [
        f for f in lint(chain, min_server_version=oldest).findings if f.rule == "server-version"
    ]


@pytest.mark.parametrize("case", cases())
def test_feature_is_named_by_the_lint_and_decided_by_the_server(
    case, tmp_path, emptied_url, server_major
):
    since = int(case.parent.name)
    text = case.read_text()
    chain = chain_of(case, tmp_path)
    uses = {
        index: [u for u in features.uses(sqltree.parse(text)[index].stmt, text, start, end)]
        for index, (start, end, _) in enumerate(statements(text))
    }
    [(feature_index, found)] = [(i, u) for i, u in uses.items() if u]  # one statement uses it
    assert max(use.feature.since for use in found) == since

    findings = server_version_findings(chain, features.OLDEST)
    assert findings and all(f.path.endswith("00001_case.sql") for f in findings)
    start, end, _ = statements(text)[feature_index]
    first_line = text.count("\n", 0, start) + 1
    last_line = text.count("\n", 0, end) + 1
    assert all(first_line <= f.line <= last_line for f in findings)
    assert any(f"needs PostgreSQL {since};" in f.message for f in findings)
    assert server_version_findings(chain, since) == []

    url = emptied_url
    if server_major >= since:
        api.migrate(url, chain)  # the server accepts every statement
        assert api.applied_versions(url) == [1]
        return
    with pytest.raises(LayoutError) as refused:
        api.migrate(url, chain)
    shown = findings[0]
    assert refused.value.message.startswith(
        f"{chain / '00001_case.sql'}:{shown.line}:{shown.col}: "
    ), refused.value.message
    assert re.search(
        rf": .+ needs PostgreSQL 1[6-8]; the server is PostgreSQL {server_major}\.[0-9]+$",
        refused.value.message,
    ), refused.value.message
    with psycopg.connect(url, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace"
        ).fetchone()[0]
        assert tables == 0, "the pre-flight ran something"
        for index, (_, _, sql) in enumerate(statements(text)):
            if index != feature_index:
                conn.execute(sql)
                continue
            with pytest.raises(psycopg.Error):
                conn.execute(sql)


def test_min_server_version_is_read_from_the_projects_pyproject(tmp_path):
    project = tmp_path / "project"
    chain = project / "db" / "sql"
    chain.mkdir(parents=True)
    assert config.min_server_version(chain) == features.OLDEST  # no pyproject.toml: 15
    (project / "pyproject.toml").write_text("[tool.liftdb]\nmin_server_version = 18\n")
    config._settings.cache_clear()
    assert config.min_server_version(chain) == 18
    (chain / "00001_virtual.sql").write_text(
        "CREATE TABLE prices (net numeric, gross numeric GENERATED ALWAYS AS (net * 2));\n"
    )
    (chain / "00001_virtual.rollback.sql").write_text("DROP TABLE prices;\n")
    assert [f for f in lint(chain).findings if f.rule == "server-version"] == []
    (project / "pyproject.toml").write_text("[tool.liftdb]\nmin_server_version = 17\n")
    config._settings.cache_clear()
    [finding] = [f for f in lint(chain).findings if f.rule == "server-version"]
    assert (finding.line, finding.col) == (1, 49)  # at GENERATED
    assert "needs PostgreSQL 18; the chain must run on PostgreSQL 17" in finding.message


@pytest.mark.parametrize("value", ["14", "'15'", "19", "true"])
def test_a_min_server_version_liftdb_does_not_know_is_a_usage_error(tmp_path, value):
    (tmp_path / "pyproject.toml").write_text(f"[tool.liftdb]\nmin_server_version = {value}\n")
    config._settings.cache_clear()
    with pytest.raises(UsageError, match="min_server_version must be one of 15, 16, 17, 18"):
        config.min_server_version(tmp_path)


def test_the_cli_refuses_a_min_server_version_it_does_not_know_in_one_line(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.liftdb]\nmin_server_version = 14\n")
    chain = chain_of(CASES / "18" / "uuidv7.sql", tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "runner", "--sql-dir", str(chain), "lint"],
        capture_output=True, text=True, timeout=COMMAND_TIMEOUT,
        env={**os.environ, "NO_COLOR": "1"},
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"liftdb: error: {tmp_path / 'pyproject.toml'}: [tool.liftdb] min_server_version must"
        " be one of 15, 16, 17, 18 (the versions liftdb knows), not 14"
    ]
    assert result.stdout == ""
