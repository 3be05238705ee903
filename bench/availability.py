"""Availability: what a migration costs the application while a long reader holds a table.

Invariant: every tool meets the same scene, on its own copy of one populated
database: pgbench runs the application (the tickets' apply transaction and
history page, ``APPLY_SCRIPT`` / ``HISTORY_SCRIPT``, at a fixed rate, each
transaction's latency logged), a reader opens a transaction on
``progression_logs`` at ``READER_AT_S`` and holds it ``reader_s``, and at
``MIGRATION_AT_S`` the tool applies one version adding a nullable column to
``progression_logs``. The latencies are pgbench's own (measured from each
transaction's scheduled start, so a stall counts in full); nothing is
sampled or smoothed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from bench import datagen, report, tools
from bench.server import Server
from runner import api, database, loader

READER_AT_S = 1.0  # after pgbench starts
MIGRATION_AT_S = 2.0
AFTER_READER_S = 6.0  # pgbench runs on this long after the reader ends
RATE = 50  # application transactions per second, over CLIENTS sessions
CLIENTS = 4
SCALE = 0.02  # datagen's: 200 users, 20,000 progression_logs rows
TARGET_MS = 250
COLUMN = "bench_note"
ALTER = f"ALTER TABLE progression_logs ADD COLUMN {COLUMN} text"
DROP = f"ALTER TABLE progression_logs DROP COLUMN {COLUMN}"

USERS = max(1, round(datagen.USERS * SCALE))
# The apply transaction (bench/workload.py's statements, for one lift): the user's row
# locked, the current max read, the log row inserted idempotently, the new max inserted.
APPLY_SCRIPT = f"""\\set u random(1, {USERS})
\\set l random(1, 3)
\\set d random(0, 99999)
BEGIN;
SELECT 1 FROM users WHERE id = {datagen.user_id_sql(":u")} FOR NO KEY UPDATE;
SELECT value FROM lift_maxes WHERE user_id = {datagen.user_id_sql(":u")}
  AND lift_id = {datagen.lift_id_sql(":l")} AND type = 'TRAINING_MAX'
  ORDER BY effective_date DESC LIMIT 1;
INSERT INTO progression_logs (user_id, progression_id, lift_id, previous_value, new_value,
    delta, trigger_type, trigger_context, applied_at)
  VALUES ({datagen.user_id_sql(":u")},
    {datagen.progression_id_sql(f"2 + 2 * (:u % {datagen.PROGRAMS})")},
    {datagen.lift_id_sql(":l")}, 100, 105, 5, 'AFTER_WEEK',
    '{{"weekNumber": 1, "cycleIteration": 1}}', clock_timestamp())
  ON CONFLICT ON CONSTRAINT progression_logs_idempotency_key DO NOTHING;
INSERT INTO lift_maxes (user_id, lift_id, type, value, effective_date)
  VALUES ({datagen.user_id_sql(":u")}, {datagen.lift_id_sql(":l")}, 'TRAINING_MAX', 105,
    DATE '2027-01-01' + :d)
  ON CONFLICT ON CONSTRAINT lift_maxes_user_id_lift_id_type_effective_date_key DO NOTHING;
END;
"""
# The history page: the newest 20 log rows of a user, with the names.
HISTORY_SCRIPT = f"""\\set u random(1, {USERS})
SELECT g.id, g.previous_value, g.new_value, g.delta, g.trigger_type, g.applied_at,
       p.name AS progression, l.name AS lift
FROM progression_logs g
JOIN progressions p ON p.id = g.progression_id
JOIN lifts l ON l.id = g.lift_id
WHERE g.user_id = {datagen.user_id_sql(":u")}
ORDER BY g.applied_at DESC
LIMIT 20;
"""


@dataclass
class Run:
    """One tool's scene: the application's transactions and what the tool did."""

    tool: str
    latencies: list[tuple[float, float]] = field(default_factory=list)  # (end s, latency ms)
    errors: int = 0  # transactions pgbench counted failed, clients aborted
    migration_s: tuple[float, float] | None = None  # (start, end) after pgbench's start
    exit_code: int | None = None
    last_line: str = ""
    reader_s: tuple[float, float] = (0.0, 0.0)
    note: str = ""

    def window(self) -> list[float]:
        """Latencies of transactions that ended from the reader's start to pgbench's end."""
        return sorted(ms for end, ms in self.latencies if end >= self.reader_s[0])

    def longest_stall_ms(self) -> float:
        """The longest time with no application transaction ending, within the window."""
        ends = sorted(end for end, _ in self.latencies if end >= self.reader_s[0])
        gaps = [b - a for a, b in zip(ends, ends[1:], strict=False)]
        return max(gaps, default=0.0) * 1000


def _tools(server: Server) -> list[tuple[str, str | None]]:
    """(name, why unavailable or None)."""
    return [
        ("liftdb (defaults)", None),
        ("liftdb --lock-retries 0", None),
        ("dbmate", None if (tools.BIN / "dbmate").exists() else tools.NOT_INSTALLED),
        ("yoyo", None if (tools.BIN / "yoyo").exists() else tools.NOT_INSTALLED),
        ("psql", None),
    ]


def _write_version(tool: str, folder: Path, head: int) -> None:
    """The one version, in the tool's own layout, into ``folder``."""
    if tool.startswith("liftdb"):
        for path in sorted(tools.REPO.joinpath("sql").glob("*.sql")):
            shutil.copy(path, folder / path.name)
        name = f"{head + 1:05d}_add_{COLUMN}"
        (folder / f"{name}.sql").write_text(f"{ALTER};\n")
        (folder / f"{name}.rollback.sql").write_text(f"{DROP};\n")
    elif tool == "dbmate":
        (folder / f"20990101000000_add_{COLUMN}.sql").write_text(
            f"-- migrate:up\n{ALTER};\n\n-- migrate:down\n{DROP};\n"
        )
    elif tool == "yoyo":
        (folder / f"9999_add_{COLUMN}.sql").write_text(f"{ALTER};\n")
        (folder / f"9999_add_{COLUMN}.rollback.sql").write_text(f"{DROP};\n")


