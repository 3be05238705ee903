"""``liftdb lint --trace`` and the lint's formats for CI (issue 12, parts 5 and 6).

The trace runs as a user runs it (``python -m runner``): pending versions on a scratch
database of the target's server, the target only read; each statement's observation
beside the lint's verdict, in text and JSON. ``--format github`` and ``--format sarif``
carry the same findings as ``--format json``, in the shapes GitHub Actions and code
scanning read (SARIF's required fields checked here).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import psycopg
import pytest
from processes import assert_one_line_error, liftdb, recorded_versions
from test_lint_cases import CASES

from runner import api, catalog

ROWS = "500"


def write_chain(folder: Path, *versions: tuple[str, str]) -> Path:
    """base.sql as version 1, then ``(up, rollback)`` pairs as versions 2, 3, ..."""
    folder.mkdir()
    (folder / "00001_base.sql").write_text((CASES / "base.sql").read_text())
    (folder / "00001_base.rollback.sql").write_text((CASES / "base.rollback.sql").read_text())
    for number, (up, rollback) in enumerate(versions, start=2):
        (folder / f"{number:05d}_step_{number}.sql").write_text(up)
        (folder / f"{number:05d}_step_{number}.rollback.sql").write_text(rollback)
    return folder


ADD_TOKEN = (
    "-- lock_timeout: 5s\n"
    "ALTER TABLE orders ADD COLUMN token uuid DEFAULT gen_random_uuid();\n"
    "CREATE INDEX orders_total_idx ON orders (total);\n",
    "-- lock_timeout: 5s\nDROP INDEX orders_total_idx;\nALTER TABLE orders DROP COLUMN token;\n",
)


def trace_version_2(url: str, chain: Path):
    """``liftdb lint --trace --format json`` of the chain's version 2, as a user runs it."""
    return liftdb(
        url, chain, "lint", "--trace", "--rows", ROWS, "--format", "json",
        str(chain / "00002_step_2.sql"),
    )  # fmt: skip


def scratch_databases(url: str) -> list[str]:
    with psycopg.connect(url, autocommit=True) as conn:
        return [
            name
            for (name,) in conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE 'liftdb_trace_%'"
            )
        ]


def test_trace_runs_the_pending_version_and_leaves_the_target_as_it_was(database_url, tmp_path):
    chain = write_chain(tmp_path / "sql", ADD_TOKEN)
    api.migrate(database_url, chain, to=1)
    with psycopg.connect(database_url, autocommit=True) as conn:
        before = catalog.snapshot(conn)
    result = liftdb(database_url, chain, "lint", "--trace", "--rows", ROWS)
    assert_one_line_error(result, 1, "lint: 3 finding(s), 0 verdict(s) differ from the server")
    out = result.stdout
    assert "version 1," not in out and f"{chain}/00002_step_2.sql: version 2" in out
    assert "rows: orders 500" in out
    assert re.search(r"rewrote orders; read orders whole \([\d,]+ rows\)", out)
    assert "lint: volatile-default (rewrite) -- agrees" in out
    assert (
        "holding from earlier in the version orders ACCESS EXCLUSIVE (blocks reads and writes);"
        " read orders whole (500 rows)"
    ) in out
    assert "lint: require-concurrent-index (scan) -- agrees" in out
    assert "2 agrees; 0 difference(s) from the server" in out
    # The target: nothing applied, no row written, no object made; no scratch database left.
    assert recorded_versions(database_url) == [1]
    with psycopg.connect(database_url, autocommit=True) as conn:
        assert catalog.snapshot(conn) == before
        assert conn.execute("SELECT count(*) FROM orders").fetchone() == (0,)
    assert scratch_databases(database_url) == []


