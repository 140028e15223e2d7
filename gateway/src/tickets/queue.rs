//! The work queue: the next ticket to work on (`POST /ticket/getLatest`) and the counts of
//! open tickets (`GET /ticket/stats`).

use std::collections::BTreeMap;

use axum::extract::State;
use enneo_common::auth::permission;
use enneo_common::grpc::request;
use enneo_proto::ticket::v1 as pb;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::search::{FilterBody, filters};
use crate::AppState;
use crate::auth::{Auth, require};
use crate::envelope::Success;
use crate::error::{ApiError, ErrorBody};
use crate::json::RawBody;

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetLatestBody {
    /// `earliest` (default), `previous` or `next`, relative to `ticketId` in your queue.
    preferred_direction: Option<String>,
    /// The ticket currently open; needed for `previous`/`next`.
    ticket_id: Option<i64>,
    /// Same shape as search filters; narrows the queue.
    #[serde(default)]
    filters: Vec<FilterBody>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GetLatestResponse {
    /// Null when your queue is empty.
    ticket_id: Option<i64>,
}

/// Get next ticket id to work on.
///
/// Your queue: open, non-spam tickets your skills allow (untagged tickets always; tickets
/// assigned to you first), ordered by the configured distribution sequence (default: SLA due
/// date). The ticket returned is claimed through your presence: nobody else gets it while you
/// keep pinging it.
#[utoipa::path(post, path = "/ticket/getLatest", tag = "ticket",
    request_body(content = Option<GetLatestBody>, description = "Optional"),
    responses((status = 200, body = Success<GetLatestResponse>),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn get_latest_ticket(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: RawBody,
) -> Result<Success<GetLatestResponse>, ApiError> {
    require(&caller, permission::READ_TICKETS)?;
    let body: GetLatestBody = body.parse_or_default()?;
    let next = pb::GetNextTicketRequest {
        preferred_direction: body.preferred_direction.unwrap_or_default(),
        ticket_id: body.ticket_id,
        filters: filters(body.filters)?,
    };
    let found = state.tickets().get_next_ticket(request(next, &caller)).await?.into_inner();
    Ok(Success::new(GetLatestResponse { ticket_id: found.ticket_id }))
}

/// Counts of the event-fed read model.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatsResponse {
    /// Open tickets.
    total: i64,
    by_status: BTreeMap<String, i64>,
    /// Open tickets per channel.
    by_channel: BTreeMap<String, i64>,
    /// Open tickets per priority.
    by_priority: BTreeMap<String, i64>,
    /// Open tickets per tag, most frequent first.
    tags: Vec<TagCount>,
    /// Open tickets per AI agent among their active intents, most frequent first (a ticket
    /// with intents of several agents counts for each).
    intents: Vec<AiAgentCount>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TagCount {
    tag_id: i64,
    count: i64,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AiAgentCount {
    ai_agent_id: i64,
    count: i64,
}

/// Get ticket stats.
///
/// Served from read models that ticket and intent events keep up to date, so a change shows
/// here a moment after it is made.
#[utoipa::path(get, path = "/ticket/stats", tag = "ticket",
    responses((status = 200, body = Success<StatsResponse>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn ticket_stats(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<Success<StatsResponse>, ApiError> {
    let stats = state
        .tickets()
        .get_ticket_stats(request(pb::GetTicketStatsRequest {}, &caller))
        .await?
        .into_inner();
    let map = |counts: Vec<pb::Count>| counts.into_iter().map(|c| (c.key, c.count)).collect();
    Ok(Success::new(StatsResponse {
        total: stats.total,
        by_status: map(stats.by_status),
        by_channel: map(stats.by_channel),
        by_priority: map(stats.by_priority),
        tags: stats
            .by_tag
            .into_iter()
            .filter_map(|c| Some(TagCount { tag_id: c.key.parse().ok()?, count: c.count }))
            .collect(),
        intents: stats
            .by_ai_agent
            .into_iter()
            .filter_map(|c| Some(AiAgentCount { ai_agent_id: c.key.parse().ok()?, count: c.count }))
            .collect(),
    }))
}
