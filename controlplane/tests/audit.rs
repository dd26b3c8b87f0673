//! The audit trail on SQLite and PostgreSQL: real plan changes append one entry each, in order, chained; the
//! listing pages newest first and filters; a stored entry edited, re-hashed, deleted in the middle or cut off the
//! end through SQL is found by verification, which names the first broken entry; two stores on one database (as
//! two `peerplan serve` processes) appending at once keep one unbroken chain.

mod common;

use std::sync::Arc;

use controlplane::{
    audit::{entry_hash, Actor, AuditAction, AuditEntry, AuditFilter, NewEntry, GENESIS},
    clock::SystemClock,
    store::{Limits, Store},
};

const SEED: &str = include_str!("../../examples/seed.json");
const TRANSITIVE: &str = include_str!("../../examples/transitive.json");

async fn all(s: &Store) -> Vec<AuditEntry> {
    s.audit_after(&AuditFilter::default(), 0, 1000).await.unwrap()
}

async fn exec(s: &Store, sql: &str) {
    controlplane::store::db::query(sql)
        .execute(s.pool())
        .await
        .unwrap();
}

async fn put_back(s: &Store, e: &AuditEntry) {
    controlplane::store::db::query(
        "INSERT INTO audit (seq, at, actor, role, address, action, object, version, result, detail, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(e.seq)
    .bind(e.time_ms)
    .bind(&e.user)
    .bind(&e.role)
    .bind(&e.address)
    .bind(&e.action)
    .bind(&e.object)
    .bind(e.version)
    .bind(&e.result)
    .bind(&e.detail)
    .bind(&e.prev_hash)
    .bind(&e.hash)
    .execute(s.pool())
    .await
    .unwrap();
}

#[tokio::test]
async fn plan_changes_are_chained_and_tampering_is_found() {
    for backend in common::backends() {
        let server = common::start(backend).await;
        let s = &server.store;
        let by = Actor::local("127.0.0.1:50123");

        let p = s.create_plan(&by, "Seed", SEED, &[]).await.unwrap();
        s.save_plan(&by, &p.id, TRANSITIVE).await.unwrap();
        // No change, no entry.
        s.save_plan(&by, &p.id, TRANSITIVE).await.unwrap();
        s.restore_plan_version(&by, &p.id, 1).await.unwrap();
        s.rename_plan(&by, &p.id, "Production").await.unwrap();
        let copy = s.duplicate_plan(&by, &p.id).await.unwrap();
        let imported = s
            .import_plan(&by, "file seed.json", "Imported", SEED, &[])
            .await
            .unwrap();
        s.delete_plan(&by, &copy.id).await.unwrap();
        // Refused changes change nothing and record nothing.
        assert!(s.save_plan(&by, &p.id, "{not json").await.is_err());
        assert!(s.delete_plan(&by, "plan_missing").await.is_err());

        let entries = all(s).await;
        let got: Vec<(&str, &str, Option<i64>)> = entries
            .iter()
            .map(|e| (e.action.as_str(), e.object.as_str(), e.version))
            .collect();
        assert_eq!(
            got,
            [
                ("plan.create", p.id.as_str(), Some(1)),
                ("plan.save", p.id.as_str(), Some(2)),
                ("plan.restore", p.id.as_str(), Some(3)),
                ("plan.rename", p.id.as_str(), Some(3)),
                ("plan.create", copy.id.as_str(), Some(1)),
                ("plan.import", imported.id.as_str(), Some(1)),
                ("plan.delete", copy.id.as_str(), Some(1)),
            ],
            "{backend}"
        );
        assert_eq!(entries[0].prev_hash, GENESIS);
        for (n, e) in entries.iter().enumerate() {
            assert_eq!(e.seq, n as i64 + 1);
            assert_eq!((e.user.as_str(), e.role.as_str()), ("local", "admin"));
            assert_eq!(e.address, "127.0.0.1:50123");
            assert_eq!(e.result, "ok");
            assert_eq!(e.hash, entry_hash(e));
            if n > 0 {
                assert_eq!(e.prev_hash, entries[n - 1].hash);
            }
        }
        assert_eq!(entries[2].detail, "version 1 restored");
        assert_eq!(entries[3].detail, "renamed to \"Production\"");
        assert!(entries[4].detail.contains(&format!("copy of {}", p.id)));
        assert!(entries[5].detail.contains("seed.json"));

        let intact = s.audit_verify().await.unwrap().unwrap();
        assert_eq!(intact.entries, 7, "{backend}");
        assert_eq!(intact.head_hash, entries[6].hash);

        // Newest first, two at a time, filtered by plan (object) and by action.
        let of_plan = AuditFilter {
            object: Some(p.id.clone()),
            ..AuditFilter::default()
        };
        let first = s.audit_page(&of_plan, None, Some(2)).await.unwrap();
        assert_eq!(first.items.iter().map(|e| e.seq).collect::<Vec<_>>(), [4, 3]);
        let cursor = first.next_cursor.unwrap();
        let second = s.audit_page(&of_plan, Some(&cursor), Some(2)).await.unwrap();
        assert_eq!(second.items.iter().map(|e| e.seq).collect::<Vec<_>>(), [2, 1]);
        assert_eq!(second.next_cursor, None);
        let creates = AuditFilter {
            action: Some(AuditAction::PlanCreate),
            user: Some("local".into()),
            ..AuditFilter::default()
        };
        let page = s.audit_page(&creates, None, None).await.unwrap();
        assert_eq!(page.items.iter().map(|e| e.seq).collect::<Vec<_>>(), [5, 1]);
        let nobody = AuditFilter {
            user: Some("mallory".into()),
            ..AuditFilter::default()
        };
        assert!(s.audit_page(&nobody, None, None).await.unwrap().items.is_empty());
        let e = s
            .audit_page(&of_plan, Some("x1"), None)
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"x1\""), "{e}");

        // An entry's field edited through SQL: that entry is named.
        exec(s, "UPDATE audit SET result = 'failed' WHERE seq = 3").await;
        let broken = s.audit_verify().await.unwrap().unwrap_err();
        assert_eq!(broken.seq, 3, "{backend}: {broken}");
        assert!(broken.what.contains("do not hash"), "{broken}");
        exec(s, "UPDATE audit SET result = 'ok' WHERE seq = 3").await;
        assert!(s.audit_verify().await.unwrap().is_ok());

        // Edited and re-hashed: the next entry no longer links to it.
        let mut forged = entries[2].clone();
        forged.version = Some(9);
        forged.hash = entry_hash(&forged);
        controlplane::store::db::query("UPDATE audit SET version = $1, hash = $2 WHERE seq = 3")
            .bind(9_i64)
            .bind(&forged.hash)
            .execute(s.pool())
            .await
            .unwrap();
        let broken = s.audit_verify().await.unwrap().unwrap_err();
        assert_eq!(broken.seq, 4, "{backend}: {broken}");
        assert!(broken.what.contains("prev_hash"), "{broken}");
        exec(s, "DELETE FROM audit WHERE seq = 3").await;
        put_back(s, &entries[2]).await;
        assert!(s.audit_verify().await.unwrap().is_ok());

        // An entry deleted in the middle.
        exec(s, "DELETE FROM audit WHERE seq = 2").await;
        let broken = s.audit_verify().await.unwrap().unwrap_err();
        assert_eq!(broken.seq, 2, "{backend}: {broken}");
        assert!(broken.what.contains("missing"), "{broken}");
        put_back(s, &entries[1]).await;
        assert!(s.audit_verify().await.unwrap().is_ok());

        // The newest entry cut off the end: the head still records it.
        exec(s, "DELETE FROM audit WHERE seq = 7").await;
        let broken = s.audit_verify().await.unwrap().unwrap_err();
        assert_eq!(broken.seq, 7, "{backend}: {broken}");
        assert!(broken.what.contains("head records 7"), "{broken}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_stores_on_one_database_keep_one_chain() {
    const EACH: usize = 40;
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
                    let by = Actor::local(format!("server-{name}"));
                    let object = format!("obj_{name}_{n}");
                    store
                        .audit(NewEntry::ok(&by, AuditAction::ApplyStep, &object, None))
                        .await
                        .map(|e| e.seq)
                }));
            }
        }
        let mut seqs = Vec::new();
        for t in tasks {
            seqs.push(t.await.unwrap().expect("every append succeeds"));
        }
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=2 * EACH as i64).collect::<Vec<_>>(), "{backend}");
        let intact = other.audit_verify().await.unwrap().unwrap();
        assert_eq!(intact.entries, 2 * EACH as i64, "{backend}");
        let entries = all(&server.store).await;
        for name in ["one", "two"] {
            let by = format!("server-{name}");
            assert_eq!(entries.iter().filter(|e| e.address == by).count(), EACH);
        }
    }
}
