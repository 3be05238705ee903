CREATE TABLE account_emails AS SELECT id, email FROM accounts;
