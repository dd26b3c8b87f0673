//! Storage of gateways — internet (`igw_…`), NAT (`nat_…`), VPN (`vgw_…`) and gateway endpoints (`vpce_…`) —
//! for routes of their VPC to target.

use super::db::{self, Row};

use super::{new_id, page_limit, paginate, Result, Store, Users};
use crate::{
    error::{ApiError, ErrorCode},
    validate::{self, shown},
    wire,
};

/// Kinds of gateway and the prefix of their ids.
pub const GATEWAY_KINDS: &[(&str, &str)] = &[
    ("internet", "igw"),
    ("nat", "nat"),
    ("vpn", "vgw"),
    ("endpoint", "vpce"),
];

fn gateway_from(row: &Row) -> Result<wire::Gateway> {
    Ok(wire::Gateway {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        vpc_id: row.try_get("vpc_id")?,
        kind: row.try_get("kind")?,
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
    })
}

/// The shape of an id: `prefix_` and 1–32 lowercase hex digits or letters (ids are `new_id`s).
pub(super) fn id_shaped(text: &str, prefix: &str) -> bool {
    text.strip_prefix(prefix)
        .and_then(|r| r.strip_prefix('_'))
        .is_some_and(|r| {
            (1..=32).contains(&r.len()) && r.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

impl Store {
    /// Creates a gateway in a VPC of the account.
    pub async fn create_gateway(&self, account: &str, req: &wire::CreateGateway) -> Result<wire::Gateway> {
        let Some((kind, prefix)) = GATEWAY_KINDS.iter().find(|(k, _)| *k == req.kind) else {
            let kinds: Vec<&str> = GATEWAY_KINDS.iter().map(|(k, _)| *k).collect();
            return Err(ApiError::invalid(
                ErrorCode::InvalidKind,
                format!("kind: {} is not one of {}", shown(&req.kind), kinds.join(", ")),
            ));
        };
        validate::name("name", &req.name, false)?;
        let vpc = self.get_vpc(account, &req.vpc_id).await?;
        let g = wire::Gateway {
            id: new_id(prefix),
            account_id: account.to_string(),
            vpc_id: vpc.id,
            kind: kind.to_string(),
            name: req.name.clone(),
            created_at: self.now(),
        };
        let mut tx = self.write_tx().await?;
        db::query(
            "INSERT INTO gateways (id, account_id, vpc_id, kind, name, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&g.id)
        .bind(account)
        .bind(&g.vpc_id)
        .bind(&g.kind)
        .bind(&g.name)
        .bind(g.created_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(g)
    }

    /// A gateway of the account.
    pub async fn get_gateway(&self, account: &str, id: &str) -> Result<wire::Gateway> {
        let row = db::query("SELECT * FROM gateways WHERE id = $1 AND account_id = $2")
            .bind(id)
            .bind(account)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref()
            .map(gateway_from)
            .transpose()?
            .ok_or_else(|| ApiError::NotFound(format!("gateway {} not found", shown(id))))
    }

    /// The account's gateways, optionally of one VPC.
    pub async fn list_gateways(
        &self,
        account: &str,
        vpc: Option<&str>,
        cursor: Option<&str>,
        limit: Option<i64>,
    ) -> Result<wire::Page<wire::Gateway>> {
        let limit = page_limit(limit)?;
        let rows = db::query(
            "SELECT * FROM gateways WHERE account_id = $1 AND ($2 = '' OR vpc_id = $2) AND id > $3 ORDER BY id LIMIT $4",
        )
        .bind(account)
        .bind(vpc.unwrap_or(""))
        .bind(cursor.unwrap_or(""))
        .bind(limit + 1)
        .fetch_all(&self.pool)
        .await?;
        let items = rows.iter().map(gateway_from).collect::<Result<Vec<_>>>()?;
        Ok(paginate(items, limit, |g| g.id.clone()))
    }

    /// Deletes a gateway no route targets (AWS: a dependency violation otherwise).
    pub async fn delete_gateway(&self, account: &str, id: &str) -> Result<()> {
        self.get_gateway(account, id).await?;
        self.delete_unless_used(
            id,
            [Users("SELECT COUNT(*) AS n FROM routes WHERE target = $1", &[id])],
            |[used]| {
                ApiError::conflict(
                    ErrorCode::GatewayInUse,
                    format!("gateway {id} is the target of {used} routes; delete them first"),
                )
            },
            &["DELETE FROM gateways WHERE id = $1"],
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::id_shaped;

    #[test]
    fn ids_have_a_prefix_and_a_short_lowercase_tail() {
        assert!(id_shaped("igw_0123456789abcdef", "igw"));
        assert!(!id_shaped("igw_", "igw"));
        assert!(!id_shaped(&format!("igw_{}", "a".repeat(100_000)), "igw"));
        assert!(!id_shaped("nat_\u{0}\u{1b}[31m", "nat"));
        assert!(!id_shaped("igw-1", "igw"));
        assert!(!id_shaped("vpce_1", "vpc"));
    }
}
