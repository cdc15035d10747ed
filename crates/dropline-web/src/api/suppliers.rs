//! `/suppliers`: who ships a store's goods.

use crate::AppState;
use crate::api::{BodyErrors, CommonErrors, reply};
use crate::auth::Caller;
use crate::dto::{AddressJson, SupplierKindName};
use crate::error::{ApiError, ErrorBody};
use crate::input::{Input, JsonBody, Problems, QueryParams, ReadJson, parse_id, path_id};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use dropline_app::{NewSupplier, Scope};
use dropline_domain::address::Address;
use dropline_domain::catalog::{ReturnPolicy, Supplier, SupplierConnection, SupplierKind};
use dropline_domain::ids::{StoreId, SupplierId};
use serde::Serialize;
use utoipa::ToSchema;

/// A new supplier of a store.
#[derive(ToSchema)]
pub struct CreateSupplierRequest {
    /// The store; a store's token may leave it out (its own store).
    #[schema(value_type = Option<String>)]
    pub store_id: Option<StoreId>,
    #[schema(example = "Shenzhen Gadget Co")]
    pub name: String,
    #[schema(value_type = SupplierKindName)]
    pub kind: SupplierKind,
    /// ISO 3166-1 alpha-2 country the goods leave from.
    #[schema(example = "CN")]
    pub ships_from: Option<String>,
    /// Days from order to hand-over to the carrier (default 0).
    pub processing_days: Option<u32>,
    /// Rating out of 100 (default 0).
    pub rating: Option<u32>,
    /// Days after acceptance within which the supplier must give tracking; past them its
    /// lines fail over to the next offer (default: no deadline).
    pub processing_deadline_days: Option<u32>,
    /// How dropline reaches the supplier's API (CJ: `api_key`; AliExpress: `api_key` = app
    /// key, `api_secret`, `access_token`, `refresh_token`; `api_base` for another address).
    pub connection: Option<SupplierConnectionRequest>,
    /// An agent's column layout for the spreadsheet of orders, `Header=field, ...` (agents
    /// only; default: dropline's layout).
    #[schema(example = "Order No=order_number, SKU=supplier_sku, Qty=quantity, ID=supplier_order_id")]
    pub agent_layout: Option<String>,
    /// What the supplier takes back and credits (default: no returns, no credit).
    pub return_policy: Option<ReturnPolicyRequest>,
}

/// What a supplier takes back and credits; what is left out takes its default.
#[derive(ToSchema, Default)]
pub struct ReturnPolicyRequest {
    /// Whether returned items go back to the supplier (default false).
    pub accepts_returns: Option<bool>,
    /// Days after delivery within which the supplier takes a claim, 0 to 365 (default 30).
    pub window_days: Option<u32>,
    /// Where returned items go; left out: the store's own address.
    #[schema(value_type = Option<AddressJson>)]
    pub return_address: Option<Address>,
    /// Whether the supplier refunds the cost of an item that came back to it (default false).
    pub refunds_returned_items: Option<bool>,
    /// Whether the supplier credits a damaged, wrong or not-as-described item without having
    /// it back, on photos (default false; typical of AliExpress and CJ).
    pub credits_without_return: Option<bool>,
}

impl ReadJson for ReturnPolicyRequest {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let accepts_returns = input.field("accepts_returns").optional(problems, Input::flag);
        let window_days = input.field("window_days").optional(problems, Input::count);
        let return_address = input.field("return_address").optional_of(problems);
        let refunds_returned_items = input.field("refunds_returned_items").optional(problems, Input::flag);
        let credits_without_return = input.field("credits_without_return").optional(problems, Input::flag);
        Some(Self {
            accepts_returns: accepts_returns?,
            window_days: window_days?,
            return_address: return_address?,
            refunds_returned_items: refunds_returned_items?,
            credits_without_return: credits_without_return?,
        })
    }
}

impl From<ReturnPolicyRequest> for ReturnPolicy {
    fn from(r: ReturnPolicyRequest) -> Self {
        let defaults = ReturnPolicy::default();
        Self {
            accepts_returns: r.accepts_returns.unwrap_or(defaults.accepts_returns),
            window_days: r.window_days.unwrap_or(defaults.window_days),
            return_address: r.return_address,
            refunds_returned_items: r.refunds_returned_items.unwrap_or(defaults.refunds_returned_items),
            credits_without_return: r.credits_without_return.unwrap_or(defaults.credits_without_return),
        }
    }
}

