-- lock_timeout: 5s
ALTER TABLE orders ADD COLUMN placed_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP;
ALTER TABLE orders ADD COLUMN tags text[] NOT NULL DEFAULT ARRAY[]::text[];
ALTER TABLE orders ADD COLUMN archived_after timestamptz NOT NULL DEFAULT now() - interval '100 years';
ALTER TABLE orders ADD COLUMN paid boolean NOT NULL DEFAULT false;
ALTER TABLE orders ADD COLUMN extra jsonb NOT NULL DEFAULT '{}';
