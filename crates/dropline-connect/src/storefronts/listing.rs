//! What the three platforms' listing pushes (stock, prices, visibility) share: a [`Batch`] that
//! sends the calls of one push, counts them, waits out a short rate limit and gathers what the
//! platform refused, and the checks of a pushed price.
//!
//! A push is many writes. One the platform refuses (an unknown variant, a value it will not
//! take) is recorded against the variants or product it was for and the others go on; an
//! error that says the whole platform or account is unusable (5xx, a timeout, refused
//! credentials, an unreadable answer) ends the push, which the caller retries: every write
//! sets a value, so writing it again does no harm.

use super::http::{Answer, Api};
use dropline_app::storefront::{ListingPrice, ListingReceipt, StorefrontError};
use dropline_domain::money::{Currency, Money};
use reqwest::Method;
use std::time::Duration;

/// A 429 asking to wait longer than this ends the push with [`StorefrontError::RateLimited`].
pub(crate) const MAX_WAIT_PER_LIMIT: Duration = Duration::from_secs(10);
/// The waits for rate limits of one push add up to at most this.
pub(crate) const MAX_WAIT_PER_PUSH: Duration = Duration::from_secs(60);
/// How many 429s in a row one call takes before the push ends.
const MAX_LIMITED_ATTEMPTS: u32 = 5;
/// The wait after a 429 that names none.
const DEFAULT_WAIT: Duration = Duration::from_secs(1);

/// The calls of one push and what came of them.
pub(crate) struct Batch<'a> {
    api: &'a Api<'a>,
    requests: u32,
    refused: Vec<(String, String)>,
    waited: Duration,
}

impl<'a> Batch<'a> {
    pub(crate) fn new(api: &'a Api<'a>) -> Self {
        Self {
            api,
            requests: 0,
            refused: Vec::new(),
            waited: Duration::ZERO,
        }
    }

    /// Sends one call; every attempt counts as a request. A platform's rate limit is a normal
    /// part of a long push (Shopify's REST bucket empties at two calls a second): a 429 asking
    /// for a short wait is waited out and the call sent again, while the push's budget lasts.
    pub(crate) async fn send(
        &mut self,
        method: Method,
        path: &str,
        body: Option<String>,
    ) -> Result<Answer, StorefrontError> {
        let mut limited = 0;
        loop {
            self.requests += 1;
            match self.api.send(method.clone(), path, &[], body.clone()).await {
                Err(StorefrontError::RateLimited { retry_after }) => {
                    limited += 1;
                    let wait = retry_after.unwrap_or(DEFAULT_WAIT);
                    if limited >= MAX_LIMITED_ATTEMPTS
                        || wait > MAX_WAIT_PER_LIMIT
                        || self.waited + wait > MAX_WAIT_PER_PUSH
                    {
                        return Err(StorefrontError::RateLimited { retry_after });
                    }
                    tracing::debug!(
                        platform = self.api.platform,
                        path,
                        wait_ms = wait.as_millis() as u64,
                        "rate limited during a listing push: waiting"
                    );
                    self.waited += wait;
                    tokio::time::sleep(wait).await;
                }
                other => return other,
            }
        }
    }

    /// [`Self::send`] of a call for `ids` (variants or a product): a refusal (a 4xx other than
    /// 401, 403 and 429) is recorded against each of them and gives `None`; the errors that end
    /// the push are returned.
    pub(crate) async fn attempt(
        &mut self,
        ids: &[&str],
        method: Method,
        path: &str,
        body: Option<String>,
    ) -> Result<Option<Answer>, StorefrontError> {
        match self.send(method, path, body).await {
            Ok(answer) => Ok(Some(answer)),
            Err(StorefrontError::Refused(reason)) => {
                for id in ids {
                    self.refuse(id, reason.clone());
                }
                Ok(None)
            }
            Err(error) => Err(error),
        }
    }

