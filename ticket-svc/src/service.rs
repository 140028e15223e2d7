//! The gRPC face of ticket-svc: authorisation by permission, one transaction per write, and
//! the event of every write recorded in the same transaction.

use chrono::Utc;
use enneo_common::auth::{Caller, permission};
use enneo_common::grpc;
use enneo_common::outbox::Outbox;
use enneo_common::service_error::{Error, Result};
use enneo_common::vocabulary::{CHANNELS, one_of};
use enneo_proto::ticket::v1 as pb;
use enneo_proto::ticket::v1::ticket_service_server::TicketService;
use prost::Message;
use sqlx::{PgConnection, PgPool};
use tonic::{Request, Response, Status};

use crate::events::{
    self, TICKET_CREATED, TICKET_DELETED, TICKET_FORWARDED, TICKET_ROUTED, TICKET_UPDATED,
};
use crate::idempotency::{self, Claim};
use crate::model::{self, TicketRow, from_timestamp};
use crate::patch::{self, Mode};
use crate::{activity, customers, mail, presence, routing, search, stats, store};

#[derive(Clone)]
pub struct Tickets {
    pub pool: PgPool,
    pub outbox: Outbox,
    pub config: crate::Config,
    /// Wakes the mailer when a mail was queued.
    pub mail_queued: std::sync::Arc<tokio::sync::Notify>,
    pub tags: crate::tags::TagCheck,
}

fn is_external_id_race(err: &Error) -> bool {
    err.constraint() == Some("ticket_external_ticket_id_key")
}

const CREATE: &str = "createTicket";
const BULK_UPDATE: &str = "bulkUpdateTickets";

impl Tickets {
    async fn create(
        &self,
        caller: &Caller,
        mut req: pb::CreateTicketRequest,
    ) -> Result<pb::CreateTicketResponse> {
        caller.require(permission::CREATE_TICKETS)?;
        if let Some(process) = &req.process {
            one_of("process", process, model::PROCESS_MODES)?;
        }
        let key = req.idempotency_key.take();
        let hash = idempotency::hash(&req);
        let attempt = || self.create_once(caller, req.clone(), key.as_deref(), &hash);
        match attempt().await {
            // Two creates with one new externalTicketId raced; the loser updates the winner.
            Err(err) if is_external_id_race(&err) => attempt().await,
            other => other,
        }
    }

    async fn create_once(
        &self,
        caller: &Caller,
        req: pb::CreateTicketRequest,
        key: Option<&str>,
        hash: &[u8],
    ) -> Result<pb::CreateTicketResponse> {
        let now = Utc::now();
        let mut tx = self.pool.begin().await?;
        if let Some(key) = key
            && let Claim::Replay(first) =
                idempotency::claim(&mut tx, caller.user_id, CREATE, key, hash).await?
        {
            return Ok(pb::CreateTicketResponse::decode(first.as_slice())?);
        }
        let fields = req.fields.unwrap_or_default();
        let existing = match &fields.external_ticket_id {
            Some(external) => store::id_by_external_id(&mut tx, external).await?,
            None => None,
        };
        let (row, updated_existing) = if let Some(id) = existing {
            let mut row = store::get(&mut tx, id, true).await?;
            let before = row.tag_ids.clone();
            let applied = patch::apply(&mut row, fields, Mode::Create, caller, now)?;
            self.tags.check_added(&mut tx, &before, &row.tag_ids).await?;
            customers::absorb(&mut tx, &mut row).await?;
            if !applied.changed.is_empty() {
                row = self.save_update(&mut tx, row, &applied.changed, caller, now).await?;
            }
            (row, true)
        } else {
            let channel = fields
                .channel
                .clone()
                .ok_or_else(|| Error::InvalidArgument("channel is required".into()))?;
            one_of("channel", &channel, CHANNELS)?;
            let mut row = TicketRow::new(channel, now);
            // process=false: no AI pipeline runs; a human works the ticket (contract §8.4).
            if req.process.as_deref() == Some("false") {
                row.ai_support_level = "human".into();
            }
            row.process = req.process;
            patch::apply(&mut row, fields, Mode::Create, caller, now)?;
            self.tags.check_added(&mut tx, &[], &row.tag_ids).await?;
            customers::absorb(&mut tx, &mut row).await?;
            let row = store::insert(&mut tx, &row).await?;
            let event = events::ticket_event(TICKET_CREATED, &row, &[], caller);
            self.outbox.record(&mut tx, event).await?;
            (row, false)
        };
        let response =
            pb::CreateTicketResponse { ticket: Some(row.into_proto()), updated_existing };
        if let Some(key) = key {
            idempotency::store(&mut tx, caller.user_id, CREATE, key, &response).await?;
        }
        tx.commit().await?;
        self.outbox.committed();
        Ok(response)
    }

