-- The table CREATE TABLE AS made holds the rows it copied: a plain index blocks writes.
CREATE INDEX account_emails_email_idx ON account_emails (email);
