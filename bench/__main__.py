"""``python -m bench`` (``make bench``): measure, then write bench/RESULTS.md and its plot.

Invariant: a benchmark prints figures and writes the results file; a peer
that is missing or a liftdb command that does not exist yet becomes a note
in the results, never a failure of the run.
"""

from __future__ import annotations

import argparse
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import psycopg

from bench import (
    availability,
    concurrency,
    datagen,
    fleet,
    large_file,
    latency,
    lint_speed,
    overhead,
    queries,
    report,
    server,
    startup,
    tools,
)
from runner import api

BENCHMARKS = (
    "overhead", "network", "rollback", "status", "large", "lint", "queries", "concurrency",
    "fleet", "availability",
)  # fmt: skip
FLEET_DATABASES = 500
NS = [50, 100, 200, 400]
NETWORK_NS = [50, 100, 200]  # three N: the least a line is fitted through
NETWORK_TOOLS = ("psql floor", "liftdb", "dbmate")
ROLLBACK_N = 100


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one run each, scale 0.1")
    parser.add_argument(
        "--only", default=",".join(BENCHMARKS), help=f"comma-separated: {','.join(BENCHMARKS)}"
    )
    parser.add_argument(
        "--runs", type=int, help="runs per tool and N (default 3; quick 1; fleet 1)"
    )
    parser.add_argument(
        "--rounds", type=int, help="start-up: rounds of cold commands (default 40; quick 5)"
    )
    parser.add_argument("--scale", type=float, help="data volume (default 1.0; quick 0.1)")
    parser.add_argument("--pg15", action="store_true", help="also measure the runners on PG15")
    parser.add_argument("--output", type=Path, help="results file (quick runs: bench/out/)")
    parser.add_argument("--databases", type=int, help="fleet: databases (default 500; quick 50)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--round-trip-ms",
        type=float,
        default=2.0,
        help="network: the round trip the proxy adds between the tools and the server (default 2)",
    )
    parser.add_argument(
        "--reader-seconds",
        type=float,
        help="availability: how long the reader holds its transaction (default 10; quick 3)",
    )
    args = parser.parse_args(argv)
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(args.only) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {BENCHMARKS}")
    args.fleet_runs = args.runs or 1  # each fleet figure already spans hundreds of databases
    args.runs = args.runs or (1 if args.quick else 3)
    args.scale = args.scale or (0.1 if args.quick else 1.0)
    args.repeats = 3 if args.quick else 10
    args.rounds = args.rounds or (5 if args.quick else 40)
    args.executions = 300 if args.quick else 2000
    args.events = 1000 if args.quick else 10_000
    args.databases = args.databases or (FLEET_DATABASES // 10 if args.quick else FLEET_DATABASES)
    # A quick run never overwrites the full run's results: it writes beside them in out/.
    args.output = args.output or (report.QUICK_RESULTS if args.quick else report.RESULTS)
    args.fleet_output = args.output.parent / (
        "RESULTS-fleet-quick.md" if args.quick else "RESULTS-fleet.md"
    )
    args.reader_seconds = args.reader_seconds or (3.0 if args.quick else 10.0)
    args.availability_output = args.output.parent / (
        "RESULTS-availability-quick.md" if args.quick else "RESULTS-availability.md"
    )
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    started = time.perf_counter()
    load_at_start = report.load_average()
    bytecode = tools.compile_liftdb_bytecode()
    sections: list[report.Section] = []
    with ExitStack() as stack:
        servers = [server.default_server()]
        if args.pg15 and server.pg15_available():
            servers.append(stack.enter_context(server.pg15_server()))
        elif args.pg15:
            log(f"--pg15: no PostgreSQL 15 in {server.PG15_BIN}; measuring one server")
        for srv in servers:
            suffix = f" ({srv.label}, PostgreSQL {srv.version})"
            sections += _runner_benchmarks(srv, suffix, args)
        if "lint" in args.only:
            log("lint throughput")
            rows, notes = lint_speed.measure(args.repeats, log)
            sections.append(
                report.Section("Lint throughput", lint_speed.section(rows, notes, args.repeats))
            )
        if {"queries", "concurrency"} & set(args.only):
            sections += _volume_benchmarks(servers[0], args)
        head = report.header(
            [(s.label, s.version) for s in servers],
            tools.versions(servers[0]),
            "quick" if args.quick else f"full ({args.runs} runs)",
            (load_at_start, report.load_average()),
            time.perf_counter() - started,
            [bytecode],
        )
        if sections:
            args.output.parent.mkdir(parents=True, exist_ok=True)
            report.write(args.output, head, sections)
            print(report.render(sections))
            log(f"wrote {args.output} in {time.perf_counter() - started:.0f} s")
        if "fleet" in args.only:
            _fleet_benchmark(servers, args, bytecode)
        if "availability" in args.only:
            _availability_benchmark(servers, args, bytecode)
    return 0


def _availability_benchmark(servers: list[server.Server], args, bytecode: str) -> None:
    """Written to a results file of its own, as the fleet's: run alone (``--only
    availability``) it leaves the other figures as they were measured."""
    started = time.perf_counter()
    load_at_start = report.load_average()
    sections = []
    for srv in servers:
        slug = "pg" + srv.version.split(".")[0]
        log(f"availability: a {args.reader_seconds:.0f} s reader ({srv.label}, {srv.version})")
        runs = availability.measure(srv, args.reader_seconds, log)
        plot = availability.plot(
            runs, args.reader_seconds, args.availability_output.parent / f"availability-{slug}.png"
        )
        title = f"Availability during a migration ({srv.label}, PostgreSQL {srv.version})"
        body = availability.section(runs, args.reader_seconds, plot.name if plot else None)
        sections.append(report.Section(title, body))
    mode = "quick" if args.quick else "full (1 run per tool)"
    _write_own_file(args.availability_output, servers, sections, mode, started, load_at_start,
                    bytecode)  # fmt: skip


def _write_own_file(
    path: Path, servers, sections, mode: str, started: float, load_at_start: str, bytecode: str
) -> None:
    """A benchmark's results file of its own, headed as RESULTS.md is."""
    head = report.header(
        [(s.label, s.version) for s in servers],
        tools.versions(servers[0]),
        mode,
        (load_at_start, report.load_average()),
        time.perf_counter() - started,
        [bytecode],
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    report.write(path, head, sections)
    print(report.render(sections))
    log(f"wrote {path} in {time.perf_counter() - started:.0f} s")


def _fleet_benchmark(servers: list[server.Server], args, bytecode: str) -> None:
    """Written to a results file of its own: a fleet run alone (``--only fleet``) leaves
    the other figures, and the README's, as they were measured."""
    started = time.perf_counter()
    load_at_start = report.load_average()
    sections = []
    runs = args.fleet_runs
    for srv in servers:
        log(f"fleet: {args.databases} databases ({srv.label}, PostgreSQL {srv.version})")
        measured = fleet.measure(srv, args.databases, runs, log)
        title = f"Many databases ({srv.label}, PostgreSQL {srv.version})"
        sections.append(report.Section(title, fleet.section(measured, runs, srv)))
    mode = "quick" if args.quick else f"full ({runs} run(s))"
    _write_own_file(args.fleet_output, servers, sections, mode, started, load_at_start, bytecode)


def _runner_benchmarks(srv: server.Server, suffix: str, args) -> list[report.Section]:
    found = []
    slug = "pg" + srv.version.split(".")[0]
    if "overhead" in args.only:
        log(f"runner overhead{suffix}")
        measured = overhead.measure_migrate(srv, NS, args.runs, log)
        plot = report.plot_overhead(
            measured.medians(),
            overhead.FLOOR,
            f"Applying a chain of N versions, PostgreSQL {srv.version}",
            args.output.parent / _plot_name(args.output, slug),
        )
        body = overhead.migrate_section(measured, NS, args.runs, plot.name if plot else None)
        found.append(report.Section("Runner overhead: migrate" + suffix, body))
    if "network" in args.only:
        with latency.delayed(srv, args.round_trip_ms / 2000) as far:
            log(f"runner overhead over a network{suffix}: {far.label}")
            measured = overhead.measure_migrate(far, NETWORK_NS, args.runs, log, NETWORK_TOOLS)
        body = overhead.network_section(measured, NETWORK_NS, args.runs, far.label)
        found.append(report.Section("Runner overhead: migrate over a network" + suffix, body))
    if "rollback" in args.only:
        log(f"rollback{suffix}")
        measured = overhead.measure_rollback(srv, ROLLBACK_N, args.runs, log)
        body = overhead.rollback_section(measured, ROLLBACK_N, args.runs)
        found.append(report.Section("Runner overhead: rollback" + suffix, body))
    if "status" in args.only:
        log(f"status from a cold start{suffix}")
        body = startup.section(startup.measure(srv, args.rounds, log))
        found.append(report.Section("Start-up: status" + suffix, body))
    if "large" in args.only:
        count = large_file.STATEMENTS // (10 if args.quick else 1)
        log(f"a large data version of {count:,} statements{suffix}")
        measured = large_file.measure(srv, count=count, runs=args.runs, log=log)
        staged = large_file.stages(
            srv, tuple(n * count // large_file.STATEMENTS for n in large_file.STAGE_COUNTS), log
        )
        profiled = large_file.profile(srv, count)
        body = large_file.section(measured, args.runs, staged, profiled, count)
        found.append(report.Section("A large data version" + suffix, body))
    return found


def _plot_name(output: Path, slug: str) -> str:
    """The plot beside its results file: ``overhead-pg18.png`` for bench/RESULTS.md, named
    for any other file (``RESULTS-quick-overhead-pg18.png``), so that a quick or partial run
    never replaces the plot the full results show."""
    name = f"overhead-{slug}.png"
    return name if output == report.RESULTS else f"{output.stem}-{name}"


def _volume_benchmarks(srv: server.Server, args) -> list[report.Section]:
    found = []
    with server.scratch(srv, "bench_volume") as url:
        api.migrate(url, startup.SQL_DIR)
        with psycopg.connect(url, autocommit=True) as conn:
            log(f"populating at scale {args.scale}")
            began = time.perf_counter()
            dataset = datagen.populate(conn, args.scale, args.seed)
            loaded = time.perf_counter() - began
            counts = ", ".join(f"{table} {rows:,}" for table, rows in dataset.counts.items())
            log(f"  populated in {loaded:.1f} s: {counts}")
            if "queries" in args.only:
                timings = queries.measure(conn, dataset, args.executions, args.seed, log)
                prepared = queries.prepared_against_unprepared(
                    conn, dataset, args.executions, args.seed
                )
                p95 = prepared.prepared_p95 * 1000
                log(f"  {queries.PREPARED_CHECK}, sent prepared: p95 {p95:.2f} ms")
                body = queries.section(timings, dataset, args.executions, prepared)
                body += f"\n\nPopulating took {loaded:.1f} s (`bench/datagen.py`)."
                found.append(report.Section("The tickets' queries at volume", body))
        if "concurrency" in args.only:
            log(f"concurrency: {concurrency.WORKERS} workers, {args.events} events")
            replayed = concurrency.events(dataset, args.events, args.seed)
            outcome = concurrency.replay(url, replayed, args.seed, log)
            found.append(
                report.Section("Idempotency under concurrency", concurrency.section(outcome))
            )
    return found


if __name__ == "__main__":
    sys.exit(main())
