CREATE TABLE events (
    id uuid NOT NULL,
    happened_on date NOT NULL,
    CONSTRAINT events_pkey PRIMARY KEY (id, happened_on)
) PARTITION BY RANGE (happened_on);
COMMENT ON TABLE events IS 'What happened.';
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
COMMENT ON TABLE events_2024 IS 'What happened in 2024.';
