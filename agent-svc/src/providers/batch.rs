//! Coalesces embeddings requests that arrive together into one call of the server.
//!
//! A model server embeds many texts in one call faster than in many calls: what each call costs
//! besides the texts (the request, the server's threads starting and meeting) is paid once, and
//! on a busy machine that is most of the cost of a call of a few short sentences. Its vector of
//! a text does not depend on what else is in the call. Concurrent detections and quality-check
//! replays each ask for a handful of sentences; here their requests queue, and one dispatcher
//! sends whatever has queued as one array request, bounded by [`Batching::max_inputs`], with
//! identical texts embedded once. A request arriving while the dispatcher is idle waits
//! [`Batching::linger`] for company; while a call is in flight, the next batch gathers by
//! itself. One call is in flight at a time: the server computes one request at a time anyway,
//! and a second one would only queue there.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::ProviderError;
use super::embeddings::InputType;

/// How requests are coalesced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batching {
    /// Texts per call at most; a request with more is split over several calls. 0: every
    /// request is its own call.
    pub max_inputs: usize,
    /// How long a request that found the dispatcher idle waits for others.
    pub linger: Duration,
}

impl Batching {
    /// Every request on its own.
    pub const OFF: Self = Self { max_inputs: 0, linger: Duration::ZERO };
}

impl Default for Batching {
    fn default() -> Self {
        Self { max_inputs: 128, linger: Duration::from_millis(5) }
    }
}

/// Vectors, in order, or why there are none.
pub type Embedded = Result<Vec<Vec<f32>>, ProviderError>;

/// One call of the server with the texts given: what the batcher sits in front of.
pub trait Direct: Send + Sync + 'static {
    fn call(
        &self,
        texts: Vec<String>,
        input_type: InputType,
    ) -> Pin<Box<dyn Future<Output = Embedded> + Send + '_>>;
}

struct Pending {
    texts: Vec<String>,
    input_type: InputType,
    reply: oneshot::Sender<Embedded>,
}

pub struct Batcher<D> {
    direct: Arc<D>,
    settings: Batching,
    /// The dispatcher's queue, started with the first request (it needs a runtime).
    queue: OnceLock<mpsc::UnboundedSender<Pending>>,
}

impl<D: Direct> Batcher<D> {
    pub fn new(direct: Arc<D>, settings: Batching) -> Self {
        Self { direct, settings, queue: OnceLock::new() }
    }

    /// One vector per text, in order, from a call shared with whatever else is queued.
    pub async fn embed(&self, texts: &[String], input_type: InputType) -> Embedded {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        if let Some(queue) = self.queue() {
            let (reply, answer) = oneshot::channel();
            let pending = Pending { texts: texts.to_vec(), input_type, reply };
            if queue.send(pending).is_ok()
                && let Ok(embedded) = answer.await
            {
                return embedded;
            }
            // The dispatcher has stopped (its runtime shut down): call on our own.
        }
        self.direct.call(texts.to_vec(), input_type).await
    }

    fn queue(&self) -> Option<&mpsc::UnboundedSender<Pending>> {
        if self.settings.max_inputs == 0 {
            return None;
        }
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        Some(self.queue.get_or_init(|| {
            let (queue, requests) = mpsc::unbounded_channel();
            runtime.spawn(dispatch(self.direct.clone(), requests, self.settings));
            queue
        }))
    }
}

/// Sends batches until every sender is gone.
async fn dispatch<D: Direct>(
    direct: Arc<D>,
    mut requests: mpsc::UnboundedReceiver<Pending>,
    settings: Batching,
) {
    // A request that did not fit the batch before opens the next one.
    let mut carried: Option<Pending> = None;
    loop {
        let first = match carried.take() {
            Some(pending) => pending,
            None => match requests.recv().await {
                Some(pending) => pending,
                None => return,
            },
        };
        let mut inputs = first.texts.len();
        let mut batch = vec![first];
        let deadline = Instant::now() + settings.linger;
        while inputs < settings.max_inputs {
            // Queued requests come at once; otherwise wait out the linger.
            let Ok(Some(next)) = tokio::time::timeout_at(deadline, requests.recv()).await else {
                break;
            };
            if inputs + next.texts.len() > settings.max_inputs {
                carried = Some(next);
                break;
            }
            inputs += next.texts.len();
            batch.push(next);
        }
        serve(&*direct, batch, settings.max_inputs).await;
    }
}

