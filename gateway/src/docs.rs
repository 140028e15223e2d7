//! The OpenAPI 3.1 document and the docs page. Paths and schemas come from the routes as
//! `crate::routes` declares them; this adds what the whole document says once.

use std::sync::LazyLock;

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS,
};
use axum::response::{Html, IntoResponse, Response};
use enneo_common::ErrorCode;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::envelope::Nothing;
use crate::error::{ApiError, ErrorBody};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Enneo Mind API",
        description = "Tickets, AI agents, quality checks and settings of an AI-first customer-service desk.",
        license(name = "Apache-2.0")
    ),
    // Referenced by every path (errors) or through a default type parameter (`Success`).
    components(schemas(ErrorBody, Nothing)),
    modifiers(&Security),
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    tags((name = "ticket", description = "Tickets from e-mail, chat, phone, letter and portal"),
         (name = "conversation", description = "The messages of a ticket"),
         (name = "customer", description = "Customers and contracts"),
         (name = "aiAgent", description = "AI agents: detect what a customer wants, answer or act for them"),
         (name = "intent", description = "What AI agents found on a ticket, and running it"),
         (name = "aiQualityCheck", description = "AI quality check: test cases replayed as dry runs and scored against their expectation"),
         (name = "settings", description = "The tenant's configuration"),
         (name = "tag", description = "Tags: skills, products, properties"),
         (name = "profile", description = "Users, login and API keys"),
         (name = "team", description = "Teams whose settings members inherit"),
         (name = "export", description = "Tickets and messages as CSV, JSON or XLSX, streamed"),
         (name = "meta", description = "Version, health and this documentation")),
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

/// Both renderings, made once on first request.
struct Rendered {
    yaml: String,
    json: String,
}

static RENDERED: LazyLock<Rendered> = LazyLock::new(|| {
    let doc = crate::openapi();
    Rendered {
        yaml: doc.to_yaml().expect("the OpenAPI document renders as YAML"),
        json: doc.to_pretty_json().expect("the OpenAPI document renders as JSON"),
    }
});

/// This document in YAML.
#[utoipa::path(get, path = "/docs/open-api", tag = "meta", security(()),
    responses((status = 200, description = "OpenAPI 3.1", content_type = "application/yaml", body = Object)))]
pub async fn yaml() -> Response {
    ([(CONTENT_TYPE, "application/yaml")], RENDERED.yaml.clone()).into_response()
}

/// This document in JSON.
#[utoipa::path(get, path = "/docs/openapi.json", tag = "meta", security(()),
    responses((status = 200, description = "OpenAPI 3.1", content_type = "application/json", body = Object)))]
pub async fn json() -> Response {
    ([(CONTENT_TYPE, "application/json")], RENDERED.json.clone()).into_response()
}

/// The interactive API reference: Scalar's script, served from here with the page's own
/// settings beside it, so the page works without reaching any other host.
#[utoipa::path(get, path = "/docs", tag = "meta", security(()),
    responses((status = 200, description = "An HTML page", content_type = "text/html", body = String)))]
pub async fn page() -> Response {
    // Scalar injects its stylesheet at run time and marks it with this nonce; nothing else
    // inline may run or style the page.
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let version = &*VERSION;
    let policy = format!(
        "default-src 'self'; style-src 'self' 'nonce-{nonce}'; img-src 'self' data:; \
         font-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'self'"
    );
    let html = format!(
        r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Enneo Mind API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta property="csp-nonce" content="{nonce}"></head>
<body>
<div id="app"></div>
<script src="{ASSETS}/scalar.js?v={version}"></script>
<script src="{ASSETS}/docs.js?v={version}"></script>
<noscript>The interactive reference needs JavaScript; the document itself is at
<a href="/api/mind/docs/open-api">/api/mind/docs/open-api</a> (YAML) and
<a href="/api/mind/docs/openapi.json">/api/mind/docs/openapi.json</a>.</noscript>
</body>
</html>"#
    );
    ([(CONTENT_SECURITY_POLICY, policy)], Html(html)).into_response()
}

/// Where the page's scripts are served.
const ASSETS: &str = "/api/mind/docs/assets";

/// Names the scripts' content in their URLs, so a changed script is fetched despite the long
/// cache.
static VERSION: LazyLock<String> = LazyLock::new(|| {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::hash::DefaultHasher::new();
    (&SCALAR_JS[..], SETTINGS_JS).hash(&mut hasher);
    format!("{:016x}", hasher.finish())
});

/// Starts the reference on this API's document; Scalar's fonts, telemetry, AI chat and
/// developer toolbar would reach other hosts, so they are off.
const SETTINGS_JS: &str = "Scalar.createApiReference('#app', {
  url: '/api/mind/docs/openapi.json',
  withDefaultFonts: false,
  telemetry: false,
  agent: { disabled: true },
  showDeveloperTools: 'never',
});
";

static SCALAR_JS: LazyLock<Bytes> = LazyLock::new(|| {
    scalar_api_reference::get_asset("scalar.js").expect("the crate ships scalar.js").into()
});

/// A script of the docs page, cached for a year (its URL changes with each build).
#[utoipa::path(get, path = "/docs/assets/{file}", tag = "meta", security(()),
    params(("file" = String, Path, description = "`scalar.js` or `docs.js`")),
    responses(
        (status = 200, description = "JavaScript", content_type = "text/javascript", body = String),
        (status = 404, body = ErrorBody)))]
pub async fn asset(Path(file): Path<String>) -> Result<Response, ApiError> {
    let body = match file.as_str() {
        "scalar.js" => SCALAR_JS.clone(),
        "docs.js" => Bytes::from_static(SETTINGS_JS.as_bytes()),
        _ => return Err(ApiError::new(ErrorCode::NotFound, "no such asset")),
    };
    let headers = [
        (CONTENT_TYPE, "text/javascript; charset=utf-8"),
        (CACHE_CONTROL, "public, max-age=31536000, immutable"),
        (X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ];
    Ok((headers, body).into_response())
}
