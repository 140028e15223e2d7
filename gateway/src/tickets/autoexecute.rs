//! `POST /ticket/{ticketId}/autoexecute`: dark processing, run by agent-svc.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use enneo_common::grpc::request;
use enneo_proto::agent::v1 as agent;
use enneo_proto::ticket::v1 as pb;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ErrorBody};
use crate::json::{PathId, QueryParams};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(auto_execute))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct AutoExecuteParams {
    /// The AI agent to run (one per call).
    execute_agent_id: Option<i64>,
    /// Run even if several agents were detected.
    allow_multiple_intents: Option<bool>,
    /// Run even if the customer has replied since.
    allow_with_replies: Option<bool>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AutoExecuteResponse {
    /// Whether the intent ran.
    success: bool,
    message: String,
    /// When it did not run: the gate that stopped it (contract §8.3).
    #[serde(skip_serializing_if = "Option::is_none")]
    failed_gate: Option<String>,
}

/// Auto-execute a ticket.
///
/// Runs the ticket's ready AI intent without a human (needs `executeAutoProcessing`). The gates
/// of contract §8.3 are checked in order; the first that fails stops the run, which answers
/// 207 naming it (`intents` when the ticket has no ready intent). 404 for an unknown
/// `executeAgentId`; 422 when an intent's agent cannot run.
#[utoipa::path(post, path = "/ticket/{ticketId}/autoexecute", tag = "ticket",
    params(("ticketId" = i64, Path), AutoExecuteParams),
    responses((status = 200, description = "Executed", body = AutoExecuteResponse),
        (status = 207, description = "Not executed: `failedGate` says why", body = AutoExecuteResponse),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn auto_execute(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(ticket_id): PathId,
    QueryParams(params): QueryParams<AutoExecuteParams>,
) -> Result<Response, ApiError> {
    // The ticket must exist (and be readable by the caller) before an agent looks at it.
    state
        .tickets()
        .get_ticket(request(pb::GetTicketRequest { id: ticket_id, viewing: false }, &caller))
        .await?;
    let ran = state
        .agents()
        .auto_execute(request(
            agent::AutoExecuteRequest {
                ticket_id,
                execute_agent_id: params.execute_agent_id,
                allow_multiple_intents: params.allow_multiple_intents.unwrap_or(false),
                allow_with_replies: params.allow_with_replies.unwrap_or(false),
                reply_template: Some(crate::intents::reply_template(&state).await?),
            },
            &caller,
        ))
        .await?
        .into_inner();
    let status = if ran.executed { StatusCode::OK } else { StatusCode::MULTI_STATUS };
    let body = AutoExecuteResponse {
        success: ran.executed,
        message: ran.message,
        failed_gate: ran.failed_gate.filter(|_| !ran.executed),
    };
    Ok((status, Json(body)).into_response())
}
