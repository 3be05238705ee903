"""The lint rules against cases kept as data (goose testdata style): adding a case is adding files.

See tests/lint_cases/README.md for the layout.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from runner.lint import lint

CASES = Path(__file__).resolve().parent / "lint_cases"


def cases(kind: str) -> list[tuple[str, str]]:
    found = []
    for folder in sorted(p for p in CASES.iterdir() if (p / kind).is_dir()):
        for case in sorted((folder / kind).iterdir()):
            if case.is_dir() or (case.suffix == ".sql" and not case.name.endswith(".rollback.sql")):
                found.append((folder.name, case.name.removesuffix(".sql")))
    return found


def build_chain(rule: str, kind: str, name: str, tmp_path: Path) -> Path:
    """The case as a chain in tmp_path/chain: a file case is version 2 on top of base.sql;
    a folder case is used as is, with base.sql as version 1 if it has no 00001 of its own."""
    source = CASES / rule / kind
    chain = tmp_path / "chain"
    if (source / name).is_dir():
        shutil.copytree(source / name, chain)
        if any(chain.glob("00001_*")):
            return chain  # a whole chain of its own
    else:
        chain.mkdir()
        shutil.copy(source / f"{name}.sql", chain / "00002_case.sql")
    shutil.copy(CASES / "base.sql", chain / "00001_base.sql")
    shutil.copy(CASES / "base.rollback.sql", chain / "00001_base.rollback.sql")
    if (source / name).is_dir():
        return chain  # versions from 00002 on (or none), with files such as contract.toml
    rollback = source / f"{name}.rollback.sql"
    if rollback.exists():
        shutil.copy(rollback, chain / "00002_case.rollback.sql")
    else:
        (chain / "00002_case.rollback.sql").write_text("")
    return chain


def findings_of(rule: str, chain: Path) -> list[str]:
    return [
        f"{Path(f.path).relative_to(chain)}:{f.line}:{f.col}: {f.rule}: {f.message}"
        for f in lint(chain).findings
        if f.rule == rule
    ]


@pytest.mark.parametrize("rule,name", cases("ok"))
def test_ok_case_has_no_finding_of_its_rule(tmp_path, rule, name):
    assert findings_of(rule, build_chain(rule, "ok", name, tmp_path)) == []


@pytest.mark.parametrize("rule,name", cases("bad"))
def test_bad_case_has_exactly_its_expected_findings(tmp_path, rule, name):
    expected = (CASES / rule / "bad" / f"{name}.expected").read_text().splitlines()
    assert findings_of(rule, build_chain(rule, "bad", name, tmp_path)) == expected


def test_every_rule_has_a_bad_case():
    from runner.lint.rules import RULES

    assert {rule for rule, _ in cases("bad")} == set(RULES)
