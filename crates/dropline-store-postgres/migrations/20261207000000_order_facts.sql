-- Metrics over time (the dashboard's overview): one row of facts per order, rewritten from the
-- aggregate on every order write like the other side tables, and summed per day by SQL, so
-- a chart never loads order documents. What each column means is `OrderFacts` in
-- dropline-app (`metrics.rs`); durations are whole seconds, amounts minor units of `currency`.
CREATE TABLE order_facts (
    order_id                UUID        NOT NULL,
    store_id                UUID        NOT NULL,
    placed_at               TIMESTAMPTZ NOT NULL,
    currency                TEXT        NOT NULL,
    total_minor             BIGINT      NOT NULL,
    -- From receipt to the first request sent to a supplier.
    processing_seconds      BIGINT,
    first_shipped_at        TIMESTAMPTZ,
    -- Set once the whole order is delivered.
    delivered_at            TIMESTAMPTZ,
    shipping_seconds        BIGINT,
    -- NULL without a live supplier order, or when one costs another currency.
    fulfillment_cost_minor  BIGINT,
    refunded                BOOLEAN     NOT NULL,
    -- Nothing records disputes yet.
    disputed_at             TIMESTAMPTZ,
    CONSTRAINT order_facts_pkey PRIMARY KEY (order_id),
    CONSTRAINT order_facts_order_id_fkey FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE
);
CREATE INDEX order_facts_store_id_placed_at_idx ON order_facts (store_id, placed_at);
CREATE INDEX order_facts_placed_at_idx ON order_facts (placed_at);

-- The facts summed per store, UTC day of `placed_at` and currency, kept by the trigger below
-- in the transaction of every facts write: the overview reads a few rows a day, however many
-- orders the days had. A day whose orders all moved away keeps a row of zeros, which the
-- reading leaves out.
CREATE TABLE order_metrics_daily (
    store_id                UUID    NOT NULL,
    day                     DATE    NOT NULL,
    currency                TEXT    NOT NULL,
    orders                  BIGINT  NOT NULL DEFAULT 0,
    processed               BIGINT  NOT NULL DEFAULT 0,
    processing_seconds      BIGINT  NOT NULL DEFAULT 0,
    delivered               BIGINT  NOT NULL DEFAULT 0,
    shipping_seconds        BIGINT  NOT NULL DEFAULT 0,
    refunded                BIGINT  NOT NULL DEFAULT 0,
    disputed                BIGINT  NOT NULL DEFAULT 0,
    fulfillment_cost_minor  BIGINT  NOT NULL DEFAULT 0,
    fulfillment_costed      BIGINT  NOT NULL DEFAULT 0,
    CONSTRAINT order_metrics_daily_pkey PRIMARY KEY (store_id, day, currency)
);
CREATE INDEX order_metrics_daily_day_idx ON order_metrics_daily (day);

CREATE FUNCTION order_facts_counted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE order_metrics_daily SET
            orders = orders - 1,
            processed = processed - (OLD.processing_seconds IS NOT NULL)::int,
            processing_seconds = processing_seconds - coalesce(OLD.processing_seconds, 0),
            delivered = delivered - (OLD.shipping_seconds IS NOT NULL)::int,
            shipping_seconds = shipping_seconds - coalesce(OLD.shipping_seconds, 0),
            refunded = refunded - OLD.refunded::int,
            disputed = disputed - (OLD.disputed_at IS NOT NULL)::int,
            fulfillment_cost_minor = fulfillment_cost_minor - coalesce(OLD.fulfillment_cost_minor, 0),
            fulfillment_costed = fulfillment_costed - (OLD.fulfillment_cost_minor IS NOT NULL)::int
        WHERE store_id = OLD.store_id AND day = (OLD.placed_at AT TIME ZONE 'UTC')::date AND currency = OLD.currency;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO order_metrics_daily AS m (store_id, day, currency, orders, processed, processing_seconds,
                delivered, shipping_seconds, refunded, disputed, fulfillment_cost_minor, fulfillment_costed)
        VALUES (NEW.store_id, (NEW.placed_at AT TIME ZONE 'UTC')::date, NEW.currency, 1,
                (NEW.processing_seconds IS NOT NULL)::int, coalesce(NEW.processing_seconds, 0),
                (NEW.shipping_seconds IS NOT NULL)::int, coalesce(NEW.shipping_seconds, 0),
                NEW.refunded::int, (NEW.disputed_at IS NOT NULL)::int,
                coalesce(NEW.fulfillment_cost_minor, 0), (NEW.fulfillment_cost_minor IS NOT NULL)::int)
        ON CONFLICT (store_id, day, currency) DO UPDATE SET
            orders = m.orders + EXCLUDED.orders,
            processed = m.processed + EXCLUDED.processed,
            processing_seconds = m.processing_seconds + EXCLUDED.processing_seconds,
            delivered = m.delivered + EXCLUDED.delivered,
            shipping_seconds = m.shipping_seconds + EXCLUDED.shipping_seconds,
            refunded = m.refunded + EXCLUDED.refunded,
            disputed = m.disputed + EXCLUDED.disputed,
            fulfillment_cost_minor = m.fulfillment_cost_minor + EXCLUDED.fulfillment_cost_minor,
            fulfillment_costed = m.fulfillment_costed + EXCLUDED.fulfillment_costed;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER order_facts_counted AFTER INSERT OR UPDATE OR DELETE ON order_facts
    FOR EACH ROW EXECUTE FUNCTION order_facts_counted();

-- Data migrations that SQL cannot express: a row names one still to run. The facts of the
-- orders already stored are derived by the same Rust function as every write's (reading
-- the documents), in batches, by `PostgresStore::migrate` right after these migrations; the
-- row is deleted when done, so an interrupted backfill resumes with the orders still
-- without facts.
CREATE TABLE pending_backfills (
    name  TEXT  NOT NULL,
    CONSTRAINT pending_backfills_pkey PRIMARY KEY (name)
);
INSERT INTO pending_backfills (name) VALUES ('order_facts');
