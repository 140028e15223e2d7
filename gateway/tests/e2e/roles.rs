//! Custom roles: the permission matrix decides what a user's requests may do.

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Stack, send};

#[tokio::test]
async fn a_custom_role_grants_and_revokes_what_its_members_may_do() {
    let stack = Stack::start().await;
    let mut db = stack.db().await;
    sqlx::query("ALTER SEQUENCE settings.profile_id_seq RESTART WITH 1000")
        .execute(&mut db)
        .await
        .unwrap();

    let (_, roles) = send(stack.agent(Method::GET, "/roles")).await;
    let names: Vec<&str> =
        roles["roles"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["Administrator", "Agent"]);

    let (status, role) = send(
        stack.admin(Method::POST, "/roles").json(&json!({"name": "Supervisor", "baseRoleId": 2,
        "permissions": {"deleteTicket": true, "forwardTicket": false, "readTickets": true}})),
    )
    .await;
    assert_eq!(status, 200, "{role}");
    let id = role["id"].as_i64().unwrap();
    assert_eq!(role["permissions"]["deleteTicket"], true);
    assert_eq!(role["permissions"]["forwardTicket"], false);
    assert_eq!(role["permissions"]["manageUsers"], false);

    let (status, _) =
        send(stack.admin(Method::POST, "/profile").json(&json!({"email": "sup@example.com",
        "password": "correct horse battery", "settings": {"roleId": id}})))
        .await;
    assert_eq!(status, 200);
    let (_, login) = send(
        stack
            .http
            .post(stack.url("/api/mind/auth/login"))
            .json(&json!({"email": "sup@example.com", "password": "correct horse battery"})),
    )
    .await;
    let token = login["token"].as_str().unwrap().to_owned();
    let as_sup = |method: Method, path: String| {
        stack.http.request(method, stack.url(&format!("/api/mind{path}"))).bearer_auth(&token)
    };

    let ticket = stack.create(json!({"channel": "email"})).await["id"].as_i64().unwrap();
    let (status, body) = send(
        as_sup(Method::POST, format!("/ticket/{ticket}/forward"))
            .json(&json!({"toEmail": "x@example.org"})),
    )
    .await;
    assert_eq!(status, 403, "revoked: {body}");
    let (status, _) = send(as_sup(Method::DELETE, format!("/ticket/{ticket}"))).await;
    assert_eq!(status, 200, "granted beyond the Agent base role");
    let (_, me) = send(as_sup(Method::GET, "/profile".into())).await;
    assert!(me["permissions"].as_array().unwrap().contains(&json!("deleteTicket")));

    let (_, listed) = send(stack.admin(Method::GET, "/roles?q=super")).await;
    assert_eq!(listed["roles"][0]["membersCount"], 1);
    let (status, _) = send(stack.admin(Method::DELETE, &format!("/roles/{id}"))).await;
    assert_eq!(status, 409, "a role with members needs assignRoleId");
    let (status, _) =
        send(stack.admin(Method::DELETE, &format!("/roles/{id}?assignRoleId=2"))).await;
    assert_eq!(status, 200);
    let (status, _) = send(stack.admin(Method::GET, &format!("/roles/{id}"))).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn roles_are_validated_and_base_roles_stay_fixed() {
    let stack = Stack::start().await;
    let cases = [
        (
            Method::POST,
            "/roles".to_owned(),
            json!({"name": "X", "permissions": {"flyToTheMoon": true}}),
            400,
        ),
        (Method::POST, "/roles".to_owned(), json!({"name": "X", "baseRoleId": 3}), 400),
        (Method::POST, "/roles".to_owned(), json!({"name": " "}), 400),
        (Method::POST, "/roles".to_owned(), json!({"name": "Agent"}), 409),
        (Method::PATCH, "/roles/2".to_owned(), json!({"name": "Worker"}), 400),
        (Method::DELETE, "/roles/1".to_owned(), Value::Null, 400),
        (Method::GET, "/roles/77".to_owned(), Value::Null, 404),
    ];
    for (method, path, body, expected) in cases {
        let mut request = stack.admin(method.clone(), &path);
        if !body.is_null() {
            request = request.json(&body);
        }
        let (status, answer) = send(request).await;
        assert_eq!(status, expected, "{method} {path} {body}: {answer}");
    }
    let (status, _) =
        send(stack.agent(Method::POST, "/roles").json(&json!({"name": "Mine"}))).await;
    assert_eq!(status, 403);
    let (status, _) = send(stack.admin(Method::POST, "/profile").json(&json!({"email": "z@example.com", "password": "correct horse battery", "settings": {"roleId": 55}}))).await;
    assert_eq!(status, 400, "an unknown role");
}
