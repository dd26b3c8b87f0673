//! Pure model of multi-VPC topologies and a packet-path simulator.
//!
//! Layers: [`cidr`] (prefix maths, overlap sweep, free-block finder).
//! Nothing here does I/O; it builds for wasm32 and native alike.
#![forbid(unsafe_code)]

pub mod cidr;