    /// Bumps the version, writes the row and records `TicketUpdated`.
    pub(crate) async fn save_update(
        &self,
        tx: &mut PgConnection,
        mut row: TicketRow,
        changed: &[&str],
        caller: &Caller,
        now: chrono::DateTime<Utc>,
    ) -> Result<TicketRow> {
        row.version += 1;
        row.modified_at = Some(now);
        let row = store::update(tx, &row).await?;
        let event = events::ticket_event(TICKET_UPDATED, &row, changed, caller);
        self.outbox.record(tx, event).await?;
        Ok(row)
    }

    async fn update(&self, caller: &Caller, req: pb::UpdateTicketRequest) -> Result<TicketRow> {
        caller.require(permission::UPDATE_TICKETS)?;
        let now = Utc::now();
        let mut tx = self.pool.begin().await?;
        let mut row = store::get(&mut tx, req.id, true).await?;
        check_unchanged_since(&row, &req)?;
        let before = row.tag_ids.clone();
        let mut applied =
            patch::apply(&mut row, req.fields.unwrap_or_default(), Mode::Update, caller, now)?;
        self.tags.check_added(&mut tx, &before, &row.tag_ids).await?;
        if applied.changed.contains(&"customer") {
            let linked = row.customer_id.clone();
            customers::absorb(&mut tx, &mut row).await?;
            if row.customer_id != linked {
                applied.changed.push("customerId");
            }
        }
        if applied.changed.is_empty() {
            return Ok(row);
        }
        let row = self.save_update(&mut tx, row, &applied.changed, caller, now).await?;
        tx.commit().await?;
        self.outbox.committed();
        Ok(row)
    }

    async fn bulk_update(
        &self,
        caller: &Caller,
        mut req: pb::BulkUpdateTicketsRequest,
    ) -> Result<pb::BulkUpdateTicketsResponse> {
        caller.require(permission::UPDATE_TICKETS)?;
        let key = req.idempotency_key.take();
        if let Some(key) = &key {
            let mut conn = self.pool.acquire().await?;
            match idempotency::claim(
                &mut conn,
                caller.user_id,
                BULK_UPDATE,
                key,
                &idempotency::hash(&req),
            )
            .await?
            {
                Claim::Replay(first) => {
                    return Ok(pb::BulkUpdateTicketsResponse::decode(first.as_slice())?);
                }
                Claim::Fresh => {}
            }
        }
        // Each item in its own transaction: one bad item never blocks the others. A retry
        // after a crash re-applies items with the same values, which changes nothing.
        let mut results = Vec::with_capacity(req.items.len());
        for item in req.items {
            let id = item.id;
            results.push(match self.update(caller, item).await {
                Ok(_) => pb::BulkItemResult { id, success: true, ..Default::default() },
                Err(err) => {
                    let code = err.code();
                    pb::BulkItemResult {
                        id,
                        success: false,
                        code: code.as_str().into(),
                        error: Status::from(err).message().into(),
                    }
                }
            });
        }
        let response = pb::BulkUpdateTicketsResponse { results };
        if let Some(key) = &key {
            let mut conn = self.pool.acquire().await?;
            idempotency::store(&mut conn, caller.user_id, BULK_UPDATE, key, &response).await?;
        }
        Ok(response)
    }

