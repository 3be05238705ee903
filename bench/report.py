"""Turning measurements into ``bench/RESULTS.md`` and its plot.

Invariant: the results file is rewritten whole from one run, so every figure
in it comes from the same machine, server and tool versions, which its header
states.
"""

from __future__ import annotations

import os
import platform
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
QUICK_RESULTS = HERE / "out" / "RESULTS-quick.md"  # gitignored: a quick run's figures


@dataclass(frozen=True)
class Section:
    title: str
    body: str


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table; numbers right-aligned."""
    align = ["---:" if _numeric(rows, i) else "---" for i in range(len(headers))]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _numeric(rows: Sequence[Sequence[object]], column: int) -> bool:
    cells = [row[column] for row in rows if column < len(row)]
    return bool(cells) and all(isinstance(cell, int | float) for cell in cells)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


def seconds(value: float) -> str:
    return f"{value:.3f} s" if value >= 0.1 else f"{value * 1000:.0f} ms"


def load_average() -> str:
    """The 1-minute load average: a figure taken on a busy machine says so."""
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:
        return "unknown"


def header(
    servers: Sequence[tuple[str, str]],
    versions: dict[str, str],
    mode: str,
    load: tuple[str, str],
    elapsed: float,
    notes: Sequence[str] = (),
) -> str:
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m bench`); do not edit by hand. Each figure is a",
        "median of whole processes started cold, one tool after another in one process tree",
        "against the same server, so ratios between tools hold on a busy machine even when",
        "absolute times do not.",
        "",
        f"- run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, mode: {mode}, {elapsed / 60:.1f} min",
        f"- load average (1 min) at the start: {load[0]}, at the end: {load[1]}",
        f"- machine: {os.cpu_count()} CPU(s), {platform.machine()}, {platform.system()}"
        f" {platform.release()}",
    ]
    for label, version in servers:
        lines.append(f"- server: {label}, PostgreSQL {version}")
    lines.append("- tools: " + "; ".join(f"{name}: {ver}" for name, ver in versions.items()))
    lines += [f"- {note}" for note in notes]
    return "\n".join(lines)


def render(sections: Sequence[Section]) -> str:
    """The sections as a person reads them, in the results file and on the terminal."""
    return "\n\n".join(f"## {section.title}\n\n{section.body.strip()}" for section in sections)


def write(path: Path, head: str, sections: Sequence[Section]) -> None:
    path.write_text(f"{head}\n\n{render(sections)}\n")


def plot_overhead(
    curves: dict[str, dict[int, float]], floor: str, title: str, path: Path
) -> Path | None:
    """Median wall time against N, and the ratio to ``floor``; None if matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    figure, (times, ratios) = plt.subplots(1, 2, figsize=(12, 5), dpi=100)
    base = curves.get(floor, {})
    for name, points in curves.items():
        ns = sorted(points)
        if not ns:
            continue
        times.plot(ns, [points[n] for n in ns], marker="o", label=name)
        with_floor = [n for n in ns if base.get(n)]
        ratios.plot(with_floor, [points[n] / base[n] for n in with_floor], marker="o", label=name)
    times.set_ylabel("median wall time, s")
    ratios.set_ylabel(f"ratio to the {floor}")
    ratios.axhline(1.2, color="grey", linestyle="--", linewidth=1, label="1.2x (liftdb target)")
    for axes in (times, ratios):
        axes.set_xlabel("versions in the chain (N)")
        axes.grid(True, alpha=0.3)
        axes.legend(fontsize="small")
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path
