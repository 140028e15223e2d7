//! End-to-end tests through the gateway against real PostgreSQL and RabbitMQ.

mod browser;
mod harness;
mod identity;
mod smtp;

mod ai_agents;
mod auth;
mod bulk;
mod context;
mod conversations;
mod customers;
mod detection;
mod docs_page;
mod errors;
mod event_hooks;
mod events;
mod exports;
mod forward;
mod intents;
mod lifecycle;
mod mailbox_oauth;
mod meta;
mod quality;
mod quality_agreement;
mod quality_report;
mod quality_triggers;
mod roles;
mod routes;
mod routing;
mod search;
mod search_props;
mod settings;
mod tags;
mod teams;
mod ticket_intents;
mod tickets;
