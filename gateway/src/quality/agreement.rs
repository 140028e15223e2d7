//! Live agreement: how often the people handling real tickets agreed with the AI's intent
//! detection, per agent and day or week.

use axum::extract::State;
use enneo_common::auth::permission;
use enneo_common::grpc::request;
use enneo_proto::quality::v1 as pb;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::document;
use crate::AppState;
use crate::auth::{Auth, require};
use crate::envelope::Success;
use crate::error::{ApiError, ErrorBody};
use crate::json::QueryParams;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct AgreementParams {
    /// Only this agent (listed even without verdicts).
    ai_agent_id: Option<i64>,
    /// `YYYY-MM-DD` or an RFC 3339 date-time; default 30 days (12 weeks) before `to`.
    from: Option<String>,
    /// `YYYY-MM-DD` (through the end of that day) or an RFC 3339 date-time; default now.
    to: Option<String>,
    /// `day` (default) or `week` (from Monday); periods are UTC, at most 366.
    interval: Option<String>,
}

/// The verdicts decided in one period.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct AgreementPeriod {
    /// The period's first day, `YYYY-MM-DD`.
    start: String,
    /// Detected by the AI and kept: the ticket was closed by a person with the intent on it,
    /// or a person restored it.
    agreed: i64,
    /// Detected by the AI and removed by a person.
    false_positives: i64,
    /// Added by a person where the AI had detected nothing for that agent.
    misses: i64,
    /// `agreed` over all three; null without verdicts.
    agreement_rate: Option<f64>,
}

/// One agent's trend, every period of the range in order.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct AgentAgreement {
    ai_agent_id: i64,
    periods: Vec<AgreementPeriod>,
}

#[derive(Serialize, ToSchema)]
pub struct Agreement {
    /// Agents with verdicts in the range, by id.
    #[schema(value_type = Vec<AgentAgreement>)]
    agreement: Value,
}

/// Live agreement of people with the AI's detections.
///
/// Per AI agent and period: detections people kept (closing the ticket with them counts),
/// removed (false positives) and intents people added (misses). Needs `aiQualityCheckView`.
#[utoipa::path(get, path = "/aiQualityCheck/agreement", tag = "aiQualityCheck",
    params(AgreementParams),
    responses((status = 200, body = Success<Agreement>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn agreement(
    State(state): State<AppState>,
    Auth(caller): Auth,
    params: Result<QueryParams<AgreementParams>, ApiError>,
) -> Result<Success<Agreement>, ApiError> {
    require(&caller, permission::AI_QUALITY_CHECK_VIEW)?;
    let QueryParams(p) = params?;
    let req = pb::GetAgreementRequest {
        ai_agent_id: p.ai_agent_id,
        from: p.from.unwrap_or_default(),
        to: p.to.unwrap_or_default(),
        interval: p.interval.unwrap_or_default(),
    };
    let found = state.quality().get_agreement(request(req, &caller)).await?.into_inner();
    Ok(Success::new(Agreement { agreement: document(&found.agreement_json)? }))
}
