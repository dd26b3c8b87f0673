//! The apply engine's state for applies started in the planner, in the same database as everything else: a
//! journal (JSON lines, appended in order, each committed before the engine goes on) and named documents
//! (bindings, learnt account ids, the last applied plan), both per *state key* — one plan on one target.
//! The CLI keeps the same lines and documents as files in its data folder.
//!
//! Also what keeps applies right when several servers share the database: the run lock (one run per state key
//! at a time, [`Store::apply_lock_take`]) and the two-person rule's approvals ([`Store::approve_apply`]).

use super::db;

use super::{Result, Store};
use crate::audit::{Actor, AuditAction, NewEntry};

/// A run's hold on the lock of a state key (from [`Store::apply_lock_take`]); give it back with
/// [`Store::apply_lock_release`]. Dropped without that, the lock ends with its database connection (PostgreSQL)
/// or when the server next starts (SQLite, [`Store::apply_locks_reset`]).
pub struct RunLock {
    state: String,
    run: String,
    /// PostgreSQL: the connection holding the advisory lock.
    conn: Option<sqlx::AnyConnection>,
    key: i64,
}

impl RunLock {
    /// The state key held.
    pub fn state(&self) -> &str {
        &self.state
    }
}

/// The advisory lock number of a state key: the first 8 bytes of a SHA-256 (a clash would only make two
/// unrelated plans wait for each other).
fn advisory_key(state: &str) -> i64 {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(format!("peerplan-apply:{state}").as_bytes());
    i64::from_be_bytes(d[..8].try_into().expect("8 bytes"))
}

/// The run holding a state key's lock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockHolder {
    pub run_id: String,
    pub holder: String,
    pub taken_at: i64,
}

/// An approval of one plan version on one target.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Approval {
    pub approved_by: String,
    pub role: String,
    pub approved_at: i64,
}

