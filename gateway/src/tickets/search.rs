//! `POST /ticket/search`: filtered, sorted pages of compact tickets.

use axum::extract::State;
use enneo_common::auth::{Caller, permission};
use enneo_common::grpc::request;
use enneo_proto::ticket::v1 as pb;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::view::{TicketRow, TicketView};
use crate::AppState;
use crate::auth::{Auth, require};
use crate::envelope::Success;
use crate::error::{ApiError, ErrorBody};
use crate::json::RawBody;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SearchBody {
    /// Default 100, at most 500.
    limit: Option<i64>,
    offset: Option<i64>,
    /// Default `t.id`; one of the sortable keys of the contract (§10), else 400.
    order_by_field: Option<String>,
    /// `asc` or `desc` (default).
    order_by_direction: Option<String>,
    #[serde(default)]
    filters: Vec<FilterBody>,
    /// `all` (default) or `skills`: the routing view, without spam.
    ticket_scope: Option<String>,
}

/// `{key, comparator, value | values | from+to}`. `"null"` in `values` matches NULL.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FilterBody {
    #[schema(example = "t.status")]
    key: String,
    /// `in`, `not in`, `=`, `!=`, `>`, `<`, `>=`, `<=`, `between`, `not between`.
    /// Clients send full text `{"key": "q", "value": …}` without one.
    #[schema(example = "in")]
    #[serde(default)]
    comparator: String,
    #[schema(value_type = Option<Object>)]
    value: Option<Value>,
    #[schema(value_type = Option<Vec<Object>>)]
    values: Option<Vec<Value>>,
    #[schema(value_type = Option<Object>)]
    from: Option<Value>,
    #[schema(value_type = Option<Object>)]
    to: Option<Value>,
}

pub(super) fn filters(body: Vec<FilterBody>) -> Result<Vec<pb::Filter>, ApiError> {
    body.into_iter()
        .map(|f| {
            Ok(pb::Filter {
                key: f.key,
                comparator: f.comparator,
                values: f
                    .values
                    .unwrap_or_default()
                    .iter()
                    .map(scalar)
                    .collect::<Result<_, _>>()?,
                value: f.value.as_ref().map(scalar).transpose()?,
                from: f.from.as_ref().map(scalar).transpose()?,
                to: f.to.as_ref().map(scalar).transpose()?,
            })
        })
        .collect()
}

/// A filter value as the service's text form; the service types it by key.
fn scalar(value: &Value) -> Result<String, ApiError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Null => Ok("null".into()),
        _ => Err(ApiError::bad_request("filter values must be strings, numbers, booleans or null")),
    }
}

#[derive(Serialize, ToSchema)]
pub struct SearchResponse {
    #[schema(value_type = Vec<TicketRow>)]
    pub(crate) tickets: Vec<Value>,
    total: i64,
    offset: i64,
    limit: i64,
}

/// Get a list of tickets.
#[utoipa::path(post, path = "/ticket/search", tag = "ticket", request_body = SearchBody,
    responses((status = 200, body = Success<SearchResponse>),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn search_tickets(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: RawBody,
) -> Result<Success<SearchResponse>, ApiError> {
    require(&caller, permission::READ_TICKETS)?;
    let body: SearchBody = body.parse()?;
    let limit = body.limit.unwrap_or(0);
    if body.limit.is_some() && limit < 1 {
        return Err(ApiError::bad_request("limit must be at least 1"));
    }
    let req = pb::SearchTicketsRequest {
        limit,
        offset: body.offset.unwrap_or(0),
        order_by_field: body.order_by_field.unwrap_or_default(),
        order_by_direction: body.order_by_direction.unwrap_or_default(),
        filters: filters(body.filters)?,
        ticket_scope: body.ticket_scope.unwrap_or_default(),
    };
    Ok(Success::new(search(&state, &caller, req).await?))
}

/// A page of compact rows, each with its ticket's `intents` (one agent-svc call per page).
pub(crate) async fn search(
    state: &AppState,
    caller: &Caller,
    req: pb::SearchTicketsRequest,
) -> Result<SearchResponse, ApiError> {
    let page = state.tickets().search_tickets(request(req, caller)).await?.into_inner();
    let ids: Vec<i64> = page.tickets.iter().map(|t| t.id).collect();
    let mut intents = crate::intents::of_tickets(state, caller, ids).await?;
    let tickets = page
        .tickets
        .into_iter()
        .map(|t| {
            let id = t.id;
            let mut row = TicketView::compact(t);
            row["intents"] = Value::Array(intents.remove(&id).unwrap_or_default());
            row
        })
        .collect();
    Ok(SearchResponse { tickets, total: page.total, offset: page.offset, limit: page.limit })
}
