"""The lint rules against cases kept as data (goose testdata style): adding a case is adding files.

See tests/lint_cases/README.md for the layout.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from case_chains import LINT_CASES, build, lint_cases

from runner.lint import lint

CASES = LINT_CASES


def cases(kind: str) -> list[tuple[str, str]]:
    return [(rule, name) for rule, name, _ in lint_cases(kind)]


def build_chain(rule: str, kind: str, name: str, tmp_path: Path) -> Path:
    """The case as a chain in tmp_path/chain (tests/case_chains.py says how)."""
    source = CASES / rule / kind / name
    return build(source if source.is_dir() else source.with_name(f"{name}.sql"), tmp_path)


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
