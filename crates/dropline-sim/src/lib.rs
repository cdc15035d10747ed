//! Simulated partners of dropline — storefronts now, suppliers and carriers later — that
//! speak the real wire formats and misbehave on request (duplicates, retries, concurrent
//! deliveries, bad data), for the tests, the demo and the load benchmark.
//!
//! A simulator is an outsider: it NEVER touches dropline's internals (no store, no use case,
//! no domain type). It knows dropline only by its HTTP endpoints and its public JSON format,
//! exactly as a real storefront would, so what it proves holds for real partners too.
//!
//! - [`OrderGenerator`]: realistic, deterministic order bodies of dropline's API format, with
//!   a chosen share of invalid addresses and unpaid orders.
//! - [`ApiStorefront`]: a storefront of the `api` platform delivering those bodies to
//!   `POST /api/v1/orders` at least once, retried, with duplicates (some concurrent).
//! - [`ShopifySim`], [`WooCommerceSim`], [`WixSim`]: the platforms themselves — their API on a
//!   local port (the endpoints dropline calls back, with credentials, paging, 422s and injected
//!   429/500) and their order webhooks in the real format and signature, delivered with retries,
//!   duplicates, out-of-order versions and stale redeliveries on request.
//! - [`TrackingServiceSim`]: a parcel-tracking aggregator (17TRACK's API v2.2) with scripted
//!   journeys on a simulated clock, signed pushes and injected faults.

pub mod orders;
pub mod storefront;
pub mod supplier;
pub mod tracking;

pub use orders::{AddressFault, CatalogueItem, GeneratedOrder, OrderGenerator};
pub use storefront::{
    ApiRequest, ApiStorefront, Attempt, Delivery, DeliveryError, DeliveryKind, FulfilledLine, Fulfillment,
    Misbehaviour, OrderNote, OrderOutcome, OrderRun, ProductIds, Refund, RefundTransaction, RefundedLine, Retry,
    Scenario, ShopifySim, SimConfig, SimError, SimProduct, SimVariant, Topic, TrackingItem, WebhookDelivery,
    WebhookEvent, WixSim, WooCommerceSim,
};
pub use supplier::aliexpress::{AeFault, AeSimLine, AeSimOrder, AeSimProduct, AeSimSku, AliExpressSim};
pub use supplier::{CjOrder, CjProduct, CjSim, CjVariant};
pub use tracking::{JourneyDelays, ScriptedEvent, TrackingServiceSim, WebhookInbox};

/// A simulator's HTTP server; stops when the last handle to it is dropped.
pub(crate) struct Server(tokio::task::JoinHandle<()>);

impl Drop for Server {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Serves `app` on a free port of 127.0.0.1.
pub(crate) async fn serve_on_loopback(app: axum::Router) -> std::io::Result<(std::net::SocketAddr, Server)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((address, Server(task)))
}

/// A new HTTP client. In a build where another crate gives reqwest its TLS support without a
/// crypto provider (dropline's connectors pick ring), every client needs a provider installed
/// first, even one that only speaks plain HTTP on 127.0.0.1: this installs ring once.
pub fn http_client() -> reqwest::Client {
    // Fails only when a provider is already installed, which is just as good.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}
