//! The planner's plan library over the control plane's store: the [`PlanLibrary`] the pages' server functions
//! find in their context (`Arc<dyn PlanLibrary>`, see [`crate::web`]), so the app itself does not depend on the
//! control plane. Each request gets its own, acting as the request's [`Actor`]: the changes it makes are recorded
//! in the audit trail under that actor.

use std::sync::Arc;

use app::audit_view::{AuditQuery, AuditRow, AuditRows, AuditSource};
use controlplane::{
    audit::{Actor, AuditAction, AuditFilter},
    error::ApiError,
    store::Store,
};
use netmodel::library::{
    Base, LibraryError, LibraryFuture, PlanLibrary, PlanSummary, PlanVersion, Presence, StoredPlan,
};

/// The plan store as a [`PlanLibrary`], acting as one actor.
#[derive(Clone)]
pub struct StoreLibrary {
    pub store: Store,
    pub by: Actor,
}

impl StoreLibrary {
    /// The store, acting as `by`, as the trait object the pages' context holds.
    pub fn shared(store: Store, by: Actor) -> Arc<dyn PlanLibrary> {
        Arc::new(StoreLibrary { store, by })
    }
}

/// The store's error as the library's, with the store's message.
fn library_error(e: ApiError) -> LibraryError {
    match e {
        ApiError::NotFound(_) => LibraryError::NotFound(e.to_string()),
        ApiError::VersionConflict(c) => LibraryError::Conflict(c),
        ApiError::Storage(_) | ApiError::Corrupt(_) => LibraryError::Failed(e.to_string()),
        _ => LibraryError::Refused(e.to_string()),
    }
}

impl PlanLibrary for StoreLibrary {
    fn list_plans(&self) -> LibraryFuture<'_, Vec<PlanSummary>> {
        Box::pin(async move { self.store.list_plans().await.map_err(library_error) })
    }

    fn get_plan<'a>(&'a self, id: &'a str) -> LibraryFuture<'a, StoredPlan> {
        Box::pin(async move { self.store.get_plan(id).await.map_err(library_error) })
    }

    fn save_plan<'a>(&'a self, id: &'a str, body: &'a str, base: Base) -> LibraryFuture<'a, PlanSummary> {
        Box::pin(async move {
            self.store
                .save_plan_on(&self.by, id, body, base)
                .await
                .map_err(library_error)
        })
    }

    fn plan_versions<'a>(&'a self, id: &'a str) -> LibraryFuture<'a, Vec<PlanVersion>> {
        Box::pin(async move { self.store.plan_versions(id).await.map_err(library_error) })
    }

    fn restore_plan_version<'a>(
        &'a self,
        id: &'a str,
        version: i64,
        base: Base,
    ) -> LibraryFuture<'a, StoredPlan> {
        Box::pin(async move {
            self.store
                .restore_plan_version_on(&self.by, id, version, base)
                .await
                .map_err(library_error)
        })
    }

    fn presence<'a>(&'a self, id: &'a str, tab: &'a str) -> LibraryFuture<'a, Vec<Presence>> {
        Box::pin(async move {
            self.store
                .plan_presence(&self.by, id, tab)
                .await
                .map_err(library_error)
        })
    }

    fn leave<'a>(&'a self, id: &'a str, tab: &'a str) -> LibraryFuture<'a, ()> {
        Box::pin(async move {
            self.store
                .leave_plan(&self.by, id, tab)
                .await
                .map_err(library_error)
        })
    }
}

/// The store's audit trail as the audit page's [`AuditSource`], read as one actor (who must be an admin).
#[derive(Clone)]
pub struct StoreAudit {
    pub store: Store,
    pub by: Actor,
}

impl StoreAudit {
    /// The trail, read as `by`, as the trait object the pages' context holds.
    pub fn shared(store: Store, by: Actor) -> Arc<dyn AuditSource> {
        Arc::new(StoreAudit { store, by })
    }
}

impl AuditSource for StoreAudit {
    fn page<'a>(
        &'a self,
        q: &'a AuditQuery,
        limit: i64,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<AuditRows, String>> + Send + 'a>> {
        Box::pin(async move {
            if !self.by.is_admin() {
                return Err(format!(
                    "the audit trail is for admins; {:?} has the role {:?}",
                    self.by.user, self.by.role
                ));
            }
            let given = |v: &str| Some(v.trim().to_string()).filter(|v| !v.is_empty());
            let filter = AuditFilter {
                user: given(&q.user),
                object: given(&q.plan),
                action: given(&q.action)
                    .map(|a| a.parse::<AuditAction>())
                    .transpose()
                    .map_err(|e| e.to_string())?,
            };
            let cursor = given(&q.cursor);
            let page = self
                .store
                .audit_page(&filter, cursor.as_deref(), Some(limit))
                .await
                .map_err(|e| library_error(e).to_string())?;
            Ok(AuditRows {
                items: page
                    .items
                    .into_iter()
                    .map(|e| AuditRow {
                        seq: e.seq,
                        time_ms: e.time_ms,
                        user: e.user,
                        role: e.role,
                        address: e.address,
                        action: e.action,
                        object: e.object,
                        version: e.version,
                        result: e.result,
                        detail: e.detail,
                    })
                    .collect(),
                next_cursor: page.next_cursor,
                actions: AuditAction::ALL.iter().map(|a| a.as_str().to_string()).collect(),
            })
        })
    }
}
