//! An NFYio-compatible VPC control plane: wire types of the `/v1` API, the axum service, its sqlx storage
//! (SQLite by default, PostgreSQL when configured) and a typed HTTP client.
#![forbid(unsafe_code)]
