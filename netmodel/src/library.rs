//! The plan library's shared vocabulary: what a saved plan looks like in the list ([`PlanSummary`]), with its
//! body ([`StoredPlan`]) and its kept versions ([`PlanVersion`]), and the storage interface ([`PlanLibrary`]) the
//! planner's server functions call. One definition for the control plane, which stores plans, the server,
//! which hands the store to the pages, and the browser build, which receives these types — so the app needs
//! no storage crate.
//!
//! No lost edits: a save names the version it was based on ([`Base`]); when someone else saved in between, the
//! library refuses it with a [`VersionConflict`] saying who saved which version when. [`Presence`] is who else
//! has a plan open.
//!
//! Nothing here does I/O: [`PlanLibrary`] only names the operations (as boxed futures, so it can be used as
//! `Arc<dyn PlanLibrary>`); the server implements it over its database.
//!
//! ```
//! use netmodel::library::{
//!     Base, LibraryError, LibraryFuture, PlanLibrary, PlanSummary, PlanVersion, Presence, StoredPlan,
//! };
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
//!     fn save_plan<'a>(&'a self, id: &'a str, _body: &'a str, _base: Base) -> LibraryFuture<'a, PlanSummary> {
//!         Box::pin(async move { Err(LibraryError::Refused(format!("plan \"{id}\" is read-only"))) })
//!     }
//!     fn plan_versions<'a>(&'a self, _id: &'a str) -> LibraryFuture<'a, Vec<PlanVersion>> {
//!         Box::pin(async move { Ok(vec![]) })
//!     }
//!     fn restore_plan_version<'a>(&'a self, id: &'a str, _version: i64, _base: Base) -> LibraryFuture<'a, StoredPlan> {
//!         self.get_plan(id)
//!     }
//!     fn presence<'a>(&'a self, _id: &'a str, _tab: &'a str) -> LibraryFuture<'a, Vec<Presence>> {
//!         Box::pin(async move { Ok(vec![]) })
//!     }
//!     fn leave<'a>(&'a self, _id: &'a str, _tab: &'a str) -> LibraryFuture<'a, ()> {
//!         Box::pin(async move { Ok(()) })
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
    /// Who saved it (the user; `local` in single-user mode and for versions saved before this was recorded).
    #[serde(default)]
    pub saved_by: String,
    /// The body's size in bytes.
    pub bytes: i64,
}

/// What a save (or a restore) is based on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Base {
    /// Nothing named (a script that gives no `base_version`): not checked, the save goes on top of whatever is
    /// current.
    Unchecked,
    /// The version the editor started from: the save is refused with a [`VersionConflict`] when the plan's
    /// current version is another one (someone else saved in between).
    Version(i64),
    /// "Keep mine": the person was shown this version, saved by someone else, and chose to save their own plan
    /// on top of it. Checked like [`Base::Version`] (it is refused again if yet another version came since) and
    /// recorded as such.
    KeepMine(i64),
}

impl Base {
    /// The version named, if any.
    pub fn version(self) -> Option<i64> {
        match self {
            Base::Unchecked => None,
            Base::Version(v) | Base::KeepMine(v) => Some(v),
        }
    }
}

/// A save refused because the plan moved on since the version it was based on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionConflict {
    /// The version the refused save was based on.
    pub base_version: i64,
    /// The plan's current version.
    pub current_version: i64,
    /// Who saved the current version.
    pub saved_by: String,
    /// When, Unix time in milliseconds.
    pub saved_at: i64,
}

impl std::fmt::Display for VersionConflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} saved version {} at {} while you were editing version {}",
            self.saved_by,
            self.current_version,
            format_time(self.saved_at),
            self.base_version
        )
    }
}

/// Someone else who has a plan open: a user, and in how many browser tabs (the asking tab left out, so the
/// asking user appears when they have the plan open in another tab too).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Presence {
    pub user: String,
    pub tabs: i64,
}

/// A Unix time in milliseconds as `YYYY-MM-DD HH:MM UTC` — computed, not localised, so the server's and the
/// browser's renderings agree.
///
/// ```
/// assert_eq!(netmodel::library::format_time(1_795_900_920_000), "2026-11-28 21:22 UTC");
/// ```
pub fn format_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
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
    /// Someone else saved the plan since the version the save was based on.
    #[error("{0}")]
    Conflict(VersionConflict),
}

/// What the library's operations return: a future that can be sent between threads.
pub type LibraryFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, LibraryError>> + Send + 'a>>;

/// Plan storage as the planner's server functions use it.
pub trait PlanLibrary: Send + Sync {
    /// Every saved plan, most recently changed first.
    fn list_plans(&self) -> LibraryFuture<'_, Vec<PlanSummary>>;
    /// A plan with its current version.
    fn get_plan<'a>(&'a self, id: &'a str) -> LibraryFuture<'a, StoredPlan>;
    /// Saves `body` as a new version on top of `base` (nothing changes when it is the current body; a
    /// [`LibraryError::Conflict`] when the plan moved on since `base`).
    fn save_plan<'a>(&'a self, id: &'a str, body: &'a str, base: Base) -> LibraryFuture<'a, PlanSummary>;
    /// The kept versions, newest first.
    fn plan_versions<'a>(&'a self, id: &'a str) -> LibraryFuture<'a, Vec<PlanVersion>>;
    /// Makes an earlier version current again (as a new version), checked against `base` as a save is.
    fn restore_plan_version<'a>(
        &'a self,
        id: &'a str,
        version: i64,
        base: Base,
    ) -> LibraryFuture<'a, StoredPlan>;
    /// Marks browser tab `tab` as having plan `id` open now, and returns who else has it open.
    fn presence<'a>(&'a self, id: &'a str, tab: &'a str) -> LibraryFuture<'a, Vec<Presence>>;
    /// Tab `tab` closed plan `id`.
    fn leave<'a>(&'a self, id: &'a str, tab: &'a str) -> LibraryFuture<'a, ()>;
}
