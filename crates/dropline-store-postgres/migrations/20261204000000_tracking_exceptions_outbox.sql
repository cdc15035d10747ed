-- Parcel tracking, the exception work list and outbox sending. Safe on a populated database:
-- the new side tables `shipments` and `order_exceptions` are filled here from the stored
-- order documents, and from then on rewritten from the aggregate on every order write, like
-- `supplier_orders`.

-- The outbox: a message may be about no order (the seller's digest), and may carry a dedupe
-- key: a second message with the same key in the same store is not written. Send attempts,
-- the last error and the send time live in `doc`.
ALTER TABLE messages ALTER COLUMN order_id DROP NOT NULL;
ALTER TABLE messages ADD COLUMN dedupe_key TEXT;
UPDATE messages SET dedupe_key = doc->>'dedupe_key' WHERE doc->>'dedupe_key' IS NOT NULL;
CREATE UNIQUE INDEX messages_store_id_dedupe_key_key ON messages (store_id, dedupe_key) WHERE dedupe_key IS NOT NULL;
-- The sender's work list: messages in a state, by id.
CREATE INDEX messages_state_id_idx ON messages (state, id DESC);

-- The token of the customer's tracking page (also inside `doc`), unique over all stores.
ALTER TABLE orders ADD COLUMN tracking_token TEXT;
UPDATE orders SET tracking_token = doc->>'tracking_token' WHERE doc->>'tracking_token' IS NOT NULL;
CREATE UNIQUE INDEX orders_tracking_token_key ON orders (tracking_token) WHERE tracking_token IS NOT NULL;

-- One row per parcel of an order (`supplier_orders[].shipments[]`): finds parcels by
-- tracking number (carrier webhooks) and gives the delivered ones of a lane.
CREATE TABLE shipments (
    id                 UUID        NOT NULL,
    order_id           UUID        NOT NULL,
    store_id           UUID        NOT NULL,
    supplier_order_id  UUID        NOT NULL,
    supplier_id        UUID        NOT NULL,
    -- ISO 3166-1 alpha-2 of the supplier order's destination.
    country            TEXT        NOT NULL,
    carrier            TEXT        NOT NULL,
    carrier_code       TEXT,
    tracking_number    TEXT        NOT NULL,
    state              TEXT        NOT NULL,
    shipped_at         TIMESTAMPTZ,
    delivered_at       TIMESTAMPTZ,
    CONSTRAINT shipments_pkey PRIMARY KEY (id),
    CONSTRAINT shipments_order_id_fkey FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE
);
CREATE INDEX shipments_order_id_idx ON shipments (order_id);
CREATE INDEX shipments_tracking_number_idx ON shipments (tracking_number);
CREATE INDEX shipments_store_id_delivered_at_idx ON shipments (store_id, delivered_at DESC)
    WHERE delivered_at IS NOT NULL;

-- One row per OPEN exception of an order (`exceptions[]` without `resolved_at`): the
-- seller's work list, oldest first. `position` is the exception's index in the order's list.
CREATE TABLE order_exceptions (
    order_id          UUID        NOT NULL,
    position          INTEGER     NOT NULL,
    store_id          UUID        NOT NULL,
    order_number      TEXT        NOT NULL,
    kind              TEXT        NOT NULL,
    detail            TEXT        NOT NULL,
    suggested_action  TEXT        NOT NULL,
    raised_at         TIMESTAMPTZ NOT NULL,
    CONSTRAINT order_exceptions_pkey PRIMARY KEY (order_id, position),
    CONSTRAINT order_exceptions_order_id_fkey FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE
);
CREATE INDEX order_exceptions_raised_at_idx ON order_exceptions (raised_at, order_id, position);
CREATE INDEX order_exceptions_store_id_raised_at_idx ON order_exceptions (store_id, raised_at, order_id, position);
CREATE INDEX order_exceptions_kind_raised_at_idx ON order_exceptions (kind, raised_at, order_id, position);

-- Backfill from the stored orders. A parcel id held by two orders (never written by dropline)
-- is kept once rather than failing the upgrade. Times in the documents may have nanoseconds:
-- they are cut to microseconds (as dropline writes them), not rounded by the cast.
INSERT INTO shipments (id, order_id, store_id, supplier_order_id, supplier_id, country, carrier, carrier_code,
                       tracking_number, state, shipped_at, delivered_at)
SELECT (parcel->>'id')::uuid, o.id, o.store_id, (supplier_order->>'id')::uuid, (supplier_order->>'supplier_id')::uuid,
       supplier_order->'ship_to'->>'country_code', parcel->>'carrier', parcel->>'carrier_code',
       parcel->>'tracking_number', parcel->>'state',
       regexp_replace(parcel->>'shipped_at', '(\.[0-9]{6})[0-9]+', '\1')::timestamptz,
       regexp_replace(parcel->>'delivered_at', '(\.[0-9]{6})[0-9]+', '\1')::timestamptz
FROM orders o
CROSS JOIN LATERAL jsonb_array_elements(
    CASE WHEN jsonb_typeof(o.doc->'supplier_orders') = 'array' THEN o.doc->'supplier_orders' ELSE '[]'::jsonb END
) AS supplier_order
CROSS JOIN LATERAL jsonb_array_elements(
    CASE WHEN jsonb_typeof(supplier_order->'shipments') = 'array' THEN supplier_order->'shipments' ELSE '[]'::jsonb END
) AS parcel
ON CONFLICT (id) DO NOTHING;

INSERT INTO order_exceptions (order_id, position, store_id, order_number, kind, detail, suggested_action, raised_at)
SELECT o.id, (exception.ordinality - 1)::integer, o.store_id, o.number, exception.value->>'kind',
       exception.value->>'detail', exception.value->>'suggested_action',
       regexp_replace(exception.value->>'raised_at', '(\.[0-9]{6})[0-9]+', '\1')::timestamptz
FROM orders o
CROSS JOIN LATERAL jsonb_array_elements(
    CASE WHEN jsonb_typeof(o.doc->'exceptions') = 'array' THEN o.doc->'exceptions' ELSE '[]'::jsonb END
) WITH ORDINALITY AS exception (value, ordinality)
WHERE exception.value->>'resolved_at' IS NULL;
