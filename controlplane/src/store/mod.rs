//! Storage: one SQL dialect for SQLite (default, a WAL file) and PostgreSQL, every query through the seam in
//! [`db`] (PostgreSQL on sqlx, SQLite on rusqlite called on the request's own thread).
//! Every state change is one transaction. Timestamps are Unix milliseconds from the injected [`Clock`].
//!
//! This module holds the [`Store`] itself (opening, the pool, write transactions, row locks) and the helpers
//! every resource shares; each resource keeps its storage in its own module, one `impl Store` block each:
//! [`accounts`], [`audit`], [`vpcs`], [`subnets`], [`route_tables`], [`security_groups`], [`network_acls`] (with what
//! they share in [`rules`]), [`endpoints`], [`gateways`], [`peerings`] and [`plans`]; team mode's
//! [`users`] (roles, passwords, API tokens, the sign-in throttle) and [`sessions`]. Conventions: 404 for
//! anything of another account, AWS semantics where the seed document is silent.

use std::sync::Arc;

use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::{
    clock::Clock,
    error::{ApiError, ErrorCode},
    validate, wire,
};

pub mod accounts;
pub mod apply_state;
pub mod audit;
pub mod db;
pub mod endpoints;
pub mod gateways;
pub mod network_acls;
pub mod peerings;
pub mod plans;
pub mod route_tables;
pub mod rules;
pub mod security_groups;
pub mod sessions;
pub mod subnets;
pub mod users;
pub mod vpcs;

pub(crate) use vpcs::all_blocks;

/// Limits of the peering lifecycle (AWS defaults).
#[derive(Clone, Debug)]
pub struct Limits {
    pub active_per_vpc: i64,
    pub pending_per_account: i64,
    /// How long a request waits for acceptance before it expires.
    pub expiry_ms: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            active_per_vpc: 50,
            pending_per_account: 25,
            expiry_ms: 7 * 24 * 3600 * 1000,
        }
    }
}

/// A write transaction (on SQLite holding this process's writer turn); its statements run on `&mut *tx`.
/// Dropped without [`WriteTx::commit`], it rolls back.
pub(crate) struct WriteTx {
    conn: db::Conn,
}

impl std::ops::Deref for WriteTx {
    type Target = db::Conn;
    fn deref(&self) -> &Self::Target {
        &self.conn
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.conn
    }
}

impl WriteTx {
    pub(crate) async fn commit(self) -> Result<()> {
        Ok(self.conn.commit().await?)
    }
}

/// The store.
#[derive(Clone)]
pub struct Store {
    pub(crate) pool: db::Db,
    pub clock: Arc<dyn Clock>,
    pub limits: Limits,
    postgres: bool,
}

type Result<T> = std::result::Result<T, ApiError>;

/// A new random id with a prefix, e.g. `vpc_3f9c…`.
pub fn new_id(prefix: &str) -> String {
    let mut b = [0u8; 8];
    rand::thread_rng().fill_bytes(&mut b);
    format!("{prefix}_{}", hex::encode(b))
}

/// The stored form of an API key.
pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

pub(crate) fn blocks_json(b: &[String]) -> String {
    serde_json::to_string(b).expect("strings serialize")
}

pub(crate) fn parse_blocks(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

/// A stored word read back as what it stands for (a status, a direction, a protocol…); one that does not parse
/// is corrupt data: an error (500, logged with the column and the value), never a guess.
pub(crate) fn stored<T>(row: &db::Row, column: &str, parse: impl FnOnce(&str) -> Option<T>) -> Result<T> {
    let name = column.rsplit('.').next().unwrap_or(column);
    let text: String = row.try_get(name)?;
    parse(&text).ok_or_else(|| ApiError::Corrupt(format!("{column}: {text:?} is not a valid value")))
}

pub(crate) fn cidr(field: &str, text: &str) -> Result<netmodel::cidr::Cidr> {
    validate::cidr(field, text)
}

/// Page size bounds.
pub const MAX_PAGE: i64 = 1000;

pub(crate) fn page_limit(limit: Option<i64>) -> Result<i64> {
    match limit {
        None => Ok(100),
        Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::invalid(
            ErrorCode::InvalidLimit,
            format!("limit {n} is out of range (1-{MAX_PAGE})"),
        )),
    }
}

