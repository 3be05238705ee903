"""``liftdb lint --trace``: versions run on a scratch database holding sample rows, each
statement observed and set beside the lint's verdict on it.

Invariant: the target database is only read (which versions it has applied); the
versions run on a scratch database of the same server, dropped whatever happens,
with the chain before them applied by ``migrate``. Before each traced version,
every table that exists is brought up to the sample row count (``runner.samples``);
the version then runs as ``migrate`` runs it (one transaction, or statement by
statement for ``-- transactional: false``) and each statement is observed
(``runner.observe``). A verdict compares the effect the lint's findings on a
statement claim (``Finding.claims_on``: its safety findings, for this server's version,
and its server-version findings for features this server lacks) with the effect
observed, and nothing else: ``agrees``, ``differs``, or ``not judged`` when the sample
rows themselves break the statement.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from runner import observe
from runner.lint.findings import Finding
from runner.observe import BLOCKS, FAILS, NONE, REWRITE, SCAN, UNLESS_UTC, Effects
from runner.samples import Filled

DEFAULT_ROWS = 10_000
AGREES, DIFFERS, NOT_JUDGED = "agrees", "differs", "not judged"
LOCK_TIMEOUT_RULE = "require-lock-timeout"
SERVER_VERSION_RULE = "server-version"
ACTIVE_SQL_TRANSACTION = "25001"  # e.g. CREATE INDEX CONCURRENTLY inside a transaction
# The strongest claim of a statement's findings is its claim; FAILS outranks the rest.
CLAIM_ORDER = (NONE, BLOCKS, SCAN, UNLESS_UTC, REWRITE, FAILS)


def _rank(claim: str) -> int:
    return CLAIM_ORDER.index(UNLESS_UTC if claim.startswith(UNLESS_UTC) else claim)


@dataclass(frozen=True)
class Verdict:
    verdict: str  # AGREES, DIFFERS or NOT_JUDGED
    why: str  # one line for a person


@dataclass(frozen=True)
class StatementTrace:
    """One statement: where it is, what the server did, what the lint said of it."""

    path: str
    line: int
    col: int
    sql: str
    effects: Effects
    # The lint's findings that claim an effect on it (safety; server-version where this
    # server lacks the feature), waived ones included.
    findings: tuple[Finding, ...]
    claim: str  # the strongest effect those findings claim (NONE when none does)
    verdict: Verdict


@dataclass(frozen=True)
class VersionTrace:
    number: int
    label: str
    path: str
    transactional: bool
    rows: dict[str, int]  # every table that existed before the version -> its rows
    filled: tuple[Filled, ...]  # tables given rows (or refusing some) before it
    statements: tuple[StatementTrace, ...]
    lock_timeout: Verdict  # the file-level require-lock-timeout rule against the locks seen
    outcome: str  # what became of the version in the scratch database, for a person
    not_judged: str | None = None  # why the lint does not judge this version at all


@dataclass(frozen=True)
class Trace:
    server: str  # "18.6"
    timezone: str  # the session's TimeZone, on which timestamp <-> timestamptz depends
    rows: int  # the sample row count tables were brought up to
    versions: tuple[VersionTrace, ...] = ()
    stopped: str | None = None  # why later versions were not traced

    @property
    def differences(self) -> int:
        return sum(s.verdict.verdict == DIFFERS for v in self.versions for s in v.statements) + sum(
            v.lock_timeout.verdict == DIFFERS for v in self.versions
        )

    @property
    def statements(self) -> int:
        return sum(len(v.statements) for v in self.versions)


class Stopped(Exception):
    """A version could not be applied to the scratch database at all: later ones cannot run.
    ``trace``: what was observed of that version, when it ran."""

    def __init__(self, reason: str, trace: VersionTrace | None = None) -> None:
        super().__init__(reason)
        self.reason, self.trace = reason, trace


def trace(url: str, sql_dir: Path | str, files: Iterable[Path] = (), rows: int = DEFAULT_ROWS):
    """Trace the versions of ``files`` (up files of the chain in ``sql_dir``), or else every
    version the database at ``url`` has not applied, on a scratch database of its server.

    Returns ``(Trace, lint Result)``. Raises ``UsageError`` for a file that is not an up
    file of the chain, ``LayoutError`` for a malformed chain, ``ConnectionFailed`` when the
    server cannot be reached or refuses a scratch database.
    """
    from runner import api, database, loader
    from runner.lint import check

    chain = loader.load(sql_dir)
    result = check.lint(sql_dir)
    numbers = _chosen(chain, files) if files else _pending(url, sql_dir)
    if not numbers:
        with database.connect(url) as conn:
            return Trace(*_server(conn), rows), result
    with database.scratch_database(url, "trace") as scratch:
        if min(numbers) > 1:
            api.migrate(scratch, sql_dir, to=min(numbers) - 1)
        with database.connect(scratch) as conn:
            server, timezone = _server(conn)
            traced, stopped = trace_versions(
                conn, scratch, chain, result, range(min(numbers), max(numbers) + 1), rows
            )
    shown = tuple(v for v in traced if v.number in numbers)
    return Trace(server, timezone, rows, shown, stopped), result


def _chosen(chain, files: Iterable[Path]) -> list[int]:
    from runner.errors import UsageError

    by_path = {v.up.path.resolve(): v.number for v in chain}
    numbers = []
    for path in files:
        number = by_path.get(Path(path).resolve())
        if number is None:
            raise UsageError(
                f"{path}: --trace runs up files of the chain in {chain.directory}; this is not one"
            )
        numbers.append(number)
    return sorted(set(numbers))


def _pending(url: str, sql_dir) -> list[int]:
    from runner import api

    report = api.status(url, sql_dir)
    return [v.number for v in report.versions if v.state in ("pending", "interrupted")]


def _server(conn) -> tuple[str, str]:
    version = conn.execute("SHOW server_version").fetchone()[0].split()[0]
    return version, conn.execute("SHOW TimeZone").fetchone()[0]


def trace_versions(conn, url: str, chain, result, numbers, rows: int, *, keep: bool = True):
    """Trace ``numbers`` in order on ``conn`` (autocommit, to the database of ``url``), where
    the versions before the first are applied. ``keep``: commit each version after it is
    observed, as the next needs it; False rolls each back (transactional versions only).

    Returns ``(list of VersionTrace, why tracing stopped early or None)``.
    """
    from runner.lint.rules import RULES

    claims: dict[tuple[str, int, int], list[Finding]] = {}
    lacking: dict[tuple[str, int, int], Finding] = {}  # server-version, by the use's place
    lock_timeout = set()
    for finding in [*result.findings, *result.waived]:
        if finding.rule == LOCK_TIMEOUT_RULE:
            lock_timeout.add(finding.path)
        elif RULES.get(finding.rule) == "safety":
            claims.setdefault((finding.path, finding.line, finding.col), []).append(finding)
        elif finding.rule == SERVER_VERSION_RULE:
            lacking[(finding.path, finding.line, finding.col)] = finding
    lacks = _lacks(conn.info.server_version // 10000, lacking)
    traced = []
    refusing: set[str] = set()  # tables that took no sample row: not tried again
    for number in numbers:
        version = chain.get(number)
        try:
            traced.append(
                _version(
                    conn, url, version, result, claims, lacks, lock_timeout, rows, keep, refusing
                )
            )
        except Stopped as exc:
            if exc.trace is not None:
                traced.append(exc.trace)
            return traced, exc.reason
    return traced, None


def _lacks(major: int, findings: dict[tuple[str, int, int], Finding]):
    """``(parsed file, statement) -> the server-version findings on it whose feature a
    server of ``major`` lacks``: their claim (it fails) holds on such a server only."""
    from runner import features

    def found(parsed, statement) -> list[Finding]:
        if not findings:
            return []
        uses = features.uses(statement.node, parsed.text, statement.start, statement.end)
        places = [parsed.location(u.offset) for u in uses if u.feature.since > major]
        keys = [(place.path, place.line, place.col) for place in places]
        return [findings[key] for key in keys if key in findings]

    return found


def _version(
    conn, url, version, result, claims, lacks, lock_timeout_files, rows, keep, refusing
) -> VersionTrace:
    from runner import samples
    from runner.lint.check import display
    from runner.lint.source import parse_file

    shown = display(version.up.path)
    major = conn.info.server_version // 10000  # a finding's claim may hold before a version only
    parsed = parse_file(version.up.path, shown)
    if parsed.error is not None:
        raise Stopped(f"{parsed.error.as_text()}: version {version.label} cannot run")
    tables = observe.existing_tables(conn)
    wanted = [oid for oid, name in tables.items() if name not in refusing]
    filled = tuple(f for f in samples.fill(conn, wanted, rows) if f.added or f.refused or f.error)
    refusing.update(f.table for f in filled if not f.added and f.rows < rows)
    counts = observe.count_rows(conn)
    observer = observe.Observer(conn, counts)
    utc = _session_is_utc(conn)
    statements = [(s, parsed.text[s.start : s.end]) for s in parsed.statements]
    stopped = None
    timeout = version.up.timeout_ms("statement_timeout")
    if version.transactional:
        setup = () if timeout is None else (f"SET LOCAL statement_timeout = '{timeout}ms'",)
        observer.begin(setup)
        seen = [observer.run(sql) for _, sql in statements]
        failed = any(e.failed for e in seen)
        conn.execute("COMMIT" if keep and not failed else "ROLLBACK")
        outcome = "committed" if keep and not failed else "rolled back"
        if keep and failed:
            outcome = "rolled back (a statement failed), then applied to emptied tables to go on"
            stopped = _apply_without_rows(conn, version, [sql for _, sql in statements], tables)
            if stopped is not None:
                outcome = f"rolled back: {stopped}"
    else:
        seen = []
        for _, sql in statements:
            observer.begin()
            effects = observer.run(sql)
            conn.execute("ROLLBACK" if effects.failed else "COMMIT")
            if effects.sqlstate == ACTIVE_SQL_TRANSACTION:
                effects = observer.run_autocommit(sql, url)
            seen.append(effects)
        outcome = "applied statement by statement"
    skipped = None
    if version.number <= result.safety_after:
        skipped = Verdict(
            NOT_JUDGED,
            f"the lint's safety rules judge versions after {result.safety_after}"
            " ([tool.liftdb] lint_safety_after)",
        )
    traces = []
    for (statement, sql), effects in zip(statements, seen, strict=True):
        key = (statement.where.path, statement.where.line, statement.where.col)
        found = (*claims.get(key, ()), *lacks(parsed, statement))
        claim = max((f.claims_on(major) or NONE for f in found), key=_rank, default=NONE)
        verdict = skipped or judge(effects, claim, utc=utc)
        if verdict.verdict == AGREES:
            verdict = judge_locks(effects, result.locks.get(key, ())) or verdict
        traces.append(StatementTrace(*key, sql, effects, found, claim, verdict))
    traced = VersionTrace(
        number=version.number, label=version.label, path=shown,
        transactional=version.transactional, rows=counts, filled=filled,
        statements=tuple(traces),
        lock_timeout=skipped or judge_lock_timeout(
            seen, claimed=shown in lock_timeout_files,
            directive="lock_timeout" in version.up.directives,
            refused=any(t.effects.failed and t.claim == FAILS for t in traces),
        ),
        outcome=outcome, not_judged=skipped.why if skipped else None,
    )  # fmt: skip
    if stopped is not None:
        raise Stopped(f"{stopped}; later versions were not traced", traced)
    return traced


def _apply_without_rows(conn, version, statements: list[str], tables) -> str | None:
    """Empty every table, then apply the version: a version that fails on rows (an added
    NOT NULL column) must still be applied for the later ones to run. Returns why not, when
    it fails on empty tables too (then ``migrate`` would fail on any database)."""
    from psycopg import Error

    try:
        with conn.transaction():
            names = [observe.oid_name(conn, oid) for oid in tables]
            if names:
                conn.execute(f"TRUNCATE {', '.join(names)} CASCADE")
            for sql in statements:
                conn.execute(sql)
    except Error as exc:
        message = getattr(exc.diag, "message_primary", None) or str(exc)
        return f"version {version.label} fails even on empty tables ({message})"
    return None


def _session_is_utc(conn) -> bool:
    """True when the session's TimeZone is UTC all year (no offset in winter or summer):
    PostgreSQL then changes timestamp to timestamptz and back without a rewrite."""
    row = conn.execute(
        "SELECT extract(timezone FROM timestamptz '2000-01-15 12:00') = 0"
        " AND extract(timezone FROM timestamptz '2000-07-15 12:00') = 0"
    ).fetchone()
    return bool(row[0])


# --- verdicts ---------------------------------------------------------------------------


def judge(effects: Effects, claim: str, *, utc: bool) -> Verdict:
    """The lint's claim on a statement against what the server did."""
    if effects.failed:
        error = f"{effects.error} [{effects.sqlstate}]"
        if claim == FAILS:
            return Verdict(AGREES, f"fails, as the lint says: {error}")
        if (effects.sqlstate or "").startswith("23"):
            return Verdict(NOT_JUDGED, f"the sample rows break it: {error}")
        return Verdict(DIFFERS, f"fails ({error}); the lint does not say so")
    seen = effects.level
    if claim == FAILS:
        return Verdict(DIFFERS, f"the lint says it fails on a table with rows; it ran ({seen})")
    if claim.startswith(UNLESS_UTC):
        if seen == REWRITE and not utc:
            return Verdict(AGREES, "the server rewrote it, the session's TimeZone not being UTC")
        if utc:
            claim = claim.removeprefix(UNLESS_UTC)  # what the lint says happens in UTC
        else:
            return Verdict(DIFFERS, f"the lint says {claim}; the server {describe(seen)}")
    costly = {REWRITE, SCAN}
    expected = claim if claim in costly else NONE
    observed = seen if seen in costly else NONE
    if expected != observed or (claim == BLOCKS and seen == NONE):
        said = f"says {claim}" if claim != NONE else "says nothing"
        return Verdict(DIFFERS, f"the lint {said}; the server {describe(seen)}")
    if claim == NONE:
        return Verdict(AGREES, f"the server {describe(seen)}, and the lint says nothing")
    return Verdict(AGREES, f"the server {describe(seen)}, as the lint says")


