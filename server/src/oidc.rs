//! Single sign-on with OpenID Connect: the authorization code flow with PKCE (S256) against any OpenID provider
//! (Keycloak, Entra ID, Okta, Google, Dex, Authentik, …), as a relying party that keeps no state of its own between
//! the two halves of a sign-in:
//!
//! 1. [`OidcSettings::from_flags`] checks the flags (`--oidc-issuer`, `--oidc-client-id`,
//!    `--oidc-client-secret-file`, `--oidc-redirect-url`, `--oidc-role-claim`, `--oidc-role-map`);
//!    [`OidcClient::discover`] reads the provider's `/.well-known/openid-configuration` (its `issuer` must be
//!    exactly the configured one) and its signing keys (JWKS).
//! 2. [`OidcClient::begin`] → the provider's authorization URL to redirect the browser to, and a [`PendingSignIn`]
//!    (state, nonce, PKCE verifier, time) that the caller keeps server-side (database row or signed cookie) until
//!    the browser comes back to `/login/oidc/callback`.
//! 3. [`OidcClient::finish_callback`] (or [`OidcClient::finish`]) checks the callback's `state` (and `iss`), redeems
//!    the code at the token endpoint (client_secret_basic, or client_secret_post when that is all the provider
//!    offers) with the PKCE verifier, and validates the ID token: signature against the JWKS (RS/PS/ES/EdDSA; never
//!    HMAC or `none`), `iss`, `aud` (and `azp`), `exp`/`nbf`/`iat`, `nonce`. The role claim comes from the ID token,
//!    or from the UserInfo endpoint when the provider keeps it there. → an [`Identity`].
//! 4. [`OidcClient::role_for`] maps its groups to a [`Role`] through the [`RoleMap`]; no role → the sign-in is
//!    refused ([`OidcError::NoRole`]).
//!
//! Every error names what failed: the URL, the endpoint's status and OAuth error, the claim. Text that comes from
//! the provider is escaped and cut ([`loggable`]) before it lands in a message.

use std::{
    path::Path,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use jsonwebtoken::{jwk::Jwk, Algorithm, DecodingKey, Validation};
use rand::RngCore as _;
use reqwest::Url;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

use crate::sso::{loggable, user_name, Role, RoleMap, RoleMapError};

/// The path of the redirect URI to register at the provider (`https://PLANNER/login/oidc/callback`).
pub const CALLBACK_PATH: &str = "/login/oidc/callback";
/// The path that starts an OpenID Connect sign-in.
pub const LOGIN_PATH: &str = "/login/oidc";
/// How long a sign-in may take between [`OidcClient::begin`] and the callback.
pub const MAX_PENDING_AGE: Duration = Duration::from_secs(10 * 60);
/// The most any provider response (discovery, JWKS, token, UserInfo) may carry.
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;
/// Clock skew allowed on `exp`, `nbf` and `iat`.
pub const LEEWAY_SECS: u64 = 60;
/// The signature algorithms accepted on ID tokens: asymmetric only (an HMAC token would be signed with the client
/// secret, which this server also knows; `none` is not a signature).
pub const ID_TOKEN_ALGORITHMS: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];
/// How often the JWKS may be fetched again for an unknown key id (key rotation).
const JWKS_REFRESH: Duration = Duration::from_secs(30);
/// Time limit of one request to the provider.
const HTTP_TIMEOUT: Duration = Duration::from_secs(15);

/// The client secret, read from its file; never printed (`Debug` shows `***`).
#[derive(Clone)]
pub struct ClientSecret(String);

impl ClientSecret {
    /// The secret itself, for the token request.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientSecret(***)")
    }
}

