//! OpenID Connect sign-in against a real OpenID provider on loopback (npm `oidc-provider`, started by each test
//! from `scripts/oidc-provider.mjs`): the whole authorization code + PKCE flow walked as a browser would, the
//! identity and role mapping, and the refusals — wrong state, replayed code, wrong PKCE verifier, wrong nonce,
//! tampered or forged ID tokens, a token for another client, a user whose groups map to no role, an expired sign-in,
//! a cancelled consent, a wrong issuer. Missing `node`/`tools/oidc` skips loudly, or fails with
//! `PEERPLAN_REQUIRE_OIDC=1`.

#[path = "common/oidc_provider.rs"]
mod oidc_provider;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use oidc_provider::{sign_in_at_provider, OidcProvider, CLIENT_ID, CLIENT_SECRET, PASSWORD};
use server::{
    oidc::{CallbackQuery, Identity, OidcClient, OidcError, OidcSettings, PendingSignIn},
    sso::Role,
};

/// Nothing listens here: the tests stop at the provider's redirect and read the code from its `Location`.
const REDIRECT: &str = "http://127.0.0.1:9/login/oidc/callback";

struct Setup {
    provider: OidcProvider,
    _dir: tempfile::TempDir,
    secret_file: std::path::PathBuf,
}

fn setup(claims_in: &str) -> Option<Setup> {
    let provider = OidcProvider::start(REDIRECT, claims_in)?;
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("client-secret");
    std::fs::write(&secret_file, format!("{CLIENT_SECRET}\n")).unwrap();
    Some(Setup {
        provider,
        _dir: dir,
        secret_file,
    })
}

impl Setup {
    async fn client(&self, client_id: &str, secret: &str, role_map: &str) -> OidcClient {
        std::fs::write(&self.secret_file, format!("{secret}\n")).unwrap();
        let settings = OidcSettings::from_flags(
            &self.provider.issuer,
            client_id,
            &self.secret_file,
            REDIRECT,
            "groups",
            role_map,
        )
        .unwrap();
        OidcClient::discover(settings).await.unwrap()
    }

    async fn peerplan(&self, role_map: &str) -> OidcClient {
        self.client(CLIENT_ID, CLIENT_SECRET, role_map).await
    }

    /// begin → the provider's pages as `user` → the callback's query, and the pending sign-in.
    async fn callback(&self, client: &OidcClient, user: &str) -> (PendingSignIn, CallbackQuery) {
        let start = client.begin();
        let url = sign_in_at_provider(
            &self.provider.issuer,
            start.url.as_str(),
            REDIRECT,
            user,
            PASSWORD,
            true,
        )
        .await
        .unwrap_or_else(|(status, page)| panic!("sign-in as {user} stopped at {status}: {page}"));
        (start.pending, query_of(&url))
    }
}

fn query_of(url: &str) -> CallbackQuery {
    let query = url.split_once('?').expect("the callback has a query").1;
    serde_urlencoded::from_str(query).unwrap()
}

const MAP: &str = "netops=admin,planners=planner";

#[tokio::test]
async fn users_sign_in_and_get_the_role_their_groups_map_to() {
    let Some(s) = setup("id_token") else { return };
    let client = s.peerplan(MAP).await;
    assert_eq!(client.scope(), "openid profile email groups");
    assert_eq!(client.token_auth(), server::oidc::TokenAuth::ClientSecretBasic);

    let start = client.begin();
    let params: std::collections::BTreeMap<String, String> = start.url.query_pairs().into_owned().collect();
    assert_eq!(params["response_type"], "code");
    assert_eq!(params["client_id"], CLIENT_ID);
    assert_eq!(params["redirect_uri"], REDIRECT);
    assert_eq!(params["code_challenge_method"], "S256");
    assert_eq!(
        params["code_challenge"],
        server::oidc::pkce_challenge(&start.pending.code_verifier)
    );
    assert_eq!(params["state"], start.pending.state);
    assert_eq!(params["nonce"], start.pending.nonce);
    // The pending state survives a round trip through JSON (a cookie or a database row).
    let kept: PendingSignIn = serde_json::from_str(&serde_json::to_string(&start.pending).unwrap()).unwrap();
    assert_eq!(kept, start.pending);

    let (pending, query) = s.callback(&client, "alice").await;
    assert_eq!(query.iss.as_deref(), Some(s.provider.issuer.as_str()));
    let alice = client.finish_callback(&pending, &query).await.unwrap();
    assert_eq!(
        alice,
        Identity {
            subject: "alice".into(),
            name: "alice".into(),
            email: Some("alice@example.test".into()),
            groups: vec!["netops".into()],
        }
    );
    assert_eq!(client.role_for(&alice), Some(Role::Admin));
    assert_eq!(client.authorize(&alice).unwrap(), Role::Admin);

    let (pending, query) = s.callback(&client, "bob").await;
    let bob = client.finish_callback(&pending, &query).await.unwrap();
    assert_eq!(bob.groups, ["planners"]);
    assert_eq!(client.authorize(&bob).unwrap(), Role::Planner);

    // `groups` as one string rather than a list.
    let (pending, query) = s.callback(&client, "dave").await;
    let dave = client.finish_callback(&pending, &query).await.unwrap();
    assert_eq!(dave.groups, ["planners"]);
    assert_eq!(client.role_for(&dave), Some(Role::Planner));
}

