//! agent-svc: AI agents and intents. Agents themselves arrive in a later release; until then
//! the service owns its schema and answers auto-execution honestly: there is no AI agent to
//! run, so every request is refused with a reason (never a pretended success).

use enneo_common::auth::permission;
use enneo_common::config::{ServiceConfig, ServiceSpec};
use enneo_common::{ErrorCode, grpc};
use enneo_proto::agent::v1 as pb;
use enneo_proto::agent::v1::agent_service_server::{AgentService, AgentServiceServer};
use sqlx::migrate::Migrator;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

pub mod agents;
pub mod detection;
pub mod engine;
pub mod extraction;
pub mod providers;
pub mod text;

pub const SPEC: ServiceSpec = ServiceSpec {
    name: "agent-svc",
    env_prefix: "AGENT",
    schema: "agent",
    default_grpc_port: 50052,
};

pub static MIGRATOR: Migrator = sqlx::migrate!();

pub struct Agents;

#[tonic::async_trait]
impl AgentService for Agents {
    async fn auto_execute(
        &self,
        request: Request<pb::AutoExecuteRequest>,
    ) -> Result<Response<pb::AutoExecuteResponse>, Status> {
        let caller = grpc::caller(&request)?;
        if !caller.has(permission::EXECUTE_AUTO_PROCESSING) {
            return Err(ErrorCode::PermissionDenied
                .status(format!("missing permission {}", permission::EXECUTE_AUTO_PROCESSING)));
        }
        match request.get_ref().execute_agent_id {
            Some(id) => Err(ErrorCode::NotFound.status(format!("AI agent {id} not found"))),
            None => Err(ErrorCode::Unprocessable.status(format!(
                "no AI agent configured: ticket {} has no intent to execute",
                request.get_ref().ticket_id
            ))),
        }
    }
}

pub async fn run(
    _config: ServiceConfig,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let router =
        grpc::server().add_service(grpc::health()).add_service(AgentServiceServer::new(Agents));
    Ok(grpc::serve(router, listener, shutdown).await?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_example_file_documents_every_key() {
        use enneo_common::config::{NoOptions, check_service_example};
        check_service_example::<NoOptions>(&super::SPEC).unwrap();
    }
}
