"""The tickets' queries at volume: latency percentiles and the plans that serve them.

Invariant: every query runs thousands of times on one connection against the
populated database, with parameters drawn from the data's own users (the
busy ones more often, as they use the application more), and its plan is
captured once with ``EXPLAIN (ANALYZE, BUFFERS)`` for the busiest user, the
worst case.
"""

from __future__ import annotations

import random
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

from bench import datagen, report, workload

SEQ_SCAN = re.compile(r"Seq Scan on (progression_logs|lift_maxes)\b")
APPLY = "apply transaction (probe, insert log, insert max)"
APPLY_FROM = datetime(2031, 1, 1, 12, tzinfo=UTC)  # after every generated and replayed event


def uuid_of(kind: str, number: int) -> UUID:
    """The id datagen gives the n-th row of a kind: md5(kind || n)::uuid."""
    import hashlib

    return UUID(hashlib.md5(f"{kind}{number}".encode()).hexdigest())


@dataclass
class Timing:
    name: str
    samples: list[float]
    plan: str = ""

    @property
    def seq_scan(self) -> bool:
        return bool(SEQ_SCAN.search(self.plan))


class Parameters:
    """Parameter sets drawn from the plan: users weighted by activity."""

    def __init__(self, dataset: datagen.Dataset, seed: int) -> None:
        self.random = random.Random(seed)
        self.users = dataset.plan
        self.weights = [user.log_rows for user in dataset.plan]
        self.busiest = dataset.busiest()
        self.applied = 0

    def for_user(self, user: datagen.UserPlan) -> dict:
        slot = self.random.randrange(datagen.LIFTS_PER_EVENT)
        lift_no = slot + 1 if slot < 3 else 4 + (user.user_no + slot - 3) % datagen.OTHER_LIFTS
        end = datetime(2026, 1, 1, tzinfo=UTC) - timedelta(days=self.random.randrange(1000))
        return {
            "user": uuid_of("user", user.user_no),
            "lift": uuid_of("lift", lift_no),
            "type": self.random.choice(("TRAINING_MAX", "ONE_RM")),
            "from": end - timedelta(days=90),
            "to": end,
            "program": uuid_of("program", 1 + self.random.randrange(datagen.PROGRAMS)),
            "progression": uuid_of("progression", 1 + 2 * (user.user_no % datagen.PROGRAMS)),
            "trigger": "AFTER_SESSION",
            "at": datetime(2025, 12, 31, 18, tzinfo=UTC),
        }

    def draw(self) -> dict:
        return self.for_user(self.random.choices(self.users, self.weights)[0])

    def worst(self) -> dict:
        return self.for_user(self.busiest)

    def event(self) -> workload.Event:
        """A new event on its own day, so its new max never collides with another's."""
        user = self.random.choices(self.users, self.weights)[0]
        self.applied += 1
        lifts = tuple(
            (uuid_of("lift", n), Decimal("5.0") if n in (1, 3) else Decimal("2.5"))
            for n in (1, 2, 3)[: self.random.randint(1, 3)]
        )
        return workload.Event(
            user=uuid_of("user", user.user_no),
            progression=uuid_of("progression", 2 + 2 * (user.user_no % datagen.PROGRAMS)),
            trigger="AFTER_WEEK",
            context={"weekNumber": 1 + self.applied % 4, "cycleIteration": 1},
            at=APPLY_FROM + timedelta(days=self.applied),
            lifts=lifts,
        )


def statements() -> dict[str, str]:
    found = {"idempotency probe": workload.PROBE}
    for label, filters in workload.HISTORY_FILTERS.items():
        found[f"history page, {label}"] = workload.HISTORY.format(filters=filters)
        found[f"history count, {label}"] = workload.HISTORY_COUNT.format(filters=filters)
    found["current max"] = workload.CURRENT_MAX
    found["program's progressions"] = workload.PROGRAM_PROGRESSIONS
    found["program's progressions for a lift"] = workload.PROGRAM_PROGRESSIONS_FOR_LIFT
    found["weekly lookups of a program"] = workload.WEEKLY_LOOKUPS_BY_PROGRAM
    found["daily lookups by name"] = workload.DAILY_LOOKUPS_BY_NAME
    return found


# psycopg prepares a statement after five executions, and PostgreSQL then tries a
# generic plan, costed for an average user (about three log rows per lift). For
# the busiest users that plan reads every row of the lift and sorts them, so the
# application should send the history queries unprepared, each getting a plan for
# its own user; the rest gain from preparing. ``prepared_against_unprepared``
# measures the difference in every run.
UNPREPARED_PREFIX = "history"
PREPARED_CHECK = "history page, one lift"
BUSIEST_RUNS = 50


@dataclass(frozen=True)
class PreparedCost:
    """One history query sent both ways over the same draws: p95, and the busiest user's
    median."""

    unprepared_p95: float
    prepared_p95: float
    unprepared_busiest: float
    prepared_busiest: float


def prepared_against_unprepared(
    conn, dataset: datagen.Dataset, executions: int, seed: int
) -> PreparedCost:
    sql = statements()[PREPARED_CHECK]
    params = Parameters(dataset, seed + 1)
    draws = [params.draw() for _ in range(executions)]
    worst = params.worst()
    found = {}
    for prepare in (False, True):
        samples = sorted(_timed(conn, sql, values, prepare) for values in draws)
        busiest = sorted(_timed(conn, sql, worst, prepare) for _ in range(BUSIEST_RUNS))
        found[prepare] = (report.percentile(samples, 0.95), report.median(busiest))
    return PreparedCost(found[False][0], found[True][0], found[False][1], found[True][1])


