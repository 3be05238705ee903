-- SET SCHEMA moves a table with its indexes, constraints and owned sequences;
-- a renamed schema renames every object's qualified name.
ALTER TABLE old_orders SET SCHEMA archive;
ALTER TABLE notes SET SCHEMA archive;
ALTER SCHEMA archive RENAME TO attic;
ALTER TABLE attic.notes RENAME TO remarks;
ALTER INDEX attic.old_orders_order_id_idx RENAME TO old_orders_order_idx;
CREATE INDEX remarks_old_order_id_idx ON attic.remarks (old_order_id);
