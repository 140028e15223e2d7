//! Customers and contracts, stored from ticket writes and found by ticket, id or search.

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Stack, send};

fn tom(iban: &str) -> Value {
    json!({"id": 83771, "firstname": "Tom", "lastname": "Mustermann", "email": "tom@mustermann.de",
        "phone": 49123456789u64, "address": "Hugo-Junkers-Str. 5",
        "tags": [{"id": 2, "color": "green", "name": "VIP"}],
        "contracts": [{"id": 746839, "iban": iban, "energy": "electricity"}, {"id": "746840", "energy": "gas"}]})
}

#[tokio::test]
async fn a_customer_given_with_a_ticket_is_shared_by_all_its_tickets() {
    let stack = Stack::start().await;
    let first = stack
        .create(json!({"channel": "email", "from": "tom@mustermann.de", "customer": tom("DE00 1")}))
        .await;
    assert_eq!(first["customerId"], "83771", "the ticket is linked to the customer it brought");
    let first = first["id"].as_i64().unwrap();
    // A later ticket brings newer data: every ticket of the customer sees it.
    let second = stack.create(json!({"channel": "chat", "customer": tom("DE00 2")})).await["id"]
        .as_i64()
        .unwrap();

    let (status, c) =
        send(stack.admin(Method::GET, &format!("/customer/byTicketId/{first}"))).await;
    assert_eq!(status, 200, "{c}");
    assert_eq!(c["success"], true);
    assert_eq!(c["firstname"], "Tom");
    assert_eq!(c["emailMatches"], true);
    assert_eq!(c["contracts"][0]["iban"], "DE00 2");
    assert_eq!(c["contracts"].as_array().unwrap().len(), 2);
    let (_, c) = send(stack.admin(Method::GET, &format!("/customer/byTicketId/{second}"))).await;
    assert_eq!(c["emailMatches"], Value::Null, "a chat ticket without sender");

    let (status, c) = send(stack.admin(Method::GET, "/customer/byCustomerId/83771")).await;
    assert_eq!(status, 200);
    assert_eq!(c["emailMatches"], Value::Null);
    let (status, c) = send(stack.admin(Method::GET, "/customer/byContractId/746840")).await;
    assert_eq!((status, c["id"].clone()), (200, json!(83771)));

    let (_, t) = send(
        stack.admin(Method::GET, &format!("/ticket/{first}?includeCustomer=true&viewing=false")),
    )
    .await;
    assert_eq!(t["customer"]["contracts"][0]["iban"], "DE00 2");

    for missing in
        ["/customer/byCustomerId/1", "/customer/byContractId/1", "/customer/byTicketId/999999"]
    {
        let (status, body) = send(stack.admin(Method::GET, missing)).await;
        assert_eq!(status, 404, "{missing}: {body}");
    }
    let no_customer = stack.create(json!({"channel": "email"})).await["id"].as_i64().unwrap();
    let (status, _) =
        send(stack.admin(Method::GET, &format!("/customer/byTicketId/{no_customer}"))).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn customer_search_matches_names_addresses_and_ids() {
    let stack = Stack::start().await;
    stack.create(json!({"channel": "email", "customer": tom("DE00")})).await;
    stack.create(json!({"channel": "email", "customer": {"id": "c-2", "firstname": "Anna", "lastname": "Schmidt", "email": "anna@example.com", "address": "Hauptstr. 1"}})).await;

    let search = |query: &'static str| {
        let stack = &stack;
        async move {
            let response = stack
                .admin(Method::GET, &format!("/customer/search?{query}"))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let total =
                response.headers().get("x-total-count").map(|v| v.to_str().unwrap().to_owned());
            (status, total, response.json::<Value>().await.unwrap())
        }
    };
    let (status, total, rows) = search("q=mustermann").await;
    assert_eq!((status, total.as_deref()), (200, Some("1")));
    assert_eq!(
        rows,
        json!([{"id": "83771", "firstname": "Tom", "lastname": "Mustermann",
        "email": "tom@mustermann.de", "phone": "49123456789", "address": "Hugo-Junkers-Str. 5",
        "contractIds": ["746839", "746840"]}])
    );
    let (_, _, rows) = search("q=746840").await;
    assert_eq!(rows[0]["id"], "83771", "a contract id finds its customer");
    let (_, _, rows) = search("q=c-2").await;
    assert_eq!(rows[0]["firstname"], "Anna");
    let (_, total, rows) = search("q=str.").await;
    assert_eq!((total.as_deref(), rows.as_array().unwrap().len()), (Some("2"), 2));
    let (_, total, rows) = search("q=str.&limit=1&offset=1").await;
    assert_eq!((total.as_deref(), rows.as_array().unwrap().len()), (Some("2"), 1));
    let (_, _, rows) = search("q=%25").await;
    assert_eq!(rows, json!([]), "LIKE wildcards are literal");
    for bad in ["", "q=", "q=a&limit=-1", "q=a&limit=x"] {
        let (status, _, _) = search(bad).await;
        assert_eq!(status, 400, "{bad}");
    }
}

#[tokio::test]
async fn a_customer_document_must_be_an_object() {
    let stack = Stack::start().await;
    let (status, body) = send(
        stack.admin(Method::POST, "/ticket").json(&json!({"channel": "email", "customer": [1, 2]})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = send(
        stack
            .admin(Method::POST, "/ticket")
            .json(&json!({"channel": "email", "customer": {"id": 1, "contracts": "none"}})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
}
