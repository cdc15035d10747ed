-- Storefront connections: how dropline reaches a store's platform, the webhook deliveries it
-- already handled, and the platform's ids of catalogue products and variants. Safe on a
-- populated database: the new columns are NULL or '{}' ("not connected") for existing rows.

-- The store's platform connection (domain, API base, credentials, webhook secrets). Kept out
-- of `doc` because it holds secrets.
ALTER TABLE stores ADD COLUMN connection JSONB NOT NULL DEFAULT '{}';

-- The storefront's ids of products and variants pulled from the storefront (NULL for the
-- others; the doc holds them too). An import matches by them, and incoming order lines map
-- to a variant by its id before they map by SKU, so each is unique within its store.
ALTER TABLE products ADD COLUMN platform_product_id TEXT;
CREATE UNIQUE INDEX products_store_id_platform_product_id_key
    ON products (store_id, platform_product_id) WHERE platform_product_id IS NOT NULL;

ALTER TABLE variants ADD COLUMN platform_variant_id TEXT;
CREATE UNIQUE INDEX variants_store_id_platform_variant_id_key
    ON variants (store_id, platform_variant_id) WHERE platform_variant_id IS NOT NULL;

-- Webhook deliveries already handled, written with the change set they caused: a redelivery
-- of the same (store, delivery id) is recognised and refused.
CREATE TABLE webhook_deliveries (
    store_id     UUID        NOT NULL,
    delivery_id  TEXT        NOT NULL,
    received_at  TIMESTAMPTZ NOT NULL,
    CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (store_id, delivery_id)
);
