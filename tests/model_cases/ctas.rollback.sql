DROP TABLE account_copies;
DROP TABLE order_totals;
DROP TABLE account_emails;
