"""Runner overhead: a generated chain of N versions applied by each tool, and rolled back.

Invariant: within one run every tool applies the same chain to its own fresh,
empty database on the same server, in an order rotated from run to run, so a
burst of load from elsewhere on the machine falls on the tools evenly.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench import chains, report, tools
from bench.server import Server, fresh_databases

FLOOR = tools.PsqlFloor.name


@dataclass
class Measured:
    """Seconds per tool and N, and why a tool has no figure."""

    times: dict[str, dict[int, list[float]]] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)

    def add(self, tool: str, n: int, value: float) -> None:
        self.times.setdefault(tool, {}).setdefault(n, []).append(value)

    def medians(self) -> dict[str, dict[int, float]]:
        return {
            tool: {n: report.median(values) for n, values in by_n.items()}
            for tool, by_n in self.times.items()
        }


def _rotated(items: list, by: int) -> list:
    by %= len(items)
    return items[by:] + items[:by]


def measure_migrate(
    server: Server, ns: list[int], runs: int, log, only: tuple[str, ...] | None = None
) -> Measured:
    """Runs outermost, so a burst of load elsewhere spoils one run of a few N, not one N.
    ``only``: the names of the tools to measure (default: every migrator)."""
    measured = Measured()
    migrators = [cls for cls in tools.MIGRATORS if only is None or cls.name in only]
    with (
        tempfile.TemporaryDirectory(prefix="liftdb-bench-chains-") as root,
        fresh_databases(server) as fresh,
    ):
        peers_by_n = {}
        for n in ns:
            changes = chains.generated(n)
            peers_by_n[n] = [cls(server) for cls in migrators]
            for peer in peers_by_n[n]:
                peer.prepare(changes, Path(root) / f"{n}" / peer.name.replace(" ", "_"))
        for run in range(runs):
            for n in ns:
                for peer in _rotated(peers_by_n[n], run):
                    _time_one(peer, "migrate", n, measured, log, fresh)
    return measured


def measure_rollback(server: Server, n: int, runs: int, log) -> Measured:
    """Apply N versions untimed, then time rolling all of them back."""
    measured = Measured()
    changes = chains.generated(n)
    with (
        tempfile.TemporaryDirectory(prefix="liftdb-bench-rollback-") as root,
        fresh_databases(server) as fresh,
    ):
        peers = [cls(server) for cls in tools.RUNNERS]
        for peer in peers:
            peer.prepare(changes, Path(root) / peer.name)
        for run in range(runs):
            for peer in _rotated(peers, run):
                _time_one(peer, "rollback", n, measured, log, fresh)
    return measured


def _time_one(
    peer: tools.Tool, action: str, n: int, measured: Measured, log, fresh: Callable[[], str]
) -> None:
    """Time ``action`` into a database ``fresh`` creates untimed (and drops only after
    the whole benchmark: ``fresh_databases``)."""
    if peer.name in measured.notes:
        return
    reason = peer.unavailable(action)
    if reason:
        measured.notes[peer.name] = reason
        return
    url = fresh()
    try:
        if action == "migrate":
            elapsed = tools.run(peer.migrate(url))
        else:
            tools.run(peer.migrate(url))
            elapsed = tools.run(peer.rollback_all(url))
    except tools.ToolFailed as exc:
        measured.notes[peer.name] = f"failed: {exc}"
        log(f"  {peer.name} {action} N={n}: {exc}")
        return
    measured.add(peer.name, n, elapsed)
    log(f"  {action:8} N={n:<4} {peer.name:22} {elapsed:7.3f} s")


MIN_FIT_POINTS = 3  # distinct N: two points always make a line, noise or not
MIN_FIT_RUNS = 3  # runs behind each median


def fit(points: dict[int, float], runs: int) -> tuple[float, float] | str:
    """Least-squares line through (N, median seconds): (seconds at N = 0, ms per extra
    version); or, where the figures cannot carry one, why not (too few points or runs,
    or a line no tool can have: a negative fixed cost or cost per version)."""
    if len(points) < MIN_FIT_POINTS or runs < MIN_FIT_RUNS:
        return (
            f"not fitted: {len(points)} N and {runs} run(s);"
            f" a line needs {MIN_FIT_POINTS} N and {MIN_FIT_RUNS} runs"
        )
    xs, ys = list(points), [points[n] for n in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var
    intercept = my - slope * mx
    if intercept < 0 or slope <= 0:
        return "not fitted: the medians do not lie on a line a tool can have (noise)"
    return intercept, 1000 * slope


def migrate_section(measured: Measured, ns: list[int], runs: int, plot: str | None) -> str:
    medians = measured.medians()
    floor = medians.get(FLOOR, {})
    headers = ["tool", *[f"N = {n}" for n in ns], "ms / version", "fixed cost"]
    rows = []
    unfitted: set[str] = set()
    for tool in [cls.name for cls in tools.MIGRATORS]:
        if tool not in measured.notes and tool not in medians:
            continue  # not measured in this benchmark
        if tool in measured.notes and tool not in medians:
            rows.append([tool, *[measured.notes[tool]] * len(ns), ""])
            continue
        cells = []
        for n in ns:
            value = medians.get(tool, {}).get(n)
            if value is None:
                cells.append("")
            elif floor.get(n):
                cells.append(f"{report.seconds(value)} ({value / floor[n]:.2f}x)")
            else:
                cells.append(report.seconds(value))
        line = fit(medians.get(tool, {}), runs)
        if isinstance(line, str):
            unfitted.add(line)
            rows.append([tool, *cells, "n/a", "n/a"])
        else:
            rows.append([tool, *cells, f"{line[1]:.2f}", f"{line[0]:.3f} s"])
    lines = [
        f"Median wall time of {runs} run(s) applying a generated chain of N versions (each a",
        "table with a foreign key and an index) to an empty database, and the ratio to the",
        "psql floor (one session, each version in its own transaction with a bookkeeping",
        "insert). `ms / version` and `fixed cost` are the slope and the intercept (N = 0:",
        "start-up, imports, connecting) of the least-squares line through the medians.",
        "The psycopg floor (`bench/psycopg_floor.py`) is the least a runner in Python on",
        "psycopg can do: `import psycopg`, one string per version, nothing checked.",
        "The liftdb lower bound (`bench/liftdb_bound.py`) is the least a liftdb that keeps",
        "its guarantees could cost: liftdb's libraries imported and every file parsed, then",
        "the very strings liftdb sends for the chain (bookkeeping, reset and advisory-lock",
        "check included), all versions in one string: no client work per version.",
        "",
        report.table(headers, rows),
    ]
    lines += [f"\n`n/a`: {reason}" for reason in sorted(unfitted)]
    lines += _targets(medians, ns, runs, measured.times)
    notes = {tool: note for tool, note in measured.notes.items() if tool in medians}
    for tool, note in notes.items():
        lines.append(f"\nNote: {tool}: {note}")
    if plot:
        lines += ["", f"![overhead curve]({plot})"]
    return "\n".join(lines)


def network_section(measured: Measured, ns: list[int], runs: int, server: str) -> str:
    """The migrate table again, through ``bench.latency``'s proxy: what each round trip a
    tool waits for costs when the server is a network hop away."""
    lines = [
        "The same chains on the same server, reached through a proxy on 127.0.0.1 that",
        "delays every message it forwards (`bench/latency.py`; a server across a network).",
        f"The server as the tools reached it: {server} (measured, beyond a",
        "direct query's). A tool pays that for each answer it waits for: liftdb sends a",
        "transactional version, its bookkeeping and the session's reset as one string;",
        "dbmate sends BEGIN, the file, two queries of its own, the bookkeeping insert and",
        "COMMIT, each waiting for its answer.",
        "",
        migrate_section(measured, ns, runs, None),
    ]
    return "\n".join(lines)


def _targets(
    medians: dict[str, dict[int, float]],
    ns: list[int],
    runs: int,
    times: dict[str, dict[int, list[float]]] | None = None,
) -> list[str]:
    liftdb, floor = medians.get("liftdb", {}), medians.get(FLOOR, {})
    if not liftdb or not floor:
        return ["", "Targets: not evaluated (liftdb or the floor has no figure)."]
    if runs < MIN_FIT_RUNS:
        return ["", f"Targets: not judged from {runs} run(s) (at least {MIN_FIT_RUNS})."]
    top = max(n for n in ns if n in liftdb and n in floor)
    ratio = liftdb[top] / floor[top]
    lines = ["", f"- liftdb at N = {top}: {ratio:.2f}x the floor (target: within 1.2x)"]
    lines += _against_dbmate(liftdb, medians.get("dbmate", {}), medians.get(BOUND, {}))
    lines += _psycopg_floor(medians, times or {}, ns)
    for peer in ("yoyo", "dbmate", "sqitch"):
        theirs = medians.get(peer, {})
        common = [n for n in ns if n in theirs and n in liftdb]
        if not common:
            continue
        faster = [str(n) for n in common if liftdb[n] < theirs[n]]
        if len(faster) == len(common):
            verdict = "at every N"
        else:
            verdict = f"only at N = {', '.join(faster)}" if faster else "at no N"
        lines.append(f"- liftdb faster than {peer}: {verdict} (target: at every N)")
        if peer == "dbmate" and len(faster) < len(common):
            lines.append(f"  - {_break_even(liftdb, theirs, runs)}")
    return lines


DBMATE_SMALL_N, DBMATE_SMALL_RATIO, DBMATE_AHEAD_FROM = 50, 1.5, 200


def _against_dbmate(
    liftdb: dict[int, float], dbmate: dict[int, float], bound: dict[int, float]
) -> list[str]:
    """Within 1.5x of dbmate at N = 50, ahead of it from N = 200 on; each beside where the
    lower bound (``bench/liftdb_bound.py``) stands: a target the bound misses is out of
    reach of any liftdb that keeps its guarantees."""
    lines = []
    if DBMATE_SMALL_N in liftdb and DBMATE_SMALL_N in dbmate:
        ratio = liftdb[DBMATE_SMALL_N] / dbmate[DBMATE_SMALL_N]
        met = "met" if ratio <= DBMATE_SMALL_RATIO else "not met"
        lines.append(
            f"- liftdb at N = {DBMATE_SMALL_N}: {ratio:.2f}x dbmate"
            f" (target: within {DBMATE_SMALL_RATIO}x): {met}"
            + _bound_note(bound, dbmate, [DBMATE_SMALL_N], lambda r: r <= DBMATE_SMALL_RATIO)
        )
    large = [n for n in sorted(liftdb) if n >= DBMATE_AHEAD_FROM and n in dbmate]
    if large:
        behind = [str(n) for n in large if liftdb[n] >= dbmate[n]]
        ratios = ", ".join(f"{liftdb[n] / dbmate[n]:.2f}x at {n}" for n in large)
        met = "met" if not behind else f"not met (behind at N = {', '.join(behind)})"
        lines.append(
            f"- liftdb against dbmate from N = {DBMATE_AHEAD_FROM}: {ratios}"
            f" (target: ahead, below 1.00x): {met}"
            + _bound_note(bound, dbmate, large, lambda r: r < 1)
        )
    return lines


BOUND = tools.LiftdbBound.name


def _bound_note(
    bound: dict[int, float], dbmate: dict[int, float], ns: list[int], meets: Callable
) -> str:
    """Where the least a liftdb keeping its guarantees could cost stands against the same
    target, as the end of the target's line ("; the lower bound: 1.53x at 50, out of
    reach at N = 50"); "" without its figures."""
    ns = [n for n in ns if n in bound]
    if not ns:
        return ""
    ratios = ", ".join(f"{bound[n] / dbmate[n]:.2f}x at {n}" for n in ns)
    missed = [n for n in ns if not meets(bound[n] / dbmate[n])]
    reach = f"out of reach at N = {', '.join(map(str, missed))}" if missed else "within reach"
    return f"; the lower bound: {ratios}, {reach}"


