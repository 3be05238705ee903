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

How a pooler is seen: PgBouncer (like every pooler that shares server
sessions) answers the start-up itself, with a cancel key of its own, so the
process id the connection was given is not the server's ``pg_backend_pid()``.
Then a second connection asks for its server's process id: in transaction
pooling it is handed ours as soon as our transaction ends (and our own next
statement may land on another); in session pooling it never is.
"""

from __future__ import annotations

import select

from runner.errors import TargetRefused

PROBE = (
    "SELECT pg_backend_pid(), pg_is_in_recovery(), current_setting('transaction_read_only'),"
    " (SELECT source FROM pg_settings WHERE name = 'default_transaction_read_only')"
)
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


def check(conn) -> None:
    """Raise ``TargetRefused`` unless ``conn`` is one session on a server that takes
    changes; a connection liftdb made with ``database.connect``."""
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
    with database.reconnect(conn) as witness:
        shared = _server_pid(witness) == server_pid
    if shared or conn.execute("SELECT pg_backend_pid()").fetchone()[0] != server_pid:
        raise TargetRefused(
            f"{where}: a pooler between liftdb and the server shares server sessions"
            " between clients (PgBouncer with pool_mode = transaction or statement), and"
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
