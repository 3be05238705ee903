ALTER TABLE accounts ADD COLUMN tags text[];
ALTER TABLE accounts ADD COLUMN profile jsonb;
CREATE INDEX accounts_tags_idx ON accounts USING gin (tags);
CREATE INDEX accounts_profile_idx ON accounts USING gin (profile jsonb_path_ops);
CREATE INDEX accounts_email_idx ON accounts USING hash (email);
CREATE INDEX accounts_created_at_idx ON accounts USING brin (created_at);
CREATE INDEX accounts_nickname_idx ON accounts (nickname DESC NULLS LAST, email)
    INCLUDE (created_at) WHERE nickname IS NOT NULL;
CREATE UNIQUE INDEX accounts_lower_email_key ON accounts (lower(email)) NULLS NOT DISTINCT;
CREATE INDEX accounts_email_pattern_idx ON accounts (email text_pattern_ops);
CREATE INDEX accounts_email_c_idx ON accounts (email COLLATE "C");
CREATE INDEX IF NOT EXISTS accounts_tags_idx ON accounts (email);
