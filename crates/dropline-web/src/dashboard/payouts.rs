//! Balances and payouts (`/payouts`, marketplace mode): every store's vendor balance summed
//! from its delivered orders, and the payouts. The operator pays out, records payments,
//! cancels, and sets each store's holding period; a seller sees their own store's balance
//! and payouts; staff see none of it (money is the owner's business).

use super::pages::{Layout, Posted, moment};
use super::{Signed, failure, forbidden_csrf, not_found, page, refusal, see_other};
use crate::AppState;
use crate::api::payouts::payouts_csv;
use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use dropline_app::payouts::{NewPayout, VendorBalance};
use dropline_app::ports::StoreRecord;
use dropline_app::{AppError, Scope};
use dropline_domain::account::Role;
use dropline_domain::ids::{PayoutId, StoreId};
use dropline_domain::money::Money;
use dropline_domain::payout::{Payout, PayoutEvent, PayoutState};
use serde::Deserialize;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/payouts", get(payouts_page).post(create))
        .route("/payouts.csv", get(export))
        .route("/payouts/holding", post(holding))
        .route("/payouts/{id}/{action}", post(move_payout))
}

pub(crate) struct BalanceRow {
    store_id: String,
    store_name: String,
    currency: String,
    holding_days: u32,
    pending: String,
    available: String,
    payouts_pending: String,
    paid_out: String,
    orders: u64,
    left_out: u64,
    /// What the operator typed in a refused payout form of this store.
    typed_amount: String,
}

pub(crate) struct PayoutRow {
    id: String,
    store_name: String,
    amount: String,
    state: String,
    chip: &'static str,
    created: String,
    closed: Option<String>,
    reference: String,
    note: String,
    pending: bool,
}

#[derive(Template)]
#[template(path = "dashboard/payouts.html")]
pub(crate) struct PayoutsPage {
    layout: Option<Layout>,
    csrf: String,
    operator: bool,
    notice: Option<String>,
    error: Option<String>,
    balances: Vec<BalanceRow>,
    payouts: Vec<PayoutRow>,
}

#[derive(Deserialize, Default)]
pub(crate) struct Shown {
    done: Option<String>,
}

/// What a refused form puts back on the page.
#[derive(Default)]
struct Refused {
    message: Option<String>,
    store: Option<StoreId>,
    amount: String,
}

fn may_see(signed: &Signed) -> bool {
    matches!(signed.user.role, Role::Operator | Role::Seller)
}

fn payout_row(payout: Payout, stores: &[StoreRecord]) -> PayoutRow {
    PayoutRow {
        id: payout.id.to_string(),
        store_name: store_name(stores, payout.store_id),
        amount: payout.amount.to_string(),
        state: payout.state.to_string(),
        chip: match payout.state {
            PayoutState::Pending => "wait",
            PayoutState::Paid => "ok",
            PayoutState::Cancelled => "bad",
        },
        created: moment(payout.created_at),
        closed: payout.closed_at.map(moment),
        reference: payout.reference.unwrap_or_default(),
        note: payout.note.unwrap_or_default(),
        pending: payout.state == PayoutState::Pending,
    }
}

fn store_name(stores: &[StoreRecord], id: StoreId) -> String {
    stores
        .iter()
        .find(|r| r.store.id == id)
        .map(|r| r.store.name.clone())
        .unwrap_or_default()
}

fn balance_row(record: &StoreRecord, balance: VendorBalance, refused: &Refused) -> BalanceRow {
    BalanceRow {
        store_id: record.store.id.to_string(),
        store_name: record.store.name.clone(),
        currency: record.store.currency.to_string(),
        holding_days: balance.holding_days,
        pending: balance.pending.to_string(),
        available: balance.available.to_string(),
        payouts_pending: balance.payouts_pending.to_string(),
        paid_out: balance.paid_out.to_string(),
        orders: balance.orders,
        left_out: balance.orders_in_other_currencies,
        typed_amount: if refused.store == Some(record.store.id) {
            refused.amount.clone()
        } else {
            String::new()
        },
    }
}

async fn show(
    state: &AppState,
    signed: &Signed,
    status: StatusCode,
    notice: Option<String>,
    refused: Refused,
) -> Response {
    let stores = match state.app.list_stores(signed.scope).await {
        Ok(stores) => stores,
        Err(err) => return failure(&err),
    };
    let mut balances = Vec::with_capacity(stores.len());
    for record in &stores {
        match state.app.vendor_balance(signed.scope, record.store.id).await {
            Ok(balance) => balances.push(balance_row(record, balance, &refused)),
            Err(err) => return failure(&err),
        }
    }
    let payouts = match state.app.list_payouts(signed.scope, None, None, None, 100).await {
        Ok(payouts) => payouts,
        Err(err) => return failure(&err),
    };
    let view = PayoutsPage {
        layout: Some(signed.layout()),
        csrf: signed.session.csrf_token.clone(),
        operator: signed.scope == Scope::Operator,
        notice,
        error: refused.message,
        balances,
        payouts: payouts.into_iter().map(|p| payout_row(p, &stores)).collect(),
    };
    page(status, &view)
}

async fn payouts_page(State(state): State<AppState>, signed: Signed, Query(shown): Query<Shown>) -> Response {
    if !may_see(&signed) {
        return signed.refused();
    }
    let notice = match shown.done.as_deref() {
        Some("created") => Some("The payout was created.".to_string()),
        Some("paid") => Some("The payout was marked paid.".to_string()),
        Some("cancelled") => Some("The payout was cancelled; its amount is available again.".to_string()),
        Some("holding") => Some("The holding period was saved.".to_string()),
        _ => None,
    };
    show(&state, &signed, StatusCode::OK, notice, Refused::default()).await
}

