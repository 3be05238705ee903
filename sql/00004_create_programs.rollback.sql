DROP TABLE programs;
