-- A supplier's offers in id order: the stock and price sync walks them page by page.
CREATE INDEX offers_supplier_id_idx ON offers (supplier_id, id);

-- Units accepted orders hold until their supplier orders are placed. Derived from the order
-- (`inventory::reserved_units`) and replaced on every write of it.
CREATE TABLE reservations (
    order_id   UUID    NOT NULL,
    variant_id UUID    NOT NULL,
    store_id   UUID    NOT NULL,
    quantity   BIGINT  NOT NULL,
    CONSTRAINT reservations_pkey PRIMARY KEY (order_id, variant_id),
    CONSTRAINT reservations_quantity_check CHECK (quantity > 0)
);
CREATE INDEX reservations_variant_id_idx ON reservations (variant_id);

-- What was last written to the storefront per variant, so a sync pushes only what changed.
CREATE TABLE listings (
    variant_id       UUID        NOT NULL,
    store_id         UUID        NOT NULL,
    stock            BIGINT,
    price_minor      BIGINT,
    compare_at_minor BIGINT,
    currency         TEXT,
    published        BOOLEAN,
    updated_at       TIMESTAMPTZ NOT NULL,
    CONSTRAINT listings_pkey PRIMARY KEY (variant_id)
);

-- The price monitor: every supplier cost as it moved.
CREATE TABLE cost_history (
    offer_id        UUID        NOT NULL,
    at              TIMESTAMPTZ NOT NULL,
    seq             BIGSERIAL   NOT NULL,
    unit_cost_minor BIGINT      NOT NULL,
    currency        TEXT        NOT NULL,
    previous_minor  BIGINT,
    CONSTRAINT cost_history_pkey PRIMARY KEY (offer_id, at, seq)
);

-- New selling prices, applied or waiting for the seller, each with its reason (`doc`).
CREATE TABLE price_changes (
    id         UUID        NOT NULL,
    store_id   UUID        NOT NULL,
    variant_id UUID        NOT NULL,
    status     TEXT        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    doc        JSONB       NOT NULL,
    CONSTRAINT price_changes_pkey PRIMARY KEY (id)
);
CREATE INDEX price_changes_store_idx ON price_changes (store_id, created_at);
CREATE INDEX price_changes_variant_idx ON price_changes (variant_id, status);

-- Supplier readings that were not applied: the catalogue's exceptions.
CREATE TABLE sync_problems (
    id       UUID        NOT NULL,
    store_id UUID        NOT NULL,
    at       TIMESTAMPTZ NOT NULL,
    resolved BOOLEAN     NOT NULL DEFAULT FALSE,
    doc      JSONB       NOT NULL,
    CONSTRAINT sync_problems_pkey PRIMARY KEY (id)
);
CREATE INDEX sync_problems_store_idx ON sync_problems (store_id, resolved, at);
