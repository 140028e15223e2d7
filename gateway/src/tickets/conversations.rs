//! `/ticket/{ticketId}/conversation…`: a ticket's messages, replies, notes and drafts.

use axum::extract::{RawQuery, State};
use enneo_common::auth::permission;
use enneo_common::grpc::request;
use enneo_proto::ticket::v1 as pb;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Addresses;
use crate::AppState;
use crate::auth::{Auth, require};
use crate::envelope::Success;
use crate::error::{ApiError, ErrorBody};
use crate::json::{PathId, PathIds, QueryParams, RawBody, query_pairs};
use crate::time::{format_sql, parse};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_conversations))
        .routes(routes!(reply))
        .routes(routes!(store))
        .routes(routes!(get_conversation, update_conversation, delete_conversation))
}

/// A message of a ticket.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConversationView {
    id: i64,
    ticket_id: i64,
    /// `text`, `html`, `note`, …
    r#type: String,
    /// `in` (customer), `out` (to the customer) or `internal` (a note).
    direction: String,
    from: Option<String>,
    /// The agent who wrote it.
    sender_id: Option<i64>,
    to: Vec<String>,
    cc: Vec<String>,
    bcc: Vec<String>,
    subject: Option<String>,
    body: String,
    body_plain: Option<String>,
    private: bool,
    is_draft: bool,
    /// `received`, `stored`, `sent`, …
    status: Option<String>,
    external_conversation_id: Option<String>,
    #[schema(value_type = Vec<Object>)]
    attachments: Value,
    /// `YYYY-MM-DD HH:MM:SS`.
    created_at: Option<String>,
    modified_at: Option<String>,
    /// When an outgoing e-mail was handed to the mailer.
    sent_at: Option<String>,
}