PSYCOPG_FLOOR = tools.PsycopgFloor.name


def paired(times: dict[str, dict[int, list[float]]], ours: str, theirs: str, n: int) -> list[float]:
    """``ours`` ÷ ``theirs`` at N, run by run: both timed in the same run, one after the
    other, so what slowed the machine for a while slowed both (medians of separate
    runs do not cancel it)."""
    a, b = times.get(ours, {}).get(n, []), times.get(theirs, {}).get(n, [])
    return [x / y for x, y in zip(a, b, strict=False) if y > 0]


def _psycopg_floor(
    medians: dict[str, dict[int, float]], times: dict[str, dict[int, list[float]]], ns: list[int]
) -> list[str]:
    """Where the least a runner on psycopg can do stands against dbmate, and liftdb
    against it: what of liftdb's gap is the platform's (Python, ``import psycopg``) and
    what is liftdb's own."""
    floor, liftdb, dbmate = (medians.get(t, {}) for t in (PSYCOPG_FLOOR, "liftdb", "dbmate"))
    lines = []
    for n in [
        n for n in ns if n >= DBMATE_AHEAD_FROM and n in floor and n in dbmate and n in liftdb
    ]:
        per_run = paired(times, "liftdb", "dbmate", n)
        spread = (
            f" (run by run: {min(per_run):.2f}x to {max(per_run):.2f}x)" if len(per_run) > 1 else ""
        )
        lines.append(
            f"- at N = {n}: the psycopg floor is {floor[n] / dbmate[n]:.2f}x dbmate, liftdb"
            f" {liftdb[n] / dbmate[n]:.2f}x dbmate{spread} and {liftdb[n] / floor[n]:.2f}x"
            " the psycopg floor"
        )
    return lines


