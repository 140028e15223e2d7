//! The status service every service serves beside gRPC health: the backlog of its background
//! work, for the gateway's `GET /api/mind/health/cron`. One implementation for every service,
//! given its pool and schema.

use enneo_proto::status::v1 as pb;
use enneo_proto::status::v1::status_service_server::{StatusService, StatusServiceServer};
use sqlx::PgPool;
use tonic::{Request, Response};

pub struct Status {
    pool: PgPool,
    schema: &'static str,
}

/// The status service of the service owning `schema`.
pub fn service(pool: PgPool, schema: &'static str) -> StatusServiceServer<Status> {
    StatusServiceServer::new(Status { pool, schema })
}

#[tonic::async_trait]
impl StatusService for Status {
    async fn get_backlog(
        &self,
        request: Request<pb::GetBacklogRequest>,
    ) -> Result<Response<pb::Backlog>, tonic::Status> {
        crate::grpc::caller(&request)?;
        let outbox = crate::outbox::backlog(&self.pool, self.schema)
            .await
            .map_err(crate::service_error::Error::from)?;
        Ok(Response::new(pb::Backlog {
            outbox: Some(pb::OutboxBacklog {
                pending: outbox.pending,
                oldest_pending_age_seconds: outbox.oldest_pending_age_seconds,
                parked: outbox.parked,
            }),
        }))
    }
}
