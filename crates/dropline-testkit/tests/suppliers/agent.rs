//! A private sourcing agent reached by spreadsheet: the agent's file of open supplier
//! orders in its own column layout, and its return file with order ids, costs and tracking
//! numbers, all or nothing.

use crate::support::{accepted_order, order, settle, supplier_orders};
use dropline_testkit::TestApp;
use dropline_testkit::data::{self, unique};
use serde_json::json;

backend_tests!(
    an_agent_gets_its_orders_by_spreadsheet_and_its_answer_is_read_back,
    a_bad_return_file_changes_nothing
);

struct AgentStore {
    store_id: String,
    supplier_id: String,
    sku: String,
}

async fn agent_store(app: &TestApp) -> AgentStore {
    let admin = app.admin();
    let n = unique();
    let store = admin
        .create_store(&data::store(&format!("Agent store {n}")))
        .await
        .expect(201);
    let store_id = store["id"].as_str().unwrap().to_string();
    admin
        .update_store_settings(&store_id, &json!({ "supplier_note": "No invoice in the parcel" }))
        .await
        .expect(200);
    let supplier = admin
        .create_supplier(&json!({
            "store_id": store_id,
            "name": "Yiwu sourcing agent",
            "kind": "agent",
            "agent_layout": "Our Ref=idempotency_key, Buyer Order=order_number, Item=supplier_sku, Pcs=quantity, Receiver=ship_to_name, Country=ship_to_country, Phone=ship_to_phone, Remark=note",
        }))
        .await
        .expect(201);
    let supplier_id = supplier["id"].as_str().unwrap().to_string();
    let sku = format!("AGENT-{n}");
    let product = admin
        .create_product(&data::product(&store_id, &[sku.as_str()], "29.99"))
        .await
        .expect(201);
    let variant_id = product["variants"][0]["id"].as_str().unwrap();
    admin
        .add_offer(&data::offer(
            variant_id,
            &supplier_id,
            "https://1688.example/item/1",
            Some(100),
        ))
        .await
        .expect(201);
    AgentStore {
        store_id,
        supplier_id,
        sku,
    }
}

