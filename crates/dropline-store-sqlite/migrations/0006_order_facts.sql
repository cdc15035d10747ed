-- Metrics over time (the dashboard's overview): one row of facts per order, rewritten from the
-- aggregate on every order write like the other side tables, and summed per day by SQL, so
-- a chart never loads order documents. What each column means is `OrderFacts` in
-- dropline-app (`metrics.rs`); times are UTC unix microseconds, durations whole seconds,
-- amounts minor units of `currency`.
CREATE TABLE order_facts (
    order_id BLOB NOT NULL,
    store_id BLOB NOT NULL,
    placed_at INTEGER NOT NULL,
    currency TEXT NOT NULL,
    total_minor INTEGER NOT NULL,
    -- From receipt to the first request sent to a supplier.
    processing_seconds INTEGER,
    first_shipped_at INTEGER,
    -- Set once the whole order is delivered.
    delivered_at INTEGER,
    shipping_seconds INTEGER,
    -- NULL without a live supplier order, or when one costs another currency.
    fulfillment_cost_minor INTEGER,
    refunded INTEGER NOT NULL,
    -- Nothing records disputes yet.
    disputed_at INTEGER,
    CONSTRAINT order_facts_pkey PRIMARY KEY (order_id),
    CONSTRAINT order_facts_order_id_fkey FOREIGN KEY (order_id) REFERENCES orders (id),
    CONSTRAINT order_facts_refunded_check CHECK (refunded IN (0, 1))
) WITHOUT ROWID;
CREATE INDEX order_facts_store_id_placed_at_idx ON order_facts (store_id, placed_at);
CREATE INDEX order_facts_placed_at_idx ON order_facts (placed_at);

-- Data migrations that SQL cannot express: a row names one still to run. The facts of the
-- orders already stored are derived by the same Rust function as every write's (reading
-- the documents), in batches, right after the migrations; the row is deleted when done, so
-- an interrupted backfill resumes with the orders still without facts.
CREATE TABLE pending_backfills (
    name TEXT NOT NULL,
    CONSTRAINT pending_backfills_pkey PRIMARY KEY (name)
) WITHOUT ROWID;
INSERT INTO pending_backfills (name) VALUES ('order_facts');
