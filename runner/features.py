"""The PostgreSQL version each piece of syntax needs: what a chain cannot use on an older server.

Invariant: ``FEATURES`` names every syntax and built-in function that
PostgreSQL 16, 17 or 18 added (from their release notes) and that a migration
file can hold; ``uses`` finds each use in a statement or a file, with its
character offset, and never reports anything PostgreSQL 15 accepts. A file is
only parsed when a cheap look at its text (each feature's words) says it may
hold one. ``tests/test_server_versions.py`` proves every entry against real
servers: PostgreSQL 15 refuses it, 18 accepts it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import NamedTuple

from runner import sqltree  # its own imports are lazy: pglast loads when a tree is built

OLDEST = 15  # the oldest server version liftdb knows the features of (and CI runs)
NEWEST = 18  # the parser's (pglast's) version: nothing newer can be parsed


class Feature(NamedTuple):
    since: int  # the major version that added it
    what: str  # for a person: "VIRTUAL generated columns"


class Use(NamedTuple):
    feature: Feature
    offset: int  # character offset in the text that was parsed

    def message(self, server: str) -> str:
        return f"{self.feature.what} needs PostgreSQL {self.feature.since}; {server}"


def _f(since: int, what: str) -> Feature:
    return Feature(since, what)


JSON_CONSTRUCTORS = _f(16, "SQL/JSON constructors (JSON_ARRAY, JSON_OBJECT and their aggregates)")
IS_JSON = _f(16, "the IS JSON predicate")
SUBQUERY_ALIAS = _f(16, "a subquery or VALUES in FROM without an alias")
NUMERIC_LITERALS = _f(16, "hexadecimal, octal or binary integers, or _ in a number")
COLUMN_STORAGE = _f(16, "STORAGE in a column definition")
UNNAMED_STATISTICS = _f(16, "CREATE STATISTICS without a name")
REINDEX_CURRENT = _f(16, "REINDEX DATABASE or SYSTEM without a name")
GRANT_ROLE_OPTIONS = _f(16, "GRANT role ... WITH INHERIT or WITH SET")
JSON_TABLE = _f(17, "JSON_TABLE")
JSON_FUNCTIONS = _f(17, "SQL/JSON functions (JSON, JSON_SCALAR, JSON_SERIALIZE, JSON_QUERY,"
                        " JSON_VALUE, JSON_EXISTS)")  # fmt: skip
MERGE_RETURNING = _f(17, "MERGE ... RETURNING")
MERGE_BY_SOURCE = _f(17, "MERGE ... WHEN NOT MATCHED BY SOURCE")
MERGE_ACTION = _f(17, "merge_action()")
AT_LOCAL = _f(17, "AT LOCAL (timezone() of one argument)")
SET_EXPRESSION = _f(17, "ALTER COLUMN ... SET EXPRESSION")
ACCESS_METHOD_DEFAULT = _f(17, "SET ACCESS METHOD DEFAULT")
STATISTICS_DEFAULT = _f(17, "SET STATISTICS DEFAULT")
MAINTAIN = _f(17, "the MAINTAIN privilege")
LOGIN_TRIGGER = _f(17, "event triggers ON login")
PARTITIONED_EXCLUSION = _f(17, "an exclusion constraint on a partitioned table")
RANDOM_RANGE = _f(17, "random(min, max)")
VIRTUAL = _f(18, "VIRTUAL generated columns (and GENERATED ... AS without STORED)")
ENFORCED = _f(18, "ENFORCED / NOT ENFORCED constraints")
NOT_NULL_CONSTRAINT = _f(18, "NOT NULL as a table constraint, NOT VALID or NO INHERIT")
ALTER_INHERITABILITY = _f(18, "ALTER CONSTRAINT ... [NO] INHERIT")
TEMPORAL = _f(18, "temporal keys (WITHOUT OVERLAPS, PERIOD)")
RETURNING_OLD_NEW = _f(18, "OLD and NEW in RETURNING")
VACUUM_ONLY = _f(18, "VACUUM or ANALYZE ONLY")
LARGE_OBJECT_DEFAULTS = _f(18, "ALTER DEFAULT PRIVILEGES ... ON LARGE OBJECTS")

# Built-in functions, by name (a call to one the server lacks fails when it runs).
FUNCTIONS: dict[str, int] = {
    **dict.fromkeys(
        ("any_value", "array_sample", "array_shuffle", "random_normal", "date_add",
         "date_subtract", "pg_input_is_valid", "pg_input_error_info", "erf", "erfc",
         "system_user"), 16,
    ),
    **dict.fromkeys(
        ("to_bin", "to_oct", "uuid_extract_timestamp", "uuid_extract_version",
         "to_regtypemod"), 17,
    ),
    **dict.fromkeys(
        ("uuidv4", "uuidv7", "casefold", "array_sort", "array_reverse", "crc32", "crc32c",
         "gamma", "lgamma"), 18,
    ),
}  # fmt: skip

# Options of COPY and VACUUM / ANALYZE, by name.
COPY_OPTIONS = {"default": 16, "on_error": 17, "log_verbosity": 17, "reject_limit": 18}
VACUUM_OPTIONS = dict.fromkeys(
    ("buffer_usage_limit", "skip_database_stats", "only_database_stats", "process_main"), 16
)

# What a statement must hold to possibly use a feature: one that holds none of it is not
# walked at all (most DDL is not), and the runner's pre-flight parses no such file. Words
# are compared as a set (cheap); the few patterns common words need are matched only then.
WORD = re.compile(r"[a-z0-9_]+")
DISTINCT_WORDS = {
    "json", "json_array", "json_arrayagg", "json_object", "json_objectagg", "json_table",
    "json_query", "json_value", "json_exists", "json_scalar", "json_serialize", "select",
    "values", "storage", "statistics", "reindex", "copy", "vacuum", "analyze", "merge",
    "local", "timezone", "expression", "access", "maintain", "login", "enforced", "inherit",
    "overlaps", "period", "returning", "large", "virtual", "random", *FUNCTIONS,
}  # fmt: skip
NOT_NULL_FORMS = re.compile(
    r"constraint\s+\S+\s+not\s+null|not\s+null\s+(not\s+valid|no\s+inherit)", re.IGNORECASE
)
GENERATED_EXPRESSION = re.compile(r"generated\s+always\s+as\s*\(", re.IGNORECASE)
LITERAL_FORMS = re.compile(r"\b0[xob]|[0-9]_[0-9]", re.IGNORECASE)


def may_use(text: str) -> bool:
    """False when ``text`` cannot hold a use of any feature (so nothing is parsed)."""
    words = set(WORD.findall(text.lower()))
    return bool(
        words & DISTINCT_WORDS
        or ("grant" in words and "with" in words)
        or ("null" in words and NOT_NULL_FORMS.search(text))
        or ("generated" in words and GENERATED_EXPRESSION.search(text))
        or ("partition" in words and "exclude" in words)
        or LITERAL_FORMS.search(text)
    )


def uses(node, text: str, start: int, end: int) -> list[Use]:
    """Every use, in the statement ``node`` (parsed from ``text``, where it spans
    ``start:end``), of a feature newer than PostgreSQL 15, in order."""
    if not may_use(text[start:end]):
        return []
    found: list[Use] = []
    for item in _walk(node):
        checker = CHECKS.get(type(item).__name__)
        if checker is not None:
            for feature in checker(item):
                location = getattr(item, "location", None)
                offset = location if isinstance(location, int) and location >= 0 else start
                found.append(Use(feature, offset))
    found += _tokens(text, start, end)
    return sorted(set(found), key=lambda use: use.offset)


@sqltree.remembered
def uses_in_file(text: str, newer_than: int) -> tuple[Use, ...]:
    """Uses, in a whole file, of features newer than PostgreSQL ``newer_than`` (the
    runner's pre-flight: nothing is parsed when the text holds none of their words);
    remembered per text and version."""
    if newer_than >= NEWEST or not may_use(text):
        return ()
    found = []
    for raw in sqltree.parse(text):
        start = raw.stmt_location or 0
        end = start + raw.stmt_len if raw.stmt_len else len(text)
        found += [u for u in uses(raw.stmt, text, start, end) if u.feature.since > newer_than]
    return tuple(found)


def _walk(node):
    from runner.lint.model import walk

    return walk(node)


def _tokens(text: str, start: int, end: int) -> list[Use]:
    """What only the scanner sees: literals' spelling, the ENFORCED keyword."""
    source = text[start:end]
    lowered = source.lower()
    if "enforced" not in lowered and not re.search(r"\b0[xob]|[0-9]_[0-9]", lowered):
        return []
    from pglast import parser

    found = []
    for token in parser.scan(source):
        word = source[token.start : token.end + 1]
        if token.name == "ENFORCED":
            found.append(Use(ENFORCED, start + token.start))
        elif token.name in ("ICONST", "FCONST") and LITERAL_FORMS.search(word):
            found.append(Use(NUMERIC_LITERALS, start + token.start))
    return found


# --- the checks, by node type -----------------------------------------------------------


def _function(node) -> Iterator[Feature]:
    name = node.funcname[-1].sval
    if len(node.funcname) > 1 and node.funcname[0].sval != "pg_catalog":
        return  # a function of the chain's own, in its own schema
    since = FUNCTIONS.get(name)
    if since is not None:
        yield Feature(since, f"the function {name}()")
    if name == "timezone" and len(node.args or ()) == 1:
        yield AT_LOCAL
    if name == "random" and len(node.args or ()) == 2:
        yield RANDOM_RANGE


def _options(table: dict[str, int], label: str) -> Callable:
    def check(node) -> Iterator[Feature]:
        for option in node.options or ():
            since = table.get(getattr(option, "defname", None))
            if since is not None:
                yield Feature(since, f"{label} option {option.defname.upper()}")

    return check


def _vacuum(node) -> Iterator[Feature]:
    yield from _options(VACUUM_OPTIONS, "VACUUM")(node)
    for relation in node.rels or ():
        if relation.relation is not None and not relation.relation.inh:
            yield VACUUM_ONLY


def _constraint(node) -> Iterator[Feature]:
    from pglast.enums import ConstrType

    if node.contype == ConstrType.CONSTR_GENERATED and node.generated_kind == "v":
        yield VIRTUAL
    if node.contype == ConstrType.CONSTR_NOTNULL and (
        node.keys or node.skip_validation or node.is_no_inherit
    ):
        yield NOT_NULL_CONSTRAINT
    if node.without_overlaps or node.fk_with_period or node.pk_with_period:
        yield TEMPORAL


def _create_table(node) -> Iterator[Feature]:
    from pglast import ast
    from pglast.enums import ConstrType

    if node.partspec is None:
        return
    for element in node.tableElts or ():
        constraints = element.constraints if isinstance(element, ast.ColumnDef) else [element]
        for constraint in constraints or ():
            if not isinstance(constraint, ast.Constraint):
                continue
            if constraint.contype == ConstrType.CONSTR_EXCLUSION:
                yield PARTITIONED_EXCLUSION


def _alter_table_cmd(node) -> Iterator[Feature]:
    from pglast.enums import AlterTableType as At

    if node.subtype == At.AT_SetExpression:
        yield SET_EXPRESSION
    elif node.subtype == At.AT_SetAccessMethod and node.name is None:
        yield ACCESS_METHOD_DEFAULT
    elif node.subtype == At.AT_SetStatistics and node.def_ is None:
        yield STATISTICS_DEFAULT


def _returning(node) -> Iterator[Feature]:
    from pglast import ast

    if node.options:
        yield RETURNING_OLD_NEW
        return
    for item in _walk(node.exprs):
        if isinstance(item, ast.ColumnRef) and len(item.fields or ()) > 1:
            first = item.fields[0]
            if isinstance(first, ast.String) and first.sval in ("old", "new"):
                yield RETURNING_OLD_NEW
                return


def _merge(node) -> Iterator[Feature]:
    returning = getattr(node, "returningClause", None) or getattr(node, "returningList", None)
    if returning:
        yield MERGE_RETURNING


def _when(node) -> Iterator[Feature]:
    if node.matchKind.name == "MERGE_WHEN_NOT_MATCHED_BY_SOURCE":
        yield MERGE_BY_SOURCE


def _grant(node) -> Iterator[Feature]:
    for privilege in node.privileges or ():
        if privilege.priv_name == "maintain":
            yield MAINTAIN


def _grant_role(node) -> Iterator[Feature]:
    if any(option.defname in ("inherit", "set") for option in node.opt or ()):
        yield GRANT_ROLE_OPTIONS


def _default_privileges(node) -> Iterator[Feature]:
    if node.action is not None and node.action.objtype.name == "OBJECT_LARGEOBJECT":
        yield LARGE_OBJECT_DEFAULTS


def _always(feature: Feature) -> Callable:
    def check(node) -> Iterator[Feature]:
        yield feature

    return check


def _when_true(test: Callable, feature: Feature) -> Callable:
    def check(node) -> Iterator[Feature]:
        if test(node):
            yield feature

    return check


CHECKS: dict[str, Callable] = {
    "JsonArrayConstructor": _always(JSON_CONSTRUCTORS),
    "JsonArrayQueryConstructor": _always(JSON_CONSTRUCTORS),
    "JsonObjectConstructor": _always(JSON_CONSTRUCTORS),
    "JsonArrayAgg": _always(JSON_CONSTRUCTORS),
    "JsonObjectAgg": _always(JSON_CONSTRUCTORS),
    "JsonIsPredicate": _always(IS_JSON),
    "RangeSubselect": _when_true(lambda n: n.alias is None, SUBQUERY_ALIAS),
    "ColumnDef": _when_true(lambda n: bool(n.storage_name), COLUMN_STORAGE),
    "CreateStatsStmt": _when_true(lambda n: not n.defnames, UNNAMED_STATISTICS),
    "ReindexStmt": _when_true(lambda n: n.name is None and n.relation is None, REINDEX_CURRENT),
    "GrantRoleStmt": _grant_role,
    "CopyStmt": _options(COPY_OPTIONS, "COPY"),
    "VacuumStmt": _vacuum,
    "FuncCall": _function,
    "JsonTable": _always(JSON_TABLE),
    "JsonParseExpr": _always(JSON_FUNCTIONS),
    "JsonScalarExpr": _always(JSON_FUNCTIONS),
    "JsonSerializeExpr": _always(JSON_FUNCTIONS),
    "JsonFuncExpr": _always(JSON_FUNCTIONS),
    "MergeStmt": _merge,
    "MergeWhenClause": _when,
    "MergeSupportFunc": _always(MERGE_ACTION),
    "AlterTableCmd": _alter_table_cmd,
    "GrantStmt": _grant,
    "CreateEventTrigStmt": _when_true(lambda n: n.eventname == "login", LOGIN_TRIGGER),
    "CreateStmt": _create_table,
    "Constraint": _constraint,
    "ATAlterConstraint": _when_true(lambda n: n.alterInheritability, ALTER_INHERITABILITY),
    "ReturningClause": _returning,
    "AlterDefaultPrivilegesStmt": _default_privileges,
}
