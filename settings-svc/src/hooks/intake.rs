//! Every event on the bus, as a delivery for each enabled hook that names its type. One
//! insert per event, in the consumer's inbox transaction: an event redelivered by the broker
//! finds its id in the inbox, and `(hook_id, event_id)` is unique besides.

use std::sync::Arc;

use enneo_common::amqp::Envelope;
use enneo_common::consumer::Handler;
use sqlx::PgConnection;
use tokio::sync::Notify;

pub const QUEUE: &str = "settings-svc.event-hooks";
/// All of them: which events matter is the hooks' to say, and they change at run time.
pub const ROUTING_KEYS: &[&str] = &["#"];

pub struct Intake {
    /// Wakes the delivery loop; it also polls, for the wake that comes before the commit.
    pub wake: Arc<Notify>,
}

impl Handler for Intake {
    async fn handle(&self, tx: &mut PgConnection, event: &Envelope) -> anyhow::Result<()> {
        let queued = sqlx::query(
            "INSERT INTO settings.hook_delivery (hook_id, event_id, event_type, envelope) \
             SELECT id, $1, $2, $3 FROM settings.event_hook WHERE enabled AND $2 = ANY(events) \
             ON CONFLICT (hook_id, event_id) DO NOTHING",
        )
        .bind(event.event_id)
        .bind(&event.event_type)
        .bind(serde_json::to_value(event)?)
        .execute(tx)
        .await?
        .rows_affected();
        if queued > 0 {
            self.wake.notify_one();
        }
        Ok(())
    }
}
