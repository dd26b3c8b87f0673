//! The planner's plan library over the control plane's store: the [`PlanLibrary`] the pages' server functions
//! find in their context (`Arc<dyn PlanLibrary>`, see [`crate::web`]), so the app itself does not depend on the
//! control plane. Each request gets its own, acting as the request's [`Actor`]: the changes it makes are recorded
//! in the audit trail under that actor.

use std::sync::Arc;

use controlplane::{audit::Actor, error::ApiError, store::Store};
use netmodel::library::{LibraryError, LibraryFuture, PlanLibrary, PlanSummary, PlanVersion, StoredPlan};

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

    fn save_plan<'a>(&'a self, id: &'a str, body: &'a str) -> LibraryFuture<'a, PlanSummary> {
        Box::pin(async move {
            self.store
                .save_plan(&self.by, id, body)
                .await
                .map_err(library_error)
        })
    }

    fn plan_versions<'a>(&'a self, id: &'a str) -> LibraryFuture<'a, Vec<PlanVersion>> {
        Box::pin(async move { self.store.plan_versions(id).await.map_err(library_error) })
    }

    fn restore_plan_version<'a>(&'a self, id: &'a str, version: i64) -> LibraryFuture<'a, StoredPlan> {
        Box::pin(async move {
            self.store
                .restore_plan_version(&self.by, id, version)
                .await
                .map_err(library_error)
        })
    }
}
