//! gRPC contracts between the gateway and the services, generated from `proto/enneo/**`.

pub mod ticket {
    pub mod v1 {
        tonic::include_proto!("enneo.ticket.v1");
    }
}

pub mod agent {
    pub mod v1 {
        tonic::include_proto!("enneo.agent.v1");
    }
}

pub mod settings {
    pub mod v1 {
        tonic::include_proto!("enneo.settings.v1");
    }
}

pub mod quality {
    pub mod v1 {
        tonic::include_proto!("enneo.quality.v1");
    }
}

pub mod status {
    pub mod v1 {
        tonic::include_proto!("enneo.status.v1");
    }
}

pub use prost_types::Timestamp;