/// A bad single sign-on flag.
#[derive(Debug, thiserror::Error)]
pub enum OidcConfigError {
    #[error(
        "cannot read the OpenID Connect client secret from {path} (--oidc-client-secret-file): {reason}"
    )]
    SecretFile { path: String, reason: String },
    #[error("the OpenID Connect client secret file {path} (--oidc-client-secret-file) is empty")]
    EmptySecret { path: String },
    #[error(
        "the OpenID Connect client secret file {path} holds more than one line: put only the secret in it"
    )]
    MultiLineSecret { path: String },
    #[error("{flag} {value:?} is not a URL: {reason}")]
    BadUrl {
        flag: &'static str,
        value: String,
        reason: String,
    },
    #[error(
        "{flag} {value:?} is plain http on a non-loopback host: use https (http only for 127.0.0.1, [::1] or \
         localhost)"
    )]
    Insecure { flag: &'static str, value: String },
    #[error("{flag} {value:?} must not carry a query or fragment")]
    QueryOrFragment { flag: &'static str, value: String },
    #[error("--oidc-client-id {0:?} is empty or holds control characters")]
    BadClientId(String),
    #[error("--oidc-role-claim {0:?} is empty or holds control characters")]
    BadRoleClaim(String),
    #[error("--oidc-role-map: {0}")]
    RoleMap(#[from] RoleMapError),
}

/// What a sign-in failed on. Messages name the URL, status, OAuth error or claim; provider text is escaped.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("OpenID provider discovery at {url} failed: {reason}")]
    Discovery { url: String, reason: String },
    #[error(
        "the OpenID provider at {url} calls itself {advertised:?}, not {configured:?}: set --oidc-issuer to \
         exactly its issuer"
    )]
    IssuerMismatch {
        url: String,
        configured: String,
        advertised: String,
    },
    #[error("the OpenID provider's {what} {url:?} is not usable: {reason}")]
    BadEndpoint {
        what: &'static str,
        url: String,
        reason: String,
    },
    #[error("the OpenID provider does not support {0}")]
    Unsupported(String),
    #[error("{what} request to {url} failed: {reason}")]
    Http {
        what: &'static str,
        url: String,
        reason: String,
    },
    #[error("the {what} at {url} answered {status}{detail}")]
    Status {
        what: &'static str,
        url: String,
        status: u16,
        detail: String,
    },
    #[error("the {what} at {url} sent something that is not what OpenID Connect specifies: {reason}")]
    BadResponse {
        what: &'static str,
        url: String,
        reason: String,
    },
    #[error("the sign-in was refused at the OpenID provider: {error}{description}")]
    Provider { error: String, description: String },
    #[error("the callback's state does not match this browser's sign-in: start again at /login")]
    StateMismatch,
    #[error("the callback carries no authorization code")]
    MissingCode,
    #[error("the callback comes from issuer {got:?}, not {expected:?} (mix-up protection, RFC 9207)")]
    CallbackIssuer { expected: String, got: String },
    #[error("the sign-in took longer than {} minutes: start again at /login", MAX_PENDING_AGE.as_secs() / 60)]
    Expired,
    #[error("the ID token is not valid: {0}")]
    IdToken(String),
    #[error("the ID token's signing key {kid} is not among the provider's keys at {jwks_uri}")]
    UnknownKey { kid: String, jwks_uri: String },
    #[error("the ID token's nonce does not match this sign-in (replayed or injected token)")]
    Nonce,
    #[error("the {source_name} has no {claim:?} claim")]
    MissingClaim {
        source_name: &'static str,
        claim: String,
    },
    #[error("the {source_name}'s {claim:?} claim {reason}")]
    BadClaim {
        source_name: &'static str,
        claim: String,
        reason: String,
    },
    #[error(
        "{name} signed in, but none of their groups ({groups}) in claim {claim:?} maps to a Peerplan role: ask \
         an administrator to add one of them to --oidc-role-map"
    )]
    NoRole {
        name: String,
        groups: String,
        claim: String,
    },
}

/// The flags of OpenID Connect sign-in, checked.
#[derive(Debug, Clone)]
pub struct OidcSettings {
    /// `--oidc-issuer`: the provider's issuer identifier, exactly as its discovery document states it.
    pub issuer: String,
    /// `--oidc-client-id`.
    pub client_id: String,
    /// From `--oidc-client-secret-file`.
    pub client_secret: ClientSecret,
    /// `--oidc-redirect-url`: where the provider sends the browser back (`…/login/oidc/callback`).
    pub redirect_uri: Url,
    /// `--oidc-role-claim` (default `groups`): top-level claim name, or a dotted path such as
    /// `realm_access.roles` (Keycloak) when no top-level claim has that exact name.
    pub role_claim: String,
    /// `--oidc-role-map`.
    pub role_map: RoleMap,
}

/// Reads the client secret from `path`: surrounding whitespace and the trailing newline trimmed; an empty or
/// multi-line file is refused. Warns when the file is readable by group or others (Unix).
pub fn read_client_secret(path: &Path) -> Result<ClientSecret, OidcConfigError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| OidcConfigError::SecretFile {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    let secret = text.trim();
    if secret.is_empty() {
        return Err(OidcConfigError::EmptySecret { path: shown });
    }
    if secret.contains(['\n', '\r']) {
        return Err(OidcConfigError::MultiLineSecret { path: shown });
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.permissions().mode() & 0o077 != 0 {
                tracing::warn!(
                    file = %shown,
                    "the OpenID Connect client secret file is readable by other users; chmod 600 it"
                );
            }
        }
    }
    Ok(ClientSecret(secret.to_string()))
}

/// Whether `url` may be used: https anywhere, http only on a loopback host.
fn secure_enough(url: &Url) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => url.host_str().is_some_and(|h| {
            h.eq_ignore_ascii_case("localhost")
                || h.trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }),
        _ => false,
    }
}

fn parse_flag_url(flag: &'static str, value: &str) -> Result<Url, OidcConfigError> {
    let url = Url::parse(value.trim()).map_err(|e| OidcConfigError::BadUrl {
        flag,
        value: value.to_string(),
        reason: e.to_string(),
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(OidcConfigError::BadUrl {
            flag,
            value: value.to_string(),
            reason: "it must be an http(s) URL with a host".into(),
        });
    }
    if !secure_enough(&url) {
        return Err(OidcConfigError::Insecure {
            flag,
            value: value.to_string(),
        });
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(OidcConfigError::QueryOrFragment {
            flag,
            value: value.to_string(),
        });
    }
    Ok(url)
}

/// The redirect URI of a server reachable at `base` (`http://127.0.0.1:3000` → `http://127.0.0.1:3000/login/oidc/callback`).
pub fn redirect_uri_for(base: &str) -> String {
    format!("{}{CALLBACK_PATH}", base.trim_end_matches('/'))
}

impl OidcSettings {
    /// Checks the flags' values: URLs (https, or http on loopback), the secret file, the claim name, the role map
    /// (`GROUP=ROLE,…` or `@FILE`, see [`RoleMap::parse_flag`]).
    pub fn from_flags(
        issuer: &str,
        client_id: &str,
        client_secret_file: &Path,
        redirect_uri: &str,
        role_claim: &str,
        role_map: &str,
    ) -> Result<Self, OidcConfigError> {
        parse_flag_url("--oidc-issuer", issuer)?;
        let redirect_uri = parse_flag_url("--oidc-redirect-url", redirect_uri)?;
        if client_id.trim().is_empty() || client_id.chars().any(char::is_control) {
            return Err(OidcConfigError::BadClientId(client_id.to_string()));
        }
        if role_claim.trim().is_empty() || role_claim.chars().any(char::is_control) {
            return Err(OidcConfigError::BadRoleClaim(role_claim.to_string()));
        }
        Ok(OidcSettings {
            // Kept as typed (less surrounding spaces): discovery compares it with the provider's, exactly.
            issuer: issuer.trim().to_string(),
            client_id: client_id.trim().to_string(),
            client_secret: read_client_secret(client_secret_file)?,
            redirect_uri,
            role_claim: role_claim.trim().to_string(),
            role_map: RoleMap::parse_flag(role_map)?,
        })
    }
}

/// The parts of the provider's discovery document this client uses.
#[derive(Debug, Clone, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    #[serde(default)]
    userinfo_endpoint: Option<String>,
    #[serde(default)]
    scopes_supported: Option<Vec<String>>,
    #[serde(default)]
    response_types_supported: Vec<String>,
    #[serde(default)]
    code_challenge_methods_supported: Option<Vec<String>>,
    #[serde(default)]
    token_endpoint_auth_methods_supported: Option<Vec<String>>,
    #[serde(default)]
    authorization_response_iss_parameter_supported: bool,
}

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenAuth {
    /// HTTP Basic with the form-encoded id and secret (the default of OAuth 2.0).
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
}

