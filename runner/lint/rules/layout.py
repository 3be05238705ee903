"""Layout: the folder's files, as the runner reads them, every problem reported.

Invariant: which files are versions is decided by ``runner.loader.scan``, the
code ``liftdb migrate`` loads the chain with; this module only turns each of
its problems into a finding (where the runner stops at the first), so the lint
and the runner never disagree about a folder. It never raises and never reads a
file's text.
"""

from __future__ import annotations

from pathlib import Path

from runner.lint.findings import Finding
from runner.loader import VersionPaths, scan


def versions_and_findings(directory: Path, display) -> tuple[list[VersionPaths], list[Finding]]:
    layout = scan(directory)
    findings = [
        Finding(display(problem.path), 1, 1, problem.rule, problem.message)
        for problem in layout.problems
    ]
    return list(layout.versions), findings
