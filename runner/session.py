"""Each version starts in the session liftdb set up, and leaves nothing to the next.

Invariant: before every version, the connection's session is the one liftdb set
up when it connected (``start``): the role and session authorization it connected
with, the settings the connection asked for (``PGOPTIONS`` and the URL's
``options`` included) but liftdb's own (``LIFTDB_SETTINGS``), and no temporary
objects, prepared statements, open cursors, listened channels, cached plans,
sequence values or advisory locks other than the migration lock. What a version
did to its session is undone after it (``reset_statements``: ``DISCARD ALL``
without ``pg_advisory_unlock_all``, which would give the migration lock away),
and the bookkeeping written with a version, or between the statements of a
non-transactional one, is written as liftdb (``as_liftdb_statements``: the
connecting role, ``search_path`` = ``pg_catalog``), whatever the version made of
the session, without changing what the version's next statement sees.
"""

from __future__ import annotations

from typing import NamedTuple

from runner import database, lock, recorder
from runner.recorder import quote

# Whether a version left advisory locks of its own, or gave the migration lock away: the
# last of the reset's statements, cheap (a plpgsql block costs four times as much, for
# every version, and nearly no version takes an advisory lock); only when it says so is
# RELEASE_ADVISORY_LOCKS sent.
_OURS = (
    f"l.objsubid = 1 AND l.classid::bigint = {lock.CLASSID}"
    f" AND l.objid::bigint = {lock.OBJID} AND l.mode = 'ExclusiveLock'"
)
_TO_RELEASE = "pg_catalog.bool_or(NOT (" + _OURS + ")) OR NOT pg_catalog.bool_or(" + _OURS + ")"
_OWN_ADVISORY = (
    " FROM pg_catalog.pg_locks l WHERE l.locktype = 'advisory' AND l.granted"
    " AND l.pid = pg_catalog.pg_backend_pid()"
)
ADVISORY_LOCKS_TO_RELEASE = f"SELECT {_TO_RELEASE}{_OWN_ADVISORY}"

# The same question where later versions follow in the same string (``executor``'s
# batches): a yes must stop the string there, before the next version starts, so it
# fails (SQLSTATE 22P02, the cast of its text) and the server skips the rest. Not
# folded away when planned: concat() is only stable.
ADVISORY_LOCKS_STOP = (
    f"SELECT CASE WHEN ({_TO_RELEASE}) IS NOT FALSE THEN CAST(pg_catalog.concat("
    "'liftdb: advisory locks to release, session ', pg_catalog.pg_backend_pid())"
    " AS integer) END"
    f"{_OWN_ADVISORY}"
)
ADVISORY_LOCKS_STOPPED = "22P02"  # invalid_text_representation: ADVISORY_LOCKS_STOP's yes

# The server holds a string's results until it ends (or 8 kB of them wait), but sends a
# message at once, and what it holds with it: the last of a version's statements in a
# batch, so that each version's results reach liftdb as it ends (its report, the
# progress watcher's label), with the milliseconds since the string began, by the
# server's clock (what the version took: the difference from the one before). INFO:
# sent whatever client_min_messages says, and below log_min_messages' default, so it
# reaches no log.
VERSION_ENDED_MESSAGE = "liftdb: version done after "
VERSION_ENDED = (
    f"DO $liftdb$BEGIN RAISE INFO '{VERSION_ENDED_MESSAGE}% ms', 1000 * pg_catalog.date_part("
    "'epoch', pg_catalog.clock_timestamp() - pg_catalog.statement_timestamp()); END$liftdb$"
)

# The advisory locks a version took, released; the migration lock kept (taken again if
# a statement gave it away and no one else took it). pg_locks shows a lock taken n times
# once, so each is unlocked until it is gone (never once too often: that would WARN).
_HELD = (
    "SELECT FROM pg_catalog.pg_locks l WHERE l.locktype = 'advisory' AND l.granted"
    " AND l.pid = pg_catalog.pg_backend_pid()"
)
_INT4 = "(CASE WHEN {0} > 2147483647 THEN {0} - 4294967296 ELSE {0} END)::integer"
RELEASE_ADVISORY_LOCKS = f"""DO $liftdb$
DECLARE
    held record;
    unlock text;
BEGIN
    FOR held IN
        SELECT DISTINCT l.classid::bigint AS high, l.objid::bigint AS low, l.objsubid, l.mode
        FROM pg_catalog.pg_locks l
        WHERE l.locktype = 'advisory' AND l.granted AND l.pid = pg_catalog.pg_backend_pid()
          AND NOT (l.objsubid = 1 AND l.classid::bigint = {lock.CLASSID}
                   AND l.objid::bigint = {lock.OBJID} AND l.mode = 'ExclusiveLock')
    LOOP
        unlock := CASE WHEN held.mode = 'ShareLock'
                       THEN 'pg_advisory_unlock_shared' ELSE 'pg_advisory_unlock' END;
        WHILE EXISTS ({_HELD} AND l.classid::bigint = held.high AND l.objid::bigint = held.low
                      AND l.objsubid = held.objsubid AND l.mode = held.mode) LOOP
            IF held.objsubid = 1 THEN  -- one bigint key, shown as two 32-bit halves
                EXECUTE format('SELECT pg_catalog.%I($1)', unlock)
                    USING (held.high << 32) | held.low;
            ELSE  -- two integer keys
                EXECUTE format('SELECT pg_catalog.%I($1, $2)', unlock)
                    USING {_INT4.format("held.high")}, {_INT4.format("held.low")};
            END IF;
        END LOOP;
    END LOOP;
    IF NOT EXISTS ({_HELD} AND l.objsubid = 1 AND l.classid::bigint = {lock.CLASSID}
                   AND l.objid::bigint = {lock.OBJID} AND l.mode = 'ExclusiveLock')
       AND NOT pg_catalog.pg_try_advisory_lock({lock.LOCK_KEY}) THEN
        RAISE EXCEPTION 'a statement gave up the migration lock, and another session took it';
    END IF;
END
$liftdb$"""


