//! The customer's tracking page, `GET /track/{token}`: server-rendered HTML in the store's
//! brand, with the order's items and each parcel's events on a timeline. No supplier name,
//! price or link is ever on it; every field is escaped (askama escapes HTML by default), and
//! the page allows no script at all (Content-Security-Policy).

use crate::AppState;
use askama::Template;
use axum::Extension;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use dropline_app::AppError;
use dropline_app::after_sale::NewReturn;
use dropline_app::follow::TrackingPage;
use dropline_domain::after_sale::{LineUnits, ReturnReason};
use dropline_domain::ledger::ReturnState;
use dropline_domain::state::{OrderState, ShipmentState};
use std::net::SocketAddr;
use time::OffsetDateTime;

struct ItemView {
    title: String,
    variant: Option<String>,
    quantity: u32,
}

struct EventView {
    label: &'static str,
    location: Option<String>,
    note: Option<String>,
    when: String,
}

struct ParcelPage {
    carrier: String,
    tracking_number: String,
    tracking_url: Option<String>,
    state_label: &'static str,
    state_class: &'static str,
    expected: Option<String>,
    events: Vec<EventView>,
}

#[derive(Template)]
#[template(path = "track.html")]
struct TrackTemplate {
    store_name: String,
    logo_url: Option<String>,
    support_email: Option<String>,
    website_url: Option<String>,
    order_number: String,
    placed_on: String,
    order_status: &'static str,
    items: Vec<ItemView>,
    parcels: Vec<ParcelPage>,
    token: String,
    /// Lines that can still be returned: (field name, title, units).
    returnable: Vec<(String, String, u32)>,
    /// The customer's returns: (state, what).
    returns: Vec<(String, String)>,
    notice: Option<&'static str>,
    error: Option<String>,
}

/// Return requests a tracking page takes per hour, per order and per client: a form any
/// holder of the link can post must not be a way to flood the seller.
const RETURNS_PER_HOUR: usize = 5;

/// A small sliding-window counter per key, kept in memory (a restart forgets it, which a
/// limit of a few requests an hour can afford). Written here because the one the sign-in
/// uses is private to the accounts and keyed differently.
#[derive(Default)]
pub(crate) struct ReturnLimiter {
    seen: std::sync::Mutex<std::collections::HashMap<String, Vec<OffsetDateTime>>>,
}

impl ReturnLimiter {
    /// Counts a request of each key at `now`; false (and nothing counted) when one of them
    /// is over the limit.
    fn allow(&self, keys: &[String], now: OffsetDateTime) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let since = now - time::Duration::hours(1);
        seen.retain(|_, times| {
            times.retain(|t| *t > since);
            !times.is_empty()
        });
        if keys
            .iter()
            .any(|key| seen.get(key).is_some_and(|times| times.len() >= RETURNS_PER_HOUR))
        {
            return false;
        }
        for key in keys {
            seen.entry(key.clone()).or_default().push(now);
        }
        true
    }
}

#[derive(Template)]
#[template(
    source = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"robots\" content=\"noindex\"><title>Not found</title></head><body><main><h1>We could not find this page</h1><p>The link may be incomplete. Please use the link in your shipping email.</p></main></body></html>",
    ext = "html"
)]
struct NotFoundTemplate;

/// The words a customer reads for a parcel state.
pub fn shipment_label(state: ShipmentState) -> &'static str {
    match state {
        ShipmentState::InfoReceived => "Label created",
        ShipmentState::InTransit => "In transit",
        ShipmentState::Customs => "In customs",
        ShipmentState::OutForDelivery => "Out for delivery",
        ShipmentState::Delivered => "Delivered",
        ShipmentState::AttemptFailed => "Delivery attempt failed",
        ShipmentState::Exception => "Delivery problem",
        ShipmentState::ReturnedToSender => "Returned to sender",
        ShipmentState::Expired => "No recent updates",
    }
}

fn order_status(state: OrderState) -> &'static str {
    match state {
        OrderState::PendingReview | OrderState::Accepted | OrderState::OnHold => "Received",
        OrderState::InFulfillment => "Being prepared",
        OrderState::PartiallyShipped => "Partly shipped",
        OrderState::Shipped => "Shipped",
        OrderState::PartiallyDelivered => "Partly delivered",
        OrderState::Delivered | OrderState::Completed => "Delivered",
        OrderState::DeliveryFailed => "Delivery problem",
        OrderState::Cancelled | OrderState::Rejected => "Cancelled",
    }
}

