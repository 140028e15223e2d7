use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Stack, send};

/// The download: status, content type, content disposition and body.
async fn download(stack: &Stack, path: &str) -> (u16, String, String, String) {
    let response = stack.admin(Method::GET, path).send().await.unwrap();
    let status = response.status().as_u16();
    let header = |name| {
        response.headers().get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
    };
    let (content_type, disposition) = (header("content-type"), header("content-disposition"));
    (status, content_type, disposition, response.text().await.unwrap())
}

/// Rows of an RFC 4180 document (quoted fields may hold commas, quotes and line breaks).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut field) = (Vec::new(), Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => assert_eq!(chars.next(), Some('\n'), "CR only before LF"),
            (false, '\n') => panic!("a record ends with CRLF"),
            (false, c) => field.push(c),
        }
        if !quoted && c == '\r' {
            row.push(std::mem::take(&mut field));
            rows.push(std::mem::take(&mut row));
        }
    }
    assert!(field.is_empty() && row.is_empty(), "the last record ends with CRLF");
    rows
}

fn id_of(ticket: &Value) -> i64 {
    ticket["id"].as_i64().unwrap()
}

async fn json_ids(stack: &Stack, query: &str) -> Vec<i64> {
    let (status, _, _, body) =
        download(stack, &format!("/export/reporting_tickets?format=json&{query}")).await;
    assert_eq!(status, 200, "{query}: {body}");
    let rows: Vec<Value> = serde_json::from_str(&body).unwrap();
    rows.iter().map(|r| r["id"].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn csv_and_json_carry_every_ticket_with_quoting() {
    let stack = Stack::start().await;
    let tricky = "Umzug, \"dringend\"\nzweite Zeile";
    let a = id_of(
        &stack
            .create(json!({"channel": "email", "subject": tricky, "customerId": "c1",
        "agentId": 5, "createdAt": "2024-01-10 10:00:00"}))
            .await,
    );
    let b = id_of(
        &stack
            .create(json!({"channel": "chat", "subject": "Zählerstand 1234",
        "priority": "high", "createdAt": "2024-01-11 09:30:00"}))
            .await,
    );

    let (status, content_type, disposition, body) =
        download(&stack, "/export/reporting_tickets?format=csv").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(content_type, "text/csv; charset=utf-8");
    let today = chrono::Utc::now().format("%Y-%m-%d");
    assert_eq!(disposition, format!("attachment; filename=\"reporting_tickets-{today}.csv\""));
    assert!(
        body.contains("\"Umzug, \"\"dringend\"\"\nzweite Zeile\""),
        "quotes doubled, field quoted: {body}"
    );
    let rows = parse_csv(&body);
    assert_eq!(rows.len(), 3, "header and two tickets: {rows:?}");
    let header = &rows[0];
    let col = |name: &str| header.iter().position(|h| h == name).expect(name);
    for name in [
        "id",
        "channel",
        "status",
        "priority",
        "subject",
        "customerId",
        "contractId",
        "agentId",
        "tagIds",
        "createdAt",
        "modifiedAt",
        "closedAt",
    ] {
        col(name);
    }
    assert_eq!(rows[1][col("id")], a.to_string(), "oldest first");
    assert_eq!(rows[1][col("subject")], tricky);
    assert_eq!(rows[1][col("customerId")], "c1");
    assert_eq!(rows[1][col("agentId")], "5");
    assert_eq!(rows[1][col("createdAt")], "2024-01-10 10:00:00");
    assert_eq!(rows[1][col("closedAt")], "", "null is empty");
    assert_eq!(rows[2][col("id")], b.to_string());
    assert_eq!(rows[2][col("subject")], "Zählerstand 1234", "UTF-8 as is");
    assert_eq!(rows[2][col("priority")], "high");

    let (status, content_type, disposition, body) =
        download(&stack, "/export/reporting_tickets?format=json").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(content_type, "application/json");
    assert!(disposition.ends_with(".json\""), "{disposition}");
    let rows: Vec<Value> = serde_json::from_str(&body).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["id"], a);
    assert_eq!(rows[0]["subject"], tricky);
    assert_eq!(rows[0]["agentId"], 5);
    assert_eq!(rows[0]["createdAt"], "2024-01-10 10:00:00");
    assert_eq!(rows[0]["closedAt"], Value::Null);
    assert_eq!(rows[1]["agentId"], Value::Null);
    assert_eq!(rows[1]["channel"], "chat");

    let (status, _, _, body) = download(&stack, "/export/ticket?format=json").await;
    assert_eq!(status, 200, "{body}");
    let rows: Vec<Value> = serde_json::from_str(&body).unwrap();
    assert_eq!(rows[0]["subject"], tricky);
    assert!(rows[0].get("bodyPlain").is_some(), "the ticket export has the text: {}", rows[0]);

    let (status, _, _, body) =
        download(&stack, "/export/reporting_tickets?format=json&filters[0][key]=id&filters[0][comparator]==&filters[0][value]=0").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, "[]", "an empty export is an empty array");
}

