-- Saved by an editor that writes a byte order mark: it is not content.
SELECT 1;
