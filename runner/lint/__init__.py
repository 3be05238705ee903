"""Static checks of the migration chain, read with PostgreSQL's own parser (pglast).

The flow, one module per stage: ``source`` parses each file once, ``rules.layout``
scans the folder, ``fold`` folds the statements into a ``model`` of the schema
version by version while ``rules.conventions`` and ``rules.safety`` judge each
statement against the schema before it, ``check`` ties them together with the
reversibility check and ``contract``, and ``report`` prints the findings.
"""

from runner.lint.check import Result, lint

__all__ = ["Result", "lint"]
