CREATE TABLE events (at timestamptz);
CREATE VIEW local_events AS SELECT at AT LOCAL AS at FROM events;