def _command(tool: str, server: Server, url: str, folder: Path) -> list[str]:
    if tool.startswith("liftdb"):
        extra = ["--lock-retries", "0"] if "0" in tool else []
        return [str(tools.BIN / "liftdb"), "--database-url", url, "--sql-dir", str(folder),
                *extra, "migrate"]  # fmt: skip
    if tool == "dbmate":
        return [str(tools.BIN / "dbmate"), "--url", tools.dbmate_url(url), "--migrations-dir",
                str(folder), "--no-dump-schema", "migrate"]  # fmt: skip
    if tool == "yoyo":
        from urllib.parse import urlsplit, urlunsplit

        yoyo_url = urlunsplit(("postgresql+psycopg", *urlsplit(url)[1:]))
        return [str(tools.BIN / "yoyo"), "apply", "--batch", "--no-config-file", "--database",
                yoyo_url, str(folder)]  # fmt: skip
    return [server.psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", ALTER]


def populated(server: Server, log) -> tuple[str, int]:
    """A database migrated with the chain and populated at ``SCALE``: its name (a
    template for each tool's copy) and the chain's head."""
    name = f"liftdb_availability_{os.getpid()}"
    with database.connect(server.url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = database.with_database(server.url, name)
    api.migrate(url, tools.REPO / "sql")
    with psycopg.connect(url, autocommit=True) as conn:
        began = time.perf_counter()
        dataset = datagen.populate(conn, SCALE, 0)
        conn.execute("CHECKPOINT")
    log(f"  populated in {time.perf_counter() - began:.1f} s: {dataset.counts}")
    return name, loader.load(tools.REPO / "sql").head


def scene(server: Server, template: str, head: int, tool: str, reader_s: float, log) -> Run:
    """One tool's run on a fresh copy of ``template``."""
    name = f"{template}_{abs(hash(tool)) % 10**6}"
    with database.connect(server.url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    url = database.with_database(server.url, name)
    work = Path(tempfile.mkdtemp(prefix="liftdb-availability-"))
    run = Run(tool)
    try:
        folder = work / "migrations"
        folder.mkdir()
        _write_version(tool, folder, head)
        (work / "apply.sql").write_text(APPLY_SCRIPT)
        (work / "history.sql").write_text(HISTORY_SCRIPT)
        duration = int(MIGRATION_AT_S + reader_s + AFTER_READER_S)
        pgbench = [
            "pgbench", "-n", "-R", str(RATE), "-c", str(CLIENTS), "-j", "2", "-T", str(duration),
            "-l", "--log-prefix", str(work / "tx"), "-f", f"{work / 'apply.sql'}@1",
            "-f", f"{work / 'history.sql'}@1", url,
        ]  # fmt: skip
        started = time.time()
        bench = subprocess.Popen(
            pgbench,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **server.libpq_env()},
        )
        try:
            reader = threading.Thread(target=_reader, args=(url, started, reader_s, run))
            reader.start()
            _sleep_until(started + MIGRATION_AT_S)
            began = time.time()
            done = subprocess.run(
                _command(tool, server, url, folder),
                capture_output=True,
                text=True,
                env={**os.environ, **server.libpq_env()},
                timeout=duration + 60,
            )
            run.migration_s = (began - started, time.time() - started)
            run.exit_code = done.returncode
            lines = (done.stderr or done.stdout).strip().splitlines()
            run.last_line = (lines[-1] if lines else "").replace(f"{folder}/", "")
            reader.join(timeout=duration + 60)
            stdout, stderr = bench.communicate(timeout=duration + 60)
        finally:
            if bench.poll() is None:
                bench.kill()
                bench.wait(timeout=30)
        run.errors = _errors(stdout, stderr)
        for log_file in work.glob("tx*"):
            for line in log_file.read_text().splitlines():
                fields = line.split()
                latency_us, epoch, us = int(fields[2]), int(fields[4]), int(fields[5])
                run.latencies.append((epoch + us / 1e6 - started, latency_us / 1000))
        run.latencies.sort()
        window = run.window()
        if not window:
            run.note = f"pgbench logged nothing: {(stderr.strip().splitlines() or ['?'])[-1]}"
            log(f"  {tool}: {run.note}")
            return run
        took = run.migration_s[1] - run.migration_s[0]
        log(
            f"  {tool}: exit {run.exit_code}, migration {took:.1f} s, p99"
            f" {report.percentile(window, 0.99):.0f} ms, max {max(window):.0f} ms,"
            f" {run.errors} error(s)"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
        with database.connect(server.url) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return run


def _reader(url: str, started: float, reader_s: float, run: Run) -> None:
    """A transaction on progression_logs from ``READER_AT_S`` for ``reader_s``."""
    _sleep_until(started + READER_AT_S)
    with psycopg.connect(url, application_name="long reader") as conn:
        began = time.time()
        conn.execute("SELECT count(*) FROM progression_logs")
        _sleep_until(began + reader_s)
        conn.commit()
        run.reader_s = (began - started, time.time() - started)


def _sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.time()))


def _errors(stdout: str, stderr: str) -> int:
    """Failed transactions (pgbench 15's ``number of failed transactions``) plus aborted
    clients; an error message pgbench prints counts too."""
    failed = 0
    for line in stdout.splitlines():
        if line.startswith("number of failed transactions:"):
            failed += int(line.split(":")[1].split()[0])
    aborted = sum("aborted" in line for line in stderr.splitlines())
    return failed + aborted


def measure(server: Server, reader_s: float, log) -> list[Run]:
    template, head = populated(server, log)
    runs = []
    try:
        for tool, unavailable in _tools(server):
            if unavailable:
                runs.append(Run(tool, note=unavailable))
                continue
            log(f"availability: {tool}")
            runs.append(scene(server, template, head, tool, reader_s, log))
    finally:
        with database.connect(server.url) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
    return runs


def plot(runs: list[Run], reader_s: float, path: Path) -> Path | None:
    """Latency over time, one line per tool; None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    figure, axes = plt.subplots(figsize=(9, 4.5))
    for run in runs:
        if run.latencies:
            # Each transaction where it was due to start: a stall is a ramp, not a gap.
            due = sorted((end - ms / 1000, ms) for end, ms in run.latencies)
            starts, ms = zip(*due, strict=True)
            axes.plot(starts, ms, label=run.tool, linewidth=1, marker=".", markersize=2)
    axes.axvspan(READER_AT_S, READER_AT_S + reader_s, color="0.9", label="long reader")
    axes.axhline(TARGET_MS, color="red", linewidth=0.8, linestyle="--", label=f"{TARGET_MS} ms")
    axes.set_yscale("log")
    axes.set_xlabel("seconds since the application started (transaction's scheduled start)")
    axes.set_ylabel("application transaction latency (ms)")
    axes.set_title("ADD COLUMN on progression_logs behind a long reader")
    axes.legend(fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def section(runs: list[Run], reader_s: float, plot_name: str | None) -> str:
    rows = []
    for run in runs:
        if run.note:
            rows.append([run.tool, run.note, "", "", "", "", "", ""])
            continue
        window = run.window()
        start, end = run.migration_s or (0.0, 0.0)
        applied = "yes" if run.exit_code == 0 else f"no (exit {run.exit_code})"
        after_reader = end - run.reader_s[1]
        rows.append([
            run.tool,
            f"{report.percentile(window, 0.5):.1f}",
            f"{report.percentile(window, 0.99):.0f}",
            f"{max(window, default=0):.0f}",
            f"{run.longest_stall_ms():.0f}",
            str(run.errors),
            applied,
            f"{end - start:.1f} s ({after_reader:+.1f} s)",
        ])  # fmt: skip
    headers = ["tool", "p50 ms", "p99 ms", "max ms", "longest stall ms", "errors",
               "applied", "migration took (ended vs the reader's end)"]  # fmt: skip
    text = (
        f"pgbench at {RATE} transactions/s over {CLIENTS} sessions (the apply transaction and"
        f" the history page, half each; `bench/availability.py`) against a database populated"
        f" at scale {SCALE}; a reader holds a transaction on `progression_logs` for"
        f" {reader_s:.0f} s from {READER_AT_S:.0f} s; at {MIGRATION_AT_S:.0f} s each tool applies"
        f" `{ALTER}`. Latencies are pgbench's, from each transaction's scheduled start;"
        f" the window is from the reader's start to pgbench's end; the longest stall is"
        f" the longest time in it with no application transaction ending.\n\n"
        + report.table(headers, rows)
    )
    failures = [f"- {run.tool}: {run.last_line}" for run in runs if run.exit_code]
    if failures:
        text += "\n\nWhat the tools that did not apply the version said:\n\n" + "\n".join(failures)
    if plot_name:
        text += f"\n\n![application latency over time]({plot_name})"
    return text