# What liftdb sets on its session, whatever the connection asked for: the server's check
# for a vanished client (lock.held), and UTF-8, the files' encoding (the loader's
# invariant), so that a database or role set to LATIN1 gets the bytes liftdb read, and
# a character its encoding lacks is refused by the server, at its line, rather than
# failing in liftdb before anything is sent.
ENCODING_SQL = "SET client_encoding = 'UTF8'"
LIFTDB_SETTINGS = (lock.CLIENT_CHECK_SQL, ENCODING_SQL)


# What a resume does not take from the session noted with the progress: the timeouts and
# the client check liftdb sets for the version from its file (a directive fixed before
# the resume applies; a completed SET of them is replayed), and the transaction's own.
_NOT_RESTORED = ("lock_timeout", "statement_timeout", "client_connection_check_interval")

# The session a non-transactional version's completed statements left, however they made
# it (SET, set_config in a DO block or a function, SET ROLE ...), noted first in the
# transaction that records their progress (before its SET LOCALs), for a resume to start
# from (``restore_statements``): {"session_authorization": name, "role": name or "none",
# "settings": {name: value in base units}} of the settings set in the session.
NOTE_SESSION = (
    f"SELECT pg_catalog.set_config('{recorder.SESSION_NOTED}', pg_catalog.jsonb_build_object("
    "'session_authorization', pg_catalog.current_setting('session_authorization'),"
    " 'role', pg_catalog.current_setting('role'),"
    " 'settings', (SELECT coalesce(pg_catalog.jsonb_object_agg(s.name, s.setting),"
    " '{}') FROM pg_catalog.pg_settings s WHERE s.source = 'session'"
    " AND s.name !~ '^(transaction_|liftdb\\.)'"
    f" AND s.name NOT IN ({', '.join(repr(n) for n in _NOT_RESTORED)}))"
    ")::text, true)"
)


def restore_statements(noted: dict) -> list[str]:
    """What makes the session the one ``NOTE_SESSION`` noted (a resumed version's, where
    its completed statements left it): session authorization, role, then each setting."""
    role = noted["role"]
    return [
        f"SET SESSION AUTHORIZATION {quote(noted['session_authorization'])}",
        "SET ROLE NONE" if role == "none" else f"SET ROLE {quote(role)}",
        *(
            f"SELECT pg_catalog.set_config({recorder.literal(name)}, {recorder.literal(value)},"
            " false)"
            for name, value in sorted(noted["settings"].items())
        ),
    ]


class Session(NamedTuple):
    """What liftdb set up on its connection, to come back to after every version."""

    role: str  # current_setting('role') when it connected: "none", or the role it was given

    def as_liftdb_statements(self) -> list[str]:
        """``SET LOCAL`` statements that make the rest of a transaction liftdb's own: its
        session authorization and role, and a search_path of ``pg_catalog`` only (every
        bookkeeping name is qualified). At the transaction's end the session is again
        what the version made of it."""
        role = "NONE" if self.role == "none" else quote(self.role)
        return [
            "SET LOCAL SESSION AUTHORIZATION DEFAULT",
            f"SET LOCAL ROLE {role}",
            "SET LOCAL search_path = pg_catalog",
        ]

    def reset_statements(self, *, batched: bool = False) -> list[str]:
        """What brings the session back to ``start``'s, after a version, outside any
        transaction (sent in one string, they run as one implicit transaction). The last
        returns whether ``RELEASE_ADVISORY_LOCKS`` must follow (``needs_release``); or,
        ``batched`` (sent with other versions in one string), fails if it must
        (``ADVISORY_LOCKS_STOP``: its transaction, the reset with it, is undone) and then
        sends the version's results on (``VERSION_ENDED``)."""
        if not batched:
            return [*self._reset(), ADVISORY_LOCKS_TO_RELEASE]
        # In a transaction of its own: left implicit, the next version's BEGIN would make
        # it part of that version's transaction, undone if that version fails.
        return ["BEGIN", *self._reset(), ADVISORY_LOCKS_STOP, "COMMIT", VERSION_ENDED]

    def _reset(self) -> list[str]:
        return [
            "CLOSE ALL",
            "RESET SESSION AUTHORIZATION",  # the role too, as SET SESSION AUTHORIZATION does
            "RESET ROLE",  # back to the connection's own, if it asked for one
            "RESET ALL",  # back to the connection's settings, PGOPTIONS included ...
            *LIFTDB_SETTINGS,  # ... and liftdb's own again
            "DEALLOCATE ALL",
            "UNLISTEN *",
            "DISCARD PLANS",
            "DISCARD TEMP",
            "DISCARD SEQUENCES",
        ]


def needs_release(answer: bool | None) -> bool:
    """Whether the reset's last answer says advisory locks are to be released, or the
    migration lock taken back (None: the session holds no advisory lock at all)."""
    return answer is not False


def start(conn) -> Session:
    """Set up the session every version starts in, before any version runs (under
    ``lock.held``, which has set the client check, the first of ``LIFTDB_SETTINGS``), and
    note what to come back to: the rest of the settings and the role read in one round
    trip."""
    # The reset deallocates every prepared statement, psycopg's own included: this relies
    # on database.connect's connections preparing none (prepare_threshold None).
    cursor = conn.execute(f"{ENCODING_SQL};SELECT pg_catalog.current_setting('role')")
    (role,) = database.last_row(cursor)
    return Session(role=role)
