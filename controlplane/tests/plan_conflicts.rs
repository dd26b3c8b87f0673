//! No lost edits, in the store, on SQLite and PostgreSQL: each version records who saved it; a save names the
//! version it is based on and is refused (a version conflict naming who saved which version when) when someone
//! saved in between; same-body saves stay no-ops; "keep mine" is checked and recorded; restores are checked the
//! same way; concurrent saves on one base — through one store or two stores on one database, as two servers
//! would — give exactly one new version and refusals for the rest. And presence: who else has a plan open.

mod common;

use std::sync::Arc;

use controlplane::{
    audit::{Actor, AuditFilter},
    clock::OffsetClock,
    error::ApiError,
    plans::{Base, Presence, PRESENCE_WINDOW_MS},
    store::{Limits, Store},
};

const SEED: &str = include_str!("../../examples/seed.json");
const TRANSITIVE: &str = include_str!("../../examples/transitive.json");
const MULTI: &str = include_str!("../../examples/multi-region.json");

fn user(name: &str) -> Actor {
    Actor {
        user: name.into(),
        role: "planner".into(),
        address: "127.0.0.1:1".into(),
    }
}

/// The seed plan renamed to `name`: a body distinct from every other.
fn seed_named(name: &str) -> String {
    let mut p = netmodel::Plan::from_json(SEED).unwrap();
    p.name = name.into();
    p.to_json()
}

#[tokio::test]
async fn a_save_based_on_an_old_version_is_refused_naming_who_saved() {
    for backend in common::backends() {
        let server = common::start(backend).await;
        let s = &server.store;
        let (alice, bob) = (user("alice"), user("bob"));
        let p = s.create_plan(&bob, "Seed", SEED, &[]).await.unwrap();

        // Both start from version 1; alice saves first.
        server.clock.advance(5_000);
        let v2 = s
            .save_plan_on(&alice, &p.id, TRANSITIVE, Base::Version(1))
            .await
            .unwrap();
        assert_eq!(v2.version, 2, "{backend}");
        let e = s
            .save_plan_on(&bob, &p.id, MULTI, Base::Version(1))
            .await
            .unwrap_err();
        let ApiError::VersionConflict(c) = &e else {
            panic!("{backend}: not a conflict: {e:?}");
        };
        assert_eq!(
            (c.base_version, c.current_version, c.saved_by.as_str()),
            (1, 2, "alice")
        );
        assert_eq!(c.saved_at, v2.updated_at);
        assert_eq!(e.status_and_code().0.as_u16(), 409);
        assert!(
            e.to_string().starts_with("alice saved version 2 at ") && e.to_string().ends_with("version 1"),
            "{e}"
        );
        // Nothing was saved; the versions name who saved each.
        let versions = s.plan_versions(&p.id).await.unwrap();
        let by: Vec<(i64, &str)> = versions
            .iter()
            .map(|v| (v.version, v.saved_by.as_str()))
            .collect();
        assert_eq!(by, [(2, "alice"), (1, "bob")], "{backend}");

        // Saving the body already current is a no-op whatever the base (nothing would be lost).
        let same = s
            .save_plan_on(&bob, &p.id, TRANSITIVE, Base::Version(1))
            .await
            .unwrap();
        assert_eq!(same.version, 2);

        // Keep mine over version 2: saved and recorded; keep mine over a version no longer current: refused.
        let kept = s
            .save_plan_on(&bob, &p.id, MULTI, Base::KeepMine(2))
            .await
            .unwrap();
        assert_eq!(kept.version, 3);
        let again = s
            .save_plan_on(&alice, &p.id, SEED, Base::KeepMine(2))
            .await
            .unwrap_err();
        assert!(
            matches!(&again, ApiError::VersionConflict(c) if c.current_version == 3 && c.saved_by == "bob")
        );
        let saves = s
            .audit_page(
                &AuditFilter {
                    object: Some(p.id.clone()),
                    ..Default::default()
                },
                None,
                Some(100),
            )
            .await
            .unwrap();
        let newest = &saves.items[0];
        assert_eq!(
            (newest.action.as_str(), newest.user.as_str(), newest.version),
            ("plan.save", "bob", Some(3))
        );
        assert_eq!(newest.detail, "kept mine over version 2 saved by \"alice\"");

        // A save on the current version goes through; an unchecked one (a script naming no base) too.
        let v4 = s
            .save_plan_on(&alice, &p.id, SEED, Base::Version(3))
            .await
            .unwrap();
        assert_eq!(v4.version, 4);
        assert_eq!(s.save_plan(&bob, &p.id, TRANSITIVE).await.unwrap().version, 5);
        // A base that never existed is a conflict too (the current version is another).
        assert!(matches!(
            s.save_plan_on(&alice, &p.id, MULTI, Base::Version(99)).await,
            Err(ApiError::VersionConflict(c)) if c.current_version == 5
        ));
    }
}

