//! Saved plans on SQLite and PostgreSQL: create, list, save (a version per change, none for no change),
//! rename, duplicate, versions and restore, delete; bad bodies and names refused with the value named.

mod common;

use controlplane::audit::Actor;

const SEED: &str = include_str!("../../examples/seed.json");
const TRANSITIVE: &str = include_str!("../../examples/transitive.json");

#[tokio::test]
async fn plans_keep_every_version_and_restore_any() {
    for backend in common::backends() {
        let server = common::start(backend).await;
        let s = &server.store;
        let by = Actor::local("test");
        let p = s.create_plan(&by, "Seed", SEED, &[]).await.unwrap();
        assert!(p.id.starts_with("plan_"), "{backend}");
        assert_eq!((p.version, p.vpc_count, p.peering_count), (1, 2, 1));

        // Saving the same plan again adds nothing; a change adds a version.
        assert_eq!(s.save_plan(&by, &p.id, SEED).await.unwrap().version, 1);
        let v2 = s.save_plan(&by, &p.id, TRANSITIVE).await.unwrap();
        assert_eq!((v2.version, v2.vpc_count, v2.peering_count), (2, 3, 2));
        let current = s.get_plan(&p.id).await.unwrap();
        assert_eq!(netmodel::Plan::from_json(&current.body).unwrap().vpcs.len(), 3);

        let versions = s.plan_versions(&p.id).await.unwrap();
        assert_eq!(versions.iter().map(|v| v.version).collect::<Vec<_>>(), [2, 1]);
        assert!(versions.iter().all(|v| v.bytes > 100));

        // Restoring version 1 makes it current as version 3.
        let restored = s.restore_plan_version(&by, &p.id, 1).await.unwrap();
        assert_eq!(restored.summary.version, 3);
        assert_eq!(netmodel::Plan::from_json(&restored.body).unwrap().vpcs.len(), 2);
        assert!(s
            .restore_plan_version(&by, &p.id, 9)
            .await
            .unwrap_err()
            .to_string()
            .contains("version 9"));

        let renamed = s.rename_plan(&by, &p.id, "  Production  ").await.unwrap();
        assert_eq!(renamed.name, "Production");
        let copy = s.duplicate_plan(&by, &p.id).await.unwrap();
        assert_eq!(copy.name, "Production (copy)");
        assert_ne!(copy.id, p.id);
        let list = s.list_plans().await.unwrap();
        assert_eq!(list.len(), 2);

        s.delete_plan(&by, &p.id).await.unwrap();
        assert!(s.get_plan(&p.id).await.is_err());
        assert!(s
            .delete_plan(&by, &p.id)
            .await
            .unwrap_err()
            .to_string()
            .contains(&p.id));
        assert_eq!(s.list_plans().await.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn bad_plans_and_names_are_refused_and_nothing_changes() {
    for backend in common::backends() {
        let server = common::start(backend).await;
        let s = &server.store;
        let by = Actor::local("test");
        let bad = SEED.replacen("10.0.0.0/16", "10.0.0.0/33", 1);
        let e = s.create_plan(&by, "x", &bad, &[]).await.unwrap_err().to_string();
        assert!(e.contains("10.0.0.0/33"), "{backend}: {e}");
        let p = s.create_plan(&by, "Seed", SEED, &[]).await.unwrap();
        assert!(s.save_plan(&by, &p.id, "{not json").await.is_err());
        assert!(s.rename_plan(&by, &p.id, "").await.is_err());
        assert!(s
            .rename_plan(&by, &p.id, "bell\u{7}")
            .await
            .unwrap_err()
            .to_string()
            .contains("bell"));
        let after = s.get_plan(&p.id).await.unwrap();
        assert_eq!((after.summary.version, after.summary.name.as_str()), (1, "Seed"));
        assert!(s
            .save_plan(&by, "plan_missing", SEED)
            .await
            .unwrap_err()
            .to_string()
            .contains("plan_missing"));
    }
}

#[tokio::test]
async fn apply_state_keeps_journal_order_per_state_and_replaces_documents() {
    for backend in common::backends() {
        let server = common::start(backend).await;
        let s = &server.store;
        s.journal_append("a", "one").await.unwrap();
        s.journal_append("b", "other").await.unwrap();
        s.journal_append("a", "two").await.unwrap();
        assert_eq!(s.journal_lines("a").await.unwrap(), ["one", "two"], "{backend}");
        assert_eq!(s.journal_lines("b").await.unwrap(), ["other"], "{backend}");
        assert_eq!(s.document("a", "bindings").await.unwrap(), None);
        s.save_document("a", "bindings", "{}").await.unwrap();
        s.save_document("a", "bindings", "{\"x\":1}").await.unwrap();
        let (body, _) = s.document("a", "bindings").await.unwrap().unwrap();
        assert_eq!(body, "{\"x\":1}", "{backend}");
        assert_eq!(s.document("b", "bindings").await.unwrap(), None);
    }
}