/// How dropline reaches a supplier's API; secrets are never shown again.
#[derive(ToSchema, Default)]
pub struct SupplierConnectionRequest {
    pub api_base: Option<String>,
    pub api_key: Option<String>,
    pub api_secret: Option<String>,
    pub access_token: Option<String>,
    pub refresh_token: Option<String>,
    /// The account's rate limit, requests a second (1 to 100; CJ: 1 to 6 by account level).
    pub requests_per_second: Option<u32>,
    /// CJ: the account's `openId`, which signs its webhook messages (never shown again).
    pub webhook_secret: Option<String>,
}

impl ReadJson for SupplierConnectionRequest {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let api_base = input.field("api_base").optional(problems, Input::text);
        let api_key = input.field("api_key").optional(problems, Input::text);
        let api_secret = input.field("api_secret").optional(problems, Input::text);
        let access_token = input.field("access_token").optional(problems, Input::text);
        let refresh_token = input.field("refresh_token").optional(problems, Input::text);
        let requests_per_second = input.field("requests_per_second").optional(problems, Input::count);
        let webhook_secret = input.field("webhook_secret").optional(problems, Input::text);
        Some(Self {
            api_base: api_base?,
            api_key: api_key?,
            api_secret: api_secret?,
            access_token: access_token?,
            refresh_token: refresh_token?,
            requests_per_second: requests_per_second?,
            webhook_secret: webhook_secret?,
        })
    }
}

impl From<SupplierConnectionRequest> for SupplierConnection {
    fn from(r: SupplierConnectionRequest) -> Self {
        Self {
            api_base: r.api_base,
            api_key: r.api_key,
            api_secret: r.api_secret,
            access_token: r.access_token,
            refresh_token: r.refresh_token,
            requests_per_second: r.requests_per_second,
            webhook_secret: r.webhook_secret,
        }
    }
}

impl ReadJson for CreateSupplierRequest {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let store_id = input.field("store_id").optional(problems, Input::id);
        let name = input.field("name").required(problems, Input::text);
        let kind = input.field("kind").required(problems, Input::choice);
        let ships_from = input.field("ships_from").optional(problems, Input::text);
        let processing_days = input.field("processing_days").optional(problems, Input::count);
        let rating = input.field("rating").optional(problems, Input::count);
        let deadline = input.field("processing_deadline_days").optional(problems, Input::count);
        let connection = input.field("connection").optional_of(problems);
        let agent_layout = input.field("agent_layout").optional(problems, Input::text);
        let return_policy = input.field("return_policy").optional_of(problems);
        Some(Self {
            store_id: store_id?,
            name: name?,
            kind: kind?,
            ships_from: ships_from?,
            processing_days: processing_days?,
            rating: rating?,
            processing_deadline_days: deadline?,
            connection: connection?,
            agent_layout: agent_layout?,
            return_policy: return_policy?,
        })
    }
}

/// A supplier.
#[derive(Serialize, ToSchema)]
#[schema(as = Supplier)]
pub struct SupplierJson {
    pub id: String,
    pub store_id: String,
    pub name: String,
    #[schema(value_type = SupplierKindName)]
    pub kind: &'static str,
    pub ships_from: Option<String>,
    pub processing_days: u32,
    pub rating: u32,
    pub processing_deadline_days: Option<u32>,
    /// The API connection, without its secrets.
    pub connection: SupplierConnectionJson,
    /// What the last comparison of the supplier's order list with dropline's found.
    pub last_reconciliation: Option<ReconciliationJson>,
    /// An agent's spreadsheet layout, when not the default.
    pub agent_layout: Option<String>,
    pub return_policy: ReturnPolicyJson,
}

/// What a supplier takes back and credits.
#[derive(Serialize, ToSchema)]
#[schema(as = ReturnPolicy)]
pub struct ReturnPolicyJson {
    /// Whether returned items go back to the supplier.
    pub accepts_returns: bool,
    /// Days after delivery within which the supplier takes a claim.
    pub window_days: u32,
    /// Where returned items go; null: the store's own address.
    pub return_address: Option<AddressJson>,
    /// Whether the supplier refunds the cost of an item that came back to it.
    pub refunds_returned_items: bool,
    /// Whether the supplier credits a damaged, wrong or not-as-described item without it.
    pub credits_without_return: bool,
}

impl From<ReturnPolicy> for ReturnPolicyJson {
    fn from(p: ReturnPolicy) -> Self {
        Self {
            accepts_returns: p.accepts_returns,
            window_days: p.window_days,
            return_address: p.return_address.map(AddressJson::from),
            refunds_returned_items: p.refunds_returned_items,
            credits_without_return: p.credits_without_return,
        }
    }
}

