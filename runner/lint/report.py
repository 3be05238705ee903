"""Findings as a person or a program reads them.

Invariant: both formats list the same findings in the same order (by file,
line, column, rule); the text format is one ``file:line:col: rule: message``
line each, so editors and CI annotate it like a compiler's output.
"""

from __future__ import annotations

import json

from runner.lint.findings import Finding


def text(findings: list[Finding]) -> str:
    return "".join(f"{f.as_text()}\n" for f in sorted(findings))


def as_json(findings: list[Finding]) -> str:
    ordered = sorted(findings)
    return json.dumps({"findings": [f.as_dict() for f in ordered], "count": len(ordered)}, indent=2)
