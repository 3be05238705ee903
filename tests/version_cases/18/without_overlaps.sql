CREATE TABLE rooms (
    room int4range,
    during tstzrange,
    CONSTRAINT rooms_pkey PRIMARY KEY (room, during WITHOUT OVERLAPS)
);