/// What the caller keeps between [`OidcClient::begin`] and the callback (server-side, or in a signed,
/// `HttpOnly` cookie): it must come back unchanged and only to the browser that started the sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingSignIn {
    /// The `state` sent to the provider; the callback must carry it back.
    pub state: String,
    /// The `nonce` the ID token must carry.
    pub nonce: String,
    /// The PKCE code verifier (its S256 challenge went to the provider).
    pub code_verifier: String,
    /// When the sign-in started (Unix seconds).
    pub created_at: u64,
}

/// The start of a sign-in: where to send the browser, and what to keep.
#[derive(Debug, Clone)]
pub struct SignInStart {
    /// The provider's authorization URL with every parameter.
    pub url: Url,
    /// The pending state to keep until the callback.
    pub pending: PendingSignIn,
}

/// The query of `GET /login/oidc/callback`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CallbackQuery {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    pub iss: Option<String>,
}

/// The token endpoint's answer.
#[derive(Debug, Clone, Deserialize)]
pub struct TokenResponse {
    /// The ID token (a JWS).
    pub id_token: String,
    /// The access token, for the UserInfo endpoint.
    #[serde(default)]
    pub access_token: Option<String>,
    #[serde(default)]
    pub token_type: Option<String>,
}

/// Who signed in, from a validated ID token (and UserInfo).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// The provider's stable, unique id of the person (`sub`).
    pub subject: String,
    /// The Peerplan user name: the first of `preferred_username`, `email`, `sub` that is a valid user name
    /// (lower-cased; [`user_name`]).
    pub name: String,
    /// `email`, when the provider sent one.
    pub email: Option<String>,
    /// The groups in the role claim (an array of names, or one name).
    pub groups: Vec<String>,
}

/// The signing keys of the provider and when they were fetched.
struct KeyCache {
    keys: Vec<Jwk>,
    fetched: Instant,
}

/// An OpenID provider, discovered: what [`begin`](OidcClient::begin) and [`finish`](OidcClient::finish) need.
pub struct OidcClient {
    settings: OidcSettings,
    meta: Discovery,
    authorization_endpoint: Url,
    token_auth: TokenAuth,
    scope: String,
    http: reqwest::Client,
    keys: tokio::sync::Mutex<KeyCache>,
}

impl std::fmt::Debug for OidcClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcClient")
            .field("issuer", &self.settings.issuer)
            .field("client_id", &self.settings.client_id)
            .field("token_auth", &self.token_auth)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// 32 random bytes from the operating system, base64url (43 characters).
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The S256 PKCE challenge of a verifier (RFC 7636 §4.2).
///
/// ```
/// // The example of RFC 7636, appendix B.
/// assert_eq!(
///     server::oidc::pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
///     "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
/// );
/// ```
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Equal in time independent of where the first difference is (state comparison).
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `application/x-www-form-urlencoded` encoding of one value (RFC 6749 §2.3.1 wants it for Basic credentials).
fn form_encode(value: &str) -> String {
    serde_urlencoded::to_string([("", value)])
        .map(|s| s.trim_start_matches('=').to_string())
        .unwrap_or_default()
}

