CREATE TABLE deadlines (due timestamptz);
CREATE VIEW extended AS SELECT date_add(due, interval '1 day') AS due FROM deadlines;
