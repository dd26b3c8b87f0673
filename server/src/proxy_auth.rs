//! Sign-in by a trusted reverse proxy: an authenticating proxy in front of Peerplan (oauth2-proxy, Authelia,
//! Pomerium, an Apache or nginx with its own sign-in) names the signed-in user in a header
//! (`--auth-proxy-header X-Forwarded-User`), and Peerplan believes it only when the TCP peer of the connection is
//! one of the `--trusted-proxy` addresses or CIDR blocks. A new user starts with `--auth-proxy-role` (default
//! viewer) and then keeps the role the users table gives them (`peerplan user set-role`) — unless
//! `--auth-proxy-role-header NAME` is set and the proxy sends a role name in it, which is then applied each time.
//!
//! [`authenticate`] is pure: headers, peer address and configuration in; `None` when the request does not carry
//! the user header, otherwise the user or the reason it is refused. A refused request is not signed in (treat it as
//! anonymous: sign-in page or 401); [`ProxyRefusal`]'s message is safe to log (header text escaped and cut).
//! [`proxy_user`] adds the users table: the request's user, created or updated as above, `None` when refused or
//! disabled — what team mode's request check calls when no session or token names the user.

use std::{net::SocketAddr, str::FromStr};

use axum::http::{HeaderMap, HeaderName};
use ipnet::IpNet;

use crate::sso::{loggable, parse_role, user_name, Role};

/// Reverse-proxy sign-in settings.
#[derive(Debug, Clone)]
pub struct ProxyAuthConfig {
    /// The header naming the user (`--auth-proxy-header`).
    pub header: HeaderName,
    /// Peers whose header is believed (`--trusted-proxy`, repeatable); empty: nobody is.
    pub trusted: Vec<IpNet>,
    /// The role of every user the proxy signs in (`--auth-proxy-role`, default viewer)…
    pub default_role: Role,
    /// …unless this header carries a role name (`--auth-proxy-role-header`).
    pub role_header: Option<HeaderName>,
}

/// A bad reverse-proxy flag.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProxyConfigError {
    #[error(
        "--trusted-proxy {0:?} is not an IP address or CIDR block (e.g. 10.0.0.5, 10.0.0.0/24 or fd00::/64)"
    )]
    NotAnAddress(String),
    #[error("--trusted-proxy {given:?} has host bits set: did you mean {network}?")]
    HostBits { given: String, network: IpNet },
    #[error("{flag} {value:?} is not an HTTP header name")]
    BadHeader { flag: &'static str, value: String },
    #[error(
        "{flag} {value:?} names a header browsers and clients set for themselves; use a header your proxy \
         sets, such as X-Forwarded-User"
    )]
    ReservedHeader { flag: &'static str, value: String },
    #[error("--auth-proxy-header is set but no --trusted-proxy: the header would never be believed")]
    NoTrustedProxy,
}

/// Parses one `--trusted-proxy` value: an address (`10.0.0.5`, `::1`) or a CIDR block (`10.0.0.0/24`).
pub fn parse_trusted_proxy(value: &str) -> Result<IpNet, ProxyConfigError> {
    let v = value.trim();
    if let Ok(addr) = v.parse::<std::net::IpAddr>() {
        return Ok(IpNet::from(addr));
    }
    let net = IpNet::from_str(v).map_err(|_| ProxyConfigError::NotAnAddress(value.to_string()))?;
    if net.trunc() != net {
        return Err(ProxyConfigError::HostBits {
            given: value.to_string(),
            network: net.trunc(),
        });
    }
    Ok(net)
}

/// Parses a header-name flag (`--auth-proxy-header`, `--auth-proxy-role-header`). Headers a client sets for
/// itself anyway (`Authorization`, `Cookie`, `Host`, …) are refused: they are not a proxy's statement.
pub fn parse_header_flag(flag: &'static str, value: &str) -> Result<HeaderName, ProxyConfigError> {
    let name = HeaderName::from_str(value.trim()).map_err(|_| ProxyConfigError::BadHeader {
        flag,
        value: value.to_string(),
    })?;
    const RESERVED: [&str; 7] = [
        "authorization",
        "cookie",
        "host",
        "origin",
        "referer",
        "user-agent",
        "x-csrf-token",
    ];
    if RESERVED.contains(&name.as_str()) {
        return Err(ProxyConfigError::ReservedHeader {
            flag,
            value: value.to_string(),
        });
    }
    Ok(name)
}

