//! What keeps applies right when several servers share one database, on SQLite and PostgreSQL: the run lock of a
//! plan on a target is held by exactly one of many runs asking at once from two stores (as two `peerplan serve`
//! processes), and is free again once released; the lock of a server that died is free again (PostgreSQL: with
//! its connection; SQLite: when the server starts again); and the two-person rule's approvals are recorded once
//! each, with their audit entry.

mod common;

use std::sync::Arc;

use controlplane::{
    audit::{Actor, AuditAction, AuditFilter},
    clock::SystemClock,
    store::{apply_state::LockHolder, Limits, Store},
};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_run_of_many_asking_at_once_from_two_stores_holds_the_lock() {
    const EACH: usize = 12;
    for backend in common::backends() {
        let server = common::start(backend).await;
        let other = Store::open(&server.url, Arc::new(SystemClock), Limits::default())
            .await
            .unwrap();
        let mut tasks = Vec::new();
        for (name, store) in [("one", server.store.clone()), ("two", other.clone())] {
            for n in 0..EACH {
                let store = store.clone();
                tasks.push(tokio::spawn(async move {
                    let run = format!("run_{name}_{n}");
                    let got = store
                        .apply_lock_take("embedded:plan_1", &run, "alice")
                        .await
                        .expect("asking never fails");
                    (run, store, got)
                }));
            }
        }
        let mut winners = Vec::new();
        let mut refusals = Vec::new();
        for t in tasks {
            match t.await.unwrap() {
                (run, store, Ok(lock)) => winners.push((run, store, lock)),
                (_, _, Err(holder)) => refusals.push(holder),
            }
        }
        assert_eq!(winners.len(), 1, "{backend}");
        let (winner, store, lock) = winners.pop().unwrap();
        assert_eq!(refusals.len(), 2 * EACH - 1, "{backend}");
        assert!(
            refusals.iter().all(|h| h.run_id == winner && h.holder == "alice"),
            "{backend}: every refusal names the run that holds the lock: {refusals:?}"
        );

        // Another plan, or the same plan on another target, is another lock.
        let b = other
            .apply_lock_take("embedded:plan_2", "run_x", "bob")
            .await
            .unwrap();
        let c = other.apply_lock_take("lab:plan_1", "run_y", "bob").await.unwrap();
        assert!(b.is_ok() && c.is_ok(), "{backend}");
        let held = other
            .apply_lock_take("embedded:plan_1", "run_late", "carol")
            .await
            .unwrap();
        assert!(
            matches!(&held, Err(LockHolder { run_id, .. }) if run_id == &winner),
            "{backend}"
        );

        // Released, it is free for a run of either server.
        store.apply_lock_release(lock).await.unwrap();
        let next = other
            .apply_lock_take("embedded:plan_1", "run_next", "carol")
            .await
            .unwrap();
        assert!(next.is_ok(), "{backend}: released, the lock is free");
        let again = server
            .store
            .apply_lock_take("embedded:plan_1", "run_other", "dave")
            .await
            .unwrap();
        assert!(
            matches!(&again, Err(LockHolder { run_id, holder, .. }) if run_id == "run_next" && holder == "carol"),
            "{backend}"
        );
        for lock in [b, c, next] {
            other.apply_lock_release(lock.unwrap()).await.unwrap();
        }
    }
}

#[tokio::test]
async fn the_lock_of_a_server_that_died_is_free_again() {
    for backend in common::backends() {
        let server = common::start(backend).await;
        let dying = Store::open(&server.url, Arc::new(SystemClock), Limits::default())
            .await
            .unwrap();
        let lock = dying
            .apply_lock_take("t:p", "run_dead", "alice")
            .await
            .unwrap()
            .unwrap();
        assert!(server
            .store
            .apply_lock_take("t:p", "run_new", "bob")
            .await
            .unwrap()
            .is_err());
        // The server dies mid-run: its lock is never released.
        drop(lock);
        drop(dying);
        if backend == "sqlite" {
            // One server per SQLite file: the row stays until the server starts again, which clears it.
            assert!(server
                .store
                .apply_lock_take("t:p", "run_new", "bob")
                .await
                .unwrap()
                .is_err());
            assert_eq!(server.store.apply_locks_reset().await.unwrap(), 1);
        } else {
            // The lock ended with its connection (give the database a moment to notice it closed).
            assert_eq!(server.store.apply_locks_reset().await.unwrap(), 0);
            for _ in 0..50 {
                match server.store.apply_lock_take("t:p", "probe", "bob").await.unwrap() {
                    Ok(l) => {
                        server.store.apply_lock_release(l).await.unwrap();
                        break;
                    }
                    Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
                }
            }
        }
        let lock = server
            .store
            .apply_lock_take("t:p", "run_new", "bob")
            .await
            .unwrap();
        assert!(lock.is_ok(), "{backend}: the dead server's lock is free");
    }
}

#[tokio::test]
async fn approvals_are_recorded_once_each_with_their_audit_entry() {
    for backend in common::backends() {
        let server = common::start(backend).await;
        let s = &server.store;
        let bob = Actor {
            user: "bob".into(),
            role: "applier".into(),
            address: "127.0.0.1:5000".into(),
        };
        let carol = Actor {
            user: "carol".into(),
            role: "admin".into(),
            address: "127.0.0.1:5001".into(),
        };
        assert!(s
            .apply_approvals("plan_1", 3, "embedded")
            .await
            .unwrap()
            .is_empty());
        s.approve_apply(&bob, "plan_1", 3, "embedded").await.unwrap();
        s.approve_apply(&bob, "plan_1", 3, "embedded").await.unwrap();
        s.approve_apply(&carol, "plan_1", 3, "embedded").await.unwrap();
        let all = s.apply_approvals("plan_1", 3, "embedded").await.unwrap();
        let who: Vec<(&str, &str)> = all
            .iter()
            .map(|a| (a.approved_by.as_str(), a.role.as_str()))
            .collect();
        assert_eq!(who, [("bob", "applier"), ("carol", "admin")], "{backend}");
        // Another version or another target is not approved by these.
        assert!(s
            .apply_approvals("plan_1", 4, "embedded")
            .await
            .unwrap()
            .is_empty());
        assert!(s.apply_approvals("plan_1", 3, "lab").await.unwrap().is_empty());
        let filter = AuditFilter {
            action: Some(AuditAction::ApplyApprove),
            ..AuditFilter::default()
        };
        let entries = s.audit_after(&filter, 0, 100).await.unwrap();
        let recorded: Vec<(&str, &str, Option<i64>)> = entries
            .iter()
            .map(|e| (e.user.as_str(), e.object.as_str(), e.version))
            .collect();
        assert_eq!(
            recorded,
            [("bob", "plan_1", Some(3)), ("carol", "plan_1", Some(3))],
            "{backend}: one entry per approval, none for the repeat"
        );
        assert!(s.audit_verify().await.unwrap().is_ok());
    }
}
