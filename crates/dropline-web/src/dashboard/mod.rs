//! The dashboard (issue 6): server-rendered HTML for sellers, staff and the operator, served
//! at `/` outside the OpenAPI document (like `/track/{token}`).
//!
//! Sessions: `POST /sign-in` checks the password through
//! [`Accounts`](dropline_app::accounts::Accounts) and sets the cookie
//! `dropline_session` (`HttpOnly; SameSite=Lax; Path=/`, plus `Secure` unless the `Host` of
//! the request is `localhost`, `127.0.0.1` or `[::1]`: a browser drops a `Secure` cookie
//! set over plain http, and local development is plain http). The [`Signed`] extractor
//! turns the cookie into the user, the session and the [`Scope`] of every use case, and
//! sends the browser to `/sign-in` when there is no live session. Every form posted while
//! signed in carries the session's CSRF token in a hidden `csrf` field; a missing or wrong
//! one is answered 403.
//!
//! Reads go through [`App`](dropline_app::App) with the user's scope, so another store's
//! order is "not found" exactly as over the API.

mod pages;

use crate::AppState;
use askama::Template;
use axum::extract::{ConnectInfo, Form, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use dropline_app::accounts::check_csrf;
use dropline_app::ports::OrderFilter;
use dropline_app::{AppError, Scope};
use dropline_domain::account::{Role, Session, User};
use dropline_domain::ids::{OrderId, StoreId};
use dropline_domain::state::OrderState;
use pages::{Layout, Message};
use serde::Deserialize;
use std::net::SocketAddr;

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "dropline_session";

/// Orders on one page of the list.
const PAGE_SIZE: u32 = 50;

/// The dashboard's routes, to merge into the application router.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/sign-in", get(sign_in_page).post(sign_in))
        .route("/sign-out", post(sign_out))
        .route("/orders", get(orders_page))
        .route("/orders/{id}", get(order_page))
}

/// The signed-in user of a request, with their session and the scope of their use cases.
/// Without a live session the request is answered with a redirect to `/sign-in`.
pub struct Signed {
    pub user: User,
    pub session: Session,
    /// The session token from the cookie (to sign out).
    pub token: String,
    pub scope: Scope,
}

impl Signed {
    fn layout(&self) -> Layout {
        Layout {
            email: self.user.email.as_str().to_string(),
            csrf: self.session.csrf_token.clone(),
        }
    }
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(token) = session_cookie(&parts.headers) else {
            return Err(see_other("/sign-in"));
        };
        let (user, session) = match state.accounts.session(&token).await {
            Ok(Some(found)) => found,
            Ok(None) => return Err(see_other("/sign-in")),
            Err(err) => return Err(failure(&err)),
        };
        let scope = match (user.role, user.store_id) {
            (Role::Operator, _) => Scope::Operator,
            (Role::Seller | Role::Staff, Some(store_id)) => Scope::Store(store_id),
            (Role::Seller | Role::Staff, None) => return Err(see_other("/sign-in")),
        };
        Ok(Signed {
            user,
            session,
            token,
            scope,
        })
    }
}

/// The session token of the request's cookie, when it has a well-formed one (64 hex digits,
/// as `Accounts::sign_in` makes them); anything else counts as no session.
fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim().to_string())
        .filter(|value| value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Whether the request was addressed to this machine by name (`localhost`, `127.0.0.1`,
/// `[::1]`, any port): then the session cookie goes without `Secure`, which a browser would
/// refuse over plain http. Everywhere else dropline is expected behind https.
fn is_local(headers: &HeaderMap) -> bool {
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => host.split(':').next().unwrap_or_default(),
    };
    matches!(name, "localhost" | "127.0.0.1" | "::1")
}

fn session_cookie_header(value: &str, max_age: Option<i64>, headers: &HeaderMap) -> HeaderValue {
    let mut cookie = format!("{SESSION_COOKIE}={value}; HttpOnly; SameSite=Lax; Path=/");
    if let Some(seconds) = max_age {
        cookie.push_str(&format!("; Max-Age={seconds}"));
    }
    if !is_local(headers) {
        cookie.push_str("; Secure");
    }
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static("dropline_session=; Path=/"))
}

/// An HTML answer with the dashboard's headers: no caching, no script at all, forms only to
/// this origin.
fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    );
    response
}

fn page(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(body) => html(status, body),
        Err(err) => {
            tracing::error!(error = %err, "dashboard page did not render");
            html(
                StatusCode::INTERNAL_SERVER_ERROR,
                "<h1>Something went wrong</h1>".into(),
            )
        }
    }
}

