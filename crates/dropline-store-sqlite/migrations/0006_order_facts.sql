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

-- The facts summed per store, UTC day of `placed_at` (days since 1970-01-01) and currency,
-- kept by the triggers below in the transaction of every facts write (a missing row is
-- inserted with NOT EXISTS rather than OR IGNORE, which an outer upsert would override): the
-- overview reads a
-- few rows a day, however many orders the days had. A day whose orders all moved away keeps
-- a row of zeros, which the reading leaves out.
CREATE TABLE order_metrics_daily (
    store_id BLOB NOT NULL,
    day INTEGER NOT NULL,
    currency TEXT NOT NULL,
    orders INTEGER NOT NULL DEFAULT 0,
    processed INTEGER NOT NULL DEFAULT 0,
    processing_seconds INTEGER NOT NULL DEFAULT 0,
    delivered INTEGER NOT NULL DEFAULT 0,
    shipping_seconds INTEGER NOT NULL DEFAULT 0,
    refunded INTEGER NOT NULL DEFAULT 0,
    disputed INTEGER NOT NULL DEFAULT 0,
    fulfillment_cost_minor INTEGER NOT NULL DEFAULT 0,
    fulfillment_costed INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT order_metrics_daily_pkey PRIMARY KEY (store_id, day, currency)
) WITHOUT ROWID;
CREATE INDEX order_metrics_daily_day_idx ON order_metrics_daily (day);

CREATE TRIGGER order_facts_counted_on_insert AFTER INSERT ON order_facts BEGIN
    INSERT INTO order_metrics_daily (store_id, day, currency)
        SELECT NEW.store_id, ((NEW.placed_at - ((NEW.placed_at % 86400000000) + 86400000000) % 86400000000) / 86400000000), NEW.currency
        WHERE NOT EXISTS (SELECT 1 FROM order_metrics_daily
                          WHERE store_id = NEW.store_id AND day = ((NEW.placed_at - ((NEW.placed_at % 86400000000) + 86400000000) % 86400000000) / 86400000000) AND currency = NEW.currency);
    UPDATE order_metrics_daily SET
        orders = orders + 1,
        processed = processed + (NEW.processing_seconds IS NOT NULL),
        processing_seconds = processing_seconds + coalesce(NEW.processing_seconds, 0),
        delivered = delivered + (NEW.shipping_seconds IS NOT NULL),
        shipping_seconds = shipping_seconds + coalesce(NEW.shipping_seconds, 0),
        refunded = refunded + NEW.refunded,
        disputed = disputed + (NEW.disputed_at IS NOT NULL),
        fulfillment_cost_minor = fulfillment_cost_minor + coalesce(NEW.fulfillment_cost_minor, 0),
        fulfillment_costed = fulfillment_costed + (NEW.fulfillment_cost_minor IS NOT NULL)
        WHERE store_id = NEW.store_id AND day = ((NEW.placed_at - ((NEW.placed_at % 86400000000) + 86400000000) % 86400000000) / 86400000000) AND currency = NEW.currency;
END;

CREATE TRIGGER order_facts_counted_on_update AFTER UPDATE ON order_facts BEGIN
    UPDATE order_metrics_daily SET
        orders = orders - 1,
        processed = processed - (OLD.processing_seconds IS NOT NULL),
        processing_seconds = processing_seconds - coalesce(OLD.processing_seconds, 0),
        delivered = delivered - (OLD.shipping_seconds IS NOT NULL),
        shipping_seconds = shipping_seconds - coalesce(OLD.shipping_seconds, 0),
        refunded = refunded - OLD.refunded,
        disputed = disputed - (OLD.disputed_at IS NOT NULL),
        fulfillment_cost_minor = fulfillment_cost_minor - coalesce(OLD.fulfillment_cost_minor, 0),
        fulfillment_costed = fulfillment_costed - (OLD.fulfillment_cost_minor IS NOT NULL)
        WHERE store_id = OLD.store_id AND day = ((OLD.placed_at - ((OLD.placed_at % 86400000000) + 86400000000) % 86400000000) / 86400000000) AND currency = OLD.currency;
    INSERT INTO order_metrics_daily (store_id, day, currency)
        SELECT NEW.store_id, ((NEW.placed_at - ((NEW.placed_at % 86400000000) + 86400000000) % 86400000000) / 86400000000), NEW.currency
        WHERE NOT EXISTS (SELECT 1 FROM order_metrics_daily
                          WHERE store_id = NEW.store_id AND day = ((NEW.placed_at - ((NEW.placed_at % 86400000000) + 86400000000) % 86400000000) / 86400000000) AND currency = NEW.currency);
    UPDATE order_metrics_daily SET
        orders = orders + 1,
        processed = processed + (NEW.processing_seconds IS NOT NULL),
        processing_seconds = processing_seconds + coalesce(NEW.processing_seconds, 0),
        delivered = delivered + (NEW.shipping_seconds IS NOT NULL),
        shipping_seconds = shipping_seconds + coalesce(NEW.shipping_seconds, 0),
        refunded = refunded + NEW.refunded,
        disputed = disputed + (NEW.disputed_at IS NOT NULL),
        fulfillment_cost_minor = fulfillment_cost_minor + coalesce(NEW.fulfillment_cost_minor, 0),
        fulfillment_costed = fulfillment_costed + (NEW.fulfillment_cost_minor IS NOT NULL)
        WHERE store_id = NEW.store_id AND day = ((NEW.placed_at - ((NEW.placed_at % 86400000000) + 86400000000) % 86400000000) / 86400000000) AND currency = NEW.currency;
END;

CREATE TRIGGER order_facts_counted_on_delete AFTER DELETE ON order_facts BEGIN
    UPDATE order_metrics_daily SET
        orders = orders - 1,
        processed = processed - (OLD.processing_seconds IS NOT NULL),
        processing_seconds = processing_seconds - coalesce(OLD.processing_seconds, 0),
        delivered = delivered - (OLD.shipping_seconds IS NOT NULL),
        shipping_seconds = shipping_seconds - coalesce(OLD.shipping_seconds, 0),
        refunded = refunded - OLD.refunded,
        disputed = disputed - (OLD.disputed_at IS NOT NULL),
        fulfillment_cost_minor = fulfillment_cost_minor - coalesce(OLD.fulfillment_cost_minor, 0),
        fulfillment_costed = fulfillment_costed - (OLD.fulfillment_cost_minor IS NOT NULL)
        WHERE store_id = OLD.store_id AND day = ((OLD.placed_at - ((OLD.placed_at % 86400000000) + 86400000000) % 86400000000) / 86400000000) AND currency = OLD.currency;
END;

-- Data migrations that SQL cannot express: a row names one still to run. The facts of the
-- orders already stored are derived by the same Rust function as every write's (reading
-- the documents), in batches, right after the migrations; the row is deleted when done, so
-- an interrupted backfill resumes with the orders still without facts.
CREATE TABLE pending_backfills (
    name TEXT NOT NULL,
    CONSTRAINT pending_backfills_pkey PRIMARY KEY (name)
) WITHOUT ROWID;
INSERT INTO pending_backfills (name) VALUES ('order_facts');
