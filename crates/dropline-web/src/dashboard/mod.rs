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

mod catalogue;
mod evidence;
mod orders;
mod overview;
mod pages;
mod payouts;
mod settings;
mod stock;

use crate::AppState;
use askama::Template;
use axum::extract::{ConnectInfo, Form, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use dropline_app::accounts::{check_csrf, random_token, same_token};
use dropline_app::{AppError, Scope};
use dropline_domain::account::{Role, Session, User};
use pages::{Layout, Message};
use serde::Deserialize;
use std::net::SocketAddr;

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "dropline_session";

/// The name of the cookie that pairs with the sign-in form's token (there is no session yet
/// to hold a CSRF token, so the form's token is checked against this cookie instead).
pub const SIGN_IN_COOKIE: &str = "dropline_sign_in";

/// The dashboard's routes, to merge into the application router.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(overview::overview_page))
        .route("/sign-in", get(sign_in_page).post(sign_in))
        .route("/sign-out", post(sign_out))
        .route("/assets/dashboard.js", get(script))
        .route("/orders/{id}/disputes/{dispute}/evidence", get(evidence::evidence_page))
        .merge(orders::routes())
        .merge(catalogue::routes())
        .merge(settings::routes())
        .merge(payouts::routes())
        .merge(stock::routes())
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
            settings: self.may_change_settings(),
        }
    }

    /// Whether the form's `csrf` field is this session's token.
    fn csrf_ok(&self, submitted: Option<&str>) -> bool {
        submitted.is_some_and(|csrf| check_csrf(&self.session, csrf))
    }

    /// Operators and sellers change a store's settings, suppliers and catalogue; staff work
    /// the orders only.
    fn may_change_settings(&self) -> bool {
        matches!(self.user.role, Role::Operator | Role::Seller)
    }

    /// The 403 page for what this user's role may not do.
    fn refused(&self) -> Response {
        message(
            StatusCode::FORBIDDEN,
            Some(self.layout()),
            "Not allowed",
            "Your account may not change this: ask the store's owner.",
        )
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

/// The value of the named cookie, when it is well-formed (64 hex digits, as
/// [`random_token`] makes them); anything else counts as no cookie.
fn cookie(headers: &HeaderMap, wanted: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == wanted)
        .map(|(_, value)| value.trim().to_string())
        .filter(|value| value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The session token of the request's cookie, when it has a well-formed one.
fn session_cookie(headers: &HeaderMap) -> Option<String> {
    cookie(headers, SESSION_COOKIE)
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

fn cookie_header(name: &str, value: &str, max_age: Option<i64>, headers: &HeaderMap) -> HeaderValue {
    let mut cookie = format!("{name}={value}; HttpOnly; SameSite=Lax; Path=/");
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
        HeaderValue::from_static("default-src 'none'; script-src 'self'; img-src 'self' data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    );
    response
}

/// A CSV file to download, with the dashboard's headers (`no-store`, ...).
fn csv_download(body: Vec<u8>, filename: &str) -> Response {
    let mut response = html(StatusCode::OK, String::new());
    *response.body_mut() = axum::body::Body::from(body);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(disposition) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    response
}

/// The dashboard's one script, built into the binary (no CDN: the dashboard works offline).
const SCRIPT: &str = include_str!("../../assets/dashboard.js");

async fn script() -> Response {
    let mut response = SCRIPT.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
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

fn see_other(location: &str) -> Response {
    let location = HeaderValue::from_str(location).unwrap_or_else(|_| HeaderValue::from_static("/"));
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

/// The answer to a use case's error that is not about the form's fields: not found (another
/// store's thing answers the same), an illegal action with its reason (409), a conflict, or a
/// failure.
fn refusal(layout: Layout, err: &AppError) -> Response {
    match err {
        AppError::NotFound(_) => not_found(Some(layout)),
        AppError::IllegalTransition(reason) => message(
            StatusCode::CONFLICT,
            Some(layout),
            "Not possible now",
            &format!("This cannot be done in the current state: {reason}."),
        ),
        AppError::Conflict(reason) => message(
            StatusCode::CONFLICT,
            Some(layout),
            "Changed meanwhile",
            &format!("Something changed meanwhile ({reason}). Reload the page and try again."),
        ),
        AppError::Invalid(fields) => message(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(layout),
            "Please check the form",
            &fields
                .iter()
                .map(|f| format!("{}: {}", f.field, f.reason))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        AppError::PartnerRefused(reason) => message(
            StatusCode::BAD_GATEWAY,
            Some(layout),
            "Refused by the partner",
            &format!("The platform or supplier refused: {reason}."),
        ),
        _ => failure(err),
    }
}

/// A query parameter that was given and is not blank, trimmed.
fn given(value: Option<&String>) -> Option<&str> {
    value.map(|v| v.trim()).filter(|v| !v.is_empty())
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
    /// The form's token, equal to the `dropline_sign_in` cookie.
    #[serde(default)]
    token: String,
}

/// The sign-in form, with a fresh form token set both in the form and in a cookie.
fn sign_in_form(status: StatusCode, headers: &HeaderMap, email: String, error: Option<String>) -> Response {
    let token = random_token();
    let mut response = page(
        status,
        &pages::SignIn {
            layout: None,
            email,
            error,
            token: token.clone(),
        },
    );
    response
        .headers_mut()
        .insert(header::SET_COOKIE, cookie_header(SIGN_IN_COOKIE, &token, None, headers));
    response
}

#[derive(Deserialize, Default)]
struct SignInQuery {
    /// Fills the email field (the demo's link does).
    #[serde(default)]
    email: Option<String>,
}

async fn sign_in_page(headers: HeaderMap, Query(query): Query<SignInQuery>) -> Response {
    let email: String = query.email.unwrap_or_default().chars().take(254).collect();
    sign_in_form(StatusCode::OK, &headers, email, None)
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
    let cookie_token = cookie(&headers, SIGN_IN_COOKIE).unwrap_or_default();
    if !same_token(&cookie_token, &form.token) {
        return sign_in_form(
            StatusCode::FORBIDDEN,
            &headers,
            form.email,
            Some("This sign-in form has expired. Please sign in again.".into()),
        );
    }
    match state.accounts.sign_in(&form.email, &form.password, &client_key).await {
        Ok(signed_in) => {
            let max_age = (signed_in.session.expires_at - signed_in.session.created_at).whole_seconds();
            let mut response = see_other("/");
            let set = response.headers_mut();
            set.append(
                header::SET_COOKIE,
                cookie_header(SESSION_COOKIE, &signed_in.token, Some(max_age), &headers),
            );
            set.append(header::SET_COOKIE, cookie_header(SIGN_IN_COOKIE, "", Some(0), &headers));
            response
        }
        Err(AppError::Unauthorized(_)) => sign_in_form(
            StatusCode::UNAUTHORIZED,
            &headers,
            form.email,
            Some("Wrong email or password.".into()),
        ),
        Err(AppError::RetryLater { reason, .. }) => sign_in_form(
            StatusCode::TOO_MANY_REQUESTS,
            &headers,
            form.email,
            Some(format!(
                "Too many failed sign-ins: {}.",
                reason.trim_start_matches("too many failed sign-ins; ")
            )),
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
        .insert(header::SET_COOKIE, cookie_header(SESSION_COOKIE, "", Some(0), &headers));
    response
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
            let value = cookie_header(SESSION_COOKIE, "t", None, &headers(&[(header::HOST, local)]));
            assert!(!value.to_str().expect("text").contains("Secure"), "{local}");
        }
        let value = cookie_header(
            SESSION_COOKIE,
            "t",
            None,
            &headers(&[(header::HOST, "shop.example.com")]),
        );
        assert!(value.to_str().expect("text").ends_with("; Secure"));
    }
}
