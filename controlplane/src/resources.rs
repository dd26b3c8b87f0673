//! Storage of the traffic filters and what they filter: security groups and their rules, network ACLs and their
//! entries, endpoints, and explicit subnet associations (route tables, network ACLs). Same conventions as
//! [`crate::store`]: one transaction per change, 404 for anything of another account, AWS semantics where the
//! seed document is silent (default ACL allows all, a custom ACL denies all until given entries, a new group
//! may send anywhere and receive nothing, duplicate rules are refused).

use std::net::{IpAddr, Ipv4Addr};

use netmodel::model::{Action, Direction, Protocol};
use sqlx::{any::AnyRow, Row};

use crate::{
    error::{ApiError, ErrorCode},
    store::{blocks_json, cidr, page_limit, paginate, stored, Store, WriteTx},
    validate,
    wire::{self, rule_direction},
};

type Result<T> = std::result::Result<T, ApiError>;

/// AWS's default quotas: rules per group and direction, entries per ACL and direction, groups per endpoint.
const RULES_PER_DIRECTION: i64 = 60;
const ACL_ENTRIES_PER_DIRECTION: i64 = 20;
const GROUPS_PER_ENDPOINT: usize = 5;
const ENDPOINT_KINDS: &[&str] = &[
    "instance",
    "bucket",
    "agent",
    "service",
    "database",
    "load_balancer",
    "interface",
    "other",
];

fn direction(value: &str) -> Result<Direction> {
    rule_direction::parse(value).ok_or_else(|| {
        ApiError::invalid(
            ErrorCode::InvalidDirection,
            format!("direction: \"{value}\" is not ingress or egress"),
        )
    })
}

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

/// Protocol and port range of a rule or entry, canonical: ports only for tcp/udp (absent = all ports).
fn protocol_and_ports(
    protocol: &str,
    from: Option<u16>,
    to: Option<u16>,
) -> Result<(Protocol, Option<u16>, Option<u16>)> {
    let proto: Protocol = if protocol == "-1" {
        Protocol::All
    } else {
        protocol.parse().map_err(|e: String| {
            ApiError::invalid(
                ErrorCode::InvalidProtocol,
                format!("protocol: \"{protocol}\": {e}"),
            )
        })?
    };
    if !proto.has_ports() {
        if from.is_some() || to.is_some() {
            return Err(ApiError::invalid(
                ErrorCode::InvalidPortRange,
                format!("from_port/to_port: protocol {proto} has no ports"),
            ));
        }
        return Ok((proto, None, None));
    }
    let (from, to) = match (from, to) {
        (None, None) => (0, 65535),
        (Some(f), None) => (f, f),
        (None, Some(t)) => (t, t),
        (Some(f), Some(t)) => (f, t),
    };
    if from > to {
        return Err(ApiError::invalid(
            ErrorCode::InvalidPortRange,
            format!("from_port {from} is greater than to_port {to}"),
        ));
    }
    Ok((proto, Some(from), Some(to)))
}

fn port(row: &AnyRow, column: &str) -> Result<Option<u16>> {
    Ok(row
        .try_get::<Option<i64>, _>(column)?
        .and_then(|p| u16::try_from(p).ok()))
}

