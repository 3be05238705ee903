-- CREATE SCHEMA with its elements: they are created in that schema.
CREATE SCHEMA reports
    CREATE TABLE daily (
        day date NOT NULL,
        total numeric,
        CONSTRAINT daily_pkey PRIMARY KEY (day)
    )
    CREATE INDEX daily_total_idx ON daily (total);
COMMENT ON TABLE reports.daily IS 'One row a day.';
