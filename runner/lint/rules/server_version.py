"""Server version: syntax and built-ins the oldest server the chain must run on lacks.

Invariant: a statement gets one finding per use of a feature newer than the
chain's ``min_server_version`` (``runner.features``, which the runner's
pre-flight uses too), at the use's own line and column. Each claims the effect
``fails``: a server older than the feature refuses the statement (``runner.trace``
holds the claim to a server that lacks the feature, and only to such a one).
"""

from __future__ import annotations

from collections.abc import Iterator

from runner import features
from runner.lint.findings import Finding
from runner.lint.rules import StatementContext
from runner.observe import FAILS


def check_statement(ctx: StatementContext) -> Iterator[Finding]:
    statement, oldest = ctx.statement, ctx.min_server_version
    if oldest >= features.NEWEST:
        return
    for use in features.uses(statement.node, ctx.file.text, statement.start, statement.end):
        if use.feature.since > oldest:
            yield Finding.at(
                ctx.file.location(use.offset), "server-version",
                use.message(
                    f"the chain must run on PostgreSQL {oldest}"
                    " ([tool.liftdb] min_server_version in pyproject.toml)"
                ),
                FAILS,
            )  # fmt: skip
