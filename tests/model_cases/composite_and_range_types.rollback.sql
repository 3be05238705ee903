DROP TABLE games;
DROP TYPE score_range;
DROP TYPE duo;