#[tokio::test]
async fn a_user_whose_groups_map_to_no_role_is_refused() {
    let Some(s) = setup("id_token") else { return };
    let client = s.peerplan(MAP).await;

    let (pending, query) = s.callback(&client, "carol").await;
    let carol = client.finish_callback(&pending, &query).await.unwrap();
    assert!(carol.groups.is_empty());
    assert_eq!(client.role_for(&carol), None);
    assert_eq!(
        client.authorize(&carol).unwrap_err().to_string(),
        "carol signed in, but none of their groups (none) in claim \"groups\" maps to a Peerplan role: ask an \
         administrator to add one of them to --oidc-role-map"
    );

    let (pending, query) = s.callback(&client, "erin").await;
    let erin = client.finish_callback(&pending, &query).await.unwrap();
    let refusal = client.authorize(&erin).unwrap_err().to_string();
    assert!(refusal.contains("(auditors, netops-admins)"), "{refusal}");

    // With `*=viewer` everyone who signs in is at least a viewer.
    let open = s.peerplan("netops=admin,*=viewer").await;
    let (pending, query) = s.callback(&open, "carol").await;
    let carol = open.finish_callback(&pending, &query).await.unwrap();
    assert_eq!(open.authorize(&carol).unwrap(), Role::Viewer);
}

#[tokio::test]
async fn the_role_claim_comes_from_userinfo_when_the_id_token_lacks_it() {
    let Some(s) = setup("userinfo") else { return };
    let client = s.peerplan(MAP).await;
    let (pending, query) = s.callback(&client, "alice").await;
    let tokens = client
        .exchange_code(&pending, query.code.as_deref().unwrap())
        .await
        .unwrap();
    let claims = client
        .validate_id_token(&tokens.id_token, &pending.nonce)
        .await
        .unwrap();
    assert!(
        !claims.contains_key("groups"),
        "the provider keeps groups out of the ID token: {claims:?}"
    );
    let alice = client
        .identity(claims, tokens.access_token.as_deref())
        .await
        .unwrap();
    assert_eq!(alice.groups, ["netops"]);
    assert_eq!(alice.email.as_deref(), Some("alice@example.test"));
    assert_eq!(client.authorize(&alice).unwrap(), Role::Admin);
}

#[tokio::test]
async fn a_wrong_state_is_refused_before_the_code_is_redeemed() {
    let Some(s) = setup("id_token") else { return };
    let client = s.peerplan(MAP).await;
    let (pending, query) = s.callback(&client, "alice").await;
    let code = query.code.clone().unwrap();

    let forged = CallbackQuery {
        state: Some("forged".into()),
        ..query.clone()
    };
    assert!(matches!(
        client.finish_callback(&pending, &forged).await,
        Err(OidcError::StateMismatch)
    ));
    let none = CallbackQuery {
        state: None,
        ..query.clone()
    };
    assert!(matches!(
        client.finish_callback(&pending, &none).await,
        Err(OidcError::StateMismatch)
    ));
    assert!(matches!(
        client.finish(&pending, &code, "").await,
        Err(OidcError::StateMismatch)
    ));
    // Another browser's sign-in (its own pending state) with this callback: refused too.
    let other = client.begin().pending;
    assert!(matches!(
        client.finish_callback(&other, &query).await,
        Err(OidcError::StateMismatch)
    ));
    // A callback claiming another issuer (mix-up): refused.
    let mixed = CallbackQuery {
        iss: Some("http://127.0.0.1:1".into()),
        ..query.clone()
    };
    let err = client
        .finish_callback(&pending, &mixed)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("not \"http://127.0.0.1:"), "{err}");

    // None of those redeemed the code: the right state still signs in.
    assert_eq!(
        client.finish_callback(&pending, &query).await.unwrap().name,
        "alice"
    );
}

