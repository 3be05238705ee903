"""Lint throughput: ``liftdb lint`` beside squawk, over the real chain and 1,000 versions.

Invariant: both linters read the same files, each from a cold process; a
linter's verdict (its exit code) is reported, never judged here: this measures
speed, the lint tests judge findings.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

from bench import chains, report, tools

REPO = Path(__file__).resolve().parent.parent
SQL_DIR = REPO / "sql"
GENERATED = 1000


def _timed(argv: list[str]) -> tuple[float, int]:
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, stdin=subprocess.DEVNULL)
    return time.perf_counter() - started, done.returncode


def _pglast_in_process(files: list[Path]) -> float:
    import pglast

    started = time.perf_counter()
    for path in files:
        pglast.parse_sql(path.read_text())
    return time.perf_counter() - started


def measure(repeats: int, log) -> tuple[list[list[object]], list[str]]:
    rows: list[list[object]] = []
    notes: list[str] = []
    has_lint = tools.has_liftdb_command("lint")
    if not has_lint:
        notes.append(f"`liftdb lint`: {tools.MISSING_COMMAND} in this checkout.")
    squawk = tools.BIN / "squawk"
    with tempfile.TemporaryDirectory(prefix="liftdb-bench-lint-") as root:
        generated = chains.write_liftdb(chains.generated(GENERATED), Path(root) / "generated")
        for label, directory in (
            ("real chain (sql/)", SQL_DIR),
            (f"{GENERATED} versions", generated),
        ):
            files = sorted(p for p in directory.glob("*.sql") if p.name[0].isdigit())
            cells: list[object] = [label, len(files)]
            if has_lint:
                argv = [str(tools.BIN / "liftdb"), "--sql-dir", str(directory), "lint"]
                cells.append(_median_cell(argv, repeats))
            else:
                cells.append(tools.MISSING_COMMAND)
            if squawk.exists():
                cells.append(_median_cell([str(squawk), *map(str, files)], repeats))
            else:
                cells.append(tools.NOT_INSTALLED)
            cells.append(report.seconds(min(_pglast_in_process(files) for _ in range(repeats))))
            rows.append(cells)
            log(f"  lint {label}: liftdb {cells[2]}, squawk {cells[3]}, pglast {cells[4]}")
    return rows, notes


def _median_cell(argv: list[str], repeats: int) -> str:
    results = [_timed(argv) for _ in range(repeats)]
    value = report.median([elapsed for elapsed, _ in results])
    code = results[-1][1]
    return report.seconds(value) + ("" if code == 0 else f" (exit {code})")


def section(rows: list[list[object]], notes: list[str], repeats: int) -> str:
    headers = ["chain", "files", "`liftdb lint`", "squawk", "pglast.parse_sql, in process"]
    lines = [
        f"Median of {repeats} cold run(s) over every up and rollback file. A non-zero exit",
        "(findings) is shown beside the time. Targets: real chain under 0.3 s, 1,000",
        "versions under 1 s.",
        "",
        report.table(headers, rows),
    ]
    lines += [f"\nNote: {note}" for note in notes]
    return "\n".join(lines)
