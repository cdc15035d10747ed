//! Simulated suppliers: their APIs on a local port, speaking the supplier's wire format, with
//! the faults a real supplier shows (expired tokens, 500s, answers lost after the work is done).

pub mod aliexpress;
pub mod cj;

pub use cj::{CjOrder, CjProduct, CjSim, CjVariant};
