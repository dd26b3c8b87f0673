//! The single sign-on flags of `peerplan serve` ([`SsoArgs`], flattened into its arguments) and what they start
//! ([`Sso`]): an OpenID Connect relying party ([`crate::oidc`], discovered at start) and/or the trusted
//! reverse-proxy header ([`crate::proxy_auth`]). Bad flags fail the start with a message naming the flag and value;
//! an unreachable or mismatching provider too (the server would otherwise offer a sign-in that cannot work).

use std::{net::SocketAddr, path::PathBuf, sync::Arc};

use crate::{
    oidc::{redirect_uri_for, OidcClient, OidcSettings},
    proxy_auth::ProxyAuthConfig,
    sso::parse_role,
};

/// Single sign-on flags.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SsoArgs {
    /// OpenID Connect: the provider's issuer URL, exactly as its /.well-known/openid-configuration states it
    /// (https; http only on loopback). Sign-in at /login/oidc.
    #[arg(long, value_name = "URL", requires_all = ["oidc_client_id", "oidc_client_secret_file", "oidc_role_map"])]
    pub oidc_issuer: Option<String>,
    /// OpenID Connect: this server's client id at the provider.
    #[arg(long, value_name = "ID", requires = "oidc_issuer")]
    pub oidc_client_id: Option<String>,
    /// OpenID Connect: a file holding only the client secret (trailing newline ignored; keep it chmod 600).
    #[arg(long, value_name = "FILE", requires = "oidc_issuer")]
    pub oidc_client_secret_file: Option<PathBuf>,
    /// OpenID Connect: the redirect URI registered at the provider; default http://ADDR/login/oidc/callback for
    /// the address served (set it to the public https address behind a reverse proxy).
    #[arg(long, value_name = "URL", requires = "oidc_issuer")]
    pub oidc_redirect_url: Option<String>,
    /// OpenID Connect: the claim listing the person's groups (a dotted path such as realm_access.roles reaches
    /// into an object).
    #[arg(long, value_name = "CLAIM", default_value = "groups")]
    pub oidc_role_claim: String,
    /// OpenID Connect: groups → role, "GROUP=ROLE,…" (roles viewer, planner, applier, admin; * = everyone who
    /// signs in), or @FILE with one GROUP=ROLE per line. The highest role wins; no role → sign-in refused.
    #[arg(long, value_name = "MAP", requires = "oidc_issuer")]
    pub oidc_role_map: Option<String>,
    /// Reverse proxy: the header in which an authenticating proxy names the signed-in user (e.g.
    /// X-Forwarded-User); believed only from --trusted-proxy peers.
    #[arg(long, value_name = "HEADER", requires = "trusted_proxies")]
    pub auth_proxy_header: Option<String>,
    /// Reverse proxy: an address or CIDR block whose connections may name the user. Repeatable.
    #[arg(
        long = "trusted-proxy",
        value_name = "ADDR|CIDR",
        requires = "auth_proxy_header"
    )]
    pub trusted_proxies: Vec<String>,
    /// Reverse proxy: the role of a user the proxy names for the first time (then: the role set in Peerplan).
    #[arg(long, value_name = "ROLE", default_value = "viewer")]
    pub auth_proxy_role: String,
    /// Reverse proxy: a header in which the proxy sends the user's role (viewer, planner, applier, admin), applied
    /// at each request. Without this flag such a header is ignored.
    #[arg(long, value_name = "HEADER", requires = "auth_proxy_header")]
    pub auth_proxy_role_header: Option<String>,
}

/// What the single sign-on flags started.
#[derive(Debug, Clone, Default)]
pub struct Sso {
    /// The discovered OpenID provider, when `--oidc-issuer` is given.
    pub oidc: Option<Arc<OidcClient>>,
    /// The reverse-proxy header mode, when `--auth-proxy-header` is given.
    pub proxy: Option<ProxyAuthConfig>,
}

impl SsoArgs {
    /// Whether any single sign-on is configured.
    pub fn any(&self) -> bool {
        self.oidc_issuer.is_some() || self.auth_proxy_header.is_some()
    }

    /// The reverse-proxy configuration, checked (`None` without `--auth-proxy-header`).
    pub fn proxy(&self) -> anyhow::Result<Option<ProxyAuthConfig>> {
        let Some(header) = &self.auth_proxy_header else {
            return Ok(None);
        };
        let role =
            parse_role(&self.auth_proxy_role).map_err(|e| anyhow::anyhow!("--auth-proxy-role: {e}"))?;
        Ok(Some(ProxyAuthConfig::from_flags(
            header,
            &self.trusted_proxies,
            role,
            self.auth_proxy_role_header.as_deref(),
        )?))
    }

