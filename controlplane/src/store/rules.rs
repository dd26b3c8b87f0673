//! What security-group rules and network-ACL entries share: the direction, the protocol and port range, and
//! reading a port column.

use super::db::Row;
use netmodel::model::{Direction, Protocol};

use super::Result;
use crate::{
    error::{ApiError, ErrorCode},
    wire::rule_direction,
};

pub(super) fn direction(value: &str) -> Result<Direction> {
    rule_direction::parse(value).ok_or_else(|| {
        ApiError::invalid(
            ErrorCode::InvalidDirection,
            format!("direction: \"{value}\" is not ingress or egress"),
        )
    })
}

/// Protocol and port range of a rule or entry, canonical: ports only for tcp/udp (absent = all ports).
pub(super) fn protocol_and_ports(
    protocol: &str,
    from: Option<u16>,
    to: Option<u16>,
) -> Result<(Protocol, Option<u16>, Option<u16>)> {
    let proto: Protocol = if protocol == "-1" {
        Protocol::All
    } else {
        protocol.parse().map_err(|e: String| {
            ApiError::invalid(
                ErrorCode::InvalidProtocol,
                format!("protocol: \"{protocol}\": {e}"),
            )
        })?
    };
    if !proto.has_ports() {
        if from.is_some() || to.is_some() {
            return Err(ApiError::invalid(
                ErrorCode::InvalidPortRange,
                format!("from_port/to_port: protocol {proto} has no ports"),
            ));
        }
        return Ok((proto, None, None));
    }
    let (from, to) = match (from, to) {
        (None, None) => (0, 65535),
        (Some(f), None) => (f, f),
        (None, Some(t)) => (t, t),
        (Some(f), Some(t)) => (f, t),
    };
    if from > to {
        return Err(ApiError::invalid(
            ErrorCode::InvalidPortRange,
            format!("from_port {from} is greater than to_port {to}"),
        ));
    }
    Ok((proto, Some(from), Some(to)))
}

pub(super) fn port(row: &Row, column: &str) -> Result<Option<u16>> {
    Ok(row
        .try_get::<Option<i64>, _>(column)?
        .and_then(|p| u16::try_from(p).ok()))
}
