//! The OpenAPI 3.1 document, generated from the handlers and schemas, and the docs page.

use axum::http::header::CONTENT_TYPE;
use axum::response::{Html, IntoResponse, Response};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::ErrorBody;
use crate::tickets::{self, docs::TicketWrite, view};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Enneo Mind API",
        description = "Tickets, AI agents, quality checks and settings of an AI-first customer-service desk.",
        license(name = "Apache-2.0")
    ),
    paths(
        tickets::create_ticket,
        tickets::bulk::bulk_update_tickets,
        tickets::search::search_tickets,
        tickets::queue::get_latest_ticket,
        tickets::queue::ticket_stats,
        tickets::get_ticket,
        tickets::update_ticket,
        tickets::delete_ticket,
        tickets::ping_ticket,
        tickets::activity::ticket_activity,
        tickets::forward::forward_ticket,
        tickets::context::ticket_variables,
        tickets::context::ticket_history,
        tickets::autoexecute::auto_execute,
        crate::agents::agent_queue,
        tickets::conversations::list_conversations,
        tickets::conversations::get_conversation,
        tickets::conversations::reply,
        tickets::conversations::store,
        tickets::conversations::update_conversation,
        tickets::conversations::delete_conversation,
        crate::customers::by_ticket,
        crate::customers::by_customer,
        crate::customers::by_contract,
        crate::customers::search,
        crate::settings::values::list_settings,
        crate::settings::values::update_settings,
        crate::settings::values::compact_settings,
        crate::settings::values::search_settings,
        crate::settings::category::category_settings,
        crate::settings::values::get_setting,
        crate::settings::values::put_setting,
        crate::settings::subchannels::list_subchannels,
        crate::settings::subchannels::add_subchannel,
        crate::settings::subchannels::delete_subchannel,
        crate::mailbox::authorization,
        crate::mailbox::callback,
        crate::tags::list_tags,
        crate::tags::tag_tree,
        crate::tags::create_tag,
        crate::tags::get_tag,
        crate::tags::delete_tag,
        crate::profiles::session::login,
        crate::profiles::session::logout,
        crate::profiles::me,
        crate::profiles::list_profiles,
        crate::profiles::get_profile,
        crate::profiles::create_profile,
        crate::profiles::update_profile,
        crate::profiles::delete_profile,
        crate::profiles::routing::routing_status,
        crate::profiles::api_keys::create_api_key,
        crate::profiles::api_keys::list_api_keys,
        crate::profiles::api_keys::revoke_api_key,
        crate::profiles::bulk::bulk_update_profiles,
        crate::profiles::routing::bulk_routing_status,
        crate::profiles::routing::online_summary,
        crate::profiles::routing::explain_routing,
        crate::teams::list_teams,
        crate::teams::team_tree,
        crate::teams::get_team,
        crate::teams::create_team,
        crate::teams::update_team,
        crate::teams::delete_team,
        crate::roles::list_roles,
        crate::roles::get_role,
        crate::roles::create_role,
        crate::roles::update_role,
        crate::roles::delete_role,
        crate::settings::udfs::list_udfs,
        crate::settings::udfs::add_udf,
        crate::settings::udfs::delete_udf,
        crate::meta::version,
        crate::meta::health,
    ),
    components(schemas(
        ErrorBody,
        crate::envelope::Nothing,
        TicketWrite,
        view::TicketView,
        view::ReplyRecipients,
        tickets::UpdatedTicket,
        crate::bulk::BulkResponse,
        crate::bulk::BulkResult,
        tickets::search::SearchBody,
        tickets::search::FilterBody,
        tickets::search::SearchResponse,
        tickets::queue::GetLatestBody,
        tickets::queue::GetLatestResponse,
        tickets::queue::StatsResponse,
        tickets::queue::TagCount,
        tickets::forward::ForwardBody,
        tickets::context::VariablesResponse,
        tickets::context::HistoryItem,
        tickets::context::HistoryResponse,
        tickets::autoexecute::AutoExecuteResponse,
        crate::agents::AgentQueue,
        tickets::conversations::ConversationView,
        tickets::conversations::ConversationList,
        tickets::conversations::ConversationEnvelope,
        tickets::conversations::Content,
        tickets::conversations::ReplyBody,
        tickets::conversations::StoreBody,
        tickets::conversations::UpdateBody,
        tickets::Addresses,
        tickets::PingResponse,
        tickets::activity::ActivityResponse,
        tickets::activity::ActivityView,
        tickets::activity::ActivityData,
        tickets::activity::Technical,
        view::UserRef,
        crate::customers::CustomerDoc,
        crate::customers::CustomerRow,
        crate::settings::values::SettingView,
        crate::settings::category::Group,
        crate::settings::category::CategoryResponse,
        crate::settings::values::KeyResult,
        crate::settings::values::UpdateResponse,
        crate::settings::subchannels::SubchannelView,
        crate::settings::subchannels::SubchannelList,
        crate::settings::subchannels::NewSubchannel,
        crate::settings::subchannels::SubchannelCreated,
        crate::settings::udfs::UdfView,
        crate::settings::udfs::UdfList,
        crate::settings::udfs::NewUdf,
        crate::settings::udfs::UdfCreated,
        crate::mailbox::Connected,
        crate::tags::TagView,
        crate::tags::TagList,
        crate::tags::NewTag,
        crate::tags::TagCreated,
        crate::profiles::ProfileView,
        crate::profiles::ProfileSettings,
        crate::profiles::session::Credentials,
        crate::profiles::session::LoginResponse,
        crate::profiles::Me,
        crate::profiles::ProfileList,
        crate::profiles::ProfileWrite,
        crate::profiles::ProfileSettingsWrite,
        crate::profiles::routing::RoutingStatuses,
        crate::profiles::routing::RoutingStatusWrite,
        crate::profiles::api_keys::NewApiKey,
        crate::profiles::api_keys::ApiKeyCreated,
        crate::profiles::api_keys::ApiKeyView,
        crate::profiles::api_keys::ApiKeyList,
        crate::profiles::routing::OnlineUser,
        crate::profiles::routing::StatusCount,
        crate::profiles::routing::OnlineSummary,
        crate::profiles::routing::RoutedTicket,
        crate::profiles::routing::RoutingVerdict,
        crate::profiles::routing::RoutingUsed,
        crate::profiles::routing::RoutingExplained,
        crate::teams::TeamSettingsView,
        crate::teams::TeamView,
        crate::teams::TeamNode,
        crate::teams::TeamTree,
        crate::teams::TeamList,
        crate::teams::TeamSettingsWrite,
        crate::teams::TeamWrite,
        crate::roles::RoleSummary,
        crate::roles::RoleDetail,
        crate::roles::RoleList,
        crate::roles::RoleWrite,
        crate::meta::Version,
        crate::meta::Health,
    )),
    modifiers(&Security),
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    tags((name = "ticket", description = "Tickets from e-mail, chat, phone, letter and portal"),
         (name = "conversation", description = "The messages of a ticket"),
         (name = "customer", description = "Customers and contracts"),
         (name = "settings", description = "The tenant's configuration"),
         (name = "tag", description = "Tags: skills, products, properties"),
         (name = "profile", description = "Users, login and API keys"),
         (name = "team", description = "Teams whose settings members inherit"),
         (name = "meta", description = "Version and health")),
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearerAuth",
            SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build(),
            ),
        );
        components.add_security_scheme(
            "cookieAuth",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(crate::auth::SESSION_COOKIE))),
        );
    }
}

