//! Saved plans: the planner's storage, in the control plane's database (SQLite or PostgreSQL). A plan is a
//! name and a list of versions; every save adds a version (the last [`KEPT_VERSIONS`] are kept), so work is
//! never overwritten and any kept version can be restored. Bodies are validated `peerplan/v1` JSON.
//!
//! Every change is made by an [`Actor`] and recorded in the audit trail ([`super::audit`]) in the same
//! transaction: create, import, save, restore, rename, delete. A save that changes nothing records nothing.
//!
//! No lost edits: each version records who saved it (`saved_by`), and a save names the version it is based on
//! ([`Base`]). When the plan's current version is another one, someone saved in between: the save is refused with
//! [`ApiError::VersionConflict`] (409: who saved which version, when). The check and the insert run in one write
//! transaction with the plan's row locked (PostgreSQL: `SELECT … FOR NO KEY UPDATE`; SQLite: the write
//! transaction's lock), so of two saves on one base, from one server or two on one database, exactly one becomes
//! the next version and the other is refused.
//!
//! Presence: [`Store::plan_presence`] records that a browser tab has a plan open (a heartbeat) and answers who
//! else has it open within [`PRESENCE_WINDOW_MS`]; older rows are pruned as it goes.

use super::db;

use super::{
    audit::{Actor, AuditAction, NewEntry},
    new_id, Result, Store,
};
use crate::error::{ApiError, ErrorCode};

/// How many versions of a plan are kept.
pub const KEPT_VERSIONS: i64 = 100;

/// How long a tab counts as having a plan open after its last heartbeat (the planner beats every 15 s).
pub const PRESENCE_WINDOW_MS: i64 = 45_000;

/// The longest browser tab id accepted.
pub const MAX_TAB: usize = 64;

/// The largest plan body accepted (a generated 1,000-VPC plan is about 3 MiB).
pub const MAX_BODY: usize = 16 * 1024 * 1024;

// One definition of the plan list's types, shared with the planner (which sends them to the browser).
pub use netmodel::library::{Base, PlanSummary, PlanVersion, Presence, StoredPlan, VersionConflict};

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("plan \"{id}\" not found"))
}

/// Validates a body and returns it canonical (pretty, sorted) with its counts.
fn canonical(body: &str) -> Result<(String, i64, i64)> {
    if body.len() > MAX_BODY {
        return Err(ApiError::invalid(
            ErrorCode::PlanTooLarge,
            format!(
                "the plan is {} bytes; at most {MAX_BODY} are accepted",
                body.len()
            ),
        ));
    }
    let plan = netmodel::Plan::from_json(body)
        .map_err(|e| ApiError::invalid(ErrorCode::InvalidPlan, e.to_string()))?;
    Ok((plan.to_json(), plan.vpcs.len() as i64, plan.peerings.len() as i64))
}

fn plan_name(name: &str) -> Result<String> {
    let name = name.trim();
    crate::validate::name("name", name, true)?;
    Ok(name.to_string())
}

