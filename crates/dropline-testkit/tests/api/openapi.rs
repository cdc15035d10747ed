//! The OpenAPI document: it lists exactly the routes the router serves, every one of them
//! answers, and it does not change unnoticed (snapshot).

use dropline_testkit::TestApp;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "patch", "head", "options", "trace"];

fn documented_routes(doc: &Value) -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if item.get(method).is_some() {
                routes.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    routes
}

fn served_routes() -> BTreeSet<(String, String)> {
    dropline_web::served_routes()
        .into_iter()
        .map(|r| (r.method, r.path))
        .collect()
}

#[tokio::test]
async fn the_document_lists_exactly_the_served_routes() {
    let app = TestApp::spawn().await;
    let doc = app.anonymous().openapi().await.expect(200);
    assert_eq!(doc, serde_json::to_value(dropline_web::openapi()).unwrap());
    let documented = documented_routes(&doc);
    let served = served_routes();
    assert_eq!(
        documented,
        served,
        "served but undocumented: {:?}; documented but not served: {:?}",
        served.difference(&documented).collect::<Vec<_>>(),
        documented.difference(&served).collect::<Vec<_>>()
    );
    assert!(served.len() >= 35, "{served:?}");
}

#[tokio::test]
async fn every_documented_route_is_served() {
    let app = TestApp::spawn().await;
    let doc = app.anonymous().openapi().await.expect(200);
    let admin = app.admin();
    for (method, path) in documented_routes(&doc) {
        let concrete = path.replace("{id}", &uuid::Uuid::now_v7().to_string());
        let answer = admin
            .request(
                Method::from_bytes(method.as_bytes()).unwrap(),
                &concrete,
                Some(&json!({})),
            )
            .await;
        assert_ne!(answer.status, 405, "{method} {path}: {}", answer.text);
        assert_ne!(
            answer.error_code(),
            "route_not_found",
            "{method} {path}: {}",
            answer.text
        );
        assert!(answer.status < 500, "{method} {path}: {}", answer.text);
    }
    // The checks above can fail: an unknown route and a wrong method are told apart.
    admin
        .get("/api/v1/nothing-here")
        .await
        .expect_error(404, "route_not_found");
    admin
        .request(Method::DELETE, "/api/v1/orders", None)
        .await
        .expect_error(405, "method_not_allowed");
}

#[tokio::test]
async fn the_document_describes_auth_errors_and_money() {
    let doc = serde_json::to_value(dropline_web::openapi()).unwrap();
    assert_eq!(doc["components"]["securitySchemes"]["bearer_token"]["scheme"], "bearer");
    let money = &doc["components"]["schemas"]["Money"];
    assert_eq!(money["required"], json!(["amount", "currency"]));
    assert_eq!(money["properties"]["amount"]["type"], "string");
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            let Some(operation) = item.get(method) else { continue };
            let public = path == "/healthz" || path.ends_with("/openapi.json");
            // Webhooks are signed by their platform, not authenticated by a token, and a
            // body that is not the platform's payload is a 400.
            let webhook = path.starts_with("/webhooks/");
            let label = format!("{method} {path}");
            if !public {
                assert!(operation["responses"].get("401").is_some(), "{label} documents no 401");
            }
            if webhook {
                for status in ["400", "401", "404", "413"] {
                    assert!(
                        operation["responses"].get(status).is_some(),
                        "{label} documents no {status}"
                    );
                }
            } else if operation.get("requestBody").is_some() {
                for status in ["413", "422"] {
                    assert!(
                        operation["responses"].get(status).is_some(),
                        "{label} documents no {status}"
                    );
                }
            }
        }
    }
}

#[test]
fn the_document_is_unchanged() {
    let doc = serde_json::to_value(dropline_web::openapi()).unwrap();
    insta::assert_json_snapshot!("openapi", doc);
}
