SELECT id, created_at::timestamp AS created_local INTO account_times FROM accounts;
