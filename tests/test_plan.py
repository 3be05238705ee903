"""Durations and directives as a person writes them, and the plan's refusals, without a server."""

from __future__ import annotations

import pytest
from conftest import WIDGETS, write_chain

from runner import loader, plan
from runner.errors import UsageError

DURATIONS = [
    ("0", 0),
    ("500ms", 500),
    ("5s", 5000),
    ("1.5s", 1500),
    ("2min", 120_000),
    ("1h", 3_600_000),
    (" 10 s ", 10_000),
]
NOT_DURATIONS = ["5", "soon", "-1s", "5 seconds", "", "1e3ms", "30d"]


@pytest.mark.parametrize(("text", "milliseconds"), DURATIONS)
def test_a_duration_reads_as_milliseconds(text, milliseconds):
    assert loader.parse_duration(text) == milliseconds


@pytest.mark.parametrize("text", NOT_DURATIONS)
def test_anything_else_is_refused_with_an_example(text):
    with pytest.raises(ValueError, match="examples: 5s, 500ms|longer than PostgreSQL allows"):
        loader.parse_duration(text)


def empty_state(tmp_path) -> plan.State:
    return plan.State(chain=loader.load(write_chain(tmp_path / "sql", WIDGETS)), applied={})


def test_chains_and_plans_are_values_read_only_as_a_frozen_dataclass_was(tmp_path):
    """Plans compare by their steps (a run asks again only when the plan changed:
    ``api._run_locked``), files by path and text, whichever load made them."""
    state = empty_state(tmp_path)
    again = plan.State(chain=loader.load(tmp_path / "sql"), applied={})
    assert state.chain is not again.chain and state.chain == again.chain
    assert plan.migrate(state) == plan.migrate(again)
    assert plan.migrate(state) != plan.migrate(again, to=2)
    assert len({plan.migrate(state), plan.migrate(again)}) == 1
    first = state.chain.get(1).up
    assert first.checksum == again.chain.get(1).up.checksum
    assert first != loader.SqlFile(first.path, first.text + "\n-- changed\n")
    for value, name in ((first, "text"), (state.chain, "versions"), (plan.migrate(state), "steps")):
        with pytest.raises(AttributeError, match="read-only"):
            setattr(value, name, None)
        with pytest.raises(AttributeError, match="read-only"):
            delattr(value, name)
    assert repr(state.chain).startswith(f"Chain(directory={tmp_path / 'sql'!r}, versions=(")


def test_migrate_plans_every_pending_version_or_up_to_to(tmp_path):
    state = empty_state(tmp_path)
    assert [s.version.number for s in plan.migrate(state)] == [1, 2, 3]
    assert [s.version.number for s in plan.migrate(state, to=2)] == [1, 2]
    assert len(plan.migrate(state, to=0)) == 0
    with pytest.raises(UsageError, match="unknown version 4: .* has versions 1..3"):
        plan.migrate(state, to=4)


def test_rollback_takes_one_way_of_saying_how_far(tmp_path):
    state = empty_state(tmp_path)
    with pytest.raises(UsageError, match="give one of --steps, --to and --all"):
        plan.rollback(state, steps=1, everything=True)
    with pytest.raises(UsageError, match="--steps must be 0 or more"):
        plan.rollback(state, steps=-1)
    assert len(plan.rollback(state)) == 0  # nothing applied, nothing to roll back
