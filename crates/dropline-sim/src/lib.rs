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

pub mod orders;
pub mod storefront;

pub use orders::{AddressFault, CatalogueItem, GeneratedOrder, OrderGenerator};
pub use storefront::{ApiStorefront, Delivery, DeliveryError, OrderOutcome, Retry};
