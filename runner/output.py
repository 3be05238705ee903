"""What liftdb prints: one line per version and a summary, or one JSON document.

Invariant: every function here returns text and prints nothing; a database URL
reaches it only masked; colour is added only when the stream is a terminal and
``NO_COLOR`` is unset, so piped output and ``--json`` are plain.
"""

from __future__ import annotations

import json
import os
import shutil
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
    "succeeded": "green",
    "failed": "red",
    "abandoned": "red",
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
    if dry_run and command == "redo":
        verb = "redone"  # "would have redone", not "would have redid"
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
    """A line per version, its name, state and time in aligned columns; then the rest."""
    lines = []
    name_width = max((len(v.name) for v in report.versions), default=0)
    state_width = max((len(v.state) for v in report.versions), default=0)
    for v in report.versions:
        state = paint(v.state, v.state, colour) + " " * (state_width - len(v.state))
        when = f" {_when(v.applied_at)}" if v.applied_at else ""
        line = f"{v.number:05d} {v.name:<{name_width}} {state}{when}".rstrip()
        if v.drift:
            line += f" {paint('drift', 'drift', colour)}: {v.drift}"
        if v.note:
            line += f" ({v.note})"
        lines.append(line)
    for index in report.invalid_indexes:
        lines.append(f"invalid index {index}: left by an interrupted CREATE INDEX CONCURRENTLY")
    for number in report.out_of_order:
        lines.append(f"{number:05d} is pending but older than an applied version (out of order)")
    if report.hint:
        lines.append(f"hint: {report.hint}")
    if report.lock_holder:
        lines.append(f"a run is in progress: the migration lock is held by {report.lock_holder}")
    lines.append(status_summary(report))
    return lines


def status_summary(report) -> str:
    parts = [f"{report.applied} applied", f"{report.pending} pending"]
    if report.interrupted:
        parts.append(f"{report.interrupted} interrupted")
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
            "hint": report.hint,
            "lock_holder": report.lock_holder,
            "applied": report.applied,
            "pending": report.pending,
            "interrupted": report.interrupted,
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


def lock_wait_document(holder, wait_ms: int) -> str:
    """The wait for the migration lock as a JSON line (``--json``'s, on stderr): who holds
    it (``lock.Holder``'s fields, ``since`` in ISO 8601; null when it cannot be seen) and
    how long liftdb waits for it (``--lock-wait``, milliseconds; 0 = for ever)."""
    fields = None if holder is None else holder._asdict()
    if fields is not None and fields["since"] is not None:
        fields["since"] = fields["since"].isoformat()
    return json.dumps({"event": "migration_lock_wait", "holder": fields, "wait_ms": wait_ms})


def drift_allowed_line(drift) -> str:
    """The warning a run given --allow-drift prints for each drift it goes past."""
    return f"liftdb: warning: --allow-drift: going past drift: {drift.message}"


def lock_retry_line(wait) -> str:
    """``00009 add_lift_notes: lock on lifts held by pid 4242 (app, open 41 s: SELECT ...);
    retry 3 of 20 in 1.2 s``: one ``executor.LockWait``."""
    tables = ", ".join(wait.tables) or "a table"
    who = wait.blockers[0].describe() if wait.blockers else "another session"
    return (
        f"{wait.version}: lock on {tables} held by {who}; retry {wait.retry} of"
        f" {wait.retries} in {wait.sleep_s:.1f} s"
    )


def lock_retry_document(wait) -> str:
    """One ``executor.LockWait`` as a JSON line (``--json``'s, on stderr): its fields."""
    return _event("lock_wait", wait)


def _event(kind: str, record) -> str:
    """A record (``LockWait``, ``Progress``: a NamedTuple) as a JSON line: ``event``, then
    its fields, nested ones (a ``retry.Blocker``) as objects, seconds to a tenth (a
    blocker's open time to the second)."""
    fields = {
        name: round(value, 1) if isinstance(value, float) else value
        for name, value in record._asdict().items()
    }
    if fields.get("blocker") is not None:
        fields["blocker"] = _blocker_fields(fields["blocker"])
    if "blockers" in fields:
        fields["blockers"] = [_blocker_fields(b) for b in fields["blockers"]]
    return json.dumps({"event": kind, **fields})


def _blocker_fields(blocker) -> dict:
    fields = blocker._asdict()
    if fields["open_s"] is not None:
        fields["open_s"] = round(fields["open_s"])
    return fields


