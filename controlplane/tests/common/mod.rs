//! Test harness: a real HTTP server on a loopback port over a fresh database — an SQLite file, or a fresh
//! PostgreSQL database when `PEERPLAN_TEST_POSTGRES_URL` is set (the test script starts a throwaway server).

#![allow(dead_code)]

use std::sync::Arc;

use controlplane::{
    clock::OffsetClock,
    service::{router, AppState},
    store::{Limits, Store},
};
use serde_json::{json, Value};

pub struct Server {
    pub base: String,
    pub clock: Arc<OffsetClock>,
    pub store: Store,
    /// The database's URL (a second [`Store`] can open it, as a second server would).
    pub url: String,
    _dir: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Which databases the suite runs on: SQLite always; PostgreSQL when configured. With
/// `PEERPLAN_REQUIRE_POSTGRES=1` (the test script sets it) a missing PostgreSQL is a failure, not a skip.
pub fn backends() -> Vec<&'static str> {
    let pg = std::env::var("PEERPLAN_TEST_POSTGRES_URL").is_ok();
    if !pg && std::env::var("PEERPLAN_REQUIRE_POSTGRES").as_deref() == Ok("1") {
        panic!("PEERPLAN_REQUIRE_POSTGRES=1 but PEERPLAN_TEST_POSTGRES_URL is not set");
    }
    if pg {
        vec!["sqlite", "postgres"]
    } else {
        vec!["sqlite"]
    }
}

async fn database_url(backend: &str, dir: &tempfile::TempDir) -> String {
    match backend {
        "sqlite" => format!("sqlite://{}", dir.path().join("cp.db").display()),
        _ => {
            let admin = std::env::var("PEERPLAN_TEST_POSTGRES_URL").unwrap();
            sqlx::any::install_default_drivers();
            let name = format!(
                "t_{}",
                controlplane::store::new_id("db").trim_start_matches("db_")
            );
            let pool = sqlx::AnyPool::connect(&admin)
                .await
                .expect("connect to test PostgreSQL");
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
            // Replace the database name (the path of the URL).
            let (base, query) = admin
                .split_once('?')
                .map(|(b, q)| (b.to_string(), format!("?{q}")))
                .unwrap_or((admin.clone(), String::new()));
            let base = base.rsplit_once('/').map(|(b, _)| b.to_string()).unwrap();
            format!("{base}/{name}{query}")
        }
    }
}

pub async fn start_with(backend: &str, limits: Limits, rate: f64) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(OffsetClock::default());
    let url = database_url(backend, &dir).await;
    let store = Store::open(&url, clock.clone(), limits)
        .await
        .expect("open store");
    let app = router(AppState::new(store.clone(), rate));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Server {
        base,
        clock,
        store,
        url,
        _dir: dir,
        task,
    }
}

pub async fn start(backend: &str) -> Server {
    start_with(backend, Limits::default(), 100_000.0).await
}

/// A small typed-enough client for tests.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub key: String,
    pub account: String,
    http: reqwest::Client,
}

impl Api {
    pub async fn new_account(server: &Server, name: &str) -> Api {
        let acct = server.store.create_account(name).await.unwrap();
        Api {
            base: server.base.clone(),
            key: acct.api_key,
            account: acct.account_id,
            http: reqwest::Client::new(),
        }
    }

    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        let mut req = self
            .http
            .request(method.parse().unwrap(), url)
            .bearer_auth(&self.key);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        declared(method, path, status);
        let text = res.text().await.unwrap();
        (
            status,
            if text.is_empty() {
                Value::Null
            } else {
                serde_json::from_str(&text).unwrap_or(Value::String(text))
            },
        )
    }

    pub async fn vpc(&self, name: &str, cidr: &str) -> Value {
        let (s, v) = self
            .call(
                "POST",
                "/v1/vpcs",
                Some(json!({"name": name, "region": "us-east-1", "cidr_block": cidr})),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        v
    }

    pub async fn vpc_in(&self, name: &str, cidr: &str, region: &str) -> Value {
        let (s, v) = self
            .call(
                "POST",
                "/v1/vpcs",
                Some(json!({"name": name, "region": region, "cidr_block": cidr})),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        v
    }
}

/// Every answer a test sees is one the OpenAPI document declares for that operation (each operation declares only
/// the statuses it can return; schemathesis holds the server to them, and so does every test through [`Api`]).
pub fn declared(method: &str, path: &str, status: u16) {
    static DOC: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    let doc = DOC.get_or_init(|| serde_json::from_str(&controlplane::routes::document()).unwrap());
    let path = path.split('?').next().unwrap();
    let segments: Vec<&str> = path.split('/').collect();
    let Some(op) = controlplane::routes::operations().into_iter().find(|op| {
        let template: Vec<&str> = op.path.split('/').collect();
        op.method.as_str() == method
            && template.len() == segments.len()
            && template
                .iter()
                .zip(&segments)
                .all(|(t, s)| t.starts_with('{') || t == s)
    }) else {
        return; // not an operation (404/405 from the router's fallbacks)
    };
    let responses = &doc["paths"][&op.path][method.to_lowercase()]["responses"];
    assert!(
        responses.get(status.to_string()).is_some(),
        "{method} {path} answered {status}, which the OpenAPI document does not declare for {}",
        op.operation_id()
    );
}
