//! SQL for `ticket.ticket`. Every column is written from a [`TicketRow`], so insert and
//! update share one column list and one binding function.

use enneo_common::service_error::{Error, Result};
use sqlx::postgres::PgArguments;
use sqlx::query::QueryAs;
use sqlx::{PgConnection, Postgres};

use crate::model::TicketRow;

/// Columns in bind order (everything but `id`).
const COLUMNS: &str = "version, direction, from_addr, from_name, to_addrs, cc_emails, \
    bcc_emails, reply_cc_emails, subchannel_id, external_ticket_id, sentiment, language, \
    language_code, auto_execute_at, ai_support_level, spam_status, is_customer_active, interface, \
    priority, channel, channel_id, status, summary, subject, body, body_plain, body_clean, \
    is_escalated, created_at, modified_at, first_response_due_by, due_by, closed_at, \
    last_message_at, last_customer_message_at, model_run_at, customer_id, contract_id, \
    partner_id, customer_legitimation, responder_id, agent_id, assigned_agent_ids, tag_ids, \
    template, cortex_request_id, call_duration_seconds, customer, attachments, tags, \
    additional_data, raw_data, process";
const COLUMN_COUNT: usize = 53;

/// The select list of a full row.
pub const SELECT_FULL: &str = "t.id, t.version, t.direction, t.from_addr, t.from_name, \
    t.to_addrs, t.cc_emails, t.bcc_emails, t.reply_cc_emails, t.subchannel_id, \
    t.external_ticket_id, t.sentiment, t.language, t.language_code, t.auto_execute_at, \
    t.ai_support_level, t.spam_status, t.is_customer_active, t.interface, t.priority, t.channel, \
    t.channel_id, t.status, t.summary, t.subject, t.body, t.body_plain, t.body_clean, \
    t.is_escalated, t.created_at, t.modified_at, t.first_response_due_by, t.due_by, t.closed_at, \
    t.last_message_at, t.last_customer_message_at, t.model_run_at, t.customer_id, t.contract_id, \
    t.partner_id, t.customer_legitimation, t.responder_id, t.agent_id, t.assigned_agent_ids, \
    t.tag_ids, t.template, t.cortex_request_id, t.call_duration_seconds, t.customer, \
    t.attachments, t.tags, t.additional_data, t.raw_data, t.process";

/// Search rows are compact (contract §1.2 (2)): the heavy documents are left out.
pub const SELECT_COMPACT: &str = "t.id, t.version, t.direction, t.from_addr, t.from_name, \
    t.to_addrs, t.cc_emails, t.bcc_emails, t.reply_cc_emails, t.subchannel_id, \
    t.external_ticket_id, t.sentiment, t.language, t.language_code, t.auto_execute_at, \
    t.ai_support_level, t.spam_status, t.is_customer_active, t.interface, t.priority, t.channel, \
    t.channel_id, t.status, t.summary, t.subject, NULL::text AS body, NULL::text AS body_plain, \
    NULL::text AS body_clean, t.is_escalated, t.created_at, t.modified_at, \
    t.first_response_due_by, t.due_by, t.closed_at, t.last_message_at, \
    t.last_customer_message_at, t.model_run_at, t.customer_id, t.contract_id, t.partner_id, \
    t.customer_legitimation, t.responder_id, t.agent_id, t.assigned_agent_ids, t.tag_ids, \
    NULL::text AS template, t.cortex_request_id, t.call_duration_seconds, NULL::jsonb AS customer, \
    '[]'::jsonb AS attachments, t.tags, t.additional_data, NULL::jsonb AS raw_data, t.process";

fn bind_row<'q>(
    mut q: QueryAs<'q, Postgres, TicketRow, PgArguments>,
    r: &'q TicketRow,
) -> QueryAs<'q, Postgres, TicketRow, PgArguments> {
    q = q.bind(r.version).bind(&r.direction).bind(&r.from_addr).bind(&r.from_name);
    q = q.bind(&r.to_addrs).bind(&r.cc_emails).bind(&r.bcc_emails).bind(&r.reply_cc_emails);
    q = q.bind(r.subchannel_id).bind(&r.external_ticket_id).bind(&r.sentiment);
    q = q.bind(&r.language).bind(&r.language_code).bind(r.auto_execute_at);
    q = q.bind(&r.ai_support_level).bind(&r.spam_status).bind(r.is_customer_active);
    q = q.bind(&r.interface).bind(&r.priority).bind(&r.channel).bind(&r.channel_id);
    q = q.bind(&r.status).bind(&r.summary).bind(&r.subject).bind(&r.body);
    q = q.bind(&r.body_plain).bind(&r.body_clean).bind(r.is_escalated).bind(r.created_at);
    q = q.bind(r.modified_at).bind(r.first_response_due_by).bind(r.due_by).bind(r.closed_at);
    q = q.bind(r.last_message_at).bind(r.last_customer_message_at).bind(r.model_run_at);
    q = q.bind(&r.customer_id).bind(&r.contract_id).bind(r.partner_id);
    q = q.bind(r.customer_legitimation).bind(r.responder_id).bind(r.agent_id);
    q = q.bind(&r.assigned_agent_ids).bind(&r.tag_ids).bind(&r.template);
    q = q.bind(&r.cortex_request_id).bind(r.call_duration_seconds).bind(&r.customer);
    q = q.bind(&r.attachments).bind(&r.tags).bind(&r.additional_data).bind(&r.raw_data);
    q.bind(&r.process)
}

fn placeholders(from: usize) -> String {
    (from..from + COLUMN_COUNT).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

pub async fn insert(conn: &mut PgConnection, row: &TicketRow) -> Result<TicketRow> {
    let sql = format!(
        "INSERT INTO ticket.ticket ({COLUMNS}) VALUES ({}) RETURNING {}",
        placeholders(1),
        SELECT_FULL.replace("t.", "")
    );
    // Column names and placeholders are constants of this module; values are bound.
    Ok(bind_row(sqlx::query_as(sqlx::AssertSqlSafe(sql)), row).fetch_one(conn).await?)
}

pub async fn update(conn: &mut PgConnection, row: &TicketRow) -> Result<TicketRow> {
    let sql = format!(
        "UPDATE ticket.ticket t SET ({COLUMNS}) = ROW({}) WHERE t.id = ${} RETURNING {SELECT_FULL}",
        placeholders(1),
        COLUMN_COUNT + 1
    );
    Ok(bind_row(sqlx::query_as(sqlx::AssertSqlSafe(sql)), row).bind(row.id).fetch_one(conn).await?)
}

/// Loads one ticket; `for_update` locks it for the rest of the transaction.
pub async fn get(conn: &mut PgConnection, id: i64, for_update: bool) -> Result<TicketRow> {
    let lock = if for_update { " FOR UPDATE" } else { "" };
    let sql = format!("SELECT {SELECT_FULL} FROM ticket.ticket t WHERE t.id = $1{lock}");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| Error::NotFound(format!("ticket {id} not found")))
}

pub async fn id_by_external_id(conn: &mut PgConnection, external_id: &str) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar("SELECT id FROM ticket.ticket WHERE external_ticket_id = $1")
        .bind(external_id)
        .fetch_optional(conn)
        .await?)
}

pub async fn delete(conn: &mut PgConnection, id: i64) -> Result<()> {
    sqlx::query("DELETE FROM ticket.ticket WHERE id = $1").bind(id).execute(conn).await?;
    Ok(())
}
