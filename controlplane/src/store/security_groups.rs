//! Storage of security groups and their rules: a new group may send anywhere and receive nothing, duplicate
//! rules are refused, a rule may name a group of its VPC or of a VPC peered with it in the same region.

use super::db::{self, Row};
use netmodel::model::{Direction, Protocol};

use super::{
    cidr, conflict_on_unique, page_limit, paginate,
    rules::{direction, port, protocol_and_ports},
    stored, Listing, Result, Store, Users, WriteTx,
};
use crate::{
    error::{ApiError, ErrorCode},
    validate,
    wire::{self, rule_direction},
};

/// AWS's default quotas: rules per group and direction, entries per ACL and direction, groups per endpoint.
const RULES_PER_DIRECTION: i64 = 60;

fn sg_rule_from(row: &Row) -> Result<wire::SgRule> {
    Ok(wire::SgRule {
        id: row.try_get("id")?,
        direction: stored(row, "sg_rules.direction", rule_direction::parse)?,
        protocol: stored(row, "sg_rules.protocol", |p| p.parse().ok())?,
        from_port: port(row, "from_port")?,
        to_port: port(row, "to_port")?,
        cidr: row.try_get("cidr")?,
        security_group_id: row.try_get("ref_group_id")?,
        description: row.try_get("description")?,
    })
}

impl Store {
    /// Creates a group with AWS's default egress rule (all traffic to 0.0.0.0/0) and no ingress.
    pub async fn create_security_group(
        &self,
        account: &str,
        req: &wire::CreateSecurityGroup,
    ) -> Result<wire::SecurityGroup> {
        validate::name("name", &req.name, true)?;
        validate::name("description", &req.description, false)?;
        let vpc = self.get_vpc(account, &req.vpc_id).await?;
        let id = crate::store::new_id("sg");
        let mut tx = self.write_tx().await?;
        // Names are unique per VPC: check and insert under a lock on the VPC (see `Store::lock_rows`).
        self.lock_rows(&mut tx, "vpcs", &[&vpc.id]).await?;
        self.check_group_name(&mut tx, &vpc.id, &req.name, "").await?;
        db::query(
            "INSERT INTO security_groups (id, account_id, vpc_id, name, description, is_default, created_at) \
             VALUES ($1, $2, $3, $4, $5, 0, $6)",
        )
        .bind(&id)
        .bind(account)
        .bind(&vpc.id)
        .bind(&req.name)
        .bind(&req.description)
        .bind(self.now())
        .execute(&mut *tx)
        .await?;
        self.insert_rule(
            &mut tx,
            &id,
            Direction::Outbound,
            (Protocol::All, None, None),
            (Some("0.0.0.0/0"), None),
            "",
        )
        .await?;
        tx.commit().await?;
        self.get_security_group(account, &id).await
    }

    async fn check_group_name(&self, tx: &mut WriteTx, vpc: &str, name: &str, except: &str) -> Result<()> {
        let taken = db::query("SELECT id FROM security_groups WHERE vpc_id = $1 AND name = $2 AND id <> $3")
            .bind(vpc)
            .bind(name)
            .bind(except)
            .fetch_optional(&mut **tx)
            .await?;
        match taken {
            Some(row) => Err(ApiError::conflict(
                ErrorCode::SecurityGroupExists,
                format!(
                    "name: VPC {vpc} already has a security group named \"{name}\" ({})",
                    row.try_get::<String, _>("id")?
                ),
            )),
            None => Ok(()),
        }
    }

