"""What ``ALTER COLUMN ... TYPE`` costs on a table holding rows, decided as PostgreSQL decides it.

Invariant: ``cost`` follows the server's own rules (``ATColumnChangeRequiresRewrite``
and the length-coercion support functions): the table is rewritten unless the
old type is binary coercible to the new one (``pg_cast``'s ``b`` casts, listed in
``BINARY_COERCIBLE``) or only its length or precision widens (the types of
``WIDENS``), and a ``USING`` other than the column itself always rewrites;
``timestamp`` and ``timestamptz`` convert into each other without a rewrite only
when the session's TimeZone is UTC, and intervals only into a range no narrower.
Without a rewrite, the column's indexes are
rebuilt unless they keep their operator class and collation, and its CHECK
constraints are checked again: either reads every row. tests/test_lint_oracle.py
runs a matrix of type changes on a real server and compares.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from runner.observe import NONE, REWRITE, SCAN, rewrite_unless_utc

# pg_cast's binary-coercible casts (castmethod 'b'), in format_type() spelling; the same
# on PostgreSQL 15 and 18 (tests/test_lint_oracle.py compares with the server).
BINARY_COERCIBLE = frozenset(
    {
        ("bit", "bit varying"), ("bit varying", "bit"),
        ("character varying", "character"), ("character varying", "text"),
        ("text", "character"), ("text", "character varying"),
        ("xml", "character"), ("xml", "character varying"), ("xml", "text"),
        ("cidr", "inet"), ("pg_node_tree", "text"),
        ("pg_dependencies", "bytea"), ("pg_mcv_list", "bytea"), ("pg_ndistinct", "bytea"),
        ("regoper", "regoperator"), ("regoperator", "regoper"),
        ("regproc", "regprocedure"), ("regprocedure", "regproc"),
    }
    | {
        (a, b)
        for group in [("integer", "oid")]
        for a in group
        for b in group
        if a != b
    }
    | {
        pair
        for reg in (
            "regclass", "regcollation", "regconfig", "regdictionary", "regnamespace",
            "regoper", "regoperator", "regproc", "regprocedure", "regrole", "regtype",
        )
        for other in ("integer", "oid")
        for pair in ((reg, other), (other, reg))
    }
)  # fmt: skip

# Types whose length coercion has a support function that makes a widening a no-op:
# (kind of typmod, the precision an unconstrained value has).
WIDENS = {
    "character varying": ("length", None),
    "bit varying": ("length", None),
    "numeric": ("numeric", None),
    "timestamp without time zone": ("precision", 6),
    "timestamp with time zone": ("precision", 6),
    "time without time zone": ("precision", 6),
    "time with time zone": ("precision", 6),
    "interval": ("precision", 6),  # see _interval_widens
}
# An interval's fields, finest first (PostgreSQL's intervaltypmodleastfield).
LEAST_FIELD = {"second": 0, "minute": 1, "hour": 2, "day": 3, "month": 4, "year": 5}
TIMESTAMPS = {"timestamp without time zone", "timestamp with time zone"}
# Types whose indexes keep their operator class across a binary-coercible change.
SAME_OPERATOR_CLASS = [{"character varying", "text"}, {"cidr", "inet"}]
UTC_NAMES = {
    "utc", "etc/utc", "uct", "etc/uct", "gmt", "etc/gmt", "gmt0", "etc/gmt0", "gmt+0",
    "gmt-0", "etc/gmt+0", "etc/gmt-0", "zulu", "etc/zulu", "universal", "etc/universal",
    "greenwich", "etc/greenwich", "z", "0", "+00:00", "00:00", "+00", "-00:00",
}  # fmt: skip

_TYPE = re.compile(
    r"^(?P<head>[^(\[]*?)(?:\((?P<mods>[^)]*)\))?(?P<tail>[^(\[]*?)(?P<arrays>(\[\])*)$"
)


_DEPENDS = "depends on TimeZone"


@dataclass(frozen=True)
class Cost:
    effect: str  # observe's words: NONE, SCAN, REWRITE, or rewrite_unless_utc(NONE or SCAN)
    reads: tuple[str, ...] = ()  # without a rewrite, what reads every row ("rebuilds index x")
    timezone: bool = False  # whether a rewrite depends on the session's TimeZone


def split(spelled: str) -> tuple[str, tuple[int, ...], int]:
    """``"timestamp(3) without time zone"`` -> ``("timestamp without time zone", (3,), 0)``."""
    match = _TYPE.match(spelled.strip())
    if match is None:
        return spelled, (), 0
    base = " ".join(f"{match['head']} {match['tail']}".split())
    words = (match["mods"] or "").split(",")
    mods = tuple(int(m) for m in words if m.strip().lstrip("-").isdigit())
    return base, mods, len(match["arrays"]) // 2


def cost(
    old: str,
    new: str,
    *,
    plain_using: bool = True,
    collation: bool = False,
    indexes: tuple[str, ...] = (),
    checks: tuple[str, ...] = (),
    timezone: str | None = None,
) -> Cost:
    """The cost of changing a column from ``old`` to ``new`` (format_type spellings).

    ``plain_using``: no USING, or a USING that is the column itself; ``collation``: a
    COLLATE clause is given; ``indexes``, ``checks``: the names of the indexes and CHECK
    constraints that involve the column; ``timezone``: the TimeZone the file sets before
    the statement ("utc", "other"), None when it sets none.
    """
    effect = _table_effect(old, new, plain_using)
    depends = effect == _DEPENDS
    if depends and timezone is not None:
        effect = NONE if timezone == "utc" else REWRITE
    if effect == REWRITE:
        return Cost(REWRITE, timezone=depends)
    rebuilt = indexes if collation or not _keeps_operator_class(old, new) else ()
    reads = tuple(f"rebuilds index {name}" for name in rebuilt) + tuple(
        f"checks CHECK {name} again" for name in checks
    )
    otherwise = SCAN if reads else NONE
    if effect == _DEPENDS:
        return Cost(rewrite_unless_utc(otherwise), reads, timezone=True)
    return Cost(otherwise, reads, timezone=depends)


def _table_effect(old: str, new: str, plain_using: bool) -> str:
    if not plain_using:
        return REWRITE
    old_base, old_mods, old_arrays = split(old)
    new_base, new_mods, new_arrays = split(new)
    if old_arrays != new_arrays or (old_arrays and old_mods != new_mods):
        return REWRITE
    if old_base == new_base:
        return NONE if old_mods == new_mods or _widens(new_base, old_mods, new_mods) else REWRITE
    if old_base in TIMESTAMPS and new_base in TIMESTAMPS:
        return _DEPENDS if _widens(new_base, old_mods, new_mods) else REWRITE
    if _family(old_base) == _family(new_base) == "interval":
        return NONE if _interval_widens(old_base, old_mods, new_base, new_mods) else REWRITE
    if (old_base, new_base) in BINARY_COERCIBLE:
        # The new type's own length coercion then applies, from an unconstrained source.
        return NONE if not new_mods else REWRITE
    return REWRITE


def _widens(base: str, old: tuple[int, ...], new: tuple[int, ...]) -> bool:
    """True when the new typmod accepts every value of the old without changing it."""
    kind, unconstrained = WIDENS.get(_family(base), (None, None))
    if kind is None:
        return False
    if kind == "precision":
        old_precision = old[0] if old else unconstrained
        return not new or new[0] >= unconstrained or new[0] >= old_precision
    if not new:
        return True
    if not old:
        return False
    if kind == "numeric":
        old_scale = old[1] if len(old) > 1 else 0
        new_scale = new[1] if len(new) > 1 else 0
        return new_scale == old_scale and new[0] >= old[0]
    return new[0] >= old[0]


def _interval_widens(old_base: str, old_mods, new_base: str, new_mods) -> bool:
    """interval_support's rule: into no fields and no precision, or into a range whose
    finest field is no coarser than the old one's, no less precise."""
    if new_base == "interval" and not new_mods:
        return True
    old_fields = old_base.removeprefix("interval").split()
    new_fields = new_base.removeprefix("interval").split()
    finer = not new_fields or (
        bool(old_fields) and LEAST_FIELD[old_fields[-1]] >= LEAST_FIELD[new_fields[-1]]
    )
    precise = not new_mods or new_mods[0] >= 6 or new_mods[0] >= (old_mods[0] if old_mods else 6)
    return finer and precise


def _keeps_operator_class(old: str, new: str) -> bool:
    old_base, new_base = (_family(split(spelled)[0]) for spelled in (old, new))
    return old_base == new_base or any({old_base, new_base} <= same for same in SAME_OPERATOR_CLASS)


def _family(base: str) -> str:
    """The type a base names: an interval's fields are part of its typmod, not its type."""
    return "interval" if base.startswith("interval") else base


def timezone_set(value) -> str:
    """``"utc"`` or ``"other"`` for the value of a ``SET TimeZone`` (a pglast node)."""
    from pglast import ast

    from runner.lint.model import deparse

    if isinstance(value, ast.A_Const):
        text = str(getattr(value.val, "sval", getattr(value.val, "ival", "")))
    else:
        text = deparse(value)
    return "utc" if text.strip().strip("'").lower() in UTC_NAMES else "other"