async fn an_agent_gets_its_orders_by_spreadsheet_and_its_answer_is_read_back(app: TestApp) {
    let store = agent_store(&app).await;
    let admin = app.admin();
    let first = accepted_order(
        &app,
        &data::order(&store.store_id, &format!("ext-{}", unique()), &[(&store.sku, 2)]),
    )
    .await;
    let second = accepted_order(
        &app,
        &data::order(&store.store_id, &format!("ext-{}", unique()), &[(&store.sku, 1)]),
    )
    .await;
    settle(&app).await;
    let so = supplier_orders(&app, &first).await.remove(0);
    assert_eq!(
        so["request_status"], "unsubmitted",
        "an agent is not called by the worker"
    );
    let key = so["placement"]["idempotency_key"].as_str().unwrap().to_string();

    let export = admin
        .post(
            &format!("/api/v1/suppliers/{}/agent-export", store.supplier_id),
            &json!({}),
        )
        .await;
    assert_eq!(export.status, 200, "{}", export.text);
    assert_eq!(export.headers["x-supplier-orders"], "2");
    let lines: Vec<&str> = export.text.lines().collect();
    assert_eq!(lines[0], "Our Ref,Buyer Order,Item,Pcs,Receiver,Country,Phone,Remark");
    assert_eq!(lines.len(), 3, "{}", export.text);
    let row = lines
        .iter()
        .find(|l| l.starts_with(&key))
        .expect("the first order's row");
    assert!(
        row.contains(",2,Ada Lovelace,US,'+12175550100,No invoice in the parcel"),
        "{row}"
    );
    let so = supplier_orders(&app, &first).await.remove(0);
    assert_eq!(so["request_status"], "submitted", "exported means submitted");
    // The same file again holds nothing new, unless asked for.
    let again = admin
        .post(
            &format!("/api/v1/suppliers/{}/agent-export", store.supplier_id),
            &json!({}),
        )
        .await;
    assert_eq!(again.headers["x-supplier-orders"], "0");
    let resend = admin
        .post(
            &format!("/api/v1/suppliers/{}/agent-export", store.supplier_id),
            &json!({ "include_submitted": true }),
        )
        .await;
    assert_eq!(resend.headers["x-supplier-orders"], "2");

    // The agent answers for the first order: its id, cost and two parcels.
    let answer = format!(
        "Dropline Key,Agent Order No,Tracking No.,Carrier,Cost,Currency\r\n{key},YW-7781,LX123456785CN;LP00123456789012,China Post,21.40,USD\r\n"
    );
    let imported = app
        .http()
        .post(format!(
            "{}/api/v1/suppliers/{}/agent-import",
            app.base_url(),
            store.supplier_id
        ))
        .bearer_auth(dropline_testkit::ADMIN_TOKEN)
        .header("content-type", "text/csv")
        .body(answer.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(imported.status(), 200);
    let report: serde_json::Value = imported.json().await.unwrap();
    assert_eq!(report["accepted"], json!([so["id"]]));
    assert_eq!(report["parcels_added"], 2);
    let so = supplier_orders(&app, &first).await.remove(0);
    assert_eq!(so["request_status"], "accepted");
    assert_eq!(so["supplier_reference"], "YW-7781");
    assert_eq!(so["actual_cost"]["amount"], "21.40");
    let numbers: Vec<&str> = so["shipments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["tracking_number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, ["LX123456785CN", "LP00123456789012"]);
    assert_eq!(order(&app, &first).await["state"], "shipped");
    assert_eq!(order(&app, &second).await["state"], "in_fulfillment");

    // The same answer twice changes nothing.
    let again = app
        .http()
        .post(format!(
            "{}/api/v1/suppliers/{}/agent-import",
            app.base_url(),
            store.supplier_id
        ))
        .bearer_auth(dropline_testkit::ADMIN_TOKEN)
        .body(answer)
        .send()
        .await
        .unwrap();
    let report: serde_json::Value = again.json().await.unwrap();
    assert_eq!(report["accepted"], json!([]));
    assert_eq!(report["parcels_added"], 0);
    assert_eq!(report["unchanged"], json!([so["id"]]));
}

async fn a_bad_return_file_changes_nothing(app: TestApp) {
    let store = agent_store(&app).await;
    let admin = app.admin();
    let order_id = accepted_order(
        &app,
        &data::order(&store.store_id, &format!("ext-{}", unique()), &[(&store.sku, 1)]),
    )
    .await;
    settle(&app).await;
    admin
        .post(
            &format!("/api/v1/suppliers/{}/agent-export", store.supplier_id),
            &json!({}),
        )
        .await
        .expect(200);
    let so = supplier_orders(&app, &order_id).await.remove(0);
    let key = so["placement"]["idempotency_key"].as_str().unwrap();
    let before = app.snapshot().await;
    let path = format!("/api/v1/suppliers/{}/agent-import", store.supplier_id);
    for (file, fields) in [
        // A good row next to one naming nothing of this agent.
        (
            format!("idempotency_key,agent_order_id\r\n{key},A-1\r\nnot-a-key-of-ours,A-2\r\n"),
            vec!["row 3"],
        ),
        // A good row next to one without the agent's order id.
        (
            format!("idempotency_key,agent_order_id\r\n{key},A-1\r\n{key}-x,\r\n"),
            vec!["row 3.agent_order_id"],
        ),
        (
            "agent_order_id,tracking_number\r\nA-1,LX1\r\n".to_string(),
            vec!["file"],
        ),
        // A tracking number whose check digit is wrong.
        (
            format!("idempotency_key,agent_order_id,tracking_number\r\n{key},A-1,RB123456786US\r\n"),
            vec!["tracking_number RB123456786US"],
        ),
        (String::new(), vec!["file"]),
        // A cost in another currency than the supplier order's.
        (
            format!("idempotency_key,agent_order_id,cost,currency\r\n{key},A-1,12.00,EUR\r\n"),
            vec!["row 2"],
        ),
    ] {
        let answer = admin
            .request_raw(reqwest::Method::POST, &path, file.clone().into_bytes())
            .await;
        answer.expect_error(422, "invalid_input");
        let mut refused = answer.refused_fields();
        refused.sort();
        refused.dedup();
        assert_eq!(refused, fields, "{file:?}: {}", answer.text);
        assert_eq!(app.snapshot().await, before, "{file:?} wrote something");
    }
    // Not an agent: refused.
    let cj_like = admin
        .create_supplier(&json!({ "store_id": store.store_id, "name": "Manual", "kind": "manual" }))
        .await
        .expect(201);
    let manual = cj_like["id"].as_str().unwrap();
    admin
        .post(&format!("/api/v1/suppliers/{manual}/agent-export"), &json!({}))
        .await
        .expect_error(422, "invalid_input");
    admin
        .create_supplier(
            &json!({ "store_id": store.store_id, "name": "Bad", "kind": "agent", "agent_layout": "Col=nonsense" }),
        )
        .await
        .expect_error(422, "invalid_input");
}
