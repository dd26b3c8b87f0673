//! Storage: one SQL dialect for SQLite (default, a WAL file) and PostgreSQL, through sqlx's `Any` driver.
//! Every state change is one transaction. Timestamps are Unix milliseconds from the injected [`Clock`].

use std::{str::FromStr, sync::Arc};

use netmodel::{cidr::Cidr, model::PeeringStatus};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::{
    any::{AnyPoolOptions, AnyRow},
    AnyPool, Row,
};

use crate::{
    clock::Clock,
    error::{ApiError, ErrorCode},
    gateways::ROUTES_PER_TABLE,
    lifecycle::{self, Action, Actor, Refusal},
    validate, wire,
};

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

/// A write transaction, holding this process's writer turn on SQLite.
pub(crate) struct WriteTx {
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
    tx: sqlx::Transaction<'static, sqlx::Any>,
}

impl std::ops::Deref for WriteTx {
    type Target = sqlx::Transaction<'static, sqlx::Any>;
    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

impl WriteTx {
    pub(crate) async fn commit(self) -> Result<()> {
        Ok(self.tx.commit().await?)
    }
}

/// The store.
#[derive(Clone)]
pub struct Store {
    pub(crate) pool: AnyPool,
    pub clock: Arc<dyn Clock>,
    pub limits: Limits,
    postgres: bool,
    writer: Arc<tokio::sync::Mutex<()>>,
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
pub(crate) fn stored<T>(row: &AnyRow, column: &str, parse: impl FnOnce(&str) -> Option<T>) -> Result<T> {
    let name = column.rsplit('.').next().unwrap_or(column);
    let text: String = row.try_get(name)?;
    parse(&text).ok_or_else(|| ApiError::Corrupt(format!("{column}: {text:?} is not a valid value")))
}

/// A peering status from its word.
pub(crate) fn parse_status(word: &str) -> Option<PeeringStatus> {
    PeeringStatus::ALL.into_iter().find(|s| s.as_str() == word)
}

pub(crate) fn cidr(field: &str, text: &str) -> Result<netmodel::cidr::Cidr> {
    validate::cidr(field, text)
}

fn vpc_from(row: &AnyRow) -> Result<wire::Vpc> {
    Ok(wire::Vpc {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        name: row.try_get("name")?,
        region: row.try_get("region")?,
        cidr_block: row.try_get("cidr_block")?,
        secondary_cidr_blocks: parse_blocks(&row.try_get::<String, _>("secondary_cidr_blocks")?),
        ipv6_cidr_blocks: parse_blocks(&row.try_get::<String, _>("ipv6_cidr_blocks")?),
        main_route_table_id: row.try_get("main_route_table_id")?,
        default_network_acl_id: row.try_get("default_network_acl_id")?,
        default_security_group_id: row.try_get("default_security_group_id")?,
        created_at: row.try_get("created_at")?,
    })
}

pub(crate) fn all_blocks(v: &wire::Vpc) -> Vec<String> {
    std::iter::once(v.cidr_block.clone())
        .chain(v.secondary_cidr_blocks.clone())
        .chain(v.ipv6_cidr_blocks.clone())
        .collect()
}

fn subnet_from(row: &AnyRow) -> Result<wire::Subnet> {
    Ok(wire::Subnet {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        vpc_id: row.try_get("vpc_id")?,
        cidr_block: row.try_get("cidr_block")?,
        availability_zone: row.try_get("availability_zone")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Peering columns. `$1` is always "now": a pending request past its expiry reads as `expired` at once, whether
/// or not [`Store::expire_due`] has written that yet, so reads need no write.
const PEERING_COLUMNS: &str = "p.id, CASE WHEN p.status = 'pending' AND p.expires_at <= $1 THEN 'expired' ELSE p.status END AS status, p.status_message, p.requester_vpc_id, p.accepter_vpc_id, \
     p.requester_account_id, p.accepter_account_id, p.requester_region, p.accepter_region, p.created_at, \
     p.expires_at, rv.cidr_block AS r_cidr, rv.secondary_cidr_blocks AS r_sec, rv.ipv6_cidr_blocks AS r_v6, \
     av.cidr_block AS a_cidr, av.secondary_cidr_blocks AS a_sec, av.ipv6_cidr_blocks AS a_v6";

const PEERING_FROM: &str =
    "FROM peerings p JOIN vpcs rv ON rv.id = p.requester_vpc_id JOIN vpcs av ON av.id = p.accepter_vpc_id";

fn peering_from(row: &AnyRow) -> Result<wire::Peering> {
    let blocks = |c: &str, s: &str, v6: &str| -> Result<Vec<String>> {
        Ok(std::iter::once(row.try_get::<String, _>(c)?)
            .chain(parse_blocks(&row.try_get::<String, _>(s)?))
            .chain(parse_blocks(&row.try_get::<String, _>(v6)?))
            .collect())
    };
    Ok(wire::Peering {
        id: row.try_get("id")?,
        status: stored(row, "peerings.status", parse_status)?,
        status_message: row.try_get("status_message")?,
        requester_vpc_id: row.try_get("requester_vpc_id")?,
        accepter_vpc_id: row.try_get("accepter_vpc_id")?,
        requester_account_id: row.try_get("requester_account_id")?,
        accepter_account_id: row.try_get("accepter_account_id")?,
        requester_region: row.try_get("requester_region")?,
        accepter_region: row.try_get("accepter_region")?,
        requester_cidr_blocks: blocks("r_cidr", "r_sec", "r_v6")?,
        accepter_cidr_blocks: blocks("a_cidr", "a_sec", "a_v6")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
    })
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

impl Store {
    /// Opens (creating if needed) and migrates. `url`: `sqlite://path` or `postgres://…`.
    pub async fn open(url: &str, clock: Arc<dyn Clock>, limits: Limits) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let postgres = url.starts_with("postgres://") || url.starts_with("postgresql://");
        let url = if postgres || url.contains('?') {
            url.to_string()
        } else {
            format!("{url}?mode=rwc")
        };
        let mut options = AnyPoolOptions::new().max_connections(if postgres { 16 } else { 8 });
        if !postgres {
            options = options.after_connect(|conn, _| {
                Box::pin(async move {
                    use sqlx::Executor;
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA synchronous = NORMAL").await?;
                    conn.execute("PRAGMA busy_timeout = 10000").await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    Ok(())
                })
            });
        }
        let pool = options.connect(&url).await?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(|e| ApiError::Storage(e.into()))?;
        Ok(Store {
            pool,
            clock,
            limits,
            postgres,
            writer: Arc::new(tokio::sync::Mutex::new(())),
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
            sqlx::query(&sql).bind(id).fetch_optional(&mut ***tx).await?;
        }
        Ok(())
    }

    /// Whether this store is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.postgres
    }

    /// The pool (tests run integrity checks through it).
    pub fn pool(&self) -> &AnyPool {
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
        if self.postgres {
            return Ok(WriteTx {
                _turn: None,
                tx: self.pool.begin().await?,
            });
        }
        let turn = self.writer.clone().lock_owned().await;
        Ok(WriteTx {
            _turn: Some(turn),
            tx: self.pool.begin_with("BEGIN IMMEDIATE").await?,
        })
    }

    // ---------- accounts and keys ----------

    /// Creates an account and its first key; the key is returned once and stored hashed.
    pub async fn create_account(&self, name: &str) -> Result<wire::NewAccount> {
        if name.trim().is_empty() {
            return Err(ApiError::invalid(
                ErrorCode::InvalidName,
                "an account needs a name",
            ));
        }
        let id = new_id("account");
        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        let api_key = format!("ppk_{}", hex::encode(key));
        let mut tx = self.write_tx().await?;
        sqlx::query("INSERT INTO accounts (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(&id)
            .bind(name)
            .bind(self.now())
            .execute(&mut **tx)
            .await?;
        sqlx::query("INSERT INTO api_keys (key_hash, account_id, created_at) VALUES ($1, $2, $3)")
            .bind(hash_key(&api_key))
            .bind(&id)
            .bind(self.now())
            .execute(&mut **tx)
            .await?;
        tx.commit().await?;
        Ok(wire::NewAccount {
            account_id: id,
            api_key,
        })
    }

    /// How many accounts exist.
    pub async fn account_count(&self) -> Result<i64> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM accounts")
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?)
    }

    /// The account a key belongs to.
    pub async fn account_for_key(&self, key: &str) -> Result<Option<String>> {
        self.account_for_hash(&hash_key(key)).await
    }

    /// The account of a stored key hash.
    pub async fn account_for_hash(&self, hash: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT account_id FROM api_keys WHERE key_hash = $1")
            .bind(hash)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("account_id")).transpose()?)
    }

    // ---------- VPCs ----------

    /// Creates a VPC and its main route table.
    pub async fn create_vpc(&self, account: &str, req: &wire::CreateVpc) -> Result<wire::Vpc> {
        // The blocks first (a bad block is the likeliest mistake), then the other fields; the same checks as
        // every other operation that takes these fields (`validate`).
        validate::vpc_block_counts(req.secondary_cidr_blocks.len(), req.ipv6_cidr_blocks.len())?;
        let primary = validate::ipv4_block("cidr_block", &req.cidr_block)?;
        let mut blocks = vec![("cidr_block".to_string(), primary)];
        for (i, b) in req.secondary_cidr_blocks.iter().enumerate() {
            let field = format!("secondary_cidr_blocks[{i}]");
            blocks.push((field.clone(), validate::ipv4_block(&field, b)?));
        }
        for (i, b) in req.ipv6_cidr_blocks.iter().enumerate() {
            let field = format!("ipv6_cidr_blocks[{i}]");
            let block = cidr(&field, b)?;
            if block.is_v4() {
                return Err(ApiError::invalid(
                    ErrorCode::InvalidCidr,
                    format!("{field}: {} is not an IPv6 block", validate::shown(b)),
                ));
            }
            blocks.push((field, block));
        }
        // AWS refuses a block that overlaps another block of the same VPC.
        for (i, (field, block)) in blocks.iter().enumerate() {
            if let Some((other_field, other)) = blocks[..i].iter().find(|(_, o)| o.overlaps(block)) {
                return Err(ApiError::invalid(
                    ErrorCode::CidrOverlap,
                    format!("{field}: {block} overlaps {other_field} ({other})"),
                ));
            }
        }
        validate::name("name", &req.name, true)?;
        validate::region("region", &req.region)?;
        let canon = |b: &String| {
            netmodel::cidr::Cidr::from_str(b)
                .map(|c| c.to_string())
                .unwrap_or_default()
        };
        let vpc = wire::Vpc {
            id: new_id("vpc"),
            account_id: account.to_string(),
            name: req.name.clone(),
            region: req.region.clone(),
            cidr_block: primary.to_string(),
            secondary_cidr_blocks: req.secondary_cidr_blocks.iter().map(canon).collect(),
            ipv6_cidr_blocks: req.ipv6_cidr_blocks.iter().map(canon).collect(),
            main_route_table_id: new_id("rtb"),
            default_network_acl_id: new_id("acl"),
            default_security_group_id: new_id("sg"),
            created_at: self.now(),
        };
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO vpcs (id, account_id, name, region, cidr_block, secondary_cidr_blocks, ipv6_cidr_blocks, \
             main_route_table_id, default_network_acl_id, default_security_group_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&vpc.id)
        .bind(account)
        .bind(&vpc.name)
        .bind(&vpc.region)
        .bind(&vpc.cidr_block)
        .bind(blocks_json(&vpc.secondary_cidr_blocks))
        .bind(blocks_json(&vpc.ipv6_cidr_blocks))
        .bind(&vpc.main_route_table_id)
        .bind(&vpc.default_network_acl_id)
        .bind(&vpc.default_security_group_id)
        .bind(vpc.created_at)
        .execute(&mut **tx)
        .await?;
        sqlx::query(
            "INSERT INTO route_tables (id, account_id, vpc_id, main, created_at) VALUES ($1, $2, $3, 1, $4)",
        )
        .bind(&vpc.main_route_table_id)
        .bind(account)
        .bind(&vpc.id)
        .bind(vpc.created_at)
        .execute(&mut **tx)
        .await?;
        self.create_vpc_defaults(&mut tx, &vpc).await?;
        tx.commit().await?;
        Ok(vpc)
    }

    /// A VPC of the account (404 otherwise).
    pub async fn get_vpc(&self, account: &str, id: &str) -> Result<wire::Vpc> {
        let row = sqlx::query("SELECT * FROM vpcs WHERE id = $1 AND account_id = $2")
            .bind(id)
            .bind(account)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(r) => vpc_from(&r),
            None => Err(ApiError::NotFound(format!("VPC \"{id}\" not found"))),
        }
    }

