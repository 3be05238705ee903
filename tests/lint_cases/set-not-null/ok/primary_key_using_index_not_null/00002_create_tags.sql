CREATE TABLE tags (
    label text NOT NULL,
    note text
);
COMMENT ON TABLE tags IS 'A label an account may put on an order.';
