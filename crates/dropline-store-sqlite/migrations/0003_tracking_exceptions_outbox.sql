-- Parcel tracking, the exception work list and outbox sending.
--
-- Side tables `shipments` and `order_exceptions` are rewritten from the order aggregate on
-- every order write, like `supplier_orders`; here they are filled from the orders already
-- stored. Times inside order documents are RFC 3339 text; the columns hold UTC unix
-- microseconds (sub-microsecond digits dropped), so the backfill below converts them: the
-- whole seconds through `unixepoch` of the text without its fraction, plus the first six
-- digits of the fraction.

-- The outbox: a message may be about no order (the seller's digest), may carry a dedupe key
-- (a second message with the same key in the same store is not written) and records its
-- send attempts. SQLite cannot drop a NOT NULL, so the table is rebuilt; nothing refers to it.
CREATE TABLE messages_rebuilt (
    id BLOB NOT NULL,
    store_id BLOB NOT NULL,
    -- NULL for a message about no single order.
    order_id BLOB,
    template TEXT NOT NULL,
    recipient TEXT,
    data TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    -- The event the message tells of; unique within the store when set.
    dedupe_key TEXT,
    last_error TEXT,
    sent_at INTEGER,
    CONSTRAINT messages_pkey PRIMARY KEY (id),
    CONSTRAINT messages_order_id_fkey FOREIGN KEY (order_id) REFERENCES orders (id),
    CONSTRAINT messages_store_id_fkey FOREIGN KEY (store_id) REFERENCES stores (id)
) WITHOUT ROWID;
INSERT INTO messages_rebuilt (id, store_id, order_id, template, recipient, data, state, attempts, created_at)
    SELECT id, store_id, order_id, template, recipient, data, state, attempts, created_at FROM messages;
DROP TABLE messages;
ALTER TABLE messages_rebuilt RENAME TO messages;
CREATE INDEX messages_store_id_id_idx ON messages (store_id, id);
CREATE INDEX messages_order_id_id_idx ON messages (order_id, id);
-- The sender's work list: queued (or failed) messages, oldest first.
CREATE INDEX messages_state_id_idx ON messages (state, id);
CREATE UNIQUE INDEX messages_store_id_dedupe_key_key ON messages (store_id, dedupe_key) WHERE dedupe_key IS NOT NULL;

-- The token of the customer's tracking page (also inside `doc`), unique over all stores.
ALTER TABLE orders ADD COLUMN tracking_token TEXT;
UPDATE orders SET tracking_token = json_extract(doc, '$.tracking_token')
    WHERE json_type(doc, '$.tracking_token') = 'text';
CREATE UNIQUE INDEX orders_tracking_token_key ON orders (tracking_token) WHERE tracking_token IS NOT NULL;

-- One row per parcel of an order (`supplier_orders[].shipments[]`): finds parcels by
-- tracking number (carrier webhooks) and gives the delivered ones of a lane.
CREATE TABLE shipments (
    id BLOB NOT NULL,
    order_id BLOB NOT NULL,
    store_id BLOB NOT NULL,
    supplier_order_id BLOB NOT NULL,
    supplier_id BLOB NOT NULL,
    -- ISO 3166-1 alpha-2 of the supplier order's destination.
    country TEXT NOT NULL,
    carrier TEXT NOT NULL,
    carrier_code TEXT,
    tracking_number TEXT NOT NULL,
    state TEXT NOT NULL,
    shipped_at INTEGER,
    delivered_at INTEGER,
    CONSTRAINT shipments_pkey PRIMARY KEY (id),
    CONSTRAINT shipments_order_id_fkey FOREIGN KEY (order_id) REFERENCES orders (id)
) WITHOUT ROWID;
CREATE INDEX shipments_order_id_idx ON shipments (order_id);
CREATE INDEX shipments_tracking_number_idx ON shipments (tracking_number);
CREATE INDEX shipments_store_id_delivered_at_idx ON shipments (store_id, delivered_at) WHERE delivered_at IS NOT NULL;

-- One row per OPEN exception of an order (`exceptions[]` without `resolved_at`): the
-- seller's work list. `position` is the exception's index in the order's list.
CREATE TABLE order_exceptions (
    order_id BLOB NOT NULL,
    position INTEGER NOT NULL,
    store_id BLOB NOT NULL,
    order_number TEXT NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL,
    suggested_action TEXT NOT NULL,
    raised_at INTEGER NOT NULL,
    CONSTRAINT order_exceptions_pkey PRIMARY KEY (order_id, position),
    CONSTRAINT order_exceptions_order_id_fkey FOREIGN KEY (order_id) REFERENCES orders (id)
) WITHOUT ROWID;
CREATE INDEX order_exceptions_raised_at_idx ON order_exceptions (raised_at, order_id, position);
CREATE INDEX order_exceptions_store_id_raised_at_idx ON order_exceptions (store_id, raised_at, order_id, position);
CREATE INDEX order_exceptions_kind_raised_at_idx ON order_exceptions (kind, raised_at, order_id, position);

-- Backfill from the stored orders. A parcel id held by two orders (never written by dropline)
-- is kept once rather than failing the upgrade.
WITH parcels AS (
    SELECT
        unhex(replace(json_extract(parcel.value, '$.id'), '-', '')) AS id,
        o.id AS order_id,
        o.store_id AS store_id,
        unhex(replace(json_extract(supplier_order.value, '$.id'), '-', '')) AS supplier_order_id,
        unhex(replace(json_extract(supplier_order.value, '$.supplier_id'), '-', '')) AS supplier_id,
        json_extract(supplier_order.value, '$.ship_to.country_code') AS country,
        json_extract(parcel.value, '$.carrier') AS carrier,
        json_extract(parcel.value, '$.carrier_code') AS carrier_code,
        json_extract(parcel.value, '$.tracking_number') AS tracking_number,
        json_extract(parcel.value, '$.state') AS state,
        json_extract(parcel.value, '$.shipped_at') AS shipped,
        json_extract(parcel.value, '$.delivered_at') AS delivered
    FROM orders o, json_each(o.doc, '$.supplier_orders') supplier_order, json_each(supplier_order.value, '$.shipments') parcel
)
INSERT OR IGNORE INTO shipments (id, order_id, store_id, supplier_order_id, supplier_id, country, carrier, carrier_code,
                                 tracking_number, state, shipped_at, delivered_at)
SELECT id, order_id, store_id, supplier_order_id, supplier_id, country, carrier, carrier_code, tracking_number, state,
    unixepoch(substr(shipped, 1, 19) || ltrim(substr(shipped, 20), '.0123456789')) * 1000000
        + CASE WHEN substr(shipped, 20, 1) = '.' THEN CAST(substr(substr(shipped, 21,
            length(shipped) - 20 - length(ltrim(substr(shipped, 21), '0123456789'))) || '000000', 1, 6) AS INTEGER)
          ELSE 0 END,
    unixepoch(substr(delivered, 1, 19) || ltrim(substr(delivered, 20), '.0123456789')) * 1000000
        + CASE WHEN substr(delivered, 20, 1) = '.' THEN CAST(substr(substr(delivered, 21,
            length(delivered) - 20 - length(ltrim(substr(delivered, 21), '0123456789'))) || '000000', 1, 6) AS INTEGER)
          ELSE 0 END
FROM parcels WHERE true;

WITH open_exceptions AS (
    SELECT
        o.id AS order_id,
        CAST(exception.key AS INTEGER) AS position,
        o.store_id AS store_id,
        o.number AS order_number,
        json_extract(exception.value, '$.kind') AS kind,
        json_extract(exception.value, '$.detail') AS detail,
        json_extract(exception.value, '$.suggested_action') AS suggested_action,
        json_extract(exception.value, '$.raised_at') AS raised
    FROM orders o, json_each(o.doc, '$.exceptions') exception
    WHERE json_extract(exception.value, '$.resolved_at') IS NULL
)
INSERT OR IGNORE INTO order_exceptions (order_id, position, store_id, order_number, kind, detail, suggested_action,
                                        raised_at)
SELECT order_id, position, store_id, order_number, kind, detail, suggested_action,
    unixepoch(substr(raised, 1, 19) || ltrim(substr(raised, 20), '.0123456789')) * 1000000
        + CASE WHEN substr(raised, 20, 1) = '.' THEN CAST(substr(substr(raised, 21,
            length(raised) - 20 - length(ltrim(substr(raised, 21), '0123456789'))) || '000000', 1, 6) AS INTEGER)
          ELSE 0 END
FROM open_exceptions WHERE true;
