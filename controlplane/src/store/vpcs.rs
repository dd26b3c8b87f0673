//! Storage of VPCs: created with their main route table, default network ACL and default security group,
//! deleted with everything in them.

use std::str::FromStr;

use super::db::{self, Row};

use netmodel::model::{Direction, Protocol};

use super::{blocks_json, cidr, new_id, page_limit, paginate, parse_blocks, Arg, Result, Store, Users};
use crate::{
    error::{ApiError, ErrorCode},
    validate,
    wire::{self, rule_direction},
};

pub(super) fn vpc_from(row: &Row) -> Result<wire::Vpc> {
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

impl Store {
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
        // The VPC, its main route table, its default network ACL (allow all, both ways) and its default security
        // group (egress anywhere, ingress from itself; its rules stored as `insert_rule` stores them): one batch.
        let (secondary, ipv6) = (
            blocks_json(&vpc.secondary_cidr_blocks),
            blocks_json(&vpc.ipv6_cidr_blocks),
        );
        let sg = vpc.default_security_group_id.as_str();
        let all = Protocol::All.to_string();
        let (egress_id, ingress_id) = (new_id("sgr"), new_id("sgr"));
        let (egress_key, ingress_key) = (format!("{all}||0.0.0.0/0"), format!("{all}||{sg}"));
        let t = Arg::Text;
        let (id, acl, at) = (
            t(&vpc.id),
            t(&vpc.default_network_acl_id),
            Arg::Int(vpc.created_at),
        );
        let mut tx = self.write_tx().await?;
        self.run_batch(
            &mut tx,
            &[
                (
                    "INSERT INTO vpcs (id, account_id, name, region, cidr_block, secondary_cidr_blocks, \
                     ipv6_cidr_blocks, main_route_table_id, default_network_acl_id, default_security_group_id, \
                     created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                    &[
                        id,
                        t(account),
                        t(&vpc.name),
                        t(&vpc.region),
                        t(&vpc.cidr_block),
                        t(&secondary),
                        t(&ipv6),
                        t(&vpc.main_route_table_id),
                        acl,
                        t(sg),
                        at,
                    ],
                ),
                (
                    "INSERT INTO route_tables (id, account_id, vpc_id, main, created_at) VALUES ($1, $2, $3, 1, $4)",
                    &[t(&vpc.main_route_table_id), t(account), id, at],
                ),
                (
                    "INSERT INTO network_acls (id, account_id, vpc_id, is_default, created_at) VALUES ($1, $2, $3, 1, $4)",
                    &[acl, t(account), id, at],
                ),
                (
                    "INSERT INTO acl_entries (acl_id, direction, rule_number, protocol, cidr_block, rule_action) \
                     VALUES ($1, $2, 100, 'all', '0.0.0.0/0', 'allow'), ($1, $3, 100, 'all', '0.0.0.0/0', 'allow')",
                    &[
                        acl,
                        t(rule_direction::word(Direction::Inbound)),
                        t(rule_direction::word(Direction::Outbound)),
                    ],
                ),
                (
                    "INSERT INTO security_groups (id, account_id, vpc_id, name, description, is_default, created_at) \
                     VALUES ($1, $2, $3, 'default', 'default VPC security group', 1, $4)",
                    &[t(sg), t(account), id, at],
                ),
                (
                    "INSERT INTO sg_rules (id, group_id, direction, protocol, from_port, to_port, cidr, ref_group_id, \
                     description, rule_key, created_at) VALUES ($1, $2, $3, $4, NULL, NULL, $5, NULL, '', $6, $7), \
                     ($8, $2, $9, $4, NULL, NULL, NULL, $2, '', $10, $7)",
                    &[
                        t(&egress_id),
                        t(sg),
                        t(rule_direction::word(Direction::Outbound)),
                        t(&all),
                        t("0.0.0.0/0"),
                        t(&egress_key),
                        at,
                        t(&ingress_id),
                        t(rule_direction::word(Direction::Inbound)),
                        t(&ingress_key),
                    ],
                ),
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(vpc)
    }

    /// A VPC of the account (404 otherwise).
    pub async fn get_vpc(&self, account: &str, id: &str) -> Result<wire::Vpc> {
        let row = db::query("SELECT * FROM vpcs WHERE id = $1 AND account_id = $2")
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
        let rows = db::query("SELECT * FROM vpcs WHERE account_id = $1 AND id > $2 ORDER BY id LIMIT $3")
            .bind(account)
            .bind(cursor.unwrap_or(""))
            .bind(limit + 1)
            .fetch_all(&self.pool)
            .await?;
        let items = rows.iter().map(vpc_from).collect::<Result<Vec<_>>>()?;
        Ok(paginate(items, limit, |v| v.id.clone()))
    }

    /// Renames a VPC.
    pub async fn update_vpc(&self, account: &str, id: &str, req: &wire::UpdateVpc) -> Result<wire::Vpc> {
        validate::name("name", &req.name, true)?;
        self.get_vpc(account, id).await?;
        db::query("UPDATE vpcs SET name = $1 WHERE id = $2")
            .bind(&req.name)
            .bind(id)
            .execute(&self.pool)
            .await?;
        self.get_vpc(account, id).await
    }

    /// Deletes a VPC with its subnets and route tables; refused while a peering is pending or active.
    pub async fn delete_vpc(&self, account: &str, id: &str) -> Result<()> {
        self.get_vpc(account, id).await?;
        self.expire_due().await?;
        self.delete_unless_used(
            id,
            [Users(
                "SELECT COUNT(*) AS n FROM peerings WHERE (requester_vpc_id = $1 OR accepter_vpc_id = $1) \
                 AND status IN ('pending', 'active')",
                &[id],
            )],
            |[live]| {
                ApiError::conflict(
                    ErrorCode::VpcHasPeerings,
                    format!("VPC \"{id}\" has {live} pending or active peering connections; delete them first"),
                )
            },
            &[
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
                // Ended peerings keep their history but no longer pin the VPC.
                "DELETE FROM peerings WHERE requester_vpc_id = $1 OR accepter_vpc_id = $1",
                "DELETE FROM vpcs WHERE id = $1",
            ],
        )
        .await
    }
}
