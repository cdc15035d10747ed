//! The outside world: outside formats turned into domain types at the edge; nothing past this
//! crate sees a partner's format.
//!
//! Each module knows one partner or file format and hands back `dropline-domain` types (an
//! [`IncomingOrder`](dropline_domain::order::IncomingOrder), never a partner's rows or JSON).

pub mod csv_orders;
