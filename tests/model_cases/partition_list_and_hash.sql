CREATE TABLE tags (
    id bigint NOT NULL,
    region text NOT NULL,
    label varchar(40),
    CONSTRAINT tags_pkey PRIMARY KEY (id, region)
) PARTITION BY LIST (region);
CREATE TABLE tags_eu PARTITION OF tags FOR VALUES IN ('eu', 'uk');
CREATE TABLE tags_us PARTITION OF tags FOR VALUES IN ('us') PARTITION BY HASH (id);
CREATE TABLE tags_us_0 PARTITION OF tags_us FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE tags_us_1 PARTITION OF tags_us FOR VALUES WITH (MODULUS 2, REMAINDER 1);
CREATE UNIQUE INDEX tags_label_region_id_key ON tags (label, region, id);
