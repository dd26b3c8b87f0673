//! The audit trail: who did what to which object, when, from where, and how it ended — append-only and
//! hash-chained, in the same database as the plans.
//!
//! Each entry carries its sequence number (1, 2, 3… without gaps), the time (Unix ms), the [`Actor`] (user, role,
//! address), the [`AuditAction`], the object (a plan id…), the object's version when it has one, the result
//! (`ok`, or how an apply step or run ended), a detail line, the hash of the entry before it (`prev_hash`; 64
//! zeros before the first) and its own `hash`: the SHA-256, as lower-case hex, of the canonical encoding
//! [`canonical`] — the JSON array `[seq, time_ms, user, role, address, action, object, version, result, detail,
//! prev_hash]` as serde_json writes it (no spaces; `version` is `null` when there is none). Changing, removing or
//! reordering any stored entry breaks the chain from there on; [`Store::audit_verify`] names the first entry
//! where it breaks.
//!
//! Appends are serialized so the chain never forks: they lock the one-row `audit_head` table (PostgreSQL:
//! `SELECT … FOR UPDATE`, so two `peerplan serve` processes on one database wait for each other; SQLite: the write
//! transaction holds the database's only write lock). A change that is recorded is recorded in the same
//! transaction as the change itself ([`Store::audit_in`]): both are committed, or neither.
//!
//! In team mode the [`Actor`] is the signed-in user (store/users.rs, the server's `auth`); without it every request
//! acts as the user `local` with the role `admin` ([`Actor::local`]). Sign-ins, users and roles are recorded by
//! store/users.rs; target changes by the server's `peerplan target` command, approvals by store/apply_state.rs.

use super::db;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Result, Store, WriteTx};
use crate::error::{ApiError, ErrorCode};

/// The `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who acts: the user, their role, and the address the request came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub user: String,
    pub role: String,
    pub address: String,
}

impl Actor {
    /// The one user without team mode: `local`, an `admin`, at `address` (the client's socket address, or what
    /// is known of it).
    pub fn local(address: impl Into<String>) -> Actor {
        Actor {
            user: "local".into(),
            role: "admin".into(),
            address: address.into(),
        }
    }

    /// Whether this actor may read the audit trail.
    pub fn is_admin(&self) -> bool {
        self.role == "admin"
    }
}

macro_rules! actions {
    ($($variant:ident = $code:literal, $doc:literal;)*) => {
        /// What an entry records; its code (`plan.save`, …) is what is stored, filtered on and exported.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum AuditAction {
            $(#[doc = $doc] $variant,)*
        }

        impl AuditAction {
            /// Every action.
            pub const ALL: &'static [AuditAction] = &[$(AuditAction::$variant,)*];

            /// The stable code.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(AuditAction::$variant => $code,)*
                }
            }
        }
    };
}

actions! {
    SignIn = "auth.sign_in", "A person signed in.";
    SignInFailed = "auth.sign_in_failed", "A sign-in was refused (wrong password, unknown user…).";
    PlanCreate = "plan.create", "A plan was created (new, or a copy of another: the detail says which).";
    PlanImport = "plan.import", "A plan was created from an imported file (a Peerplan plan, or AWS describe-* files).";
    PlanSave = "plan.save", "A new version of a plan was saved.";
    PlanRestore = "plan.restore", "An earlier version of a plan was made current again (as a new version).";
    PlanRename = "plan.rename", "A plan was renamed.";
    PlanDelete = "plan.delete", "A plan and its versions were deleted.";
    ApplyApprove = "apply.approve", "An applier approved one version of a plan for applying on one target (the two-person rule).";
    ApplyStart = "apply.start", "An apply run of a plan on a target started.";
    ApplyStep = "apply.step", "One step of an apply run ended (done, failed, waiting for a key, blocked).";
    ApplyEnd = "apply.end", "An apply run ended (applied, failed, awaiting another account, error).";
    UserChange = "user.change", "A user was created, changed or removed.";
    RoleChange = "role.change", "A user's role changed.";
    TargetChange = "target.change", "A target (a control plane to apply to) was added, changed or removed.";
}

impl std::fmt::Display for AuditAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for AuditAction {
    type Err = ApiError;

    fn from_str(s: &str) -> Result<Self> {
        AuditAction::ALL
            .iter()
            .copied()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| {
                let known: Vec<&str> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
                ApiError::invalid(
                    ErrorCode::InvalidAuditAction,
                    format!(
                        "action {s:?} is not an audit action (one of {})",
                        known.join(", ")
                    ),
                )
            })
    }
}

