//! Routing: users' call and chat routing statuses (one, many, the online summary) and what
//! routing would give a user, and why.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use enneo_common::grpc::request;
use enneo_proto::settings::v1 as pb;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::bulk::each_item;
use super::{ProfileView, require_self_or_manager};
use crate::AppState;
use crate::auth::Auth;
use crate::bulk::BulkResponse;
use crate::envelope::Success;
use crate::error::{ApiError, ErrorBody};
use crate::json::{JsonBody, PathId, QueryParams, RawBody};

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoutingStatuses {
    call_routing_status: Option<String>,
    chat_routing_status: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoutingStatusWrite {
    /// idle, beingConnected, interacting, acw, notResponding, unavailable, offline.
    call_routing_status: Option<String>,
    chat_routing_status: Option<String>,
    /// Apply only while the statuses are still these (else 409).
    if_current: Option<RoutingStatuses>,
}

/// Change a user's routing status, optionally only if it still is what you saw.
#[utoipa::path(patch, path = "/profile/{id}/routingStatus", tag = "profile", params(("id" = i64, Path)),
    request_body = RoutingStatusWrite,
    responses((status = 200, body = ProfileView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn routing_status(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
    body: RawBody,
) -> Result<Json<ProfileView>, ApiError> {
    require_self_or_manager(&caller, id)?;
    let req = body.parse::<RoutingStatusWrite>()?.into_proto(id);
    Ok(Json(
        state.identity().update_routing_status(request(req, &caller)).await?.into_inner().into(),
    ))
}

impl RoutingStatusWrite {
    fn into_proto(self, id: i64) -> pb::UpdateRoutingStatusRequest {
        let current = self.if_current.unwrap_or_default();
        pb::UpdateRoutingStatusRequest {
            id,
            call_routing_status: self.call_routing_status,
            chat_routing_status: self.chat_routing_status,
            if_current_call: current.call_routing_status,
            if_current_chat: current.chat_routing_status,
        }
    }
}

/// Change several users' routing statuses: `{"profiles": [{"id": 3, "chatRoutingStatus": "idle",
/// "ifCurrent": {...}}]}`. Each item succeeds or fails (409 on `ifCurrent`) on its own.
#[utoipa::path(patch, path = "/profiles/routingStatus", tag = "profile",
    request_body(content = Value, description = "`{profiles: [{id, ...RoutingStatusWrite}]}`"),
    responses((status = 200, body = BulkResponse), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub async fn bulk_routing_status(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<BulkResponse>, ApiError> {
    let applied = each_item(&body, |id, write: RoutingStatusWrite| {
        let (state, caller) = (state.clone(), caller.clone());
        async move {
            state.identity().update_routing_status(request(write.into_proto(id), &caller)).await?;
            Ok(())
        }
    })
    .await?;
    Ok(Json(applied))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OnlineUser {
    id: i64,
    first_name: Option<String>,
    last_name: Option<String>,
    call_routing_status: String,
    chat_routing_status: String,
    last_seen: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct StatusCount {
    /// Users in this status on the phone line.
    call: i64,
    /// Users in this status in chat.
    chat: i64,
}

#[derive(Serialize, ToSchema)]
pub struct OnlineSummary {
    /// Users whose call or chat routing status is not `offline`.
    online: Vec<OnlineUser>,
    /// Per routing status, how many users are in it.
    counts: BTreeMap<String, StatusCount>,
}

/// Who is online, and how many users are in each routing status.
#[utoipa::path(get, path = "/profiles/onlineSummary", tag = "profile",
    responses((status = 200, body = Success<OnlineSummary>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn online_summary(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<Success<OnlineSummary>, ApiError> {
    let summary = state
        .identity()
        .online_summary(request(pb::OnlineSummaryRequest {}, &caller))
        .await?
        .into_inner();
    Ok(Success::new(OnlineSummary {
        online: summary
            .online
            .into_iter()
            .map(|u| OnlineUser {
                id: u.id,
                first_name: u.first_name,
                last_name: u.last_name,
                call_routing_status: u.call_routing_status,
                chat_routing_status: u.chat_routing_status,
                last_seen: u.last_seen,
            })
            .collect(),
        counts: summary
            .counts
            .into_iter()
            .map(|c| (c.status, StatusCount { call: c.call, chat: c.chat }))
            .collect(),
    }))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RoutingParams {
    /// Also say whether, and why (not), this ticket would be routed to the user.
    ticket_id: Option<i64>,
    /// Full-text filter on the queue.
    q: Option<String>,
    /// Default 20, at most 100.
    limit: Option<i64>,
    offset: Option<i64>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoutedTicket {
    ticket_id: i64,
    /// 0-based place in the user's queue.
    position: i64,
    reason: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoutingVerdict {
    ticket_id: i64,
    routable: bool,
    position: Option<i64>,
    reasons: Vec<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoutingUsed {
    /// Null: no skill restriction.
    skills: Option<Vec<i64>>,
    excluded_tag_ids: Vec<i64>,
    ticket_backlog_required_tag_ids: Vec<i64>,
    /// Empty: every channel.
    channels: Vec<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoutingExplained {
    user_id: i64,
    /// `autopilotTagMatchingMode` in effect.
    matching: String,
    /// `autopilotOrderingSequence` in effect.
    ordering: String,
    /// The user's actual routing settings (their own merged with their teams').
    settings: RoutingUsed,
    /// Tickets in the user's queue (routing looks at the first 1000).
    total: i64,
    limit: i64,
    offset: i64,
    tickets: Vec<RoutedTicket>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ticket: Option<RoutingVerdict>,
}

/// What routing would give a user, in order, and why; with `ticketId`, whether and why (not)
/// that ticket would reach them. Nothing is claimed. Yourself, or anyone with `manageUsers`.
#[utoipa::path(get, path = "/profile/{id}/routing", tag = "profile", params(("id" = i64, Path), RoutingParams),
    responses((status = 200, body = Success<RoutingExplained>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn explain_routing(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
    QueryParams(p): QueryParams<RoutingParams>,
) -> Result<Success<RoutingExplained>, ApiError> {
    let user = state
        .identity()
        .resolve_identity(request(pb::ProfileRef { id }, &caller))
        .await?
        .into_inner();
    let req = enneo_proto::ticket::v1::ExplainRoutingRequest {
        user_id: id,
        restrict_skills: user.skills.is_some(),
        skills: user.skills.clone().map(|l| l.values).unwrap_or_default(),
        excluded_tag_ids: user.excluded_tag_ids.clone(),
        required_tag_ids: user.required_tag_ids.clone(),
        channels: user.channels.clone(),
        ticket_id: p.ticket_id,
        q: p.q,
        limit: p.limit.unwrap_or(0),
        offset: p.offset.unwrap_or(0),
    };
    let offset = req.offset;
    let explained = state.tickets().explain_routing(request(req, &caller)).await?.into_inner();
    Ok(Success::new(RoutingExplained {
        user_id: id,
        matching: explained.matching,
        ordering: explained.ordering,
        settings: RoutingUsed {
            skills: user.skills.map(|l| l.values),
            excluded_tag_ids: user.excluded_tag_ids,
            ticket_backlog_required_tag_ids: user.required_tag_ids,
            channels: user.channels,
        },
        total: explained.total,
        limit: explained.limit,
        offset,
        tickets: explained
            .tickets
            .into_iter()
            .map(|t| RoutedTicket {
                ticket_id: t.ticket_id,
                position: t.position,
                reason: t.reason,
            })
            .collect(),
        ticket: explained.ticket.map(|v| RoutingVerdict {
            ticket_id: v.ticket_id,
            routable: v.routable,
            position: v.position,
            reasons: v.reasons,
        }),
    }))
}
