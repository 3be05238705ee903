DROP TABLE daily_lookups;

DROP TABLE weekly_lookups;

DROP FUNCTION daily_lookup_entries_are_valid(jsonb);

DROP FUNCTION weekly_lookup_entries_are_valid(jsonb);