    async fn get(&self, caller: &Caller, req: pb::GetTicketRequest) -> Result<pb::Ticket> {
        caller.require(permission::READ_TICKETS)?;
        let mut conn = self.pool.acquire().await?;
        let mut row = store::get(&mut conn, req.id, false).await?;
        row.customer = customers::for_ticket(&mut conn, &row).await?;
        let present = if req.viewing {
            presence::ping(&mut conn, req.id, caller.user_id).await?
        } else {
            presence::alive(&mut conn, req.id).await?
        };
        Ok(pb::Ticket { worked_on_by: present, ..row.into_proto() })
    }

    async fn next(&self, caller: &Caller, req: pb::GetNextTicketRequest) -> Result<Option<i64>> {
        caller.require(permission::READ_TICKETS)?;
        let Some(routing::Claimed { id, mut tx }) =
            routing::next(&self.pool, self.config.routing.current(&self.pool).await?, caller, &req)
                .await?
        else {
            return Ok(None);
        };
        let row = store::get(&mut tx, id, false).await?;
        let event = events::ticket_event(TICKET_ROUTED, &row, &[], caller);
        self.outbox.record(&mut tx, event).await?;
        tx.commit().await?;
        self.outbox.committed();
        Ok(Some(id))
    }

    /// The queue of the user the request names, as routing would serve it to them.
    async fn explain_routing(
        &self,
        caller: &Caller,
        req: pb::ExplainRoutingRequest,
    ) -> Result<pb::ExplainRoutingResponse> {
        caller.require(permission::READ_TICKETS)?;
        let user = Caller {
            user_id: req.user_id,
            routing: enneo_common::auth::Routing {
                skills: req.restrict_skills.then(|| req.skills.clone()),
                excluded_tag_ids: req.excluded_tag_ids.clone(),
                required_tag_ids: req.required_tag_ids.clone(),
                channels: req.channels.clone(),
            },
            ..Caller::system()
        };
        let settings = self.config.routing.current(&self.pool).await?;
        routing::explain(&self.pool, settings, &user, &req).await
    }

    async fn forward(&self, caller: &Caller, req: pb::ForwardTicketRequest) -> Result<()> {
        caller.require(permission::FORWARD_TICKET)?;
        let mut tx = self.pool.begin().await?;
        let row = store::get(&mut tx, req.id, false).await?;
        let subject = req.subject.clone().unwrap_or_else(|| {
            format!("Fwd: {}", row.subject.clone().unwrap_or_else(|| format!("Ticket #{}", row.id)))
        });
        let original_html = match (&row.body, &row.body_plain) {
            (Some(html), _) => html.clone(),
            (None, Some(text)) => format!("<pre>{}</pre>", mail::escape_html(text)),
            (None, None) => String::new(),
        };
        let header = format!(
            "---------- Forwarded ticket #{} ----------\nFrom: {}\nDate: {}\nSubject: {}",
            row.id,
            row.from_addr.as_deref().unwrap_or("-"),
            row.created_at.format("%Y-%m-%d %H:%M:%S UTC"),
            row.subject.as_deref().unwrap_or("-"),
        );
        let note_html = req.body.clone().unwrap_or_default();
        let html = format!(
            "{note_html}<p>{}</p>{original_html}",
            mail::escape_html(&header).replace('\n', "<br>")
        );
        let original_text =
            row.body_plain.clone().unwrap_or_else(|| mail::html_to_text(&original_html));
        let text = format!("{}\n\n{header}\n\n{original_text}", mail::html_to_text(&note_html));
        mail::queue(
            &mut tx,
            &self.config.mail,
            mail::Outgoing {
                ticket_id: row.id,
                purpose: "forward",
                to: &req.to,
                cc: &req.cc,
                bcc: &req.bcc,
                subject: &subject,
                html: &html,
                text: text.trim(),
            },
        )
        .await?;
        let mut event = events::ticket_event(TICKET_FORWARDED, &row, &[], caller);
        event.payload["forwardedTo"] = serde_json::json!(req.to);
        self.outbox.record(&mut tx, event).await?;
        tx.commit().await?;
        self.outbox.committed();
        self.mail_queued.notify_one();
        Ok(())
    }

