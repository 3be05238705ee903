DROP TABLE lift_maxes;
