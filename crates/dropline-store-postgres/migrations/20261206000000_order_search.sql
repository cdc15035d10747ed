-- The dashboard's order search: the customer's name and email, lower-cased, kept in a column
-- (the app writes it with every order; see `customer_search_key`), and the order number
-- indexed for an exact match.
ALTER TABLE orders ADD COLUMN customer_search TEXT NOT NULL DEFAULT '';
UPDATE orders SET customer_search = trim(
    lower(trim(coalesce(doc #>> '{customer,name}', ''))) ||
    CASE WHEN doc #>> '{customer,email}' IS NULL THEN ''
         ELSE ' ' || lower(trim(doc #>> '{customer,email}')) END
);
CREATE INDEX orders_number_idx ON orders (number);