#[tokio::test]
async fn created_at_filters_and_the_date_only_upper_bound() {
    let stack = Stack::start().await;
    let mut ids = Vec::new();
    for at in ["2024-01-10 10:00:00", "2024-01-31 23:30:00", "2024-02-01 00:00:00"] {
        ids.push(id_of(&stack.create(json!({"channel": "email", "createdAt": at})).await));
    }
    let (jan10, jan31, feb1) = (ids[0], ids[1], ids[2]);
    let f = |comparator: &str, rest: &str| {
        format!("filters[0][key]=createdAt&filters[0][comparator]={comparator}&{rest}")
    };
    let cases = [
        (f("between", "filters[0][from]=2024-01-01&filters[0][to]=2024-01-31"), vec![jan10, jan31]),
        (
            f("between", "filters[0][from]=2024-01-01&filters[0][to]=2024-01-31+12:00:00"),
            vec![jan10],
        ),
        (f("%3C%3D", "filters[0][value]=2024-01-31"), vec![jan10, jan31]),
        (f("%3C%3D", "filters[0][value]=2024-01-31+23:30:00"), vec![jan10, jan31]),
        (f("%3C%3D", "filters[0][value]=2024-01-31+23:29:59"), vec![jan10]),
        (f("%3E%3D", "filters[0][value]=2024-01-31"), vec![jan31, feb1]),
        (f("%3E%3D", "filters[0][value]=2024-02-01"), vec![feb1]),
        (f("%3D", "filters[0][value]=2024-01-31"), vec![jan31]),
        (f("!%3D", "filters[0][value]=2024-01-31"), vec![jan10, feb1]),
    ];
    for (query, expected) in cases {
        assert_eq!(json_ids(&stack, &query).await, expected, "{query}");
    }
    let both = format!(
        "{}&filters[1][key]=createdAt&filters[1][comparator]=%3C%3D&filters[1][value]=2024-01-31",
        f("%3E%3D", "filters[0][value]=2024-01-11")
    );
    assert_eq!(json_ids(&stack, &both).await, vec![jan31], "filters combine with AND");

    for (query, what) in [
        (f("between", "filters[0][from]=2024-01-01"), "between without to"),
        (f("%3C%3D", "filters[0][value]=yesterday"), "not a date"),
        (f("in", "filters[0][values][]=2024-01-01"), "in on a date"),
        ("filters[0][key]=body&filters[0][comparator]=%3D&filters[0][value]=x".into(), "key"),
    ] {
        let (status, _, _, body) =
            download(&stack, &format!("/export/reporting_tickets?{query}")).await;
        assert_eq!(status, 400, "{what}: {body}");
        let error: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(error["success"], false, "{body}");
    }
}

