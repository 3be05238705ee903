-- Renames in a partition tree, identity and generated columns reaching partitions,
-- a foreign key added to a partitioned table, a default partition, keys with INCLUDE.
CREATE TABLE readings (
    sensor integer NOT NULL,
    taken_on date NOT NULL,
    value numeric,
    doubled numeric GENERATED ALWAYS AS (value * 2) STORED,
    account_id uuid,
    CONSTRAINT readings_pkey PRIMARY KEY (sensor, taken_on) INCLUDE (value)
) PARTITION BY RANGE (taken_on);
CREATE TABLE readings_old PARTITION OF readings
    FOR VALUES FROM (MINVALUE) TO ('2024-01-01');
CREATE TABLE readings_new PARTITION OF readings (
    value WITH OPTIONS DEFAULT 0
) FOR VALUES FROM ('2024-01-01') TO (MAXVALUE);
ALTER TABLE readings ADD CONSTRAINT readings_account_id_fkey
    FOREIGN KEY (account_id) REFERENCES accounts (id);
ALTER TABLE readings ADD COLUMN note varchar(10);
ALTER TABLE readings ALTER COLUMN note TYPE varchar(20);
CREATE INDEX ON readings (account_id);
ALTER TABLE readings RENAME TO measurements;
ALTER TABLE readings_old RENAME TO measurements_old;
ALTER TABLE measurements RENAME COLUMN value TO amount;
ALTER TABLE measurements DROP CONSTRAINT readings_account_id_fkey;
