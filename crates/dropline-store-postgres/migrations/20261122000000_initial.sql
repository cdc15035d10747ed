-- dropline on PostgreSQL: the first schema.
--
-- Aggregates live whole in a JSONB `doc` (the source of truth, with exact timestamps); the
-- plain columns beside it exist only to filter, sort and enforce uniqueness, and are written
-- from the doc on every write. The one exception is `orders.version`: the column is the
-- truth. Jobs have no doc: they are plain rows. Timestamps are UTC `TIMESTAMPTZ`.

CREATE TABLE stores (
    id          UUID        NOT NULL,
    name        TEXT        NOT NULL,
    token_hash  TEXT        NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    doc         JSONB       NOT NULL,
    CONSTRAINT stores_pkey PRIMARY KEY (id),
    CONSTRAINT stores_token_hash_key UNIQUE (token_hash)
);

CREATE TABLE suppliers (
    id        UUID  NOT NULL,
    store_id  UUID  NOT NULL,
    name      TEXT  NOT NULL,
    kind      TEXT  NOT NULL,
    doc       JSONB NOT NULL,
    CONSTRAINT suppliers_pkey PRIMARY KEY (id)
);
CREATE INDEX suppliers_store_id_idx ON suppliers (store_id, id);

CREATE TABLE products (
    id        UUID  NOT NULL,
    store_id  UUID  NOT NULL,
    title     TEXT  NOT NULL,
    doc       JSONB NOT NULL,
    CONSTRAINT products_pkey PRIMARY KEY (id)
);
CREATE INDEX products_store_id_idx ON products (store_id, id);

CREATE TABLE variants (
    id          UUID    NOT NULL,
    product_id  UUID    NOT NULL,
    store_id    UUID    NOT NULL,
    position    INTEGER NOT NULL,
    sku         TEXT    NOT NULL,
    doc         JSONB   NOT NULL,
    CONSTRAINT variants_pkey PRIMARY KEY (id),
    CONSTRAINT variants_store_id_sku_key UNIQUE (store_id, sku),
    CONSTRAINT variants_product_id_fkey FOREIGN KEY (product_id) REFERENCES products (id) ON DELETE CASCADE
);
CREATE INDEX variants_product_id_idx ON variants (product_id, position);

CREATE TABLE offers (
    id           UUID  NOT NULL,
    store_id     UUID  NOT NULL,
    variant_id   UUID  NOT NULL,
    supplier_id  UUID  NOT NULL,
    doc          JSONB NOT NULL,
    CONSTRAINT offers_pkey PRIMARY KEY (id)
);
CREATE INDEX offers_variant_id_idx ON offers (variant_id, id);
CREATE INDEX offers_store_id_idx ON offers (store_id, id);

CREATE TABLE orders (
    id             UUID        NOT NULL,
    store_id       UUID        NOT NULL,
    external_id    TEXT        NOT NULL,
    number         TEXT        NOT NULL,
    state          TEXT        NOT NULL,
    payment_state  TEXT        NOT NULL,
    placed_at      TIMESTAMPTZ NOT NULL,
    received_at    TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    version        BIGINT      NOT NULL,
    doc            JSONB       NOT NULL,
    CONSTRAINT orders_pkey PRIMARY KEY (id),
    CONSTRAINT orders_store_id_external_id_key UNIQUE (store_id, external_id),
    CONSTRAINT orders_version_check CHECK (version >= 0)
);
-- list_orders: newest first, within a store or a state.
CREATE INDEX orders_store_id_id_idx ON orders (store_id, id DESC);
CREATE INDEX orders_state_id_idx ON orders (state, id DESC);
CREATE INDEX orders_store_id_state_id_idx ON orders (store_id, state, id DESC);

-- One row per supplier order of an order, rewritten from the aggregate on every order write:
-- it answers "which order holds this supplier order" and "orders at this supplier".
CREATE TABLE supplier_orders (
    id              UUID NOT NULL,
    order_id        UUID NOT NULL,
    store_id        UUID NOT NULL,
    supplier_id     UUID NOT NULL,
    status          TEXT NOT NULL,
    request_status  TEXT NOT NULL,
    CONSTRAINT supplier_orders_pkey PRIMARY KEY (id),
    CONSTRAINT supplier_orders_order_id_fkey FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE
);
CREATE INDEX supplier_orders_order_id_idx ON supplier_orders (order_id);
CREATE INDEX supplier_orders_supplier_id_idx ON supplier_orders (supplier_id, order_id DESC);

CREATE TABLE timeline_events (
    id        UUID        NOT NULL,
    order_id  UUID        NOT NULL,
    at        TIMESTAMPTZ NOT NULL,
    kind      TEXT        NOT NULL,
    doc       JSONB       NOT NULL,
    CONSTRAINT timeline_events_pkey PRIMARY KEY (id)
);
-- Oldest first; entries of one change share `at` and follow their (time-ordered) ids.
CREATE INDEX timeline_events_order_id_idx ON timeline_events (order_id, at, id);

CREATE TABLE jobs (
    id           UUID        NOT NULL,
    kind         TEXT        NOT NULL,
    payload      JSONB       NOT NULL,
    run_after    TIMESTAMPTZ NOT NULL,
    attempts     INTEGER     NOT NULL DEFAULT 0,
    lease_owner  TEXT,
    lease_until  TIMESTAMPTZ,
    last_error   TEXT,
    buried_at    TIMESTAMPTZ,
    store_id     UUID,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT jobs_pkey PRIMARY KEY (id),
    CONSTRAINT jobs_attempts_check CHECK (attempts >= 0)
);
-- Claiming: live jobs by due time.
CREATE INDEX jobs_claim_idx ON jobs (run_after, id) WHERE buried_at IS NULL;
CREATE INDEX jobs_buried_at_idx ON jobs (buried_at DESC) WHERE buried_at IS NOT NULL;

CREATE TABLE messages (
    id          UUID        NOT NULL,
    store_id    UUID        NOT NULL,
    order_id    UUID        NOT NULL,
    template    TEXT        NOT NULL,
    recipient   TEXT,
    state       TEXT        NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    doc         JSONB       NOT NULL,
    CONSTRAINT messages_pkey PRIMARY KEY (id)
);
-- Newest first by id, per store or per order.
CREATE INDEX messages_store_id_idx ON messages (store_id, id DESC);
CREATE INDEX messages_order_id_idx ON messages (order_id, id DESC);
