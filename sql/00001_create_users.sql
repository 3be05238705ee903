-- Users of the program engine, and set_updated_at(), the trigger function
-- that keeps updated_at current on every table of the chain that has one.

CREATE FUNCTION set_updated_at()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

COMMENT ON FUNCTION set_updated_at() IS
    'Trigger function: sets updated_at to now() on every UPDATE of a row.';

CREATE TABLE users (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    email text NOT NULL,
    name varchar(100) NOT NULL,
    weight_unit varchar(2) NOT NULL DEFAULT 'lb',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_pkey PRIMARY KEY (id),
    CONSTRAINT users_email_check CHECK (position('@' IN email) > 1),
    -- Names hold a character that is not whitespace (\S): '', ' ' and a lone tab are refused.
    CONSTRAINT users_name_check CHECK (name ~ '\S'),
    CONSTRAINT users_weight_unit_check CHECK (weight_unit IN ('lb', 'kg'))
);

-- Case-insensitive uniqueness: Alice@example.com and alice@example.com are one user.
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TRIGGER users_set_updated_at
    BEFORE UPDATE ON users
    FOR EACH ROW
    EXECUTE FUNCTION set_updated_at();

COMMENT ON TABLE users IS
    'A person who trains; owns training maxes and the log of progressions applied to them.';
COMMENT ON COLUMN users.email IS
    'Login address; unique regardless of case (users_email_key is on lower(email)).';
COMMENT ON COLUMN users.weight_unit IS
    'Unit the user enters and reads weights in: lb or kg.';