fn day(at: OffsetDateTime) -> String {
    let format = time::macros::format_description!("[month repr:long] [day padding:none], [year]");
    at.format(&format).unwrap_or_else(|_| at.date().to_string())
}

fn moment(at: OffsetDateTime) -> String {
    let format = time::macros::format_description!("[month repr:short] [day padding:none], [year] [hour]:[minute] UTC");
    at.format(&format).unwrap_or_else(|_| at.to_string())
}

/// Only `https://` links (and `http://` ones) reach an `href` or `src`: a `javascript:` URL
/// in a field would otherwise run when clicked, escaping or not.
fn safe_url(url: Option<&str>) -> Option<String> {
    let url = url?.trim();
    let lower = url.to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://")).then(|| url.to_string())
}

fn render(
    page: TrackingPage,
    token: &str,
    notice: Option<&'static str>,
    error: Option<String>,
) -> Result<String, askama::Error> {
    let template = TrackTemplate {
        token: token.to_string(),
        returnable: page
            .returnable
            .iter()
            .map(|(id, title, variant, units)| {
                let title = match variant {
                    Some(variant) => format!("{title} ({variant})"),
                    None => title.clone(),
                };
                (format!("qty-{id}"), title, *units)
            })
            .collect(),
        returns: page
            .returns
            .iter()
            .map(|(state, what)| (return_label(*state).to_string(), what.clone()))
            .collect(),
        notice,
        error,
        logo_url: safe_url(page.brand.logo_url.as_deref()),
        support_email: page.brand.support_email.clone(),
        website_url: safe_url(page.brand.website_url.as_deref()),
        store_name: page.store_name,
        order_number: page.order_number,
        placed_on: day(page.placed_at),
        order_status: order_status(page.order_state),
        items: page
            .items
            .into_iter()
            .map(|(title, variant, quantity)| ItemView {
                title,
                variant,
                quantity,
            })
            .collect(),
        parcels: page
            .parcels
            .into_iter()
            .map(|p| ParcelPage {
                state_label: shipment_label(p.state),
                state_class: match p.state {
                    ShipmentState::Delivered => "delivered",
                    s if s.is_failure() => "failed",
                    _ => "",
                },
                expected: match (p.delivered_at, p.expected_window) {
                    (Some(_), _) => None,
                    (None, Some(window)) if window.earliest.date() == window.latest.date() => {
                        Some(format!("on {}", day(window.latest)))
                    }
                    (None, Some(window)) => {
                        Some(format!("between {} and {}", day(window.earliest), day(window.latest)))
                    }
                    (None, None) => None,
                },
                carrier: p.carrier,
                tracking_url: safe_url(p.tracking_url.as_deref()),
                tracking_number: p.tracking_number,
                events: p
                    .events
                    .into_iter()
                    .map(|e| EventView {
                        label: shipment_label(e.state),
                        location: e.location,
                        note: e.note,
                        when: moment(e.at),
                    })
                    .collect(),
            })
            .collect(),
    };
    template.render()
}

/// A return's state as the customer reads it.
fn return_label(state: ReturnState) -> &'static str {
    match state {
        ReturnState::Requested => "Requested: the store will answer soon",
        ReturnState::Approved => "Approved",
        ReturnState::Rejected => "Not accepted",
        ReturnState::AwaitingItem => "Approved: please send the item back",
        ReturnState::Received => "Item received",
        ReturnState::Resolved => "Done",
    }
}

fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert("x-robots-tag", HeaderValue::from_static("noindex"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; img-src https: http: data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    );
    response
}

