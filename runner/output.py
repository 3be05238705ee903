"""What liftdb prints: one line per version and a summary, or one JSON document.

Invariant: every function here returns text and prints nothing; a database URL
reaches it only masked; colour is added only when the stream is a terminal and
``NO_COLOR`` is unset, so piped output and ``--json`` are plain.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import datetime
from typing import IO, Any

COLOURS = {
    "up": "green",
    "down": "yellow",
    "applied": "green",
    "pending": "yellow",
    "interrupted": "red",
    "applied by yoyo": "yellow",
    "missing": "red",
    "drift": "red",
}


def use_colour(stream: IO) -> bool:
    """True when colour may be used on ``stream``: a terminal, and no NO_COLOR set."""
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def paint(text: str, key: str, colour: bool) -> str:
    if not colour or key not in COLOURS:
        return text
    import click

    return click.style(text, fg=COLOURS[key])


def step_line(step, colour: bool = False) -> str:
    """``00003 create_lift_maxes up 12 ms``."""
    direction = paint(step.direction, step.direction, colour)
    took = "dry run" if step.duration_ms is None else f"{step.duration_ms} ms"
    return f"{step.number:05d} {step.name} {direction} {took}"


def run_summary(
    command: str, steps: Sequence, database: str, *, dry_run: bool, to: int | None = None
) -> str:
    """The last line of a run; ``to`` is migrate's ``--to``, below which nothing was left."""
    verb = {"migrate": "applied", "rollback": "rolled back", "redo": "redid"}[command]
    # redo lists each version twice, down then up.
    count = len({step.number for step in steps}) if command == "redo" else len(steps)
    total = sum(step.duration_ms or 0 for step in steps)
    if dry_run:
        return f"dry run: would have {verb} {count} version(s) on {database}; nothing was changed"
    if not steps:
        if command != "migrate":
            return f"nothing to do on {database}"
        if to == 0:
            return f"nothing to do: --to 0 applies no version to {database}"
        if to is not None:  # later versions may well be pending: not "up to date"
            return (
                f"nothing to do up to version {to}:"
                f" it and every version before it are applied on {database}"
            )
        return f"nothing to do: {database} is up to date"
    return f"{verb} {count} version(s) on {database} in {total} ms"


def run_document(
    command: str,
    steps: Sequence,
    database: str,
    *,
    dry_run: bool,
    to: int | None = None,
    notices: Sequence = (),
) -> str:
    return _dump(
        {
            "command": command,
            "database": database,
            "dry_run": dry_run,
            "versions": [
                {
                    "version": step.number,
                    "name": step.name,
                    "direction": step.direction,
                    "duration_ms": step.duration_ms,
                    **({"sql": step.script} if dry_run else {}),
                }
                for step in steps
            ],
            "notices": [
                {
                    "version": notice.version,
                    "file": notice.path,
                    "line": notice.line,
                    "severity": notice.severity,
                    "message": notice.message,
                }
                for notice in notices
            ],
            "summary": run_summary(command, steps, database, dry_run=dry_run, to=to),
        }
    )


def notice_line(notice) -> str:
    """``VERSION: FILE:LINE: SEVERITY: message``, on one line, for stderr."""
    message = " ".join(notice.message.split())
    return f"{notice.version}: {notice.path}:{notice.line}: {notice.severity}: {message}"


def status_lines(report, colour: bool = False) -> list[str]:
    lines = []
    for v in report.versions:
        state = paint(v.state, v.state, colour)
        when = f" {_when(v.applied_at)}" if v.applied_at else ""
        line = f"{v.number:05d} {v.name} {state}{when}"
        if v.drift:
            line += f" {paint('drift', 'drift', colour)}: {v.drift}"
        if v.note:
            line += f" ({v.note})"
        lines.append(line)
    for index in report.invalid_indexes:
        lines.append(f"invalid index {index}: left by an interrupted CREATE INDEX CONCURRENTLY")
    for number in report.out_of_order:
        lines.append(f"{number:05d} is pending but older than an applied version (out of order)")
    lines.append(status_summary(report))
    return lines


def status_summary(report) -> str:
    parts = [f"{report.applied} applied", f"{report.pending} pending"]
    if report.drifted:
        parts.append(f"{report.drifted} drifted")
    if report.invalid_indexes:
        parts.append(f"{len(report.invalid_indexes)} invalid index(es)")
    if report.applied_by_yoyo:
        parts.append(f"{len(report.applied_by_yoyo)} applied by yoyo")
    return f"{', '.join(parts)} on {report.database} ({report.directory})"


def status_document(report) -> str:
    return _dump(
        {
            "database": report.database,
            "directory": str(report.directory),
            "versions": [
                {
                    "version": v.number,
                    "name": v.name,
                    "state": v.state,
                    "applied_at": v.applied_at.isoformat() if v.applied_at else None,
                    "drift": v.drift,
                    "note": v.note,
                }
                for v in report.versions
            ],
            "invalid_indexes": list(report.invalid_indexes),
            "out_of_order": list(report.out_of_order),
            "applied_by_yoyo": list(report.applied_by_yoyo),
            "applied": report.applied,
            "pending": report.pending,
            "drifted": report.drifted,
        }
    )


def verify_line(report) -> str:
    return f"{report.applied} applied version(s) match their files on {report.database}"


def repair_line(drift, *, dry_run: bool) -> str:
    verb = "would record" if dry_run else "recorded"
    return f"{drift.label}: {verb} its files as they are now ({drift.reason})"


def repair_summary(repaired: Sequence, database: str, *, dry_run: bool) -> str:
    if dry_run:
        return (
            f"dry run: would have repaired {len(repaired)} version(s) on {database};"
            " nothing was changed"
        )
    if not repaired:
        return f"nothing to repair: every applied version matches its files on {database}"
    return f"repaired {len(repaired)} version(s) on {database}"


def repair_document(repaired: Sequence, database: str, *, dry_run: bool) -> str:
    return _dump(
        {
            "command": "repair",
            "database": database,
            "dry_run": dry_run,
            "versions": [
                {"version": drift.number, "label": drift.label, "reason": drift.reason}
                for drift in repaired
            ],
            "summary": repair_summary(repaired, database, dry_run=dry_run),
        }
    )


def baseline_summary(adopted, database: str, *, dry_run: bool) -> str:
    if not adopted.marked:
        return f"nothing to do: every version up to {adopted.version} is recorded on {database}"
    if dry_run:
        return (
            f"dry run: the schema of {database} is the chain's at version {adopted.version};"
            f" would have recorded {len(adopted.marked)} version(s); nothing was changed"
        )
    return f"baselined {len(adopted.marked)} version(s); {database} is at version {adopted.version}"


def baseline_document(adopted, database: str, *, dry_run: bool) -> str:
    return _dump(
        {
            "command": "baseline",
            "database": database,
            "dry_run": dry_run,
            "version": adopted.version,
            "recorded": list(adopted.marked),
            "summary": baseline_summary(adopted, database, dry_run=dry_run),
        }
    )


def lock_wait_line(holder) -> str:
    who = holder.describe() if holder is not None else "another session"
    return f"waiting for the migration lock, held by {who}"


def confirm_prompt(question: str) -> str:
    return f"{question[:1].upper()}{question[1:]}. Proceed?"


def error_line(message: str, kind: str = "error") -> str:
    """Any error as one line: PostgreSQL's messages (a server crash, a DETAIL) span several."""
    return f"liftdb: {kind}: " + " ".join(message.split())


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S%z")


def _dump(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, default=str)