#[tokio::test]
async fn a_replayed_code_and_a_wrong_verifier_are_refused_by_the_provider() {
    let Some(s) = setup("id_token") else { return };
    let client = s.peerplan(MAP).await;

    let (pending, query) = s.callback(&client, "bob").await;
    client.finish_callback(&pending, &query).await.unwrap();
    let replay = client.finish_callback(&pending, &query).await.unwrap_err();
    let text = replay.to_string();
    assert!(matches!(replay, OidcError::Status { status: 400, .. }), "{text}");
    assert!(
        text.starts_with(&format!(
            "the token endpoint at {}/token answered 400: invalid_grant",
            s.provider.issuer
        )),
        "{text}"
    );

    // PKCE: a code redeemed with another verifier (stolen code, attacker's own sign-in state).
    let (pending, query) = s.callback(&client, "bob").await;
    let stolen = PendingSignIn {
        code_verifier: client.begin().pending.code_verifier,
        ..pending
    };
    let err = client
        .finish_callback(&stolen, &query)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("answered 400: invalid_grant"), "{err}");
}

#[tokio::test]
async fn a_wrong_nonce_is_refused() {
    let Some(s) = setup("id_token") else { return };
    let client = s.peerplan(MAP).await;
    let (pending, query) = s.callback(&client, "alice").await;
    let injected = PendingSignIn {
        nonce: "not-the-nonce-sent".into(),
        ..pending
    };
    let err = client.finish_callback(&injected, &query).await.unwrap_err();
    assert!(matches!(err, OidcError::Nonce), "{err}");
    assert_eq!(
        err.to_string(),
        "the ID token's nonce does not match this sign-in (replayed or injected token)"
    );
}

#[tokio::test]
async fn tampered_and_forged_id_tokens_are_refused() {
    let Some(s) = setup("id_token") else { return };
    let client = s.peerplan(MAP).await;
    let (pending, query) = s.callback(&client, "bob").await;
    let tokens = client
        .exchange_code(&pending, query.code.as_deref().unwrap())
        .await
        .unwrap();
    let token = tokens.id_token;
    // The real token is fine.
    client.validate_id_token(&token, &pending.nonce).await.unwrap();

    let parts: Vec<&str> = token.split('.').collect();
    let mut claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["groups"] = serde_json::json!(["netops"]);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());

    // bob's token made to say netops, signature kept.
    let tampered = format!("{}.{payload}.{}", parts[0], parts[2]);
    let err = client
        .validate_id_token(&tampered, &pending.nonce)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("the ID token is not valid: its signature does not verify"),
        "{err}"
    );

    // The same claims unsigned (`alg: none`).
    let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let unsigned = format!("{none_header}.{payload}.");
    let err = client
        .validate_id_token(&unsigned, &pending.nonce)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("the ID token is not valid: its header cannot be read"),
        "{err}"
    );

    // Signed with HMAC and the client secret (which the relying party knows too).
    let forged = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(CLIENT_SECRET.as_bytes()),
    )
    .unwrap();
    let err = client
        .validate_id_token(&forged, &pending.nonce)
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "the ID token is not valid: it is signed with HS256; only RS*, PS*, ES* and EdDSA are accepted"
    );

    // A key id the provider does not have.
    let mut header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    header["kid"] = serde_json::json!("someone-elses-key");
    let other_kid = format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        parts[1],
        parts[2]
    );
    let err = client
        .validate_id_token(&other_kid, &pending.nonce)
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        format!(
            "the ID token's signing key someone-elses-key is not among the provider's keys at {}/jwks",
            s.provider.issuer
        )
    );

    // Not a JWT at all.
    let err = client
        .validate_id_token("garbage", &pending.nonce)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("the ID token is not valid"), "{err}");
}

