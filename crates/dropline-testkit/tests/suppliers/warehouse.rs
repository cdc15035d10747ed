//! The hybrid model: the seller's own warehouse ships what it holds, dropshipping the rest.
//! Routing prefers a warehouse location with counted stock that serves the destination; its
//! units are reserved with the supplier order and come back when it is cancelled.

use crate::support::{accepted_order, settle, supplier_orders};
use dropline_testkit::TestApp;
use dropline_testkit::data::{self, unique, usd};
use serde_json::{Value, json};

backend_tests!(the_own_warehouse_ships_what_it_holds_and_dropshipping_the_rest);

async fn offer_stock(app: &TestApp, store_id: &str, offer_id: &str) -> Value {
    let offers = app
        .admin()
        .list_offers(&format!("store_id={store_id}"))
        .await
        .expect(200);
    offers["offers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == offer_id)
        .map(|o| o["stock"].clone())
        .expect("the offer")
}

async fn the_own_warehouse_ships_what_it_holds_and_dropshipping_the_rest(app: TestApp) {
    let admin = app.admin();
    let n = unique();
    let store = admin
        .create_store(&data::store(&format!("Hybrid {n}")))
        .await
        .expect(201);
    let store_id = store["id"].as_str().unwrap().to_string();
    let warehouse = admin
        .create_supplier(
            &json!({ "store_id": store_id, "name": "Own 3PL, Reno", "kind": "warehouse", "ships_from": "US" }),
        )
        .await
        .expect(201);
    let warehouse_id = warehouse["id"].as_str().unwrap().to_string();
    let dropship = admin
        .create_supplier(&data::manual_supplier(&store_id))
        .await
        .expect(201);
    let dropship_id = dropship["id"].as_str().unwrap().to_string();
    let sku = format!("HYB-{n}");
    let product = admin
        .create_product(&data::product(&store_id, &[sku.as_str()], "39.99"))
        .await
        .expect(201);
    let variant_id = product["variants"][0]["id"].as_str().unwrap();
    // The warehouse is dearer and serves only the United States: preferred all the same.
    let held = admin
        .add_offer(&json!({
            "variant_id": variant_id,
            "supplier_id": warehouse_id,
            "supplier_sku": format!("BIN-{n}"),
            "unit_cost": usd("15.00"),
            "stock": 3,
            "shipping": [{ "country": "US", "name": "UPS Ground", "cost": usd("6.00"), "min_days": 2, "max_days": 5 }],
            "priority": "backup",
        }))
        .await
        .expect(201);
    let held_id = held["id"].as_str().unwrap().to_string();
    admin
        .add_offer(&data::offer(
            variant_id,
            &dropship_id,
            "https://supplier.example/hyb",
            Some(500),
        ))
        .await
        .expect(201);

    let first = accepted_order(
        &app,
        &data::order(&store_id, &format!("ext-{}", unique()), &[(&sku, 2)]),
    )
    .await;
    settle(&app).await;
    let so = supplier_orders(&app, &first).await.remove(0);
    assert_eq!(so["supplier_id"], warehouse_id.as_str(), "the warehouse first: {so:#}");
    assert_eq!(so["shipping_method"], "UPS Ground");
    assert_eq!(offer_stock(&app, &store_id, &held_id).await, 1, "two units reserved");

    // Two more units than the warehouse holds: dropshipped.
    let second = accepted_order(
        &app,
        &data::order(&store_id, &format!("ext-{}", unique()), &[(&sku, 2)]),
    )
    .await;
    settle(&app).await;
    let so = supplier_orders(&app, &second).await.remove(0);
    assert_eq!(so["supplier_id"], dropship_id.as_str(), "{so:#}");
    assert_eq!(offer_stock(&app, &store_id, &held_id).await, 1);

    // A destination the warehouse does not serve: dropshipped.
    let mut abroad = data::order(&store_id, &format!("ext-{}", unique()), &[(&sku, 1)]);
    abroad["shipping_address"] = json!({
        "first_name": "Jean", "last_name": "Tremblay", "address1": "100 Rue Sainte-Catherine",
        "city": "Montreal", "region": "QC", "postal_code": "H2X 1Z4", "country_code": "CA",
        "phone": "+15145550100",
    });
    let third = accepted_order(&app, &abroad).await;
    settle(&app).await;
    let so = supplier_orders(&app, &third).await.remove(0);
    assert_eq!(so["supplier_id"], dropship_id.as_str(), "{so:#}");

    // Cancelled before it shipped: the units go back to the shelf.
    admin.cancel(&first).await.expect(200);
    assert_eq!(offer_stock(&app, &store_id, &held_id).await, 3);
}
