//! Conversations (contract §1.2): the messages of a ticket. Customer messages are stored as
//! they arrive; agents reply, write internal notes or keep drafts. Publishing an outgoing
//! e-mail reply queues it in the mail outbox in the same transaction, so it is sent even if
//! the mail server is down right now.

use chrono::{DateTime, Utc};
use enneo_common::auth::{Caller, permission};
use enneo_common::service_error::{Error, Result};
use enneo_common::vocabulary::one_of;
use enneo_proto::ticket::v1 as pb;
use sqlx::{PgConnection, Postgres, QueryBuilder};

use crate::events::{self, CONVERSATION_CREATED, TICKET_RESPONSE};
use crate::mail;
use crate::model::{DIRECTIONS, TicketRow, from_timestamp, timestamp};
use crate::patch::{self, Mode};
use crate::service::Tickets;
use crate::store;

const REPLY_DIRECTIONS: &[&str] = &["out", "internal"];

#[derive(Debug, sqlx::FromRow)]
struct Row {
    id: i64,
    ticket_id: i64,
    #[sqlx(rename = "type")]
    kind: String,
    direction: String,
    sender: Option<String>,
    sender_id: Option<i64>,
    to_addrs: Vec<String>,
    cc: Vec<String>,
    bcc: Vec<String>,
    subject: Option<String>,
    body: String,
    body_plain: Option<String>,
    private: bool,
    is_draft: bool,
    status: Option<String>,
    external_conversation_id: Option<String>,
    attachments: serde_json::Value,
    created_at: DateTime<Utc>,
    modified_at: Option<DateTime<Utc>>,
    sent_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, ticket_id, type, direction, sender, sender_id, to_addrs, cc, bcc, \
    subject, body, body_plain, private, is_draft, status, external_conversation_id, attachments, \
    created_at, modified_at, sent_at";

impl Row {
    fn into_proto(self) -> pb::Conversation {
        pb::Conversation {
            id: self.id,
            ticket_id: self.ticket_id,
            r#type: self.kind,
            direction: self.direction,
            from: self.sender,
            sender_id: self.sender_id,
            to: self.to_addrs,
            cc: self.cc,
            bcc: self.bcc,
            subject: self.subject,
            body: self.body,
            body_plain: self.body_plain,
            private: self.private,
            is_draft: self.is_draft,
            status: self.status,
            external_conversation_id: self.external_conversation_id,
            attachments_json: self.attachments.to_string(),
            created_at: Some(timestamp(self.created_at)),
            modified_at: self.modified_at.map(timestamp),
            sent_at: self.sent_at.map(timestamp),
        }
    }