pub(crate) fn paginate<T>(mut items: Vec<T>, limit: i64, id: impl Fn(&T) -> String) -> wire::Page<T> {
    let next_cursor = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(id)
    } else {
        None
    };
    wire::Page { items, next_cursor }
}

/// A value bound to a statement of [`Store::run_batch`].
#[derive(Clone, Copy, Debug)]
pub(crate) enum Arg<'a> {
    Text(&'a str),
    Int(i64),
}

/// A unique-index violation becomes a 409 with the given code; anything else is a storage error.
fn conflict_on_unique(e: sqlx::Error, code: ErrorCode, message: String) -> ApiError {
    match e {
        sqlx::Error::Database(d) if d.is_unique_violation() => ApiError::conflict(code, message),
        other => other.into(),
    }
}

/// A count of what still uses an object about to be deleted ([`Store::delete_unless_used`]): SQL selecting the
/// count as `n`, and the values of its `$1`, `$2`…
struct Users<'a>(&'a str, &'a [&'a str]);

/// What to select from the account's objects of one table, page by page.
struct Listing<'a> {
    table: &'a str,
    account: &'a str,
    vpc: Option<&'a str>,
    cursor: Option<&'a str>,
    limit: i64,
}

impl Store {
    /// Opens (creating if needed) and migrates. `url`: `sqlite://path` or `postgres://…`.
    pub async fn open(url: &str, clock: Arc<dyn Clock>, limits: Limits) -> Result<Store> {
        let pool = db::Db::open(url).await?;
        Ok(Store {
            postgres: pool.is_postgres(),
            pool,
            clock,
            limits,
        })
    }

    /// Serialises a quota or uniqueness check on a parent object (an account, a VPC, a route table, a
    /// group…) with the insert it guards, inside a write transaction.
    ///
    /// On PostgreSQL, under READ COMMITTED, two transactions that each count a parent's children and then
    /// insert one both see the old count and together exceed the quota. A row lock on the parent
    /// (`SELECT … FOR NO KEY UPDATE`, which excludes the other checkers but not the foreign-key checks of
    /// unrelated inserts) makes the second transaction wait until the first commits; its count then includes
    /// the first one's insert. Several parents are locked in id order, and tables always in the order accounts
    /// → VPCs → objects of a VPC, so two transactions never wait for each other.
    ///
    /// On SQLite nothing is needed: a write transaction begins IMMEDIATE and holds the database's only write
    /// lock from its first statement, so no two writers' checks and inserts interleave.
    pub(crate) async fn lock_rows(&self, tx: &mut WriteTx, table: &str, ids: &[&str]) -> Result<()> {
        if !self.postgres {
            return Ok(());
        }
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let sql = format!("SELECT id FROM {table} WHERE id = $1 FOR NO KEY UPDATE");
        for id in ids {
            db::query(&sql).bind(id).fetch_optional(&mut **tx).await?;
        }
        Ok(())
    }