/// A supplier's API connection, secrets hidden.
#[derive(Serialize, ToSchema)]
#[schema(as = SupplierConnection)]
pub struct SupplierConnectionJson {
    pub api_base: Option<String>,
    pub has_api_key: bool,
    pub has_api_secret: bool,
    pub has_access_token: bool,
    pub has_refresh_token: bool,
    pub requests_per_second: Option<u32>,
    /// Whether a webhook secret (CJ `openId`) is set.
    pub has_webhook_secret: bool,
}

/// The supplier's order list compared with dropline's supplier orders.
#[derive(Serialize, ToSchema)]
#[schema(as = Reconciliation)]
pub struct ReconciliationJson {
    #[serde(with = "time::serde::rfc3339")]
    pub at: time::OffsetDateTime,
    /// Orders the supplier listed.
    pub remote_orders: u32,
    /// Of those, the ones matching a supplier order of dropline.
    pub matched: u32,
    /// The supplier's ids of orders dropline did not place.
    pub ghosts: Vec<String>,
    /// Supplier orders the supplier holds more than once.
    pub duplicates: Vec<DuplicateJson>,
    /// Supplier orders accepted here that the supplier no longer lists.
    pub missing: Vec<String>,
    /// Whether the whole list was read.
    pub complete: bool,
}

/// A supplier order the supplier holds more than once.
#[derive(Serialize, ToSchema)]
pub struct DuplicateJson {
    pub supplier_order_id: String,
    /// The supplier's ids of the copies.
    pub supplier_references: Vec<String>,
}

impl From<Supplier> for SupplierJson {
    fn from(s: Supplier) -> Self {
        Self {
            id: s.id.to_string(),
            store_id: s.store_id.to_string(),
            name: s.name,
            kind: s.kind.as_str(),
            ships_from: s.ships_from,
            processing_days: s.processing_days,
            rating: s.rating,
            processing_deadline_days: s.processing_deadline_days,
            connection: SupplierConnectionJson {
                api_base: s.connection.api_base.clone(),
                has_api_key: s.connection.api_key.is_some(),
                has_api_secret: s.connection.api_secret.is_some(),
                has_access_token: s.connection.access_token.is_some(),
                has_refresh_token: s.connection.refresh_token.is_some(),
                has_webhook_secret: s.connection.webhook_secret.is_some(),
                requests_per_second: s.connection.requests_per_second,
            },
            last_reconciliation: s.last_reconciliation.map(|r| ReconciliationJson {
                at: r.at,
                remote_orders: r.remote_orders,
                matched: r.matched,
                ghosts: r.ghosts,
                duplicates: r
                    .duplicates
                    .into_iter()
                    .map(|(id, refs)| DuplicateJson {
                        supplier_order_id: id.to_string(),
                        supplier_references: refs,
                    })
                    .collect(),
                missing: r.missing.iter().map(ToString::to_string).collect(),
                complete: r.complete,
            }),
            agent_layout: s.agent_layout,
            return_policy: s.return_policy.into(),
        }
    }
}

/// Suppliers the caller may see.
#[derive(Serialize, ToSchema)]
pub struct SupplierList {
    pub suppliers: Vec<SupplierJson>,
}

/// The check of a body's `store_id`: the operator must name the store, a store's token may
/// leave it out.
pub(crate) fn store_id_check(scope: Scope) -> impl FnOnce(&Input<'_>, &mut Problems) {
    move |input, problems| {
        if scope == Scope::Operator && input.field("store_id").is_absent() {
            problems.push("store_id", "is required with the operator's token");
        }
    }
}

/// The store a new record belongs to: the given one, or the caller's own store.
pub(crate) fn owning_store(scope: Scope, given: Option<StoreId>) -> Result<StoreId, ApiError> {
    match (given, scope) {
        (Some(id), _) => Ok(id),
        (None, Scope::Store(own)) => Ok(own),
        (None, Scope::Operator) => Err(ApiError::invalid(vec![dropline_app::FieldError::new(
            "store_id",
            "is required with the operator's token",
        )])),
    }
}

/// The `store_id` filter of a listing: checked to be a store the caller may see (404
/// otherwise), so a store's token asking for another store's data gets nothing.
pub(crate) async fn store_filter(
    state: &AppState,
    scope: Scope,
    query: &QueryParams,
    problems: &mut Problems,
) -> Result<Option<StoreId>, ApiError> {
    let store_id: Option<StoreId> = query.get(problems, "store_id", parse_id);
    if let Some(id) = store_id {
        state.app.get_store(scope, id).await?;
    }
    Ok(store_id)
}