impl ProxyAuthConfig {
    /// Builds the configuration from the flags' values, each checked.
    pub fn from_flags(
        header: &str,
        trusted: &[String],
        default_role: Role,
        role_header: Option<&str>,
    ) -> Result<Self, ProxyConfigError> {
        let header = parse_header_flag("--auth-proxy-header", header)?;
        let trusted = trusted
            .iter()
            .map(|t| parse_trusted_proxy(t))
            .collect::<Result<Vec<_>, _>>()?;
        if trusted.is_empty() {
            return Err(ProxyConfigError::NoTrustedProxy);
        }
        let role_header = role_header
            .map(|h| parse_header_flag("--auth-proxy-role-header", h))
            .transpose()?;
        Ok(ProxyAuthConfig {
            header,
            trusted,
            default_role,
            role_header,
        })
    }

    /// Whether a connection from `peer` may name the user (IPv4-mapped IPv6 peers, as a dual-stack listener
    /// reports them, compare as IPv4).
    pub fn trusts(&self, peer: SocketAddr) -> bool {
        let ip = peer.ip().to_canonical();
        self.trusted.iter().any(|net| net.contains(&ip))
    }
}

/// A user the proxy signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyUser {
    /// The user name, lower-cased and checked ([`crate::sso::user_name`]).
    pub name: String,
    /// The role (from the role header, else the default role).
    pub role: Role,
    /// Whether the role came from `--auth-proxy-role-header` (then it is applied at each request; otherwise it is
    /// only the role a new user starts with).
    pub role_from_header: bool,
}

/// Why a request carrying the user header is not signed in. The message escapes and cuts the header's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProxyRefusal {
    #[error("{header} from {peer}, which is not a --trusted-proxy: ignored (value \"{value}\")")]
    UntrustedPeer {
        header: String,
        peer: SocketAddr,
        value: String,
    },
    #[error("{header} appears {count} times: a trusted proxy sends it once")]
    Repeated { header: String, count: usize },
    #[error("{header} \"{value}\" is not a user name: {reason}")]
    BadName {
        header: String,
        value: String,
        reason: &'static str,
    },
    #[error("{header} \"{value}\" is not a role: use viewer, planner, applier or admin")]
    BadRole { header: String, value: String },
}

/// Why a user name from a proxy is refused (see [`crate::sso::user_name`]).
pub const NAME_RULE: &str =
    "a user name is 1 to 64 letters, digits and . _ @ - (stored lower-case), starting with a letter or digit";

/// The user a trusted proxy names in `headers`. `None`: the request does not carry the user header (not a proxy
/// sign-in). `Some(Err(_))`: it does, but is not believed (untrusted peer, repeated header, bad name or role) — the
/// request is then not signed in; log the refusal (its text is escaped).
pub fn authenticate(
    headers: &HeaderMap,
    peer: SocketAddr,
    config: &ProxyAuthConfig,
) -> Option<Result<ProxyUser, ProxyRefusal>> {
    let values: Vec<_> = headers.get_all(&config.header).iter().collect();
    let first = values.first()?;
    let header = config.header.as_str().to_string();
    let shown = |raw: &[u8]| loggable(&String::from_utf8_lossy(raw), 64);
    if !config.trusts(peer) {
        return Some(Err(ProxyRefusal::UntrustedPeer {
            header,
            peer,
            value: shown(first.as_bytes()),
        }));
    }
    if values.len() > 1 {
        return Some(Err(ProxyRefusal::Repeated {
            header,
            count: values.len(),
        }));
    }
    let raw = first.as_bytes();
    let name = match std::str::from_utf8(raw) {
        Ok(text) => match user_name(text) {
            Some(name) => name,
            None => {
                return Some(Err(ProxyRefusal::BadName {
                    header,
                    value: shown(raw),
                    reason: NAME_RULE,
                }))
            }
        },
        Err(_) => {
            return Some(Err(ProxyRefusal::BadName {
                header,
                value: shown(raw),
                reason: "it is not UTF-8",
            }))
        }
    };
    let (role, role_from_header) = match &config.role_header {
        None => (config.default_role, false),
        Some(role_header) => {
            let roles: Vec<_> = headers.get_all(role_header).iter().collect();
            match roles.as_slice() {
                [] => (config.default_role, false),
                [one] => match std::str::from_utf8(one.as_bytes())
                    .ok()
                    .and_then(|r| parse_role(r).ok())
                {
                    Some(role) => (role, true),
                    None => {
                        return Some(Err(ProxyRefusal::BadRole {
                            header: role_header.as_str().to_string(),
                            value: shown(one.as_bytes()),
                        }))
                    }
                },
                more => {
                    return Some(Err(ProxyRefusal::Repeated {
                        header: role_header.as_str().to_string(),
                        count: more.len(),
                    }))
                }
            }
        }
    };
    Some(Ok(ProxyUser {
        name,
        role,
        role_from_header,
    }))
}

