"""The lint's folded model is what PostgreSQL builds, for every kind of DDL (differential).

Each chain (the project's own, every case of ``tests/lint_cases`` and of
``tests/model_cases``, each statement of the oracle's corpus and its column type
changes in ``tests/lint_cases/oracle.toml``) is applied to a real server version by
version, and the model ``liftdb lint`` folds without a server is compared with
``pg_catalog``,
every user schema, object by object (``tests/catalog_model.py``: expressions
compared in the server's own words). Then the last version is rolled back on
the server: the lint must report ``irreversible`` for it exactly when the
catalog did not come back to what it was before that version.

A version the server refuses ends the comparison at the version before it.
That is expected of some lint cases (a syntax error, a ``BEGIN`` in a
transactional file); a model case must apply, unless the lint itself says it
needs a newer server than this one (``server-version``), and then the server
must refuse it. A model case whose model may differ must say so with
``not-modelled`` findings, listed in its ``NAME.expected``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg
import pytest
from case_chains import (
    MODEL_CASES,
    ORACLE,
    build,
    build_statement,
    build_type_changes,
    lint_cases,
    model_cases,
)
from catalog_model import diff, from_catalog, from_model
from conftest import SQL_DIR

from runner import api, loader
from runner.errors import LayoutError, LiftdbError
from runner.lint import lint
from runner.lint.rules import RULES

TYPE_CHANGES = "the oracle's type changes"
CASES = (
    [pytest.param(SQL_DIR, id="sql")]
    + [pytest.param(p, id=f"model_cases/{p.name}") for p in model_cases()]
    + [
        pytest.param(p, id=f"lint_cases/{rule}/{kind}/{name}")
        for kind in ("ok", "bad")
        for rule, name, p in lint_cases(kind)
    ]
    # The statements and type changes the oracle observes (tests/lint_cases/oracle.toml).
    + [pytest.param(s, id=f"oracle corpus/{s}") for s in ORACLE["corpus"]["statements"]]
    + [pytest.param(TYPE_CHANGES, id="oracle matrix")]
)


@pytest.fixture(scope="module")
def server_major(server_url: str) -> int:
    with psycopg.connect(server_url) as conn:
        return conn.info.server_version // 10000


def chain_of(source: Path | str, tmp_path: Path) -> Path:
    if source == TYPE_CHANGES:
        return build_type_changes(tmp_path)
    if isinstance(source, str):
        return build_statement(source, tmp_path)
    if source == SQL_DIR:
        return shutil.copytree(SQL_DIR, tmp_path / "chain")
    return build(source, tmp_path, fill_rollbacks=source.is_relative_to(MODEL_CASES))


def must_apply(source: Path | str) -> bool:
    """The project's chain, a model case and what the oracle runs apply on every server."""
    return isinstance(source, str) or source == SQL_DIR or source.is_relative_to(MODEL_CASES)


def prefix(chain: Path, last: int, tmp_path: Path) -> Path:
    """A copy of the chain with versions 1..``last`` only."""
    target = tmp_path / f"upto{last}"
    target.mkdir()
    for version in loader.load(chain).versions[:last]:
        for sql_file in (version.up, version.rollback):
            shutil.copy(sql_file.path, target / sql_file.path.name)
    return target


def reversible_shape(conn) -> dict:
    """The catalog as a rollback must restore it: whether a constraint (a table's or a
    domain's) was validated aside (VALIDATE has no undo; the lint does not ask for one)."""

    def restorable(key: str, value: tuple) -> tuple:
        if key.startswith("constraint "):
            return value[:7] + (None,) + value[8:]
        if key.startswith("type "):
            return value[:3] + (tuple(check for check, _ in value[3]),)
        return value

    return {key: restorable(key, value) for key, value in from_catalog(conn).items()}


def apply_in_order(url: str, chain: Path, head: int) -> tuple[int, str | None, dict | None]:
    """Migrate version by version: (the last version applied, the server's or the
    pre-flight's refusal of the next, the catalog just before the last version)."""
    applied, before = 0, None
    for number in range(1, head + 1):
        if number == head:
            with psycopg.connect(url) as conn:
                before = reversible_shape(conn)
        try:
            api.migrate(url, chain, to=number)
        except LiftdbError as exc:
            return applied, exc.message, before
        applied = number
    return applied, None, before


@pytest.mark.parametrize("source", CASES)
def test_model_equals_the_catalog(emptied_url, server_major, tmp_path, source):
    url = emptied_url
    chain = chain_of(source, tmp_path)
    try:
        head = len(loader.load(chain))
    except LayoutError as exc:  # migrate refuses the folder: the lint must say why too
        layout = [f for f in lint(chain).findings if RULES.get(f.rule) == "layout"]
        assert layout, f"migrate refuses the folder ({exc}), the lint finds no layout problem"
        return
    applied, refusal, before = apply_in_order(url, chain, head)
    newer = {  # versions the lint says this server is too old for
        int(Path(f.path).name[:5])
        for f in lint(chain, min_server_version=server_major).findings
        if f.rule == "server-version"
    }
    if newer:
        assert refusal is not None and applied + 1 == min(newer), (
            f"the lint says version {min(newer)} needs a newer server, the server"
            f" {'refused version ' + str(applied + 1) if refusal else 'applied it'}"
        )
    elif must_apply(source):
        assert refusal is None, f"the server refused version {applied + 1}: {refusal}"

    compared = chain if applied == head else prefix(chain, applied, tmp_path)
    result = lint(compared, min_server_version=server_major)
    assert [f.as_text() for f in result.findings if f.rule == "internal-error"] == []
    unmodelled = [f.as_text() for f in result.findings if f.rule == "not-modelled"]
    with psycopg.connect(url, autocommit=True) as conn:
        differences = diff(from_model(conn, result.model), from_catalog(conn))
    if isinstance(source, Path) and source.is_relative_to(MODEL_CASES):
        # A model case lists its not-modelled findings.
        expected_file = source.with_suffix(".expected")
        expected = expected_file.read_text().splitlines() if expected_file.exists() else []
        shown = [line.replace(f"{compared}/", "") for line in unmodelled]
        assert shown == expected, "\n".join(differences)
    if not unmodelled:  # else the lint said where the model may part from the catalog
        assert differences == []

    if applied != head or head < 2:
        return
    irreversible = [
        f for f in result.findings if f.rule == "irreversible" and f"{head:05d}_" in f.path
    ]
    api.rollback(url, chain, steps=1)
    with psycopg.connect(url) as conn:
        after = reversible_shape(conn)
    assert bool(irreversible) == (after != before), (
        f"the lint says {'irreversible' if irreversible else 'reversible'}, the server's"
        f" catalog after the rollback: {diff(after, before) or 'as before'}"
    )
