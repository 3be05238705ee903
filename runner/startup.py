"""What a ``liftdb`` process pays for the garbage collector and the interpreter's exit.

Invariant: a liftdb process runs its command with the young generation collected
only every ``YOUNG_THRESHOLD`` allocations (not CPython's 700), and, once the
command has returned or exited with only the main thread left, ends with its
output flushed and its exit code, without walking or freeing what it imported.
Loading psycopg, pglast and click allocates a few hundred thousand objects, none
of them garbage: at the default threshold the collector walks them again and
again while they load, and the interpreter's exit collects and frees them all
once more, 25 to 40 ms of a cold ``status`` together (bench/RESULTS.md,
"Start-up"). Cyclic garbage is still collected during long runs (``migrate`` of
hundreds of versions, ``fleet``), only less often. A thread still running at the
end (none should be) gets the interpreter's ordinary exit, which waits for it.

``python -X importtime`` and many cold runs interleaved with ``python -c 'import
psycopg'`` (``make bench``) are how to see it again.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NoReturn

YOUNG_THRESHOLD = 100_000  # allocations between two collections of the young generation


@contextmanager
def collection_deferred() -> Iterator[None]:
    """Run the block with rare collections, then freeze every object left, so that no
    later collection (the interpreter's at exit included) walks them.

    For a process's entry point only: what it leaves frozen is never collected again.
    """
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
    try:
        yield
    finally:
        gc.freeze()


def run(command: Callable[[], object]) -> NoReturn:
    """Run ``command`` (the whole command line) as a process's entry point, then exit
    with its code: ``SystemExit``'s, else 0. An exception other than ``SystemExit``
    propagates as it would without this (a traceback: a bug)."""
    with collection_deferred():
        try:
            command()
            code: object = 0
        except SystemExit as exc:
            code = exc.code
    exit_now(code)


def exit_now(code: object) -> NoReturn:
    """End the process with ``code``: stdout and stderr flushed, then ``os._exit``, so
    nothing imported is finalized one object at a time. Where that could lose anything,
    the interpreter's ordinary exit instead: a code that is not an int (``sys.exit``
    prints it), another thread still running (it is waited for), or output that cannot
    be flushed (a closed pipe: reported as Python always does)."""
    if code is None:
        code = 0
    if not isinstance(code, int) or threading.active_count() > 1:
        sys.exit(code)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        sys.exit(code)
    os._exit(code)
