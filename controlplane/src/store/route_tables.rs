//! Storage of route tables: their routes (and the check of a route's target), and the subnets associated
//! with them.

use sqlx::Row;

use super::{
    all_blocks, cidr,
    gateways::{id_shaped, GATEWAY_KINDS},
    new_id, page_limit, paginate, Result, Store, Users,
};
use crate::{
    error::{ApiError, ErrorCode},
    validate::shown,
    wire,
};

/// Routes per route table besides the local ones (AWS's default quota).
pub const ROUTES_PER_TABLE: i64 = 50;

impl Store {
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

    /// Deletes a route table: not the main one, not while subnets are associated.
    pub async fn delete_route_table(&self, account: &str, id: &str) -> Result<()> {
        let rt = self.get_route_table(account, id).await?;
        if rt.main {
            return Err(ApiError::conflict(
                ErrorCode::MainRouteTable,
                format!("route table {id} is its VPC's main table and goes only with the VPC"),
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
                    ErrorCode::RouteTableInUse,
                    format!("route table {id} is associated with {used} subnets; disassociate them first"),
                )
            },
            &[
                "DELETE FROM routes WHERE route_table_id = $1",
                "DELETE FROM route_tables WHERE id = $1",
            ],
        )
        .await
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

    /// Checks a route's target for a table of `vpc`: a peering connection of the VPC, or a gateway of the VPC
    /// in the account. Malformed ids are 400; well-formed ids of nothing there are 404 naming the id.
    pub(crate) async fn check_route_target(&self, account: &str, vpc: &str, target: &str) -> Result<()> {
        if id_shaped(target, "pcx") {
            let p = sqlx::query(
                "SELECT id FROM peerings WHERE id = $1 AND (requester_vpc_id = $2 OR accepter_vpc_id = $2)",
            )
            .bind(target)
            .bind(vpc)
            .fetch_optional(&self.pool)
            .await?;
            return match p {
                Some(_) => Ok(()),
                None => Err(ApiError::invalid(
                    ErrorCode::InvalidRouteTarget,
                    format!("target: peering \"{target}\" is not a peering connection of VPC {vpc}"),
                )),
            };
        }
        if !GATEWAY_KINDS.iter().any(|(_, p)| id_shaped(target, p)) {
            return Err(ApiError::invalid(
                ErrorCode::InvalidRouteTarget,
                format!(
                    "target: {} is not a peering (pcx_…) or gateway (igw_…, nat_…, vgw_…, vpce_…) id",
                    shown(target)
                ),
            ));
        }
        let g = sqlx::query("SELECT id FROM gateways WHERE id = $1 AND account_id = $2 AND vpc_id = $3")
            .bind(target)
            .bind(account)
            .bind(vpc)
            .fetch_optional(&self.pool)
            .await?;
        match g {
            Some(_) => Ok(()),
            None => Err(ApiError::NotFound(format!(
                "target: gateway \"{target}\" not found in VPC {vpc} of your account (create it with POST /v1/gateways)"
            ))),
        }
    }

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
}
