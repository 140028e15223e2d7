use reqwest::Method;
use serde_json::Value;

use crate::harness::{Stack, send};

#[tokio::test]
async fn health_reports_every_service_serving_at_the_root_and_under_the_api() {
    let stack = Stack::start().await;
    for path in ["/health", "/api/mind/health"] {
        let response = stack.http.get(stack.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["status"], "ok");
        for service in ["ticket-svc", "agent-svc", "quality-svc", "settings-svc"] {
            assert_eq!(body["services"][service], "serving", "{path}: {body}");
        }
    }
}

#[tokio::test]
async fn version_needs_auth_and_names_the_build() {
    let stack = Stack::start().await;
    let anonymous = stack.http.get(stack.url("/api/mind/version")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let body: Value =
        stack.admin(Method::GET, "/version").send().await.unwrap().json().await.unwrap();
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    // Tests build from a git checkout, so the commit is HEAD's hash, never a placeholder.
    let commit = body["commit"].as_str().unwrap_or_default();
    assert!(
        commit.len() >= 7 && commit.bytes().all(|b| b.is_ascii_hexdigit()),
        "commit {commit:?} is not a git hash"
    );
    let head = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("git runs in the checkout the tests were built from");
    let head = String::from_utf8(head.stdout).unwrap();
    assert!(head.starts_with(commit), "commit {commit:?} is not HEAD {head:?}");
    let built = body["buildDate"].as_str().unwrap_or_default();
    let built = chrono::DateTime::parse_from_rfc3339(built)
        .unwrap_or_else(|e| panic!("buildDate {built:?} is not a date: {e}"));
    assert!(built <= chrono::Utc::now(), "built in the future: {built}");
}

#[tokio::test]
async fn openapi_is_public_in_yaml_and_json_and_lists_the_routes() {
    let stack = Stack::start().await;
    let yaml = stack.http.get(stack.url("/api/mind/docs/open-api")).send().await.unwrap();
    assert_eq!(yaml.status(), 200);
    assert_eq!(yaml.headers()["content-type"], "application/yaml");
    let yaml = yaml.text().await.unwrap();
    assert!(yaml.starts_with("openapi: 3.1"), "{}", &yaml[..40]);

    let (_, json) = send(stack.http.get(stack.url("/api/mind/docs/openapi.json"))).await;
    let paths = json["paths"].as_object().unwrap();
    for path in [
        "/api/mind/ticket",
        "/api/mind/ticket/{ticketId}",
        "/api/mind/ticket/search",
        "/api/mind/ticket/stats",
        "/api/mind/version",
        "/health",
    ] {
        assert!(paths.contains_key(path), "{path} missing from the OpenAPI document");
    }
    assert!(json["components"]["securitySchemes"]["cookieAuth"].is_object());

    let page = stack.http.get(stack.url("/api/mind/docs")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("/api/mind/docs/openapi.json"));
}

#[tokio::test]
async fn wrong_method_is_405_and_unknown_route_404_both_json() {
    let stack = Stack::start().await;
    let response = stack.admin(Method::DELETE, "/ticket/search").send().await.unwrap();
    assert_eq!(response.status(), 405);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["success"], false);

    let response = stack.admin(Method::PUT, "/ticket").send().await.unwrap();
    assert_eq!(response.status(), 405);

    let response = stack.admin(Method::GET, "/no/such/thing").send().await.unwrap();
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "not_found");
}

#[tokio::test]
async fn each_service_role_is_confined_to_its_own_schema() {
    let stack = Stack::start().await;
    let mut db = stack.db().await;
    let host = crate::harness::admin_url();
    let host = host.rsplit_once('@').map(|(_, h)| h.split('/').next().unwrap().to_owned()).unwrap();
    let url = format!("postgres://enneo_ticket:enneo_ticket@{host}/{}", stack.database);
    let mut as_ticket = <sqlx::PgConnection as sqlx::Connection>::connect(&url).await.unwrap();
    let own: i64 = sqlx::query_scalar("SELECT count(*) FROM ticket.ticket")
        .fetch_one(&mut as_ticket)
        .await
        .unwrap();
    assert_eq!(own, 0);
    let foreign = sqlx::query_scalar::<_, i64>("SELECT count(*) FROM quality.ticket_event")
        .fetch_one(&mut as_ticket)
        .await
        .unwrap_err();
    assert!(foreign.to_string().contains("permission denied"), "{foreign}");
    // The tables exist: the superuser sees them.
    let exists: i64 = sqlx::query_scalar("SELECT count(*) FROM quality.ticket_event")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(exists, 0);
}
