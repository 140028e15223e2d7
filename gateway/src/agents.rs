//! `GET /agents/queue`: live-chat capacity.

use axum::extract::State;
use enneo_common::grpc::request;
use enneo_proto::ticket::v1 as pb;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Auth;
use crate::envelope::Success;
use crate::error::{ApiError, ErrorBody};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(agent_queue))
}

#[derive(Serialize, ToSchema)]
pub struct PerChannel<T> {
    chat: T,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentQueue {
    /// Waiting chats per available agent (e.g. 2.5); -1 when no agent is available.
    agent_queue: f64,
    live_conversation_possible: PerChannel<bool>,
    /// Seconds; -1 when no agent is available (chats are then handled offline).
    expected_waiting_time: PerChannel<i64>,
}

/// Get agent queue status.
///
/// An agent counts as available while they have a live presence on a ticket; waiting chats are
/// open, unassigned chat tickets nobody is on. The waiting time multiplies the queue by the
/// median time to close a chat over the last 30 days (0 without such data).
#[utoipa::path(get, path = "/agents/queue", tag = "ticket",
    responses((status = 200, body = Success<AgentQueue>), (status = 401, body = ErrorBody)))]
pub async fn agent_queue(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<Success<AgentQueue>, ApiError> {
    let q =
        state.tickets().agent_queue(request(pb::AgentQueueRequest {}, &caller)).await?.into_inner();
    let (queue, wait) = if q.agents_available == 0 {
        (-1.0, -1)
    } else {
        let queue = q.chats_waiting as f64 / q.agents_available as f64;
        (queue, (queue * q.typical_chat_seconds.unwrap_or(0) as f64).round() as i64)
    };
    Ok(Success::new(AgentQueue {
        agent_queue: queue,
        live_conversation_possible: PerChannel { chat: q.agents_available > 0 },
        expected_waiting_time: PerChannel { chat: wait },
    }))
}
