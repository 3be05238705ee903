-- lock_timeout: 5s
CREATE TYPE order_status AS ENUM ('open', 'paid');
ALTER TYPE order_status ADD VALUE 'shipped';
ALTER TABLE orders ADD COLUMN status order_status NOT NULL DEFAULT 'shipped';
