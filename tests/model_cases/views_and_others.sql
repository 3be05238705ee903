-- What the model leaves out (views, materialized views and their indexes,
-- statistics, policies, rules) changes nothing it holds.
CREATE VIEW order_totals AS SELECT account_id, sum(total) AS total FROM orders GROUP BY 1;
CREATE MATERIALIZED VIEW account_totals AS SELECT * FROM order_totals;
CREATE INDEX account_totals_total_idx ON account_totals (total);
CREATE STATISTICS orders_stats ON account_id, total FROM orders;
ALTER TABLE orders ENABLE ROW LEVEL SECURITY;
CREATE POLICY orders_own ON orders USING (true);
ALTER TABLE orders ALTER COLUMN total SET STATISTICS 500, SET (fillfactor = 80);
ALTER TABLE orders CLUSTER ON orders_pkey;
ALTER VIEW order_totals RENAME TO totals_by_account;
COMMENT ON VIEW totals_by_account IS 'Totals.';
ANALYZE orders;