#[tokio::test]
async fn paging_is_stable_with_id_breaking_ties() {
    let stack = Stack::start().await;
    // 2,500 tickets, seven per instant: the export crosses several read batches inside runs
    // of equal createdAt.
    let mut db = stack.db().await;
    sqlx::query(
        "INSERT INTO ticket.ticket (channel, subject, created_at) SELECT 'email', 'bulk ' || g, \
         timestamptz '2024-03-01 00:00:00+00' + (g / 7) * interval '1 minute' \
         FROM generate_series(1, 2500) g ORDER BY random()",
    )
    .execute(&mut db)
    .await
    .unwrap();
    let expected: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM ticket.ticket ORDER BY created_at, id")
            .fetch_all(&mut db)
            .await
            .unwrap();
    assert_eq!(expected.len(), 2500);

    assert_eq!(json_ids(&stack, "").await, expected, "every row once, in (createdAt, id) order");
    assert_eq!(json_ids(&stack, "limit=1200&offset=150").await, expected[150..1350]);
    let mut pages = Vec::new();
    for offset in (0..2500).step_by(700) {
        pages.extend(json_ids(&stack, &format!("limit=700&offset={offset}")).await);
    }
    assert_eq!(pages, expected, "pages join without gaps or repeats");

    let mut descending = expected.clone();
    descending.sort_by_key(|id| std::cmp::Reverse(*id));
    let by_id = json_ids(&stack, "orderByField=id&orderByDirection=desc&limit=1500").await;
    assert_eq!(by_id, descending[..1500]);
    let newest = json_ids(&stack, "orderByDirection=desc&limit=10&offset=1").await;
    let mut reversed = expected.clone();
    reversed.reverse();
    assert_eq!(newest, reversed[1..11], "descending createdAt, descending id on ties");

    let (status, _, _, body) =
        download(&stack, "/export/reporting_tickets?format=csv&limit=10").await;
    assert_eq!(status, 200);
    assert_eq!(parse_csv(&body).len(), 11, "header and ten rows");
    for bad in ["limit=-1", "offset=-5", "limit=ten", "orderByField=subject", "orderByDirection=up"]
    {
        let (status, _, _, body) =
            download(&stack, &format!("/export/reporting_tickets?{bad}")).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
}

#[tokio::test]
async fn messages_export_lists_conversations_without_drafts() {
    let stack = Stack::start().await;
    let id = id_of(&stack.create(json!({"channel": "chat", "status": "closed"})).await);
    let (status, stored) =
        send(stack.admin(Method::POST, &format!("/ticket/{id}/conversation/store")).json(
            &json!({"direction": "in", "from": "tom@example.com", "body": "Hallo, \"Team\"",
            "createdAt": "2026-01-02 03:04:05"}),
        ))
        .await;
    assert_eq!(status, 200, "{stored}");
    let (status, draft) = send(
        stack
            .agent(Method::POST, &format!("/ticket/{id}/conversation/reply"))
            .json(&json!({"content": {"message": "Draft answer"}, "isDraft": true})),
    )
    .await;
    assert_eq!(status, 200, "{draft}");

    let query = format!(
        "/export/reporting_messages?format=json&filters[0][key]=ticketId\
         &filters[0][comparator]=%3D&filters[0][value]={id}"
    );
    let (status, _, _, body) = download(&stack, &query).await;
    assert_eq!(status, 200, "{body}");
    let rows: Vec<Value> = serde_json::from_str(&body).unwrap();
    assert_eq!(rows.len(), 1, "the draft is not a message yet: {body}");
    let row = &rows[0];
    assert_eq!(row["id"], stored["conversation"]["id"]);
    assert_eq!(row["ticketId"], id);
    assert_eq!(row["direction"], "in");
    assert_eq!(row["channel"], "chat");
    assert_eq!(row["from"], "tom@example.com");
    assert_eq!(row["bodyPlain"], "Hallo, \"Team\"");
    assert_eq!(row["createdAt"], "2026-01-02 03:04:05");

    let (status, _, disposition, body) =
        download(&stack, "/export/reporting_messages?format=csv").await;
    assert_eq!(status, 200, "{body}");
    assert!(disposition.contains("reporting_messages-"), "{disposition}");
    assert!(body.contains(",\"Hallo, \"\"Team\"\"\","), "{body}");
    let (status, _, _, body) =
        download(&stack, "/export/reporting_messages?orderByField=createdAt").await;
    assert_eq!(status, 400, "messages are ordered by id only: {body}");
}

#[tokio::test]
async fn previews_show_rows_total_columns_and_filters() {
    let stack = Stack::start().await;
    let mut ids = Vec::new();
    for day in 1..=3 {
        let at = format!("2024-05-0{day} 08:00:00");
        ids.push(id_of(&stack.create(json!({"channel": "email", "createdAt": at})).await));
    }
    let (status, preview) =
        send(stack.admin(Method::GET, "/export/reporting_tickets/preview?limit=2&offset=1")).await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["success"], true);
    assert_eq!(preview["total"], 3, "total ignores limit and offset");
    let data = preview["data"].as_array().unwrap();
    assert_eq!(data.iter().map(|r| r["id"].as_i64().unwrap()).collect::<Vec<_>>(), ids[1..]);
    assert!(
        preview["columns"]
            .as_array()
            .unwrap()
            .contains(&json!({"name": "createdAt", "type": "timestamp"}))
    );
    let created = preview["availableFilters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == "createdAt")
        .expect("createdAt is filterable")
        .clone();
    assert!(created["comparators"].as_array().unwrap().contains(&json!("between")), "{created}");

    let (status, preview) = send(stack.admin(Method::GET, "/export/reporting_tickets/preview?filters[0][key]=createdAt&filters[0][comparator]=%3C%3D&filters[0][value]=2024-05-02")).await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["total"], 2);
    let (status, preview) =
        send(stack.admin(Method::GET, "/export/reporting_tickets/preview")).await;
    assert_eq!(status, 200);
    assert_eq!(preview["data"].as_array().unwrap().len(), 3, "default limit 30");

    let (status, preview) =
        send(stack.admin(Method::GET, "/export/reporting_messages/preview")).await;
    assert_eq!(status, 200, "{preview}");
    assert!(preview["columns"].as_array().unwrap().iter().any(|c| c["name"] == "bodyPlain"));

    for path in [
        "/export/reporting_tickets/preview?limit=501",
        "/export/reporting_tickets/preview?limit=0",
        "/export/reporting_tickets/preview?format=csv",
        "/export/ticket/preview",
        "/export/reporting_worklog/preview",
        "/export/nonsense/preview",
    ] {
        let (status, body) = send(stack.admin(Method::GET, path)).await;
        assert_eq!(status, 400, "{path}: {body}");
    }
}