fn sg_rule_from(row: &AnyRow) -> Result<wire::SgRule> {
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

fn acl_entry_from(row: &AnyRow) -> Result<wire::AclEntry> {
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

fn endpoint_from(row: &AnyRow) -> Result<wire::Endpoint> {
    Ok(wire::Endpoint {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        vpc_id: row.try_get("vpc_id")?,
        subnet_id: row.try_get("subnet_id")?,
        name: row.try_get("name")?,
        kind: row.try_get("kind")?,
        private_ip: row.try_get("private_ip")?,
        ports: serde_json::from_str(&row.try_get::<String, _>("ports")?).unwrap_or_default(),
        security_group_ids: serde_json::from_str(&row.try_get::<String, _>("security_group_ids")?)
            .unwrap_or_default(),
        created_at: row.try_get("created_at")?,
    })
}

/// A unique-index violation becomes a 409 with the given code; anything else is a storage error.
fn conflict_on_unique(e: sqlx::Error, code: ErrorCode, message: String) -> ApiError {
    match e {
        sqlx::Error::Database(d) if d.is_unique_violation() => ApiError::conflict(code, message),
        other => other.into(),
    }
}

/// What to select from the account's objects of one table, page by page.
struct Listing<'a> {
    table: &'a str,
    account: &'a str,
    vpc: Option<&'a str>,
    cursor: Option<&'a str>,
    limit: i64,
}

impl Store {
    /// The default network ACL (allow all, both ways) and default security group (egress anywhere, ingress from
    /// itself) of a new VPC, inside its creating transaction.
    pub(crate) async fn create_vpc_defaults(&self, tx: &mut WriteTx, vpc: &wire::Vpc) -> Result<()> {
        let acl = &vpc.default_network_acl_id;
        let sg = &vpc.default_security_group_id;
        sqlx::query(
            "INSERT INTO network_acls (id, account_id, vpc_id, is_default, created_at) VALUES ($1, $2, $3, 1, $4)",
        )
        .bind(acl)
        .bind(&vpc.account_id)
        .bind(&vpc.id)
        .bind(vpc.created_at)
        .execute(&mut ***tx)
        .await?;
        for dir in [Direction::Inbound, Direction::Outbound].map(rule_direction::word) {
            sqlx::query(
                "INSERT INTO acl_entries (acl_id, direction, rule_number, protocol, cidr_block, rule_action) \
                 VALUES ($1, $2, 100, 'all', '0.0.0.0/0', 'allow')",
            )
            .bind(acl)
            .bind(dir)
            .execute(&mut ***tx)
            .await?;
        }
        sqlx::query(
            "INSERT INTO security_groups (id, account_id, vpc_id, name, description, is_default, created_at) \
             VALUES ($1, $2, $3, 'default', 'default VPC security group', 1, $4)",
        )
        .bind(sg)
        .bind(&vpc.account_id)
        .bind(&vpc.id)
        .bind(vpc.created_at)
        .execute(&mut ***tx)
        .await?;
        self.insert_rule(
            tx,
            sg,
            Direction::Outbound,
            (Protocol::All, None, None),
            (Some("0.0.0.0/0"), None),
            "",
        )
        .await?;
        self.insert_rule(
            tx,
            sg,
            Direction::Inbound,
            (Protocol::All, None, None),
            (None, Some(sg)),
            "",
        )
        .await?;
        Ok(())
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
        sqlx::query(
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
        .execute(&mut ***tx)
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

    /// Subnets explicitly associated with a route table (`kind` `route_table`) or network ACL (`network_acl`).
    pub(crate) async fn associated_subnets(&self, kind: &str, target: &str) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT subnet_id FROM subnet_associations WHERE kind = $1 AND target_id = $2 ORDER BY subnet_id",
        )
        .bind(kind)
        .bind(target)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok(r.try_get("subnet_id")?)).collect()
    }

    /// Ids of the account's objects in one table (optionally of one VPC), a page at a time.
    async fn list_ids(&self, l: Listing<'_>) -> Result<Vec<String>> {
        let sql = format!(
            "SELECT id FROM {} WHERE account_id = $1 AND ($2 = '' OR vpc_id = $2) AND id > $3 ORDER BY id LIMIT $4",
            l.table
        );
        let rows = sqlx::query(&sql)
            .bind(l.account)
            .bind(l.vpc.unwrap_or(""))
            .bind(l.cursor.unwrap_or(""))
            .bind(l.limit + 1)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
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
        sqlx::query("DELETE FROM subnet_associations WHERE subnet_id = $1 AND kind = $2")
            .bind(subnet_id)
            .bind(kind)
            .execute(&mut **tx)
            .await?;
        if !target_is_default {
            sqlx::query("INSERT INTO subnet_associations (subnet_id, kind, target_id) VALUES ($1, $2, $3)")
                .bind(subnet_id)
                .bind(kind)
                .bind(target)
                .execute(&mut **tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    // ---------- route-table associations ----------

    /// Associates a subnet with a route table of its VPC (replacing its previous association).
    pub async fn associate_route_table(
        &self,
        account: &str,
        table: &str,
        req: &wire::Association,
    ) -> Result<wire::RouteTable> {
        let rt = self.get_route_table(account, table).await?;
        self.associate(
            account,
            "route_table",
            (table, &rt.vpc_id, rt.main),
            &req.subnet_id,
        )
        .await?;
        self.get_route_table(account, table).await
    }

    /// Removes a subnet's explicit association with a route table; the subnet uses the main table again.
    pub async fn disassociate_route_table(
        &self,
        account: &str,
        table: &str,
        subnet: &str,
    ) -> Result<wire::RouteTable> {
        self.get_route_table(account, table).await?;
        let n = sqlx::query(
            "DELETE FROM subnet_associations WHERE subnet_id = $1 AND kind = 'route_table' AND target_id = $2",
        )
        .bind(subnet)
        .bind(table)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(ApiError::NotFound(format!(
                "subnet \"{subnet}\" is not associated with route table {table}"
            )));
        }
        self.get_route_table(account, table).await
    }

    /// Deletes a route table: not the main one, not while subnets are associated.
    pub async fn delete_route_table(&self, account: &str, id: &str) -> Result<()> {
        let rt = self.get_route_table(account, id).await?;
        if rt.main {
            return Err(ApiError::conflict(
                ErrorCode::MainRouteTable,
                format!("route table {id} is its VPC's main table and goes only with the VPC"),
            ));
        }
        let mut tx = self.write_tx().await?;
        let used: i64 = sqlx::query("SELECT COUNT(*) AS n FROM subnet_associations WHERE target_id = $1")
            .bind(id)
            .fetch_one(&mut **tx)
            .await?
            .try_get("n")?;
        if used > 0 {
            return Err(ApiError::conflict(
                ErrorCode::RouteTableInUse,
                format!("route table {id} is associated with {used} subnets; disassociate them first"),
            ));
        }
        for sql in [
            "DELETE FROM routes WHERE route_table_id = $1",
            "DELETE FROM route_tables WHERE id = $1",
        ] {
            sqlx::query(sql).bind(id).execute(&mut **tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    // ---------- security groups ----------

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
        sqlx::query(
            "INSERT INTO security_groups (id, account_id, vpc_id, name, description, is_default, created_at) \
             VALUES ($1, $2, $3, $4, $5, 0, $6)",
        )
        .bind(&id)
        .bind(account)
        .bind(&vpc.id)
        .bind(&req.name)
        .bind(&req.description)
        .bind(self.now())
        .execute(&mut **tx)
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
        let taken =
            sqlx::query("SELECT id FROM security_groups WHERE vpc_id = $1 AND name = $2 AND id <> $3")
                .bind(vpc)
                .bind(name)
                .bind(except)
                .fetch_optional(&mut ***tx)
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
        let row = sqlx::query("SELECT * FROM security_groups WHERE id = $1 AND account_id = $2")
            .bind(id)
            .bind(account)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("security group \"{id}\" not found")))?;
        let rules = sqlx::query("SELECT * FROM sg_rules WHERE group_id = $1 ORDER BY created_at, id")
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
        sqlx::query("UPDATE security_groups SET name = $1, description = $2 WHERE id = $3")
            .bind(req.name.as_ref().unwrap_or(&g.name))
            .bind(req.description.as_ref().unwrap_or(&g.description))
            .bind(id)
            .execute(&mut **tx)
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
        let mut tx = self.write_tx().await?;
        let pattern = format!("%\"{id}\"%");
        let endpoints: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM endpoints WHERE vpc_id = $1 AND security_group_ids LIKE $2",
        )
        .bind(&g.vpc_id)
        .bind(&pattern)
        .fetch_one(&mut **tx)
        .await?
        .try_get("n")?;
        let referencing: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM sg_rules WHERE ref_group_id = $1 AND group_id <> $1")
                .bind(id)
                .fetch_one(&mut **tx)
                .await?
                .try_get("n")?;
        if endpoints + referencing > 0 {
            return Err(ApiError::conflict(
                ErrorCode::SecurityGroupInUse,
                format!(
                    "security group {id} is used by {endpoints} endpoints and named by {referencing} rules of other groups"
                ),
            ));
        }
        for sql in [
            "DELETE FROM sg_rules WHERE group_id = $1",
            "DELETE FROM security_groups WHERE id = $1",
        ] {
            sqlx::query(sql).bind(id).execute(&mut **tx).await?;
        }
        tx.commit().await?;
        Ok(())
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
        let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM sg_rules WHERE group_id = $1 AND direction = $2")
            .bind(id)
            .bind(dir)
            .fetch_one(&mut **tx)
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
        let row = sqlx::query("SELECT vpc_id FROM security_groups WHERE id = $1")
            .bind(other)
            .fetch_optional(&self.pool)
            .await?;
        let other_vpc: Option<String> = row.map(|r| r.try_get("vpc_id")).transpose()?;
        let allowed = match other_vpc {
            Some(v) if v == g.vpc_id => true,
            Some(v) => sqlx::query(
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
        let n = sqlx::query("DELETE FROM sg_rules WHERE id = $1 AND group_id = $2")
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

    // ---------- network ACLs ----------

    /// Creates a custom ACL: until entries are added it denies everything (the implicit final rule).
    pub async fn create_network_acl(
        &self,
        account: &str,
        req: &wire::CreateNetworkAcl,
    ) -> Result<wire::NetworkAcl> {
        let vpc = self.get_vpc(account, &req.vpc_id).await?;
        let id = crate::store::new_id("acl");
        sqlx::query(
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
        let row = sqlx::query("SELECT * FROM network_acls WHERE id = $1 AND account_id = $2")
            .bind(id)
            .bind(account)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("network ACL \"{id}\" not found")))?;
        let entries =
            sqlx::query("SELECT * FROM acl_entries WHERE acl_id = $1 ORDER BY direction DESC, rule_number")
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
        let mut tx = self.write_tx().await?;
        let used: i64 = sqlx::query("SELECT COUNT(*) AS n FROM subnet_associations WHERE target_id = $1")
            .bind(id)
            .fetch_one(&mut **tx)
            .await?
            .try_get("n")?;
        if used > 0 {
            return Err(ApiError::conflict(
                ErrorCode::NetworkAclInUse,
                format!("network ACL {id} is associated with {used} subnets; associate them elsewhere first"),
            ));
        }
        for sql in [
            "DELETE FROM acl_entries WHERE acl_id = $1",
            "DELETE FROM network_acls WHERE id = $1",
        ] {
            sqlx::query(sql).bind(id).execute(&mut **tx).await?;
        }
        tx.commit().await?;
        Ok(())
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
        let n: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM acl_entries WHERE acl_id = $1 AND direction = $2")
                .bind(id)
                .bind(dir)
                .fetch_one(&mut **tx)
                .await?
                .try_get("n")?;
        if n >= ACL_ENTRIES_PER_DIRECTION {
            return Err(ApiError::conflict(
                ErrorCode::AclEntryQuotaExceeded,
                format!("network ACL {id} already has {n} {dir} entries (limit {ACL_ENTRIES_PER_DIRECTION})"),
            ));
        }
        sqlx::query(
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
        .execute(&mut **tx)
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
            sqlx::query("DELETE FROM acl_entries WHERE acl_id = $1 AND direction = $2 AND rule_number = $3")
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

    // ---------- endpoints ----------

    async fn endpoint_groups(&self, account: &str, vpc: &wire::Vpc, ids: &[String]) -> Result<Vec<String>> {
        if ids.is_empty() {
            return Ok(vec![vpc.default_security_group_id.clone()]);
        }
        let mut out: Vec<String> = Vec::new();
        for id in ids {
            let g = self
                .get_security_group(account, id)
                .await
                .map_err(|_| ApiError::NotFound(format!("security_group_ids: group \"{id}\" not found")))?;
            if g.vpc_id != vpc.id {
                return Err(ApiError::invalid(
                    ErrorCode::SecurityGroupOtherVpc,
                    format!(
                        "security_group_ids: group {id} is in VPC {}, not {}",
                        g.vpc_id, vpc.id
                    ),
                ));
            }
            if !out.contains(id) {
                out.push(id.clone());
            }
        }
        if out.len() > GROUPS_PER_ENDPOINT {
            return Err(ApiError::invalid(
                ErrorCode::TooManySecurityGroups,
                format!(
                    "security_group_ids: {} groups (limit {GROUPS_PER_ENDPOINT})",
                    out.len()
                ),
            ));
        }
        Ok(out)
    }

    fn check_ports(ports: &[u16]) -> Result<Vec<u16>> {
        if let Some(p) = ports.iter().find(|p| **p == 0) {
            return Err(ApiError::invalid(
                ErrorCode::InvalidPort,
                format!("ports: {p} is not a port (1-65535)"),
            ));
        }
        if ports.len() > 64 {
            return Err(ApiError::invalid(
                ErrorCode::InvalidPort,
                "ports: at most 64 ports",
            ));
        }
        let mut p = ports.to_vec();
        p.sort_unstable();
        p.dedup();
        Ok(p)
    }

    /// Creates an endpoint with an address in its subnet: the given one (not one of the five AWS reserves, not
    /// taken) or the next free one.
    pub async fn create_endpoint(&self, account: &str, req: &wire::CreateEndpoint) -> Result<wire::Endpoint> {
        validate::name("name", &req.name, true)?;
        if !ENDPOINT_KINDS.contains(&req.kind.as_str()) {
            return Err(ApiError::invalid(
                ErrorCode::InvalidKind,
                format!(
                    "kind: \"{}\" is not one of {}",
                    req.kind,
                    ENDPOINT_KINDS.join(", ")
                ),
            ));
        }
        let ports = Self::check_ports(&req.ports)?;
        let subnet = self.get_subnet(account, &req.subnet_id).await?;
        let vpc = self.get_vpc(account, &subnet.vpc_id).await?;
        let groups = self
            .endpoint_groups(account, &vpc, &req.security_group_ids)
            .await?;
        let block: netmodel::cidr::Cidr = cidr("subnet", &subnet.cidr_block)?;
        let ipnet::IpNet::V4(net) = block.0 else {
            return Err(ApiError::invalid(
                ErrorCode::InvalidSubnet,
                format!(
                    "subnet_id: {} is an IPv6 subnet; endpoints need an IPv4 subnet",
                    subnet.id
                ),
            ));
        };
        let first = u32::from(net.network()) + 4;
        let last = u32::from(net.broadcast()).saturating_sub(1);
        let mut tx = self.write_tx().await?;
        // The next free address is chosen from the subnet's taken ones: under a lock on the subnet.
        self.lock_rows(&mut tx, "subnets", &[&subnet.id]).await?;
        let ip = match &req.private_ip {
            Some(text) => {
                let ip: Ipv4Addr = text.parse().map_err(|_| {
                    ApiError::invalid(
                        ErrorCode::InvalidIp,
                        format!("private_ip: \"{text}\" is not an IPv4 address"),
                    )
                })?;
                if !(first..=last).contains(&u32::from(ip)) {
                    return Err(ApiError::invalid(
                        ErrorCode::InvalidIp,
                        format!(
                            "private_ip: {ip} is not a usable address of subnet {} ({}; the first four and the last are reserved)",
                            subnet.id, subnet.cidr_block
                        ),
                    ));
                }
                ip
            }
            None => {
                let taken: std::collections::HashSet<u32> =
                    sqlx::query("SELECT private_ip FROM endpoints WHERE subnet_id = $1")
                        .bind(&subnet.id)
                        .fetch_all(&mut **tx)
                        .await?
                        .iter()
                        .filter_map(|r| r.try_get::<String, _>("private_ip").ok())
                        .filter_map(|t| t.parse::<Ipv4Addr>().ok().map(u32::from))
                        .collect();
                let free = (first..=last).find(|a| !taken.contains(a)).ok_or_else(|| {
                    ApiError::conflict(
                        ErrorCode::SubnetFull,
                        format!("subnet {} has no free address left", subnet.id),
                    )
                })?;
                Ipv4Addr::from(free)
            }
        };
        let e = wire::Endpoint {
            id: crate::store::new_id("ep"),
            account_id: account.to_string(),
            vpc_id: vpc.id.clone(),
            subnet_id: subnet.id.clone(),
            name: req.name.clone(),
            kind: req.kind.clone(),
            private_ip: IpAddr::V4(ip).to_string(),
            ports,
            security_group_ids: groups,
            created_at: self.now(),
        };
        sqlx::query(
            "INSERT INTO endpoints (id, account_id, vpc_id, subnet_id, name, kind, private_ip, ports, \
             security_group_ids, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&e.id)
        .bind(account)
        .bind(&e.vpc_id)
        .bind(&e.subnet_id)
        .bind(&e.name)
        .bind(&e.kind)
        .bind(&e.private_ip)
        .bind(serde_json::to_string(&e.ports).expect("ports serialize"))
        .bind(blocks_json(&e.security_group_ids))
        .bind(e.created_at)
        .execute(&mut **tx)
        .await
        .map_err(|err| {
            conflict_on_unique(
                err,
                ErrorCode::IpInUse,
                format!(
                    "private_ip: {} is already used in subnet {}",
                    e.private_ip, e.subnet_id
                ),
            )
        })?;
        tx.commit().await?;
        Ok(e)
    }

    /// An endpoint of the account.
    pub async fn get_endpoint(&self, account: &str, id: &str) -> Result<wire::Endpoint> {
        let row = sqlx::query("SELECT * FROM endpoints WHERE id = $1 AND account_id = $2")
            .bind(id)
            .bind(account)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref()
            .map(endpoint_from)
            .transpose()?
            .ok_or_else(|| ApiError::NotFound(format!("endpoint \"{id}\" not found")))
    }

    /// The account's endpoints, optionally of one VPC.
    pub async fn list_endpoints(
        &self,
        account: &str,
        vpc: Option<&str>,
        cursor: Option<&str>,
        limit: Option<i64>,
    ) -> Result<wire::Page<wire::Endpoint>> {
        let limit = page_limit(limit)?;
        let rows = sqlx::query(
            "SELECT * FROM endpoints WHERE account_id = $1 AND ($2 = '' OR vpc_id = $2) AND id > $3 ORDER BY id LIMIT $4",
        )
        .bind(account)
        .bind(vpc.unwrap_or(""))
        .bind(cursor.unwrap_or(""))
        .bind(limit + 1)
        .fetch_all(&self.pool)
        .await?;
        let items = rows.iter().map(endpoint_from).collect::<Result<Vec<_>>>()?;
        Ok(paginate(items, limit, |e| e.id.clone()))
    }

    /// Changes an endpoint's name, ports or groups.
    pub async fn update_endpoint(
        &self,
        account: &str,
        id: &str,
        req: &wire::UpdateEndpoint,
    ) -> Result<wire::Endpoint> {
        let mut e = self.get_endpoint(account, id).await?;
        if let Some(name) = &req.name {
            validate::name("name", name, true)?;
            e.name = name.clone();
        }
        if let Some(ports) = &req.ports {
            e.ports = Self::check_ports(ports)?;
        }
        if let Some(groups) = &req.security_group_ids {
            let vpc = self.get_vpc(account, &e.vpc_id).await?;
            e.security_group_ids = self.endpoint_groups(account, &vpc, groups).await?;
        }
        sqlx::query("UPDATE endpoints SET name = $1, ports = $2, security_group_ids = $3 WHERE id = $4")
            .bind(&e.name)
            .bind(serde_json::to_string(&e.ports).expect("ports serialize"))
            .bind(blocks_json(&e.security_group_ids))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(e)
    }

    /// Deletes an endpoint.
    pub async fn delete_endpoint(&self, account: &str, id: &str) -> Result<()> {
        self.get_endpoint(account, id).await?;
        sqlx::query("DELETE FROM endpoints WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Renames a VPC.
    pub async fn update_vpc(&self, account: &str, id: &str, req: &wire::UpdateVpc) -> Result<wire::Vpc> {
        validate::name("name", &req.name, true)?;
        self.get_vpc(account, id).await?;
        sqlx::query("UPDATE vpcs SET name = $1 WHERE id = $2")
            .bind(&req.name)
            .bind(id)
            .execute(&self.pool)
            .await?;
        self.get_vpc(account, id).await
    }
}
