//! The outbox: customer emails (`order_confirmed`, `shipped`, ...) and seller notifications
//! (`seller_new_order`, `seller_digest`, ...), with where each stands.

use crate::AppState;
use crate::api::suppliers::store_filter;
use crate::api::{CommonErrors, reply};
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::input::{Problems, QueryParams, parse_id, parse_limit, path_id};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use dropline_app::ports::{Message, MessageFilter, MessageState};
use dropline_domain::ids::OrderId;
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

/// Messages per answer when `limit` is left out.
const DEFAULT_LIMIT: u32 = 100;

/// An email of the outbox.
#[derive(Serialize, ToSchema)]
#[schema(as = Message)]
pub struct MessageJson {
    pub id: String,
    pub store_id: String,
    /// The order it is about (none for a seller's digest).
    pub order_id: Option<String>,
    /// `order_confirmed`, `shipped`, `delayed`, ..., `seller_digest`.
    pub template: String,
    pub recipient: Option<String>,
    /// What the template is filled with.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    /// `queued`, `sent` or `failed`.
    pub state: &'static str,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Send attempts so far.
    pub attempts: u32,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub sent_at: Option<OffsetDateTime>,
}

impl From<Message> for MessageJson {
    fn from(m: Message) -> Self {
        Self {
            id: m.id.to_string(),
            store_id: m.store_id.to_string(),
            order_id: m.order_id.map(|id| id.to_string()),
            template: m.template,
            recipient: m.recipient,
            data: m.data,
            state: m.state.as_str(),
            created_at: m.created_at,
            attempts: m.attempts,
            last_error: m.last_error,
            sent_at: m.sent_at,
        }
    }
}

/// Messages the caller may see.
#[derive(Serialize, ToSchema)]
pub struct MessageList {
    pub messages: Vec<MessageJson>,
}

/// Outbox messages the caller may see, optionally of one store or one order.
#[utoipa::path(
    get, path = "/messages", tag = "messages",
    params(
        ("store_id" = Option<String>, Query, description = "Only this store's messages"),
        ("order_id" = Option<String>, Query, description = "Only this order's messages"),
        ("state" = Option<String>, Query, description = "Only messages in this state: `queued`, `sent` or `failed`"),
        ("template" = Option<String>, Query, description = "Only messages of this template"),
        ("limit" = Option<u32>, Query, description = "At most this many, 1 to 500 (default 100)"),
    ),
    responses(
        (status = 200, body = MessageList),
        (status = 404, description = "The store or order filter names nothing the caller may see", body = ErrorBody),
        (status = 422, description = "Malformed query parameters, each listed", body = ErrorBody),
        CommonErrors,
    )
)]
pub async fn list_messages(
    State(state): State<AppState>,
    Caller(scope): Caller,
    query: QueryParams,
) -> Result<Response, ApiError> {
    let mut problems = Problems::default();
    let order_id: Option<OrderId> = query.get(&mut problems, "order_id", parse_id);
    let message_state = query.get(&mut problems, "state", |text| {
        MessageState::parse(text).ok_or_else(|| "must be one of: queued, sent, failed".to_string())
    });
    let template = query.get(&mut problems, "template", |text| {
        if text.len() <= 64 && text.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            Ok(text.to_string())
        } else {
            Err("must be a template name (lower-case letters and _)".to_string())
        }
    });
    let limit = query.get(&mut problems, "limit", parse_limit).unwrap_or(DEFAULT_LIMIT);
    let store_id = store_filter(&state, scope, &query, &mut problems).await?;
    problems.finish(Some(()))?;
    if let Some(id) = order_id {
        state.app.get_order(scope, id).await?;
    }
    let messages = state
        .app
        .list_messages(
            scope,
            MessageFilter {
                store_id,
                order_id,
                state: message_state,
                template,
                limit,
            },
        )
        .await?;
    Ok(reply(
        StatusCode::OK,
        MessageList {
            messages: messages.into_iter().map(MessageJson::from).collect(),
        },
    ))
}

/// The outbox messages of one order.
#[utoipa::path(
    get, path = "/orders/{id}/messages", tag = "messages",
    params(("id" = String, Path, description = "Order id")),
    responses(
        (status = 200, body = MessageList),
        (status = 404, description = "No such order, or not the caller's", body = ErrorBody),
        CommonErrors,
    )
)]
pub async fn list_order_messages(
    State(state): State<AppState>,
    Caller(scope): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: OrderId = path_id(&id, "order")?;
    state.app.get_order(scope, id).await?;
    let filter = MessageFilter {
        order_id: Some(id),
        limit: 500,
        ..MessageFilter::default()
    };
    let messages = state.app.list_messages(scope, filter).await?;
    Ok(reply(
        StatusCode::OK,
        MessageList {
            messages: messages.into_iter().map(MessageJson::from).collect(),
        },
    ))
}
