"""Layout: the folder's files, scanned whole, every problem reported (the loader stops at one).

Invariant: ``scan`` returns each version's up and rollback paths in order and
one finding per layout problem; it never raises and never reads a file's text.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from runner.lint.findings import Finding


@dataclass
class VersionFiles:
    number: int
    name: str
    up: Path
    rollback: Path | None


def scan(directory: Path, display) -> tuple[list[VersionFiles], list[Finding]]:
    from runner import yoyo
    from runner.loader import NUMBER_WIDTH, SNAKE_CASE, VERSION_FILE

    findings: list[Finding] = []
    if not directory.is_dir():
        return [], [
            Finding(display(directory), 1, 1, "unreadable-file", "migration folder not found")
        ]
    ups: dict[int, list[tuple[str, Path]]] = {}
    rollbacks: dict[tuple[int, str], Path] = {}
    for path in sorted(directory.iterdir()):
        match = VERSION_FILE.match(path.name)
        if not match:
            if yoyo.reads_as_migration(path):  # yoyo would apply it; goose too, if .sql
                findings.append(
                    Finding(display(path), 1, 1, "snake-case-name",
                            "not a migration file name (NNNNN_snake_case_name.sql), yet yoyo"
                            f" would apply it as migration {path.stem!r}: rename it, or move"
                            " it into a subfolder as the schema dump is (schema/schema.sql)")
                )  # fmt: skip
            continue
        number, name = int(match["number"]), match["name"]
        if len(match["number"]) != NUMBER_WIDTH:
            findings.append(
                Finding(display(path), 1, 1, "version-numbering",
                        f"version number {match['number']!r} is not {NUMBER_WIDTH} digits wide")
            )  # fmt: skip
        if not SNAKE_CASE.match(name):
            findings.append(
                Finding(display(path), 1, 1, "snake-case-name", f"name {name!r} is not snake_case")
            )
        if match["rollback"]:
            rollbacks[(number, name)] = path
        else:
            ups.setdefault(number, []).append((name, path))

    versions: list[VersionFiles] = []
    expected = 1
    for number in sorted(ups):
        entries = ups[number]
        for _, extra in entries[1:]:
            findings.append(
                Finding(display(extra), 1, 1, "version-numbering",
                        f"version {number:0{NUMBER_WIDTH}d} appears more than once"
                        f" (also {entries[0][1].name})")
            )  # fmt: skip
        name, up = entries[0]
        if number != expected:
            missing = f"{expected:0{NUMBER_WIDTH}d}"
            if number > expected + 1:
                missing += f"..{number - 1:0{NUMBER_WIDTH}d}"
            findings.append(
                Finding(display(up), 1, 1, "version-numbering",
                        f"version {missing} is missing: versions run 1, 2, 3... without gaps")
            )  # fmt: skip
        expected = number + 1
        rollback = rollbacks.pop((number, name), None)
        if rollback is None:
            findings.append(
                Finding(display(up), 1, 1, "missing-rollback",
                        f"has no rollback file {up.stem}.rollback.sql")
            )  # fmt: skip
        versions.append(VersionFiles(number, name, up, rollback))
        for other_name, _ in entries[1:]:
            rollbacks.pop((number, other_name), None)
    for (_, _), path in sorted(rollbacks.items()):
        findings.append(
            Finding(display(path), 1, 1, "missing-rollback",
                    f"rollback file without its up file {path.name.replace('.rollback', '')}")
        )  # fmt: skip
    return versions, findings
