CREATE TABLE rates (r numeric);
ALTER TABLE rates ADD CONSTRAINT rates_r_check CHECK (r >= 0) NOT ENFORCED;
