//! The OpenID Connect sign-in routes (`GET /login/oidc`, `GET /login/oidc/callback`, [`server::oidc_web`]) served on
//! loopback over a real store (SQLite), against the real loopback OpenID provider: the browser's whole trip, the
//! user recorded with source oidc and the mapped role, a working session, and the refusals (no role, no pending
//! cookie, a forged state). Skips loudly without `node`/`tools/oidc`, fails with `PEERPLAN_REQUIRE_OIDC=1`.

#[path = "common/oidc_provider.rs"]
mod oidc_provider;

use std::{net::SocketAddr, sync::Arc};

use controlplane::store::users::{Role, UserSource};
use oidc_provider::{sign_in_at_provider, OidcProvider, CLIENT_ID, CLIENT_SECRET, PASSWORD};
use server::{
    oidc::{OidcClient, OidcSettings},
    oidc_web::{OidcWeb, PENDING_COOKIE},
};

struct Site {
    base: String,
    provider: OidcProvider,
    store: controlplane::store::Store,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

async fn site() -> Option<Site> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let redirect = format!("{base}/login/oidc/callback");
    let provider = OidcProvider::start(&redirect, "id_token")?;
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, format!("{CLIENT_SECRET}\n")).unwrap();
    let settings = OidcSettings::from_flags(
        &provider.issuer,
        CLIENT_ID,
        &secret,
        &redirect,
        "groups",
        "netops=admin,planners=planner",
    )
    .unwrap();
    let client = OidcClient::discover(settings).await.unwrap();
    let store = server::control::open(dir.path(), None).await.unwrap();
    let web = OidcWeb {
        client: Arc::new(client),
        store: store.clone(),
        secure_cookies: false,
    };
    let app = server::oidc_web::router(Some(web)).router;
    tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .await
            .unwrap();
    });
    Some(Site {
        base,
        provider,
        store,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        _dir: dir,
    })
}

/// The value of cookie `name` in a response's `Set-Cookie` headers, with the whole header.
fn set_cookie(res: &reqwest::Response, name: &str) -> Option<(String, String)> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            let value = v.strip_prefix(&format!("{name}="))?.split(';').next()?;
            Some((value.to_string(), v.to_string()))
        })
}

