//! Store isolation on EVERY route: store B's token tries each route on store A's data and
//! must neither read nor change it (404 for A's ids, 422 for A's ids inside a body, only
//! B's own data in listings), with nothing written; then the same request with A's token
//! shows the refusal was about the store, not the request. The route list comes from the
//! router itself, so a new route without a probe here fails the test.

use crate::id_of;
use dropline_testkit::{Api, Seeded, TestApp, TestResponse, data};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// What B must get.
#[derive(Clone, Debug)]
enum Expect {
    /// 404 `*_not_found`; A's token does not get 404.
    NotFound,
    /// 404 `*_not_found` for A's token too: an id of a kind no store is seeded with.
    NotFoundForBoth,
    /// 422 naming this field; A's token succeeds when `a_succeeds`.
    Invalid { field: &'static str, a_succeeds: bool },
    /// 403 whoever the store.
    Forbidden,
    /// 200 with a list under this key, holding B's data and none of A's.
    OwnOnly(&'static str),
    /// The per-state counts of B's orders only.
    OwnCounts,
    /// Every result `order_not_found`; A's token gets its orders reviewed.
    BulkNotFound,
    /// No store data involved.
    Public,
    /// A webhook receiver: tokens mean nothing there; unsigned, it is refused (401/404)
    /// whoever calls.
    Signed,
}

struct Probe {
    method: &'static str,
    template: &'static str,
    path: String,
    body: Option<Value>,
    expect: Expect,
}

fn probe(method: &'static str, template: &'static str, path: String, body: Option<Value>, expect: Expect) -> Probe {
    Probe {
        method,
        template,
        path,
        body,
        expect,
    }
}

/// Store A with an order in review, an order routed to a supplier order with a parcel,
/// and the ids of all of it.
struct StoreA {
    seeded: Seeded,
    pending_order: String,
    routed_order: String,
    supplier_order: String,
    shipment: String,
    /// A delivered order with a requested return and an open dispute.
    delivered_order: String,
    return_id: String,
    dispute_id: String,
    /// A claim to the supplier on that return (approved for it).
    claim_id: String,
    /// A payout of A's earnings (held for no days).
    payout_id: String,
    /// The first line of the order in review.
    pending_line: String,
    /// A price change of A's waiting for approval.
    price_change: String,
}

impl StoreA {
    /// Every id of A's that B must never see.
    fn ids(&self) -> Vec<String> {
        let s = &self.seeded;
        let mut ids = vec![s.store_id.clone(), s.supplier_id.clone(), s.product_id.clone()];
        ids.extend(s.variant_ids.iter().cloned());
        ids.extend(s.offer_ids.iter().cloned());
        ids.extend([
            self.pending_order.clone(),
            self.routed_order.clone(),
            self.supplier_order.clone(),
        ]);
        ids.push(self.shipment.clone());
        ids.extend([
            self.delivered_order.clone(),
            self.return_id.clone(),
            self.dispute_id.clone(),
        ]);
        ids.push(self.claim_id.clone());
        ids.push(self.payout_id.clone());
        ids.push(self.price_change.clone());
        ids
    }
}

async fn store_a(app: &TestApp) -> StoreA {
    let seeded = app.seed().await;
    let api = app.with_token(&seeded.token);
    let pending_order = id_of(&api.post_order(&seeded.order("a-pending")).await.expect(201));
    let routed_order = id_of(&api.post_order(&seeded.order("a-routed")).await.expect(201));
    api.accept(&routed_order).await.expect(200);
    app.run_pending_jobs().await;
    let order = api.get_order(&routed_order).await.expect(200);
    let supplier_order = id_of(&order["supplier_orders"][0]);
    api.record_reference(&supplier_order, &json!({"supplier_reference": "A-REF"}))
        .await
        .expect(200);
    let so = api
        .add_shipment(&supplier_order, &json!({"carrier": "UPS", "tracking_number": "1ZA"}))
        .await
        .expect(201);
    let shipment = id_of(&so["shipments"][0]);
    let delivered_order = id_of(&api.post_order(&seeded.order("a-delivered")).await.expect(201));
    api.accept(&delivered_order).await.expect(200);
    app.run_pending_jobs().await;
    let order = api.get_order(&delivered_order).await.expect(200);
    let delivered_so = id_of(&order["supplier_orders"][0]);
    api.record_reference(&delivered_so, &json!({"supplier_reference": "A-REF-2"}))
        .await
        .expect(200);
    api.add_shipment(&delivered_so, &json!({"carrier": "UPS", "tracking_number": "1ZB"}))
        .await
        .expect(201);
    api.mark_delivered(&delivered_so, &json!({})).await.expect(200);
    let line = order["lines"][0]["id"].as_str().expect("a line id").to_string();
    let returned = api
        .post(
            &format!("/api/v1/orders/{delivered_order}/returns"),
            &json!({"lines": [{"line_item_id": line, "quantity": 1}], "reason": "damaged"}),
        )
        .await
        .expect(201);
    let disputed = api
        .post(
            &format!("/api/v1/orders/{delivered_order}/disputes"),
            &json!({"amount": data::usd("10.00"), "reason_code": "fraudulent", "due_at": "2099-01-01T00:00:00Z"}),
        )
        .await
        .expect(201);
    let admin = app.admin();
    admin
        .update_store_settings(&seeded.store_id, &json!({"holding_days": 0}))
        .await
        .expect(200);
    let payout = admin
        .post(
            "/api/v1/payouts",
            &json!({"store_id": seeded.store_id, "amount": data::usd("1.00")}),
        )
        .await
        .expect(201);
    let return_id = returned["created_id"].as_str().expect("a return id").to_string();
    api.post_empty(&format!("/api/v1/orders/{delivered_order}/returns/{return_id}/approve"))
        .await
        .expect(200);
    let claimed = api
        .post(
            &format!("/api/v1/orders/{delivered_order}/claims"),
            &json!({"return_id": return_id, "supplier_order_id": delivered_so}),
        )
        .await
        .expect(201);
    let pending_line = api.get_order(&pending_order).await.expect(200)["lines"][0]["id"]
        .as_str()
        .expect("a line id")
        .to_string();
    api.post(
        &format!("/api/v1/stores/{}/pricing/apply", seeded.store_id),
        &tenfold_pricing(),
    )
    .await
    .expect(200);
    let changes = api
        .get(&format!(
            "/api/v1/price-changes?store_id={}&status=pending",
            seeded.store_id
        ))
        .await
        .expect(200);
    let price_change = id_of(&changes["price_changes"][0]);
    StoreA {
        pending_line,
        price_change,
        claim_id: claimed["created_id"].as_str().expect("a claim id").to_string(),
        payout_id: payout["id"].as_str().expect("a payout id").to_string(),
        seeded,
        pending_order,
        routed_order,
        supplier_order,
        shipment,
        delivered_order,
        return_id: returned["created_id"].as_str().expect("a return id").to_string(),
        dispute_id: disputed["created_id"].as_str().expect("a dispute id").to_string(),
    }
}

/// Pricing that multiplies costs by ten: every price changes by more than the threshold.
fn tenfold_pricing() -> Value {
    json!({
        "enabled": true,
        "rules": [{"scope": {"kind": "store"}, "rule": {"currency": "USD", "multiplier_bp": 100_000}}],
    })
}

fn probes(a: &StoreA, b: &Seeded) -> Vec<Probe> {
    use Expect::*;
    let s = &a.seeded;
    let (order, so) = (&a.pending_order, &a.supplier_order);
    let mut p = vec![
        probe(
            "GET",
            "/api/v1/stores/{id}/unmapped",
            format!("/api/v1/stores/{}/unmapped", s.store_id),
            None,
            NotFound,
        ),
        probe(
            "POST",
            "/api/v1/suppliers/{id}/import",
            format!("/api/v1/suppliers/{}/import", s.supplier_id),
            Some(json!({"product_id": "1001"})),
            NotFound,
        ),
        probe(
            "POST",
            "/api/v1/suppliers/{id}/price-list",
            format!("/api/v1/suppliers/{}/price-list", s.supplier_id),
            None,
            NotFound,
        ),
        probe(
            "POST",
            "/api/v1/catalogue/map",
            "/api/v1/catalogue/map".into(),
            Some(json!({
                "variant_id": s.variant_ids[0], "supplier_id": s.supplier_id, "supplier_sku": "B-SKU",
                "options": "", "unit_cost": data::usd("1.00"),
            })),
            NotFound,
        ),
        probe(
            "PUT",
            "/api/v1/stores/{id}/inventory",
            format!("/api/v1/stores/{}/inventory", s.store_id),
            Some(json!({"sync": false})),
            NotFound,
        ),
        probe(
            "PUT",
            "/api/v1/stores/{id}/pricing",
            format!("/api/v1/stores/{}/pricing", s.store_id),
            Some(json!({"enabled": false, "rules": []})),
            NotFound,
        ),
        probe(
            "POST",
            "/api/v1/stores/{id}/pricing/preview",
            format!("/api/v1/stores/{}/pricing/preview", s.store_id),
            Some(json!({"pricing": tenfold_pricing()})),
            NotFound,
        ),
        probe(
            "POST",
            "/api/v1/stores/{id}/pricing/apply",
            format!("/api/v1/stores/{}/pricing/apply", s.store_id),
            Some(tenfold_pricing()),
            NotFound,
        ),
        probe(
            "POST",
            "/api/v1/stores/{id}/routing/preview",
            format!("/api/v1/stores/{}/routing/preview", s.store_id),
            Some(json!({"policy": "cheapest_landed"})),
            NotFound,
        ),
        probe(
            "POST",
            "/api/v1/stores/{id}/stock/sync",
            format!("/api/v1/stores/{}/stock/sync", s.store_id),
            None,
            NotFound,
        ),
        probe(
            "POST",
            "/api/v1/suppliers/{id}/stock/sync",
            format!("/api/v1/suppliers/{}/stock/sync", s.supplier_id),
            None,
            NotFound,
        ),
        probe(
            "GET",
            "/api/v1/variants/{id}/stock",
            format!("/api/v1/variants/{}/stock", s.variant_ids[0]),
            None,
            NotFound,
        ),
        probe(
            "GET",
            "/api/v1/offers/{id}/costs",
            format!("/api/v1/offers/{}/costs", s.offer_ids[0]),
            None,
            NotFound,
        ),
        probe(
            "GET",
            "/api/v1/price-changes",
            format!("/api/v1/price-changes?store_id={}", s.store_id),
            None,
            NotFound,
        ),
        probe(
            "GET",
            "/api/v1/price-changes/{id}",
            format!("/api/v1/price-changes/{}", a.price_change),
            None,
            NotFound,
        ),
        probe(
            "POST",
            "/api/v1/price-changes/{id}/reject",
            format!("/api/v1/price-changes/{}/reject", a.price_change),
            None,
            NotFound,
        ),
        probe(
            "POST",
            "/api/v1/price-changes/{id}/approve",
            format!("/api/v1/price-changes/{}/approve", a.price_change),
            None,
            NotFound,
        ),
        probe(
            "GET",
            "/api/v1/sync-problems",
            format!("/api/v1/sync-problems?store_id={}", s.store_id),
            None,
            NotFound,
        ),
        // No sync problem is seeded (a manual supplier has no API to misread): the probe
        // shows an unknown id is refused as not found, and that nothing changes.
        probe(
            "POST",
            "/api/v1/sync-problems/{id}/resolve",
            format!("/api/v1/sync-problems/{}/resolve", s.variant_ids[0]),
            None,
            NotFoundForBoth,
        ),
        probe(
            "PUT",
            "/api/v1/orders/{id}/lines/{line_id}/offer",
            format!("/api/v1/orders/{}/lines/{}/offer", a.pending_order, a.pending_line),
            Some(json!({"offer_id": s.offer_ids[1]})),
            NotFound,
        ),
        probe("GET", "/healthz", "/healthz".into(), None, Public),
        probe(
            "GET",
            "/api/v1/openapi.json",
            "/api/v1/openapi.json".into(),
            None,
            Public,
        ),
        probe(
            "POST",
            "/api/v1/addresses/validate",
            "/api/v1/addresses/validate".into(),
            Some(data::address()),
            Public,
        ),
        probe(
            "POST",
            "/api/v1/tracking/detect",
            "/api/v1/tracking/detect".into(),
            Some(json!({"tracking_number": "1Z5R89390357567127"})),
            Public,
        ),
        probe(
            "POST",
            "/api/v1/stores",
            "/api/v1/stores".into(),
            Some(data::store("Intruder")),
            Forbidden,
        ),
        probe(
            "GET",
            "/api/v1/stores",
            "/api/v1/stores".into(),
            None,
            OwnOnly("stores"),
        ),
        probe(
            "GET",
            "/api/v1/stores/{id}",
            format!("/api/v1/stores/{}", s.store_id),
            None,
            NotFound,
        ),
        probe(
            "PUT",
            "/api/v1/stores/{id}/connection",
            format!("/api/v1/stores/{}/connection", s.store_id),
            Some(json!({"webhook_secrets": ["a-new-secret-1"]})),
            NotFound,
        ),
        probe(
            "POST",
            "/api/v1/stores/{id}/connection/test",
            format!("/api/v1/stores/{}/connection/test", s.store_id),
            None,
            NotFound,
        ),
        probe(
            "POST",
            "/api/v1/stores/{id}/catalog/pull",
            format!("/api/v1/stores/{}/catalog/pull", s.store_id),
            None,
            NotFound,
        ),
        probe(
            "POST",
            "/webhooks/{platform}/{store}",
            format!("/webhooks/shopify/{}", s.store_id),
            Some(json!({"id": 1})),
            Signed,
        ),
        probe(
            "POST",
            "/webhooks/suppliers/{supplier}",
            format!("/webhooks/suppliers/{}", s.supplier_id),
            Some(json!({"type": "STOCK", "params": {"vid": "1"}})),
            Signed,
        ),
        probe(
            "POST",
            "/webhooks/tracking",
            "/webhooks/tracking".into(),
            Some(json!({"event": "TRACKING_UPDATED", "data": {}})),
            Signed,
        ),
        probe(
            "GET",
            "/api/v1/exceptions",
            format!("/api/v1/exceptions?store_id={}", s.store_id),
            None,
            NotFound,
        ),
        probe(
            "PUT",
            "/api/v1/stores/{id}/settings",
            format!("/api/v1/stores/{}/settings", s.store_id),
            Some(json!({"auto_accept": {"enabled": true}})),
            NotFound,
        ),
        probe(
            "POST",
            "/api/v1/suppliers",
            "/api/v1/suppliers".into(),
            Some(data::manual_supplier(&s.store_id)),
            Invalid {
                field: "store_id",
                a_succeeds: true,
            },
        ),
        probe(
            "GET",
            "/api/v1/suppliers",
            "/api/v1/suppliers".into(),
            None,
            OwnOnly("suppliers"),
        ),
        probe(
            "GET",
            "/api/v1/suppliers",
            format!("/api/v1/suppliers?store_id={}", s.store_id),
            None,
            NotFound,
        ),
        probe(
            "GET",
            "/api/v1/suppliers/{id}",
            format!("/api/v1/suppliers/{}", s.supplier_id),
            None,
            NotFound,
        ),
        probe(
            "PUT",
            "/api/v1/suppliers/{id}/connection",
            format!("/api/v1/suppliers/{}/connection", s.supplier_id),
            Some(json!({ "api_key": "intruder-key" })),
            NotFound,
        ),
        probe(
            "PUT",
            "/api/v1/suppliers/{id}/return-policy",
            format!("/api/v1/suppliers/{}/return-policy", s.supplier_id),
            Some(json!({"accepts_returns": true, "window_days": 14})),
            NotFound,
        ),
        probe(
            "POST",
            "/api/v1/suppliers/{id}/reconcile",
            format!("/api/v1/suppliers/{}/reconcile", s.supplier_id),
            None,
            NotFound,
        ),
        probe(
            "POST",
            "/api/v1/suppliers/{id}/agent-export",
            format!("/api/v1/suppliers/{}/agent-export", s.supplier_id),
            Some(json!({ "include_submitted": true })),
            NotFound,
        ),
        probe(
            "POST",
            "/api/v1/suppliers/{id}/agent-import",
            format!("/api/v1/suppliers/{}/agent-import", s.supplier_id),
            Some(json!({})),
            NotFound,
        ),
        probe(
            "POST",
            "/api/v1/products",
            "/api/v1/products".into(),
            Some(data::product(&s.store_id, &["INTRUDER-1"], "10.00")),
            Invalid {
                field: "store_id",
                a_succeeds: true,
            },
        ),
        probe(
            "GET",
            "/api/v1/products",
            "/api/v1/products".into(),
            None,
            OwnOnly("products"),
        ),
        probe(
            "GET",
            "/api/v1/products",
            format!("/api/v1/products?store_id={}", s.store_id),
            None,
            NotFound,
        ),
        probe(
            "GET",
            "/api/v1/products/{id}",
            format!("/api/v1/products/{}", s.product_id),
            None,
            NotFound,
        ),
        probe(
            "POST",
            "/api/v1/offers",
            "/api/v1/offers".into(),
            Some(data::offer(
                &s.variant_ids[0],
                &s.supplier_id,
                "https://x.example/1",
                None,
            )),
            Invalid {
                field: "variant_id",
                a_succeeds: true,
            },
        ),
        probe(
            "POST",
            "/api/v1/offers",
            "/api/v1/offers".into(),
            Some(data::offer(
                &b.variant_ids[0],
                &s.supplier_id,
                "https://x.example/2",
                None,
            )),
            Invalid {
                field: "supplier_id",
                a_succeeds: false,
            },
        ),
        probe(
            "GET",
            "/api/v1/offers",
            "/api/v1/offers".into(),
            None,
            OwnOnly("offers"),
        ),
        probe(
            "GET",
            "/api/v1/offers",
            format!("/api/v1/offers?store_id={}", s.store_id),
            None,
            NotFound,
        ),
        probe(
            "POST",
            "/api/v1/orders",
            "/api/v1/orders".into(),
            Some(s.order("intruder-order")),
            NotFound,
        ),
        probe(
            "GET",
            "/api/v1/orders",
            "/api/v1/orders".into(),
            None,
            OwnOnly("orders"),
        ),
        probe(
            "GET",
            "/api/v1/orders",
            format!("/api/v1/orders?store_id={}", s.store_id),
            None,
            NotFound,
        ),
        probe(
            "GET",
            "/api/v1/orders",
            format!("/api/v1/orders?supplier_id={}", s.supplier_id),
            None,
            NotFound,
        ),
        probe(
            "GET",
            "/api/v1/orders/counts",
            "/api/v1/orders/counts".into(),
            None,
            OwnCounts,
        ),
        probe(
            "GET",
            "/api/v1/orders/counts",
            format!("/api/v1/orders/counts?store_id={}", s.store_id),
            None,
            NotFound,
        ),
        probe(
            "POST",
            "/api/v1/orders/bulk",
            "/api/v1/orders/bulk".into(),
            Some(json!({"action": "accept", "order_ids": [order, a.routed_order]})),
            BulkNotFound,
        ),
        probe(
            "GET",
            "/api/v1/orders/{id}",
            format!("/api/v1/orders/{order}"),
            None,
            NotFound,
        ),
        probe(
            "GET",
            "/api/v1/metrics/lanes",
            format!("/api/v1/metrics/lanes?store_id={}", s.store_id),
            None,
            NotFound,
        ),
        probe(
            "GET",
            "/api/v1/metrics/breakdown",
            format!("/api/v1/metrics/breakdown?store_id={}&by=product", s.store_id),
            None,
            NotFound,
        ),
        probe(
            "GET",
            "/api/v1/stores/{id}/balance",
            format!("/api/v1/stores/{}/balance", s.store_id),
            None,
            NotFound,
        ),
        probe(
            "POST",
            "/api/v1/payouts",
            "/api/v1/payouts".into(),
            Some(json!({"store_id": s.store_id})),
            Forbidden,
        ),
        probe(
            "PUT",
            "/api/v1/exchange-rates",
            "/api/v1/exchange-rates".into(),
            Some(json!({"from": "USD", "to": "EUR", "rate": "0.01", "effective_on": "2026-12-01"})),
            Forbidden,
        ),
        probe(
            "GET",
            "/api/v1/exchange-rates",
            "/api/v1/exchange-rates".into(),
            None,
            Public,
        ),
        probe(
            "GET",
            "/api/v1/payouts",
            format!("/api/v1/payouts?store_id={}", s.store_id),
            None,
            NotFound,
        ),
        probe(
            "GET",
            "/api/v1/payouts/export",
            format!("/api/v1/payouts/export?store_id={}", s.store_id),
            None,
            NotFound,
        ),
        probe(
            "GET",
            "/api/v1/payouts/{id}",
            format!("/api/v1/payouts/{}", a.payout_id),
            None,
            NotFound,
        ),
        probe(
            "POST",
            "/api/v1/payouts/{id}/paid",
            format!("/api/v1/payouts/{}/paid", a.payout_id),
            Some(json!({"reference": "stolen"})),
            NotFound,
        ),
        probe(
            "POST",
            "/api/v1/payouts/{id}/cancel",
            format!("/api/v1/payouts/{}/cancel", a.payout_id),
            None,
            NotFound,
        ),
        probe(
            "GET",
            "/api/v1/orders/{id}/after-sale",
            format!("/api/v1/orders/{}/after-sale", a.delivered_order),
            None,
            NotFound,
        ),
        probe(
            "GET",
            "/api/v1/orders/{id}/ledger",
            format!("/api/v1/orders/{}/ledger", a.delivered_order),
            None,
            NotFound,
        ),
        // What A would get is a refusal of the request (a return before delivery, a
        // refund above what was paid, a dispute due in the past, moves the states do not
        // allow), never "not found", and nothing changes.
        probe(
            "POST",
            "/api/v1/orders/{id}/returns",
            format!("/api/v1/orders/{}/returns", a.routed_order),
            Some(json!({"lines": [], "reason": "damaged"})),
            NotFound,
        ),
        probe(
            "POST",
            "/api/v1/orders/{id}/returns/{return_id}/{action}",
            format!("/api/v1/orders/{}/returns/{}/receive", a.delivered_order, a.return_id),
            None,
            NotFound,
        ),
        probe(
            "POST",
            "/api/v1/orders/{id}/returns/{return_id}/resolve",
            format!("/api/v1/orders/{}/returns/{}/resolve", a.delivered_order, a.return_id),
            Some(json!({"resolution": "refund"})),
            NotFound,
        ),
        probe(
            "POST",
            "/api/v1/orders/{id}/refunds",
            format!("/api/v1/orders/{}/refunds", a.delivered_order),
            Some(json!({"amount": data::usd("100000.00"), "reason": "x"})),
            NotFound,
        ),
        probe(
            "POST",
            "/api/v1/orders/{id}/disputes",
            format!("/api/v1/orders/{}/disputes", a.delivered_order),
            Some(json!({"amount": data::usd("1.00"), "reason_code": "x", "due_at": "2000-01-01T00:00:00Z"})),
            NotFound,
        ),
        probe(
            "POST",
            "/api/v1/orders/{id}/disputes/{dispute_id}/{action}",
            format!("/api/v1/orders/{}/disputes/{}/win", a.delivered_order, a.dispute_id),
            None,
            NotFound,
        ),
        probe(
            "POST",
            "/api/v1/orders/{id}/claims",
            format!("/api/v1/orders/{}/claims", a.delivered_order),
            Some(json!({"return_id": a.return_id, "supplier_order_id": a.supplier_order})),
            NotFound,
        ),
        probe(
            "POST",
            "/api/v1/orders/{id}/claims/{claim_id}/{action}",
            format!("/api/v1/orders/{}/claims/{}/submit", a.delivered_order, a.claim_id),
            None,
            NotFound,
        ),
        probe(
            "POST",
            "/api/v1/orders/{id}/claims/{claim_id}/accept",
            format!("/api/v1/orders/{}/claims/{}/accept", a.delivered_order, a.claim_id),
            Some(json!({"recovered": data::usd("1.00")})),
            NotFound,
        ),
        probe(
            "GET",
            "/api/v1/orders/{id}/timeline",
            format!("/api/v1/orders/{order}/timeline"),
            None,
            NotFound,
        ),
        probe(
            "GET",
            "/api/v1/orders/{id}/messages",
            format!("/api/v1/orders/{order}/messages"),
            None,
            NotFound,
        ),
        probe(
            "GET",
            "/api/v1/messages",
            "/api/v1/messages".into(),
            None,
            OwnOnly("messages"),
        ),
        probe(
            "GET",
            "/api/v1/messages",
            format!("/api/v1/messages?order_id={order}"),
            None,
            NotFound,
        ),
        probe(
            "GET",
            "/api/v1/messages",
            format!("/api/v1/messages?store_id={}", s.store_id),
            None,
            NotFound,
        ),
        probe(
            "GET",
            "/api/v1/supplier-orders/{id}",
            format!("/api/v1/supplier-orders/{so}"),
            None,
            NotFound,
        ),
        probe(
            "POST",
            "/api/v1/supplier-orders/{id}/shipped",
            format!("/api/v1/supplier-orders/{so}/shipped"),
            Some(json!({"shipment_id": a.shipment})),
            NotFound,
        ),
        probe(
            "POST",
            "/api/v1/supplier-orders/{id}/failed",
            format!("/api/v1/supplier-orders/{so}/failed"),
            Some(json!({"note": "intruder"})),
            NotFound,
        ),
        probe(
            "POST",
            "/api/v1/supplier-orders/{id}/reship",
            format!("/api/v1/supplier-orders/{so}/reship"),
            Some(json!({"carrier": "UPS", "tracking_number": "1ZB"})),
            NotFound,
        ),
        probe(
            "POST",
            "/api/v1/supplier-orders/{id}/delivered",
            format!("/api/v1/supplier-orders/{so}/delivered"),
            Some(json!({})),
            NotFound,
        ),
        probe(
            "POST",
            "/api/v1/supplier-orders/{id}/shipments",
            format!("/api/v1/supplier-orders/{so}/shipments"),
            Some(json!({"carrier": "DHL", "tracking_number": "D-1"})),
            NotFound,
        ),
        probe(
            "POST",
            "/api/v1/supplier-orders/{id}/reference",
            format!("/api/v1/supplier-orders/{so}/reference"),
            Some(json!({"supplier_reference": "B-REF"})),
            NotFound,
        ),
        probe(
            "POST",
            "/api/v1/supplier-orders/{id}/cancel",
            format!("/api/v1/supplier-orders/{so}/cancel"),
            None,
            NotFound,
        ),
        probe(
            "POST",
            "/api/v1/supplier-orders/{id}/release",
            format!("/api/v1/supplier-orders/{so}/release"),
            Some(json!({ "accept_price": true })),
            NotFound,
        ),
        probe(
            "PUT",
            "/api/v1/supplier-orders/{id}/ship-to",
            format!("/api/v1/supplier-orders/{so}/ship-to"),
            Some(data::address()),
            NotFound,
        ),
        probe(
            "PUT",
            "/api/v1/supplier-orders/{id}/tax-id",
            format!("/api/v1/supplier-orders/{so}/tax-id"),
            Some(json!({ "tax_id": "529.982.247-25" })),
            NotFound,
        ),
        probe(
            "POST",
            "/api/v1/supplier-orders/{id}/switch",
            format!("/api/v1/supplier-orders/{so}/switch"),
            None,
            NotFound,
        ),
    ];
    // The order actions last: they move A's order in review (the A-side checks only ask
    // for "not 404").
    for action in ["release", "reject", "accept", "complete", "cancel"] {
        let template = match action {
            "release" => "/api/v1/orders/{id}/release",
            "complete" => "/api/v1/orders/{id}/complete",
            "reject" => "/api/v1/orders/{id}/reject",
            "accept" => "/api/v1/orders/{id}/accept",
            _ => "/api/v1/orders/{id}/cancel",
        };
        p.push(probe(
            "POST",
            template,
            format!("/api/v1/orders/{order}/{action}"),
            None,
            NotFound,
        ));
    }
    p
}

async fn call(api: &Api<'_>, probe: &Probe) -> TestResponse {
    let method = Method::from_bytes(probe.method.as_bytes()).unwrap();
    api.request(method, &probe.path, probe.body.as_ref()).await
}

async fn a_store_token_can_neither_read_nor_change_another_store_on_any_route(app: TestApp) {
    let a = store_a(&app).await;
    let b = app.seed().await;
    let b_api = app.with_token(&b.token);
    let b_order = id_of(&b_api.post_order(&b.order("b-own")).await.expect(201));
    app.run_pending_jobs().await;
    let a_api = app.with_token(&a.seeded.token);
    let a_ids = a.ids();
    let probes = probes(&a, &b);

    // Every served route has a probe.
    let probed: BTreeSet<(String, String)> = probes
        .iter()
        .map(|p| (p.method.to_string(), p.template.to_string()))
        .collect();
    let served: BTreeSet<(String, String)> = dropline_web::served_routes()
        .into_iter()
        .map(|r| (r.method, r.path))
        .collect();
    let missing: Vec<_> = served.difference(&probed).collect();
    assert!(missing.is_empty(), "routes without an isolation probe: {missing:?}");
    let unknown: Vec<_> = probed.difference(&served).collect();
    assert!(unknown.is_empty(), "probes of routes that are not served: {unknown:?}");

    for probe in &probes {
        let label = format!("{} {}", probe.method, probe.path);
        let before = app.snapshot().await;
        let answer = call(&b_api, probe).await;
        assert_eq!(
            before,
            app.snapshot().await,
            "{label}: store B's request changed something"
        );
        // No id of A's in the answer, but those B itself sent (a bulk result names them).
        let sent = format!(
            "{} {}",
            probe.path,
            probe.body.as_ref().map(Value::to_string).unwrap_or_default()
        );
        for id in a_ids.iter().filter(|id| !sent.contains(id.as_str())) {
            assert!(
                !answer.text.contains(id.as_str()),
                "{label}: store A's id {id} leaked: {}",
                answer.text
            );
        }
        match &probe.expect {
            Expect::Public => assert_eq!(answer.status, 200, "{label}: {}", answer.text),
            Expect::Signed => {
                assert!([401, 404].contains(&answer.status), "{label}: {}", answer.text);
                let own = call(&a_api, probe).await;
                assert!([401, 404].contains(&own.status), "{label} with A's token: {}", own.text);
            }
            Expect::Forbidden => answer.expect_error(403, "forbidden"),
            Expect::NotFound => {
                assert_eq!(answer.status, 404, "{label}: {}", answer.text);
                assert!(answer.error_code().ends_with("_not_found"), "{label}: {}", answer.text);
                let own = call(&a_api, probe).await;
                assert_ne!(own.status, 404, "{label} with A's own token: {}", own.text);
                assert!(own.status < 500, "{label} with A's own token: {}", own.text);
            }
            Expect::NotFoundForBoth => {
                assert_eq!(answer.status, 404, "{label}: {}", answer.text);
                assert!(answer.error_code().ends_with("_not_found"), "{label}: {}", answer.text);
            }
            Expect::Invalid { field, a_succeeds } => {
                answer.expect_error(422, "invalid_input");
                assert_eq!(answer.refused_fields(), [field.to_string()], "{label}");
                if *a_succeeds {
                    let own = call(&a_api, probe).await;
                    assert!(
                        (200..300).contains(&own.status),
                        "{label} with A's own token: {}",
                        own.text
                    );
                }
            }
            Expect::OwnOnly(key) => {
                let items = answer.body[*key]
                    .as_array()
                    .unwrap_or_else(|| panic!("{label}: {}", answer.text));
                assert!(!items.is_empty(), "{label}: B's own data is missing: {}", answer.text);
                let own = call(&a_api, probe).await;
                assert!(
                    a_ids.iter().any(|id| own.text.contains(id.as_str())),
                    "{label} with A's token: {}",
                    own.text
                );
            }
            Expect::OwnCounts => {
                assert_eq!(answer.status, 200, "{label}: {}", answer.text);
                assert_eq!(answer.body["total"], 1, "{label}: only B's one order: {}", answer.text);
                let own = call(&a_api, probe).await;
                assert!(
                    own.body["total"].as_u64() >= Some(2),
                    "{label} with A's token: {}",
                    own.text
                );
            }
            Expect::BulkNotFound => {
                assert_eq!(answer.status, 200, "{label}: {}", answer.text);
                let codes: Vec<&str> = answer.body["results"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["error"]["code"].as_str().unwrap_or("ok"))
                    .collect();
                assert_eq!(codes, ["order_not_found", "order_not_found"], "{label}");
                let own = call(&a_api, probe).await;
                assert_eq!(
                    own.body["results"][0]["ok"], true,
                    "{label} with A's token: {}",
                    own.text
                );
            }
        }
    }

    // B's own data is intact and its own.
    assert_eq!(b_api.get_order(&b_order).await.expect(200)["state"], "pending_review");
}

backend_tests!(a_store_token_can_neither_read_nor_change_another_store_on_any_route,);
