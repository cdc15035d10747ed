-- The profit breakdown (per supplier, lane, product) reads a store's orders by placing time
-- in pages, keyset on (placed_at, order_id): the index ends with the order id so that a page
-- starts inside the index and comes out in its order, without a sort. It replaces the index
-- on (store_id, placed_at), of which it is an extension.
CREATE INDEX order_facts_store_id_placed_at_order_id_idx ON order_facts (store_id, placed_at, order_id);
DROP INDEX order_facts_store_id_placed_at_idx;
