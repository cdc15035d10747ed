//! dropline's use cases (ingest, validate, review, route, the manual supplier flow) and the
//! ports they need ([`ports::Store`], [`ports::JobQueue`]).
//!
//! This crate never names a database, an HTTP framework or a partner API: adapters plug in
//! through the ports. State changes only through the domain's state machines, and every
//! change is committed with its timeline entries and the jobs it causes in one change set.

pub mod accounts;
pub mod after_sale;
pub mod agent;
pub mod breakdown;
mod catalog_cache;
pub mod catalogue;
pub mod connected;
pub mod error;
pub mod follow;
pub mod inventory;
pub mod jobs;
pub mod mail;
pub mod metrics;
pub mod notify;
pub mod payouts;
pub mod placement;
pub mod ports;
pub mod rates;
pub mod reconcile;
pub mod reminders;
pub mod scope;
pub mod service;
pub mod store_settings;
pub mod storefront;
pub mod supplier;
pub mod token;
pub mod tracking;

pub use connected::WebhookOutcome;
pub use error::{AppError, FieldError};
pub use scope::Scope;
pub use service::{
    App, AppEvent, BulkOutcome, Decision, IngestOutcome, NewOffer, NewProduct, NewStore, NewSupplier, ParcelAction,
};
