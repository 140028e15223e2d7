//! `POST /executor/localExecutionCommand`: the shell command that runs an agent's `sourceCode`
//! executor on the admin's own machine with a ticket's real input (built by agent-svc).

use axum::extract::State;
use enneo_common::auth::permission;
use enneo_common::grpc::request;
use enneo_proto::agent::v1 as pb;
use enneo_proto::ticket::v1 as tickets;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::AppState;
use crate::ai_agents::document;
use crate::auth::{Auth, require};
use crate::envelope::Success;
use crate::error::{ApiError, ErrorBody};
use crate::json::RawBody;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LocalExecutionBody {
    /// The AI agent.
    id: i64,
    /// The ticket whose data the executor is given.
    ticket_id: i64,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LocalExecution {
    /// `printf '%s\n' '<input>' | python3 agent_<id>.py`, quoted for a POSIX shell.
    command: String,
    /// What the executor is given for the ticket (its parameters and `_metadata`).
    #[schema(value_type = Object)]
    input: Value,
    /// The executor's code, to save as `fileName` next to where the command runs.
    code: String,
    file_name: String,
    language: String,
}

/// Command to run an agent's executor locally.
///
/// Needs `previewExecutors`. Answers the executor's code, its input for the ticket as live
/// processing would build it now, and the command that feeds one to the other. 404 for an
/// unknown agent or ticket; 501 when the agent cannot run locally (no executor, an `apiCall`
/// executor, or code in another language than Python).
#[utoipa::path(post, path = "/executor/localExecutionCommand", tag = "aiAgent",
    request_body = LocalExecutionBody,
    responses((status = 200, body = Success<LocalExecution>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 501, body = ErrorBody)))]
pub async fn local_execution_command(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: RawBody,
) -> Result<Success<LocalExecution>, ApiError> {
    require(&caller, permission::PREVIEW_EXECUTORS)?;
    let body: LocalExecutionBody = body.parse()?;
    // The ticket's data leaves the system: the caller must be allowed to read it.
    let ticket = tickets::GetTicketRequest { id: body.ticket_id, viewing: false };
    state.tickets().get_ticket(request(ticket, &caller)).await?;
    let req = pb::LocalExecutionCommandRequest { ai_agent_id: body.id, ticket_id: body.ticket_id };
    let built = state.agents().local_execution_command(request(req, &caller)).await?.into_inner();
    Ok(Success::new(LocalExecution {
        command: built.command,
        input: document(&built.input_json)?,
        code: built.code,
        file_name: built.file_name,
        language: built.language,
    }))
}
