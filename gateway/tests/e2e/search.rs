use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Stack, send};

async fn search(stack: &Stack, body: Value) -> (u16, Value) {
    let response = stack.admin(Method::POST, "/ticket/search").json(&body).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

fn ids(page: &Value) -> Vec<i64> {
    page["tickets"].as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn filters_order_and_paging() {
    let stack = Stack::start().await;
    let old = stack.create(json!({"channel": "email", "priority": "high", "customerId": "c1", "agentId": 5, "createdAt": "2024-01-10 10:00:00", "body": "<p>big</p>"})).await;
    let mid = stack.create(json!({"channel": "chat", "priority": "low", "customerId": "c2", "createdAt": "2024-02-10 10:00:00"})).await;
    let new = stack.create(json!({"channel": "email", "priority": "low", "status": "closed", "customerId": "c1", "agentId": 6})).await;
    let (old, mid, new) =
        (old["id"].as_i64().unwrap(), mid["id"].as_i64().unwrap(), new["id"].as_i64().unwrap());

    let (status, page) = search(&stack, json!({})).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["success"], true);
    assert_eq!(page["total"], 3);
    assert_eq!(page["limit"], 100);
    assert_eq!(page["offset"], 0);
    assert_eq!(ids(&page), vec![new, mid, old], "default order is t.id desc");
    let row = &page["tickets"][2];
    assert!(
        row.get("body").is_none() && row.get("attachments").is_none(),
        "rows are compact: {row}"
    );
    assert_eq!(row["customer"], json!({"tagIds": [], "tags": []}));

    let cases = vec![
        (json!([{"key": "t.status", "comparator": "in", "values": ["open"]}]), vec![mid, old]),
        (json!([{"key": "t.channel", "comparator": "=", "value": "email"}]), vec![new, old]),
        (json!([{"key": "t.channel", "comparator": "in", "values": ["all"]}]), vec![new, mid, old]),
        (
            json!([{"key": "t.priority", "comparator": "not in", "values": ["high"]}]),
            vec![new, mid],
        ),
        (json!([{"key": "t.agentId", "comparator": "in", "values": ["unassigned"]}]), vec![mid]),
        (json!([{"key": "t.agentId", "comparator": "in", "values": [5, 6]}]), vec![new, old]),
        (json!([{"key": "t.agentId", "comparator": ">", "value": 5}]), vec![new]),
        (json!([{"key": "t.customerId", "comparator": "in", "values": ["c1"]}]), vec![new, old]),
        (json!([{"key": "t.id", "comparator": "in", "values": [mid]}]), vec![mid]),
        (
            json!([{"key": "t.createdAt", "comparator": "between", "from": "2024-01-01", "to": "2024-01-31 23:59:59"}]),
            vec![old],
        ),
        (
            json!([{"key": "t.createdAt", "comparator": "not between", "from": "2024-01-01", "to": "2024-01-31"}]),
            vec![new, mid],
        ),
        (json!([{"key": "t.createdAt", "comparator": ">=", "value": "-7 DAY"}]), vec![new]),
        (
            json!([{"key": "t.createdAt", "comparator": "<", "value": "CURRENT_DATE"}]),
            vec![mid, old],
        ),
        (
            json!([{"key": "t.channel", "comparator": "=", "value": "email"}, {"key": "t.status", "comparator": "=", "value": "open"}]),
            vec![old],
        ),
    ];
    for (filters, expected) in cases {
        let body = json!({"filters": filters});
        let (status, page) = search(&stack, body.clone()).await;
        assert_eq!(status, 200, "{body}: {page}");
        assert_eq!(ids(&page), expected, "{body}");
        assert_eq!(page["total"], expected.len(), "{body}");
    }

    let (_, page) = search(
        &stack,
        json!({"orderByField": "t.createdAt", "orderByDirection": "asc", "limit": 2}),
    )
    .await;
    assert_eq!(ids(&page), vec![old, mid]);
    assert_eq!(page["total"], 3);
    let (_, page) = search(
        &stack,
        json!({"orderByField": "t.createdAt", "orderByDirection": "asc", "limit": 2, "offset": 2}),
    )
    .await;
    assert_eq!(ids(&page), vec![new]);
    let (_, page) = search(&stack, json!({"limit": 100000})).await;
    assert_eq!(page["limit"], 500, "limit is capped");
}

#[tokio::test]
async fn only_whitelisted_keys_and_fields_reach_sql() {
    let stack = Stack::start().await;
    let id =
        stack.create(json!({"channel": "email", "customerId": "x"})).await["id"].as_i64().unwrap();
    let refused = [
        json!({"orderByField": "t.closedAt"}),
        json!({"orderByField": "t.spamStatus"}),
        json!({"orderByField": "t.id; DROP TABLE ticket.ticket"}),
        json!({"orderByDirection": "sideways"}),
        json!({"filters": [{"key": "t.id) OR (1=1", "comparator": "in", "values": [1]}]}),
        json!({"filters": [{"key": "t.status", "comparator": "like", "value": "%"}]}),
        json!({"filters": [{"key": "t.id", "comparator": "in", "values": ["1 OR 1=1"]}]}),
        json!({"filters": [{"key": "t.createdAt", "comparator": ">", "value": "now(); DROP TABLE x"}]}),
        json!({"filters": [{"key": "t.status", "comparator": "in", "values": [{"a": 1}]}]}),
        json!({"filters": [{"key": "t.status", "comparator": "in", "values": ["open"], "sql": "1"}]}),
        json!({"filters": [{"key": "t.closedAt", "comparator": "in", "values": ["null"]}]}),
        json!({"filters": [{"key": "w.id", "comparator": "=", "value": 1}]}),
        json!({"filters": [{"key": "i.aiAgentId", "comparator": ">", "value": 1}]}),
        json!({"limit": 0}),
        json!({"offset": -1}),
    ];
    for body in refused {
        let (status, page) = search(&stack, body.clone()).await;
        assert_eq!(status, 400, "{body}: {page}");
        assert_eq!(page["success"], false);
    }
    // A hostile value for a text key is only ever a bound value: it matches nothing.
    let (status, page) = search(&stack, json!({"filters": [{"key": "t.customerId", "comparator": "in", "values": ["x' OR '1'='1"]}]})).await;
    assert_eq!(status, 200);
    assert_eq!(page["total"], 0);
    let (_, page) = search(&stack, json!({})).await;
    assert_eq!(ids(&page), vec![id], "the table is intact");
}

#[tokio::test]
async fn full_text_tags_scope_and_relevance() {
    let stack = Stack::start().await;
    stack.tags(&[1, 2, 3]).await;
    let meter = stack.create(json!({"channel": "email", "subject": "Zählerstand und Umzug", "bodyPlain": "Please record my meter reading", "tagIds": [1, 2]})).await["id"].as_i64().unwrap();
    let invoice = stack.create(json!({"channel": "email", "subject": "Invoice question", "summary": "meter reading wrong on invoice", "tagIds": [2], "contractId": "746839"})).await["id"].as_i64().unwrap();
    let spam = stack.create(json!({"channel": "email", "subject": "Cheap meter deals", "spamStatus": "auto_spam", "tagIds": [3]})).await["id"].as_i64().unwrap();

    let q = |text: &str| json!({"filters": [{"key": "q", "comparator": "=", "value": text}]});
    let (_, page) = search(&stack, q("meter reading")).await;
    assert_eq!(ids(&page), vec![invoice, meter]);
    let (_, page) = search(&stack, q("Zählerstand")).await;
    assert_eq!(ids(&page), vec![meter]);
    let (_, page) = search(&stack, q("746839")).await;
    assert_eq!(ids(&page), vec![invoice], "a number matches contract ids");
    let (_, page) = search(&stack, q(&meter.to_string())).await;
    assert_eq!(ids(&page), vec![meter], "a number matches ticket ids");
    let (status, page) = search(&stack, q("met")).await;
    assert_eq!(
        (status, page["total"].clone()),
        (200, json!(0)),
        "terms under 4 characters match nothing"
    );

    let mut ranked = q("meter");
    ranked["orderByField"] = json!("relevance");
    let (_, page) = search(&stack, ranked).await;
    assert_eq!(page["total"], 3);

    let tags = |key: &str, values: Value| json!({"filters": [{"key": key, "comparator": "in", "values": values}]});
    let cases = [
        (tags("tt_matchAll.tagId", json!([1, 2])), vec![meter]),
        (tags("tt_matchAny.tagId", json!([1, 3])), vec![spam, meter]),
        (tags("tt_matchExact.tagId", json!([2])), vec![invoice]),
        (tags("tt_allowed.tagId", json!([2, 3])), vec![spam, invoice]),
        (tags("tt_excluded.tagId", json!([2])), vec![spam]),
        (tags("tt.tagId", json!([3])), vec![spam]),
    ];
    for (body, expected) in cases {
        let (status, page) = search(&stack, body.clone()).await;
        assert_eq!(status, 200, "{body}: {page}");
        assert_eq!(ids(&page), expected, "{body}");
    }

    let (_, page) = search(&stack, json!({"ticketScope": "skills"})).await;
    assert_eq!(ids(&page), vec![invoice, meter], "the routing view has no spam");
    let (status, _) = search(&stack, json!({"ticketScope": "mine"})).await;
    assert_eq!(status, 400);

    let stats = stack
        .eventually("tag counts", || async {
            let (_, s) = send(stack.admin(Method::GET, "/ticket/stats")).await;
            (s["total"] == 3).then_some(s)
        })
        .await;
    assert_eq!(
        stats["tags"],
        json!([{"tagId": 2, "count": 2}, {"tagId": 1, "count": 1}, {"tagId": 3, "count": 1}])
    );
}

#[tokio::test]
async fn negated_filters_keep_the_other_filters() {
    let stack = Stack::start().await;
    let open =
        stack.create(json!({"channel": "email", "agentId": 5})).await["id"].as_i64().unwrap();
    let closed = stack
        .create(json!({"channel": "email", "status": "closed", "dueBy": "2030-01-10 10:00:00"}))
        .await["id"]
        .as_i64()
        .unwrap();
    let other =
        stack.create(json!({"channel": "chat", "agentId": 6})).await["id"].as_i64().unwrap();

    let cases = [
        // The request: `NOT (..) OR t.status IS NULL` without parentheses let the OR
        // escape the AND, so the open ticket came back and the t.id filter was ignored.
        (
            json!([{"key": "t.status", "values": ["closed"], "comparator": "not in"},
                {"key": "t.id", "values": [closed], "comparator": "in"}]),
            vec![],
        ),
        (
            json!([{"key": "t.status", "values": ["closed"], "comparator": "not in"},
                {"key": "t.id", "values": [other], "comparator": "in"}]),
            vec![other],
        ),
        (
            json!([{"key": "t.id", "values": [open, closed], "comparator": "in"},
                {"key": "t.agentId", "values": [6, "null"], "comparator": "in"}]),
            vec![closed],
        ),
        // A negation is the complement of its positive form: NULL columns are "not equal".
        (json!([{"key": "t.agentId", "comparator": "!=", "value": 5}]), vec![other, closed]),
        (json!([{"key": "t.agentId", "comparator": "not in", "values": [5, "null"]}]), vec![other]),
        (
            json!([{"key": "t.dueBy", "comparator": "not between", "from": "2030-01-01", "to": "2030-02-01"}]),
            vec![other, open],
        ),
        (
            json!([{"key": "t.dueBy", "comparator": "not between", "from": "2030-01-01", "to": "2030-02-01"},
                {"key": "t.channel", "comparator": "=", "value": "email"}]),
            vec![open],
        ),
    ];
    for (filters, expected) in cases {
        let body = json!({"filters": filters});
        let (status, page) = search(&stack, body.clone()).await;
        assert_eq!(status, 200, "{body}: {page}");
        assert_eq!(ids(&page), expected, "{body}");
        assert_eq!(page["total"], expected.len(), "{body}");
    }
}

#[tokio::test]
async fn full_text_as_clients_send_it() {
    let stack = Stack::start().await;
    let once = stack.create(json!({"channel": "email", "subject": "Meter question"})).await["id"]
        .as_i64()
        .unwrap();
    let often = stack
        .create(json!({"channel": "email", "subject": "Meter reading", "bodyPlain": "meter meter meter"}))
        .await["id"]
        .as_i64()
        .unwrap();
    // Only the HTML body, and the rest of the story in a message.
    let html = stack
        .create(
            json!({"channel": "email", "subject": "Invoice", "body": "<p>Wrong <b>tariff</b></p>"}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let (status, stored) = send(
        stack
            .admin(Method::POST, &format!("/ticket/{html}/conversation/store"))
            .json(&json!({"direction": "in", "body": "<p>My meter was replaced</p>"})),
    )
    .await;
    assert_eq!(status, 200, "{stored}");

    // No comparator: how clients send full text.
    let q = |text: &str| json!({"filters": [{"key": "q", "value": text}]});
    let (status, page) = search(&stack, q("meter")).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(ids(&page), vec![html, often, once]);
    let (_, page) = search(&stack, q("tariff")).await;
    assert_eq!(ids(&page), vec![html], "the HTML body is searched when there is no bodyPlain");
    let (_, page) = search(&stack, q("invoice replaced")).await;
    assert_eq!(ids(&page), vec![html], "terms may be spread over the ticket and its messages");

    let mut ranked = q("meter");
    ranked["orderByField"] = json!("relevance");
    let (status, page) = search(&stack, ranked).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(ids(&page)[0], often, "the ticket that says it most ranks first: {page}");
    assert_eq!(page["total"], 3);
    let (_, page) =
        search(&stack, json!({"orderByField": "relevance", "orderByDirection": "asc"})).await;
    assert_eq!(ids(&page), vec![once, often, html], "without q, relevance is id order");

    let (status, page) =
        search(&stack, json!({"filters": [{"key": "t.status", "values": ["open"]}]})).await;
    assert_eq!(status, 400, "other keys still need a comparator: {page}");
}
