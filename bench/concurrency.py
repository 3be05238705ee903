"""Idempotency under concurrency: eight workers replay the same trigger events at once.

Invariant: every worker applies every event, each in its own order, through
``workload.apply``; afterwards each (event, lift) must have exactly one log
row and exactly one new max, whatever the interleaving, and no worker may
have seen a deadlock or any other error.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg

from bench import datagen, report, workload
from bench.queries import uuid_of

WORKERS = 8
EVENTS_FROM = datetime(2027, 1, 1, 9, tzinfo=UTC)  # after the generated history
TRIGGERS = {
    "AFTER_WEEK": lambda k: {"weekNumber": 1 + k % 4, "cycleIteration": 1 + k // 4},
    "AFTER_CYCLE": lambda k: {"cycleIteration": 1 + k, "totalWeeks": 4},
}


@dataclass
class Outcome:
    events: int
    pairs: int
    seconds: float
    transactions: int
    changed: int
    errors: Counter = field(default_factory=Counter)
    log_rows: Counter = field(default_factory=Counter)  # rows per (event, lift): count -> pairs
    new_maxes: Counter = field(default_factory=Counter)


def events(dataset: datagen.Dataset, count: int, seed: int) -> list[workload.Event]:
    """``count`` events over the dataset's users; a user's k-th event is on day k.

    So two events of one user never share a day, and each new max has a day of its own.
    """
    rng = random.Random(seed)
    per_user: Counter = Counter()
    found = []
    for _ in range(count):
        user = rng.choice(dataset.plan)
        k = per_user[user.user_no]
        per_user[user.user_no] += 1
        trigger = rng.choice(sorted(TRIGGERS))
        lift_count = rng.randint(1, datagen.LIFTS_PER_EVENT)
        lifts = tuple(
            (uuid_of("lift", n), Decimal("10.0") if n in (1, 3) else Decimal("5.0"))
            for n in range(1, lift_count + 1)
        )
        found.append(
            workload.Event(
                user=uuid_of("user", user.user_no),
                progression=uuid_of("progression", 2 + 2 * (user.user_no % datagen.PROGRAMS)),
                trigger=trigger,
                context=TRIGGERS[trigger](k),
                at=EVENTS_FROM + timedelta(days=k, seconds=rng.randrange(36_000)),
                lifts=lifts,
            )
        )
    return found


def replay(url: str, replayed: list[workload.Event], seed: int, log) -> Outcome:
    outcome = Outcome(len(replayed), sum(len(e.lifts) for e in replayed), 0.0, 0, 0)
    lock = threading.Lock()

    def worker(number: int) -> None:
        order = list(replayed)
        random.Random(seed * 100 + number).shuffle(order)
        done = changed = 0
        errors: Counter = Counter()
        with psycopg.connect(url, autocommit=True) as conn:
            for event in order:
                try:
                    changed += workload.apply(conn, event)
                except psycopg.Error as exc:
                    errors[type(exc).__name__] += 1
                done += 1
        with lock:
            outcome.transactions += done
            outcome.changed += changed
            outcome.errors.update(errors)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(WORKERS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outcome.seconds = time.perf_counter() - started
    log(f"  {WORKERS} workers, {outcome.transactions} transactions in {outcome.seconds:.1f} s")
    _check(url, replayed, outcome)
    return outcome


def _check(url: str, replayed: list[workload.Event], outcome: Outcome) -> None:
    """Count, per (event, lift), the log rows and the new maxes the replays left."""
    with psycopg.connect(url) as conn:
        conn.execute(
            "CREATE TEMPORARY TABLE bench_expected (user_id uuid, progression_id uuid,"
            " lift_id uuid, trigger_type text, applied_at timestamptz)"
        )
        with conn.cursor().copy("COPY bench_expected FROM STDIN") as copy:
            for event in replayed:
                for lift, _ in event.lifts:
                    copy.write_row((event.user, event.progression, lift, event.trigger, event.at))
        logs = conn.execute(
            """SELECT n, count(*) FROM (
                   SELECT count(g.id) AS n FROM bench_expected e
                   LEFT JOIN progression_logs g USING (user_id, progression_id, lift_id,
                                                      trigger_type, applied_at)
                   GROUP BY e.user_id, e.progression_id, e.lift_id, e.trigger_type, e.applied_at
               ) AS per_pair GROUP BY n"""
        ).fetchall()
        maxes = conn.execute(
            """SELECT n, count(*) FROM (
                   SELECT count(m.id) AS n FROM bench_expected e
                   LEFT JOIN lift_maxes m ON m.user_id = e.user_id AND m.lift_id = e.lift_id
                       AND m.type = 'TRAINING_MAX' AND m.effective_date = e.applied_at::date
                   GROUP BY e.user_id, e.lift_id, e.applied_at
               ) AS per_pair GROUP BY n"""
        ).fetchall()
        conn.rollback()
    outcome.log_rows.update(dict(logs))
    outcome.new_maxes.update(dict(maxes))


def section(outcome: Outcome) -> str:
    def spread(counter: Counter) -> str:
        return ", ".join(f"{n} row(s): {pairs:,}" for n, pairs in sorted(counter.items()))

    exact_logs = outcome.log_rows.get(1, 0) == outcome.pairs
    exact_maxes = outcome.new_maxes.get(1, 0) == outcome.pairs
    deadlocks = outcome.errors.get("DeadlockDetected", 0)
    rows = [
        ["events", f"{outcome.events:,}"],
        ["(event, lift) pairs", f"{outcome.pairs:,}"],
        ["apply transactions (every worker applies every event)", f"{outcome.transactions:,}"],
        ["wall time", f"{outcome.seconds:.1f} s"],
        ["throughput", f"{outcome.transactions / outcome.seconds:,.0f} transactions/s"],
        ["lifts changed (first applies)", f"{outcome.changed:,}"],
        ["log rows per pair", spread(outcome.log_rows)],
        ["new maxes per pair", spread(outcome.new_maxes)],
        ["errors seen by workers", dict(outcome.errors) or "none"],
    ]
    return "\n".join(
        [
            f"{WORKERS} threads, each on its own connection, replay the same {outcome.events:,}"
            " trigger events (each one progression applied to one to four lifts) in",
            "independently shuffled orders, through the apply transaction (lock the user's",
            "row, probe, insert the log row with ON CONFLICT DO NOTHING, insert the new max).",
            "",
            report.table(["measure", "value"], rows),
            "",
            f"- exactly one log row per (event, lift): {'yes' if exact_logs else 'NO'}",
            f"- exactly one new max per (event, lift): {'yes' if exact_maxes else 'NO'}",
            f"- duplicates: {sum(v for n, v in outcome.log_rows.items() if n > 1)}",
            f"- deadlocks surfaced to a worker: {deadlocks}",
            f"- lifts changed equals pairs: {'yes' if outcome.changed == outcome.pairs else 'NO'}",
        ]
    )