/// The tracking page of the order with this token.
pub async fn get_tracking_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(query): Query<TrackQuery>,
) -> Response {
    let notice = (query.r#return.as_deref() == Some("requested"))
        .then_some("Thank you: your return request was sent to the store, which will answer by email.");
    show(&state, &token, StatusCode::OK, notice, None).await
}

#[derive(serde::Deserialize, Default)]
pub struct TrackQuery {
    #[serde(default)]
    r#return: Option<String>,
}

async fn show(
    state: &AppState,
    token: &str,
    status: StatusCode,
    notice: Option<&'static str>,
    error: Option<String>,
) -> Response {
    let not_found = || html(StatusCode::NOT_FOUND, NotFoundTemplate.render().unwrap_or_default());
    match state.app.tracking_page(token).await {
        Ok(page) => match render(page, token, notice, error) {
            Ok(body) => html(status, body),
            Err(err) => {
                tracing::error!(error = %err, "tracking page did not render");
                html(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "<h1>Something went wrong</h1>".into(),
                )
            }
        },
        Err(AppError::NotFound(_)) => not_found(),
        Err(err) => {
            tracing::warn!(error = %err, "tracking page failed");
            html(
                StatusCode::SERVICE_UNAVAILABLE,
                "<h1>Please try again in a moment</h1>".into(),
            )
        }
    }
}

/// `POST /track/{token}/return`: the customer asks to return units of delivered lines
/// (`qty-{line id}` fields), with a reason and a note.
pub async fn post_return_request(
    State(state): State<AppState>,
    Path(token): Path<String>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    body: axum::body::Bytes,
) -> Response {
    if !dropline_app::follow::is_tracking_token(&token) {
        return html(StatusCode::NOT_FOUND, NotFoundTemplate.render().unwrap_or_default());
    }
    let mut lines = Vec::new();
    let (mut reason, mut note) = (String::new(), String::new());
    let mut unreadable = false;
    for (name, value) in form_urlencoded::parse(&body) {
        match name.as_ref() {
            "reason" => reason = value.into_owned(),
            "note" => note = value.into_owned(),
            field => {
                if let Some(id) = field.strip_prefix("qty-") {
                    match (id.parse(), value.trim().parse::<u32>()) {
                        (Ok(line_item_id), Ok(quantity)) if quantity > 0 => {
                            lines.push(LineUnits { line_item_id, quantity })
                        }
                        (Ok(_), Ok(_)) => {}
                        _ if value.trim().is_empty() => {}
                        _ => unreadable = true,
                    }
                }
            }
        }
    }
    let refuse = |text: String| show(&state, &token, StatusCode::UNPROCESSABLE_ENTITY, None, Some(text));
    if unreadable {
        return refuse("Please give each quantity as a whole number.".into()).await;
    }
    let Some(reason) = ReturnReason::parse(reason.trim()) else {
        return refuse("Please choose why you return the items.".into()).await;
    };
    if lines.is_empty() {
        return refuse("Please choose at least one item to return.".into()).await;
    }
    let client = peer.map_or_else(|| "unknown".to_string(), |Extension(ConnectInfo(a))| a.ip().to_string());
    let keys = [format!("token:{token}"), format!("client:{client}")];
    if !state.return_limiter.allow(&keys, state.app.now()) {
        return show(
            &state,
            &token,
            StatusCode::TOO_MANY_REQUESTS,
            None,
            Some("Too many requests for now: please try again in an hour, or write to the store.".into()),
        )
        .await;
    }
    let new = NewReturn {
        lines,
        reason,
        note: Some(note).filter(|n| !n.trim().is_empty()),
        photos: Vec::new(),
    };
    match state.app.request_return_by_token(&token, new).await {
        Ok(_) => {
            let location = format!("/track/{token}?return=requested");
            let mut response = StatusCode::SEE_OTHER.into_response();
            if let Ok(value) = HeaderValue::from_str(&location) {
                response.headers_mut().insert(header::LOCATION, value);
            }
            response
        }
        Err(AppError::NotFound(_)) => html(StatusCode::NOT_FOUND, NotFoundTemplate.render().unwrap_or_default()),
        Err(AppError::Invalid(fields)) => {
            refuse(fields.iter().map(|f| f.reason.clone()).collect::<Vec<_>>().join("; ")).await
        }
        Err(AppError::IllegalTransition(_)) => {
            refuse("Items can be returned once the order is delivered.".into()).await
        }
        Err(err) => {
            tracing::warn!(error = %err, "return request failed");
            html(
                StatusCode::SERVICE_UNAVAILABLE,
                "<h1>Please try again in a moment</h1>".into(),
            )
        }
    }
}