def _timed(conn, sql: str, values: dict | None, prepare: bool | None) -> float:
    """One execution, rows fetched, in seconds; ``prepare`` None is psycopg's own choice."""
    started = time.perf_counter()
    conn.execute(sql, values, prepare=prepare).fetchall()
    return time.perf_counter() - started


def measure(conn, dataset: datagen.Dataset, executions: int, seed: int, log) -> list[Timing]:
    params = Parameters(dataset, seed)
    timings = []
    for name, sql in statements().items():
        prepare = False if name.startswith(UNPREPARED_PREFIX) else None
        for _ in range(executions // 10):  # untimed: let the plan cache and buffers settle
            conn.execute(sql, params.draw() if "%(" in sql else None, prepare=prepare).fetchall()
        samples = []
        for _ in range(executions):
            values = params.draw() if "%(" in sql else None
            samples.append(_timed(conn, sql, values, prepare))
        worst = params.worst() if "%(" in sql else None
        explained = conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, worst).fetchall()
        plan = "\n".join(row[0] for row in explained)
        timings.append(Timing(name, samples, plan))
        log(f"  {name:45} p95 {_ms(report.percentile(sorted(samples), 0.95))}")
    samples = []
    for _ in range(executions):
        event = params.event()
        started = time.perf_counter()
        workload.apply(conn, event)
        samples.append(time.perf_counter() - started)
    timings.insert(0, Timing(APPLY, samples, _apply_plans(conn, params)))
    log(f"  {APPLY:45} p95 {_ms(report.percentile(sorted(samples), 0.95))}")
    return timings


def _apply_plans(conn, params: Parameters) -> str:
    """The plans of the apply transaction's reads and writes, rolled back."""
    event = params.event()
    lift, delta = event.lifts[0]
    values = {
        "user": event.user, "progression": event.progression, "lift": lift,
        "trigger": event.trigger, "at": event.at, "type": "TRAINING_MAX", "delta": delta,
        "previous": Decimal(100), "context": workload.Jsonb(event.context),
    }  # fmt: skip
    parts = []
    with conn.transaction(force_rollback=True):
        for label, sql in (
            ("lock user", workload.LOCK_USER),
            ("probe", workload.PROBE),
            ("current max", workload.CURRENT_MAX),
            ("insert log", workload.INSERT_LOG),
            ("insert max", workload.INSERT_MAX),
        ):
            rows = conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, values).fetchall()
            parts.append(f"-- {label}\n" + "\n".join(row[0] for row in rows))
    return "\n".join(parts)


def _ms(value: float) -> str:
    return f"{value * 1000:.2f} ms"


def section(
    timings: list[Timing], dataset: datagen.Dataset, executions: int, prepared: PreparedCost
) -> str:
    counts = dataset.counts
    busiest = dataset.busiest()
    rows = []
    for timing in timings:
        ordered = sorted(timing.samples)
        rows.append(
            [
                timing.name,
                _ms(report.percentile(ordered, 0.50)),
                _ms(report.percentile(ordered, 0.95)),
                _ms(report.percentile(ordered, 0.99)),
                "**seq scan**" if timing.seq_scan else "index",
            ]
        )
    by_name = {t.name: t for t in timings}
    history_p95 = max(
        report.percentile(sorted(t.samples), 0.95)
        for name, t in by_name.items()
        if name.startswith("history page")
    )
    apply_p95 = report.percentile(sorted(by_name[APPLY].samples), 0.95)
    scans = [t.name for t in timings if t.seq_scan]
    lines = [
        f"{counts['users']:,} users, {counts['lifts']} lifts, {counts['lift_maxes']:,} lift_maxes,"
        f" {counts['progression_logs']:,} progression_logs, {counts['programs']} programs,"
        f" {counts['program_progressions']} program_progressions; the busiest user has"
        f" {busiest.log_rows:,} log rows. {executions:,} timed executions per query (after"
        f" {executions // 10:,} untimed) on one connection, client round trip included,"
        " parameters drawn by user activity, the history queries unprepared"
        ' (see below and README, "Benchmarks");'
        " the apply transaction applies a new event to one to three lifts.",
        "",
        report.table(["query", "p50", "p95", "p99", "plan"], rows),
        "",
        f"- every query index-served (no seq scan on progression_logs or lift_maxes):"
        f" {'yes' if not scans else 'NO: ' + ', '.join(scans)}",
        f"- history page p95: {_ms(history_p95)} (target: under 5 ms; application: 200 ms)",
        f"- apply transaction p95: {_ms(apply_p95)} (target: under 10 ms; application: 50 ms)",
        f"- {PREPARED_CHECK}, the same {executions:,} draws sent prepared (PostgreSQL may"
        f" switch to a generic plan) and unprepared: p95 {_ms(prepared.prepared_p95)}"
        f" against {_ms(prepared.unprepared_p95)}; for the busiest user, median of"
        f" {BUSIEST_RUNS}: {_ms(prepared.prepared_busiest)} against"
        f" {_ms(prepared.unprepared_busiest)}",
        "",
        "<details><summary>EXPLAIN (ANALYZE, BUFFERS) for the busiest user</summary>",
        "",
    ]
    for timing in timings:
        lines += [f"#### {timing.name}", "", "```", timing.plan, "```", ""]
    lines.append("</details>")
    return "\n".join(lines)
