//! The outside world: outside formats turned into domain types at the edge; nothing past this
//! crate sees a partner's format.
//!
//! Each module knows one partner or file format and hands back `dropline-domain` types (an
//! [`IncomingOrder`](dropline_domain::order::IncomingOrder), never a partner's rows or JSON).

pub mod agent_csv;
pub mod aliexpress;
pub mod cj;
pub mod csv_orders;
mod http_text;
pub mod pace;
pub mod price_list;
pub mod shopify;
pub mod signature;
pub mod storefronts;
pub mod suppliers;
pub mod tracking_service;
pub mod webhooks;
pub mod wix;
pub mod woocommerce;

use std::sync::Arc;

/// Installs ring as the process's TLS crypto provider (once; later calls do nothing). Call it
/// before any HTTP client is built: reqwest's TLS here comes without a provider of its own.
pub fn install_crypto_provider() {
    // Fails only when a provider is already installed, which is just as good.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The engine wired to the storefront platforms (it receives their webhooks and calls their
/// APIs: write-back, catalogue pull) and to the suppliers' APIs (placement), over HTTPS.
pub fn connected(app: dropline_app::App) -> dropline_app::App {
    app.with_webhook_formats(webhooks::webhook_formats())
        .with_storefronts(Arc::new(storefronts::HttpStorefronts::new()))
        .with_suppliers(Arc::new(suppliers::HttpSuppliers::new()))
        .with_agent_sheets(Arc::new(agent_csv::AgentCsv))
}
