//! The work loop against a real PostgreSQL.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use enneo_common::jobs::{Backoff, Claimed, Options, Outcome, Work, Worker};
use sqlx::PgConnection;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::TestDb;

const TABLE: &str = "public.item";

/// A database with `n` items due in `public.item`.
async fn items(n: i64) -> TestDb {
    let db = TestDb::new().await;
    sqlx::query(
        "CREATE TABLE public.item (id bigserial PRIMARY KEY, \
         attempts integer NOT NULL DEFAULT 0, available_at timestamptz NOT NULL DEFAULT now(), \
         last_error text, done_at timestamptz)",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    add(&db, n).await;
    db
}

async fn add(db: &TestDb, n: i64) {
    sqlx::query("INSERT INTO public.item (attempts) SELECT 0 FROM generate_series(1, $1)")
        .bind(n)
        .execute(&db.pool)
        .await
        .unwrap();
}

async fn done(db: &TestDb) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM public.item WHERE done_at IS NOT NULL")
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

async fn until_done(db: &TestDb, n: i64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while done(db).await < n {
        assert!(Instant::now() < deadline, "only {} of {n} items done", done(db).await);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

struct Item {
    id: i64,
    attempts: i32,
}

impl Claimed for Item {
    fn id(&self) -> i64 {
        self.id
    }

    fn attempts(&self) -> i32 {
        self.attempts
    }
}

/// Records which worker performed which item when; scripted outcomes per item id.
#[derive(Clone, Default)]
struct Script {
    performed: Arc<Mutex<Vec<(i64, usize, Instant)>>>,
    /// Item id -> outcomes of its first attempts (later attempts succeed).
    outcomes: Arc<Mutex<HashMap<i64, Vec<Outcome>>>>,
    /// How long each batch's side effect takes.
    takes: Duration,
    /// Signalled when a side effect starts.
    started: Arc<Notify>,
}

struct Recorder {
    worker: usize,
    script: Script,
}

impl Work for Recorder {
    type Item = Item;

    fn table(&self) -> &str {
        TABLE
    }

    async fn claim(&mut self, tx: &mut PgConnection, limit: i64) -> sqlx::Result<Vec<Item>> {
        let rows: Vec<(i64, i32)> = sqlx::query_as(
            "SELECT id, attempts FROM public.item WHERE done_at IS NULL AND available_at <= now() \
             ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
        )
        .bind(limit)
        .fetch_all(tx)
        .await?;
        Ok(rows.into_iter().map(|(id, attempts)| Item { id, attempts }).collect())
    }

    async fn perform(&mut self, items: &[Item]) -> anyhow::Result<Vec<Outcome>> {
        self.script.started.notify_one();
        tokio::time::sleep(self.script.takes).await;
        let mut outcomes = Vec::new();
        for item in items {
            self.script.performed.lock().unwrap().push((item.id, self.worker, Instant::now()));
            let scripted = self
                .script
                .outcomes
                .lock()
                .unwrap()
                .get_mut(&item.id)
                .and_then(|o| if o.is_empty() { None } else { Some(o.remove(0)) });
            outcomes.push(scripted.unwrap_or(Outcome::Done));
        }
        Ok(outcomes)
    }

    async fn done(&mut self, tx: &mut PgConnection, ids: &[i64]) -> sqlx::Result<()> {
        sqlx::query("UPDATE public.item SET done_at = now() WHERE id = ANY($1)")
            .bind(ids)
            .execute(tx)
            .await?;
        Ok(())
    }
}

fn worker(db: &TestDb, id: usize, script: &Script, options: Options) -> Worker<Recorder> {
    let work = Recorder { worker: id, script: script.clone() };
    Worker::new(db.pool.clone(), work, Arc::new(Notify::new()), options)
}

fn options(batch: i64) -> Options {
    Options {
        batch,
        poll: Duration::from_millis(50),
        retry: Backoff::new(Duration::from_millis(300), Duration::from_secs(10)),
        ..Default::default()
    }
}

#[tokio::test]
async fn two_workers_never_perform_the_same_item() {
    let db = items(60).await;
    let script = Script { takes: Duration::from_millis(30), ..Default::default() };
    let shutdown = CancellationToken::new();
    let a = tokio::spawn(worker(&db, 1, &script, options(5)).run(shutdown.clone()));
    let b = tokio::spawn(worker(&db, 2, &script, options(5)).run(shutdown.clone()));
    until_done(&db, 60).await;
    shutdown.cancel();
    let _ = tokio::join!(a, b);

    let performed = script.performed.lock().unwrap().clone();
    let mut ids: Vec<i64> = performed.iter().map(|(id, _, _)| *id).collect();
    ids.sort();
    assert_eq!(ids, (1..=60).collect::<Vec<_>>(), "each item performed exactly once");
    for w in [1, 2] {
        assert!(performed.iter().any(|(_, by, _)| *by == w), "worker {w} took part");
    }
    db.drop().await;
}

#[tokio::test]
async fn a_retried_item_backs_off_and_a_failed_one_is_parked() {
    let db = items(2).await;
    let script = Script::default();
    script.outcomes.lock().unwrap().extend([
        (1, vec![Outcome::Retry("busy".into()), Outcome::Retry("still busy".into())]),
        (2, vec![Outcome::Failed("refused".into())]),
    ]);
    let shutdown = CancellationToken::new();
    let run = tokio::spawn(worker(&db, 1, &script, options(1)).run(shutdown.clone()));
    until_done(&db, 1).await;
    // Item 2 would have been retried by now had it been backed off instead of parked.
    tokio::time::sleep(Duration::from_millis(400)).await;
    shutdown.cancel();
    run.await.unwrap();

    let performed = script.performed.lock().unwrap().clone();
    let times: Vec<Instant> =
        performed.iter().filter(|(id, _, _)| *id == 1).map(|(_, _, at)| *at).collect();
    assert_eq!(times.len(), 3, "two failures, then done");
    assert!(times[1] - times[0] >= Duration::from_millis(300), "first retry after the base");
    assert!(times[2] - times[1] >= Duration::from_millis(600), "then after twice the base");
    let (attempts, error, done): (i32, Option<String>, bool) = sqlx::query_as(
        "SELECT attempts, last_error, done_at IS NOT NULL FROM public.item WHERE id = 1",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!((attempts, error.as_deref(), done), (2, Some("still busy"), true));

    assert_eq!(performed.iter().filter(|(id, _, _)| *id == 2).count(), 1);
    let (error, parked): (Option<String>, bool) = sqlx::query_as(
        "SELECT last_error, available_at = 'infinity' FROM public.item WHERE id = 2",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!((error.as_deref(), parked), (Some("refused"), true));
    db.drop().await;
}

#[tokio::test]
async fn shutdown_finishes_the_item_in_hand_and_takes_no_other() {
    let db = items(3).await;
    let script = Script { takes: Duration::from_millis(500), ..Default::default() };
    let shutdown = CancellationToken::new();
    let run = tokio::spawn(worker(&db, 1, &script, options(1)).run(shutdown.clone()));
    script.started.notified().await;
    let cancelled_at = Instant::now();
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(5), run).await.unwrap().unwrap();
    assert!(cancelled_at.elapsed() >= Duration::from_millis(300), "the loop waited for the item");
    let done: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM public.item WHERE done_at IS NOT NULL ORDER BY id")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(done, vec![1], "the item in hand was recorded, no other was started");
    assert_eq!(script.performed.lock().unwrap().len(), 1);
    db.drop().await;
}

#[tokio::test]
async fn a_notify_wakes_an_idle_loop() {
    let db = items(0).await;
    let script = Script::default();
    let wake = Arc::new(Notify::new());
    let options = Options { poll: Duration::from_secs(60), ..options(1) };
    let work = Recorder { worker: 1, script: script.clone() };
    let shutdown = CancellationToken::new();
    let run = tokio::spawn(
        Worker::new(db.pool.clone(), work, wake.clone(), options).run(shutdown.clone()),
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    add(&db, 1).await;
    wake.notify_one();
    tokio::time::timeout(Duration::from_secs(5), until_done(&db, 1)).await.unwrap();
    shutdown.cancel();
    run.await.unwrap();
    db.drop().await;
}

#[tokio::test]
async fn the_loop_vacuums_its_table_after_the_configured_count() {
    let db = items(30).await;
    let script = Script::default();
    let options = Options { vacuum_after: Some(10), ..options(5) };
    let shutdown = CancellationToken::new();
    let run = tokio::spawn(worker(&db, 1, &script, options).run(shutdown.clone()));
    until_done(&db, 30).await;
    shutdown.cancel();
    run.await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let vacuums: i64 = sqlx::query_scalar(
            "SELECT vacuum_count FROM pg_stat_user_tables WHERE relid = 'public.item'::regclass",
        )
        .fetch_one(&db.pool)
        .await
        .unwrap();
        if vacuums > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "public.item was never vacuumed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    db.drop().await;
}
