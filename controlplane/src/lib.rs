//! An NFYio-compatible VPC control plane: wire types of the `/v1` API ([`wire`]), the axum service
//! ([`service`], with the request plumbing its handlers share in [`request`]), its storage ([`store`]: SQLite
//! by default, PostgreSQL when configured), the peering lifecycle as pure functions ([`lifecycle`]) and time
//! ([`clock`]).
#![forbid(unsafe_code)]

pub mod client;
pub mod clock;
pub mod connection;
pub mod error;
pub mod handlers;
pub mod idempotency;
pub mod lifecycle;
pub mod request;
pub mod responses;
pub mod routes;
pub mod service;
pub mod store;
pub mod validate;
pub mod wire;

/// Saved plans, at the path the server and the planner know them by ([`store::plans`]).
pub use store::{audit, plans};
