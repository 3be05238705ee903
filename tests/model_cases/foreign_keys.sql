CREATE TABLE categories (
    id integer NOT NULL,
    code text NOT NULL,
    parent_id integer REFERENCES categories ON DELETE SET NULL,
    CONSTRAINT categories_pkey PRIMARY KEY (id),
    CONSTRAINT categories_code_key UNIQUE (code)
);
CREATE TABLE products (
    id integer PRIMARY KEY,
    category_code text REFERENCES categories (code) ON UPDATE CASCADE,
    category_id integer,
    account_id uuid,
    FOREIGN KEY (category_id) REFERENCES categories ON DELETE SET NULL (category_id),
    FOREIGN KEY (account_id) REFERENCES accounts MATCH FULL ON DELETE SET DEFAULT NOT VALID
);
ALTER TABLE products VALIDATE CONSTRAINT products_account_id_fkey;
DROP TABLE orders, accounts CASCADE;