/// Both renderings, made once at start-up.
#[derive(Clone)]
pub struct Rendered {
    pub yaml: String,
    pub json: String,
}

impl Default for Rendered {
    fn default() -> Self {
        let doc = ApiDoc::openapi();
        Self {
            yaml: doc.to_yaml().expect("the OpenAPI document renders as YAML"),
            json: doc.to_pretty_json().expect("the OpenAPI document renders as JSON"),
        }
    }
}

pub fn yaml(doc: &Rendered) -> Response {
    ([(CONTENT_TYPE, "application/yaml")], doc.yaml.clone()).into_response()
}

pub fn json(doc: &Rendered) -> Response {
    ([(CONTENT_TYPE, "application/json")], doc.json.clone()).into_response()
}

pub async fn page() -> Html<&'static str> {
    Html(
        r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Enneo Mind API</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body>
<script id="api-reference" data-url="/api/mind/docs/openapi.json"></script>
<script src="https://cdn.jsdelivr.net/npm/@scalar/api-reference"></script>
<noscript>The interactive reference needs JavaScript; the document itself is at
<a href="/api/mind/docs/open-api">/api/mind/docs/open-api</a> (YAML) and
<a href="/api/mind/docs/openapi.json">/api/mind/docs/openapi.json</a>.</noscript>
</body>
</html>"#,
    )
}