#[tokio::test]
async fn unknown_keys_and_formats_are_refused() {
    let stack = Stack::start().await;
    let (status, body) = send(stack.admin(Method::GET, "/export/tickets_of_doom")).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().starts_with("Unknown export key"), "{body}");
    assert_eq!(body["code"], "invalid_argument");
    for key in ["reporting_worklog", "survey", "callLog"] {
        let (status, body) = send(stack.admin(Method::GET, &format!("/export/{key}"))).await;
        assert_eq!(status, 400, "{body}");
        assert!(body["error"].as_str().unwrap().contains("not available"), "{key}: {body}");
    }
    for (format, word) in [("specification", "specification"), ("xml", "format")] {
        let (status, body) =
            send(stack.admin(Method::GET, &format!("/export/reporting_tickets?format={format}")))
                .await;
        assert_eq!(status, 400, "{body}");
        assert!(body["error"].as_str().unwrap().contains(word), "{format}: {body}");
    }
    let (status, body) =
        send(stack.admin(Method::GET, "/export/reporting_tickets?filters[0][sql]=1")).await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn exports_need_a_token_and_the_permission() {
    let stack = Stack::start().await;
    let client = reqwest::Client::new();
    for path in ["/export/reporting_tickets", "/export/reporting_tickets/preview"] {
        let status =
            client.get(stack.url(&format!("/api/mind{path}"))).send().await.unwrap().status();
        assert_eq!(status, 401, "{path}");
        let (status, body) = send(stack.agent(Method::GET, path)).await;
        assert_eq!(status, 403, "{path}: {body}");
        assert!(body["error"].as_str().unwrap().contains("exportData"), "{body}");
    }
    let (status, _) = send(stack.agent(Method::GET, "/export/nonsense?format=specification")).await;
    assert_eq!(status, 403, "authorisation comes before validation");
}

