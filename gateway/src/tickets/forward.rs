//! `POST /ticket/{ticketId}/forward`: send a ticket on by e-mail.

use axum::extract::State;
use enneo_common::auth::permission;
use enneo_common::grpc::request;
use enneo_proto::ticket::v1 as pb;
use serde::Deserialize;
use utoipa::ToSchema;

use super::Addresses;
use crate::AppState;
use crate::auth::{Auth, require};
use crate::envelope::Success;
use crate::error::{ApiError, ErrorBody};
use crate::json::{PathId, RawBody};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ForwardBody {
    /// Recipient(s).
    to_email: Addresses,
    /// Default `Fwd: <ticket subject>`.
    subject: Option<String>,
    /// HTML placed above the forwarded ticket.
    body: Option<String>,
    cc: Option<Addresses>,
    bcc: Option<Addresses>,
    /// Sending mailbox. Until mailboxes are configurable, mail goes out from the configured
    /// sender (`TICKET_MAIL_FROM`) whatever this says.
    subchannel_id: Option<i64>,
}

/// Forward a ticket.
///
/// Sends the ticket by e-mail (needs `forwardTicket`). The mail is queued with the request
/// and sent by the mailer; while the mail server is unreachable it waits and is retried.
#[utoipa::path(post, path = "/ticket/{ticketId}/forward", tag = "ticket",
    params(("ticketId" = i64, Path)), request_body = ForwardBody,
    responses((status = 200, body = Success), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn forward_ticket(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
    body: RawBody,
) -> Result<Success, ApiError> {
    require(&caller, permission::FORWARD_TICKET)?;
    let body: ForwardBody = body.parse()?;
    let _ = body.subchannel_id;
    let forward = pb::ForwardTicketRequest {
        id,
        to: body.to_email.into_vec(),
        cc: body.cc.map(Addresses::into_vec).unwrap_or_default(),
        bcc: body.bcc.map(Addresses::into_vec).unwrap_or_default(),
        subject: body.subject,
        body: body.body,
    };
    state.tickets().forward_ticket(request(forward, &caller)).await?;
    Ok(Success::done())
}
