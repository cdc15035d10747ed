//! [`Api`]: requests to the test app with one token, with a helper per endpoint; and
//! [`TestResponse`]: the status and body of an answer, with assertions.

use crate::TestApp;
use reqwest::Method;
use serde_json::{Value, json};

/// An answer: status, headers and body (parsed as JSON when it is JSON).
#[derive(Clone, Debug)]
pub struct TestResponse {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    /// The body as JSON (`Value::Null` when empty or not JSON).
    pub body: Value,
    /// The body as text.
    pub text: String,
}

impl TestResponse {
    /// The body, after asserting the status.
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.text);
        self.body
    }

    /// The body, after asserting a 2xx status.
    #[track_caller]
    pub fn ok(self) -> Value {
        assert!(
            (200..300).contains(&self.status),
            "expected success, got {}: {}",
            self.status,
            self.text
        );
        self.body
    }

    /// `error.code` of an error answer (empty when there is none).
    pub fn error_code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }

    /// `error.message` of an error answer.
    pub fn error_message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or_default()
    }

    /// The refused fields of a 422, as (field, reason).
    pub fn field_errors(&self) -> Vec<(String, String)> {
        self.body["error"]["fields"]
            .as_array()
            .map(|fields| {
                fields
                    .iter()
                    .map(|f| {
                        (
                            f["field"].as_str().unwrap_or_default().to_string(),
                            f["reason"].as_str().unwrap_or_default().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The names of the refused fields of a 422.
    pub fn refused_fields(&self) -> Vec<String> {
        self.field_errors().into_iter().map(|(field, _)| field).collect()
    }

    /// Asserts an error answer with this status and code.
    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status, self.error_code()),
            (status, code),
            "unexpected answer: {}",
            self.text
        );
    }
}

/// Requests with one token (or none).
#[derive(Clone)]
pub struct Api<'a> {
    app: &'a TestApp,
    token: Option<String>,
}

impl<'a> Api<'a> {
    pub(crate) fn new(app: &'a TestApp, token: Option<String>) -> Self {
        Self { app, token }
    }

    /// A request; `path` is relative to the server (`/api/v1/orders`).
    pub async fn request(&self, method: Method, path: &str, body: Option<&Value>) -> TestResponse {
        let mut request = self
            .app
            .http()
            .request(method, format!("{}{path}", self.app.base_url()));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        Self::send(request).await
    }

    /// A request with a raw body (broken JSON, oversized bodies, ...).
    pub async fn request_raw(&self, method: Method, path: &str, body: Vec<u8>) -> TestResponse {
        let mut request = self
            .app
            .http()
            .request(method, format!("{}{path}", self.app.base_url()))
            .header("content-type", "application/json")
            .body(body);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        Self::send(request).await
    }

    /// A webhook delivery: `POST path` with these headers and this exact body (no token).
    pub async fn webhook(&self, path: &str, headers: &[(String, String)], body: Vec<u8>) -> TestResponse {
        let mut request = self
            .app
            .http()
            .post(format!("{}{path}", self.app.base_url()))
            .header("content-type", "application/json")
            .body(body);
        for (name, value) in headers {
            request = request.header(name.as_str(), value.as_str());
        }
        Self::send(request).await
    }

    async fn send(request: reqwest::RequestBuilder) -> TestResponse {
        let response = request.send().await.expect("the test server answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("a readable body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        TestResponse {
            status,
            headers,
            body,
            text,
        }
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> TestResponse {
        self.request(Method::GET, path, None).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> TestResponse {
        self.request(Method::POST, path, Some(body)).await
    }

    /// `POST path` without a body.
    pub async fn post_empty(&self, path: &str) -> TestResponse {
        self.request(Method::POST, path, None).await
    }

    /// `PUT path` with a JSON body.
    pub async fn put(&self, path: &str, body: &Value) -> TestResponse {
        self.request(Method::PUT, path, Some(body)).await
    }

    // ---------------------------------------------------------------------------------------
    // One helper per endpoint
    // ---------------------------------------------------------------------------------------

    pub async fn healthz(&self) -> TestResponse {
        self.get("/healthz").await
    }

    pub async fn openapi(&self) -> TestResponse {
        self.get("/api/v1/openapi.json").await
    }

    pub async fn create_store(&self, body: &Value) -> TestResponse {
        self.post("/api/v1/stores", body).await
    }

    pub async fn list_stores(&self) -> TestResponse {
        self.get("/api/v1/stores").await
    }

    pub async fn get_store(&self, id: &str) -> TestResponse {
        self.get(&format!("/api/v1/stores/{id}")).await
    }

    pub async fn update_store_settings(&self, id: &str, body: &Value) -> TestResponse {
        self.put(&format!("/api/v1/stores/{id}/settings"), body).await
    }

    pub async fn create_supplier(&self, body: &Value) -> TestResponse {
        self.post("/api/v1/suppliers", body).await
    }

    /// `query` without the `?`, e.g. `store_id=…` (or empty).
    pub async fn list_suppliers(&self, query: &str) -> TestResponse {
        self.get(&with_query("/api/v1/suppliers", query)).await
    }

    pub async fn get_supplier(&self, id: &str) -> TestResponse {
        self.get(&format!("/api/v1/suppliers/{id}")).await
    }

    pub async fn create_product(&self, body: &Value) -> TestResponse {
        self.post("/api/v1/products", body).await
    }

    pub async fn list_products(&self, query: &str) -> TestResponse {
        self.get(&with_query("/api/v1/products", query)).await
    }

    pub async fn get_product(&self, id: &str) -> TestResponse {
        self.get(&format!("/api/v1/products/{id}")).await
    }

    pub async fn add_offer(&self, body: &Value) -> TestResponse {
        self.post("/api/v1/offers", body).await
    }

    pub async fn list_offers(&self, query: &str) -> TestResponse {
        self.get(&with_query("/api/v1/offers", query)).await
    }

    /// `POST /orders` (201 created, 200 resend).
    pub async fn post_order(&self, body: &Value) -> TestResponse {
        self.post("/api/v1/orders", body).await
    }

    pub async fn list_orders(&self, query: &str) -> TestResponse {
        self.get(&with_query("/api/v1/orders", query)).await
    }

    pub async fn count_orders(&self, query: &str) -> TestResponse {
        self.get(&with_query("/api/v1/orders/counts", query)).await
    }

    pub async fn get_order(&self, id: &str) -> TestResponse {
        self.get(&format!("/api/v1/orders/{id}")).await
    }

    pub async fn accept(&self, order_id: &str) -> TestResponse {
        self.post_empty(&format!("/api/v1/orders/{order_id}/accept")).await
    }

    pub async fn reject(&self, order_id: &str) -> TestResponse {
        self.post_empty(&format!("/api/v1/orders/{order_id}/reject")).await
    }

    pub async fn release(&self, order_id: &str) -> TestResponse {
        self.post_empty(&format!("/api/v1/orders/{order_id}/release")).await
    }

    pub async fn complete(&self, order_id: &str) -> TestResponse {
        self.post_empty(&format!("/api/v1/orders/{order_id}/complete")).await
    }

    pub async fn cancel(&self, order_id: &str) -> TestResponse {
        self.post_empty(&format!("/api/v1/orders/{order_id}/cancel")).await
    }

    /// `POST /orders/bulk` with `action` (`accept` or `reject`).
    pub async fn bulk(&self, action: &str, order_ids: &[&str]) -> TestResponse {
        self.post(
            "/api/v1/orders/bulk",
            &json!({ "action": action, "order_ids": order_ids }),
        )
        .await
    }

    pub async fn timeline(&self, order_id: &str) -> TestResponse {
        self.get(&format!("/api/v1/orders/{order_id}/timeline")).await
    }

    pub async fn order_messages(&self, order_id: &str) -> TestResponse {
        self.get(&format!("/api/v1/orders/{order_id}/messages")).await
    }

    /// The order's messages of one template (a customer email, a seller notice), as the
    /// outbox lists them.
    pub async fn order_messages_of(&self, order_id: &str, template: &str) -> Vec<Value> {
        let outbox = self.order_messages(order_id).await.expect(200);
        outbox["messages"]
            .as_array()
            .unwrap_or_else(|| panic!("no messages in {outbox}"))
            .iter()
            .filter(|m| m["template"] == template)
            .cloned()
            .collect()
    }

    pub async fn list_messages(&self, query: &str) -> TestResponse {
        self.get(&with_query("/api/v1/messages", query)).await
    }

    pub async fn get_supplier_order(&self, id: &str) -> TestResponse {
        self.get(&format!("/api/v1/supplier-orders/{id}")).await
    }

    pub async fn record_reference(&self, id: &str, body: &Value) -> TestResponse {
        self.post(&format!("/api/v1/supplier-orders/{id}/reference"), body)
            .await
    }

    pub async fn add_shipment(&self, id: &str, body: &Value) -> TestResponse {
        self.post(&format!("/api/v1/supplier-orders/{id}/shipments"), body)
            .await
    }

    pub async fn mark_shipped(&self, id: &str, body: &Value) -> TestResponse {
        self.post(&format!("/api/v1/supplier-orders/{id}/shipped"), body).await
    }

    pub async fn mark_delivered(&self, id: &str, body: &Value) -> TestResponse {
        self.post(&format!("/api/v1/supplier-orders/{id}/delivered"), body)
            .await
    }

    pub async fn mark_failed(&self, id: &str, body: &Value) -> TestResponse {
        self.post(&format!("/api/v1/supplier-orders/{id}/failed"), body).await
    }

    pub async fn reship(&self, id: &str, body: &Value) -> TestResponse {
        self.post(&format!("/api/v1/supplier-orders/{id}/reship"), body).await
    }

    pub async fn cancel_supplier_order(&self, id: &str) -> TestResponse {
        self.post_empty(&format!("/api/v1/supplier-orders/{id}/cancel")).await
    }

    pub async fn validate_address(&self, body: &Value) -> TestResponse {
        self.post("/api/v1/addresses/validate", body).await
    }
}

fn with_query(path: &str, query: &str) -> String {
    if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{query}")
    }
}
