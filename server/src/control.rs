//! The control plane inside `peerplan`: opening its store (an SQLite file in the data folder, or PostgreSQL),
//! seeding the demo of the seed document on first start, and `peerplan control-plane …`.

use std::{path::Path, sync::Arc};

use controlplane::{
    clock::SystemClock,
    service::AppState,
    store::{Limits, Store},
    wire,
};

/// The database URL: the given one, else `sqlite://DATA/controlplane.db` — the folder created 0700 and the
/// database file 0600 before SQLite opens it (its `-wal` and `-shm` files take the database's mode).
pub fn database_url(data: &Path, url: Option<&str>) -> anyhow::Result<String> {
    match url {
        Some(u) => Ok(u.to_string()),
        None => {
            crate::datadir::private_dir(data)?;
            let db = data.join("controlplane.db");
            crate::datadir::private_file(&db)?;
            for side in ["controlplane.db-wal", "controlplane.db-shm"] {
                let path = data.join(side);
                if path.exists() {
                    crate::datadir::private_file(&path)?;
                }
            }
            Ok(format!("sqlite://{}", db.display()))
        }
    }
}

/// Opens (and migrates) the store.
pub async fn open(data: &Path, url: Option<&str>) -> anyhow::Result<Store> {
    let url = database_url(data, url)?;
    Store::open(&url, Arc::new(SystemClock), Limits::default())
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the control-plane database {url}: {e}"))
}

/// The service state over a store, with `rate_limit` requests per second per key.
pub fn state(store: Store, rate_limit: f64) -> AppState {
    AppState::new(store, rate_limit)
}

/// On an empty database: the seed's two accounts, VPC A (10.0.0.0/16) with Bucket A (10.0.2.10) and VPC B
/// (172.16.0.0/16) with Agent B (172.16.2.20, listening on 7010), each in a subnet (as in `examples/seed.json`).
/// Their keys go to `DATA/demo-keys.json` (created 0600; returned), never into logs.
pub async fn seed_demo(store: &Store, data: &Path) -> anyhow::Result<Option<std::path::PathBuf>> {
    if store.account_count().await? > 0 {
        return Ok(None);
    }
    let a = store.create_account("Account A").await?;
    let b = store.create_account("Account B").await?;
    let vpc = |name: &str, cidr: &str| wire::CreateVpc::new(name, "us-east-1", cidr);
    let vpc_a = store
        .create_vpc(&a.account_id, &vpc("VPC A", "10.0.0.0/16"))
        .await?;
    let vpc_b = store
        .create_vpc(&b.account_id, &vpc("VPC B", "172.16.0.0/16"))
        .await?;
    let subnet = |vpc: &str, cidr: &str| wire::CreateSubnet {
        vpc_id: vpc.into(),
        cidr_block: cidr.into(),
        availability_zone: "us-east-1a".into(),
    };
    let subnet_a = store
        .create_subnet(&a.account_id, &subnet(&vpc_a.id, "10.0.2.0/24"))
        .await?;
    let subnet_b = store
        .create_subnet(&b.account_id, &subnet(&vpc_b.id, "172.16.2.0/24"))
        .await?;
    let endpoint = |subnet: &str, name: &str, kind: &str, ip: &str, port: u16| wire::CreateEndpoint {
        subnet_id: subnet.into(),
        name: name.into(),
        kind: kind.into(),
        private_ip: Some(ip.into()),
        ports: vec![port],
        security_group_ids: vec![],
    };
    store
        .create_endpoint(
            &a.account_id,
            &endpoint(&subnet_a.id, "Bucket A", "bucket", "10.0.2.10", 443),
        )
        .await?;
    store
        .create_endpoint(
            &b.account_id,
            &endpoint(&subnet_b.id, "Agent B", "agent", "172.16.2.20", 7010),
        )
        .await?;
    let path = data.join("demo-keys.json");
    let doc = serde_json::json!({
        "note": "Demo accounts of the seed example. Keep this file private.",
        "accounts": [
            {"name": "Account A", "account_id": a.account_id, "api_key": a.api_key, "vpc_id": vpc_a.id, "main_route_table_id": vpc_a.main_route_table_id},
            {"name": "Account B", "account_id": b.account_id, "api_key": b.api_key, "vpc_id": vpc_b.id, "main_route_table_id": vpc_b.main_route_table_id}
        ]
    });
    crate::datadir::private_dir(data)?;
    crate::datadir::write_secret(&path, (serde_json::to_string_pretty(&doc)? + "\n").as_bytes())?;
    Ok(Some(path))
}