/// What an append records (the store adds the sequence number, the time and the hashes).
#[derive(Clone, Debug)]
pub struct NewEntry<'a> {
    pub actor: &'a Actor,
    pub action: AuditAction,
    pub object: &'a str,
    pub version: Option<i64>,
    pub result: &'a str,
    pub detail: &'a str,
}

impl<'a> NewEntry<'a> {
    /// An entry with result `ok` and no detail.
    pub fn ok(actor: &'a Actor, action: AuditAction, object: &'a str, version: Option<i64>) -> Self {
        NewEntry {
            actor,
            action,
            object,
            version,
            result: "ok",
            detail: "",
        }
    }

    /// The same entry with a detail line.
    pub fn detail(self, detail: &'a str) -> Self {
        NewEntry { detail, ..self }
    }
}

/// One stored entry, as `GET /api/audit` and the JSON lines export give it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: i64,
    /// Unix time, milliseconds.
    pub time_ms: i64,
    pub user: String,
    pub role: String,
    pub address: String,
    pub action: String,
    pub object: String,
    pub version: Option<i64>,
    pub result: String,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

/// The canonical encoding an entry's hash covers (see the module documentation).
pub fn canonical(e: &AuditEntry) -> String {
    serde_json::to_string(&(
        e.seq,
        e.time_ms,
        &e.user,
        &e.role,
        &e.address,
        &e.action,
        &e.object,
        e.version,
        &e.result,
        &e.detail,
        &e.prev_hash,
    ))
    .expect("strings and numbers serialize")
}

/// The hash an entry should carry: SHA-256 of [`canonical`], lower-case hex.
pub fn entry_hash(e: &AuditEntry) -> String {
    hex::encode(Sha256::digest(canonical(e).as_bytes()))
}

/// Which entries a listing or export shows (empty: any).
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub user: Option<String>,
    /// The object (a plan id: every entry about that plan, its applies included).
    pub object: Option<String>,
    pub action: Option<AuditAction>,
}

/// A page of entries, newest first; `next_cursor` (the last entry's `seq`) asks for the ones before it.
pub type AuditPage = crate::wire::Page<AuditEntry>;

/// The chain holds: how many entries were checked and the head's hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainIntact {
    pub entries: i64,
    pub head_hash: String,
}

/// Where the chain breaks: the first broken entry's sequence number and what differs.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("entry {seq}: {what}")]
pub struct ChainBreak {
    pub seq: i64,
    pub what: String,
}