#[tokio::test]
async fn an_id_token_issued_to_another_client_is_refused() {
    let Some(s) = setup("id_token") else { return };
    let other = s
        .client(
            oidc_provider::OTHER_CLIENT_ID,
            oidc_provider::OTHER_CLIENT_SECRET,
            MAP,
        )
        .await;
    let (pending, query) = s.callback(&other, "alice").await;
    let tokens = other
        .exchange_code(&pending, query.code.as_deref().unwrap())
        .await
        .unwrap();
    // Valid for the client it was issued to…
    other
        .validate_id_token(&tokens.id_token, &pending.nonce)
        .await
        .unwrap();
    // …not for Peerplan.
    let peerplan = s.peerplan(MAP).await;
    let err = peerplan
        .validate_id_token(&tokens.id_token, &pending.nonce)
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "the ID token is not valid: it was issued to \"other-app\", not to this client \"peerplan\" (aud)"
    );
}

#[tokio::test]
async fn a_wrong_client_secret_is_named() {
    let Some(s) = setup("id_token") else { return };
    let client = s.client(CLIENT_ID, "not-the-secret", MAP).await;
    let (pending, query) = s.callback(&client, "alice").await;
    let err = client
        .finish_callback(&pending, &query)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!(
            "the token endpoint at {}/token answered 401: invalid_client",
            s.provider.issuer
        )),
        "{err}"
    );
}

#[tokio::test]
async fn expired_cancelled_and_wrong_password_sign_ins_are_refused() {
    let Some(s) = setup("id_token") else { return };
    let client = s.peerplan(MAP).await;

    let (pending, query) = s.callback(&client, "alice").await;
    let old = PendingSignIn {
        created_at: pending.created_at - 11 * 60,
        ..pending
    };
    let err = client
        .finish_callback(&old, &query)
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "the sign-in took longer than 10 minutes: start again at /login"
    );

    // The person cancels at the consent page: the provider redirects back with an error.
    let start = client.begin();
    let url = sign_in_at_provider(
        &s.provider.issuer,
        start.url.as_str(),
        REDIRECT,
        "bob",
        PASSWORD,
        false,
    )
    .await
    .unwrap();
    let err = client
        .finish_callback(&start.pending, &query_of(&url))
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "the sign-in was refused at the OpenID provider: access_denied (End-User aborted interaction)"
    );

    // A wrong password never gets back to Peerplan.
    let start = client.begin();
    let (status, page) = sign_in_at_provider(
        &s.provider.issuer,
        start.url.as_str(),
        REDIRECT,
        "alice",
        "guess",
        true,
    )
    .await
    .unwrap_err();
    assert_eq!(status, 401);
    assert!(page.contains("Invalid login or password."), "{page}");
}

#[tokio::test]
async fn discovery_checks_the_issuer() {
    let Some(s) = setup("id_token") else { return };
    std::fs::write(&s.secret_file, "x\n").unwrap();
    let settings = |issuer: &str| {
        OidcSettings::from_flags(issuer, CLIENT_ID, &s.secret_file, REDIRECT, "groups", MAP).unwrap()
    };
    let with_slash = format!("{}/", s.provider.issuer);
    let err = OidcClient::discover(settings(&with_slash))
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        format!(
            "the OpenID provider at {0}/.well-known/openid-configuration calls itself \"{0}\", not \"{0}/\": set \
             --oidc-issuer to exactly its issuer",
            s.provider.issuer
        )
    );
    let err = OidcClient::discover(settings(&format!("{}/realms/none", s.provider.issuer)))
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        format!(
            "OpenID provider discovery at {}/realms/none/.well-known/openid-configuration failed: it answered 404 \
             Not Found",
            s.provider.issuer
        )
    );
    // Nothing listening.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = OidcClient::discover(settings(&format!("http://127.0.0.1:{port}")))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!(
            "OpenID provider discovery at http://127.0.0.1:{port}/.well-known/openid-configuration failed: "
        )),
        "{err}"
    );
}
