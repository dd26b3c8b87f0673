//! Team mode's users, sessions and sign-in throttle in the store, on SQLite and PostgreSQL, with a clock the test
//! moves: the throttle's lock grows and ends, sessions end when idle or past their lifetime, a disabled user's
//! session and token stop, single sign-on users are made and re-roled, and every change is in the audit trail.

mod common;

use controlplane::{
    audit::{Actor, AuditFilter},
    store::{
        sessions::{SESSION_IDLE_MS, SESSION_LIFETIME_MS},
        users::{Role, SignIn, UserSource, THROTTLE_BASE_MS},
    },
};

fn cli() -> Actor {
    Actor {
        user: "cli".into(),
        role: "admin".into(),
        address: "local".into(),
    }
}

#[tokio::test]
async fn sign_in_throttle_sessions_and_tokens() {
    for backend in common::backends() {
        let server = common::start(backend).await;
        let s = &server.store;
        let made = s.create_user(&cli(), "alice", Role::Planner).await.unwrap();
        let e = s
            .create_user(&cli(), "alice", Role::Viewer)
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"alice\" already exists"), "{e}");

        // Five failures lock the name for this address for 30 s, then 60 s after the next failure.
        for _ in 0..5 {
            let r = s
                .sign_in("alice", "wrong", "192.0.2.1", "192.0.2.1:1000")
                .await
                .unwrap();
            assert!(matches!(r, SignIn::Refused), "{backend}");
        }
        let r = s
            .sign_in("alice", &made.password, "192.0.2.1", "x")
            .await
            .unwrap();
        assert!(
            matches!(r, SignIn::Throttled { retry_after_secs: 30 }),
            "{backend}: {r:?}"
        );
        // Another address, and the same name typed otherwise, are counted apart / together.
        let r = s.sign_in("ALICE ", "wrong", "192.0.2.1", "x").await.unwrap();
        assert!(matches!(r, SignIn::Throttled { .. }), "{backend}: {r:?}");
        server.clock.advance(THROTTLE_BASE_MS + 1);
        let r = s.sign_in("alice", "wrong", "192.0.2.1", "x").await.unwrap();
        assert!(matches!(r, SignIn::Refused));
        let r = s.sign_in("alice", "wrong", "192.0.2.1", "x").await.unwrap();
        assert!(
            matches!(r, SignIn::Throttled { retry_after_secs: 60 }),
            "{backend}: {r:?}"
        );
        let r = s
            .sign_in("alice", &made.password, "192.0.2.2", "x")
            .await
            .unwrap();
        let SignIn::Accepted { user, session } = r else {
            panic!("{backend}: {r:?}")
        };
        assert_eq!((user.name.as_str(), user.role), ("alice", Role::Planner));

        // The session works until it idles out; touching it keeps it alive.
        assert_eq!(
            s.session_user(&session.cookie).await.unwrap().unwrap().name,
            "alice"
        );
        assert!(s.session_user(&"00".repeat(32)).await.unwrap().is_none());
        server.clock.advance(SESSION_IDLE_MS - 60_000);
        assert!(s.session_user(&session.cookie).await.unwrap().is_some());
        server.clock.advance(SESSION_IDLE_MS - 60_000);
        assert!(s.session_user(&session.cookie).await.unwrap().is_some());
        server.clock.advance(SESSION_IDLE_MS + 1);
        assert!(s.session_user(&session.cookie).await.unwrap().is_none(), "idle");

        // A session ends at its lifetime however busy it is.
        let sso = s
            .upsert_external_user("Bob@Example.com", Role::Viewer, UserSource::Oidc)
            .await
            .unwrap();
        assert_eq!(
            (sso.name.as_str(), sso.source),
            ("bob@example.com", UserSource::Oidc)
        );
        let again = s
            .upsert_external_user("bob@example.com", Role::Applier, UserSource::Oidc)
            .await
            .unwrap();
        assert_eq!((again.id.as_str(), again.role), (sso.id.as_str(), Role::Applier));
        // The first provider account to sign in under the name binds it; another account calling itself so does
        // not become this user.
        let issuer = "https://id.example.test";
        assert_eq!(s.user_subject("bob@example.com").await.unwrap(), None);
        assert!(s.bind_subject(&sso.id, &format!("{issuer} sub-1")).await.unwrap());
        assert!(
            s.bind_subject(&sso.id, &format!("{issuer} sub-1")).await.unwrap(),
            "the same account again"
        );
        assert!(
            !s.bind_subject(&sso.id, &format!("{issuer} sub-2")).await.unwrap(),
            "another account"
        );
        assert_eq!(
            s.user_subject("bob@example.com").await.unwrap().as_deref(),
            Some("https://id.example.test sub-1")
        );
        assert_eq!(s.user_subject("nobody").await.unwrap(), None);
        let e = s
            .upsert_external_user("alice", Role::Admin, UserSource::Proxy)
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("signs in through local, not proxy"), "{e}");
        let busy = s.create_session(&sso.id, "192.0.2.3:1", "oidc").await.unwrap();
        for _ in 0..(SESSION_LIFETIME_MS / (SESSION_IDLE_MS / 2)) {
            server.clock.advance(SESSION_IDLE_MS / 2);
            s.session_user(&busy.cookie).await.unwrap();
        }
        server.clock.advance(SESSION_IDLE_MS / 2);
        assert!(
            s.session_user(&busy.cookie).await.unwrap().is_none(),
            "past its lifetime"
        );
        // No password for a single sign-on user.
        let r = s.sign_in("bob@example.com", "", "192.0.2.3", "x").await.unwrap();
        assert!(matches!(r, SignIn::Refused));

        // Tokens: found by their hash; a disabled user's token and session stop, and they cannot sign in.
        assert_eq!(s.token_user(&made.token).await.unwrap().unwrap().name, "alice");
        assert!(s.token_user("ppt_nothing").await.unwrap().is_none());
        let SignIn::Accepted { session, .. } = s
            .sign_in("alice", &made.password, "192.0.2.2", "x")
            .await
            .unwrap()
        else {
            panic!()
        };
        s.disable_user(&cli(), "alice").await.unwrap();
        assert!(s.token_user(&made.token).await.unwrap().is_none());
        assert!(s.session_user(&session.cookie).await.unwrap().is_none());
        let r = s
            .sign_in("alice", &made.password, "192.0.2.4", "x")
            .await
            .unwrap();
        assert!(matches!(r, SignIn::Refused));
        assert!(s.create_session(&made.user.id, "x", "oidc").await.is_err());

        // Reset: new secrets, the old ones stop.
        let carol = s.create_user(&cli(), "carol", Role::Viewer).await.unwrap();
        let reset = s.reset_user(&cli(), "carol").await.unwrap();
        assert!(s.token_user(&carol.token).await.unwrap().is_none());
        assert_eq!(s.token_user(&reset.token).await.unwrap().unwrap().name, "carol");
        let r = s
            .sign_in("carol", &carol.password, "192.0.2.5", "x")
            .await
            .unwrap();
        assert!(matches!(r, SignIn::Refused));
        s.set_user_role(&cli(), "carol", Role::Admin).await.unwrap();
        assert_eq!(
            s.token_user(&reset.token).await.unwrap().unwrap().role,
            Role::Admin
        );

        // The trail: who did what, never a password.
        let trail = s.audit_after(&AuditFilter::default(), 0, 1000).await.unwrap();
        let actions: Vec<&str> = trail.iter().map(|e| e.action.as_str()).collect();
        for a in [
            "user.change",
            "role.change",
            "auth.sign_in",
            "auth.sign_in_failed",
        ] {
            assert!(actions.contains(&a), "{backend}: {a} in {actions:?}");
        }
        let text = format!("{trail:?}");
        assert!(
            !text.contains(&made.password) && !text.contains("wrong\""),
            "{backend}"
        );
        assert!(s.audit_verify().await.unwrap().is_ok());
        let users = s.list_users().await.unwrap();
        let names: Vec<&str> = users.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, ["alice", "bob@example.com", "carol"]);
    }
}