#[tokio::test]
async fn xlsx_is_a_workbook_with_a_header_row_and_typed_cells() {
    use std::io::Read as _;

    let stack = Stack::start().await;
    let tricky = "Umzug, \"dringend\" <sofort> & mehr";
    let id = id_of(
        &stack
            .create(json!({"channel": "email", "subject": tricky, "agentId": 7,
        "createdAt": "2024-01-10 10:00:00"}))
            .await,
    );
    stack.create(json!({"channel": "chat", "createdAt": "2024-01-11 10:00:00"})).await;

    let response =
        stack.admin(Method::GET, "/export/reporting_tickets?format=xlsx").send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let disposition = response.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert!(disposition.ends_with(".xlsx\""), "{disposition}");
    let bytes = response.bytes().await.unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut sheet = String::new();
    archive.by_name("xl/worksheets/sheet1.xml").unwrap().read_to_string(&mut sheet).unwrap();
    assert_eq!(sheet.matches("<row ").count(), 3, "header and two tickets: {sheet}");
    assert!(sheet.contains(">createdAt<"), "the header names the columns: {sheet}");
    assert!(
        sheet.contains("Umzug, &quot;dringend&quot; &lt;sofort&gt; &amp; mehr")
            || sheet.contains("Umzug, \"dringend\" &lt;sofort&gt; &amp; mehr"),
        "the subject, escaped for XML: {sheet}"
    );
    assert!(sheet.contains(&format!("<v>{id}</v>")), "ids are numbers: {sheet}");
    // 2024-01-10 10:00:00 as an Excel serial date.
    assert!(sheet.contains("<v>45301.416666666"), "dates are dates: {sheet}");

    let (status, body) = send(stack.admin(
        Method::GET,
        "/export/reporting_tickets?format=xlsx&filters[0][key]=subject&filters[0][comparator]=%3D",
    ))
    .await;
    assert_eq!(status, 400, "refused before the download starts: {body}");
}

