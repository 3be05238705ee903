-- transactional: false
-- The online way to index a partitioned table: the parent's index ON ONLY (invalid
-- until every partition's is attached), each partition's CONCURRENTLY, then ATTACH.
CREATE INDEX events_kind_idx ON ONLY events (kind);
CREATE INDEX CONCURRENTLY events_2024_kind_idx ON events_2024 (kind);
CREATE INDEX CONCURRENTLY events_2025_kind_idx ON events_2025 (kind);
ALTER INDEX events_kind_idx ATTACH PARTITION events_2024_kind_idx;
ALTER INDEX events_kind_idx ATTACH PARTITION events_2025_kind_idx;