/// The CSV of the payouts the user may see, for the operator's payment system.
async fn export(State(state): State<AppState>, signed: Signed, Query(query): Query<Vec<(String, String)>>) -> Response {
    if !may_see(&signed) {
        return signed.refused();
    }
    let wanted = query
        .iter()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty());
    let wanted = match wanted.map(PayoutState::parse) {
        None => None,
        Some(Some(state)) => Some(state),
        Some(None) => {
            return super::message(
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(signed.layout()),
                "Please check the link",
                "state: must be pending, paid or cancelled",
            );
        }
    };
    let (payouts, stores) = match (
        state.app.list_payouts(signed.scope, None, wanted, None, 500).await,
        state.app.list_stores(signed.scope).await,
    ) {
        (Ok(payouts), Ok(stores)) => (payouts, stores),
        (Err(err), _) | (_, Err(err)) => return failure(&err),
    };
    match payouts_csv(&payouts, &stores) {
        Ok(body) => super::csv_download(body, "payouts.csv"),
        Err(err) => failure(&AppError::Conflict(format!("the CSV cannot be written: {err}"))),
    }
}

/// The checks of every payout form, CSRF then the operator's role: the refusal, if any.
fn refused_form_of(signed: &Signed, form: &Posted) -> Option<Response> {
    if !signed.csrf_ok(form.get("csrf")) {
        return Some(forbidden_csrf(signed.layout()));
    }
    if signed.scope != Scope::Operator {
        return Some(signed.refused());
    }
    None
}

async fn posted_store(state: &AppState, signed: &Signed, form: &Posted) -> Result<StoreRecord, Response> {
    let Some(id) = form.text("store").and_then(|s| s.parse::<StoreId>().ok()) else {
        return Err(not_found(Some(signed.layout())));
    };
    state
        .app
        .get_store(signed.scope, id)
        .await
        .map_err(|err| refusal(signed.layout(), &err))
}

/// The page again (422) with a refused field's reason above the tables and what was typed
/// back in its form.
async fn refused_form(state: &AppState, signed: &Signed, err: AppError, refused: Refused) -> Response {
    match err {
        AppError::Invalid(fields) => {
            let message = fields
                .iter()
                .map(|f| format!("{}: {}", f.field, f.reason))
                .collect::<Vec<_>>()
                .join("; ");
            let refused = Refused {
                message: Some(message),
                ..refused
            };
            show(state, signed, StatusCode::UNPROCESSABLE_ENTITY, None, refused).await
        }
        err => refusal(signed.layout(), &err),
    }
}

async fn create(State(state): State<AppState>, signed: Signed, Form(form): Form<Vec<(String, String)>>) -> Response {
    let form = Posted(form);
    if let Some(response) = refused_form_of(&signed, &form) {
        return response;
    }
    let record = match posted_store(&state, &signed, &form).await {
        Ok(record) => record,
        Err(response) => return response,
    };
    let typed = form.raw("amount").to_string();
    let refused = |state: &AppState, err: AppError| {
        let refused = Refused {
            store: Some(record.store.id),
            amount: typed.clone(),
            ..Refused::default()
        };
        let (state, signed) = (state.clone(), &signed);
        async move { refused_form(&state, signed, err, refused).await }
    };
    let amount = match form.text("amount") {
        None => None,
        Some(text) => match Money::parse_decimal(&text, record.store.currency) {
            Ok(amount) => Some(amount),
            Err(err) => return refused(&state, AppError::invalid("amount", err.to_string())).await,
        },
    };
    let new = NewPayout {
        amount,
        note: form.text("note"),
    };
    match state.app.create_payout(signed.scope, record.store.id, new).await {
        Ok(_) => see_other("/payouts?done=created"),
        Err(err) => refused(&state, err).await,
    }
}

async fn holding(State(state): State<AppState>, signed: Signed, Form(form): Form<Vec<(String, String)>>) -> Response {
    let form = Posted(form);
    if let Some(response) = refused_form_of(&signed, &form) {
        return response;
    }
    let record = match posted_store(&state, &signed, &form).await {
        Ok(record) => record,
        Err(response) => return response,
    };
    let refused = Refused {
        store: Some(record.store.id),
        ..Refused::default()
    };
    let Some(days) = form.text("holding_days").and_then(|d| d.parse::<u32>().ok()) else {
        let err = AppError::invalid("holding_days", "must be a whole number of days from 0 to 365");
        return refused_form(&state, &signed, err, refused).await;
    };
    match state.app.set_holding_days(signed.scope, record.store.id, days).await {
        Ok(()) => see_other("/payouts?done=holding"),
        Err(err) => refused_form(&state, &signed, err, refused).await,
    }
}

async fn move_payout(
    State(state): State<AppState>,
    signed: Signed,
    Path((id, action)): Path<(String, String)>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let form = Posted(form);
    let Ok(id) = id.parse::<PayoutId>() else {
        return not_found(Some(signed.layout()));
    };
    let (event, done) = match action.as_str() {
        "paid" => (PayoutEvent::MarkPaid, "paid"),
        "cancel" => (PayoutEvent::Cancel, "cancelled"),
        _ => return not_found(Some(signed.layout())),
    };
    if let Some(response) = refused_form_of(&signed, &form) {
        return response;
    }
    match state
        .app
        .move_payout(signed.scope, id, event, form.text("reference"))
        .await
    {
        Ok(_) => see_other(&format!("/payouts?done={done}")),
        Err(err) => refused_form(&state, &signed, err, Refused::default()).await,
    }
}
