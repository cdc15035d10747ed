//! CJ Dropshipping Open API v2.0 (`https://developers.cjdropshipping.com/api2.0/v1`): its
//! response envelope, its error codes, the data of its freight, catalogue, order and tracking
//! calls, and [`client::CjClient`] making those calls. The readers ([`envelope`], [`freight`],
//! [`catalog`], [`orders`], [`tracking`]) are pure: bodies in, typed values or a [`CjError`]
//! out; no HTTP, no clock.
//!
//! # Envelope
//!
//! Every answer, success or not and normally with HTTP 200, is
//! `{"code": 200, "result": true, "message": "…", "data": …, "requestId": "…"}`.
//! [`envelope::parse`] gives `data` as the caller's type when `code` is 200, else the error
//! for the code. CJ asks callers to decide on the code, never the message (its error-code
//! appendix, `standard/ps-code.html`), so the message is kept only for people.
//!
//! # Codes
//!
//! | CJ code | Meaning | [`CjError`] | Retry? | New token? | Source |
//! |---|---|---|---|---|---|
//! | 200 | success | — | | | ps-code |
//! | 401 | token expired | `TokenExpired` | no | yes | CJ's own MCP client (`order.tool.ts`) |
//! | 1600001 | invalid API key or access token | `TokenInvalid` | no | yes | ps-code ("get new access token") |
//! | 1600002 | access token empty | `TokenInvalid` | no | yes | ps-code |
//! | 1600003 | invalid refresh token | `TokenInvalid` | no | yes | ps-code ("get new access token") |
//! | 1600030 | token invalidation failed | `TokenInvalid` | no | yes | ps-code ("get new access token") |
//! | 1600004, 1600008 | authorization failed, check CJ account | `Credentials` | no | no | ps-code |
//! | 1600005 | API key wrong | `Credentials` | no | no | ps-code |
//! | 1600006 | developer account not found | `Credentials` | no | no | ps-code |
//! | 1600007 | user bound to another developer account | `Credentials` | no | no | ps-code |
//! | 1600031 | invalid platform token (the `platformToken` header, not CJ's token) | `Credentials` | no | no | ps-code |
//! | 1600000 | system busy | `Unavailable` | yes | no | ps-code (ZH: retry later, at most 3 times) |
//! | 500–599 | server error | `Unavailable` | yes | no | HTTP meaning; not in CJ's table |
//! | 429 (HTTP status or code) | too many requests | `RateLimited`, with the `Retry-After` wait | yes | no | HTTP meaning; not in CJ's table |
//! | any other, message starting "Too Many Requests" | daily call limit reached | `RateLimited` | yes | no | CJ's rate-limit page quotes this text; its code was not found |
//! | 1600009 | token exchange: code does not exist | `Invalid` | no | no | ps-code |
//! | 1600010, 1600011 | redirect / callback URI empty | `Invalid` | no | no | ps-code |
//! | 1600100 | param error | `Invalid` | no | no | the error example on CJ's logistics page |
//! | 400 | bad request | `Invalid` | no | no | HTTP meaning |
//! | 1600300 | order not found (also: empty `orderId`) | read as "no such order" by `getOrderDetail` and `deleteOrder`, else `Rejected` | no | no | CJ's shopping page (§1.7) |
//! | any other | business refusal or unknown | `Rejected` (code and message kept) | no | no | default |
//!
//! CJ's MCP client also treats 1600100 as an expired token, but CJ's logistics page shows
//! 1600100 as "Param error"; the page is followed here, since an expired token is reported as
//! 401 or 1600001 as well. A body that is not the envelope (not JSON, no integer `code`, `result`
//! not a boolean, code 200 with `result` false, or `data` missing or of the wrong shape) is
//! [`CjError::Malformed`], not retried.
//!
//! # Tokens
//!
//! Access tokens live 15 days, refresh tokens 180 days; `getAccessToken` may be called once
//! every 5 minutes and `refreshAccessToken` 5 times a minute (CJ's auth and limit pages). On
//! [`CjError::needs_new_token`] a caller refreshes, and falls back to `getAccessToken` with the
//! API key when the refresh token itself is refused (1600003).
//!
//! # HTTP
//!
//! [`client::CjClient`] makes the calls, keeping the access token: obtained on first use,
//! refreshed before it expires, and obtained again once when CJ refuses it. A call whose
//! answer never arrived is [`CjError::Transport`] (retryable). HTTP 429 is
//! [`CjError::RateLimited`] with [`CjError::retry_after`]; after an error for which
//! [`CjError::outcome_unknown`] holds (lost, cut or failed answer), a creation or cancellation
//! may have happened: look the order up before repeating it.
//!
//! | Call | Endpoint | Gives |
//! |---|---|---|
//! | `freight` | `POST /logistic/freightCalculate` | quotes per method |
//! | `variant` | `GET /product/variant/queryByVid?vid=` | SKU and exact sell price, `None` when CJ no longer sells it |
//! | `variant_entry` | `GET /product/variant/queryByVid?vid=` | the same, a bad price kept as its reason instead of failing |
//! | `stock`, `stock_by_warehouse`, `stock_entry` | `GET /product/stock/queryByVid?vid=` | units summed over warehouses (`totalInventoryNum`, else `storageNum`) |
//! | `product` | `GET /product/query?pid=` | the product's name and SKU, `None` when CJ has no such product |
//! | `product_variants` | `GET /product/variant/query?pid=` | every variant with SKU, options and price, each bad price kept as its reason |
//! | `product_stock` | `GET /product/stock/getInventoryByPid?pid=` | every variant's units, each bad count kept as its reason |
//! | `create_order` | `POST /shopping/order/createOrderV2` | CJ's order id; the order number is the idempotency key |
//! | `order_detail`, `order_by_number` | `GET /shopping/order/getOrderDetail?orderId=` | status, amounts, tracking, lines |
//! | `list_orders`, `list_orders_by_status` | `GET /shopping/order/list?pageNum=&pageSize=(&status=)` | a page of orders, for reconciliation |
//! | `track_info` | `GET /logistic/trackInfo?trackNumber=…` (key repeated) | parcel status per number |
//! | `cancel_order` | `DELETE /shopping/order/deleteOrder?orderId=` | cancelled, not found, or refused with CJ's code |
//!
//! # Sources and what is not verified
//!
//! Field names and status values of the variant, stock, order list and order detail calls come
//! from CJ's product and shopping pages (a copy of them, "CJ API Docs 015/017", was read, not
//! the live pages); the order status table there lists `CREATED`, `IN_CART`, `UNPAID`,
//! `UNSHIPPED`, `SHIPPED`, `DELIVERED`, `CANCELLED` (and `OTHER` as a filter value). Not
//! documented, and read leniently here:
//!
//! - What `variant/queryByVid` and `stock/queryByVid` answer for a variant CJ no longer sells:
//!   `data: null` is read as `None`; an error code would come back as an error.
//! - The order list's wrapper (`pageNum`, `pageSize`, `total`, `list`): CJ's table shows only
//!   the entries; the wrapper is what CJ's own MCP client reads. CJ's page also says the
//!   `status` filter defaults to `CANCELLED`; if so, an unfiltered list misses orders and
//!   reconciliation should list each status ([`client::CjClient::list_orders_by_status`]).
//! - `deleteOrder`: which statuses CJ accepts, what it answers on success, and its refusal
//!   codes. The client treats any success as cancelled and any business refusal as
//!   [`CancelOutcome::Refused`] with CJ's code; whether CJ deletes the order or keeps it as
//!   `CANCELLED` is unknown. CJ offers no other cancel call for API orders.
//! - `trackInfo`: only CJ's single example is known (no event list); the status stays CJ's text
//!   and numbers CJ does not know may be missing from the answer.
//! - `Retry-After` on a 429, and the 429 body: CJ documents neither.
//!
//! # Values
//!
//! CJ prints amounts as JSON numbers (`25.30`) or as text (`"25.30"`); both are read exactly
//! into [`Money`](dropline_domain::money::Money) from their decimal text (USD, and CNY for the
//! `…Cn` / `…CNY` fields). Negative amounts, more decimals than the currency has, day ranges
//! that are not `N` or `N-M`, and missing required fields are [`CjError::Malformed`] naming
//! the field (`data[0].logisticPrice: …`). Amounts above a plausible ceiling (a variant over
//! 10,000.00 USD, an order over 1,000,000.00 USD) and a variant price of zero are refused the
//! same way; an order status outside CJ's table is [`CjOrderStatus::Unknown`], its text kept.
//! See [`freight`], [`catalog`], [`product`], [`orders`] and [`tracking`]; [`product`] says
//! how one variant's bad data is kept apart from its product's other variants.

pub mod catalog;
pub mod client;
pub mod envelope;
pub mod freight;
pub mod orders;
pub mod product;
pub mod tracking;
mod values;
pub mod webhook;

pub use envelope::CjError;
pub use orders::{CancelOutcome, CjOrderStatus};
pub use values::DayRange;