def _break_even(liftdb: dict[int, float], theirs: dict[int, float], runs: int) -> str:
    """Where the fitted lines cross: a higher fixed cost repaid by a lower cost per version."""
    ours, peer = fit(liftdb, runs), fit(theirs, runs)
    if isinstance(ours, str) or isinstance(peer, str):
        return "no break-even: a line is " + (ours if isinstance(ours, str) else peer)
    if ours[1] >= peer[1]:
        return f"liftdb costs more per version ({ours[1]:.2f} ms against {peer[1]:.2f} ms)"
    crossing = 1000 * (ours[0] - peer[0]) / (peer[1] - ours[1])
    return (
        f"liftdb's fixed cost is {ours[0] - peer[0]:+.3f} s against dbmate's, repaid by"
        f" {peer[1] - ours[1]:.2f} ms less per version: the lines cross at N = {crossing:.0f}"
    )


def rollback_section(measured: Measured, n: int, runs: int) -> str:
    medians = measured.medians()
    rows = []
    for tool in [cls.name for cls in tools.RUNNERS]:
        value = medians.get(tool, {}).get(n)
        if value is None:
            rows.append([tool, measured.notes.get(tool, "no figure"), ""])
        else:
            rows.append([tool, report.seconds(value), f"{1000 * value / n:.2f}"])
    return "\n".join(
        [
            f"Rolling back all {n} versions of the generated chain (applied untimed first),",
            f"median of {runs} run(s). dbmate rolls back one version per run, so it is run",
            f"{n} times, as a person would in a loop.",
            "",
            report.table(["tool", "rollback, all", "ms / version"], rows),
        ]
    )
