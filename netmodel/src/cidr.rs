//! CIDR maths: parsing blocks at the edge with errors that name the input.

use ipnet::{IpNet, Ipv4Net};

/// Bad CIDR text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{input}\" is not a CIDR block: {reason}")]
pub struct CidrError {
    /// The text as given.
    pub input: String,
    /// Why it was refused.
    pub reason: String,
}

/// Parses an IPv4 or IPv6 block such as `10.0.0.0/16`; host bits must be zero.
///
/// ```
/// assert!(netmodel::cidr::parse_block("10.0.0.0/16").is_ok());
/// assert!(netmodel::cidr::parse_block("10.0.0.0/33").is_err());
/// ```
pub fn parse_block(input: &str) -> Result<IpNet, CidrError> {
    let err = |reason: &str| CidrError { input: input.to_string(), reason: reason.to_string() };
    let text = input.trim();
    if !text.contains('/') {
        return Err(err("missing the /prefix length"));
    }
    let net: IpNet = text.parse().map_err(|_| {
        let (_, len) = text.split_once('/').unwrap_or_default();
        match len.parse::<u8>() {
            Ok(l) if (text.contains(':') && l > 128) || (!text.contains(':') && l > 32) => {
                err("prefix length out of range")
            }
            _ => err("expected an address and a prefix length, like 10.0.0.0/16"),
        }
    })?;
    if net.addr() != net.network() {
        return Err(CidrError {
            input: input.to_string(),
            reason: format!("host bits are set; did you mean {}?", net.trunc()),
        });
    }
    Ok(net)
}

/// Parses an IPv4 block only.
pub fn parse_ipv4_block(input: &str) -> Result<Ipv4Net, CidrError> {
    match parse_block(input)? {
        IpNet::V4(n) => Ok(n),
        IpNet::V6(_) => Err(CidrError { input: input.to_string(), reason: "expected an IPv4 block".into() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_prefix_and_names_input() {
        let e = parse_block("10.0.0.0/33").unwrap_err();
        assert_eq!(e.to_string(), "\"10.0.0.0/33\" is not a CIDR block: prefix length out of range");
    }

    #[test]
    fn rejects_host_bits() {
        let e = parse_block("10.0.0.1/16").unwrap_err();
        assert!(e.reason.contains("10.0.0.0/16"), "{e}");
    }

    #[test]
    fn accepts_ipv6() {
        assert!(parse_block("2001:db8::/56").is_ok());
    }
}
