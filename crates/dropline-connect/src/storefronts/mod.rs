//! Calls to the storefront platforms' APIs: [`HttpStorefronts`] implements the engine's
//! [`StorefrontClient`] port for Shopify (REST Admin API 2025-07), WooCommerce (REST API v3
//! with the Shipment Tracking extension) and Wix (eCommerce and Stores APIs).
//!
//! Every write is made idempotent by reading first: a fulfillment whose tracking number the
//! order already carries is not created again, and a refund carrying dropline's key is found
//! instead of made twice, so a job retried after a timeout does no harm. Listing pushes
//! (stock, prices, visibility) set values, so writing them again changes nothing.

mod http;
mod listing;
mod shopify;
pub(crate) mod wix;
mod woocommerce;

use async_trait::async_trait;
use dropline_app::storefront::{
    FulfillmentPush, ListingPush, ListingReceipt, ProductPage, RefundPush, RefundReceipt, ShopInfo, StatusPush,
    StorefrontClient, StorefrontError, StorefrontTarget,
};
use dropline_domain::catalog::Platform;
use std::sync::Arc;
use std::time::Duration;

/// The storefront client over HTTPS; one value serves every store and platform. Cloning is
/// cheap (the connection pool and what the client remembers of the shops are shared).
#[derive(Clone, Debug)]
pub struct HttpStorefronts {
    http: reqwest::Client,
    timeout: Duration,
    /// Shopify shops' locations and variants' inventory items, read once for listing pushes.
    shopify_listings: Arc<shopify::ListingCache>,
}

impl HttpStorefronts {
    /// How long one call may take, connection included, unless [`Self::with_timeout`] says.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

    /// A client with the default timeout. Installs ring as the process's TLS crypto provider
    /// when none is installed yet.
    pub fn new() -> Self {
        crate::install_crypto_provider();
        let builder = || {
            reqwest::Client::builder()
                .user_agent(concat!("dropline/", env!("CARGO_PKG_VERSION")))
                .connect_timeout(Duration::from_secs(10))
                // A redirect would carry the credentials headers to another host: never follow.
                .redirect(reqwest::redirect::Policy::none())
        };
        let http = match builder().build() {
            Ok(http) => http,
            Err(error) => {
                // The system's CA certificates could not be loaded: plain-HTTP addresses (a
                // simulator, a local proxy) still work, HTTPS calls fail at the handshake.
                tracing::warn!(%error, "no system CA certificates: HTTPS calls to storefronts will fail");
                builder()
                    .tls_certs_only(std::iter::empty())
                    .build()
                    .expect("an HTTP client without TLS roots can always be built")
            }
        };
        Self {
            http,
            timeout: Self::DEFAULT_TIMEOUT,
            shopify_listings: Arc::default(),
        }
    }

    /// The same client with another limit on each call (connecting, sending and reading the
    /// whole answer).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The limit on each call.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }
}

impl Default for HttpStorefronts {
    fn default() -> Self {
        Self::new()
    }
}

/// The platforms this client speaks to; the others have no API to call.
fn unsupported(platform: Platform) -> StorefrontError {
    StorefrontError::NotConfigured(format!(
        "stores of the `{platform}` platform have no storefront API to call"
    ))
}

#[async_trait]
impl StorefrontClient for HttpStorefronts {
    async fn check(&self, target: &StorefrontTarget) -> Result<ShopInfo, StorefrontError> {
        match target.platform {
            Platform::Shopify => shopify::check(&shopify::api(self, target)?).await,
            Platform::Woocommerce => woocommerce::check(&woocommerce::api(self, target)?).await,
            Platform::Wix => wix::check(&wix::api(self, target)?).await,
            other => Err(unsupported(other)),
        }
    }

    async fn push_fulfillment(&self, target: &StorefrontTarget, push: &FulfillmentPush) -> Result<(), StorefrontError> {
        match target.platform {
            Platform::Shopify => shopify::push_fulfillment(&shopify::api(self, target)?, push).await,
            Platform::Woocommerce => woocommerce::push_fulfillment(&woocommerce::api(self, target)?, push).await,
            Platform::Wix => wix::push_fulfillment(&wix::api(self, target)?, push).await,
            other => Err(unsupported(other)),
        }
    }

    async fn push_status(
        &self,
        target: &StorefrontTarget,
        order_external_id: &str,
        status: &StatusPush,
    ) -> Result<(), StorefrontError> {
        match target.platform {
            Platform::Shopify => shopify::push_status(&shopify::api(self, target)?, order_external_id, status).await,
            Platform::Woocommerce => {
                woocommerce::push_status(&woocommerce::api(self, target)?, order_external_id, status).await
            }
            Platform::Wix => wix::push_status(&wix::api(self, target)?, order_external_id, status).await,
            other => Err(unsupported(other)),
        }
    }

    async fn push_refund(
        &self,
        target: &StorefrontTarget,
        push: &RefundPush,
    ) -> Result<RefundReceipt, StorefrontError> {
        match target.platform {
            Platform::Shopify => shopify::push_refund(&shopify::api(self, target)?, push).await,
            Platform::Woocommerce => woocommerce::push_refund(&woocommerce::api(self, target)?, push).await,
            Platform::Wix => wix::push_refund(&wix::api(self, target)?, push).await,
            other => Err(unsupported(other)),
        }
    }

    async fn products_page(
        &self,
        target: &StorefrontTarget,
        cursor: Option<&str>,
    ) -> Result<ProductPage, StorefrontError> {
        match target.platform {
            Platform::Shopify => shopify::products_page(&shopify::api(self, target)?, target.currency, cursor).await,
            Platform::Woocommerce => {
                woocommerce::products_page(&woocommerce::api(self, target)?, target.currency, cursor).await
            }
            Platform::Wix => wix::products_page(&wix::api(self, target)?, target.currency, cursor).await,
            other => Err(unsupported(other)),
        }
    }

    async fn push_listings(
        &self,
        target: &StorefrontTarget,
        pushes: &[ListingPush],
    ) -> Result<ListingReceipt, StorefrontError> {
        match target.platform {
            Platform::Shopify => {
                let api = shopify::api(self, target)?;
                shopify::push_listings(&api, &self.shopify_listings, target.currency, pushes).await
            }
            Platform::Woocommerce => {
                woocommerce::push_listings(&woocommerce::api(self, target)?, target.currency, pushes).await
            }
            Platform::Wix => wix::push_listings(&wix::api(self, target)?, target.currency, pushes).await,
            other => Err(unsupported(other)),
        }
    }
}
