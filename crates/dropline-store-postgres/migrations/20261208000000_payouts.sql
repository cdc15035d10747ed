-- Vendor payouts (marketplace mode). A vendor's balance is always a sum: the earnings derived
-- from its delivered orders, less these payouts; no running total is stored. Amounts are
-- minor units of `currency` (the store's).
CREATE TABLE payouts (
    id            UUID        NOT NULL,
    store_id      UUID        NOT NULL,
    currency      TEXT        NOT NULL,
    amount_minor  BIGINT      NOT NULL,
    -- pending | paid | cancelled
    state         TEXT        NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    -- When it was paid or cancelled.
    closed_at     TIMESTAMPTZ,
    -- The operator's reference of the money transfer.
    reference     TEXT,
    note          TEXT,
    CONSTRAINT payouts_pkey PRIMARY KEY (id),
    CONSTRAINT payouts_store_id_fkey FOREIGN KEY (store_id) REFERENCES stores (id),
    CONSTRAINT payouts_amount_minor_check CHECK (amount_minor > 0),
    CONSTRAINT payouts_state_check CHECK (state IN ('pending', 'paid', 'cancelled'))
);
CREATE INDEX payouts_store_id_idx ON payouts (store_id, id);
CREATE INDEX payouts_state_idx ON payouts (state, id);

-- A store's delivered orders, walked by id to derive its vendor's earnings.
CREATE INDEX order_facts_delivered_idx ON order_facts (store_id, order_id) WHERE delivered_at IS NOT NULL;
