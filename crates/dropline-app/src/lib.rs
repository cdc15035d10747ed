//! dropline's use cases (ingest, validate, review, route, the manual supplier flow) and the
//! ports they need ([`ports::Store`], [`ports::JobQueue`]).
//!
//! This crate never names a database, an HTTP framework or a partner API: adapters plug in
//! through the ports.

pub mod ports;
