DROP TABLE lifts;
