-- transactional: false
DROP INDEX CONCURRENTLY accounts_email_key;
