//! The reverse-proxy sign-in over the users table ([`server::proxy_auth::proxy_user`]), on SQLite and, with
//! `PEERPLAN_TEST_POSTGRES_URL`, PostgreSQL: an untrusted peer's header signs nobody in and creates nobody, a
//! trusted one creates the user once (source proxy, the default role), a known user keeps the role set in Peerplan
//! unless the proxy's role header is configured, a disabled user is refused.

mod common;

use std::net::SocketAddr;

use axum::http::{HeaderMap, HeaderValue};
use controlplane::store::{
    audit::Actor,
    users::{Role, UserSource},
    Store,
};
use server::proxy_auth::{proxy_user, ProxyAuthConfig};

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(*k, HeaderValue::from_str(v).unwrap());
    }
    h
}

const PROXY: &str = "10.1.2.3:55000";
const STRANGER: &str = "198.51.100.7:55000";

async fn exercise(store: Store) {
    let peer = |s: &str| s.parse::<SocketAddr>().unwrap();
    let plain =
        ProxyAuthConfig::from_flags("X-Forwarded-User", &["10.1.2.0/24".into()], Role::Viewer, None).unwrap();
    let with_role = ProxyAuthConfig::from_flags(
        "X-Forwarded-User",
        &["10.1.2.0/24".into()],
        Role::Viewer,
        Some("X-Forwarded-Role"),
    )
    .unwrap();

    // Not from the proxy: nobody, and nobody created.
    let h = headers(&[("x-forwarded-user", "mallory")]);
    assert_eq!(
        proxy_user(&store, &h, peer(STRANGER), &plain).await.unwrap(),
        None
    );
    assert!(store.get_user("mallory").await.is_err());
    // No header: nobody.
    assert_eq!(
        proxy_user(&store, &HeaderMap::new(), peer(PROXY), &plain)
            .await
            .unwrap(),
        None
    );
    // A bad name from the proxy: nobody.
    let h = headers(&[("x-forwarded-user", "bob smith")]);
    assert_eq!(proxy_user(&store, &h, peer(PROXY), &plain).await.unwrap(), None);

    // First sight: created with the default role, source proxy; the same user on the next request.
    let h = headers(&[("x-forwarded-user", "Carol@Example.com")]);
    let carol = proxy_user(&store, &h, peer(PROXY), &plain)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (carol.name.as_str(), carol.role, carol.source),
        ("carol@example.com", Role::Viewer, UserSource::Proxy)
    );
    let again = proxy_user(&store, &h, peer(PROXY), &plain)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.id, carol.id);

    // An admin raises her in Peerplan: without a role header she keeps it.
    let admin = Actor::local("127.0.0.1:1");
    store
        .set_user_role(&admin, "carol@example.com", Role::Applier)
        .await
        .unwrap();
    let carol = proxy_user(&store, &h, peer(PROXY), &plain)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(carol.role, Role::Applier);
    // A client's own role header is ignored when the flag is off.
    let h_admin = headers(&[
        ("x-forwarded-user", "carol@example.com"),
        ("x-forwarded-role", "admin"),
    ]);
    assert_eq!(
        proxy_user(&store, &h_admin, peer(PROXY), &plain)
            .await
            .unwrap()
            .unwrap()
            .role,
        Role::Applier
    );

    // With --auth-proxy-role-header the proxy's role is applied (both ways).
    let h_planner = headers(&[
        ("x-forwarded-user", "carol@example.com"),
        ("x-forwarded-role", "planner"),
    ]);
    let carol = proxy_user(&store, &h_planner, peer(PROXY), &with_role)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(carol.role, Role::Planner);
    assert_eq!(
        store.get_user("carol@example.com").await.unwrap().role,
        Role::Planner
    );
    // A bad role header: nobody.
    let h_bad = headers(&[
        ("x-forwarded-user", "carol@example.com"),
        ("x-forwarded-role", "root"),
    ]);
    assert_eq!(
        proxy_user(&store, &h_bad, peer(PROXY), &with_role).await.unwrap(),
        None
    );

    // Disabled: refused.
    store.disable_user(&admin, "carol@example.com").await.unwrap();
    assert_eq!(proxy_user(&store, &h, peer(PROXY), &plain).await.unwrap(), None);
}

#[tokio::test]
async fn proxy_sign_in_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    exercise(server::control::open(dir.path(), None).await.unwrap()).await;
}

#[tokio::test]
async fn proxy_sign_in_on_postgres() {
    let Some(admin) = common::postgres_admin() else {
        eprintln!("skipped: PEERPLAN_TEST_POSTGRES_URL is not set");
        return;
    };
    let url = common::fresh_postgres(&admin, "proxy_auth");
    let dir = tempfile::tempdir().unwrap();
    exercise(server::control::open(dir.path(), Some(&url)).await.unwrap()).await;
}