/// Embeds a batch: one call per input type (split when a single request is larger than
/// `max_inputs`), each distinct text once, and answers every request.
async fn serve<D: Direct>(direct: &D, batch: Vec<Pending>, max_inputs: usize) {
    // Requests whose caller has gone (a cancelled replay) are not embedded.
    let (queries, passages): (Vec<Pending>, Vec<Pending>) = batch
        .into_iter()
        .filter(|p| !p.reply.is_closed())
        .partition(|p| p.input_type == InputType::Query);
    for group in [queries, passages] {
        let Some(input_type) = group.first().map(|p| p.input_type) else { continue };
        let plan = Plan::of(group.iter().map(|p| p.texts.as_slice()));
        let chunk = max_inputs.max(1);
        let mut calls = Vec::new();
        for texts in plan.distinct.chunks(chunk) {
            calls.push(direct.call(texts.to_vec(), input_type).await);
        }
        let refused = calls.iter().any(|c| c.as_ref().is_err_and(ProviderError::refused));
        if refused && group.len() > 1 {
            // The server refused a text of one request (too long, say): each request on its
            // own, so that the others are not refused with it.
            for pending in group {
                let mut vectors = Vec::with_capacity(pending.texts.len());
                let mut answer = Ok(());
                for texts in pending.texts.chunks(chunk) {
                    match direct.call(texts.to_vec(), input_type).await {
                        Ok(v) => vectors.extend(v),
                        Err(e) => {
                            answer = Err(e);
                            break;
                        }
                    }
                }
                let _ = pending.reply.send(answer.map(|()| vectors));
            }
            continue;
        }
        for (pending, answer) in group.into_iter().zip(plan.answers(&calls, chunk)) {
            let _ = pending.reply.send(answer);
        }
    }
}

/// The distinct texts of a batch, and where each request's texts are among them.
struct Plan {
    distinct: Vec<String>,
    positions: Vec<Vec<usize>>,
}

