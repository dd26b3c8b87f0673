//! The planner's plan library over the control plane's store: the [`PlanLibrary`] the pages' server functions
//! find in their context (`Arc<dyn PlanLibrary>`, see [`crate::web`]), so the app itself does not depend on the
//! control plane.

use std::sync::Arc;

use controlplane::{error::ApiError, store::Store};
use netmodel::library::{LibraryError, LibraryFuture, PlanLibrary, PlanSummary, PlanVersion, StoredPlan};

/// The plan store as a [`PlanLibrary`].
#[derive(Clone)]
pub struct StoreLibrary(pub Store);

impl StoreLibrary {
    /// The store as the trait object the pages' context holds.
    pub fn shared(store: Store) -> Arc<dyn PlanLibrary> {
        Arc::new(StoreLibrary(store))
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
        Box::pin(async move { self.0.list_plans().await.map_err(library_error) })
    }

    fn get_plan<'a>(&'a self, id: &'a str) -> LibraryFuture<'a, StoredPlan> {
        Box::pin(async move { self.0.get_plan(id).await.map_err(library_error) })
    }

    fn save_plan<'a>(&'a self, id: &'a str, body: &'a str) -> LibraryFuture<'a, PlanSummary> {
        Box::pin(async move { self.0.save_plan(id, body).await.map_err(library_error) })
    }

    fn plan_versions<'a>(&'a self, id: &'a str) -> LibraryFuture<'a, Vec<PlanVersion>> {
        Box::pin(async move { self.0.plan_versions(id).await.map_err(library_error) })
    }

    fn restore_plan_version<'a>(&'a self, id: &'a str, version: i64) -> LibraryFuture<'a, StoredPlan> {
        Box::pin(async move {
            self.0
                .restore_plan_version(id, version)
                .await
                .map_err(library_error)
        })
    }
}
