-- Names PostgreSQL chooses for what the SQL leaves unnamed, collisions and
-- 63-byte truncation included.
CREATE TABLE a_table_whose_name_is_long_enough_to_be_truncated_somewhere_x (
    id integer PRIMARY KEY,
    a_column_whose_name_is_also_rather_long_for_an_identifier integer UNIQUE,
    code text UNIQUE,
    other integer CHECK (other > id),
    account_id uuid REFERENCES accounts,
    UNIQUE (code, id),
    CHECK (code <> ''),
    CHECK (id > 0 AND other > 0)
);
CREATE TABLE things (
    code text,
    n integer,
    UNIQUE (code),
    UNIQUE (code),
    CONSTRAINT things_code_key1 CHECK (n > 0)
);
CREATE INDEX ON things (code);
CREATE INDEX ON things (code);
CREATE INDEX ON things (lower(code));
CREATE INDEX ON things ((n + 1), code);
CREATE INDEX ON things (code) INCLUDE (n);
CREATE UNIQUE INDEX ON things (n);
