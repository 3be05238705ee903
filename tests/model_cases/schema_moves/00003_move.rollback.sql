DROP INDEX attic.remarks_old_order_id_idx;
ALTER INDEX attic.old_orders_order_idx RENAME TO old_orders_order_id_idx;
ALTER TABLE attic.remarks RENAME TO notes;
ALTER SCHEMA attic RENAME TO archive;
ALTER TABLE archive.notes SET SCHEMA public;
ALTER TABLE archive.old_orders SET SCHEMA public;