    /// Notes and drafts stay editable; what reached (or came from) the customer does not.
    fn editable(&self) -> bool {
        self.is_draft || self.direction == "internal"
    }
}

/// What a new message row holds.
struct NewMessage {
    kind: String,
    direction: String,
    sender: Option<String>,
    sender_id: Option<i64>,
    to: Vec<String>,
    cc: Vec<String>,
    bcc: Vec<String>,
    subject: Option<String>,
    body: String,
    private: bool,
    is_draft: bool,
    status: Option<String>,
    external_id: Option<String>,
    attachments: serde_json::Value,
    created_at: DateTime<Utc>,
}

fn check_type(kind: &str) -> Result<()> {
    let valid = !kind.is_empty()
        && kind.len() <= 40
        && kind.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid { Ok(()) } else { Err(Error::InvalidArgument(format!("type {kind:?} is not valid"))) }
}

fn attachments(json: Option<&str>) -> Result<serde_json::Value> {
    match json {
        None => Ok(serde_json::json!([])),
        Some(text) => match serde_json::from_str(text) {
            Ok(value @ serde_json::Value::Array(_)) => Ok(value),
            _ => Err(Error::InvalidArgument("attachments must be a list".into())),
        },
    }
}

async fn insert(conn: &mut PgConnection, ticket_id: i64, m: &NewMessage) -> Result<Row> {
    let sql = format!(
        "INSERT INTO ticket.conversation (ticket_id, type, direction, sender, sender_id, \
         to_addrs, cc, bcc, subject, body, body_plain, private, is_draft, status, \
         external_conversation_id, attachments, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
         RETURNING {COLUMNS}"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(ticket_id)
        .bind(&m.kind)
        .bind(&m.direction)
        .bind(&m.sender)
        .bind(m.sender_id)
        .bind(&m.to)
        .bind(&m.cc)
        .bind(&m.bcc)
        .bind(&m.subject)
        .bind(&m.body)
        .bind(mail::html_to_text(&m.body))
        .bind(m.private)
        .bind(m.is_draft)
        .bind(&m.status)
        .bind(&m.external_id)
        .bind(&m.attachments)
        .bind(m.created_at)
        .fetch_one(conn)
        .await?)
}

async fn load(conn: &mut PgConnection, ticket_id: i64, id: i64, lock: bool) -> Result<Row> {
    let sql = format!(
        "SELECT {COLUMNS} FROM ticket.conversation WHERE ticket_id = $1 AND id = $2{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(ticket_id)
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| {
            Error::NotFound(format!("conversation {id} of ticket {ticket_id} not found"))
        })
}

/// The newest customer message, for quoting below a reply.
async fn last_inbound(
    conn: &mut PgConnection,
    ticket_id: i64,
) -> Result<Option<(DateTime<Utc>, String)>> {
    Ok(sqlx::query_as(
        "SELECT created_at, body FROM ticket.conversation \
         WHERE ticket_id = $1 AND direction = 'in' AND NOT is_draft ORDER BY id DESC LIMIT 1",
    )
    .bind(ticket_id)
    .fetch_optional(conn)
    .await?)
}

impl Tickets {
    pub(crate) async fn list_conversations(
        &self,
        caller: &Caller,
        req: pb::ListConversationsRequest,
    ) -> Result<Vec<pb::Conversation>> {
        caller.require(permission::READ_TICKETS)?;
        let mut conn = self.pool.acquire().await?;
        store::get(&mut conn, req.ticket_id, false).await?;
        let mut q = QueryBuilder::<Postgres>::new(format!(
            "SELECT {COLUMNS} FROM ticket.conversation WHERE ticket_id = "
        ));
        q.push_bind(req.ticket_id);
        if !req.types.is_empty() {
            q.push(" AND type = ANY(").push_bind(req.types).push(")");
        }
        if !req.directions.is_empty() {
            q.push(" AND direction = ANY(").push_bind(req.directions).push(")");
        }
        if let Some(private) = req.private {
            q.push(" AND private = ").push_bind(private);
        }
        if !req.sender_ids.is_empty() {
            q.push(" AND sender_id = ANY(").push_bind(req.sender_ids).push(")");
        }
        if !req.to.is_empty() {
            q.push(" AND to_addrs && ").push_bind(req.to);
        }
        q.push(" ORDER BY created_at, id");
        let rows: Vec<Row> = q.build_query_as().fetch_all(&mut *conn).await?;
        Ok(rows.into_iter().map(Row::into_proto).collect())
    }

    pub(crate) async fn get_conversation(
        &self,
        caller: &Caller,
        r: pb::ConversationRef,
    ) -> Result<pb::Conversation> {
        caller.require(permission::READ_TICKETS)?;
        let mut conn = self.pool.acquire().await?;
        Ok(load(&mut conn, r.ticket_id, r.id, false).await?.into_proto())
    }

    pub(crate) async fn reply(
        &self,
        caller: &Caller,
        req: pb::ReplyRequest,
    ) -> Result<pb::Conversation> {
        caller.require(permission::UPDATE_TICKETS)?;
        let direction =
            if req.direction.is_empty() { "out".to_owned() } else { req.direction.clone() };
        one_of("direction", &direction, REPLY_DIRECTIONS)?;
        let kind = if req.r#type.is_empty() { "text".to_owned() } else { req.r#type.clone() };
        check_type(&kind)?;
        if req.message.trim().is_empty() {
            return Err(Error::InvalidArgument("content.message must not be empty".into()));
        }
        let sending = direction == "out" && !req.is_draft;
        if sending {
            caller.require(permission::SEND_REPLIES)?;
        }
        let now = Utc::now();
        let mut tx = self.pool.begin().await?;
        let ticket = store::get(&mut tx, req.ticket_id, true).await?;
        let (to, cc) =
            if direction == "out" { recipients(&ticket, req.to, req.cc) } else { (req.to, req.cc) };
        let subject = req.subject.or_else(|| reply_subject(&ticket));
        let mut body = req.message;
        if sending && req.include_quoted_history && ticket.channel == "email" {
            body.push_str(&quoted(&mut tx, &ticket).await?);
        }
        let message = NewMessage {
            kind,
            // An internal reply is a private note whatever `private` says.
            private: direction == "internal" || req.private.unwrap_or(false),
            direction,
            sender: None,
            sender_id: Some(caller.user_id),
            to,
            cc,
            bcc: req.bcc,
            subject,
            body,
            is_draft: req.is_draft,
            status: None,
            external_id: None,
            attachments: attachments(req.attachments_json.as_deref())?,
            created_at: now,
        };
        let row = insert(&mut tx, ticket.id, &message).await?;
        let row = if message.is_draft {
            row
        } else {
            self.publish(&mut tx, ticket, row, caller, now).await?
        };
        tx.commit().await?;
        self.outbox.committed();
        self.mail_queued.notify_one();
        Ok(row.into_proto())
    }

