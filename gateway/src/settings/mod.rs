//! `/settings…` (contract §5), as settings-svc divides it: the tenant's settings (values), one
//! category grouped for display, subchannels, user-defined functions and event hooks.

pub mod category;
pub mod event_hooks;
pub mod subchannels;
pub mod udfs;
pub mod values;

use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(values::list_settings, values::update_settings))
        .routes(routes!(values::compact_settings))
        .routes(routes!(values::search_settings))
        .routes(routes!(category::category_settings))
        .routes(routes!(subchannels::list_subchannels, subchannels::add_subchannel))
        .routes(routes!(subchannels::delete_subchannel))
        .routes(routes!(udfs::list_udfs, udfs::add_udf))
        .routes(routes!(udfs::delete_udf))
        .routes(routes!(event_hooks::list_event_hooks, event_hooks::add_event_hook))
        .routes(routes!(event_hooks::delete_event_hook))
        .routes(routes!(event_hooks::hook_deliveries))
        .routes(routes!(values::get_setting, values::put_setting))
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
