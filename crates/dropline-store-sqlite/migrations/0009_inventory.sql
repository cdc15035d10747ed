-- A product's collections (a JSON array of names), for pricing rules by collection.
ALTER TABLE products ADD COLUMN collections TEXT NOT NULL DEFAULT '[]';

-- A supplier's offers in id order: the stock and price sync walks them page by page.
CREATE INDEX offers_supplier_id_idx ON offers (supplier_id, id);

-- Units accepted orders hold until their supplier orders are placed. Derived from the order
-- (`inventory::reserved_units`) and replaced on every write of it.
CREATE TABLE reservations (
    order_id BLOB NOT NULL,
    variant_id BLOB NOT NULL,
    store_id BLOB NOT NULL,
    quantity INTEGER NOT NULL,
    CONSTRAINT reservations_pkey PRIMARY KEY (order_id, variant_id),
    CONSTRAINT reservations_quantity_check CHECK (quantity > 0)
) WITHOUT ROWID;
CREATE INDEX reservations_variant_id_idx ON reservations (variant_id);

-- What was last written to the storefront per variant, so a sync pushes only what changed.
-- `updated_at` is UTC unix microseconds.
CREATE TABLE listings (
    variant_id BLOB NOT NULL,
    store_id BLOB NOT NULL,
    stock INTEGER,
    price_minor INTEGER,
    compare_at_minor INTEGER,
    currency TEXT,
    published INTEGER,
    updated_at INTEGER NOT NULL,
    CONSTRAINT listings_pkey PRIMARY KEY (variant_id)
) WITHOUT ROWID;

-- The price monitor: every supplier cost as it moved. `at` is UTC unix microseconds.
CREATE TABLE cost_history (
    offer_id BLOB NOT NULL,
    at INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    unit_cost_minor INTEGER NOT NULL,
    currency TEXT NOT NULL,
    previous_minor INTEGER,
    CONSTRAINT cost_history_pkey PRIMARY KEY (offer_id, at, seq)
) WITHOUT ROWID;

-- New selling prices, applied or waiting for the seller, each with its reason (`doc`).
CREATE TABLE price_changes (
    id BLOB NOT NULL,
    store_id BLOB NOT NULL,
    variant_id BLOB NOT NULL,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    doc TEXT NOT NULL,
    CONSTRAINT price_changes_pkey PRIMARY KEY (id)
);
CREATE INDEX price_changes_store_idx ON price_changes (store_id, created_at);
CREATE INDEX price_changes_variant_idx ON price_changes (variant_id, status);

-- Supplier readings that were not applied: the catalogue's exceptions.
CREATE TABLE sync_problems (
    id BLOB NOT NULL,
    store_id BLOB NOT NULL,
    at INTEGER NOT NULL,
    resolved INTEGER NOT NULL DEFAULT 0,
    doc TEXT NOT NULL,
    CONSTRAINT sync_problems_pkey PRIMARY KEY (id)
);
CREATE INDEX sync_problems_store_idx ON sync_problems (store_id, resolved, at);
