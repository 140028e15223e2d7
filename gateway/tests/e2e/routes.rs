//! The router and the OpenAPI document agree: every served route is documented, every
//! documented route is served, and every schema the document refers to is in it.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::Value;

use crate::harness::{Stack, send};

const METHODS: [Method; 5] =
    [Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE];

/// The paths the gateway's router holds. axum exposes them only in its debug rendering, which
/// quotes each route's path.
fn router_paths() -> BTreeSet<String> {
    let (router, _) = gateway::routes().split_for_parts();
    let rendered = format!("{router:?}");
    let paths: BTreeSet<String> = rendered
        .split('"')
        .skip(1)
        .step_by(2)
        .filter(|s| s.starts_with('/') && !s.contains("__private__axum"))
        .map(str::to_owned)
        .collect();
    assert!(
        paths.contains("/health") && paths.contains("/api/mind/ticket/{ticketId}"),
        "the router's paths could not be read from {rendered:.300}"
    );
    paths
}

/// Whether the running gateway routes `method path` to a handler. Requests carry no
/// credentials, so handlers stop at authentication (or, for the public ones, at reading
/// nothing) and nothing is written.
async fn served(stack: &Stack, method: &Method, path: &str) -> bool {
    let concrete: String = path
        .split('/')
        .map(|segment| if segment.starts_with('{') { "1" } else { segment })
        .collect::<Vec<_>>()
        .join("/");
    let response = stack.http.request(method.clone(), stack.url(&concrete)).send().await.unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let unrouted = status == 405 && body["code"] == "method_not_allowed"
        || status == 404 && body["error"] == "no such route";
    !unrouted
}

fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("the document has paths") {
        for method in METHODS {
            if item.get(method.as_str().to_lowercase()).is_some() {
                routes.insert((method.to_string(), path.clone()));
            }
        }
    }
    routes
}

#[tokio::test]
async fn every_served_route_is_documented_and_every_documented_route_is_served() {
    let stack = Stack::start().await;
    let (status, doc) = send(stack.http.get(stack.url("/api/mind/docs/openapi.json"))).await;
    assert_eq!(status, 200);
    let documented = documented(&doc);

    let candidates: BTreeSet<String> =
        router_paths().into_iter().chain(documented.iter().map(|(_, p)| p.clone())).collect();
    let mut served_routes = BTreeSet::new();
    for path in &candidates {
        for method in &METHODS {
            if served(&stack, method, path).await {
                served_routes.insert((method.to_string(), path.clone()));
            }
        }
    }

    let undocumented: Vec<_> = served_routes.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served_routes).collect();
    assert!(undocumented.is_empty(), "served but not in the OpenAPI document: {undocumented:?}");
    assert!(unserved.is_empty(), "in the OpenAPI document but not served: {unserved:?}");
    assert!(served_routes.len() > 60, "only {} routes found", served_routes.len());
}

#[test]
fn every_schema_the_document_refers_to_is_defined() {
    let doc = serde_json::to_value(gateway::openapi()).unwrap();
    let defined = doc["components"]["schemas"].as_object().expect("the document has schemas");
    fn refs(value: &Value, out: &mut BTreeSet<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    out.insert(target.clone());
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut targets = BTreeSet::new();
    refs(&doc, &mut targets);
    assert!(targets.len() > 20, "only {} references found", targets.len());
    let dangling: Vec<_> = targets
        .iter()
        .filter(|t| {
            t.strip_prefix("#/components/schemas/").is_none_or(|n| !defined.contains_key(n))
        })
        .collect();
    assert!(dangling.is_empty(), "references to schemas the document lacks: {dangling:?}");
}
