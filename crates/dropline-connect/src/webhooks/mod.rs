//! The webhook formats of the storefront platforms, one [`WebhookFormat`] each:
//! [`ShopifyWebhooks`], [`WooCommerceWebhooks`] and [`WixWebhooks`].
//!
//! Every format verifies the raw body before anything is parsed (HMAC-SHA256 for Shopify
//! and WooCommerce, an RS256 JWT for Wix), then reads the platform's order into an
//! [`IncomingOrder`](dropline_domain::order::IncomingOrder). A payload that is not the
//! platform's order is refused with [`WebhookError::BadPayload`] naming the JSON path of
//! the bad field. An order that is readable but incomplete (no shipping address, an unknown
//! SKU) is not refused here: validation holds it later.
//!
//! [`WebhookError::BadPayload`]: dropline_app::storefront::WebhookError::BadPayload

pub(crate) mod json;

use crate::shopify::ShopifyWebhooks;
use crate::wix::WixWebhooks;
use crate::woocommerce::WooCommerceWebhooks;
use dropline_app::storefront::{WebhookFormat, WebhookRequest};
use dropline_domain::address::Address;
use std::sync::Arc;

/// The webhook formats of every connected platform, with their default settings (Shopify
/// refuses deliveries triggered more than 48 hours ago; the clock is the system's).
pub fn webhook_formats() -> Vec<Arc<dyn WebhookFormat>> {
    vec![
        Arc::new(ShopifyWebhooks::new()),
        Arc::new(WooCommerceWebhooks::new()),
        Arc::new(WixWebhooks::new()),
    ]
}

/// Whether an address says nowhere: no street, city, postal code or country (a digital
/// order's empty shipping block).
pub(crate) fn is_blank_address(address: &Address) -> bool {
    [
        address.address1.as_str(),
        address.city.as_str(),
        address.postal_code.as_str(),
        address.country_code.as_str(),
    ]
    .iter()
    .all(|part| part.trim().is_empty())
}

/// The shipping address; when it is absent or blank, the billing address if that has one;
/// else what there is (maybe an empty address, which validation holds later).
pub(crate) fn shipping_or_billing(shipping: Option<Address>, billing: Option<Address>) -> Address {
    match (shipping, billing) {
        (Some(shipping), _) if !is_blank_address(&shipping) => shipping,
        (_, Some(billing)) if !is_blank_address(&billing) => billing,
        (Some(shipping), _) => shipping,
        (None, billing) => billing.unwrap_or_default(),
    }
}

/// The first of the names that is not blank, joined from first and last names.
pub(crate) fn full_name(first: Option<&str>, last: Option<&str>) -> Option<String> {
    let name = format!("{} {}", first.unwrap_or("").trim(), last.unwrap_or("").trim());
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_string())
}

/// A header's value, `None` when absent or blank.
pub(crate) fn header<'a>(request: &'a WebhookRequest<'_>, name: &str) -> Option<&'a str> {
    request.header(name).map(str::trim).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use dropline_domain::catalog::Platform;

    #[test]
    fn one_format_per_connected_platform() {
        let platforms: Vec<Platform> = webhook_formats().iter().map(|f| f.platform()).collect();
        assert_eq!(platforms, vec![Platform::Shopify, Platform::Woocommerce, Platform::Wix]);
    }
}
