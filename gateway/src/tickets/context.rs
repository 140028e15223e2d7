//! What surrounds a ticket: the variables templates and conditions see (contract §10), and
//! the customer's other tickets (§1.2 (8)).

use axum::extract::State;
use enneo_common::grpc::request;
use enneo_proto::ticket::v1 as pb;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Auth;
use crate::envelope::Success;
use crate::error::{ApiError, ErrorBody};
use crate::json::{PathId, QueryParams};
use crate::time::format_sql;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(ticket_variables)).routes(routes!(ticket_history))
}

#[derive(Serialize, ToSchema)]
pub struct VariablesResponse {
    /// `in` (the ticket as templates see it), `contract`, `customer`, `profile` (you),
    /// `intent` (the AI agent's result; empty until intents are served).
    #[schema(value_type = Object)]
    variables: Value,
}

/// Get ticket variables.
///
/// What each parameter and condition source resolves to for this ticket, for debugging agent
/// parameters and tag conditions. Templates use `{{in.subject}}`, `{{customer.firstname}}`, …
#[utoipa::path(get, path = "/ticket/{ticketId}/variables", tag = "ticket",
    params(("ticketId" = i64, Path)),
    responses((status = 200, body = Success<VariablesResponse>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn ticket_variables(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
) -> Result<Success<VariablesResponse>, ApiError> {
    let t = state
        .tickets()
        .get_ticket(request(pb::GetTicketRequest { id, viewing: false }, &caller))
        .await?
        .into_inner()
        .ticket
        .ok_or_else(ApiError::internal)?;
    let customer: Value =
        t.customer_json.as_deref().and_then(|c| serde_json::from_str(c).ok()).unwrap_or(json!({}));
    // The ticket's contract among the customer's, matched by id whatever its JSON type.
    let contract = match (&t.contract_id, customer.get("contracts").and_then(Value::as_array)) {
        (Some(id), Some(contracts)) => contracts
            .iter()
            .find(|c| {
                c.get("id").is_some_and(|v| {
                    v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string()) == *id
                })
            })
            .cloned(),
        _ => None,
    };
    let message = t.body_plain.clone().or_else(|| t.body.clone()).unwrap_or_default();
    let metadata = t
        .additional_data_json
        .as_deref()
        .and_then(|d| serde_json::from_str(d).ok())
        .unwrap_or(json!({}));
    let variables = json!({
        "in": {
            "ticketId": t.id,
            "direction": t.direction,
            "channel": t.channel,
            "subchannelId": t.subchannel_id,
            "subject": t.subject,
            "message": message,
            "summary": t.summary,
            "date": t.created_at.as_ref().and_then(format_sql),
            "sender": t.from,
            "tagIds": t.tag_ids,
            "metadata": metadata,
        },
        "contract": contract.unwrap_or(json!({})),
        "customer": customer,
        "profile": {"id": caller.user_id, "role": caller.role},
        "intent": {},
    });
    Ok(Success::new(VariablesResponse { variables }))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    /// Default 20, at most 100.
    limit: Option<i64>,
    offset: Option<i64>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryItem {
    id: Option<i64>,
    /// `ticket` (deliveries and grid messages come with ERP connectors).
    r#type: &'static str,
    channel: Option<String>,
    sub_channel: Option<String>,
    status: Option<String>,
    subject: Option<String>,
    url: Option<String>,
    /// Unix seconds.
    created_at: i64,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryResponse {
    total: i64,
    /// How many of them are open.
    total_opened_tickets: i64,
    history: Vec<HistoryItem>,
}

/// Get a ticket's history.
///
/// The other tickets of the same customer or contract, newest first.
#[utoipa::path(get, path = "/ticket/{ticketId}/history", tag = "ticket",
    params(("ticketId" = i64, Path), HistoryParams),
    responses((status = 200, body = Success<HistoryResponse>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn ticket_history(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
    QueryParams(params): QueryParams<HistoryParams>,
) -> Result<Success<HistoryResponse>, ApiError> {
    let found = state
        .tickets()
        .ticket_history(request(
            pb::TicketHistoryRequest {
                id,
                limit: params.limit.unwrap_or(0),
                offset: params.offset.unwrap_or(0),
            },
            &caller,
        ))
        .await?
        .into_inner();
    let history = found
        .items
        .into_iter()
        .map(|i| HistoryItem {
            id: Some(i.id),
            r#type: "ticket",
            channel: Some(i.channel),
            sub_channel: None,
            status: Some(i.status),
            subject: i.subject,
            url: None,
            created_at: i.created_at.map(|t| t.seconds).unwrap_or_default(),
        })
        .collect();
    Ok(Success::new(HistoryResponse {
        total: found.total,
        total_opened_tickets: found.total_opened,
        history,
    }))
}
