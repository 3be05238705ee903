"""Which handler folds which statement (by pglast node type)."""

from __future__ import annotations

from runner.lint.fold import drops, indexes, objects, renames, select_into, tables

HANDLERS = {
    "CreateStmt": tables.create_table,
    "AlterTableStmt": tables.alter_table,
    "CreateTableAsStmt": select_into.create_table_as,
    "SelectStmt": select_into.select_into,
    "IndexStmt": indexes.create_index,
    "DropStmt": drops.drop,
    "RenameStmt": renames.rename,
    "AlterObjectSchemaStmt": renames.set_schema,
    "AlterEnumStmt": renames.alter_enum,
    "CreateSchemaStmt": objects.create_schema,
    "CreateEnumStmt": objects.create_enum,
    "CreateDomainStmt": objects.create_domain,
    "AlterDomainStmt": objects.alter_domain,
    "CompositeTypeStmt": objects.create_composite,
    "CreateRangeStmt": objects.create_range,
    "CreateFunctionStmt": objects.create_function,
    "CreateTrigStmt": objects.create_trigger,
    "CommentStmt": objects.comment,
    "DoStmt": objects.do_block,
    "CallStmt": objects.call,
    "CreateSeqStmt": objects.create_sequence,
    "AlterSeqStmt": objects.alter_sequence,
    "DropOwnedStmt": objects.drop_owned,
}
