//! Every side effect an agent run can have, behind one interface with two implementations:
//! `Live` applies them through ticket-svc; `Recording` only writes down what would have
//! happened. Preview and the quality check's replay use `Recording`, so they run the very code
//! live execution runs and provably change nothing.

use std::sync::Mutex;

use enneo_common::service_error::Result;
use enneo_proto::ticket::v1 as pb;
use serde::Serialize;

use crate::tickets::Tickets;

/// What a run did, or would have done.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Recorded {
    Reply { ticket_id: i64, text: String },
    Close { ticket_id: i64 },
}

pub enum Effects {
    Live(Tickets),
    Recording(Mutex<Vec<Recorded>>),
}

impl Effects {
    pub fn recording() -> Self {
        Self::Recording(Mutex::new(Vec::new()))
    }

    /// Sends the customer `text` on `ticket_id` (through ticket-svc's mail outbox).
    pub async fn reply(&self, ticket_id: i64, text: &str) -> Result<()> {
        match self {
            Self::Live(tickets) => tickets.reply(ticket_id, text).await.map(|_| ()),
            Self::Recording(log) => {
                push(log, Recorded::Reply { ticket_id, text: text.to_owned() });
                Ok(())
            }
        }
    }

    pub async fn close(&self, ticket_id: i64) -> Result<()> {
        match self {
            Self::Live(tickets) => {
                let fields =
                    pb::TicketFields { status: Some("closed".into()), ..Default::default() };
                tickets.update(ticket_id, fields).await
            }
            Self::Recording(log) => {
                push(log, Recorded::Close { ticket_id });
                Ok(())
            }
        }
    }

    /// What a recording run would have done; empty for live effects.
    pub fn recorded(&self) -> Vec<Recorded> {
        match self {
            Self::Live(_) => Vec::new(),
            Self::Recording(log) => log.lock().unwrap_or_else(|p| p.into_inner()).clone(),
        }
    }
}

fn push(log: &Mutex<Vec<Recorded>>, effect: Recorded) {
    log.lock().unwrap_or_else(|p| p.into_inner()).push(effect);
}
