//! `PATCH /ticket`: many partial tickets in one request, each applied on its own.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use enneo_common::auth::permission;
use enneo_common::grpc::request;
use enneo_proto::ticket::v1 as pb;
use serde_json::Value;

use super::docs::TicketWrite;
use super::headers::idempotency_key;
use super::{UpdateParams, expected_modified_at, input};
use crate::AppState;
use crate::auth::{Auth, require};
use crate::bulk::{BulkResponse, BulkResult};
use crate::error::{ApiError, ErrorBody};
use crate::json::{QueryParams, RawBody};

/// The most items one bulk update may carry.
pub const MAX_BULK_ITEMS: usize = 500;

/// Update a few tickets at once.
///
/// A JSON array of partial tickets, each with its `id`. Every item is validated and applied on
/// its own: one bad item never blocks the others. Read-only fields sent back (as the
/// contract's sample does) are ignored.
#[utoipa::path(patch, path = "/ticket", tag = "ticket",
    params(UpdateParams, ("Idempotency-Key" = Option<String>, Header,
        description = "A retry with the same key returns the first result and writes nothing")),
    request_body(content = Vec<TicketWrite>, description = "Partial tickets, each with `id`"),
    responses((status = 200, body = BulkResponse),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn bulk_update_tickets(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(_flags): QueryParams<UpdateParams>,
    headers: HeaderMap,
    body: RawBody,
) -> Result<Json<BulkResponse>, ApiError> {
    require(&caller, permission::UPDATE_TICKETS)?;
    let idempotency_key = idempotency_key(&headers)?;
    let Value::Array(items) = body.parse()? else {
        return Err(ApiError::bad_request("the body must be a JSON array of tickets"));
    };
    if items.len() > MAX_BULK_ITEMS {
        return Err(ApiError::bad_request(format!("at most {MAX_BULK_ITEMS} tickets per request")));
    }
    // Parse every item first; only the valid ones travel to ticket-svc.
    let mut results: Vec<Option<BulkResult>> = Vec::with_capacity(items.len());
    let mut valid = Vec::new();
    for item in &items {
        let id = item.get("id").and_then(Value::as_i64).filter(|id| *id > 0);
        let parsed = match id {
            None => Err(ApiError::bad_request("each item needs a positive integer id")),
            Some(id) => {
                input::read(item, false).and_then(|w| Ok((id, w, expected_modified_at(item)?)))
            }
        };
        match parsed {
            Ok((id, written, expected_modified_at)) => {
                valid.push(pb::UpdateTicketRequest {
                    id,
                    fields: Some(written.fields),
                    expected_version: None,
                    expected_modified_at,
                });
                results.push(None);
            }
            Err(err) => results.push(Some(BulkResult::of(id, Err(err)))),
        }
    }
    let mut applied = if valid.is_empty() {
        Vec::new()
    } else {
        state
            .tickets()
            .bulk_update_tickets(request(
                pb::BulkUpdateTicketsRequest { items: valid, idempotency_key },
                &caller,
            ))
            .await?
            .into_inner()
            .results
    }
    .into_iter();
    let results = results.into_iter().map(|slot| {
        slot.unwrap_or_else(|| match applied.next().unwrap_or_default() {
            r if r.success => BulkResult::applied(Some(r.id)),
            r => BulkResult::failed(Some(r.id), r.code, r.error),
        })
    });
    Ok(Json(results.collect()))
}
