DROP TABLE progressions;