fn entry_from(row: &db::Row) -> Result<AuditEntry> {
    Ok(AuditEntry {
        seq: row.try_get("seq")?,
        time_ms: row.try_get("at")?,
        user: row.try_get("actor")?,
        role: row.try_get("role")?,
        address: row.try_get("address")?,
        action: row.try_get("action")?,
        object: row.try_get("object")?,
        version: row.try_get("version")?,
        result: row.try_get("result")?,
        detail: row.try_get("detail")?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

/// How many entries [`Store::audit_verify`] reads at a time.
const VERIFY_CHUNK: i64 = 1000;

const FILTERED: &str = "($1 = '' OR actor = $1) AND ($2 = '' OR object = $2) AND ($3 = '' OR action = $3)";

impl Store {
    /// Appends an entry inside a write transaction (committed with it). Locks the chain's head first, so
    /// concurrent appends — of this process or of another server on the same database — follow each other.
    pub(crate) async fn audit_in(&self, tx: &mut WriteTx, e: &NewEntry<'_>) -> Result<AuditEntry> {
        let lock = if self.postgres {
            "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE"
        } else {
            "SELECT seq, hash FROM audit_head WHERE id = 1"
        };
        let head = db::query(lock)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| ApiError::Corrupt("audit_head: the chain's head row is missing".into()))?;
        let mut entry = AuditEntry {
            seq: head.try_get::<i64, _>("seq")? + 1,
            time_ms: self.now(),
            user: e.actor.user.clone(),
            role: e.actor.role.clone(),
            address: e.actor.address.clone(),
            action: e.action.as_str().to_string(),
            object: e.object.to_string(),
            version: e.version,
            result: e.result.to_string(),
            detail: e.detail.to_string(),
            prev_hash: head.try_get("hash")?,
            hash: String::new(),
        };
        entry.hash = entry_hash(&entry);
        db::query(
            "INSERT INTO audit (seq, at, actor, role, address, action, object, version, result, detail, prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(entry.seq)
        .bind(entry.time_ms)
        .bind(&entry.user)
        .bind(&entry.role)
        .bind(&entry.address)
        .bind(&entry.action)
        .bind(&entry.object)
        .bind(entry.version)
        .bind(&entry.result)
        .bind(&entry.detail)
        .bind(&entry.prev_hash)
        .bind(&entry.hash)
        .execute(&mut **tx)
        .await?;
        db::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(entry.seq)
            .bind(&entry.hash)
            .execute(&mut **tx)
            .await?;
        Ok(entry)
    }

    /// Appends an entry on its own (for what has no transaction of its own here: an apply's start, steps and
    /// end, which change another control plane).
    pub async fn audit(&self, e: NewEntry<'_>) -> Result<AuditEntry> {
        let mut tx = self.write_tx().await?;
        let entry = self.audit_in(&mut tx, &e).await?;
        tx.commit().await?;
        Ok(entry)
    }

    /// A page of entries matching `filter`, newest first, before the entry `cursor` (a `seq`) when given.
    pub async fn audit_page(
        &self,
        filter: &AuditFilter,
        cursor: Option<&str>,
        limit: Option<i64>,
    ) -> Result<AuditPage> {
        let limit = super::page_limit(limit)?;
        let before = match cursor {
            None => i64::MAX,
            Some(c) => c.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                ApiError::invalid(
                    ErrorCode::InvalidCursor,
                    format!("cursor {c:?} is not an audit entry's sequence number"),
                )
            })?,
        };
        let sql = format!("SELECT * FROM audit WHERE {FILTERED} AND seq < $4 ORDER BY seq DESC LIMIT $5");
        let items = self.audit_query(&sql, filter, before, limit + 1).await?;
        Ok(super::paginate(items, limit, |e| e.seq.to_string()))
    }

    /// Up to `limit` entries matching `filter` after the entry `after` (a `seq`; 0 for the first), oldest first
    /// (the JSON lines export reads the trail this way).
    pub async fn audit_after(&self, filter: &AuditFilter, after: i64, limit: i64) -> Result<Vec<AuditEntry>> {
        let sql = format!("SELECT * FROM audit WHERE {FILTERED} AND seq > $4 ORDER BY seq LIMIT $5");
        self.audit_query(&sql, filter, after, limit).await
    }

    async fn audit_query(&self, sql: &str, f: &AuditFilter, seq: i64, limit: i64) -> Result<Vec<AuditEntry>> {
        db::query(sql)
            .bind(f.user.as_deref().unwrap_or(""))
            .bind(f.object.as_deref().unwrap_or(""))
            .bind(f.action.map_or("", AuditAction::as_str))
            .bind(seq)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(entry_from)
            .collect()
    }

    /// Checks the whole chain, oldest entry first: sequence numbers 1, 2, 3… without gaps, each `prev_hash` the
    /// hash of the entry before (64 zeros for the first), each `hash` the hash of the entry's own fields, and
    /// the last entry the chain's head. Returns the count and the head's hash, or the first entry where the
    /// chain breaks and what differs there. `Err` of the outer result: the database could not be read.
    pub async fn audit_verify(&self) -> Result<std::result::Result<ChainIntact, ChainBreak>> {
        let mut expected_seq = 1;
        let mut prev = GENESIS.to_string();
        loop {
            let rows = db::query("SELECT * FROM audit WHERE seq >= $1 ORDER BY seq LIMIT $2")
                .bind(expected_seq)
                .bind(VERIFY_CHUNK)
                .fetch_all(&self.pool)
                .await?;
            let done = (rows.len() as i64) < VERIFY_CHUNK;
            for row in &rows {
                let e = entry_from(row)?;
                if let Some(broken) = check_link(&e, expected_seq, &prev) {
                    return Ok(Err(broken));
                }
                prev = e.hash;
                expected_seq += 1;
            }
            if done {
                break;
            }
        }
        let last = expected_seq - 1;
        let head = db::query("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_optional(&self.pool)
            .await?;
        let Some(head) = head else {
            return Ok(Err(ChainBreak {
                seq: last,
                what: "the chain's head (table audit_head) is missing".into(),
            }));
        };
        let (head_seq, head_hash): (i64, String) = (head.try_get("seq")?, head.try_get("hash")?);
        if head_seq != last {
            return Ok(Err(ChainBreak {
                seq: last + 1,
                what: format!(
                    "missing: the chain ends at entry {last}, but its head records {head_seq} entries \
                     (entries at the end were deleted)"
                ),
            }));
        }
        if head_hash != prev {
            return Ok(Err(ChainBreak {
                seq: last,
                what: format!(
                    "the last entry's hash {prev} is not the head's recorded hash {head_hash} (the last entry \
                     was replaced)"
                ),
            }));
        }
        Ok(Ok(ChainIntact {
            entries: last,
            head_hash: prev,
        }))
    }
}

/// What is wrong with entry `e` when it should be number `seq` and follow an entry whose hash is `prev`.
fn check_link(e: &AuditEntry, seq: i64, prev: &str) -> Option<ChainBreak> {
    if e.seq != seq {
        return Some(ChainBreak {
            seq,
            what: format!(
                "missing: the entry after {} is numbered {} (entries were deleted)",
                seq - 1,
                e.seq
            ),
        });
    }
    if e.prev_hash != prev {
        return Some(ChainBreak {
            seq,
            what: format!(
                "prev_hash {} is not the hash of the entry before it ({prev}): an entry before it was changed \
                 or replaced",
                e.prev_hash
            ),
        });
    }
    let recomputed = entry_hash(e);
    if e.hash != recomputed {
        return Some(ChainBreak {
            seq,
            what: format!(
                "its fields do not hash to its stored hash (stored {}, computed {recomputed}): the entry was \
                 changed after it was written",
                e.hash
            ),
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: i64, prev: &str) -> AuditEntry {
        let mut e = AuditEntry {
            seq,
            time_ms: 1_795_900_920_000,
            user: "local".into(),
            role: "admin".into(),
            address: "127.0.0.1:50000".into(),
            action: "plan.save".into(),
            object: "plan_1".into(),
            version: Some(2),
            result: "ok".into(),
            detail: String::new(),
            prev_hash: prev.into(),
            hash: String::new(),
        };
        e.hash = entry_hash(&e);
        e
    }

    #[test]
    fn canonical_encoding_is_the_json_array_of_the_fields() {
        let e = entry(1, GENESIS);
        assert_eq!(
            canonical(&e),
            format!(
                "[1,1795900920000,\"local\",\"admin\",\"127.0.0.1:50000\",\"plan.save\",\"plan_1\",2,\"ok\",\"\",\"{GENESIS}\"]"
            )
        );
        assert_eq!(e.hash.len(), 64);
    }

    #[test]
    fn every_field_is_covered_by_the_hash() {
        let e = entry(1, GENESIS);
        let changes: [fn(&mut AuditEntry); 11] = [
            |e| e.seq += 1,
            |e| e.time_ms += 1,
            |e| e.user.push('x'),
            |e| e.role.push('x'),
            |e| e.address.push('x'),
            |e| e.action.push('x'),
            |e| e.object.push('x'),
            |e| e.version = None,
            |e| e.result.push('x'),
            |e| e.detail.push('x'),
            |e| e.prev_hash.replace_range(0..1, "1"),
        ];
        for change in changes {
            let mut changed = e.clone();
            change(&mut changed);
            assert_ne!(entry_hash(&changed), e.hash, "{changed:?}");
        }
    }

    #[test]
    fn a_link_names_what_is_wrong() {
        let first = entry(1, GENESIS);
        assert_eq!(check_link(&first, 1, GENESIS), None);
        let second = entry(2, &first.hash);
        assert_eq!(check_link(&second, 2, &first.hash), None);
        assert!(check_link(&second, 1, GENESIS).unwrap().what.contains("missing"));
        let mut edited = second.clone();
        edited.result = "failed".into();
        assert!(check_link(&edited, 2, &first.hash)
            .unwrap()
            .what
            .contains("do not hash"));
        assert!(check_link(&second, 2, GENESIS)
            .unwrap()
            .what
            .contains("prev_hash"));
    }

    #[test]
    fn actions_round_trip_and_unknown_ones_are_named() {
        for a in AuditAction::ALL {
            assert_eq!(a.as_str().parse::<AuditAction>().unwrap(), *a);
        }
        let e = "plan.burn".parse::<AuditAction>().unwrap_err().to_string();
        assert!(e.contains("\"plan.burn\"") && e.contains("plan.save"), "{e}");
    }
}