def progress_line(progress, *, short: bool = False) -> str:
    """``00004_index_logs: sql/00004_index_logs.sql:3: CREATE INDEX ...: 4.2 s; CREATE
    INDEX on logs: building index: scanning table, blocks 120 of 800 (15%)``: one
    ``progress.Progress``; ``short`` (a terminal's): ``00004_index_logs:3: ...``."""
    where = f"{progress.version}:" if short else f"{progress.version}: {progress.path}"
    if progress.line is not None:
        where += f"{'' if short else ':'}{progress.line}: {progress.statement[:60]}"
    text = f"{where.rstrip(':')}: {progress.elapsed_s:.1f} s"
    if progress.ended:
        return text + ", done"
    if progress.waiting and (
        progress.blocker or progress.waiting.startswith("Lock") or not progress.command
    ):
        text += f"; waiting for {progress.waiting}"
        if progress.blocker is not None:
            text += f" held by {progress.blocker.describe()}"
    if progress.command:
        text += f"; {progress.command} on {progress.relation}: {progress.phase}"
        if progress.total:
            share = 100 * (progress.done or 0) / progress.total
            text += f", {progress.unit} {progress.done:,} of {progress.total:,} ({share:.0f}%)"
    return text


def progress_document(progress) -> str:
    """One ``progress.Progress`` as a JSON line (``--json``'s progress events, on stderr)."""
    return _event("progress", progress)


