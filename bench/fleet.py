"""Many databases: N copies of one template on one server, migrated through the real chain
by ``liftdb fleet migrate --jobs 1, 4, 8``, a shell loop of ``liftdb migrate`` and a shell
loop of ``dbmate up``.

Invariant: every contender gets N fresh copies of the same empty template (made before its
clock starts, dropped after it stops), the same chain in its own layout, and the same
server, one contender after another in one run; a figure counts only once every one of
its databases is checked to be at the chain's head afterwards.
"""

from __future__ import annotations

import os
import shlex
import tempfile
import textwrap
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from bench import chains, report, tools
from bench.server import Server
from runner import database

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
TEMPLATE = "liftdb_bench_fleet_template"
PREFIX = "liftdb_bench_fleet"
JOBS = (1, 4, 8)
LOOP_LIFTDB = "liftdb loop"
LOOP_DBMATE = "dbmate loop"
ADMIN_THREADS = 4  # CREATE / DROP DATABASE at a time, while setting up (untimed)


def fleet_name(jobs: int) -> str:
    return f"liftdb fleet --jobs {jobs}"


CONTENDERS = (LOOP_LIFTDB, LOOP_DBMATE, *(fleet_name(j) for j in JOBS))


@dataclass
class Measured:
    """Wall seconds per contender (one figure a run), the server's own work per database
    (liftdb's recorded durations), and why a contender has no figure."""

    count: int
    seconds: dict[str, list[float]] = field(default_factory=dict)
    server_ms: list[float] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)

    def median(self, contender: str) -> float | None:
        values = self.seconds.get(contender)
        return report.median(values) if values else None


def measure(server: Server, count: int, runs: int, log) -> Measured:
    measured = Measured(count)
    admin = database.with_database(server.url, "postgres")
    changes = chains.from_directory(SQL_DIR)
    with tempfile.TemporaryDirectory(prefix="liftdb-bench-fleet-") as root:
        liftdb_dir = chains.write_liftdb(changes, Path(root) / "liftdb")
        dbmate_dir = chains.write_dbmate(changes, Path(root) / "dbmate")
        _admin(admin, [f'DROP DATABASE IF EXISTS "{TEMPLATE}"', f'CREATE DATABASE "{TEMPLATE}"'])
        try:
            for run in range(runs):
                order = list(
                    CONTENDERS[run % len(CONTENDERS) :] + CONTENDERS[: run % len(CONTENDERS)]
                )
                for contender in order:
                    if contender in measured.notes:
                        continue
                    reason = _unavailable(contender)
                    if reason:
                        measured.notes[contender] = reason
                        continue
                    _one(
                        server,
                        admin,
                        contender,
                        count,
                        liftdb_dir,
                        dbmate_dir,
                        measured,
                        Path(root),
                        log,
                    )
        finally:
            _admin(admin, [f'DROP DATABASE IF EXISTS "{TEMPLATE}"'])
    return measured


def _unavailable(contender: str) -> str | None:
    if contender == LOOP_DBMATE and not (tools.BIN / "dbmate").exists():
        return tools.NOT_INSTALLED
    if contender.startswith("liftdb fleet") and not tools.has_liftdb_command("fleet"):
        return tools.MISSING_COMMAND
    return None


