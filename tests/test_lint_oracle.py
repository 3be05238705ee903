"""Every safety verdict of the lint, observed on a real server (issue 12, part 2).

Each ``ok`` and ``bad`` case of a safety rule (tests/lint_cases/) runs on a database
holding base.sql with ``LIFTDB_ORACLE_ROWS`` rows in each table (50,000 by default;
one populated database per module, rows generated server-side by runner.samples),
through the same machinery as ``liftdb lint --trace`` (runner.trace): every
statement's effect is observed (rewrite by pg_relation_filenode, locks by pg_locks
of the session, full scans by pg_stat_xact_user_tables deltas) and must agree with
the effect the lint's findings on it claim; the file's locks must agree with
require-lock-timeout. A case of one transactional version runs in a transaction
rolled back; a case of several versions, or a non-transactional one, runs on a copy
of the populated database. Cases no server can judge are listed with the reason in
tests/lint_cases/oracle.toml. A case that needs a newer server than the one under
test agrees through the lint's own server-version finding (it claims the statement
fails), and that server must refuse its syntax.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import psycopg
import pytest
from case_chains import ORACLE, build, build_statement, model_cases
from conftest import scratch_database
from test_lint_cases import CASES, build_chain, cases

from runner import api, config, database, loader, samples
from runner.lint import lint
from runner.lint.rules import RULES
from runner.trace import AGREES, NOT_JUDGED, trace_versions

ROWS = int(os.environ.get("LIFTDB_ORACLE_ROWS", "50000"))
SYNTAX_ERROR = "42601"
SERVER_VERSION = "server-version"

SAFETY_CASES = [
    (rule, kind, name)
    for kind in ("bad", "ok")
    for rule, name in cases(kind)
    if RULES.get(rule) == "safety"
]


def disagreements(traced, also: str = AGREES) -> list[str]:
    """Each verdict of the traced versions that is neither ``agrees`` nor ``also``, one line."""
    verdicts = [
        (f"{s.path}:{s.line}: {s.sql.splitlines()[0]}", s.verdict)
        for v in traced
        for s in v.statements
    ] + [(f"{v.path}: lock_timeout", v.lock_timeout) for v in traced]
    return [
        f"{where}: {verdict.verdict}: {verdict.why}"
        for where, verdict in verdicts
        if verdict.verdict not in (AGREES, also)
    ]


def case_id(rule: str, kind: str, name: str) -> str:
    return f"{rule}/{kind}/{name}"


@pytest.fixture(scope="module")
def populated(server_url, tmp_path_factory):
    """A database holding version 1 of every case (base.sql), ROWS rows in each table."""
    chain = tmp_path_factory.mktemp("base")
    (chain / "00001_base.sql").write_text((CASES / "base.sql").read_text())
    (chain / "00001_base.rollback.sql").write_text((CASES / "base.rollback.sql").read_text())
    with scratch_database(server_url) as url:
        api.migrate(url, chain)
        with psycopg.connect(url, autocommit=True) as conn:
            filled = samples.fill(conn, ["accounts", "orders"], ROWS)
        assert [(f.table, f.rows, f.error) for f in filled] == [
            ("accounts", ROWS, None),
            ("orders", ROWS, None),
        ]
        yield url


@cache
def server_major(url: str) -> int:
    """The major version of the server at ``url``, asked once."""
    with psycopg.connect(url) as conn:
        return conn.info.server_version // 10000


def observe_chain(populated: str, chain: Path, server_url: str):
    """Trace every version after base.sql; (lint result, version traces)."""
    versions = loader.load(chain)
    # The lint judges for the oldest server the chain must run on: this one, when the case
    # says it needs a newer one ([tool.liftdb] min_server_version in the case's folder).
    major = server_major(populated)
    result = lint(chain, min_server_version=min(config.min_server_version(chain), major))
    numbers = [v.number for v in versions if v.number > 1]
    alone = len(numbers) == 1 and versions.get(numbers[0]).transactional
    if alone:  # observed in a transaction rolled back, on the shared database
        with database.connect(populated) as conn:
            traced, stopped = trace_versions(
                conn, populated, versions, result, numbers, ROWS, keep=False
            )
    else:
        copy = scratch_database(server_url, template=database.database_name(populated))
        with copy as url, database.connect(url) as conn:
            traced, stopped = trace_versions(conn, url, versions, result, numbers, ROWS)
    # Only a version that fails whatever the rows stops the trace: the case's last, or one
    # holding syntax this server lacks (as the lint's server-version finding says).
    lacking = stopped is not None and any(
        f.rule == SERVER_VERSION for s in traced[-1].statements for f in s.findings
    )
    assert stopped is None or traced[-1].number == numbers[-1] or lacking, stopped
    return result, traced


@pytest.mark.parametrize(
    "rule,kind,name",
    [c for c in SAFETY_CASES if case_id(*c) not in ORACLE["not_observed"]],
    ids=[case_id(*c) for c in SAFETY_CASES if case_id(*c) not in ORACLE["not_observed"]],
)
def test_verdict_agrees_with_what_the_server_does(
    populated, server_url, tmp_path, rule, kind, name
):
    chain = build_chain(rule, kind, name, tmp_path)
    result, traced = observe_chain(populated, chain, server_url)
    assert disagreements(traced) == []
    lacking = [
        s.effects.sqlstate
        for v in traced
        for s in v.statements
        if any(f.rule == SERVER_VERSION for f in s.findings)
    ]
    if lacking:
        # The case needs a newer server than this one: the lint says so (server-version,
        # whose claim it fails agreed, above), and the server refuses its syntax outright;
        # what the case's own rule claims is for a server that runs it.
        assert set(lacking) == {SYNTAX_ERROR}
        return
    # Not vacuous: a bad case's own finding claims an effect, which the server showed (above).
    claimed = {f.effect for f in [*result.findings, *result.waived] if f.rule == rule}
    if rule in ORACLE["effect_of"]:
        assert claimed <= set(ORACLE["effect_of"][rule])
        assert claimed or kind == "ok"


@pytest.mark.parametrize("source", model_cases(), ids=[p.name for p in model_cases()])
def test_model_case_verdicts_agree(populated, server_url, tmp_path, source):
    """Every kind of DDL the model folds (tests/model_cases: partitions, inheritance,
    schema moves, renames, CREATE TABLE AS, sequences...), its versions run on tables
    holding rows: what the lint claims and the locks it foresees are what the server does."""
    chain = build(source, tmp_path, fill_rollbacks=True)
    _, traced = observe_chain(populated, chain, server_url)
    # Not judged: the sample rows break a statement (a partition bound they do not meet).
    assert disagreements(traced, also=NOT_JUDGED) == []


def test_every_safety_rule_is_observed_or_says_why_not():
    """A safety rule either claims an effect the server shows, or oracle.toml says why
    its verdict is not about the server (compatibility, the runner's own rules)."""
    safety = {rule for rule, group in RULES.items() if group == "safety"}
    assert safety == set(ORACLE["effect_of"]) | set(ORACLE["not_a_server_effect"])
    assert not set(ORACLE["effect_of"]) & set(ORACLE["not_a_server_effect"])
    assert set(ORACLE["not_observed"]) <= {case_id(*c) for c in SAFETY_CASES}


# --- ALTER COLUMN TYPE, a matrix of changes -----------------------------------------------

MATRIX = ORACLE["matrix"]
FROM_TYPES = sorted({change[0] for change in MATRIX["type_changes"]})
VARIANTS = ("plain", "indexed", "checked")
MATRIX_ROWS = 2_000


def column(from_type: str, variant: str) -> str:
    return f"c{FROM_TYPES.index(from_type)}_{variant}"


def matrix_schema() -> str:
    """Version 1 of every matrix case: a table with a column per from-type and variant."""

    def check(name: str) -> str:
        return f" CHECK ({name} IS NULL OR {name} IS NOT NULL)"

    columns = ",\n".join(
        f"    {column(t, v)} {t}{check(column(t, v)) if v == 'checked' else ''}"
        for t in FROM_TYPES
        for v in VARIANTS
    )
    indexes = "".join(
        f"CREATE INDEX retyped_{column(t, 'indexed')}_idx ON retyped ({column(t, 'indexed')});\n"
        for t in FROM_TYPES
        if t != "json"  # no b-tree operator class
    )
    return (
        f"CREATE TABLE retyped (\n    id integer PRIMARY KEY,\n{columns}\n);\n{indexes}"
        "COMMENT ON TABLE retyped IS 'Columns whose types the matrix changes.';\n"
    )


def matrix_cases():
    for change in MATRIX["type_changes"]:
        zones = [None]
        if any(t.startswith(("timestamp", "time")) for t in change[:2]):
            zones += MATRIX["timezones"]
        for variant in VARIANTS:
            for zone in zones:
                yield (*change[:2], change[2] if len(change) > 2 else None, variant, zone)


@pytest.fixture(scope="module")
def retyped(server_url, tmp_path_factory):
    """The matrix's table with MATRIX_ROWS rows, and version 1 written as a file."""
    folder = tmp_path_factory.mktemp("matrix")
    schema = matrix_schema()
    (folder / "00001_create_retyped.sql").write_text(schema)
    (folder / "00001_create_retyped.rollback.sql").write_text("DROP TABLE retyped;\n")
    with scratch_database(server_url) as url:
        api.migrate(url, folder)
        with psycopg.connect(url, autocommit=True) as conn:
            [filled] = samples.fill(conn, ["retyped"], MATRIX_ROWS)
        assert (filled.rows, filled.error) == (MATRIX_ROWS, None)
        yield url, folder


@pytest.mark.parametrize(
    "old,new,using,variant,zone",
    list(matrix_cases()),
    ids=[
        f"{o}->{n}{f' using {u}' if u else ''} {v}{f' in {z}' if z else ''}"
        for o, n, u, v, z in matrix_cases()
    ],
)
def test_type_change_matrix(retyped, tmp_path, old, new, using, variant, zone):
    url, folder = retyped
    chain = tmp_path / "chain"
    chain.mkdir()
    for path in folder.iterdir():
        (chain / path.name).write_text(path.read_text())
    name = column(old, variant)
    setting = f"SET LOCAL TimeZone = '{zone}';\n" if zone else ""
    using_clause = f" USING {using.replace('c', name, 1)}" if using else ""
    (chain / "00002_retype.sql").write_text(
        f"-- lock_timeout: 5s\n{setting}"
        f"ALTER TABLE retyped ALTER COLUMN {name} TYPE {new}{using_clause};\n"
    )
    (chain / "00002_retype.rollback.sql").write_text("")
    with database.connect(url) as conn:
        traced, stopped = trace_versions(
            conn, url, loader.load(chain), lint(chain), [2], MATRIX_ROWS, keep=False
        )
    [statement] = [s for s in traced[0].statements if s.sql.startswith("ALTER")]
    assert not statement.effects.failed, statement.effects.error
    assert (statement.verdict.verdict, statement.claim) == (AGREES, statement.claim), (
        statement.verdict.why
    )


def test_binary_coercible_casts_are_the_servers(module_conn):
    from runner.lint.rules import column_type

    casts = module_conn.execute(
        "SELECT format_type(castsource, NULL), format_type(casttarget, NULL) FROM pg_cast"
        " WHERE castmethod = 'b'"
    ).fetchall()
    assert set(casts) == column_type.BINARY_COERCIBLE
    widening = module_conn.execute(
        "SELECT format_type(c.castsource, NULL) FROM pg_cast c JOIN pg_proc p"
        " ON p.oid = c.castfunc WHERE c.castsource = c.casttarget AND p.prosupport <> 0"
    ).fetchall()
    assert {t for (t,) in widening} == set(column_type.WIDENS)


def test_volatile_builtins_are_the_servers(module_conn):
    """Every pg_catalog function VOLATILE in all its overloads is in the list, and every
    name of the list that this server has is such a function (the rest are other versions')."""
    from runner.lint.rules.volatility import VOLATILE_BUILTINS

    rows = module_conn.execute(
        "SELECT proname, bool_and(provolatile = 'v') FROM pg_proc"
        " WHERE pronamespace = 'pg_catalog'::regnamespace AND prokind = 'f'"
        " AND prorettype NOT IN ('trigger'::regtype, 'event_trigger'::regtype,"
        " 'internal'::regtype, 'void'::regtype) GROUP BY proname"
    ).fetchall()
    volatile = {name for name, every in rows if every}
    assert volatile <= VOLATILE_BUILTINS
    assert (VOLATILE_BUILTINS - volatile) & {name for name, _ in rows} == set()


@pytest.mark.parametrize("statement", ORACLE["corpus"]["statements"])
def test_corpus(populated, server_url, tmp_path, statement):
    """Any statement: the effect the lint claims (none, for most) and the locks it foresees
    are what the server does."""
    _, traced = observe_chain(populated, build_statement(statement, tmp_path), server_url)
    [observed] = traced[0].statements
    assert not observed.effects.failed, observed.effects.error
    assert observed.verdict.verdict == AGREES, observed.verdict.why
