//! Coalesced embeddings requests against a real embeddings server (deploy/test.sh starts the
//! local one and sets ENNEO_TEST_EMBEDDINGS_URL): concurrent messages share calls and get
//! exactly the vectors they get alone.

use std::time::Duration;

use agent_svc::detection::{Detector, Message};
use agent_svc::providers::Endpoint;
use agent_svc::providers::batch::Batching;
use agent_svc::providers::embeddings::{Calls, EmbeddingsClient, InputType};
use serde_json::Value;

fn endpoint() -> Endpoint {
    Endpoint {
        url: std::env::var("ENNEO_TEST_EMBEDDINGS_URL")
            .unwrap_or_else(|_| "http://127.0.0.1:8089/v1".into()),
        model: "multilingual-e5-small".into(),
        api_key: None,
        timeout: Duration::from_secs(120),
        retries: 1,
    }
}

/// The units detection embeds of the first `n` messages of the development set.
fn messages(n: usize) -> Vec<Vec<String>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/eval/dev.jsonl");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(n)
        .map(|l| {
            let m: Value = serde_json::from_str(l).unwrap();
            let message = Message {
                subject: m["subject"].as_str().unwrap_or_default(),
                body: m["body"].as_str().unwrap_or_default(),
            };
            Detector::units(&message)
        })
        .filter(|units| !units.is_empty())
        .collect()
}

#[tokio::test]
async fn concurrent_messages_share_calls_and_get_the_vectors_they_get_alone() {
    let messages = messages(12);
    assert_eq!(messages.len(), 12, "the development set has messages");
    // Within one call's bound, so that every sentence goes out in the first call.
    assert!(messages.iter().map(Vec::len).sum::<usize>() <= Batching::default().max_inputs);
    let distinct: std::collections::HashSet<&String> = messages.iter().flatten().collect();

    // Each message on its own, one after another: one call each.
    let alone = EmbeddingsClient::with_batching(endpoint(), Batching::OFF);
    let mut expected = Vec::new();
    for units in &messages {
        expected.push(alone.embed(units, InputType::Query).await.unwrap());
    }
    assert_eq!(alone.calls().requests, messages.len() as u64);

    // All at once through the batching client: the same vectors, bit for bit, from fewer
    // calls, each distinct sentence sent once.
    let batched = EmbeddingsClient::new(endpoint());
    let answers = futures_util::future::join_all(
        messages.iter().map(|units| batched.embed(units, InputType::Query)),
    )
    .await;
    for ((units, answer), expected) in messages.iter().zip(answers).zip(&expected) {
        let vectors = answer.unwrap();
        assert_eq!(vectors.len(), units.len());
        assert_eq!(&vectors, expected, "the vectors of {units:?}");
    }
    let Calls { requests, inputs } = batched.calls();
    assert_eq!(requests, 1, "{} messages in one call", messages.len());
    assert_eq!(inputs, distinct.len() as u64);
}

#[tokio::test]
async fn queries_and_passages_are_embedded_apart_and_calls_in_sequence_stay_apart() {
    let client = EmbeddingsClient::new(endpoint());
    let texts = vec!["Mein Zählerstand ist 4711 kWh.".to_owned(), "Bitte kündigen".to_owned()];
    let (queries, passages) = tokio::join!(
        client.embed(&texts, InputType::Query),
        client.embed(&texts, InputType::Passage)
    );
    let (queries, passages) = (queries.unwrap(), passages.unwrap());
    assert_eq!(queries.len(), 2);
    assert_ne!(queries[0], passages[0], "e5 embeds queries and passages differently");
    assert_eq!(client.calls().requests, 2, "one call per input type");

    // A caller that waits for each answer gets no company: a call each.
    let one = vec![texts[0].clone()];
    let again = client.embed(&one, InputType::Query).await.unwrap();
    assert_eq!(again[0], queries[0]);
    client.embed(&one, InputType::Query).await.unwrap();
    assert_eq!(client.calls(), Calls { requests: 4, inputs: 6 });
    assert!(client.embed(&[], InputType::Query).await.unwrap().is_empty());
    assert_eq!(client.calls().requests, 4, "nothing to embed costs no call");
}
