DROP INDEX account_emails_email_idx;