fn summary_from(row: &db::Row) -> Result<PlanSummary> {
    Ok(PlanSummary {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        version: row.try_get("version")?,
        vpc_count: row.try_get("vpc_count")?,
        peering_count: row.try_get("peering_count")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

impl Store {
    /// Every plan, most recently changed first.
    pub async fn list_plans(&self) -> Result<Vec<PlanSummary>> {
        db::query("SELECT * FROM plans ORDER BY updated_at DESC, id")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(summary_from)
            .collect()
    }

    /// Creates a plan from a body (version 1).
    pub async fn create_plan(
        &self,
        by: &Actor,
        name: &str,
        body: &str,
        import_diagnostics: &[netmodel::Diagnostic],
    ) -> Result<PlanSummary> {
        self.insert_plan(by, AuditAction::PlanCreate, "", name, body, import_diagnostics)
            .await
    }

    /// Creates a plan from an imported file (version 1); `source` says what was imported (recorded).
    pub async fn import_plan(
        &self,
        by: &Actor,
        source: &str,
        name: &str,
        body: &str,
        import_diagnostics: &[netmodel::Diagnostic],
    ) -> Result<PlanSummary> {
        self.insert_plan(
            by,
            AuditAction::PlanImport,
            source,
            name,
            body,
            import_diagnostics,
        )
        .await
    }

    async fn insert_plan(
        &self,
        by: &Actor,
        action: AuditAction,
        origin: &str,
        name: &str,
        body: &str,
        import_diagnostics: &[netmodel::Diagnostic],
    ) -> Result<PlanSummary> {
        let name = plan_name(name)?;
        let (body, vpcs, peerings) = canonical(body)?;
        let id = new_id("plan");
        let now = self.now();
        let diags = serde_json::to_string(import_diagnostics).expect("diagnostics serialize");
        let mut tx = self.write_tx().await?;
        db::query(
            "INSERT INTO plans (id, name, version, vpc_count, peering_count, import_diagnostics, created_at, updated_at)
             VALUES ($1, $2, 1, $3, $4, $5, $6, $6)",
        )
        .bind(&id)
        .bind(&name)
        .bind(vpcs)
        .bind(peerings)
        .bind(&diags)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        db::query(
            "INSERT INTO plan_versions (plan_id, version, body, saved_at, saved_by) VALUES ($1, 1, $2, $3, $4)",
        )
        .bind(&id)
        .bind(&body)
        .bind(now)
        .bind(&by.user)
        .execute(&mut *tx)
        .await?;
        let detail = match origin {
            "" => format!("name {name:?}"),
            from => format!("name {name:?}, {from}"),
        };
        self.audit_in(&mut tx, &NewEntry::ok(by, action, &id, Some(1)).detail(&detail))
            .await?;
        tx.commit().await?;
        Ok(PlanSummary {
            id,
            name,
            version: 1,
            vpc_count: vpcs,
            peering_count: peerings,
            created_at: now,
            updated_at: now,
        })
    }

    /// A plan and its current body.
    pub async fn get_plan(&self, id: &str) -> Result<StoredPlan> {
        let row = db::query("SELECT * FROM plans WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| not_found(id))?;
        let summary = summary_from(&row)?;
        let diags: String = row.try_get("import_diagnostics")?;
        let body: String = db::query("SELECT body FROM plan_versions WHERE plan_id = $1 AND version = $2")
            .bind(id)
            .bind(summary.version)
            .fetch_one(&self.pool)
            .await?
            .try_get("body")?;
        Ok(StoredPlan {
            summary,
            body,
            import_diagnostics: serde_json::from_str(&diags).unwrap_or_default(),
        })
    }

    /// Saves a new version of a plan without checking what it was based on ([`Base::Unchecked`]); see
    /// [`Store::save_plan_on`].
    pub async fn save_plan(&self, by: &Actor, id: &str, body: &str) -> Result<PlanSummary> {
        self.save_plan_on(by, id, body, Base::Unchecked).await
    }

    /// Saves a new version of a plan on top of `base`; the name follows the plan's own `name` field when it has
    /// one. Saving the body already current changes nothing (whatever the base). When `base` names a version that
    /// is not the current one, nothing is saved: [`ApiError::VersionConflict`] says who saved the current version
    /// and when. Returns the summary after the save.
    pub async fn save_plan_on(&self, by: &Actor, id: &str, body: &str, base: Base) -> Result<PlanSummary> {
        self.save_as(by, AuditAction::PlanSave, "", id, body, base).await
    }

    /// [`Store::save_plan_on`], recorded as `action` with a detail.
    async fn save_as(
        &self,
        by: &Actor,
        action: AuditAction,
        detail: &str,
        id: &str,
        body: &str,
        base: Base,
    ) -> Result<PlanSummary> {
        let (body, vpcs, peerings) = canonical(body)?;
        let now = self.now();
        let mut tx = self.write_tx().await?;
        // The plan's row, locked until the commit: a second save of this plan (on this server or another on the
        // same database) waits here, then reads the version this one adds.
        self.lock_rows(&mut tx, "plans", &[id]).await?;
        let row = db::query("SELECT * FROM plans WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| not_found(id))?;
        let mut summary = summary_from(&row)?;
        let current = db::query(
            "SELECT body, saved_at, saved_by FROM plan_versions WHERE plan_id = $1 AND version = $2",
        )
        .bind(id)
        .bind(summary.version)
        .fetch_one(&mut *tx)
        .await?;
        if current.try_get::<String, _>("body")? == body {
            return Ok(summary);
        }
        let saved_by: String = current.try_get("saved_by")?;
        if let Some(on) = base.version() {
            if on != summary.version {
                return Err(ApiError::VersionConflict(VersionConflict {
                    base_version: on,
                    current_version: summary.version,
                    saved_by,
                    saved_at: current.try_get("saved_at")?,
                }));
            }
        }
        let kept;
        let detail = match base {
            Base::KeepMine(on) => {
                kept = match detail {
                    "" => format!("kept mine over version {on} saved by {saved_by:?}"),
                    d => format!("{d}; kept mine over version {on} saved by {saved_by:?}"),
                };
                kept.as_str()
            }
            _ => detail,
        };
        summary.version += 1;
        summary.vpc_count = vpcs;
        summary.peering_count = peerings;
        summary.updated_at = now;
        db::query(
            "INSERT INTO plan_versions (plan_id, version, body, saved_at, saved_by) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(summary.version)
        .bind(&body)
        .bind(now)
        .bind(&by.user)
        .execute(&mut *tx)
        .await?;
        db::query("DELETE FROM plan_versions WHERE plan_id = $1 AND version <= $2")
            .bind(id)
            .bind(summary.version - KEPT_VERSIONS)
            .execute(&mut *tx)
            .await?;
        db::query(
            "UPDATE plans SET version = $1, vpc_count = $2, peering_count = $3, updated_at = $4 WHERE id = $5",
        )
        .bind(summary.version)
        .bind(vpcs)
        .bind(peerings)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        self.audit_in(
            &mut tx,
            &NewEntry::ok(by, action, id, Some(summary.version)).detail(detail),
        )
        .await?;
        tx.commit().await?;
        Ok(summary)
    }

    /// Renames a plan.
    pub async fn rename_plan(&self, by: &Actor, id: &str, name: &str) -> Result<PlanSummary> {
        let name = plan_name(name)?;
        let mut tx = self.write_tx().await?;
        let version: i64 = db::query("SELECT version FROM plans WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| not_found(id))?
            .try_get("version")?;
        db::query("UPDATE plans SET name = $1, updated_at = $2 WHERE id = $3")
            .bind(&name)
            .bind(self.now())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let detail = format!("renamed to {name:?}");
        self.audit_in(
            &mut tx,
            &NewEntry::ok(by, AuditAction::PlanRename, id, Some(version)).detail(&detail),
        )
        .await?;
        tx.commit().await?;
        Ok(self.get_plan(id).await?.summary)
    }

    /// A copy of a plan's current version, as a new plan named "… (copy)" (recorded as a create, the detail
    /// naming the original).
    pub async fn duplicate_plan(&self, by: &Actor, id: &str) -> Result<PlanSummary> {
        let p = self.get_plan(id).await?;
        let name: String = format!("{} (copy)", p.summary.name).chars().take(255).collect();
        let origin = format!("copy of {id} version {}", p.summary.version);
        self.insert_plan(
            by,
            AuditAction::PlanCreate,
            &origin,
            &name,
            &p.body,
            &p.import_diagnostics,
        )
        .await
    }

    /// Deletes a plan and its versions.
    pub async fn delete_plan(&self, by: &Actor, id: &str) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let row = db::query("SELECT name, version FROM plans WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| not_found(id))?;
        let (name, version): (String, i64) = (row.try_get("name")?, row.try_get("version")?);
        db::query("DELETE FROM plan_versions WHERE plan_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        db::query("DELETE FROM plan_presence WHERE plan_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let n = db::query("DELETE FROM plans WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(not_found(id));
        }
        let detail = format!("name {name:?}");
        self.audit_in(
            &mut tx,
            &NewEntry::ok(by, AuditAction::PlanDelete, id, Some(version)).detail(&detail),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The kept versions of a plan, newest first.
    pub async fn plan_versions(&self, id: &str) -> Result<Vec<PlanVersion>> {
        self.get_plan(id).await?;
        db::query(
            "SELECT version, saved_at, saved_by, LENGTH(body) AS bytes FROM plan_versions WHERE plan_id = $1 ORDER BY version DESC",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(PlanVersion {
                version: r.try_get("version")?,
                saved_at: r.try_get("saved_at")?,
                saved_by: r.try_get("saved_by")?,
                bytes: r.try_get::<i64, _>("bytes").or_else(|_| r.try_get::<i32, _>("bytes").map(i64::from))?,
            })
        })
        .collect()
    }

    /// Makes an earlier version current again (as a new version, so the restore itself can be undone), without
    /// checking what the restore was based on; see [`Store::restore_plan_version_on`].
    pub async fn restore_plan_version(&self, by: &Actor, id: &str, version: i64) -> Result<StoredPlan> {
        self.restore_plan_version_on(by, id, version, Base::Unchecked)
            .await
    }

    /// Makes an earlier version current again (as a new version), checked against `base` as a save is: refused
    /// with [`ApiError::VersionConflict`] when someone saved since the version the person was looking at.
    pub async fn restore_plan_version_on(
        &self,
        by: &Actor,
        id: &str,
        version: i64,
        base: Base,
    ) -> Result<StoredPlan> {
        let body: String = db::query("SELECT body FROM plan_versions WHERE plan_id = $1 AND version = $2")
            .bind(id)
            .bind(version)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("version {version} of plan \"{id}\" not found")))?
            .try_get("body")?;
        let detail = format!("version {version} restored");
        self.save_as(by, AuditAction::PlanRestore, &detail, id, &body, base)
            .await?;
        self.get_plan(id).await
    }

    /// A heartbeat: browser tab `tab` of `by` has plan `id` open now. Returns who else has it open (seen within
    /// [`PRESENCE_WINDOW_MS`]; this tab left out), by user name, and prunes every row older than that.
    pub async fn plan_presence(&self, by: &Actor, id: &str, tab: &str) -> Result<Vec<Presence>> {
        check_tab(tab)?;
        let now = self.now();
        let since = now - PRESENCE_WINDOW_MS;
        let mut tx = self.write_tx().await?;
        db::query("SELECT id FROM plans WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| not_found(id))?;
        db::query(
            "INSERT INTO plan_presence (plan_id, user_name, tab, last_seen) VALUES ($1, $2, $3, $4)
             ON CONFLICT (plan_id, user_name, tab) DO UPDATE SET last_seen = excluded.last_seen",
        )
        .bind(id)
        .bind(&by.user)
        .bind(tab)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        db::query("DELETE FROM plan_presence WHERE last_seen < $1")
            .bind(since)
            .execute(&mut *tx)
            .await?;
        let rows = db::query(
            "SELECT user_name, COUNT(*) AS tabs FROM plan_presence
             WHERE plan_id = $1 AND last_seen >= $2 AND NOT (user_name = $3 AND tab = $4)
             GROUP BY user_name ORDER BY user_name",
        )
        .bind(id)
        .bind(since)
        .bind(&by.user)
        .bind(tab)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        rows.iter()
            .map(|r| {
                Ok(Presence {
                    user: r.try_get("user_name")?,
                    tabs: r.try_get("tabs")?,
                })
            })
            .collect()
    }

    /// Browser tab `tab` of `by` closed plan `id` (the others stop seeing it at once rather than after the
    /// presence window).
    pub async fn leave_plan(&self, by: &Actor, id: &str, tab: &str) -> Result<()> {
        check_tab(tab)?;
        self.write_one(
            db::query("DELETE FROM plan_presence WHERE plan_id = $1 AND user_name = $2 AND tab = $3")
                .bind(id)
                .bind(&by.user)
                .bind(tab),
        )
        .await?;
        Ok(())
    }
}

/// A browser tab id: 1 to [`MAX_TAB`] ASCII letters, digits, `-` or `_` (the planner makes a random one per tab).
fn check_tab(tab: &str) -> Result<()> {
    let ok = !tab.is_empty()
        && tab.len() <= MAX_TAB
        && tab
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        return Ok(());
    }
    let shown: String = tab.chars().take(MAX_TAB + 1).collect();
    Err(ApiError::invalid(
        ErrorCode::InvalidTab,
        format!("tab: {shown:?} is not a browser tab id (1 to {MAX_TAB} letters, digits, - or _)"),
    ))
}