fn see_other(location: &'static str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

fn message(status: StatusCode, layout: Option<Layout>, title: &str, text: &str) -> Response {
    page(
        status,
        &Message {
            layout,
            title: title.to_string(),
            text: text.to_string(),
        },
    )
}

fn not_found(layout: Option<Layout>) -> Response {
    message(
        StatusCode::NOT_FOUND,
        layout,
        "Not found",
        "There is no such page, or it belongs to another store.",
    )
}

fn failure(err: &AppError) -> Response {
    tracing::warn!(error = %err, "dashboard request failed");
    message(
        StatusCode::SERVICE_UNAVAILABLE,
        None,
        "Please try again",
        "dropline could not answer just now. Please try again in a moment.",
    )
}

fn forbidden_csrf(layout: Layout) -> Response {
    message(
        StatusCode::FORBIDDEN,
        Some(layout),
        "This form has expired",
        "The form was not sent from this dashboard (its security token is missing or wrong). Go back, reload the page and try again.",
    )
}

// ---------------------------------------------------------------------------------------------
// Sign-in and sign-out
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

async fn sign_in_page() -> Response {
    page(StatusCode::OK, &pages::SignIn::default())
}

async fn sign_in(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    // The peer address when the server is run with connect info; otherwise the per-client
    // limit falls back to the email's key, so that no shared key can lock everyone out.
    let client_key = peer.map_or_else(
        || format!("email:{}", form.email.trim().to_lowercase()),
        |Extension(ConnectInfo(addr))| addr.ip().to_string(),
    );
    match state.accounts.sign_in(&form.email, &form.password, &client_key).await {
        Ok(signed_in) => {
            let max_age = (signed_in.session.expires_at - signed_in.session.created_at).whole_seconds();
            let mut response = see_other("/orders");
            response.headers_mut().insert(
                header::SET_COOKIE,
                session_cookie_header(&signed_in.token, Some(max_age), &headers),
            );
            response
        }
        Err(AppError::Unauthorized(_)) => page(
            StatusCode::UNAUTHORIZED,
            &pages::SignIn {
                layout: None,
                email: form.email,
                error: Some("Wrong email or password.".into()),
            },
        ),
        Err(AppError::RetryLater { reason, .. }) => page(
            StatusCode::TOO_MANY_REQUESTS,
            &pages::SignIn {
                layout: None,
                email: form.email,
                error: Some(format!(
                    "Too many failed sign-ins: {}.",
                    reason.trim_start_matches("too many failed sign-ins; ")
                )),
            },
        ),
        Err(err) => failure(&err),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: Option<String>,
}

async fn sign_out(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !form.csrf.is_some_and(|csrf| check_csrf(&signed.session, &csrf)) {
        return forbidden_csrf(signed.layout());
    }
    if let Err(err) = state.accounts.sign_out(&signed.token).await {
        return failure(&err);
    }
    let mut response = see_other("/sign-in");
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session_cookie_header("", Some(0), &headers));
    response
}

// ---------------------------------------------------------------------------------------------
// Orders
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
struct OrdersQuery {
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    store: Option<String>,
    #[serde(default)]
    before: Option<String>,
}

fn given(value: Option<&String>) -> Option<&str> {
    value.map(|v| v.trim()).filter(|v| !v.is_empty())
}

async fn orders_page(State(state): State<AppState>, signed: Signed, Query(query): Query<OrdersQuery>) -> Response {
    let bad = |what: &str| {
        message(
            StatusCode::BAD_REQUEST,
            Some(signed.layout()),
            "Unknown filter",
            &format!("The {what} in the address is not one dropline knows."),
        )
    };
    let order_state = match given(query.state.as_ref()) {
        None => None,
        Some(text) => match OrderState::parse(text) {
            Some(s) => Some(s),
            None => return bad("state"),
        },
    };
    let store = match given(query.store.as_ref()) {
        Some(text) if signed.scope == Scope::Operator => match text.parse::<StoreId>() {
            Ok(id) => Some(id),
            Err(_) => return bad("store"),
        },
        _ => None,
    };
    let before = match given(query.before.as_ref()) {
        None => None,
        Some(text) => match text.parse::<OrderId>() {
            Ok(id) => Some(id),
            Err(_) => return bad("page"),
        },
    };
    let filter = OrderFilter {
        store_id: store,
        state: order_state,
        before,
        limit: PAGE_SIZE + 1,
        ..OrderFilter::default()
    };
    let mut orders = match state.app.list_orders(signed.scope, filter).await {
        Ok(orders) => orders,
        Err(err) => return failure(&err),
    };
    let more = orders.len() > PAGE_SIZE as usize;
    orders.truncate(PAGE_SIZE as usize);
    let template = pages::Orders::new(
        signed.layout(),
        signed.scope == Scope::Operator,
        order_state,
        store,
        &orders,
        more,
    );
    page(StatusCode::OK, &template)
}

async fn order_page(State(state): State<AppState>, signed: Signed, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<OrderId>() else {
        return not_found(Some(signed.layout()));
    };
    let order = match state.app.get_order(signed.scope, id).await {
        Ok(order) => order,
        Err(AppError::NotFound(_)) => return not_found(Some(signed.layout())),
        Err(err) => return failure(&err),
    };
    let timeline = match state.app.timeline(signed.scope, id).await {
        Ok(events) => events,
        Err(AppError::NotFound(_)) => return not_found(Some(signed.layout())),
        Err(err) => return failure(&err),
    };
    page(
        StatusCode::OK,
        &pages::OrderPage::new(signed.layout(), &order, &timeline),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(name.clone(), HeaderValue::from_str(value).expect("a header value"));
        }
        map
    }

    #[test]
    fn the_session_cookie_is_read_only_when_well_formed() {
        let token = "ab".repeat(32);
        let found = session_cookie(&headers(&[(header::COOKIE, &format!("a=b; {SESSION_COOKIE}={token}"))]));
        assert_eq!(found.as_deref(), Some(token.as_str()));
        assert_eq!(
            session_cookie(&headers(&[(header::COOKIE, "dropline_session=x'; a=b")])),
            None
        );
        assert_eq!(session_cookie(&headers(&[])), None);
    }

    #[test]
    fn the_cookie_is_secure_except_on_this_machine() {
        for local in ["127.0.0.1:8080", "localhost", "[::1]:3000"] {
            let value = session_cookie_header("t", None, &headers(&[(header::HOST, local)]));
            assert!(!value.to_str().expect("text").contains("Secure"), "{local}");
        }
        let value = session_cookie_header("t", None, &headers(&[(header::HOST, "shop.example.com")]));
        assert!(value.to_str().expect("text").ends_with("; Secure"));
    }
}
