DROP TABLE program_progressions;
