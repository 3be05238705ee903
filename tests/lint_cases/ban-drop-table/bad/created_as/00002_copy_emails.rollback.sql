DROP TABLE account_emails;
