"""A large data version: 200,000 one-line INSERTs (about 17 MB) in one file, applied by
``liftdb migrate`` beside ``psql -1 -f``, and where liftdb's time goes, stage by stage.

Invariant: both tools apply the same file to a fresh database holding the same empty
table, one after the other in an order rotated from run to run; the stage figures come
from one process running liftdb's own functions on the same file at several sizes, so a
stage whose time grows faster than the file shows as a rising cost per statement.
"""

from __future__ import annotations

import cProfile
import pstats
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import report, tools
from bench.server import Server, scratch
from runner import api, database, loader

STATEMENTS = 200_000
STAGE_COUNTS = (50_000, 100_000, 200_000)
NON_TRANSACTIONAL = 20_000  # statement by statement: a commit each, so a smaller file

CREATE = (
    "CREATE TABLE readings (\n"
    "    id integer PRIMARY KEY,\n"
    "    sensor text NOT NULL,\n"
    "    value numeric(10, 2) NOT NULL\n"
    ");\n"
)
COMMENT = "COMMENT ON TABLE readings IS 'A sensor reading, loaded by the data version.';\n"


def data_text(count: int, *, header: str = "") -> str:
    """``count`` one-line INSERTs, about 85 bytes each."""
    lines = [header] if header else []
    lines += [
        f"INSERT INTO readings (id, sensor, value) VALUES ({i}, 'sensor-{i % 97:03d}-east',"
        f" {i % 100000}.{i % 100:02d});"
        for i in range(1, count + 1)
    ]
    return "\n".join(lines) + "\n"


def write_chain(directory: Path, count: int, *, transactional: bool = True) -> Path:
    """A two-version chain: the table, then the data; returns the data file."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "00001_create_readings.sql").write_text(CREATE + COMMENT)
    (directory / "00001_create_readings.rollback.sql").write_text("DROP TABLE readings;\n")
    data = directory / "00002_load_readings.sql"
    data.write_text(data_text(count, header="" if transactional else "-- transactional: false"))
    (directory / "00002_load_readings.rollback.sql").write_text("DELETE FROM readings;\n")
    return data


@dataclass
class Measured:
    times: dict[str, list[float]] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    size: int = 0  # bytes of the transactional data file

    def add(self, tool: str, value: float) -> None:
        self.times.setdefault(tool, []).append(value)


def measure(server: Server, runs: int, log, count: int = STATEMENTS) -> Measured:
    """Whole processes: ``liftdb migrate`` against ``psql -1 -f`` on the same file, and the
    same file as a non-transactional version against psql without ``-1``."""
    measured = Measured()
    loose_count = min(count, NON_TRANSACTIONAL)
    with tempfile.TemporaryDirectory(prefix="liftdb-bench-large-") as root:
        chain, loose, table = Path(root) / "sql", Path(root) / "loose", Path(root) / "table"
        data = write_chain(chain, count)
        measured.size = data.stat().st_size
        loose_data = write_chain(loose, loose_count, transactional=False)
        write_chain(table, 0)
        runners = [
            (f"liftdb migrate ({count:,} statements)", _liftdb(chain)),
            (f"psql -1 -f ({count:,} statements)", _psql(server, data, "-1")),
            (
                f"liftdb migrate, `-- transactional: false` ({loose_count:,} statements)",
                _liftdb(loose),
            ),
            (f"psql -f, autocommit ({loose_count:,} statements)", _psql(server, loose_data)),
        ]
        for run in range(runs):
            shift = run % len(runners)
            for name, command in runners[shift:] + runners[:shift]:
                if name in measured.notes:
                    continue
                with scratch(server, "bench_large") as url:
                    # The table, as version 1 applied by liftdb: untimed, the same for psql.
                    api.migrate(url, table, to=1)
                    try:
                        elapsed = tools.run(command(url))
                    except tools.ToolFailed as exc:
                        measured.notes[name] = f"failed: {exc}"
                        log(f"  {name}: {exc}")
                        continue
                measured.add(name, elapsed)
                log(f"  {name:66} {elapsed:7.3f} s")
    return measured


def _liftdb(chain: Path):
    def command(url: str) -> list[tools.Command]:
        argv = [str(tools.BIN / "liftdb"), "--database-url", url, "--sql-dir", str(chain)]
        return [tools.Command([*argv, "migrate"])]

    return command


def _psql(server: Server, data: Path, *flags: str):
    def command(url: str) -> list[tools.Command]:
        argv = [server.psql, "-X", "-q", *flags, "-v", "ON_ERROR_STOP=1", "-d", url]
        return [tools.Command([*argv, "-f", str(data)])]

    return command


# --- stage by stage, in one process ------------------------------------------------


STAGES = (
    "read the file",
    "split into statements (pglast)",
    "checksum",
    "plan: directives, transaction control",
    "dry-run script",
    "apply: send, server, results",
    "apply: liftdb's own CPU in it",
    "a failing last statement: named",
)


def stages(server: Server, counts: tuple[int, ...], log) -> dict[int, dict[str, float]]:
    """Seconds per stage for each file size, from liftdb's own functions in this process."""
    found = {}
    for count in counts:
        with tempfile.TemporaryDirectory(prefix="liftdb-bench-stages-") as root:
            found[count] = _stages_at(server, count, Path(root))
        took = found[count]
        log(f"  stages at {count:,}: " + ", ".join(f"{k} {v:.3f}" for k, v in took.items()))
    return found


