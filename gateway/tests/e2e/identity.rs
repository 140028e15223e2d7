//! Users: login (with lockout), the session cookie, profiles, routing status, API keys.

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Stack, send};

/// The harness's operator tokens are users 1 and 2; real profiles start above them.
pub(crate) async fn separate_ids(stack: &Stack) {
    let mut db = stack.db().await;
    sqlx::query("ALTER SEQUENCE settings.profile_id_seq RESTART WITH 1000")
        .execute(&mut db)
        .await
        .unwrap();
}

pub(crate) async fn new_user(stack: &Stack, email: &str, role_id: i32, skills: Value) -> i64 {
    let (status, created) = send(stack.admin(Method::POST, "/profile").json(&json!({
        "email": email, "firstName": "Anna", "password": "correct horse battery",
        "settings": {"roleId": role_id, "skills": skills}})))
    .await;
    assert_eq!(status, 200, "{created}");
    created["id"].as_i64().unwrap()
}

pub(crate) async fn login(stack: &Stack, email: &str, password: &str) -> reqwest::Response {
    stack
        .http
        .post(stack.url("/api/mind/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn login_sets_an_http_only_session_and_me_knows_who_you_are() {
    let stack = Stack::start().await;
    separate_ids(&stack).await;
    let id = new_user(&stack, "anna@example.com", 2, Value::Null).await;
    assert_eq!(login(&stack, "anna@example.com", "wrong password!").await.status(), 401);
    assert_eq!(login(&stack, "nobody@example.com", "correct horse battery").await.status(), 401);

    let response = login(&stack, "ANNA@example.com", "correct horse battery").await;
    assert_eq!(response.status(), 200);
    let cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.starts_with("connect.sid=")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["userId"], id);
    let token = body["token"].as_str().unwrap().to_owned();

    let (status, me) =
        send(stack.http.get(stack.url("/api/mind/profile")).bearer_auth(&token)).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["email"], "anna@example.com");
    assert_eq!(me["settings"]["roleId"], 2);
    assert!(me["permissions"].as_array().unwrap().contains(&json!("readTickets")));
    assert!(!me["permissions"].as_array().unwrap().contains(&json!("manageUsers")));
    let session = cookie.split(';').next().unwrap().to_owned();
    let (status, _) =
        send(stack.http.get(stack.url("/api/mind/profile")).header("Cookie", session)).await;
    assert_eq!(status, 200, "the cookie authenticates too");

    let out = stack.http.post(stack.url("/api/mind/auth/logout")).send().await.unwrap();
    assert!(out.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
}

#[tokio::test]
async fn repeated_failed_logins_lock_the_account() {
    let stack = Stack::start().await;
    separate_ids(&stack).await;
    new_user(&stack, "lock@example.com", 2, Value::Null).await;
    for _ in 0..5 {
        assert_eq!(login(&stack, "lock@example.com", "guess guess guess").await.status(), 401);
    }
    let locked = login(&stack, "lock@example.com", "correct horse battery").await;
    assert_eq!(locked.status(), 429, "even the right password waits out the lock");
    let body: Value = locked.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("minute"));
    let mut db = stack.db().await;
    sqlx::query("UPDATE settings.profile SET locked_until = now() - interval '1 second'")
        .execute(&mut db)
        .await
        .unwrap();
    assert_eq!(login(&stack, "lock@example.com", "correct horse battery").await.status(), 200);
    let stored: String = sqlx::query_scalar("SELECT password_hash FROM settings.profile")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert!(stored.starts_with("$argon2id$"), "passwords are stored as argon2id hashes");
}