def describe(level: str) -> str:
    return {
        REWRITE: "rewrote a table holding rows",
        SCAN: "read a table holding rows whole under a lock that blocks writes",
        BLOCKS: "took a lock that blocks writes, without reading the table",
        NONE: "took nothing that blocks writes",
    }[level]


def judge_locks(effects: Effects, predicted) -> Verdict | None:
    """The locks the lint says a statement takes (``rules.locks``) against the server's: a
    lock that blocks writes must be foreseen, at its strength, and a foreseen one held.
    None when they agree (or the statement failed, its locks released)."""
    from runner.lint.rules.locks import blocking

    if effects.failed:
        return None
    order = ("writes", "reads and writes")
    expected, taken, held = (
        blocking(list(predicted)),
        blocking(effects.locks),
        blocking(effects.held),
    )
    for table, what in sorted(taken.items()):
        if order.index(what) > order.index(expected.get(table, "writes")) or table not in expected:
            foreseen = f"against {expected[table]}" if table in expected else "nothing that blocks"
            return Verdict(
                DIFFERS, f"the server locked {table} against {what}; the lint foresees {foreseen}"
            )
    for table, what in sorted(expected.items()):
        if table not in held or order.index(held[table]) < order.index(what):
            seen = f"against {held[table]}" if table in held else "without blocking writes"
            return Verdict(
                DIFFERS,
                f"the lint foresees {table} locked against {what}; the server held it {seen}",
            )
    return None


def judge_lock_timeout(
    seen: list[Effects], *, claimed: bool, directive: bool, refused: bool = False
) -> Verdict:
    """require-lock-timeout against the file: asked when a statement takes a lock that blocks
    writes on a table holding rows, unless the file sets ``-- lock_timeout:``. ``refused``:
    a statement failed here as the lint says it would (it took no lock)."""
    blocking = sorted({str(lock) for e in seen for lock in e.locks if lock.blocks_writes})
    needed = bool(blocking) and not directive
    if claimed and not needed and refused:
        return Verdict(
            NOT_JUDGED,
            "the lint asks for lock_timeout; a statement that fails here, as the lint says,"
            " took no lock",
        )
    if claimed == needed:
        if not needed:
            reason = "the file sets lock_timeout" if blocking else "no lock that blocks writes"
            return Verdict(AGREES, f"{reason}, and the lint asks nothing")
        return Verdict(AGREES, f"locks {', '.join(blocking)}, and the lint asks for lock_timeout")
    if claimed:
        return Verdict(DIFFERS, "the lint asks for lock_timeout; no lock that blocks writes taken")
    return Verdict(
        DIFFERS, f"locks {', '.join(blocking)} without lock_timeout; the lint asks nothing"
    )