    /// The OpenID Connect settings, checked (`None` without `--oidc-issuer`); `local` is the address served, for
    /// the default redirect URI.
    pub fn oidc_settings(&self, local: SocketAddr) -> anyhow::Result<Option<OidcSettings>> {
        let Some(issuer) = &self.oidc_issuer else {
            return Ok(None);
        };
        let missing = |flag: &str| anyhow::anyhow!("--oidc-issuer needs {flag}");
        let redirect = self
            .oidc_redirect_url
            .clone()
            .unwrap_or_else(|| redirect_uri_for(&format!("http://{local}")));
        let settings = OidcSettings::from_flags(
            issuer,
            self.oidc_client_id
                .as_deref()
                .ok_or_else(|| missing("--oidc-client-id"))?,
            self.oidc_client_secret_file
                .as_deref()
                .ok_or_else(|| missing("--oidc-client-secret-file"))?,
            &redirect,
            &self.oidc_role_claim,
            self.oidc_role_map
                .as_deref()
                .ok_or_else(|| missing("--oidc-role-map"))?,
        );
        match settings {
            Err(e @ crate::oidc::OidcConfigError::Insecure { .. }) if self.oidc_redirect_url.is_none() => {
                anyhow::bail!(
                    "{e}\n(that is the default redirect URL for --addr {local}: give --oidc-redirect-url with the \
                     https address people reach Peerplan at)"
                )
            }
            other => Ok(Some(other?)),
        }
    }

    /// Checks every flag and discovers the OpenID provider (at start: a provider that cannot be reached, or calls
    /// itself by another issuer, fails the start with the reason).
    pub async fn start(&self, local: SocketAddr) -> anyhow::Result<Sso> {
        let proxy = self.proxy()?;
        let oidc = match self.oidc_settings(local)? {
            None => None,
            Some(settings) => Some(Arc::new(OidcClient::discover(settings).await?)),
        };
        Ok(Sso { oidc, proxy })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, clap::Parser)]
    struct Cli {
        #[command(flatten)]
        sso: SsoArgs,
    }

    fn parse(args: &[&str]) -> Result<SsoArgs, String> {
        Cli::try_parse_from(std::iter::once("serve").chain(args.iter().copied()))
            .map(|c| c.sso)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn nothing_configured_is_no_single_sign_on() {
        let args = parse(&[]).unwrap();
        assert!(!args.any());
        assert!(args.proxy().unwrap().is_none());
        assert!(args
            .oidc_settings("127.0.0.1:3000".parse().unwrap())
            .unwrap()
            .is_none());
    }

    #[test]
    fn flags_that_need_each_other() {
        let err = parse(&["--oidc-issuer", "https://id.example.com"]).unwrap_err();
        assert!(
            err.contains("--oidc-client-id") && err.contains("--oidc-role-map"),
            "{err}"
        );
        let err = parse(&["--oidc-client-id", "x"]).unwrap_err();
        assert!(err.contains("--oidc-issuer"), "{err}");
        let err = parse(&["--auth-proxy-header", "X-Forwarded-User"]).unwrap_err();
        assert!(err.contains("--trusted-proxy"), "{err}");
        let err = parse(&["--trusted-proxy", "10.0.0.1"]).unwrap_err();
        assert!(err.contains("--auth-proxy-header"), "{err}");
    }

    #[test]
    fn proxy_flags_are_checked() {
        let args = parse(&[
            "--auth-proxy-header",
            "X-Forwarded-User",
            "--trusted-proxy",
            "10.0.0.0/8",
            "--trusted-proxy",
            "::1",
            "--auth-proxy-role",
            "planner",
        ])
        .unwrap();
        let proxy = args.proxy().unwrap().unwrap();
        assert_eq!(proxy.trusted.len(), 2);
        assert_eq!(proxy.default_role, crate::sso::Role::Planner);
        let bad = parse(&["--auth-proxy-header", "X-User", "--trusted-proxy", "10.0.0.1/8"]).unwrap();
        assert_eq!(
            bad.proxy().unwrap_err().to_string(),
            "--trusted-proxy \"10.0.0.1/8\" has host bits set: did you mean 10.0.0.0/8?"
        );
        let bad = parse(&[
            "--auth-proxy-header",
            "X-User",
            "--trusted-proxy",
            "::1",
            "--auth-proxy-role",
            "boss",
        ])
        .unwrap();
        assert_eq!(
            bad.proxy().unwrap_err().to_string(),
            "--auth-proxy-role: \"boss\" is not a role: use viewer, planner, applier or admin"
        );
    }

    #[test]
    fn the_redirect_uri_defaults_to_the_address_served() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("s");
        std::fs::write(&secret, "x\n").unwrap();
        let args = parse(&[
            "--oidc-issuer",
            "https://id.example.com",
            "--oidc-client-id",
            "peerplan",
            "--oidc-client-secret-file",
            secret.to_str().unwrap(),
            "--oidc-role-map",
            "*=viewer",
        ])
        .unwrap();
        let settings = args
            .oidc_settings("127.0.0.1:3000".parse().unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(
            settings.redirect_uri.as_str(),
            "http://127.0.0.1:3000/login/oidc/callback"
        );
        assert_eq!(settings.role_claim, "groups");
        let err = args
            .oidc_settings("0.0.0.0:3000".parse().unwrap())
            .unwrap_err()
            .to_string();
        assert!(err.contains("give --oidc-redirect-url"), "{err}");
    }
}
