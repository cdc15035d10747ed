//! Tokens: the operator sees every store; a store's token sees its own store only, gets its
//! token once, and cannot create stores.

use crate::{id_of, ids_in};
use dropline_testkit::{TestApp, data};
use serde_json::json;

async fn a_new_store_gets_its_token_once_and_it_works(app: TestApp) {
    let admin = app.admin();
    let created = admin.create_store(&data::store("Acme")).await.expect(201);
    let token = created["api_token"].as_str().unwrap().to_string();
    assert!(token.starts_with("dl_"), "{token}");
    assert_eq!(
        (created["platform"].as_str(), created["currency"].as_str()),
        (Some("api"), Some("USD"))
    );
    assert_eq!(created["settings"]["auto_accept"]["enabled"], false);
    assert_eq!(created["settings"]["routing_policy"], "primary_then_backup");

    let read = admin.get_store(&id_of(&created)).await.expect(200);
    assert!(read.get("api_token").is_none(), "the token is shown once: {read}");
    let own = app.with_token(&token).get_store(&id_of(&created)).await.expect(200);
    assert_eq!(own["name"], "Acme");
    assert!(!app.admin().list_stores().await.text.contains(&token));
}

async fn the_operator_sees_every_store_and_a_store_only_itself(app: TestApp) {
    let first = app.seed().await;
    let second = app.seed().await;
    let mut all = ids_in(&app.admin().list_stores().await.expect(200), "stores");
    all.sort();
    let mut expected = vec![first.store_id.clone(), second.store_id.clone()];
    expected.sort();
    assert_eq!(all, expected);
    assert_eq!(
        ids_in(&app.with_token(&first.token).list_stores().await.expect(200), "stores"),
        [first.store_id.as_str()]
    );
    assert_eq!(
        ids_in(
            &app.with_token(&second.token).list_suppliers("").await.expect(200),
            "suppliers"
        ),
        [second.supplier_id.as_str()]
    );
    assert_eq!(
        ids_in(
            &app.admin()
                .list_suppliers(&format!("store_id={}", first.store_id))
                .await
                .expect(200),
            "suppliers"
        ),
        [first.supplier_id.as_str()]
    );
}

async fn only_the_operator_creates_stores(app: TestApp) {
    let seeded = app.seed().await;
    let before = app.snapshot().await;
    let answer = app.with_token(&seeded.token).create_store(&data::store("Sneaky")).await;
    answer.expect_error(403, "forbidden");
    assert_eq!(before, app.snapshot().await);
}

async fn the_operator_must_name_the_store_a_store_token_need_not(app: TestApp) {
    let seeded = app.seed().await;
    let mut body = data::manual_supplier(&seeded.store_id);
    body.as_object_mut().unwrap().remove("store_id");
    let answer = app.admin().create_supplier(&body).await;
    answer.expect_error(422, "invalid_input");
    assert_eq!(answer.refused_fields(), ["store_id"]);
    let created = app.with_token(&seeded.token).create_supplier(&body).await.expect(201);
    assert_eq!(created["store_id"], json!(seeded.store_id));
}

backend_tests!(
    a_new_store_gets_its_token_once_and_it_works,
    the_operator_sees_every_store_and_a_store_only_itself,
    only_the_operator_creates_stores,
    the_operator_must_name_the_store_a_store_token_need_not,
);
