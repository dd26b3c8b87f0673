//! Pure model of multi-VPC topologies and a packet-path simulator.
//!
//! Layers: [`cidr`] (prefix maths, overlap sweep, free blocks) → [`model`] (VPCs, subnets, route tables,
//! security groups, network ACLs, endpoints, gateways, peerings; the `peerplan/v1` JSON format) → [`check`]
//! (diagnostics with stable codes; [`graph`] is the peering graph it asks graph questions of) → [`import`] (AWS
//! describe-* JSON).
//! Nothing here does I/O; it builds for wasm32 and native alike.
#![forbid(unsafe_code)]

pub mod check;
pub mod cidr;
pub mod codes;
pub mod export;
pub mod generate;
pub mod graph;
pub mod ids;
pub mod import;
pub mod layout;
pub mod matrix;
pub mod model;
pub mod sim;

pub use check::{check, CheckOptions, Code, Diagnostic, Severity};
pub use model::{Plan, PlanError};
