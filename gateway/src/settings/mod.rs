//! `/settings…` (contract §5), as settings-svc divides it: the tenant's settings (values), one
//! category grouped for display, subchannels and user-defined functions.

pub mod category;
pub mod subchannels;
pub mod udfs;
pub mod values;

use axum::routing::{delete, get};
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;

use crate::AppState;

pub fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/settings", get(values::list_settings).post(values::update_settings))
        .route("/settings/compact", get(values::compact_settings))
        .route("/settings/search", get(values::search_settings))
        .route("/settings/category/{category}", get(category::category_settings))
        .route(
            "/settings/subchannel",
            get(subchannels::list_subchannels).post(subchannels::add_subchannel),
        )
        .route("/settings/subchannel/{id}", delete(subchannels::delete_subchannel))
        .route("/settings/user-defined-function", get(udfs::list_udfs).post(udfs::add_udf))
        .route("/settings/user-defined-function/{id}", delete(udfs::delete_udf))
        .route("/settings/{name}", get(values::get_setting).put(values::put_setting))
}

pub(crate) fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct SecretsParam {
    pub(crate) show_secrets: Option<bool>,
}
