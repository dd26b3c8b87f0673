//! Storage of network ACLs and their numbered entries: the default ACL allows all, a custom ACL denies all until
//! given entries; and the subnets associated with them.

use super::db::{self, Row};
use netmodel::model::Action;

use super::{
    cidr, conflict_on_unique, page_limit, paginate,
    rules::{direction, port, protocol_and_ports},
    stored, Listing, Result, Store, Users,
};
use crate::{
    error::{ApiError, ErrorCode},
    wire::{self, rule_direction},
};

const ACL_ENTRIES_PER_DIRECTION: i64 = 20;

/// The stored word of a rule action (`allow`, `deny`).
fn action_word(action: Action) -> &'static str {
    match action {
        Action::Allow => "allow",
        Action::Deny => "deny",
    }
}

fn parse_action(word: &str) -> Option<Action> {
    [Action::Allow, Action::Deny]
        .into_iter()
        .find(|a| action_word(*a) == word)
}

fn acl_entry_from(row: &Row) -> Result<wire::AclEntry> {
    Ok(wire::AclEntry {
        rule_number: u16::try_from(row.try_get::<i64, _>("rule_number")?).unwrap_or(0),
        direction: stored(row, "acl_entries.direction", rule_direction::parse)?,
        protocol: stored(row, "acl_entries.protocol", |p| p.parse().ok())?,
        from_port: port(row, "from_port")?,
        to_port: port(row, "to_port")?,
        cidr_block: row.try_get("cidr_block")?,
        rule_action: stored(row, "acl_entries.rule_action", parse_action)?,
    })
}

impl Store {
    /// Creates a custom ACL: until entries are added it denies everything (the implicit final rule).
    pub async fn create_network_acl(
        &self,
        account: &str,
        req: &wire::CreateNetworkAcl,
    ) -> Result<wire::NetworkAcl> {
        let vpc = self.get_vpc(account, &req.vpc_id).await?;
        let id = crate::store::new_id("acl");
        db::query(
            "INSERT INTO network_acls (id, account_id, vpc_id, is_default, created_at) VALUES ($1, $2, $3, 0, $4)",
        )
        .bind(&id)
        .bind(account)
        .bind(&vpc.id)
        .bind(self.now())
        .execute(&self.pool)
        .await?;
        self.get_network_acl(account, &id).await
    }

