"""The least any liftdb could cost that keeps what liftdb guarantees, as a program to time.

``python bench/liftdb_bound.py URL DIRECTORY CAPTURE``: import what liftdb must (click,
psycopg, pglast), parse every up file of DIRECTORY with pglast, connect, take the
migration lock, create the bookkeeping, then send every version as liftdb sends it
(CAPTURE: the strings liftdb sent for this chain, ``bench.tools.capture_liftdb``) all in
ONE string. The server does exactly liftdb's work (the version's statements with
liftdb's settings and markers, yoyo's and liftdb's bookkeeping, the session's reset and
the advisory-lock check after each version); the client does none per version: no plan,
no checks, no string built, no round trip, no result read but the last.

Invariant: it imports nothing of runner's and nothing of the bench package, only the
standard library's ``gc``, ``json``, ``os`` and ``sys`` and the three libraries liftdb
is built on, with the same two liberties with the collector as liftdb
(``runner/startup.py``). So a liftdb that kept its guarantees could be no faster than
this: whatever liftdb costs beyond it is its own client work (reading the state, the
plan, one string and one round trip a version, the report), and a target this misses
cannot be met by any liftdb that keeps them. Run as a file, not as ``-m bench...``.
"""

import gc
import json
import os
import sys

gc.set_threshold(100_000, *gc.get_threshold()[1:])

import click  # noqa: E402,F401  (liftdb's command line is a click application)
import pglast.parser  # noqa: E402  (liftdb reads every statement with PostgreSQL's parser)
import psycopg  # noqa: E402


def main(url: str, directory: str, capture: str) -> None:
    for name in sorted(os.listdir(directory)):
        if name.endswith(".sql") and not name.endswith(".rollback.sql"):
            with open(os.path.join(directory, name), encoding="utf-8") as file:
                pglast.parser.split(file.read(), with_parser=True, only_slices=True)
    with open(capture, encoding="utf-8") as file:
        sent = json.load(file)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sent["lock"])
        conn.execute(f"{sent['create']}\nCOMMIT".encode(), prepare=False)
        conn.execute("\n".join(sent["versions"]).encode(), prepare=False)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
    sys.stdout.flush()
    os._exit(0)
