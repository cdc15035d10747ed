-- The dashboard's order search: the customer's name and email, lower-cased, kept in a column
-- (the app writes it with every order; see `customer_search_key`), and the order number
-- indexed for an exact match. A search for part of a name scans the small
-- (store_id, customer_search) index rather than the orders and their documents.
ALTER TABLE orders ADD COLUMN customer_search TEXT NOT NULL DEFAULT '';
UPDATE orders SET customer_search = trim(
    lower(trim(coalesce(doc #>> '{customer,name}', ''))) ||
    CASE WHEN doc #>> '{customer,email}' IS NULL THEN ''
         ELSE ' ' || lower(trim(doc #>> '{customer,email}')) END
);
CREATE INDEX orders_number_idx ON orders (number);
CREATE INDEX orders_store_id_customer_search_idx ON orders (store_id, customer_search);
