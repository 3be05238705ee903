-- A range-partitioned table: each partition takes the parent's columns, defaults,
-- NOT NULLs, CHECKs and foreign keys, and gets its own primary key and indexes.
CREATE TABLE events (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    account_id uuid NOT NULL,
    happened_at timestamptz NOT NULL,
    kind text NOT NULL DEFAULT 'click',
    CONSTRAINT events_pkey PRIMARY KEY (id, happened_at),
    CONSTRAINT events_kind_check CHECK (kind <> ''),
    CONSTRAINT events_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts (id)
) PARTITION BY RANGE (happened_at);
COMMENT ON TABLE events IS 'What an account did.';
CREATE TABLE events_2024 PARTITION OF events
    FOR VALUES FROM ('2024-01-01 00:00:00+00') TO ('2025-01-01 00:00:00+00');
CREATE TABLE events_2025 PARTITION OF events (
    CONSTRAINT events_2025_kind_check CHECK (kind <> 'none')
) FOR VALUES FROM ('2025-01-01 00:00:00+00') TO ('2026-01-01 00:00:00+00');
CREATE INDEX events_account_id_idx ON events (account_id);
CREATE TABLE events_other PARTITION OF events DEFAULT;
