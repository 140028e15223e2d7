//! Subchannels: the mailboxes, chatbots, phone lines and letter inboxes of each channel.

use axum::extract::{RawQuery, State};
use enneo_common::auth::permission;
use enneo_common::grpc::request;
use enneo_proto::settings::v1 as pb;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::json_of;
use crate::AppState;
use crate::auth::{Auth, require};
use crate::envelope::Success;
use crate::error::{ApiError, ErrorBody};
use crate::json::{PathId, RawBody, query_pairs};

#[derive(Serialize, ToSchema)]
pub struct SubchannelView {
    id: i64,
    name: String,
    /// email, chat, phone, letter, portal.
    channel: String,
    /// active or inactive.
    status: String,
    /// Channel configuration; credentials masked unless `showSecrets=true` with permission.
    #[schema(value_type = Object)]
    config: Value,
}

impl From<pb::Subchannel> for SubchannelView {
    fn from(s: pb::Subchannel) -> Self {
        Self {
            config: json_of(&s.config_json),
            id: s.id,
            name: s.name,
            channel: s.channel,
            status: s.status,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SubchannelList {
    subchannels: Vec<SubchannelView>,
}

/// Query: `channels[]=email&channels[]=chat` (or `channels=email,chat`), `id`, `showSecrets`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct SubchannelParams {
    channels: Option<Vec<String>>,
    id: Option<i64>,
    show_secrets: Option<bool>,
}

/// Get subchannels.
#[utoipa::path(get, path = "/settings/subchannel", tag = "settings", params(SubchannelParams),
    responses((status = 200, body = Success<SubchannelList>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list_subchannels(
    State(state): State<AppState>,
    Auth(caller): Auth,
    RawQuery(query): RawQuery,
) -> Result<Success<SubchannelList>, ApiError> {
    let mut req = pb::ListSubchannelsRequest::default();
    for (key, value) in query_pairs(query.as_deref().unwrap_or("")) {
        match key.trim_end_matches("[]") {
            "channels" | "channel" => {
                req.channels.extend(value.split(',').filter(|c| !c.is_empty()).map(str::to_owned))
            }
            "id" => {
                req.id = Some(
                    value.parse().map_err(|_| ApiError::bad_request("id must be an integer"))?,
                )
            }
            "showSecrets" => req.show_secrets = value == "true",
            other => return Err(ApiError::bad_request(format!("unknown query parameter {other}"))),
        }
    }
    let listed = state.settings().list_subchannels(request(req, &caller)).await?.into_inner();
    Ok(Success::new(SubchannelList {
        subchannels: listed.subchannels.into_iter().map(Into::into).collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSubchannel {
    name: String,
    /// email, chat, phone (or voice), letter, portal.
    channel: String,
    /// active (default) or inactive.
    status: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SubchannelCreated {
    subchannel: SubchannelView,
}

/// Add a new subchannel (needs `updateClientSettings`).
#[utoipa::path(post, path = "/settings/subchannel", tag = "settings", request_body = NewSubchannel,
    responses((status = 200, body = Success<SubchannelCreated>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn add_subchannel(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: RawBody,
) -> Result<Success<SubchannelCreated>, ApiError> {
    require(&caller, permission::UPDATE_CLIENT_SETTINGS)?;
    let body: NewSubchannel = body.parse()?;
    let req = pb::AddSubchannelRequest {
        name: body.name,
        channel: body.channel,
        status: body.status.unwrap_or_default(),
    };
    let created = state.settings().add_subchannel(request(req, &caller)).await?.into_inner();
    Ok(Success::new(SubchannelCreated { subchannel: created.into() }))
}

/// Delete a subchannel.
#[utoipa::path(delete, path = "/settings/subchannel/{id}", tag = "settings", params(("id" = i64, Path)),
    responses((status = 200, body = Success), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_subchannel(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
) -> Result<Success, ApiError> {
    state.settings().delete_subchannel(request(pb::DeleteRequest { id }, &caller)).await?;
    Ok(Success::done())
}
