-- dropline on SQLite: the first schema.
--
-- Conventions: ids are UUIDv7 stored as 16-byte BLOBs (they sort by creation time, so
-- `ORDER BY id` is creation order); every `*_at` column is UTC in INTEGER unix microseconds;
-- `doc` columns hold the serde_json form of the domain value, while the plain columns beside
-- them exist to be filtered, indexed and constrained. Tables with small rows keyed by id are
-- WITHOUT ROWID: one b-tree less to write per row.

CREATE TABLE stores (
    id BLOB NOT NULL,
    name TEXT NOT NULL,
    platform TEXT NOT NULL,
    currency TEXT NOT NULL,
    -- SHA-256 of the API token, hex.
    token_hash TEXT NOT NULL,
    -- {"address": ..., "settings": ...}
    doc TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    CONSTRAINT stores_pkey PRIMARY KEY (id),
    CONSTRAINT stores_token_hash_key UNIQUE (token_hash)
);

CREATE TABLE suppliers (
    id BLOB NOT NULL,
    store_id BLOB NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    doc TEXT NOT NULL,
    CONSTRAINT suppliers_pkey PRIMARY KEY (id),
    CONSTRAINT suppliers_store_id_fkey FOREIGN KEY (store_id) REFERENCES stores (id)
);
CREATE INDEX suppliers_store_id_idx ON suppliers (store_id, id);

CREATE TABLE products (
    id BLOB NOT NULL,
    store_id BLOB NOT NULL,
    title TEXT NOT NULL,
    CONSTRAINT products_pkey PRIMARY KEY (id),
    CONSTRAINT products_store_id_fkey FOREIGN KEY (store_id) REFERENCES stores (id)
);
CREATE INDEX products_store_id_idx ON products (store_id, id);

CREATE TABLE variants (
    id BLOB NOT NULL,
    product_id BLOB NOT NULL,
    store_id BLOB NOT NULL,
    -- Order of the variant within its product.
    position INTEGER NOT NULL,
    sku TEXT NOT NULL,
    title TEXT NOT NULL,
    price_minor INTEGER NOT NULL,
    currency TEXT NOT NULL,
    CONSTRAINT variants_pkey PRIMARY KEY (id),
    CONSTRAINT variants_store_id_sku_key UNIQUE (store_id, sku),
    CONSTRAINT variants_product_id_fkey FOREIGN KEY (product_id) REFERENCES products (id),
    CONSTRAINT variants_store_id_fkey FOREIGN KEY (store_id) REFERENCES stores (id)
);
CREATE INDEX variants_product_id_idx ON variants (product_id, position);

CREATE TABLE offers (
    id BLOB NOT NULL,
    -- The store of the offer's variant.
    store_id BLOB NOT NULL,
    variant_id BLOB NOT NULL,
    supplier_id BLOB NOT NULL,
    doc TEXT NOT NULL,
    CONSTRAINT offers_pkey PRIMARY KEY (id),
    CONSTRAINT offers_store_id_fkey FOREIGN KEY (store_id) REFERENCES stores (id),
    CONSTRAINT offers_variant_id_fkey FOREIGN KEY (variant_id) REFERENCES variants (id),
    CONSTRAINT offers_supplier_id_fkey FOREIGN KEY (supplier_id) REFERENCES suppliers (id)
);
CREATE INDEX offers_variant_id_idx ON offers (variant_id, id);
CREATE INDEX offers_store_id_idx ON offers (store_id, id);

CREATE TABLE orders (
    id BLOB NOT NULL,
    store_id BLOB NOT NULL,
    external_id TEXT NOT NULL,
    number TEXT NOT NULL,
    state TEXT NOT NULL,
    payment_state TEXT NOT NULL,
    placed_at INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    -- Optimistic-concurrency version; authoritative over the one inside `doc`.
    version INTEGER NOT NULL,
    customer_email TEXT,
    -- The whole aggregate: lines, supplier orders, shipments.
    doc TEXT NOT NULL,
    CONSTRAINT orders_pkey PRIMARY KEY (id),
    CONSTRAINT orders_store_id_external_id_key UNIQUE (store_id, external_id),
    CONSTRAINT orders_store_id_fkey FOREIGN KEY (store_id) REFERENCES stores (id)
);
-- The unique key above serves lookups by external id; these serve the listings.
CREATE INDEX orders_store_id_id_idx ON orders (store_id, id);
CREATE INDEX orders_state_id_idx ON orders (state, id);
CREATE INDEX orders_store_id_state_id_idx ON orders (store_id, state, id);

-- One row per supplier order of an aggregate, rewritten with the order on every write, so
-- orders can be found by supplier and by supplier order.
CREATE TABLE supplier_orders (
    id BLOB NOT NULL,
    order_id BLOB NOT NULL,
    store_id BLOB NOT NULL,
    supplier_id BLOB NOT NULL,
    status TEXT NOT NULL,
    request_status TEXT NOT NULL,
    CONSTRAINT supplier_orders_pkey PRIMARY KEY (id),
    CONSTRAINT supplier_orders_order_id_fkey FOREIGN KEY (order_id) REFERENCES orders (id)
) WITHOUT ROWID;
CREATE INDEX supplier_orders_order_id_idx ON supplier_orders (order_id);
CREATE INDEX supplier_orders_supplier_id_order_id_idx ON supplier_orders (supplier_id, order_id);

-- Clustered by order and time: reading a timeline is one range scan.
CREATE TABLE timeline_events (
    order_id BLOB NOT NULL,
    at INTEGER NOT NULL,
    id BLOB NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    message TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT,
    CONSTRAINT timeline_events_pkey PRIMARY KEY (order_id, at, id),
    CONSTRAINT timeline_events_order_id_fkey FOREIGN KEY (order_id) REFERENCES orders (id)
) WITHOUT ROWID;

CREATE TABLE jobs (
    id BLOB NOT NULL,
    -- Stable stored name, e.g. `route_order`.
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    run_after INTEGER NOT NULL,
    -- When the job may next be claimed: `run_after`, or the end of its lease while leased.
    due_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until INTEGER,
    last_error TEXT,
    buried_at INTEGER,
    store_id BLOB,
    created_at INTEGER NOT NULL,
    CONSTRAINT jobs_pkey PRIMARY KEY (id),
    CONSTRAINT jobs_attempts_check CHECK (attempts >= 0)
) WITHOUT ROWID;
CREATE INDEX jobs_due_at_idx ON jobs (due_at, id) WHERE buried_at IS NULL;
CREATE INDEX jobs_buried_at_idx ON jobs (buried_at, id) WHERE buried_at IS NOT NULL;

CREATE TABLE messages (
    id BLOB NOT NULL,
    store_id BLOB NOT NULL,
    order_id BLOB NOT NULL,
    template TEXT NOT NULL,
    recipient TEXT,
    data TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    CONSTRAINT messages_pkey PRIMARY KEY (id),
    CONSTRAINT messages_order_id_fkey FOREIGN KEY (order_id) REFERENCES orders (id),
    CONSTRAINT messages_store_id_fkey FOREIGN KEY (store_id) REFERENCES stores (id)
) WITHOUT ROWID;
CREATE INDEX messages_store_id_id_idx ON messages (store_id, id);
CREATE INDEX messages_order_id_id_idx ON messages (order_id, id);
