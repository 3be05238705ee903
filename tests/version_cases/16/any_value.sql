CREATE TABLE votes (who text, choice text);
CREATE VIEW choices AS SELECT who, any_value(choice) AS choice FROM votes GROUP BY who;
