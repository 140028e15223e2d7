//! The API reference page renders in a browser from what the gateway serves, with no other
//! host to reach.

use crate::harness::Stack;

#[tokio::test]
async fn the_docs_page_lists_the_operations_from_its_own_assets() {
    let stack = Stack::start().await;
    let page = stack.http.get(stack.url("/api/mind/docs")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let policy = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(policy.starts_with("default-src 'self';"), "{policy}");
    assert!(!policy.contains("http"), "the policy admits another host: {policy}");
    let html = page.text().await.unwrap();
    assert!(!html.contains("http://") && !html.contains("https://"), "{html}");

    // The scripts the page loads are ours and cached long.
    let scripts: Vec<&str> =
        html.split("<script src=\"").skip(1).map(|s| s.split('"').next().unwrap()).collect();
    assert_eq!(scripts.len(), 2, "{html}");
    for src in &scripts {
        assert!(src.starts_with("/api/mind/docs/assets/"), "{src}");
        let script = stack.http.get(stack.url(src)).send().await.unwrap();
        assert_eq!(script.status(), 200, "{src}");
        assert!(script.headers()["content-type"].to_str().unwrap().starts_with("text/javascript"));
        assert!(script.headers()["cache-control"].to_str().unwrap().contains("max-age=31536000"));
    }
    let missing =
        stack.http.get(stack.url("/api/mind/docs/assets/nothing.js")).send().await.unwrap();
    assert_eq!(missing.status(), 404);

    // Rendered, the page lists the operations and the groups of the document, which only its
    // script can put there (Scalar renders the first group's operations up front).
    let dom = crate::browser::rendered_dom(&stack.url("/api/mind/docs")).await;
    for shown in [
        "Get a list of tickets",
        "Create a ticket",
        "/api/mind/ticket/search",
        "/api/mind/ticket/{ticketId}/forward",
        "aiQualityCheck",
        "Tickets, AI agents, quality checks and settings",
    ] {
        assert!(dom.contains(shown), "{shown} missing from the rendered page");
    }
}
