//! Test data as the API takes it (JSON bodies), and [`seed`]: a store with a manual
//! supplier and a product whose variants have offers. Every builder makes unique names and
//! SKUs, so a test can build as much as it likes in one app.

use crate::TestApp;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};

static SEQUENCE: AtomicU64 = AtomicU64::new(1);

/// A number unique in this test process.
pub fn unique() -> u64 {
    SEQUENCE.fetch_add(1, Ordering::Relaxed)
}

/// `{"amount": amount, "currency": "USD"}`.
pub fn usd(amount: &str) -> Value {
    json!({ "amount": amount, "currency": "USD" })
}

/// A customer's address in the United States that validates without findings.
pub fn address() -> Value {
    json!({
        "first_name": "Ada",
        "last_name": "Lovelace",
        "address1": "12 Main Street",
        "address2": "Apt 2",
        "city": "Springfield",
        "region": "IL",
        "postal_code": "62701",
        "country_code": "US",
        "phone": "+12175550100",
    })
}

/// An address that fails validation (a US address without region, a bad ZIP code).
pub fn invalid_address() -> Value {
    json!({
        "first_name": "Bob",
        "last_name": "Broken",
        "address1": "5 Nowhere Road",
        "city": "Springfield",
        "postal_code": "ABCDE",
        "country_code": "US",
    })
}

/// A store's own (warehouse) address.
pub fn warehouse_address() -> Value {
    json!({
        "first_name": "Shipping",
        "last_name": "Desk",
        "company": "Acme Gadgets",
        "address1": "400 Commerce Way",
        "city": "Austin",
        "region": "TX",
        "postal_code": "73301",
        "country_code": "US",
    })
}

/// A new store (platform `api`, USD, with its own address).
pub fn store(name: &str) -> Value {
    json!({ "name": name, "platform": "api", "currency": "USD", "address": warehouse_address() })
}

/// A manual supplier of a store.
pub fn manual_supplier(store_id: &str) -> Value {
    json!({
        "store_id": store_id,
        "name": format!("Manual supplier {}", unique()),
        "kind": "manual",
        "ships_from": "CN",
        "processing_days": 2,
        "rating": 90,
    })
}

/// A product with one variant per SKU, each priced `price` USD.
pub fn product(store_id: &str, skus: &[&str], price: &str) -> Value {
    let variants: Vec<Value> = skus
        .iter()
        .map(|sku| json!({ "sku": sku, "title": format!("Variant {sku}"), "price": usd(price) }))
        .collect();
    json!({ "store_id": store_id, "title": "Wireless earbuds", "variants": variants })
}

/// An offer of `supplier_id` for `variant_id`: 12.00 USD a unit, 3.00 shipping anywhere.
pub fn offer(variant_id: &str, supplier_id: &str, product_url: &str, stock: Option<u32>) -> Value {
    json!({
        "variant_id": variant_id,
        "supplier_id": supplier_id,
        "supplier_sku": format!("SUP-{}", unique()),
        "product_url": product_url,
        "unit_cost": usd("12.00"),
        "stock": stock,
        "shipping": [{ "country": "*", "name": "Standard", "cost": usd("3.00"), "min_days": 7, "max_days": 14 }],
        "priority": "primary",
    })
}

/// A paid order of `store_id` with one line per (sku, quantity), each 49.99 USD, shipped to
/// [`address`].
pub fn order(store_id: &str, external_id: &str, lines: &[(&str, u32)]) -> Value {
    let lines: Vec<Value> = lines
        .iter()
        .map(|(sku, quantity)| {
            json!({
                "sku": sku,
                "title": "Wireless earbuds",
                "variant_title": format!("Variant {sku}"),
                "quantity": quantity,
                "unit_price": usd("49.99"),
            })
        })
        .collect();
    json!({
        "store_id": store_id,
        "external_id": external_id,
        "number": format!("#{external_id}"),
        "customer": { "name": "Ada Lovelace", "email": "ada@example.com" },
        "shipping_address": address(),
        "lines": lines,
        "shipping_total": usd("5.00"),
        "payment": "paid",
        "placed_at": "2026-03-01T12:00:00Z",
    })
}

/// What [`seed`] made; ids as the API returned them.
#[derive(Clone, Debug)]
pub struct Seeded {
    pub store_id: String,
    /// The store's own API token.
    pub token: String,
    pub supplier_id: String,
    pub product_id: String,
    /// Two variants, each with one offer.
    pub variant_ids: Vec<String>,
    pub skus: Vec<String>,
    pub offer_ids: Vec<String>,
    /// The supplier product page of each offer.
    pub product_urls: Vec<String>,
}

impl Seeded {
    /// A valid, paid order of this store for 2 units of the first SKU.
    pub fn order(&self, external_id: &str) -> Value {
        order(&self.store_id, external_id, &[(self.skus[0].as_str(), 2)])
    }

    /// A new unique external order id.
    pub fn next_external_id(&self) -> String {
        format!("ext-{}", unique())
    }
}

/// A store with a manual supplier and a product of two variants, each with an offer.
pub async fn seed(app: &TestApp) -> Seeded {
    let admin = app.admin();
    let n = unique();
    let created = admin.create_store(&store(&format!("Store {n}"))).await.expect(201);
    let store_id = created["id"].as_str().expect("store id").to_string();
    let token = created["api_token"].as_str().expect("api token").to_string();
    let supplier = admin.create_supplier(&manual_supplier(&store_id)).await.expect(201);
    let supplier_id = supplier["id"].as_str().expect("supplier id").to_string();
    let skus = vec![format!("SKU-{n}-BLK"), format!("SKU-{n}-WHT")];
    let sku_refs: Vec<&str> = skus.iter().map(String::as_str).collect();
    let product = admin
        .create_product(&product(&store_id, &sku_refs, "49.99"))
        .await
        .expect(201);
    let product_id = product["id"].as_str().expect("product id").to_string();
    let variant_ids: Vec<String> = product["variants"]
        .as_array()
        .expect("variants")
        .iter()
        .map(|v| v["id"].as_str().expect("variant id").to_string())
        .collect();
    let mut offer_ids = Vec::new();
    let mut product_urls = Vec::new();
    for (variant_id, sku) in variant_ids.iter().zip(&skus) {
        let url = format!("https://supplier.example/item/{sku}");
        let created = admin
            .add_offer(&offer(variant_id, &supplier_id, &url, Some(100)))
            .await
            .expect(201);
        offer_ids.push(created["id"].as_str().expect("offer id").to_string());
        product_urls.push(url);
    }
    Seeded {
        store_id,
        token,
        supplier_id,
        product_id,
        variant_ids,
        skus,
        offer_ids,
        product_urls,
    }
}
