"""Static checks of the migration chain, read with PostgreSQL's own parser (pglast).

The flow, one module per stage: ``rules.layout`` reports the folder as the runner
reads it (``runner.loader.scan``), ``source`` parses each file once (its directives
by ``runner.directives``), ``fold`` folds the statements into a ``model`` of the
schema version by version, as PostgreSQL builds its catalog, while
``rules.conventions``, ``rules.safety`` and ``rules.server_version`` judge each
statement against the schema before it; ``check`` ties them together with the
reversibility check and ``contract``, and ``report`` prints the findings.
"""

from runner.lint.check import Result, lint

__all__ = ["Result", "lint"]
