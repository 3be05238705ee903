"""Start-up: a cold ``status`` on an up-to-date database, per tool, against the real chain.

Invariant: each tool reads a database that it migrated itself, with the
repository's own sql/ chain in its layout, and every timed ``status`` is a new
process: start-up and imports are what is measured.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import chains, report, tools
from bench.server import Server, scratch

REPO = Path(__file__).resolve().parent.parent
SQL_DIR = REPO / "sql"

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


# A top-level line of ``python -X importtime``: self and cumulative microseconds, module.
TOP_LEVEL_IMPORT = re.compile(r"^import time:\s+\d+ \|\s+(\d+) \| (\S+)$")


def heaviest_imports(command: tools.Command, top: int = 6) -> list[tuple[str, float]]:
    """The top-level imports a Python command spends most on: (module, cumulative ms)."""
    argv = [sys.executable, "-X", "importtime", *command.argv]
    done = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    found = []
    for line in done.stderr.splitlines():
        match = TOP_LEVEL_IMPORT.match(line)
        if match:
            found.append((match.group(2), int(match.group(1)) / 1000))
    return sorted(found, key=lambda item: -item[1])[:top]


def measure(
    server: Server, repeats: int, log
) -> tuple[dict[str, list[float]], dict[str, str], list[tuple[str, float]]]:
    times: dict[str, list[float]] = {}
    notes: dict[str, str] = {}
    imports: list[tuple[str, float]] = []
    changes = chains.from_directory(SQL_DIR)
    with tempfile.TemporaryDirectory(prefix="liftdb-bench-status-") as root:
        for cls in tools.RUNNERS:
            peer = cls(server)
            reason = peer.unavailable("status")
            if reason:
                notes[peer.name] = reason
                continue
            peer.prepare(changes, Path(root) / peer.name)
            with scratch(server, "bench") as url:
                try:
                    tools.run(peer.migrate(url))
                    tools.run(peer.status(url))  # warm the server's caches, not the tool
                    times[peer.name] = [tools.run(peer.status(url)) for _ in range(repeats)]
                    if isinstance(peer, tools.Liftdb):
                        imports = heaviest_imports(peer.status(url)[0])
                except tools.ToolFailed as exc:
                    notes[peer.name] = f"failed: {exc}"
                    continue
            log(f"  status {peer.name:10} {report.median(times[peer.name]) * 1000:6.0f} ms")
        for label, argv in BASELINES.items():
            times[label] = [tools.run([tools.Command(argv)]) for _ in range(repeats)]
    return times, notes, imports


def section(
    times: dict[str, list[float]],
    notes: dict[str, str],
    imports: list[tuple[str, float]],
    repeats: int,
) -> str:
    rows = []
    for tool in [cls.name for cls in tools.RUNNERS]:
        command = f"`{tool} {'list' if tool == 'yoyo' else 'status'}`"
        if tool in times:
            values = sorted(times[tool])
            rows.append([command, _ms(report.median(values)), _ms(values[0])])
        else:
            rows.append([command, notes.get(tool, "no figure"), ""])
    for label in BASELINES:
        values = sorted(times[label])
        rows.append([f"baseline: `{label}`", _ms(report.median(values)), _ms(values[0])])
    liftdb = times.get("liftdb")
    floor = report.median(times[PSYCOPG_FLOOR]) * 1000
    verdict = (
        f"liftdb status: {report.median(liftdb) * 1000:.0f} ms (target: under 150 ms);"
        f" `{PSYCOPG_FLOOR}` alone: {floor:.0f} ms, so liftdb's own share (click, its"
        f" modules, reading the chain, connecting, reading the bookkeeping) is"
        f" {report.median(liftdb) * 1000 - floor:.0f} ms"
        if liftdb
        else "liftdb status: not measured"
    )
    return "\n".join(
        [
            "A cold process reporting on an up-to-date database migrated with the real chain",
            f"(sql/, in each tool's layout); median and best of {repeats} runs.",
            "",
            report.table(["command", "median", "best"], rows),
            "",
            f"- {verdict}",
        ]
        + (
            [
                "- where `liftdb status` spends its imports (`python -X importtime`,"
                " cumulative, top level): "
                + ", ".join(f"{module} {ms:.0f} ms" for module, ms in imports)
            ]
            if imports
            else []
        )
    )


def _ms(value: float) -> str:
    return f"{value * 1000:.0f} ms"