    async fn delete(&self, caller: &Caller, id: i64) -> Result<()> {
        caller.require(permission::DELETE_TICKET)?;
        let mut tx = self.pool.begin().await?;
        let mut row = store::get(&mut tx, id, true).await?;
        store::delete(&mut tx, id).await?;
        row.version += 1;
        let event = events::ticket_event(TICKET_DELETED, &row, &[], caller);
        self.outbox.record(&mut tx, event).await?;
        tx.commit().await?;
        self.outbox.committed();
        Ok(())
    }
}

/// Optimistic concurrency: `If-Match` (version) or `modifiedAt` (to the second).
fn check_unchanged_since(row: &TicketRow, req: &pb::UpdateTicketRequest) -> Result<()> {
    if let Some(expected) = req.expected_version
        && expected != row.version
    {
        return Err(Error::Conflict(format!(
            "ticket {} is at version {}, not {expected}; reload and retry",
            row.id, row.version
        )));
    }
    if let Some(expected) = &req.expected_modified_at {
        let expected = from_timestamp("modifiedAt", expected)?.timestamp();
        if row.modified_at.map(|m| m.timestamp()) != Some(expected) {
            return Err(Error::Conflict(format!(
                "ticket {} was modified since; reload and retry",
                row.id
            )));
        }
    }
    Ok(())
}

#[tonic::async_trait]
impl TicketService for Tickets {
    async fn create_ticket(
        &self,
        request: Request<pb::CreateTicketRequest>,
    ) -> Result<Response<pb::CreateTicketResponse>, Status> {
        let caller = grpc::caller(&request)?;
        Ok(Response::new(self.create(&caller, request.into_inner()).await?))
    }

    async fn get_ticket(
        &self,
        request: Request<pb::GetTicketRequest>,
    ) -> Result<Response<pb::GetTicketResponse>, Status> {
        let caller = grpc::caller(&request)?;
        let ticket = self.get(&caller, request.into_inner()).await?;
        Ok(Response::new(pb::GetTicketResponse { ticket: Some(ticket) }))
    }

    async fn update_ticket(
        &self,
        request: Request<pb::UpdateTicketRequest>,
    ) -> Result<Response<pb::UpdateTicketResponse>, Status> {
        let caller = grpc::caller(&request)?;
        let row = self.update(&caller, request.into_inner()).await?;
        Ok(Response::new(pb::UpdateTicketResponse { ticket: Some(row.into_proto()) }))
    }

    async fn bulk_update_tickets(
        &self,
        request: Request<pb::BulkUpdateTicketsRequest>,
    ) -> Result<Response<pb::BulkUpdateTicketsResponse>, Status> {
        let caller = grpc::caller(&request)?;
        Ok(Response::new(self.bulk_update(&caller, request.into_inner()).await?))
    }

    async fn search_tickets(
        &self,
        request: Request<pb::SearchTicketsRequest>,
    ) -> Result<Response<pb::SearchTicketsResponse>, Status> {
        let caller = grpc::caller(&request)?;
        caller.require(permission::READ_TICKETS)?;
        let page = search::search(&self.pool, request.into_inner()).await?;
        Ok(Response::new(pb::SearchTicketsResponse {
            tickets: page.tickets.into_iter().map(TicketRow::into_proto).collect(),
            total: page.total,
            limit: page.limit,
            offset: page.offset,
        }))
    }

