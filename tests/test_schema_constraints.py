"""Every constraint of the chain, row by row: valid rows are stored, each invalid
row is refused with the SQLSTATE and the constraint (or column) a user would see.

The cases are data: adding a case is adding a row to one of the tables below.
Each changes one valid row (``rows.valid``) only in the values it is about.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from psycopg import sql
from rows import (
    EVENT_TIME,
    JSON_NULL,
    LIFT,
    MISSING,
    OMIT,
    OTHER_LIFT,
    TRIGGER_CONTEXTS,
    WEEKLY_531,
    insert,
    insert_parents,
    refused,
    valid,
)

CHECK, UNIQUE, FOREIGN_KEY, NOT_NULL = "23514", "23505", "23503", "23502"
TOO_LONG, OUT_OF_RANGE = "22001", "22003"
SELF = MISSING  # a lift whose parent is itself

SESSION = TRIGGER_CONTEXTS["AFTER_SESSION"]
WEEK = TRIGGER_CONTEXTS["AFTER_WEEK"]
CYCLE = TRIGGER_CONTEXTS["AFTER_CYCLE"]
WEEK_1 = WEEKLY_531[0]
DAY = {"percentageModifier": 1.0, "intensityLevel": "HEAVY"}


@pytest.fixture
def parents(db):
    insert_parents(db)
    return db


def without(mapping: dict, key: str) -> dict:
    return {k: v for k, v in mapping.items() if k != key}


def case(table, changes, sqlstate, name, id):
    return pytest.param(table, changes, sqlstate, name, id=id)


def log_context(trigger_type, context, id):
    """A progression_logs row whose trigger_context is wrong for its trigger_type."""
    changes = {"trigger_type": trigger_type, "trigger_context": context}
    return case("progression_logs", changes, CHECK, "progression_logs_trigger_context_check", id)


def weekly(entries, id):
    return case("weekly_lookups", {"entries": entries}, CHECK, "weekly_lookups_entries_check", id)


def week(id, **changes):
    """A weekly lookup whose second week is week 1 changed by ``changes`` (None drops a key)."""
    entry = {"weekNumber": 2} | {k: v for k, v in WEEK_1.items() if k != "weekNumber"}
    entry = {k: v for k, v in (entry | changes).items() if v is not None}
    return weekly([WEEK_1, entry], id)


def daily(entries, id):
    return case("daily_lookups", {"entries": entries}, CHECK, "daily_lookups_entries_check", id)


def day(id, **changes):
    """A daily lookup whose "light" day is a valid day changed by ``changes`` (None drops a key)."""
    entry = {k: v for k, v in (DAY | changes).items() if v is not None}
    return daily({"heavy": DAY, "light": entry}, id)


REFUSED = [
    # users
    case("users", {"email": None}, NOT_NULL, "email", "users email null"),
    case("users", {"name": None}, NOT_NULL, "name", "users name null"),
    case("users", {"weight_unit": None}, NOT_NULL, "weight_unit", "users weight_unit null"),
    case("users", {"email": ""}, CHECK, "users_email_check", "users email empty"),
    case("users", {"email": "alice"}, CHECK, "users_email_check", "users email without @"),
    case("users", {"email": "@example.com"}, CHECK, "users_email_check", "users email no local"),
    case("users", {"name": ""}, CHECK, "users_name_check", "users name empty"),
    case("users", {"name": "   "}, CHECK, "users_name_check", "users name blank"),
    case("users", {"name": "x" * 101}, TOO_LONG, None, "users name 101 chars"),
    case("users", {"weight_unit": "st"}, CHECK, "users_weight_unit_check", "users unit st"),
    case("users", {"weight_unit": "KG"}, CHECK, "users_weight_unit_check", "users unit KG"),
    # lifts
    case("lifts", {"name": None}, NOT_NULL, "name", "lifts name null"),
    case("lifts", {"slug": None}, NOT_NULL, "slug", "lifts slug null"),
    case("lifts", {"is_competition_lift": None}, NOT_NULL, "is_competition_lift", "lifts flag"),
    case("lifts", {"name": ""}, CHECK, "lifts_name_check", "lifts name empty"),
    case("lifts", {"name": " "}, CHECK, "lifts_name_check", "lifts name blank"),
    case("lifts", {"name": "\n"}, CHECK, "lifts_name_check", "lifts name newline"),
    case("lifts", {"name": "x" * 101}, TOO_LONG, None, "lifts name 101 chars"),
    case("lifts", {"slug": ""}, CHECK, "lifts_slug_check", "lifts slug empty"),
    case("lifts", {"slug": "Squat"}, CHECK, "lifts_slug_check", "lifts slug uppercase"),
    case("lifts", {"slug": "back squat"}, CHECK, "lifts_slug_check", "lifts slug space"),
    case("lifts", {"slug": "back_squat"}, CHECK, "lifts_slug_check", "lifts slug underscore"),
    case("lifts", {"slug": "squat\n"}, CHECK, "lifts_slug_check", "lifts slug newline"),
    case("lifts", {"slug": "squat!"}, CHECK, "lifts_slug_check", "lifts slug punctuation"),
    case(
        "lifts",
        {"id": SELF, "parent_lift_id": SELF},
        CHECK,
        "lifts_parent_lift_id_check",
        "lifts own parent",
    ),
    case(
        "lifts",
        {"parent_lift_id": MISSING},
        FOREIGN_KEY,
        "lifts_parent_lift_id_fkey",
        "lifts parent missing",
    ),
    # lift_maxes
    case("lift_maxes", {"user_id": None}, NOT_NULL, "user_id", "maxes user null"),
    case("lift_maxes", {"lift_id": None}, NOT_NULL, "lift_id", "maxes lift null"),
    case("lift_maxes", {"type": None}, NOT_NULL, "type", "maxes type null"),
    case("lift_maxes", {"value": None}, NOT_NULL, "value", "maxes value null"),
    case("lift_maxes", {"effective_date": None}, NOT_NULL, "effective_date", "maxes date null"),
    case("lift_maxes", {"type": "ONE_REP_MAX"}, CHECK, "lift_maxes_type_check", "maxes type bad"),
    case("lift_maxes", {"type": "training_max"}, CHECK, "lift_maxes_type_check", "maxes type lc"),
    case("lift_maxes", {"type": ""}, CHECK, "lift_maxes_type_check", "maxes type empty"),
    case("lift_maxes", {"value": Decimal(0)}, CHECK, "lift_maxes_value_check", "maxes value 0"),
    case("lift_maxes", {"value": Decimal(-5)}, CHECK, "lift_maxes_value_check", "maxes negative"),
    case("lift_maxes", {"value": Decimal("0.004")}, CHECK, "lift_maxes_value_check", "rounds to 0"),
    case("lift_maxes", {"value": Decimal("1e6")}, OUT_OF_RANGE, None, "maxes value too large"),
    case("lift_maxes", {"user_id": MISSING}, FOREIGN_KEY, "lift_maxes_user_id_fkey", "maxes user?"),
    case("lift_maxes", {"lift_id": MISSING}, FOREIGN_KEY, "lift_maxes_lift_id_fkey", "maxes lift?"),
    # programs
    case("programs", {"name": None}, NOT_NULL, "name", "programs name null"),
    case("programs", {"slug": None}, NOT_NULL, "slug", "programs slug null"),
    case("programs", {"name": ""}, CHECK, "programs_name_check", "programs name empty"),
    case("programs", {"name": "\t"}, CHECK, "programs_name_check", "programs name tab"),
    case("programs", {"slug": ""}, CHECK, "programs_slug_check", "programs slug empty"),
    case("programs", {"slug": "5/3/1"}, CHECK, "programs_slug_check", "programs slug slash"),
    case("programs", {"slug": "Five-3-1"}, CHECK, "programs_slug_check", "programs slug upper"),
    # progressions
    case("progressions", {"name": None}, NOT_NULL, "name", "progressions name null"),
    case("progressions", {"type": None}, NOT_NULL, "type", "progressions type null"),
    case("progressions", {"parameters": None}, NOT_NULL, "parameters", "parameters null"),
    case("progressions", {"name": ""}, CHECK, "progressions_name_check", "progressions name ''"),
    case("progressions", {"name": "  "}, CHECK, "progressions_name_check", "name blank"),
    case("progressions", {"name": "\r\n"}, CHECK, "progressions_name_check", "name crlf"),
    case("progressions", {"name": "x" * 101}, TOO_LONG, None, "progressions name 101 chars"),
    case("progressions", {"type": "LINEAR"}, CHECK, "progressions_type_check", "type unknown"),
    case(
        "progressions",
        {"type": "linear_progression"},
        CHECK,
        "progressions_type_check",
        "progressions type lowercase",
    ),
    case(
        "progressions",
        {"parameters": [{"increment": 5}]},
        CHECK,
        "progressions_parameters_check",
        "parameters array",
    ),
    case(
        "progressions",
        {"parameters": "increment"},
        CHECK,
        "progressions_parameters_check",
        "parameters string",
    ),
    case(
        "progressions",
        {"parameters": JSON_NULL},
        CHECK,
        "progressions_parameters_check",
        "parameters json null",
    ),
    # progression_logs: columns and values
    case("progression_logs", {"user_id": None}, NOT_NULL, "user_id", "logs user null"),
    case("progression_logs", {"lift_id": None}, NOT_NULL, "lift_id", "logs lift null"),
    case("progression_logs", {"delta": None}, NOT_NULL, "delta", "logs delta null"),
    case("progression_logs", {"trigger_type": None}, NOT_NULL, "trigger_type", "type null"),
    case("progression_logs", {"trigger_context": None}, NOT_NULL, "trigger_context", "ctx null"),
    case("progression_logs", {"applied_at": None}, NOT_NULL, "applied_at", "applied_at null"),
    case("progression_logs", {"applied_at": OMIT}, NOT_NULL, "applied_at", "applied_at default"),
    case(
        "progression_logs",
        {"progression_id": None},
        NOT_NULL,
        "progression_id",
        "logs progression null",
    ),
    case(
        "progression_logs",
        {"previous_value": Decimal(-10), "new_value": Decimal(0), "delta": Decimal(10)},
        CHECK,
        "progression_logs_previous_value_check",
        "logs previous negative",
    ),
    case(
        "progression_logs",
        {"previous_value": Decimal(0), "new_value": Decimal(-5), "delta": Decimal(-5)},
        CHECK,
        "progression_logs_new_value_check",
        "logs new negative",
    ),
    case(
        "progression_logs",
        {"delta": Decimal(5)},
        CHECK,
        "progression_logs_delta_check",
        "logs delta too small",
    ),
    case(
        "progression_logs",
        {"delta": Decimal(-10)},
        CHECK,
        "progression_logs_delta_check",
        "logs delta sign",
    ),
    case(
        "progression_logs",
        {"delta": Decimal(0)},
        CHECK,
        "progression_logs_delta_check",
        "logs delta zero",
    ),
    case(
        "progression_logs",
        {"trigger_type": "AFTER_DAY"},
        CHECK,
        "progression_logs_trigger_type_check",
        "logs trigger type unknown",
    ),
    case(
        "progression_logs",
        {"trigger_type": "after_cycle"},
        CHECK,
        "progression_logs_trigger_type_check",
        "logs trigger type lowercase",
    ),
    case(
        "progression_logs",
        {"user_id": MISSING},
        FOREIGN_KEY,
        "progression_logs_user_id_fkey",
        "logs user missing",
    ),
    case(
        "progression_logs",
        {"progression_id": MISSING},
        FOREIGN_KEY,
        "progression_logs_progression_id_fkey",
        "logs progression missing",
    ),
    case(
        "progression_logs",
        {"lift_id": MISSING},
        FOREIGN_KEY,
        "progression_logs_lift_id_fkey",
        "logs lift missing",
    ),
    # progression_logs: trigger_context, per trigger type
    log_context("AFTER_CYCLE", [], "context array"),
    log_context("AFTER_CYCLE", "cycle 1", "context string"),
    log_context("AFTER_CYCLE", JSON_NULL, "context json null"),
    log_context("AFTER_CYCLE", {}, "context empty object"),
    log_context("AFTER_SESSION", without(SESSION, "sessionId"), "session no sessionId"),
    log_context("AFTER_SESSION", without(SESSION, "daySlug"), "session no daySlug"),
    log_context("AFTER_SESSION", without(SESSION, "weekNumber"), "session no weekNumber"),
    log_context("AFTER_SESSION", SESSION | {"sessionId": 42}, "session sessionId number"),
    log_context("AFTER_SESSION", SESSION | {"sessionId": "42"}, "session sessionId not uuid"),
    log_context("AFTER_SESSION", SESSION | {"daySlug": None}, "session daySlug null"),
    log_context("AFTER_SESSION", SESSION | {"daySlug": ["day-a"]}, "session daySlug array"),
    log_context("AFTER_SESSION", SESSION | {"weekNumber": "2"}, "session weekNumber string"),
    log_context("AFTER_SESSION", SESSION | {"weekNumber": 2.5}, "session weekNumber fraction"),
    log_context("AFTER_SESSION", WEEK, "session given week context"),
    log_context("AFTER_WEEK", without(WEEK, "weekNumber"), "week no weekNumber"),
    log_context("AFTER_WEEK", without(WEEK, "cycleIteration"), "week no cycleIteration"),
    log_context("AFTER_WEEK", WEEK | {"weekNumber": True}, "week weekNumber boolean"),
    log_context("AFTER_WEEK", WEEK | {"cycleIteration": "1"}, "week cycleIteration string"),
    log_context("AFTER_WEEK", WEEK | {"cycleIteration": 1.5}, "week cycleIteration fraction"),
    log_context("AFTER_WEEK", CYCLE, "week given cycle context"),
    log_context("AFTER_CYCLE", without(CYCLE, "cycleIteration"), "cycle no cycleIteration"),
    log_context("AFTER_CYCLE", without(CYCLE, "totalWeeks"), "cycle no totalWeeks"),
    log_context("AFTER_CYCLE", CYCLE | {"totalWeeks": [4]}, "cycle totalWeeks array"),
    log_context("AFTER_CYCLE", CYCLE | {"totalWeeks": 4.5}, "cycle totalWeeks fraction"),
    log_context("AFTER_CYCLE", CYCLE | {"cycleIteration": None}, "cycle cycleIteration null"),
    log_context("AFTER_CYCLE", SESSION, "cycle given session context"),
    # program_progressions
    case("program_progressions", {"program_id": None}, NOT_NULL, "program_id", "pp program"),
    case("program_progressions", {"progression_id": None}, NOT_NULL, "progression_id", "pp rule"),
    case("program_progressions", {"priority": None}, NOT_NULL, "priority", "pp priority null"),
    case("program_progressions", {"enabled": None}, NOT_NULL, "enabled", "pp enabled null"),
    case(
        "program_progressions",
        {"program_id": MISSING},
        FOREIGN_KEY,
        "program_progressions_program_id_fkey",
        "pp program missing",
    ),
    case(
        "program_progressions",
        {"progression_id": MISSING},
        FOREIGN_KEY,
        "program_progressions_progression_id_fkey",
        "pp progression missing",
    ),
    case(
        "program_progressions",
        {"lift_id": MISSING},
        FOREIGN_KEY,
        "program_progressions_lift_id_fkey",
        "pp lift missing",
    ),
    # weekly_lookups
    case("weekly_lookups", {"name": None}, NOT_NULL, "name", "weekly name null"),
    case("weekly_lookups", {"entries": None}, NOT_NULL, "entries", "weekly entries null"),
    case("weekly_lookups", {"name": ""}, CHECK, "weekly_lookups_name_check", "weekly name ''"),
    case("weekly_lookups", {"name": " "}, CHECK, "weekly_lookups_name_check", "weekly name ' '"),
    case("weekly_lookups", {"name": "\t"}, CHECK, "weekly_lookups_name_check", "weekly name tab"),
    case(
        "weekly_lookups",
        {"program_id": MISSING},
        FOREIGN_KEY,
        "weekly_lookups_program_id_fkey",
        "weekly program missing",
    ),
    weekly([], "weekly empty array"),
    weekly({}, "weekly empty object"),
    weekly({"1": WEEK_1}, "weekly object of weeks"),
    weekly("weeks", "weekly string"),
    weekly(JSON_NULL, "weekly json null"),
    weekly([WEEK_1, 2], "weekly entry number"),
    weekly([WEEK_1, None], "weekly entry null"),
    weekly([WEEK_1, [2, [70], [3]]], "weekly entry array"),
    week("weekly weekNumber missing", weekNumber=None),
    week("weekly weekNumber string", weekNumber="2"),
    week("weekly weekNumber 0", weekNumber=0),
    week("weekly weekNumber negative", weekNumber=-2),
    week("weekly weekNumber 1.5", weekNumber=1.5),
    week("weekly weekNumber duplicate", weekNumber=1),
    week("weekly weekNumber duplicate 1.0", weekNumber=1.0),
    week("weekly percentages missing", percentages=None),
    week("weekly reps missing", reps=None),
    week("weekly percentages not array", percentages=65),
    week("weekly reps not array", reps="5"),
    week("weekly lengths differ", percentages=[70, 80], reps=[3, 3, 3]),
    week("weekly lengths differ other way", percentages=[70, 80, 90], reps=[3, 3]),
    week("weekly percentage string", percentages=["70", 80, 90]),
    week("weekly percentage null", percentages=[70, None, 90]),
    week("weekly percentage array", percentages=[70, [80], 90]),
    week("weekly reps fraction", reps=[3, 3, 2.5]),
    week("weekly reps string", reps=[3, "3", 3]),
    week("weekly reps boolean", reps=[3, 3, True]),
    week("weekly percentageModifier string", percentageModifier="0.9"),
    week("weekly percentageModifier object", percentageModifier={"value": 0.9}),
    # daily_lookups
    case("daily_lookups", {"name": None}, NOT_NULL, "name", "daily name null"),
    case("daily_lookups", {"entries": None}, NOT_NULL, "entries", "daily entries null"),
    case("daily_lookups", {"name": ""}, CHECK, "daily_lookups_name_check", "daily name ''"),
    case("daily_lookups", {"name": " \t "}, CHECK, "daily_lookups_name_check", "daily name blank"),
    case(
        "daily_lookups",
        {"program_id": MISSING},
        FOREIGN_KEY,
        "daily_lookups_program_id_fkey",
        "daily program missing",
    ),
    daily({}, "daily empty object"),
    daily([], "daily empty array"),
    daily([DAY], "daily array of days"),
    daily("heavy", "daily string"),
    daily(JSON_NULL, "daily json null"),
    daily({"heavy": DAY, "light": 0.7}, "daily entry number"),
    daily({"heavy": DAY, "light": None}, "daily entry null"),
    daily({"heavy": DAY, "light": [DAY]}, "daily entry array"),
    daily({"heavy": DAY, "": DAY}, "daily empty day identifier"),
    daily({"heavy": DAY, "  ": DAY}, "daily blank day identifier"),
    daily({"heavy": DAY, "\t": DAY}, "daily tab day identifier"),
    day("daily percentageModifier missing", percentageModifier=None),
    day("daily percentageModifier string", percentageModifier="0.7"),
    day("daily intensityLevel missing", intensityLevel=None),
    day("daily intensityLevel unknown", intensityLevel="EXTREME"),
    day("daily intensityLevel lowercase", intensityLevel="light"),
    day("daily intensityLevel number", intensityLevel=1),
    day("daily intensityLevel array", intensityLevel=["LIGHT"]),
]


@pytest.mark.parametrize(("table", "changes", "sqlstate", "name"), REFUSED)
def test_invalid_row_is_refused_naming_the_constraint(parents, table, changes, sqlstate, name):
    with refused(parents, sqlstate, name):
        insert(parents, table, valid(table) | changes)


ACCEPTED = [
    pytest.param("users", {}, id="users"),
    pytest.param("users", {"weight_unit": "lb"}, id="users lb"),
    pytest.param("users", {"name": "x" * 100}, id="users name 100 chars"),
    pytest.param("lifts", {}, id="lifts"),
    pytest.param("lifts", {"parent_lift_id": LIFT, "name": "Paused squat"}, id="lifts variation"),
    pytest.param("lifts", {"slug": "close-grip-bench-2"}, id="lifts slug digits hyphens"),
    pytest.param("lifts", {"name": "x"}, id="lifts name 1 char"),
    pytest.param("lifts", {"name": "x" * 100}, id="lifts name 100 chars"),
    pytest.param("lift_maxes", {}, id="lift_maxes"),
    pytest.param("lift_maxes", {"type": "ONE_RM"}, id="lift_maxes one rep max"),
    pytest.param("lift_maxes", {"value": Decimal("0.01")}, id="lift_maxes smallest"),
    pytest.param("lift_maxes", {"value": Decimal("999999.99")}, id="lift_maxes largest"),
    pytest.param("programs", {}, id="programs"),
    pytest.param("programs", {"description": None}, id="programs no description"),
    pytest.param("progressions", {}, id="progressions"),
    pytest.param(
        "progressions",
        {
            "type": "LINEAR_PROGRESSION",
            "parameters": {
                "increment": 5.0,
                "maxType": "TRAINING_MAX",
                "triggerType": "AFTER_SESSION",
            },
        },
        id="progressions linear",
    ),
    pytest.param("progressions", {"parameters": {}}, id="progressions empty parameters"),
    pytest.param("progression_logs", {}, id="logs after cycle"),
    pytest.param(
        "progression_logs",
        {"trigger_type": "AFTER_SESSION", "trigger_context": SESSION},
        id="logs after session",
    ),
    pytest.param(
        "progression_logs",
        {"trigger_type": "AFTER_WEEK", "trigger_context": WEEK},
        id="logs after week",
    ),
    pytest.param(
        "progression_logs",
        {"previous_value": Decimal(310), "new_value": Decimal(280), "delta": Decimal(-30)},
        id="logs deload",
    ),
    pytest.param(
        "progression_logs",
        {"previous_value": Decimal(0), "new_value": Decimal(0), "delta": Decimal(0)},
        id="logs zeros",
    ),
    pytest.param("program_progressions", {}, id="program_progressions program-wide"),
    pytest.param(
        "program_progressions",
        {"lift_id": LIFT, "override_increment": Decimal(10), "priority": 1, "enabled": False},
        id="program_progressions lift override",
    ),
    pytest.param("weekly_lookups", {}, id="weekly_lookups 5/3/1"),
    pytest.param("weekly_lookups", {"entries": [WEEK_1], "program_id": None}, id="weekly one"),
    pytest.param(
        "weekly_lookups",
        {"entries": [WEEK_1 | {"weekNumber": 12, "percentages": [], "reps": []}]},
        id="weekly week 12 without sets",
    ),
    pytest.param(
        "weekly_lookups",
        {"entries": [WEEK_1 | {"percentages": [62.5], "reps": [8], "percentageModifier": 1}]},
        id="weekly fractional percentage",
    ),
    pytest.param("daily_lookups", {}, id="daily_lookups heavy light medium"),
    pytest.param("daily_lookups", {"entries": {"day-1": DAY}}, id="daily one day"),
    pytest.param("daily_lookups", {"name": " Starr "}, id="daily name padded"),
    pytest.param(
        "progression_logs",
        {
            "trigger_type": "AFTER_SESSION",
            "trigger_context": SESSION | {"sessionId": SESSION["sessionId"].upper()},
        },
        id="logs session id in capitals",
    ),
]


@pytest.mark.parametrize(("table", "changes"), ACCEPTED)
def test_valid_row_is_stored_as_given(parents, table, changes):
    row = valid(table) | changes
    stored = insert(parents, table, row)
    assert {column: stored[column] for column in row} == row


DEFAULTS = [
    pytest.param("users", {"weight_unit": "lb"}, id="users weight_unit lb"),
    pytest.param("lifts", {"is_competition_lift": False, "parent_lift_id": None}, id="lifts"),
    pytest.param("progressions", {"parameters": {}}, id="progressions parameters {}"),
    pytest.param("program_progressions", {"priority": 0, "enabled": True}, id="program_progs"),
    pytest.param("programs", {"description": None}, id="programs description"),
    pytest.param("weekly_lookups", {"program_id": None}, id="weekly program_id"),
]


@pytest.mark.parametrize(("table", "defaults"), DEFAULTS)
def test_omitted_columns_take_their_defaults(parents, table, defaults):
    stored = insert(parents, table, valid(table) | dict.fromkeys(defaults, OMIT))
    assert {column: stored[column] for column in defaults} == defaults
    assert stored["id"] is not None
    now = parents.execute("SELECT now()").fetchone()[0]
    assert stored["created_at"] == now


def duplicate(table, first, second, constraint, id):
    return pytest.param(table, first, second, constraint, id=id)


DUPLICATES = [
    duplicate("users", {"email": "a@x.io"}, {"email": "a@x.io"}, "users_email_key", "email"),
    duplicate(
        "users",
        {"email": "Alice@Example.com"},
        {"email": "alice@example.COM"},
        "users_email_key",
        "email in another case",
    ),
    duplicate("lifts", {"slug": "squat"}, {"slug": "squat"}, "lifts_slug_key", "lift slug"),
    duplicate("programs", {"slug": "531"}, {"slug": "531"}, "programs_slug_key", "program slug"),
    duplicate(
        "lift_maxes",
        {},
        {"value": Decimal(305)},
        "lift_maxes_user_id_lift_id_type_effective_date_key",
        "two maxes on one day",
    ),
    duplicate(
        "progression_logs",
        {},
        {},
        "progression_logs_idempotency_key",
        "same event twice",
    ),
    duplicate(
        "progression_logs",
        {},
        {"previous_value": Decimal(310), "new_value": Decimal(320), "delta": Decimal(10)},
        "progression_logs_idempotency_key",
        "same event retried with other values",
    ),
    duplicate(
        "program_progressions",
        {"lift_id": None},
        {"lift_id": None, "priority": 1},
        "program_progressions_program_id_progression_id_lift_id_key",
        "program-wide twice (NULLS NOT DISTINCT)",
    ),
    duplicate(
        "program_progressions",
        {"lift_id": LIFT},
        {"lift_id": LIFT, "override_increment": Decimal(10)},
        "program_progressions_program_id_progression_id_lift_id_key",
        "same lift twice",
    ),
] + [
    duplicate(table, {"id": MISSING}, {"id": MISSING}, f"{table}_pkey", f"{table} id")
    for table in (
        "users",
        "lifts",
        "programs",
        "progressions",
        "weekly_lookups",
        "daily_lookups",
    )
]


@pytest.mark.parametrize(("table", "first", "second", "constraint"), DUPLICATES)
def test_duplicate_is_refused_by_its_unique_key(parents, table, first, second, constraint):
    insert(parents, table, valid(table) | first)
    with refused(parents, UNIQUE, constraint):
        insert(parents, table, valid(table) | second)


@pytest.mark.parametrize(
    ("table", "first", "second"),
    [
        pytest.param(
            "lift_maxes", {}, {"effective_date": date(2024, 2, 1)}, id="maxes on two days"
        ),
        pytest.param("lift_maxes", {}, {"type": "ONE_RM"}, id="maxes of two types on one day"),
        pytest.param("lift_maxes", {}, {"lift_id": OTHER_LIFT}, id="maxes of two lifts"),
        pytest.param("progression_logs", {}, {"lift_id": OTHER_LIFT}, id="one event, two lifts"),
        pytest.param(
            "progression_logs",
            {},
            {"applied_at": EVENT_TIME + timedelta(days=7)},
            id="one progression, two events",
        ),
        pytest.param(
            "progression_logs",
            {},
            {"trigger_type": "AFTER_WEEK", "trigger_context": WEEK},
            id="two trigger types at one time",
        ),
        pytest.param(
            "program_progressions",
            {"lift_id": None},
            {"lift_id": LIFT},
            id="program-wide and lift override",
        ),
        pytest.param(
            "program_progressions", {"lift_id": LIFT}, {"lift_id": OTHER_LIFT}, id="two lifts"
        ),
        pytest.param("weekly_lookups", {}, {}, id="weekly lookups of one name"),
        pytest.param("users", {"email": "a@x.io"}, {"email": "b@x.io"}, id="two users"),
    ],
)
def test_rows_that_differ_in_their_key_are_both_stored(parents, table, first, second):
    insert(parents, table, valid(table) | first)
    insert(parents, table, valid(table) | second)


TABLES_WITH_UPDATED_AT = [
    "users",
    "lifts",
    "lift_maxes",
    "programs",
    "progressions",
    "program_progressions",
    "weekly_lookups",
    "daily_lookups",
]


@pytest.mark.parametrize("table", TABLES_WITH_UPDATED_AT)
def test_update_sets_updated_at_to_now_and_keeps_created_at(parents, table):
    long_ago = parents.execute("SELECT timestamptz '2000-01-01 00:00+00'").fetchone()[0]
    row = insert(parents, table, valid(table) | {"created_at": long_ago, "updated_at": long_ago})
    now = parents.execute("SELECT now()").fetchone()[0]
    for assignment in ("id = id", "updated_at = '1999-01-01'"):
        query = sql.SQL("UPDATE {} SET {} WHERE id = %s RETURNING created_at, updated_at").format(
            sql.Identifier(table), sql.SQL(assignment)
        )
        assert parents.execute(query, [row["id"]]).fetchone() == (long_ago, now), assignment


def test_every_table_with_updated_at_is_covered(db):
    tables = db.execute(
        """SELECT table_name FROM information_schema.columns
           WHERE table_schema = 'public' AND column_name = 'updated_at' ORDER BY 1"""
    ).fetchall()
    assert [t for (t,) in tables] == sorted(TABLES_WITH_UPDATED_AT)


def test_progression_logs_are_append_only_rows_without_updated_at(db):
    columns = db.execute(
        """SELECT column_name FROM information_schema.columns
           WHERE table_schema = 'public' AND table_name = 'progression_logs'"""
    ).fetchall()
    assert ("updated_at",) not in columns
    assert ("created_at",) in columns