def _stages_at(server: Server, count: int, root: Path) -> dict[str, float]:
    from runner import executor, plan

    data = write_chain(root / "sql", count)
    took: dict[str, float] = {}
    started = time.perf_counter()
    sql_file = loader.read_file(data)
    took["read the file"] = time.perf_counter() - started
    took["split into statements (pglast)"] = _timed(lambda: sql_file.statements)
    took["checksum"] = _timed(lambda: sql_file.checksum)
    version = loader.load(root / "sql").get(2)
    version.up.statements  # noqa: B018 - the split, timed above; the plan's own work next
    steps = plan.Plan((plan.Step(version, "up"),))
    timeouts = executor.Timeouts()
    took["plan: directives, transaction control"] = _timed(steps.parse)
    took["dry-run script"] = _timed(lambda: executor.script(steps.steps[0], timeouts))
    with scratch(server, "bench_stages") as url:
        api.migrate(url, root / "sql", to=1)
        with database.connect(url) as conn:
            cpu = time.process_time()
            took["apply: send, server, results"] = _timed(
                lambda: executor.run(conn, steps, timeouts)
            )
            took["apply: liftdb's own CPU in it"] = time.process_time() - cpu
    failing = root / "failing"
    with write_chain(failing, count).open("a") as handle:
        handle.write("INSERT INTO readings (id, sensor, value) VALUES (7, 'x', 1);\n")
    with scratch(server, "bench_stages") as url:
        api.migrate(url, failing, to=1)
        took["a failing last statement: named"] = _timed(lambda: _expect_failure(url, failing))
    return took


def _timed(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def _expect_failure(url: str, chain: Path) -> None:
    from runner.errors import MigrationFailed

    try:
        api.migrate(url, chain)
    except MigrationFailed as exc:
        if ":" not in exc.message:
            raise
        return
    raise AssertionError("the duplicate key was not reported")


def profile(server: Server, count: int) -> str:
    """cProfile's top functions by own time for a whole ``migrate`` of the file."""
    with tempfile.TemporaryDirectory(prefix="liftdb-bench-profile-") as root:
        write_chain(Path(root) / "sql", count)
        with scratch(server, "bench_profile") as url:
            profiler = cProfile.Profile()
            profiler.enable()
            api.migrate(url, Path(root) / "sql")
            profiler.disable()
    stats = pstats.Stats(profiler)
    rows = []
    for (filename, line, function), (_, calls, own, cumulative, _) in sorted(
        stats.stats.items(), key=lambda item: item[1][2], reverse=True
    )[:8]:
        where = f"{Path(filename).name}:{line}({function})" if line else function
        rows.append([f"`{where}`", calls, f"{own:.3f}", f"{cumulative:.3f}"])
    return report.table(["function", "calls", "own s", "cumulative s"], rows)


def section(
    measured: Measured,
    runs: int,
    staged: dict[int, dict[str, float]],
    profiled: str,
    count: int = STATEMENTS,
) -> str:
    medians = {tool: report.median(values) for tool, values in measured.times.items()}
    ours = next((v for k, v in medians.items() if k.startswith("liftdb migrate (")), None)
    psql = next((v for k, v in medians.items() if k.startswith("psql -1")), None)
    rows = [[tool, report.seconds(value)] for tool, value in medians.items()]
    rows += [[tool, note] for tool, note in measured.notes.items() if tool not in medians]
    lines = [
        f"One data version of {count:,} one-line INSERTs ({measured.size / 1e6:.1f} MB) into an",
        f"empty table the run finds created; median of {runs} run(s), each tool in a fresh",
        "database, whole processes started cold. The non-transactional rows run the first",
        f"{min(count, NON_TRANSACTIONAL):,} statements as `-- transactional: false` (liftdb"
        " commits each",
        "statement and its progress row) beside psql committing each statement.",
        "",
        report.table(["run", "median"], rows),
    ]
    if ours and psql:
        lines += [
            "",
            f"- liftdb: {ours / psql:.2f}x `psql -1 -f` on the same file (target: within 2x).",
        ]
    lines += [
        "",
        "Where liftdb's time goes, by stage (liftdb's own functions in one process; the",
        "cost per statement stays flat when the stage is linear in the file):",
        "",
    ]
    counts = sorted(staged)
    headers = ["stage", *[f"{n:,}" for n in counts], "µs / statement"]
    table_rows = []
    for stage in STAGES:
        values = [staged[n].get(stage) for n in counts]
        per = [f"{1e6 * v / n:.1f}" for v, n in zip(values, counts, strict=True) if v is not None]
        cells = [report.seconds(v) if v is not None else "" for v in values]
        table_rows.append([stage, *cells, " / ".join(per)])
    lines.append(report.table(headers, table_rows))
    lines += [
        "",
        f"cProfile of a whole in-process `migrate` of the {count:,}-statement file, the",
        "functions with the most own time:",
        "",
        profiled,
    ]
    return "\n".join(lines)
