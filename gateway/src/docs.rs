//! The OpenAPI 3.1 document and the docs page. Paths and schemas come from the routes as
//! `crate::routes` declares them; this adds what the whole document says once.

use std::sync::LazyLock;

use axum::http::header::CONTENT_TYPE;
use axum::response::{Html, IntoResponse, Response};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::envelope::Nothing;
use crate::error::ErrorBody;

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
    responses((status = 200, description = "OpenAPI 3.1", content_type = "application/yaml", body = String)))]
pub async fn yaml() -> Response {
    ([(CONTENT_TYPE, "application/yaml")], RENDERED.yaml.clone()).into_response()
}

/// This document in JSON.
#[utoipa::path(get, path = "/docs/openapi.json", tag = "meta", security(()),
    responses((status = 200, description = "OpenAPI 3.1", content_type = "application/json", body = Object)))]
pub async fn json() -> Response {
    ([(CONTENT_TYPE, "application/json")], RENDERED.json.clone()).into_response()
}

/// The interactive API reference.
#[utoipa::path(get, path = "/docs", tag = "meta", security(()),
    responses((status = 200, description = "An HTML page", content_type = "text/html", body = String)))]
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
