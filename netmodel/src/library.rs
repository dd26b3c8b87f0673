//! The plan library's shared vocabulary: what a saved plan looks like in the list ([`PlanSummary`]), with its
//! body ([`StoredPlan`]) and its kept versions ([`PlanVersion`]), and the storage interface ([`PlanLibrary`]) the
//! planner's server functions call. One definition for the control plane, which stores plans, the server,
//! which hands the store to the pages, and the browser build, which receives these types — so the app needs
//! no storage crate.
//!
//! Nothing here does I/O: [`PlanLibrary`] only names the operations (as boxed futures, so it can be used as
//! `Arc<dyn PlanLibrary>`); the server implements it over its database.
//!
//! ```
//! use netmodel::library::{PlanLibrary, PlanSummary, LibraryError, LibraryFuture, PlanVersion, StoredPlan};
//!
//! /// A library with one plan, for a test.
//! struct One(StoredPlan);
//!
//! impl PlanLibrary for One {
//!     fn list_plans(&self) -> LibraryFuture<'_, Vec<PlanSummary>> {
//!         let list = vec![self.0.summary.clone()];
//!         Box::pin(async move { Ok(list) })
//!     }
//!     fn get_plan<'a>(&'a self, id: &'a str) -> LibraryFuture<'a, StoredPlan> {
//!         Box::pin(async move {
//!             if id == self.0.summary.id {
//!                 Ok(self.0.clone())
//!             } else {
//!                 Err(LibraryError::NotFound(format!("plan \"{id}\" not found")))
//!             }
//!         })
//!     }
//!     fn save_plan<'a>(&'a self, id: &'a str, _body: &'a str) -> LibraryFuture<'a, PlanSummary> {
//!         Box::pin(async move { Err(LibraryError::Refused(format!("plan \"{id}\" is read-only"))) })
//!     }
//!     fn plan_versions<'a>(&'a self, _id: &'a str) -> LibraryFuture<'a, Vec<PlanVersion>> {
//!         Box::pin(async move { Ok(vec![]) })
//!     }
//!     fn restore_plan_version<'a>(&'a self, id: &'a str, _version: i64) -> LibraryFuture<'a, StoredPlan> {
//!         self.get_plan(id)
//!     }
//! }
//!
//! let summary = PlanSummary {
//!     id: "plan_1".into(),
//!     name: "Seed".into(),
//!     version: 1,
//!     vpc_count: 2,
//!     peering_count: 1,
//!     created_at: 0,
//!     updated_at: 0,
//! };
//! let library: std::sync::Arc<dyn PlanLibrary> =
//!     std::sync::Arc::new(One(StoredPlan { summary, body: "{}".into(), import_diagnostics: vec![] }));
//! // The futures of this library are ready at once: poll them once (a server awaits them instead).
//! fn ready<T>(mut f: LibraryFuture<'_, T>) -> Result<T, LibraryError> {
//!     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
//!     match f.as_mut().poll(&mut cx) {
//!         std::task::Poll::Ready(r) => r,
//!         std::task::Poll::Pending => unreachable!("ready at once"),
//!     }
//! }
//! assert_eq!(ready(library.get_plan("plan_1")).unwrap().summary.name, "Seed");
//! assert_eq!(
//!     ready(library.get_plan("plan_2")).unwrap_err().to_string(),
//!     "plan \"plan_2\" not found"
//! );
//! ```

use std::{future::Future, pin::Pin};

use serde::{Deserialize, Serialize};

use crate::Diagnostic;

/// A plan in the list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanSummary {
    pub id: String,
    pub name: String,
    /// The current version (1 for a new plan; each save that changes the body adds one).
    pub version: i64,
    pub vpc_count: i64,
    pub peering_count: i64,
    /// Unix time, milliseconds.
    pub created_at: i64,
    /// Unix time, milliseconds.
    pub updated_at: i64,
}

/// A plan with its current body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredPlan {
    /// Serialised as `info`, the name the planner's `load_plan` answer has always used.
    #[serde(rename = "info")]
    pub summary: PlanSummary,
    /// The plan, `peerplan/v1` JSON.
    pub body: String,
    /// The findings of the import the plan came from (empty for a plan created in the planner).
    pub import_diagnostics: Vec<Diagnostic>,
}

/// One kept version of a plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanVersion {
    pub version: i64,
    /// Unix time, milliseconds.
    pub saved_at: i64,
    /// The body's size in bytes.
    pub bytes: i64,
}

/// Why the library did not do what was asked; the text is the store's own message, shown to the person.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LibraryError {
    /// No plan (or version) by that id.
    #[error("{0}")]
    NotFound(String),
    /// The request was refused (an invalid or too large plan, a bad name).
    #[error("{0}")]
    Refused(String),
    /// The store failed (its database is unreachable, …).
    #[error("{0}")]
    Failed(String),
}

/// What the library's operations return: a future that can be sent between threads.
pub type LibraryFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, LibraryError>> + Send + 'a>>;

/// Plan storage as the planner's server functions use it.
pub trait PlanLibrary: Send + Sync {
    /// Every saved plan, most recently changed first.
    fn list_plans(&self) -> LibraryFuture<'_, Vec<PlanSummary>>;
    /// A plan with its current version.
    fn get_plan<'a>(&'a self, id: &'a str) -> LibraryFuture<'a, StoredPlan>;
    /// Saves `body` as a new version (nothing changes when it is the current body).
    fn save_plan<'a>(&'a self, id: &'a str, body: &'a str) -> LibraryFuture<'a, PlanSummary>;
    /// The kept versions, newest first.
    fn plan_versions<'a>(&'a self, id: &'a str) -> LibraryFuture<'a, Vec<PlanVersion>>;
    /// Makes an earlier version current again (as a new version).
    fn restore_plan_version<'a>(&'a self, id: &'a str, version: i64) -> LibraryFuture<'a, StoredPlan>;
}
