//! Storage of endpoints: an address in a subnet (given, or the next free one), ports and security groups.

use std::net::{IpAddr, Ipv4Addr};

use super::db::{self, Row};

use super::{blocks_json, cidr, conflict_on_unique, page_limit, paginate, Result, Store};
use crate::{
    error::{ApiError, ErrorCode},
    validate, wire,
};

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

fn endpoint_from(row: &Row) -> Result<wire::Endpoint> {
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

impl Store {
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
                    db::query("SELECT private_ip FROM endpoints WHERE subnet_id = $1")
                        .bind(&subnet.id)
                        .fetch_all(&mut *tx)
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
        db::query(
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
        .execute(&mut *tx)
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
        let row = db::query("SELECT * FROM endpoints WHERE id = $1 AND account_id = $2")
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
        let rows = db::query(
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
        db::query("UPDATE endpoints SET name = $1, ports = $2, security_group_ids = $3 WHERE id = $4")
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
        db::query("DELETE FROM endpoints WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
