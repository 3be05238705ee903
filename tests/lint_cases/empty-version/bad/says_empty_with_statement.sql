-- empty: true

CREATE TABLE reports (id int PRIMARY KEY);