def test_trace_as_json(database_url, tmp_path):
    chain = write_chain(tmp_path / "sql", ADD_TOKEN)
    result = trace_version_2(database_url, chain)
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    assert document["count"] == len(document["findings"]) == 2  # the file's; not its rollback's
    assert {f["path"] for f in document["findings"]} == {f"{chain}/00002_step_2.sql"}
    trace = document["trace"]
    assert (trace["rows"], trace["differences"], trace["stopped"]) == (500, 0, None)
    [version] = trace["versions"]
    assert (version["version"], version["transactional"], version["outcome"]) == (
        2, True, "committed",
    )  # fmt: skip
    assert version["rows"] == {"accounts": 500, "orders": 500}
    token, index = version["statements"]
    assert (token["observed"], token["lint"]["claim"], token["verdict"]) == (
        "rewrite", "rewrite", "agrees",
    )  # fmt: skip
    assert token["rewritten"] == ["orders"] and token["ms"] >= 0
    assert {"table": "orders", "index": None, "mode": "ACCESS EXCLUSIVE",
            "blocks": "reads and writes"} in token["locks"]  # fmt: skip
    assert (index["observed"], index["read_whole"], index["verdict"]) == (
        "scan", {"orders": 500}, "agrees",
    )  # fmt: skip
    assert index["lint"]["findings"][0]["rule"] == "require-concurrent-index"
    assert version["lock_timeout"]["verdict"] == "agrees"


def test_a_statement_the_lint_cannot_see_differs(database_url, tmp_path):
    """Dynamic SQL hides a rewrite from any static lint: the lint can only say it did not
    model the block (not-modelled); the trace shows the server's truth, and differs."""
    chain = write_chain(
        tmp_path / "sql",
        (
            "-- lock_timeout: 5s\nDO $$ BEGIN\n"
            "    EXECUTE 'ALTER TABLE orders ADD COLUMN token uuid DEFAULT gen_random_uuid()';\n"
            "END $$;\n",
            "-- lock_timeout: 5s\nALTER TABLE orders DROP COLUMN token;\n",
        ),
    )
    result = trace_version_2(database_url, chain)
    assert_one_line_error(result, 1, "lint: 1 finding(s), 1 verdict(s) differ from the server")
    document = json.loads(result.stdout)
    assert [f["rule"] for f in document["findings"]] == ["not-modelled"]
    [version] = document["trace"]["versions"]
    [statement] = version["statements"]
    assert (statement["observed"], statement["verdict"]) == ("rewrite", "differs")
    assert statement["why"] == "the lint says nothing; the server rewrote a table holding rows"


def test_syntax_the_server_lacks_is_the_lints_claim_there_only(database_url, tmp_path):
    """A VIRTUAL column (PostgreSQL 18) in a chain that must run on 15: the lint's
    server-version finding claims the statement fails, and on a server that lacks the
    feature the trace holds it to that (agrees); on 18 the claim is not this server's, and
    the column is observed as what it is there: no rewrite, no scan (agrees). The file sets
    no lock_timeout: asked for on 18, where the statement locks orders; not judged where it
    fails, taking no lock."""
    chain = write_chain(
        tmp_path / "sql",
        (
            "ALTER TABLE orders ADD COLUMN gross numeric\n"
            "    GENERATED ALWAYS AS (total * 2) VIRTUAL;\n",
            "-- lock_timeout: 5s\nALTER TABLE orders DROP COLUMN gross;\n",
        ),
    )
    with psycopg.connect(database_url) as conn:
        major = conn.info.server_version // 10000
    result = trace_version_2(database_url, chain)
    assert_one_line_error(result, 1, "lint: 2 finding(s), 0 verdict(s) differ from the server")
    document = json.loads(result.stdout)
    rules = [f["rule"] for f in document["findings"]]
    assert sorted(rules) == ["require-lock-timeout", "server-version"]
    [version] = document["trace"]["versions"]
    [statement] = version["statements"]
    claimed = [f["rule"] for f in statement["lint"]["findings"]]
    if major < 18:
        assert (statement["lint"]["claim"], claimed, statement["verdict"]) == (
            "fails", ["server-version"], "agrees",
        )  # fmt: skip
        assert version["lock_timeout"]["verdict"] == "not judged"
    else:
        # Its ACCESS EXCLUSIVE, briefly: no rewrite, no scan.
        assert (statement["observed"], statement["lint"]["claim"], claimed) == (
            "blocks", "none", [],
        )  # fmt: skip
        assert statement["verdict"] == "agrees"
        assert version["lock_timeout"]["verdict"] == "agrees"


