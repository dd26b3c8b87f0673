//! The `peerplan` binary's library: command line ([`cli`]), logging ([`telemetry`]) and the web server
//! ([`web`]) that serves the Leptos app, the planner API and the embedded control plane.
#![forbid(unsafe_code)]
#![recursion_limit = "512"]

pub mod access;
pub mod apply;
pub mod apply_web;
pub mod audit_web;
pub mod auth;
pub mod cli;
pub mod commands;
pub mod control;
pub mod datadir;
pub mod engine;
pub mod exports;
pub mod heavy;
pub mod library;
pub mod live;
pub mod oidc;
pub mod oidc_web;
pub mod plan_io;
pub mod plans_web;
pub mod proxy_auth;
pub mod run_state;
pub mod security;
pub mod sso;
pub mod sso_config;
pub mod targets;
pub mod telemetry;
pub mod users;
pub mod web;