#[tokio::test]
async fn profiles_are_managed_by_managers_and_people_edit_only_themselves() {
    let stack = Stack::start().await;
    separate_ids(&stack).await;
    let id = new_user(&stack, "bob@example.com", 2, json!([1, 2])).await;
    let bad = [
        (json!({"email": "bob@example.com", "password": "long enough pass"}), 409),
        (json!({"email": "not-an-email", "password": "long enough pass"}), 400),
        (json!({"email": "c@example.com", "password": "short"}), 400),
        (json!({"email": "c@example.com"}), 400),
        (
            json!({"email": "c@example.com", "password": "long enough pass", "settings": {"roleId": 7}}),
            400,
        ),
        (json!({"email": "c@example.com", "password": "long enough pass", "shoeSize": 44}), 400),
    ];
    for (body, expected) in bad {
        let (status, answer) = send(stack.admin(Method::POST, "/profile").json(&body)).await;
        assert_eq!(status, expected, "{body}: {answer}");
    }
    let (status, _) = send(
        stack
            .agent(Method::POST, "/profile")
            .json(&json!({"email": "x@example.com", "password": "long enough pass"})),
    )
    .await;
    assert_eq!(status, 403);

    let bob = login(&stack, "bob@example.com", "correct horse battery")
        .await
        .json::<Value>()
        .await
        .unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let as_bob = |method: Method, path: String| {
        stack.http.request(method, stack.url(&format!("/api/mind{path}"))).bearer_auth(&bob)
    };
    let (status, me) =
        send(as_bob(Method::PATCH, format!("/profile/{id}")).json(&json!({"lastName": "Builder"})))
            .await;
    assert_eq!((status, me["lastName"].clone()), (200, json!("Builder")));
    let (status, _) = send(
        as_bob(Method::PATCH, format!("/profile/{id}")).json(&json!({"settings": {"roleId": 1}})),
    )
    .await;
    assert_eq!(status, 403, "nobody raises their own role");
    let (status, _) =
        send(as_bob(Method::PATCH, "/profile/1".into()).json(&json!({"lastName": "x"}))).await;
    assert!(status == 403 || status == 404);

    let (_, list) = send(stack.admin(Method::GET, "/profiles")).await;
    assert_eq!(list["total"], 1);
    let (status, changed) = send(
        stack
            .admin(Method::PATCH, &format!("/profile/{id}"))
            .json(&json!({"settings": {"skills": null}})),
    )
    .await;
    assert_eq!(
        (status, changed["settings"]["skills"].clone()),
        (200, Value::Null),
        "skills lifted"
    );

    let (status, _) = send(
        as_bob(Method::PATCH, format!("/profile/{id}/routingStatus"))
            .json(&json!({"chatRoutingStatus": "idle"})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = send(as_bob(Method::PATCH, format!("/profile/{id}/routingStatus")).json(
        &json!({"chatRoutingStatus": "interacting", "ifCurrent": {"chatRoutingStatus": "offline"}}),
    ))
    .await;
    assert_eq!(status, 409, "the status moved meanwhile");
    let (status, _) = send(
        as_bob(Method::PATCH, format!("/profile/{id}/routingStatus"))
            .json(&json!({"chatRoutingStatus": "napping"})),
    )
    .await;
    assert_eq!(status, 400);

    let (status, _) = send(stack.admin(Method::DELETE, &format!("/profile/{id}"))).await;
    assert_eq!(status, 200);
    let (status, _) = send(stack.admin(Method::GET, &format!("/profile/{id}"))).await;
    assert_eq!(status, 404);
    assert_eq!(
        login(&stack, "bob@example.com", "correct horse battery").await.status(),
        401,
        "deleted users cannot log in"
    );
}

#[tokio::test]
async fn an_api_key_works_until_revoked_and_carries_the_users_skills() {
    let stack = Stack::start().await;
    stack.tags(&[7, 8]).await;
    separate_ids(&stack).await;
    let id = new_user(&stack, "robot@example.com", 2, json!([7])).await;
    let (status, key) =
        send(stack.admin(Method::POST, &format!("/jwt/{id}")).json(&json!({"name": "ERP sync"})))
            .await;
    assert_eq!(status, 200, "{key}");
    let token = key["token"].as_str().unwrap().to_owned();
    let key_id = key["keyId"].as_str().unwrap().to_owned();

    let tagged =
        stack.create(json!({"channel": "email", "tagIds": [7]})).await["id"].as_i64().unwrap();
    stack.create(json!({"channel": "email", "tagIds": [8], "dueBy": "2000-01-01 00:00:00"})).await;
    let (status, next) =
        send(stack.http.post(stack.url("/api/mind/ticket/getLatest")).bearer_auth(&token)).await;
    assert_eq!(status, 200, "{next}");
    assert_eq!(next["ticketId"], tagged, "routing follows the profile's skills");

    let (_, keys) = send(stack.admin(Method::GET, &format!("/jwt/{id}/keys"))).await;
    assert_eq!(keys["keys"][0]["name"], "ERP sync");
    assert!(keys["keys"][0]["lastUsedAt"].is_string());
    assert!(!keys.to_string().contains(&token), "listing never shows keys");

    let (status, _) = send(stack.admin(Method::DELETE, &format!("/jwt/{id}/keys/{key_id}"))).await;
    assert_eq!(status, 200);
    let (status, body) =
        send(stack.http.get(stack.url("/api/mind/ticket/stats")).bearer_auth(&token)).await;
    assert_eq!(status, 401, "a revoked key stops at once: {body}");
    let (status, _) = send(stack.admin(Method::DELETE, &format!("/jwt/{id}/keys/not-a-key"))).await;
    assert_eq!(status, 404);
    let (status, _) = send(stack.agent(Method::POST, &format!("/jwt/{id}"))).await;
    assert_eq!(status, 403, "keys for others need manageUsers");

    let (_, second) = send(stack.admin(Method::POST, &format!("/jwt/{id}"))).await;
    let second = second["token"].as_str().unwrap().to_owned();
    send(stack.admin(Method::DELETE, &format!("/profile/{id}"))).await;
    let (status, _) =
        send(stack.http.get(stack.url("/api/mind/ticket/stats")).bearer_auth(&second)).await;
    assert_eq!(status, 401, "deleting a user revokes their keys");
}

#[tokio::test]
async fn profiles_change_in_bulk_item_by_item_and_the_online_summary_counts_them() {
    let stack = Stack::start().await;
    separate_ids(&stack).await;
    let anna = new_user(&stack, "anna@example.com", 2, Value::Null).await;
    let ben = new_user(&stack, "ben@example.com", 2, Value::Null).await;
    let (status, body) = send(stack.admin(Method::PATCH, "/profiles").json(&json!({"profiles": [
        {"id": anna, "firstName": "Annabel"},
        {"id": 999999, "firstName": "Nobody"},
        {"firstName": "No id"},
        {"id": ben, "settings": {"roleId": 777}},
        {"id": ben, "favouriteColour": "red"},
    ]})))
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["success"], false);
    let codes: Vec<Value> =
        body["results"].as_array().unwrap().iter().map(|r| r["code"].clone()).collect();
    assert_eq!(
        codes,
        [
            Value::Null,
            json!("not_found"),
            json!("invalid_argument"),
            json!("invalid_argument"),
            json!("invalid_argument")
        ]
    );
    assert_eq!(body["results"][0]["success"], true);
    let (_, changed) = send(stack.admin(Method::GET, &format!("/profile/{anna}"))).await;
    assert_eq!(changed["firstName"], "Annabel");
    let (status, _) =
        send(stack.admin(Method::PATCH, "/profiles").json(&json!([{"id": anna}]))).await;
    assert_eq!(status, 400, "the body is {{profiles: [...]}}");
    let (_, denied) = send(
        stack
            .agent(Method::PATCH, "/profiles")
            .json(&json!({"profiles": [{"id": anna, "lastName": "X"}]})),
    )
    .await;
    assert_eq!(denied["results"][0]["code"], "permission_denied");

    let (status, body) = send(stack.admin(Method::PATCH, "/profiles/routingStatus").json(&json!({"profiles": [
        {"id": anna, "chatRoutingStatus": "idle"},
        {"id": ben, "callRoutingStatus": "idle", "ifCurrent": {"callRoutingStatus": "interacting"}},
        {"id": ben, "callRoutingStatus": "dancing"},
    ]})))
    .await;
    assert_eq!(status, 200, "{body}");
    let codes: Vec<Value> =
        body["results"].as_array().unwrap().iter().map(|r| r["code"].clone()).collect();
    assert_eq!(codes, [Value::Null, json!("conflict"), json!("invalid_argument")]);

    let (status, summary) = send(stack.admin(Method::GET, "/profiles/onlineSummary")).await;
    assert_eq!(status, 200, "{summary}");
    let online: Vec<Value> =
        summary["online"].as_array().unwrap().iter().map(|u| u["id"].clone()).collect();
    assert_eq!(online, [json!(anna)], "ben stayed offline");
    assert_eq!(summary["online"][0]["chatRoutingStatus"], "idle");
    assert_eq!(summary["counts"]["idle"], json!({"call": 0, "chat": 1}));
    assert_eq!(summary["counts"]["offline"], json!({"call": 2, "chat": 1}));
    assert_eq!(summary["counts"]["interacting"], json!({"call": 0, "chat": 0}));
}

#[tokio::test]
async fn a_session_follows_role_changes_at_once_and_ends_with_the_user() {
    let stack = Stack::start().await;
    separate_ids(&stack).await;
    let id = new_user(&stack, "session@example.com", 2, Value::Null).await;
    let response = login(&stack, "session@example.com", "correct horse battery").await;
    let token = response.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    let me = || send(stack.http.get(stack.url("/api/mind/profile")).bearer_auth(&token));
    let may_manage =
        |me: &Value| me["permissions"].as_array().unwrap().contains(&json!("manageUsers"));

    let (_, before) = me().await;
    assert!(!may_manage(&before));
    send(
        stack
            .admin(Method::PATCH, &format!("/profile/{id}"))
            .json(&json!({"settings": {"roleId": 1}})),
    )
    .await;
    let (_, promoted) = me().await;
    assert!(may_manage(&promoted), "the new role applies without logging in again");

    send(stack.admin(Method::DELETE, &format!("/profile/{id}"))).await;
    let (status, body) = me().await;
    assert_eq!(status, 401, "a deleted user's session ends: {body}");
}
