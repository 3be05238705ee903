"""What ``make bench`` may print: no figure that cannot be true, no verdict from too few
runs, and a quick run never written over a full run's results. (The report's logic on
made-up figures: nothing here times anything.)"""

from __future__ import annotations

import re
import threading

import pytest

from bench import overhead, report, startup
from bench.__main__ import parse


def test_a_quick_run_writes_beside_the_full_results_never_over_them():
    quick = parse(["--quick"])
    assert quick.output == report.QUICK_RESULTS != report.RESULTS
    assert quick.fleet_output.name == "RESULTS-fleet-quick.md"
    assert quick.output.parent != report.RESULTS.parent
    assert parse([]).output == report.RESULTS


@pytest.mark.parametrize(
    "points, runs",
    [
        ({50: 0.5, 100: 0.8}, 5),  # two points always make a line
        ({50: 0.5, 100: 0.8, 200: 1.4}, 1),  # one run per point
        ({50: 0.9, 100: 0.5, 200: 0.2}, 5),  # falling: no tool gets faster with more work
        ({50: 0.1, 100: 0.5, 200: 1.4}, 5),  # a negative fixed cost
    ],
)
def test_no_line_is_fitted_where_the_figures_cannot_carry_one(points, runs):
    assert overhead.fit(points, runs).startswith("not fitted:")


def test_a_line_is_fitted_through_enough_runs_and_points():
    fixed, per_version = overhead.fit({50: 0.35, 100: 0.6, 200: 1.1, 400: 2.1}, 3)
    assert fixed == pytest.approx(0.1) and per_version == pytest.approx(5.0)


def test_the_migrate_table_prints_no_negative_cost_and_says_why():
    measured = overhead.Measured()
    for n, value in {50: 0.1, 100: 0.5, 200: 1.4}.items():
        measured.add("liftdb", n, value)
        measured.add(overhead.FLOOR, n, value)
    text = overhead.migrate_section(measured, [50, 100, 200], 3, None)
    assert not re.search(r"-\d", text)
    assert "not fitted: the medians do not lie on a line a tool can have" in text


def startup_figures(rounds: int, **medians_ms: float) -> startup.Measured:
    labels = {
        "status": startup.STATUS,
        "floor": startup.PSYCOPG_FLOOR,
        "bare": "python -c pass",
        "pglast": "python -c 'import click, psycopg, pglast'",
    }
    measured = startup.Measured(rounds=rounds, load=[0.1])
    for key, ms in medians_ms.items():
        measured.times[labels[key]] = [ms / 1000] * rounds
    return measured


def test_an_import_measured_faster_than_one_it_contains_is_shown_as_noise():
    text = startup.section(startup_figures(40, status=120, floor=130, bare=20, pglast=125))
    row = next(line for line in text.splitlines() if "import click, psycopg, pglast" in line)
    assert "n/a: measured below" in row and "125 ms" not in row


def test_no_start_up_target_is_judged_from_a_few_rounds():
    text = startup.section(startup_figures(5, status=120, floor=130))
    assert "targets not judged: 5 round(s)" in text
    assert " met" not in text


def test_the_status_target_is_a_ratio_to_the_floor_of_the_same_run():
    met = startup.verdicts(startup_figures(40, status=138, floor=140))
    missed = startup.verdicts(startup_figures(40, status=147, floor=140))
    assert "0.99x" in met[0] and "(target: at most 1.00x): met" in met[0]
    assert "1.05x" in missed[0] and "not met" in missed[0]


def test_absolute_limits_are_not_judged_on_a_busy_machine():
    busy = startup_figures(40, status=120, floor=130)
    busy.load = [0.2, 9.0]
    lines = startup.verdicts(busy)
    assert "the absolute limits are not judged" in lines[0]
    assert "(target: under 150 ms): not judged" in lines[1]


def test_only_the_full_run_writes_the_plot_the_full_results_show():
    from bench.__main__ import _plot_name

    assert _plot_name(report.RESULTS, "pg18") == "overhead-pg18.png"
    assert _plot_name(report.QUICK_RESULTS, "pg18") == "RESULTS-quick-overhead-pg18.png"
    partial = report.RESULTS.parent / "RESULTS-startup.md"
    assert _plot_name(partial, "pg15") == "RESULTS-startup-overhead-pg15.png"


def test_the_latency_proxy_forwards_a_session_whole_and_stops(database_url):
    """``bench/latency.py``, the network benchmark's proxy: everything a client sends
    reaches the server and every answer comes back (a large one, an error, several
    results of one query), in order; once the block ends, nothing listens."""
    import psycopg

    from bench import latency
    from bench.server import Server
    from runner import database

    here = Server(label="under test", url=database_url, version="", psql="")
    with latency.delayed(here, 0.001) as far:
        assert far.url != database_url and "127.0.0.1" in far.url
        with psycopg.connect(far.url, autocommit=True) as conn:
            (text,) = conn.execute(
                "SELECT pg_catalog.repeat('x', 300000) || %s", ("end",)
            ).fetchone()
            assert text == "x" * 300_000 + "end"
            with pytest.raises(psycopg.errors.DivisionByZero):
                conn.execute("SELECT 1 / 0")
            cursor = conn.execute("SELECT 1; SELECT 2")
            assert cursor.fetchone() == (1,) and cursor.nextset() and cursor.fetchone() == (2,)
            name = conn.execute("SELECT pg_catalog.current_database()").fetchone()[0]
            assert name == database.database_name(database_url)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(far.url, connect_timeout=5).close()


