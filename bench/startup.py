"""Start-up: cold processes, every command interleaved with its baselines, judged by ratio.

Invariant: each tool reads a database that it migrated itself, with the
repository's own sql/ chain in its layout; every timed command is a new process;
and the commands take turns within each round (in an order rotated from round to
round), so a burst of load from elsewhere falls on all of them alike and the
ratio between two medians of one run holds where their absolute values do not.
A target is judged only with ``MIN_RUNS`` rounds or more, and a figure that
cannot be true (an import measured faster than a smaller import it contains) is
shown as noise, never as a figure.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from bench import chains, report, tools
from bench.server import Server, fresh_databases, scratch

REPO = Path(__file__).resolve().parent.parent
SQL_DIR = REPO / "sql"
# Fewer rounds than this cannot tell medians a few ms apart on a busy 2-core machine.
MIN_RUNS = 20

# What a Python CLI pays before doing anything: the interpreter, then its imports.
# `import psycopg` is the floor of any Python tool on psycopg, liftdb status included.
PSYCOPG_FLOOR = "python -c 'import psycopg'"
BASELINES = {
    "python -c pass": [sys.executable, "-c", "pass"],
    PSYCOPG_FLOOR: [sys.executable, "-c", "import psycopg"],
    "python -c 'import click, psycopg, pglast'": [
        sys.executable,
        "-c",
        "import click, psycopg, pglast",  # what liftdb migrate imports before any work
    ],
    "python -c 'import click, psycopg, yoyo'": [
        sys.executable,
        "-c",
        "import click, psycopg, yoyo.backends, yoyo.migrations",
    ],
}
# Each baseline that contains another: its median below the smaller one's is noise.
CONTAINS = {
    PSYCOPG_FLOOR: "python -c pass",
    "python -c 'import click, psycopg, pglast'": PSYCOPG_FLOOR,
    "python -c 'import click, psycopg, yoyo'": PSYCOPG_FLOOR,
}

STATUS = "`liftdb status`"
# The same command without runner/startup.py: what the collector and the exit cost.
PLAIN_STATUS = "`liftdb status`, CPython's default collector and exit"
MIGRATE_ONE = "`liftdb migrate`, one version"
DBMATE_ONE = "`dbmate migrate`, one version"
NO_DATABASE = ("`liftdb --version`", "`liftdb --help`", "`liftdb new`")
# (what, limit in ms) for the commands judged against a fixed time; status is also
# judged against the floor of the same run.
LIMITS_MS = {STATUS: 150, MIGRATE_ONE: 160, **{command: 60 for command in NO_DATABASE}}
STATUS_OVER_FLOOR = 1.0
# An absolute limit holds for a quiet machine: judged only under this load per CPU.
QUIET_LOAD_PER_CPU = 0.5

# A top-level line of ``python -X importtime``: self and cumulative microseconds, module.
TOP_LEVEL_IMPORT = re.compile(r"^import time:\s+\d+ \|\s+(\d+) \| (\S+)$")


@dataclass
class Measured:
    """Seconds per command (every round), why a command has no figure, and where
    ``liftdb status`` spends its imports."""

    times: dict[str, list[float]] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    imports: list[tuple[str, float]] = field(default_factory=list)
    rounds: int = 0
    load: list[float] = field(default_factory=list)  # 1-minute load average, each round

    def quiet(self) -> bool:
        return bool(self.load) and max(self.load) <= QUIET_LOAD_PER_CPU * (os.cpu_count() or 1)

    def median_ms(self, command: str) -> float | None:
        values = self.times.get(command)
        return report.median(values) * 1000 if values else None


def heaviest_imports(command: tools.Command, top: int = 6) -> list[tuple[str, float]]:
    """The top-level imports a Python command spends most on: (module, cumulative ms)."""
    argv = [sys.executable, "-X", "importtime", *command.argv]
    done = subprocess.run(
        argv, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60
    )
    found = []
    for line in done.stderr.splitlines():
        match = TOP_LEVEL_IMPORT.match(line)
        if match:
            found.append((match.group(2), int(match.group(1)) / 1000))
    return sorted(found, key=lambda item: -item[1])[:top]


def _status_label(tool: str) -> str:
    return f"`{tool} {'list' if tool == 'yoyo' else 'status'}`"


def measure(server: Server, repeats: int, log) -> Measured:
    """``repeats`` rounds; in each, every command once, in a rotated order."""
    measured = Measured(rounds=repeats)
    contenders: dict[str, Callable[[int], float]] = {}
    with ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="liftdb-bench-")))
        fresh = stack.enter_context(fresh_databases(server))
        changes = chains.from_directory(SQL_DIR)
        for cls in tools.RUNNERS:
            peer = cls(server)
            label = _status_label(peer.name)
            reason = peer.unavailable("status")
            if reason:
                measured.notes[label] = reason
                continue
            peer.prepare(changes, root / peer.name)
            url = stack.enter_context(scratch(server, "bench"))
            try:
                tools.run(peer.migrate(url))
                tools.run(peer.status(url))  # warm the server's caches, not the tool
            except tools.ToolFailed as exc:
                measured.notes[label] = f"failed: {exc}"
                continue
            contenders[label] = _timer(peer.status(url))
            if isinstance(peer, tools.Liftdb):
                measured.imports = heaviest_imports(peer.status(url)[0])
                plain = [sys.executable, "-c", "from runner.cli import cli; cli.main()"]
                contenders[PLAIN_STATUS] = _timer(
                    [tools.Command(plain + peer.status(url)[0].argv[1:])]
                )
        liftdb = str(tools.BIN / "liftdb")
        contenders["`liftdb --version`"] = _timer([tools.Command([liftdb, "--version"])])
        contenders["`liftdb --help`"] = _timer([tools.Command([liftdb, "--help"])])
        contenders["`liftdb new`"] = lambda i: tools.run(
            [tools.Command([liftdb, "--sql-dir", str(root / f"new-{i}"), "new", "add_things"])]
        )
        one = chains.generated(1)
        for label, cls in ((MIGRATE_ONE, tools.Liftdb), (DBMATE_ONE, tools.Dbmate)):
            peer = cls(server)
            reason = peer.unavailable("migrate")
            if reason:
                measured.notes[label] = reason
                continue
            peer.prepare(one, root / f"one-{peer.name}")
            contenders[label] = _fresh_database_timer(peer, fresh)
        for label, argv in BASELINES.items():
            contenders[label] = _timer([tools.Command(argv)])

        order = list(contenders)
        for round_ in range(repeats):
            measured.load.append(os.getloadavg()[0])
            shift = round_ % len(order)
            for label in order[shift:] + order[:shift]:
                try:
                    elapsed = contenders[label](round_)
                except tools.ToolFailed as exc:
                    measured.notes.setdefault(label, f"failed: {exc}")
                    continue
                measured.times.setdefault(label, []).append(elapsed)
            if round_ % 10 == 9 or round_ == repeats - 1:
                status, floor = measured.median_ms(STATUS), measured.median_ms(PSYCOPG_FLOOR)
                if status and floor:
                    log(
                        f"  round {round_ + 1}/{repeats}: liftdb status {status:.0f} ms,"
                        f" import psycopg {floor:.0f} ms ({status / floor:.2f}x)"
                    )
    for label in measured.notes:  # a command that failed once has no honest median
        measured.times.pop(label, None)
    return measured


def _timer(commands: list[tools.Command]) -> Callable[[int], float]:
    return lambda _round: tools.run(commands)


def _fresh_database_timer(peer: tools.Tool, fresh: Callable[[], str]) -> Callable[[int], float]:
    """Times ``migrate`` into a database created (untimed) for this round and dropped
    only after the benchmark (``fresh_databases``)."""

    def run(_round: int) -> float:
        return tools.run(peer.migrate(fresh()))

    return run


def section(measured: Measured) -> str:
    floor = measured.median_ms(PSYCOPG_FLOOR)
    rows = []
    labels = [_status_label(cls.name) for cls in tools.RUNNERS]
    labels += [PLAIN_STATUS, *NO_DATABASE, MIGRATE_ONE, DBMATE_ONE, *BASELINES]
    for label in labels:
        shown = f"baseline: `{label}`" if label in BASELINES else label
        values = sorted(measured.times.get(label, []))
        if not values:
            rows.append([shown, measured.notes.get(label, "no figure"), "", ""])
            continue
        median = report.median(values) * 1000
        smaller = CONTAINS.get(label)
        if smaller and measured.median_ms(smaller) and median < measured.median_ms(smaller):
            noise = f"n/a: measured below `{smaller}`, which it contains (noise)"
            rows.append([shown, noise, "", ""])
            continue
        ratio = f"{median / floor:.2f}x" if floor else ""
        rows.append([shown, f"{median:.0f} ms", f"{values[0] * 1000:.0f} ms", ratio])
    lines = [
        "Cold processes, one round after another; in each round every command runs once",
        f"(in an order rotated from round to round): median and best of {measured.rounds}",
        "rounds, and the median's ratio to the median of `import psycopg` in the same run.",
        "`status` reads an up-to-date database each tool migrated with the real chain (sql/,",
        "in its layout); `migrate`, one version, applies a one-version chain to a database",
        "created for that round: what a run costs before its first version's own work.",
        "",
        report.table(["command", "median", "best", f"÷ `{PSYCOPG_FLOOR}`"], rows),
        "",
    ]
    lines += verdicts(measured)
    if measured.imports:
        lines.append(
            "- where `liftdb status` spends its imports (`python -X importtime`, cumulative,"
            " top level, one run): "
            + ", ".join(f"{module} {ms:.0f} ms" for module, ms in measured.imports)
        )
    return "\n".join(lines)


def verdicts(measured: Measured) -> list[str]:
    """One line per target: the figure, the target, met or not; none from too few rounds."""
    if measured.rounds < MIN_RUNS:
        return [
            f"- targets not judged: {measured.rounds} round(s); a verdict needs at least"
            f" {MIN_RUNS} (medians a few ms apart are noise below that)"
        ]
    lines = []
    quiet = measured.quiet()
    if not quiet:
        lines.append(
            f"- the absolute limits are not judged: the load average reached"
            f" {max(measured.load):.1f} on {os.cpu_count()} CPU(s) (a quiet machine stays under"
            f" {QUIET_LOAD_PER_CPU} per CPU); the ratios, taken in the same rounds, still hold"
        )

    def within(median: float, limit: int) -> str:
        return ("met" if median < limit else "not met") if quiet else "not judged"

    status, floor = measured.median_ms(STATUS), measured.median_ms(PSYCOPG_FLOOR)
    if status and floor:
        ratio = status / floor
        lines.append(
            f"- liftdb status: {ratio:.2f}x `{PSYCOPG_FLOOR}` (target: at most"
            f" {STATUS_OVER_FLOOR:.2f}x): {'met' if ratio <= STATUS_OVER_FLOOR else 'not met'};"
            f" {status:.0f} ms (target: under {LIMITS_MS[STATUS]} ms):"
            f" {within(status, LIMITS_MS[STATUS])}"
        )
    for command in (*NO_DATABASE, MIGRATE_ONE):
        median = measured.median_ms(command)
        if median is None:
            lines.append(f"- {command}: no figure ({measured.notes.get(command, 'not run')})")
            continue
        limit = LIMITS_MS[command]
        lines.append(
            f"- {command}: {median:.0f} ms (target: under {limit} ms): {within(median, limit)}"
        )
    dbmate = measured.median_ms(DBMATE_ONE)
    migrate = measured.median_ms(MIGRATE_ONE)
    if dbmate and migrate:
        lines.append(
            f"- one version: liftdb {migrate:.0f} ms, dbmate {dbmate:.0f} ms; the difference,"
            f" {migrate - dbmate:.0f} ms, is the fixed cost a chain's versions must repay"
        )
    return lines
