//! Live agreement: on real traffic, whether the people handling a ticket agreed with the AI's
//! intent detection, per ticket and AI agent ([`store`]), served as a trend per agent and
//! period ([`trend`]).
//!
//! An agent the AI detected and a person removed is a false positive; one a person added that
//! the AI had not detected is a miss; one the AI detected and a person kept is agreed, either
//! explicitly (restored after a removal) or when a person closes the ticket with it untouched.
//! A person's intent change always has the last word, so it overrides an agreement a close
//! recorded before the change was delivered.

pub mod store;
pub mod trend;

use enneo_common::amqp::Envelope;
use enneo_common::consumer::Handler;
use sqlx::PgConnection;

pub use store::{IntentChanges, QUEUE, ROUTING_KEYS};
pub use trend::{Interval, Range, trend};

/// Wraps the ticket-events handler so that, in the same transaction, a ticket a person closed
/// settles the agreement of its untouched AI intents. (One inbox per schema: a second queue
/// bound to ticket events would see each event as handled already.)
pub struct WithCloses<H>(pub H);

impl<H: Handler> Handler for WithCloses<H> {
    async fn handle(&self, tx: &mut PgConnection, event: &Envelope) -> anyhow::Result<()> {
        self.0.handle(tx, event).await?;
        store::ticket_event(tx, event).await
    }
}
