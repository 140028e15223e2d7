//! The gRPC face of ticket-svc: authorisation by permission, one transaction per write, and
//! the event of every write recorded in the same transaction.

use chrono::Utc;
use enneo_common::auth::{Caller, permission};
use enneo_common::grpc;
use enneo_common::outbox::Outbox;
use enneo_proto::ticket::v1 as pb;
use enneo_proto::ticket::v1::ticket_service_server::TicketService;
use sqlx::PgPool;
use tonic::{Request, Response, Status};

use crate::error::{Error, Result};
use crate::events::{self, TICKET_CREATED, TICKET_UPDATED};
use crate::model::{self, TicketRow, check_enum};
use crate::patch::{self, Mode};
use crate::{search, stats, store};

#[derive(Clone)]
pub struct Tickets {
    pub pool: PgPool,
    pub outbox: Outbox,
}

fn require(caller: &Caller, permission: &str) -> Result<()> {
    if caller.has(permission) {
        Ok(())
    } else {
        Err(Error::PermissionDenied(format!("missing permission {permission}")))
    }
}

fn is_external_id_race(err: &Error) -> bool {
    matches!(err, Error::Database(sqlx::Error::Database(e))
        if e.constraint() == Some("ticket_external_ticket_id_key"))
}

impl Tickets {
    async fn create(
        &self,
        caller: &Caller,
        req: pb::CreateTicketRequest,
    ) -> Result<pb::CreateTicketResponse> {
        require(caller, permission::CREATE_TICKETS)?;
        if let Some(process) = &req.process {
            check_enum("process", process, model::PROCESS_MODES)?;
        }
        let fields = req.fields.unwrap_or_default();
        match self.create_once(caller, fields.clone(), req.process.clone()).await {
            // Two creates with one new externalTicketId raced; the loser updates the winner.
            Err(err) if is_external_id_race(&err) => {
                self.create_once(caller, fields, req.process).await
            }
            other => other,
        }
    }

    async fn create_once(
        &self,
        caller: &Caller,
        fields: pb::TicketFields,
        process: Option<String>,
    ) -> Result<pb::CreateTicketResponse> {
        let now = Utc::now();
        let mut tx = self.pool.begin().await?;
        let existing = match &fields.external_ticket_id {
            Some(external) => store::id_by_external_id(&mut tx, external).await?,
            None => None,
        };
        let (row, updated_existing) = if let Some(id) = existing {
            let mut row = store::get(&mut tx, id, true).await?;
            let applied = patch::apply(&mut row, fields, Mode::Create, caller, now)?;
            if applied.changed.is_empty() {
                (row, true)
            } else {
                row.version += 1;
                row.modified_at = Some(now);
                let row = store::update(&mut tx, &row).await?;
                let event = events::ticket_event(TICKET_UPDATED, &row, &applied.changed, caller);
                self.outbox.record(&mut tx, event).await?;
                (row, true)
            }
        } else {
            let channel = fields
                .channel
                .clone()
                .ok_or_else(|| Error::InvalidArgument("channel is required".into()))?;
            check_enum("channel", &channel, model::CHANNELS)?;
            let mut row = TicketRow::new(channel, now);
            row.process = process;
            patch::apply(&mut row, fields, Mode::Create, caller, now)?;
            let row = store::insert(&mut tx, &row).await?;
            let event = events::ticket_event(TICKET_CREATED, &row, &[], caller);
            self.outbox.record(&mut tx, event).await?;
            (row, false)
        };
        tx.commit().await?;
        self.outbox.committed();
        Ok(pb::CreateTicketResponse { ticket: Some(row.into_proto()), updated_existing })
    }

    async fn update(&self, caller: &Caller, req: pb::UpdateTicketRequest) -> Result<TicketRow> {
        require(caller, permission::UPDATE_TICKETS)?;
        let now = Utc::now();
        let mut tx = self.pool.begin().await?;
        let mut row = store::get(&mut tx, req.id, true).await?;
        if let Some(expected) = req.expected_version
            && expected != row.version
        {
            return Err(Error::Conflict(format!(
                "ticket {} is at version {}, not {expected}; reload and retry",
                row.id, row.version
            )));
        }
        let applied =
            patch::apply(&mut row, req.fields.unwrap_or_default(), Mode::Update, caller, now)?;
        if applied.changed.is_empty() {
            return Ok(row);
        }
        row.version += 1;
        row.modified_at = Some(now);
        let row = store::update(&mut tx, &row).await?;
        let event = events::ticket_event(TICKET_UPDATED, &row, &applied.changed, caller);
        self.outbox.record(&mut tx, event).await?;
        tx.commit().await?;
        self.outbox.committed();
        Ok(row)
    }

    async fn get(&self, caller: &Caller, id: i64) -> Result<TicketRow> {
        require(caller, permission::READ_TICKETS)?;
        let mut conn = self.pool.acquire().await?;
        store::get(&mut conn, id, false).await
    }
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
        let row = self.get(&caller, request.get_ref().id).await?;
        Ok(Response::new(pb::GetTicketResponse { ticket: Some(row.into_proto()) }))
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
        require(&caller, permission::UPDATE_TICKETS)?;
        let mut results = Vec::new();
        for item in request.into_inner().items {
            let id = item.id;
            let result = match self.update(&caller, item).await {
                Ok(_) => pb::BulkItemResult { id, success: true, ..Default::default() },
                Err(err) => {
                    let status = Status::from(err);
                    let code = enneo_common::ErrorCode::from_grpc(status.code());
                    pb::BulkItemResult {
                        id,
                        success: false,
                        code: code.as_str().into(),
                        error: status.message().into(),
                    }
                }
            };
            results.push(result);
        }
        Ok(Response::new(pb::BulkUpdateTicketsResponse { results }))
    }

    async fn search_tickets(
        &self,
        request: Request<pb::SearchTicketsRequest>,
    ) -> Result<Response<pb::SearchTicketsResponse>, Status> {
        let caller = grpc::caller(&request)?;
        require(&caller, permission::READ_TICKETS)?;
        let mut conn = self.pool.acquire().await.map_err(Error::from)?;
        let page = search::search(&mut conn, request.into_inner()).await?;
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
        require(&caller, permission::READ_TICKET_STATS)?;
        Ok(Response::new(stats::read(&self.pool).await?))
    }
}
