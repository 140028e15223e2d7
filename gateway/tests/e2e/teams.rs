//! Teams: the tree, inheritance into users' actual settings, visibility and the rules.

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Stack, send};
use crate::identity::{login, new_user, separate_ids};

async fn new_team(stack: &Stack, body: Value) -> i64 {
    let (status, team) = send(stack.admin(Method::POST, "/team").json(&body)).await;
    assert_eq!(status, 200, "{team}");
    team["id"].as_i64().unwrap()
}

async fn settings_of(stack: &Stack, user: i64) -> Value {
    let (status, profile) = send(stack.admin(Method::GET, &format!("/profile/{user}"))).await;
    assert_eq!(status, 200, "{profile}");
    profile["settings"].clone()
}

async fn set_teams(stack: &Stack, user: i64, teams: Value) {
    let (status, body) = send(
        stack
            .admin(Method::PATCH, &format!("/profile/{user}"))
            .json(&json!({"settings": {"teamIds": teams}})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn teams_form_a_tree_whose_settings_members_inherit() {
    let stack = Stack::start().await;
    stack.tags(&[4, 5]).await;
    separate_ids(&stack).await;
    let support = new_team(
        &stack,
        json!({"name": "Support", "settings": {"skills": [1, 2], "excludedTagIds": [9]}}),
    )
    .await;
    let billing = new_team(
        &stack,
        json!({"name": "Billing", "parent": support, "settings": {"skills": [3]}}),
    )
    .await;

    let (_, own) = send(stack.admin(Method::GET, &format!("/team/{billing}"))).await;
    assert_eq!(own["fullName"], "Support / Billing");
    assert_eq!(own["settings"]["excludedTagIds"], Value::Null, "not set on the team itself");
    let (_, inherited) =
        send(stack.admin(Method::GET, &format!("/team/{billing}?forceInheritance=true"))).await;
    assert_eq!(inherited["settings"]["skills"], json!([3]), "its own value wins");
    assert_eq!(inherited["settings"]["excludedTagIds"], json!([9]), "from the parent");

    let (status, tree) = send(stack.admin(Method::GET, "/team/tree")).await;
    assert_eq!(status, 200, "{tree}");
    assert_eq!(tree["teams"][0]["id"], support);
    assert_eq!(tree["teams"][0]["children"][0]["id"], billing);
    let (_, found) = send(stack.admin(Method::GET, "/team/list?q=BILL")).await;
    assert_eq!(
        (found["total"].clone(), found["teams"][0]["id"].clone()),
        (json!(1), json!(billing))
    );
    let (_, picked) =
        send(stack.admin(Method::GET, &format!("/team/list?ids[]={support}&ids[]=999"))).await;
    assert_eq!(picked["total"], 1);

    // A member takes the team's inherited settings as their actual ones.
    let user = new_user(&stack, "member@example.com", 2, Value::Null).await;
    set_teams(&stack, user, json!([billing])).await;
    let s = settings_of(&stack, user).await;
    assert_eq!(s["teamIds"], json!([billing]));
    assert_eq!(s["skills"], Value::Null);
    assert_eq!(s["actualSkills"], json!([3]));
    assert_eq!(s["actualExcludedTagIds"], json!([9]));

    // In two teams: the union of skills; a tag stays excluded only if both teams exclude it.
    let chat = new_team(
        &stack,
        json!({"name": "Chat", "settings": {"skills": [4], "channels": ["chat"]}}),
    )
    .await;
    set_teams(&stack, user, json!([billing, chat])).await;
    let s = settings_of(&stack, user).await;
    assert_eq!(s["actualSkills"], json!([3, 4]));
    assert_eq!(s["actualExcludedTagIds"], json!([]));
    assert_eq!(s["actualChannels"], json!(["chat"]));

    // Routing and permissions follow the actual settings (an API key re-reads them per use).
    let (_, key) = send(stack.admin(Method::POST, &format!("/jwt/{user}"))).await;
    let key = key["token"].as_str().unwrap().to_owned();
    let chat_ticket =
        stack.create(json!({"channel": "chat", "tagIds": [4]})).await["id"].as_i64().unwrap();
    // Overdue and of a skill the user has, but e-mail: outside the team's channels.
    let email_ticket = stack
        .create(json!({"channel": "email", "tagIds": [4], "dueBy": "2000-01-01 00:00:00"}))
        .await["id"]
        .as_i64()
        .unwrap();
    let (_, next) =
        send(stack.http.post(stack.url("/api/mind/ticket/getLatest")).bearer_auth(&key)).await;
    assert_eq!(next["ticketId"], chat_ticket, "skill 4 and channel chat come from team Chat");
    let (_, why) =
        send(stack.admin(Method::GET, &format!("/profile/{user}/routing?ticketId={email_ticket}")))
            .await;
    assert_eq!(why["settings"]["channels"], json!(["chat"]), "{why}");
    assert_eq!(why["ticket"]["routable"], false);
    assert!(why["ticket"]["reasons"][0].as_str().unwrap().contains("channel email"), "{why}");
    let permissions = |me: &Value| me["permissions"].as_array().unwrap().clone();
    let (_, me) = send(stack.http.get(stack.url("/api/mind/profile")).bearer_auth(&key)).await;
    assert!(!permissions(&me).contains(&json!("manageUsers")));
    let (status, changed) = send(
        stack
            .admin(Method::PATCH, &format!("/team/{chat}"))
            .json(&json!({"settings": {"roleId": 1}})),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    let (_, me) = send(stack.http.get(stack.url("/api/mind/profile")).bearer_auth(&key)).await;
    assert!(permissions(&me).contains(&json!("manageUsers")), "the strongest role wins");
    assert_eq!(me["settings"]["roleId"], 2);
    assert_eq!(me["settings"]["actualRoleId"], 1);

    // A user who does not inherit keeps their own settings.
    send(
        stack
            .admin(Method::PATCH, &format!("/profile/{user}"))
            .json(&json!({"settings": {"inheritTeamSettings": false}})),
    )
    .await;
    let s = settings_of(&stack, user).await;
    assert_eq!((s["actualSkills"].clone(), s["actualRoleId"].clone()), (Value::Null, json!(2)));

    // Unsetting with null: the team inherits again.
    let (_, cleared) = send(
        stack
            .admin(Method::PATCH, &format!("/team/{billing}"))
            .json(&json!({"settings": {"skills": null}})),
    )
    .await;
    assert_eq!(cleared["settings"]["skills"], Value::Null);
    let (_, inherited) =
        send(stack.admin(Method::GET, &format!("/team/{billing}?forceInheritance=true"))).await;
    assert_eq!(inherited["settings"]["skills"], json!([1, 2]));
}

#[tokio::test]
async fn without_view_all_teams_a_user_sees_only_their_subtree() {
    let stack = Stack::start().await;
    separate_ids(&stack).await;
    let support = new_team(&stack, json!({"name": "Support"})).await;
    let billing = new_team(&stack, json!({"name": "Billing", "parent": support})).await;
    let dunning = new_team(&stack, json!({"name": "Dunning", "parent": billing})).await;
    let sales = new_team(&stack, json!({"name": "Sales"})).await;
    let user = new_user(&stack, "agent@example.com", 2, Value::Null).await;
    set_teams(&stack, user, json!([billing])).await;
    let token = login(&stack, "agent@example.com", "correct horse battery").await;
    let token = token.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    let get =
        |path: String| stack.http.get(stack.url(&format!("/api/mind{path}"))).bearer_auth(&token);

    let (status, tree) = send(get("/team/tree".into())).await;
    assert_eq!(status, 200, "{tree}");
    assert_eq!(tree["teams"].as_array().unwrap().len(), 1, "{tree}");
    assert_eq!(tree["teams"][0]["id"], billing);
    assert_eq!(tree["teams"][0]["children"][0]["id"], dunning);
    assert_eq!(send(get(format!("/team/{dunning}"))).await.0, 200);
    let (status, body) = send(get(format!("/team/{sales}"))).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(send(get(format!("/team/{support}"))).await.0, 403, "the parent is outside");
    let (status, _) = send(
        stack
            .http
            .post(stack.url("/api/mind/team"))
            .bearer_auth(&token)
            .json(&json!({"name": "X"})),
    )
    .await;
    assert_eq!(status, 403, "creating teams needs manageTeams");
}

#[tokio::test]
async fn team_writes_are_validated_and_deleting_needs_an_empty_team() {
    let stack = Stack::start().await;
    separate_ids(&stack).await;
    let support =
        new_team(&stack, json!({"name": "Support", "settings": {"channels": ["email"]}})).await;
    let billing = new_team(&stack, json!({"name": "Billing", "parent": support})).await;
    for (body, status) in [
        (json!({}), 400),
        (json!({"name": "  "}), 400),
        (json!({"name": "X", "parent": 999}), 400),
        (json!({"name": "X", "settings": {"roleId": 777}}), 400),
        (json!({"name": "X", "settings": {"channels": ["fax"]}}), 400),
        (json!({"name": "X", "colour": "red"}), 400),
        (json!({"name": "billing", "parent": support}), 409),
    ] {
        let (got, answer) = send(stack.admin(Method::POST, "/team").json(&body)).await;
        assert_eq!(got, status, "{body} → {answer}");
        assert_eq!(answer["success"], false);
    }
    let (status, _) = send(
        stack.admin(Method::PATCH, &format!("/team/{support}")).json(&json!({"parent": billing})),
    )
    .await;
    assert_eq!(status, 400, "a team cannot move below its own child");
    let (status, _) = send(
        stack
            .admin(Method::PATCH, &format!("/team/{support}"))
            .json(&json!({"settings": {"channels": ["voice"]}})),
    )
    .await;
    assert_eq!(status, 200, "voice is the phone channel");
    assert_eq!(send(stack.admin(Method::GET, "/team/424242")).await.0, 404);
    assert_eq!(send(stack.admin(Method::GET, "/team/abc")).await.0, 400);
    assert_eq!(send(stack.admin(Method::GET, "/team/list?bogus=1")).await.0, 400);
    assert_eq!(send(stack.agent(Method::DELETE, &format!("/team/{billing}"))).await.0, 403);

    let (status, body) = send(stack.admin(Method::DELETE, &format!("/team/{support}"))).await;
    assert_eq!(status, 400, "it has a child team: {body}");
    let user = new_user(&stack, "member@example.com", 2, Value::Null).await;
    set_teams(&stack, user, json!([billing])).await;
    let (status, body) = send(stack.admin(Method::DELETE, &format!("/team/{billing}"))).await;
    assert_eq!(status, 400, "it has a member: {body}");
    let (status, body) = send(
        stack
            .admin(Method::PATCH, &format!("/profile/{user}"))
            .json(&json!({"settings": {"teamIds": [424242]}})),
    )
    .await;
    assert_eq!(status, 400, "unknown teams are refused: {body}");
    set_teams(&stack, user, json!([])).await;
    assert_eq!(send(stack.admin(Method::DELETE, &format!("/team/{billing}"))).await.0, 200);
    assert_eq!(send(stack.admin(Method::GET, &format!("/team/{billing}"))).await.0, 404);
    assert_eq!(send(stack.admin(Method::DELETE, &format!("/team/{support}"))).await.0, 200);
}