def test_sample_rows_a_table_refuses_are_counted_not_fatal(database_url, tmp_path):
    chain = write_chain(
        tmp_path / "sql",
        (
            "CREATE TABLE odd (\n    id integer NOT NULL,\n    CONSTRAINT odd_pkey PRIMARY KEY"
            " (id),\n    CONSTRAINT odd_id_check CHECK (id < 0 AND id > 0)\n);\n"
            "COMMENT ON TABLE odd IS 'Never holds a row.';\n",
            "DROP TABLE odd;\n",
        ),
        (
            "-- lock_timeout: 5s\nALTER TABLE odd ADD COLUMN note text;\n",
            "-- lock_timeout: 5s\nALTER TABLE odd DROP COLUMN note;\n",
        ),
    )
    result = liftdb(database_url, chain, "lint", "--trace", "--rows", ROWS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "sample rows: odd: 0 rows (500 by CHECK odd_id_check refused)" in result.stdout
    assert "3 version(s)" in result.stdout and "0 difference(s)" in result.stdout


def test_nothing_pending_traces_nothing(database_url, tmp_path):
    chain = write_chain(tmp_path / "sql")
    api.migrate(database_url, chain)
    result = liftdb(database_url, chain, "lint", "--trace")
    assert result.returncode == 0, result.stderr
    assert "trace: no version to trace (every version is applied)" in result.stdout


def test_trace_options_are_checked(database_url, tmp_path):
    chain = write_chain(tmp_path / "sql")
    refused = liftdb(database_url, chain, "lint", "--trace", "--format", "sarif")
    assert_one_line_error(refused, 2, "--trace reports as text or json")
    assert_one_line_error(liftdb(database_url, chain, "lint", "--rows", "5"), 2, "--rows")
    not_up = liftdb(database_url, chain, "lint", "--trace", str(chain / "00001_base.rollback.sql"))
    assert_one_line_error(not_up, 2, "00001_base.rollback.sql", "not one")


# --- formats for CI ---------------------------------------------------------------------


@pytest.fixture
def bad_chain(tmp_path) -> Path:
    return write_chain(
        tmp_path / "sql",
        (
            "ALTER TABLE orders ADD COLUMN note text NOT NULL;\n"
            "CREATE INDEX orders_total_idx ON orders (total);\n",
            "DROP INDEX orders_total_idx;\nALTER TABLE orders DROP COLUMN note;\n",
        ),
    )


def lint_as(chain: Path, output_format: str):
    return liftdb(
        "postgresql://unused@127.0.0.1:1/unused", chain, "lint", "--format", output_format
    )


def test_github_annotations_carry_every_finding(bad_chain):
    findings = json.loads(lint_as(bad_chain, "json").stdout)["findings"]
    result = lint_as(bad_chain, "github")
    assert result.returncode == 1
    command = re.compile(r"^::error file=([^,]+),line=(\d+),col=(\d+),title=([^:]+)::(.+)$")
    parsed = [command.match(line).groups() for line in result.stdout.splitlines()]
    assert parsed == [
        (f["path"], str(f["line"]), str(f["col"]), f["rule"], f["message"]) for f in findings
    ]
    assert len(parsed) >= 3


def test_github_escapes_what_its_commands_reserve():
    from runner.lint import report
    from runner.lint.findings import Finding

    finding = Finding("sql/a,b:c.sql", 1, 2, "rule", "100% sure\nsecond line")
    assert report.github([finding]) == (
        "::error file=sql/a%2Cb%3Ac.sql,line=1,col=2,title=rule::100%25 sure%0Asecond line\n"
    )


def test_sarif_has_the_required_fields_and_every_finding(bad_chain):
    findings = json.loads(lint_as(bad_chain, "json").stdout)["findings"]
    result = lint_as(bad_chain, "sarif")
    assert result.returncode == 1
    log = json.loads(result.stdout)
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-2.1.0.json")
    [run] = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "liftdb" and driver["version"]
    rules = [rule["id"] for rule in driver["rules"]]
    assert len(rules) == len(set(rules))
    assert len(run["results"]) == len(findings)
    for result_, finding in zip(run["results"], findings, strict=True):
        assert result_["ruleId"] == finding["rule"] == rules[result_["ruleIndex"]]
        assert result_["level"] in ("none", "note", "warning", "error")
        assert result_["message"]["text"] == finding["message"]
        [location] = result_["locations"]
        physical = location["physicalLocation"]
        assert physical["artifactLocation"]["uri"] == finding["path"]
        assert physical["region"] == {"startLine": finding["line"], "startColumn": finding["col"]}


def test_a_clean_chain_gives_an_empty_sarif_log_and_no_annotation(tmp_path):
    chain = write_chain(tmp_path / "sql")
    assert lint_as(chain, "github").stdout == ""
    log = json.loads(lint_as(chain, "sarif").stdout)
    assert log["runs"][0]["results"] == []
