-- Type modifiers as format_type spells them: bit varying, and interval's fields with
-- their precision (interval day to second(2)).
CREATE TABLE measurements (
    id uuid NOT NULL,
    flags bit varying(5),
    mask varbit,
    bits bit(3),
    span interval day to second(2),
    months interval year to month,
    minutes interval minute,
    seconds interval second(3),
    precise interval(3),
    hours interval hour to minute,
    plain interval,
    CONSTRAINT measurements_pkey PRIMARY KEY (id)
);
COMMENT ON TABLE measurements IS 'Readings, with their spans.';
ALTER TABLE measurements ALTER COLUMN flags TYPE varbit(10);
ALTER TABLE measurements ALTER COLUMN minutes TYPE interval day;
ALTER TABLE measurements ALTER COLUMN precise TYPE interval;
