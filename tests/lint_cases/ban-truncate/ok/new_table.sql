-- A table created in the same version holds no rows yet.
CREATE TABLE imports (
    id uuid NOT NULL,
    CONSTRAINT imports_pkey PRIMARY KEY (id)
);
COMMENT ON TABLE imports IS 'A batch being loaded.';
TRUNCATE imports;