class StatusLine:
    """Where progress goes: on a terminal, one line rewritten in place and cleared when
    its statement ends (or before anything else is printed: ``clear``); elsewhere, a plain
    line (or with ``as_json`` a JSON line) each time the statement has run another
    ``every_s``, and none for a statement that ended. Safe to call from the watcher's thread."""

    CLEAR = "\r\x1b[K"

    def __init__(self, stream: IO, every_s: float, *, as_json: bool = False) -> None:
        import threading

        self.stream, self.every_s, self.as_json = stream, every_s, as_json
        self.terminal = stream.isatty() and not as_json
        self.lock = threading.Lock()
        self.shown = False
        self.printed: dict[tuple, int] = {}  # statement -> lines printed (off a terminal)

    def __call__(self, progress) -> None:
        with self.lock:
            if self.terminal:
                if progress.ended:
                    self._clear()
                else:
                    # One screen line, or the next rewrite would start on a wrapped one.
                    width = shutil.get_terminal_size().columns - 1
                    line = progress_line(progress, short=True)  # the version names the file
                    self.stream.write(self.CLEAR + line[:width])
                    self.shown = True
                self.stream.flush()
                return
            key = (progress.version, progress.line)
            if progress.ended:
                self.printed.pop(key, None)
                return
            due = int(progress.elapsed_s // self.every_s) if self.every_s > 0 else 0
            if due <= self.printed.get(key, 0):
                return
            self.printed[key] = due
            line = progress_document(progress) if self.as_json else progress_line(progress)
            self.stream.write(line + "\n")
            self.stream.flush()

    def clear(self) -> None:
        with self.lock:
            self._clear()

    def _clear(self) -> None:
        if self.shown:
            self.stream.write(self.CLEAR)
            self.stream.flush()
            self.shown = False


def confirm_prompt(question: str) -> str:
    return f"{question[:1].upper()}{question[1:]}. Proceed?"


def error_line(message: str, kind: str = "error") -> str:
    """Any error as one line: PostgreSQL's messages (a server crash, a DETAIL) span several."""
    return f"liftdb: {kind}: " + " ".join(message.split())


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S%z")


def _dump(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, default=str)


# --- fleet (runner/fleet.py): a line per target, a progress line, a summary ----------------

LISTED = 5  # names a summary line shows before "(and N more)"


def _version(number: int | None) -> str:
    return "?" if number is None else f"{number:05d}"


def fleet_line(record, command: str, width: int = 0, colour: bool = False) -> str:
    """One target as it ended: ``tenant_0042  00006 -> 00008  applied 2 in 84 ms``."""
    name = record.target.name.ljust(width)
    if command in ("status", "verify") and record.status is not None:
        return f"{name}  {_version(record.after)}  {_fleet_state(record, command)}"
    span = (
        f"{_version(record.before)} -> {_version(record.after)}  "
        if record.before is not None
        else ""
    )
    return f"{name}  {span}{_fleet_outcome(record, command, colour)}"


def _fleet_outcome(record, command: str, colour: bool) -> str:
    from runner import fleet

    count = len(record.done)
    verb, doing = (
        ("applied", "applying") if command == "migrate" else ("rolled back", "rolling back")
    )
    if record.outcome == fleet.FAILED:
        after = f" after {doing} {count}" if count else ""
        return f"{paint('failed', 'failed', colour)}{after}: {record.error}"
    if record.outcome == fleet.ABANDONED:
        return paint(record.error, "abandoned", colour)
    if record.outcome == fleet.INTERRUPTED:
        word = paint("interrupted", "interrupted", colour)
        return f"{word} after {doing} {count} of {record.planned} in {record.duration_ms} ms"
    if record.outcome == fleet.SKIPPED:
        return "not started"
    if not record.planned:
        return "nothing to do"
    if record.done and record.done[0].duration_ms is None:
        return f"would have {verb} {count} (dry run)"
    return f"{paint(verb, 'succeeded', colour)} {count} in {record.duration_ms} ms"


def _fleet_state(record, command: str) -> str:
    """What status says of one database, worst first; ``up to date`` when nothing."""
    from runner.errors import and_more

    report = record.status
    if command == "verify":
        return f"{report.applied} applied version(s) match their files"
    parts = []
    drifted = [v for v in report.versions if v.drift]
    if drifted:
        parts.append(f"drift: {drifted[0].number:05d}: {drifted[0].drift}{and_more(drifted)}")
    stopped = _interrupted(report)
    if stopped:
        parts.append(f"interrupted: {stopped[0].number:05d} {stopped[0].note}{and_more(stopped)}")
    if report.applied_by_yoyo:
        ids = report.applied_by_yoyo
        parts.append(f"applied by yoyo: {ids[0]}{and_more(ids)} (adopt with liftdb baseline)")
    if report.invalid_indexes:
        indexes = report.invalid_indexes
        parts.append(f"invalid index {indexes[0]}{and_more(indexes)}")
    if report.pending:
        parts.append(f"behind: {report.pending} pending")
    return "; ".join(parts) or "up to date"


def _interrupted(report) -> list:
    """Versions a non-transactional run left part-way, up or down."""
    return [
        v
        for v in report.versions
        if v.state == "interrupted" or (v.note or "").startswith("rollback interrupted")
    ]


def fleet_progress(progress) -> str:
    """``37/500 done, 1 failed, 8 running, 4.2 s, about 52 s left``."""
    line = (
        f"{progress.finished}/{progress.total} done, {progress.failed} failed,"
        f" {progress.running} running, {progress.elapsed_s:.1f} s"
    )
    left = progress.remaining_s
    return line if left is None else f"{line}, about {left:.0f} s left"


def _spread(counts) -> str:
    """``39 at 00008, 1 at 00006, 1 unknown``: newest first."""
    known = sorted((v for v in counts if v is not None), reverse=True)
    parts = [f"{counts[v]} at {_version(v)}" for v in known]
    if counts.get(None):
        parts.append(f"{counts[None]} unknown")
    return ", ".join(parts) or "none"


def _names(records) -> str:
    from runner.errors import and_more

    shown = ", ".join(r.target.name for r in records[:LISTED])
    return f"{shown}{and_more(records, LISTED)}"


def fleet_summary(report) -> list[str]:
    """The lines after every target's: the version spread, and what happened overall."""
    from runner import fleet

    took = f"in {report.elapsed_s:.1f} s"
    total = len(report.records)
    if report.command in ("status", "verify"):
        return _fleet_status_summary(report, took)
    lines = [
        f"before: {_spread(report.versions('before'))}",
        f"after:  {_spread(report.versions('after'))}",
    ]
    counts = [f"{report.count(fleet.SUCCEEDED)} succeeded"]
    for outcome in (fleet.FAILED, fleet.ABANDONED, fleet.INTERRUPTED, fleet.SKIPPED):
        records = [r for r in report.records if r.outcome == outcome]
        word = "not started" if outcome == fleet.SKIPPED else outcome
        if records:
            lines.append(f"{word} ({len(records)}): {_names(records)}")
        if records or outcome in (fleet.FAILED, fleet.SKIPPED):
            counts.append(f"{len(records)} {word}")
    if report.halted:
        lines.append(f"stopped starting targets: {report.halted}")
    dry = " (dry run: nothing was changed)" if report.dry_run else ""
    lines.append(f"fleet {report.command}{dry}: {total} target(s): {', '.join(counts)} {took}")
    return lines


def _fleet_status_summary(report, took: str) -> list[str]:
    from runner import fleet
    from runner.errors import EXIT_DRIFT

    read = [r for r in report.records if r.status is not None]
    spread = report.versions("after")
    spread.pop(None, None)
    lines = [f"version spread: {_spread(spread)}"]
    groups = [
        ("behind", [r for r in read if r.status.pending]),
        (
            "drift",
            [
                r
                for r in report.records
                if r.exit_code == EXIT_DRIFT or r.status and r.status.drifted
            ],
        ),
        ("interrupted", [r for r in read if _interrupted(r.status)]),
        ("applied by yoyo", [r for r in read if r.status.applied_by_yoyo]),
        ("invalid indexes", [r for r in read if r.status.invalid_indexes]),
        (
            "cannot be read",
            [r for r in report.records if r.outcome == fleet.FAILED and r.exit_code != EXIT_DRIFT],
        ),
        ("not read", [r for r in report.records if r.outcome == fleet.SKIPPED]),
    ]
    for label, records in groups:
        if records:
            lines.append(f"{label} ({len(records)}): {_names(records)}")
    if report.halted:
        lines.append(f"stopped starting targets: {report.halted}")
    lines.append(f"fleet {report.command}: {len(report.records)} target(s) {took}")
    return lines


def fleet_failure(report, code: int) -> str | None:
    """The one line on stderr that goes with a non-zero exit; None where the single
    command prints none either (status's 3 and 4)."""
    from runner import fleet
    from runner.errors import EXIT_DRIFT, EXIT_LOCK_TIMEOUT, EXIT_OK

    total = len(report.records)
    command = f"fleet {report.command}"
    if code == EXIT_OK:
        return None
    if report.command == "status" and code != 1:
        return None
    failed = report.failed
    if report.command == "verify" and code == EXIT_DRIFT:
        return f"{command}: drift on {len(failed)} of {total} target(s) ({_names(failed)})"
    if report.command in ("status", "verify"):
        unread = [r for r in report.records if r.status is None and r.exit_code != EXIT_DRIFT]
        return f"{command}: {len(unread)} of {total} target(s) could not be read ({_names(unread)})"
    skipped = report.count(fleet.SKIPPED)
    interrupt = report.halted in (fleet.HALT_INTERRUPTED, fleet.HALT_ABANDONED)
    if code == EXIT_LOCK_TIMEOUT:
        later = f"; {skipped} not started: {report.halted}" if skipped else ""
        return (
            f"{command}: {len(failed)} of {total} target(s) gave up waiting for the migration"
            f" lock ({_names(failed)}); run it again once the other runner is done{later}"
        )
    parts = []
    for outcome, words in (
        (fleet.FAILED, f"of {total} target(s) failed"),
        (fleet.ABANDONED, "target(s) abandoned while running"),
        (fleet.INTERRUPTED, "target(s) stopped between versions"),
    ):
        records = [r for r in report.records if r.outcome == outcome]
        if records:
            parts.append(f"{len(records)} {words} ({_names(records)})")
    if skipped:
        why = f": {report.halted}" if report.halted and not interrupt else ""
        parts.append(f"{skipped} not started{why}")
    return f"{command}: {'interrupted: ' if interrupt else ''}{'; '.join(parts)}"


def fleet_document(report, code: int) -> str:
    """One JSON document: a record per target, in the plan's order, and the summary."""
    from runner import fleet

    return _dump(
        {
            "command": report.command,
            "dry_run": report.dry_run,
            "targets": [_fleet_record(r) for r in report.records],
            "summary": {
                "targets": len(report.records),
                **{
                    outcome: report.count(outcome)
                    for outcome in (
                        fleet.SUCCEEDED,
                        fleet.FAILED,
                        fleet.INTERRUPTED,
                        fleet.ABANDONED,
                        fleet.SKIPPED,
                    )
                },
                "before": _spread_document(report.versions("before")),
                "after": _spread_document(report.versions("after")),
                "halted": report.halted,
                "elapsed_ms": round(report.elapsed_s * 1000),
                "lines": fleet_summary(report),
            },
            "exit_code": code,
        }
    )


def _spread_document(counts) -> dict[str, int]:
    return {("unknown" if v is None else str(v)): n for v, n in sorted(counts.items(), key=str)}


def _fleet_record(record) -> dict[str, Any]:
    document: dict[str, Any] = {
        "name": record.target.name,
        "database": record.target.database,
        "tags": list(record.target.tags),
        "canary": record.canary,
        "outcome": record.outcome,
        "before": record.before,
        "after": record.after,
        "planned": record.planned,
        "versions": [
            {
                "version": step.number,
                "name": step.name,
                "direction": step.direction,
                "duration_ms": step.duration_ms,
            }
            for step in record.done
        ],
        "duration_ms": record.duration_ms,
        "error": record.error,
        "exit_code": record.exit_code,
    }
    report = record.status
    if report is not None:
        document.update(
            pending=report.pending,
            drift=[
                {"version": v.number, "name": v.name, "drift": v.drift}
                for v in report.versions
                if v.drift
            ],
            interrupted=[
                {"version": v.number, "name": v.name, "note": v.note} for v in _interrupted(report)
            ],
            applied_by_yoyo=list(report.applied_by_yoyo),
            invalid_indexes=list(report.invalid_indexes),
            out_of_order=list(report.out_of_order),
        )
    return document


def fleet_halt_line(reason: str, running: int) -> str:
    """Said on stderr once no new target may start."""
    if reason == "interrupted":
        return (
            f"interrupted: nothing new starts; {running} running target(s) end with the version"
            " they are running (interrupt again to abandon them)"
        )
    return f"stopping: {reason}; no new target starts, {running} running target(s) finish"
