//! `/customer/…` (contract §6.4): customers and their contracts as tickets brought them in.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use enneo_common::grpc::request;
use enneo_proto::ticket::v1 as pb;
use pb::get_customer_request::By;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Auth;
use crate::envelope::Success;
use crate::error::{ApiError, ErrorBody};
use crate::json::{PathId, QueryParams};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(by_ticket))
        .routes(routes!(by_customer))
        .routes(routes!(by_contract))
        .routes(routes!(search))
}

/// A customer with contracts (energy-utility shaped; stored as given, so further fields pass
/// through).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct CustomerDoc {
    /// As given: integer or string.
    #[schema(value_type = Object)]
    id: Value,
    /// Whether the ticket's sender is the customer's address; null when the customer was not
    /// looked up through a ticket.
    email_matches: Option<bool>,
    business: Option<bool>,
    company: Option<String>,
    firstname: Option<String>,
    lastname: Option<String>,
    address: Option<String>,
    #[schema(value_type = Option<Object>)]
    phone: Option<Value>,
    email: Option<String>,
    #[schema(value_type = Vec<Object>)]
    tags: Value,
    #[schema(value_type = Vec<Object>)]
    contracts: Value,
    #[schema(value_type = Option<Object>)]
    additional_data: Option<Value>,
}

async fn customer(
    state: &AppState,
    caller: &enneo_common::auth::Caller,
    by: By,
) -> Result<Json<Value>, ApiError> {
    let found = state
        .tickets()
        .get_customer(request(pb::GetCustomerRequest { by: Some(by) }, caller))
        .await?
        .into_inner();
    let mut customer: Value =
        serde_json::from_str(&found.customer_json).map_err(|_| ApiError::internal())?;
    // `success` sorted in among the stored keys, not first as `Success` would put it.
    if let Value::Object(map) = &mut customer {
        map.insert("success".into(), Value::Bool(true));
    }
    Ok(Json(customer))
}

fn external_id(raw: String) -> Result<String, ApiError> {
    let raw = raw.trim().to_owned();
    if raw.is_empty() || raw.len() > 255 {
        return Err(ApiError::bad_request("the id must be 1 to 255 characters"));
    }
    Ok(raw)
}

/// The customer of a ticket.
#[utoipa::path(get, path = "/customer/byTicketId/{ticketId}", tag = "customer",
    params(("ticketId" = i64, Path)),
    responses((status = 200, body = Success<CustomerDoc>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn by_ticket(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
) -> Result<Json<Value>, ApiError> {
    customer(&state, &caller, By::TicketId(id)).await
}

/// A customer by its id.
#[utoipa::path(get, path = "/customer/byCustomerId/{customerId}", tag = "customer",
    params(("customerId" = String, Path)),
    responses((status = 200, body = Success<CustomerDoc>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn by_customer(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    customer(&state, &caller, By::CustomerId(external_id(id)?)).await
}

/// The customer holding a contract.
#[utoipa::path(get, path = "/customer/byContractId/{contractId}", tag = "customer",
    params(("contractId" = String, Path)),
    responses((status = 200, body = Success<CustomerDoc>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn by_contract(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    customer(&state, &caller, By::ContractId(external_id(id)?)).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Name, e-mail, phone, address or company (substring), or an exact customer/contract id.
    q: Option<String>,
    /// Default 10, at most 100.
    limit: Option<i64>,
    offset: Option<i64>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomerRow {
    id: String,
    firstname: Option<String>,
    lastname: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    address: Option<String>,
    contract_ids: Vec<String>,
}

/// Search customers.
///
/// A bare array, as the contract has it; the number of all matches is in `X-Total-Count`.
#[utoipa::path(get, path = "/customer/search", tag = "customer", params(SearchParams),
    responses((status = 200, body = Vec<CustomerRow>, headers(("X-Total-Count" = i64))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn search(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(params): QueryParams<SearchParams>,
) -> Result<Response, ApiError> {
    let q = params
        .q
        .filter(|q| !q.trim().is_empty())
        .ok_or_else(|| ApiError::bad_request("q is required"))?;
    let found = state
        .tickets()
        .search_customers(request(
            pb::SearchCustomersRequest {
                q,
                limit: params.limit.unwrap_or(0),
                offset: params.offset.unwrap_or(0),
            },
            &caller,
        ))
        .await?
        .into_inner();
    let rows: Vec<CustomerRow> = found
        .customers
        .into_iter()
        .map(|c| CustomerRow {
            id: c.id,
            firstname: c.firstname,
            lastname: c.lastname,
            email: c.email,
            phone: c.phone,
            address: c.address,
            contract_ids: c.contract_ids,
        })
        .collect();
    let mut response = Json(rows).into_response();
    response.headers_mut().insert("x-total-count", HeaderValue::from(found.total));
    Ok(response)
}
