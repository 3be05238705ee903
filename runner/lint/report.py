"""Findings, and traces, as a person, a program or a CI service reads them.

Invariant: every format lists the same findings in the same order (by file, line,
column, rule): ``text`` one ``file:line:col: rule: message`` line each, so editors
annotate it like a compiler's output; ``as_json`` one document; ``github`` one
workflow command each (GitHub Actions shows them on the pull request's diff);
``sarif`` one SARIF 2.1.0 log (GitHub code scanning's upload format). A trace
(``runner.trace``) has a text and a JSON form, after the findings.
"""

from __future__ import annotations

import json

from runner.lint.findings import Finding

FORMATS = ("text", "json", "github", "sarif")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def render(findings: list[Finding], output_format: str) -> str:
    """``findings`` in one of ``FORMATS``; the text ends with a newline when not empty."""
    return {"text": text, "json": as_json, "github": github, "sarif": sarif}[output_format](
        findings
    )


def text(findings: list[Finding]) -> str:
    return "".join(f"{f.as_text()}\n" for f in sorted(findings))


def as_json(findings: list[Finding], trace=None) -> str:
    ordered = sorted(findings)
    document = {"findings": [f.as_dict() for f in ordered], "count": len(ordered)}
    if trace is not None:
        document["trace"] = trace_document(trace)
    return json.dumps(document, indent=2) + "\n"


def github(findings: list[Finding]) -> str:
    """GitHub Actions workflow commands: ``::error file=F,line=L,col=C,title=RULE::MESSAGE``."""
    return "".join(
        f"::error file={_property(f.path)},line={f.line},col={f.col},"
        f"title={_property(f.rule)}::{_data(f.message)}\n"
        for f in sorted(findings)
    )


def _data(value: str) -> str:
    """A workflow command's message, escaped as the runner reads it."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(value: str) -> str:
    return _data(value).replace(":", "%3A").replace(",", "%2C")


def sarif(findings: list[Finding]) -> str:
    """One SARIF 2.1.0 log: a run of the tool ``liftdb``, its rules, one result a finding."""
    from runner import __version__
    from runner.lint.rules import RULES

    ordered = sorted(findings)
    used = sorted({f.rule for f in ordered})
    index = {rule: number for number, rule in enumerate(used)}
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "liftdb",
                        "version": __version__,
                        "rules": [
                            {
                                "id": rule,
                                "name": rule,
                                "shortDescription": {"text": f"liftdb lint rule {rule}"},
                                "properties": {"group": RULES.get(rule, "")},
                            }
                            for rule in used
                        ],
                    }
                },
                "results": [
                    {
                        "ruleId": f.rule,
                        "ruleIndex": index[f.rule],
                        "level": "error",
                        "message": {"text": f.message},
                        "locations": [
                            {
                                "physicalLocation": {
                                    "artifactLocation": {"uri": _uri(f.path)},
                                    "region": {"startLine": f.line, "startColumn": f.col},
                                }
                            }
                        ],
                    }
                    for f in ordered
                ],
            }
        ],
    }
    return json.dumps(document, indent=2) + "\n"


def _uri(path: str) -> str:
    """A finding's path as a SARIF URI: forward slashes, percent-encoded, relative kept."""
    from pathlib import PurePath
    from urllib.parse import quote

    return quote(PurePath(path).as_posix())


# --- traces -------------------------------------------------------------------------------


def trace_text(trace) -> str:
    """The trace for a person: per version, per statement, what the server did and what
    the lint said of it."""
    from runner.trace import AGREES

    lines = [
        f"trace: PostgreSQL {trace.server}, TimeZone {trace.timezone}, tables brought up to"
        f" {trace.rows:,} sample rows, on a scratch database dropped afterwards"
    ]
    if not trace.versions and trace.stopped is None:
        lines.append("trace: no version to trace (every version is applied)")
    for version in trace.versions:
        mode = "one transaction" if version.transactional else "statement by statement"
        lines.append(f"{version.path}: version {version.number}, {mode}; {version.outcome}")
        if version.not_judged:
            lines.append(f"  not judged: {version.not_judged}")
        touched = _touched(version)
        if touched:
            shown = ", ".join(f"{t} {version.rows.get(t, 0):,}" for t in touched)
            lines.append(f"  rows: {shown}")
        for filled in version.filled:
            if filled.refused or filled.error:
                lines.append(f"  sample rows: {filled.describe()}")
        for statement in version.statements:
            first = statement.sql.strip().splitlines()[0] if statement.sql.strip() else ""
            head = f"  {statement.line}:{statement.col}  {_cut(first)}"
            effects, verdict = statement.effects, statement.verdict
            if _quiet(statement):  # touched no table holding rows, and the lint agrees
                lines.append(f"{head}  ({effects.ms:.1f} ms, no table holding rows touched)")
                continue
            lines.append(head)
            lines.append(f"      {describe_effects(effects)}")
            if version.not_judged:
                continue
            said = ", ".join(f"{f.rule} ({f.effect or 'no effect'})" for f in statement.findings)
            tail = verdict.verdict if verdict.verdict == AGREES else (
                f"{verdict.verdict.upper()}: {verdict.why}"
            )  # fmt: skip
            lines.append(f"      lint: {said or 'nothing'} -- {tail}")
        lock = version.lock_timeout
        if not version.not_judged:
            lines.append(f"  lock_timeout: {lock.verdict}: {lock.why}")
    if trace.stopped:
        lines.append(f"trace stopped: {trace.stopped}")
    counts = {}
    for version in trace.versions:
        for statement in version.statements:
            counts[statement.verdict.verdict] = counts.get(statement.verdict.verdict, 0) + 1
    summary = ", ".join(f"{n} {v}" for v, n in sorted(counts.items())) or "none"
    lines.append(
        f"trace: {len(trace.versions)} version(s), {trace.statements} statement(s): {summary};"
        f" {trace.differences} difference(s) from the server"
    )
    return "\n".join(lines) + "\n"


