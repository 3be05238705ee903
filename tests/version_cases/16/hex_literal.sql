CREATE TABLE flags (mask integer);
ALTER TABLE flags ADD CONSTRAINT flags_mask_check CHECK (mask < 0xFF);