impl From<pb::Conversation> for ConversationView {
    fn from(c: pb::Conversation) -> Self {
        let sql = |t: &Option<prost_types::Timestamp>| t.as_ref().and_then(format_sql);
        Self {
            id: c.id,
            ticket_id: c.ticket_id,
            created_at: sql(&c.created_at),
            modified_at: sql(&c.modified_at),
            sent_at: sql(&c.sent_at),
            r#type: c.r#type,
            direction: c.direction,
            from: c.from,
            sender_id: c.sender_id,
            to: c.to,
            cc: c.cc,
            bcc: c.bcc,
            subject: c.subject,
            body: c.body,
            body_plain: c.body_plain,
            private: c.private,
            is_draft: c.is_draft,
            status: c.status,
            external_conversation_id: c.external_conversation_id,
            attachments: serde_json::from_str(&c.attachments_json)
                .unwrap_or(Value::Array(Vec::new())),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ConversationList {
    conversations: Vec<ConversationView>,
}

#[derive(Serialize, ToSchema)]
pub struct ConversationEnvelope {
    conversation: ConversationView,
}

fn envelope(response: pb::ConversationResponse) -> Result<Success<ConversationEnvelope>, ApiError> {
    let conversation = response.conversation.ok_or_else(ApiError::internal)?;
    Ok(Success::new(ConversationEnvelope { conversation: conversation.into() }))
}

/// Query filters; each may repeat (`type=note&type=text`) or list with commas.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct ListParams {
    r#type: Option<String>,
    direction: Option<String>,
    private: Option<bool>,
    sender_id: Option<i64>,
    to_id: Option<String>,
}

/// List the messages of a ticket, oldest first.
#[utoipa::path(get, path = "/ticket/{ticketId}/conversation", tag = "conversation",
    params(("ticketId" = i64, Path), ListParams),
    responses((status = 200, body = Success<ConversationList>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_conversations(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(ticket_id): PathId,
    RawQuery(query): RawQuery,
) -> Result<Success<ConversationList>, ApiError> {
    let mut req = pb::ListConversationsRequest { ticket_id, ..Default::default() };
    for (key, value) in query_pairs(query.as_deref().unwrap_or("")) {
        let values = value.split(',').map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
        match key.trim_end_matches("[]") {
            "type" => req.types.extend(values),
            "direction" => req.directions.extend(values),
            "private" => {
                req.private = Some(match value.as_str() {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    _ => return Err(ApiError::bad_request("private must be true or false")),
                })
            }
            "senderId" => {
                for v in values {
                    req.sender_ids.push(
                        v.parse().map_err(|_| ApiError::bad_request("senderId must be an id"))?,
                    );
                }
            }
            "toId" => req.to.extend(values),
            "includeRawData" | "contentTranslationLanguage" => {}
            other => return Err(ApiError::bad_request(format!("unknown query parameter {other}"))),
        }
    }
    let listed = state.tickets().list_conversations(request(req, &caller)).await?.into_inner();
    Ok(Success::new(ConversationList {
        conversations: listed.conversations.into_iter().map(Into::into).collect(),
    }))
}

/// One message.
#[utoipa::path(get, path = "/ticket/{ticketId}/conversation/{conversationId}", tag = "conversation",
    params(("ticketId" = i64, Path), ("conversationId" = i64, Path)),
    responses((status = 200, body = Success<ConversationEnvelope>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_conversation(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathIds(ticket_id, id): PathIds,
) -> Result<Success<ConversationEnvelope>, ApiError> {
    let found = state
        .tickets()
        .get_conversation(request(pb::ConversationRef { ticket_id, id }, &caller))
        .await?;
    envelope(found.into_inner())
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct Content {
    message: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReplyBody {
    content: Content,
    /// Default `text`.
    r#type: Option<String>,
    /// `out` (default) or `internal` (a private note).
    direction: Option<String>,
    private: Option<bool>,
    /// Keep as a draft; nothing is sent.
    is_draft: Option<bool>,
    /// Default: the customer who wrote in.
    to: Option<Addresses>,
    cc: Option<Addresses>,
    bcc: Option<Addresses>,
    /// Default `Re: <ticket subject>`.
    subject: Option<String>,
    /// Sending mailbox; until mailboxes are configurable the configured sender is used.
    subchannel_id: Option<i64>,
    #[schema(value_type = Option<Vec<Object>>)]
    attachments: Option<Value>,
    /// AI intents the reply is based on; recorded once intents are served.
    intent_ids: Option<Vec<i64>>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ReplyParams {
    /// Quote the customer's last message below an e-mail reply (default true).
    include_quoted_history: Option<bool>,
    /// `realtime`, `batch` (default) or `false`.
    process: Option<String>,
}

fn addresses(a: Option<Addresses>) -> Vec<String> {
    a.map(Addresses::into_vec).unwrap_or_default()
}

fn check_process(process: Option<&str>) -> Result<(), ApiError> {
    match process {
        None | Some("realtime" | "batch" | "false") => Ok(()),
        Some(other) => Err(ApiError::bad_request(format!(
            "process must be realtime, batch or false, got {other:?}"
        ))),
    }
}

/// Send a reply, write an internal note or keep a draft.
///
/// A reply that is not a draft needs `allowedToSendReplies`; on an e-mail ticket it is queued
/// for the mail server in the same transaction (sent even if the server is down right now).
#[utoipa::path(post, path = "/ticket/{ticketId}/conversation/reply", tag = "conversation",
    params(("ticketId" = i64, Path), ReplyParams), request_body = ReplyBody,
    responses((status = 200, body = Success<ConversationEnvelope>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn reply(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(ticket_id): PathId,
    QueryParams(params): QueryParams<ReplyParams>,
    body: RawBody,
) -> Result<Success<ConversationEnvelope>, ApiError> {
    // Sending (not a draft, not a note) also needs `allowedToSendReplies`: that depends on the
    // body, so ticket-svc checks it after parsing.
    require(&caller, permission::UPDATE_TICKETS)?;
    check_process(params.process.as_deref())?;
    let body: ReplyBody = body.parse()?;
    let _ = (body.subchannel_id, body.intent_ids);
    let reply = pb::ReplyRequest {
        ticket_id,
        message: body.content.message,
        r#type: body.r#type.unwrap_or_default(),
        direction: body.direction.unwrap_or_default(),
        private: body.private,
        is_draft: body.is_draft.unwrap_or(false),
        to: addresses(body.to),
        cc: addresses(body.cc),
        bcc: addresses(body.bcc),
        subject: body.subject,
        attachments_json: body.attachments.map(|a| a.to_string()),
        include_quoted_history: params.include_quoted_history.unwrap_or(true),
    };
    envelope(state.tickets().reply_conversation(request(reply, &caller)).await?.into_inner())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StoreBody {
    /// `in`, `out` or `internal`.
    direction: String,
    from: Option<String>,
    body: String,
    subject: Option<String>,
    to: Option<Addresses>,
    cc_emails: Option<Addresses>,
    bcc_emails: Option<Addresses>,
    r#type: Option<String>,
    private: Option<bool>,
    /// New ticket status, if the message changes it.
    status: Option<String>,
    /// New ticket priority.
    priority: Option<String>,
    /// When it happened: `YYYY-MM-DD HH:MM:SS`, ISO 8601 or unix seconds.
    #[schema(value_type = Option<String>)]
    created_at: Option<Value>,
    /// Unique per ticket: storing the same message twice is a 409.
    external_conversation_id: Option<String>,
    #[schema(value_type = Option<Vec<Object>>)]
    attachments: Option<Value>,
}

/// Store a message without sending it.
///
/// Records a message that happened elsewhere (needs `createConversation`); a customer message
/// stamps the ticket's `lastCustomerMessageAt`.
#[utoipa::path(post, path = "/ticket/{ticketId}/conversation/store", tag = "conversation",
    params(("ticketId" = i64, Path), ReplyParams), request_body = StoreBody,
    responses((status = 200, body = Success<ConversationEnvelope>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn store(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(ticket_id): PathId,
    QueryParams(params): QueryParams<ReplyParams>,
    body: RawBody,
) -> Result<Success<ConversationEnvelope>, ApiError> {
    require(&caller, permission::CREATE_CONVERSATION)?;
    check_process(params.process.as_deref())?;
    let body: StoreBody = body.parse()?;
    let created_at = match &body.created_at {
        None | Some(Value::Null) => None,
        Some(value) => {
            Some(parse(value).ok_or_else(|| ApiError::bad_request("createdAt must be a date"))?)
        }
    };
    let store = pb::StoreRequest {
        ticket_id,
        direction: body.direction,
        from: body.from,
        body: body.body,
        subject: body.subject,
        to: addresses(body.to),
        cc: addresses(body.cc_emails),
        bcc: addresses(body.bcc_emails),
        r#type: body.r#type.unwrap_or_default(),
        private: body.private.unwrap_or(false),
        status: body.status,
        priority: body.priority,
        created_at,
        external_conversation_id: body.external_conversation_id,
        attachments_json: body.attachments.map(|a| a.to_string()),
    };
    envelope(state.tickets().store_conversation(request(store, &caller)).await?.into_inner())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateBody {
    content: Option<Content>,
    subject: Option<String>,
    to: Option<Addresses>,
    cc: Option<Addresses>,
    bcc: Option<Addresses>,
    private: Option<bool>,
    /// `false` publishes a draft (and sends it, for an e-mail reply).
    is_draft: Option<bool>,
}

/// Edit an internal note or a draft.
#[utoipa::path(patch, path = "/ticket/{ticketId}/conversation/{conversationId}", tag = "conversation",
    params(("ticketId" = i64, Path), ("conversationId" = i64, Path)), request_body = UpdateBody,
    responses((status = 200, body = Success<ConversationEnvelope>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "Sent and received messages cannot be edited", body = ErrorBody)))]
pub async fn update_conversation(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathIds(ticket_id, id): PathIds,
    body: RawBody,
) -> Result<Success<ConversationEnvelope>, ApiError> {
    // Publishing a draft reply also needs `allowedToSendReplies`, which depends on the body
    // and the stored message: ticket-svc checks it.
    require(&caller, permission::UPDATE_TICKETS)?;
    let body: UpdateBody = body.parse()?;
    if body.is_draft == Some(true) {
        return Err(ApiError::bad_request("a published message cannot become a draft again"));
    }
    let list = |a: Option<Addresses>| a.map(|a| pb::StringList { values: a.into_vec() });
    let update = pb::UpdateConversationRequest {
        ticket_id,
        id,
        message: body.content.map(|c| c.message),
        subject: body.subject,
        to: list(body.to),
        cc: list(body.cc),
        bcc: list(body.bcc),
        private: body.private,
        is_draft: body.is_draft,
    };
    envelope(state.tickets().update_conversation(request(update, &caller)).await?.into_inner())
}

/// Delete a message.
///
/// Notes and drafts: `updateTickets`. What the customer wrote or received:
/// `updateTechnicalTicketFields`.
#[utoipa::path(delete, path = "/ticket/{ticketId}/conversation/{conversationId}", tag = "conversation",
    params(("ticketId" = i64, Path), ("conversationId" = i64, Path)),
    responses((status = 200, body = Success), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_conversation(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathIds(ticket_id, id): PathIds,
) -> Result<Success, ApiError> {
    state
        .tickets()
        .delete_conversation(request(pb::ConversationRef { ticket_id, id }, &caller))
        .await?;
    Ok(Success::done())
}
