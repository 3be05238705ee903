"""Benchmarks: liftdb beside its peers, and the schema's queries at volume (``make bench``).

The flow by file: ``server`` (where), ``chains`` and ``tools`` (what each peer
runs), one module per benchmark (``overhead``, ``startup``, ``lint_speed``,
``queries`` over ``datagen``'s rows, ``concurrency``), and ``report`` (the
results file). Nothing here is imported by ``runner`` or by the tests, except
``datagen``, which tests/test_datagen.py checks.
"""
