//! Ticket events that ask for detection: a new ticket (`TicketCreated`, unless it was created
//! with `process=false`) and a new customer message on an existing one (`TicketResponse`).
//! Each becomes a detection job in the inbox transaction; the detection itself runs in the
//! job worker, so a slow embeddings server never holds a broker delivery.

use enneo_common::amqp::Envelope;
use enneo_common::consumer::Handler;
use serde_json::Value;
use sqlx::PgConnection;
use tokio::sync::Notify;

use crate::detection::queue::{self, TRIGGER_CREATED, TRIGGER_RESPONSE};

pub const QUEUE: &str = "agent-svc.detection";
pub const ROUTING_KEYS: &[&str] = &["ticket.TicketCreated", "ticket.TicketResponse"];

pub struct DetectionRequests {
    pub wake: std::sync::Arc<Notify>,
}

impl Handler for DetectionRequests {
    async fn handle(&self, tx: &mut PgConnection, event: &Envelope) -> anyhow::Result<()> {
        let ticket_id: i64 = event.aggregate_id.parse()?;
        let payload = &event.payload;
        match event.event_type.as_str() {
            TRIGGER_CREATED => {
                if payload.pointer("/ticket/process").and_then(Value::as_str) == Some("false") {
                    return Ok(());
                }
                queue::enqueue(tx, ticket_id, TRIGGER_CREATED, None).await?;
            }
            TRIGGER_RESPONSE => {
                let conversation = payload.pointer("/conversation/id").and_then(Value::as_i64);
                queue::enqueue(tx, ticket_id, TRIGGER_RESPONSE, conversation).await?;
            }
            _ => return Ok(()),
        }
        // Woken after the inbox transaction commits (a missed wake-up only waits for the poll).
        self.wake.notify_one();
        Ok(())
    }
}