impl Plan {
    fn of<'a>(requests: impl Iterator<Item = &'a [String]>) -> Self {
        let mut index: HashMap<&'a str, usize> = HashMap::new();
        let mut distinct = Vec::new();
        let positions = requests
            .map(|texts| {
                texts
                    .iter()
                    .map(|text| {
                        *index.entry(text.as_str()).or_insert_with(|| {
                            distinct.push(text.clone());
                            distinct.len() - 1
                        })
                    })
                    .collect()
            })
            .collect();
        Self { distinct, positions }
    }

    /// Each request's vectors from the calls' answers (call `i` embedded the distinct texts
    /// `i * chunk ..`); a request fails with the first failed call it had texts in.
    fn answers(&self, calls: &[Embedded], chunk: usize) -> Vec<Embedded> {
        self.positions
            .iter()
            .map(|positions| {
                positions
                    .iter()
                    .map(|&p| match &calls[p / chunk] {
                        Ok(vectors) => {
                            vectors.get(p % chunk).cloned().ok_or_else(|| ProviderError::Protocol {
                                url: "(batched call)".into(),
                                message: format!("no embedding for input {}", p % chunk),
                            })
                        }
                        Err(e) => Err(e.clone()),
                    })
                    .collect()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// A server that embeds a text as its length and a checksum, slowly enough for requests
    /// to queue behind a call; it is unavailable for a call holding "boom" and refuses one
    /// holding "too long".
    #[derive(Default)]
    struct Fake {
        calls: Mutex<Vec<(Vec<String>, InputType)>>,
    }

    fn vector(text: &str, input_type: InputType) -> Vec<f32> {
        let sum: u32 = text.bytes().map(u32::from).sum();
        vec![text.len() as f32, sum as f32, f32::from(u8::from(input_type == InputType::Query))]
    }

    impl Direct for Fake {
        fn call(
            &self,
            texts: Vec<String>,
            input_type: InputType,
        ) -> Pin<Box<dyn Future<Output = Embedded> + Send + '_>> {
            Box::pin(async move {
                self.calls.lock().unwrap().push((texts.clone(), input_type));
                tokio::time::sleep(Duration::from_millis(20)).await;
                if texts.iter().any(|t| t.contains("boom")) {
                    return Err(ProviderError::Status {
                        url: "fake".into(),
                        status: 503,
                        body: "boom".into(),
                    });
                }
                if texts.iter().any(|t| t.contains("too long")) {
                    return Err(ProviderError::Status {
                        url: "fake".into(),
                        status: 400,
                        body: "input too long".into(),
                    });
                }
                Ok(texts.iter().map(|t| vector(t, input_type)).collect())
            })
        }
    }

    fn texts(prefix: &str, n: usize) -> Vec<String> {
        (0..n).map(|i| format!("{prefix} {i}")).collect()
    }

    async fn concurrently(
        batcher: &Batcher<Fake>,
        requests: &[(Vec<String>, InputType)],
    ) -> Vec<Embedded> {
        futures_util::future::join_all(requests.iter().map(|(t, ty)| batcher.embed(t, *ty))).await
    }

    fn expected(texts: &[String], input_type: InputType) -> Vec<Vec<f32>> {
        texts.iter().map(|t| vector(t, input_type)).collect()
    }

    #[tokio::test]
    async fn concurrent_requests_share_calls_and_each_gets_its_own_vectors() {
        let fake = Arc::new(Fake::default());
        let batcher = Batcher::new(fake.clone(), Batching::default());
        let mut requests: Vec<(Vec<String>, InputType)> =
            (0..10).map(|i| (texts(&format!("message {i}"), 5), InputType::Query)).collect();
        // The same sentence in two requests is embedded once.
        requests.push((vec!["message 0 0".into(), "shared".into()], InputType::Query));
        requests.push((vec!["shared".into()], InputType::Query));
        requests.push((texts("passage", 2), InputType::Passage));
        let answers = concurrently(&batcher, &requests).await;
        for ((texts, ty), answer) in requests.iter().zip(answers) {
            assert_eq!(answer.unwrap(), expected(texts, *ty), "{texts:?}");
        }
        let calls = fake.calls.lock().unwrap();
        // One call per input type: 51 distinct queries and 2 passages.
        assert_eq!(calls.len(), 2, "{calls:?}");
        let queries = calls.iter().find(|(_, ty)| *ty == InputType::Query).unwrap();
        assert_eq!(queries.0.len(), 51);
        assert_eq!(queries.0.iter().filter(|t| *t == "shared").count(), 1);
    }

    #[tokio::test]
    async fn calls_stay_within_the_bound_and_a_large_request_is_split_in_order() {
        let fake = Arc::new(Fake::default());
        let settings = Batching { max_inputs: 8, linger: Duration::from_millis(3) };
        let batcher = Batcher::new(fake.clone(), settings);
        let requests: Vec<(Vec<String>, InputType)> = vec![
            (texts("a", 5), InputType::Query),
            (texts("b", 5), InputType::Query),
            (texts("large", 19), InputType::Query),
            (texts("c", 3), InputType::Query),
        ];
        let answers = concurrently(&batcher, &requests).await;
        for ((texts, ty), answer) in requests.iter().zip(answers) {
            assert_eq!(answer.unwrap(), expected(texts, *ty));
        }
        let calls = fake.calls.lock().unwrap();
        assert!(calls.iter().all(|(t, _)| t.len() <= 8), "{calls:?}");
        // 32 texts need at least four calls of eight; one per request would be four too, but
        // the large request alone needs three.
        let sent: usize = calls.iter().map(|(t, _)| t.len()).sum();
        assert_eq!(sent, 32, "each text once: {calls:?}");
        assert!(calls.len() <= 6, "{calls:?}");
    }

    #[tokio::test]
    async fn a_failed_call_fails_the_requests_in_it_and_spares_later_ones() {
        let fake = Arc::new(Fake::default());
        let batcher = Batcher::new(fake.clone(), Batching::default());
        let requests = vec![
            (vec!["fine".to_owned()], InputType::Query),
            (vec!["boom".to_owned()], InputType::Query),
            (vec!["a passage".to_owned()], InputType::Passage),
        ];
        let answers = concurrently(&batcher, &requests).await;
        // The first two shared the failed call; the passage had its own.
        assert!(matches!(answers[0], Err(ProviderError::Status { status: 503, .. })));
        assert!(matches!(answers[1], Err(ProviderError::Status { status: 503, .. })));
        assert_eq!(answers[2].as_ref().unwrap(), &expected(&requests[2].0, InputType::Passage));
        let later = batcher.embed(&["fine".to_owned()], InputType::Query).await;
        assert_eq!(later.unwrap(), expected(&["fine".to_owned()], InputType::Query));
    }

    #[tokio::test]
    async fn a_refused_text_fails_only_its_own_request() {
        let fake = Arc::new(Fake::default());
        let batcher = Batcher::new(fake.clone(), Batching::default());
        let requests = vec![
            (texts("fine", 3), InputType::Query),
            (vec!["ok".to_owned(), "too long".to_owned()], InputType::Query),
            (texts("also fine", 2), InputType::Query),
        ];
        let answers = concurrently(&batcher, &requests).await;
        assert_eq!(answers[0].as_ref().unwrap(), &expected(&requests[0].0, InputType::Query));
        assert!(matches!(answers[1], Err(ProviderError::Status { status: 400, .. })));
        assert_eq!(answers[2].as_ref().unwrap(), &expected(&requests[2].0, InputType::Query));
        // The shared call, then one per request.
        assert_eq!(fake.calls.lock().unwrap().len(), 4);
    }

    #[tokio::test]
    async fn without_batching_every_request_is_its_own_call() {
        let fake = Arc::new(Fake::default());
        let batcher = Batcher::new(fake.clone(), Batching::OFF);
        let requests: Vec<(Vec<String>, InputType)> =
            (0..4).map(|i| (texts(&format!("m{i}"), 2), InputType::Query)).collect();
        let answers = concurrently(&batcher, &requests).await;
        assert!(answers.iter().all(Result::is_ok));
        assert_eq!(fake.calls.lock().unwrap().len(), 4);
        assert!(batcher.embed(&[], InputType::Query).await.unwrap().is_empty());
        assert_eq!(fake.calls.lock().unwrap().len(), 4, "an empty request costs no call");
    }
}