    /// An ACL of the account with its entries (ingress then egress, by rule number) and associations.
    pub async fn get_network_acl(&self, account: &str, id: &str) -> Result<wire::NetworkAcl> {
        let row = db::query("SELECT * FROM network_acls WHERE id = $1 AND account_id = $2")
            .bind(id)
            .bind(account)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("network ACL \"{id}\" not found")))?;
        let entries =
            db::query("SELECT * FROM acl_entries WHERE acl_id = $1 ORDER BY direction DESC, rule_number")
                .bind(id)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(acl_entry_from)
                .collect::<Result<Vec<_>>>()?;
        Ok(wire::NetworkAcl {
            id: id.to_string(),
            account_id: account.to_string(),
            vpc_id: row.try_get("vpc_id")?,
            default: row.try_get::<i64, _>("is_default")? != 0,
            entries,
            subnet_ids: self.associated_subnets("network_acl", id).await?,
            created_at: row.try_get("created_at")?,
        })
    }

    /// The account's ACLs, optionally of one VPC.
    pub async fn list_network_acls(
        &self,
        account: &str,
        vpc: Option<&str>,
        cursor: Option<&str>,
        limit: Option<i64>,
    ) -> Result<wire::Page<wire::NetworkAcl>> {
        let limit = page_limit(limit)?;
        let ids = self
            .list_ids(Listing {
                table: "network_acls",
                account,
                vpc,
                cursor,
                limit,
            })
            .await?;
        let mut items = Vec::with_capacity(ids.len());
        for id in ids {
            items.push(self.get_network_acl(account, &id).await?);
        }
        Ok(paginate(items, limit, |a| a.id.clone()))
    }

    /// Deletes a custom ACL that no subnet is associated with.
    pub async fn delete_network_acl(&self, account: &str, id: &str) -> Result<()> {
        let acl = self.get_network_acl(account, id).await?;
        if acl.default {
            return Err(ApiError::conflict(
                ErrorCode::DefaultNetworkAcl,
                format!("network ACL {id} is its VPC's default ACL and goes only with the VPC"),
            ));
        }
        self.delete_unless_used(
            id,
            [Users(
                "SELECT COUNT(*) AS n FROM subnet_associations WHERE target_id = $1",
                &[id],
            )],
            |[used]| {
                ApiError::conflict(
                    ErrorCode::NetworkAclInUse,
                    format!(
                        "network ACL {id} is associated with {used} subnets; associate them elsewhere first"
                    ),
                )
            },
            &[
                "DELETE FROM acl_entries WHERE acl_id = $1",
                "DELETE FROM network_acls WHERE id = $1",
            ],
        )
        .await
    }

    /// Adds a numbered entry (1–32766; one per number and direction).
    pub async fn add_acl_entry(
        &self,
        account: &str,
        id: &str,
        req: &wire::CreateAclEntry,
    ) -> Result<wire::NetworkAcl> {
        self.get_network_acl(account, id).await?;
        if !(1..=32766).contains(&req.rule_number) {
            return Err(ApiError::invalid(
                ErrorCode::InvalidRuleNumber,
                format!("rule_number: {} is out of range (1-32766)", req.rule_number),
            ));
        }
        let dir = rule_direction::word(direction(&req.direction)?);
        let (protocol, from, to) = protocol_and_ports(&req.protocol, req.from_port, req.to_port)?;
        let block = cidr("cidr_block", &req.cidr_block)?;
        let action = parse_action(&req.rule_action).ok_or_else(|| {
            ApiError::invalid(
                ErrorCode::InvalidRuleAction,
                format!("rule_action: \"{}\" is not allow or deny", req.rule_action),
            )
        })?;
        let mut tx = self.write_tx().await?;
        // Count, then insert: under a lock on the ACL (see `Store::lock_rows`).
        self.lock_rows(&mut tx, "network_acls", &[id]).await?;
        let n: i64 = db::query("SELECT COUNT(*) AS n FROM acl_entries WHERE acl_id = $1 AND direction = $2")
            .bind(id)
            .bind(dir)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if n >= ACL_ENTRIES_PER_DIRECTION {
            return Err(ApiError::conflict(
                ErrorCode::AclEntryQuotaExceeded,
                format!("network ACL {id} already has {n} {dir} entries (limit {ACL_ENTRIES_PER_DIRECTION})"),
            ));
        }
        db::query(
            "INSERT INTO acl_entries (acl_id, direction, rule_number, protocol, from_port, to_port, cidr_block, \
             rule_action) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id)
        .bind(dir)
        .bind(i64::from(req.rule_number))
        .bind(protocol.to_string())
        .bind(from.map(i64::from))
        .bind(to.map(i64::from))
        .bind(block.to_string())
        .bind(action_word(action))
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            conflict_on_unique(
                e,
                ErrorCode::AclEntryExists,
                format!("network ACL {id} already has {dir} rule number {}", req.rule_number),
            )
        })?;
        tx.commit().await?;
        self.get_network_acl(account, id).await
    }

    /// Deletes the entry with a number in one direction.
    pub async fn delete_acl_entry(
        &self,
        account: &str,
        id: &str,
        dir: &str,
        rule_number: &str,
    ) -> Result<wire::NetworkAcl> {
        self.get_network_acl(account, id).await?;
        let dir = rule_direction::word(direction(dir)?);
        let number: i64 = rule_number.parse().map_err(|_| {
            ApiError::invalid(
                ErrorCode::InvalidRuleNumber,
                format!("rule_number: \"{rule_number}\" is not a number"),
            )
        })?;
        let n =
            db::query("DELETE FROM acl_entries WHERE acl_id = $1 AND direction = $2 AND rule_number = $3")
                .bind(id)
                .bind(dir)
                .bind(number)
                .execute(&self.pool)
                .await?
                .rows_affected();
        if n == 0 {
            return Err(ApiError::NotFound(format!(
                "network ACL {id} has no {dir} rule number {number}"
            )));
        }
        self.get_network_acl(account, id).await
    }

    /// Associates a subnet of the ACL's VPC with it (replacing its previous ACL).
    pub async fn associate_network_acl(
        &self,
        account: &str,
        id: &str,
        req: &wire::Association,
    ) -> Result<wire::NetworkAcl> {
        let acl = self.get_network_acl(account, id).await?;
        self.associate(
            account,
            "network_acl",
            (id, &acl.vpc_id, acl.default),
            &req.subnet_id,
        )
        .await?;
        self.get_network_acl(account, id).await
    }
}