    async fn get_ticket_stats(
        &self,
        request: Request<pb::GetTicketStatsRequest>,
    ) -> Result<Response<pb::GetTicketStatsResponse>, Status> {
        let caller = grpc::caller(&request)?;
        caller.require(permission::READ_TICKET_STATS)?;
        Ok(Response::new(stats::read(&self.pool).await?))
    }

    async fn delete_ticket(
        &self,
        request: Request<pb::DeleteTicketRequest>,
    ) -> Result<Response<pb::DeleteTicketResponse>, Status> {
        let caller = grpc::caller(&request)?;
        self.delete(&caller, request.get_ref().id).await?;
        Ok(Response::new(pb::DeleteTicketResponse {}))
    }

    async fn ping_ticket(
        &self,
        request: Request<pb::PingTicketRequest>,
    ) -> Result<Response<pb::PingTicketResponse>, Status> {
        let caller = grpc::caller(&request)?;
        caller.require(permission::READ_TICKETS)?;
        let mut conn = self.pool.acquire().await.map_err(Error::from)?;
        let worked_on_by = presence::ping(&mut conn, request.get_ref().id, caller.user_id).await?;
        Ok(Response::new(pb::PingTicketResponse { worked_on_by }))
    }

    async fn get_next_ticket(
        &self,
        request: Request<pb::GetNextTicketRequest>,
    ) -> Result<Response<pb::GetNextTicketResponse>, Status> {
        let caller = grpc::caller(&request)?;
        let ticket_id = self.next(&caller, request.into_inner()).await?;
        Ok(Response::new(pb::GetNextTicketResponse { ticket_id }))
    }

    async fn explain_routing(
        &self,
        request: Request<pb::ExplainRoutingRequest>,
    ) -> Result<Response<pb::ExplainRoutingResponse>, Status> {
        let caller = grpc::caller(&request)?;
        Ok(Response::new(self.explain_routing(&caller, request.into_inner()).await?))
    }

    async fn forward_ticket(
        &self,
        request: Request<pb::ForwardTicketRequest>,
    ) -> Result<Response<pb::ForwardTicketResponse>, Status> {
        let caller = grpc::caller(&request)?;
        self.forward(&caller, request.into_inner()).await?;
        Ok(Response::new(pb::ForwardTicketResponse {}))
    }

    async fn list_conversations(
        &self,
        request: Request<pb::ListConversationsRequest>,
    ) -> Result<Response<pb::ListConversationsResponse>, Status> {
        let caller = grpc::caller(&request)?;
        let conversations = self.list_conversations(&caller, request.into_inner()).await?;
        Ok(Response::new(pb::ListConversationsResponse { conversations }))
    }

    async fn get_conversation(
        &self,
        request: Request<pb::ConversationRef>,
    ) -> Result<Response<pb::ConversationResponse>, Status> {
        let caller = grpc::caller(&request)?;
        let conversation = self.get_conversation(&caller, request.into_inner()).await?;
        Ok(Response::new(pb::ConversationResponse { conversation: Some(conversation) }))
    }

    async fn reply_conversation(
        &self,
        request: Request<pb::ReplyRequest>,
    ) -> Result<Response<pb::ConversationResponse>, Status> {
        let caller = grpc::caller(&request)?;
        let conversation = self.reply(&caller, request.into_inner()).await?;
        Ok(Response::new(pb::ConversationResponse { conversation: Some(conversation) }))
    }

    async fn store_conversation(
        &self,
        request: Request<pb::StoreRequest>,
    ) -> Result<Response<pb::ConversationResponse>, Status> {
        let caller = grpc::caller(&request)?;
        let conversation = self.store_message(&caller, request.into_inner()).await?;
        Ok(Response::new(pb::ConversationResponse { conversation: Some(conversation) }))
    }