/// Adds a supplier to a store.
#[utoipa::path(
    post, path = "/suppliers", tag = "suppliers",
    request_body = CreateSupplierRequest,
    responses((status = 201, body = SupplierJson), BodyErrors, CommonErrors)
)]
pub async fn create_supplier(
    State(state): State<AppState>,
    Caller(scope): Caller,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let request: CreateSupplierRequest = body.read_with(store_id_check(scope))?;
    let new = NewSupplier {
        store_id: owning_store(scope, request.store_id)?,
        name: request.name,
        kind: request.kind,
        ships_from: request.ships_from,
        processing_days: request.processing_days.unwrap_or(0),
        rating: request.rating.unwrap_or(0),
        processing_deadline_days: request.processing_deadline_days,
        connection: request.connection.map(SupplierConnection::from).unwrap_or_default(),
        agent_layout: request.agent_layout,
        return_policy: request.return_policy.map(ReturnPolicy::from).unwrap_or_default(),
    };
    let supplier = state.app.create_supplier(scope, new).await?;
    Ok(reply(StatusCode::CREATED, SupplierJson::from(supplier)))
}

/// The suppliers the caller may see, optionally of one store.
#[utoipa::path(
    get, path = "/suppliers", tag = "suppliers",
    params(("store_id" = Option<String>, Query, description = "Only this store's suppliers")),
    responses(
        (status = 200, body = SupplierList),
        (status = 404, description = "No such store, or not the caller's", body = ErrorBody),
        (status = 422, description = "A malformed query parameter", body = ErrorBody),
        CommonErrors,
    )
)]
pub async fn list_suppliers(
    State(state): State<AppState>,
    Caller(scope): Caller,
    query: QueryParams,
) -> Result<Response, ApiError> {
    let mut problems = Problems::default();
    let store_id = store_filter(&state, scope, &query, &mut problems).await?;
    problems.finish(Some(()))?;
    let suppliers = state.app.list_suppliers(scope, store_id).await?;
    Ok(reply(
        StatusCode::OK,
        SupplierList {
            suppliers: suppliers.into_iter().map(SupplierJson::from).collect(),
        },
    ))
}

/// One supplier.
#[utoipa::path(
    get, path = "/suppliers/{id}", tag = "suppliers",
    params(("id" = String, Path, description = "Supplier id")),
    responses(
        (status = 200, body = SupplierJson),
        (status = 404, description = "No such supplier, or not the caller's", body = ErrorBody),
        CommonErrors,
    )
)]
pub async fn get_supplier(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: SupplierId = path_id(&id, "supplier")?;
    let supplier = state.app.get_supplier(scope, id).await?;
    Ok(reply(StatusCode::OK, SupplierJson::from(supplier)))
}

/// Replaces how dropline reaches the supplier's API (every field; what is left out is
/// cleared).
#[utoipa::path(
    put, path = "/suppliers/{id}/connection", tag = "suppliers",
    params(("id" = String, Path, description = "Supplier id")),
    request_body = SupplierConnectionRequest,
    responses(
        (status = 200, body = SupplierJson),
        (status = 404, description = "No such supplier, or not the caller's", body = ErrorBody),
        BodyErrors, CommonErrors,
    )
)]
pub async fn put_supplier_connection(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let id: SupplierId = path_id(&id, "supplier")?;
    let request: SupplierConnectionRequest = body.read()?;
    let supplier = state
        .app
        .update_supplier_connection(scope, id, SupplierConnection::from(request))
        .await?;
    Ok(reply(StatusCode::OK, SupplierJson::from(supplier)))
}

/// Replaces what the supplier takes back and credits (every field; what is left out takes
/// its default).
#[utoipa::path(
    put, path = "/suppliers/{id}/return-policy", tag = "suppliers",
    params(("id" = String, Path, description = "Supplier id")),
    request_body = ReturnPolicyRequest,
    responses(
        (status = 200, body = SupplierJson),
        (status = 404, description = "No such supplier, or not the caller's", body = ErrorBody),
        BodyErrors, CommonErrors,
    )
)]
pub async fn put_supplier_return_policy(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let id: SupplierId = path_id(&id, "supplier")?;
    let request: ReturnPolicyRequest = body.read()?;
    let supplier = state
        .app
        .update_supplier_return_policy(scope, id, ReturnPolicy::from(request))
        .await?;
    Ok(reply(StatusCode::OK, SupplierJson::from(supplier)))
}