    /// The account's VPCs, by id.
    pub async fn list_vpcs(
        &self,
        account: &str,
        cursor: Option<&str>,
        limit: Option<i64>,
    ) -> Result<wire::Page<wire::Vpc>> {
        let limit = page_limit(limit)?;
        let rows = sqlx::query("SELECT * FROM vpcs WHERE account_id = $1 AND id > $2 ORDER BY id LIMIT $3")
            .bind(account)
            .bind(cursor.unwrap_or(""))
            .bind(limit + 1)
            .fetch_all(&self.pool)
            .await?;
        let items = rows.iter().map(vpc_from).collect::<Result<Vec<_>>>()?;
        Ok(paginate(items, limit, |v| v.id.clone()))
    }

    /// Deletes a VPC with its subnets and route tables; refused while a peering is pending or active.
    pub async fn delete_vpc(&self, account: &str, id: &str) -> Result<()> {
        self.get_vpc(account, id).await?;
        self.expire_due().await?;
        let mut tx = self.write_tx().await?;
        let live: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM peerings WHERE (requester_vpc_id = $1 OR accepter_vpc_id = $1) \
             AND status IN ('pending', 'active')",
        )
        .bind(id)
        .fetch_one(&mut **tx)
        .await?
        .try_get("n")?;
        if live > 0 {
            return Err(ApiError::conflict(
                ErrorCode::VpcHasPeerings,
                format!("VPC \"{id}\" has {live} pending or active peering connections; delete them first"),
            ));
        }
        for sql in [
            "DELETE FROM routes WHERE route_table_id IN (SELECT id FROM route_tables WHERE vpc_id = $1)",
            "DELETE FROM route_tables WHERE vpc_id = $1",
            "DELETE FROM gateways WHERE vpc_id = $1",
            "DELETE FROM endpoints WHERE vpc_id = $1",
            "DELETE FROM subnet_associations WHERE subnet_id IN (SELECT id FROM subnets WHERE vpc_id = $1)",
            "DELETE FROM subnets WHERE vpc_id = $1",
            "DELETE FROM acl_entries WHERE acl_id IN (SELECT id FROM network_acls WHERE vpc_id = $1)",
            "DELETE FROM network_acls WHERE vpc_id = $1",
            // Rules of other groups that name this VPC's groups go with them.
            "DELETE FROM sg_rules WHERE group_id IN (SELECT id FROM security_groups WHERE vpc_id = $1) \
             OR ref_group_id IN (SELECT id FROM security_groups WHERE vpc_id = $1)",
            "DELETE FROM security_groups WHERE vpc_id = $1",
        ] {
            sqlx::query(sql).bind(id).execute(&mut **tx).await?;
        }
        // Ended peerings keep their history but no longer pin the VPC.
        sqlx::query("DELETE FROM peerings WHERE requester_vpc_id = $1 OR accepter_vpc_id = $1")
            .bind(id)
            .execute(&mut **tx)
            .await?;
        sqlx::query("DELETE FROM vpcs WHERE id = $1")
            .bind(id)
            .execute(&mut **tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    // ---------- subnets ----------

    /// Creates a subnet inside its VPC's blocks, overlapping none of its other subnets.
    pub async fn create_subnet(&self, account: &str, req: &wire::CreateSubnet) -> Result<wire::Subnet> {
        let vpc = self.get_vpc(account, &req.vpc_id).await?;
        let block = cidr("cidr_block", &req.cidr_block)?;
        if block.is_v4() {
            validate::ipv4_block("cidr_block", &req.cidr_block)?;
        }
        validate::availability_zone("availability_zone", &req.availability_zone, &vpc.region)?;
        let inside = all_blocks(&vpc)
            .iter()
            .filter_map(|b| b.parse::<netmodel::cidr::Cidr>().ok())
            .any(|b| b.contains_block(&block));
        if !inside {
            return Err(ApiError::invalid(
                ErrorCode::SubnetOutsideVpc,
                format!(
                    "cidr_block: \"{block}\" lies outside every block of VPC {}",
                    vpc.id
                ),
            ));
        }
        let mut tx = self.write_tx().await?;
        // Concurrent creates in one VPC must not both pass the overlap check.
        self.lock_rows(&mut tx, "vpcs", &[&vpc.id]).await?;
        let existing = sqlx::query("SELECT id, cidr_block FROM subnets WHERE vpc_id = $1")
            .bind(&vpc.id)
            .fetch_all(&mut **tx)
            .await?;
        for row in existing {
            let other: String = row.try_get("cidr_block")?;
            if other
                .parse::<netmodel::cidr::Cidr>()
                .is_ok_and(|o| o.overlaps(&block))
            {
                let oid: String = row.try_get("id")?;
                return Err(ApiError::conflict(
                    ErrorCode::SubnetOverlap,
                    format!("cidr_block: \"{block}\" overlaps subnet {oid} ({other})"),
                ));
            }
        }
        let s = wire::Subnet {
            id: new_id("subnet"),
            account_id: account.to_string(),
            vpc_id: vpc.id.clone(),
            cidr_block: block.to_string(),
            availability_zone: req.availability_zone.clone(),
            created_at: self.now(),
        };
        sqlx::query(
            "INSERT INTO subnets (id, account_id, vpc_id, cidr_block, availability_zone, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&s.id)
        .bind(account)
        .bind(&s.vpc_id)
        .bind(&s.cidr_block)
        .bind(&s.availability_zone)
        .bind(s.created_at)
        .execute(&mut **tx)
        .await?;
        tx.commit().await?;
        Ok(s)
    }

    /// A subnet of the account.
    pub async fn get_subnet(&self, account: &str, id: &str) -> Result<wire::Subnet> {
        let row = sqlx::query("SELECT * FROM subnets WHERE id = $1 AND account_id = $2")
            .bind(id)
            .bind(account)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref()
            .map(subnet_from)
            .transpose()?
            .ok_or_else(|| ApiError::NotFound(format!("subnet \"{id}\" not found")))
    }

    /// The account's subnets.
    pub async fn list_subnets(
        &self,
        account: &str,
        cursor: Option<&str>,
        limit: Option<i64>,
    ) -> Result<wire::Page<wire::Subnet>> {
        let limit = page_limit(limit)?;
        let rows =
            sqlx::query("SELECT * FROM subnets WHERE account_id = $1 AND id > $2 ORDER BY id LIMIT $3")
                .bind(account)
                .bind(cursor.unwrap_or(""))
                .bind(limit + 1)
                .fetch_all(&self.pool)
                .await?;
        let items = rows.iter().map(subnet_from).collect::<Result<Vec<_>>>()?;
        Ok(paginate(items, limit, |v| v.id.clone()))
    }

    /// Deletes a subnet (refused while endpoints are in it) with its associations.
    pub async fn delete_subnet(&self, account: &str, id: &str) -> Result<()> {
        self.get_subnet(account, id).await?;
        let mut tx = self.write_tx().await?;
        let used: i64 = sqlx::query("SELECT COUNT(*) AS n FROM endpoints WHERE subnet_id = $1")
            .bind(id)
            .fetch_one(&mut **tx)
            .await?
            .try_get("n")?;
        if used > 0 {
            return Err(ApiError::conflict(
                ErrorCode::SubnetInUse,
                format!("subnet \"{id}\" still has {used} endpoints; delete them first"),
            ));
        }
        for sql in [
            "DELETE FROM subnet_associations WHERE subnet_id = $1",
            "DELETE FROM subnets WHERE id = $1",
        ] {
            sqlx::query(sql).bind(id).execute(&mut **tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    // ---------- route tables ----------

    /// Creates a (non-main) route table in a VPC of the account.
    pub async fn create_route_table(
        &self,
        account: &str,
        req: &wire::CreateRouteTable,
    ) -> Result<wire::RouteTable> {
        let vpc = self.get_vpc(account, &req.vpc_id).await?;
        let id = new_id("rtb");
        sqlx::query(
            "INSERT INTO route_tables (id, account_id, vpc_id, main, created_at) VALUES ($1, $2, $3, 0, $4)",
        )
        .bind(&id)
        .bind(account)
        .bind(&vpc.id)
        .bind(self.now())
        .execute(&self.pool)
        .await?;
        self.get_route_table(account, &id).await
    }

    /// A route table with its routes (local routes first); a route to a peering that is not active is a
    /// `blackhole`.
    pub async fn get_route_table(&self, account: &str, id: &str) -> Result<wire::RouteTable> {
        // No expiry sweep needed: pending and expired peerings both make their routes blackholes.
        let row = sqlx::query("SELECT * FROM route_tables WHERE id = $1 AND account_id = $2")
            .bind(id)
            .bind(account)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("route table \"{id}\" not found")))?;
        let vpc_id: String = row.try_get("vpc_id")?;
        let vpc = self.get_vpc(account, &vpc_id).await?;
        let mut routes: Vec<wire::Route> = all_blocks(&vpc)
            .into_iter()
            .map(|b| wire::Route {
                destination_cidr: b,
                target: "local".into(),
                state: "active".into(),
            })
            .collect();
        let rows = sqlx::query(
            "SELECT r.destination_cidr, r.target, p.status AS peering_status FROM routes r \
             LEFT JOIN peerings p ON p.id = r.target WHERE r.route_table_id = $1 ORDER BY r.destination_cidr",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        for r in rows {
            let target: String = r.try_get("target")?;
            let status: Option<String> = r.try_get("peering_status")?;
            let state = match (target.starts_with("pcx_"), status.as_deref()) {
                (true, Some("active")) | (false, _) => "active",
                (true, _) => "blackhole",
            };
            routes.push(wire::Route {
                destination_cidr: r.try_get("destination_cidr")?,
                target,
                state: state.into(),
            });
        }
        Ok(wire::RouteTable {
            id: id.to_string(),
            account_id: account.to_string(),
            vpc_id,
            main: row.try_get::<i64, _>("main")? != 0,
            routes,
            subnet_ids: self.associated_subnets("route_table", id).await?,
            created_at: row.try_get("created_at")?,
        })
    }

    /// The account's route tables.
    pub async fn list_route_tables(
        &self,
        account: &str,
        cursor: Option<&str>,
        limit: Option<i64>,
    ) -> Result<wire::Page<wire::RouteTable>> {
        let limit = page_limit(limit)?;
        let rows =
            sqlx::query("SELECT id FROM route_tables WHERE account_id = $1 AND id > $2 ORDER BY id LIMIT $3")
                .bind(account)
                .bind(cursor.unwrap_or(""))
                .bind(limit + 1)
                .fetch_all(&self.pool)
                .await?;
        let mut items = Vec::new();
        for r in rows {
            let id: String = r.try_get("id")?;
            items.push(self.get_route_table(account, &id).await?);
        }
        Ok(paginate(items, limit, |v| v.id.clone()))
    }

    /// Adds a route (at most [`ROUTES_PER_TABLE`] per table). The target must be a peering or a gateway of this
    /// table's VPC.
    pub async fn add_route(
        &self,
        account: &str,
        table: &str,
        req: &wire::CreateRoute,
    ) -> Result<wire::RouteTable> {
        let rt = self.get_route_table(account, table).await?;
        let dest = cidr("destination_cidr", &req.destination_cidr)?;
        let target = req.target.as_str();
        self.check_route_target(account, &rt.vpc_id, target).await?;
        if rt
            .routes
            .iter()
            .any(|r| r.target == "local" && r.destination_cidr == dest.to_string())
        {
            return Err(ApiError::conflict(
                ErrorCode::RouteExists,
                format!("destination_cidr: {dest} is the VPC's local route"),
            ));
        }
        let mut tx = self.write_tx().await?;
        // Count, then insert: under a lock on the table (see `lock_rows`).
        self.lock_rows(&mut tx, "route_tables", &[table]).await?;
        let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM routes WHERE route_table_id = $1")
            .bind(table)
            .fetch_one(&mut **tx)
            .await?
            .try_get("n")?;
        if n >= ROUTES_PER_TABLE {
            return Err(ApiError::conflict(
                ErrorCode::RouteQuotaExceeded,
                format!("route table {table} already has {n} routes (limit {ROUTES_PER_TABLE}, local routes aside)"),
            ));
        }
        let inserted = sqlx::query(
            "INSERT INTO routes (route_table_id, destination_cidr, target, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (route_table_id, destination_cidr) DO NOTHING",
        )
        .bind(table)
        .bind(dest.to_string())
        .bind(target)
        .bind(self.now())
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            return Err(ApiError::conflict(
                ErrorCode::RouteExists,
                format!("destination_cidr: route table {table} already has a route for {dest}"),
            ));
        }
        tx.commit().await?;
        self.get_route_table(account, table).await
    }

    /// Deletes the route for a destination.
    pub async fn delete_route(
        &self,
        account: &str,
        table: &str,
        destination: &str,
    ) -> Result<wire::RouteTable> {
        self.get_route_table(account, table).await?;
        let dest = cidr("destination_cidr", destination)?;
        let n = sqlx::query("DELETE FROM routes WHERE route_table_id = $1 AND destination_cidr = $2")
            .bind(table)
            .bind(dest.to_string())
            .execute(&self.pool)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(ApiError::NotFound(format!(
                "route table {table} has no route for {dest}"
            )));
        }
        self.get_route_table(account, table).await
    }

    // ---------- peering ----------

    /// Marks pending requests past their expiry as `expired` (one statement; run before peering reads).
    pub async fn expire_due(&self) -> Result<u64> {
        let now = self.now();
        // A cheap indexed read first: the write (serialized on SQLite) happens only when something is due.
        let due =
            sqlx::query("SELECT id FROM peerings WHERE status = 'pending' AND expires_at <= $1 LIMIT 1")
                .bind(now)
                .fetch_optional(&self.pool)
                .await?;
        if due.is_none() {
            return Ok(0);
        }
        Ok(sqlx::query("UPDATE peerings SET status = 'expired', updated_at = $1 WHERE status = 'pending' AND expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    /// Requests a peering. Overlapping blocks → created `failed` with the reason; `auto_accept` only within the
    /// caller's account.
    pub async fn create_peering(&self, account: &str, req: &wire::CreatePeering) -> Result<wire::Peering> {
        for (field, given) in [
            ("requester_region", &req.requester_region),
            ("accepter_region", &req.accepter_region),
        ] {
            if let Some(region) = given {
                validate::region(field, region)?;
            }
        }
        self.expire_due().await?;
        // Both VPCs in one read.
        let vpcs = sqlx::query("SELECT * FROM vpcs WHERE id IN ($1, $2)")
            .bind(&req.requester_vpc_id)
            .bind(&req.accepter_vpc_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(vpc_from)
            .collect::<Result<Vec<_>>>()?;
        let find = |id: &str| vpcs.iter().find(|v| v.id == id).cloned();
        let requester = find(&req.requester_vpc_id)
            .filter(|v| v.account_id == account)
            .ok_or_else(|| {
                ApiError::NotFound(format!(
                    "requester_vpc_id: VPC \"{}\" not found in your account",
                    req.requester_vpc_id
                ))
            })?;
        let accepter_account = req
            .accepter_account_id
            .clone()
            .unwrap_or_else(|| account.to_string());
        let accepter = match find(&req.accepter_vpc_id) {
            Some(v) if v.account_id == accepter_account => v,
            _ => {
                return Err(ApiError::NotFound(format!(
                    "accepter_vpc_id: VPC \"{}\" not found in account \"{accepter_account}\"",
                    req.accepter_vpc_id
                )))
            }
        };
        if requester.id == accepter.id {
            return Err(ApiError::invalid(
                ErrorCode::InvalidPeering,
                "a VPC cannot peer with itself",
            ));
        }
        for (field, given, actual) in [
            ("requester_region", &req.requester_region, &requester.region),
            ("accepter_region", &req.accepter_region, &accepter.region),
        ] {
            if let Some(g) = given.as_ref().filter(|g| *g != actual) {
                return Err(ApiError::invalid(
                    ErrorCode::RegionMismatch,
                    format!("{field}: \"{g}\" is not the VPC's region ({actual})"),
                ));
            }
        }
        if req.auto_accept && accepter.account_id != account {
            return Err(ApiError::invalid(
                ErrorCode::AutoAcceptCrossAccount,
                format!(
                    "auto_accept works only when both VPCs are in your account; {} belongs to {}, which must accept",
                    accepter.id, accepter.account_id
                ),
            ));
        }
        // A stored block that does not parse is damage to report, never a block to skip: skipping it could
        // let an overlapping peering through.
        let parsed = |v: &wire::Vpc| -> Result<Vec<Cidr>> {
            all_blocks(v)
                .iter()
                .map(|b| {
                    b.parse().map_err(|e| {
                        ApiError::Corrupt(format!("VPC {}: stored block {b:?} does not parse: {e}", v.id))
                    })
                })
                .collect()
        };
        let overlap = lifecycle::first_overlap(&parsed(&requester)?, &parsed(&accepter)?).map(|(a, b)| {
            format!(
                "CIDR blocks overlap: {a} ({}) and {b} ({})",
                requester.id, accepter.id
            )
        });
        let now = self.now();
        let status = lifecycle::requested(overlap.is_some(), req.auto_accept);
        let message = overlap;
        let pair_key = if requester.id < accepter.id {
            format!("{}|{}", requester.id, accepter.id)
        } else {
            format!("{}|{}", accepter.id, requester.id)
        };
        let id = new_id("pcx");
        let mut tx = self.write_tx().await?;
        // The quotas below count, then insert: lock what they count on (see `lock_rows`).
        if status == PeeringStatus::Pending {
            self.lock_rows(&mut tx, "accounts", &[account]).await?;
        }
        if status == PeeringStatus::Active {
            self.lock_rows(&mut tx, "vpcs", &[&requester.id, &accepter.id])
                .await?;
        }
        if status == PeeringStatus::Pending {
            let pending: i64 = sqlx::query(
                "SELECT COUNT(*) AS n FROM peerings WHERE requester_account_id = $1 AND status = 'pending'",
            )
            .bind(account)
            .fetch_one(&mut **tx)
            .await?
            .try_get("n")?;
            if pending >= self.limits.pending_per_account {
                return Err(ApiError::conflict(
                    ErrorCode::PeeringQuotaExceeded,
                    format!(
                        "account {account} already has {pending} pending peering requests (limit {})",
                        self.limits.pending_per_account
                    ),
                ));
            }
        }
        if status == PeeringStatus::Active {
            self.check_active_quota(&mut tx, &[&requester.id, &accepter.id])
                .await?;
        }
        let inserted = sqlx::query(
            "INSERT INTO peerings (id, requester_account_id, accepter_account_id, requester_vpc_id, accepter_vpc_id, \
             requester_region, accepter_region, status, status_message, pair_key, created_at, updated_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12)",
        )
        .bind(&id)
        .bind(account)
        .bind(&accepter.account_id)
        .bind(&requester.id)
        .bind(&accepter.id)
        .bind(&requester.region)
        .bind(&accepter.region)
        .bind(status.as_str())
        .bind(message.clone())
        .bind(&pair_key)
        .bind(now)
        .bind(now + self.limits.expiry_ms)
        .execute(&mut **tx)
        .await;
        match inserted {
            Ok(_) => {}
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(ApiError::conflict(
                    ErrorCode::DuplicatePeering,
                    format!(
                        "{} and {} already have a pending or active peering connection",
                        requester.id, accepter.id
                    ),
                ))
            }
            Err(e) => return Err(e.into()),
        }
        tx.commit().await?;
        Ok(wire::Peering {
            id,
            status,
            status_message: message,
            requester_cidr_blocks: all_blocks(&requester),
            accepter_cidr_blocks: all_blocks(&accepter),
            requester_vpc_id: requester.id,
            accepter_vpc_id: accepter.id,
            requester_account_id: account.to_string(),
            accepter_account_id: accepter.account_id,
            requester_region: requester.region,
            accepter_region: accepter.region,
            created_at: now,
            expires_at: now + self.limits.expiry_ms,
        })
    }

    async fn check_active_quota(&self, tx: &mut WriteTx, vpcs: &[&String]) -> Result<()> {
        for vpc in vpcs {
            let n: i64 = sqlx::query(
                "SELECT (SELECT COUNT(*) FROM peerings WHERE requester_vpc_id = $1 AND status = 'active') + \
             (SELECT COUNT(*) FROM peerings WHERE accepter_vpc_id = $1 AND status = 'active') AS n",
            )
            .bind(vpc.as_str())
            .fetch_one(&mut ***tx)
            .await?
            .try_get("n")?;
            if n >= self.limits.active_per_vpc {
                return Err(ApiError::conflict(
                    ErrorCode::PeeringQuotaExceeded,
                    format!(
                        "VPC {vpc} already has {n} active peering connections (limit {})",
                        self.limits.active_per_vpc
                    ),
                ));
            }
        }
        Ok(())
    }

    /// A peering the account is part of (404 otherwise).
    pub async fn get_peering(&self, account: &str, id: &str) -> Result<wire::Peering> {
        let sql = format!(
            "SELECT {PEERING_COLUMNS} {PEERING_FROM} WHERE p.id = $2 AND (p.requester_account_id = $3 OR p.accepter_account_id = $3)"
        );
        let row = sqlx::query(&sql)
            .bind(self.now())
            .bind(id)
            .bind(account)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref()
            .map(peering_from)
            .transpose()?
            .ok_or_else(|| ApiError::NotFound(format!("peering connection \"{id}\" not found")))
    }

    /// Peerings the account is part of, optionally filtered by status and VPC.
    pub async fn list_peerings(
        &self,
        account: &str,
        status: Option<&str>,
        vpc: Option<&str>,
        cursor: Option<&str>,
        limit: Option<i64>,
    ) -> Result<wire::Page<wire::Peering>> {
        if let Some(s) = status.filter(|s| parse_status(s).is_none()) {
            return Err(ApiError::invalid(
                ErrorCode::InvalidStatus,
                format!("status: \"{s}\" is not one of pending, active, rejected, expired, failed, deleted"),
            ));
        }
        let limit = page_limit(limit)?;
        let sql = format!(
            "SELECT {PEERING_COLUMNS} {PEERING_FROM} WHERE (p.requester_account_id = $2 OR p.accepter_account_id = $2) \
             AND ($3 = '' OR (CASE WHEN p.status = 'pending' AND p.expires_at <= $1 THEN 'expired' ELSE p.status END) = $3) \
             AND ($4 = '' OR p.requester_vpc_id = $4 OR p.accepter_vpc_id = $4) \
             AND p.id > $5 ORDER BY p.id LIMIT $6"
        );
        let rows = sqlx::query(&sql)
            .bind(self.now())
            .bind(account)
            .bind(status.unwrap_or(""))
            .bind(vpc.unwrap_or(""))
            .bind(cursor.unwrap_or(""))
            .bind(limit + 1)
            .fetch_all(&self.pool)
            .await?;
        let items = rows.iter().map(peering_from).collect::<Result<Vec<_>>>()?;
        Ok(paginate(items, limit, |p| p.id.clone()))
    }

    /// Accepts (only the accepter's account; only while pending).
    pub async fn accept_peering(&self, account: &str, id: &str) -> Result<wire::Peering> {
        self.decide(account, id, Action::Accept).await
    }

    /// Rejects (only the accepter's account; only while pending).
    pub async fn reject_peering(&self, account: &str, id: &str) -> Result<wire::Peering> {
        self.decide(account, id, Action::Reject).await
    }

    async fn decide(&self, account: &str, id: &str, action: Action) -> Result<wire::Peering> {
        let p = self.get_peering(account, id).await?;
        let to = self.transition(account, id, &p, action)?;
        let mut tx = self.write_tx().await?;
        if to == PeeringStatus::Active {
            self.lock_rows(&mut tx, "vpcs", &[&p.requester_vpc_id, &p.accepter_vpc_id])
                .await?;
            self.check_active_quota(&mut tx, &[&p.requester_vpc_id, &p.accepter_vpc_id])
                .await?;
        }
        let n = sqlx::query(
            "UPDATE peerings SET status = $1, updated_at = $2 WHERE id = $3 AND status = 'pending' AND expires_at > $2",
        )
        .bind(to.as_str())
        .bind(self.now())
        .bind(id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(ApiError::conflict(
                ErrorCode::PeeringNotPending,
                format!("peering connection {id} is no longer pending (it expired or was decided meanwhile)"),
            ));
        }
        tx.commit().await?;
        Ok(wire::Peering { status: to, ..p })
    }

    /// Deletes: either owner of an active one; the requester of a pending one. Its routes become blackholes.
    pub async fn delete_peering(&self, account: &str, id: &str) -> Result<wire::Peering> {
        let p = self.get_peering(account, id).await?;
        let to = self.transition(account, id, &p, Action::Delete)?;
        let n = sqlx::query(
            "UPDATE peerings SET status = $4, updated_at = $1 WHERE id = $2 AND status = $3 \
             AND (status = 'active' OR expires_at > $1)",
        )
        .bind(self.now())
        .bind(id)
        .bind(p.status.as_str())
        .bind(to.as_str())
        .execute(&self.pool)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(ApiError::conflict(
                ErrorCode::PeeringNotDeletable,
                format!("peering connection {id} changed meanwhile"),
            ));
        }
        Ok(wire::Peering { status: to, ..p })
    }

    /// What `action` by `account` does to peering `p` ([`lifecycle::transition`] at the store's now), or the
    /// error that refuses it.
    fn transition(
        &self,
        account: &str,
        id: &str,
        p: &wire::Peering,
        action: Action,
    ) -> Result<PeeringStatus> {
        let actor = Actor::of(account, &p.requester_account_id, &p.accepter_account_id)
            .ok_or_else(|| ApiError::NotFound(format!("peering connection \"{id}\" not found")))?;
        lifecycle::transition(p.status, p.expires_at, actor, action, self.now()).map_err(|refusal| {
            match refusal {
                Refusal::NotAccepter => ApiError::Forbidden(format!(
                    "only the accepter's account ({}) can {} peering connection {id}",
                    p.accepter_account_id,
                    action.verb()
                )),
                Refusal::NotPending(status) => ApiError::conflict(
                    ErrorCode::PeeringNotPending,
                    format!("peering connection {id} is {status}, not pending"),
                ),
                Refusal::AccepterDeletesPending => ApiError::Forbidden(format!(
                    "only the requester can delete a pending request; the accepter rejects {id} instead"
                )),
                Refusal::NotDeletable(status) => ApiError::conflict(
                    ErrorCode::PeeringNotDeletable,
                    format!(
                        "peering connection {id} is {status}; only pending or active ones can be deleted"
                    ),
                ),
            }
        })
    }
}