/// Reads a response body up to [`MAX_RESPONSE_BYTES`].
async fn read_capped(
    mut resp: reqwest::Response,
    what: &'static str,
    url: &str,
) -> Result<Vec<u8>, OidcError> {
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| OidcError::Http {
        what,
        url: url.to_string(),
        reason: e.to_string(),
    })? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(OidcError::BadResponse {
                what,
                url: url.to_string(),
                reason: format!("the answer is larger than {MAX_RESPONSE_BYTES} bytes"),
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Sends `req` and reads its answer (at most [`MAX_RESPONSE_BYTES`]); an answer other than 2xx is an error
/// carrying its OAuth error, if it has one.
async fn answer(req: reqwest::RequestBuilder, what: &'static str, url: &str) -> Result<Vec<u8>, OidcError> {
    let resp = req.send().await.map_err(|e| OidcError::Http {
        what,
        url: url.to_string(),
        reason: e.to_string(),
    })?;
    let status = resp.status();
    let body = read_capped(resp, what, url).await?;
    if !status.is_success() {
        return Err(OidcError::Status {
            what,
            url: url.to_string(),
            status: status.as_u16(),
            detail: oauth_error_detail(&body),
        });
    }
    Ok(body)
}

/// The OAuth error of a failed answer (`: invalid_grant (description)`), escaped; empty when the body has none.
fn oauth_error_detail(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct OAuthError {
        error: String,
        #[serde(default)]
        error_description: Option<String>,
    }
    match serde_json::from_slice::<OAuthError>(body) {
        Ok(e) => match e.error_description {
            Some(d) => format!(": {} ({})", loggable(&e.error, 80), loggable(&d, 200)),
            None => format!(": {}", loggable(&e.error, 80)),
        },
        Err(_) => String::new(),
    }
}

/// A claim by name: the top-level claim of exactly that name, else the dotted path (`realm_access.roles`).
fn claim<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    if let Some(v) = claims.get(name) {
        return Some(v);
    }
    let mut parts = name.split('.');
    let mut value = claims.get(parts.next()?)?;
    for part in parts {
        value = value.as_object()?.get(part)?;
    }
    Some(value)
}

/// The groups in a role claim: an array of names (numbers accepted as their text), or one name.
fn groups_of(value: &Value, source_name: &'static str, claim_name: &str) -> Result<Vec<String>, OidcError> {
    let bad = |reason: String| OidcError::BadClaim {
        source_name,
        claim: claim_name.to_string(),
        reason,
    };
    let one = |v: &Value| match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(bad(format!(
            "holds {}, not a group name",
            loggable(&other.to_string(), 60)
        ))),
    };
    match value {
        Value::Array(items) => items.iter().map(one).collect(),
        Value::Null => Ok(Vec::new()),
        other => one(other).map(|g| vec![g]),
    }
}

/// The first of `preferred_username`, `email` (when `email_verified`), `sub` that is a valid Peerplan user name
/// ([`user_name`]).
fn name_of(claims: &Map<String, Value>) -> Option<String> {
    // An e-mail address names the person only when the provider verified it.
    let email_verified = claims.get("email_verified").and_then(Value::as_bool) == Some(true);
    ["preferred_username", "email", "sub"]
        .into_iter()
        .filter(|c| *c != "email" || email_verified)
        .filter_map(|c| claims.get(c).and_then(Value::as_str))
        .find_map(user_name)
}

