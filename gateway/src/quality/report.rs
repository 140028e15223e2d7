//! A test run's report: one HTML page quality-svc renders, served so that a browser loads
//! nothing else with it.

use axum::extract::State;
use axum::http::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use enneo_common::auth::permission;
use enneo_common::grpc::request;
use enneo_proto::quality::v1 as pb;

use crate::AppState;
use crate::auth::{Auth, require};
use crate::error::{ApiError, ErrorBody};
use crate::json::PathId;

/// The page has inline styles and SVG and needs nothing more; anything else is refused.
const POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/// A test run as an HTML report.
///
/// Needs `aiQualityCheckView`. A self-contained page (no scripts, no external resources) with
/// the run's scores per dimension, intent detection precision and recall per agent, the
/// changes against the previous completed run of the agent and the trend of the overall score
/// over the agent's runs, as SVG charts.
#[utoipa::path(get, path = "/aiQualityCheck/testRun/{testRunId}/report", tag = "aiQualityCheck",
    params(("testRunId" = i64, Path)),
    responses((status = 200, description = "An HTML page", content_type = "text/html", body = String),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn run_report(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
) -> Result<Response, ApiError> {
    require(&caller, permission::AI_QUALITY_CHECK_VIEW)?;
    let page = state.quality().run_report(request(pb::RunRef { id }, &caller)).await?.into_inner();
    let headers = [(CONTENT_TYPE, "text/html; charset=utf-8"), (CONTENT_SECURITY_POLICY, POLICY)];
    Ok((headers, page.html).into_response())
}