/// Compares the supplier's own order list with dropline's (a background job): orders
/// placed at the supplier and unknown here, orders held twice, orders the supplier no
/// longer lists. The findings land on the supplier (`last_reconciliation`) and as
/// exceptions on the orders concerned.
#[utoipa::path(
    post, path = "/suppliers/{id}/reconcile", tag = "suppliers",
    params(("id" = String, Path, description = "Supplier id")),
    responses(
        (status = 202, description = "The reconciliation is queued"),
        (status = 404, description = "No such supplier, or not the caller's", body = ErrorBody),
        (status = 422, description = "The supplier has no API to list orders", body = ErrorBody),
        CommonErrors,
    )
)]
pub async fn post_reconcile(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: SupplierId = path_id(&id, "supplier")?;
    state.app.request_reconciliation(scope, id).await?;
    Ok(reply(StatusCode::ACCEPTED, serde_json::json!({ "queued": true })))
}

/// Which supplier orders go into an agent's spreadsheet.
#[derive(ToSchema)]
pub struct AgentExportRequest {
    /// Also the supplier orders sent before and not answered yet (to send the file again);
    /// default false: only new ones.
    pub include_submitted: Option<bool>,
}

impl ReadJson for AgentExportRequest {
    fn read(input: &Input<'_>, problems: &mut Problems) -> Option<Self> {
        let include_submitted = input.field("include_submitted").optional(problems, Input::flag);
        Some(Self {
            include_submitted: include_submitted?,
        })
    }
}

/// The spreadsheet of an agent's open supplier orders, in the agent's column layout (CSV,
/// one row per line). The new supplier orders in it become `submitted`.
#[utoipa::path(
    post, path = "/suppliers/{id}/agent-export", tag = "suppliers",
    params(("id" = String, Path, description = "Supplier id (an agent)")),
    request_body = AgentExportRequest,
    responses(
        (status = 200, description = "The CSV file; `X-Supplier-Orders` says how many supplier orders it holds", content_type = "text/csv", body = String),
        (status = 404, description = "No such supplier, or not the caller's", body = ErrorBody),
        BodyErrors, CommonErrors,
    )
)]
pub async fn post_agent_export(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let id: SupplierId = path_id(&id, "supplier")?;
    let request: AgentExportRequest = body.read()?;
    let export = state
        .app
        .export_agent_orders(scope, id, request.include_submitted.unwrap_or(false))
        .await?;
    let count = export.supplier_orders.len().to_string();
    Ok((
        StatusCode::OK,
        [
            (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (axum::http::HeaderName::from_static("x-supplier-orders"), count),
        ],
        export.file,
    )
        .into_response())
}

/// What reading an agent's return file did.
#[derive(Serialize, ToSchema)]
pub struct AgentImportJson {
    /// Supplier orders the agent accepted now (its order id recorded).
    pub accepted: Vec<String>,
    /// Parcels added (and written back to the storefront).
    pub parcels_added: usize,
    /// Supplier orders named with nothing new.
    pub unchanged: Vec<String>,
}

/// Reads the agent's return file (CSV: `dropline_id` or `idempotency_key`, `agent_order_id`,
/// `tracking_number`, `carrier`, `tracking_url`, `cost`, `currency`). All or nothing: a bad
/// row, a row naming no supplier order of this agent, or one contradicting what is recorded
/// refuses the file with every row named, and nothing is written.
#[utoipa::path(
    post, path = "/suppliers/{id}/agent-import", tag = "suppliers",
    params(("id" = String, Path, description = "Supplier id (an agent)")),
    request_body(content = String, description = "The agent's CSV file", content_type = "text/csv"),
    responses(
        (status = 200, body = AgentImportJson),
        (status = 404, description = "No such supplier, or not the caller's", body = ErrorBody),
        (status = 422, description = "The file is refused; every bad row is named", body = ErrorBody),
        (status = 413, description = "Body over 1 MiB", body = ErrorBody),
        CommonErrors,
    )
)]
pub async fn post_agent_import(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let id: SupplierId = path_id(&id, "supplier")?;
    let report = state.app.import_agent_results(scope, id, &body).await?;
    Ok(reply(
        StatusCode::OK,
        AgentImportJson {
            accepted: report.accepted.iter().map(ToString::to_string).collect(),
            parcels_added: report.parcels_added,
            unchanged: report.unchanged.iter().map(ToString::to_string).collect(),
        },
    ))
}
