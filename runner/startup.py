"""What a ``liftdb`` process pays for the garbage collector, from start to exit.

Invariant: a liftdb process runs its command with the young generation collected
only every ``YOUNG_THRESHOLD`` allocations (not CPython's 700), and exits without
a collection over what it imported. Loading psycopg, pglast and click allocates a
few hundred thousand objects, none of them garbage: at the default threshold the
collector walks them again and again while they load (~10 ms of a cold start) and
once more at exit (~25 ms). Cyclic garbage is still collected during long runs
(``migrate`` of hundreds of versions, ``fleet``), only less often.

Measured in bench/RESULTS.md ("Start-up"); ``python -X importtime`` and many cold
runs interleaved with ``python -c 'import psycopg'`` are how to see it again.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_THRESHOLD = 100_000  # allocations between two collections of the young generation


@contextmanager
def collection_deferred() -> Iterator[None]:
    """Run the block (the whole command) with rare collections, then freeze every object
    left, so the interpreter's collection at exit walks none of them.

    For a process's entry point only (the console script, ``python -m runner``): what
    it leaves frozen is never collected again in that process.
    """
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
    try:
        yield
    finally:
        gc.freeze()
