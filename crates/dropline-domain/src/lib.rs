//! dropline's domain: the types of a dropshipping order's journey, their state machines,
//! address validation and routing.
//!
//! This crate is pure: it never does I/O, never awaits, never reads a clock (callers pass
//! the time in) and never uses floating point for money.

pub mod account;
pub mod address;
pub mod after_sale;
pub mod carrier;
pub mod catalog;
pub mod clocks;
pub mod ids;
pub mod inventory;
pub mod ledger;
pub mod mapping;
pub mod money;
pub mod order;
pub mod payout;
pub mod placement;
pub mod pricing;
pub mod routing;
pub mod state;
pub mod submission;
pub mod timeline;
pub mod tracking;
pub mod validation;

pub use time::OffsetDateTime;
