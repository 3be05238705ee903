"""Schemas, enums and domains, functions, triggers, comments, and the statements that may
change the schema in ways the fold cannot see (DO blocks, DROP OWNED).

Invariant: a function is keyed by its signature as ``regprocedure`` prints it
(name, then the types of its input arguments without type modifiers); a
trigger by (table, name), holding the function it executes.
"""

from __future__ import annotations

import copy
import re
from dataclasses import replace

from pglast import ast
from pglast.enums import ConstrType, ObjectType
from pglast.enums import FunctionParameterMode as Mode

from runner.lint.fold import names
from runner.lint.fold.context import Fold, bare, constraint_taken, schema_of
from runner.lint.model import (
    Model,
    Trigger,
    TypeDef,
    qualified,
    relation_name,
    type_name,
    walk,
)

INPUT_MODES = (
    Mode.FUNC_PARAM_IN,
    Mode.FUNC_PARAM_DEFAULT,
    Mode.FUNC_PARAM_VARIADIC,
    Mode.FUNC_PARAM_INOUT,
)
TYPMOD = re.compile(r"\([0-9, ]*\)")
SCHEMA_CHANGE = re.compile(r"\b(CREATE|ALTER|DROP|TRUNCATE|COMMENT|EXECUTE)\b", re.IGNORECASE)


def create_schema(f: Fold, node) -> None:
    from runner.lint.fold.dispatch import HANDLERS

    name = node.schemaname
    if name is None or name == "public":
        return
    f.model.schemas.setdefault(name, None)
    for element in node.schemaElts or ():  # CREATE SCHEMA s CREATE TABLE t ...: in s
        element = copy.deepcopy(element)
        relation = getattr(element, "relation", None)
        if isinstance(relation, ast.RangeVar) and relation.schemaname is None:
            relation.schemaname = name
        handler = HANDLERS.get(type(element).__name__)
        if handler is not None:
            handler(f, element)


def create_enum(f: Fold, node) -> None:
    name = qualified(node.typeName)
    if name not in f.model.types:
        f.model.types[name] = TypeDef(name, "enum", tuple(v.sval for v in node.vals or ()))


def create_domain(f: Fold, node) -> None:
    name = qualified(node.domainname)
    if name in f.model.types:
        return
    f.model.types[name] = TypeDef(name, "domain", type_name(node.typeName)[0])
    for constraint in node.constraints or ():
        f.model.types[name] = _constrain(f.model, f.model.types[name], constraint)


def alter_domain(f: Fold, node) -> None:
    """``ALTER DOMAIN``: its NOT NULL and CHECK constraints (a default is not held)."""
    model = f.model
    domain = model.domain(qualified(node.typeName))
    if domain is None:
        return
    kind = node.subtype
    if kind == "O":  # SET NOT NULL
        domain = replace(domain, not_null=True)
    elif kind == "N":  # DROP NOT NULL
        domain = replace(domain, not_null=False)
    elif kind == "C":  # ADD CONSTRAINT
        domain = _constrain(model, domain, node.def_)
    elif kind == "X" and node.name in domain.checks:  # DROP CONSTRAINT
        domain = replace(
            domain, checks=domain.checks - {node.name}, not_valid=domain.not_valid - {node.name}
        )
    elif kind == "X" and domain.not_null and not node.missing_ok:
        domain = replace(domain, not_null=False)  # 17+: its NOT NULL is a named constraint
    elif kind == "V":  # VALIDATE CONSTRAINT
        domain = replace(domain, not_valid=domain.not_valid - {node.name})
    model.types[domain.name] = domain


def _constrain(model: Model, domain: TypeDef, constraint) -> TypeDef:
    """``domain`` with one more constraint, a CHECK named as the server names it."""
    if constraint.contype == ConstrType.CONSTR_NOTNULL:
        return replace(domain, not_null=True)
    if constraint.contype == ConstrType.CONSTR_NULL:
        return replace(domain, not_null=False)
    if constraint.contype != ConstrType.CONSTR_CHECK:
        return domain
    schema = schema_of(domain.name)
    name = constraint.conname or names.choose(
        bare(domain.name), None, "check", constraint_taken(model, schema)
    )
    not_valid = {name} if constraint.skip_validation else set()
    return replace(domain, checks=domain.checks | {name}, not_valid=domain.not_valid | not_valid)


def argument_type(type_node) -> str:
    """A function argument's type as ``regprocedure`` prints it: no type modifiers."""
    return TYPMOD.sub("", type_name(type_node)[0])


def function_signature(name_nodes, parameters) -> str:
    """``name(type,type)`` as ``regprocedure`` prints it, from the input
    ``FunctionParameter``s (or bare ``TypeName``s)."""
    types = [
        argument_type(p.argType if isinstance(p, ast.FunctionParameter) else p) for p in parameters
    ]
    return f"{qualified(name_nodes)}({','.join(types)})"


def create_composite(f: Fold, node) -> None:
    name = relation_name(node.typevar)
    if name not in f.model.types:
        f.model.types[name] = TypeDef(name, "composite", "")


