//! The `api` platform: a storefront that POSTs dropline's own order JSON to
//! `/api/v1/orders` with the store's bearer token.

use super::{Delivery, DeliveryError, OrderOutcome, Retry};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{Barrier, Semaphore};
use tokio::task::JoinHandle;

/// A storefront of the `api` platform delivering orders to one dropline.
///
/// Fault injection: with [`Self::duplicates`] every order is delivered that many extra
/// times. For each order a random number of those duplicates (0 to all, drawn from
/// [`Self::seed`] and the order's place in the sequence of orders sent) is sent at the SAME
/// moment as the first delivery — a platform retrying a webhook it thinks timed out — and
/// the others one after another once those were answered. Cheap to clone; clones share the
/// sequence.
#[derive(Clone)]
pub struct ApiStorefront {
    base_url: String,
    token: String,
    http: reqwest::Client,
    duplicates: u32,
    seed: u64,
    retry: Retry,
    timeout: Duration,
    sequence: Arc<AtomicU64>,
}

impl fmt::Debug for ApiStorefront {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiStorefront")
            .field("base_url", &self.base_url)
            .field("token", &"[redacted]")
            .field("duplicates", &self.duplicates)
            .field("seed", &self.seed)
            .field("retry", &self.retry)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl ApiStorefront {
    /// A storefront sending to the dropline at `base_url` (`http://127.0.0.1:8080`) with a
    /// store's API token (or the operator's, with `store_id` in the bodies). No duplicates,
    /// the default [`Retry`], 30 seconds per attempt.
    pub fn new(base_url: impl Into<String>, token: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into().trim_end_matches('/').to_string(),
            token: token.into(),
            http: crate::http_client(),
            duplicates: 0,
            seed: 0,
            retry: Retry::default(),
            timeout: Duration::from_secs(30),
            sequence: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Delivers every order `extra` more times (see the type's documentation).
    pub fn duplicates(mut self, extra: u32) -> Self {
        self.duplicates = extra;
        self
    }

    /// The seed that decides how many duplicates race each first delivery.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// When a delivery is tried again.
    pub fn retry(mut self, retry: Retry) -> Self {
        self.retry = retry;
        self
    }

    /// How long one attempt may take before it counts as a transport error (and is retried).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// `POST /api/v1/orders` with `order` as the body, retried per [`Retry`]. Answers of
    /// any status are a [`Delivery`]; only a delivery no attempt got an answer to is an error.
    pub async fn deliver(&self, order: &Value) -> Result<Delivery, DeliveryError> {
        let url = format!("{}/api/v1/orders", self.base_url);
        let started = Instant::now();
        let max_attempts = self.retry.max_attempts.max(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let answer = self
                .http
                .post(&url)
                .bearer_auth(&self.token)
                .timeout(self.timeout)
                .json(order)
                .send()
                .await;
            // Reading the body is part of the answer: a body cut off is a transport error.
            let answer = match answer {
                Ok(response) => {
                    let status = response.status().as_u16();
                    response.text().await.map(|text| (status, text))
                }
                Err(err) => Err(err),
            };
            match answer {
                Ok((status, text)) if !(Retry::retries_status(status) && attempt < max_attempts) => {
                    return Ok(Delivery {
                        status,
                        latency: started.elapsed(),
                        body: serde_json::from_str(&text).unwrap_or(Value::Null),
                        attempts: attempt,
                    });
                }
                Ok(_) => {}
                Err(err) if attempt >= max_attempts => {
                    return Err(DeliveryError {
                        message: error_chain(&err),
                        attempts: attempt,
                        latency: started.elapsed(),
                    });
                }
                Err(_) => {}
            }
            tokio::time::sleep(self.retry.backoff(attempt)).await;
        }
    }

    /// Delivers one order and its duplicates.
    pub async fn send(&self, order: &Value) -> OrderOutcome {
        let racing = self.next_plan();
        self.send_planned(order.clone(), racing).await
    }

    /// Delivers every order (each with its duplicates), at most `concurrency` orders at a
    /// time, and returns the outcomes in the order of `orders`.
    pub async fn send_all(&self, orders: &[Value], concurrency: usize) -> Vec<OrderOutcome> {
        let permits = Arc::new(Semaphore::new(concurrency.max(1)));
        let mut running = Vec::with_capacity(orders.len());
        for order in orders {
            // Plans are drawn in the order of `orders`, not as tasks happen to run, so the
            // same seed gives the same plans whatever the scheduling.
            let racing = self.next_plan();
            let permit = Arc::clone(&permits).acquire_owned().await.ok();
            let storefront = self.clone();
            let order = order.clone();
            running.push(tokio::spawn(async move {
                let outcome = storefront.send_planned(order, racing).await;
                drop(permit);
                outcome
            }));
        }
        let mut outcomes = Vec::with_capacity(running.len());
        for (handle, order) in running.into_iter().zip(orders) {
            outcomes.push(join(handle, order).await);
        }
        outcomes
    }

    /// How many duplicates race the first delivery of the next order.
    fn next_plan(&self) -> usize {
        let index = self.sequence.fetch_add(1, Ordering::Relaxed);
        let mut rng = StdRng::seed_from_u64(self.seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        rng.random_range(0..=self.duplicates) as usize
    }

    async fn send_planned(&self, order: Value, racing: usize) -> OrderOutcome {
        let order = Arc::new(order);
        // The first wave waits at a barrier so that its deliveries leave together.
        let barrier = Arc::new(Barrier::new(racing + 1));
        let wave: Vec<JoinHandle<Result<Delivery, DeliveryError>>> = (0..=racing)
            .map(|_| {
                let storefront = self.clone();
                let order = Arc::clone(&order);
                let barrier = Arc::clone(&barrier);
                tokio::spawn(async move {
                    barrier.wait().await;
                    storefront.deliver(&order).await
                })
            })
            .collect();
        let mut deliveries = Vec::with_capacity(self.duplicates as usize + 1);
        for handle in wave {
            deliveries.push(match handle.await {
                Ok(delivery) => delivery,
                Err(err) => Err(lost_task(err)),
            });
        }
        for _ in racing..self.duplicates as usize {
            deliveries.push(self.deliver(&order).await);
        }
        OrderOutcome {
            external_id: external_id_of(&order),
            deliveries,
            racing,
        }
    }
}

fn external_id_of(order: &Value) -> String {
    order["external_id"].as_str().unwrap_or_default().to_string()
}

/// The outcome of a spawned order, or, when the runtime dropped the task, an outcome that
/// says so. A panic in the task is the caller's panic.
async fn join(handle: JoinHandle<OrderOutcome>, order: &Value) -> OrderOutcome {
    match handle.await {
        Ok(outcome) => outcome,
        Err(err) => OrderOutcome {
            external_id: external_id_of(order),
            deliveries: vec![Err(lost_task(err))],
            racing: 0,
        },
    }
}

fn lost_task(err: tokio::task::JoinError) -> DeliveryError {
    match err.try_into_panic() {
        Ok(panic) => std::panic::resume_unwind(panic),
        Err(err) => DeliveryError {
            message: format!("the delivery task was dropped: {err}"),
            attempts: 0,
            latency: Duration::ZERO,
        },
    }
}

/// An error with its sources, `outer: inner: innermost`.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use axum::Json;
    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::post;
    use serde_json::json;
    use std::collections::HashMap;
    use std::sync::Mutex;

    /// A stand-in for dropline's order endpoint: one order per external id (201 once, 200
    /// after), 401 without the token, 422 for `refuse-*`, and with `flaky` a 503 for the
    /// first request of each external id.
    #[derive(Default)]
    struct Endpoint {
        flaky: bool,
        requests: Mutex<HashMap<String, u32>>,
    }

    async fn post_order(
        State(endpoint): State<Arc<Endpoint>>,
        headers: HeaderMap,
        Json(body): Json<Value>,
    ) -> (StatusCode, Json<Value>) {
        if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer secret") {
            return (
                StatusCode::UNAUTHORIZED,
                Json(json!({"error": {"code": "unauthorized"}})),
            );
        }
        let external_id = body["external_id"].as_str().unwrap_or_default().to_string();
        let seen = {
            let mut requests = endpoint.requests.lock().unwrap();
            let count = requests.entry(external_id.clone()).or_default();
            *count += 1;
            *count
        };
        if external_id.starts_with("refuse") {
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(json!({"error": {"code": "invalid"}})),
            );
        }
        let status = match (endpoint.flaky, seen) {
            (true, 1) => StatusCode::SERVICE_UNAVAILABLE,
            (true, 2) | (false, 1) => StatusCode::CREATED,
            _ => StatusCode::OK,
        };
        (status, Json(json!({"id": format!("order-{external_id}")})))
    }

    async fn serve(flaky: bool) -> (String, Arc<Endpoint>) {
        let endpoint = Arc::new(Endpoint {
            flaky,
            ..Endpoint::default()
        });
        let routes = axum::Router::new()
            .route("/api/v1/orders", post(post_order))
            .with_state(Arc::clone(&endpoint));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, routes).await });
        (format!("http://{address}"), endpoint)
    }

    fn quick() -> Retry {
        Retry {
            max_attempts: 3,
            first_backoff: Duration::from_millis(1),
        }
    }

    #[tokio::test]
    async fn a_delivery_is_retried_after_an_error_answer_but_not_after_a_refusal() {
        let (url, endpoint) = serve(true).await;
        let storefront = ApiStorefront::new(&url, "secret").retry(quick());
        let delivery = storefront.deliver(&json!({"external_id": "a"})).await.unwrap();
        assert_eq!((delivery.status, delivery.attempts), (201, 2));
        assert_eq!(delivery.order_id(), Some("order-a"));
        let refused = storefront.deliver(&json!({"external_id": "refuse-1"})).await.unwrap();
        assert_eq!((refused.status, refused.attempts), (422, 1));
        let no_retry = ApiStorefront::new(&url, "secret").retry(Retry::never());
        let failed = no_retry.deliver(&json!({"external_id": "b"})).await.unwrap();
        assert_eq!((failed.status, failed.attempts), (503, 1));
        let wrong_token = ApiStorefront::new(&url, "other").deliver(&json!({})).await.unwrap();
        assert_eq!(wrong_token.status, 401);
        assert_eq!(endpoint.requests.lock().unwrap()["a"], 2);
    }

    #[tokio::test]
    async fn a_delivery_nobody_answers_is_an_error_after_every_attempt() {
        // A port that was just free: nothing listens there.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        drop(listener);
        let storefront = ApiStorefront::new(format!("http://{address}"), "secret").retry(quick());
        let err = storefront.deliver(&json!({"external_id": "a"})).await.unwrap_err();
        assert_eq!(err.attempts, 3);
        assert!(err.to_string().contains("3 attempt"), "{err}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_order_is_delivered_with_its_duplicates_some_racing() {
        let (url, endpoint) = serve(false).await;
        let storefront = ApiStorefront::new(&url, "secret").duplicates(3).seed(42);
        let orders: Vec<Value> = (0..40).map(|n| json!({"external_id": format!("o-{n}")})).collect();
        let outcomes = storefront.send_all(&orders, 4).await;
        assert_eq!(outcomes.len(), 40);
        for (outcome, order) in outcomes.iter().zip(&orders) {
            assert_eq!(outcome.external_id, order["external_id"]);
            assert_eq!(outcome.deliveries.len(), 4);
            assert_eq!(outcome.first_wave().len() + outcome.later().len(), 4);
            assert_eq!(outcome.created(), 1, "{:?}", outcome.statuses());
            assert_eq!(outcome.order_ids(), [format!("order-{}", outcome.external_id)]);
            assert!(
                outcome
                    .later()
                    .iter()
                    .all(|d| d.as_ref().is_ok_and(|d| d.status == 200))
            );
        }
        {
            let requests = endpoint.requests.lock().unwrap();
            assert_eq!(requests.len(), 40);
            assert!(requests.values().all(|count| *count == 4));
        }
        // Every plan occurs, and the same seed plans the same way.
        let plans: Vec<usize> = outcomes.iter().map(|o| o.racing).collect();
        for racing in 0..=3 {
            assert!(plans.contains(&racing), "{plans:?}");
        }
        let again = ApiStorefront::new(&url, "secret").duplicates(3).seed(42);
        let replans: Vec<usize> = (0..40).map(|_| again.next_plan()).collect();
        assert_eq!(plans, replans);
        let single = again.send(&json!({"external_id": "single"})).await;
        assert_eq!(single.deliveries.len(), 4);
    }
}
