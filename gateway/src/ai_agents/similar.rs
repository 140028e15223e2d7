//! `GET /aiAgent/{id}/similarTickets`: agent-svc ranks ticket ids against the agent's
//! examples; the tickets themselves come from ticket-svc, as search rows the caller may see.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use enneo_common::grpc::request;
use enneo_proto::agent::v1 as pb;
use enneo_proto::ticket::v1 as tickets;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::IntoParams;

use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ErrorBody};
use crate::json::{PathId, QueryParams, page};
use crate::tickets::search::search;
use crate::tickets::view::TicketView;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SimilarParams {
    /// Default 10, 1 to 100.
    limit: Option<i64>,
}

/// Tickets similar to an AI agent's examples.
///
/// A bare array of compact tickets (as `POST /ticket/search` rows), most similar first, each
/// with its `similarity` (0 to 1).
#[utoipa::path(get, path = "/aiAgent/{id}/similarTickets", tag = "aiAgent",
    params(("id" = i64, Path), SimilarParams),
    responses((status = 200, body = Vec<TicketView>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn similar_tickets(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
    QueryParams(params): QueryParams<SimilarParams>,
) -> Result<Json<Vec<Value>>, ApiError> {
    let (limit, _) = page(params.limit, None, 10, 100)?;
    let req = pb::SimilarTicketsRequest { id, limit: limit as i32 };
    let similar = state.agents().similar_tickets(request(req, &caller)).await?.into_inner().tickets;
    if similar.is_empty() {
        return Ok(Json(Vec::new()));
    }
    let by_id = tickets::Filter {
        key: "t.id".into(),
        comparator: "in".into(),
        values: similar.iter().map(|s| s.ticket_id.to_string()).collect(),
        ..Default::default()
    };
    let req = tickets::SearchTicketsRequest {
        limit: similar.len() as i64,
        filters: vec![by_id],
        ..Default::default()
    };
    let mut rows: HashMap<i64, Value> = search(&state, &caller, req)
        .await?
        .tickets
        .into_iter()
        .filter_map(|row| Some((row["id"].as_i64()?, row)))
        .collect();
    // agent-svc's order; tickets the caller may not see (or gone since) are left out.
    let ranked = similar
        .iter()
        .filter_map(|s| {
            let mut row = rows.remove(&s.ticket_id)?;
            row["similarity"] = json!((f64::from(s.similarity) * 1e4).round() / 1e4);
            Some(row)
        })
        .collect();
    Ok(Json(ranked))
}
