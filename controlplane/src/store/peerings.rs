//! Storage of VPC peering connections: the request (quotas, overlap, auto-accept), and the lifecycle's
//! transitions ([`crate::lifecycle`]) applied under the store's clock.

use super::db::{self, Row};
use netmodel::{cidr::Cidr, model::PeeringStatus};

use super::{
    all_blocks, new_id, page_limit, paginate, parse_blocks, stored, vpcs::vpc_from, Result, Store, WriteTx,
};
use crate::{
    error::{ApiError, ErrorCode},
    lifecycle::{self, Action, Actor, Refusal},
    validate, wire,
};

/// A peering status from its word.
pub(crate) fn parse_status(word: &str) -> Option<PeeringStatus> {
    PeeringStatus::ALL.into_iter().find(|s| s.as_str() == word)
}

/// Peering columns. `$1` is always "now": a pending request past its expiry reads as `expired` at once, whether
/// or not [`Store::expire_due`] has written that yet, so reads need no write.
const PEERING_COLUMNS: &str = "p.id, CASE WHEN p.status = 'pending' AND p.expires_at <= $1 THEN 'expired' ELSE p.status END AS status, p.status_message, p.requester_vpc_id, p.accepter_vpc_id, \
     p.requester_account_id, p.accepter_account_id, p.requester_region, p.accepter_region, p.created_at, \
     p.expires_at, rv.cidr_block AS r_cidr, rv.secondary_cidr_blocks AS r_sec, rv.ipv6_cidr_blocks AS r_v6, \
     av.cidr_block AS a_cidr, av.secondary_cidr_blocks AS a_sec, av.ipv6_cidr_blocks AS a_v6";

const PEERING_FROM: &str =
    "FROM peerings p JOIN vpcs rv ON rv.id = p.requester_vpc_id JOIN vpcs av ON av.id = p.accepter_vpc_id";

fn peering_from(row: &Row) -> Result<wire::Peering> {
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

impl Store {
    /// Marks pending requests past their expiry as `expired` (one statement; run before peering reads).
    pub async fn expire_due(&self) -> Result<u64> {
        let now = self.now();
        // A cheap indexed read first: the write (serialized on SQLite) happens only when something is due.
        let due = db::query("SELECT id FROM peerings WHERE status = 'pending' AND expires_at <= $1 LIMIT 1")
            .bind(now)
            .fetch_optional(&self.pool)
            .await?;
        if due.is_none() {
            return Ok(0);
        }
        Ok(db::query("UPDATE peerings SET status = 'expired', updated_at = $1 WHERE status = 'pending' AND expires_at <= $1")
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
        let vpcs = db::query("SELECT * FROM vpcs WHERE id IN ($1, $2)")
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
        if status == PeeringStatus::Active {
            self.check_active_quota(&mut tx, &[&requester.id, &accepter.id])
                .await?;
        }
        // A pending request counts against the account's quota: checked by the insert itself (it inserts nothing
        // when the account is at its quota).
        let sql = if status == PeeringStatus::Pending {
            "INSERT INTO peerings (id, requester_account_id, accepter_account_id, requester_vpc_id, accepter_vpc_id, \
             requester_region, accepter_region, status, status_message, pair_key, created_at, updated_at, expires_at) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12 WHERE \
             (SELECT COUNT(*) FROM peerings WHERE requester_account_id = $2 AND status = 'pending') < $13"
        } else {
            "INSERT INTO peerings (id, requester_account_id, accepter_account_id, requester_vpc_id, accepter_vpc_id, \
             requester_region, accepter_region, status, status_message, pair_key, created_at, updated_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12)"
        };
        let mut insert = db::query(sql)
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
            .bind(now + self.limits.expiry_ms);
        if status == PeeringStatus::Pending {
            insert = insert.bind(self.limits.pending_per_account);
        }
        let inserted = insert.execute(&mut *tx).await;
        if matches!(&inserted, Ok(r) if r.rows_affected() == 0) {
            let pending: i64 = db::query(
                "SELECT COUNT(*) AS n FROM peerings WHERE requester_account_id = $1 AND status = 'pending'",
            )
            .bind(account)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
            return Err(ApiError::conflict(
                ErrorCode::PeeringQuotaExceeded,
                format!(
                    "account {account} already has {pending} pending peering requests (limit {})",
                    self.limits.pending_per_account
                ),
            ));
        }
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

    /// Refuses when either VPC is at its quota of active peerings (both counted in one query; the first VPC
    /// over its quota is named).
    async fn check_active_quota(&self, tx: &mut WriteTx, vpcs: &[&String; 2]) -> Result<()> {
        let rows = db::query(
            "SELECT v.id, (SELECT COUNT(*) FROM peerings WHERE requester_vpc_id = v.id AND status = 'active') + \
             (SELECT COUNT(*) FROM peerings WHERE accepter_vpc_id = v.id AND status = 'active') AS n \
             FROM vpcs v WHERE v.id IN ($1, $2)",
        )
        .bind(vpcs[0].as_str())
        .bind(vpcs[1].as_str())
        .fetch_all(&mut **tx)
        .await?;
        for vpc in vpcs {
            let mut n = 0;
            for row in &rows {
                if row.try_get::<String, _>("id")? == **vpc {
                    n = row.try_get("n")?;
                }
            }
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
        let row = db::query(&sql)
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
        let rows = db::query(&sql)
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
        let active = to == PeeringStatus::Active;
        if active {
            self.lock_rows(&mut tx, "vpcs", &[&p.requester_vpc_id, &p.accepter_vpc_id])
                .await?;
        }
        // Becoming active counts against both VPCs' quotas: checked by the update itself (it changes nothing when
        // either VPC is at its quota).
        let sql = if active {
            "UPDATE peerings SET status = $1, updated_at = $2 WHERE id = $3 AND status = 'pending' AND expires_at > $2 \
             AND (SELECT COUNT(*) FROM peerings WHERE requester_vpc_id = $4 AND status = 'active') + \
             (SELECT COUNT(*) FROM peerings WHERE accepter_vpc_id = $4 AND status = 'active') < $6 \
             AND (SELECT COUNT(*) FROM peerings WHERE requester_vpc_id = $5 AND status = 'active') + \
             (SELECT COUNT(*) FROM peerings WHERE accepter_vpc_id = $5 AND status = 'active') < $6"
        } else {
            "UPDATE peerings SET status = $1, updated_at = $2 WHERE id = $3 AND status = 'pending' AND expires_at > $2"
        };
        let mut update = db::query(sql).bind(to.as_str()).bind(self.now()).bind(id);
        if active {
            update = update
                .bind(&p.requester_vpc_id)
                .bind(&p.accepter_vpc_id)
                .bind(self.limits.active_per_vpc);
        }
        let n = update.execute(&mut *tx).await?.rows_affected();
        if n == 0 {
            if active {
                self.check_active_quota(&mut tx, &[&p.requester_vpc_id, &p.accepter_vpc_id])
                    .await?;
            }
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
        let n = db::query(
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