def create_range(f: Fold, node) -> None:
    name = qualified(node.typeName)
    subtype = next((type_name(p.arg)[0] for p in node.params or () if p.defname == "subtype"), "")
    if name not in f.model.types:
        f.model.types[name] = TypeDef(name, "range", subtype)


def create_function(f: Fold, node) -> None:
    inputs = [p for p in node.parameters or () if p.mode in INPUT_MODES]
    signature = function_signature(node.funcname, inputs)
    if signature in f.model.functions and not node.replace:
        return
    f.model.functions[signature] = _definition(f.source)


def matching_functions(model: Model, obj) -> list[str]:
    """The signatures a ``DROP``/``ALTER``/``COMMENT ON FUNCTION`` names: one, or with no
    argument list, every function of that name."""
    if obj.args_unspecified:
        prefix = f"{qualified(obj.objname)}("
        return [key for key in model.functions if key.startswith(prefix)]
    arguments = obj.objfuncargs or ()
    if arguments:
        return [function_signature(obj.objname, [a for a in arguments if a.mode in INPUT_MODES])]
    return [function_signature(obj.objname, obj.objargs or ())]


def create_trigger(f: Fold, node) -> None:
    table = relation_name(node.relation)
    if table not in f.model.tables:
        return
    key = (table, node.trigname)
    if key in f.model.triggers and not node.replace:
        return
    f.model.triggers[key] = Trigger(_definition(f.source), qualified(node.funcname))


def comment(f: Fold, node) -> None:
    model = f.model
    kind, text = node.objtype, node.comment
    if isinstance(node.object, ast.ObjectWithArgs):
        if kind in (
            ObjectType.OBJECT_FUNCTION,
            ObjectType.OBJECT_PROCEDURE,
            ObjectType.OBJECT_ROUTINE,
        ):
            for key in matching_functions(model, node.object):
                if key in model.functions:
                    _set(model.function_comments, key, text)
        return
    parts = [s.sval for s in node.object] if isinstance(node.object, tuple) else []
    if not parts:
        return
    owner = ".".join(p for p in parts[:-1] if p != "public")
    whole = ".".join(parts[1:] if parts[0] == "public" and len(parts) > 1 else parts)
    if kind == ObjectType.OBJECT_TABLE:
        table = model.tables.get(whole)
        if table is not None:
            table.comment = text
    elif kind == ObjectType.OBJECT_COLUMN:
        table = model.tables.get(owner)
        if table is not None and parts[-1] in table.columns:
            table.columns[parts[-1]].comment = text
    elif kind == ObjectType.OBJECT_INDEX:
        index = model.indexes.get(whole)
        if index is not None:  # a key's index is not one of the model's indexes
            index.comment = text
    elif kind == ObjectType.OBJECT_TABCONSTRAINT:
        table = model.tables.get(owner)
        if table is not None and parts[-1] in table.constraints:
            table.constraints[parts[-1]].comment = text


def do_block(f: Fold, node) -> None:
    body = next((a.arg.sval for a in node.args or () if a.defname == "as"), "")
    if SCHEMA_CHANGE.search(body):
        f.not_modelled("DO block: the schema changes its code may make are not modelled")


def call(f: Fold, node) -> None:
    """CALL, or a SELECT of functions: a function of the chain's own whose body changes the
    schema (partition upkeep, say) does what the fold cannot see."""
    for item in walk(node):
        if not isinstance(item, ast.FuncCall):
            continue
        prefix = f"{qualified(item.funcname)}("
        for signature, definition in f.model.functions.items():
            body = definition.split(None, 1)[1] if " " in definition else ""
            if signature.startswith(prefix) and SCHEMA_CHANGE.search(body):
                f.not_modelled(
                    f"{signature} changes the schema when called: what it does is not modelled"
                )
                return


def create_sequence(f: Fold, node) -> None:
    if node.sequence.relpersistence == "t":
        return
    name = relation_name(node.sequence)
    if name not in f.model.sequences:
        f.model.set_sequence(name, None)
        alter_sequence(f, node)  # CREATE SEQUENCE ... OWNED BY


def alter_sequence(f: Fold, node) -> None:
    """OWNED BY table.column, or NONE."""
    name = relation_name(node.sequence)
    for option in node.options or ():
        if option.defname == "owned_by" and name in f.model.sequences:
            parts = [p.sval for p in option.arg]
            if parts == ["none"]:
                f.model.set_sequence(name, None)
            else:
                table = ".".join(p for p in parts[:-1] if p != "public")
                f.model.set_sequence(name, (table, parts[-1]))


def drop_owned(f: Fold, node) -> None:
    f.not_modelled("DROP OWNED: the objects it drops are not modelled")


def _definition(source: str) -> str:
    """A function's or trigger's text, ``OR REPLACE`` aside, as the thing to compare."""
    words = source.split()
    if [w.upper() for w in words[1:3]] == ["OR", "REPLACE"]:
        del words[1:3]
    return " ".join(words)


def _set(mapping: dict, key, value) -> None:
    if value is None:
        mapping.pop(key, None)
    else:
        mapping[key] = value
