"""squawk, the peer linter, finds nothing on the bad cases and mutations that we miss.

Every squawk finding must be matched by one of ours on the same statement
(tests/lint_cases/squawk.toml, [equivalents]), or be a deliberate difference
there with its reason; chain-aware rules are excused on tables created in the
same version, which squawk, reading one file at a time, cannot see.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pglast
import pytest
from processes import COMMAND_TIMEOUT
from test_lint import MUTATIONS, copy_chain
from test_lint_cases import CASES, build_chain, cases

from runner.lint import lint
from runner.loader import VERSION_FILE

SQUAWK = shutil.which("squawk", path=str(Path(sys.executable).parent)) or shutil.which("squawk")
MAP = tomllib.loads((CASES / "squawk.toml").read_text())


def squawk(chain: Path) -> list[tuple[Path, int, str]]:
    """(file, 1-based line, rule) of each squawk finding on the chain's readable files."""
    files = []
    for path in sorted(chain.glob("*.sql")):
        if not VERSION_FILE.match(path.name):
            continue  # schema.sql is generated, not a migration
        try:
            path.read_text(encoding="utf-8")
            files.append(str(path))
        except UnicodeDecodeError:
            continue  # squawk stops at a non-UTF-8 file; ours reports unreadable-file
    result = subprocess.run(
        [SQUAWK, "--reporter", "json", "--pg-version", "15", *files],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
    )
    assert result.returncode in (0, 1), result.stderr
    return [(Path(f["file"]), f["line"] + 1, f["rule_name"]) for f in json.loads(result.stdout)]


def statement_at(path: Path, line: int):
    """(first line, node) of the statement that covers ``line``, or None if unparseable."""
    text = path.read_text()
    try:
        raws = pglast.parse_sql(text)
    except pglast.parser.ParseError:
        return None
    found = None
    for raw in raws:
        first = text.count("\n", 0, raw.stmt_location) + 1
        if first <= line:
            found = (first, raw.stmt)
    return found


def created_in_version(path: Path, node) -> bool:
    """The statement's table is created in the same version (this file or its up file)."""
    from pglast import ast

    relation = getattr(node, "relation", None)
    if isinstance(node, ast.DropStmt):
        names = {o[-1].sval for o in node.objects if isinstance(o, tuple)}
    else:
        names = {relation.relname} if relation is not None else set()
    up = path.with_name(path.name.replace(".rollback.sql", ".sql"))
    created = set()
    for source in {path, up}:
        for raw in pglast.parse_sql(source.read_text()):
            if isinstance(raw.stmt, ast.CreateStmt):
                created.add(raw.stmt.relation.relname)
            index = raw.stmt if isinstance(raw.stmt, ast.IndexStmt) else None
            if index is not None and index.idxname and index.relation.relname in created:
                created.add(index.idxname)
    return bool(names) and names <= created or path.name.endswith(".rollback.sql")


def unexplained(chain: Path, case: str = "") -> list[str]:
    """Squawk's findings on the chain that ours do not match and squawk.toml does not excuse;
    ``case``: the case's ``rule/bad/name``, under which [refuted] lists squawk's findings
    that a server run disproves."""
    result = lint(chain)  # a waived finding is ours too, said on purpose
    ours = {(Path(f.path).resolve(), f.line, f.rule) for f in [*result.findings, *result.waived]}
    ours_by_file = {(p, r) for p, _, r in ours}
    problems = []
    for path, line, rule in squawk(chain):
        path = path.resolve()
        if rule in MAP["differences"] or f"{case}/{path.name}:{line}" in MAP["refuted"]:
            continue
        mapped = MAP["equivalents"].get(rule)
        if mapped is None:
            problems.append(f"{path.name}:{line}: squawk {rule} is neither ours nor a difference")
            continue
        statement = statement_at(path, line)
        if statement is None:
            if any((path, r) in ours_by_file for r in mapped):
                continue
        else:
            lines = (statement[0], line)
            if any((path, at, r) in ours for r in mapped for at in lines):
                continue
            if rule in MAP["chain_aware"] and created_in_version(path, statement[1]):
                continue
        problems.append(f"{path.name}:{line}: squawk {rule} not matched by {mapped}")
    return problems


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_squawk_finds_nothing_we_miss_on_a_mutation(tmp_path, name):
    chain = copy_chain(tmp_path)
    MUTATIONS[name][0](chain)
    assert unexplained(chain) == []


@pytest.mark.parametrize("rule,name", cases("bad"))
def test_squawk_finds_nothing_we_miss_on_a_bad_case(tmp_path, rule, name):
    assert unexplained(build_chain(rule, "bad", name, tmp_path), f"{rule}/bad/{name}") == []


def test_every_refuted_finding_is_on_a_case_of_ours():
    """A [refuted] entry names a file of one of our bad cases."""
    for key in MAP["refuted"]:
        case, _, place = key.rpartition("/")
        rule, kind, name = case.split("/")
        assert (rule, name) in cases(kind), key
        file = place.partition(":")[0]
        if (CASES / case).is_dir():
            assert (CASES / case / file).is_file(), key
        else:  # a file case is version 2 of its chain
            assert (CASES / f"{case}.sql").is_file(), key
            assert file in ("00002_case.sql", "00002_case.rollback.sql"), key


def test_every_mapped_rule_is_ours():
    from runner.lint.rules import RULES

    for squawk_rule, ours in MAP["equivalents"].items():
        assert set(ours) <= set(RULES), squawk_rule
    assert set(MAP["chain_aware"]) <= set(MAP["equivalents"])