    pub(crate) async fn store_message(
        &self,
        caller: &Caller,
        req: pb::StoreRequest,
    ) -> Result<pb::Conversation> {
        caller.require(permission::CREATE_CONVERSATION)?;
        one_of("direction", &req.direction, DIRECTIONS)?;
        let kind = if req.r#type.is_empty() { "text".to_owned() } else { req.r#type.clone() };
        check_type(&kind)?;
        if req.body.trim().is_empty() {
            return Err(Error::InvalidArgument("body must not be empty".into()));
        }
        let now = Utc::now();
        let created_at = match &req.created_at {
            Some(t) => from_timestamp("createdAt", t)?,
            None => now,
        };
        let mut tx = self.pool.begin().await?;
        let mut ticket = store::get(&mut tx, req.ticket_id, true).await?;
        let message = NewMessage {
            kind,
            private: req.private || req.direction == "internal",
            direction: req.direction.clone(),
            sender: req.from,
            sender_id: (req.direction != "in").then_some(caller.user_id),
            to: req.to,
            cc: req.cc,
            bcc: req.bcc,
            subject: req.subject,
            body: req.body,
            is_draft: false,
            status: Some(if req.direction == "in" { "received" } else { "stored" }.into()),
            external_id: req.external_conversation_id,
            attachments: attachments(req.attachments_json.as_deref())?,
            created_at,
        };
        let row = insert(&mut tx, ticket.id, &message).await?;
        // The message may move the ticket (a customer answer reopens it, say).
        let fields =
            pb::TicketFields { status: req.status, priority: req.priority, ..Default::default() };
        let mut applied = patch::apply(&mut ticket, fields, Mode::Create, caller, now)?;
        touch(&mut ticket, &message.direction, created_at, &mut applied.changed);
        let ticket = if applied.changed.is_empty() {
            ticket
        } else {
            self.save_update(&mut tx, ticket, &applied.changed, caller, now).await?
        };
        self.record_created(&mut tx, &ticket, &row, caller).await?;
        tx.commit().await?;
        self.outbox.committed();
        Ok(row.into_proto())
    }