    /// A group of the account, with its rules.
    pub async fn get_security_group(&self, account: &str, id: &str) -> Result<wire::SecurityGroup> {
        let row = db::query("SELECT * FROM security_groups WHERE id = $1 AND account_id = $2")
            .bind(id)
            .bind(account)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("security group \"{id}\" not found")))?;
        let rules = db::query("SELECT * FROM sg_rules WHERE group_id = $1 ORDER BY created_at, id")
            .bind(id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(sg_rule_from)
            .collect::<Result<Vec<_>>>()?;
        let (ingress, egress) = rules.into_iter().partition(|r| r.direction == Direction::Inbound);
        Ok(wire::SecurityGroup {
            id: row.try_get("id")?,
            account_id: row.try_get("account_id")?,
            vpc_id: row.try_get("vpc_id")?,
            name: row.try_get("name")?,
            description: row.try_get("description")?,
            default: row.try_get::<i64, _>("is_default")? != 0,
            ingress,
            egress,
            created_at: row.try_get("created_at")?,
        })
    }

    /// The account's groups, optionally of one VPC.
    pub async fn list_security_groups(
        &self,
        account: &str,
        vpc: Option<&str>,
        cursor: Option<&str>,
        limit: Option<i64>,
    ) -> Result<wire::Page<wire::SecurityGroup>> {
        let limit = page_limit(limit)?;
        let ids = self
            .list_ids(Listing {
                table: "security_groups",
                account,
                vpc,
                cursor,
                limit,
            })
            .await?;
        let mut items = Vec::with_capacity(ids.len());
        for id in ids {
            items.push(self.get_security_group(account, &id).await?);
        }
        Ok(paginate(items, limit, |g| g.id.clone()))
    }

    /// Renames or redescribes a group (not the default one's name).
    pub async fn update_security_group(
        &self,
        account: &str,
        id: &str,
        req: &wire::UpdateSecurityGroup,
    ) -> Result<wire::SecurityGroup> {
        let g = self.get_security_group(account, id).await?;
        let mut tx = self.write_tx().await?;
        self.lock_rows(&mut tx, "vpcs", &[&g.vpc_id]).await?;
        if let Some(name) = &req.name {
            validate::name("name", name, true)?;
            if g.default && *name != g.name {
                return Err(ApiError::invalid(
                    ErrorCode::DefaultSecurityGroupName,
                    format!("name: the default security group {id} cannot be renamed"),
                ));
            }
            self.check_group_name(&mut tx, &g.vpc_id, name, id).await?;
        }
        if let Some(d) = &req.description {
            validate::name("description", d, false)?;
        }
        db::query("UPDATE security_groups SET name = $1, description = $2 WHERE id = $3")
            .bind(req.name.as_ref().unwrap_or(&g.name))
            .bind(req.description.as_ref().unwrap_or(&g.description))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.get_security_group(account, id).await
    }

    /// Deletes a group: not the default, not while an endpoint uses it or another group's rule names it.
    pub async fn delete_security_group(&self, account: &str, id: &str) -> Result<()> {
        let g = self.get_security_group(account, id).await?;
        if g.default {
            return Err(ApiError::conflict(
                ErrorCode::DefaultSecurityGroup,
                format!("security group {id} is its VPC's default group and goes only with the VPC"),
            ));
        }
        let pattern = format!("%\"{id}\"%");
        self.delete_unless_used(
            id,
            [
                Users(
                    "SELECT COUNT(*) AS n FROM endpoints WHERE vpc_id = $1 AND security_group_ids LIKE $2",
                    &[&g.vpc_id, &pattern],
                ),
                Users(
                    "SELECT COUNT(*) AS n FROM sg_rules WHERE ref_group_id = $1 AND group_id <> $1",
                    &[id],
                ),
            ],
            |[endpoints, referencing]| {
                ApiError::conflict(
                    ErrorCode::SecurityGroupInUse,
                    format!(
                        "security group {id} is used by {endpoints} endpoints and named by {referencing} rules of other groups"
                    ),
                )
            },
            &[
                "DELETE FROM sg_rules WHERE group_id = $1",
                "DELETE FROM security_groups WHERE id = $1",
            ],
        )
        .await
    }

    /// Adds a rule. A referenced group must be in the same VPC, or in a VPC peered with it by an active peering
    /// within one region (AWS: no group references across regions).
    pub async fn add_sg_rule(
        &self,
        account: &str,
        id: &str,
        req: &wire::CreateSgRule,
    ) -> Result<wire::SgRule> {
        let g = self.get_security_group(account, id).await?;
        let rule_dir = direction(&req.direction)?;
        let dir = rule_direction::word(rule_dir);
        let (protocol, from, to) = protocol_and_ports(&req.protocol, req.from_port, req.to_port)?;
        validate::name("description", &req.description, false)?;
        let (cidr_text, ref_group) = match (&req.cidr, &req.security_group_id) {
            (Some(c), None) => (Some(cidr("cidr", c)?.to_string()), None),
            (None, Some(r)) => {
                self.check_group_reference(account, &g, r).await?;
                (None, Some(r.clone()))
            }
            _ => {
                return Err(ApiError::invalid(
                    ErrorCode::InvalidRulePeer,
                    "exactly one of cidr and security_group_id names the rule's peer",
                ))
            }
        };
        let mut tx = self.write_tx().await?;
        // Count, then insert: under a lock on the group (see `Store::lock_rows`).
        self.lock_rows(&mut tx, "security_groups", &[id]).await?;
        let n: i64 = db::query("SELECT COUNT(*) AS n FROM sg_rules WHERE group_id = $1 AND direction = $2")
            .bind(id)
            .bind(dir)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if n >= RULES_PER_DIRECTION {
            return Err(ApiError::conflict(
                ErrorCode::RuleQuotaExceeded,
                format!("security group {id} already has {n} {dir} rules (limit {RULES_PER_DIRECTION})"),
            ));
        }
        let rule = self
            .insert_rule(
                &mut tx,
                id,
                rule_dir,
                (protocol, from, to),
                (cidr_text.as_deref(), ref_group.as_deref()),
                &req.description,
            )
            .await?;
        tx.commit().await?;
        Ok(rule)
    }

    async fn check_group_reference(&self, account: &str, g: &wire::SecurityGroup, other: &str) -> Result<()> {
        let row = db::query("SELECT vpc_id FROM security_groups WHERE id = $1")
            .bind(other)
            .fetch_optional(&self.pool)
            .await?;
        let other_vpc: Option<String> = row.map(|r| r.try_get("vpc_id")).transpose()?;
        let allowed = match other_vpc {
            Some(v) if v == g.vpc_id => true,
            Some(v) => db::query(
                "SELECT id FROM peerings WHERE status = 'active' AND requester_region = accepter_region \
                 AND ((requester_vpc_id = $1 AND accepter_vpc_id = $2) OR (requester_vpc_id = $2 AND accepter_vpc_id = $1)) \
                 AND (requester_account_id = $3 OR accepter_account_id = $3)",
            )
            .bind(&g.vpc_id)
            .bind(&v)
            .bind(account)
            .fetch_optional(&self.pool)
            .await?
            .is_some(),
            None => false,
        };
        if allowed {
            Ok(())
        } else {
            Err(ApiError::NotFound(format!(
                "security_group_id: group \"{other}\" not found in VPC {} or a VPC peered with it (active, same region)",
                g.vpc_id
            )))
        }
    }

    /// Deletes one rule of a group.
    pub async fn delete_sg_rule(&self, account: &str, id: &str, rule: &str) -> Result<wire::SecurityGroup> {
        self.get_security_group(account, id).await?;
        let n = db::query("DELETE FROM sg_rules WHERE id = $1 AND group_id = $2")
            .bind(rule)
            .bind(id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(ApiError::NotFound(format!(
                "security group {id} has no rule \"{rule}\""
            )));
        }
        self.get_security_group(account, id).await
    }

    async fn insert_rule(
        &self,
        tx: &mut WriteTx,
        group: &str,
        direction: Direction,
        (protocol, from, to): (Protocol, Option<u16>, Option<u16>),
        (cidr, ref_group): (Option<&str>, Option<&str>),
        description: &str,
    ) -> Result<wire::SgRule> {
        let ports = match (from, to) {
            (Some(f), Some(t)) => format!("{f}-{t}"),
            _ => String::new(),
        };
        let peer = cidr.or(ref_group).unwrap_or_default();
        let rule = wire::SgRule {
            id: crate::store::new_id("sgr"),
            direction,
            protocol,
            from_port: from,
            to_port: to,
            cidr: cidr.map(str::to_string),
            security_group_id: ref_group.map(str::to_string),
            description: description.to_string(),
        };
        db::query(
            "INSERT INTO sg_rules (id, group_id, direction, protocol, from_port, to_port, cidr, ref_group_id, \
             description, rule_key, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&rule.id)
        .bind(group)
        .bind(rule_direction::word(direction))
        .bind(protocol.to_string())
        .bind(from.map(i64::from))
        .bind(to.map(i64::from))
        .bind(cidr)
        .bind(ref_group)
        .bind(description)
        .bind(format!("{protocol}|{ports}|{peer}"))
        .bind(self.now())
        .execute(&mut **tx)
        .await
        .map_err(|e| {
            conflict_on_unique(
                e,
                ErrorCode::RuleExists,
                format!(
                    "security group {group} already has this {} rule ({protocol} {ports} {peer})",
                    rule_direction::word(direction)
                ),
            )
        })?;
        Ok(rule)
    }
}