    /// One call for several items (variants) at once; when the platform refuses it whole, each
    /// item is sent alone, so that only the ones at fault are refused. `body` writes the body
    /// for some of the items. The answers of the calls that went through come back.
    pub(crate) async fn attempt_each_on_refusal<T>(
        &mut self,
        items: &[T],
        id: impl Fn(&T) -> &str,
        method: Method,
        path: &str,
        body: impl Fn(&[T]) -> String,
    ) -> Result<Vec<Answer>, StorefrontError> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        if items.len() > 1 {
            match self.send(method.clone(), path, Some(body(items))).await {
                Ok(answer) => return Ok(vec![answer]),
                Err(StorefrontError::Refused(reason)) => {
                    tracing::debug!(platform = self.api.platform, path, %reason, "a call for several items was refused: sending each alone");
                }
                Err(error) => return Err(error),
            }
        }
        let mut answers = Vec::new();
        for item in items {
            let single = std::slice::from_ref(item);
            if let Some(answer) = self
                .attempt(&[id(item)], method.clone(), path, Some(body(single)))
                .await?
            {
                answers.push(answer);
            }
        }
        Ok(answers)
    }

    /// Records that `id` was not written, and why (a second reason for the same id is added to
    /// the first).
    pub(crate) fn refuse(&mut self, id: &str, reason: impl Into<String>) {
        let reason = reason.into();
        match self.refused.iter_mut().find(|(known, _)| known == id) {
            Some((_, reasons)) if !reasons.contains(&reason) => {
                reasons.push_str("; ");
                reasons.push_str(&reason);
            }
            Some(_) => {}
            None => self.refused.push((id.to_string(), reason)),
        }
    }

    pub(crate) fn receipt(self) -> ListingReceipt {
        ListingReceipt {
            requests: self.requests,
            refused: self.refused,
        }
    }
}

/// A platform id from a push, trimmed; `None` when blank.
pub(crate) fn id_of(text: &str) -> Option<&str> {
    Some(text.trim()).filter(|id| !id.is_empty())
}

/// A pushed price as it is written: in the store's currency and not negative, else the reason
/// it cannot be. A compare-at price not above the price would show no saving (or a false one):
/// it is written as none, on every platform alike.
pub(crate) fn checked_price(price: &ListingPrice, currency: Currency) -> Result<(Money, Option<Money>), String> {
    let check = |money: Money, what: &str| {
        if money.currency != currency {
            return Err(format!(
                "{what} {money} is not in the store's currency, {}",
                currency.code()
            ));
        }
        if money.minor < 0 {
            return Err(format!("{what} {money} is negative"));
        }
        Ok(money)
    };
    let selling = check(price.price, "price")?;
    let compare_at = match price.compare_at {
        Some(compare_at) => Some(check(compare_at, "compare-at price")?).filter(|was| was.minor > selling.minor),
        None => None,
    };
    Ok((selling, compare_at))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(minor: i64, code: &str) -> Money {
        Money::new(minor, Currency::parse(code).expect("currency"))
    }

    fn usd() -> Currency {
        Currency::parse("USD").expect("usd")
    }

    #[test]
    fn prices_are_checked_and_a_compare_at_not_above_the_price_is_none() {
        let check = |price: i64, compare_at: Option<i64>| {
            checked_price(
                &ListingPrice {
                    price: money(price, "USD"),
                    compare_at: compare_at.map(|minor| money(minor, "USD")),
                },
                usd(),
            )
            .map(|(price, compare_at)| (price.minor, compare_at.map(|m| m.minor)))
        };
        assert_eq!(check(1299, Some(1999)), Ok((1299, Some(1999))));
        assert_eq!(check(1299, None), Ok((1299, None)));
        assert_eq!(check(1299, Some(1299)), Ok((1299, None)));
        assert_eq!(check(1299, Some(999)), Ok((1299, None)));
        assert_eq!(check(0, Some(100)), Ok((0, Some(100))));
        assert!(check(-1, None).expect_err("negative").contains("negative"));
        assert!(check(100, Some(-5)).expect_err("negative").contains("compare-at"));
        let euros = checked_price(
            &ListingPrice {
                price: money(1299, "EUR"),
                compare_at: None,
            },
            usd(),
        );
        assert!(euros.expect_err("currency").contains("USD"));
    }

    #[test]
    fn ids_are_trimmed_and_blank_ones_refused() {
        assert_eq!(id_of(" 42 "), Some("42"));
        assert_eq!(id_of("  "), None);
    }
}