impl Site {
    /// `GET /login/oidc?next=…` → (the pending cookie, the provider's URL).
    async fn begin(&self, next: &str) -> (String, String) {
        let res = self
            .http
            .get(format!("{}/login/oidc", self.base))
            .query(&[("next", next)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303);
        let (cookie, header) = set_cookie(&res, PENDING_COOKIE).expect("the pending cookie");
        assert!(
            header.contains("HttpOnly")
                && header.contains("SameSite=Lax")
                && header.contains("Path=/login/oidc"),
            "{header}"
        );
        let location = res.headers()["location"].to_str().unwrap().to_string();
        assert!(
            location.starts_with(&format!("{}/auth?", self.provider.issuer)),
            "{location}"
        );
        (cookie, location)
    }

    /// The whole trip as `user`: the callback's response.
    async fn sign_in(&self, user: &str, next: &str) -> reqwest::Response {
        let (cookie, location) = self.begin(next).await;
        let callback = sign_in_at_provider(
            &self.provider.issuer,
            &location,
            &format!("{}/login/oidc/callback", self.base),
            user,
            PASSWORD,
            true,
        )
        .await
        .unwrap_or_else(|(status, page)| panic!("{status}: {page}"));
        self.http
            .get(callback)
            .header("cookie", format!("{PENDING_COOKIE}={cookie}"))
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn a_single_sign_on_starts_a_session_with_the_mapped_role() {
    let Some(site) = site().await else { return };
    let res = site.sign_in("alice", "/plans/plan_1?tab=trace").await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/plans/plan_1?tab=trace");
    let (session, header) = set_cookie(&res, "peerplan_session").expect("a session cookie");
    assert!(
        header.contains("HttpOnly") && header.contains("SameSite=Lax"),
        "{header}"
    );
    let (cleared, _) = set_cookie(&res, PENDING_COOKIE).expect("the pending cookie is cleared");
    assert_eq!(cleared, "");
    assert!(set_cookie(&res, "peerplan_csrf").is_some(), "a new CSRF token");

    let user = site
        .store
        .session_user(&session)
        .await
        .unwrap()
        .expect("the session is valid");
    assert_eq!(user.name, "alice");
    assert_eq!(user.role, Role::Admin);
    assert_eq!(user.source, UserSource::Oidc);

    // Bob, then Bob again: one user, the same role; an unsafe `next` goes home.
    for _ in 0..2 {
        let res = site.sign_in("bob", "//evil.example/").await;
        assert_eq!(res.status(), 303);
        assert_eq!(res.headers()["location"], "/");
        let (session, _) = set_cookie(&res, "peerplan_session").unwrap();
        let bob = site.store.session_user(&session).await.unwrap().unwrap();
        assert_eq!((bob.name.as_str(), bob.role), ("bob", Role::Planner));
    }
    let users = site.store.list_users().await.unwrap();
    assert_eq!(users.iter().filter(|u| u.name == "bob").count(), 1);
}

#[tokio::test]
async fn sign_ins_without_a_role_or_a_pending_cookie_are_refused() {
    let Some(site) = site().await else { return };
    let res = site.sign_in("carol", "/").await;
    assert_eq!(res.status(), 403);
    assert!(set_cookie(&res, "peerplan_session").is_none());
    let page = res.text().await.unwrap();
    assert!(
        page.contains("carol signed in, but none of their groups (none) in claim &quot;groups&quot; maps to a Peerplan role"),
        "{page}"
    );
    assert!(site
        .store
        .list_users()
        .await
        .unwrap()
        .iter()
        .all(|u| u.name != "carol"));

    // The callback in a browser that did not start the sign-in (no pending cookie): refused before the code is used.
    let (_, location) = site.begin("/").await;
    let callback = sign_in_at_provider(
        &site.provider.issuer,
        &location,
        &format!("{}/login/oidc/callback", site.base),
        "alice",
        PASSWORD,
        true,
    )
    .await
    .unwrap();
    let res = site.http.get(&callback).send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("was not started in this browser"));

    // Another browser's pending cookie (login CSRF: an attacker's code in a victim's browser): the state differs.
    let (other, _) = site.begin("/").await;
    let res = site
        .http
        .get(&callback)
        .header("cookie", format!("{PENDING_COOKIE}={other}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(set_cookie(&res, "peerplan_session").is_none());
    assert!(res.text().await.unwrap().contains("state does not match"));
}

#[tokio::test]
async fn a_password_user_s_name_is_not_taken_over() {
    let Some(site) = site().await else { return };
    let by = controlplane::store::audit::Actor::local("127.0.0.1:1");
    site.store.create_user(&by, "alice", Role::Viewer).await.unwrap();
    let res = site.sign_in("alice", "/").await;
    assert_eq!(res.status(), 403);
    assert!(set_cookie(&res, "peerplan_session").is_none());
    let page = res.text().await.unwrap();
    assert!(
        page.contains("The user name alice belongs to a local user"),
        "{page}"
    );
    let alice = site.store.get_user("alice").await.unwrap();
    assert_eq!(
        (alice.role, alice.source),
        (Role::Viewer, UserSource::Local),
        "unchanged"
    );
}

#[tokio::test]
async fn without_single_sign_on_both_routes_say_so() {
    let app = server::oidc_web::router(None).router;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    for path in ["/login/oidc", "/login/oidc/callback?code=x&state=y"] {
        let res = reqwest::get(format!("{base}{path}")).await.unwrap();
        assert_eq!(res.status(), 404, "{path}");
        assert!(res
            .text()
            .await
            .unwrap()
            .contains("Single sign-on is not configured"));
    }
}