def test_the_latency_proxy_forwards_copy_notices_cancels_and_a_server_s_goodbye(database_url):
    """The rest of what a migration's session sends through the network benchmark's proxy:
    COPY both ways, the server's notices, a cancel request (a connection of its own), and
    the server ending a session (``pg_terminate_backend``): each arrives as it would
    straight from the server."""
    import threading

    import psycopg

    from bench import latency
    from bench.server import Server

    here = Server(label="under test", url=database_url, version="", psql="")
    rows = [(n, f"row {n}") for n in range(20_000)]
    with latency.delayed(here, 0.001) as far, psycopg.connect(far.url, autocommit=True) as conn:
        conn.execute("CREATE TEMPORARY TABLE copied (n int, label text)")
        with conn.cursor().copy("COPY copied FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        with conn.cursor().copy("COPY copied TO STDOUT") as copy:
            assert [(int(n), label) for n, label in copy.rows()] == rows

        notices = []
        conn.add_notice_handler(lambda d: notices.append((d.severity, d.message_primary)))
        conn.execute("DO $$BEGIN RAISE NOTICE 'one %', 1; RAISE WARNING 'two'; END$$")
        assert notices == [("NOTICE", "one 1"), ("WARNING", "two")]

        canceller = threading.Timer(0.3, conn.cancel_safe)
        canceller.start()
        try:
            with pytest.raises(psycopg.errors.QueryCanceled):
                conn.execute("SELECT pg_catalog.pg_sleep(60)")
        finally:
            canceller.cancel()
            canceller.join(10)
        assert conn.execute("SELECT 'still here'").fetchone() == ("still here",)

        with psycopg.connect(database_url, autocommit=True) as admin:
            admin.execute("SELECT pg_catalog.pg_terminate_backend(%s)", (conn.info.backend_pid,))
        with pytest.raises(psycopg.errors.AdminShutdown):
            conn.execute("SELECT 1")


def test_the_latency_proxy_leaves_no_thread_behind_whatever_names_its_server(database_url):
    """A server named by host name (``localhost``) has the event loop resolve it in a
    thread of its own: that thread ends with the proxy, as the proxy's own does."""
    from bench import latency
    from bench.server import Server

    before = set(threading.enumerate())
    here = Server(label="under test", url=database_url, version="", psql="")
    with latency.delayed(here, 0.001) as near:
        # A second proxy in front of the first, reaching it by name.
        named = Server(
            label="by name", url=near.url.replace("127.0.0.1", "localhost"), version="", psql=""
        )
        for _ in range(5):
            with latency.delayed(named, 0.001) as far:
                assert "localhost" not in far.url
            left = [thread.name for thread in set(threading.enumerate()) - before]
            assert left == ["latency-proxy"], left  # the first proxy's, still running
    assert set(threading.enumerate()) - before == set()


def test_the_psycopg_floor_applies_each_version_in_its_own_transaction(database_url, tmp_path):
    """``bench/psycopg_floor.py``, the least a runner on psycopg can do, really applies
    the chain the runners apply (one transaction and one bookkeeping row per version):
    a floor that skipped work would make every tool look slow beside it."""
    import subprocess
    import sys

    import psycopg

    from bench import chains
    from tests.processes import COMMAND_TIMEOUT

    changes = chains.generated(3)
    directory = chains.write_liftdb(changes, tmp_path / "chain")
    script = overhead.tools.REPO / "bench" / "psycopg_floor.py"
    done = subprocess.run(
        [sys.executable, str(script), database_url, str(directory)],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
    )
    assert done.returncode == 0, done.stderr
    with psycopg.connect(database_url, autocommit=True) as conn:
        recorded = conn.execute(
            "SELECT version, xmin::text FROM bench_floor_version ORDER BY version"
        ).fetchall()
        tables = conn.execute(
            "SELECT count(*) FROM pg_catalog.pg_tables WHERE tablename LIKE 'bench\\_t%'"
        ).fetchone()[0]
    assert [version for version, _ in recorded] == [c.number for c in changes]
    assert len({xmin for _, xmin in recorded}) == 3  # three transactions, not one
    assert tables == 3


def test_the_lower_bound_leaves_the_database_liftdb_leaves(database_url, tmp_path):
    """``bench/liftdb_bound.py`` sends what liftdb sent for the chain: run into a new
    database, it leaves the tables, liftdb's and yoyo's bookkeeping rows and one
    transaction per version that liftdb leaves; a bound that skipped liftdb's work would
    call targets out of reach that are not."""
    import subprocess

    import psycopg

    from bench import chains, tools
    from bench.server import Server, scratch
    from tests.processes import COMMAND_TIMEOUT

    here = Server(label="under test", url=database_url, version="", psql="")
    bound, liftdb = tools.LiftdbBound(here), tools.Liftdb(here)
    for tool in (bound, liftdb):
        tool.prepare(chains.generated(3), tmp_path / "3" / tool.name.replace(" ", "_"))
    read = """
        SELECT (SELECT array_agg(c.relname::text ORDER BY c.relname) FROM pg_catalog.pg_class c
                WHERE c.relnamespace = 'public'::regnamespace),
               (SELECT array_agg(ARRAY[version::text, name, up_sha256, rollback_sha256]
                                 ORDER BY version) FROM public.liftdb_version),
               (SELECT array_agg(ARRAY[migration_hash, migration_id] ORDER BY migration_id)
                FROM public._yoyo_migration),
               (SELECT array_agg(ARRAY[migration_id, operation] ORDER BY migration_id)
                FROM public._yoyo_log),
               (SELECT count(DISTINCT xmin::text) FROM public.liftdb_version)"""
    left = []
    with scratch(here, "tbound") as by_bound, scratch(here, "tlift") as by_liftdb:
        for url, tool in ((by_bound, bound), (by_liftdb, liftdb)):
            [command] = tool.migrate(url)
            done = subprocess.run(
                command.argv, capture_output=True, text=True, timeout=COMMAND_TIMEOUT
            )
            assert done.returncode == 0, done.stderr
            with psycopg.connect(url, autocommit=True) as conn:
                left.append(conn.execute(read).fetchone())
    assert left[0] == left[1]
    assert len(left[0][1]) == 3 and left[0][4] == 3  # three versions, three transactions


def test_a_target_the_lower_bound_misses_is_said_to_be_out_of_reach():
    """Beside each target against dbmate, where the least a liftdb keeping its
    guarantees could cost stands: out of reach where even it misses the target."""
    measured = overhead.Measured()
    figures = {
        "liftdb": {50: 2.0, 200: 1.2},
        "dbmate": {50: 1.0, 200: 1.0},
        overhead.BOUND: {50: 1.6, 200: 0.9},
    }
    for _ in range(3):
        for tool, by_n in figures.items():
            for n, value in by_n.items():
                measured.add(tool, n, value)
        measured.add(overhead.FLOOR, 50, 0.5)
        measured.add(overhead.FLOOR, 200, 0.8)
    text = overhead.migrate_section(measured, [50, 200], 3, None)
    small = next(line for line in text.splitlines() if "at N = 50: 2.00x dbmate" in line)
    assert small.endswith("not met; the lower bound: 1.60x at 50, out of reach at N = 50")
    large = next(line for line in text.splitlines() if "against dbmate from N = 200" in line)
    assert large.endswith("the lower bound: 0.90x at 200, within reach")


def test_liftdb_against_dbmate_is_shown_beside_the_psycopg_floor_run_by_run():
    """At N = 200 the report says where the least a runner on psycopg can do stands
    against dbmate, and liftdb's ratio run by run (each run times both one after the
    other), not only the medians of separate runs."""
    measured = overhead.Measured()
    runs = {
        "liftdb": [1.0, 1.5, 1.2],
        "dbmate": [1.1, 1.2, 1.3],
        overhead.PSYCOPG_FLOOR: [0.9, 1.3, 1.1],
    }
    for tool, values in runs.items():
        for value in values:
            measured.add(tool, 200, value)
    measured.add(overhead.FLOOR, 200, 1.0)
    text = overhead.migrate_section(measured, [200], 3, None)
    line = next(line for line in text.splitlines() if "psycopg floor is" in line)
    assert "the psycopg floor is 0.92x dbmate" in line  # 1.1 / 1.2
    assert "liftdb 1.00x dbmate (run by run: 0.91x to 1.25x)" in line  # 1.0/1.1, 1.5/1.2
    assert "1.09x the psycopg floor" in line  # 1.2 / 1.1


def test_the_databases_a_benchmark_times_into_are_dropped_after_it_never_between(server_url):
    """Dropping a database unlinks its files, and the file system's work for that lands
    on whatever runs next: a benchmark keeps every database it made until it ends, then
    drops them all (none left behind)."""
    import psycopg

    from bench.server import Server, fresh_databases

    here = Server(label="under test", url=server_url, version="", psql="")

    def names() -> set[str]:
        with psycopg.connect(server_url, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT datname FROM pg_catalog.pg_database"
                " WHERE datname LIKE 'liftdb\\_bfresh\\_%'"
            ).fetchall()
        return {name for (name,) in rows}

    before = names()
    with fresh_databases(here, "bfresh") as fresh:
        first, second = fresh(), fresh()
        assert first != second
        during = names() - before
        assert len(during) == 2  # the first still there when the second is made
        with psycopg.connect(first, autocommit=True) as conn:
            assert conn.execute(
                "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = 'public'"
            ).fetchone() == (0,)
    assert names() == before
