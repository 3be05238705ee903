"""The bridge to goose (pressly/goose), one job per module.

``parser`` reads a goose file as goose does; ``compare`` says whether a goose file and a
pair of liftdb files make PostgreSQL do the same thing; ``export``, ``check`` and
``importer`` cross between the two layouts; ``adopt`` records a database goose migrated.

Invariant: a goose file this package writes or accepts means, statement for statement and
byte for byte inside every literal, what its pair of liftdb files means, under the same
transaction mode; what goose cannot express is refused, naming the file.
"""

from runner.goose.adopt import adopt, goose_applied
from runner.goose.check import CheckResult, check
from runner.goose.export import export, render
from runner.goose.importer import Imported, import_folder
from runner.goose.parser import (
    ANNOTATIONS,
    GOOSE_FILE,
    GOOSE_TABLE,
    GooseFile,
    GooseStatement,
    parse,
    read_folder,
)

__all__ = [
    "ANNOTATIONS",
    "GOOSE_FILE",
    "GOOSE_TABLE",
    "CheckResult",
    "GooseFile",
    "GooseStatement",
    "Imported",
    "adopt",
    "check",
    "export",
    "goose_applied",
    "import_folder",
    "parse",
    "read_folder",
    "render",
]