def describe_effects(effects) -> str:
    """One line: what a statement did to the tables that existed before its version."""
    if effects.failed:
        return f"fails: {effects.error} [{effects.sqlstate}] ({effects.ms:.1f} ms)"
    parts = [f"{effects.ms:.1f} ms"]
    # An index's share locks are what any query takes: shown when they block more.
    shown = [lock for lock in effects.locks if lock.index is None or lock.blocks_writes]
    if shown:
        parts.append("locks " + ", ".join(f"{lock} (blocks {lock.blocks})" for lock in shown))
    taken = {lock.table for lock in shown}
    earlier = [
        lock for lock in effects.held
        if lock.table not in taken and lock.index is None and lock.blocks_writes
        and (lock.table in effects.read_whole or lock.table in effects.rewritten)
    ]  # fmt: skip
    if earlier and not effects.autocommit:  # it reads the table while that lock is held
        parts.append(
            "holding from earlier in the version "
            + ", ".join(f"{lock} (blocks {lock.blocks})" for lock in earlier)
        )
    for label, names in (
        ("rewrote", effects.rewritten), ("rebuilt index", effects.reindexed),
        ("emptied", effects.emptied), ("dropped", effects.dropped),
    ):  # fmt: skip
        if names:
            parts.append(f"{label} {', '.join(names)}")
    for table in effects.read_whole:
        parts.append(f"read {table} whole ({effects.rows_read.get(table, 0):,} rows)")
    if len(parts) == 1:
        parts.append("no lock on a table holding rows")
    if effects.autocommit:
        parts.append("outside a transaction")
    return "; ".join(parts)


def _quiet(statement) -> bool:
    from runner.trace import AGREES, NOT_JUDGED

    effects = statement.effects
    touched = (
        effects.locks or effects.read_whole or effects.rewritten or effects.reindexed
        or effects.emptied or effects.dropped or effects.failed
    )  # fmt: skip
    return not touched and not statement.findings and statement.verdict.verdict in (
        AGREES, NOT_JUDGED,
    )  # fmt: skip


def _touched(version) -> list[str]:
    found: list[str] = []
    for statement in version.statements:
        effects = statement.effects
        names = [lock.table for lock in effects.locks] + list(effects.read_whole)
        names += list(effects.rewritten)
        for name in names:
            if name not in found:
                found.append(name)
    return found


def _cut(text: str, width: int = 90) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def trace_document(trace) -> dict:
    """The trace as plain values (the JSON form)."""
    return {
        "server": trace.server,
        "timezone": trace.timezone,
        "rows": trace.rows,
        "differences": trace.differences,
        "stopped": trace.stopped,
        "versions": [
            {
                "version": version.number,
                "label": version.label,
                "path": version.path,
                "transactional": version.transactional,
                "outcome": version.outcome,
                "rows": version.rows,
                "sample_rows": [
                    {
                        "table": f.table,
                        "rows": f.rows,
                        "added": f.added,
                        "refused": f.refused,
                        "error": f.error,
                    }
                    for f in version.filled
                ],  # fmt: skip
                "lock_timeout": {
                    "verdict": version.lock_timeout.verdict,
                    "why": version.lock_timeout.why,
                },  # fmt: skip
                "statements": [_statement_document(s) for s in version.statements],
            }
            for version in trace.versions
        ],
    }


def _statement_document(statement) -> dict:
    effects = statement.effects
    return {
        "path": statement.path,
        "line": statement.line,
        "col": statement.col,
        "sql": statement.sql,
        "ms": round(effects.ms, 3),
        "error": effects.error,
        "sqlstate": effects.sqlstate,
        "autocommit": effects.autocommit,
        "locks": [
            {"table": lock.table, "index": lock.index, "mode": lock.mode, "blocks": lock.blocks}
            for lock in effects.locks
        ],
        "rewritten": list(effects.rewritten),
        "reindexed": list(effects.reindexed),
        "read_whole": {t: effects.rows_read.get(t, 0) for t in effects.read_whole},
        "emptied": list(effects.emptied),
        "dropped": list(effects.dropped),
        "observed": "fails" if effects.failed else effects.level,
        "lint": {
            "claim": statement.claim,
            "findings": [{**f.as_dict(), "effect": f.effect} for f in statement.findings],
        },
        "verdict": statement.verdict.verdict,
        "why": statement.verdict.why,
    }