def _one(server, admin, contender, count, liftdb_dir, dbmate_dir, measured, root, log) -> None:
    names = [f"{PREFIX}_{index:05d}" for index in range(count)]
    urls = [database.with_database(server.url, name) for name in names]
    _admin(admin, [f'CREATE DATABASE "{n}" TEMPLATE "{TEMPLATE}"' for n in names])
    try:
        commands = _commands(contender, server, admin, urls, liftdb_dir, dbmate_dir, root)
        try:
            elapsed = tools.run(commands)
        except tools.ToolFailed as exc:
            measured.notes[contender] = f"failed: {exc}"
            log(f"  {contender}: {exc}")
            return
        wrong = _not_at_head(contender, urls, len(chains.from_directory(SQL_DIR)), measured)
        if wrong:
            measured.notes[contender] = f"not counted: {wrong}"
            log(f"  {contender}: {wrong}")
            return
        measured.seconds.setdefault(contender, []).append(elapsed)
        each = elapsed / count * 1000
        log(f"  {contender:24} {count} databases {elapsed:7.2f} s ({each:.1f} ms each)")
    finally:
        _admin(admin, [f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)' for n in names])


def _commands(contender, server, admin, urls, liftdb_dir, dbmate_dir, root) -> list[tools.Command]:
    """The command timed: one process for the fleet, one shell running the loop else."""
    liftdb = str(tools.BIN / "liftdb")
    if contender.startswith("liftdb fleet"):
        jobs = contender.rsplit(" ", 1)[1]
        pattern = PREFIX.replace("_", "\\_") + "\\_%"
        argv = [liftdb, "--sql-dir", str(liftdb_dir), "--quiet", "fleet", "migrate",
                "--server", admin, "--databases", pattern, "--jobs", jobs]  # fmt: skip
        return [tools.Command(argv)]
    if contender == LOOP_LIFTDB:
        lines = urls
        folder = shlex.quote(str(liftdb_dir))
        step = f'{shlex.quote(liftdb)} --database-url "$url" --sql-dir {folder} --quiet migrate'
    else:
        lines = [tools.dbmate_url(url) for url in urls]
        dbmate = shlex.quote(str(tools.BIN / "dbmate"))
        folder = shlex.quote(str(dbmate_dir))
        step = f'{dbmate} --url "$url" --migrations-dir {folder} --no-dump-schema up >/dev/null'
    listing = root / f"{contender.replace(' ', '_')}.txt"
    listing.write_text("\n".join(lines) + "\n")
    script = f"while read -r url; do {step} || exit 1; done < {shlex.quote(str(listing))}"
    return [tools.Command(["bash", "-c", script])]


def _not_at_head(contender: str, urls: list[str], head: int, measured: Measured) -> str | None:
    """Why the contender's work is not all done (every database at the chain's head), or
    None; for liftdb, the server's own time per database is noted on the way."""
    query = (
        "SELECT count(*), coalesce(sum(duration_ms), 0) FROM liftdb_version"
        if contender != LOOP_DBMATE
        else "SELECT count(*), 0 FROM schema_migrations"
    )

    def read(url: str) -> tuple[int, int]:
        with psycopg.connect(url, autocommit=True) as conn:
            return conn.execute(query).fetchone()

    with ThreadPoolExecutor(ADMIN_THREADS) as pool:
        found = list(pool.map(read, urls))
    short = [url for url, (versions, _) in zip(urls, found, strict=True) if versions != head]
    if short:
        return f"{len(short)} database(s) not at version {head}, e.g. {database.mask(short[0])}"
    if contender == fleet_name(1):  # alone on the server: its time is its work
        measured.server_ms += [ms for _, ms in found]
    return None


def _admin(admin_url: str, statements: list[str]) -> None:
    def run(statement: str) -> None:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(statement)

    with ThreadPoolExecutor(ADMIN_THREADS) as pool:
        list(pool.map(run, statements))


def section(measured: Measured, runs: int, server: Server) -> str:
    count = measured.count
    versions = len(chains.from_directory(SQL_DIR))
    loop = measured.median(LOOP_LIFTDB)
    dbmate = measured.median(LOOP_DBMATE)
    rows = []
    for contender in CONTENDERS:
        value = measured.median(contender)
        if value is None:
            rows.append([contender, measured.notes.get(contender, "no figure"), "", "", ""])
            continue
        rows.append(
            [
                contender,
                report.seconds(value),
                f"{value / count * 1000:.1f} ms",
                f"{loop / value:.1f}x" if loop else "",
                f"{dbmate / value:.2f}x" if dbmate else "",
            ]
        )
    lines = [
        textwrap.fill(
            f"{count} databases on one server ({server.label}, PostgreSQL {server.version}),"
            " each a fresh copy of one empty template (`CREATE DATABASE ... TEMPLATE`, untimed),"
            f" taken through the real chain (sql/, {versions} versions) by each contender in"
            " turn: `liftdb fleet migrate --server ... --databases PATTERN --jobs J` (one"
            " process), a bash loop running `liftdb --database-url URL migrate` per database,"
            " and a bash loop running `dbmate --url URL up` per database."
            f" Median of {runs} run(s); every database is checked to be at the chain's head"
            " before a figure counts. `per database` is the wall time divided by the number of"
            " databases: start-up, connecting, reading the bookkeeping and the server's work.",
            width=88,
        ),
        "",
        report.table(
            [
                "contender",
                "wall time",
                "per database",
                "speed-up on the liftdb loop",
                "speed-up on the dbmate loop",
            ],
            rows,
        ),  # fmt: skip
    ]
    if measured.server_ms:
        server_ms = report.median(measured.server_ms)
        lines += [
            "",
            textwrap.fill(
                "Time inside the server per database, with one job (the sum of the durations"
                f" liftdb records for its versions, median): {server_ms:.0f} ms. With more"
                f" jobs than the machine's {os.cpu_count()} CPU(s), the server's work bounds"
                " how fast any tool can go.",
                width=88,
            ),
        ]
    lines += ["", *_targets(measured)]
    for contender, note in measured.notes.items():
        if measured.median(contender) is not None:
            lines.append(f"\nNote: {contender}: {note}")
    return "\n".join(lines)


def _targets(measured: Measured) -> list[str]:
    fleet8 = measured.median(fleet_name(8))
    loop = measured.median(LOOP_LIFTDB)
    dbmate = measured.median(LOOP_DBMATE)
    if fleet8 is None or loop is None:
        return ["Targets: not evaluated (a contender has no figure)."]
    met = "met" if loop / fleet8 >= 10 else "MISSED"
    lines = [f"- `--jobs 8` against the liftdb loop: {loop / fleet8:.1f}x (target: 10x; {met})"]
    if dbmate is not None:
        met = "met" if fleet8 < dbmate else "MISSED"
        lines.append(
            f"- `--jobs 8` against the dbmate loop: {dbmate / fleet8:.2f}x (target: faster; {met})"
        )
    return lines
