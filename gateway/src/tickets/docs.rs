//! Schemas of the ticket routes for the OpenAPI document (`/api/mind/docs/open-api`).

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// A ticket as written by `POST /ticket`, `PATCH /ticket/{ticketId}` and each item of
/// `PATCH /ticket`. Every field is optional on update; `null` sets a nullable field to null.
/// Read-only fields the API returns (`agent`, `workedOnBy`, …) may be sent back and are
/// ignored; any other unknown field is a 400. On update, a non-null `modifiedAt` is a
/// precondition: if the ticket changed since, the answer is 409 and nothing is written.
#[allow(dead_code)]
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TicketWrite {
    /// `in` (default), `out` or `internal`; cannot change after creation.
    #[schema(example = "in")]
    direction: Option<String>,
    /// Requester e-mail or id; for outgoing mail the sender.
    from: Option<String>,
    from_name: Option<String>,
    to: Option<Vec<String>>,
    /// Alias of `ccEmails` in create bodies.
    cc: Option<Vec<String>>,
    /// Alias of `bccEmails` in create bodies.
    bcc: Option<Vec<String>>,
    cc_emails: Option<Vec<String>>,
    bcc_emails: Option<Vec<String>>,
    reply_cc_emails: Option<Vec<String>>,
    subchannel_id: Option<i64>,
    /// Creating with an existing `externalTicketId` updates that ticket instead.
    external_ticket_id: Option<String>,
    sentiment: Option<String>,
    language: Option<String>,
    language_code: Option<String>,
    /// ISO 8601.
    auto_execute_at: Option<String>,
    /// `unprocessed` (default), `human`, `bot`, `automated`.
    ai_support_level: Option<String>,
    /// `auto_spam`, `auto_programmatic`, `manual_spam` (closes the ticket), `auto_clean`,
    /// `manual_clean`.
    spam_status: Option<String>,
    is_customer_active: Option<bool>,
    /// `internal`.
    interface: Option<String>,
    /// `low` (default), `medium`, `high`, `urgent`.
    priority: Option<String>,
    /// Required on create: `email`, `portal`, `phone`, `letter`, `system`, `chat`, `walkIn`.
    #[schema(example = "email")]
    channel: Option<String>,
    channel_id: Option<String>,
    /// `open` (default), `pending` (needs a future `dueBy`), `closed`.
    status: Option<String>,
    summary: Option<String>,
    subject: Option<String>,
    /// HTML preferred; plain text allowed.
    body: Option<String>,
    body_plain: Option<String>,
    body_clean: Option<String>,
    is_escalated: Option<bool>,
    /// Dates: `YYYY-MM-DD HH:MM:SS` (UTC), ISO 8601 or unix seconds.
    #[schema(example = "2022-12-13 22:18:06")]
    created_at: Option<String>,
    first_response_due_by: Option<String>,
    due_by: Option<String>,
    closed_at: Option<String>,
    last_message_at: Option<String>,
    last_customer_message_at: Option<String>,
    model_run_at: Option<String>,
    /// String or integer.
    customer_id: Option<String>,
    /// String or integer.
    contract_id: Option<String>,
    partner_id: Option<i64>,
    customer_legitimation: Option<i32>,
    responder_id: Option<i64>,
    agent_id: Option<i64>,
    assigned_agent_ids: Option<Vec<i64>>,
    /// Replaces the ticket's tags; not combinable with addTagIds/removeTagIds.
    tag_ids: Option<Vec<i64>>,
    /// Tags to add to the current ones.
    add_tag_ids: Option<Vec<i64>>,
    /// Tags to remove from the current ones.
    remove_tag_ids: Option<Vec<i64>>,
    /// Tag objects, stored as given; their ids become `tagIds` when `tagIds` is absent.
    #[schema(value_type = Option<Vec<Object>>)]
    tags: Option<Value>,
    template: Option<String>,
    cortex_request_id: Option<String>,
    call_duration_seconds: Option<i32>,
    /// The customer with contracts, stored as given.
    #[schema(value_type = Option<Object>)]
    customer: Option<Value>,
    #[schema(value_type = Option<Vec<Object>>)]
    attachments: Option<Value>,
    #[schema(value_type = Option<Object>)]
    additional_data: Option<Value>,
    /// Opaque source payload.
    #[schema(value_type = Option<Object>)]
    raw_data: Option<Value>,
    /// Create only: `realtime`, `batch` or `false` (also accepted as a query parameter).
    process: Option<String>,
}