#[tokio::test]
async fn without_format_the_tenant_default_applies() {
    let stack = Stack::start().await;
    stack.create(json!({"channel": "email", "subject": "eins"})).await;
    let (status, content_type, _, _) = download(&stack, "/export/reporting_tickets").await;
    assert_eq!(status, 200);
    assert!(
        content_type.contains("spreadsheetml"),
        "the setting's default is xlsx: {content_type}"
    );
    let (status, body) = send(
        stack.admin(Method::POST, "/settings").json(&json!({"defaultDateExportFormat": "json"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, content_type, disposition, body) =
        download(&stack, "/export/reporting_tickets").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(content_type, "application/json");
    assert!(disposition.ends_with(".json\""), "{disposition}");
    let rows: Vec<Value> = serde_json::from_str(&body).unwrap();
    assert_eq!(rows[0]["subject"], "eins");
}

/// Rows of a JSON download of `key` (with `query` appended).
async fn json_rows(stack: &Stack, key: &str, query: &str) -> Vec<Value> {
    let (status, _, _, body) = download(stack, &format!("/export/{key}?format=json{query}")).await;
    assert_eq!(status, 200, "{key}{query}: {body}");
    serde_json::from_str(&body).unwrap()
}

async fn set_privacy(stack: &Stack, level: &str) {
    let (status, body) =
        send(stack.admin(Method::POST, "/settings").json(&json!({"reportingPrivacyLevel": level})))
            .await;
    assert_eq!(status, 200, "{level}: {body}");
}

fn is_pseudonym(value: &Value) -> bool {
    value.as_str().is_some_and(|s| {
        s.len() == 20 && s.starts_with("psn_") && s[4..].bytes().all(|b| b.is_ascii_hexdigit())
    })
}

#[tokio::test]
async fn the_privacy_level_pseudonymizes_or_empties_personal_columns() {
    let stack = Stack::start().await;
    let anna = json!({"channel": "email", "subject": "Anna zieht um", "customerId": "c-anna",
        "contractId": "k-1", "agentId": 5, "from": "anna@example.com",
        "createdAt": "2024-01-10 10:00:00"});
    let first = id_of(&stack.create(anna.clone()).await);
    let mut again = anna.clone();
    again["subject"] = json!("Anna fragt nach");
    again["createdAt"] = json!("2024-01-11 10:00:00");
    let second = id_of(&stack.create(again).await);
    stack
        .create(json!({"channel": "chat", "subject": "Bob", "customerId": "c-bob",
            "createdAt": "2024-01-12 10:00:00"}))
        .await;
    for (ticket, from, body) in [
        (first, "Anna Muster <anna@example.com>", "Ich bin Anna Muster, IBAN DE00"),
        (second, "ANNA@example.com", "Noch einmal Anna"),
    ] {
        let (status, stored) =
            send(stack.admin(Method::POST, &format!("/ticket/{ticket}/conversation/store")).json(
                &json!({"direction": "in", "from": from, "body": body, "subject": "Umzug Anna",
                    "to": ["support@enneo.test"]}),
            ))
            .await;
        assert_eq!(status, 200, "{stored}");
    }
    let (status, stored) = send(
        stack.admin(Method::POST, &format!("/ticket/{first}/conversation/store")).json(&json!({
            "direction": "out", "from": "support@enneo.test", "body": "Hallo Anna",
            "to": ["Muster, Anna <Anna@Example.com>", "bob@example.com"]})),
    )
    .await;
    assert_eq!(status, 200, "{stored}");

    // full (the default): as stored.
    let tickets = json_rows(&stack, "reporting_tickets", "").await;
    assert_eq!(tickets[0]["customerId"], "c-anna");
    assert_eq!(tickets[0]["subject"], "Anna zieht um");

    set_privacy(&stack, "pseudonymized").await;
    let tickets = json_rows(&stack, "reporting_tickets", "").await;
    assert_eq!(tickets.len(), 3);
    for column in ["customerId", "contractId", "subject"] {
        assert!(is_pseudonym(&tickets[0][column]), "{column}: {}", tickets[0]);
    }
    assert_eq!(tickets[0]["customerId"], tickets[1]["customerId"], "one customer, one pseudonym");
    assert_ne!(tickets[0]["customerId"], tickets[2]["customerId"]);
    assert_ne!(tickets[0]["subject"], tickets[1]["subject"], "other text, other pseudonym");
    assert_eq!(tickets[0]["contractId"], tickets[1]["contractId"]);
    assert_eq!(tickets[2]["contractId"], Value::Null, "null stays null");
    assert_eq!(tickets[0]["id"], first, "what reports are about stays");
    assert_eq!(tickets[0]["agentId"], 5);
    assert_eq!(tickets[0]["channel"], "email");
    assert_eq!(tickets[0]["createdAt"], "2024-01-10 10:00:00");
    let pseudonym_of_anna = tickets[0]["customerId"].clone();

    let messages = json_rows(&stack, "reporting_messages", "").await;
    assert_eq!(messages.len(), 3, "{messages:?}");
    for column in ["from", "subject", "bodyPlain"] {
        assert!(is_pseudonym(&messages[0][column]), "{column}: {}", messages[0]);
    }
    assert_eq!(messages[0]["from"], messages[1]["from"], "one address whatever its spelling");
    assert_ne!(messages[0]["bodyPlain"], messages[1]["bodyPlain"]);
    assert_eq!(messages[0]["direction"], "in");
    let to: Vec<&str> = messages[2]["to"].as_str().unwrap().split(", ").collect();
    assert_eq!(to.len(), 2, "each recipient its own pseudonym: {}", messages[2]);
    assert_eq!(to[0], messages[0]["from"].as_str().unwrap(), "Anna as recipient and as sender");
    assert_eq!(messages[2]["from"], messages[0]["to"], "the support address, both ways");
    // Nothing personal in any format: CSV, xlsx and the ticket export.
    let (status, _, _, csv) = download(&stack, "/export/reporting_messages?format=csv").await;
    assert_eq!(status, 200, "{csv}");
    for secret in ["anna", "Anna", "example.com", "IBAN", "enneo.test"] {
        assert!(!csv.contains(secret), "{secret} in {csv}");
    }
    let response =
        stack.admin(Method::GET, "/export/reporting_messages?format=xlsx").send().await.unwrap();
    assert_eq!(response.status(), 200);
    let bytes = response.bytes().await.unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut sheet = String::new();
    std::io::Read::read_to_string(
        &mut archive.by_name("xl/worksheets/sheet1.xml").unwrap(),
        &mut sheet,
    )
    .unwrap();
    assert!(sheet.contains("psn_") && !sheet.contains("example.com"), "{sheet}");
    let full = json_rows(&stack, "ticket", "").await;
    for column in ["from", "subject", "customerId", "contractId"] {
        assert!(is_pseudonym(&full[0][column]), "{column}: {}", full[0]);
    }
    assert_eq!(full[0]["bodyPlain"], Value::Null, "created without a body");
    // The preview too; and no filter on what is pseudonymized.
    let (status, preview) =
        send(stack.admin(Method::GET, "/export/reporting_tickets/preview")).await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["data"][0]["customerId"], pseudonym_of_anna);
    let filters: Vec<&str> = preview["availableFilters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap())
        .collect();
    assert!(filters.contains(&"createdAt") && !filters.contains(&"customerId"), "{filters:?}");
    for path in [
        "/export/reporting_tickets?format=json&filters[0][key]=customerId\
         &filters[0][comparator]=%3D&filters[0][value]=c-anna",
        "/export/reporting_tickets/preview?filters[0][key]=contractId\
         &filters[0][comparator]=%3D&filters[0][value]=k-1",
    ] {
        let (status, body) = send(stack.admin(Method::GET, path)).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert!(body["error"].as_str().unwrap().contains("personal data"), "{body}");
    }

    set_privacy(&stack, "partiallyPseudonymized").await;
    let tickets = json_rows(&stack, "reporting_tickets", "").await;
    assert_eq!(tickets[0]["customerId"], pseudonym_of_anna, "the same pseudonyms");
    assert_eq!(tickets[0]["subject"], "Anna zieht um", "free text kept");
    let messages = json_rows(&stack, "reporting_messages", "").await;
    assert!(is_pseudonym(&messages[0]["from"]), "{}", messages[0]);
    assert_eq!(messages[0]["bodyPlain"], "Ich bin Anna Muster, IBAN DE00");

    set_privacy(&stack, "none").await;
    let tickets = json_rows(&stack, "reporting_tickets", "").await;
    for column in ["customerId", "contractId", "subject"] {
        assert_eq!(tickets[0][column], Value::Null, "{column}: {}", tickets[0]);
    }
    assert_eq!(tickets[0]["agentId"], 5);
    let messages = json_rows(&stack, "reporting_messages", "").await;
    for column in ["from", "to", "subject", "bodyPlain"] {
        assert_eq!(messages[2][column], Value::Null, "{column}: {}", messages[2]);
    }
    assert_eq!(messages[2]["direction"], "out");
    let (status, _, _, csv) = download(&stack, "/export/reporting_tickets?format=csv").await;
    assert_eq!(status, 200);
    let rows = parse_csv(&csv);
    let col = |name: &str| rows[0].iter().position(|h| h == name).unwrap();
    assert_eq!(rows[1][col("customerId")], "", "the column stays, empty");
    assert_eq!(rows[1][col("id")], first.to_string());

    set_privacy(&stack, "full").await;
    let tickets = json_rows(&stack, "reporting_tickets", "").await;
    assert_eq!(tickets[0]["customerId"], "c-anna");
    let filtered = json_ids(
        &stack,
        "filters[0][key]=customerId&filters[0][comparator]=%3D&filters[0][value]=c-anna",
    )
    .await;
    assert_eq!(filtered, [first, second], "full allows filtering on customers");
}
