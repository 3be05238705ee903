-- lock_timeout: 5s
-- A waiver belongs to the statement it ends the line of, is inside, or precedes.
ALTER TABLE accounts DROP COLUMN nickname; -- lint: allow ban-drop-column -- unused since release 12
ALTER TABLE orders
    DROP COLUMN total; -- lint: allow ban-drop-column -- moved to order_lines in release 11
ALTER TABLE accounts
    -- lint: allow ban-drop-column -- replaced by email_verified_at
    DROP COLUMN created_at;
-- lint: allow ban-drop-table -- orders moved to the billing service
DROP TABLE orders;
