CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE TABLE bookings (
    room integer,
    during daterange,
    EXCLUDE USING gist (room WITH =, during WITH &&)
) PARTITION BY LIST (room);
