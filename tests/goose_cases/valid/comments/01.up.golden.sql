CREATE TABLE b (
    -- but one inside a statement is;
    id int

);