impl Store {
    /// Appends one line to a state's journal (committed when this returns).
    pub async fn journal_append(&self, state: &str, line: &str) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let next: i64 =
            db::query("SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM apply_journal WHERE state = $1")
                .bind(state)
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
        db::query("INSERT INTO apply_journal (state, seq, line) VALUES ($1, $2, $3)")
            .bind(state)
            .bind(next)
            .bind(line)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A state's journal, oldest line first.
    pub async fn journal_lines(&self, state: &str) -> Result<Vec<String>> {
        db::query("SELECT line FROM apply_journal WHERE state = $1 ORDER BY seq")
            .bind(state)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| Ok(r.try_get("line")?))
            .collect()
    }

    /// A state's document, if saved.
    pub async fn document(&self, state: &str, name: &str) -> Result<Option<(String, i64)>> {
        let row = db::query("SELECT body, saved_at FROM apply_documents WHERE state = $1 AND name = $2")
            .bind(state)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((r.try_get("body")?, r.try_get("saved_at")?)))
            .transpose()
    }

    /// Saves (replaces) a state's document.
    pub async fn save_document(&self, state: &str, name: &str, body: &str) -> Result<()> {
        let mut tx = self.write_tx().await?;
        db::query(
            "INSERT INTO apply_documents (state, name, body, saved_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (state, name) DO UPDATE SET body = excluded.body, saved_at = excluded.saved_at",
        )
        .bind(state)
        .bind(name)
        .bind(body)
        .bind(self.now())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Takes the run lock of a state key for `run_id` (started by `holder`): `Ok(lock)`, or `Err(h)` naming the
    /// run that holds it — of this server or of another one on the same database. Two asking at once never
    /// both get it.
    pub async fn apply_lock_take(
        &self,
        state: &str,
        run_id: &str,
        holder: &str,
    ) -> Result<std::result::Result<RunLock, LockHolder>> {
        let now = self.now();
        let key = advisory_key(state);
        if let Some(pool) = self.pool.pg_pool() {
            use sqlx::{Connection, Row};
            // The advisory lock lives as long as its session: a connection of its own, out of the pool.
            let mut conn = pool.acquire().await?.detach();
            let got: bool = sqlx::query("SELECT pg_try_advisory_lock($1) AS got")
                .bind(key)
                .fetch_one(&mut conn)
                .await?
                .try_get("got")?;
            if !got {
                let _ = conn.close().await;
                // The holder records itself just after it got the lock: give it a moment to.
                let mut holder = self.lock_holder(state).await?;
                for _ in 0..20 {
                    if holder.taken_at != 0 {
                        break;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(25)).await;
                    holder = self.lock_holder(state).await?;
                }
                return Ok(Err(holder));
            }
            sqlx::query(
                "INSERT INTO apply_locks (state, run_id, holder, taken_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (state) DO UPDATE SET run_id = excluded.run_id, holder = excluded.holder,
                     taken_at = excluded.taken_at",
            )
            .bind(state)
            .bind(run_id)
            .bind(holder)
            .bind(now)
            .execute(&mut conn)
            .await?;
            return Ok(Ok(RunLock {
                state: state.into(),
                run: run_id.into(),
                conn: Some(conn),
                key,
            }));
        }
        let mut tx = self.write_tx().await?;
        let taken = db::query(
            "INSERT INTO apply_locks (state, run_id, holder, taken_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (state) DO NOTHING",
        )
        .bind(state)
        .bind(run_id)
        .bind(holder)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        if taken == 1 {
            Ok(Ok(RunLock {
                state: state.into(),
                run: run_id.into(),
                conn: None,
                key,
            }))
        } else {
            Ok(Err(self.lock_holder(state).await?))
        }
    }

    /// Who holds a state key's lock, as recorded (`unknown` for a moment while a run takes it).
    async fn lock_holder(&self, state: &str) -> Result<LockHolder> {
        let row = db::query("SELECT run_id, holder, taken_at FROM apply_locks WHERE state = $1")
            .bind(state)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(row) => LockHolder {
                run_id: row.try_get("run_id")?,
                holder: row.try_get("holder")?,
                taken_at: row.try_get("taken_at")?,
            },
            None => LockHolder {
                run_id: "(starting)".into(),
                holder: "unknown".into(),
                taken_at: 0,
            },
        })
    }

    /// Gives a run's lock back.
    pub async fn apply_lock_release(&self, mut lock: RunLock) -> Result<()> {
        const DELETE: &str = "DELETE FROM apply_locks WHERE state = $1 AND run_id = $2";
        match lock.conn.take() {
            Some(mut conn) => {
                use sqlx::Connection;
                sqlx::query(DELETE)
                    .bind(&lock.state)
                    .bind(&lock.run)
                    .execute(&mut conn)
                    .await?;
                sqlx::query("SELECT pg_advisory_unlock($1) AS released")
                    .bind(lock.key)
                    .fetch_one(&mut conn)
                    .await?;
                let _ = conn.close().await;
            }
            None => {
                let mut tx = self.write_tx().await?;
                db::query(DELETE)
                    .bind(&lock.state)
                    .bind(&lock.run)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
        }
        Ok(())
    }

    /// Clears the locks a previous run of the server left (SQLite: one server per file, so none is held when it
    /// starts). Nothing on PostgreSQL, where a lock ends with its server's connection.
    pub async fn apply_locks_reset(&self) -> Result<u64> {
        if self.postgres {
            return Ok(0);
        }
        let mut tx = self.write_tx().await?;
        let n = db::query("DELETE FROM apply_locks")
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(n)
    }

    /// Records `by`'s approval of version `version` of plan `plan_id` on `target` (again: nothing new), with its
    /// audit entry (`apply.approve`) in the same transaction.
    pub async fn approve_apply(&self, by: &Actor, plan_id: &str, version: i64, target: &str) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let n = db::query(
            "INSERT INTO apply_approvals (plan_id, version, target, approved_by, role, approved_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(plan_id)
        .bind(version)
        .bind(target)
        .bind(&by.user)
        .bind(&by.role)
        .bind(self.now())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 1 {
            let detail = format!("approved version {version} on target {target:?}");
            self.audit_in(
                &mut tx,
                &NewEntry::ok(by, AuditAction::ApplyApprove, plan_id, Some(version)).detail(&detail),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The approvals of one plan version on one target, oldest first.
    pub async fn apply_approvals(&self, plan_id: &str, version: i64, target: &str) -> Result<Vec<Approval>> {
        db::query(
            "SELECT approved_by, role, approved_at FROM apply_approvals
             WHERE plan_id = $1 AND version = $2 AND target = $3 ORDER BY approved_at, approved_by",
        )
        .bind(plan_id)
        .bind(version)
        .bind(target)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(Approval {
                approved_by: r.try_get("approved_by")?,
                role: r.try_get("role")?,
                approved_at: r.try_get("approved_at")?,
            })
        })
        .collect()
    }
}
