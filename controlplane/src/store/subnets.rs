//! Storage of subnets: inside their VPC's blocks, overlapping none of its other subnets.

use super::db::{self, Row};

use super::{all_blocks, cidr, new_id, page_limit, paginate, Result, Store, Users};
use crate::{
    error::{ApiError, ErrorCode},
    validate, wire,
};

fn subnet_from(row: &Row) -> Result<wire::Subnet> {
    Ok(wire::Subnet {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        vpc_id: row.try_get("vpc_id")?,
        cidr_block: row.try_get("cidr_block")?,
        availability_zone: row.try_get("availability_zone")?,
        created_at: row.try_get("created_at")?,
    })
}

impl Store {
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
        let existing = db::query("SELECT id, cidr_block FROM subnets WHERE vpc_id = $1")
            .bind(&vpc.id)
            .fetch_all(&mut *tx)
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
        db::query(
            "INSERT INTO subnets (id, account_id, vpc_id, cidr_block, availability_zone, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&s.id)
        .bind(account)
        .bind(&s.vpc_id)
        .bind(&s.cidr_block)
        .bind(&s.availability_zone)
        .bind(s.created_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(s)
    }

    /// A subnet of the account.
    pub async fn get_subnet(&self, account: &str, id: &str) -> Result<wire::Subnet> {
        let row = db::query("SELECT * FROM subnets WHERE id = $1 AND account_id = $2")
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
        let rows = db::query("SELECT * FROM subnets WHERE account_id = $1 AND id > $2 ORDER BY id LIMIT $3")
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
        self.delete_unless_used(
            id,
            [Users(
                "SELECT COUNT(*) AS n FROM endpoints WHERE subnet_id = $1",
                &[id],
            )],
            |[used]| {
                ApiError::conflict(
                    ErrorCode::SubnetInUse,
                    format!("subnet \"{id}\" still has {used} endpoints; delete them first"),
                )
            },
            &[
                "DELETE FROM subnet_associations WHERE subnet_id = $1",
                "DELETE FROM subnets WHERE id = $1",
            ],
        )
        .await
    }
}