    async fn update_conversation(
        &self,
        request: Request<pb::UpdateConversationRequest>,
    ) -> Result<Response<pb::ConversationResponse>, Status> {
        let caller = grpc::caller(&request)?;
        let conversation = self.update_conversation(&caller, request.into_inner()).await?;
        Ok(Response::new(pb::ConversationResponse { conversation: Some(conversation) }))
    }

    async fn delete_conversation(
        &self,
        request: Request<pb::ConversationRef>,
    ) -> Result<Response<pb::DeleteConversationResponse>, Status> {
        let caller = grpc::caller(&request)?;
        self.delete_conversation(&caller, request.into_inner()).await?;
        Ok(Response::new(pb::DeleteConversationResponse {}))
    }

    async fn ticket_history(
        &self,
        request: Request<pb::TicketHistoryRequest>,
    ) -> Result<Response<pb::TicketHistoryResponse>, Status> {
        let caller = grpc::caller(&request)?;
        Ok(Response::new(self.history(&caller, request.into_inner()).await?))
    }

    async fn agent_queue(
        &self,
        request: Request<pb::AgentQueueRequest>,
    ) -> Result<Response<pb::AgentQueueResponse>, Status> {
        let caller = grpc::caller(&request)?;
        Ok(Response::new(self.agent_queue(&caller).await?))
    }

    async fn get_customer(
        &self,
        request: Request<pb::GetCustomerRequest>,
    ) -> Result<Response<pb::GetCustomerResponse>, Status> {
        let caller = grpc::caller(&request)?;
        let customer = self.customer(&caller, request.into_inner()).await?;
        Ok(Response::new(pb::GetCustomerResponse { customer_json: customer.to_string() }))
    }

    async fn search_customers(
        &self,
        request: Request<pb::SearchCustomersRequest>,
    ) -> Result<Response<pb::SearchCustomersResponse>, Status> {
        let caller = grpc::caller(&request)?;
        Ok(Response::new(self.search_customers(&caller, request.into_inner()).await?))
    }

    async fn list_ticket_activity(
        &self,
        request: Request<pb::ListTicketActivityRequest>,
    ) -> Result<Response<pb::ListTicketActivityResponse>, Status> {
        let caller = grpc::caller(&request)?;
        caller.require(permission::READ_TICKETS)?;
        let req = request.into_inner();
        if req.technical {
            caller.require(permission::ACCESS_TECHNICAL_EVENTS)?;
        }
        let mut conn = self.pool.acquire().await.map_err(Error::from)?;
        store::get(&mut conn, req.id, false).await?;
        Ok(Response::new(activity::list(&mut conn, &req).await?))
    }

    async fn add_ticket_activity(
        &self,
        request: Request<pb::AddTicketActivityRequest>,
    ) -> Result<Response<pb::AddTicketActivityResponse>, Status> {
        let caller = grpc::caller(&request)?;
        // Users write the trail only through what they do to the ticket.
        if caller.role != Caller::system().role {
            return Err(Error::PermissionDenied("only services add activity entries".into()).into());
        }
        caller.require(permission::UPDATE_TECHNICAL_TICKET_FIELDS)?;
        let req = request.into_inner();
        let mut conn = self.pool.acquire().await.map_err(Error::from)?;
        let ticket = store::get(&mut conn, req.ticket_id, false).await?;
        let activity = activity::add(&mut conn, req.ticket_id, ticket.version, &req).await?;
        Ok(Response::new(pb::AddTicketActivityResponse { activity: Some(activity) }))
    }

    type ExportStream = crate::exports::Chunks;

    async fn export(
        &self,
        request: Request<pb::ExportRequest>,
    ) -> Result<Response<Self::ExportStream>, Status> {
        let caller = grpc::caller(&request)?;
        caller.require(permission::EXPORT_DATA)?;
        let plan = crate::exports::plan(request.into_inner(), Utc::now())?;
        Ok(Response::new(crate::exports::stream(plan, self.pool.clone())))
    }
}