    /// Whether this store is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.postgres
    }

    /// The database (tests run raw SQL through it: `db::query(sql).bind(v).execute(store.pool())`).
    pub fn pool(&self) -> &db::Db {
        &self.pool
    }

    pub(crate) fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// A write transaction. On SQLite it takes the write lock up front (`BEGIN IMMEDIATE`): a deferred
    /// transaction that reads and then writes fails with SQLITE_BUSY when another writer committed meanwhile,
    /// which busy_timeout cannot help.
    /// Writers of one process also queue on an in-process lock, so they wait in order instead of polling
    /// SQLite's busy handler (which sleeps in coarse steps).
    pub(crate) async fn write_tx(&self) -> Result<WriteTx> {
        Ok(WriteTx {
            conn: self.pool.begin_write().await?,
        })
    }

    /// Runs one writing statement on its own: atomic and durable as a transaction of one statement (autocommit),
    /// in this process's writer turn on SQLite as [`Store::write_tx`] — one statement instead of three (`BEGIN`,
    /// the statement, `COMMIT`). Only for a statement that needs nothing read before it.
    pub(crate) async fn write_one(&self, query: db::Query<'_>) -> Result<db::Done> {
        Ok(query.execute(&self.pool).await?)
    }

    /// Runs statements in order inside a write transaction; each numbers its own parameters `$1`…`$n`, `n` being
    /// the number of its arguments.
    pub(crate) async fn run_batch(&self, tx: &mut WriteTx, statements: &[(&str, &[Arg<'_>])]) -> Result<()> {
        for (sql, args) in statements {
            let mut query = db::query(sql);
            for arg in *args {
                query = match *arg {
                    Arg::Text(t) => query.bind(t),
                    Arg::Int(i) => query.bind(i),
                };
            }
            query.execute(&mut **tx).await?;
        }
        Ok(())
    }

    /// Deletes an object unless something still uses it, in one write transaction: the `users` counts are taken
    /// inside it; when any is above zero the answer is `refuse(counts)` (a 409) and nothing changes; otherwise
    /// the `deletes` run in order (the object's children, then its row; each binds `id` as `$1`) and commit.
    async fn delete_unless_used<const N: usize>(
        &self,
        id: &str,
        users: [Users<'_>; N],
        refuse: impl FnOnce([i64; N]) -> ApiError,
        deletes: &[&str],
    ) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let mut counts = [0; N];
        for (count, Users(sql, values)) in counts.iter_mut().zip(users) {
            let mut query = db::query(sql);
            for value in values {
                query = query.bind(*value);
            }
            *count = query.fetch_one(&mut *tx).await?.try_get("n")?;
        }
        if counts.iter().any(|n| *n > 0) {
            return Err(refuse(counts));
        }
        for sql in deletes {
            db::query(sql).bind(id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Ids of the account's objects in one table (optionally of one VPC), a page at a time.
    async fn list_ids(&self, l: Listing<'_>) -> Result<Vec<String>> {
        let sql = format!(
            "SELECT id FROM {} WHERE account_id = $1 AND ($2 = '' OR vpc_id = $2) AND id > $3 ORDER BY id LIMIT $4",
            l.table
        );
        let rows = db::query(&sql)
            .bind(l.account)
            .bind(l.vpc.unwrap_or(""))
            .bind(l.cursor.unwrap_or(""))
            .bind(l.limit + 1)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
    }

    /// Subnets explicitly associated with a route table (`kind` `route_table`) or network ACL (`network_acl`).
    pub(crate) async fn associated_subnets(&self, kind: &str, target: &str) -> Result<Vec<String>> {
        let rows = db::query(
            "SELECT subnet_id FROM subnet_associations WHERE kind = $1 AND target_id = $2 ORDER BY subnet_id",
        )
        .bind(kind)
        .bind(target)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok(r.try_get("subnet_id")?)).collect()
    }

    /// Points a subnet at a route table or ACL of its VPC; associating with the main table / default ACL removes
    /// the explicit association (the subnet falls back to it anyway).
    async fn associate(
        &self,
        account: &str,
        kind: &str,
        (target, target_vpc, target_is_default): (&str, &str, bool),
        subnet_id: &str,
    ) -> Result<()> {
        let subnet = self
            .get_subnet(account, subnet_id)
            .await
            .map_err(|_| ApiError::NotFound(format!("subnet_id: subnet \"{subnet_id}\" not found")))?;
        if subnet.vpc_id != target_vpc {
            return Err(ApiError::invalid(
                ErrorCode::SubnetOtherVpc,
                format!(
                    "subnet_id: subnet {subnet_id} is in VPC {}, not in {target}'s VPC {target_vpc}",
                    subnet.vpc_id
                ),
            ));
        }
        let mut tx = self.write_tx().await?;
        db::query("DELETE FROM subnet_associations WHERE subnet_id = $1 AND kind = $2")
            .bind(subnet_id)
            .bind(kind)
            .execute(&mut *tx)
            .await?;
        if !target_is_default {
            db::query("INSERT INTO subnet_associations (subnet_id, kind, target_id) VALUES ($1, $2, $3)")
                .bind(subnet_id)
                .bind(kind)
                .bind(target)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
