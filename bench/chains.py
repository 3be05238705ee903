"""Migration chains for the benchmarks, written in each peer tool's own layout.

Invariant: every layout written from one chain holds the same SQL, byte for
byte, for every version's up and rollback; only the file names and the
bookkeeping around them differ. So a difference in time is the tool's, not
the SQL's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from runner import loader


@dataclass(frozen=True)
class Change:
    """One version: its number, a snake_case name, and the SQL to apply and to undo it."""

    number: int
    name: str
    up: str
    rollback: str

    @property
    def label(self) -> str:
        return f"{self.number:0{loader.NUMBER_WIDTH}d}_{self.name}"


def generated(n: int) -> list[Change]:
    """N versions, each creating a small table with a foreign key, an index and a comment.

    Table i references table i-1 (the first references itself), so the rollback
    order matters exactly as in a real chain.
    """
    changes = []
    for i in range(1, n + 1):
        parent = f"bench_t{i - 1:05d}" if i > 1 else f"bench_t{i:05d}"
        table = f"bench_t{i:05d}"
        up = (
            f"CREATE TABLE {table} (\n"
            "    id bigint GENERATED ALWAYS AS IDENTITY,\n"
            "    parent_id bigint,\n"
            "    name text NOT NULL,\n"
            "    created_at timestamptz NOT NULL DEFAULT now(),\n"
            f"    CONSTRAINT {table}_pkey PRIMARY KEY (id),\n"
            f"    CONSTRAINT {table}_parent_id_fkey\n"
            f"        FOREIGN KEY (parent_id) REFERENCES {parent} (id) ON DELETE RESTRICT\n"
            ");\n"
            f"CREATE INDEX {table}_parent_id_idx ON {table} (parent_id);\n"
            f"COMMENT ON TABLE {table} IS 'Benchmark table {i}: a row per generated item.';\n"
        )
        changes.append(Change(i, f"create_{table}", up, f"DROP TABLE {table};\n"))
    return changes


def from_directory(sql_dir: Path) -> list[Change]:
    """The real chain in ``sql_dir``, as read by liftdb's own loader."""
    return [Change(v.number, v.name, v.up.text, v.rollback.text) for v in loader.load(sql_dir)]


def write_liftdb(changes: list[Change], directory: Path) -> Path:
    """``NNNNN_name.sql`` beside ``NNNNN_name.rollback.sql``: liftdb's layout, and yoyo's."""
    directory.mkdir(parents=True, exist_ok=True)
    for change in changes:
        (directory / f"{change.label}.sql").write_text(change.up)
        (directory / f"{change.label}.rollback.sql").write_text(change.rollback)
    return directory


def write_dbmate(changes: list[Change], directory: Path) -> Path:
    """One file per version with ``-- migrate:up`` and ``-- migrate:down`` sections."""
    directory.mkdir(parents=True, exist_ok=True)
    for change in changes:
        text = f"-- migrate:up\n{change.up}\n-- migrate:down\n{change.rollback}"
        (directory / f"{change.label}.sql").write_text(text)
    return directory


def write_sqitch(changes: list[Change], directory: Path, psql: str) -> Path:
    """sqitch.conf, sqitch.plan, and deploy/ revert/ verify/ scripts per change."""
    for sub in ("deploy", "revert", "verify"):
        (directory / sub).mkdir(parents=True, exist_ok=True)
    (directory / "sqitch.conf").write_text(
        f'[core]\n\tengine = pg\n\tplan_file = sqitch.plan\n\ttop_dir = .\n[engine "pg"]\n'
        f"\tclient = {psql}\n"
    )
    plan = ["%syntax-version=1.0.0", "%project=liftdb_bench", ""]
    for change in changes:
        plan.append(f"{change.label} 2024-01-01T00:00:00Z Bench <bench@example.com> # bench")
        (directory / "deploy" / f"{change.label}.sql").write_text(change.up)
        (directory / "revert" / f"{change.label}.sql").write_text(change.rollback)
        (directory / "verify" / f"{change.label}.sql").write_text("SELECT 1;\n")
    (directory / "sqitch.plan").write_text("\n".join(plan) + "\n")
    return directory


def write_floor(changes: list[Change], directory: Path) -> tuple[Path, Path]:
    """Two psql scripts: one transaction per version with a bookkeeping insert, and all in one.

    The least any runner must do: run each file and record that it ran.
    """
    directory.mkdir(parents=True, exist_ok=True)
    table = (
        "CREATE TABLE bench_floor_version (\n"
        "    version integer PRIMARY KEY,\n"
        "    applied_at timestamptz NOT NULL DEFAULT now()\n);\n"
    )
    per_version, single = [table], [table]
    for change in changes:
        record = f"INSERT INTO bench_floor_version (version) VALUES ({change.number});\n"
        per_version.append(f"BEGIN;\n{change.up}{record}COMMIT;\n")
        single.append(f"{change.up}{record}")
    each_path, single_path = directory / "per_version.sql", directory / "single.sql"
    each_path.write_text("".join(per_version))
    single_path.write_text("".join(single))
    return each_path, single_path
