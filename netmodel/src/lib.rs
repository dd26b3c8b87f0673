//! Pure model of multi-VPC topologies and a packet-path simulator.
//!
//! Layers: [`cidr`] → [`model`] → [`check`] and [`sim`] → [`export`] and [`changeset`]; data enters through
//! [`model`] (JSON) or [`import`], and everything else reads the [`Plan`].
//! Nothing here does I/O; it builds for wasm32 and native alike.
//!
//! Modules:
//! - [`ids`]: newtype identifiers (`VpcId`, `SubnetId`, `PeeringId`, …), so one kind of id never stands for another.
//! - [`cidr`]: prefix maths: blocks parsed with errors that name the input, the overlap sweep, free blocks.
//! - [`model`]: the plan (VPCs, subnets, route tables, security groups, network ACLs, endpoints, gateways,
//!   peerings) and its `peerplan/v1` JSON format, validated once at the edge.
//! - [`codes`]: the one macro behind the stable code enums ([`check::Code`], [`sim::TraceCode`]).
//! - [`graph`]: the peering graph: a VPC's peers, groups that can reach each other, pairs joined only via a third.
//! - [`check`]: diagnostics: a plan that parses but would fail or misbehave, each with a stable code and a fix.
//! - [`edit`]: the pure plan edits (add a VPC, peer two, renumber, apply a fix, …) the planner and CLI share.
//! - [`sim`]: the packet-path simulator: one flow → one [`sim::Trace`], explained hop by hop.
//! - [`matrix`]: the reachability matrix: every endpoint × every endpoint for one protocol and port.
//! - [`layout`]: the auto-layout of VPC boxes, for the planner's canvas and the exported peering map.
//! - [`export`]: the documentation (Markdown, HTML), the peering map (DOT, Mermaid, SVG, PNG) and the curl script.
//! - [`changeset`]: a live plan against a desired one → the typed, ordered steps that turn one into the other.
//! - [`compare`]: two versions of one plan → the objects added, removed and changed (the planner's "Compare").
//! - [`import`]: importers into a plan: AWS `describe-*` JSON.
//! - [`generate`]: synthetic but realistic plans for demos, scale tests and benchmarks.
//! - [`library`]: the plan library's shared types (saved plans, their versions) and its storage interface.
#![forbid(unsafe_code)]

/// Hash maps and sets of the ids of one plan, built per import, validation and check: foldhash, seeded per
/// process and per map (from address-space layout, the clock and the allocator), instead of SipHash. An estate's
/// 80,000 VPC ids are hashed into several such maps; SipHash spent a tenth of `peerplan check` there. Plans come
/// from users on the server too: no map's order or hashes are ever shown, so keys that collide cannot be
/// precomputed without the seed (foldhash's "minimal DoS resistance"), and a request's maps live no longer than it.
pub(crate) type IdMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
/// See [`IdMap`].
pub(crate) type IdSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

pub mod changeset;
pub mod check;
pub mod cidr;
pub mod codes;
pub mod compare;
pub mod edit;
pub mod export;
pub mod generate;
pub mod graph;
pub mod ids;
pub mod import;
pub mod layout;
pub mod library;
pub mod matrix;
pub mod model;
mod par;
pub mod sim;

pub use check::{check, CheckOptions, Code, Diagnostic, Severity};
pub use model::{Plan, PlanError};
