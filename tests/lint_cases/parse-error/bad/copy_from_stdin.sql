-- What psql runs and the server does not: migrate refuses it, the lint says so there.
ALTER TABLE accounts ADD COLUMN referrer uuid;
/* seed */ COPY accounts (id, email) FROM STDIN;
