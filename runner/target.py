"""Whether the server at the end of a connection can take a migration.

Invariant: every command that changes a database asks, on the connection that
will hold the migration lock and before anything else is sent on it, whether
(1) the server keeps what it is sent: not a hot standby, not a session made
read-only (``default_transaction_read_only``); and (2) the connection is one
server session for as long as it lives, which the migration lock and a
non-transactional version need: not a pooler that hands the server session to
other clients between transactions (PgBouncer's ``pool_mode = transaction`` or
``statement``). Otherwise it raises ``TargetRefused``: one line naming why and
what to use instead, nothing changed. Reading commands (``status``, ``verify``,
a dry run) do not ask: they are right on a standby and through any pooler.

How a pooler is seen, every time: PgBouncer (like every pooler that shares
server sessions) answers the start-up itself, with a cancel key of its own, so
the process id the connection was given is not the server's
``pg_backend_pid()``. Its pool mode cannot be seen: PgBouncer sends the same
start-up messages in every mode, its admin console is closed to ordinary
users, and whether another connection is handed our server session depends on
what other clients are doing at that moment (measured with six clients at once:
about one check in nine let transaction pooling through). So a pooler is refused
unless the user says it pools sessions (``pool_mode="session"``, the CLI's
``--pool-mode session``). Then two checks can still catch a wrong claim:
statement pooling refuses a transaction block, always; and in transaction
pooling a second connection is usually handed our server session once our
transaction ends (always when no other client is busy; not always otherwise).
"""

from __future__ import annotations

import select

from runner.errors import TargetRefused

# pg_settings is read only when a refusal needs it: the view builds a row for every setting
# (about a millisecond on a new session, a migration's first query).
PROBE = (
    "SELECT pg_backend_pid(), pg_is_in_recovery(), current_setting('transaction_read_only'),"
    " CASE WHEN current_setting('transaction_read_only') = 'on' THEN"
    " (SELECT source FROM pg_settings WHERE name = 'default_transaction_read_only') END"
)
SESSION_POOLING = "session"  # the one pool mode a migration can run through
WITNESS_WAIT_S = 2.0  # a session pool with no server to spare keeps the witness waiting

# Where pg_settings says default_transaction_read_only came from, in a DBA's words.
_SOURCES = {
    "database": "by ALTER DATABASE ... SET",
    "user": "by ALTER ROLE ... SET",
    "database user": "by ALTER ROLE ... IN DATABASE ... SET",
    "client": "by the client (PGOPTIONS, or options in the URL)",
    "configuration file": "in the server's configuration",
    "command line": "on the server's command line",
}


def check(conn, pool_mode: str | None = None) -> None:
    """Raise ``TargetRefused`` unless ``conn`` is one session on a server that takes
    changes; a connection liftdb made with ``database.connect``. ``pool_mode`` is what the
    user says of a pooler in between: ``"session"``, or None (a pooler is refused)."""
    import psycopg

    from runner import database

    server_pid, in_recovery, read_only, source = conn.execute(PROBE).fetchone()
    where = database.describe(conn)  # no password: the connection's own options
    if in_recovery:
        raise TargetRefused(
            f"{where}: the server is a hot standby (in recovery) and takes no changes:"
            " point liftdb at the primary (with several hosts in the URL, add"
            " target_session_attrs=read-write); nothing was changed"
        )
    if read_only == "on":
        said = _SOURCES.get(source, f"({source})")
        raise TargetRefused(
            f"{where}: sessions here are read-only: default_transaction_read_only = on, set"
            f" {said}; no version can be applied: use a role or database where it is off;"
            " nothing was changed"
        )
    if conn.info.backend_pid == server_pid:
        return  # the server itself answered the start-up: no pooler in between
    if pool_mode != SESSION_POOLING:
        raise TargetRefused(
            f"{where}: a pooler (PgBouncer or the like) answers here for the server, and no"
            " client can tell whether it shares server sessions between clients (pool_mode"
            " = transaction or statement), which liftdb's migration lock and"
            " non-transactional versions cannot survive: use a URL to the server itself, or"
            " if this pool is in session mode, say so with --pool-mode session"
            " (LIFTDB_POOL_MODE=session); nothing was changed"
        )
    try:
        with conn.transaction():
            pass  # a transaction block over several messages: statement pooling refuses it
    except psycopg.errors.ProtocolViolation:
        shared = "statement"
    else:
        with database.reconnect(conn) as witness:
            handed_ours = _server_pid(witness) == server_pid
        moved = conn.execute("SELECT pg_backend_pid()").fetchone()[0] != server_pid
        shared = "transaction" if handed_ours or moved else None
    if shared:
        raise TargetRefused(
            f"{where}: told the pool is in session mode (--pool-mode session), but the"
            f" pooler shares server sessions between clients (pool_mode = {shared}), and"
            " liftdb needs one session for the whole run (its migration lock,"
            " non-transactional versions): use a URL to the server itself, or to a pool in"
            " session mode; nothing was changed"
        )


def _server_pid(witness) -> int | None:
    """The witness's server process id, or None when no server is free for it within
    ``WITNESS_WAIT_S`` (a session pool whose servers are all taken, ours included)."""
    pgconn = witness.pgconn
    pgconn.send_query(b"SELECT pg_backend_pid()")
    while pgconn.flush():
        select.select([], [pgconn.socket], [], WITNESS_WAIT_S)
    deadline_left = WITNESS_WAIT_S
    while pgconn.is_busy():
        ready, _, _ = select.select([pgconn.socket], [], [], deadline_left)
        if not ready:
            return None  # closing the witness gives up its place in the queue
        pgconn.consume_input()
        deadline_left = WITNESS_WAIT_S
    pid = None
    while (result := pgconn.get_result()) is not None:
        if result.ntuples:
            pid = int(result.get_value(0, 0))
    return pid
