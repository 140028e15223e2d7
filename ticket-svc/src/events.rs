//! The ticket events of contract §7 as this service records them in its outbox.

use enneo_common::auth::Caller;
use enneo_common::outbox::NewEvent;

use crate::model::TicketRow;

pub const DOMAIN: &str = "ticket";
pub const TICKET_CREATED: &str = "TicketCreated";
pub const TICKET_UPDATED: &str = "TicketUpdated";
pub const TICKET_DELETED: &str = "TicketDeleted";
pub const TICKET_ROUTED: &str = "TicketRouted";
pub const TICKET_FORWARDED: &str = "TicketForwarded";
pub const CONVERSATION_CREATED: &str = "ConversationCreated";
/// A customer wrote again on an existing ticket (an inbound conversation).
pub const TICKET_RESPONSE: &str = "TicketResponse";

/// Payload: `{ticket: <snapshot>, changedFields: [...]}`.
pub fn ticket_event(
    event_type: &'static str,
    row: &TicketRow,
    changed: &[&str],
    caller: &Caller,
) -> NewEvent {
    NewEvent {
        domain: DOMAIN,
        event_type,
        aggregate_id: row.id.to_string(),
        aggregate_version: row.version,
        actor: if caller.user_id == 0 { "system".into() } else { caller.user_id.to_string() },
        payload: serde_json::json!({
            "ticket": row.event_snapshot(),
            "changedFields": changed,
        }),
    }
}
