-- DROP TABLE of a partitioned table drops its partitions; a detached one stays.
ALTER TABLE events DETACH PARTITION events_2025;
DROP TABLE events;
