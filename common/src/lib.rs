//! Plumbing every Enneo Mind service shares: configuration, telemetry, the error vocabulary,
//! access tokens, shutdown, database provisioning, and the outbox/inbox around RabbitMQ.

pub mod amqp;
pub mod auth;
pub mod config;
pub mod consumer;
pub mod db;
pub mod error;
pub mod grpc;
pub mod html;
pub mod jobs;
pub mod outbox;
pub mod request_id;
pub mod service;
pub mod service_error;
pub mod shutdown;
pub mod status;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
pub mod vocabulary;

pub use error::{Error, ErrorCode, Result};
