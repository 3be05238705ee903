"""The least a migration runner written in Python on psycopg can do, as a program to time.

``python bench/psycopg_floor.py URL DIRECTORY``: import psycopg, connect, create one
bookkeeping table, then apply each ``NNNNN_name.sql`` of DIRECTORY (liftdb's layout; the
``.rollback.sql`` files are not read) in its own transaction with a bookkeeping insert,
one string and one round trip per version. No checks, no parser, no lock, no report.

Invariant: it imports nothing but the standard library's ``gc``, ``os`` and ``sys`` and
psycopg, so its start-up is the interpreter's and ``import psycopg``'s, the floor every
such tool pays before it sends a byte, and its cost per version is the server's work and
one round trip. It takes the same two liberties with the collector as liftdb
(``runner/startup.py``): rare young-generation collections while it loads, and an exit
that frees nothing, so that the floor is one no tool on psycopg can go under. Run as a
file, not as ``-m bench...``: importing the bench package would add its imports.
"""

import gc
import os
import sys

gc.set_threshold(100_000, *gc.get_threshold()[1:])

import psycopg  # noqa: E402  (after the collector is set)

TABLE = (
    "CREATE TABLE bench_floor_version (\n"
    "    version integer PRIMARY KEY,\n"
    "    applied_at timestamptz NOT NULL DEFAULT now()\n)"
)


def main(url: str, directory: str) -> None:
    names = sorted(
        name
        for name in os.listdir(directory)
        if name.endswith(".sql") and not name.endswith(".rollback.sql")
    )
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(TABLE)
        for name in names:
            with open(os.path.join(directory, name), encoding="utf-8") as file:
                up = file.read()
            number = int(name.split("_", 1)[0])
            record = f"INSERT INTO bench_floor_version (version) VALUES ({number})"
            # No parameters: psycopg sends the string with the simple query protocol, so
            # one string may hold several statements.
            conn.execute(f"BEGIN;\n{up}\n;\n{record};\nCOMMIT".encode(), prepare=False)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
    sys.stdout.flush()
    os._exit(0)
