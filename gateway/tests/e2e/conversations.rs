//! Conversations: replies (sent by e-mail), notes, drafts, stored messages.

use reqwest::Method;
use serde_json::json;

use crate::harness::{Stack, send};

async fn email_ticket(stack: &Stack) -> i64 {
    stack
        .create(json!({"channel": "email", "from": "tom@example.com", "subject": "Umzug",
            "body": "<p>I am moving next week.</p>", "replyCcEmails": ["anna@example.com"]}))
        .await["id"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn a_reply_is_mailed_to_the_customer_and_listed() {
    let stack = Stack::start().await;
    let id = email_ticket(&stack).await;
    let (status, body) = send(stack.agent(Method::POST, &format!("/ticket/{id}/conversation/reply"))
        .json(&json!({"content": {"message": "<p>Thanks, noted.</p>"}, "type": "text", "direction": "out"}))).await;
    assert_eq!(status, 200, "{body}");
    let c = &body["conversation"];
    assert_eq!(c["direction"], "out");
    assert_eq!(c["senderId"], 2);
    assert_eq!(c["to"], json!(["tom@example.com"]));
    assert_eq!(c["cc"], json!(["anna@example.com"]));
    assert_eq!(c["subject"], "Re: Umzug");
    assert_eq!(c["status"], "sent");
    assert!(c["sentAt"].is_string());

    let mail = stack
        .eventually("the reply mail", || async { stack.mail.received().into_iter().next() })
        .await;
    let mut to = mail.to.clone();
    to.sort();
    assert_eq!(to, vec!["anna@example.com", "tom@example.com"]);
    assert!(mail.data.contains("Subject: Re: Umzug"), "{}", mail.data);
    assert!(mail.data.contains("Thanks, noted."));
    assert!(mail.data.contains("I am moving next week."), "the customer's message is quoted");

    let (_, list) = send(stack.admin(Method::GET, &format!("/ticket/{id}/conversation"))).await;
    assert_eq!(list["conversations"].as_array().unwrap().len(), 1);
    let (_, t) = send(stack.admin(Method::GET, &format!("/ticket/{id}?viewing=false"))).await;
    assert!(t["lastMessageAt"].is_string());
    assert!(t.get("conversations").is_none(), "GET ticket does not include conversations");

    stack
        .eventually("the message in the activity trail", || async {
            let (_, a) = send(stack.admin(Method::GET, &format!("/ticket/{id}/activity"))).await;
            a["activities"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x["type"] == "conversationCreated")
                .then_some(())
        })
        .await;
}

#[tokio::test]
async fn notes_and_drafts_are_editable_and_a_published_draft_is_sent() {
    let stack = Stack::start().await;
    let id = email_ticket(&stack).await;
    let (_, note) = send(stack.agent(Method::POST, &format!("/ticket/{id}/conversation/reply"))
        .json(&json!({"content": {"message": "Customer called, see contract"}, "direction": "internal"}))).await;
    let note_id = note["conversation"]["id"].as_i64().unwrap();
    assert_eq!(note["conversation"]["private"], true);

    let (status, edited) = send(
        stack
            .agent(Method::PATCH, &format!("/ticket/{id}/conversation/{note_id}"))
            .json(&json!({"content": {"message": "Customer called twice"}})),
    )
    .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["conversation"]["body"], "Customer called twice");
    assert!(edited["conversation"]["modifiedAt"].is_string());

    let (_, draft) = send(
        stack
            .agent(Method::POST, &format!("/ticket/{id}/conversation/reply"))
            .json(&json!({"content": {"message": "Draft answer"}, "isDraft": true})),
    )
    .await;
    let draft_id = draft["conversation"]["id"].as_i64().unwrap();
    assert_eq!(draft["conversation"]["isDraft"], true);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(stack.mail.received().is_empty(), "notes and drafts send nothing");

    let (status, published) = send(
        stack
            .agent(Method::PATCH, &format!("/ticket/{id}/conversation/{draft_id}"))
            .json(&json!({"content": {"message": "Final answer"}, "isDraft": false})),
    )
    .await;
    assert_eq!(status, 200, "{published}");
    assert_eq!(published["conversation"]["isDraft"], false);
    assert_eq!(published["conversation"]["status"], "sent");
    let mail = stack
        .eventually("the published draft", || async { stack.mail.received().into_iter().next() })
        .await;
    assert!(mail.data.contains("Final answer"));

    // What reached the customer is history: no edits.
    let (status, _) = send(
        stack
            .agent(Method::PATCH, &format!("/ticket/{id}/conversation/{draft_id}"))
            .json(&json!({"content": {"message": "Changed"}})),
    )
    .await;
    assert_eq!(status, 409);
    let (status, _) =
        send(stack.agent(Method::DELETE, &format!("/ticket/{id}/conversation/{draft_id}"))).await;
    assert_eq!(status, 403);
    let (status, _) =
        send(stack.agent(Method::DELETE, &format!("/ticket/{id}/conversation/{note_id}"))).await;
    assert_eq!(status, 200);
    let (status, _) =
        send(stack.agent(Method::GET, &format!("/ticket/{id}/conversation/{note_id}"))).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn stored_messages_update_the_ticket_and_filters_narrow_the_list() {
    let stack = Stack::start().await;
    let id =
        stack.create(json!({"channel": "chat", "status": "closed"})).await["id"].as_i64().unwrap();
    let (status, stored) = send(stack.admin(Method::POST, &format!("/ticket/{id}/conversation/store"))
        .json(&json!({"direction": "in", "from": "tom@example.com", "body": "Hello again", "status": "open",
            "createdAt": "2026-01-02 03:04:05", "externalConversationId": "chat-1"}))).await;
    assert_eq!(status, 200, "{stored}");
    assert_eq!(stored["conversation"]["status"], "received");
    assert_eq!(stored["conversation"]["createdAt"], "2026-01-02 03:04:05");
    let (_, t) = send(stack.admin(Method::GET, &format!("/ticket/{id}?viewing=false"))).await;
    assert_eq!(t["status"], "open", "the customer's message reopened the ticket");
    assert_eq!(t["lastCustomerMessageAt"], "2026-01-02 03:04:05");

    let (status, _) = send(
        stack
            .admin(Method::POST, &format!("/ticket/{id}/conversation/store"))
            .json(&json!({"direction": "in", "body": "dup", "externalConversationId": "chat-1"})),
    )
    .await;
    assert_eq!(status, 409, "the same external message twice");

    send(
        stack
            .agent(Method::POST, &format!("/ticket/{id}/conversation/reply"))
            .json(&json!({"content": {"message": "note"}, "direction": "internal"})),
    )
    .await;
    send(
        stack
            .agent(Method::POST, &format!("/ticket/{id}/conversation/reply"))
            .json(&json!({"content": {"message": "chat answer"}, "to": "tom@example.com"})),
    )
    .await;
    let count = |query: &'static str| {
        let stack = &stack;
        async move {
            let (status, list) =
                send(stack.admin(Method::GET, &format!("/ticket/{id}/conversation{query}"))).await;
            assert_eq!(status, 200, "{query}: {list}");
            list["conversations"].as_array().unwrap().len()
        }
    };
    assert_eq!(count("").await, 3);
    assert_eq!(count("?direction=in").await, 1);
    assert_eq!(count("?direction=in&direction=out").await, 2);
    assert_eq!(count("?direction=in,internal").await, 2);
    assert_eq!(count("?private=true").await, 1);
    assert_eq!(count("?senderId=2").await, 2);
    assert_eq!(count("?senderId=2&direction=out").await, 1);
    assert_eq!(count("?toId=tom@example.com").await, 1);
    assert!(stack.mail.received().is_empty(), "chat replies are not e-mailed");
}

#[tokio::test]
async fn conversation_input_is_validated() {
    let stack = Stack::start().await;
    let id = email_ticket(&stack).await;
    let cases = [
        (format!("/ticket/{id}/conversation/reply"), json!({"content": {"message": "  "}}), 400),
        (
            format!("/ticket/{id}/conversation/reply"),
            json!({"content": {"message": "x"}, "direction": "in"}),
            400,
        ),
        (format!("/ticket/{id}/conversation/reply"), json!({"message": "x"}), 400),
        (
            format!("/ticket/{id}/conversation/reply"),
            json!({"content": {"message": "x"}, "to": "nobody"}),
            400,
        ),
        (
            format!("/ticket/{id}/conversation/reply"),
            json!({"content": {"message": "x"}, "type": "a b"}),
            400,
        ),
        (
            format!("/ticket/{id}/conversation/store"),
            json!({"direction": "sideways", "body": "x"}),
            400,
        ),
        (
            format!("/ticket/{id}/conversation/store"),
            json!({"direction": "in", "body": "x", "createdAt": "soon"}),
            400,
        ),
        ("/ticket/999999/conversation/reply".to_owned(), json!({"content": {"message": "x"}}), 404),
    ];
    for (path, body, expected) in cases {
        let (status, answer) = send(stack.admin(Method::POST, &path).json(&body)).await;
        assert_eq!(status, expected, "{path} {body}: {answer}");
    }
    let (status, _) =
        send(stack.admin(Method::GET, &format!("/ticket/{id}/conversation?colour=red"))).await;
    assert_eq!(status, 400);
    let (status, _) =
        send(stack.admin(Method::GET, &format!("/ticket/{id}/conversation/abc"))).await;
    assert_eq!(status, 400);
    let mut db = stack.db().await;
    let mails: i64 = sqlx::query_scalar("SELECT count(*) FROM ticket.mail_outbox")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(mails, 0, "refused replies queue nothing");
}

#[tokio::test]
async fn full_text_search_finds_tickets_by_their_messages() {
    let stack = Stack::start().await;
    let id = email_ticket(&stack).await;
    stack.create(json!({"channel": "email", "subject": "unrelated"})).await;
    send(
        stack
            .admin(Method::POST, &format!("/ticket/{id}/conversation/store"))
            .json(&json!({"direction": "in", "body": "<p>Bitte den Zählerwechsel bestätigen</p>"})),
    )
    .await;
    let (_, page) =
        send(stack.admin(Method::POST, "/ticket/search").json(
            &json!({"filters": [{"key": "q", "comparator": "=", "value": "Zählerwechsel"}]}),
        ))
        .await;
    let ids: Vec<i64> =
        page["tickets"].as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![id]);
}
