"""``liftdb lint``: the real chain is clean, and each mutation of it is caught by its rule.

Static: no server. Mutations copy sql/ to a temporary folder and change it the
way a careless migration would; statements are cut out by pglast's offsets,
never by pattern matching over the SQL.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pglast
import pytest
from conftest import REPO, SQL_DIR
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from processes import COMMAND_TIMEOUT

from runner.lint import lint
from runner.lint.rules import RULES

TICKETS = REPO.parent / "shared" / "tickets"


def liftdb(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "runner", *args],
        capture_output=True, text=True, cwd=cwd, timeout=COMMAND_TIMEOUT,
    )  # fmt: skip


def copy_chain(tmp_path: Path) -> Path:
    """The project's chain in tmp_path/sql, under a copy of its pyproject.toml (its
    ``[tool.liftdb]`` settings: the lint judges the copy as it judges the project)."""
    target = tmp_path / "sql"
    shutil.copytree(SQL_DIR, target)
    shutil.copy(SQL_DIR.parent / "pyproject.toml", tmp_path / "pyproject.toml")
    return target


def cut_statement(path: Path, starts_with: str) -> None:
    """Remove the one statement whose text starts with ``starts_with``."""
    text = path.read_text()
    raws = [r for r in pglast.parse_sql(text) if text[r.stmt_location :].startswith(starts_with)]
    assert len(raws) == 1, f"{starts_with!r} is not one statement of {path.name}"
    start = raws[0].stmt_location
    end = start + raws[0].stmt_len + 1  # and its semicolon
    path.write_text(text[:start] + text[end:])


def replace_once(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} is not once in {path.name}"
    path.write_text(text.replace(old, new))


def rules_found(directory: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for finding in lint(directory).findings:
        found.setdefault(finding.rule, []).append(finding.message)
    return found


# --- the real chain -------------------------------------------------------------------


def test_real_chain_is_clean():
    assert [f.as_text() for f in lint(SQL_DIR).findings] == []


def test_cli_exits_0_on_the_real_chain_and_1_with_sorted_findings(tmp_path):
    assert liftdb("lint").returncode == 0
    chain = copy_chain(tmp_path)
    (chain / "00009_add_lift_notes.sql").write_text(
        "ALTER TABLE lifts ADD COLUMN notes text NOT NULL;\n"
        "CREATE INDEX lifts_name_idx ON lifts (name);\n"
    )
    (chain / "00009_add_lift_notes.rollback.sql").write_text(
        "DROP INDEX lifts_name_idx;\nALTER TABLE lifts DROP COLUMN notes;\n"
    )
    result = liftdb("--sql-dir", str(chain), "lint")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines == sorted(lines)
    assert any(
        line.startswith(f"{chain}/00009_add_lift_notes.sql:1:1: adding-required-field: ")
        for line in lines
    )
    assert f"{chain}/00009_add_lift_notes.sql:2:1: require-concurrent-index: " in result.stdout
    assert "finding(s)" in result.stderr and "Traceback" not in result.stderr


def test_json_format_lists_the_same_findings(tmp_path):
    chain = copy_chain(tmp_path)
    cut_statement(chain / "00008_create_lookup_tables.rollback.sql", "DROP TABLE daily_lookups")
    text = liftdb("--sql-dir", str(chain), "lint")
    as_json = liftdb("--sql-dir", str(chain), "lint", "--format", "json")
    assert as_json.returncode == 1
    document = json.loads(as_json.stdout)
    assert document["count"] == len(text.stdout.splitlines()) > 0
    assert {f["rule"] for f in document["findings"]} >= {"irreversible"}
    first = document["findings"][0]
    assert text.stdout.splitlines()[0] == (
        f"{first['path']}:{first['line']}:{first['col']}: {first['rule']}: {first['message']}"
    )


def test_a_file_argument_reports_only_that_file(tmp_path):
    chain = copy_chain(tmp_path)
    (chain / "00009_index_lifts.sql").write_text("CREATE INDEX lifts_name_idx ON lifts (name);\n")
    (chain / "00009_index_lifts.rollback.sql").write_text("DROP INDEX lifts_name_idx;\n")
    result = liftdb("lint", str(chain / "00009_index_lifts.sql"))
    assert result.returncode == 1
    assert result.stdout and all(
        line.startswith(f"{chain}/00009_index_lifts.sql:") for line in result.stdout.splitlines()
    )


# --- mutations of the real chain, each caught by the right rule -----------------------


def rebuild_sql() -> str:
    """The rebuild a careless version does: the table and its constraints, none of its indexes.

    Derived from the real CREATE TABLE (pglast, not text edits): a copy under a new name
    with renamed constraints, the rows copied, the old table dropped, the new one renamed.
    """
    from pglast import ast
    from pglast.stream import RawStream

    text = (SQL_DIR / "00006_create_progression_logs.sql").read_text()
    create = next(
        r.stmt
        for r in pglast.parse_sql(text)
        if isinstance(r.stmt, ast.CreateStmt) and r.stmt.relation.relname == "progression_logs"
    )
    create.relation.relname = "progression_logs_new"
    for element in create.tableElts:
        if isinstance(element, ast.Constraint):
            element.conname = element.conname.replace("progression_logs_", "progression_logs_new_")
    return (
        f"{RawStream()(create)};\n"
        "COMMENT ON TABLE progression_logs_new IS 'The log, rebuilt.';\n"
        "INSERT INTO progression_logs_new SELECT * FROM progression_logs;\n"
        "DROP TABLE progression_logs;\n"
        "ALTER TABLE progression_logs_new RENAME TO progression_logs;\n"
    )


def drop_history_index(chain: Path) -> None:
    cut_statement(
        chain / "00006_create_progression_logs.sql",
        "CREATE INDEX progression_logs_user_id_lift_id_applied_at_idx",
    )


def cascade_progression_fk(chain: Path) -> None:
    replace_once(
        chain / "00006_create_progression_logs.sql",
        "REFERENCES progressions (id) ON DELETE RESTRICT",
        "REFERENCES progressions (id) ON DELETE CASCADE",
    )


def idempotency_key_without_lift(chain: Path) -> None:
    replace_once(
        chain / "00006_create_progression_logs.sql",
        "UNIQUE (user_id, progression_id, lift_id, trigger_type, applied_at)",
        "UNIQUE (user_id, progression_id, trigger_type, applied_at)",
    )


def rollback_missing_a_statement(chain: Path) -> None:
    cut_statement(
        chain / "00008_create_lookup_tables.rollback.sql",
        "DROP FUNCTION daily_lookup_entries_are_valid",
    )


def rebuild_without_indexes(chain: Path) -> None:
    (chain / "00009_rebuild_progression_logs.sql").write_text(rebuild_sql())
    (chain / "00009_rebuild_progression_logs.rollback.sql").write_text("SELECT 1;\n")


def index_without_concurrently(chain: Path) -> None:
    (chain / "00009_index_trigger_type.sql").write_text(
        "CREATE INDEX progression_logs_trigger_type_idx ON progression_logs (trigger_type);\n"
    )
    (chain / "00009_index_trigger_type.rollback.sql").write_text(
        "DROP INDEX progression_logs_trigger_type_idx;\n"
    )


MUTATIONS = {
    "drop_history_index": (
        drop_history_index,
        "contract",
        "no index serves the access path (user_id, lift_id, applied_at DESC)",
    ),
    "cascade_progression_fk": (
        cascade_progression_fk,
        "contract",
        "foreign key (progression_id) -> progressions is ON DELETE CASCADE, not RESTRICT",
    ),
    "idempotency_key_without_lift": (
        idempotency_key_without_lift,
        "contract",
        "unique (user_id, progression_id, lift_id, trigger_type, applied_at) is missing",
    ),
    "rollback_missing_a_statement": (
        rollback_missing_a_statement,
        "irreversible",
        "function daily_lookup_entries_are_valid(jsonb) added",
    ),
    "rebuild_without_indexes": (
        rebuild_without_indexes,
        "contract",
        "no index serves the access path (user_id, applied_at DESC)",
    ),
    "index_without_concurrently": (
        index_without_concurrently,
        "require-concurrent-index",
        "CREATE INDEX on progression_logs, which holds data",
    ),
}


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_mutation_is_caught_by_its_rule(tmp_path, name):
    mutate, rule, words = MUTATIONS[name]
    chain = copy_chain(tmp_path)
    mutate(chain)
    found = rules_found(chain)
    assert rule in found, f"{name}: expected {rule}, found {found}"
    assert any(words in message for message in found[rule]), found[rule]


def test_rebuild_also_reports_the_dropped_table_and_unindexed_foreign_keys(tmp_path):
    chain = copy_chain(tmp_path)
    rebuild_without_indexes(chain)
    found = rules_found(chain)
    assert "ban-drop-table" in found
    assert any("progression_logs_new_lift_id_fkey" in m for m in found["unindexed-foreign-key"])


# --- the contract covers the tickets --------------------------------------------------

CONTRACT = tomllib.loads((SQL_DIR / "contract.toml").read_text())["tables"]
# The tickets' acceptance criteria and the README's fixes, as data in the repository: a
# missing or empty file fails these tests (reading it is not optional), never skips them.
REQUIREMENTS = tomllib.loads((REPO / "tests" / "requirements.toml").read_text())["requirement"]
TICKETS = {"002", "003", "004"}
FIXES = {1, 2, 3, 4, 5}
NEEDS = (
    "column", "primary_key", "unique", "unique_exactly", "access_path", "no_default",
    "columns", "every_foreign_key_served",
)  # fmt: skip


def test_requirements_cover_every_ticket_and_every_fix():
    assert {r["ticket"] for r in REQUIREMENTS if "ticket" in r} == TICKETS
    assert {r["fix"] for r in REQUIREMENTS if "fix" in r} == FIXES
    for requirement in REQUIREMENTS:
        assert requirement["says"] and requirement["table"], requirement
        assert any(need in requirement for need in NEEDS), requirement


def served(spec: dict, columns: list[str]) -> bool:
    """Whether an access path or a unique key of the contract's table leads with
    ``columns`` in order (an index serves any prefix of its columns)."""
    paths = [[c.split()[0] for c in path] for path in spec.get("access_paths", [])]
    paths += [u["columns"] for u in spec.get("unique", [])]
    return any(path[: len(columns)] == columns for path in paths)


@pytest.mark.parametrize(
    "requirement",
    REQUIREMENTS,
    ids=[f"{r.get('ticket') or 'fix ' + str(r['fix'])}: {r['says']}" for r in REQUIREMENTS],
)
def test_contract_states_each_requirement(requirement):
    spec = CONTRACT[requirement["table"]]
    columns = spec["columns"]
    name = requirement.get("column")
    if name is not None:
        assert name in columns
        want = columns[name]
        if "type" in requirement:
            assert want["type"].split("(")[0] == requirement["type"].split("(")[0]
            if "(" in requirement["type"]:
                assert want["type"] == requirement["type"]
        if "nullable" in requirement:
            assert want["nullable"] is requirement["nullable"]
        if "default" in requirement:
            assert str(want["default"]).lower() == requirement["default"]
        if "references" in requirement:
            assert requirement["references"] in {
                fk["references"] for fk in spec["foreign_keys"] if fk["columns"] == [name]
            }
        if "on_delete" in requirement:
            [fk] = [fk for fk in spec["foreign_keys"] if fk["columns"] == [name]]
            assert fk["on_delete"] == requirement["on_delete"]
    if "primary_key" in requirement:
        assert spec["primary_key"] == requirement["primary_key"]
    if "unique" in requirement:
        # The contract's key may add columns (README fix 1 adds lift_id), never drop one.
        assert any(set(requirement["unique"]) <= set(u["columns"]) for u in spec["unique"])
    if "unique_exactly" in requirement:
        [key] = [u for u in spec["unique"] if u["columns"] == requirement["unique_exactly"]]
        if "nulls_not_distinct" in requirement:
            assert key.get("nulls_not_distinct", False) is requirement["nulls_not_distinct"]
    if "access_path" in requirement:
        assert served(spec, requirement["access_path"])
    if "no_default" in requirement:
        assert "default" not in columns[requirement["no_default"]]
    if "columns" in requirement:
        assert set(requirement["columns"]) <= set(columns)
    if requirement.get("every_foreign_key_served"):
        for fk in spec.get("foreign_keys", []):
            assert served(spec, fk["columns"]), fk


def test_readme_documents_every_rule():
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Lint rules", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([a-z-]+)` \|", section, flags=re.M))
    assert documented == set(RULES)


# --- arbitrary text never breaks the linter -------------------------------------------


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.one_of(
        st.text(max_size=300),
        st.lists(
            st.sampled_from(
                [
                    "CREATE TABLE t (id int PRIMARY KEY);",
                    "ALTER TABLE users ADD COLUMN x int;",
                    "DROP TABLE users;",
                    "CREATE INDEX ON lifts (name);",
                    "-- lint: allow ban-drop-table",
                    "-- lint: allow nonsense -- why",
                    "ALTER TABLE lifts RENAME TO l;",
                    "COMMENT ON TABLE t IS NULL;",
                    "$$",
                    "'",
                    "\x00",
                    "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;",
                ]
            ),
            max_size=8,
        ).map("\n".join),
    )
)
def test_arbitrary_text_as_a_migration_gives_findings_never_a_traceback(tmp_path_factory, text):
    chain = copy_chain(tmp_path_factory.mktemp("chain"))
    (chain / "00009_arbitrary.sql").write_text(text, encoding="utf-8", errors="surrogatepass")
    (chain / "00009_arbitrary.rollback.sql").write_text("")
    result = lint(chain)
    assert all(f.rule in RULES and f.message for f in result.findings)


# --- one problem, one finding ---------------------------------------------------------


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(b"CREATE TABLE progression_logs (,\n", id="syntax error"),
        pytest.param(b"CREATE TABLE caf\xe9;\n", id="not UTF-8"),
    ],
)
def test_a_file_that_cannot_be_read_is_one_finding_not_a_cascade(tmp_path, damage):
    chain = copy_chain(tmp_path)
    broken = chain / "00006_create_progression_logs.sql"
    broken.write_bytes(damage)
    findings = lint(chain).findings
    assert [(Path(f.path).name, f.rule) for f in findings] == [
        (broken.name, "parse-error" if b"(," in damage else "unreadable-file")
    ]
    assert "the contract and the schema-wide rules were not checked" in findings[0].message


def test_a_bug_in_the_fold_is_an_internal_error_naming_the_statement(tmp_path, monkeypatch):
    from runner.lint.fold import dispatch

    def broken(fold, node):
        raise KeyError("something liftdb did not expect")

    monkeypatch.setitem(dispatch.HANDLERS, "CommentStmt", broken)
    findings = lint(SQL_DIR).findings
    errors = [f for f in findings if f.rule == "internal-error"]
    assert errors and not [f for f in findings if f.rule == "parse-error"]
    assert (Path(errors[0].path).name, errors[0].line) == ("00001_create_users.sql", 14)
    assert errors[0].message.startswith(
        "liftdb lint failed on this statement (COMMENT ON FUNCTION set_updated_at() IS)"
    )
    assert "KeyError" in errors[0].message and "a bug in liftdb" in errors[0].message
