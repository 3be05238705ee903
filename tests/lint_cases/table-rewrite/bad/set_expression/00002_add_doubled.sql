-- lock_timeout: 5s
-- lint: allow volatile-default -- orders is small enough to rewrite once, in a release window
ALTER TABLE orders ADD COLUMN doubled numeric GENERATED ALWAYS AS (total * 2) STORED;