    pub(crate) async fn update_conversation(
        &self,
        caller: &Caller,
        req: pb::UpdateConversationRequest,
    ) -> Result<pb::Conversation> {
        caller.require(permission::UPDATE_TICKETS)?;
        let now = Utc::now();
        let mut tx = self.pool.begin().await?;
        let ticket = store::get(&mut tx, req.ticket_id, true).await?;
        let row = load(&mut tx, req.ticket_id, req.id, true).await?;
        if !row.editable() {
            return Err(Error::Conflict("only internal notes and drafts can be edited".into()));
        }
        let publish = row.is_draft && req.is_draft == Some(false);
        if publish && row.direction == "out" {
            caller.require(permission::SEND_REPLIES)?;
        }
        if let Some(message) = &req.message
            && message.trim().is_empty()
        {
            return Err(Error::InvalidArgument("content.message must not be empty".into()));
        }
        let row: Row = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE ticket.conversation SET body = coalesce($3, body), \
             body_plain = coalesce($4, body_plain), subject = coalesce($5, subject), \
             to_addrs = coalesce($6, to_addrs), cc = coalesce($7, cc), bcc = coalesce($8, bcc), \
             private = coalesce($9, private), modified_at = $10 \
             WHERE ticket_id = $1 AND id = $2 RETURNING {COLUMNS}"
        )))
        .bind(req.ticket_id)
        .bind(req.id)
        .bind(&req.message)
        .bind(req.message.as_deref().map(mail::html_to_text))
        .bind(&req.subject)
        .bind(req.to.map(|l| l.values))
        .bind(req.cc.map(|l| l.values))
        .bind(req.bcc.map(|l| l.values))
        .bind(req.private)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let row =
            if publish { self.publish(&mut tx, ticket, row, caller, now).await? } else { row };
        tx.commit().await?;
        self.outbox.committed();
        self.mail_queued.notify_one();
        Ok(row.into_proto())
    }

    pub(crate) async fn delete_conversation(
        &self,
        caller: &Caller,
        r: pb::ConversationRef,
    ) -> Result<()> {
        caller.require(permission::UPDATE_TICKETS)?;
        let mut tx = self.pool.begin().await?;
        let row = load(&mut tx, r.ticket_id, r.id, true).await?;
        if !row.editable() {
            // Removing what the customer wrote or received rewrites history: technical only.
            caller.require(permission::UPDATE_TECHNICAL_TICKET_FIELDS)?;
        }
        sqlx::query("DELETE FROM ticket.conversation WHERE id = $1")
            .bind(row.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Makes a non-draft message count: queues the e-mail of an outgoing reply on an e-mail
    /// ticket, stamps the ticket's last message and records `ConversationCreated`.
    async fn publish(
        &self,
        tx: &mut PgConnection,
        mut ticket: TicketRow,
        row: Row,
        caller: &Caller,
        now: DateTime<Utc>,
    ) -> Result<Row> {
        let mut row = row;
        if row.direction == "out" && ticket.channel == "email" {
            let subject = row.subject.clone().unwrap_or_else(|| format!("Ticket #{}", ticket.id));
            mail::queue(
                tx,
                &self.config.mail,
                mail::Outgoing {
                    ticket_id: ticket.id,
                    purpose: "reply",
                    to: &row.to_addrs,
                    cc: &row.cc,
                    bcc: &row.bcc,
                    subject: &subject,
                    html: &row.body,
                    text: &mail::html_to_text(&row.body),
                },
            )
            .await?;
            row = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "UPDATE ticket.conversation SET is_draft = false, sent_at = $2, status = 'sent' \
                 WHERE id = $1 RETURNING {COLUMNS}"
            )))
            .bind(row.id)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
        } else if row.is_draft {
            row = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "UPDATE ticket.conversation SET is_draft = false WHERE id = $1 RETURNING {COLUMNS}"
            )))
            .bind(row.id)
            .fetch_one(&mut *tx)
            .await?;
        }
        let mut changed = Vec::new();
        touch(&mut ticket, &row.direction, now, &mut changed);
        let ticket = if changed.is_empty() {
            ticket
        } else {
            self.save_update(tx, ticket, &changed, caller, now).await?
        };
        self.record_created(tx, &ticket, &row, caller).await?;
        Ok(row)
    }

    async fn record_created(
        &self,
        tx: &mut PgConnection,
        ticket: &TicketRow,
        row: &Row,
        caller: &Caller,
    ) -> Result<()> {
        let mut event = events::ticket_event(CONVERSATION_CREATED, ticket, &[], caller);
        event.payload["conversation"] = serde_json::json!({
            "id": row.id,
            "direction": row.direction,
            "type": row.kind,
            "private": row.private,
        });
        if row.direction == "in" {
            let mut response = event.clone();
            response.event_type = TICKET_RESPONSE;
            self.outbox.record(tx, response).await?;
        }
        self.outbox.record(tx, event).await?;
        Ok(())
    }
}

/// Stamps `lastMessageAt` (and `lastCustomerMessageAt` for customer messages).
fn touch(
    ticket: &mut TicketRow,
    direction: &str,
    at: DateTime<Utc>,
    changed: &mut Vec<&'static str>,
) {
    if direction == "internal" {
        return;
    }
    if ticket.last_message_at.is_none_or(|t| t < at) {
        ticket.last_message_at = Some(at);
        changed.push("lastMessageAt");
    }
    if direction == "in" && ticket.last_customer_message_at.is_none_or(|t| t < at) {
        ticket.last_customer_message_at = Some(at);
        changed.push("lastCustomerMessageAt");
    }
}

/// Default recipients of a reply: the customer who wrote in, plus the reply copies.
fn recipients(ticket: &TicketRow, to: Vec<String>, cc: Vec<String>) -> (Vec<String>, Vec<String>) {
    let to = if !to.is_empty() {
        to
    } else if let (Some(from), "in") = (&ticket.from_addr, ticket.direction.as_str()) {
        vec![from.clone()]
    } else {
        ticket.to_addrs.clone()
    };
    let cc = if cc.is_empty() { ticket.reply_cc_emails.clone() } else { cc };
    (to, cc)
}

fn reply_subject(ticket: &TicketRow) -> Option<String> {
    let subject = ticket.subject.as_deref()?;
    Some(if subject.to_ascii_lowercase().starts_with("re:") {
        subject.to_owned()
    } else {
        format!("Re: {subject}")
    })
}

/// The customer's last message (or the ticket body) as a quote below the reply.
async fn quoted(conn: &mut PgConnection, ticket: &TicketRow) -> Result<String> {
    let (at, body) = match last_inbound(conn, ticket.id).await? {
        Some(found) => found,
        None => match &ticket.body {
            Some(body) => (ticket.created_at, body.clone()),
            None => return Ok(String::new()),
        },
    };
    let who = mail::escape_html(ticket.from_addr.as_deref().unwrap_or("the customer"));
    Ok(format!(
        "<p>On {}, {who} wrote:</p><blockquote>{body}</blockquote>",
        at.format("%Y-%m-%d %H:%M UTC")
    ))
}