impl OidcClient {
    /// Discovers the provider of `settings`: reads `ISSUER/.well-known/openid-configuration`, checks that its
    /// `issuer` is exactly the configured one, its endpoints are https (or loopback http), that it supports the
    /// code flow and S256 PKCE, and fetches its keys.
    pub async fn discover(settings: OidcSettings) -> Result<Self, OidcError> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(HTTP_TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("peerplan/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| OidcError::Http {
                what: "OpenID provider",
                url: settings.issuer.clone(),
                reason: e.to_string(),
            })?;
        let url = format!(
            "{}/.well-known/openid-configuration",
            settings.issuer.trim_end_matches('/')
        );
        let failed = |reason: String| OidcError::Discovery {
            url: url.clone(),
            reason,
        };
        let resp = http.get(&url).send().await.map_err(|e| failed(e.to_string()))?;
        let status = resp.status();
        let body = read_capped(resp, "discovery document", &url).await?;
        if !status.is_success() {
            return Err(failed(format!("it answered {status}")));
        }
        let meta: Discovery =
            serde_json::from_slice(&body).map_err(|e| failed(format!("not a discovery document: {e}")))?;
        if meta.issuer != settings.issuer {
            return Err(OidcError::IssuerMismatch {
                url,
                configured: settings.issuer.clone(),
                advertised: loggable(&meta.issuer, 200),
            });
        }
        let endpoint = |what: &'static str, value: &str| -> Result<Url, OidcError> {
            let bad = |reason: &str| OidcError::BadEndpoint {
                what,
                url: loggable(value, 200),
                reason: reason.to_string(),
            };
            let u = Url::parse(value).map_err(|e| bad(&e.to_string()))?;
            if !secure_enough(&u) {
                return Err(bad("plain http on a non-loopback host (https required)"));
            }
            Ok(u)
        };
        let authorization_endpoint = endpoint("authorization_endpoint", &meta.authorization_endpoint)?;
        endpoint("token_endpoint", &meta.token_endpoint)?;
        endpoint("jwks_uri", &meta.jwks_uri)?;
        if let Some(u) = &meta.userinfo_endpoint {
            endpoint("userinfo_endpoint", u)?;
        }
        if !meta.response_types_supported.iter().any(|t| t == "code") {
            return Err(OidcError::Unsupported(
                "the authorization code flow (response_types_supported lacks \"code\")".into(),
            ));
        }
        if let Some(methods) = &meta.code_challenge_methods_supported {
            if !methods.iter().any(|m| m == "S256") {
                return Err(OidcError::Unsupported(
                    "PKCE with S256 (code_challenge_methods_supported lacks \"S256\")".into(),
                ));
            }
        }
        let token_auth = match &meta.token_endpoint_auth_methods_supported {
            None => TokenAuth::ClientSecretBasic,
            Some(m) if m.iter().any(|m| m == "client_secret_basic") => TokenAuth::ClientSecretBasic,
            Some(m) if m.iter().any(|m| m == "client_secret_post") => TokenAuth::ClientSecretPost,
            Some(_) => {
                return Err(OidcError::Unsupported(
                    "client_secret_basic or client_secret_post at its token endpoint".into(),
                ))
            }
        };
        // openid always; profile and email for the name; the role claim's own scope (Okta, Dex, Authentik:
        // `groups`) when the provider lists one of that name.
        let listed = |s: &str| {
            meta.scopes_supported
                .as_ref()
                .is_none_or(|l| l.iter().any(|x| x == s))
        };
        let mut scope = vec!["openid"];
        scope.extend(["profile", "email"].into_iter().filter(|s| listed(s)));
        let claim_scope = settings.role_claim.split('.').next().unwrap_or_default();
        if meta
            .scopes_supported
            .as_ref()
            .is_some_and(|l| l.iter().any(|x| x == claim_scope))
            && !scope.contains(&claim_scope)
        {
            scope.push(claim_scope);
        }
        let scope = scope.join(" ");
        let client = OidcClient {
            settings,
            meta,
            authorization_endpoint,
            token_auth,
            scope,
            http,
            keys: tokio::sync::Mutex::new(KeyCache {
                keys: Vec::new(),
                fetched: Instant::now(),
            }),
        };
        let keys = client.fetch_keys().await?;
        *client.keys.lock().await = KeyCache {
            keys,
            fetched: Instant::now(),
        };
        Ok(client)
    }

    /// The settings this client was built from.
    pub fn settings(&self) -> &OidcSettings {
        &self.settings
    }

    /// The scopes requested (`openid profile email` and the role claim's scope when the provider has one).
    pub fn scope(&self) -> &str {
        &self.scope
    }

    /// How the client authenticates at the token endpoint (from the discovery document).
    pub fn token_auth(&self) -> TokenAuth {
        self.token_auth
    }

    /// Starts a sign-in: fresh state, nonce and PKCE verifier; the authorization URL carries
    /// `response_type=code`, `client_id`, `redirect_uri`, `scope`, `state`, `nonce`, `code_challenge` and
    /// `code_challenge_method=S256`.
    pub fn begin(&self) -> SignInStart {
        let pending = PendingSignIn {
            state: random_token(),
            nonce: random_token(),
            code_verifier: random_token(),
            created_at: now_secs(),
        };
        let mut url = self.authorization_endpoint.clone();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.settings.client_id)
            .append_pair("redirect_uri", self.settings.redirect_uri.as_str())
            .append_pair("scope", &self.scope)
            .append_pair("state", &pending.state)
            .append_pair("nonce", &pending.nonce)
            .append_pair("code_challenge", &pkce_challenge(&pending.code_verifier))
            .append_pair("code_challenge_method", "S256");
        SignInStart { url, pending }
    }

    /// Finishes a sign-in from the callback's whole query: an `error` from the provider, a wrong `state` or `iss`,
    /// a missing code are refused before anything else; then [`finish`](Self::finish).
    pub async fn finish_callback(
        &self,
        pending: &PendingSignIn,
        query: &CallbackQuery,
    ) -> Result<Identity, OidcError> {
        let state = query.state.as_deref().unwrap_or_default();
        if !same(state, &pending.state) {
            return Err(OidcError::StateMismatch);
        }
        if let Some(error) = &query.error {
            return Err(OidcError::Provider {
                error: loggable(error, 80),
                description: query
                    .error_description
                    .as_deref()
                    .map(|d| format!(" ({})", loggable(d, 200)))
                    .unwrap_or_default(),
            });
        }
        match &query.iss {
            Some(iss) if iss != &self.settings.issuer => {
                return Err(OidcError::CallbackIssuer {
                    expected: self.settings.issuer.clone(),
                    got: loggable(iss, 200),
                })
            }
            None if self.meta.authorization_response_iss_parameter_supported => {
                return Err(OidcError::CallbackIssuer {
                    expected: self.settings.issuer.clone(),
                    got: "(none)".into(),
                })
            }
            _ => {}
        }
        let code = query
            .code
            .as_deref()
            .filter(|c| !c.is_empty())
            .ok_or(OidcError::MissingCode)?;
        self.finish(pending, code, state).await
    }

    /// Finishes a sign-in: checks `state` and the sign-in's age, redeems `code` at the token endpoint with the
    /// PKCE verifier, validates the ID token ([`validate_id_token`](Self::validate_id_token)) and reads the
    /// identity (the role claim from UserInfo when the ID token lacks it).
    pub async fn finish(
        &self,
        pending: &PendingSignIn,
        code: &str,
        state: &str,
    ) -> Result<Identity, OidcError> {
        if !same(state, &pending.state) {
            return Err(OidcError::StateMismatch);
        }
        if now_secs().saturating_sub(pending.created_at) > MAX_PENDING_AGE.as_secs() {
            return Err(OidcError::Expired);
        }
        let tokens = self.exchange_code(pending, code).await?;
        let claims = self.validate_id_token(&tokens.id_token, &pending.nonce).await?;
        self.identity(claims, tokens.access_token.as_deref()).await
    }

    /// Redeems an authorization code at the token endpoint (`grant_type=authorization_code`, `redirect_uri`,
    /// `code_verifier`), authenticated as the discovery document allows.
    pub async fn exchange_code(
        &self,
        pending: &PendingSignIn,
        code: &str,
    ) -> Result<TokenResponse, OidcError> {
        const WHAT: &str = "token endpoint";
        let url = &self.meta.token_endpoint;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", self.settings.redirect_uri.as_str()),
            ("code_verifier", pending.code_verifier.as_str()),
        ];
        let mut req = self.http.post(url).header("accept", "application/json");
        match self.token_auth {
            TokenAuth::ClientSecretBasic => {
                let credentials = format!(
                    "{}:{}",
                    form_encode(&self.settings.client_id),
                    form_encode(self.settings.client_secret.expose())
                );
                req = req.header(
                    "authorization",
                    format!(
                        "Basic {}",
                        base64::engine::general_purpose::STANDARD.encode(credentials)
                    ),
                );
            }
            TokenAuth::ClientSecretPost => {
                form.push(("client_id", self.settings.client_id.as_str()));
                form.push(("client_secret", self.settings.client_secret.expose()));
            }
        }
        let body = answer(req.form(&form), WHAT, url).await?;
        let tokens: TokenResponse = serde_json::from_slice(&body).map_err(|e| OidcError::BadResponse {
            what: WHAT,
            url: url.clone(),
            reason: format!("no usable token response ({e})"),
        })?;
        if let Some(t) = &tokens.token_type {
            if !t.eq_ignore_ascii_case("bearer") {
                return Err(OidcError::BadResponse {
                    what: WHAT,
                    url: url.clone(),
                    reason: format!("token_type {:?} is not Bearer", loggable(t, 40)),
                });
            }
        }
        Ok(tokens)
    }

    /// Fetches the provider's JWKS: its signature keys (keys for encryption, or of types this client cannot use,
    /// are left out).
    async fn fetch_keys(&self) -> Result<Vec<Jwk>, OidcError> {
        const WHAT: &str = "JWKS";
        let url = &self.meta.jwks_uri;
        let body = answer(self.http.get(url), WHAT, url).await?;
        #[derive(Deserialize)]
        struct Set {
            keys: Vec<Value>,
        }
        let set: Set = serde_json::from_slice(&body).map_err(|e| OidcError::BadResponse {
            what: WHAT,
            url: url.clone(),
            reason: format!("not a JWK set ({e})"),
        })?;
        Ok(set
            .keys
            .into_iter()
            .filter(|k| k.get("use").and_then(Value::as_str).is_none_or(|u| u == "sig"))
            .filter_map(|k| serde_json::from_value::<Jwk>(k).ok())
            .collect())
    }

    /// The key for an ID token's header: by `kid`, or the only key when the token names none. An unknown `kid`
    /// re-reads the JWKS (at most every 30 s) in case the provider rotated its keys.
    async fn key_for(&self, kid: Option<&str>) -> Result<Jwk, OidcError> {
        let pick = |keys: &[Jwk]| -> Option<Jwk> {
            match kid {
                Some(kid) => keys
                    .iter()
                    .find(|k| k.common.key_id.as_deref() == Some(kid))
                    .cloned(),
                None if keys.len() == 1 => keys.first().cloned(),
                None => None,
            }
        };
        let mut cache = self.keys.lock().await;
        if let Some(key) = pick(&cache.keys) {
            return Ok(key);
        }
        if cache.fetched.elapsed() >= JWKS_REFRESH {
            cache.keys = self.fetch_keys().await?;
            cache.fetched = Instant::now();
            if let Some(key) = pick(&cache.keys) {
                return Ok(key);
            }
        }
        Err(OidcError::UnknownKey {
            kid: kid.map_or_else(
                || "(none, and the JWKS has several keys)".into(),
                |k| loggable(k, 80),
            ),
            jwks_uri: self.meta.jwks_uri.clone(),
        })
    }

    /// Validates an ID token: an asymmetric signature by one of the provider's keys, `iss` equal to the issuer,
    /// `aud` containing the client id (and `azp`, when present, equal to it), `exp` in the future, `nbf` and `iat`
    /// not in the future (60 s leeway), a `sub`, and the sign-in's `nonce`. Returns its claims.
    pub async fn validate_id_token(
        &self,
        id_token: &str,
        nonce: &str,
    ) -> Result<Map<String, Value>, OidcError> {
        let bad = |s: String| OidcError::IdToken(s);
        let header = jsonwebtoken::decode_header(id_token).map_err(|e| {
            bad(format!(
                "its header cannot be read ({e}); only RS*, PS*, ES* and EdDSA are accepted"
            ))
        })?;
        if !ID_TOKEN_ALGORITHMS.contains(&header.alg) {
            return Err(bad(format!(
                "it is signed with {:?}; only RS*, PS*, ES* and EdDSA are accepted",
                header.alg
            )));
        }
        let jwk = self.key_for(header.kid.as_deref()).await?;
        if let Some(key_alg) = &jwk.common.key_algorithm {
            if key_alg.to_string() != format!("{:?}", header.alg) {
                return Err(bad(format!(
                    "its header says {:?} but key {} is for {key_alg}",
                    header.alg,
                    jwk.common.key_id.as_deref().unwrap_or("(no kid)")
                )));
            }
        }
        let key =
            DecodingKey::from_jwk(&jwk).map_err(|e| bad(format!("the provider's key is unusable ({e})")))?;
        let mut validation = Validation::new(header.alg);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        // iss and aud are checked below, with messages that say what was found.
        validation.validate_aud = false;
        validation.required_spec_claims = ["exp", "iss", "aud", "sub"]
            .into_iter()
            .map(String::from)
            .collect();
        let data = jsonwebtoken::decode::<Map<String, Value>>(id_token, &key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            bad(match e.kind() {
                K::InvalidSignature => format!(
                    "its signature does not verify against the provider's key {}",
                    jwk.common.key_id.as_deref().unwrap_or("(no kid)")
                ),
                K::ExpiredSignature => "it has expired (exp)".into(),
                K::ImmatureSignature => "it is not valid yet (nbf)".into(),
                K::MissingRequiredClaim(c) => format!("it has no {c:?} claim"),
                other => format!("{other:?}"),
            })
        })?;
        let claims = data.claims;
        let iss = claims.get("iss").and_then(Value::as_str).unwrap_or_default();
        if iss != self.settings.issuer {
            return Err(bad(format!(
                "it was issued by {:?}, not {:?} (iss)",
                loggable(iss, 200),
                self.settings.issuer
            )));
        }
        let client_id = &self.settings.client_id;
        let audiences: Vec<&str> = match claims.get("aud") {
            Some(Value::String(a)) => vec![a.as_str()],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if !audiences.iter().any(|a| a == client_id) {
            return Err(bad(format!(
                "it was issued to {:?}, not to this client {client_id:?} (aud)",
                loggable(&audiences.join(", "), 200)
            )));
        }
        if let Some(azp) = claims.get("azp").and_then(Value::as_str) {
            if azp != client_id {
                return Err(bad(format!(
                    "its authorized party is {:?}, not this client {client_id:?} (azp)",
                    loggable(azp, 200)
                )));
            }
        }
        match claims.get("iat").and_then(Value::as_u64) {
            None => return Err(bad("it has no \"iat\" claim".into())),
            Some(iat) if iat > now_secs() + LEEWAY_SECS => {
                return Err(bad("it was issued in the future (iat)".into()))
            }
            Some(_) => {}
        }
        match claims.get("nonce").and_then(Value::as_str) {
            Some(n) if same(n, nonce) => {}
            _ => return Err(OidcError::Nonce),
        }
        Ok(claims)
    }

    /// The identity in validated ID token claims; the role claim (and missing names) from the UserInfo endpoint
    /// when the ID token does not carry it and there is an access token. UserInfo must name the same `sub`.
    pub async fn identity(
        &self,
        mut claims: Map<String, Value>,
        access_token: Option<&str>,
    ) -> Result<Identity, OidcError> {
        let role_claim = self.settings.role_claim.clone();
        if claim(&claims, &role_claim).is_none() {
            if let (Some(endpoint), Some(token)) = (&self.meta.userinfo_endpoint, access_token) {
                let info = self.userinfo(endpoint, token).await?;
                if info.get("sub") != claims.get("sub") {
                    return Err(OidcError::BadClaim {
                        source_name: "UserInfo response",
                        claim: "sub".into(),
                        reason: "differs from the ID token's (token substitution)".into(),
                    });
                }
                for (k, v) in info {
                    claims.entry(k).or_insert(v);
                }
            }
        }
        let subject = match claims.get("sub").and_then(Value::as_str) {
            Some(s) if !s.is_empty() => s.to_string(),
            _ => {
                return Err(OidcError::MissingClaim {
                    source_name: "ID token",
                    claim: "sub".into(),
                })
            }
        };
        let email = claims
            .get("email")
            .and_then(Value::as_str)
            .filter(|e| !e.is_empty() && !e.chars().any(char::is_control))
            .map(str::to_string);
        let name = name_of(&claims).ok_or_else(|| OidcError::BadClaim {
            source_name: "ID token",
            claim: "preferred_username".into(),
            reason: format!(
                "(nor email, nor sub) is a usable user name: {}",
                crate::proxy_auth::NAME_RULE
            ),
        })?;
        let groups = match claim(&claims, &role_claim) {
            Some(v) => groups_of(v, "ID token", &role_claim)?,
            None => Vec::new(),
        };
        Ok(Identity {
            subject,
            name,
            email,
            groups,
        })
    }

    /// Reads the UserInfo endpoint with the access token (JSON answers only).
    async fn userinfo(&self, url: &str, access_token: &str) -> Result<Map<String, Value>, OidcError> {
        const WHAT: &str = "UserInfo endpoint";
        let req = self
            .http
            .get(url)
            .bearer_auth(access_token)
            .header("accept", "application/json");
        let body = answer(req, WHAT, url).await?;
        serde_json::from_slice(&body).map_err(|e| OidcError::BadResponse {
            what: WHAT,
            url: url.to_string(),
            reason: format!("not a JSON object ({e}); signed or encrypted UserInfo is not supported"),
        })
    }

    /// The role of an identity: the highest role any of its groups maps to; `None` when none does.
    pub fn role_for(&self, identity: &Identity) -> Option<Role> {
        self.settings.role_map.role_for(&identity.groups)
    }

    /// The role of an identity, or the refusal to show when none of its groups maps to one.
    pub fn authorize(&self, identity: &Identity) -> Result<Role, OidcError> {
        self.role_for(identity).ok_or_else(|| OidcError::NoRole {
            name: loggable(&identity.name, 128),
            groups: if identity.groups.is_empty() {
                "none".into()
            } else {
                loggable(&identity.groups.join(", "), 200)
            },
            claim: self.settings.role_claim.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pkce_verifiers_and_states_are_long_and_fresh() {
        let a = random_token();
        let b = random_token();
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
    }

    #[test]
    fn state_comparison() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "abcd"));
        assert!(!same("", "a"));
    }

    #[test]
    fn basic_credentials_are_form_encoded() {
        assert_eq!(form_encode("a b:c/d+é"), "a+b%3Ac%2Fd%2B%C3%A9");
        assert_eq!(form_encode("peerplan"), "peerplan");
    }

    #[test]
    fn the_client_secret_file_is_trimmed_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, "s3cret\n").unwrap();
        assert_eq!(read_client_secret(&path).unwrap().expose(), "s3cret");
        assert_eq!(
            format!("{:?}", read_client_secret(&path).unwrap()),
            "ClientSecret(***)"
        );
        std::fs::write(&path, "\r\n").unwrap();
        assert_eq!(
            read_client_secret(&path).unwrap_err().to_string(),
            format!(
                "the OpenID Connect client secret file {} (--oidc-client-secret-file) is empty",
                path.display()
            )
        );
        std::fs::write(&path, "one\ntwo\n").unwrap();
        assert!(matches!(
            read_client_secret(&path),
            Err(OidcConfigError::MultiLineSecret { .. })
        ));
        let missing = dir.path().join("nope");
        let err = read_client_secret(&missing).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!(
                "cannot read the OpenID Connect client secret from {} (--oidc-client-secret-file): ",
                missing.display()
            )),
            "{err}"
        );
    }

    #[test]
    fn flags_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "s\n").unwrap();
        let cb = "http://127.0.0.1:3000/login/oidc/callback";
        let ok = OidcSettings::from_flags(
            "https://id.example.com/realms/x",
            "peerplan",
            &secret,
            cb,
            "groups",
            "*=viewer",
        )
        .unwrap();
        assert_eq!(ok.issuer, "https://id.example.com/realms/x");
        let err = |issuer: &str, redirect: &str, claim: &str, map: &str| {
            OidcSettings::from_flags(issuer, "peerplan", &secret, redirect, claim, map)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err("http://id.example.com", cb, "groups", "*=viewer"),
            "--oidc-issuer \"http://id.example.com\" is plain http on a non-loopback host: use https (http only \
             for 127.0.0.1, [::1] or localhost)"
        );
        assert!(err("id.example.com", cb, "groups", "*=viewer")
            .starts_with("--oidc-issuer \"id.example.com\" is not a URL"));
        assert!(err("ftp://id.example.com", cb, "groups", "*=viewer").contains("http(s) URL"));
        assert_eq!(
            err(
                "https://id.example.com",
                "https://p.example.com/cb?x=1",
                "groups",
                "*=viewer"
            ),
            "--oidc-redirect-url \"https://p.example.com/cb?x=1\" must not carry a query or fragment"
        );
        assert_eq!(
            err("https://id.example.com", cb, " ", "*=viewer"),
            "--oidc-role-claim \" \" is empty or holds control characters"
        );
        assert_eq!(
            err("https://id.example.com", cb, "groups", "netops=boss"),
            "--oidc-role-map: role map entry \"netops=boss\": \"boss\" is not a role: use viewer, planner, \
             applier or admin"
        );
        assert!(
            OidcSettings::from_flags("http://localhost:8080", "", &secret, cb, "groups", "*=viewer").is_err()
        );
        assert_eq!(redirect_uri_for("http://127.0.0.1:3000/"), cb);
    }

    #[test]
    fn claims_by_name_or_path_and_groups_in_any_shape() {
        let claims = json!({
            "groups": ["a", "b"],
            "one": "solo",
            "ids": [7, "x"],
            "realm_access": {"roles": ["admin-role"]},
            "https://example.com/groups": ["ns"],
            "bad": [{"x": 1}],
        });
        let claims = claims.as_object().unwrap();
        let g = |name: &str| groups_of(claim(claims, name).unwrap(), "ID token", name);
        assert_eq!(g("groups").unwrap(), ["a", "b"]);
        assert_eq!(g("one").unwrap(), ["solo"]);
        assert_eq!(g("ids").unwrap(), ["7", "x"]);
        assert_eq!(g("realm_access.roles").unwrap(), ["admin-role"]);
        assert_eq!(g("https://example.com/groups").unwrap(), ["ns"]);
        assert_eq!(
            g("bad").unwrap_err().to_string(),
            "the ID token's \"bad\" claim holds {\"x\":1}, not a group name"
        );
        assert!(claim(claims, "realm_access.nope").is_none());
    }

    #[test]
    fn the_user_name_is_the_first_usable_name_claim() {
        let name = |v: serde_json::Value| name_of(v.as_object().unwrap());
        assert_eq!(
            name(json!({"preferred_username": "Alice", "sub": "1"})),
            Some("alice".into())
        );
        assert_eq!(
            name(
                json!({"preferred_username": "Alice Smith", "email": "Alice@Example.com", "email_verified": true,
                        "sub": "1"})
            ),
            Some("alice@example.com".into())
        );
        // An address the provider did not verify names nobody.
        assert_eq!(
            name(json!({"preferred_username": "Alice Smith", "email": "Alice@Example.com", "sub": "1"})),
            Some("1".into())
        );
        // Not ASCII (the Kelvin sign would fold onto `k`), or reserved: not a name.
        assert_eq!(
            name(json!({"preferred_username": "\u{212A}arl", "sub": "2"})),
            Some("2".into())
        );
        assert_eq!(
            name(json!({"preferred_username": "local", "sub": "3"})),
            Some("3".into())
        );
        assert_eq!(
            name(json!({"preferred_username": "A B", "sub": "248289761001"})),
            Some("248289761001".into())
        );
        assert_eq!(name(json!({"preferred_username": "A B", "sub": "a b"})), None);
    }

    #[test]
    fn oauth_errors_are_escaped() {
        assert_eq!(
            oauth_error_detail(br#"{"error":"invalid_grant","error_description":"bad\u001b[31m"}"#),
            ": invalid_grant (bad\\u{1b}[31m)"
        );
        assert_eq!(oauth_error_detail(b"<html>"), "");
    }
}
