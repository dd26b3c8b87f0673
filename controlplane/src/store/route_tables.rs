//! Storage of route tables: their routes (and the check of a route's target), and the subnets associated
//! with them.

use super::db::{self, Conn};

use super::{
    cidr,
    gateways::{id_shaped, GATEWAY_KINDS},
    new_id, page_limit, paginate, parse_blocks, Result, Store, Users,
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
        db::query(
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
        let mut conn = self.pool.acquire().await?;
        let head = route_table_head(&mut conn, account, id, "").await?;
        read_route_table(&mut conn, account, id, head).await
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
            db::query("SELECT id FROM route_tables WHERE account_id = $1 AND id > $2 ORDER BY id LIMIT $3")
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
    /// table's VPC. Checked, written and read back in one write transaction.
    pub async fn add_route(
        &self,
        account: &str,
        table: &str,
        req: &wire::CreateRoute,
    ) -> Result<wire::RouteTable> {
        let mut tx = self.write_tx().await?;
        let target = req.target.as_str();
        // Only an id-shaped target is looked up (anything else is refused by its shape, and PostgreSQL refuses
        // some text, such as a NUL, as a parameter).
        let shaped = id_shaped(target, "pcx") || GATEWAY_KINDS.iter().any(|(_, p)| id_shaped(target, p));
        let head = route_table_head(&mut tx, account, table, if shaped { target } else { "" }).await?;
        let dest = cidr("destination_cidr", &req.destination_cidr)?;
        check_route_target(&head, target)?;
        let dest_text = dest.to_string();
        if head.local.contains(&dest_text) {
            return Err(ApiError::conflict(
                ErrorCode::RouteExists,
                format!("destination_cidr: {dest} is the VPC's local route"),
            ));
        }
        // Count, then insert (one statement): under a lock on the table (see `lock_rows`).
        self.lock_rows(&mut tx, "route_tables", &[table]).await?;
        let inserted = db::query(
            "INSERT INTO routes (route_table_id, destination_cidr, target, created_at) SELECT $1, $2, $3, $4 \
             WHERE (SELECT COUNT(*) FROM routes WHERE route_table_id = $1) < $5 \
             ON CONFLICT (route_table_id, destination_cidr) DO NOTHING",
        )
        .bind(table)
        .bind(&dest_text)
        .bind(target)
        .bind(self.now())
        .bind(ROUTES_PER_TABLE)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            // Refused: over the quota, or the destination has a route already.
            let n: i64 = db::query("SELECT COUNT(*) AS n FROM routes WHERE route_table_id = $1")
                .bind(table)
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
            if n >= ROUTES_PER_TABLE {
                return Err(ApiError::conflict(
                    ErrorCode::RouteQuotaExceeded,
                    format!("route table {table} already has {n} routes (limit {ROUTES_PER_TABLE}, local routes aside)"),
                ));
            }
            return Err(ApiError::conflict(
                ErrorCode::RouteExists,
                format!("destination_cidr: route table {table} already has a route for {dest}"),
            ));
        }
        let rt = read_route_table(&mut tx, account, table, head).await?;
        tx.commit().await?;
        Ok(rt)
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
        let n = db::query("DELETE FROM routes WHERE route_table_id = $1 AND destination_cidr = $2")
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
        let n = db::query(
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

/// What a route table's answer needs besides its routes and subnets: its VPC, whether it is the main table, when
/// it was created, and the VPC's blocks (its local routes); and whether a would-be route target is a peering of
/// its VPC or a gateway of its VPC in the account.
struct Head {
    vpc_id: String,
    main: bool,
    created_at: i64,
    local: Vec<String>,
    target_is_peering: bool,
    target_is_gateway: bool,
}

/// The [`Head`] of a route table of the account (404 otherwise), with what `target` is (`""`: no target), in one
/// query.
async fn route_table_head(conn: &mut Conn, account: &str, id: &str, target: &str) -> Result<Head> {
    let row = db::query(
        "SELECT rt.vpc_id, rt.main, rt.created_at, v.cidr_block, v.secondary_cidr_blocks, v.ipv6_cidr_blocks, \
         (SELECT COUNT(*) FROM peerings p WHERE p.id = $3 \
          AND (p.requester_vpc_id = rt.vpc_id OR p.accepter_vpc_id = rt.vpc_id)) AS peerings, \
         (SELECT COUNT(*) FROM gateways g WHERE g.id = $3 AND g.account_id = $2 AND g.vpc_id = rt.vpc_id) AS gateways \
         FROM route_tables rt JOIN vpcs v ON v.id = rt.vpc_id \
         WHERE rt.id = $1 AND rt.account_id = $2 AND v.account_id = $2",
    )
    .bind(id)
    .bind(account)
    .bind(target)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| ApiError::NotFound(format!("route table \"{id}\" not found")))?;
    let local = std::iter::once(row.try_get::<String, _>("cidr_block")?)
        .chain(parse_blocks(&row.try_get::<String, _>("secondary_cidr_blocks")?))
        .chain(parse_blocks(&row.try_get::<String, _>("ipv6_cidr_blocks")?))
        .collect();
    Ok(Head {
        vpc_id: row.try_get("vpc_id")?,
        main: row.try_get::<i64, _>("main")? != 0,
        created_at: row.try_get("created_at")?,
        local,
        target_is_peering: row.try_get::<i64, _>("peerings")? > 0,
        target_is_gateway: row.try_get::<i64, _>("gateways")? > 0,
    })
}

/// A route table from its [`Head`]: its routes (local ones first) and its subnets, on one connection.
async fn read_route_table(conn: &mut Conn, account: &str, id: &str, head: Head) -> Result<wire::RouteTable> {
    let mut routes: Vec<wire::Route> = head
        .local
        .into_iter()
        .map(|b| wire::Route {
            destination_cidr: b,
            target: "local".into(),
            state: "active".into(),
        })
        .collect();
    let rows = db::query(
        "SELECT r.destination_cidr, r.target, p.status AS peering_status FROM routes r \
         LEFT JOIN peerings p ON p.id = r.target WHERE r.route_table_id = $1 ORDER BY r.destination_cidr",
    )
    .bind(id)
    .fetch_all(&mut *conn)
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
    let subnets = db::query(
        "SELECT subnet_id FROM subnet_associations WHERE kind = 'route_table' AND target_id = $1 ORDER BY subnet_id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(wire::RouteTable {
        id: id.to_string(),
        account_id: account.to_string(),
        vpc_id: head.vpc_id,
        main: head.main,
        routes,
        subnet_ids: subnets
            .iter()
            .map(|r| r.try_get("subnet_id"))
            .collect::<std::result::Result<Vec<String>, _>>()?,
        created_at: head.created_at,
    })
}

/// Checks a route's target for the table of `head`: a peering connection of its VPC, or a gateway of its VPC in
/// the account. Malformed ids are 400; well-formed ids of nothing there are 404 naming the id.
fn check_route_target(head: &Head, target: &str) -> Result<()> {
    let vpc = &head.vpc_id;
    if id_shaped(target, "pcx") {
        return match head.target_is_peering {
            true => Ok(()),
            false => Err(ApiError::invalid(
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
    match head.target_is_gateway {
        true => Ok(()),
        false => Err(ApiError::NotFound(format!(
            "target: gateway \"{target}\" not found in VPC {vpc} of your account (create it with POST /v1/gateways)"
        ))),
    }
}
