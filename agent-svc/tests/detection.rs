//! Detection against a real embeddings server (deploy/test.sh starts the local one and sets
//! ENNEO_TEST_EMBEDDINGS_URL), with the default catalogue's own agents.

use std::time::Duration;

use agent_svc::detection::{self, AgentProfile, Detector, Message};
use agent_svc::providers::embeddings::{EmbeddingsClient, InputType};
use agent_svc::providers::{Endpoint, ProviderError};
use serde_json::Value;

fn endpoint(url: String) -> Endpoint {
    Endpoint {
        url,
        model: "multilingual-e5-small".into(),
        api_key: None,
        timeout: Duration::from_secs(60),
        retries: 1,
    }
}

fn client() -> EmbeddingsClient {
    let url = std::env::var("ENNEO_TEST_EMBEDDINGS_URL")
        .unwrap_or_else(|_| "http://127.0.0.1:8089/v1".into());
    EmbeddingsClient::new(endpoint(url))
}

fn default(slug: &str) -> Value {
    let path = format!("{}/defaults/{slug}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

async fn detector(client: &EmbeddingsClient) -> Detector {
    let slugs = ["meter_reading", "master_data_agent", "cancel_contract", "bank_data_agent"];
    let agents: Vec<AgentProfile> = slugs
        .iter()
        .enumerate()
        .map(|(i, slug)| AgentProfile::from_definition(i as i64 + 1, &default(slug)))
        .collect();
    let background: Value =
        serde_json::from_str(include_str!("../defaults/background.json")).unwrap();
    Detector::build(agents, &detection::background(&background), client).await.unwrap()
}

fn slugs(found: &[detection::Detection]) -> Vec<&str> {
    let mut s: Vec<&str> = found.iter().map(|d| d.slug.as_str()).collect();
    s.sort();
    s
}

#[tokio::test]
async fn one_message_yields_each_intent_it_asks_for_and_not_the_ones_it_refuses() {
    let client = client();
    let detector = detector(&client).await;

    // The contract's own example ticket: a reading, a move and a cancellation at once.
    let seed = Message {
        subject: "Umzug",
        body: "Sehr geehrte Damen und Herren,\n\nich ziehe zum 1. November nach Köln, Hauptstraße 5, 50667 Köln. \
               Bitte kündigen Sie meinen Stromvertrag zum 31. Oktober. \
               Mein Zählerstand am Auszugstag war 12345 kWh.\n\nMit freundlichen Grüßen\nTom Weber",
    };
    let found = detector.detect(&seed, &client).await.unwrap();
    assert_eq!(
        slugs(&found),
        ["cancel_contract", "master_data_agent", "meter_reading"],
        "{found:?}"
    );
    assert!(found.iter().all(|d| d.confidence >= detector.threshold && d.confidence <= 1.0));

    let refused = Message {
        subject: "",
        body: "Hallo, ich möchte nicht kündigen, ich wollte nur wissen, wie lange mein Vertrag noch läuft.",
    };
    let found = detector.detect(&refused, &client).await.unwrap();
    assert!(!slugs(&found).contains(&"cancel_contract"), "{found:?}");

    let signature_iban = Message {
        subject: "Zählerstand",
        body: "Guten Tag, mein Zählerstand ist 4711 kWh.\n\nViele Grüße\nAnna Schmidt\n\
               Schmidt Consulting GmbH | IBAN DE89 3704 0044 0532 0130 00 | Amtsgericht Köln HRB 1234",
    };
    let found = detector.detect(&signature_iban, &client).await.unwrap();
    assert_eq!(slugs(&found), ["meter_reading"], "{found:?}");
}

#[tokio::test]
async fn the_server_embeds_queries_and_passages_and_an_absent_server_opens_the_circuit() {
    let client = client();
    let texts = vec!["Zählerstand 4711".to_owned(), "Thank you".to_owned()];
    let queries = client.embed(&texts, InputType::Query).await.unwrap();
    let passages = client.embed(&texts, InputType::Passage).await.unwrap();
    assert_eq!(queries.len(), 2);
    assert_eq!(queries[0].len(), 384);
    assert_ne!(queries[0], passages[0], "query and passage embeddings differ for e5");

    // Nothing listens on port 9 (discard) of localhost: every call fails, then fails fast.
    let down =
        EmbeddingsClient::new(Endpoint { retries: 0, ..endpoint("http://127.0.0.1:9/v1".into()) });
    for _ in 0..3 {
        assert!(matches!(
            down.embed(&texts, InputType::Query).await,
            Err(ProviderError::Transport { .. })
        ));
    }
    assert!(matches!(
        down.embed(&texts, InputType::Query).await,
        Err(ProviderError::CircuitOpen(_))
    ));
}
