CREATE TABLE profiles (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    handle varchar(50) NOT NULL,
    score integer,
    seen_at timestamp,
    CONSTRAINT profiles_pkey PRIMARY KEY (id)
);
COMMENT ON TABLE profiles IS 'A public profile.';