#[tokio::test]
async fn a_restore_is_checked_against_its_base() {
    for backend in common::backends() {
        let server = common::start(backend).await;
        let s = &server.store;
        let (alice, bob) = (user("alice"), user("bob"));
        let p = s.create_plan(&alice, "Seed", SEED, &[]).await.unwrap();
        s.save_plan_on(&alice, &p.id, TRANSITIVE, Base::Version(1))
            .await
            .unwrap();
        // Bob looked at version 2, alice saved version 3, then bob restores version 1: refused.
        s.save_plan_on(&alice, &p.id, MULTI, Base::Version(2))
            .await
            .unwrap();
        let e = s
            .restore_plan_version_on(&bob, &p.id, 1, Base::Version(2))
            .await
            .unwrap_err();
        assert!(
            matches!(&e, ApiError::VersionConflict(c) if c.current_version == 3 && c.saved_by == "alice"),
            "{backend}: {e:?}"
        );
        let restored = s
            .restore_plan_version_on(&bob, &p.id, 1, Base::Version(3))
            .await
            .unwrap();
        assert_eq!(restored.summary.version, 4);
        assert_eq!(s.plan_versions(&p.id).await.unwrap()[0].saved_by, "bob");
    }
}

/// Saves that all start from `base` at once: each a different body, through the given stores in turn.
async fn race(stores: &[Store], id: &str, base: i64, n: usize) -> Vec<Result<i64, ApiError>> {
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let store = stores[i % stores.len()].clone();
            let (id, barrier) = (id.to_string(), barrier.clone());
            tokio::spawn(async move {
                let by = user(&format!("user{i}"));
                // Distinct from every body before (a body equal to the current one would be a no-op).
                let body = seed_named(&format!("round {base} edit {i}"));
                barrier.wait().await;
                store
                    .save_plan_on(&by, &id, &body, Base::Version(base))
                    .await
                    .map(|s| s.version)
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

/// Exactly one of the answers is the next version; every other one is a conflict naming the winner.
fn one_winner(answers: &[Result<i64, ApiError>], next: i64, what: &str) -> String {
    let won: Vec<i64> = answers.iter().filter_map(|a| a.as_ref().ok().copied()).collect();
    assert_eq!(won, [next], "{what}: {answers:?}");
    let mut winner = None;
    for a in answers {
        match a {
            Ok(_) => {}
            Err(ApiError::VersionConflict(c)) => {
                assert_eq!(c.current_version, next, "{what}");
                assert_eq!(*winner.get_or_insert(c.saved_by.clone()), c.saved_by, "{what}");
            }
            Err(other) => panic!("{what}: not a conflict: {other:?}"),
        }
    }
    winner.expect("some saves were refused")
}

#[tokio::test]
async fn concurrent_saves_on_one_base_make_one_version() {
    for backend in common::backends() {
        let server = common::start(backend).await;
        // A second store on the same database: a second server.
        let second = Store::open(&server.url, Arc::new(OffsetClock::default()), Limits::default())
            .await
            .unwrap();
        let stores = [server.store.clone(), second];
        let p = server
            .store
            .create_plan(&user("alice"), "Seed", SEED, &[])
            .await
            .unwrap();
        for round in 1..=5 {
            let what = format!("{backend}, round {round}");
            let answers = race(&stores, &p.id, round, 8).await;
            let winner = one_winner(&answers, round + 1, &what);
            let current = server.store.get_plan(&p.id).await.unwrap();
            assert_eq!(current.summary.version, round + 1, "{what}");
            let versions = server.store.plan_versions(&p.id).await.unwrap();
            assert_eq!(
                versions.len() as i64,
                round + 1,
                "{what}: no version lost or doubled"
            );
            assert_eq!(versions[0].saved_by, winner, "{what}");
            // The winner's body is the one stored.
            let n: usize = winner.trim_start_matches("user").parse().unwrap();
            assert_eq!(
                netmodel::Plan::from_json(&current.body).unwrap().name,
                format!("round {round} edit {n}"),
                "{what}"
            );
        }
        assert!(server.store.audit_verify().await.unwrap().is_ok(), "{backend}");
    }
}

#[tokio::test]
async fn presence_names_who_else_has_the_plan_open() {
    for backend in common::backends() {
        let server = common::start(backend).await;
        let s = &server.store;
        let (alice, bob, carol) = (user("alice"), user("bob"), user("carol"));
        let p = s.create_plan(&alice, "Seed", SEED, &[]).await.unwrap();
        let q = s.create_plan(&alice, "Other", SEED, &[]).await.unwrap();

        assert_eq!(s.plan_presence(&alice, &p.id, "tab-a").await.unwrap(), []);
        s.plan_presence(&bob, &p.id, "tab-b1").await.unwrap();
        s.plan_presence(&bob, &p.id, "tab-b2").await.unwrap();
        s.plan_presence(&carol, &q.id, "tab-c").await.unwrap();
        // Another tab of alice's own counts; the asking tab does not; another plan's does not.
        s.plan_presence(&alice, &p.id, "tab-a2").await.unwrap();
        let seen = s.plan_presence(&alice, &p.id, "tab-a").await.unwrap();
        let p_ = |user: &str, tabs| Presence {
            user: user.into(),
            tabs,
        };
        assert_eq!(seen, [p_("alice", 1), p_("bob", 2)], "{backend}");
        // One user's tab id does not stand for another's row.
        s.plan_presence(&carol, &p.id, "tab-b1").await.unwrap();
        let seen = s.plan_presence(&alice, &p.id, "tab-a").await.unwrap();
        assert_eq!(seen, [p_("alice", 1), p_("bob", 2), p_("carol", 1)], "{backend}");

        // A tab that leaves is gone at once; the others after the window without a beat.
        s.leave_plan(&alice, &p.id, "tab-a2").await.unwrap();
        server.clock.advance(PRESENCE_WINDOW_MS - 10_000);
        s.plan_presence(&bob, &p.id, "tab-b1").await.unwrap();
        server.clock.advance(15_000);
        let seen = s.plan_presence(&alice, &p.id, "tab-a").await.unwrap();
        assert_eq!(seen, [p_("bob", 1)], "{backend}");
        // Stale rows are pruned, not just hidden.
        let rows: i64 = controlplane::store::db::query("SELECT COUNT(*) AS n FROM plan_presence")
            .fetch_one(s.pool())
            .await
            .unwrap()
            .try_get("n")
            .unwrap();
        assert_eq!(rows, 2, "{backend}: alice's tab-a and bob's tab-b1");

        // Bad tab ids and unknown plans are refused, naming the value.
        for bad in ["", "a b", "<script>", &"x".repeat(65)] {
            let e = s.plan_presence(&alice, &p.id, bad).await.unwrap_err();
            assert_eq!(e.status_and_code().1, "INVALID_TAB", "{bad:?}");
            assert!(e
                .to_string()
                .contains(&format!("{:?}", bad.chars().take(65).collect::<String>())));
        }
        assert!(s
            .plan_presence(&alice, "plan_missing", "tab-a")
            .await
            .unwrap_err()
            .to_string()
            .contains("plan_missing"));
        // Deleting the plan forgets who had it open.
        s.delete_plan(&alice, &p.id).await.unwrap();
        let rows: i64 =
            controlplane::store::db::query("SELECT COUNT(*) AS n FROM plan_presence WHERE plan_id = $1")
                .bind(&p.id)
                .fetch_one(s.pool())
                .await
                .unwrap()
                .try_get("n")
                .unwrap();
        assert_eq!(rows, 0);
    }
}
