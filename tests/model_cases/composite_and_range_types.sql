CREATE TYPE pair AS (a integer, b integer);
CREATE TYPE score_range AS RANGE (subtype = numeric);
CREATE TABLE games (
    id uuid NOT NULL,
    teams pair,
    band score_range,
    CONSTRAINT games_pkey PRIMARY KEY (id),
    CONSTRAINT games_band_excl EXCLUDE USING gist (band WITH &&)
);
ALTER TYPE pair RENAME TO duo;
ALTER TABLE games ADD EXCLUDE USING gist (band WITH &&) WHERE (teams IS NOT NULL);
