//! The customer's tracking page, `GET /track/{token}`: server-rendered HTML in the store's
//! brand, with the order's items and each parcel's events on a timeline. No supplier name,
//! price or link is ever on it; every field is escaped (askama escapes HTML by default), and
//! the page allows no script at all (Content-Security-Policy).

use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use dropline_app::AppError;
use dropline_app::follow::TrackingPage;
use dropline_domain::state::{OrderState, ShipmentState};
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

fn render(page: TrackingPage) -> Result<String, askama::Error> {
    let template = TrackTemplate {
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
        HeaderValue::from_static("default-src 'none'; img-src https: http: data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
    );
    response
}

/// The tracking page of the order with this token.
pub async fn get_tracking_page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let not_found = || html(StatusCode::NOT_FOUND, NotFoundTemplate.render().unwrap_or_default());
    match state.app.tracking_page(&token).await {
        Ok(page) => match render(page) {
            Ok(body) => html(StatusCode::OK, body),
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
