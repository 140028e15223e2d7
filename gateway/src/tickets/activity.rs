//! `GET /ticket/{ticketId}/activity`: the audit trail built from the ticket's events.

use axum::extract::State;
use enneo_common::grpc::request;
use enneo_proto::ticket::v1 as pb;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::Auth;
use crate::envelope::Success;
use crate::error::{ApiError, ErrorBody};
use crate::json::{PathId, QueryParams};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ActivityParams {
    /// Default 20, at most 100.
    limit: Option<i64>,
    offset: Option<i64>,
    /// Adds event ids, versions and trace ids; needs `accessTechnicalEvents`.
    show_technical_information: Option<bool>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActivityView {
    id: i64,
    /// `ticketCreated`, `ticketUpdated`, …
    r#type: String,
    /// `YYYY-MM-DD HH:MM:SS`.
    created_at: Option<String>,
    /// Null for the system.
    user_id: Option<i64>,
    message: String,
    data: ActivityData,
    #[serde(skip_serializing_if = "Option::is_none")]
    technical: Option<Technical>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActivityData {
    changed_fields: Vec<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Technical {
    event_id: String,
    version: i64,
    traceparent: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ActivityResponse {
    total: i64,
    activities: Vec<ActivityView>,
}

/// Get ticket activity.
///
/// The ticket's audit trail, newest first: created, updated (with the changed fields and who
/// changed them), … It is built from the ticket's events, a moment after each change.
#[utoipa::path(get, path = "/ticket/{ticketId}/activity", tag = "ticket",
    params(("ticketId" = i64, Path), ActivityParams),
    responses((status = 200, body = Success<ActivityResponse>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn ticket_activity(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
    QueryParams(params): QueryParams<ActivityParams>,
) -> Result<Success<ActivityResponse>, ApiError> {
    let technical = params.show_technical_information.unwrap_or(false);
    let listed = state
        .tickets()
        .list_ticket_activity(request(
            pb::ListTicketActivityRequest {
                id,
                limit: params.limit.unwrap_or(0),
                offset: params.offset.unwrap_or(0),
                technical,
            },
            &caller,
        ))
        .await?
        .into_inner();
    let activities = listed
        .activities
        .into_iter()
        .map(|a| ActivityView {
            id: a.id,
            created_at: a.created_at.as_ref().and_then(crate::time::format_sql),
            user_id: a.user_id,
            message: a.message,
            data: ActivityData { changed_fields: a.changed_fields },
            technical: technical.then_some(Technical {
                event_id: a.event_id,
                version: a.version,
                traceparent: a.traceparent,
            }),
            r#type: a.kind,
        })
        .collect();
    Ok(Success::new(ActivityResponse { total: listed.total, activities }))
}
