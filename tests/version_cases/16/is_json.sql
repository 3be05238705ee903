CREATE TABLE docs (body text);
ALTER TABLE docs ADD CONSTRAINT docs_body_check CHECK (body IS JSON);