/// The signed-in user of a request by the proxy's header, recorded in the users table: `Ok(None)` when the request
/// carries no user header, or one that is refused (logged, escaped: the request is then anonymous), or names a
/// disabled user. A user seen for the first time is created with source `proxy` and the proxy's role
/// (`--auth-proxy-role`, or the role header's). A known user keeps the role the users table gives them
/// (`peerplan user set-role`), unless `--auth-proxy-role-header` is set and the proxy sent one: then the proxy's
/// role is applied. Reads only, unless the user is new or their role changes.
pub async fn proxy_user(
    store: &controlplane::store::Store,
    headers: &HeaderMap,
    peer: SocketAddr,
    config: &ProxyAuthConfig,
) -> Result<Option<controlplane::store::users::User>, controlplane::error::ApiError> {
    use controlplane::{error::ApiError, store::users::UserSource};
    let proxied = match authenticate(headers, peer, config) {
        None => return Ok(None),
        Some(Err(refusal)) => {
            tracing::warn!(%peer, %refusal, "reverse-proxy sign-in refused");
            return Ok(None);
        }
        Some(Ok(proxied)) => proxied,
    };
    let user = match store.get_user(&proxied.name).await {
        Ok(user) if !proxied.role_from_header || user.role == proxied.role => user,
        Ok(_) | Err(ApiError::NotFound(_)) => {
            match store
                .upsert_external_user(&proxied.name, proxied.role, UserSource::Proxy)
                .await
            {
                Ok(user) => user,
                // The role header names another role for a user of another source (one created with
                // `peerplan user create`): the proxy does not change that user's role; not signed in.
                Err(e @ ApiError::Refused { .. }) => {
                    tracing::warn!(%peer, user = %proxied.name, error = %e, "reverse-proxy sign-in refused");
                    return Ok(None);
                }
                Err(e) => return Err(e),
            }
        }
        Err(e) => return Err(e),
    };
    if user.disabled {
        tracing::warn!(%peer, user = %user.name, "reverse-proxy sign-in of a disabled user refused");
        return Ok(None);
    }
    Ok(Some(user))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn config(role_header: Option<&str>) -> ProxyAuthConfig {
        ProxyAuthConfig::from_flags(
            "X-Forwarded-User",
            &["10.0.0.0/24".into(), "192.0.2.7".into(), "fd00::/64".into()],
            Role::Viewer,
            role_header,
        )
        .unwrap()
    }

    fn peer(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn headers(pairs: &[(&str, &[u8])]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_str(k).unwrap(),
                HeaderValue::from_bytes(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn a_trusted_peer_signs_in_with_the_default_role() {
        let h = headers(&[("x-forwarded-user", b"alice@example.com")]);
        for p in [
            "10.0.0.9:4000",
            "192.0.2.7:1",
            "[fd00::1]:443",
            "[::ffff:10.0.0.3]:80",
        ] {
            assert_eq!(
                authenticate(&h, peer(p), &config(None)),
                Some(Ok(ProxyUser {
                    name: "alice@example.com".into(),
                    role: Role::Viewer,
                    role_from_header: false,
                })),
                "peer {p}"
            );
        }
    }

    #[test]
    fn no_header_is_no_proxy_sign_in() {
        assert_eq!(
            authenticate(&HeaderMap::new(), peer("10.0.0.9:1"), &config(None)),
            None
        );
        assert_eq!(
            authenticate(&HeaderMap::new(), peer("203.0.113.1:1"), &config(None)),
            None
        );
    }

    #[test]
    fn an_untrusted_peer_is_not_signed_in_and_its_header_is_escaped() {
        // A tab and a right-to-left override (log spoofing); HTTP allows neither escape sequences nor newlines.
        let h = headers(&[("x-forwarded-user", "admin\t\u{202e}nimda".as_bytes())]);
        for p in ["10.0.1.1:1", "192.0.2.8:1", "127.0.0.1:1", "[fd00:0:0:1::1]:1"] {
            let refusal = authenticate(&h, peer(p), &config(None)).unwrap().unwrap_err();
            assert!(matches!(refusal, ProxyRefusal::UntrustedPeer { .. }), "{p}");
            let text = refusal.to_string();
            assert!(!text.contains('\t') && !text.contains('\u{202e}'), "{text}");
            assert!(text.contains("admin\\t\\u{202e}nimda"), "{text}");
        }
        let long = "a".repeat(500);
        let h = headers(&[("x-forwarded-user", long.as_bytes())]);
        let text = authenticate(&h, peer("203.0.113.1:1"), &config(None))
            .unwrap()
            .unwrap_err()
            .to_string();
        assert!(text.len() < 200, "{text}");
    }

    #[test]
    fn bad_names_are_refused() {
        let cases: [(&[u8], &str); 8] = [
            (b"", NAME_RULE),
            (b"bob smith", NAME_RULE),
            (b"bob<script>", NAME_RULE),
            (b"-rf", NAME_RULE),
            (b"bob+tag@example.com", NAME_RULE),
            (b"caf\xc3\xa9", NAME_RULE),
            (b"\xff\xfe", "it is not UTF-8"),
            (&[b'x'; 65], NAME_RULE),
        ];
        for (value, reason) in cases {
            let h = headers(&[("x-forwarded-user", value)]);
            match authenticate(&h, peer("10.0.0.2:1"), &config(None)) {
                Some(Err(ProxyRefusal::BadName { reason: r, .. })) => assert_eq!(r, reason, "{value:?}"),
                other => panic!("{value:?}: {other:?}"),
            }
        }
        let h = headers(&[("x-forwarded-user", &[b'x'; 64])]);
        assert!(matches!(
            authenticate(&h, peer("10.0.0.2:1"), &config(None)),
            Some(Ok(_))
        ));
        // Stored lower-case, like every user name.
        let h = headers(&[("x-forwarded-user", b"Alice@Example.com")]);
        assert_eq!(
            authenticate(&h, peer("10.0.0.2:1"), &config(None))
                .unwrap()
                .unwrap()
                .name,
            "alice@example.com"
        );
    }

    #[test]
    fn a_repeated_user_header_is_refused() {
        let h = headers(&[("x-forwarded-user", b"alice"), ("x-forwarded-user", b"admin")]);
        assert_eq!(
            authenticate(&h, peer("10.0.0.2:1"), &config(None)),
            Some(Err(ProxyRefusal::Repeated {
                header: "x-forwarded-user".into(),
                count: 2
            }))
        );
    }

    #[test]
    fn the_role_header_sets_the_role_when_configured() {
        let cfg = config(Some("X-Forwarded-Role"));
        let h = headers(&[("x-forwarded-user", b"bob"), ("x-forwarded-role", b"Applier")]);
        assert_eq!(
            authenticate(&h, peer("10.0.0.2:1"), &cfg).unwrap().unwrap().role,
            Role::Applier
        );
        let h = headers(&[("x-forwarded-user", b"bob")]);
        assert_eq!(
            authenticate(&h, peer("10.0.0.2:1"), &cfg).unwrap().unwrap().role,
            Role::Viewer
        );
        let h = headers(&[("x-forwarded-user", b"bob"), ("x-forwarded-role", b"root")]);
        assert_eq!(
            authenticate(&h, peer("10.0.0.2:1"), &cfg),
            Some(Err(ProxyRefusal::BadRole {
                header: "x-forwarded-role".into(),
                value: "root".into()
            }))
        );
        // Without --auth-proxy-role-header the header is ignored: a client cannot raise its own role.
        let h = headers(&[("x-forwarded-user", b"bob"), ("x-forwarded-role", b"admin")]);
        assert_eq!(
            authenticate(&h, peer("10.0.0.2:1"), &config(None))
                .unwrap()
                .unwrap()
                .role,
            Role::Viewer
        );
    }

    #[test]
    fn flags_are_checked() {
        assert_eq!(
            parse_trusted_proxy("10.0.0.1/24"),
            Err(ProxyConfigError::HostBits {
                given: "10.0.0.1/24".into(),
                network: "10.0.0.0/24".parse().unwrap()
            })
        );
        assert_eq!(
            parse_trusted_proxy("10.0.0.1/24").unwrap_err().to_string(),
            "--trusted-proxy \"10.0.0.1/24\" has host bits set: did you mean 10.0.0.0/24?"
        );
        assert_eq!(
            parse_trusted_proxy("proxy.example.com").unwrap_err().to_string(),
            "--trusted-proxy \"proxy.example.com\" is not an IP address or CIDR block (e.g. 10.0.0.5, \
             10.0.0.0/24 or fd00::/64)"
        );
        assert_eq!(parse_trusted_proxy("::1"), Ok("::1/128".parse().unwrap()));
        assert_eq!(
            parse_trusted_proxy(" 192.0.2.1 "),
            Ok("192.0.2.1/32".parse().unwrap())
        );
        assert_eq!(
            ProxyAuthConfig::from_flags("X-Forwarded-User", &[], Role::Viewer, None).unwrap_err(),
            ProxyConfigError::NoTrustedProxy
        );
        assert_eq!(
            ProxyAuthConfig::from_flags("X Forwarded User", &["::1".into()], Role::Viewer, None)
                .unwrap_err()
                .to_string(),
            "--auth-proxy-header \"X Forwarded User\" is not an HTTP header name"
        );
        assert!(matches!(
            ProxyAuthConfig::from_flags("Authorization", &["::1".into()], Role::Viewer, None),
            Err(ProxyConfigError::ReservedHeader { .. })
        ));
        assert!(matches!(
            ProxyAuthConfig::from_flags("X-User", &["::1".into()], Role::Viewer, Some("Cookie")),
            Err(ProxyConfigError::ReservedHeader {
                flag: "--auth-proxy-role-header",
                ..
            })
        ));
    }
}
